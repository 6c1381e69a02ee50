// The facts file's scenario 17 (issue 12), wipe one voter, on three `kstack node` processes
// (compat/runner/kstack-cluster.ts, what `kstack up --brokers 3` starts), as a user loses a disk:
// an RF 3 topic (min ISR 2) under kafkajs acks=all load, enough metadata churn that every node has
// taken a snapshot (its metadata log starts above 0), then one node is killed with SIGKILL, its
// whole data directory deleted, and the node started again on the empty directory. It must come
// back as the same voter and catch up through FetchSnapshot (its log line, its snapshot file, the
// leader's DescribeQuorum), its replicas refetched (the ISR full again, the three copies of the
// partition byte-identical), every acknowledged record read back at its offset, no leader change
// lost (every node answers the same leader and leader epoch, the quorum epoch and high watermark
// never behind what they were before), and Kafka's own `kafka-metadata-quorum describe
// --replication` shows it with no lag. First a node that does not lead the quorum, then the quorum
// leader itself (another takes over while it is away).
//
// What this cannot prove: a wiped voter is unsafe with a static voter set (src/raft/README.md,
// "Limits"): it forgets its vote in the current epoch, and its lost copy may have counted toward a
// majority. Here the other two hold everything committed, which is the case kstack (and Kafka
// without KIP-853) survives; the double-vote interleaving needs KIP-853's directory ids.
// Ports (docs/team-rules.md): brokers 27333-27335, their controller listeners 27383-27385.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';
import { AckedLoad, lostRecords, readAll, stopLoads, waitUntil } from './acked-load.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BASE_PORT = 27333;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-wipe-voter-'));
const logDir = join(dataDir, 'logs');
// Each node's whole output, for its snapshot line (read at import).
process.env.KSTACK_COMPAT_NODE_LOGS = logDir;
const { KstackCluster } = await import('../../compat/runner/kstack-cluster.ts');
const clusterDir = join(dataDir, 'cluster');
/** Low, so that a few hundred topic changes make every node snapshot (Kafka's default is 20 MiB). */
const SNAPSHOT_RECORD_BYTES = 16 * 1024;
const cluster = new KstackCluster({
  nodes: 3,
  basePort: BASE_PORT,
  dataDir: clusterDir,
  overrides: () => ({ 'metadata.log.max.record.bytes.between.snapshots': String(SNAPSHOT_RECORD_BYTES) }),
});
const bootstrap = cluster.ids.map((id) => `127.0.0.1:${cluster.brokerPort(id)}`);
const kafka = kafkajsClient('wipe-voter', bootstrap);
const ACKNOWLEDGED_EACH_PHASE = 300;
/** Between acks=all sends (20 records each): enough load, not a hundred thousand records to read back. */
const LOAD_PAUSE_MS = 10;
/** Topics created then deleted per round of metadata churn. */
const CHURN_TOPICS = 40;
const METADATA_DIR = '__cluster_metadata-0';
const SNAPSHOT_LINE = /quorum: installed snapshot (\d+)-(\d+) \(\d+ bytes\) fetched from leader (\d+)/;
/** A JVM tool start on a loaded 2-core machine: generous. */
const TOOL_TIMEOUT_MS = 120_000;

const clients = new Map<number, ControllerClient>();

before(async () => {
  await cluster.start();
});

after(async () => {
  await stopLoads();
  for (const client of clients.values()) client.close();
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A raw client of node `id`'s broker listener (kept for the file). */
function client(id: number): ControllerClient {
  let found = clients.get(id);
  if (found === undefined) {
    found = clientTo(cluster.brokerPort(id), `wipe-voter-${id}`);
    clients.set(id, found);
  }
  return found;
}

interface Voter {
  replicaId: number;
  logEndOffset: bigint;
}
interface Quorum {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  currentVoters: Voter[];
}

/** DescribeQuorum (55 v2) through node `id`'s broker listener (answered by the quorum leader). */
async function describeQuorum(id: number): Promise<Quorum> {
  const body = await send(client(id), 55, 2, {
    topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
  });
  const topics = body.topics as { partitions: (Quorum & { errorCode: number })[] }[];
  const partition = topics[0]?.partitions[0];
  assert.ok(partition !== undefined, 'DescribeQuorum names the metadata partition');
  assert.equal(partition.errorCode, 0, `DescribeQuorum through node ${id}: error ${partition.errorCode}`);
  return partition;
}

/** Leader, leader epoch and ISR of `topic`-0 as node `id` answers Metadata (v12). */
async function partitionAt(id: number, topic: string): Promise<string> {
  const body = await send(client(id), 3, 12, { topics: [{ name: topic, topicId: ZERO_UUID }] });
  const partitions = (body.topics as { partitions: MessageValue[] }[])[0]?.partitions ?? [];
  const p = partitions[0] as { leaderId: number; leaderEpoch: number; isrNodes: number[] } | undefined;
  return p === undefined
    ? 'none'
    : `leader ${p.leaderId} epoch ${p.leaderEpoch} isr ${[...p.isrNodes].sort()}`;
}

/** An RF 3 topic on `replicas` (the first leads), once its ISR is full. */
async function createTopic(topic: string, replicas: number[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }],
    });
  } finally {
    await admin.disconnect();
  }
  await untilIsrFull(topic);
}

