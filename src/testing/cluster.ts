/**
 * Three (or N) combined broker+controller nodes (`ClusterNode`) in the test process, on free ports
 * or on the ports a test names: started together, ready once the quorum has a leader every node
 * names and every broker is registered and unfenced in every node's image. Faults on command: a
 * node is killed (stopped without a controlled shutdown: the controller fences it after the broker
 * session timeout) and restarted on its port and data, and `waitForLeader` / `waitForIsr` wait for
 * their effect as every running node's image shows it, never by sleeping a fixed time.
 *
 * `startCluster` is the harness (the engine's cluster tests build on it); `startKafka({ brokers: 3 })`
 * (kafka.ts) adds the internal and baseline topics on top.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PartitionView } from '../broker/services.ts';
import type { PeerAddress } from '../controller/peer.ts';
import { ClusterNode, type ClusterNodeOptions } from '../engine/cluster-node.ts';
import {
  type ClientCut,
  type ClientCutOptions,
  FAULT_SIDES,
  FaultRules,
  type FaultSide,
  LINK_DELAY_MS_MAX,
  NodeProxy,
} from '../engine/fault-proxy.ts';
import type { RaftConfig } from '../raft/types.ts';
import type { ServerLog } from '../server/server.ts';
import { KafkaTestingError } from './errors.ts';
import { TimerGate } from './timer-gates.ts';

/** Most nodes `startCluster` starts (node ids 1..N); a quorum of more is not what a test needs. */
export const CLUSTER_NODES_MAX = 9;
/** Default of every wait (ready, leader, ISR): generous, tests run on loaded CI machines. */
export const CLUSTER_WAIT_MS_DEFAULT = 60_000;
/** How often a wait looks at the nodes' images. */
const POLL_MS = 20;
/** Starts tried when a free port chosen for a controller listener was taken before it was bound. */
const PORT_RACE_ATTEMPTS = 3;
/** Warnings kept for the message of a wait that timed out. */
const WARNINGS_KEPT = 200;

export interface StartClusterOptions {
  /** Nodes, ids 1..N; default 3. */
  readonly nodes?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Broker port of node i at index i-1; default free ports (kept across restarts). */
  readonly ports?: readonly number[];
  /** Controller listener of node i at index i-1; default free ports. */
  readonly controllerPorts?: readonly number[];
  /** Default a new random cluster id. */
  readonly clusterId?: string;
  /** Node i's data in `<dataDir>/node-<i>`; default a new temporary folder, removed by `stop()`. */
  readonly dataDir?: string;
  /** Broker configs by Kafka name, for every node. */
  readonly config?: Readonly<Record<string, string>>;
  /** `broker.session.timeout.ms` (Kafka 9000): how long after a kill the controller fences the node. */
  readonly sessionTimeoutMs?: number;
  /** `broker.heartbeat.interval.ms` (Kafka 2000). */
  readonly heartbeatIntervalMs?: number;
  /** Node i's log lines (its warnings are also kept for wait timeouts); silent by default. */
  readonly log?: (nodeId: number) => ServerLog;
  /** Extra broker options of node i (an observer, an advertised address), at each (re)start. */
  readonly brokerOptions?: (nodeId: number) => ClusterNodeOptions['broker'];
  /** The metadata quorum's timings (Kafka's controller.quorum.* defaults otherwise). */
  readonly raftConfig?: Partial<RaftConfig>;
  /** Default 60 s. */
  readonly waitMs?: number;
  /** Wait until ready (quorum leader, every broker unfenced); default true. */
  readonly waitReady?: boolean;
  /**
   * Network faults (`isolate`, `slow`, `heal`): a TCP proxy (src/engine/fault-proxy.ts) in front of
   * every node's broker listener and controller listener; the broker ports (`ports`) are then the
   * proxies', advertised to clients, and the nodes listen on free ports behind them and reach each
   * other through the proxies. Default false.
   */
  readonly faultProxies?: boolean;
  /**
   * With faultProxies: a second broker listener on every node (`CONTAINER`, behind a fault proxy of
   * its own on `host`, so container clients cross the faults too) advertising this name with its
   * proxy's port; the first listener (`HOST`, the inter-broker one unless `advertisedHost`) keeps
   * `advertisedHost`.
   */
  readonly containerHost?: string;
  /**
   * With faultProxies: the name every node's client listener (`HOST`, the first) advertises with its
   * proxy's port, e.g. `localhost` or a name a container resolves. The nodes then replicate over a
   * third listener (`INTERNAL`, the inter-broker one, behind a proxy of its own on `host`, advertised
   * at `host`), so no node has to resolve the name; `internalBootstrapServers` lists it for the
   * clients the test harness runs itself (the Schema Registry, the Connect worker). Default `host`
   * (no internal listener).
   */
  readonly advertisedHost?: string;
}

