/**
 * One broker: wires the metadata image and log, the local partition replicas, the
 * configuration, the handler registry and the TCP server. Implements the
 * `BrokerServices` handlers see. Clock and data directory are passed in.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { publishKafkaEvent } from '../common/events.ts';
import { KafkaErrors, type MessageValue, uuidFromRandomBytes } from '../protocol/index.ts';
import { ACLS, AclStore } from '../security/acls.ts';
import { Authorizer, type AuthorizerSettings, authorizerSettings } from '../security/authorizer.ts';
import { type InterBrokerLink, interBrokerLink } from '../security/inter-broker.ts';
import { listenerServices } from '../security/listener-view.ts';
import { type Listener, resolveListeners } from '../security/listeners.ts';
import { CLIENT_QUOTAS, ClientQuotaStore, QUOTA_ENFORCER, quotaEnforcerFor } from '../security/quotas.ts';
import { ConnectionQuotas, connectionQuotaOptions } from '../security/quotas-connections.ts';
import { AUTHORIZER } from '../security/request-authorization.ts';
import { type ListenerSecurity, listenerSecurity } from '../security/sasl.ts';
import { SCRAM_CREDENTIALS, ScramCredentialStore } from '../security/scram-store.ts';
import { listenerTls } from '../security/tls.ts';
import { KafkaServer, type RequestDispatcher, type ServerLog } from '../server/server.ts';
import {
  logConfigFromProperties,
  MemoryFs,
  openFilePartitionLog,
  openMemoryPartitionLog,
  partitionDirName,
} from '../storage/index.ts';
import {
  BROKER_CONFIG_BY_NAME,
  BrokerConfig,
  brokerRequirementProblem,
  ConfigSource,
  TOPIC_CONFIG_BY_NAME,
  TOPIC_CONFIGS,
  type TopicSettings,
  topicSettings,
  validateConfigValue,
} from './config.ts';
import { BrokerDispatcher, type ListenerBinding } from './dispatcher.ts';
import { FetchSessionCache } from './fetch-sessions.ts';
import type { RequestContext } from './handler.ts';
import { type HandlerRegistry, loadHandlers } from './handlers/index.ts';
import { ConfigResourceType, MetadataImage, type MetadataRecord } from './metadata-image.ts';
import { MetadataLog } from './metadata-log.ts';
import type { BrokerObserver } from './observer.ts';
import { LocalReplica } from './partition.ts';
import { readPartitionTopicId, writePartitionTopicId } from './partition-metadata.ts';
import { ReplicaManager, type ReplicationSetup } from './replica-manager.ts';
import type {
  AdminResult,
  BrokerExtension,
  BrokerServices,
  Clock,
  CreateTopicSpec,
  PartitionRegistry,
  PartitionView,
  ServiceSlots,
  SlotKey,
  TopicAdmin,
  TopicView,
} from './services.ts';
import { PRODUCER_STATE } from './services.ts';
import { collisionName, INTERNAL_TOPICS, topicNameProblem } from './topic-names.ts';

/** The coordinators' module, loaded at start (a dynamic import keeps the broker module free of it). */
const COORDINATOR_EXTENSION = new URL('../coordinator/extension.ts', import.meta.url);

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer(delayMs, callback) {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

/** How often the flush policy (`flush.messages`, `flush.ms`) is applied. */
const FLUSH_CHECK_INTERVAL_MS = 1_000;

/**
 * Where a broker of a cluster writes metadata: the metadata quorum (src/controller's
 * MetadataQuorum). `propose` resolves once the records are committed, after they were handed to
 * the broker's `replayMetadata`; it rejects with an error carrying Kafka's `errorCode`
 * (NOT_CONTROLLER, 41) when this node is not the active controller.
 */
export interface MetadataWriter {
  readonly clusterId: string;
  propose(records: readonly MetadataRecord[]): Promise<bigint>;
  /** Sends a topic creation to the active controller when this node is not it (CreateTopics forwarding). */
  forwardCreateTopic?(spec: CreateTopicSpec): Promise<AdminResult>;
  /**
   * Sends an admin write (its API key, version and decoded body) to the active controller and
   * resolves with its answer once this node has replayed the commit; null when this node is the
   * active controller. Rejects when no controller could be asked.
   */
  forward?(apiKey: number, apiVersion: number, body: MessageValue): Promise<MessageValue | null>;
}

/** The listener name of the contexts in which the active controller runs a forwarded request. */
export const FORWARDED_LISTENER_NAME = 'kstack-forwarded';

/** How long a forwarded admin write (a topic creation, src/controller/forwarded-admin.ts) waits for this node to replay its commit. */
export const FORWARDED_REPLAY_WAIT_MS = 10_000;
const FORWARDED_REPLAY_POLL_MS = 10;

export interface BrokerOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Host given to clients in Metadata (default: `host`). */
  readonly advertisedHost?: string;
  /** Port given to clients in Metadata (default: the listening port), as Kafka's `advertised.listeners`. */
  readonly advertisedPort?: number;
  readonly nodeId?: number;
  /** Broker configs by Kafka name. */
  readonly config?: Record<string, string>;
  readonly clock?: Clock;
  readonly log?: ServerLog;
  /** Told of appends, reads and requests (the metrics of src/metrics); none by default. */
  readonly observer?: BrokerObserver;
  /**
   * A cluster node's metadata quorum. Without it (one node) the broker keeps its own metadata
   * log file; with it the image changes only through `replayMetadata` and writes are proposed.
   */
  readonly metadataWriter?: MetadataWriter;
}

class Slots implements ServiceSlots {
  readonly #values = new Map<string, unknown>();
  get<T>(key: SlotKey<T>): T | undefined {
    return this.#values.get(key.name) as T | undefined;
  }
  set<T>(key: SlotKey<T>, value: T): void {
    this.#values.set(key.name, value);
  }
}

function result(errorCode: number, errorMessage: string | null = null): AdminResult {
  return { errorCode, errorMessage };
}

