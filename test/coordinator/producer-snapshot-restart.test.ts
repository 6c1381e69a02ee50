/**
 * Producer state across a `kill -9` of a real `kstack up` process, loaded from a `.snapshot`
 * (issue 13): the topic rolls a segment at every append (segment.ms 1), so the producers' last
 * batches and the transaction markers lie below the last snapshot and the start replays only the
 * active segment. After the restart the idempotent producer's retry of its last batch is answered
 * with the original offset (a duplicate, not appended again), its next batch is taken in sequence
 * and a gap is refused OUT_OF_ORDER_SEQUENCE_NUMBER; kcat, a real read_committed consumer, still
 * skips the aborted transaction's records and reads the committed ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';
import { addPartitionToTxn, clientTo, initProducerId, send } from './raw-requests.ts';

const PORT = 24500;
const TOPIC = 'snapshot-restart';
const TRANSACTIONAL_ID = 'snapshot-restart-txn';
const WAIT_MS = 120_000;
/** Idempotent batches before the kill (3 records each). */
const IDEMPOTENT_BATCHES = 12;

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function batchOf(
  values: readonly string[],
  producer?: { producerId: bigint; epoch: number; sequence: number; transactional?: boolean },
): Promise<Buffer> {
  return encodeRecordBatch({
    records: values.map((value) => ({ timestamp: Date.now(), key: null, value: Buffer.from(value) })),
    ...(producer === undefined
      ? {}
      : {
          producerId: Number(producer.producerId),
          producerEpoch: producer.epoch,
          baseSequence: producer.sequence,
          transactional: producer.transactional ?? false,
        }),
  });
}

