// Three combined broker+controller nodes (ClusterNode) in this process, on real sockets and files:
// the quorum elects one leader, every broker's Metadata names it as the controller and lists the
// three brokers, and topics created and deleted with Kafka 4.1.1's kafka-topics through a broker
// that is not the active controller are seen by kcat through every broker (partitions spread,
// RF 3). A broker asked directly to create a topic while not the controller answers
// NOT_CONTROLLER; a node restarted replays the topics from its metadata log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseQuorumVoters } from '../../src/controller/node.ts';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { runTool } from './run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [21700, 21701, 21702] as const;
const CONTROLLER_PORTS = [21750, 21751, 21752] as const;
const CLUSTER_ID = 'a0NzdGFja0NsdXN0ZXIxMg';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const TOOL_TIMEOUT_MS = 120_000;
const POLL_MS = 50;
const ROOT = join(import.meta.dirname, '..', '..');

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-node-'));
const voters = parseQuorumVoters(CONTROLLER_PORTS.map((port, i) => `${i + 1}@${HOST}:${port}`).join(','));
const brokers = BROKER_PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
const nodes = new Map<number, ClusterNode>();
const warnings: string[] = [];

function makeNode(nodeId: number): ClusterNode {
  return new ClusterNode({
    nodeId,
    clusterId: CLUSTER_ID,
    voters,
    brokers,
    host: HOST,
    port: BROKER_PORTS[nodeId - 1]!,
    dataDir: join(dataDir, `node-${nodeId}`),
    config: { 'default.replication.factor': '3', 'num.partitions': '3' },
    log: { info() {}, warn: (message) => warnings.push(`node ${nodeId}: ${message}`) },
    onFatal: (error) => {
      throw error;
    },
  });
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; warnings: ${warnings.slice(-5)}`);
    await sleep(POLL_MS);
  }
}

/** The active controller every running node agrees on, once they do and its image has all brokers. */
async function settledLeader(): Promise<number> {
  let leaderId = -1;
  await waitFor('one leader named by every node, with three brokers registered', () => {
    const ids = new Set([...nodes.values()].map((node) => node.leader().leaderId));
    leaderId = [...ids][0] ?? -1;
    return (
      ids.size === 1 &&
      leaderId > 0 &&
      [...nodes.values()].every((node) => node.broker.metadata().brokers().length === 3)
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
  for (const nodeId of [1, 2, 3]) nodes.set(nodeId, makeNode(nodeId));
  await Promise.all([...nodes.values()].map((node) => node.start()));
});

after(async () => {
  await Promise.all([...nodes.values()].map((node) => node.stop()));
  rmSync(dataDir, { recursive: true, force: true });
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
      [...nodes.values()].every((node) => node.broker.metadata().topic('orders') !== undefined),
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
    [...nodes.values()].every((node) => node.broker.metadata().topic('orders') === undefined),
  );
  for (const port of BROKER_PORTS) {
    assert.equal(
      (await kcatMetadata(port)).topics.find((t) => t.topic === 'orders'),
      undefined,
    );
  }
});

test('a broker that is not the active controller answers NOT_CONTROLLER naming the controller', async () => {
  const leaderId = await settledLeader();
  const follower = [...nodes.values()].find((node) => node.nodeId !== leaderId)!;
  const answer = await follower.broker.createTopic({
    name: 'direct',
    numPartitions: 1,
    replicationFactor: 3,
  });
  assert.equal(answer.errorCode, 41);
  assert.match(answer.errorMessage ?? '', new RegExp(`active controller is node ${leaderId}`));
  const leader = nodes.get(leaderId)!;
  const created = await leader.broker.createTopic({ name: 'direct', numPartitions: 1, replicationFactor: 3 });
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  const tooMany = await leader.broker.createTopic({ name: 'wide', numPartitions: 1, replicationFactor: 4 });
  assert.equal(tooMany.errorCode, 38, 'INVALID_REPLICATION_FACTOR above the three registered brokers');
});

test('a restarted node replays the topics from its metadata log', async () => {
  const leaderId = await settledLeader();
  const nodeId = [1, 2, 3].find((id) => id !== leaderId)!;
  await waitFor('direct on every node', () =>
    [...nodes.values()].every((node) => node.broker.metadata().topic('direct') !== undefined),
  );
  await nodes.get(nodeId)!.stop();
  const restarted = makeNode(nodeId);
  nodes.set(nodeId, restarted);
  await restarted.start();
  await waitFor(
    `direct replayed on restarted node ${nodeId}`,
    () => restarted.broker.metadata().topic('direct') !== undefined,
  );
  const topic = (await kcatMetadata(BROKER_PORTS[nodeId - 1]!)).topics.find((t) => t.topic === 'direct');
  assert.ok(topic, 'direct in the restarted broker Metadata');
  assert.equal(topic.partitions.length, 1);
});
