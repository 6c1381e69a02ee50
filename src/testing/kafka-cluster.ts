/**
 * `startKafka({ brokers: 3 })`: three in-process nodes (cluster.ts) on free ports, ready once the
 * quorum has a leader, every broker is registered and unfenced, `__consumer_offsets` and
 * `__transaction_state` (RF 3, min ISR 2) are led with their full ISR on every node's image, and
 * the baseline topics exist the same way. Clients connect to the brokers through the fault proxies
 * (isolate, slow, heal; no front door): a killed broker's connections close as a crashed broker's would.
 *
 * reset() goes through the cluster (transactions aborted and transactional ids forgotten, groups,
 * then topics deleted, baseline created again). snapshot()/restore() stop the three nodes together,
 * copy or swap their folders (metadata log included) and start them again. The manual clock is one
 * ManualClock shared by the three brokers; the quorum and the controller stay on the system clock.
 */
import type { PartitionView } from '../broker/services.ts';
import { GROUP_COORDINATOR } from '../coordinator/extension.ts';
import { OFFSETS_TOPIC_NAME } from '../coordinator/offsets-log.ts';
import { TRANSACTION_STATE_TOPIC } from '../coordinator/transactions/coordinator.ts';
import { TRANSACTIONS } from '../coordinator/transactions/runtime.ts';
import type { ClusterNode } from '../engine/cluster-node.ts';
import type { ClientCut, ClientCutOptions } from '../engine/fault-proxy.ts';
import { ErrorCode } from '../protocol/errors.ts';
import type { RaftConfig } from '../raft/types.ts';
import { type ClusterBroker, startCluster, type TestCluster, type WaitOptions } from './cluster.ts';
import { CONNECT_GROUP, CONNECT_TOPICS, TestConnect, type TestConnectOptions } from './connect.ts';
import { KafkaTestingError } from './errors.ts';
import {
  type BaselineTopic,
  baselineTopics,
  createBaselineTopics,
  makeNamespace,
  type Namespace,
  OperationQueue,
  type OperationTimings,
  type StartKafkaOptions,
  TEST_BROKER_DEFAULTS,
  type TestClock,
} from './kafka.ts';
import { ManualClock } from './manual-clock.ts';
import { TestSchemaRegistry } from './schema-registry.ts';
import {
  listSnapshots,
  readSnapshotInfo,
  restoreSnapshot,
  type SnapshotInfo,
  saveSnapshot,
  snapshotNameProblem,
} from './snapshots.ts';

/** Brokers of `startKafka({ brokers: 3 })`. */
const BROKERS = 3;
/**
 * Nodes of `startKafka({ brokers: 1, connect })`: one broker serving Connect is a cluster of one
 * node (its own quorum of one), reset through the admin path as three are, so the running worker
 * keeps its topics (one broker's file-swap reset would take them from under it).
 */
const CONNECT_SINGLE_NODE = 1;

/**
 * Settings of a three-broker test cluster over TEST_BROKER_DEFAULTS: Kafka's own defaults for three
 * brokers (kstack's single-broker defaults are 1), a 4 s broker session (Kafka 9 s) so a killed
 * broker is fenced in seconds, heartbeats every 400 ms.
 */
export const TEST_CLUSTER_DEFAULTS: Readonly<Record<string, string>> = {
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
  'offsets.topic.replication.factor': '3',
  'transaction.state.log.replication.factor': '3',
  'transaction.state.log.min.isr': '2',
};
/**
 * The same for a one-node cluster (`brokers: 1` with `connect`): every replication factor and min
 * ISR 1, as Kafka requires of one broker (the Connect worker's own topics get RF 1 from its
 * `*.storage.replication.factor`, set to the broker count by src/connect/worker.ts).
 */