/** The listener names of nodes with `containerHost` (the host's first: it is the inter-broker one). */
const HOST_LISTENER = 'HOST';
const CONTAINER_LISTENER = 'CONTAINER';
/** With `advertisedHost`: the listener the nodes replicate over, advertised at `host`. */
const INTERNAL_LISTENER = 'INTERNAL';

/** A node's network faults as its proxies apply them. */
export interface NodeFaults {
  readonly isolatedFrom: FaultSide | null;
  readonly delayMs: number;
  readonly delayFrom: FaultSide | null;
  /** Held by pause(): connections open, nothing crossing them. */
  readonly paused: boolean;
}

export interface WaitOptions {
  /** Default the cluster's waitMs. */
  readonly timeoutMs?: number;
}

/** One node of the cluster, by node id, across its restarts. */
export class ClusterBroker {
  readonly nodeId: number;
  readonly #cluster: TestCluster;

  constructor(cluster: TestCluster, nodeId: number) {
    this.#cluster = cluster;
    this.nodeId = nodeId;
  }

  /** The broker port (the same across restarts). */
  get port(): number {
    return this.#cluster.brokerPort(this.nodeId);
  }

  get running(): boolean {
    return this.#cluster.running(this.nodeId);
  }

  /** The running node (its broker, controller, quorum); throws NODE_STOPPED when killed or stopped. */
  get node(): ClusterNode {
    return this.#cluster.node(this.nodeId);
  }

  /**
   * A crash as clients and peers see it: with the fault proxies, every connection to and from the
   * node is destroyed at once and nothing more crosses them (no answer to a request in flight, no
   * fetch, vote or heartbeat from it) while the node object is stopped without a controlled
   * shutdown behind them. Nobody moves its leaderships first: the controller fences it after the
   * broker session timeout and elects new leaders from the ISR (a new active controller too when
   * it was the one). Its disk is left as SIGKILL leaves it, from this tick on: partition logs as
   * write() handed them to the OS (no index, checkpoint or fsync after it, the checkpoint still
   * saying unclean), the Raft log closed with nothing added, no `.kafka_cleanshutdown` (KIP-966).
   * So `restart()` is an unclean start: log recovery (`log.recoveredSegments`), a registration the
   * controller takes as an unclean shutdown. Without fault proxies the connections close with the
   * node's listeners, the disk the same.
   */
  kill(): Promise<void> {
    return this.#cluster.stopNode(this.nodeId, false);
  }

  /** A controlled shutdown: the controller moves its leaderships away first. */
  stop(): Promise<void> {
    return this.#cluster.stopNode(this.nodeId, true);
  }

  /** Starts the node again on its ports and data; resolves once registered and unfenced. */
  restart(options: WaitOptions = {}): Promise<void> {
    return this.#cluster.restartNode(this.nodeId, options);
  }

  /**
   * Cuts the node off from its peers (the other nodes, both ways: Raft, heartbeats, replication),
   * its clients, or all: open connections crossing the cut close at once, new ones close at their
   * first request. Until `heal()`. Needs `faultProxies` (on with `startKafka({ brokers: 3 })`).
   */
  isolate(options: { from?: FaultSide } = {}): void {
    const from = options.from ?? 'all';
    if (!(FAULT_SIDES as readonly string[]).includes(from)) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `isolate from '${String(from)}': must be one of ${FAULT_SIDES.join(', ')}`,
      );
    }
    this.#cluster.faultRules('isolate').isolate(this.nodeId, from);
  }

  /**
   * Holds every request crossing the node's links `ms` before it is forwarded (in order; a peer
   * link is slow when either end is): from peers, clients or all (default). `slow(0)` takes it away.
   */
  slow(ms: number, options: { from?: FaultSide } = {}): void {
    const from = options.from ?? 'all';
    if (!(FAULT_SIDES as readonly string[]).includes(from)) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `slow from '${String(from)}': must be one of ${FAULT_SIDES.join(', ')}`,
      );
    }
    if (!Number.isInteger(ms) || ms < 0 || ms > LINK_DELAY_MS_MAX) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `slow(${String(ms)}): a delay must be a whole number of ms in 0..${LINK_DELAY_MS_MAX} (LINK_DELAY_MS_MAX)`,
      );
    }
    this.#cluster.faultRules('slow').slow(this.nodeId, ms, from);
  }

  /**
   * A stopped node, as SIGSTOP stops a process: every connection to and from it stays open and
   * nothing crosses any of them until `resume()` (what was sent meanwhile is delivered then, in
   * order), and the node's own timers hold what falls due (timer-gates.ts): it elects nobody,
   * fences nobody, shrinks no ISR and expires no session while paused. Its peers see it silent:
   * paused past the broker session, the others fence it and move its leaderships. Needs
   * `faultProxies`; NODE_PAUSED when paused already.
   */
  pause(): void {
    const rules = this.#cluster.faultRules('pause');
    if (rules.isPaused(this.nodeId))
      throw new KafkaTestingError('NODE_PAUSED', `node ${this.nodeId} is paused already`);
    this.#cluster.pauseNode(this.nodeId);
  }

  /**
   * Lets the node go on: what its timers held runs first, in due order, then what the proxies held
   * crosses (as a process resumed by SIGCONT). NODE_NOT_PAUSED when it is not paused.
   */
  resume(): void {
    const rules = this.#cluster.faultRules('resume');
    if (!rules.isPaused(this.nodeId)) {
      throw new KafkaTestingError('NODE_NOT_PAUSED', `node ${this.nodeId} is not paused`);
    }
    this.#cluster.resumeNode(this.nodeId);
  }

  /** Takes away the node's isolation and delay (not a pause: resume() ends that). */
  heal(): void {
    this.#cluster.faultRules('heal').heal(this.nodeId);
  }

  /** The node's network faults now. */
  get faults(): NodeFaults {
    const rules = this.#cluster.faultRules('faults');
    return { ...rules.describe(this.nodeId), paused: rules.isPaused(this.nodeId) };
  }
}

