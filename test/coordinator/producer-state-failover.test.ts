/**
 * A new leader loads producer state its log kept as a follower (issue 13: no scan of the log on a
 * leadership change). Three in-process cluster nodes, a partition with three replicas rolling a
 * segment at every append (segment.ms 1); an idempotent producer writes with acks=all, so both
 * followers have appended its batches; each follower's log then holds the same producer state as
 * the leader's. The leader is killed; the new leader answers the retry of the last batch with its
 * original offset (a duplicate), takes the next sequence at the log end, refuses a gap, and
 * DescribeProducers there reports the producer's last sequence.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import type { PartitionLog } from '../../src/storage/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { clientTo, send } from './raw-requests.ts';

const BROKER_PORTS = [24510, 24511, 24512] as const;
const CONTROLLER_PORTS = [24560, 24561, 24562] as const;
const WAIT_MS = 120_000;
const TOPIC = 'producer-failover';
const BATCHES = 8;

let cluster: TestCluster;
const clients: ControllerClient[] = [];

function client(nodeId: number): ControllerClient {
  const c = clientTo(BROKER_PORTS[nodeId - 1]!, `producer-failover-${clients.length}`);
  clients.push(c);
  return c;
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function produce(
  c: ControllerClient,
  records: Uint8Array,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const answer = await send(c, 0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  const partition = ((answer.responses as MessageValue[])[0]!.partitionResponses as MessageValue[])[0]!;
  return { errorCode: partition.errorCode as number, baseOffset: partition.baseOffset as bigint };
}

function logOf(nodeId: number): PartitionLog {
  const replica = cluster.node(nodeId).broker.partitions.get(TOPIC, 0) as unknown as { log: PartitionLog };
  return replica.log;
}

before(
  async () => {
    cluster = await startCluster({
      ports: BROKER_PORTS,
      controllerPorts: CONTROLLER_PORTS,
      config: { 'default.replication.factor': '3', 'min.insync.replicas': '2' },
      waitMs: WAIT_MS,
    });
  },
  { timeout: 300_000 },
);

after(
  async () => {
    for (const c of clients) c.close();
    await cluster?.stop();
  },
  { timeout: 120_000 },
);

test('a new leader deduplicates a retry from the producer state its log kept as a follower', {
  timeout: 600_000,
}, async () => {
  const admin = client(1);
  const created = await send(admin, 19, 7, {
    topics: [
      {
        name: TOPIC,
        numPartitions: 1,
        replicationFactor: 3,
        assignments: [],
        configs: [{ name: 'segment.ms', value: '1' }],
      },
    ],
    timeoutMs: 30_000,
  });
  assert.equal((created.topics as MessageValue[])[0]?.errorCode, ErrorCode.NONE, 'CreateTopics');
  const leader = await cluster.waitForLeader(TOPIC, 0);
  await cluster.waitForIsr(TOPIC, 0);
  const toLeader = client(leader);
  const idem = await until('InitProducerId', async () => {
    const answer = await send(toLeader, 22, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
    return answer.errorCode === ErrorCode.NONE ? answer : undefined;
  });
  const producer = { producerId: idem.producerId as bigint, epoch: idem.producerEpoch as number };
  const batch = (sequence: number, values: string[]) =>
    encodeRecordBatch({
      records: values.map((value) => ({ timestamp: Date.now(), key: null, value: Buffer.from(value) })),
      producerId: Number(producer.producerId),
      producerEpoch: producer.epoch,
      baseSequence: sequence,
    });
  let last: { records: Buffer; baseOffset: bigint } | undefined;
  for (let i = 0; i < BATCHES; i++) {
    const records = await batch(i * 2, [`v${i}-a`, `v${i}-b`]);
    const written = await produce(toLeader, Buffer.from(records));
    assert.equal(written.errorCode, ErrorCode.NONE, `batch ${i}`);
    last = { records, baseOffset: written.baseOffset };
    await new Promise((resolve) => setTimeout(resolve, 2)); // segment.ms 1: the next append rolls
  }
  const logEnd = last!.baseOffset + 2n;

  // acks=all: both followers appended every batch, and kept the producer's state as they did.
  const followers = [1, 2, 3].filter((id) => id !== leader);
  const expected = logOf(leader).producerStateView().producers.get(producer.producerId);
  assert.equal(expected?.batches.at(-1)?.lastSequence, BATCHES * 2 - 1);
  for (const follower of followers) {
    await cluster.waitFor(
      `node ${follower} has the log to ${logEnd}`,
      () => BigInt(logOf(follower).logEndOffset) >= logEnd,
    );
    assert.ok(logOf(follower).segmentCount > 2, `node ${follower}: ${logOf(follower).segmentCount} segments`);
    assert.deepEqual(logOf(follower).producerStateView().producers.get(producer.producerId), expected);
  }

  await cluster.broker(leader).kill();
  const newLeader = await cluster.waitForLeader(TOPIC, 0, { not: leader });
  const toNew = client(newLeader);
  const retried = await until('the retry at the new leader', async () => {
    const answer = await produce(toNew, Buffer.from(last!.records));
    return answer.errorCode === ErrorCode.NONE ? answer : undefined;
  });
  assert.equal(retried.baseOffset, last!.baseOffset, 'the retry is a duplicate at the new leader');
  const next = await produce(toNew, await batch(BATCHES * 2, ['next']));
  assert.deepEqual(
    next,
    { errorCode: ErrorCode.NONE, baseOffset: logEnd },
    'the next sequence, at the log end',
  );
  const gap = await produce(toNew, await batch(BATCHES * 2 + 3, ['gap']));
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const described = await send(toNew, 61, 0, { topics: [{ name: TOPIC, partitionIndexes: [0] }] });
  const partition = ((described.topics as MessageValue[])[0]!.partitions as MessageValue[])[0]!;
  assert.equal(partition.errorCode, ErrorCode.NONE);
  const active = (partition.activeProducers as MessageValue[]).find(
    (p) => p.producerId === producer.producerId,
  );
  assert.equal(active?.lastSequence, BATCHES * 2, 'DescribeProducers at the new leader');
});
