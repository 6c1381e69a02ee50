// Three combined broker+controller nodes (ClusterNode) in this process, on real sockets and files:
// the quorum elects one leader, the brokers register with it (BrokerRegistration, heartbeats)
// and every broker's Metadata names it as the controller and lists the three brokers; topics
// created and deleted with Kafka 4.1.1's kafka-topics through a broker that is not the active
// controller are seen by kcat through every broker (partitions spread, RF 3). A broker that is not
// the controller forwards a creation to it (CreateTopics on the controller listener). kcat acks=all
// records survive the partition leader's node stopping without a controlled shutdown (fenced
// after the session timeout, a new leader from the ISR); the node restarted rejoins the ISR.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { PartitionView } from '../../src/broker/services.ts';
import { GROUP_COORDINATOR } from '../../src/coordinator/extension.ts';
import { partitionForGroup } from '../../src/coordinator/offsets-log.ts';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { runTool } from './run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [21700, 21701, 21702] as const;
const CONTROLLER_PORTS = [21750, 21751, 21752] as const;
const CLUSTER_ID = 'a0NzdGFja0NsdXN0ZXIxMg';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const TOOL_TIMEOUT_MS = 120_000;
/** `offsets.topic.num.partitions`: the __consumer_offsets the forwarding test creates has three. */
const OFFSETS_PARTITIONS = 3;
const ROOT = join(import.meta.dirname, '..', '..');

const brokers = BROKER_PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
/** Shorter than Kafka's 9 s / 2 s to keep the test short; still many heartbeats per session under load. */
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 400;
let cluster: TestCluster;

const waitFor = (what: string, check: () => boolean): Promise<void> => cluster.waitFor(what, check);

/** The active controller every running node agrees on, once they do and every image has three unfenced brokers. */
async function settledLeader(): Promise<number> {
  let leaderId = -1;
  await waitFor('one leader named by every node, with three brokers registered and unfenced', () => {
    const ids = new Set(cluster.nodes().map((node) => node.leader().leaderId));
    leaderId = [...ids][0] ?? -1;
    return (
      ids.size === 1 &&
      leaderId > 0 &&
      cluster.nodes().every((node) => {
        const image = node.broker.metadata();
        return image.brokers().length === 3 && brokers.every((b) => !image.isFenced(b.nodeId));
      })
    );
  });
  return leaderId;
}

interface KcatMetadata {
  controllerid: number;
  brokers: { id: number; name: string }[];
  topics: {
    topic: string;
    partitions: { partition: number; leader: number; replicas: { id: number }[] }[];
  }[];
}

async function kcatMetadata(port: number): Promise<KcatMetadata> {
  const result = await runTool('kcat', ['-b', `${HOST}:${port}`, '-L', '-J'], { timeoutMs: TOOL_TIMEOUT_MS });
  assert.equal(result.code, 0, `kcat -L on ${port}: ${result.stderr}`);
  return JSON.parse(result.stdout) as KcatMetadata;
}

function topicsTool(
  port: number,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', `${HOST}:${port}`, ...args],
      { timeout: TOOL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

before(async () => {
  // Not waiting for ready: the first test checks the moment every node's `registered` resolves.
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    config: {
      'default.replication.factor': '3',
      'num.partitions': '3',
      'min.insync.replicas': '2',
      'offsets.topic.num.partitions': String(OFFSETS_PARTITIONS),
      'transaction.state.log.num.partitions': '2',
    },
    waitMs: WAIT_MS,
    waitReady: false,
  });
});

after(() => cluster?.stop());

