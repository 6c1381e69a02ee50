// Issue 12's "all three killed and restarted come back with every acknowledged write" (the facts
// file's scenario 16, with real processes): three `kstack node` processes (what `kstack up
// --brokers 3` starts) hold an RF 3 topic (min ISR 2) under acks=all load from kafkajs; all three
// get SIGKILL at once while sends are in flight, and are started again on the same data
// directories. Every node re-registers after an unclean shutdown (KIP-966: each leaves the ISR
// unless it is its last member), the quorum elects a controller from the persisted votes and log,
// the partition is led again, and a kafkajs consumer reads every acknowledged record at its
// acknowledged offset.
// Ports (docs/team-rules.md): brokers 27340-27342, their controller listeners 27390-27392.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NODE_REGISTERED_MARK } from '../../src/engine/cluster.ts';
import { BROKER_NODE_FLAGS } from '../../src/engine/process.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';

const HOST = '127.0.0.1';
const IDS = [1, 2, 3] as const;
const BROKER_PORT = 27339; // node i: 27339 + i
const CONTROLLER_PORT = 27389; // node i: 27389 + i
const VOTERS = IDS.map((id) => `${id}@${HOST}:${CONTROLLER_PORT + id}`).join(',');
const CLUSTER_ID = 'YWxsLWtpbGxlZC1yZXN0YXJ0';
const BOOTSTRAP = IDS.map((id) => `${HOST}:${BROKER_PORT + id}`);
const TOPIC = 'survives';
/** Records acknowledged before the kill (the load goes on until all three are killed). */
const ACKNOWLEDGED_BEFORE_KILL = 1_000;
const BATCH = 20;
/** Generous: a loaded 2-core machine starts a node process in seconds. */
const WAIT_MS = 180_000;
const POLL_MS = 100;
const KSTACK = join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-all-killed-'));

interface NodeProcess {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<unknown>;
}

const nodes = new Map<number, NodeProcess>();

function startNode(id: number): NodeProcess {
  const child = spawn(
    process.execPath,
    [
      ...BROKER_NODE_FLAGS,
      KSTACK,
      'node',
      '--node-id',
      String(id),
      '--voters',
      VOTERS,
      `--cluster-id=${CLUSTER_ID}`,
      '--host',
      HOST,
      '--port',
      String(BROKER_PORT + id),
      '--data-dir',
      join(dataDir, `node-${id}`),
      '--override',
      'min.insync.replicas=2',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const node: NodeProcess = {
    child,
    output: '',
    exited: new Promise((done) => child.once('exit', done)),
  };
  const append = (chunk: Buffer) => {
    node.output += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  nodes.set(id, node);
  return node;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function startAll(): Promise<void> {
  for (const id of IDS) startNode(id);
  for (const id of IDS)
    await waitFor(`node ${id} registered`, () => nodes.get(id)!.output.includes(NODE_REGISTERED_MARK));
}

after(async () => {
  for (const node of nodes.values()) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('all three nodes killed with SIGKILL under acks=all load come back with every acknowledged record', async () => {
  await startAll();
  const kafka = kafkajsClient('all-killed', BOOTSTRAP);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
  await admin.disconnect();

  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  const acknowledged = new Map<string, string>();
  let sent = 0;
  let loading = true;
  const load = (async () => {
    while (loading) {
      const values = Array.from({ length: BATCH }, () => `record-${sent++}`);
      try {
        const [meta] = await producer.send({
          topic: TOPIC,
          acks: -1,
          timeout: 30_000,
          messages: values.map((value) => ({ value, partition: 0 })),
        });
        const base = BigInt(meta!.baseOffset!);
        for (const [i, value] of values.entries()) acknowledged.set(String(base + BigInt(i)), value);
      } catch {
        // The cluster is going down: sends fail from here, and nothing unacknowledged is checked.
      }
    }
  })();
  await waitFor(
    `${ACKNOWLEDGED_BEFORE_KILL} records acknowledged`,
    () => acknowledged.size >= ACKNOWLEDGED_BEFORE_KILL,
  );

  // All three at once, sends in flight.
  for (const node of nodes.values()) node.child.kill('SIGKILL');
  await Promise.all([...nodes.values()].map((node) => node.exited));
  loading = false;
  await load;
  await producer.disconnect().catch(() => {});
  const count = acknowledged.size;
  console.log(`${count} records acknowledged before the kill (${sent} sent)`);

  await startAll();
  const readAdmin = kafka.admin();
  await readAdmin.connect();
  let highWatermark = 0;
  await waitFor(`${TOPIC}-0 led again`, async () => {
    try {
      const [offsets] = await readAdmin.fetchTopicOffsets(TOPIC);
      highWatermark = Number(offsets?.high ?? 0);
      return highWatermark > 0;
    } catch {
      return false;
    }
  });
  await readAdmin.disconnect();
  assert.ok(
    highWatermark >= count,
    `high watermark ${highWatermark} below the ${count} acknowledged records`,
  );

  const consumer = kafka.consumer({ groupId: 'all-killed-check' });
  await consumer.connect();
  const read = new Map<string, string>();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      read.set(message.offset, message.value!.toString());
    },
  });
  await waitFor('the consumer read up to the high watermark', () => read.size >= highWatermark);
  await consumer.disconnect();
  let lost = 0;
  for (const [offset, value] of acknowledged) if (read.get(offset) !== value) lost++;
  assert.equal(lost, 0, `${lost} of ${count} acknowledged records lost or moved`);
  const unclean = [...nodes.values()]
    .map((node) => node.output)
    .join('')
    .split('\n')
    .filter((line) => line.includes('registered after an unclean shutdown'));
  console.log(
    `after the restart: high watermark ${highWatermark}; ${unclean.length} unclean re-registration lines`,
  );
});
