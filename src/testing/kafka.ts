/**
 * An embedded Kafka for a test suite: one in-process broker on a free port, ready when its
 * internal topics are led and its baseline topics exist, with `reset()`, snapshots and a
 * clock a test can move. State operations replace the broker object in milliseconds behind a
 * front door (front-door.ts) that keeps the port and the clients' connections: the process,
 * the port and the clock stay, and a client sees no disconnect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Broker } from '../broker/broker.ts';
import type { Clock } from '../broker/services.ts';
import { GROUP_COORDINATOR } from '../coordinator/extension.ts';
import { OFFSETS_TOPIC_NAME } from '../coordinator/offsets-log.ts';
import { TRANSACTION_STATE_TOPIC } from '../coordinator/transactions/coordinator.ts';
import { TRANSACTIONS } from '../coordinator/transactions/runtime.ts';
import type { ServerLog } from '../server/server.ts';
import { fitReplication } from '../topology/replication.ts';
import { readTopicsFile } from '../topology/topics.ts';
import type { TestConnectOptions } from './connect.ts';
import { KafkaTestingError } from './errors.ts';
import { FrontDoor } from './front-door.ts';
import { startKafkaCluster, type TestKafkaCluster } from './kafka-cluster.ts';
import { ManualClock } from './manual-clock.ts';
import { TestSchemaRegistry } from './schema-registry.ts';
import {
  BASELINE_SNAPSHOT,
  listSnapshots,
  restoreSnapshot,
  type SnapshotInfo,
  saveSnapshot,
} from './snapshots.ts';

/**
 * Broker settings a test cluster starts with unless `config` says otherwise: one partition for
 * each internal topic (Kafka's 50 each make every restart open 100 logs: 350-700 ms instead of
 * about 15 ms here), and no initial rebalance delay (Kafka's 3 s would open every group test).
 */
export const TEST_BROKER_DEFAULTS: Readonly<Record<string, string>> = {
  'offsets.topic.num.partitions': '1',
  'transaction.state.log.num.partitions': '1',
  'group.initial.rebalance.delay.ms': '0',
};

const NODE_ID = 1;
/** The listener names of a broker with `containerHost` (the host's first: it is the inter-broker one). */
const HOST_LISTENER = 'HOST';
const CONTAINER_LISTENER = 'CONTAINER';