export class TestCluster {
  readonly host: string;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly nodeIds: readonly number[];
  /** The nodes' last warnings, newest last (also in a wait's timeout message). */
  readonly warnings: string[] = [];
  readonly waitMs: number;
  readonly #options: StartClusterOptions;
  readonly #ownsDataDir: boolean;
  readonly #voters: PeerAddress[];
  readonly #ports: number[];
  readonly #nodes = new Map<number, ClusterNode>();
  /** Each node id's timer gate (timer-gates.ts), closed while it is paused; kept across restarts. */
  readonly #gates = new Map<number, TimerGate>();
  readonly #handles = new Map<number, ClusterBroker>();
  readonly #fatal: Error[] = [];
  /** With faultProxies: the rules, each node's own broker port and its controller proxy's port. */
  readonly #rules: FaultRules | undefined;
  readonly #innerPorts: number[] = [];
  readonly #controllerProxyPorts: number[] = [];
  /** With containerHost: each node's containers listener, and the proxy in front of it. */
  readonly #containerInnerPorts: number[] = [];
  readonly #containerProxyPorts: number[] = [];
  /** With advertisedHost: each node's internal (inter-broker) listener, and the proxy in front of it. */
  readonly #internalInnerPorts: number[] = [];
  readonly #internalProxyPorts: number[] = [];
  #proxies: NodeProxy[] = [];
  #stopped = false;

