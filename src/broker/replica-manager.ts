/**
 * Kafka's ReplicaManager for replicated partitions (replication factor > 1): from each new
 * metadata image it makes every local replica a leader or a follower (the replication core,
 * src/replication's PartitionReplica, over the partition's real log through PartitionReplicaLog),
 * runs one ReplicaFetcher per leader broker, sends AlterPartition and heartbeats through the
 * ControllerChannel, and ticks the cores (ISR shrink, produce timeouts, fetch scheduling).
 * Partitions with one replica are left to the single-broker path, on their replica only: every other
 * broker's copy is marked not hosted (LocalReplica.hosted) and refuses clients as a non-replica.
 */
import { publishKafkaEvent } from '../common/events.ts';
import { KafkaErrors } from '../protocol/index.ts';
import { PartitionReplica } from '../replication/replica.ts';
import type {
  AlterPartitionRequest,
  FetchResponse,
  PartitionState,
  ReplicationConfig,
} from '../replication/types.ts';
import type { InterBrokerLink } from '../security/inter-broker.ts';
import type { AlterPartitionResponseData, ControllerChannel } from './controller-channel.ts';
import type { MetadataImage } from './metadata-image.ts';
import type { LocalReplica } from './partition.ts';
import { type FetcherQuota, ReplicaFetcher } from './replica-fetcher.ts';
import { PartitionReplicaLog } from './replica-log.ts';
import { ReplicationQuota } from './replication-quota.ts';
import type { Clock, PartitionView, ProducerStateService } from './services.ts';

/** Named limits and intervals with Kafka's defaults (broker configs of the same names). */
export const REPLICATION_DEFAULTS = {
  /** replica.fetch.wait.max.ms */
  fetchWaitMaxMs: 500,
  /** replica.fetch.max.bytes */
  fetchMaxBytes: 1024 * 1024,
  /** replica.fetch.response.max.bytes */
  fetchResponseMaxBytes: 10 * 1024 * 1024,
  /** replica.fetch.backoff.ms */
  fetchBackoffMs: 1000,
  /** broker.heartbeat.interval.ms */
  heartbeatIntervalMs: 2000,
  /** How often the cores are ticked (ISR shrink checks, produce deadlines, fetch scheduling). */
  tickIntervalMs: 10,
  /** acks=all appends waiting for the ISR per partition. */
  pendingAppendsMax: 10_000,
  /** The cores' own bound on a waiting acks=all append; the Produce handler answers at the request's timeout. */
  produceTimeoutMaxMs: 300_000,
  /** replica.socket.timeout.ms: a fetch with no answer is given up after this. */
  requestTimeoutMs: 30_000,
  /** Partitions in one AlterPartition request (the rest wait for the next). */
  alterPartitionItemsMax: 1_000,
} as const;

export interface ReplicationSetup {
  /** This broker's epoch, from its registration with the controller. */
  readonly brokerEpoch: number;
  readonly controller: ControllerChannel;
  /**
   * See PartitionReplicaLog: fsync before acknowledging (the simulator's durability rule, against
   * machine crashes). Default false, as Kafka (page cache plus replicas): on this 2-core machine it
   * made acks=all p50 23 ms against 0.9 ms (src/replication/bench.ts, README).
   */
  readonly flushBeforeAcknowledge?: boolean;
  readonly fetchBackoffMs?: number;
  /**
   * Where this broker's fetchers reach broker `id`; default (and on null) its registered
   * endpoint from the image. Passed in like the clock: tests route a link through a proxy they can cut.
   */
  readonly brokerAddress?: (id: number) => { host: string; port: number } | null;
  /**
   * The inter-broker listener (`inter.broker.listener.name`): fetchers connect to the leader's
   * registered endpoint of that name, with its TLS and SASL login. Absent: the registration's
   * host/port (its first listener), plain TCP.
   */
  readonly interBroker?: InterBrokerLink;
  readonly heartbeatIntervalMs?: number;
}

/** What the manager needs of its broker. */
export interface ReplicaHost {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly log: { info(message: string): void; warn(message: string): void };
  metadata(): MetadataImage;
  get(topic: string, partition: number): LocalReplica | undefined;
  replicaLagTimeMaxMs(): number;
  minInsyncReplicas(topic: string): number;
  /** The idempotent-producer table (PRODUCER_STATE slot), fed by followers' appends; absent: none kept. */
  producerState?(): ProducerStateService | undefined;
  /** A broker config in force (the throttled rates); absent or undefined: unset. */
  brokerConfig?(name: string): string | null | undefined;
}