export class Broker implements BrokerServices, TopicAdmin, PartitionRegistry {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly config: BrokerConfig;
  readonly dataDir: string;
  readonly slots = new Slots();
  readonly fetchSessions: FetchSessionCache;
  readonly log: ServerLog;
  readonly #options: BrokerOptions;
  #image: MetadataImage;
  #metadataLog: MetadataLog | null = null;
  /** Local replicas by `topic\0partition`. */
  readonly #replicas = new Map<string, LocalReplica>();
  /**
   * A cluster node's stand-ins for partitions of the image it is not a replica of: no log is
   * opened on disk for them (Kafka's brokers create logs only for their own replicas), and `get`
   * answers an empty in-memory copy that never leads (`hosted` false), so clients get
   * NOT_LEADER_OR_FOLLOWER, as from Kafka. Made on first use; dropped when the node becomes a
   * replica (its real log is opened then) or the topic goes.
   */
  readonly #notHosted = new Map<string, LocalReplica>();
  /** The stand-ins' files (a few KiB each, never written). */
  readonly #notHostedFs = new MemoryFs();
  readonly #settings = new Map<string, TopicSettings>();
  #registry: HandlerRegistry | null = null;
  #server: KafkaServer | null = null;
  /** One server per listener after the first (`listeners`); #server serves the first. */
  readonly #otherServers: KafkaServer[] = [];
  /** The listeners (`listeners`, `advertised.listeners`, `listener.security.protocol.map`) and their SASL settings. */
  readonly #listeners: readonly ListenerSecurity[];
  /** The inter-broker listener and login (a cluster node's; a single broker's only when set). */
  readonly #interBroker: InterBrokerLink | null;
  /** Each listener's TLS options (SSL, SASL_SSL), read at construction so a bad file fails early. */
  readonly #tls = new Map<string, TlsOptions>();
  /** `max.connections.per.ip`, its overrides and the `ip` quotas, one for every listener. */
  readonly #connectionQuotas: ConnectionQuotas;
  /** SCRAM credentials, replayed from the metadata log at start (API keys 50 and 51 change them). */
  readonly #scram = new ScramCredentialStore((records) => this.#commitSecurity(records));
  /** ACLs (API keys 29-31) and, with `authorizer.class.name` set, the authorizer over them (src/security). */
  readonly #acls = new AclStore((records) => this.#commitSecurity(records));
  /** Client quotas (API keys 48, 49; enforced by Produce and Fetch through QUOTA_ENFORCER). */
  readonly #quotas = new ClientQuotaStore((records) => this.#commitSecurity(records));
  readonly #authorizerSettings: AuthorizerSettings | undefined;
  readonly #extensions: BrokerExtension[] = [];
  #port = 0;
  /** Cancellers of the periodic log maintenance timers. */
  readonly #timers = new Map<string, () => void>();
  /** Replicated partitions (replication factor > 1); null on a single node. */
  #replicaManager: ReplicaManager | null = null;
  /** Set by `stop`: records replayed later are ignored. */
  #stopped = false;
  /** Where clients reach this broker (its first listener as advertised), known once it listens. */
  #endpoint: { host: string; port: number } | null = null;
  /** Forwarded requests' contexts and the node each was sent to (`forwardedContext`). */
  readonly #forwarded = new WeakMap<RequestContext, number>();
  /** The last proposal `#commit` made in a cluster, taken by `takeMetadataWrite`. */
  #lastProposal: Promise<AdminResult | null> | null = null;
  /**
   * A cluster node holds every request on its broker listeners until it has caught up with the
   * metadata log, as Kafka's broker enables request processing only once it is unfenced: until its
   * own registration (the broker epoch `startReplication` was given) is replayed here, unfenced.
   * Before that its image is stale (a restarted node's replay of its own log: itself leader at an
   * old epoch, or the topic unknown) and clients would act on it. Null once open, and on one node.
   */
  #catchingUp: { readonly held: Promise<void>; readonly open: () => void } | null = null;
  /** The broker epoch of this node's registration, once `startReplication` is called; -1 before. */
  #registeredEpoch = -1;

