/**
 * Log maintenance in a running broker: DeleteRecords moves the log start, retention
 * (retention.ms with segment.ms) drops old segments, compaction keeps the latest value
 * per key. The broker runs with short maintenance intervals (`--override`).
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess, connect, FrameReader } from './broker-process.ts';

const broker = new BrokerProcess(19655, undefined, [
  '--override',
  'log.retention.check.interval.ms=200',
  '--override',
  'log.cleaner.backoff.ms=200',
]);
let socket: net.Socket;
let reader: FrameReader;
let correlationId = 0;

async function call(
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const id = ++correlationId;
  socket.write(
    encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 't' },
      body,
    ),
  );
  const [frame] = await reader.next(1, 15_000);
  return decodeResponse(apiKey, version, frame!).body;
}

async function createTopic(name: string, configs: Record<string, string> = {}): Promise<void> {
  const answer = (await call(19, 4, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  })) as { topics: { errorCode: number; errorMessage: string | null }[] };
  assert.equal(answer.topics[0]!.errorCode, 0, answer.topics[0]!.errorMessage ?? '');
}

async function produce(topic: string, records: [string | null, string | null][]): Promise<void> {
  const now = Date.now();
  const batch = await encodeRecordBatch({
    records: records.map(([key, value]) => ({
      key: key === null ? null : Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      timestamp: now,
    })),
  });
  const answer = (await call(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

async function earliest(topic: string): Promise<bigint> {
  const answer = (await call(2, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }],
  })) as { topics: { partitions: { offset: bigint }[] }[] };
  return answer.topics[0]!.partitions[0]!.offset;
}

async function fetchAll(topic: string, offset: bigint): Promise<{ errorCode: number; records: Uint8Array }> {
  const answer = (await call(1, 11, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
  })) as { responses: { partitions: { errorCode: number; records: Uint8Array }[] }[] };
  return answer.responses[0]!.partitions[0]!;
}

/** Every record from `offset` to the high watermark (a fetch stops at a segment's end, as Kafka's does). */
async function readAll(topic: string, offset: bigint) {
  const all = [];
  let next = offset;
  for (let round = 0; round < 20; round++) {
    const { errorCode, records } = await fetchAll(topic, next);
    assert.equal(errorCode, 0);
    if (records.length === 0) break;
    const batches = await decodeRecordBatches(records);
    for (const batch of batches) {
      all.push(...batch.records.filter((r) => BigInt(r.offset) >= next));
      next = BigInt(batch.header.baseOffset + batch.header.lastOffsetDelta + 1);
    }
  }
  return all;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('log maintenance in kstack up', { timeout: 120_000 }, () => {
  before(async () => {
    await broker.start();
    socket = await connect(broker.port);
    reader = new FrameReader(socket);
  });
  after(async () => {
    socket.destroy();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('DeleteRecords moves the log start; fetching below it is OFFSET_OUT_OF_RANGE', async () => {
    await createTopic('delete-records');
    await produce('delete-records', [
      ['k', '0'],
      ['k', '1'],
    ]);
    await produce('delete-records', [
      ['k', '2'],
      ['k', '3'],
    ]);
    const answer = (await call(21, 2, {
      topics: [{ name: 'delete-records', partitions: [{ partitionIndex: 0, offset: 2n }] }],
      timeoutMs: 5000,
    })) as { topics: { partitions: { lowWatermark: bigint; errorCode: number }[] }[] };
    assert.equal(answer.topics[0]!.partitions[0]!.errorCode, 0);
    assert.equal(answer.topics[0]!.partitions[0]!.lowWatermark, 2n);
    assert.equal(await earliest('delete-records'), 2n);
    assert.equal((await fetchAll('delete-records', 0n)).errorCode, 1);
    assert.equal((await fetchAll('delete-records', 2n)).errorCode, 0);
  });

  it('retention.ms drops old segments', async () => {
    await createTopic('retained', { 'retention.ms': '300', 'segment.ms': '100' });
    await produce('retained', [['k', 'old']]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await produce('retained', [['k', 'newer']]);
    await eventually(async () => (await earliest('retained')) >= 1n, 'retention');
  });

  it('cleanup.policy=compact keeps the latest value per key', async () => {
    await createTopic('compacted', {
      'cleanup.policy': 'compact',
      'segment.ms': '100',
      'min.cleanable.dirty.ratio': '0.01',
    });
    await produce('compacted', [
      ['a', '1'],
      ['b', '1'],
      ['a', '2'],
      ['c', '1'],
      ['c', null],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await produce('compacted', [['d', '1']]);
    await eventually(async () => {
      const decoded = await readAll('compacted', 0n);
      const keys = decoded.map((r) => `${r.key?.toString()}=${r.value?.toString() ?? 'null'}@${r.offset}`);
      return !keys.includes('a=1@0');
    }, 'compaction');
    const decoded = await readAll('compacted', 0n);
    const latest = new Map(decoded.map((r) => [r.key?.toString(), r.value?.toString() ?? null]));
    assert.equal(latest.get('a'), '2');
    assert.equal(latest.get('b'), '1');
    assert.equal(latest.get('d'), '1');
    assert.ok(!decoded.some((r) => r.key?.toString() === 'a' && r.value?.toString() === '1'));
  });
});

describe('config changes that storage would refuse', { timeout: 60_000 }, () => {
  const other = new BrokerProcess(19656);
  before(async () => {
    await other.start();
    socket = await connect(other.port);
    reader = new FrameReader(socket);
  });
  after(async () => {
    socket.destroy();
    assert.equal(await other.stop(), 0, other.output);
    other.removeData();
  });

  it('answers INVALID_CONFIG for an emptied or broken cleanup.policy and keeps the connection', async () => {
    await createTopic('policy');
    const cases: [unknown[], number][] = [
      [[{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }], 40],
      [[{ name: 'cleanup.policy', configOperation: 0, value: '' }], 40],
      [[{ name: 'cleanup.policy', configOperation: 2, value: null }], 0],
      [[{ name: 'cleanup.policy', configOperation: 0, value: 'delete,' }], 40],
    ];
    for (const [configs, expected] of cases) {
      const answer = (await call(44, 1, {
        resources: [{ resourceType: 2, resourceName: 'policy', configs }],
        validateOnly: false,
      })) as { responses: { errorCode: number }[] };
      assert.equal(answer.responses[0]!.errorCode, expected, JSON.stringify(configs));
    }
    assert.equal(await earliest('policy'), 0n);
  });
});