export interface BaselineTopic {
  readonly name: string;
  /** Default: the broker's num.partitions. */
  readonly partitions?: number;
  /** Lowered to the broker count with `min.insync.replicas`, as `kstack up` does; default 1. */
  readonly replicationFactor?: number;
  /** Topic configs by Kafka name (`retention.ms`, `cleanup.policy`, …). */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface StartKafkaOptions {
  /** Brokers in the cluster: 1 (default) or 3 (three in-process nodes, see kafka-cluster.ts). */
  readonly brokers?: 1 | 3;
  /** `manual`: a clock `clock.advance(ms)` moves forward (see ManualClock); default the system clock. */
  readonly clock?: 'system' | 'manual';
  /** A topics file in kafka-init's format (as `kstack topics apply` reads): baseline topics. */
  readonly topicsFile?: string;
  /** More baseline topics, created after those of the file. */
  readonly topics?: readonly BaselineTopic[];
  /** Broker configs by Kafka name, over TEST_BROKER_DEFAULTS. */
  readonly config?: Readonly<Record<string, string>>;
  /** Where the data lives; default a new temporary folder, removed by `stop()`. */
  readonly dataDir?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /**
   * The host name the brokers tell clients (Metadata, FindCoordinator); default `host`. For clients
   * in containers, e.g. `{ host: '0.0.0.0', advertisedHost: 'host.docker.internal' }`: every client,
   * the test process' own too, must then resolve that name (README.md). Three brokers replicate over
   * an internal listener advertised at `host`, so the nodes never need the name.
   */
  readonly advertisedHost?: string;
  /**
   * One broker: a second listener for clients in containers, at once with the host's (Kafka's two
   * listeners, each advertising its own name): clients bootstrapping on `containerBootstrapServers`
   * are told this name (e.g. `host.docker.internal`) and its own port, clients of
   * `bootstrapServers` keep `advertisedHost`. It listens on `host` (`0.0.0.0` for containers to reach it).
   */
  readonly containerHost?: string;
  /** Default 0: a free port chosen by the system. */
  readonly port?: number;
  /** The broker's log lines; silent by default. */
  readonly log?: ServerLog;
  /**
   * Three brokers only: fault proxies in front of every node (`broker(id).isolate()`, `slow()`,
   * `heal()`); default true. Clients still see only the brokers' addresses (the proxies').
   */
  readonly faultProxies?: boolean;
  /**
   * kstack's Schema Registry beside the cluster, in-process, at `schemaRegistryUrl`; reset() and
   * restore() restart it so it holds what `_schemas` holds then (nothing after a reset) and hands out
   * no id it handed out before (schema-registry.ts). Default false.
   */
  readonly schemaRegistry?: boolean;
  /**
   * Kafka's Connect worker (the JVM, supervised as `kstack up` runs it) beside the cluster at
   * `connectUrl`, with `{ plugins }` the suite's own plugin folders; reset() removes every connector
   * with its offsets (connect.ts). With one broker the cluster is a one-node `TestKafkaCluster`
   * (reset through the admin path, no front door). Default false.
   */
  readonly connect?: boolean | TestConnectOptions;
}

/** A per-test prefix for the names a test creates, so tests never share a topic, group or transaction. */
export interface Namespace {
  readonly prefix: string;
  topic(name: string): string;
  group(name: string): string;
  transactionalId(name: string): string;
}

/** The clock the test cluster runs on. */
export interface TestClock {
  readonly kind: 'system' | 'manual';
  nowMs(): number;
  /** Moves a manual clock forward; refused (CLOCK_NOT_MANUAL) on the system clock. */
  advance(ms: number): Promise<void>;
}

/** Time taken by the last operation of each kind, in milliseconds. */
export interface OperationTimings {
  startToReadyMs: number;
  lastResetMs?: number;
  /** Three brokers: where the last reset() spent its time (faults healed and groups deleted, topics deleted, gone from every image, baseline ready). */
  lastResetPhasesMs?: { groups: number; deletes: number; gone: number; baseline: number };
  lastSnapshotMs?: number;
  lastRestoreMs?: number;
}

/** Serializes state operations: one reset, snapshot or restore at a time. */
export class OperationQueue {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(operation, operation);
    this.#tail = next.catch(() => {});
    return next;
  }
}

export class TestKafka {
  readonly dataDir: string;
  readonly host: string;
  /** The host name clients are told (Metadata); `host` unless `advertisedHost` was given. */
  readonly advertisedHost: string;
  readonly clock: TestClock;
  readonly timings: OperationTimings = { startToReadyMs: 0 };
  readonly #ownsDataDir: boolean;
  readonly #brokerClock: Clock;
  readonly #manual: ManualClock | undefined;
  readonly #config: Record<string, string>;
  readonly #log: ServerLog | undefined;
  readonly #queue = new OperationQueue();
  readonly #door = new FrontDoor();
  /** The name containers are told (`containerHost`), its front door, the broker's listener behind it. */
  readonly containerHost: string | undefined;
  readonly #containerDoor: FrontDoor | undefined;
  #containerListenerPort = 0;
  readonly #requestedPort: number;
  #broker: Broker | null = null;
  #registry: TestSchemaRegistry | null = null;
  #namespaces = 0;
  readonly #namespaceSalt = Math.random().toString(36).slice(2, 6);

  /** Use `startKafka`. */
  constructor(options: StartKafkaOptions) {
    this.#ownsDataDir = options.dataDir === undefined;
    this.dataDir = resolve(options.dataDir ?? mkdtempSync(join(tmpdir(), 'kstack-test-')));
    this.host = options.host ?? '127.0.0.1';
    // With a containers listener on the wildcard address, the host's clients are told 127.0.0.1.
    const wildcard = this.host === '0.0.0.0' || this.host === '::';
    this.advertisedHost =
      options.advertisedHost ?? (options.containerHost !== undefined && wildcard ? '127.0.0.1' : this.host);
    this.containerHost = options.containerHost;
    this.#containerDoor = options.containerHost === undefined ? undefined : new FrontDoor();
    this.#requestedPort = options.port ?? 0;
    this.#config = { ...TEST_BROKER_DEFAULTS, ...options.config };
    this.#log = options.log;
    const manual = options.clock === 'manual' ? new ManualClock() : undefined;
    this.#manual = manual;
    this.#brokerClock = manual ?? { nowMs: () => Date.now(), setTimer: systemTimer };
    this.clock = {
      kind: manual === undefined ? 'system' : 'manual',
      nowMs: () => this.#brokerClock.nowMs(),
      advance: async (ms: number) => {
        if (manual === undefined) {
          throw new KafkaTestingError(
            'CLOCK_NOT_MANUAL',
            "clock.advance needs a cluster started with { clock: 'manual' }",
          );
        }
        await manual.advance(ms);
      },
    };
  }