// First, on the fresh cluster: `kstack up --brokers N` prints the bootstrap servers once every node's
// `registered` resolved, and clients create topics at RF 3 at that moment (VAL-MSG-PLN-003 does).
// A broker is registered fenced and placed on nothing until a heartbeat unfences it: `registered`
// must wait for that, or the creation is refused (INVALID_REPLICATION_FACTOR, "only 1 broker(s)").
test('once every node has joined, a topic at replication factor 3 is created at once', async () => {
  await Promise.all(cluster.nodes().map((node) => node.registered));
  const created = await cluster
    .node(1)
    .broker.createTopic({ name: 'at-once', numPartitions: 3, replicationFactor: 3 });
  assert.equal(created.errorCode, 0, `creation as soon as every node joined: ${created.errorMessage}`);
  // Deletion is not forwarded yet: through the active controller's broker.
  const controller = cluster.node(cluster.node(1).leader().leaderId);
  assert.equal((await controller.broker.deleteTopic('at-once')).errorCode, 0);
});

test('every broker names the active controller and lists the three brokers', async () => {
  const leaderId = await settledLeader();
  for (const port of BROKER_PORTS) {
    const metadata = await kcatMetadata(port);
    assert.equal(metadata.controllerid, leaderId, `controller named by the broker on ${port}`);
    assert.deepEqual(
      metadata.brokers.map((b) => `${b.id}=${b.name}`).sort(),
      brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`),
    );
  }
});

test('kafka-topics through a broker that is not the controller creates and deletes for every broker', async () => {
  const leaderId = await settledLeader();
  const other = brokers.find((b) => b.nodeId !== leaderId)!;
  const created = await topicsTool(
    other.port,
    '--create',
    '--topic',
    'orders',
    '--partitions',
    '3',
    '--replication-factor',
    '3',
  );
  assert.equal(created.code, 0, `kafka-topics --create: ${created.stderr}`);
  for (const port of BROKER_PORTS) {
    await waitFor(`orders on the broker at ${port}`, () =>
      cluster.nodes().every((node) => node.broker.metadata().topic('orders') !== undefined),
    );
    const topic = (await kcatMetadata(port)).topics.find((t) => t.topic === 'orders');
    assert.ok(topic, `orders in Metadata of ${port}`);
    assert.equal(topic.partitions.length, 3);
    for (const partition of topic.partitions) {
      assert.deepEqual(partition.replicas.map((r) => r.id).sort(), [1, 2, 3]);
    }
    // Leaders are spread: one partition led by each broker.
    assert.deepEqual(topic.partitions.map((p) => p.leader).sort(), [1, 2, 3]);
  }
  const deleted = await topicsTool(other.port, '--delete', '--topic', 'orders');
  assert.equal(deleted.code, 0, `kafka-topics --delete: ${deleted.stderr}`);
  await waitFor('orders gone from every image', () =>
    cluster.nodes().every((node) => node.broker.metadata().topic('orders') === undefined),
  );
  for (const port of BROKER_PORTS) {
    assert.equal(
      (await kcatMetadata(port)).topics.find((t) => t.topic === 'orders'),
      undefined,
    );
  }
});

/**
 * Waits until every running node coordinates exactly the partitions of `topic` it
 * leads: loaded where it leads, not where another node does (leadership moved away).
 */
async function coordinatorsFollowLeadership(topic: '__consumer_offsets' | '__transaction_state') {
  await waitFor(`every ${topic} partition coordinated by its leader and only there`, () =>
    cluster.nodes().every((node) => {
      const coordinator =
        topic === '__consumer_offsets'
          ? node.broker.slots.get(GROUP_COORDINATOR)?.coordinator
          : node.broker.slots.get(TRANSACTIONS)?.coordinator;
      const partitions = node.broker.metadata().topic(topic)?.partitions ?? [];
      return (
        coordinator !== undefined &&
        partitions.length === (topic === '__consumer_offsets' ? OFFSETS_PARTITIONS : 2) &&
        partitions.every((p) => (p.leaderId === node.nodeId) === coordinator.hasPartition(p.partitionIndex))
      );
    }),
  );
}

test('a broker that is not the active controller forwards topic creation to it (internal topics too)', async () => {
  const leaderId = await settledLeader();
  const follower = cluster.nodes().find((node) => node.nodeId !== leaderId)!;
  const created = await follower.broker.createTopic({
    name: 'direct',
    numPartitions: 1,
    replicationFactor: 3,
  });
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  assert.deepEqual(created.topic?.partitions[0]?.replicas.length, 3, 'the answer names the replayed topic');
  const leader = cluster.node(leaderId);
  assert.ok(leader.broker.metadata().topic('direct'), 'committed by the active controller');
  const again = await follower.broker.createTopic({ name: 'direct', numPartitions: 1, replicationFactor: 3 });
  assert.equal(again.errorCode, 36, 'TOPIC_ALREADY_EXISTS');
  // Partition i led by node i+1, so a node other than the controller leads one (the failover test).
  const internal = await follower.broker.createTopic({
    name: '__consumer_offsets',
    numPartitions: -1,
    replicationFactor: -1,
    assignments: [
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
    ],
    internal: true,
  });
  assert.equal(internal.errorCode, 0, internal.errorMessage ?? '');
  // Each broker coordinates the groups of the __consumer_offsets partitions it leads, without a
  // FindCoordinator of its own: another broker names it, and its JoinGroup must not answer NOT_COORDINATOR.
  await coordinatorsFollowLeadership('__consumer_offsets');
  // The same for the transaction coordinator and __transaction_state.
  const transactionState = await follower.broker.createTopic({
    name: '__transaction_state',
    numPartitions: 2,
    replicationFactor: 3,
    internal: true,
  });
  assert.equal(transactionState.errorCode, 0, transactionState.errorMessage ?? '');
  await coordinatorsFollowLeadership('__transaction_state');
  const tooMany = await follower.broker.createTopic({ name: 'wide', numPartitions: 1, replicationFactor: 4 });
  assert.equal(tooMany.errorCode, 38, 'INVALID_REPLICATION_FACTOR above the three registered brokers');
});

test('a restarted node replays the topics from its metadata log', async () => {
  const leaderId = await settledLeader();
  const nodeId = [1, 2, 3].find((id) => id !== leaderId)!;
  await waitFor('direct on every node', () =>
    cluster.nodes().every((node) => node.broker.metadata().topic('direct') !== undefined),
  );
  await cluster.broker(nodeId).stop();
  await cluster.broker(nodeId).restart();
  const restarted = cluster.node(nodeId);
  await waitFor(
    `direct replayed on restarted node ${nodeId}`,
    () => restarted.broker.metadata().topic('direct') !== undefined,
  );
  const topic = (await kcatMetadata(BROKER_PORTS[nodeId - 1]!)).topics.find((t) => t.topic === 'direct');
  assert.ok(topic, 'direct in the restarted broker Metadata');
  assert.equal(topic.partitions.length, 1);
});

/** The partition's state as every running node's image has it, once they agree. */
async function agreedPartition(
  topic: string,
  partition: number,
  what: string,
  check: (p: PartitionView) => boolean,
) {
  let found: PartitionView | undefined;
  await waitFor(what, () => {
    const views = cluster.nodes().map((node) => node.broker.metadata().topic(topic)?.partitions[partition]);
    found = views[0];
    return views.every((v) => v !== undefined && v.partitionEpoch === found?.partitionEpoch && check(v));
  });
  return found!;
}

async function kcatConsume(port: number, topic: string): Promise<string[]> {
  const result = await runTool(
    'kcat',
    ['-C', '-b', `${HOST}:${port}`, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q'],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  assert.equal(result.code, 0, `kcat -C on ${port}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

test('acks=all records survive the leader node stopping uncleanly; the node restarted rejoins the ISR', async () => {
  const controllerId = await settledLeader();
  const controller = cluster.node(controllerId);
  // One partition led by a node that is not the active controller, so the controller fences it.
  // Preferably one leading a __consumer_offsets partition too, so its group coordinator fails over.
  const offsetsLeaders = (controller.broker.metadata().topic('__consumer_offsets')?.partitions ?? []).map(
    (p) => p.leaderId,
  );
  const victimId = [1, 2, 3].find((id) => id !== controllerId && offsetsLeaders.includes(id));
  assert.ok(
    victimId !== undefined,
    `a node other than the controller leads a __consumer_offsets partition: ${offsetsLeaders}`,
  );
  // A group coordinated by the victim: its committed offsets must be served by the next leader.
  const groupId = Array.from({ length: 20 }, (_, i) => `resume-${i}`).find(
    (id) => offsetsLeaders[partitionForGroup(id, OFFSETS_PARTITIONS)] === victimId,
  );
  assert.ok(groupId !== undefined, 'a group coordinated by the victim');
  const order = [victimId, ...[1, 2, 3].filter((id) => id !== victimId)];
  const created = await controller.broker.createTopic({
    name: 'payments',
    numPartitions: -1,
    replicationFactor: -1,
    assignments: [order],
  });
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  await agreedPartition(
    'payments',
    0,
    'payments-0 led by the victim with a full ISR',
    (p) => p.leaderId === victimId && p.isr.length === 3,
  );
  await waitFor(
    'payments-0 leader on the victim',
    () => cluster.node(victimId).broker.replicaManager?.core('payments', 0)?.isLeader === true,
  );
  const records = Array.from({ length: 200 }, (_, i) => `payment-${i}`);
  const produced = await runTool(
    'kcat',
    ['-P', '-b', `${HOST}:${BROKER_PORTS[victimId - 1]}`, '-t', 'payments', '-p', '0', '-X', 'acks=all'],
    { input: `${records.join('\n')}\n`, timeoutMs: TOOL_TIMEOUT_MS },
  );
  assert.equal(produced.code, 0, `kcat -P acks=all: ${produced.stderr}`);
  const admin = new Kafka({
    clientId: 'cluster-node-test',
    brokers: BROKER_PORTS.map((port) => `${HOST}:${port}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
  }).admin();
  await admin.connect();
  try {
    await admin.setOffsets({ groupId, topic: 'payments', partitions: [{ partition: 0, offset: '150' }] });
  } finally {
    await admin.disconnect();
  }
  const stoppedAt = performance.now();
  await cluster.broker(victimId).kill();
  const after = await agreedPartition(
    'payments',
    0,
    'a new leader for payments-0 without the stopped node in the ISR',
    (p) => p.leaderId !== victimId && p.leaderId > 0 && !p.isr.includes(victimId),
  );
  console.log(
    `failover: new leader ${after.leaderId} ${Math.round(performance.now() - stoppedAt)} ms after the stop (session ${SESSION_TIMEOUT_MS} ms)`,
  );
  assert.deepEqual(await kcatConsume(BROKER_PORTS[after.leaderId - 1]!, 'payments'), records);
  // The coordinator partitions the stopped node led are loaded by their new leaders, and the
  // group the victim coordinated is served there with its committed offset.
  await coordinatorsFollowLeadership('__consumer_offsets');
  await coordinatorsFollowLeadership('__transaction_state');
  const survivors = new Kafka({
    clientId: 'cluster-node-test',
    brokers: BROKER_PORTS.filter((_, i) => i + 1 !== victimId).map((port) => `${HOST}:${port}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
  }).admin();
  await survivors.connect();
  try {
    const offsets = await survivors.fetchOffsets({ groupId, topics: ['payments'] });
    assert.deepEqual(
      offsets[0]?.partitions.map((p) => [p.partition, p.offset]),
      [[0, '150']],
      `the committed offset of ${groupId} after its coordinator's node stopped`,
    );
  } finally {
    await survivors.disconnect();
  }
  await cluster.broker(victimId).restart();
  await agreedPartition('payments', 0, 'the restarted node back in the ISR', (p) => p.isr.length === 3);
  assert.deepEqual(await kcatConsume(BROKER_PORTS[after.leaderId - 1]!, 'payments'), records);
  await coordinatorsFollowLeadership('__consumer_offsets');
  await coordinatorsFollowLeadership('__transaction_state');
});
