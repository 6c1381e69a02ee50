/**
 * Transaction coordinator failover on a cluster: three combined nodes (ClusterNode) in this
 * process, on real sockets and files, and librdkafka (PyPI confluent-kafka) producers we did not
 * write, each a process driven call by call (python/transaction_session.py). Six transactional
 * ids coordinated by the same node are staged in every state a failover can meet, then that
 * node stops uncleanly (no controlled shutdown, no marker round finished):
 * - Ongoing, then committed by its producer once it found the new coordinator;
 * - PrepareCommit and PrepareAbort: the victim wrote them and answered its clients but its
 *   markers are held (the in-process stand-in for a kill between the two steps), so the new
 *   coordinator must send them and complete the transactions;
 * - CompleteCommit: nothing to redo, the same producer's next transaction commits;
 * - Ongoing, then a new producer with the same id: the new coordinator aborts the old
 *   transaction and fences its producer (librdkafka's _FENCED, fatal);
 * - Ongoing and abandoned: the new coordinator aborts it on its transaction.timeout.ms.
 * A read_committed reader then sees exactly the committed records of every partition, in order.
 * Markers sent late by the deposed coordinator (its coordinator epoch) are refused with
 * TRANSACTION_COORDINATOR_FENCED, and markers of the fenced producer's old epoch with
 * INVALID_PRODUCER_EPOCH, on the wire (WriteTxnMarkers 27), as Kafka's partition leaders refuse them.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseQuorumVoters } from '../../src/controller/node.ts';
import { partitionForGroup } from '../../src/coordinator/offsets-log.ts';
import { MarkerChannel } from '../../src/coordinator/transactions/marker-channel.ts';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { runTool } from '../engine/run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [23400, 23401, 23402] as const;
const CONTROLLER_PORTS = [23450, 23451, 23452] as const;
const CLUSTER_ID = 'a0NzdGFja1R4bkZhaWxvdmVy';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const CALL_TIMEOUT_MS = 120_000;
const POLL_MS = 50;
const COORDINATOR_PARTITIONS = 3;
/** The abandoned transaction's transaction.timeout.ms, and how often coordinators look for such. */
const ABANDONED_TIMEOUT_MS = 4_000;
const ABORT_CHECK_INTERVAL_MS = 500;
const VENV_PYTHON = join(process.env.HOME ?? '', '.cache', 'kstack', 'venv', 'bin', 'python');
const SESSION = fileURLToPath(new URL('./python/transaction_session.py', import.meta.url));
const SCENARIOS = fileURLToPath(new URL('./python/transactions.py', import.meta.url));
const BOOTSTRAP = BROKER_PORTS.map((port) => `${HOST}:${port}`).join(',');
/** Partition i of every topic led by node i+1 (coordinator topics included). */
const SPREAD = [
  [1, 2, 3],
  [2, 3, 1],
  [3, 1, 2],
];
/** The node whose __transaction_state partition (2) coordinates every staged transactional id. */
const VICTIM = 3;
const TOPIC = 'failover-data';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-txn-failover-'));
const voters = parseQuorumVoters(CONTROLLER_PORTS.map((port, i) => `${i + 1}@${HOST}:${port}`).join(','));
const nodes = new Map<number, ClusterNode>();
const warnings: string[] = [];
const sessions: Session[] = [];

