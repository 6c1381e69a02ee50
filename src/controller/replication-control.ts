/**
 * The active controller's broker lifecycle and partition rules, fed by the metadata quorum (Kafka's
 * ClusterControlManager and ReplicationControlManager): BrokerRegistration (62) writes a fenced
 * RegisterBrokerRecord whose offset is the broker epoch; BrokerHeartbeat (63) keeps a session,
 * unfences a broker once it has replayed its own registration, and drives controlled shutdown
 * (WantShutDown: leadership and ISR membership move away first); a broker silent past the session
 * timeout is fenced and leaves every ISR, leaders moving to the next ISR member; AlterPartition
 * (56) applies the checks of src/replication/controller.ts (the stub's authoritative rules, in the
 * same order, KIP-903 included) to the partition state in the quorum's image.
 *
 * Every decision runs after the previous one committed (one queue), so each is taken on the image
 * that holds every earlier change. Sessions live in memory, as in Kafka: a new active controller
 * gives every registered broker a fresh session.
 */
import { LeaderRecoveryState, type MetadataImage, type MetadataRecord } from '../broker/metadata-image.ts';
import type { PartitionView, TopicView } from '../broker/services.ts';
import { publishKafkaEvent } from '../common/events.ts';
import { codeApiVersions, featureLevelRecords } from '../coordinator/features.ts';
import { KafkaErrors, type MessageValue } from '../protocol/index.ts';
import type { LeaderAndEpoch } from '../raft/types.ts';
import {
  electFromElr,
  electLastKnownLeader,
  electUnclean,
  elrChange,
  recoveringChange,
  topicMinInsyncReplicas,
  topicUncleanElectionEnabled,
  uncleanElectionChange,
} from './eligible-leaders.ts';
import type { ControllerHandler } from './handler.ts';
import { balanceLeaders, ELECTIONS_PER_REQUEST_MAX, electLeaders, hasImbalance } from './leader-election.ts';
import {
  ALTER_PARTITION_KEY,
  ALTER_PARTITION_VERSION,
  BROKER_HEARTBEAT_KEY,
  BROKER_HEARTBEAT_VERSION,
  BROKER_REGISTRATION_KEY,
  BROKER_REGISTRATION_VERSION,
} from './lifecycle-wire.ts';
import type { MetadataQuorum } from './metadata-quorum.ts';
import {
  alterReassignments,
  completeIfReady,
  REASSIGNMENTS_PER_REQUEST_MAX,
  type ReassignableTopic,
} from './reassignment.ts';

/** Kafka's `broker.session.timeout.ms` default. */
export const BROKER_SESSION_TIMEOUT_MS_DEFAULT = 9_000;
/** How long a request to a freshly elected controller waits for it to replay the log (then NOT_CONTROLLER). */
export const CONTROLLER_CATCH_UP_WAIT_MS = 2_000;
/** How often the active controller looks for expired sessions. */
export const SESSION_CHECK_INTERVAL_MS = 250;
const NO_LEADER = -1;
/** ElectLeaders (43) on the controller listener: the versions a broker forwards. */
export const ELECT_LEADERS_KEY = 43;
/** AlterPartitionReassignments (45) on the controller listener: the version a broker forwards. */
export const ALTER_PARTITION_REASSIGNMENTS_KEY = 45;
/**
 * Kafka's `unclean.leader.election.interval.ms` (an internal broker config): how often the active
 * controller elects uncleanly the leaderless partitions whose `unclean.leader.election.enable` is
 * on. Kafka 4.1.1's doc of that setting: "when enabling this config dynamically, it needs to wait
 * for the unclean leader election thread to trigger election periodically (default is 5 minutes)";
 * at a broker's fencing or unfencing the election is immediate.
 */
export const UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT = 300_000;
/** Kafka's `leader.imbalance.check.interval.seconds` default, in ms. */
export const LEADER_IMBALANCE_CHECK_INTERVAL_MS_DEFAULT = 300_000;

/** The active controller's leader balancing (Kafka's `auto.leader.rebalance.enable` and check interval). */
export interface LeaderBalanceSettings {
  readonly autoLeaderRebalanceEnable: boolean;
  readonly leaderImbalanceCheckIntervalMs: number;
}

export const LEADER_BALANCE_DEFAULTS: LeaderBalanceSettings = {
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalMs: LEADER_IMBALANCE_CHECK_INTERVAL_MS_DEFAULT,
};

/** The settings from a broker's configs (`auto.leader.rebalance.enable`, `leader.imbalance.check.interval.seconds`). */
export function leaderBalanceSettings(config: {
  getBoolean(name: string): boolean;
  getNumber(name: string): number;
}): LeaderBalanceSettings {
  return {
    autoLeaderRebalanceEnable: config.getBoolean('auto.leader.rebalance.enable'),
    leaderImbalanceCheckIntervalMs: config.getNumber('leader.imbalance.check.interval.seconds') * 1000,
  };
}

