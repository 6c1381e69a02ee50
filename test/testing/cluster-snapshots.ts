/**
 * "A snapshot restored N times gives the same offsets and records each time", on three brokers:
 * shared by cluster-snapshots.test.ts (a few restores, in the unit run) and
 * cluster-snapshots.long.ts (50, by hand). kafkajs (a client we did not write) writes, commits and
 * reads; the transactional state is looked at in the nodes' coordinators.
 */
import assert from 'node:assert/strict';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import type { Admin, Kafka } from 'kafkajs';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import type { TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

const TOPIC = 'seed';
const GROUP = 'seeded-group';
/** Committed by a transaction before the snapshot: known again after every restore. */
const SEEDED_TX = 'seeded-tx';
/** Committed by a transaction after the snapshot: unknown again after every restore. */
const LATER_TX = 'later-tx';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;

/** The transactional ids the nodes' coordinators know, sorted. */
export function transactionalIds(kafka: TestKafkaCluster): string[] {
  return kafka
    .nodes()
    .flatMap(
      (node) =>
        node.broker.slots
          .get(TRANSACTIONS)
          ?.coordinator.list([], [], -1)
          .map((t) => t.transactionalId) ?? [],
    )
    .sort();
}

async function offsetsOf(admin: Admin): Promise<string[]> {
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  return offsets.sort((a, b) => a.partition - b.partition).map((o) => `${o.partition}:${o.low}-${o.high}`);
}

/** Commits through OffsetCommit alone (kafkajs' setOffsets joins the group first: seconds under load). */
async function commit(kafka: TestKafkaCluster, offset: bigint): Promise<void> {
  const admin = new PlatformaticAdmin({ clientId: 'committer', bootstrapBrokers: kafka.bootstrapAddresses });
  try {
    await admin.alterConsumerGroupOffsets({
      groupId: GROUP,
      topics: [{ name: TOPIC, partitionOffsets: [{ partition: 0, offset }] }],
    });
  } finally {
    await admin.close();
  }
}

async function committed(admin: Admin): Promise<string | undefined> {
  const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  return topic?.partitions.find((p) => p.partition === 0)?.offset;
}

async function transaction(kafkajs: Kafka, transactionalId: string, value: string): Promise<void> {
  const producer = kafkajs.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  try {
    const tx = await producer.transaction();
    await tx.send({ topic: TOPIC, messages: [{ key: transactionalId, value, partition: 1 }] });
    await tx.commit();
  } finally {
    await producer.disconnect();
  }
}

async function readAll(kafkajs: Kafka, run: number, count: number): Promise<string[]> {
  const consumer = kafkajs.consumer({ groupId: `reader-${run}`, maxWaitTimeInMs: 100 });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let enough: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      enough = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}/${message.offset}/${message.key}=${message.value}`);
        if (seen.length >= count) enough();
      },
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`run ${run}: ${seen.length} of ${count} records in ${WAIT_MS} ms`)),
        WAIT_MS,
      ).unref(),
    );
    await Promise.race([done, timeout]);
  } finally {
    await consumer.disconnect();
  }
  return seen.sort();
}

/**
 * Seeds `kafka` (20 records over two partitions at acks=all, a committed group offset, a committed
 * transaction), saves snapshot 'seeded', then `runs` times changes all of it (a record on each
 * partition, the offset moved, a new topic, another transaction) and restores it: each time the
 * same log offsets, committed offset, topics and transactional ids; records read back by a
 * consumer group on every 10th run and the last. Returns each restore's time.
 */
export async function restoreRepeatedly(kafka: TestKafkaCluster, runs: number): Promise<number[]> {
  const kafkajs = kafkajsClient('snapshots', kafka.bootstrapAddresses);
  const producer = kafkajs.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
  });
  await producer.disconnect();
  await transaction(kafkajs, SEEDED_TX, 'seeded');
  let admin = kafkajs.admin();
  await admin.connect();
  await commit(kafka, 4n);
  const expectedOffsets = await offsetsOf(admin);
  // Partition 1: ten records, the transaction's record and its commit marker.
  assert.deepEqual(expectedOffsets, ['0:0-10', '1:0-12']);
  const expectedTopics = (await admin.listTopics()).sort();
  await admin.disconnect();
  assert.deepEqual(transactionalIds(kafka), [SEEDED_TX]);
  const expectedRecords = await readAll(kafkajs, -1, 21);

  await kafka.snapshot('seeded');
  assert.deepEqual(
    kafka.snapshots().map((s) => [s.name, s.brokers]),
    [['seeded', [1, 2, 3]]],
  );
  const restoreMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Change everything the snapshot holds (clients per run: the restart closes connections).
    admin = kafkajs.admin();
    await admin.connect();
    const changer = kafkajs.producer();
    await changer.connect();
    await changer.send({
      topic: TOPIC,
      acks: -1,
      messages: [0, 1].map((partition) => ({ key: 'later', value: `run ${run}`, partition })),
    });
    await changer.disconnect();
    await commit(kafka, 9n);
    await admin.createTopics({ topics: [{ topic: `extra-${run}`, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await transaction(kafkajs, LATER_TX, `run ${run}`);
    assert.ok(transactionalIds(kafka).includes(LATER_TX), `run ${run}: ${LATER_TX} known before the restore`);

    await kafka.restore('seeded');
    restoreMs.push(kafka.timings.lastRestoreMs ?? Number.NaN);
    admin = kafkajs.admin();
    await admin.connect();
    try {
      assert.deepEqual(await offsetsOf(admin), expectedOffsets, `run ${run}: log offsets`);
      assert.equal(await committed(admin), '4', `run ${run}: committed offset`);
      assert.deepEqual((await admin.listTopics()).sort(), expectedTopics, `run ${run}: topics`);
    } finally {
      await admin.disconnect();
    }
    assert.deepEqual(transactionalIds(kafka), [SEEDED_TX], `run ${run}: transactional ids`);
    if (run % 10 === 9 || run === runs - 1) {
      assert.deepEqual(await readAll(kafkajs, run, 21), expectedRecords, `run ${run}: records`);
    }
  }
  return restoreMs;
}
