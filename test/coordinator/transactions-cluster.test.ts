/**
 * Transactions across a cluster: three combined nodes (ClusterNode) in this process, on real
 * sockets and files, and real clients we did not write. Each transaction's partitions are led by
 * the three nodes, so at least two of them are led by another node than the transactional id's
 * coordinator: its markers reach them through WriteTxnMarkers (27), and their leaders append the
 * coordinator's producer's batches. librdkafka (PyPI confluent-kafka) commits, aborts and commits
 * again; its read_committed consumer sees exactly the committed records of every partition, its
 * read_uncommitted one everything. kafkajs commits records with the offsets of a group whose
 * `__consumer_offsets` partition is led by another node, and aborts a second batch: the group's
 * committed offsets are the first transaction's only.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { GROUP_COORDINATOR } from '../../src/coordinator/extension.ts';
import { partitionForGroup } from '../../src/coordinator/offsets-log.ts';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { runTool } from '../engine/run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [22100, 22101, 22102] as const;
const CONTROLLER_PORTS = [22150, 22151, 22152] as const;
const CLUSTER_ID = 'a0NzdGFja1R4bkNsdXN0ZXI';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const SCENARIO_TIMEOUT_MS = 180_000;
/** Few coordinator partitions keep the test small; the rules are the same with Kafka's 50. */
const COORDINATOR_PARTITIONS = 3;
const VENV_PYTHON = join(process.env.HOME ?? '', '.cache', 'kstack', 'venv', 'bin', 'python');
const SCENARIOS = fileURLToPath(new URL('./python/transactions.py', import.meta.url));
const BOOTSTRAP = BROKER_PORTS.map((port) => `${HOST}:${port}`).join(',');
/** Every partition of a three-partition topic led by another node: 1, 2, 3. */
const SPREAD = [
  [1, 2, 3],
  [2, 3, 1],
  [3, 1, 2],
];

let cluster: TestCluster;

const waitFor = (what: string, check: () => boolean): Promise<void> => cluster.waitFor(what, check);

/** Creates a topic whose partition i is led by node i+1 on every node, and waits until every node agrees. */
async function createSpread(name: string, internal = false): Promise<void> {
  const created = await cluster.node(1).broker.createTopic({
    name,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: SPREAD,
    internal,
  });
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  await waitFor(`${name} led by nodes 1, 2, 3 with full ISRs, as every node sees it`, () =>
    cluster.nodes().every((node) => {
      const partitions = node.broker.metadata().topic(name)?.partitions ?? [];
      return (
        partitions.length === SPREAD.length &&
        partitions.every((p, i) => p.leaderId === i + 1 && p.isr.length === 3)
      );
    }),
  );
}

/** The node leading the coordinator partition of `key` in `topic`. */
function coordinatorOf(topic: '__consumer_offsets' | '__transaction_state', key: string): number {
  const partition = partitionForGroup(key, COORDINATOR_PARTITIONS);
  const leaderId = cluster.node(1).broker.metadata().topic(topic)?.partitions[partition]?.leaderId;
  assert.ok(leaderId !== undefined && leaderId > 0, `${topic}-${partition} has a leader`);
  return leaderId;
}