export interface ReplicationControlOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly quorum: MetadataQuorum;
  readonly sessionTimeoutMs?: number;
  /** Leader balancing; Kafka's defaults when absent (`configure` changes it later). */
  readonly leaderBalance?: LeaderBalanceSettings;
  readonly nowMs?: () => number;
  /**
   * The brokers' static `min.insync.replicas` (Kafka's default 1 when absent): with a topic's
   * override and the cluster default in the image it decides when members enter the ELR.
   */
  readonly minInsyncReplicasDefault?: number;
  /**
   * The brokers' static `unclean.leader.election.enable` (Kafka's default false when absent): with
   * a topic's override and the cluster default in the image it decides whether a partition nobody
   * in its ISR or ELR can lead takes a live replica from outside them.
   */
  readonly uncleanLeaderElectionDefault?: boolean;
  /** `unclean.leader.election.interval.ms` (UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT when absent). */
  readonly uncleanElectionIntervalMs?: number;
  readonly log: { info(message: string): void; warn(message: string): void };
}

interface AlterPartitionTopic {
  topicId: string;
  partitions: {
    partitionIndex: number;
    leaderEpoch: number;
    newIsrWithEpochs: { brokerId: number; brokerEpoch: bigint }[];
    /** The leader's LeaderRecoveryState (v1+; 0 from an older sender). */
    leaderRecoveryState: number;
    partitionEpoch: number;
  }[];
}

export class ReplicationControl {
  readonly #options: ReplicationControlOptions;
  readonly #sessionTimeoutMs: number;
  readonly #nowMs: () => number;
  /** Last heartbeat per broker id, on the active controller only. */
  readonly #sessions = new Map<number, number>();
  /**
   * Brokers in controlled shutdown, by id, with the broker epoch that asked for it: Kafka keeps such
   * a broker in CONTROLLED_SHUTDOWN until it registers again, whatever its later heartbeats say
   * (a node's periodic heartbeats keep going while it shuts down; each one unfenced it again).
   */
  readonly #shuttingDown = new Map<number, number>();
  #active = false;
  /** The Raft epoch this node leads in (while `#active`). */
  #leaderEpoch = -1;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #leaderBalance: LeaderBalanceSettings;
  /** When the next leader balance runs; null while every partition is led by its preferred replica. */
  #balanceDueMs: number | null = null;
  /** An unclean election pass is queued or running (at most one at a time). */
  #uncleanQueued = false;
  /** When the next periodic unclean election pass runs (set when this node becomes active). */
  #uncleanDueMs = Number.POSITIVE_INFINITY;

  constructor(options: ReplicationControlOptions) {
    this.#options = options;
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? BROKER_SESSION_TIMEOUT_MS_DEFAULT;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#leaderBalance = options.leaderBalance ?? LEADER_BALANCE_DEFAULTS;
  }

