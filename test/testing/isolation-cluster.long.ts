/**
 * reset() on three brokers as a user's suite sees it: 100 tests in a row with reset() between
 * them, each through clients of its own (kafkajs, a client we did not write), none seeing another
 * one's topics, records, groups or committed offsets. By hand only (718 s wall at load 25-57 on the
 * shared 2-core machine, most of it the clients of each test; CI has no room for it):
 * node --test test/testing/isolation-cluster.long.ts
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startKafka, type TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

const RUNS = 100;
let kafka: TestKafkaCluster;
before(async () => {
  kafka = await startKafka({ brokers: 3, topics: [{ name: 'orders', partitions: 2 }] });
});
after(() => kafka?.stop());

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test(`${RUNS} tests in a row on three brokers, reset between them: none sees another one's data`, {
  timeout: 30 * 60_000,
}, async () => {
  const topicIds = new Set<string>();
  const resetMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const ns = kafka.namespace();
    const client = kafkajsClient(`test-${run}`, kafka.bootstrapAddresses);
    const admin = client.admin();
    await admin.connect();
    try {
      assert.deepEqual(
        (await admin.listTopics()).filter((name) => !name.startsWith('__')),
        ['orders'],
        `run ${run}: topics`,
      );
      assert.deepEqual(
        (await admin.fetchTopicOffsets('orders')).map((o) => `${o.partition}:${o.low}-${o.high}`).sort(),
        ['0:0-0', '1:0-0'],
        `run ${run}: orders is empty`,
      );
      assert.deepEqual((await admin.listGroups()).groups, [], `run ${run}: groups`);
      for (const node of kafka.nodes()) {
        const id = node.broker.metadata().topic('orders')?.topicId;
        assert.ok(
          id !== undefined && !topicIds.has(id),
          `run ${run}: orders has a new topic id on node ${node.nodeId}`,
        );
      }
      topicIds.add(kafka.nodes()[0]!.broker.metadata().topic('orders')!.topicId);
      const own = ns.topic('scratch');
      await admin.createTopics({ topics: [{ topic: own, numPartitions: 1 }], waitForLeaders: true });
      const producer = client.producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({ topic: 'orders', acks: -1, messages: [{ key: 'k', value: `run ${run}` }] });
      await producer.send({ topic: own, acks: -1, messages: [{ value: 'x' }] });
      await producer.disconnect();
      await admin.setOffsets({
        groupId: ns.group('g'),
        topic: own,
        partitions: [{ partition: 0, offset: '1' }],
      });
      assert.equal((await admin.listGroups()).groups.length, 1, `run ${run}: its group exists`);
    } finally {
      await admin.disconnect();
    }
    await kafka.reset();
    resetMs.push(kafka.timings.lastResetMs ?? Number.NaN);
  }
  const sorted = [...resetMs].sort((a, b) => a - b);
  console.log(
    `reset() on three brokers over ${RUNS} tests: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`,
  );
});