export const TEST_SINGLE_NODE_DEFAULTS: Readonly<Record<string, string>> = {
  'default.replication.factor': '1',
  'min.insync.replicas': '1',
  'offsets.topic.replication.factor': '1',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
};
export const TEST_CLUSTER_SESSION_TIMEOUT_MS = 4_000;
/**
 * The quorum's first election: a fresh node waits electionTimeoutMs plus up to as much again
 * before it runs (Kafka 1000 ms: 1-2 s of every start). 100 ms here (a vote round not answered
 * within it backs off up to 100 ms and runs again); a follower still takes Kafka's 2 s fetch
 * timeout to give up on a leader, so load does not start needless elections once one leads. From
 * 250 ms to 100 ms the first leader came 233-314 ms after binding instead of 388-470 ms (medians of
 * 10-16 starts each, alternated, load 42-78), start-to-ready p50 738-745 ms instead of 900-1,087.
 * Each metadata commit of the start (registrations, unfencings, topics) waits for the leader's
 * append linger and a follower's next fetch: 5 ms linger (kstack 25) and a fetch 10 ms after an
 * empty answer (kstack 50) took start-to-ready from p50 1,028 / p99 1,886 ms to p50 781 / p99
 * 1,449 ms (25 starts each, alternated, load 15-21), for about 6% of a core more while the
 * cluster idles (12.6% instead of 6.9%).
 */
export const TEST_CLUSTER_RAFT: Readonly<Partial<RaftConfig>> = {
  electionTimeoutMs: 100,
  electionBackoffMaxMs: 100,
  appendLingerMs: 5,
  fetchIdleMs: 10,
};
export const TEST_CLUSTER_HEARTBEAT_INTERVAL_MS = 400;

/** Tries of reset()'s deletions when the active controller moves under them (NOT_CONTROLLER). */
const RESET_CONTROLLER_ATTEMPTS = 3;
/**
 * How long reset() waits for the transactions it aborts to complete (markers on every partition
 * of each, written to its ISR) and for every transactional id to be forgotten: RESET_FAILED after.
 */
export const RESET_TRANSACTIONS_MS = 30_000;
/** How often reset() looks again at transactions still completing. */
const RESET_TRANSACTIONS_POLL_MS = 20;

export class TestKafkaCluster {
  /** 3, or 1 for `startKafka({ brokers: 1, connect })` (a one-node cluster). */
  readonly brokers: number;
  readonly cluster: TestCluster;
  readonly timings: OperationTimings = { startToReadyMs: 0 };
  readonly clock: TestClock;
  readonly #manual: ManualClock | undefined;
  #namespaces = 0;
  #baseline: readonly BaselineTopic[] = [];
  #registry: TestSchemaRegistry | null = null;
  #connect: TestConnect | null = null;
  readonly #queue = new OperationQueue();
  readonly #namespaceSalt = Math.random().toString(36).slice(2, 6);

  /** Use `startKafka({ brokers: 3 })`. */
  constructor(cluster: TestCluster, manual?: ManualClock) {
    this.cluster = cluster;
    this.brokers = cluster.nodeIds.length;
    this.#manual = manual;
    this.clock =
      manual === undefined
        ? {
            kind: 'system',
            nowMs: () => Date.now(),
            advance: () =>
              Promise.reject(
                new KafkaTestingError(
                  'CLOCK_NOT_MANUAL',
                  "clock.advance needs a cluster started with { clock: 'manual' }",
                ),
              ),
          }
        : { kind: 'manual', nowMs: () => manual.nowMs(), advance: (ms) => manual.advance(ms) };
  }

  get dataDir(): string {
    return this.cluster.dataDir;
  }

  get host(): string {
    return this.cluster.host;
  }

  get bootstrapServers(): string {
    return this.cluster.bootstrapServers;
  }

  /** Whether the cluster was started with `schemaRegistry: true`. */
  get hasSchemaRegistry(): boolean {
    return this.#registry !== null;
  }

