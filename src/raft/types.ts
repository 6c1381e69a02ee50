// The values the Raft replica exchanges with the outside: messages, configuration, and the
// interfaces through which it sees time, randomness and the network. Nothing here does I/O.

/**
 * One entry of the metadata log: a batch of records at consecutive offsets, as Kafka's metadata log
 * holds a record batch (a batch of N records takes N offsets). `offset` is the batch's base offset,
 * a JavaScript number: exact up to 2^53, far beyond any metadata log. Epochs change only between
 * batches and followers fetch from their log end, so every offset the core handles (fetch offsets,
 * the high watermark, divergence points, truncation points, snapshot ends) is a batch boundary.
 */
export interface LogEntry {
  readonly offset: number;
  readonly epoch: number;
  /** At least one. Opaque to Raft: metadata records in the broker, test payloads in the simulator. */
  readonly records: readonly Uint8Array[];
  /** True for the entry a new leader writes at the start of its epoch (Kafka's LeaderChangeMessage). */
  readonly control: boolean;
}

/** The offset after the entry's last record. */
export function entryEndOffset(entry: LogEntry): number {
  return entry.offset + entry.records.length;
}

/** A snapshot covers every offset below `endOffset`; `epoch` is the epoch of the entry at endOffset - 1. */
export interface SnapshotId {
  readonly endOffset: number;
  readonly epoch: number;
}

export const NO_SNAPSHOT: SnapshotId = { endOffset: 0, epoch: 0 };

/** Error codes the quorum answers with; the same numbers as Kafka's. */
export const RaftError = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  NOT_LEADER_OR_FOLLOWER: 6,
  INCONSISTENT_VOTER_SET: 38,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  POSITION_OUT_OF_RANGE: 99,
  SNAPSHOT_NOT_FOUND: 98,
} as const;

export interface VoteRequest {
  readonly kind: 'VoteRequest';
  /** The epoch the candidate runs for (for a pre-vote: its current epoch + 1, not yet taken). */
  readonly candidateEpoch: number;
  readonly candidateId: number;
  readonly lastOffsetEpoch: number;
  /** The candidate's log end offset. */
  readonly lastOffset: number;
  /** KIP-996: a pre-vote asks "would you vote for me?" and changes no state on either side. */
  readonly preVote: boolean;
}

export interface VoteResponse {
  readonly kind: 'VoteResponse';
  readonly errorCode: number;
  /** The voter's epoch and the leader it knows (-1 none). */
  readonly leaderEpoch: number;
  readonly leaderId: number;
  readonly voteGranted: boolean;
  /** Echo of the request, so a late answer to an older round is recognised. */
  readonly candidateEpoch: number;
  readonly preVote: boolean;
}

export interface BeginQuorumEpochRequest {
  readonly kind: 'BeginQuorumEpochRequest';
  readonly leaderEpoch: number;
  readonly leaderId: number;
}

export interface BeginQuorumEpochResponse {
  readonly kind: 'BeginQuorumEpochResponse';
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly leaderId: number;
}

export interface EndQuorumEpochRequest {
  readonly kind: 'EndQuorumEpochRequest';
  readonly leaderEpoch: number;
  readonly leaderId: number;
  /** Voters the resigning leader would like to succeed it, best first (by fetch offset). */
  readonly preferredSuccessors: readonly number[];
}

export interface EndQuorumEpochResponse {
  readonly kind: 'EndQuorumEpochResponse';
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly leaderId: number;
}

export interface FetchRequest {
  readonly kind: 'FetchRequest';
  /** Matches answer to request: a follower accepts only the answer to its latest fetch. */
  readonly fetchId: number;
  readonly replicaId: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  /**
   * Kafka's FetchRequest.MaxWaitMs: how long the leader may hold a fetch that has nothing to
   * return before answering it anyway (0: answer at once).
   */
  readonly maxWaitMs: number;
}

export interface FetchResponse {
  readonly kind: 'FetchResponse';
  readonly fetchId: number;
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly leaderId: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly entries: readonly LogEntry[];
  /** Set when the follower's log diverges: truncate to at most `endOffset` of `epoch`. */
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  /** Set when the fetch offset is below the leader's log start: fetch this snapshot first. */
  readonly snapshotId: SnapshotId | null;
}