interface PendingAlter {
  readonly managed: Managed;
  readonly message: AlterPartitionRequest;
  readonly replicas: readonly number[];
  readonly isrBefore: readonly number[];
}

interface Managed {
  readonly key: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly local: LocalReplica;
  readonly core: PartitionReplica<Buffer>;
}

export class ReplicaManager {
  readonly #host: ReplicaHost;
  readonly #setup: ReplicationSetup;
  readonly #managed = new Map<string, Managed>();
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  /** AlterPartition items waiting for the one request in flight, by partition. */
  readonly #alterQueue = new Map<string, PendingAlter>();
  #alterInFlight = false;
  /** Cancellers of the periodic tasks, by name. */
  readonly #timers = new Map<string, () => void>();
  #stopped = false;
  /** Reassignment throttles (src/broker/replication-quota.ts): what this broker sends as a leader. */
  readonly leaderQuota: ReplicationQuota;
  /** What this broker fetches as a follower. */
  readonly followerQuota: ReplicationQuota;
  readonly #fetcherQuota: FetcherQuota;

  constructor(host: ReplicaHost, setup: ReplicationSetup) {
    this.#host = host;
    this.#setup = setup;
    const source = {
      brokerConfig: (name: string) => host.brokerConfig?.(name),
      topicConfig: (topic: string, name: string) => host.metadata().topic(topic)?.configs.get(name),
    };
    this.leaderQuota = new ReplicationQuota('leader', host.nodeId, source);
    this.followerQuota = new ReplicationQuota('follower', host.nodeId, source);
    this.#fetcherQuota = this.#followerThrottle();
    // The cores measure time with performance.now() (below), so their tick runs on real time too:
    // on the broker's clock, a clock moved forward (the testing module's manual clock) would fire
    // 100 ticks for every second it jumped, all of them finding nothing due.
    this.#every('tick', REPLICATION_DEFAULTS.tickIntervalMs, () => this.tick(), realTimer);
    this.#every('heartbeat', setup.heartbeatIntervalMs ?? REPLICATION_DEFAULTS.heartbeatIntervalMs, () =>
      setup.controller.brokerHeartbeat(host.nodeId, setup.brokerEpoch),
    );
  }

  get brokerEpoch(): number {
    return this.#setup.brokerEpoch;
  }

  /** The replication core of a local replicated partition. */
  core(topic: string, partition: number): PartitionReplica<Buffer> | undefined {
    return this.#managed.get(`${topic}\0${partition}`)?.core;
  }

  /** Makes each local replica of a replicated partition leader or follower as the image says. */
  applyImage(image: MetadataImage): void {
    if (this.#stopped) return;
    const seen = new Set<string>();
    for (const topic of image.topics()) {
      for (const view of topic.partitions) {
        if (view === undefined) continue;
        const key = `${topic.name}\0${view.partitionIndex}`;
        const hosted = view.replicas.includes(this.#host.nodeId);
        // Not a replica: a stand-in (Broker.get) or a copy reassigned away; neither may lead.
        const local = this.#host.get(topic.name, view.partitionIndex);
        if (local !== undefined) local.hosted = hosted;
        if (!hosted) {
          const managed = this.#managed.get(key);
          if (managed !== undefined && managed.topicId === topic.topicId) this.#removeReplica(managed, view);
          continue;
        }
        // A partition reassigned down to one replica stays driven by its core (its log was opened
        // as replicated, and the single-broker path would not lead it).
        if (view.replicas.length < 2 && !this.#managed.has(key)) continue;
        seen.add(key);
        const managed = this.#manage(key, topic.name, topic.topicId, view.partitionIndex);
        if (managed === undefined) continue;
        try {
          this.#applyPartition(managed, view);
        } catch (error) {
          // One partition's broken state must not end the node (this runs inside the metadata
          // replay): that replica stops loudly, as in tick(); the others carry on.
          this.#drop(managed, error);
        }
      }
    }
    for (const key of [...this.#managed.keys()]) if (!seen.has(key)) this.#managed.delete(key);
  }

  #applyPartition(managed: Managed, view: PartitionView): void {
    const state: PartitionState = {
      partition: view.partitionIndex,
      replicas: view.replicas,
      isr: view.isr,
      leader: view.leaderId,
      leaderEpoch: view.leaderEpoch,
      partitionEpoch: view.partitionEpoch,
    };
    const wasLeader = managed.core.isLeader;
    const epoch = managed.core.leaderEpoch;
    managed.core.applyPartitionState(state);
    if (managed.core.leaderEpoch !== epoch || managed.core.isLeader !== wasLeader) {
      this.#host.log.info(
        `${managed.topic}-${view.partitionIndex}: ${managed.core.isLeader ? 'leader' : `follower of ${view.leaderId}`} in epoch ${managed.core.leaderEpoch} (ISR [${view.isr.join(',')}])`,
      );
      publishKafkaEvent('leader-change', {
        nodeId: this.#host.nodeId,
        topic: managed.topic,
        partition: view.partitionIndex,
        leaderId: view.leaderId,
        leaderEpoch: managed.core.leaderEpoch,
        isr: view.isr,
      });
    }
    managed.core.tick();
  }

  /**
   * This broker is no longer a replica (a reassignment completed without it): the core learns the
   * new state (a leader steps down, failing its waiting appends with NOT_LEADER_OR_FOLLOWER), stops
   * fetching, and the local copy is deleted, as Kafka's broker deletes a replica it no longer hosts
   * (the broker keeps an empty log open in its place, so clients get NOT_LEADER_OR_FOLLOWER here).
   */
  #removeReplica(managed: Managed, view: PartitionView): void {
    this.#managed.delete(managed.key);
    try {
      this.#applyPartition(managed, view);
    } catch {
      // The core's last state does not matter: it is dropped.
    }
    if (managed.local.replication === managed.core) managed.local.replication = null;
    const log = managed.local.log;
    const records = log.logEndOffset - log.logStartOffset;
    log.truncateFullyAndStartAt(0);
    this.#host.log.info(
      `${managed.topic}-${managed.partition}: no longer a replica (replicas [${view.replicas.join(',')}]); stopped fetching, deleted its ${records} offset(s)`,
    );
  }

  /** Stops one replica's core after a broken invariant, naming the partition and the fault. */
  #drop(managed: Managed, error: unknown): void {
    this.#host.log.warn(`${managed.topic}-${managed.partition} stopped: ${(error as Error).message}`);
    if (this.#managed.get(managed.key) === managed) this.#managed.delete(managed.key);
    if (managed.local.replication === managed.core) managed.local.replication = null;
  }

  tick(): void {
    for (const managed of this.#managed.values()) {
      try {
        managed.core.tick();
      } catch (error) {
        // A broken invariant stops this replica loudly; the others carry on.
        this.#drop(managed, error);
      }
    }
  }

  /** Closes every fetcher connection; each is made again at the next fetch (after a network change). */
  resetFetchers(): void {
    const fetchers = [...this.#fetchers.values()];
    // Out of the map first: the errors the close delivers make the cores ask again at once.
    this.#fetchers.clear();
    for (const fetcher of fetchers) fetcher.close();
  }

  stop(): void {
    this.#stopped = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    for (const fetcher of this.#fetchers.values()) fetcher.close();
    this.#fetchers.clear();
    for (const managed of this.#managed.values()) managed.local.replication = null;
    this.#managed.clear();
    this.#alterQueue.clear();
  }

  /** Partitions whose AlterPartition waits for the request in flight (for tests and status). */
  get alterPartitionsQueued(): number {
    return this.#alterQueue.size;
  }

  #every(
    name: string,
    intervalMs: number,
    task: () => void,
    setTimer: Clock['setTimer'] = (delayMs, callback) => this.#host.clock.setTimer(delayMs, callback),
  ): void {
    const run = (): void => {
      if (this.#stopped) return;
      task();
      this.#timers.set(name, setTimer(intervalMs, run));
    };
    this.#timers.set(name, setTimer(intervalMs, run));
  }

  #manage(key: string, topic: string, topicId: string, partition: number): Managed | undefined {
    const existing = this.#managed.get(key);
    const local = this.#host.get(topic, partition);
    // A core is bound to one LocalReplica (one open log) of one topic id: a topic deleted and
    // created again under its name, or a partition whose log the broker reopened, gets a new core.
    if (existing !== undefined && existing.local === local && existing.topicId === topicId) return existing;
    if (existing !== undefined) {
      this.#host.log.warn(
        `${topic}-${partition}: replica replaced (topic id ${existing.topicId} → ${topicId}); its replication restarts`,
      );
      this.#managed.delete(key);
      if (existing.local.replication === existing.core) existing.local.replication = null;
    }
    if (local === undefined) return undefined;
    const host = this.#host;
    const config: ReplicationConfig = {
      replicaLagTimeMaxMs: this.#host.replicaLagTimeMaxMs(),
      // Read at each use: a topic's min.insync.replicas changed by AlterConfigs applies at once.
      get minInsyncReplicas() {
        return host.minInsyncReplicas(topic);
      },
      // The leader long-polls (replica.fetch.wait.max.ms): a follower asks again at once.
      fetchIdleMs: 0,
      fetchErrorBackoffMs: this.#setup.fetchBackoffMs ?? REPLICATION_DEFAULTS.fetchBackoffMs,
      requestTimeoutMs: REPLICATION_DEFAULTS.requestTimeoutMs,
      produceTimeoutMs: REPLICATION_DEFAULTS.produceTimeoutMaxMs,
      fetchEntriesMax: 1,
      pendingAppendsMax: REPLICATION_DEFAULTS.pendingAppendsMax,
    };
    const core: PartitionReplica<Buffer> = new PartitionReplica<Buffer>({
      nodeId: this.#host.nodeId,
      brokerEpoch: this.#setup.brokerEpoch,
      partition,
      log: new PartitionReplicaLog(local, {
        readBytesMax: REPLICATION_DEFAULTS.fetchMaxBytes,
        flushBeforeAcknowledge: this.#setup.flushBeforeAcknowledge ?? false,
        producerState: () => this.#host.producerState?.(),
      }),
      clock: { nowMs: () => performance.now() },
      config,
      send: (to, message) => {
        if (message.type === 'fetch' && typeof to === 'number')
          this.#fetcher(to).enqueue({ key, topicId, partition }, message);
        else if (message.type === 'alter-partition') this.#alterPartition(managed, message);
      },
      listener: {
        onTruncate: (offset) =>
          this.#host.log.info(`${topic}-${partition}: truncating to ${offset} (diverging epoch)`),
      },
    });
    const managed: Managed = { key, topic, topicId, partition, local, core };
    local.replication = core;
    this.#managed.set(key, managed);
    return managed;
  }

  /**
   * The follower side of the throttle, as Kafka's ReplicaFetcherThread: a throttled partition this
   * broker is not in the ISR of is left out of the Fetch while the follower quota is exceeded; the
   * bytes fetched for every throttled partition are counted.
   */
  #followerThrottle(): FetcherQuota {
    const quota = this.followerQuota;
    const throttled = (key: string): Managed | undefined => {
      const managed = this.#managed.get(key);
      return managed !== undefined && quota.isThrottled(managed.topic, managed.partition)
        ? managed
        : undefined;
    };
    return {
      holdsBack: (key) => {
        const managed = throttled(key);
        if (managed === undefined) return false;
        const inSync = managed.core.state?.isr.includes(this.#host.nodeId) === true;
        return !inSync && quota.isQuotaExceeded();
      },
      record: (key, bytes) => {
        if (throttled(key) !== undefined) quota.record(bytes);
      },
      retryMs: this.#setup.fetchBackoffMs ?? REPLICATION_DEFAULTS.fetchBackoffMs,
    };
  }

  #fetcher(leaderId: number): ReplicaFetcher {
    let fetcher = this.#fetchers.get(leaderId);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher({
        nodeId: this.#host.nodeId,
        leaderId,
        resolve: () => {
          const routed = this.#setup.brokerAddress?.(leaderId);
          if (routed !== undefined && routed !== null) return routed;
          const image = this.#host.metadata();
          const listener = this.#setup.interBroker?.listenerName;
          const endpoint =
            listener === undefined
              ? undefined
              : image.endpointsOf(leaderId)?.find((e) => e.name === listener);
          if (endpoint !== undefined) return { host: endpoint.host, port: endpoint.port };
          const broker = image.brokers().find((b) => b.nodeId === leaderId);
          return broker === undefined ? null : { host: broker.host, port: broker.port };
        },
        ...(this.#setup.interBroker === undefined ? {} : { link: this.#setup.interBroker }),
        fetchWaitMaxMs: REPLICATION_DEFAULTS.fetchWaitMaxMs,
        fetchMaxBytes: REPLICATION_DEFAULTS.fetchMaxBytes,
        fetchResponseMaxBytes: REPLICATION_DEFAULTS.fetchResponseMaxBytes,
        deliver: (key, response) => this.#deliver(key, leaderId, response),
        quota: this.#fetcherQuota,
        log: this.#host.log,
      });
      this.#fetchers.set(leaderId, fetcher);
    }
    return fetcher;
  }

  #deliver(key: string, leaderId: number, response: FetchResponse<Buffer>): void {
    const managed = this.#managed.get(key);
    if (managed === undefined || this.#stopped) return;
    try {
      managed.core.handle(leaderId, response);
      managed.core.tick();
    } catch (error) {
      this.#drop(managed, error);
    }
  }

  /**
   * Queues a core's AlterPartition. As Kafka's AlterPartitionManager, the broker has one
   * AlterPartition request in flight to the controller, carrying every partition queued meanwhile
   * (a newer change of a partition replaces its queued one). One request per partition put up to
   * ~60 at once in the controller's serial queue after a broker rejoined, behind which heartbeats
   * timed out and every broker was fenced.
   */
  #alterPartition(managed: Managed, message: AlterPartitionRequest): void {
    this.#alterQueue.set(managed.key, {
      managed,
      message,
      replicas: managed.core.state?.replicas ?? [],
      isrBefore: managed.core.state?.isr ?? [],
    });
    if (!this.#alterInFlight) queueMicrotask(() => this.#sendAlterPartitions());
  }

  #sendAlterPartitions(): void {
    if (this.#alterInFlight || this.#stopped || this.#alterQueue.size === 0) return;
    const items = [...this.#alterQueue.values()].slice(0, REPLICATION_DEFAULTS.alterPartitionItemsMax);
    for (const item of items) this.#alterQueue.delete(item.managed.key);
    const byTopic = new Map<string, PendingAlter[]>();
    for (const item of items) {
      const list = byTopic.get(item.managed.topicId) ?? [];
      list.push(item);
      byTopic.set(item.managed.topicId, list);
    }
    this.#alterInFlight = true;
    void this.#setup.controller
      .alterPartition({
        brokerId: this.#host.nodeId,
        brokerEpoch: this.#setup.brokerEpoch,
        topics: [...byTopic].map(([topicId, list]) => ({
          topicId,
          partitions: list.map(({ managed, message }) => ({
            partitionIndex: managed.partition,
            leaderEpoch: message.leaderEpoch,
            newIsrWithEpochs: message.newIsrWithEpochs,
            leaderRecoveryState: 0,
            partitionEpoch: message.partitionEpoch,
          })),
        })),
      })
      .then(
        (response) => {
          for (const item of items) {
            try {
              this.#onAlterAnswer(item, response);
            } catch (error) {
              this.#drop(item.managed, error);
            }
          }
        },
        (error: unknown) => this.#host.log.warn(`AlterPartition: ${(error as Error).message}`),
      )
      .finally(() => {
        this.#alterInFlight = false;
        this.#sendAlterPartitions();
      });
  }

  #onAlterAnswer(item: PendingAlter, response: AlterPartitionResponseData): void {
    const { managed, message, replicas, isrBefore } = item;
    if (this.#stopped || this.#managed.get(managed.key) !== managed) return;
    const answer = response.topics
      .find((topic) => topic.topicId === managed.topicId)
      ?.partitions.find((partition) => partition.partitionIndex === managed.partition);
    const errorCode =
      response.errorCode !== 0
        ? response.errorCode
        : (answer?.errorCode ?? KafkaErrors.UNKNOWN_SERVER_ERROR.code);
    this.#host.log.info(
      `${managed.topic}-${managed.partition}: AlterPartition ISR [${message.newIsrWithEpochs.map((m) => m.brokerId).join(',')}] → error ${errorCode}`,
    );
    if (errorCode === 0 && answer !== undefined)
      publishKafkaEvent('isr-change', {
        nodeId: this.#host.nodeId,
        topic: managed.topic,
        partition: managed.partition,
        isrBefore,
        isrAfter: answer.isr,
      });
    managed.core.handle('controller', {
      type: 'alter-partition-response',
      partition: managed.partition,
      errorCode: errorCode as never,
      state:
        errorCode === 0 && answer !== undefined
          ? {
              partition: managed.partition,
              replicas,
              isr: answer.isr,
              leader: answer.leaderId,
              leaderEpoch: answer.leaderEpoch,
              partitionEpoch: answer.partitionEpoch,
            }
          : null,
      correlationId: message.correlationId,
    });
  }
}

/** A timer on real time (setTimeout), cancelled by the function it returns. */
function realTimer(delayMs: number, callback: () => void): () => void {
  const handle = setTimeout(callback, delayMs);
  return () => clearTimeout(handle);
}
