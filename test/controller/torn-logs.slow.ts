// The facts file's scenarios 7 and 22 (issue 12) on three `kstack node` processes
// (compat/runner/kstack-cluster.ts, what `kstack up --brokers 3` starts), RF 3 topics with min ISR 2
// led by node 1, a crash staged on the files a killed process leaves:
// - 7: the followers are stopped (SIGSTOP) while the leader takes acks=1 writes only it holds; the
//   leader is killed (SIGKILL) and its log's tail torn (the last 37 bytes cut, mid-batch); the
//   followers go on and elect a new leader, which takes more writes in its epoch. The old leader,
//   started again, drops the torn batch, truncates at the diverging epoch (it logs "truncating to N
//   (diverging epoch)"), and catches up: the three replicas' log files end byte-identical.
// - 22: under acks=all load a follower is killed and loses its unflushed writes (its log cut to
//   half, as a lost page cache leaves it); the leader is killed at once and the follower started
//   again within the session timeout (it cannot catch up: its leader is gone). The replica that
//   lost data is not elected, though first in assignment order: it re-registered after an unclean
//   shutdown, so it left the ISR (without that it stays in, leads, and its lost records are gone);
//   every acknowledged record is read back at its offset.
// Ports (docs/team-rules.md): brokers 27323-27325, their controller listeners 27373-27375.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkajsClient } from '../testing/kafkajs-client.ts';
import { AckedLoad, lostRecords, readAll, stopLoads, waitUntil } from './acked-load.ts';

const BASE_PORT = 27323;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-torn-'));
const logDir = join(dataDir, 'logs');
// Each node's whole output, for its truncation lines (read at import).
process.env.KSTACK_COMPAT_NODE_LOGS = logDir;
const { KstackCluster } = await import('../../compat/runner/kstack-cluster.ts');
const clusterDir = join(dataDir, 'cluster');
const cluster = new KstackCluster({ nodes: 3, basePort: BASE_PORT, dataDir: clusterDir });
const bootstrap = cluster.ids.map((id) => `127.0.0.1:${cluster.brokerPort(id)}`);
const kafka = kafkajsClient('torn-logs', bootstrap);
const ACKNOWLEDGED_EACH_PHASE = 300;
/** Cut from the old leader's log: less than one 20-record batch, so the last batch is torn. */
const TORN_BYTES = 37;
/** How long the followers stay stopped while the leader takes writes alone. */
const FOLLOWERS_STOPPED_MS = 1_500;

before(async () => {
  await cluster.start();
});

after(async () => {
  for (const id of cluster.running()) {
    const pid = cluster.pid(id);
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }
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
    await waitUntil(`${topic}-0 led by 1 with ISR [1,2,3]`, async () => {
      const p = await partition(admin, topic);
      return p?.leader === 1 && p.isr.length === 3;
    });
  } finally {
    await admin.disconnect();
  }
}

async function partition(
  admin: ReturnType<typeof kafka.admin>,
  topic: string,
): Promise<{ leader: number; isr: number[] } | undefined> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const p = topics[0]?.partitions[0];
  return p === undefined ? undefined : { leader: p.leader, isr: [...p.isr].sort() };
}

async function untilIsrFull(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitUntil(
      `${topic}-0's ISR full again`,
      async () => (await partition(admin, topic))?.isr.length === 3,
    );
  } finally {
    await admin.disconnect();
  }
}

/** Node `id`'s segment files of `topic`-0, in offset order. */
function segments(id: number, topic: string): string[] {
  const dir = join(clusterDir, `node-${id}`, `${topic}-0`);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(dir, name));
}

/** The records of node `id`'s copy of `topic`-0: its segments' bytes, in offset order. */
function logBytes(id: number, topic: string): Buffer {
  return Buffer.concat(segments(id, topic).map((file) => readFileSync(file)));
}

/** Cuts node `id`'s last segment of `topic`-0 to `size(bytes)` bytes; returns the old and new size. */
function cutLog(id: number, topic: string, size: (bytes: number) => number): [number, number] {
  const last = segments(id, topic).at(-1);
  assert.ok(last !== undefined, `node ${id} has no segment of ${topic}-0`);
  const bytes = statSync(last).size;
  truncateSync(last, size(bytes));
  return [bytes, statSync(last).size];
}