  /** `http://host:port` of the Schema Registry (`schemaRegistry: true`), the same across resets. */
  get schemaRegistryUrl(): string {
    if (this.#registry === null) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        'no Schema Registry: start with { schemaRegistry: true }',
      );
    }
    return this.#registry.url;
  }

  /** Whether the cluster was started with `connect`. */
  get hasConnect(): boolean {
    return this.#connect !== null;
  }

  /** `http://127.0.0.1:port` of the Kafka Connect worker's REST API (`connect`), the same across resets. */
  get connectUrl(): string {
    if (this.#connect === null) {
      throw new KafkaTestingError('OPTION_INVALID', 'no Kafka Connect worker: start with { connect: true }');
    }
    return this.#connect.url;
  }

  /** Starts the Connect companion (startKafkaCluster, after prepare); resolves once its REST API answers. */
  async startConnect(options: TestConnectOptions): Promise<void> {
    const connect = new TestConnect(this.cluster.internalBootstrapServers, this.host, this.brokers, options);
    try {
      await connect.start();
    } catch (error) {
      await connect.stop();
      throw error;
    }
    this.#connect = connect;
  }

  /** Starts the Schema Registry companion (startKafkaCluster, after prepare). */
  async startSchemaRegistry(): Promise<void> {
    this.#registry = new TestSchemaRegistry(this.cluster.internalBootstrapServers, this.host, 0);
    await this.#registry.start();
  }

  /** The name containers are told (`containerHost`), if any. */
  get containerHost(): string | undefined {
    return this.cluster.containerHost;
  }

  /** The name Metadata gives clients of `bootstrapAddresses` (`advertisedHost`, else `host`). */
  get advertisedHost(): string {
    return this.cluster.advertisedHost;
  }

  /** With `containerHost`: every broker's containers listener, `containerHost:port`, node 1 first. */
  get containerBootstrapAddresses(): string[] {
    return this.cluster.containerBootstrapAddresses;
  }

  /** With `containerHost`: `containerBootstrapAddresses` in Kafka's `bootstrap.servers` form. */
  get containerBootstrapServers(): string {
    return this.containerBootstrapAddresses.join(',');
  }

  /** Every broker's `host:port`, node 1 first (a killed broker's too: clients move on to the others). */
  get bootstrapAddresses(): string[] {
    return this.cluster.bootstrapAddresses;
  }

  /** Node `nodeId` (1-3): `kill()`, `stop()`, `restart()`, `port`, the running `node`. */
  broker(nodeId: number): ClusterBroker {
    return this.cluster.broker(nodeId);
  }

  /** Cuts one client id's connections (all, or after a request of one API key); see TestCluster.cutClient. */
  cutClient(clientId: string, options: ClientCutOptions = {}): ClientCut {
    return this.cluster.cutClient(clientId, options);
  }

  /** Ends a client's cut; what it was, with the connections it cut. */
  healClient(clientId: string): ClientCut {
    return this.cluster.healClient(clientId);
  }

  /** The running nodes. */
  nodes(): ClusterNode[] {
    return this.cluster.nodes();
  }

  /** A new prefix for this test's names; never handed out twice by this cluster. */
  namespace(): Namespace {
    this.#namespaces += 1;
    return makeNamespace(this.#namespaceSalt, this.#namespaces);
  }

  /** Waits for a leader every running node agrees on (other than `not`); its node id. */
  waitForLeader(
    topic: string,
    partition: number,
    options: WaitOptions & { not?: number } = {},
  ): Promise<number> {
    return this.cluster.waitForLeader(topic, partition, options);
  }

  /** Waits for the ISR: full (default), of `size`, without or with a node; the ISR. */
  waitForIsr(
    topic: string,
    partition: number,
    options: WaitOptions & { size?: number; excludes?: number; includes?: number } = {},
  ): Promise<readonly number[]> {
    return this.cluster.waitForIsr(topic, partition, options);
  }

  /** The partition once every running node agrees on it and `check` holds. */
  waitForPartition(
    topic: string,
    partition: number,
    what: string,
    check: (view: PartitionView) => boolean,
    options: WaitOptions = {},
  ): Promise<PartitionView> {
    return this.cluster.waitForPartition(topic, partition, what, check, options);
  }

  /** The active controller every running node names. */
  activeController(options: WaitOptions = {}): Promise<number> {
    return this.cluster.activeController(options);
  }

  /**
   * Back to the state after start, as far as the admin path reaches: every fault healed, every
   * group deleted with its committed offsets (on the node that coordinates it), every topic but
   * the internal ones deleted through the active controller, and the baseline topics created again
   * (new topic ids, empty logs) and led with a full ISR on every node. Transactional state first:
   * every ongoing transaction is aborted (its producer fenced, abort markers written while its
   * partitions still exist), then every transactional id is forgotten (a tombstone in
   * `__transaction_state`), so the next InitProducerId of any id starts afresh at epoch 0 and an
   * old producer gets INVALID_PRODUCER_ID_MAPPING. Every broker must be running (NODE_STOPPED) and every
   * group empty: a group with live members is GROUP_NOT_EMPTY (close the test's consumers first).
   * Clients should be closed too: one kept across reset() sees its topics vanish, then reappear.
   */
  reset(): Promise<void> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      // The registry, a client of the cluster, restarts over the `_schemas` the reset leaves (none).
      await this.#registry?.stop();
      try {
        // Connectors first, while the topics their tasks use still exist.
        await this.#connect?.removeConnectors();
        await this.#reset();
      } finally {
        await this.#registry?.start();
      }
      this.timings.lastResetMs = performance.now() - startedMs;
    });
  }

  async #reset(): Promise<void> {
    const startedMs = performance.now();
    const cluster = this.cluster;
    this.#needEveryNode('reset()');
    this.#healFaults();
    for (const node of cluster.nodes()) {
      const coordinator = node.broker.slots.get(GROUP_COORDINATOR)?.coordinator;
      const groups =
        coordinator
          ?.listGroups([], [])
          .map((group) => group.groupId)
          .filter((groupId) => this.#connect === null || groupId !== CONNECT_GROUP) ?? [];
      if (coordinator === undefined || groups.length === 0) continue;
      for (const { groupId, errorCode } of await coordinator.deleteGroups(groups)) {
        if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.GROUP_ID_NOT_FOUND) continue;
        throw new KafkaTestingError(
          errorCode === ErrorCode.NON_EMPTY_GROUP ? 'GROUP_NOT_EMPTY' : 'RESET_FAILED',
          errorCode === ErrorCode.NON_EMPTY_GROUP
            ? `reset(): group '${groupId}' still has members: disconnect the test's consumers before reset()`
            : `reset(): deleting group '${groupId}' failed with error code ${errorCode}`,
        );
      }
    }
    await this.#resetTransactions();
    const marks = [performance.now()];
    // The running Connect worker's own topics stay (its connectors are gone already).
    const kept = new Set(this.#connect === null ? [] : CONNECT_TOPICS);
    const topics = [...cluster.nodes()[0]!.broker.metadata().topics()].filter(
      (topic) => !topic.internal && !kept.has(topic.name),
    );
    let pending = topics.map((topic) => topic.name);
    // Deletions are proposed by the active controller; one that moved meanwhile answers NOT_CONTROLLER.
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const broker = cluster.node(await cluster.activeController()).broker;
      const answers = await Promise.all(pending.map((name) => broker.topics.deleteTopic(name)));
      const moved: string[] = [];
      for (const [i, answer] of answers.entries()) {
        const { errorCode } = answer;
        if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
        if (errorCode === ErrorCode.NOT_CONTROLLER && attempt < RESET_CONTROLLER_ATTEMPTS) {
          moved.push(pending[i]!);
          continue;
        }
        throw new KafkaTestingError(
          'RESET_FAILED',
          `reset(): deleting topic '${pending[i]}' failed: ${answer.errorMessage ?? `error code ${errorCode}`}`,
        );
      }
      pending = moved;
    }
    marks.push(performance.now());
    const ids = new Set(topics.map((topic) => topic.topicId));
    await cluster.waitFor('every deleted topic gone from every node', () =>
      cluster
        .nodes()
        .every((node) => [...node.broker.metadata().topics()].every((topic) => !ids.has(topic.topicId))),
    );
    marks.push(performance.now());
    await this.prepare(this.#baseline);
    marks.push(performance.now());
    const [groups, deletes, gone, baseline] = marks.map(
      (mark, i) => mark - (i === 0 ? startedMs : marks[i - 1]!),
    );
    this.timings.lastResetPhasesMs = { groups: groups!, deletes: deletes!, gone: gone!, baseline: baseline! };
  }

  /**
   * Aborts every ongoing transaction and forgets every transactional id, on the node whose
   * coordinator holds it. An Ongoing transaction is aborted the way a new incarnation of its id
   * aborts it (InitProducerId: the epoch bumped, the old producer fenced, abort markers sent);
   * one already preparing completes on its own. Ids whose last transaction is over are removed as
   * `transactional.id.expiration.ms` removes them, with an expiration of 0.
   */
  async #resetTransactions(): Promise<void> {
    const deadline = performance.now() + RESET_TRANSACTIONS_MS;
    for (;;) {
      const left: string[] = [];
      for (const node of this.cluster.nodes()) {
        const coordinator = node.broker.slots.get(TRANSACTIONS)?.coordinator;
        if (coordinator === undefined) continue;
        for (const { transactionalId, transactionState } of coordinator.list([], [], -1)) {
          if (transactionState !== 'Ongoing') continue;
          const { transactionTimeoutMs } = coordinator.describe(transactionalId);
          // CONCURRENT_TRANSACTIONS is the expected answer: the abort has started.
          await coordinator.initProducerId(transactionalId, Math.max(1, transactionTimeoutMs), {
            producerId: -1n,
            producerEpoch: -1,
          });
        }
        await coordinator.idle();
        await coordinator.removeExpiredTransactionalIds(0);
        for (const { transactionalId, transactionState } of coordinator.list([], [], -1)) {
          left.push(`'${transactionalId}' (${transactionState}, node ${node.nodeId})`);
        }
      }
      if (left.length === 0) return;
      if (performance.now() > deadline) {
        throw new KafkaTestingError(
          'RESET_FAILED',
          `reset(): transactional ids still known after ${RESET_TRANSACTIONS_MS} ms: ${left.join(', ')}; last warnings: ${this.cluster.warnings.slice(-5).join(' | ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, RESET_TRANSACTIONS_POLL_MS));
    }
  }

  /**
   * Saves the whole cluster's state under `name` (replacing a snapshot of that name): every node
   * stopped together and cleanly, its folder (partition logs, metadata log, coordinators' state)
   * copied, every node started again; resolves once ready as after start. Clients' connections
   * close meanwhile (there is no front door on three brokers): close them first, or let them
   * reconnect. Every fault is healed first; every broker must be running (NODE_STOPPED). A Connect
   * worker keeps running (its clients reconnect): the snapshot holds its topics, so its connectors
   * and the offsets they had committed (every second, TEST_CONNECT_OVERRIDES).
   */
  snapshot(name: string): Promise<SnapshotInfo> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      const info = await this.#stopped(name, false, () => saveSnapshot(this.dataDir, name));
      this.timings.lastSnapshotMs = performance.now() - startedMs;
      return info;
    });
  }

  /**
   * Replaces the whole cluster's state with snapshot `name`: every node stopped together, its
   * folder swapped for the snapshot's copy, every node started again; resolves once ready. Topic
   * ids, leaders, offsets, records, groups and transactional state are the snapshot's (README.md).
   * A Connect worker is stopped first and a new one started after on the same port (its state in
   * memory would not match the restored topics): it reads the snapshot's connectors and their
   * committed offsets, and runs them from there; restore resolves once its REST API answers.
   */
  restore(name: string): Promise<SnapshotInfo> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      const info = await this.#stopped(name, true, () => restoreSnapshot(this.dataDir, name));
      this.timings.lastRestoreMs = performance.now() - startedMs;
      return info;
    });
  }

  snapshots(): SnapshotInfo[] {
    return listSnapshots(this.dataDir);
  }

  /** Runs `work` on the data folders with every node stopped, then starts them and waits until ready. */
  async #stopped(name: string, restoring: boolean, work: () => SnapshotInfo): Promise<SnapshotInfo> {
    const problem = snapshotNameProblem(name);
    if (problem !== null) throw new KafkaTestingError('SNAPSHOT_NAME_INVALID', problem);
    const cluster = this.cluster;
    this.#needEveryNode(`snapshot '${name}'`);
    // A restore replaces the worker's topics under it: a new worker reads them (below). Refused
    // first when there is nothing to restore, so a bad name costs no JVM restart.
    const worker = restoring ? this.#connect : null;
    if (worker !== null) {
      readSnapshotInfo(this.dataDir, name); // SNAPSHOT_NOT_FOUND
      await worker.halt();
    }
    this.#healFaults();
    // Transactions committing or aborting finish their markers first: a snapshot holds none half-written.
    await Promise.all(cluster.nodes().map((node) => node.broker.slots.get(TRANSACTIONS)?.coordinator.idle()));
    await this.#waitReplicated();
    await this.#registry?.stop();
    await cluster.stopNodes();
    try {
      return work();
    } finally {
      await cluster.startNodes();
      await cluster.waitForReady();
      await this.#waitSettled([...cluster.node(1).broker.metadata().topics()].map((topic) => topic.name));
      await this.#registry?.start();
      await worker?.start();
    }
  }

  /**
   * Waits until every partition's replicas hold the same log end and its leader's high watermark
   * is there too: every write so far acknowledged and on every replica, so the nodes' folders,
   * copied while stopped, agree (a write still in flight, such as a group's record the coordinator
   * is storing, is in all of them or none).
   */
  async #waitReplicated(): Promise<void> {
    const cluster = this.cluster;
    await cluster.waitFor('every partition replicated to its log end on every replica', () =>
      [...cluster.node(1).broker.metadata().topics()].every((topic) =>
        topic.partitions.every((p) => {
          const leader = cluster.running(p.leaderId)
            ? cluster.node(p.leaderId).broker.get(topic.name, p.partitionIndex)
            : undefined;
          if (leader === undefined || leader.highWatermark !== leader.logEndOffset) return false;
          return p.replicas.every(
            (id) =>
              cluster.running(id) &&
              cluster.node(id).broker.get(topic.name, p.partitionIndex)?.logEndOffset === leader.logEndOffset,
          );
        }),
      ),
    );
  }

  #needEveryNode(what: string): void {
    const stopped = this.cluster.nodeIds.filter((nodeId) => !this.cluster.running(nodeId));
    if (stopped.length > 0) {
      throw new KafkaTestingError(
        'NODE_STOPPED',
        `${what} needs every broker running: restart node ${stopped.join(', ')} first`,
      );
    }
  }

  /** Takes every isolation, delay, pause and client cut away. */
  #healFaults(): void {
    const cluster = this.cluster;
    if (!cluster.faultProxies) return;
    const rules = cluster.faultRules('heal');
    for (const nodeId of cluster.nodeIds) {
      rules.heal(nodeId);
      if (rules.isPaused(nodeId)) cluster.resumeNode(nodeId);
    }
    for (const cut of rules.clientCuts()) rules.healClient(cut.clientId);
  }

  /** Stops every node; removes the data when it was a temporary folder. Safe twice. */
  async stop(): Promise<void> {
    await this.#connect?.stop();
    await this.#registry?.stop();
    await this.cluster.stop();
    this.#manual?.clear();
  }

  /** Creates the internal topics and the baseline topics; waits until every node has them led with a full ISR. */
  async prepare(baseline: readonly BaselineTopic[]): Promise<void> {
    this.#baseline = baseline;
    const cluster = this.cluster;
    const node = cluster.node(1);
    const groups = node.broker.slots.get(GROUP_COORDINATOR);
    const transactions = node.broker.slots.get(TRANSACTIONS);
    if (groups === undefined || transactions === undefined) {
      throw new Error('the coordinator extension did not start on node 1 (see its log)');
    }
    const internal = await Promise.all([groups.ensureOffsetsTopic(), transactions.ensureTransactionTopic()]);
    for (const [i, topic] of [OFFSETS_TOPIC_NAME, TRANSACTION_STATE_TOPIC].entries()) {
      if (internal[i] !== 0)
        throw new Error(`internal topic ${topic} was not created: error code ${internal[i]}`);
    }
    await this.#waitSettled([
      OFFSETS_TOPIC_NAME,
      TRANSACTION_STATE_TOPIC,
      ...(await createBaselineTopics(node.broker, baseline, this.brokers)),
    ]);
  }

  /**
   * Waits until every node has the topics `names` led with a full ISR, and each internal partition
   * is loaded by its leader's coordinator.
   */
  async #waitSettled(names: readonly string[]): Promise<void> {
    const cluster = this.cluster;
    await cluster.waitFor(`${names.join(', ')} led with a full ISR on every node`, () =>
      cluster.nodes().every((n) =>
        names.every((name) => {
          const view = n.broker.metadata().topic(name);
          return (
            view !== undefined &&
            view.partitions.length > 0 &&
            view.partitions.every((p) => p.leaderId > 0 && p.isr.length === p.replicas.length)
          );
        }),
      ),
    );
    // After a restart a leader answers ListOffsets with OFFSET_NOT_AVAILABLE until its high
    // watermark reaches the start of its epoch (its followers fetched that far): wait for that.
    await cluster.waitFor(
      `every partition of ${names.join(', ')} with its leader's high watermark settled`,
      () =>
        cluster.nodes().every((n) =>
          names.every((name) =>
            (n.broker.metadata().topic(name)?.partitions ?? []).every((p) => {
              if (p.leaderId !== n.nodeId) return true;
              const replica = n.broker.get(name, p.partitionIndex);
              return (
                replica?.isLeader === true &&
                replica.leaderEpoch === p.leaderEpoch &&
                replica.highWatermarkNumber >= (replica.replication?.leaderEpochStartOffset ?? 0)
              );
            }),
          ),
        ),
    );
    // The coordinators load the internal partitions their node leads (after the replay): wait for that too.
    await cluster.waitFor('every internal partition coordinated by its leader', () =>
      cluster.nodes().every((n) => {
        const image = n.broker.metadata();
        const offsets = n.broker.slots.get(GROUP_COORDINATOR)?.coordinator;
        const state = n.broker.slots.get(TRANSACTIONS)?.coordinator;
        return (
          offsets !== undefined &&
          state !== undefined &&
          (image.topic(OFFSETS_TOPIC_NAME)?.partitions ?? []).every(
            (p) => p.leaderId !== n.nodeId || offsets.hasPartition(p.partitionIndex),
          ) &&
          (image.topic(TRANSACTION_STATE_TOPIC)?.partitions ?? []).every(
            (p) => p.leaderId !== n.nodeId || state.hasPartition(p.partitionIndex),
          )
        );
      }),
    );
  }
}