  /** The port clients connect to (the same across resets and restores). */
  get port(): number {
    return this.#door.port;
  }

  /** Kafka's `bootstrap.servers` form: `host:port[,host:port]`. */
  get bootstrapServers(): string {
    return this.bootstrapAddresses.join(',');
  }

  /** One `host:port` per broker (kafkajs `brokers`, @platformatic/kafka `bootstrapBrokers`). */
  get bootstrapAddresses(): string[] {
    return [`${this.host}:${this.#door.port}`];
  }

  /** With `containerHost`: `containerHost:port` of the containers' listener; OPTION_INVALID without. */
  get containerBootstrapServers(): string {
    return this.containerBootstrapAddresses.join(',');
  }

  /** With `containerHost`: `['containerHost:port']`, for clients in containers. */
  get containerBootstrapAddresses(): string[] {
    if (this.#containerDoor === undefined) {
      throw new KafkaTestingError('OPTION_INVALID', 'no containers listener: start with { containerHost }');
    }
    return [`${this.containerHost}:${this.#containerDoor.port}`];
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

  /** The running broker, for tests that look inside (its metadata, partitions, data dir). */
  get broker(): Broker {
    if (this.#broker === null) throw new KafkaTestingError('STOPPED', 'the test cluster is stopped');
    return this.#broker;
  }

  /** Starts the broker, creates the internal and baseline topics, and records the baseline. */
  async start(options: StartKafkaOptions): Promise<void> {
    const startedMs = performance.now();
    try {
      const baseline = baselineTopics(options);
      await this.#door.listen(this.host, this.#requestedPort);
      if (this.#containerDoor !== undefined) {
        await this.#containerDoor.listen(this.host, 0);
        // The broker's listener behind it keeps this port across resets (the door forwards to it).
        this.#containerListenerPort = await freePort(this.host);
      }
      await this.#startBroker();
      await this.#ensureInternalTopics();
      await this.#createBaselineTopics(baseline);
      this.#door.pause();
      await this.#stopBroker();
      saveSnapshot(this.dataDir, BASELINE_SNAPSHOT, { internal: true });
      await this.#startBroker();
      if (options.schemaRegistry === true) {
        this.#registry = new TestSchemaRegistry(this.bootstrapServers, this.host, 0);
        await this.#registry.start();
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.timings.startToReadyMs = performance.now() - startedMs;
  }

  /** A new prefix for this test's names; never handed out twice by this cluster, resets included. */
  namespace(): Namespace {
    this.#namespaces += 1;
    return makeNamespace(this.#namespaceSalt, this.#namespaces);
  }

  /** Back to the state right after start: topics (with new ids), groups, offsets, producers, transactions. */
  reset(): Promise<void> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      await this.#replaceState(() => restoreSnapshot(this.dataDir, BASELINE_SNAPSHOT, { internal: true }));
      this.timings.lastResetMs = performance.now() - startedMs;
    });
  }

  /** Saves the whole state under `name` (replacing a snapshot of that name). */
  snapshot(name: string): Promise<SnapshotInfo> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      let info: SnapshotInfo | undefined;
      await this.#replaceState(() => {
        info = saveSnapshot(this.dataDir, name);
      });
      this.timings.lastSnapshotMs = performance.now() - startedMs;
      return info!;
    });
  }

  /** Replaces the whole state with snapshot `name`; its topics get new topic ids. */
  restore(name: string): Promise<SnapshotInfo> {
    return this.#queue.run(async () => {
      const startedMs = performance.now();
      let info: SnapshotInfo | undefined;
      await this.#replaceState(() => {
        info = restoreSnapshot(this.dataDir, name);
      });
      this.timings.lastRestoreMs = performance.now() - startedMs;
      return info!;
    });
  }

  snapshots(): SnapshotInfo[] {
    return listSnapshots(this.dataDir);
  }

  /** Stops the broker; removes the data when it was a temporary folder. Safe to call twice. */
  async stop(): Promise<void> {
    await this.#queue.run(async () => {
      await this.#registry?.stop();
      await this.#door.close();
      await this.#containerDoor?.close();
      await this.#stopBroker();
      this.#manual?.clear();
      if (this.#ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    });
  }

  /**
   * Stops the broker (and the registry, a client of it), changes its files, starts both again on the
   * same ports (even when the change fails): the registry then reads the `_schemas` left.
   */
  async #replaceState(change: () => void): Promise<void> {
    if (this.#broker === null) throw new KafkaTestingError('STOPPED', 'the test cluster is stopped');
    await this.#registry?.stop();
    this.#door.pause();
    this.#containerDoor?.pause();
    await this.#stopBroker();
    try {
      change();
    } finally {
      await this.#startBroker();
      await this.#registry?.start();
    }
  }

  async #startBroker(): Promise<void> {
    const broker = new Broker({
      dataDir: join(this.dataDir, `broker-${NODE_ID}`),
      host: this.host,
      port: 0,
      advertisedHost: this.advertisedHost,
      advertisedPort: this.#door.port,
      nodeId: NODE_ID,
      config: { ...this.#config, ...this.#containerListeners() },
      clock: this.#brokerClock,
      ...(this.#log === undefined ? {} : { log: this.#log }),
    });
    await broker.start();
    this.#broker = broker;
    this.#door.resume({ host: this.host, port: broker.port });
    this.#containerDoor?.resume({ host: this.host, port: this.#containerListenerPort });
  }

  /**
   * With `containerHost`, two listeners as Kafka has them for host and containers: HOST (the first,
   * advertised as `advertisedHost` and the front door's port) and CONTAINER (advertised as
   * `containerHost` and its front door's port); Metadata answers each client with its listener's.
   */
  #containerListeners(): Record<string, string> {
    const door = this.#containerDoor;
    if (door === undefined) return {};
    return {
      listeners: `${HOST_LISTENER}://${this.host}:0,${CONTAINER_LISTENER}://${this.host}:${this.#containerListenerPort}`,
      'advertised.listeners': `${HOST_LISTENER}://${this.advertisedHost}:${this.#door.port},${CONTAINER_LISTENER}://${this.containerHost}:${door.port}`,
      'listener.security.protocol.map': `${HOST_LISTENER}:PLAINTEXT,${CONTAINER_LISTENER}:PLAINTEXT`,
      'inter.broker.listener.name': HOST_LISTENER,
    };
  }

  async #stopBroker(): Promise<void> {
    const broker = this.#broker;
    this.#broker = null;
    await broker?.stop();
  }

  /** Creates `__consumer_offsets` and `__transaction_state` now, as the first group or transaction would. */
  async #ensureInternalTopics(): Promise<void> {
    const broker = this.broker;
    const groups = broker.slots.get(GROUP_COORDINATOR);
    const transactions = broker.slots.get(TRANSACTIONS);
    if (groups === undefined || transactions === undefined) {
      throw new Error('the coordinator extension did not start (see the broker log)');
    }
    for (const [topic, ensure] of [
      [OFFSETS_TOPIC_NAME, () => groups.ensureOffsetsTopic()],
      [TRANSACTION_STATE_TOPIC, () => transactions.ensureTransactionTopic()],
    ] as const) {
      const errorCode = await ensure();
      const view = broker.metadata().topic(topic);
      if (errorCode !== 0 || view === undefined || view.partitions.some((p) => p.leaderId !== NODE_ID)) {
        throw new Error(`internal topic ${topic} is not led by broker ${NODE_ID} (error code ${errorCode})`);
      }
    }
  }

  async #createBaselineTopics(topics: readonly BaselineTopic[]): Promise<void> {
    await createBaselineTopics(this.broker, topics, 1);
  }
}

