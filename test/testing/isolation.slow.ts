/**
 * Isolation as a user's suite sees it, in long runs kept out of the unit run (about a minute on a
 * loaded 2-core machine): 100 tests in a row with reset() between them, and a snapshot restored
 * 50 times, through kafkajs and @platformatic/kafka (clients we did not write).
 * Run: node --test "test/testing/*.slow.ts"
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { startKafka, type TestKafka } from '../../src/testing/index.ts';

/** Generous: CI runs these on a loaded 2-core machine. */
const WAIT_MS = 30_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

function client(kafka: TestKafka, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: kafka.bootstrapAddresses,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 50 },
  });
}

/** The topics a test sees (kafkajs lists the internal ones too). */
async function userTopics(admin: Admin): Promise<string[]> {
  return (await admin.listTopics()).filter((name) => !name.startsWith('__')).sort();
}

/** Commits a group's offset as a simple commit (no member), through @platformatic/kafka. */
async function commitOffset(kafka: TestKafka, groupId: string, topic: string, offset: bigint): Promise<void> {
  const admin = new PlatformaticAdmin({ clientId: 'committer', bootstrapBrokers: kafka.bootstrapAddresses });
  try {
    await admin.alterConsumerGroupOffsets({
      groupId,
      topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset }] }],
    });
  } finally {
    await admin.close();
  }
}

async function offsetsOf(admin: Admin, topic: string): Promise<string[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.sort((a, b) => a.partition - b.partition).map((o) => `${o.partition}:${o.low}-${o.high}`);
}

describe('reset between tests', () => {
  let kafka: TestKafka;
  let admin: Admin;
  before(async () => {
    kafka = await startKafka({ topics: [{ name: 'orders', partitions: 2 }] });
    admin = client(kafka, 'shared-admin').admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
    await kafka?.stop();
  });

  test("100 tests in a row, reset between them: none sees another one's topics, records, groups or offsets", async () => {
    const topicIds = new Set<string>();
    const resetMs: number[] = [];
    for (let run = 0; run < 100; run++) {
      const ns = kafka.namespace();
      // What the previous test left must be gone, seen through a client kept across resets.
      assert.deepEqual(await userTopics(admin), ['orders'], `run ${run}: topics`);
      assert.deepEqual(await offsetsOf(admin, 'orders'), ['0:0-0', '1:0-0'], `run ${run}: orders is empty`);
      assert.deepEqual((await admin.listGroups()).groups, [], `run ${run}: groups`);
      const ordersId = kafka.broker.metadata().topic('orders')?.topicId;
      assert.ok(ordersId !== undefined && !topicIds.has(ordersId), `run ${run}: orders has a new topic id`);
      topicIds.add(ordersId);
      // This test's own data: records in the baseline topic, a topic and a group of its namespace,
      // through clients of its own (kafkajs keeps refreshing the metadata of every topic a client
      // has used, and fails once one is gone: a client kept across resets uses baseline topics only).
      const own = ns.topic('scratch');
      const kafkajs = client(kafka, `test-${run}`);
      const testAdmin = kafkajs.admin();
      await testAdmin.connect();
      await testAdmin.createTopics({ topics: [{ topic: own, numPartitions: 1 }] });
      await testAdmin.disconnect();
      const producer = kafkajs.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic: 'orders', messages: [{ key: 'k', value: `run ${run}` }] });
      await producer.send({ topic: own, messages: [{ value: 'x' }] });
      await producer.disconnect();
      await commitOffset(kafka, ns.group('g'), own, 1n);
      assert.equal((await admin.listGroups()).groups.length, 1, `run ${run}: its group exists`);
      await kafka.reset();
      resetMs.push(kafka.timings.lastResetMs ?? Number.NaN);
    }
    resetMs.sort((a, b) => a - b);
    console.log(`reset(): p50 ${resetMs[49]?.toFixed(1)} ms, max ${resetMs[99]?.toFixed(1)} ms over 100`);
  });
});

describe('snapshots', () => {
  test('a snapshot restored 50 times gives the same offsets and records each time', async () => {
    const kafka = await startKafka({ topics: [{ name: 'seed', partitions: 2 }] });
    const kafkajs = client(kafka, 'snapshots');
    const admin = kafkajs.admin();
    try {
      await admin.connect();
      const producer = kafkajs.producer();
      await producer.connect();
      const seeded = Array.from({ length: 20 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        partition: i % 2,
      }));
      await producer.send({ topic: 'seed', messages: seeded });
      await producer.disconnect();
      await commitOffset(kafka, 'seeded-group', 'seed', 4n);
      await kafka.snapshot('seeded');
      assert.deepEqual(
        kafka.snapshots().map((s) => s.name),
        ['seeded'],
      );
      const expectedOffsets = await offsetsOf(admin, 'seed');
      assert.deepEqual(expectedOffsets, ['0:0-10', '1:0-10']);
      const readRecords = async (run: number): Promise<string[]> => {
        const consumer = kafkajs.consumer({ groupId: `reader-${run}`, maxWaitTimeInMs: 100 });
        const seen: string[] = [];
        await consumer.connect();
        await consumer.subscribe({ topic: 'seed', fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            seen.push(`${partition}/${message.offset}/${message.key}=${message.value}`);
          },
        });
        await waitFor(`20 records (run ${run})`, async () => (seen.length >= 20 ? true : undefined));
        await consumer.disconnect();
        return seen.sort();
      };
      const expectedRecords = await readRecords(-1);
      assert.equal(expectedRecords.length, 20);
      for (let run = 0; run < 50; run++) {
        // Change everything the snapshot holds, then restore it.
        const changer = kafkajs.producer();
        await changer.connect();
        await changer.send({
          topic: 'seed',
          messages: [{ key: 'later', value: `run ${run}`, partition: run % 2 }],
        });
        await changer.disconnect();
        await commitOffset(kafka, 'seeded-group', 'seed', 9n);
        await kafka.restore('seeded');
        assert.deepEqual(await offsetsOf(admin, 'seed'), expectedOffsets, `run ${run}: log offsets`);
        const committed = await admin.fetchOffsets({ groupId: 'seeded-group', topics: ['seed'] });
        assert.equal(
          committed[0]?.partitions.find((p) => p.partition === 0)?.offset,
          '4',
          `run ${run}: committed offset`,
        );
        // Records read by a consumer group on every 10th restore (each read is a group join).
        if (run % 10 === 9) assert.deepEqual(await readRecords(run), expectedRecords, `run ${run}: records`);
      }
      console.log(
        `snapshot: ${kafka.timings.lastSnapshotMs?.toFixed(1)} ms, last restore ${kafka.timings.lastRestoreMs?.toFixed(1)} ms`,
      );
    } finally {
      await admin.disconnect();
      await kafka.stop();
    }
  });
});
