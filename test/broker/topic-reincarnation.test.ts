/**
 * A topic deleted and created again under the same name, on three brokers, keeps the new topic's
 * acknowledged records across a restart of every node. At start a node replays its metadata log
 * from the beginning, so it meets the old topic (its TopicRecord, then its RemoveTopicRecord)
 * before the new one; the partition directory `t-0` on disk is the new topic's. As Kafka, each
 * partition directory names its topic id in `partition.metadata`, and a node neither opens nor
 * deletes a directory of another topic id while it replays history. Found by engineer C (issue 20):
 * before the fix every replica came back empty (log end offset 0).
 * A node that was down meanwhile and finds a directory of a deleted topic id under the name removes
 * it as a stray once caught up, and fetches the partition again.
 * Clients: kafkajs (a client we did not write), through the testing API's three-node cluster.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Admin } from 'kafkajs';
import { startKafka } from '../../src/testing/index.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';

const TOPIC = 'reborn';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${WAIT_MS} ms; last error: ${String(last)}`);
}

async function topicId(admin: Admin): Promise<string | undefined> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const partition = topics[0]?.partitions[0];
  // Leader elected and every replica in the ISR: acks=all writes reach all three logs.
  return partition !== undefined && partition.leader >= 0 && partition.isr.length === 3 ? 'ready' : undefined;
}

test('a topic deleted and created again keeps its acknowledged records across a restart of every node', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-reincarnation-'));
  try {
    const kafka = await startKafka({ brokers: 3, dataDir });
    try {
      const kafkajs = kafkajsClient('reincarnation', kafka.bootstrapAddresses);
      const admin = kafkajs.admin();
      const producer = kafkajs.producer({ allowAutoTopicCreation: false });
      await admin.connect();
      await producer.connect();
      try {
        const create = () =>
          admin.createTopics({
            topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }],
            waitForLeaders: true,
          });
        await create();
        await until('the first topic in sync', () => topicId(admin));
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'old' }] });
        await admin.deleteTopics({ topics: [TOPIC] });
        await until('the topic created again', async () => ((await create()) ? true : undefined));
        await until('the second topic in sync', () => topicId(admin));
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: ['a', 'b', 'c'].map((value) => ({ value })),
        });
        const before = await admin.fetchTopicOffsets(TOPIC);
        assert.equal(before[0]?.high, '3');
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
      const ids = kafka.nodes().map((node) => node.broker.get(TOPIC, 0)?.topicId);
      // Every node stops and starts again, replaying its metadata log.
      await kafka.snapshot('after-reincarnation');
      for (const node of kafka.nodes()) {
        const replica = node.broker.get(TOPIC, 0);
        assert.equal(replica?.log.logEndOffset, 3, `node ${node.nodeId}: the new topic's three records`);
        assert.equal(replica?.topicId, ids[0]);
        const metadata = readFileSync(
          join(dataDir, `node-${node.nodeId}`, `${TOPIC}-0`, 'partition.metadata'),
          'utf8',
        );
        assert.equal(
          metadata,
          `version: 0\ntopic_id: ${ids[0]}\n`,
          `node ${node.nodeId}: Kafka's partition.metadata`,
        );
      }

      // A node that was down while its topic's name went to another topic finds a directory of a
      // deleted topic id under the name: a stray, removed once the node has caught up, and the
      // partition fetched again from its leader.
      await kafka.broker(3).stop();
      // Its controlled shutdown took it out of the ISR: back in it means it fetched the records again.
      await kafka.waitForIsr(TOPIC, 0, { excludes: 3 });
      const strayDir = join(dataDir, 'node-3', `${TOPIC}-0`);
      writeFileSync(join(strayDir, 'partition.metadata'), 'version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n');
      writeFileSync(join(strayDir, 'stray-marker'), 'left by the deleted topic');
      await kafka.broker(3).restart();
      await kafka.waitForIsr(TOPIC, 0, { includes: 3 });
      const node3 = kafka.nodes().find((node) => node.nodeId === 3);
      assert.equal(node3?.broker.get(TOPIC, 0)?.log.logEndOffset, 3, 'node 3 fetched the topic again');
      assert.equal(existsSync(join(strayDir, 'stray-marker')), false, 'the stray directory was removed');
      assert.equal(
        readFileSync(join(strayDir, 'partition.metadata'), 'utf8'),
        `version: 0\ntopic_id: ${ids[0]}\n`,
      );
    } finally {
      await kafka.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