function makeNode(nodeId: number): ClusterNode {
  return new ClusterNode({
    nodeId,
    clusterId: CLUSTER_ID,
    voters,
    host: HOST,
    sessionTimeoutMs: 4_000,
    heartbeatIntervalMs: 400,
    port: BROKER_PORTS[nodeId - 1]!,
    dataDir: join(dataDir, `node-${nodeId}`),
    config: {
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.num.partitions': String(COORDINATOR_PARTITIONS),
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.num.partitions': String(COORDINATOR_PARTITIONS),
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': String(ABORT_CHECK_INTERVAL_MS),
      'group.initial.rebalance.delay.ms': '0',
    },
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
      throw new Error(`timed out waiting for ${what}; warnings: ${warnings.slice(-5).join(' | ')}`);
    await sleep(POLL_MS);
  }
}

function live(): ClusterNode[] {
  return [...nodes.values()];
}

async function createSpread(name: string, internal = false): Promise<void> {
  const created = await nodes.get(1)!.broker.createTopic({
    name,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: SPREAD,
    internal,
  });
  assert.equal(created.errorCode, 0, created.errorMessage ?? '');
  await waitFor(`${name} led by nodes 1, 2, 3 with full ISRs`, () =>
    live().every((node) => {
      const partitions = node.broker.metadata().topic(name)?.partitions ?? [];
      return (
        partitions.length === SPREAD.length &&
        partitions.every((p, i) => p.leaderId === i + 1 && p.isr.length === 3)
      );
    }),
  );
}

/** Transactional ids coordinated by __transaction_state partition `partition`, named after `prefix`. */
function idsOn(partition: number, prefixes: readonly string[]): string[] {
  return prefixes.map((prefix) => {
    for (let i = 0; i < 1000; i++) {
      const id = `${prefix}-${i}`;
      if (partitionForGroup(id, COORDINATOR_PARTITIONS) === partition) return id;
    }
    throw new Error(`no id ${prefix}-N on partition ${partition}`);
  });
}

/** The transaction of `id` as the node leading its partition now describes it. */
function describeAtCoordinator(
  id: string,
): { state: string; node: number; producerId: bigint; producerEpoch: number } | null {
  const partition = partitionForGroup(id, COORDINATOR_PARTITIONS);
  for (const node of live()) {
    const leaderId = node.broker.metadata().topic('__transaction_state')?.partitions[partition]?.leaderId;
    if (leaderId !== node.nodeId) continue;
    const described = node.broker.slots.get(TRANSACTIONS)?.coordinator.describe(id);
    if (described === undefined || described.errorCode !== 0) return null;
    return {
      state: described.transactionState,
      node: node.nodeId,
      producerId: described.producerId,
      producerEpoch: described.producerEpoch,
    };
  }
  return null;
}

interface Answer {
  readonly ok: boolean;
  readonly error?: { name: string; fatal: boolean | null; abortable: boolean | null };
}

/** One librdkafka transactional producer in its own process, one call at a time. */
class Session {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #answers: string[] = [];
  readonly #waiting: ((line: string) => void)[] = [];
  #stderr = '';

  constructor(transactionalId: string, timeoutMs = 60_000) {
    this.#child = spawn(VENV_PYTHON, [SESSION, BOOTSTRAP, transactionalId, String(timeoutMs)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#answers.push(line);
      else waiter(line);
    });
    sessions.push(this);
  }

  async call(command: Record<string, unknown>): Promise<Answer> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const line = await new Promise<string>((resolve, reject) => {
      const queued = this.#answers.shift();
      if (queued !== undefined) {
        resolve(queued);
        return;
      }
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${JSON.stringify(command)}: no answer in ${CALL_TIMEOUT_MS} ms: ${this.#stderr}`),
          ),
        CALL_TIMEOUT_MS,
      );
      this.#waiting.push((answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the session exited (${code}) during ${JSON.stringify(command)}: ${this.#stderr}`));
      });
    });
    return JSON.parse(line) as Answer;
  }

  /** A call that must succeed. */
  async ok(command: Record<string, unknown>): Promise<void> {
    const answer = await this.call(command);
    assert.ok(answer.ok, `${JSON.stringify(command)}: ${JSON.stringify(answer.error)}\n${this.#stderr}`);
  }

  produce(prefix: string): Promise<void> {
    return this.ok({ op: 'produce', topic: TOPIC, values: [0, 1, 2].map((i) => `${prefix}-${i}`) });
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

before(async () => {
  for (const nodeId of [1, 2, 3]) nodes.set(nodeId, makeNode(nodeId));
  await Promise.all(live().map((node) => node.start()));
  await Promise.all(live().map((node) => node.registered));
  await waitFor('three unfenced brokers in every image', () =>
    live().every((node) => {
      const image = node.broker.metadata();
      return image.brokers().length === 3 && [1, 2, 3].every((id) => !image.isFenced(id));
    }),
  );
  await createSpread('__transaction_state', true);
  await createSpread(TOPIC);
  await waitFor('every __transaction_state partition loaded by its leader', () =>
    live().every((node) => node.broker.slots.get(TRANSACTIONS)!.coordinator.hasPartition(node.nodeId - 1)),
  );
});

after(async () => {
  for (const session of sessions) session.kill();
  for (const node of [...nodes.values()].reverse()) await node.stop({ controlled: false });
  rmSync(dataDir, { recursive: true, force: true });
});

test('the coordinator node stops in each transaction state; the new coordinator finishes every transaction and read_committed sees exactly the committed records', async () => {
  const [ongoingId, prepareCommitId, prepareAbortId, completeId, fencedId, abandonedId] = idsOn(VICTIM - 1, [
    'fo-ongoing',
    'fo-prepare-commit',
    'fo-prepare-abort',
    'fo-complete',
    'fo-fenced',
    'fo-abandoned',
  ]) as [string, string, string, string, string, string];
  const ongoing = new Session(ongoingId);
  const prepareCommit = new Session(prepareCommitId);
  const prepareAbort = new Session(prepareAbortId);
  const complete = new Session(completeId);
  const zombie = new Session(fencedId);
  const abandoned = new Session(abandonedId, ABANDONED_TIMEOUT_MS);
  await Promise.all(
    [ongoing, prepareCommit, prepareAbort, complete, zombie].map((s) => s.ok({ op: 'init' })),
  );
  // Records in a known offset order on every partition.
  for (const [session, prefix] of [
    [ongoing, 'ongoing'],
    [prepareCommit, 'prepare-commit'],
    [prepareAbort, 'prepare-abort'],
    [complete, 'complete'],
  ] as const) {
    await session.ok({ op: 'begin' });
    await session.produce(prefix);
  }
  await complete.ok({ op: 'commit' });
  await waitFor(
    `${completeId} CompleteCommit`,
    () => describeAtCoordinator(completeId)?.state === 'CompleteCommit',
  );
  await zombie.ok({ op: 'begin' });
  await zombie.produce('zombie');

  // From here the victim's markers never leave: its transactions stay prepared.
  const victim = nodes.get(VICTIM)!;
  const runtime = victim.broker.slots.get(TRANSACTIONS)!;
  let stopMarkers = (): void => {};
  const held = new Promise<never>((_, reject) => {
    stopMarkers = () => reject(new Error(`node ${VICTIM} stopped`));
  });
  held.catch(() => {});
  runtime.writeMarker = () => held;
  await prepareCommit.ok({ op: 'commit' });
  await prepareAbort.ok({ op: 'abort' });
  const prepared = describeAtCoordinator(prepareCommitId);
  assert.deepEqual([prepared?.state, prepared?.node], ['PrepareCommit', VICTIM]);
  assert.deepEqual(
    [describeAtCoordinator(prepareAbortId)?.state, describeAtCoordinator(prepareAbortId)?.node],
    ['PrepareAbort', VICTIM],
  );
  const zombieProducer = describeAtCoordinator(fencedId)!;
  const victimCoordinatorEpoch = victim.broker.partitions.get('__transaction_state', VICTIM - 1)!.leaderEpoch;
  await abandoned.ok({ op: 'init' });
  await abandoned.ok({ op: 'begin' });
  await abandoned.produce('abandoned');
  assert.equal(describeAtCoordinator(ongoingId)?.state, 'Ongoing');

  stopMarkers();
  await victim.stop({ controlled: false });
  nodes.delete(VICTIM);
  const failedOverAt = Date.now();
  await waitFor(`__transaction_state-${VICTIM - 1} led and loaded by a survivor`, () =>
    live().some(
      (node) =>
        node.broker.metadata().topic('__transaction_state')?.partitions[VICTIM - 1]?.leaderId ===
          node.nodeId && node.broker.slots.get(TRANSACTIONS)!.coordinator.hasPartition(VICTIM - 1),
    ),
  );
  const loadedMs = Date.now() - failedOverAt;

  // The new coordinator completes what was prepared, without any client.
  await waitFor(
    `${prepareCommitId} CompleteCommit at the new coordinator`,
    () => describeAtCoordinator(prepareCommitId)?.state === 'CompleteCommit',
  );
  await waitFor(
    `${prepareAbortId} CompleteAbort at the new coordinator`,
    () => describeAtCoordinator(prepareAbortId)?.state === 'CompleteAbort',
  );
  // The producers find the new coordinator.
  await ongoing.ok({ op: 'commit' });
  await complete.ok({ op: 'begin' });
  await complete.produce('complete-again');
  await complete.ok({ op: 'commit' });
  const successor = new Session(fencedId);
  await successor.ok({ op: 'init' });
  await successor.ok({ op: 'begin' });
  await successor.produce('successor');
  await successor.ok({ op: 'commit' });
  const zombieCommit = await zombie.call({ op: 'commit' });
  assert.deepEqual(zombieCommit, { ok: false, error: { name: '_FENCED', fatal: true, abortable: false } });
  await waitFor(
    `${abandonedId} aborted on its timeout by the new coordinator`,
    () => describeAtCoordinator(abandonedId)?.state === 'CompleteAbort',
  );
  const elapsedMs = Date.now() - failedOverAt;

  // Late markers on the wire, to the leader of partition 0: from the deposed coordinator, and
  // for the fenced producer's old epoch. Neither is written.
  const survivor = nodes.get(1)!;
  const channel = new MarkerChannel(survivor.broker);
  const leaderOf0 = survivor.broker.metadata().topic(TOPIC)!.partitions[0]!.leaderId;
  const newCoordinatorEpoch = survivor.broker.metadata().topic('__transaction_state')!.partitions[
    VICTIM - 1
  ]!.leaderEpoch;
  assert.ok(newCoordinatorEpoch > victimCoordinatorEpoch, 'the failover bumped the coordinator epoch');
  try {
    assert.equal(
      await channel.send(leaderOf0, {
        target: { topic: TOPIC, partition: 0 },
        producerId: prepared!.producerId,
        producerEpoch: prepared!.producerEpoch,
        commit: false,
        coordinatorEpoch: victimCoordinatorEpoch,
      }),
      ErrorCode.TRANSACTION_COORDINATOR_FENCED,
    );
    assert.equal(
      await channel.send(leaderOf0, {
        target: { topic: TOPIC, partition: 0 },
        producerId: zombieProducer.producerId,
        producerEpoch: zombieProducer.producerEpoch,
        commit: true,
        coordinatorEpoch: newCoordinatorEpoch,
      }),
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
  } finally {
    channel.close();
  }

  const read = await runTool(VENV_PYTHON, [SCENARIOS, 'read-partitions', BOOTSTRAP, TOPIC, '3'], {
    timeoutMs: CALL_TIMEOUT_MS,
  });
  assert.equal(read.code, 0, read.stderr.slice(-4000));
  const seen = JSON.parse(read.stdout.trim().split('\n').at(-1) ?? '') as {
    readCommitted: string[][];
    readUncommitted: string[][];
  };
  const all = (prefixes: readonly string[]) => [0, 1, 2].map((i) => prefixes.map((p) => `${p}-${i}`));
  assert.deepEqual(
    seen.readCommitted,
    all(['ongoing', 'prepare-commit', 'complete', 'complete-again', 'successor']),
  );
  assert.deepEqual(
    seen.readUncommitted,
    all([
      'ongoing',
      'prepare-commit',
      'prepare-abort',
      'complete',
      'zombie',
      'abandoned',
      'complete-again',
      'successor',
    ]),
  );
  process.stdout.write(
    `# coordinator partition loaded by a survivor ${loadedMs} ms after the stop; every transaction over ${elapsedMs} ms after it\n`,
  );
});
