/**
 * One combined node of a cluster (`process.roles=broker,controller`) in one process: the
 * controller listener with its Raft driver, the metadata quorum and the active controller's rules
 * (ReplicationControl: BrokerRegistration, BrokerHeartbeat, AlterPartition), and the broker whose
 * image is the replay of the quorum's committed records. The broker's metadata writes are proposed
 * to the quorum and answered once committed; a node that is not the active controller forwards them
 * to it (CreateTopics, and src/controller/forwarded-admin.ts for the other admin writes) and
 * answers once it has replayed the commit.
 * Once listening, the broker registers with the active controller, every listener of
 * `listeners` with its advertised address (Kafka's RegisterBrokerRecord endpoints: Metadata then
 * answers each client with the brokers' endpoints on its own listener), then replicates its
 * partitions over the first listener with the broker epoch it was given, heartbeating and sending
 * AlterPartition over the network.
 */
import { Broker, type BrokerOptions } from '../broker/broker.ts';
import {
  BrokerLifecycle,
  ControllerClient,
  forwardCreateTopic,
  REGISTRATION_RETRY_MS,
  type RegistrationListener,
} from '../controller/broker-lifecycle.ts';
import {
  NO_PREVIOUS_BROKER_EPOCH,
  takeCleanShutdown,
  writeCleanShutdown,
} from '../controller/clean-shutdown.ts';
import { createTopicsForwardedHandler } from '../controller/create-topics-forwarded.ts';
import { AdminForwarder, controllerClientId, forwardedAdminHandlers } from '../controller/forwarded-admin.ts';
import { MetadataQuorum } from '../controller/metadata-quorum.ts';
import { ControllerNode } from '../controller/node.ts';
import type { PeerAddress } from '../controller/peer.ts';
import { leaderBalanceSettings, ReplicationControl } from '../controller/replication-control.ts';
import { COORDINATOR_LEADERSHIP } from '../coordinator/extension.ts';
import type { LeaderAndEpoch, RaftConfig } from '../raft/types.ts';
import {
  type Listener,
  ListenerConfigError,
  resolveListeners,
  SECURITY_PROTOCOL_IDS,
} from '../security/listeners.ts';
import type { ServerLog } from '../server/server.ts';

export const CONTROLLER_LISTENER_NAME = 'CONTROLLER';
/** Kafka's `broker.heartbeat.interval.ms` default. */
export const BROKER_HEARTBEAT_INTERVAL_MS_DEFAULT = 2_000;
/** How long a controlled shutdown waits for the controller to move this broker's leaderships. */
export const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 10_000;
const CONTROLLED_SHUTDOWN_RETRY_MS = 100;
/**
 * A controlled shutdown gives up when no controller answers for this long: the other nodes have
 * stopped (as when the whole cluster stops), so there is nothing to hand over to.
 */
export const CONTROLLED_SHUTDOWN_UNREACHABLE_MS = 2_000;
/** CreateTopics' timeoutMs when a broker forwards a creation to the active controller. */
const FORWARD_TIMEOUT_MS = 30_000;

export interface ClusterNodeOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  /** `controller.quorum.voters`: every node's controller listener. */
  readonly voters: readonly PeerAddress[];
  readonly host: string;
  /** This node's broker port. */
  readonly port: number;
  readonly dataDir: string;
  readonly config?: Record<string, string>;
  readonly raftConfig?: Partial<RaftConfig>;
  /** `broker.session.timeout.ms` (Kafka: 9000), enforced by this node when it is the active controller. */
  readonly sessionTimeoutMs?: number;
  /** `broker.heartbeat.interval.ms` (Kafka: 2000). */
  readonly heartbeatIntervalMs?: number;
  readonly log: ServerLog;
  /** The Raft replica stopped on a broken safety rule or unusable file: the process should exit. */
  readonly onFatal: (error: Error) => void;
  /** Extra broker options (observer, advertised address). */
  readonly broker?: Partial<Omit<BrokerOptions, 'metadataWriter' | 'dataDir' | 'host' | 'port' | 'nodeId'>>;
}