/**
 * Creates the baseline topics `broker` does not have yet, through its own topic admin (on a
 * cluster node, proposed to the quorum): replication factor and min.insync.replicas fitted to the
 * cluster's `brokerCount` as `kstack up` does (src/topology/replication.ts), RF `brokerCount` when
 * a topic names none. Answers the names it created; a topic refused is OPTION_INVALID, named.
 */
export async function createBaselineTopics(
  broker: Broker,
  topics: readonly BaselineTopic[],
  brokerCount: number,
): Promise<string[]> {
  const created: string[] = [];
  for (const topic of topics) {
    if (broker.metadata().topic(topic.name) !== undefined) continue;
    const configs = new Map(Object.entries(topic.configs ?? {}));
    const minInsync = configs.get('min.insync.replicas');
    const fitted = fitReplication(
      {
        replicationFactor: topic.replicationFactor ?? brokerCount,
        minInsyncReplicas: minInsync === undefined ? undefined : Number(minInsync),
      },
      brokerCount,
    );
    if (fitted.minInsyncReplicas !== undefined) {
      configs.set('min.insync.replicas', String(fitted.minInsyncReplicas));
    }
    const answer = await broker.topics.createTopic({
      name: topic.name,
      numPartitions: topic.partitions ?? -1,
      replicationFactor: fitted.replicationFactor,
      configs,
    });
    if (answer.errorCode !== 0) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `baseline topic '${topic.name}' was not created: ${answer.errorMessage ?? `error code ${answer.errorCode}`}`,
      );
    }
    created.push(topic.name);
  }
  return created;
}