  /**
   * Use `startCluster`. With faultProxies, `proxyPorts` holds per node its own broker port and its
   * controller proxy's port (node 1's two first).
   */
  constructor(
    options: StartClusterOptions,
    controllerPorts: readonly number[],
    proxyPorts: readonly number[] = [],
    containerPorts: readonly number[] = [],
    internalPorts: readonly number[] = [],
  ) {
    const count = options.nodes ?? 3;
    this.#options = options;
    this.host = options.host ?? '127.0.0.1';
    this.clusterId = options.clusterId ?? randomClusterId();
    this.#ownsDataDir = options.dataDir === undefined;
    this.dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), 'kstack-test-cluster-')));
    this.waitMs = options.waitMs ?? CLUSTER_WAIT_MS_DEFAULT;
    this.nodeIds = Array.from({ length: count }, (_, i) => i + 1);
    this.#voters = this.nodeIds.map((nodeId) => ({
      nodeId,
      host: this.host,
      port: controllerPorts[nodeId - 1]!,
    }));
    this.#ports = this.nodeIds.map((nodeId) => options.ports?.[nodeId - 1] ?? 0);
    this.#rules = options.faultProxies === true ? new FaultRules() : undefined;
    for (const nodeId of this.nodeIds) {
      this.#innerPorts.push(proxyPorts[2 * (nodeId - 1)] ?? 0);
      this.#controllerProxyPorts.push(proxyPorts[2 * (nodeId - 1) + 1] ?? 0);
      this.#containerInnerPorts.push(containerPorts[2 * (nodeId - 1)] ?? 0);
      this.#containerProxyPorts.push(containerPorts[2 * (nodeId - 1) + 1] ?? 0);
      this.#internalInnerPorts.push(internalPorts[2 * (nodeId - 1)] ?? 0);
      this.#internalProxyPorts.push(internalPorts[2 * (nodeId - 1) + 1] ?? 0);
    }
    for (const nodeId of this.nodeIds) this.#handles.set(nodeId, new ClusterBroker(this, nodeId));
  }

  /** Every broker's `host:port`, node 1 first (Metadata then names `advertisedHost`). */
  get bootstrapAddresses(): string[] {
    return this.nodeIds.map((nodeId) => `${this.host}:${this.brokerPort(nodeId)}`);
  }

  /** The name the nodes' client listeners advertise: `advertisedHost`, else `host`. */
  get advertisedHost(): string {
    return this.#options.advertisedHost ?? this.host;
  }

  /**
   * Where the harness' own clients (registry, Connect) bootstrap: with `advertisedHost`, every node's
   * internal listener (`host:port`, advertised at `host`, so they never need the name); else
   * `bootstrapServers`.
   */
  get internalBootstrapServers(): string {
    if (this.#options.advertisedHost === undefined) return this.bootstrapServers;
    return this.nodeIds.map((nodeId) => `${this.host}:${this.#internalProxyPorts[nodeId - 1]}`).join(',');
  }

  /** Kafka's `bootstrap.servers` form. */
  get bootstrapServers(): string {
    return this.bootstrapAddresses.join(',');
  }

  /** The name the nodes' containers listeners advertise (`containerHost`), if any. */
  get containerHost(): string | undefined {
    return this.#options.containerHost;
  }

  /** With containerHost: every node's containers listener as containers reach it (`containerHost:port`). */
  get containerBootstrapAddresses(): string[] {
    const name = this.#options.containerHost;
    if (name === undefined) {
      throw new KafkaTestingError('OPTION_INVALID', 'no containers listener: start with { containerHost }');
    }
    return this.nodeIds.map((nodeId) => `${name}:${this.#containerProxyPorts[nodeId - 1]}`);
  }

  /** The controller listeners (`controller.quorum.voters`). */
  get voters(): readonly PeerAddress[] {
    return this.#voters;
  }

  /** Node `nodeId`'s handle: kill, stop, restart, its port. */
  broker(nodeId: number): ClusterBroker {
    const handle = this.#handles.get(nodeId);
    if (handle === undefined) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `node ${nodeId} is not in this cluster (node ids ${this.nodeIds.join(', ')})`,
      );
    }
    return handle;
  }

  brokerPort(nodeId: number): number {
    this.broker(nodeId);
    return this.#ports[nodeId - 1]!;
  }

  running(nodeId: number): boolean {
    return this.#nodes.has(nodeId);
  }

  /** The running node `nodeId`. */
  node(nodeId: number): ClusterNode {
    this.broker(nodeId);
    const node = this.#nodes.get(nodeId);
    if (node === undefined) throw new KafkaTestingError('NODE_STOPPED', `node ${nodeId} is not running`);
    return node;
  }

  /** The running nodes, by node id. */
  nodes(): ClusterNode[] {
    return this.nodeIds.flatMap((nodeId) => this.#nodes.get(nodeId) ?? []);
  }

  /** Whether fault proxies stand in front of the nodes (isolate, slow, heal work). */
  get faultProxies(): boolean {
    return this.#rules !== undefined;
  }

  /** The fault rules its proxies read; FAULTS_OFF without faultProxies. */
  faultRules(action: string): FaultRules {
    if (this.#rules === undefined) {
      throw new KafkaTestingError(
        'FAULTS_OFF',
        `${action} needs the fault proxies: start the cluster with faultProxies: true (startKafka({ brokers: 3 }) has them)`,
      );
    }
    return this.#rules;
  }

  /**
   * Cuts the connections of one client id (Kafka's `client.id`), on every node or `nodeId`'s:
   * without `afterApiKey` all of them, now and at each request, until `healClient`; with it, the
   * next `times` (default 1) requests of that API key reach the broker and the connection closes
   * instead of their answer (the client must retry what the broker already did). Other clients
   * are untouched. Replaces an earlier cut of the same client id.
   */
  cutClient(clientId: string, options: ClientCutOptions = {}): ClientCut {
    const rules = this.faultRules('cutClient');
    if (options.nodeId !== undefined) this.broker(options.nodeId);
    try {
      return rules.cutClient(clientId, options);
    } catch (error) {
      if (error instanceof RangeError)
        throw new KafkaTestingError('OPTION_INVALID', `cutClient: ${error.message}`);
      throw error;
    }
  }

  /** Ends a client's cut; what it was, with the connections it cut (`made`). */
  healClient(clientId: string): ClientCut {
    const cut = this.faultRules('healClient').healClient(clientId);
    if (cut === undefined) {
      throw new KafkaTestingError('CLIENT_CUT_NOT_FOUND', `no cut is armed for client id '${clientId}'`);
    }
    return cut;
  }

  /** The armed client cuts. */
  clientCuts(): ClientCut[] {
    return this.faultRules('clientCuts').clientCuts();
  }

  /** The proxies in front of the nodes' listeners, started once (before the nodes), closed by stop(). */
  async #startProxies(): Promise<void> {
    const rules = this.#rules;
    if (rules === undefined || this.#proxies.length > 0) return;
    const proxies = this.nodeIds.flatMap((nodeId) => [
      new NodeProxy({
        nodeId,
        host: this.host,
        listenPort: this.#ports[nodeId - 1]!,
        upstreamPort: this.#innerPorts[nodeId - 1]!,
        rules,
        log: (message) => this.#warn(nodeId, message),
      }),
      new NodeProxy({
        nodeId,
        host: this.host,
        listenPort: this.#controllerProxyPorts[nodeId - 1]!,
        upstreamPort: this.#voters[nodeId - 1]!.port,
        rules,
        log: (message) => this.#warn(nodeId, message),
      }),
      ...(this.#options.containerHost === undefined
        ? []
        : [
            new NodeProxy({
              nodeId,
              host: this.host,
              listenPort: this.#containerProxyPorts[nodeId - 1]!,
              upstreamPort: this.#containerInnerPorts[nodeId - 1]!,
              rules,
              log: (message: string) => this.#warn(nodeId, message),
            }),
          ]),
      ...(this.#options.advertisedHost === undefined
        ? []
        : [
            new NodeProxy({
              nodeId,
              host: this.host,
              listenPort: this.#internalProxyPorts[nodeId - 1]!,
              upstreamPort: this.#internalInnerPorts[nodeId - 1]!,
              rules,
              log: (message: string) => this.#warn(nodeId, message),
            }),
          ]),
    ]);
    try {
      for (const proxy of proxies) {
        await proxy.listen();
        this.#proxies.push(proxy);
      }
    } catch (error) {
      await Promise.all(this.#proxies.map((proxy) => proxy.close()));
      this.#proxies = [];
      throw error;
    }
  }

  /** Isolated from its peers or paused: its image cannot follow the quorum, so waits leave it out. */
  #cutFromPeers(nodeId: number): boolean {
    const from = this.#rules?.describe(nodeId).isolatedFrom ?? null;
    return from === 'peers' || from === 'all' || this.paused(nodeId);
  }

  #warn(nodeId: number, line: string): void {
    this.warnings.push(`node ${nodeId}: ${line}`);
    if (this.warnings.length > WARNINGS_KEPT) this.warnings.shift();
  }

  /** The timer gate node `nodeId` runs in (every timer its work sets holds while it is paused). */
  #gate(nodeId: number): TimerGate {
    let gate = this.#gates.get(nodeId);
    if (gate === undefined) {
      gate = new TimerGate(`node ${nodeId}`);
      this.#gates.set(nodeId, gate);
    }
    return gate;
  }

  /** Whether node `nodeId` is paused (its timers held, its links stalled). */
  paused(nodeId: number): boolean {
    return this.#rules?.isPaused(nodeId) === true;
  }

  /** Stops node `nodeId` as SIGSTOP would: its timers held, then its links (see ClusterBroker.pause). */
  pauseNode(nodeId: number): void {
    const rules = this.faultRules('pause');
    this.#gate(nodeId).close();
    rules.pause(nodeId);
  }

  /** Lets node `nodeId` go on: its held timers run first, then its links let through what waited. */
  resumeNode(nodeId: number): void {
    const rules = this.faultRules('resume');
    this.#gate(nodeId).open();
    rules.resume(nodeId);
  }

  /** Starts the nodes not running (all of them at first) together, each inside its timer gate. */
  async startNodes(nodeIds: readonly number[] = this.nodeIds): Promise<void> {
    if (this.#stopped) throw new KafkaTestingError('STOPPED', 'the test cluster is stopped');
    await this.#startProxies();
    const starting = nodeIds
      .filter((nodeId) => !this.#nodes.has(nodeId))
      .map((id) => this.#gate(id).run(() => this.#makeNode(id)));
    const results = await Promise.allSettled(
      starting.map((node) => this.#gate(node.nodeId).run(() => node.start())),
    );
    const failed = results.find((result) => result.status === 'rejected');
    for (const [i, node] of starting.entries()) {
      if (results[i]?.status === 'fulfilled') {
        this.#nodes.set(node.nodeId, node);
        if (this.#rules === undefined) this.#ports[node.nodeId - 1] = node.broker.port;
      }
    }
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Waits until the running nodes name one quorum leader and every running broker is registered
   * and unfenced in every running node's image; returns the active controller's node id.
   */
  async waitForReady(options: WaitOptions = {}): Promise<number> {
    let leaderId = -1;
    await this.waitFor(
      'one quorum leader named by every running node, every running broker registered and unfenced',
      () => {
        const nodes = this.nodes();
        const ids = new Set(nodes.map((node) => node.leader().leaderId));
        leaderId = [...ids][0] ?? -1;
        return (
          ids.size === 1 &&
          this.#nodes.has(leaderId) &&
          nodes.every((node) => {
            const image = node.broker.metadata();
            return nodes.every(
              (other) =>
                image.brokers().some((b) => b.nodeId === other.nodeId) && !image.isFenced(other.nodeId),
            );
          })
        );
      },
      options,
    );
    return leaderId;
  }

  /** The active controller as every running node names it, once they agree. */
  activeController(options: WaitOptions = {}): Promise<number> {
    let leaderId = -1;
    return this.waitFor(
      'one active controller named by every running node',
      () => {
        const ids = new Set(this.nodes().map((node) => node.leader().leaderId));
        leaderId = [...ids][0] ?? -1;
        return ids.size === 1 && this.#nodes.has(leaderId);
      },
      options,
    ).then(() => leaderId);
  }

  /**
   * The partition as every running node's image has it, once they agree on its epoch and `check`
   * holds (a wait, not a look: the images follow the quorum a moment apart). A node isolated from
   * its peers is left out: its image cannot follow the quorum until healed.
   */
  async waitForPartition(
    topic: string,
    partition: number,
    what: string,
    check: (view: PartitionView) => boolean,
    options: WaitOptions = {},
  ): Promise<PartitionView> {
    let found: PartitionView | undefined;
    await this.waitFor(
      `${topic}-${partition}: ${what}`,
      () => {
        // A node isolated from its peers cannot follow the quorum: its image stays as it was.
        const views = this.nodes()
          .filter((node) => !this.#cutFromPeers(node.nodeId))
          .map((node) => node.broker.metadata().topic(topic)?.partitions[partition]);
        found = views[0];
        return views.every((v) => v !== undefined && v.partitionEpoch === found?.partitionEpoch && check(v));
      },
      options,
    );
    return found!;
  }

  /** Waits for a leader (other than `not`, when given) every running node agrees on; returns its id. */
  async waitForLeader(
    topic: string,
    partition: number,
    options: WaitOptions & { not?: number } = {},
  ): Promise<number> {
    const { not } = options;
    const view = await this.waitForPartition(
      topic,
      partition,
      not === undefined ? 'a leader' : `a leader other than node ${not}`,
      (p) => p.leaderId > 0 && p.leaderId !== not && this.#nodes.has(p.leaderId),
      options,
    );
    return view.leaderId;
  }

  /**
   * Waits for the ISR to have `size` members (the partition's replication factor by default: the
   * ISR back to full), to exclude or include a node; returns it.
   */
  async waitForIsr(
    topic: string,
    partition: number,
    options: WaitOptions & { size?: number; excludes?: number; includes?: number } = {},
  ): Promise<readonly number[]> {
    const { size, excludes, includes } = options;
    const wanted = [
      size === undefined ? (excludes === undefined ? 'every replica' : null) : `${size} replicas`,
      excludes === undefined ? null : `without node ${excludes}`,
      includes === undefined ? null : `with node ${includes}`,
    ].filter((part) => part !== null);
    const view = await this.waitForPartition(
      topic,
      partition,
      `ISR of ${wanted.join(', ')}`,
      (p) =>
        (size === undefined
          ? excludes !== undefined || p.isr.length === p.replicas.length
          : p.isr.length === size) &&
        (excludes === undefined || !p.isr.includes(excludes)) &&
        (includes === undefined || p.isr.includes(includes)),
      options,
    );
    return view.isr;
  }

  /** Polls `check` until it holds; the timeout names `what` and the nodes' last warnings. */
  async waitFor(what: string, check: () => boolean, options: WaitOptions = {}): Promise<void> {
    const deadline = performance.now() + (options.timeoutMs ?? this.waitMs);
    for (;;) {
      const fatal = this.#fatal[0];
      if (fatal !== undefined) throw new Error(`a node stopped on a fatal error: ${fatal.message}`);
      if (check()) return;
      if (this.#stopped)
        throw new KafkaTestingError('STOPPED', `the test cluster stopped while waiting for ${what}`);
      if (performance.now() > deadline) {
        throw new KafkaTestingError(
          'WAIT_TIMED_OUT',
          `timed out after ${options.timeoutMs ?? this.waitMs} ms waiting for ${what}; last warnings: ${this.warnings.slice(-5).join(' | ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async stopNode(nodeId: number, controlled: boolean): Promise<void> {
    const node = this.node(nodeId);
    this.#nodes.delete(nodeId);
    const rules = this.#rules;
    // A paused node's held timers die with a crash; a controlled stop first lets it go on.
    if (!controlled) this.#gate(nodeId).discard();
    this.#gate(nodeId).open();
    if (controlled) {
      if (rules?.isPaused(nodeId) === true) rules.resume(nodeId);
      await node.stop({ controlled: true });
      return;
    }
    // A crash: the proxies destroy its connections first, so whatever the stop still answers or
    // sends goes nowhere; its port refuses connections again once the node is down.
    rules?.resume(nodeId);
    rules?.crash(nodeId);
    try {
      // Nothing reaches the node's disk after this tick, as after SIGKILL: its partition logs are
      // abandoned here and stop()'s synchronous start closes the Raft log, before the stop awaits
      // anything (requests in flight, coordinators finishing marker rounds would write otherwise).
      abandonPartitionLogs(node);
      await node.stop({ controlled: false, crash: true });
    } finally {
      rules?.restore(nodeId);
    }
  }

  async restartNode(nodeId: number, options: WaitOptions = {}): Promise<void> {
    this.broker(nodeId);
    if (this.#nodes.has(nodeId))
      throw new KafkaTestingError('NODE_RUNNING', `node ${nodeId} is running: kill or stop it first`);
    await this.startNodes([nodeId]);
    const node = this.node(nodeId);
    await this.waitFor(
      `node ${nodeId} registered and unfenced after its restart`,
      () => {
        const image = node.broker.metadata();
        return (
          node.brokerEpoch >= 0 && image.brokers().some((b) => b.nodeId === nodeId) && !image.isFenced(nodeId)
        );
      },
      options,
    );
  }

  /**
   * Stops every running node together and cleanly (no controlled shutdown, nothing crashed: logs,
   * indexes, checkpoints and the metadata log closed), keeping the proxies and ports, so that the
   * data folders hold one consistent state (snapshot, restore) and `startNodes()` starts them again.
   */
  async stopNodes(): Promise<void> {
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(nodes.map((node) => node.stop({ controlled: false })));
  }

  /** Stops every running node (together, without controlled shutdowns); removes a temporary data dir. Safe twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const gate of this.#gates.values()) {
      gate.discard();
      gate.open();
    }
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(nodes.map((node) => node.stop({ controlled: false })));
    await Promise.all(this.#proxies.map((proxy) => proxy.close()));
    this.#proxies = [];
    if (this.#ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /**
   * With containerHost or advertisedHost, the node's listeners, each bound on `host` behind its proxy
   * and advertising the proxy's port: `HOST` (clients, at `advertisedHost`), `INTERNAL` with
   * advertisedHost (the inter-broker one, at `host`: the nodes reach each other there without
   * resolving the name), `CONTAINER` with containerHost (at that name). Without `INTERNAL`, `HOST`
   * is the inter-broker listener.
   */
  #listenerConfig(nodeId: number): Record<string, string> {
    const { containerHost, advertisedHost } = this.#options;
    if (containerHost === undefined && advertisedHost === undefined) return {};
    const i = nodeId - 1;
    // [name, bound port, advertised host, advertised port]
    const listeners: (readonly [string, number, string, number])[] = [
      [HOST_LISTENER, this.#innerPorts[i]!, this.advertisedHost, this.#ports[i]!],
      ...(advertisedHost === undefined
        ? []
        : [
            [
              INTERNAL_LISTENER,
              this.#internalInnerPorts[i]!,
              this.host,
              this.#internalProxyPorts[i]!,
            ] as const,
          ]),
      ...(containerHost === undefined
        ? []
        : [
            [
              CONTAINER_LISTENER,
              this.#containerInnerPorts[i]!,
              containerHost,
              this.#containerProxyPorts[i]!,
            ] as const,
          ]),
    ];
    return {
      listeners: listeners.map(([name, port]) => `${name}://${this.host}:${port}`).join(','),
      'advertised.listeners': listeners.map(([name, , host, port]) => `${name}://${host}:${port}`).join(','),
      'listener.security.protocol.map': listeners.map(([name]) => `${name}:PLAINTEXT`).join(','),
      'inter.broker.listener.name': advertisedHost === undefined ? HOST_LISTENER : INTERNAL_LISTENER,
    };
  }

  #makeNode(nodeId: number): ClusterNode {
    const log = this.#options.log?.(nodeId);
    const proxied = this.#rules !== undefined;
    // Behind the proxies the node listens on its own ports, advertises the proxy's broker port and
    // reaches the other nodes' controllers through their proxies.
    const brokerOptions = proxied
      ? {
          advertisedHost: this.advertisedHost,
          advertisedPort: this.#ports[nodeId - 1]!,
          ...this.#options.brokerOptions?.(nodeId),
        }
      : this.#options.brokerOptions?.(nodeId);
    const voters = proxied
      ? this.#voters.map((voter) =>
          voter.nodeId === nodeId ? voter : { ...voter, port: this.#controllerProxyPorts[voter.nodeId - 1]! },
        )
      : this.#voters;
    return new ClusterNode({
      nodeId,
      clusterId: this.clusterId,
      voters,
      host: this.host,
      port: proxied ? this.#innerPorts[nodeId - 1]! : this.#ports[nodeId - 1]!,
      dataDir: join(this.dataDir, `node-${nodeId}`),
      config: { ...this.#options.config, ...this.#listenerConfig(nodeId) },
      ...(this.#options.sessionTimeoutMs === undefined
        ? {}
        : { sessionTimeoutMs: this.#options.sessionTimeoutMs }),
      ...(this.#options.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: this.#options.heartbeatIntervalMs }),
      log: {
        info: (line) => log?.info(line),
        warn: (line) => {
          this.#warn(nodeId, line);
          log?.warn(line);
        },
      },
      onFatal: (error) => {
        this.#fatal.push(error);
        this.warnings.push(`node ${nodeId}: FATAL ${error.message}`);
      },
      ...(brokerOptions === undefined ? {} : { broker: brokerOptions }),
      ...(this.#options.raftConfig === undefined ? {} : { raftConfig: this.#options.raftConfig }),
    });
  }
}

/**
 * Starts the nodes; resolves once ready (see `TestCluster.waitForReady`) unless `waitReady` is
 * false. Free controller ports are chosen by binding port 0 and releasing it: when another process
 * takes one before the node binds it, the start is tried again on new ports (at most
 * PORT_RACE_ATTEMPTS starts).
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > CLUSTER_NODES_MAX) {
    throw new KafkaTestingError(
      'OPTION_INVALID',
      `nodes: ${String(count)} must be an integer 1..${CLUSTER_NODES_MAX}`,
    );
  }
  for (const [name, ports] of [
    ['ports', options.ports],
    ['controllerPorts', options.controllerPorts],
  ] as const) {
    if (ports !== undefined && ports.length !== count) {
      throw new KafkaTestingError('OPTION_INVALID', `${name} names ${ports.length} ports for ${count} nodes`);
    }
  }
  const host = options.host ?? '127.0.0.1';
  const proxied = options.faultProxies === true;
  for (const [name, value] of [
    ['containerHost', options.containerHost],
    ['advertisedHost', options.advertisedHost],
  ] as const) {
    if (!proxied && value !== undefined) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `${name} needs faultProxies: the nodes advertise their proxies`,
      );
    }
  }
  for (let attempt = 1; ; attempt += 1) {
    // With proxies every port is chosen up front (a proxy forwards to a port known before the node
    // binds it), all in one call so no two are the same.
    const containers = proxied && options.containerHost !== undefined;
    const internal = proxied && options.advertisedHost !== undefined;
    const wanted =
      (options.controllerPorts === undefined ? count : 0) +
      (proxied ? 2 * count + (options.ports === undefined ? count : 0) : 0) +
      (containers ? 2 * count : 0) +
      (internal ? 2 * count : 0);
    const free = wanted === 0 ? [] : await freePorts(host, wanted);
    const take = (n: number): number[] => free.splice(0, n);
    const controllerPorts = options.controllerPorts ?? take(count);
    const proxyPorts = proxied ? take(2 * count) : [];
    const publicPorts = proxied && options.ports === undefined ? take(count) : options.ports;
    const containerPorts = containers ? take(2 * count) : [];
    const internalPorts = internal ? take(2 * count) : [];
    const cluster = new TestCluster(
      publicPorts === undefined ? options : { ...options, ports: publicPorts },
      controllerPorts,
      proxyPorts,
      containerPorts,
      internalPorts,
    );
    try {
      await cluster.startNodes();
      if (options.waitReady !== false) await cluster.waitForReady();
      return cluster;
    } catch (error) {
      await cluster.stop();
      const raced = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      const fixed = options.controllerPorts !== undefined && !proxied;
      if (!raced || fixed || attempt >= PORT_RACE_ATTEMPTS) throw error;
    }
  }
}

/**
 * Leaves every partition log of the node as a killed process leaves it (PartitionLog.abandon: what
 * write() gave the OS, no index, checkpoint or fsync after it); a later append fails LogClosedError.
 */
function abandonPartitionLogs(node: ClusterNode): void {
  const broker = node.broker;
  for (const topic of broker.metadata().topics()) {
    for (const partition of topic.partitions) broker.get(topic.name, partition.partitionIndex)?.log.abandon();
  }
}

/** `count` distinct ports free on `host` now (bound together, then released). */
async function freePorts(host: string, count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** 16 random bytes as Kafka's base64url cluster id, never starting with '-'. */
function randomClusterId(): string {
  for (;;) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    const id = Buffer.from(bytes).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