export class ClusterNode {
  readonly nodeId: number;
  readonly quorum: MetadataQuorum;
  readonly controller: ControllerNode;
  readonly control: ReplicationControl;
  readonly broker: Broker;
  readonly #options: ClusterNodeOptions;
  readonly #client: ControllerClient;
  readonly #forwarder: AdminForwarder;
  readonly #lifecycle: BrokerLifecycle;
  /** `listeners` as resolved from the config (the broker binds the same list). */
  readonly #listeners: readonly Listener[];
  #leader: LeaderAndEpoch = { epoch: -1, leaderId: -1 };
  #brokerEpoch = -1;
  /** The epoch the last clean shutdown left (KIP-966), read and deleted at start. */
  #previousBrokerEpoch = NO_PREVIOUS_BROKER_EPOCH;
  #stopped = false;
  /** Conditions on this node's image waiting for the next replayed batch (`#untilImage`). */
  readonly #imageWaiters = new Set<() => void>();
  /**
   * Resolves with the broker epoch once registered and unfenced in this node's committed image
   * (rejects if stopped first): only then can a topic be placed on this broker, so a cluster whose
   * nodes all resolved accepts a creation at its full replication factor.
   */
  registered: Promise<number> = new Promise(() => {});

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    const self = options.voters.find((voter) => voter.nodeId === options.nodeId);
    if (self === undefined) {
      throw new Error(`controller.quorum.voters does not name node.id ${options.nodeId}`);
    }
    this.#listeners = clusterListeners(options);
    this.quorum = new MetadataQuorum({
      clusterId: options.clusterId,
      snapshotRecordBytes: wholeSetting(options.config, 'metadata.log.max.record.bytes.between.snapshots', 1),
      // 0 turns time-based snapshots off, as in Kafka.
      snapshotIntervalMs: wholeSetting(options.config, 'metadata.log.max.snapshot.interval.ms', 0),
      onRecords: (records, offset) => {
        this.broker.replayMetadata(records, offset);
        // The coordinators follow the leadership of __consumer_offsets and __transaction_state.
        this.broker.slots.get(COORDINATOR_LEADERSHIP)?.update();
        for (const check of [...this.#imageWaiters]) check();
      },
    });
    this.broker = new Broker({
      ...options.broker,
      nodeId: options.nodeId,
      dataDir: options.dataDir,
      host: options.host,
      port: options.port,
      config: options.config,
      log: options.log,
      metadataWriter: {
        clusterId: options.clusterId,
        propose: (records) => this.quorum.propose(records),
        forwardCreateTopic: (spec) => forwardCreateTopic(this.#client, spec, FORWARD_TIMEOUT_MS),
        forward: (apiKey, apiVersion, body) => this.#forwarder.forward(apiKey, apiVersion, body),
      },
    });
    this.control = new ReplicationControl({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      quorum: this.quorum,
      sessionTimeoutMs: options.sessionTimeoutMs,
      leaderBalance: leaderBalanceSettings(this.broker.config),
      minInsyncReplicasDefault: this.broker.config.getNumber('min.insync.replicas'),
      uncleanLeaderElectionDefault: this.broker.config.getBoolean('unclean.leader.election.enable'),
      // Internal in Kafka (not described), read from the node's static configs as given.
      uncleanElectionIntervalMs: wholeSetting(options.config, 'unclean.leader.election.interval.ms', 1),
      log: options.log,
    });
    this.controller = new ControllerNode({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      voters: options.voters,
      listenerName: CONTROLLER_LISTENER_NAME,
      host: options.host,
      port: self.port,
      dataDir: options.dataDir,
      raftConfig: options.raftConfig,
      raftListener: this.quorum.listener,
      onLeaderChange: (leader) => this.#onLeaderChange(leader),
      extraHandlers: [
        ...this.control.handlers(),
        createTopicsForwardedHandler(
          (spec) => this.broker.createTopic(spec),
          () => this.controller.driver.activeController().leaderId === this.nodeId,
        ),
        ...forwardedAdminHandlers(this.broker),
      ],
      log: options.log,
      onFatal: options.onFatal,
    });
    this.quorum.attach(this.controller.driver);
    // No controller is named until the quorum has a leader.
    this.broker.setController(-1);
    this.#client = new ControllerClient(() => {
      const leaderId = this.controller.driver.activeController().leaderId;
      return options.voters.find((voter) => voter.nodeId === leaderId) ?? null;
    }, controllerClientId(options.nodeId));
    this.#forwarder = new AdminForwarder({
      client: this.#client,
      isActive: () => this.controller.driver.activeController().leaderId === this.nodeId,
      appliedEndOffset: () => this.quorum.appliedEndOffset(),
      localHighWatermark: () => this.controller.driver.replica.highWatermark(),
    });
    this.#lifecycle = new BrokerLifecycle({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      client: this.#client,
      endpoint: () => this.broker.endpoint,
      listeners: () => this.#registrationListeners(),
      metadataOffset: () => this.quorum.appliedEndOffset() - 1,
      previousBrokerEpoch: () => this.#previousBrokerEpoch,
      log: options.log,
    });
  }

  /**
   * Every listener with the address its clients are given: the first as the broker advertises it
   * (its bound port when `listeners` asks for 0), the others from `advertised.listeners` or where
   * they bind.
   */
  #registrationListeners(): readonly RegistrationListener[] {
    const first = this.broker.endpoint;
    return this.#listeners.map((listener, index) => {
      const address = index === 0 && first !== null ? first : (listener.advertised ?? listener);
      return {
        name: listener.name,
        host: address.host,
        port: address.port,
        securityProtocol: SECURITY_PROTOCOL_IDS[listener.securityProtocol],
      };
    });
  }

  /** The quorum's leader as this node knows it. */
  leader(): LeaderAndEpoch {
    return this.#leader;
  }

  get brokerEpoch(): number {
    return this.#brokerEpoch;
  }

  /**
   * Binds the broker listeners, then the controller listener (the replica's timers start there);
   * registration and replication then start in the background (`registered`).
   */
  async start(): Promise<void> {
    this.#previousBrokerEpoch = takeCleanShutdown(this.#options.dataDir);
    await this.broker.start();
    try {
      await this.controller.start();
    } catch (error) {
      await this.broker.stop();
      throw error;
    }
    // A restart restores the quorum state with its leader and tells no change: take it as one.
    const restored = this.controller.driver.leader();
    if (restored.epoch !== this.#leader.epoch || restored.leaderId !== this.#leader.leaderId) {
      this.#onLeaderChange(restored);
    }
    this.control.start();
    this.registered = this.#join();
    this.registered.catch((error: unknown) => {
      if (!this.#stopped)
        this.#options.log.warn(`node ${this.nodeId} did not join: ${(error as Error).message}`);
    });
  }

  async #join(): Promise<number> {
    const epoch = await this.#lifecycle.register();
    if (this.#stopped) throw new Error('stopped');
    this.#brokerEpoch = epoch;
    const heartbeatIntervalMs = this.#options.heartbeatIntervalMs ?? BROKER_HEARTBEAT_INTERVAL_MS_DEFAULT;
    this.broker.startReplication({ brokerEpoch: epoch, controller: this.#lifecycle, heartbeatIntervalMs });
    await this.#unfence(epoch, heartbeatIntervalMs);
    return epoch;
  }

  /**
   * The controller unfences a broker at the first heartbeat showing its replay reached its
   * registration (the record at offset `epoch`). As Kafka's broker, this one sends that heartbeat
   * as soon as its metadata gets there (at the latest one heartbeat interval after the last), then
   * waits for the unfencing to reach its own image; a heartbeat no controller answered is sent
   * again once the quorum names a leader (at the latest REGISTRATION_RETRY_MS later).
   */
  async #unfence(epoch: number, heartbeatIntervalMs: number): Promise<void> {
    const registered = (): boolean => this.broker.metadata().brokerEpoch(this.nodeId) === epoch;
    const unfenced = (): boolean => registered() && !this.broker.metadata().isFenced(this.nodeId);
    while (!this.#stopped) {
      if (unfenced()) return;
      await this.#untilImage(registered, heartbeatIntervalMs);
      if (this.#stopped) break;
      const since = this.#lifecycle.controllerChanges;
      let answered = false;
      try {
        const answer = await this.#lifecycle.heartbeat(epoch);
        answered = answer.errorCode === 0;
        if (answered && answer.isFenced === false) await this.#untilImage(unfenced, heartbeatIntervalMs);
      } catch {
        // No controller answered (an election): asked again once one is named.
      }
      if (!answered) await this.#lifecycle.untilControllerChanges(REGISTRATION_RETRY_MS, since);
    }
    throw new Error('stopped');
  }

  /**
   * Resolves true once `condition` holds on this node's image (checked at each replayed batch), or
   * with its value after `timeoutMs`; at once when it holds already or the node stops.
   */
  #untilImage(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (this.#stopped || condition()) return Promise.resolve(condition());
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#imageWaiters.delete(check);
        resolve(condition());
      };
      const check = (): void => {
        if (this.#stopped || condition()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#imageWaiters.add(check);
    });
  }

  /**
   * Stops the node. Controlled (default): first asks the active controller to move this broker's
   * leaderships and ISR memberships away (heartbeat WantShutDown) until it answers ShouldShutDown,
   * at most CONTROLLED_SHUTDOWN_TIMEOUT_MS. `crash`: the broker's partition logs are left as a
   * killed process leaves them (Broker.stop), so its next start recovers them.
   */
  async stop(options: { controlled?: boolean; crash?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    if (options.controlled !== false && this.#brokerEpoch >= 0) await this.#controlledShutdown();
    this.#stopped = true;
    for (const check of [...this.#imageWaiters]) check();
    this.#lifecycle.stop();
    this.#client.close();
    this.control.stop();
    this.quorum.detach();
    await this.controller.stop();
    await this.broker.stop({ crash: options.crash === true });
    // Logs flushed and closed: the next start may tell the controller this was a clean shutdown.
    if (options.crash !== true && this.#brokerEpoch >= 0)
      writeCleanShutdown(this.#options.dataDir, this.#brokerEpoch);
  }

  async #controlledShutdown(): Promise<void> {
    // Nothing can take over from the last unfenced broker (the others stopped): no controller
    // change would be committed either, so waiting would only delay the stop.
    const image = this.broker.metadata();
    const others = image.brokers().filter((b) => b.nodeId !== this.nodeId && !image.isFenced(b.nodeId));
    if (others.length === 0) return;
    const deadline = performance.now() + CONTROLLED_SHUTDOWN_TIMEOUT_MS;
    let unreachableSince: number | null = null;
    while (performance.now() < deadline) {
      try {
        const answer = await this.#lifecycle.heartbeat(this.#brokerEpoch, true);
        unreachableSince = null;
        if (answer.errorCode === 0 && answer.shouldShutDown === true) return;
      } catch {
        // No controller reachable now: try again, unless none has answered for a while.
        unreachableSince ??= performance.now();
        if (performance.now() - unreachableSince > CONTROLLED_SHUTDOWN_UNREACHABLE_MS) {
          this.#options.log.warn(
            `node ${this.nodeId}: no controller answered for ${CONTROLLED_SHUTDOWN_UNREACHABLE_MS} ms; stopping without a controlled shutdown`,
          );
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, CONTROLLED_SHUTDOWN_RETRY_MS));
    }
    this.#options.log.warn(
      `node ${this.nodeId}: controlled shutdown not acknowledged within ${CONTROLLED_SHUTDOWN_TIMEOUT_MS} ms`,
    );
  }

  #onLeaderChange(leader: LeaderAndEpoch): void {
    this.#leader = leader;
    this.quorum.onLeaderChange(leader);
    this.control.onLeaderChange(leader);
    this.broker.setController(leader.leaderId);
    // A registration or heartbeat waiting for a controller goes now.
    this.#lifecycle.controllerChanged();
  }
}

/** The whole positive number the node's config sets under `name`; undefined (the default) if unset. */
function wholeSetting(
  config: Record<string, string> | undefined,
  name: string,
  min: number,
): number | undefined {
  const text = config?.[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be a whole number of at least ${min}, not '${text}'`);
  return value;
}

/**
 * The node's listeners (the broker resolves the same settings and refuses a bad one first). Every
 * listener after the first must bind a fixed port or advertise one: the registration names it
 * before any client asks, and only the first listener's bound port is known to this node.
 */
function clusterListeners(options: ClusterNodeOptions): readonly Listener[] {
  const config = options.config ?? {};
  let listeners: Listener[];
  try {
    listeners = resolveListeners(
      {
        listeners: config.listeners,
        advertisedListeners: config['advertised.listeners'],
        securityProtocolMap: config['listener.security.protocol.map'],
      },
      options.host,
      options.port,
    );
  } catch {
    // The broker's constructor reports the fault with the setting named.
    return [];
  }
  for (const listener of listeners.slice(1)) {
    if (listener.port === 0 && listener.advertised === undefined) {
      throw new ListenerConfigError(
        `listeners: ${listener.name} binds port 0; a cluster node registers every listener's address with the controller, so give it a port (or advertise one)`,
      );
    }
  }
  return listeners;
}