/** The `n`-th namespace of a cluster whose prefixes start with `salt`. */
export function makeNamespace(salt: string, n: number): Namespace {
  const prefix = `t${salt}${String(n).padStart(4, '0')}-`;
  return {
    prefix,
    topic: (name) => `${prefix}${name}`,
    group: (name) => `${prefix}${name}`,
    transactionalId: (name) => `${prefix}${name}`,
  };
}

function systemTimer(delayMs: number, callback: () => void): () => void {
  const timer = setTimeout(callback, delayMs);
  return () => clearTimeout(timer);
}

export function baselineTopics(options: StartKafkaOptions): BaselineTopic[] {
  const fromFile =
    options.topicsFile === undefined
      ? []
      : readTopicsFile(options.topicsFile).topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitions,
          replicationFactor: topic.replicationFactor,
          configs: Object.fromEntries(topic.configs),
        }));
  return [...fromFile, ...(options.topics ?? [])];
}

/**
 * Starts a test cluster; resolves once it is ready (internal and baseline topics led). One broker
 * by default (`TestKafka`); `brokers: 3` starts three in-process nodes (`TestKafkaCluster`).
 */
export async function startKafka(options: StartKafkaOptions & { brokers: 3 }): Promise<TestKafkaCluster>;
export async function startKafka(
  options: StartKafkaOptions & { brokers?: 1; connect: true | TestConnectOptions },
): Promise<TestKafkaCluster>;
export async function startKafka(
  options?: StartKafkaOptions & { brokers?: 1; connect?: false },
): Promise<TestKafka>;
export async function startKafka(options: StartKafkaOptions): Promise<TestKafka | TestKafkaCluster>;
export async function startKafka(options: StartKafkaOptions = {}): Promise<TestKafka | TestKafkaCluster> {
  const brokers = options.brokers ?? 1;
  if (brokers !== 1 && brokers !== 3) {
    throw new KafkaTestingError('OPTION_INVALID', `brokers: ${String(brokers)} is not served; use 1 or 3`);
  }
  if (options.clock !== undefined && options.clock !== 'system' && options.clock !== 'manual') {
    throw new KafkaTestingError(
      'OPTION_INVALID',
      `clock: '${String(options.clock)}' is not a clock; use 'system' or 'manual'`,
    );
  }
  const advertised = options.advertisedHost;
  for (const [name, value] of [
    ['advertisedHost', advertised],
    ['containerHost', options.containerHost],
  ] as const) {
    if (value !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `${name}: '${String(value)}' must be a host name or IPv4 address (letters, digits, '.', '-')`,
      );
    }
  }
  if (options.containerHost !== undefined) {
    const taken = ['listeners', 'advertised.listeners', 'listener.security.protocol.map'].find(
      (name) => options.config?.[name] !== undefined,
    );
    if (taken !== undefined) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `containerHost sets the broker's listeners itself: leave ${taken} out of config`,
      );
    }
  }
  const connect = options.connect !== undefined && options.connect !== false;
  if (brokers === 3 || connect) {
    if (brokers === 1 && advertised !== undefined) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        'advertisedHost is not served with connect on one broker (a one-node cluster): use brokers: 3',
      );
    }
    if (brokers === 1 && options.containerHost !== undefined) {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        'containerHost is not served with connect: one broker with Connect is a one-node cluster, which advertises its fault proxy at host',
      );
    }
    // One broker with Connect is a one-node cluster: its reset keeps the worker's topics (kafka-cluster.ts).
    return startKafkaCluster({ ...options, brokers });
  }
  const kafka = new TestKafka(options);
  await kafka.start(options);
  return kafka;
}

/** A port free on `host` now (bound, then released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