async function untilIsrFull(topic: string): Promise<void> {
  await waitUntil(`${topic}-0's ISR full on every node`, async () => {
    const answers = await Promise.all(cluster.ids.map((id) => partitionAt(id, topic)));
    return answers.every((answer) => answer === answers[0] && answer.endsWith('isr 1,2,3'));
  });
}

/** The end offsets of node `id`'s metadata snapshots (file names `<end>-<epoch>.checkpoint`). */
function snapshotEnds(id: number): number[] {
  const dir = join(clusterDir, `node-${id}`, METADATA_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^(\d{20})-\d{10}\.checkpoint$/.exec(name)?.[1])
    .filter((end): end is string => end !== undefined)
    .map(Number);
}

/** Topics created and deleted until every node has a snapshot past `above`. */
async function churnUntilSnapshots(above: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let round = 0; !cluster.ids.every((id) => snapshotEnds(id).some((end) => end > above)); round++) {
      assert.ok(round < 50, `no snapshot past ${above} on every node after ${round} rounds of churn`);
      const topics = Array.from({ length: CHURN_TOPICS }, (_, i) => `churn-${above}-${round}-${i}`);
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })) });
      await admin.deleteTopics({ topics });
    }
  } finally {
    await admin.disconnect();
  }
}

/** Node `id`'s segment files of `topic`-0 concatenated, in offset order. */
function logBytes(id: number, topic: string): Buffer {
  const dir = join(clusterDir, `node-${id}`, `${topic}-0`);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
  return Buffer.concat(files.map((name) => readFileSync(join(dir, name))));
}

function nodeOutput(id: number): string {
  return readFileSync(join(logDir, `node-${id}.log`), 'utf8');
}

/** `kafka-metadata-quorum --bootstrap-server … describe --replication`: NodeId → its row's columns. */
function replicationRows(id: number): Promise<Map<number, string[]>> {
  return new Promise((resolve, reject) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      [
        'org.apache.kafka.tools.MetadataQuorumCommand',
        '--bootstrap-server',
        `127.0.0.1:${cluster.brokerPort(id)}`,
        'describe',
        '--replication',
      ],
      { timeout: TOOL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`kafka-metadata-quorum describe --replication: ${error.message}\n${stderr}`));
          return;
        }
        const rows = new Map<number, string[]>();
        for (const line of stdout.trim().split('\n').slice(1)) {
          const columns = line.trim().split(/\s+/);
          rows.set(Number(columns[0]), columns);
        }
        resolve(rows);
      },
    );
  });
}

/**
 * Kills node `victim` (SIGKILL), deletes its data directory, starts it again, and checks that it
 * came back as the same voter through FetchSnapshot with everything acknowledged and committed.
 */