/** Produce v9, acks all: the partition's error code and base offset. */
async function produce(
  client: ControllerClient,
  records: Uint8Array,
  transactionalId: string | null = null,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const answer = await send(client, 0, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  const partition = ((answer.responses as MessageValue[])[0]!.partitionResponses as MessageValue[])[0]!;
  return { errorCode: partition.errorCode as number, baseOffset: partition.baseOffset as bigint };
}

/** kcat, read_committed, from the start to the partition's end: the values. */
async function readCommitted(bootstrap: string): Promise<string[]> {
  const result = await runTool(
    'kcat',
    [
      '-b',
      bootstrap,
      '-X',
      'isolation.level=read_committed',
      '-C',
      '-t',
      TOPIC,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-f',
      '%s\n',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const text = result.stdout.trim();
  return text === '' ? [] : text.split('\n');
}

async function transaction(
  client: ControllerClient,
  txn: MessageValue,
  values: string[],
  sequence: number,
  commit: boolean,
) {
  const producerId = txn.producerId as bigint;
  const epoch = txn.producerEpoch as number;
  await addPartitionToTxn(client, TRANSACTIONAL_ID, producerId, epoch, TOPIC, 0);
  const written = await produce(
    client,
    await batchOf(values, { producerId, epoch, sequence, transactional: true }),
    TRANSACTIONAL_ID,
  );
  assert.equal(written.errorCode, ErrorCode.NONE, 'transactional produce');
  const ended = await send(client, 26, 3, {
    transactionalId: TRANSACTIONAL_ID,
    producerId,
    producerEpoch: epoch,
    committed: commit,
  });
  assert.equal(ended.errorCode, ErrorCode.NONE, 'EndTxn');
}

describe('producer state from a snapshot across kill -9 (kstack up)', { timeout: 600_000 }, () => {
  const broker = new BrokerProcess(PORT);
  let client: ControllerClient;

  before(async () => {
    await broker.start();
    client = clientTo(PORT, 'producer-snapshot-restart');
  });
  after(async () => {
    client?.close();
    await broker.stop();
    broker.removeData();
  });

  it('deduplicates a retry and skips aborted data after a restart that loads a snapshot', async () => {
    const created = await send(client, 19, 7, {
      topics: [
        {
          name: TOPIC,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'segment.ms', value: '1' }],
        },
      ],
      timeoutMs: 30_000,
    });
    assert.equal((created.topics as MessageValue[])[0]?.errorCode, ErrorCode.NONE, 'CreateTopics');

    // An idempotent producer (no transactional id).
    const idem = await until('InitProducerId', async () => {
      const answer = await send(client, 22, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
      return answer.errorCode === ErrorCode.NONE ? answer : undefined;
    });
    const producer = { producerId: idem.producerId as bigint, epoch: idem.producerEpoch as number };
    let last: { records: Buffer; baseOffset: bigint } | undefined;
    for (let i = 0; i < IDEMPOTENT_BATCHES; i++) {
      const records = await batchOf([`idem-${i}-a`, `idem-${i}-b`, `idem-${i}-c`], {
        ...producer,
        sequence: i * 3,
      });
      const written = await produce(client, Buffer.from(records));
      assert.equal(written.errorCode, ErrorCode.NONE, `idempotent batch ${i}`);
      last = { records, baseOffset: written.baseOffset };
      // segment.ms is 1: the next append rolls once a millisecond has passed.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }

    // FindCoordinator creates __transaction_state; InitProducerId then finds its coordinator here.
    const txn = await until('InitProducerId (transactional)', async () => {
      const found = await send(client, 10, 4, { keyType: 1, coordinatorKeys: [TRANSACTIONAL_ID] });
      if ((found.coordinators as MessageValue[])[0]?.errorCode !== ErrorCode.NONE) return undefined;
      return initProducerId(client, TRANSACTIONAL_ID);
    });
    await transaction(client, txn, ['aborted-1', 'aborted-2'], 0, false);
    await transaction(client, txn, ['committed-1', 'committed-2'], 2, true);
    // Both markers are written once a read_committed reader sees the committed records.
    await until('the commit marker', async () => {
      const values = await readCommitted(broker.bootstrap);
      return values.includes('committed-2') ? values : undefined;
    });
    // Plain batches after the markers: more rolls, so the producers' last batches lie below the snapshot.
    let logEnd = 0n;
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      const plain = await produce(client, await batchOf([`plain-${i}`]));
      assert.equal(plain.errorCode, ErrorCode.NONE);
      logEnd = plain.baseOffset + 1n;
    }
    // 36 idempotent records, 2 aborted + marker, 2 committed + marker, 3 plain.
    assert.equal(logEnd, 45n);

    client.close();
    assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
    await broker.start();
    client = clientTo(PORT, 'producer-snapshot-restart-2');

    const loaded = broker.output.match(
      new RegExp(`${TOPIC}-0: producer state: snapshot at (\\d+), replayed (\\d+) batches`),
    );
    assert.ok(loaded !== null, `no producer-state line for ${TOPIC}-0 in:\n${broker.output.slice(-4000)}`);
    const [snapshotAt, replayed] = [Number(loaded[1]), Number(loaded[2])];
    // The last roll was at the last plain batch (44) or the one before, above every producer's batches.
    assert.ok(snapshotAt >= 43, `snapshot at ${snapshotAt}`);
    assert.ok(replayed <= 1, `replayed ${replayed} batches (only the active segment's)`);

    // The retry of the last idempotent batch: the original offset, nothing appended.
    const retried = await until('the retried batch', async () => {
      const answer = await produce(client, Buffer.from(last!.records));
      return answer.errorCode === ErrorCode.NONE ? answer : undefined;
    });
    assert.equal(retried.baseOffset, last!.baseOffset, 'a retry after the restart is a duplicate');
    const next = await produce(
      client,
      await batchOf(['idem-next'], { ...producer, sequence: IDEMPOTENT_BATCHES * 3 }),
    );
    assert.equal(next.errorCode, ErrorCode.NONE, 'the next sequence is taken');
    assert.equal(next.baseOffset, logEnd, 'appended at the log end (the retry added nothing)');
    const gap = await produce(
      client,
      await batchOf(['idem-gap'], { ...producer, sequence: IDEMPOTENT_BATCHES * 3 + 5 }),
    );
    assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap in the sequence is refused');

    const values = await readCommitted(broker.bootstrap);
    assert.ok(!values.some((v) => v.startsWith('aborted-')), `aborted records read: ${values.join(',')}`);
    assert.deepEqual(
      values.filter((v) => v.startsWith('committed-')),
      ['committed-1', 'committed-2'],
    );
    assert.equal(values.filter((v) => v.startsWith('idem-')).length, IDEMPOTENT_BATCHES * 3 + 1);
    assert.deepEqual(values.at(-1), 'idem-next');
  });
});