  constructor(options: BrokerOptions) {
    this.#options = options;
    this.nodeId = options.nodeId ?? 1;
    this.clock = options.clock ?? systemClock;
    this.dataDir = options.dataDir;
    this.log = options.log ?? { info() {}, warn() {} };
    // Like Kafka's server.properties: node.id and log.dirs are static configs.
    this.config = new BrokerConfig({
      'node.id': String(this.nodeId),
      'log.dirs': options.dataDir,
      ...options.config,
    });
    this.fetchSessions = new FetchSessionCache(
      this.config.getNumber('max.incremental.fetch.session.cache.slots'),
      this.clock,
    );
    this.#image = MetadataImage.empty(options.metadataWriter?.clusterId ?? '', this.nodeId);
    if (options.metadataWriter !== undefined) {
      let open = (): void => {};
      const held = new Promise<void>((resolve) => {
        open = resolve;
      });
      this.#catchingUp = { held, open };
    }
    const settings = options.config ?? {};
    const lookup = (name: string): string | undefined => this.config.lookup(name)?.value ?? undefined;
    this.#listeners = resolveListeners(
      {
        listeners: settings.listeners,
        advertisedListeners: settings['advertised.listeners'],
        securityProtocolMap: settings['listener.security.protocol.map'],
      },
      options.host,
      options.port,
    ).map((listener) =>
      listenerSecurity(listener, lookup, (user, mechanism) => this.#scram.get(user, mechanism)),
    );
    for (const { listener } of this.#listeners) {
      const tls = listenerTls(listener, lookup);
      if (tls !== undefined) this.#tls.set(listener.name, tls);
    }
    this.#connectionQuotas = new ConnectionQuotas(connectionQuotaOptions(this.config, () => this.#quotas));
    // Only what was set: Kafka's defaults (security.inter.broker.protocol PLAINTEXT) are the
    // link's own fallbacks, and "only one of the two" is about the settings given.
    const given = (name: string): string | undefined => {
      const found = this.config.lookup(name);
      return found === undefined || found.source === ConfigSource.default
        ? undefined
        : (found.value ?? undefined);
    };
    this.#interBroker = interBrokerLink(
      this.#listeners.map((security) => security.listener),
      given,
      options.metadataWriter !== undefined,
    );
    this.#authorizerSettings = authorizerSettings(lookup);
  }

  get port(): number {
    return this.#port;
  }

  get topics(): TopicAdmin {
    return this;
  }

  get partitions(): PartitionRegistry {
    return this;
  }

  metadata(): MetadataImage {
    return this.#image;
  }

  apiVersions(): readonly { apiKey: number; minVersion: number; maxVersion: number }[] {
    return this.#registry?.versions() ?? [];
  }

  async start(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    // In a cluster the records come from the quorum (replayMetadata, possibly before this start).
    let records: MetadataRecord[] = [];
    if (this.#options.metadataWriter === undefined) {
      const clusterId = this.#loadClusterId();
      const opened = MetadataLog.open(this.dataDir);
      records = opened.records;
      this.#metadataLog = opened.log;
      this.#image = MetadataImage.empty(clusterId, this.nodeId).apply(records, BigInt(records.length - 1));
    }
    this.#scram.replay(records);
    this.slots.set(SCRAM_CREDENTIALS, this.#scram);
    this.#acls.replay(records);
    this.slots.set(ACLS, this.#acls);
    this.#quotas.replay(records);
    this.slots.set(CLIENT_QUOTAS, this.#quotas);
    this.slots.set(
      QUOTA_ENFORCER,
      quotaEnforcerFor(this.#quotas, (name) => this.config.lookup(name)?.value),
    );
    if (this.#authorizerSettings !== undefined) {
      this.slots.set(AUTHORIZER, new Authorizer(this.#authorizerSettings, this.#acls));
    }
    for (const [name, value] of this.#image.brokerConfigs.get('') ?? []) {
      this.config.setDynamic('clusterDefault', name, value);
    }
    for (const [name, value] of this.#image.brokerConfigs.get(String(this.nodeId)) ?? []) {
      this.config.setDynamic('perBroker', name, value);
    }
    for (const topic of this.#image.topics()) this.#openTopic(topic);
    this.#registry = await loadHandlers();
    // Filled once each listener is bound (its port may be 0 until then); no connection comes earlier.
    const bindings = new Map<string, ListenerBinding>();
    const brokerDispatcher = new BrokerDispatcher(this.#registry, this, this.log, bindings);
    const observed = this.#options.observer?.observeRequests(brokerDispatcher) ?? brokerDispatcher;
    // Held (in arrival order: the server answers each connection's requests in order) until caught up.
    const dispatcher: RequestDispatcher = {
      dispatch: (frame, connection) => {
        const catchingUp = this.#catchingUp;
        if (catchingUp === null) return observed.dispatch(frame, connection);
        return catchingUp.held.then(() => observed.dispatch(frame, connection));
      },
    };
    const limits = {
      socketRequestMaxBytes: this.config.getNumber('socket.request.max.bytes'),
      maxConnections: this.config.getNumber('max.connections'),
      connectionsMaxIdleMs: this.config.getNumber('connections.max.idle.ms'),
      queuedMaxRequests: this.config.getNumber('queued.max.requests'),
    };
    const endpoints: { host: string; port: number }[] = [];
    for (const security of this.#listeners) {
      const { listener } = security;
      const server = new KafkaServer({
        host: listener.host,
        port: listener.port,
        dispatcher,
        log: this.log,
        limits,
        listenerName: listener.name,
        tls: this.#tls.get(listener.name),
        admission: this.#connectionQuotas,
      });
      let port: number;
      try {
        port = await server.listen();
      } catch (error) {
        await this.#closeServers();
        throw error;
      }
      if (this.#server === null) this.#server = server;
      else this.#otherServers.push(server);
      endpoints.push(this.#advertisedEndpoint(listener, port));
      if (this.#port === 0) this.#port = port;
    }
    const first = endpoints[0]!;
    this.#endpoint = first;
    this.#listeners.forEach((security, index) => {
      const endpoint = endpoints[index]!;
      // Every listener has its view, the first too: peers may list their listeners in another order.
      bindings.set(security.listener.name, {
        security,
        services: listenerServices(this, this.nodeId, endpoint),
      });
    });
    // One node registers itself; a cluster node is registered through the quorum.
    if (this.#options.metadataWriter === undefined) {
      this.#image = this.#image.apply(
        [
          {
            type: 'RegisterBrokerRecord',
            brokerId: this.nodeId,
            host: first.host,
            port: first.port,
            rack: null,
          },
        ],
        this.#image.metadataOffset,
      );
    }
    await this.#startExtensions();
    this.#scheduleMaintenance();
  }

  /**
   * Periodic log maintenance, as Kafka's log manager does it: retention every
   * `log.retention.check.interval.ms`, compaction of compacted topics every
   * `log.cleaner.backoff.ms` (15 s), the flush policy every second.
   */
  #scheduleMaintenance(): void {
    const every = (name: string, intervalMs: number, task: () => void | Promise<void>): void => {
      const run = (): void => {
        Promise.resolve()
          .then(task)
          .catch((error: unknown) => this.log.warn(`log maintenance (${name}): ${String(error)}`))
          .finally(() => {
            if (this.#server !== null) this.#timers.set(name, this.clock.setTimer(intervalMs, run));
          });
      };
      this.#timers.set(name, this.clock.setTimer(intervalMs, run));
    };
    every('retention', this.config.getNumber('log.retention.check.interval.ms'), () => {
      for (const replica of this.#replicas.values()) {
        if (replica.log.config.cleanupPolicy.includes('delete')) replica.log.enforceRetention();
      }
    });
    every('compaction', this.config.getNumber('log.cleaner.backoff.ms'), async () => {
      for (const replica of [...this.#replicas.values()]) {
        if (replica.log.config.cleanupPolicy.includes('compact')) await replica.log.compact();
      }
    });
    every('flush', FLUSH_CHECK_INTERVAL_MS, () => {
      for (const replica of this.#replicas.values()) replica.log.maybeFlush();
    });
  }

  /**
   * Starts the group and transaction coordinators (src/coordinator/extension.ts). A failure
   * there stops the broker and rejects its start, naming the cause, as a Kafka broker whose
   * coordinators cannot load does not start: served without them, idempotent producers would
   * lose their deduplication and every group API would answer COORDINATOR_NOT_AVAILABLE forever.
   */
  async #startExtensions(): Promise<void> {
    try {
      const module = (await import(COORDINATOR_EXTENSION.href)) as { extension?: BrokerExtension };
      if (module.extension === undefined)
        throw new Error(`${COORDINATOR_EXTENSION.pathname} exports no extension`);
      await module.extension.start(this);
      this.#extensions.push(module.extension);
    } catch (error) {
      await this.stop();
      throw new Error(
        `broker ${this.nodeId}: the group and transaction coordinators did not start: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** What Metadata gives the clients of a listener: `advertised.listeners`, else where it is bound. */
  #advertisedEndpoint(listener: Listener, boundPort: number): { host: string; port: number } {
    const { advertisedHost, advertisedPort } = this.#options;
    if (listener === this.#listeners[0]?.listener && (advertisedHost ?? advertisedPort) !== undefined) {
      return { host: advertisedHost ?? listener.host, port: advertisedPort ?? boundPort };
    }
    return listener.advertised ?? { host: listener.host, port: boundPort };
  }

  async #closeServers(): Promise<void> {
    await Promise.all([this.#server?.close(), ...this.#otherServers.map((server) => server.close())]);
    this.#server = null;
    this.#otherServers.length = 0;
  }

  get replicaManager(): ReplicaManager | null {
    return this.#replicaManager;
  }

  /**
   * Joins a cluster's data plane (after `start`, once registered with the controller):
   * replicated partitions become leaders or followers as the image says.
   */
  startReplication(setup: ReplicationSetup): ReplicaManager {
    const interBroker = setup.interBroker ?? this.#interBroker ?? undefined;
    const manager = new ReplicaManager(
      {
        nodeId: this.nodeId,
        clock: this.clock,
        log: this.log,
        metadata: () => this.#image,
        get: (topic, partition) => this.get(topic, partition),
        replicaLagTimeMaxMs: () => this.config.getNumber('replica.lag.time.max.ms'),
        minInsyncReplicas: (topic) => this.settingsOf(topic).minInsyncReplicas,
        producerState: () => this.slots.get(PRODUCER_STATE),
        brokerConfig: (name) => this.config.lookup(name)?.value,
      },
      interBroker === undefined ? setup : { ...setup, interBroker },
    );
    this.#replicaManager = manager;
    manager.applyImage(this.#image);
    this.#registeredEpoch = setup.brokerEpoch;
    this.#serveOnceCaughtUp();
    return manager;
  }

  /** Whether this broker answers requests (a cluster node: once caught up with the metadata log). */
  get serving(): boolean {
    return this.#catchingUp === null;
  }

  /** Opens the broker listeners once this node's registration is replayed here, unfenced. */
  #serveOnceCaughtUp(): void {
    const catchingUp = this.#catchingUp;
    if (catchingUp === null || this.#registeredEpoch < 0) return;
    if (this.#image.brokerEpoch(this.nodeId) < this.#registeredEpoch || this.#image.isFenced(this.nodeId))
      return;
    this.#catchingUp = null;
    catchingUp.open();
    if (this.#server !== null) {
      // Partitions whose directory held another topic id were left closed while history replayed.
      for (const topic of this.#image.topics()) this.#openTopic(topic);
      this.#replicaManager?.applyImage(this.#image);
    }
    this.log.info(
      `broker ${this.nodeId} caught up with the metadata log (offset ${this.#image.metadataOffset}, broker epoch ${this.#registeredEpoch}): serving clients`,
    );
  }

  /** Where clients reach this broker (its first listener as advertised); null before `start`. */
  get endpoint(): { host: string; port: number } | null {
    return this.#endpoint;
  }

  /** The quorum's leader changed: Metadata and DescribeCluster name it as the controller. */
  setController(controllerId: number): void {
    this.#image = this.#image.withController(controllerId);
  }

  /**
   * Metadata records committed by the controller (not this node's log): applied to the image,
   * logs opened, logs of removed topics deleted. With a metadata writer, records committed before
   * `start` are applied to the image and their logs opened by `start`.
   */
  replayMetadata(records: readonly MetadataRecord[], offset?: bigint): void {
    if (this.#stopped) return;
    if (this.#server === null && this.#options.metadataWriter === undefined) return;
    const before = this.#image;
    this.#image = this.#image.apply(records, offset ?? this.#image.metadataOffset + BigInt(records.length));
    // ACLs and SCRAM credentials from the quorum (replay is idempotent: the SCRAM store applies its own
    // changes at once, so the proposing node sees them twice).
    this.#acls.replay(records);
    this.#scram.replay(records);
    this.#quotas.replay(records);
    this.#replayBrokerConfigs(records);
    this.#serveOnceCaughtUp();
    if (this.#server === null) return;
    for (const topic of before.topics()) {
      if (this.#image.topicById(topic.topicId) === undefined) this.#deleteLocal(topic);
    }
    if (records.some((record) => record.type === 'ConfigRecord')) {
      this.#settings.clear();
      this.#reconfigure();
    }
    for (const topic of this.#image.topics()) this.#openTopic(topic);
    this.#replicaManager?.applyImage(this.#image);
  }

  /** Dynamic broker configs committed by the controller: the cluster defaults and this node's own. */
  #replayBrokerConfigs(records: readonly MetadataRecord[]): void {
    for (const record of records) {
      if (record.type !== 'ConfigRecord' || record.resourceType !== ConfigResourceType.broker) continue;
      if (record.resourceName === '') this.config.setDynamic('clusterDefault', record.name, record.value);
      else if (record.resourceName === String(this.nodeId))
        this.config.setDynamic('perBroker', record.name, record.value);
    }
  }

  /**
   * A cluster node that is not the active controller: the controller's answer to this request
   * (forwarded unchanged, answered once replayed here). Undefined when the request is to be
   * handled here: one node alone, the active controller, a request the controller runs for
   * another broker, or no controller reachable (the proposal then answers NOT_CONTROLLER).
   */
  async forwardToController<Response>(
    context: RequestContext,
    request: unknown,
  ): Promise<Response | undefined> {
    const forward = this.#options.metadataWriter?.forward;
    if (forward === undefined || this.#forwarded.has(context)) return undefined;
    try {
      const answer = await forward(context.apiKey, context.apiVersion, request as MessageValue);
      return answer === null ? undefined : (answer as Response);
    } catch (error) {
      this.log.warn(
        `API ${context.apiKey} not forwarded to the active controller (${(error as Error).message}); answered here`,
      );
      return undefined;
    }
  }

  /** The context in which the active controller runs a request forwarded by broker `originNodeId`. */
  forwardedContext(
    apiKey: number,
    apiVersion: number,
    clientId: string | null,
    originNodeId: number,
  ): RequestContext {
    const context: RequestContext = {
      apiKey,
      apiVersion,
      correlationId: 0,
      clientId,
      connection: { id: -1, remoteAddress: '', remotePort: 0, listenerName: FORWARDED_LISTENER_NAME },
      broker: this,
    };
    this.#forwarded.set(context, originNodeId);
    return context;
  }

  /** The broker a request was sent to: this one, or the one that forwarded it here. */
  receivingNodeId(context: RequestContext): number {
    return this.#forwarded.get(context) ?? this.nodeId;
  }

  /**
   * Waits for the metadata write the last synchronous store change made (ACLs, SCRAM credentials)
   * to commit; its refusal, or null (also on one node, where writes are synchronous).
   */
  takeMetadataWrite(): Promise<AdminResult | null> {
    const proposal = this.#lastProposal ?? Promise.resolve(null);
    this.#lastProposal = null;
    return proposal;
  }

  /**
   * Clean shutdown: stop serving (answering what is in flight), stop extensions, close logs.
   * `crash`: the partition logs are abandoned instead (no index, checkpoint or fsync: the next
   * start recovers them, as after a killed process).
   */
  async stop(options: { crash?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    // Held requests are let through to be answered or dropped with their connections.
    this.#catchingUp?.open();
    this.#catchingUp = null;
    this.#replicaManager?.stop();
    this.#replicaManager = null;
    await this.#closeServers();
    for (const extension of this.#extensions.reverse()) await extension.stop(this);
    this.#extensions.length = 0;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    for (const replica of this.#replicas.values()) {
      try {
        if (options.crash === true) replica.log.abandon();
        else replica.log.close();
      } catch (error) {
        this.log.warn(`closing ${replica.topic}-${replica.partitionIndex}: ${String(error)}`);
      }
    }
    this.#replicas.clear();
    this.#metadataLog?.close();
    this.#metadataLog = null;
  }

  #loadClusterId(): string {
    const path = join(this.dataDir, 'meta.properties');
    if (existsSync(path)) {
      const match = /^cluster\.id=(.+)$/m.exec(readFileSync(path, 'utf8'));
      if (match?.[1] !== undefined) return match[1].trim();
    }
    const clusterId = uuidFromRandomBytes(randomBytes(16));
    writeFileSync(path, `version=1\ncluster.id=${clusterId}\nnode.id=${this.nodeId}\n`);
    return clusterId;
  }

  /**
   * Writes records synchronously on one node. With a metadata writer (a cluster) the records are
   * proposed and take effect when replayed; the caller waits for the commit with
   * `takeMetadataWrite` (the ACL and SCRAM stores call this synchronously).
   */
  /**
   * Commits ACL or SCRAM records; true when the caller may apply them now (one broker: they are in
   * the local log), false in a cluster, where they take effect when the quorum has committed them
   * and replayMetadata applies them (a refused proposal then changes nothing anywhere).
   */
  #commitSecurity(records: readonly MetadataRecord[]): boolean {
    this.#commit(records);
    return this.#options.metadataWriter === undefined;
  }

  #commit(records: readonly MetadataRecord[]): void {
    if (this.#options.metadataWriter !== undefined) {
      this.#lastProposal = this.#propose(records);
      return;
    }
    if (this.#metadataLog === null) throw new Error('the broker is not started');
    const offset = this.#metadataLog.append(records);
    this.#image = this.#image.apply(records, offset);
  }

  /** Whether this broker is one of a partition's replicas (one node: of every partition). */
  #hosts(partition: PartitionView): boolean {
    return this.#options.metadataWriter === undefined || partition.replicas.includes(this.nodeId);
  }

  /** Opens the logs of the topic's partitions this broker is a replica of (once each). */
  #openTopic(topic: TopicView): void {
    this.#settings.set(topic.name, topicSettings(this.config, topic.configs));
    for (const partition of topic.partitions) {
      const key = `${topic.name}\0${partition.partitionIndex}`;
      if (this.#replicas.has(key) || !this.#hosts(partition)) continue;
      if (!this.#claimPartitionDir(topic, partition.partitionIndex)) continue;
      this.#notHosted.delete(key);
      const log = openFilePartitionLog({
        dir: this.dataDir,
        topic: topic.name,
        partition: partition.partitionIndex,
        clock: this.clock,
        config: this.#logConfigOf(topic.configs),
        logger: this.log,
      });
      this.#replicas.set(
        key,
        new LocalReplica(
          topic.name,
          topic.topicId,
          partition.partitionIndex,
          partition.leaderEpoch,
          log,
          this.#options.observer,
          partition.replicas.length > 1,
        ),
      );
    }
  }

  /** The storage settings in force for a topic with these overrides (Kafka names → LogConfig). */
  #logConfigOf(overrides: ReadonlyMap<string, string>) {
    const properties: Record<string, string | undefined> = {};
    for (const definition of TOPIC_CONFIGS) {
      properties[definition.name] = this.config.topicValue(definition.name, overrides).value ?? undefined;
    }
    // Kafka accepts a policy named twice (delete,delete); the storage takes each once.
    const policy = properties['cleanup.policy'];
    if (policy !== undefined)
      properties['cleanup.policy'] = [...new Set(policy.split(',').map((p) => p.trim()))].join(',');
    return logConfigFromProperties(properties);
  }

  /** Applies a topic's (or every topic's) changed configs to its open logs. */
  #reconfigure(topicName?: string): void {
    for (const replica of this.#replicas.values()) {
      if (topicName !== undefined && replica.topic !== topicName) continue;
      const topic = this.#image.topic(replica.topic);
      if (topic === undefined) continue;
      try {
        replica.log.updateConfig(this.#logConfigOf(topic.configs));
      } catch (error) {
        this.log.warn(
          `${replica.topic}-${replica.partitionIndex} keeps its previous log settings: ${String(error)}`,
        );
      }
    }
  }

  get(topic: string, partitionIndex: number): LocalReplica | undefined {
    const key = `${topic}\0${partitionIndex}`;
    const local = this.#replicas.get(key);
    if (local !== undefined || this.#options.metadataWriter === undefined) return local;
    const view = this.#image.topic(topic);
    const partition = view?.partitions[partitionIndex];
    if (view === undefined || partition === undefined || this.#hosts(partition)) return undefined;
    const known = this.#notHosted.get(key);
    if (known !== undefined && known.topicId === view.topicId) return known;
    const standIn = new LocalReplica(
      topic,
      view.topicId,
      partitionIndex,
      partition.leaderEpoch,
      openMemoryPartitionLog({
        dir: this.dataDir,
        topic,
        partition: partitionIndex,
        clock: this.clock,
        fs: this.#notHostedFs,
      }),
      undefined,
      true,
    );
    standIn.hosted = false;
    this.#notHosted.set(key, standIn);
    return standIn;
  }

  settingsOf(topic: string): TopicSettings {
    let settings = this.#settings.get(topic);
    if (settings === undefined) {
      settings = topicSettings(this.config, this.#image.topic(topic)?.configs ?? new Map());
      this.#settings.set(topic, settings);
    }
    return settings;
  }

  /** Validates topic config overrides; returns the first problem or null. */
  validateTopicConfigs(configs: ReadonlyMap<string, string | null>): AdminResult | null {
    const problem = this.#validateEach(configs);
    if (problem !== null) return problem;
    // The storage settings must accept the whole set too (a last line of defence).
    try {
      this.#logConfigOf(new Map([...configs].filter((e): e is [string, string] => e[1] !== null)));
    } catch (error) {
      return result(KafkaErrors.INVALID_CONFIG.code, (error as Error).message);
    }
    return null;
  }

  #validateEach(configs: ReadonlyMap<string, string | null>): AdminResult | null {
    for (const [name, value] of configs) {
      const definition = TOPIC_CONFIG_BY_NAME.get(name);
      if (definition === undefined) {
        return result(KafkaErrors.INVALID_CONFIG.code, `Unknown topic config name: ${name}`);
      }
      const problem = validateConfigValue(definition, value);
      if (problem !== null) return result(KafkaErrors.INVALID_CONFIG.code, problem);
    }
    return null;
  }

  async createTopic(spec: CreateTopicSpec): Promise<AdminResult & { topic?: TopicView }> {
    const problem = topicNameProblem(spec.name);
    if (problem !== null) return result(KafkaErrors.INVALID_TOPIC_EXCEPTION.code, problem);
    if (this.#image.topic(spec.name) !== undefined) {
      return result(KafkaErrors.TOPIC_ALREADY_EXISTS.code, `Topic '${spec.name}' already exists.`);
    }
    if (INTERNAL_TOPICS.has(spec.name) && spec.internal !== true) {
      return result(
        KafkaErrors.INVALID_REQUEST.code,
        `Creation of internal topic ${spec.name} is prohibited.`,
      );
    }
    const collision = collisionName(spec.name);
    for (const topic of this.#image.topics()) {
      if (collisionName(topic.name) === collision) {
        return result(
          KafkaErrors.INVALID_TOPIC_EXCEPTION.code,
          `Topic '${spec.name}' collides with existing topic: ${topic.name}`,
        );
      }
    }
    const assignments = spec.assignments ?? [];
    let partitions = spec.numPartitions;
    let replicationFactor = spec.replicationFactor;
    if (assignments.length > 0) {
      if (partitions !== -1 || replicationFactor !== -1) {
        return result(
          KafkaErrors.INVALID_REQUEST.code,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      partitions = assignments.length;
      replicationFactor = assignments[0]!.length;
      for (const replicas of assignments) {
        if (replicas.length === 0 || new Set(replicas).size !== replicas.length) {
          return result(KafkaErrors.INVALID_REPLICA_ASSIGNMENT.code, 'Invalid replica assignment.');
        }
        for (const brokerId of replicas) {
          if (!this.#isRegistered(brokerId)) {
            return result(
              KafkaErrors.INVALID_REPLICA_ASSIGNMENT.code,
              `Replica assignment names broker ${brokerId}, which is not registered.`,
            );
          }
        }
      }
    }
    if (partitions === -1) partitions = this.config.getNumber('num.partitions');
    if (replicationFactor === -1) replicationFactor = this.config.getNumber('default.replication.factor');
    if (partitions <= 0) {
      return result(
        KafkaErrors.INVALID_PARTITIONS.code,
        'Number of partitions was set to an invalid non-positive value.',
      );
    }
    if (replicationFactor <= 0) {
      return result(
        KafkaErrors.INVALID_REPLICATION_FACTOR.code,
        'Replication factor must be larger than 0, or -1 to use the default value.',
      );
    }
    const { unfenced, fenced } = this.#placeable();
    const brokers = unfenced.length + fenced.length;
    if (replicationFactor > brokers) {
      return result(
        KafkaErrors.INVALID_REPLICATION_FACTOR.code,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${brokers} broker(s) are registered.`,
      );
    }
    if (unfenced.length === 0) {
      return result(
        KafkaErrors.INVALID_REPLICATION_FACTOR.code,
        `Unable to replicate the partition ${replicationFactor} time(s): All brokers are currently fenced.`,
      );
    }
    const configs = spec.configs ?? new Map<string, string | null>();
    const invalid = this.validateTopicConfigs(configs);
    if (invalid !== null) return invalid;
    if (spec.validateOnly === true) return result(0);
    const topicId = uuidFromRandomBytes(randomBytes(16));
    const records: MetadataRecord[] = [{ type: 'TopicRecord', name: spec.name, topicId }];
    for (let partitionId = 0; partitionId < partitions; partitionId++) {
      records.push(this.#partitionRecord(topicId, partitionId, replicationFactor, assignments[partitionId]));
    }
    for (const [name, value] of configs) {
      if (value === null) continue;
      records.push({
        type: 'ConfigRecord',
        resourceType: ConfigResourceType.topic,
        resourceName: spec.name,
        name,
        value,
      });
    }
    if (this.#options.metadataWriter !== undefined) {
      const refused = await this.#propose(records);
      if (refused?.errorCode === KafkaErrors.NOT_CONTROLLER.code && spec.forwarded !== true)
        return this.#forwardCreateTopic(spec, refused);
      if (refused !== null) return refused;
    } else {
      this.#commit(records);
    }
    const topic = this.#image.topic(spec.name);
    if (topic === undefined) {
      return result(KafkaErrors.UNKNOWN_SERVER_ERROR.code, `Topic '${spec.name}' was removed again.`);
    }
    this.#openTopic(topic);
    this.log.info(`created topic ${spec.name} (${partitions} partitions, id ${topicId})`);
    publishKafkaEvent('topic-created', { nodeId: this.nodeId, topic: spec.name, topicId, partitions });
    return { ...result(0), topic };
  }

  /**
   * Not the active controller: the creation goes to it (validated again there, on the committed
   * image), and the answer waits until this node replayed the topic, so callers find it here.
   */
  async #forwardCreateTopic(
    spec: CreateTopicSpec,
    refused: AdminResult,
  ): Promise<AdminResult & { topic?: TopicView }> {
    const forward = this.#options.metadataWriter?.forwardCreateTopic;
    if (forward === undefined) return refused;
    const answer = await forward(spec);
    if (answer.errorCode !== 0 || spec.validateOnly === true) return answer;
    const deadline = performance.now() + FORWARDED_REPLAY_WAIT_MS;
    while (this.#image.topic(spec.name) === undefined && performance.now() < deadline && !this.#stopped) {
      await new Promise((resolve) => setTimeout(resolve, FORWARDED_REPLAY_POLL_MS));
    }
    const topic = this.#image.topic(spec.name);
    if (topic === undefined) {
      return result(
        KafkaErrors.REQUEST_TIMED_OUT.code,
        `Topic '${spec.name}' was created by the controller but not replayed here within ${FORWARDED_REPLAY_WAIT_MS} ms.`,
      );
    }
    this.#openTopic(topic);
    return { ...answer, topic };
  }

  /** The brokers new partitions may be placed on: one node, itself; a cluster, the unfenced ones. */
  /**
   * The brokers a new replica may go to, as KRaft's placer sees them: every registered broker
   * counts toward the replication factor, fenced ones too (a broker that is down for a while
   * does not block creating a topic, e.g. `__consumer_offsets` at RF 3 with one of three down);
   * unfenced ones are used first and only they lead or start in the ISR. One node: itself.
   */
  #placeable(): { unfenced: number[]; fenced: number[] } {
    const ids = this.#image
      .brokers()
      .map((broker) => broker.nodeId)
      .sort((a, b) => a - b);
    if (this.#options.metadataWriter === undefined) return { unfenced: ids, fenced: [] };
    return {
      unfenced: ids.filter((id) => !this.#image.isFenced(id)),
      fenced: ids.filter((id) => this.#image.isFenced(id)),
    };
  }

  /** One node: only itself. A cluster node: any broker registered in the image. */
  #isRegistered(brokerId: number): boolean {
    if (this.#options.metadataWriter === undefined) return brokerId === this.nodeId;
    return this.#image.brokers().some((broker) => broker.nodeId === brokerId);
  }

  /**
   * Proposes through the metadata writer and waits for the commit (the image then holds the
   * records); answers the refusal (NOT_CONTROLLER naming the active controller) or null.
   */
  async #propose(records: readonly MetadataRecord[]): Promise<AdminResult | null> {
    try {
      await this.#options.metadataWriter!.propose(records);
      return null;
    } catch (error) {
      const code = (error as { errorCode?: unknown }).errorCode;
      return result(
        typeof code === 'number' ? code : KafkaErrors.UNKNOWN_SERVER_ERROR.code,
        (error as Error).message,
      );
    }
  }

  /**
   * A new partition's record. One node: itself. A cluster: the given assignment, else
   * `replicationFactor` registered brokers, unfenced ones first, starting at the partition index
   * (leaders spread as Kafka's round-robin placement spreads them); the ISR is the unfenced
   * replicas and the first of them leads (Kafka's createTopic does the same).
   */
  #partitionRecord(
    topicId: string,
    partitionId: number,
    replicationFactor = 1,
    assignment?: readonly number[],
  ): MetadataRecord {
    if (this.#options.metadataWriter !== undefined) {
      const { unfenced, fenced } = this.#placeable();
      const rotated = unfenced.map((_, i) => unfenced[(partitionId + i) % unfenced.length]!);
      const replicas = assignment ?? [...rotated, ...fenced].slice(0, replicationFactor);
      const live = replicas.filter((id) => !this.#image.isFenced(id));
      const isr = live.length > 0 ? live : replicas;
      return {
        type: 'PartitionRecord',
        topicId,
        partitionId,
        replicas,
        isr,
        leader: isr[0]!,
        leaderEpoch: 0,
        partitionEpoch: 0,
      };
    }
    return {
      type: 'PartitionRecord',
      topicId,
      partitionId,
      replicas: [this.nodeId],
      isr: [this.nodeId],
      leader: this.nodeId,
      leaderEpoch: 0,
      partitionEpoch: 0,
    };
  }

  async deleteTopic(name: string): Promise<AdminResult> {
    const topic = this.#image.topic(name);
    if (topic === undefined) {
      return result(
        KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
        'This server does not host this topic-partition.',
      );
    }
    if (topic.internal) {
      return result(KafkaErrors.TOPIC_AUTHORIZATION_FAILED.code, `Cannot delete internal topic ${name}`);
    }
    if (this.#options.metadataWriter !== undefined) {
      // The logs are deleted when the removal is replayed, here as on every other node.
      const refused = await this.#propose([{ type: 'RemoveTopicRecord', topicId: topic.topicId }]);
      if (refused !== null) return refused;
      this.log.info(`deleted topic ${name}`);
      return result(0);
    }
    this.#commit([{ type: 'RemoveTopicRecord', topicId: topic.topicId }]);
    this.#deleteLocal(topic);
    this.log.info(`deleted topic ${name}`);
    return result(0);
  }

  #partitionDir(topic: string, partitionIndex: number): string {
    return join(this.dataDir, partitionDirName(topic, partitionIndex));
  }

  /**
   * Whether this topic's partition may open its directory, which then records the topic id (Kafka's
   * partition.metadata). A directory of another topic id holds an earlier or a later topic of the
   * same name: while this node replays metadata history (a cluster node catching up) the image may
   * be the older one, so the directory is left as it is; once caught up, the image is the present,
   * and the directory is a stray of a deleted topic: removed, and the partition starts empty.
   */
  #claimPartitionDir(topic: TopicView, partitionIndex: number): boolean {
    const dir = this.#partitionDir(topic.name, partitionIndex);
    let recorded: string | undefined;
    try {
      recorded = readPartitionTopicId(dir);
    } catch (error) {
      this.log.warn(`${topic.name}-${partitionIndex} not opened: ${(error as Error).message}`);
      return false;
    }
    if (recorded === topic.topicId) return true;
    if (recorded !== undefined) {
      if (!this.serving) return false;
      this.log.warn(
        `${topic.name}-${partitionIndex}: the directory belongs to topic id ${recorded}, a deleted topic of this name; removed for topic id ${topic.topicId}`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
    writePartitionTopicId(dir, topic.topicId);
    return true;
  }

  /**
   * Drops a removed topic's local replicas and their logs: only its own, as recorded in each
   * directory, never those of a later topic of the same name (met again while replaying history).
   */
  #deleteLocal(topic: TopicView): void {
    const { name } = topic;
    this.#settings.delete(name);
    for (const partition of topic.partitions) {
      const key = `${name}\0${partition.partitionIndex}`;
      const replica = this.#replicas.get(key);
      if (replica !== undefined && replica.topicId !== topic.topicId) continue;
      this.#replicas.delete(key);
      this.#notHosted.delete(key);
      try {
        if (replica !== undefined) replica.log.delete();
        else {
          const dir = this.#partitionDir(name, partition.partitionIndex);
          if (readPartitionTopicId(dir) === topic.topicId) rmSync(dir, { recursive: true, force: true });
        }
      } catch (error) {
        this.log.warn(`deleting ${name}-${partition.partitionIndex}: ${String(error)}`);
      }
    }
    this.fetchSessions.forgetTopic(name);
  }

  /**
   * Grows a topic to `count` partitions; `assignments` (one replica list per new partition, already
   * validated by the CreatePartitions handler) places them, else the usual placement does.
   */
  async createPartitions(
    name: string,
    count: number,
    validateOnly: boolean,
    assignments?: readonly (readonly number[])[],
  ): Promise<AdminResult> {
    const topic = this.#image.topic(name);
    if (topic === undefined) {
      return result(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code, `The topic '${name}' does not exist.`);
    }
    const current = topic.partitions.length;
    if (count < current) {
      return result(
        KafkaErrors.INVALID_PARTITIONS.code,
        `The topic ${name} currently has ${current} partition(s); ${count} would not be an increase.`,
      );
    }
    if (count === current) {
      return result(KafkaErrors.INVALID_PARTITIONS.code, `Topic already has ${current} partition(s).`);
    }
    if (validateOnly) return result(0);
    const records: MetadataRecord[] = [];
    const replicationFactor = topic.partitions[0]?.replicas.length ?? 1;
    for (let id = current; id < count; id++) {
      records.push(this.#partitionRecord(topic.topicId, id, replicationFactor, assignments?.[id - current]));
    }
    if (this.#options.metadataWriter !== undefined) {
      const refused = await this.#propose(records);
      if (refused !== null) return refused;
    } else {
      this.#commit(records);
    }
    this.#openTopic(this.#image.topic(name)!);
    return result(0);
  }

  /** Sets (value) or removes (null) topic config overrides, validated first. */
  async alterTopicConfigs(
    name: string,
    changes: ReadonlyMap<string, string | null>,
    validateOnly: boolean,
  ): Promise<AdminResult> {
    if (this.#image.topic(name) === undefined) {
      return result(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code, `Topic ${name} does not exist.`);
    }
    const merged = new Map<string, string | null>(this.#image.topic(name)?.configs ?? []);
    for (const [configName, value] of changes) {
      if (value === null) merged.delete(configName);
      else merged.set(configName, value);
    }
    const invalid =
      this.validateTopicConfigs(new Map([...changes].filter(([, v]) => v !== null))) ??
      this.validateTopicConfigs(merged);
    if (invalid !== null) return invalid;
    for (const name2 of changes.keys()) {
      if (!TOPIC_CONFIG_BY_NAME.has(name2)) {
        return result(KafkaErrors.INVALID_CONFIG.code, `Unknown topic config name: ${name2}`);
      }
    }
    if (validateOnly || changes.size === 0) return result(0);
    const records = [...changes].map(([configName, value]) => ({
      type: 'ConfigRecord' as const,
      resourceType: ConfigResourceType.topic,
      resourceName: name,
      name: configName,
      value,
    }));
    // A cluster applies the records when they are replayed (before the proposal resolves).
    if (this.#options.metadataWriter !== undefined) return (await this.#propose(records)) ?? result(0);
    this.#commit(records);
    this.#settings.delete(name);
    this.#reconfigure(name);
    return result(0);
  }

  /**
   * Sets (value) or removes (null) a group's config overrides (ConfigRecords of resource type 32),
   * checked by the caller (src/coordinator/group-configs.ts); answered once committed.
   */
  async alterGroupConfigs(
    groupId: string,
    changes: ReadonlyMap<string, string | null>,
    validateOnly: boolean,
  ): Promise<AdminResult> {
    if (validateOnly || changes.size === 0) return result(0);
    const records = [...changes].map(([name, value]) => ({
      type: 'ConfigRecord' as const,
      resourceType: ConfigResourceType.group,
      resourceName: groupId,
      name,
      value,
    }));
    if (this.#options.metadataWriter !== undefined) return (await this.#propose(records)) ?? result(0);
    this.#commit(records);
    return result(0);
  }

  /**
   * Dynamic broker configs, as Kafka checks and applies them: resource name '' is the
   * cluster default, this node's id the per-broker layer (which wins over it). `changes`
   * sets (value) or deletes (null) configs of that layer; deleting falls back to the next
   * layer. Any name may be set, as in Kafka (an undefined one is kept and shown hidden);
   * a read-only one is refused. Problems answer INVALID_REQUEST with Kafka's message.
   * `receivingNodeId` is the broker the client sent the request to (another one when the active
   * controller runs a forwarded request): a per-broker resource must name it, as Kafka checks.
   */
  async alterBrokerConfigs(
    resourceName: string,
    changes: ReadonlyMap<string, string | null>,
    validateOnly: boolean,
    receivingNodeId = this.nodeId,
  ): Promise<AdminResult> {
    const invalid = (message: string) => result(KafkaErrors.INVALID_REQUEST.code, message);
    if (resourceName !== '' && !/^[-+]?\d+$/.test(resourceName)) {
      return invalid(`Node id must be an integer, but it is: ${resourceName}`);
    }
    if (resourceName !== '' && Number(resourceName) !== receivingNodeId) {
      return invalid(`Unexpected broker id, expected ${receivingNodeId}, but received ${resourceName}`);
    }
    const set = [...changes].filter((change): change is [string, string] => change[1] !== null);
    const readOnly = set.filter(([name]) => BROKER_CONFIG_BY_NAME.get(name)?.readOnly === true);
    if (readOnly.length > 0) {
      return invalid(`Cannot update these configs dynamically: Set(${readOnly.map(([n]) => n).join(', ')})`);
    }
    for (const [name, value] of set) {
      const definition = BROKER_CONFIG_BY_NAME.get(name);
      if (definition === undefined) continue;
      const problem = validateConfigValue(definition, value);
      if (problem !== null) return invalid(problem);
      if (definition.startOnly === true) {
        return invalid(
          `kstack applies ${name} only at start: set it with \`kstack up --override ${name}=${value.trim()}\``,
        );
      }
    }
    const scope = resourceName === '' ? 'clusterDefault' : 'perBroker';
    const problem = this.#effectiveConfigProblem(scope, changes);
    if (problem !== null) return invalid(problem);
    if (validateOnly || changes.size === 0) return result(0);
    const records = [...changes].map(([name, value]) => ({
      type: 'ConfigRecord' as const,
      resourceType: ConfigResourceType.broker,
      // '01' names that node too: the record keeps the canonical id the start replays.
      resourceName: resourceName === '' ? '' : String(receivingNodeId),
      name,
      value,
    }));
    // A cluster applies the records when they are replayed (#replayBrokerConfigs), on every node.
    if (this.#options.metadataWriter !== undefined) return (await this.#propose(records)) ?? result(0);
    this.#commit(records);
    for (const [name, value] of changes) this.config.setDynamic(scope, name, value);
    this.#settings.clear();
    this.#reconfigure();
    return result(0);
  }

  /**
   * Checks the configuration these changes would give as a whole: Kafka's requirements on
   * the values in force (a per-broker log.roll.ms shadows a cluster default of 0), and
   * whether kstack's storage accepts the topic defaults they give (Kafka accepts a few
   * values kstack's logs cannot take, e.g. an empty log.cleanup.policy). The changes are
   * tried on the live config and undone.
   */
  #effectiveConfigProblem(
    scope: 'clusterDefault' | 'perBroker',
    changes: ReadonlyMap<string, string | null>,
  ): string | null {
    const layer = this.config.dynamicConfigs(scope);
    const previous = new Map([...changes.keys()].map((name) => [name, layer.get(name) ?? null]));
    try {
      for (const [name, value] of changes) this.config.setDynamic(scope, name, value);
      const requirement = brokerRequirementProblem(this.config, [...changes.keys()]);
      if (requirement !== null) return requirement;
      this.#logConfigOf(new Map());
      return null;
    } catch (error) {
      return `kstack cannot apply this broker config to its topics: ${(error as Error).message}`;
    } finally {
      for (const [name, value] of previous) this.config.setDynamic(scope, name, value);
    }
  }

  topicConfigSource(
    name: string,
    overrides: ReadonlyMap<string, string>,
  ): { value: string | null; source: number } {
    return this.config.topicValue(name, overrides);
  }

  /** Metadata/Produce auto-creation (auto.create.topics.enable), as Kafka does it. */
  async autoCreate(name: string): Promise<TopicView | undefined> {
    if (!this.config.getBoolean('auto.create.topics.enable')) return undefined;
    if (topicNameProblem(name) !== null || INTERNAL_TOPICS.has(name)) return undefined;
    const created = await this.createTopic({ name, numPartitions: -1, replicationFactor: -1 });
    return created.topic ?? this.#image.topic(name);
  }
}

export { ConfigSource };