/** Runs one scenario of transactions.py; its stdout is one JSON line. */
async function scenario(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  const result = await runTool(VENV_PYTHON, [SCENARIOS, name, ...args], { timeoutMs: SCENARIO_TIMEOUT_MS });
  assert.equal(result.code, 0, `${name} failed:\n${result.stderr.slice(-4000)}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

before(async () => {
  // Resolves once every node is registered and unfenced in every node's image.
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    sessionTimeoutMs: 4_000,
    heartbeatIntervalMs: 400,
    config: {
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.num.partitions': String(COORDINATOR_PARTITIONS),
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.num.partitions': String(COORDINATOR_PARTITIONS),
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'group.initial.rebalance.delay.ms': '0',
    },
    waitMs: WAIT_MS,
  });
  // The coordinator topics as Kafka creates them on the first FindCoordinator, but led by the
  // three nodes (one partition each), and loaded by their leaders.
  await createSpread('__transaction_state', true);
  await createSpread('__consumer_offsets', true);
  await waitFor('every coordinator partition loaded by its leader', () =>
    cluster
      .nodes()
      .every((node) =>
        [0, 1, 2].every(
          (p) =>
            (p + 1 !== node.nodeId ||
              node.broker.slots.get(TRANSACTIONS)?.coordinator.hasPartition(p) === true) &&
            (p + 1 !== node.nodeId ||
              node.broker.slots.get(GROUP_COORDINATOR)?.coordinator.hasPartition(p) === true),
        ),
      ),
  );
});

after(() => cluster?.stop());

test('librdkafka commits and aborts on partitions led by other nodes than its coordinator; read_committed sees the committed records only', async () => {
  await createSpread('txn-spread');
  const transactionalId = 'tx-cluster-librdkafka';
  const coordinator = coordinatorOf('__transaction_state', transactionalId);
  assert.equal(
    SPREAD.filter((replicas) => replicas[0] !== coordinator).length,
    2,
    'two partitions led by other nodes',
  );
  const seen = await scenario('partitions-commit-abort', BOOTSTRAP, 'txn-spread', transactionalId, '3');
  assert.deepEqual(
    seen.readCommitted,
    [0, 1, 2].map((i) => [`commit-a-${i}`, `commit-b-${i}`]),
  );
  assert.deepEqual(
    seen.readUncommitted,
    [0, 1, 2].map((i) => [`commit-a-${i}`, `abort-${i}`, `commit-b-${i}`]),
  );
});

test('kafkajs sends offsets to a group coordinated by another node; only the committed transaction moves them', async () => {
  await createSpread('txn-offsets');
  const transactionalId = 'tx-cluster-kafkajs';
  // A group whose __consumer_offsets partition another node than the transaction's coordinator leads.
  const transactionCoordinator = coordinatorOf('__transaction_state', transactionalId);
  const groupId = ['kjs-group-a', 'kjs-group-b', 'kjs-group-c', 'kjs-group-d', 'kjs-group-e'].find(
    (id) => coordinatorOf('__consumer_offsets', id) !== transactionCoordinator,
  );
  assert.ok(groupId !== undefined, 'a group coordinated elsewhere');
  const kafka = new Kafka({
    clientId: 'txn-cluster',
    brokers: BOOTSTRAP.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  const admin = kafka.admin();
  await producer.connect();
  await admin.connect();
  try {
    const committed = await producer.transaction();
    await committed.send({
      topic: 'txn-offsets',
      messages: [0, 1, 2].map((partition) => ({ partition, value: `kjs-${partition}` })),
    });
    await committed.sendOffsets({
      consumerGroupId: groupId,
      topics: [
        { topic: 'txn-offsets', partitions: [0, 1, 2].map((partition) => ({ partition, offset: '5' })) },
      ],
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({
      topic: 'txn-offsets',
      messages: [0, 1, 2].map((partition) => ({ partition, value: `kjs-aborted-${partition}` })),
    });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [
        { topic: 'txn-offsets', partitions: [0, 1, 2].map((partition) => ({ partition, offset: '9' })) },
      ],
    });
    await aborted.abort();
    const offsets = await admin.fetchOffsets({ groupId, topics: ['txn-offsets'] });
    assert.deepEqual(offsets[0]?.partitions.map((p) => [p.partition, p.offset]).sort(), [
      [0, '5'],
      [1, '5'],
      [2, '5'],
    ]);
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
  const seen = (await scenario('read', BOOTSTRAP, 'txn-offsets')) as { readCommitted: string[] };
  assert.deepEqual(seen.readCommitted, ['kjs-0'], 'partition 0: the committed record only');
});