async function wipeAndRejoin(topic: string, victim: number, load: AckedLoad): Promise<void> {
  const survivor = cluster.ids.find((id) => id !== victim)!;
  const before = await describeQuorum(survivor);
  const partitionBefore = await partitionAt(survivor, topic);
  const epochBefore = Number(/epoch (\d+)/.exec(partitionBefore)?.[1]);
  await cluster.stopNode(victim, 'SIGKILL');
  const nodeDir = join(clusterDir, `node-${victim}`);
  rmSync(nodeDir, { recursive: true, force: true });
  assert.ok(!existsSync(nodeDir));
  // While it is away the others go on (a new quorum leader first, when it led).
  await waitUntil('a quorum leader among the others', async () => {
    const quorum = await describeQuorum(survivor);
    return quorum.leaderId !== victim && quorum.leaderId >= 0;
  });
  const acknowledged = load.acknowledged.size;
  await waitUntil('writes acknowledged while it is away', () => load.acknowledged.size >= acknowledged + 100);
  await cluster.startNode(victim);

  // It installed a snapshot fetched from the leader, past offset 0, and kept it.
  await waitUntil(`node ${victim}'s snapshot line`, () => SNAPSHOT_LINE.test(nodeOutput(victim)));
  const [, end, , from] = SNAPSHOT_LINE.exec(nodeOutput(victim))!;
  assert.ok(Number(end) > 0, `node ${victim} installed a snapshot ending at ${end}`);
  assert.ok(
    snapshotEnds(victim).some((e) => e >= Number(end)),
    `node ${victim} keeps its snapshot file`,
  );
  // The same voter, caught up with the leader's log end; epoch and high watermark never went back.
  await waitUntil(`node ${victim} at the quorum leader's log end`, async () => {
    const quorum = await describeQuorum(victim);
    const ends = new Map(quorum.currentVoters.map((v) => [v.replicaId, v.logEndOffset]));
    return ends.size === 3 && ends.get(victim) === ends.get(quorum.leaderId);
  });
  const after = await describeQuorum(victim);
  assert.ok(
    after.leaderEpoch >= before.leaderEpoch,
    `quorum epoch ${before.leaderEpoch} -> ${after.leaderEpoch}`,
  );
  assert.ok(
    after.highWatermark >= before.highWatermark,
    `metadata HW ${before.highWatermark} -> ${after.highWatermark}`,
  );
  assert.deepEqual(
    after.currentVoters.map((v) => v.replicaId).sort(),
    [1, 2, 3],
    'the wiped node is a voter again',
  );

  // Its replica refetched: the ISR is full on every node, which all answer the same leader epoch.
  await untilIsrFull(topic);
  const partitionAfter = await partitionAt(victim, topic);
  const epochAfter = Number(/epoch (\d+)/.exec(partitionAfter)?.[1]);
  assert.ok(epochAfter >= epochBefore, `${topic}-0 leader epoch ${epochBefore} -> ${epochAfter}`);

  // Kafka's own tool sees it caught up (NoOps every 500 ms: wait for a moment with no lag).
  let row: string[] | undefined;
  await waitUntil(`kafka-metadata-quorum showing node ${victim} with lag 0`, async () => {
    row = (await replicationRows(survivor)).get(victim);
    return row?.[3] === '0';
  });
  console.log(
    `node ${victim}: snapshot ${end} from leader ${from}; quorum epoch ${before.leaderEpoch} -> ${after.leaderEpoch}, HW ${before.highWatermark} -> ${after.highWatermark}; ${topic}-0 ${partitionBefore} -> ${partitionAfter}; tool row: ${row?.join(' ')}`,
  );
}

test('17: a wiped follower voter rejoins through FetchSnapshot, then the wiped quorum leader: nothing acknowledged or committed lost', async () => {
  const topic = 'wiped-voter';
  // The partition led by a follower voter F, the quorum leader Q next: F's wipe moves the partition
  // to Q (epoch 1), so Q, wiped next, restarts from a snapshot in which it leads the partition with
  // an empty log, then follows epoch 2 and copies epoch 0's batches (the epoch cache must take them).
  const { leaderId } = await describeQuorum(1);
  const follower = cluster.ids.find((id) => id !== leaderId)!;
  const third = cluster.ids.find((id) => id !== leaderId && id !== follower)!;
  await createTopic(topic, [follower, leaderId, third]);
  const load = new AckedLoad(kafka, topic, -1, LOAD_PAUSE_MS);
  await waitUntil(
    `${ACKNOWLEDGED_EACH_PHASE} records acknowledged`,
    () => load.acknowledged.size >= ACKNOWLEDGED_EACH_PHASE,
  );
  await churnUntilSnapshots(0);
  console.log(
    `quorum leader ${leaderId}; snapshots ${cluster.ids.map((id) => `${id}:${snapshotEnds(id)}`).join(' ')}`,
  );
  await wipeAndRejoin(topic, follower, load);

  // The quorum leader now: the others elect a new one; new snapshots past its old ones first, so that
  // its replacement's log starts above 0 too.
  const { leaderId: quorumLeader } = await describeQuorum(1);
  await churnUntilSnapshots(Math.max(...cluster.ids.flatMap(snapshotEnds)));
  await wipeAndRejoin(topic, quorumLeader, load);

  const acknowledged = load.acknowledged.size;
  await waitUntil(
    'more writes acknowledged',
    () => load.acknowledged.size >= acknowledged + ACKNOWLEDGED_EACH_PHASE,
  );
  await load.stop();
  await untilIsrFull(topic);
  // Every replica holds the same records, byte for byte.
  await waitUntil(`${topic}-0 byte-identical on the three nodes`, () => {
    const copies = cluster.ids.map((id) => logBytes(id, topic));
    return copies.every((copy) => copy.equals(copies[0]!));
  });
  const read = await readAll(kafka, topic, 'wiped-voter-check');
  console.log(
    `17: ${load.acknowledged.size} acknowledged, ${load.failed} sends failed, ${read.size} records read`,
  );
  assert.equal(lostRecords(load.acknowledged, read), 0, 'acknowledged records lost or moved');
  assert.equal(new Set(read.values()).size, read.size, 'a value read at two offsets');
});