  /** Replaces the leader balance settings (the node's broker configs, read once it has them). */
  configure(leaderBalance: LeaderBalanceSettings): void {
    if (!(leaderBalance.leaderImbalanceCheckIntervalMs >= 1)) {
      throw new Error(
        `leader.imbalance.check.interval.seconds must be at least 1 s, got ${leaderBalance.leaderImbalanceCheckIntervalMs} ms`,
      );
    }
    this.#leaderBalance = leaderBalance;
    this.#balanceDueMs = null;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#checkSessions();
      this.#checkBalance();
      this.#checkUnclean();
    }, SESSION_CHECK_INTERVAL_MS);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#active = false;
  }

  onLeaderChange(leader: LeaderAndEpoch): void {
    const active = leader.leaderId === this.#options.nodeId;
    if (active && !this.#active) {
      // A fresh session for every broker the log registers: none is fenced for the change itself.
      this.#sessions.clear();
      const now = this.#nowMs();
      for (const broker of this.#image().brokers()) this.#sessions.set(broker.nodeId, now);
    }
    if (active && !this.#active) this.#uncleanDueMs = this.#nowMs() + this.#uncleanIntervalMs();
    this.#active = active;
    this.#leaderEpoch = leader.epoch;
  }

  /**
   * Whether this node decides as the active controller: it leads the quorum and its image holds
   * every committed entry (an entry of its own epoch is replayed), as Kafka's controller activates
   * only once it has replayed the log. A node elected right after its restart may replay its log
   * only up to the commit it knew: deciding on that image took a broker re-registering after a
   * crash for a first registration (clean), so it stayed in the ISR it had lost data from.
   */
  #ready(): boolean {
    return this.#active && this.#options.quorum.appliedEpoch() >= this.#leaderEpoch;
  }

  /**
   * #ready(), waiting first while this node leads but is still replaying (a fresh leader's first
   * requests, BrokerRegistration at a cluster's start among them, are answered once it is caught up
   * rather than refused), at most CONTROLLER_CATCH_UP_WAIT_MS.
   */
  async #untilReady(): Promise<boolean> {
    if (this.#active && !this.#ready())
      await this.#options.quorum.untilEpochReplayed(this.#leaderEpoch, CONTROLLER_CATCH_UP_WAIT_MS);
    return this.#ready();
  }

  #uncleanIntervalMs(): number {
    return this.#options.uncleanElectionIntervalMs ?? UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT;
  }

  handlers(): ControllerHandler[] {
    return [
      {
        apiKey: BROKER_REGISTRATION_KEY,
        name: 'BrokerRegistration',
        minVersion: BROKER_REGISTRATION_VERSION,
        maxVersion: BROKER_REGISTRATION_VERSION,
        handle: (body) => this.#serial(() => this.#register(body)),
      },
      {
        apiKey: BROKER_HEARTBEAT_KEY,
        name: 'BrokerHeartbeat',
        minVersion: BROKER_HEARTBEAT_VERSION,
        maxVersion: BROKER_HEARTBEAT_VERSION,
        handle: (body) => {
          // The contact counts when it arrives, not when its turn in the queue comes: behind
          // slow commits (AlterPartition, elections) a live broker would otherwise miss its
          // session and be fenced (Kafka's controller also records contact before queuing).
          this.#touchSession(body);
          return this.#serial(() => this.#heartbeat(body));
        },
      },
      {
        apiKey: ALTER_PARTITION_KEY,
        name: 'AlterPartition',
        minVersion: ALTER_PARTITION_VERSION,
        maxVersion: ALTER_PARTITION_VERSION,
        handle: (body) => this.#serial(() => this.#alterPartition(body)),
      },
      {
        apiKey: ELECT_LEADERS_KEY,
        name: 'ElectLeaders',
        minVersion: 0,
        maxVersion: 2,
        handle: (body, context) => this.#serial(() => this.#electLeaders(body, context.apiVersion)),
      },
      {
        apiKey: ALTER_PARTITION_REASSIGNMENTS_KEY,
        name: 'AlterPartitionReassignments',
        minVersion: 0,
        maxVersion: 0,
        handle: (body) => this.#serial(() => this.#alterReassignments(body)),
      },
    ];
  }

  /**
   * AlterPartitionReassignments, forwarded by a broker that authorized it: each partition's target
   * (or cancellation) decided on the committed image (reassignment.ts), answered once committed.
   */
  async #alterReassignments(body: MessageValue): Promise<MessageValue> {
    const topics = (body.topics as ReassignableTopic[] | null) ?? [];
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      responses: topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode,
          errorMessage,
        })),
      })),
    });
    if (!(await this.#untilReady()))
      return refuse(KafkaErrors.NOT_CONTROLLER.code, 'This node is not the active controller.');
    const named = topics.reduce((total, topic) => total + topic.partitions.length, 0);
    if (named > REASSIGNMENTS_PER_REQUEST_MAX) {
      return refuse(
        KafkaErrors.INVALID_REQUEST.code,
        `AlterPartitionReassignments names ${named} partitions, more than the ${REASSIGNMENTS_PER_REQUEST_MAX} one request may name.`,
      );
    }
    const { responses, records } = alterReassignments(this.#image(), topics);
    const { errorCode } = await this.#write(records);
    if (errorCode !== 0) return refuse(errorCode, 'The reassignment was not committed.');
    if (records.length > 0)
      this.#options.log.info(`AlterPartitionReassignments: ${records.length} partition change(s)`);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, responses };
  }

  /**
   * ElectLeaders, forwarded by a broker that authorized it: decided on the committed image and
   * answered once the leader changes are committed (v0 knows only preferred elections).
   */
  async #electLeaders(body: MessageValue, apiVersion: number): Promise<MessageValue> {
    const topicPartitions = body.topicPartitions as { topic: string; partitions: number[] }[] | null;
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      errorCode,
      replicaElectionResults: (topicPartitions ?? []).map((topic) => ({
        topic: topic.topic,
        partitionResult: topic.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })),
      })),
    });
    if (!(await this.#untilReady())) {
      return refuse(KafkaErrors.NOT_CONTROLLER.code, 'This node is not the active controller.');
    }
    const named = (topicPartitions ?? []).reduce((total, topic) => total + topic.partitions.length, 0);
    if (named > ELECTIONS_PER_REQUEST_MAX) {
      return refuse(
        KafkaErrors.INVALID_REQUEST.code,
        `ElectLeaders names ${named} partitions, more than the ${ELECTIONS_PER_REQUEST_MAX} one request may name.`,
      );
    }
    const electionType = apiVersion === 0 ? 0 : (body.electionType as number);
    if (electionType !== 0 && electionType !== 1) {
      return refuse(KafkaErrors.INVALID_REQUEST.code, `Unknown election type ${electionType}.`);
    }
    const { results, records } = electLeaders(this.#image(), electionType, topicPartitions);
    const { errorCode } = await this.#write(records);
    if (errorCode !== 0) return refuse(errorCode, 'The leader changes were not committed.');
    if (records.length > 0) {
      this.#options.log.info(
        `ElectLeaders (${electionType === 0 ? 'preferred' : 'unclean'}): ${records.length} leader change(s)`,
      );
    }
    return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults: results };
  }

  /**
   * Automatic leader balancing, as Kafka's controller schedules it: once a partition is led by
   * another replica than its preferred one, a balance runs one check interval later (and again
   * an interval after that while some partition stays imbalanced).
   */
  #checkBalance(): void {
    if (!this.#ready() || !this.#leaderBalance.autoLeaderRebalanceEnable) {
      this.#balanceDueMs = null;
      return;
    }
    const now = this.#nowMs();
    if (!hasImbalance(this.#image())) {
      this.#balanceDueMs = null;
      return;
    }
    if (this.#balanceDueMs === null) {
      this.#balanceDueMs = now + this.#leaderBalance.leaderImbalanceCheckIntervalMs;
      return;
    }
    if (now < this.#balanceDueMs) return;
    this.#balanceDueMs = now + this.#leaderBalance.leaderImbalanceCheckIntervalMs;
    void this.#serial(async () => {
      if (!this.#ready()) return;
      const records = balanceLeaders(this.#image(), ELECTIONS_PER_REQUEST_MAX);
      if (records.length === 0) return;
      const { errorCode } = await this.#write(records);
      if (errorCode === 0) {
        this.#options.log.info(
          `leader balance: ${records.length} partition(s) back to their preferred leader`,
        );
      }
    });
  }

  #image(): MetadataImage {
    return this.#options.quorum.image();
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Proposes and waits; answers the error code (0 committed, NOT_CONTROLLER otherwise). */
  async #write(records: readonly MetadataRecord[]): Promise<{ errorCode: number; offset: bigint }> {
    if (records.length === 0) return { errorCode: 0, offset: -1n };
    try {
      return { errorCode: 0, offset: await this.#options.quorum.propose(records) };
    } catch (error) {
      this.#options.log.warn(`controller write not committed: ${(error as Error).message}`);
      return { errorCode: KafkaErrors.NOT_CONTROLLER.code, offset: -1n };
    }
  }

  async #register(body: MessageValue): Promise<MessageValue> {
    if (!(await this.#untilReady())) return { errorCode: KafkaErrors.NOT_CONTROLLER.code };
    if (body.clusterId !== this.#options.clusterId) {
      return { errorCode: KafkaErrors.INCONSISTENT_CLUSTER_ID.code };
    }
    const brokerId = body.brokerId as number;
    const listeners = body.listeners as {
      name: string;
      host: string;
      port: number;
      securityProtocol: number;
    }[];
    const listener = listeners[0];
    if (listener === undefined) return { errorCode: KafkaErrors.INVALID_REQUEST.code };
    const image = this.#image();
    const records: MetadataRecord[] = [
      // The finalized feature levels, with the first registration (Kafka's are written at format).
      ...featureLevelRecords(await codeApiVersions(), image.finalizedFeatures),
      {
        type: 'RegisterBrokerRecord',
        brokerId,
        host: listener.host,
        port: listener.port,
        rack: (body.rack as string | null) ?? null,
        // Every listener (Kafka's RegisterBrokerRecord endpoints): Metadata answers per listener.
        endpoints: listeners.map(({ name, host, port, securityProtocol }) => ({
          name,
          host,
          port,
          securityProtocol,
        })),
        fenced: true,
      },
    ];
    // KIP-966: a broker registering again whose PreviousBrokerEpoch is not the epoch it was
    // registered with did not shut down cleanly (it may have lost its unflushed tail): it leaves every
    // ELR and every ISR it can leave, as Kafka's handleBrokerUncleanShutdown. After a clean shutdown
    // it keeps its ELR membership and is elected from it once unfenced.
    const registered = image.brokerEpoch(brokerId);
    const previous = Number((body.previousBrokerEpoch as bigint | undefined) ?? -1n);
    if (registered >= 0 && previous !== registered) {
      const changes = this.#uncleanShutdown(image, brokerId);
      // Logged even without a change: how an operator (and clean-restart-processes.long.ts) tells a crash.
      this.#options.log.info(
        `broker ${brokerId} registered after an unclean shutdown (previous broker epoch ${previous}, registered ${registered}): ${changes.length} partition change(s)`,
      );
      records.push(...changes);
    }
    const { errorCode, offset } = await this.#write(records);
    if (errorCode !== 0) return { errorCode };
    this.#shuttingDown.delete(brokerId);
    this.#sessions.set(brokerId, this.#nowMs());
    this.#options.log.info(
      `broker ${brokerId} registered at ${listener.host}:${listener.port}, epoch ${offset}`,
    );
    return { errorCode: 0, brokerEpoch: offset };
  }

  /** Records a heartbeat's contact for the session check, if it names the broker's current epoch. */
  #touchSession(body: MessageValue): void {
    if (!this.#ready()) return;
    const brokerId = body.brokerId as number;
    const epoch = Number(body.brokerEpoch as bigint);
    if (epoch >= 0 && this.#image().brokerEpoch(brokerId) === epoch)
      this.#sessions.set(brokerId, this.#nowMs());
  }

  async #heartbeat(body: MessageValue): Promise<MessageValue> {
    if (!(await this.#untilReady())) return { errorCode: KafkaErrors.NOT_CONTROLLER.code };
    const brokerId = body.brokerId as number;
    const epoch = Number(body.brokerEpoch as bigint);
    let image = this.#image();
    if (image.brokerEpoch(brokerId) !== epoch || epoch < 0) {
      return { errorCode: KafkaErrors.STALE_BROKER_EPOCH.code };
    }
    this.#sessions.set(brokerId, this.#nowMs());
    const caughtUp = Number(body.currentMetadataOffset as bigint) >= epoch;
    // Once asked, controlled shutdown holds for this broker epoch: a kstack node's periodic
    // heartbeats (without WantShutDown) go on while it shuts down and must not unfence it again.
    if (body.wantShutDown === true || this.#shuttingDown.get(brokerId) === epoch) {
      this.#shuttingDown.set(brokerId, epoch);
      const records = this.#removeBroker(image, brokerId, true);
      if (!image.isFenced(brokerId)) records.unshift({ type: 'FenceBrokerRecord', id: brokerId, epoch });
      const { errorCode } = await this.#write(records);
      if (errorCode !== 0) return { errorCode };
      if (!image.isFenced(brokerId))
        publishKafkaEvent('fencing', {
          nodeId: this.#options.nodeId,
          brokerId,
          brokerEpoch: epoch,
          fenced: true,
          reason: 'controlled shutdown',
        });
      image = this.#image();
      const leads = [...image.topics()].some((t) => t.partitions.some((p) => p.leaderId === brokerId));
      return { errorCode: 0, isCaughtUp: caughtUp, isFenced: true, shouldShutDown: !leads };
    }
    if (image.isFenced(brokerId) && caughtUp) {
      const records: MetadataRecord[] = [{ type: 'UnfenceBrokerRecord', id: brokerId, epoch }];
      records.push(...this.#electLeaderless(image, brokerId));
      const { errorCode } = await this.#write(records);
      if (errorCode !== 0) return { errorCode };
      image = this.#image();
      this.#options.log.info(`broker ${brokerId} unfenced (epoch ${epoch})`);
      publishKafkaEvent('fencing', {
        nodeId: this.#options.nodeId,
        brokerId,
        brokerEpoch: epoch,
        fenced: false,
        reason: 'caught up',
      });
    }
    return { errorCode: 0, isCaughtUp: caughtUp, isFenced: image.isFenced(brokerId), shouldShutDown: false };
  }

  #checkSessions(): void {
    if (!this.#ready()) return;
    const now = this.#nowMs();
    const image = this.#image();
    for (const broker of image.brokers()) {
      if (image.isFenced(broker.nodeId)) continue;
      const last = this.#sessions.get(broker.nodeId) ?? now;
      if (!this.#sessions.has(broker.nodeId)) this.#sessions.set(broker.nodeId, now);
      if (now - last <= this.#sessionTimeoutMs) continue;
      this.#sessions.delete(broker.nodeId);
      void this.#serial(async () => {
        const current = this.#image();
        const epoch = current.brokerEpoch(broker.nodeId);
        if (!this.#ready() || current.isFenced(broker.nodeId)) return;
        // A heartbeat that arrived while this waited in the queue keeps the broker.
        const contact = this.#sessions.get(broker.nodeId);
        if (contact !== undefined && this.#nowMs() - contact <= this.#sessionTimeoutMs) return;
        this.#options.log.warn(
          `broker ${broker.nodeId} sent no heartbeat for ${this.#sessionTimeoutMs} ms: fenced (epoch ${epoch})`,
        );
        const { errorCode } = await this.#write([
          { type: 'FenceBrokerRecord', id: broker.nodeId, epoch },
          ...this.#removeBroker(current, broker.nodeId, true),
        ]);
        if (errorCode === 0)
          publishKafkaEvent('fencing', {
            nodeId: this.#options.nodeId,
            brokerId: broker.nodeId,
            brokerEpoch: epoch,
            fenced: true,
            reason: `no heartbeat for ${this.#sessionTimeoutMs} ms`,
          });
      });
    }
  }

  /** The topic's effective `unclean.leader.election.enable` (its override, the cluster default, the static value). */
  #uncleanEnabled(image: MetadataImage, topic: TopicView): boolean {
    return topicUncleanElectionEnabled(
      image,
      topic.configs,
      this.#options.uncleanLeaderElectionDefault ?? false,
    );
  }

  /** An unclean election's change, logged as Kafka's controller logs one. */
  #uncleanElection(topic: TopicView, partition: PartitionView, leader: number): MetadataRecord {
    this.#options.log.warn(
      `unclean leader election for ${topic.name}-${partition.partitionIndex}: leader ${leader}, isr [${partition.isr.join(',')}] -> [${leader}], RECOVERING`,
    );
    return {
      type: 'PartitionChangeRecord',
      topicId: topic.topicId,
      partitionId: partition.partitionIndex,
      ...uncleanElectionChange(partition, leader),
    };
  }

  /**
   * Every `unclean.leader.election.interval.ms`, as Kafka's periodic electUnclean task: leaderless
   * partitions whose unclean election is allowed (the setting turned on since, dynamically) with a
   * live replica are elected uncleanly, one pass at a time.
   */
  #checkUnclean(): void {
    if (!this.#ready() || this.#uncleanQueued || this.#nowMs() < this.#uncleanDueMs) return;
    this.#uncleanDueMs = this.#nowMs() + this.#uncleanIntervalMs();
    if (this.#uncleanCandidates(this.#image()).length === 0) return;
    this.#uncleanQueued = true;
    void this.#serial(async () => {
      try {
        if (!this.#ready()) return;
        const records = this.#uncleanCandidates(this.#image()).map(({ topic, partition, leader }) =>
          this.#uncleanElection(topic, partition, leader),
        );
        if (records.length > 0) await this.#write(records);
      } finally {
        this.#uncleanQueued = false;
      }
    });
  }

  /** The leaderless partitions only an unclean election can lead now, with the replica it elects. */
  #uncleanCandidates(image: MetadataImage): { topic: TopicView; partition: PartitionView; leader: number }[] {
    const found: { topic: TopicView; partition: PartitionView; leader: number }[] = [];
    for (const topic of image.topics()) {
      for (const partition of topic.partitions) {
        if (partition.leaderId !== NO_LEADER) continue;
        // Kafka's order: the ISR, the ELR, the last known leader, and only then outside them.
        if (partition.replicas.some((id) => partition.isr.includes(id) && !image.isFenced(id))) continue;
        if (electFromElr(image, partition) !== null || electLastKnownLeader(image, partition) !== null)
          continue;
        if (!this.#uncleanEnabled(image, topic)) continue;
        const leader = electUnclean(image, partition);
        if (leader !== null) found.push({ topic, partition, leader });
      }
    }
    return found;
  }

  /** The topic's effective `min.insync.replicas` (its override, the cluster default, the static default). */
  #minIsr(image: MetadataImage, topic: TopicView): number {
    return topicMinInsyncReplicas(image, topic.configs, this.#options.minInsyncReplicasDefault ?? 1);
  }

  /**
   * The changes that take a broker out of every ISR and move its leaderships. Fenced or shutting
   * down (`mayEmpty`), it leaves even an ISR it is the last member of, as Kafka 4.1 does with ELR
   * on: the partition has no leader, the broker stays eligible in the ELR (eligible-leaders.ts).
   * Registering again (an unclean restart), it leaves every ISR but the last member's: without
   * unclean-shutdown detection kstack keeps such a partition electable as before.
   */
  #removeBroker(image: MetadataImage, brokerId: number, mayEmpty: boolean): MetadataRecord[] {
    const records: MetadataRecord[] = [];
    for (const topic of image.topics()) {
      for (const partition of topic.partitions) {
        if (!partition.isr.includes(brokerId) && partition.leaderId !== brokerId) continue;
        // A partition left without an ISR member that can lead has no leader (NO_LEADER: clients
        // get LEADER_NOT_AVAILABLE, as from Kafka), since unclean election is off.
        const isr =
          mayEmpty || partition.isr.length > 1
            ? partition.isr.filter((id) => id !== brokerId)
            : partition.isr;
        const leader =
          partition.leaderId === brokerId
            ? chooseLeader(image, partition, isr, brokerId)
            : partition.leaderId;
        // Kafka's order with the ISR emptied: an unfenced ELR member (a clean election, whatever
        // unclean.leader.election.enable says), and only then an unclean candidate.
        const fromElr =
          leader === NO_LEADER ? electFromElr(image, partition, NO_LEADER, isr, brokerId) : null;
        if (fromElr !== null) {
          const elected = [fromElr];
          records.push({
            type: 'PartitionChangeRecord',
            topicId: topic.topicId,
            partitionId: partition.partitionIndex,
            leader: fromElr,
            isr: elected,
            ...elrChange(partition, elected, fromElr, this.#minIsr(image, topic)),
          });
          continue;
        }
        const unclean =
          leader === NO_LEADER && isr.length === 0 && this.#uncleanEnabled(image, topic)
            ? electUnclean(image, partition, NO_LEADER, brokerId)
            : null;
        if (unclean !== null) {
          records.push(this.#uncleanElection(topic, partition, unclean));
          continue;
        }
        const elr = elrChange(partition, isr, leader, this.#minIsr(image, topic));
        const change: MetadataRecord = {
          type: 'PartitionChangeRecord',
          topicId: topic.topicId,
          partitionId: partition.partitionIndex,
          isr,
          ...(leader !== partition.leaderId ? { leader } : {}),
          ...elr,
        };
        if (leader !== partition.leaderId || isr.length !== partition.isr.length) records.push(change);
      }
    }
    return records;
  }

  /**
   * KIP-966's unclean shutdown: `brokerId` leaves every ISR it can leave (never the last member's,
   * as before: it leads nothing until unfenced) and every ELR; LastKnownElr is kept, as on the
   * reference (solo-0 after SIGKILL and restart: `elr=[], lastKnownElr=[3]`).
   */
  #uncleanShutdown(image: MetadataImage, brokerId: number): MetadataRecord[] {
    const records: MetadataRecord[] = [];
    for (const topic of image.topics()) {
      for (const partition of topic.partitions) {
        const inElr = partition.elr?.includes(brokerId) === true;
        if (!partition.isr.includes(brokerId) && partition.leaderId !== brokerId && !inElr) continue;
        const isr = partition.isr.length > 1 ? partition.isr.filter((id) => id !== brokerId) : partition.isr;
        const leader =
          partition.leaderId === brokerId
            ? chooseLeader(image, partition, isr, brokerId)
            : partition.leaderId;
        const fields = elrChange(partition, isr, leader, this.#minIsr(image, topic));
        const elr = (fields.elr ?? partition.elr ?? []).filter((id) => id !== brokerId);
        if (sameList(elr, partition.elr ?? [])) delete fields.elr;
        else fields.elr = elr;
        if (leader === partition.leaderId && isr.length === partition.isr.length && fields.elr === undefined)
          continue;
        records.push({
          type: 'PartitionChangeRecord',
          topicId: topic.topicId,
          partitionId: partition.partitionIndex,
          isr,
          ...(leader !== partition.leaderId ? { leader } : {}),
          ...fields,
        });
      }
    }
    return records;
  }

  /**
   * Leaders for partitions without one, counting `unfencing` as unfenced: the first ISR member in
   * assignment order, or with an empty ISR the first ELR member, which becomes the ISR alone.
   */
  #electLeaderless(image: MetadataImage, unfencing: number): MetadataRecord[] {
    const records: MetadataRecord[] = [];
    for (const topic of image.topics()) {
      for (const partition of topic.partitions) {
        if (partition.leaderId !== NO_LEADER) continue;
        const base = {
          type: 'PartitionChangeRecord',
          topicId: topic.topicId,
          partitionId: partition.partitionIndex,
        } as const;
        const leader = partition.replicas.find(
          (id) => partition.isr.includes(id) && (id === unfencing || !image.isFenced(id)),
        );
        if (leader !== undefined) {
          records.push({
            ...base,
            leader,
            ...elrChange(partition, partition.isr, leader, this.#minIsr(image, topic)),
          });
          continue;
        }
        const fromElr = electFromElr(image, partition, unfencing);
        const eligible = fromElr ?? electLastKnownLeader(image, partition, unfencing);
        if (eligible === null) {
          const unclean = this.#uncleanEnabled(image, topic)
            ? electUnclean(image, partition, unfencing)
            : null;
          if (unclean !== null) records.push(this.#uncleanElection(topic, partition, unclean));
          continue;
        }
        const isr = [eligible];
        records.push({
          ...base,
          leader: eligible,
          isr,
          ...elrChange(partition, isr, eligible, this.#minIsr(image, topic)),
          // The last known leader is elected uncleanly, as Kafka marks it (the reference's solo-0).
          ...(fromElr === null ? recoveringChange(partition) : {}),
        });
      }
    }
    return records;
  }

  async #alterPartition(body: MessageValue): Promise<MessageValue> {
    if (!(await this.#untilReady())) return { errorCode: KafkaErrors.NOT_CONTROLLER.code, topics: [] };
    const brokerId = body.brokerId as number;
    const brokerEpoch = Number(body.brokerEpoch as bigint);
    const image = this.#image();
    const topics = body.topics as AlterPartitionTopic[];
    const codes = new Map<string, number>();
    const records: MetadataRecord[] = [];
    for (const topic of topics) {
      const view = image.topicById(topic.topicId);
      for (const request of topic.partitions) {
        const key = `${topic.topicId}:${request.partitionIndex}`;
        const state = view?.partitions[request.partitionIndex];
        const code =
          state === undefined
            ? KafkaErrors.UNKNOWN_TOPIC_ID.code
            : checkAlterPartition(image, state, brokerId, brokerEpoch, request);
        codes.set(key, code);
        if (code === 0 && state !== undefined) {
          const isr = request.newIsrWithEpochs.map((member) => member.brokerId);
          const minIsr = view === undefined ? 1 : this.#minIsr(image, view);
          // The leader names RECOVERED when it expands the ISR (Kafka's Partition.prepareIsrExpand):
          // that completes its recovery.
          const recovery = request.leaderRecoveryState ?? LeaderRecoveryState.recovered;
          const recoveryChanged = recovery !== (state.leaderRecoveryState ?? LeaderRecoveryState.recovered);
          // An ISR that now holds every target replica of a reassignment completes it (Kafka's
          // PartitionChangeBuilder does it in the same change).
          records.push(
            completeIfReady(image, state, isr, {
              type: 'PartitionChangeRecord',
              topicId: topic.topicId,
              partitionId: request.partitionIndex,
              isr,
              ...elrChange(state, isr, state.leaderId, minIsr),
              ...(recoveryChanged ? { leaderRecoveryState: recovery } : {}),
            }),
          );
        }
      }
    }
    const { errorCode } = await this.#write(records);
    if (errorCode !== 0) return { errorCode, topics: [] };
    const after = this.#image();
    return {
      errorCode: 0,
      topics: topics.map((topic) => ({
        topicId: topic.topicId,
        partitions: topic.partitions.map((request) => {
          const state = after.topicById(topic.topicId)?.partitions[request.partitionIndex];
          return {
            partitionIndex: request.partitionIndex,
            errorCode: codes.get(`${topic.topicId}:${request.partitionIndex}`) ?? 0,
            leaderId: state?.leaderId ?? NO_LEADER,
            leaderEpoch: state?.leaderEpoch ?? -1,
            isr: state?.isr ?? [],
            leaderRecoveryState: state?.leaderRecoveryState ?? LeaderRecoveryState.recovered,
            partitionEpoch: state?.partitionEpoch ?? -1,
          };
        }),
      })),
    };
  }
}

/** The first replica in assignment order that is in `isr`, unfenced and not `excluded` (unclean election off). */
function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => b[i] === id);
}

function chooseLeader(
  image: MetadataImage,
  partition: PartitionView,
  isr: readonly number[],
  excluded: number,
): number {
  for (const id of partition.replicas) {
    if (id !== excluded && isr.includes(id) && !image.isFenced(id)) return id;
  }
  return NO_LEADER;
}

/** AlterPartition's checks in PartitionController's order (src/replication/controller.ts). */
function checkAlterPartition(
  image: MetadataImage,
  state: PartitionView,
  brokerId: number,
  brokerEpoch: number,
  request: AlterPartitionTopic['partitions'][number],
): number {
  if (image.brokerEpoch(brokerId) !== brokerEpoch || brokerEpoch < 0)
    return KafkaErrors.STALE_BROKER_EPOCH.code;
  if (request.leaderEpoch > state.leaderEpoch || request.partitionEpoch > state.partitionEpoch) {
    return KafkaErrors.NOT_CONTROLLER.code;
  }
  if (request.leaderEpoch < state.leaderEpoch) return KafkaErrors.FENCED_LEADER_EPOCH.code;
  if (brokerId !== state.leaderId) return KafkaErrors.INVALID_REQUEST.code;
  if (request.partitionEpoch < state.partitionEpoch) return KafkaErrors.INVALID_UPDATE_VERSION.code;
  const isr = request.newIsrWithEpochs.map((member) => member.brokerId);
  // Kafka's ReplicationControlManager.validateAlterPartitionData: a recovering leader keeps the ISR
  // to itself, and a recovered partition does not go back to RECOVERING.
  const recovery = request.leaderRecoveryState ?? LeaderRecoveryState.recovered;
  if (recovery === LeaderRecoveryState.recovering && isr.length > 1) return KafkaErrors.INVALID_REQUEST.code;
  if (
    recovery === LeaderRecoveryState.recovering &&
    (state.leaderRecoveryState ?? LeaderRecoveryState.recovered) === LeaderRecoveryState.recovered
  ) {
    return KafkaErrors.INVALID_REQUEST.code;
  }
  if (
    !isr.includes(state.leaderId) ||
    !isr.every((id) => state.replicas.includes(id)) ||
    new Set(isr).size !== isr.length
  ) {
    return KafkaErrors.INVALID_REQUEST.code;
  }
  for (const member of request.newIsrWithEpochs) {
    // KIP-903: a member named with another epoch than its registration (it restarted) cannot join; nor a fenced one.
    if (
      image.isFenced(member.brokerId) ||
      image.brokerEpoch(member.brokerId) !== Number(member.brokerEpoch)
    ) {
      return KafkaErrors.INELIGIBLE_REPLICA.code;
    }
  }
  return 0;
}
