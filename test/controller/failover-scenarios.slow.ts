// The facts file's scenarios 6 and 21 (issue 12) on three `kstack node` processes
// (compat/runner/kstack-cluster.ts, what `kstack up --brokers 3` starts), RF 3 topics with min ISR 2
// led by node 1:
// - 6: under kafkajs acks=all load, a follower is bounced (SIGKILL, started again), then at once
//   the leader (a fast leader change): every acknowledged record is read back at its offset, and
//   no value is read twice.
// - 21: under acks=1 load, with a consumer reading all along and ListOffsets(latest) asked all
//   along, the leader is killed and started again: the latest offset never goes backwards, and
//   every record the consumer saw (so below the high watermark then) is still there at its offset
//   (acks=1 records the new leader lacks may be gone, as in Kafka, but no consumer saw them).
// Ports (docs/team-rules.md): brokers 27313-27315, their controller listeners 27363-27365.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KstackCluster } from '../../compat/runner/kstack-cluster.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';
import { AckedLoad, lostRecords, readAll, stopLoads, waitUntil } from './acked-load.ts';

const BASE_PORT = 27313;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-failover-'));
const cluster = new KstackCluster({ nodes: 3, basePort: BASE_PORT, dataDir });
const bootstrap = cluster.ids.map((id) => `127.0.0.1:${cluster.brokerPort(id)}`);
const kafka = kafkajsClient('failover-scenarios', bootstrap);
/** Records acknowledged before each fault and again after it. */
const ACKNOWLEDGED_EACH_PHASE = 300;
/** Between acks=1 sends (20 records each). */
const ACKS_ONE_PAUSE_MS = 5;

before(async () => {
  await cluster.start();
});

after(async () => {
  await stopLoads();
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

/** An RF 3 topic on [1,2,3] (node 1 leads), once its ISR is full. */
async function createTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }],
    });
    await waitUntil(`${topic}-0 led by 1 with ISR [1,2,3]`, () => partitionIs(admin, topic, 1, 3));
  } finally {
    await admin.disconnect();
  }
}

async function partitionIs(
  admin: ReturnType<typeof kafka.admin>,
  topic: string,
  leader: number | null,
  isrSize: number,
): Promise<boolean> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const partition = topics[0]?.partitions[0];
  return (
    partition !== undefined &&
    partition.leader !== -1 &&
    (leader === null || partition.leader === leader) &&
    partition.isr.length === isrSize
  );
}

async function untilAcknowledged(load: AckedLoad, count: number): Promise<void> {
  await waitUntil(`${count} records acknowledged`, () => load.acknowledged.size >= count);
}

function distinctValues(read: ReadonlyMap<bigint, string>): number {
  return new Set(read.values()).size;
}

test('6: a follower bounced, then at once the leader: no acknowledged write lost', async () => {
  const topic = 'fast-leader-change';
  await createTopic(topic);
  const load = new AckedLoad(kafka, topic, -1);
  await untilAcknowledged(load, ACKNOWLEDGED_EACH_PHASE);
  await cluster.stopNode(2, 'SIGKILL');
  await cluster.startNode(2);
  await cluster.stopNode(1, 'SIGKILL');
  await cluster.startNode(1);
  const before = load.acknowledged.size;
  await untilAcknowledged(load, before + ACKNOWLEDGED_EACH_PHASE);
  await load.stop();
  const admin = kafka.admin();
  await admin.connect();
  await waitUntil(`${topic}-0's ISR full again`, () => partitionIs(admin, topic, null, 3));
  await admin.disconnect();
  const read = await readAll(kafka, topic, 'fast-leader-change-check');
  console.log(
    `6: ${load.acknowledged.size} acknowledged (${before} before the bounces), ${load.failed} sends failed, ${read.size} records read`,
  );
  assert.equal(lostRecords(load.acknowledged, read), 0, 'acknowledged records lost or moved');
  assert.equal(distinctValues(read), read.size, 'a value read at two offsets');
});

test('21: acks=1 records are seen only below the high watermark; ListOffsets(latest) never goes backwards', async () => {
  const topic = 'acks-one-failover';
  await createTopic(topic);
  const load = new AckedLoad(kafka, topic, 1, ACKS_ONE_PAUSE_MS);
  // What a consumer saw while the leader changed, and every latest offset ListOffsets answered.
  const seen = new Map<bigint, string>();
  const consumer = kafka.consumer({ groupId: 'acks-one-watcher', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.set(BigInt(message.offset), message.value?.toString() ?? '');
    },
  });
  const latest: bigint[] = [];
  let watching = true;
  const admin = kafka.admin();
  await admin.connect();
  const watcher = (async () => {
    while (watching) {
      try {
        const [offsets] = await admin.fetchTopicOffsets(topic);
        if (offsets !== undefined) latest.push(BigInt(offsets.high));
      } catch {
        // No leader now: nothing answered, nothing to compare.
      }
      await sleep(20);
    }
  })();

  await untilAcknowledged(load, ACKNOWLEDGED_EACH_PHASE);
  await waitUntil('the consumer saw records', () => seen.size > 0);
  await cluster.stopNode(1, 'SIGKILL');
  const before = load.acknowledged.size;
  await untilAcknowledged(load, before + ACKNOWLEDGED_EACH_PHASE);
  await cluster.startNode(1);
  await waitUntil(`${topic}-0's ISR full again`, () => partitionIs(admin, topic, null, 3));
  await untilAcknowledged(load, load.acknowledged.size + ACKNOWLEDGED_EACH_PHASE);
  await load.stop();
  watching = false;
  await watcher;
  await admin.disconnect();
  await consumer.disconnect();

  const read = await readAll(kafka, topic, 'acks-one-check');
  const backwards = latest.findIndex((offset, i) => i > 0 && offset < latest[i - 1]!);
  console.log(
    `21: ${load.acknowledged.size} acknowledged at acks=1, ${load.failed} sends failed; the consumer saw ${seen.size}; ${latest.length} ListOffsets answers, last ${latest.at(-1)}; ${read.size} records at the end, ${lostRecords(load.acknowledged, read)} acknowledged ones gone`,
  );
  assert.equal(
    backwards,
    -1,
    `ListOffsets(latest) went back from ${latest[backwards - 1]} to ${latest[backwards]}`,
  );
  assert.equal(
    lostRecords(seen, read),
    0,
    'a record a consumer saw is gone: it was visible above the high watermark',
  );
  assert.equal(distinctValues(read), read.size, 'a value read at two offsets');
});