export interface FetchSnapshotRequest {
  readonly kind: 'FetchSnapshotRequest';
  readonly replicaId: number;
  readonly currentLeaderEpoch: number;
  readonly snapshotId: SnapshotId;
  readonly position: number;
}

export interface FetchSnapshotResponse {
  readonly kind: 'FetchSnapshotResponse';
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly leaderId: number;
  readonly snapshotId: SnapshotId;
  readonly size: number;
  readonly position: number;
  readonly bytes: Uint8Array;
}

export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | BeginQuorumEpochRequest
  | BeginQuorumEpochResponse
  | EndQuorumEpochRequest
  | EndQuorumEpochResponse
  | FetchRequest
  | FetchResponse
  | FetchSnapshotRequest
  | FetchSnapshotResponse;

/** Time as the replica sees it: milliseconds on a monotonic clock the caller controls. */
export interface RaftClock {
  nowMs(): number;
}

/** Randomness, seeded in the simulator: a float in [0, 1). */
export interface RaftRandom {
  next(): number;
}

/** Where messages go. Sending never blocks and may silently lose the message. */
export type RaftSend = (to: number, message: RaftMessage) => void;

/** Timing and size limits, named after Kafka's `controller.quorum.*` settings where one exists. */
export interface RaftConfig {
  /** controller.quorum.fetch.timeout.ms: a follower that has not heard from its leader for this long runs for election. */
  readonly fetchTimeoutMs: number;
  /** controller.quorum.election.timeout.ms: how long a candidate waits for votes. */
  readonly electionTimeoutMs: number;
  /** controller.quorum.election.backoff.max.ms: bound of the random wait before a new election. */
  readonly electionBackoffMaxMs: number;
  /**
   * The long poll: the `maxWaitMs` a follower puts in its Fetch, so the leader holds a fetch that
   * has nothing new for it until the log grows, the high watermark moves, leadership ends, or this
   * much time passes (Kafka's KafkaRaftClient fetchMaxWaitMs, 500 ms). 0 turns the long poll off:
   * the leader answers at once and the follower waits `fetchIdleMs` after an empty answer.
   */
  readonly fetchMaxWaitMs: number;
  /** How long a follower waits before fetching again after an error answer, or an empty one when `fetchMaxWaitMs` is 0. */
  readonly fetchIdleMs: number;
  /**
   * How long a follower waits for the answer to one fetch before sending another (Kafka's
   * controller.quorum.request.timeout.ms is 2000 over TCP, which reports a lost connection; a lost
   * message here is only noticed by this timeout, so it is shorter than the fetch timeout). It
   * must exceed `fetchMaxWaitMs`, or every held fetch would be sent again before its answer.
   */
  readonly requestTimeoutMs: number;
  /** How often a leader repeats BeginQuorumEpoch to voters that have not fetched yet. */
  readonly beginQuorumRetryMs: number;
  /**
   * controller.quorum.append.linger.ms: how long a leader lets proposals gather before it flushes
   * them (one fsync for many). Unflushed proposals are lost if the leader crashes, and are never
   * acknowledged before they are flushed.
   */
  readonly appendLingerMs: number;
  /** Entries returned by one fetch at most. */
  readonly fetchEntriesMax: number;
  /** Bytes returned by one FetchSnapshot at most. */
  readonly fetchSnapshotBytesMax: number;
}

export const DEFAULT_RAFT_CONFIG: RaftConfig = {
  fetchTimeoutMs: 2000,
  electionTimeoutMs: 1000,
  electionBackoffMaxMs: 1000,
  fetchMaxWaitMs: 500,
  fetchIdleMs: 50,
  requestTimeoutMs: 1000,
  beginQuorumRetryMs: 500,
  appendLingerMs: 25,
  fetchEntriesMax: 64,
  fetchSnapshotBytesMax: 64 * 1024,
};

/** The role a replica plays in its current epoch. */
export type RaftRole = 'unattached' | 'prospective' | 'candidate' | 'leader' | 'follower' | 'resigned';

/** What the broker is told when the known leader changes. */
export interface LeaderAndEpoch {
  readonly epoch: number;
  /** -1 while no leader is known. */
  readonly leaderId: number;
}
