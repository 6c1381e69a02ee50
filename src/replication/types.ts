// Plain values exchanged by the partition replication core: follower Fetch, its answer, the
// controller's partition state and AlterPartition. No socket, clock or randomness here: they are
// passed in (ReplicationClock, the send function, the controller interface).

/** Kafka's error codes, by their protocol numbers. */
export const ErrorCode = {
  NONE: 0,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  INVALID_FETCH_SESSION_EPOCH: 71,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  INVALID_UPDATE_VERSION: 96,
  INELIGIBLE_REPLICA: 107,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const NO_LEADER = -1;

/**
 * One entry of the partition: in the simulator one record (its offset is its position); in the
 * broker one run of record batches read from the log (`offset` its first offset, `value` the bytes).
 * `epoch` is the leader epoch it was written in.
 */
export interface LogEntry<V = string> {
  readonly offset: number;
  readonly epoch: number;
  readonly value: V;
}

/** The controller's view of one partition (what a PartitionRecord/PartitionChangeRecord replays to). */
export interface PartitionState {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

/** Follower Fetch for one partition (Fetch v15+: ReplicaState{ReplicaId, ReplicaEpoch}). */
export interface FetchRequest {
  readonly type: 'fetch';
  readonly partition: number;
  readonly replicaId: number;
  readonly replicaEpoch: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  /** Matches an answer to its request: a late answer to an earlier request is ignored. */
  readonly correlationId: number;
}

export interface FetchResponse<V = string> {
  readonly type: 'fetch-response';
  readonly partition: number;
  readonly errorCode: ErrorCodeValue;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  readonly entries: readonly LogEntry<V>[];
  readonly correlationId: number;
}

/** AlterPartition v3 for one partition. */
export interface AlterPartitionRequest {
  readonly type: 'alter-partition';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsrWithEpochs: readonly { readonly brokerId: number; readonly brokerEpoch: number }[];
  readonly correlationId: number;
}

export interface AlterPartitionResponse {
  readonly type: 'alter-partition-response';
  readonly partition: number;
  readonly errorCode: ErrorCodeValue;
  /** The partition's state after the change (or as it is, on error), null if unknown. */
  readonly state: PartitionState | null;
  readonly correlationId: number;
}

/** The controller pushes committed partition state to brokers (what replaying metadata does). */
export interface PartitionStateMessage {
  readonly type: 'partition-state';
  readonly state: PartitionState;
}

export type ReplicaMessage<V = string> =
  | FetchRequest
  | FetchResponse<V>
  | AlterPartitionResponse
  | PartitionStateMessage;

export interface ReplicationClock {
  nowMs(): number;
}

/** Named after Kafka's settings; times in the simulator are scaled down. */
export interface ReplicationConfig {
  /** replica.lag.time.max.ms (Kafka: 30000). */
  readonly replicaLagTimeMaxMs: number;
  /** min.insync.replicas. */
  readonly minInsyncReplicas: number;
  /** How long a follower waits after an empty fetch answer (stands for Fetch's long poll, replica.fetch.wait.max.ms). */
  readonly fetchIdleMs: number;
  /** How long a follower waits after an error answer (replica.fetch.backoff.ms); `fetchIdleMs` when absent. */
  readonly fetchErrorBackoffMs?: number;
  /** A request with no answer after this is given up (request.timeout.ms / replica.socket.timeout.ms). */
  readonly requestTimeoutMs: number;
  /**
   * After a refused AlterPartition (NOT_CONTROLLER, INELIGIBLE_REPLICA, no controller reachable…) the
   * leader sends the next one no sooner than this, doubling per refusal in a row up to
   * `alterPartitionBackoffMaxMs` (Kafka's retry.backoff.ms 100 and retry.backoff.max.ms 1000).
   * Without it a leader resent on every tick: 890 times per partition in 90 s.
   */
  readonly alterPartitionBackoffMs?: number;
  readonly alterPartitionBackoffMaxMs?: number;
  /** An acks=all append not committed after this is answered REQUEST_TIMED_OUT. */
  readonly produceTimeoutMs: number;
  /** Entries per follower Fetch answer (stands for replica.fetch.max.bytes). */
  readonly fetchEntriesMax: number;
  /** acks=all appends waiting for the HW at once; more are refused (a named bound). */
  readonly pendingAppendsMax: number;
}

export const DEFAULT_REPLICATION_CONFIG: ReplicationConfig = {
  replicaLagTimeMaxMs: 30_000,
  minInsyncReplicas: 2,
  fetchIdleMs: 500,
  requestTimeoutMs: 30_000,
  produceTimeoutMs: 30_000,
  fetchEntriesMax: 500,
  pendingAppendsMax: 10_000,
  alterPartitionBackoffMs: 100,
  alterPartitionBackoffMaxMs: 1_000,
};

export interface AppendResult {
  readonly errorCode: ErrorCodeValue;
  /** The record's offset, -1 if nothing was written. */
  readonly offset: number;
  readonly message: string;
}