function nodeOutput(id: number): string {
  return readFileSync(join(logDir, `node-${id}.log`), 'utf8');
}

test('7: a torn tail on the old leader: truncated at the diverging epoch, the three logs byte-identical', async () => {
  const topic = 'torn-tail';
  await createTopic(topic);
  const load = new AckedLoad(kafka, topic, 1, 5);
  await waitUntil('acknowledged records', () => load.acknowledged.size >= ACKNOWLEDGED_EACH_PHASE);
  // Writes only the leader holds.
  for (const id of [2, 3]) process.kill(cluster.pid(id)!, 'SIGSTOP');
  const alone = load.acknowledged.size;
  await sleep(FOLLOWERS_STOPPED_MS);
  const aloneWritten = load.acknowledged.size - alone;
  await cluster.stopNode(1, 'SIGKILL');
  for (const id of [2, 3]) process.kill(cluster.pid(id)!, 'SIGCONT');
  const [before, after] = cutLog(1, topic, (bytes) => bytes - TORN_BYTES);
  const afterKill = load.acknowledged.size;
  await waitUntil(
    'writes to the new leader',
    () => load.acknowledged.size >= afterKill + ACKNOWLEDGED_EACH_PHASE,
  );
  await cluster.startNode(1);
  await untilIsrFull(topic);
  await load.stop();
  await waitUntil('three byte-identical copies', () => {
    const copies = cluster.ids.map((id) => logBytes(id, topic));
    return copies.every((copy) => copy.equals(copies[0]!));
  });
  const truncations = nodeOutput(1)
    .split('\n')
    .filter((line) => line.includes(`${topic}-0: truncating to`));
  console.log(
    `7: ${aloneWritten} records acknowledged by the leader alone; its log cut from ${before} to ${after} bytes; ${logBytes(2, topic).length} bytes on each replica at the end; ${truncations.length} truncation line(s) on node 1: ${truncations.map((line) => /truncating to \d+/.exec(line)?.[0]).join(', ')}`,
  );
  assert.ok(aloneWritten > 0, 'the leader took no write while its followers were stopped');
  assert.ok(truncations.length > 0, 'node 1 did not truncate at a diverging epoch');
});

test('22: a follower loses its unflushed writes, then the leader dies: no acknowledged write lost', async () => {
  const topic = 'unflushed';
  await createTopic(topic);
  const load = new AckedLoad(kafka, topic, -1);
  await waitUntil('acknowledged records', () => load.acknowledged.size >= 2 * ACKNOWLEDGED_EACH_PHASE);
  await cluster.stopNode(2, 'SIGKILL');
  const [before, after] = cutLog(2, topic, (bytes) => Math.floor(bytes / 2));
  // The leader dies too, so the restarted follower cannot catch up and rejoin the ISR; both are back
  // (2) or gone (1) within the session timeout, so only 2's unclean re-registration takes it out of
  // the ISR before the controller fences 1 and elects another leader.
  await cluster.stopNode(1, 'SIGKILL');
  await cluster.startNode(2);
  const admin = kafka.admin();
  await admin.connect();
  let leader = -1;
  await waitUntil(`${topic}-0 led again`, async () => {
    leader = (await partition(admin, topic))?.leader ?? -1;
    return leader !== -1 && leader !== 1;
  });
  await admin.disconnect();
  await cluster.startNode(1);
  const afterKill = load.acknowledged.size;
  await waitUntil(
    'writes after the kill',
    () => load.acknowledged.size >= afterKill + ACKNOWLEDGED_EACH_PHASE,
  );
  await load.stop();
  await untilIsrFull(topic);
  const read = await readAll(kafka, topic, 'unflushed-check');
  console.log(
    `22: node 2's log cut from ${before} to ${after} bytes; new leader ${leader}; ${load.acknowledged.size} acknowledged, ${read.size} read`,
  );
  assert.equal(leader, 3, 'the replica that lost its unflushed writes was elected');
  assert.equal(lostRecords(load.acknowledged, read), 0, 'acknowledged records lost or moved');
  assert.equal(new Set(read.values()).size, read.size, 'a value read at two offsets');
});