/** `startKafka({ brokers: 3 })`, or `startKafka({ brokers: 1, connect })` (one node). */
export async function startKafkaCluster(options: StartKafkaOptions): Promise<TestKafkaCluster> {
  const nodes = options.brokers === 3 ? BROKERS : CONNECT_SINGLE_NODE;
  // One clock for the three brokers (the nodes share the process): see README.md for what follows it.
  const manual = options.clock === 'manual' ? new ManualClock() : undefined;
  if (options.port !== undefined && options.port !== 0) {
    throw new KafkaTestingError(
      'OPTION_INVALID',
      `port: ${options.port}: a three-broker test cluster takes free ports; use startCluster({ ports }) for fixed ones`,
    );
  }
  const baseline = baselineTopics(options);
  const startedMs = performance.now();
  const cluster = await startCluster({
    nodes,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    config: {
      ...TEST_BROKER_DEFAULTS,
      ...(nodes === BROKERS ? TEST_CLUSTER_DEFAULTS : TEST_SINGLE_NODE_DEFAULTS),
      ...options.config,
    },
    sessionTimeoutMs: TEST_CLUSTER_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: TEST_CLUSTER_HEARTBEAT_INTERVAL_MS,
    raftConfig: TEST_CLUSTER_RAFT,
    faultProxies: options.faultProxies ?? true,
    ...(options.containerHost === undefined ? {} : { containerHost: options.containerHost }),
    ...(options.advertisedHost === undefined ? {} : { advertisedHost: options.advertisedHost }),
    ...(manual === undefined ? {} : { brokerOptions: () => ({ clock: manual }) }),
    ...(options.log === undefined ? {} : { log: () => options.log! }),
  });
  const kafka = new TestKafkaCluster(cluster, manual);
  try {
    await kafka.prepare(baseline);
    if (options.schemaRegistry === true) await kafka.startSchemaRegistry();
    if (options.connect !== undefined && options.connect !== false)
      await kafka.startConnect(options.connect === true ? {} : options.connect);
  } catch (error) {
    await kafka.stop();
    throw error;
  }
  kafka.timings.startToReadyMs = performance.now() - startedMs;
  return kafka;
}
