/**
 * The broker's domain services, as handlers and broker extensions (the group
 * coordinator) see them. Interfaces only: the implementations live in this folder
 * (broker.ts wires them), so a handler can be tested with a fake of any of them.
 */

/** Time and timers, passed in so a simulator can drive them. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Runs `callback` after `delayMs`; returns a function that cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

/** A broker as the cluster metadata knows it. */
export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** One partition's replica assignment and leadership, from the metadata image. */
export interface PartitionView {
  readonly partitionIndex: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** A reassignment in progress (KRaft's PartitionRecord): replicas joining and leaving; absent when none. */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
  /** Eligible Leader Replicas (KIP-966) and the last known ELR; absent when empty. */
  readonly elr?: readonly number[];
  readonly lastKnownElr?: readonly number[];
  /** LeaderRecoveryState 1 (RECOVERING: led after an unclean election, ISR not yet expanded); absent when RECOVERED. */
  readonly leaderRecoveryState?: number;
}

/** One topic, from the metadata image. */
export interface TopicView {
  readonly name: string;
  /** Kafka's UUID text: 16 bytes as unpadded base64url (src/protocol/uuid.ts), as Kafka's tools print topic ids. */
  readonly topicId: string;
  readonly internal: boolean;
  readonly partitions: readonly PartitionView[];
  /** Topic-level config overrides only (Kafka names); defaults come from the broker config. */
  readonly configs: ReadonlyMap<string, string>;
}

/** The current cluster metadata image: immutable; each metadata record yields a new one. */
export interface MetadataView {
  readonly clusterId: string;
  readonly controllerId: number;
  /** Offset of the last metadata record applied (-1 when none). */
  readonly metadataOffset: bigint;
  brokers(): readonly BrokerEndpoint[];
  /** The brokers that are not fenced (what Metadata and DescribeCluster list). */
  aliveBrokers(): readonly BrokerEndpoint[];
  /** Finalized feature levels from the metadata log's FeatureLevelRecords (absent: none written). */
  readonly finalizedFeatures?: ReadonlyMap<string, number>;
  topic(name: string): TopicView | undefined;
  topicById(topicId: string): TopicView | undefined;
  topics(): Iterable<TopicView>;
}

/** Reads broker-level configuration by Kafka name (`num.partitions`, ...), defaults applied. */
export interface BrokerConfigView {
  getString(name: string): string;
  getNumber(name: string): number;
  getBoolean(name: string): boolean;
}

/** What `TopicAdmin.createTopic` is asked for (Kafka's CreateTopics fields). */
export interface CreateTopicSpec {
  readonly name: string;
  /** -1: the broker's `num.partitions`. */
  readonly numPartitions: number;
  /** -1: the broker's `default.replication.factor`. */
  readonly replicationFactor: number;
  /** Explicit replica assignment per partition index (empty when none). */
  readonly assignments?: readonly (readonly number[])[];
  readonly configs?: ReadonlyMap<string, string | null>;
  readonly validateOnly?: boolean;
  /** Internal topics (`__consumer_offsets`) may use the reserved `__` prefix. */
  readonly internal?: boolean;
  /**
   * Already forwarded to this node as the active controller: refused here (NOT_CONTROLLER), it is
   * answered so and not sent on, as Kafka's controller answers and its sender retries.
   */
  readonly forwarded?: boolean;
}

/** The outcome of an admin operation, as Kafka reports it per topic. */
export interface AdminResult {
  /** 0 when the operation succeeded (or would, under validate-only). */
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** Topic creation and deletion, through the metadata log. */
export interface TopicAdmin {
  createTopic(spec: CreateTopicSpec): Promise<AdminResult & { topic?: TopicView }>;
  deleteTopic(name: string): Promise<AdminResult>;
}

/** A batch as the produce path hands it to the idempotent-producer check. */
export interface ProducerBatchInfo {
  readonly topic: string;
  readonly partition: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** `baseSequence + recordCount - 1`, wrapping at 2^31 as Kafka does. */
  readonly lastSequence: number;
  readonly recordCount: number;
  readonly isTransactional: boolean;
  /**
   * A transactional batch of transaction version 2 (Produce v12+, KIP-890 part 2: the epoch is
   * bumped on every transaction, so each transaction's sequences start at 0 on every partition).
   */
  readonly supportsEpochBump?: boolean;
}

/** What the idempotent-producer check decides for one batch. */
export type ProducerAppendDecision =
  | { readonly kind: 'append' }
  /** The batch was already written (a retry): answer with its original offsets, append nothing. */
  | { readonly kind: 'duplicate'; readonly baseOffset: bigint; readonly logAppendTimeMs: bigint }
  /** Refuse the batch with this error code (OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, ...). */
  | { readonly kind: 'error'; readonly errorCode: number; readonly errorMessage: string | null };

/**
 * The idempotent-producer sequence checks (src/coordinator/producer-state.ts, written by
 * the groups engineer). The produce path calls `checkAppend` for every batch with
 * producerId >= 0 before appending it, then `recordAppend` once it is in the log.
 */
export interface ProducerStateService {
  checkAppend(batch: ProducerBatchInfo): ProducerAppendDecision;
  recordAppend(batch: ProducerBatchInfo, baseOffset: bigint, lastOffset: bigint, timestampMs: bigint): void;
}

/** A typed key for an optional service another module installs (see `ServiceSlots`). */
export interface SlotKey<T> {
  readonly name: string;
  /** Never set: carries the slot's type. */
  readonly __type?: T;
}

export function slotKey<T>(name: string): SlotKey<T> {
  return { name };
}

/**
 * Optional services installed at start by broker extensions (the group coordinator,
 * the producer-state table). A handler whose service is absent answers the error Kafka
 * gives when it is not ready (COORDINATOR_NOT_AVAILABLE, ...).
 */
export interface ServiceSlots {
  get<T>(key: SlotKey<T>): T | undefined;
  set<T>(key: SlotKey<T>, value: T): void;
}

/** The slot the produce path reads its idempotent-producer checks from. */
export const PRODUCER_STATE: SlotKey<ProducerStateService> = slotKey<ProducerStateService>('producerState');

/**
 * A module that lives inside the broker's lifetime (the group coordinator): started
 * after the broker's own services, stopped before them, in reverse order.
 */
export interface BrokerExtension {
  readonly name: string;
  start(services: BrokerServices): void | Promise<void>;
  /** `services`: the broker stopping (a process may run several: tests, cluster nodes). */
  stop(services: BrokerServices): void | Promise<void>;
}

/** The services every handler gets in `RequestContext.broker`. */
export interface BrokerServices {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly config: BrokerConfigView;
  /** The current metadata image; read it again after an await, it may have been replaced. */
  metadata(): MetadataView;
  readonly topics: TopicAdmin;
  readonly partitions: PartitionRegistry;
  readonly slots: ServiceSlots;
  /** The data directory (one log dir for now). */
  readonly dataDir: string;
  /** The advertised API version ranges (the registry's declarations), for ApiVersions. */
  apiVersions(): readonly {
    readonly apiKey: number;
    readonly minVersion: number;
    readonly maxVersion: number;
  }[];
}

/** Local partition replicas, by topic name and partition index. */
export interface PartitionRegistry {
  get(topic: string, partitionIndex: number): LocalPartition | undefined;
}

/** A partition replica held by this broker (its log, high watermark and epoch). */
export interface LocalPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partitionIndex: number;
  readonly leaderEpoch: number;
  readonly logStartOffset: bigint;
  /** The offset the next appended record will get. */
  readonly logEndOffset: bigint;
  /** Consumers read only below it; on one node equal to the log end offset after an append. */
  readonly highWatermark: bigint;
}
