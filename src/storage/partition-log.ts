// The one interface of a partition's log. Two implementations share one code path:
// `openFilePartitionLog` (segments on disk through node:fs) and `openMemoryPartitionLog`
// (the same segments on a MemoryFs). See README.md.

import type { BatchInfo } from '../records/index.ts';
import type { LogConfig } from './config.ts';
import type { EpochEntry } from './leader-epoch-cache.ts';
import type { ProducerStateView } from './producer-log-state.ts';

export interface AppendResult {
  /** Offset given to the first record appended. */
  baseOffset: number;
  /** Offset of the last record appended. */
  lastOffset: number;
  /** The stamped time under LogAppendTime, else -1 (the Produce response's logAppendTimeMs). */
  logAppendTimeMs: number;
  /** Largest batch max timestamp appended. */
  maxTimestamp: number;
  /** Log start offset after the append (the Produce response's logStartOffset). */
  logStartOffset: number;
}

export interface ReadOptions {
  /** Stop after this many bytes of whole batches (partition max bytes). */
  maxBytes: number;
  /** Exclusive upper bound: batches whose last offset is at or past it are not returned. Default LEO. */
  maxOffset?: number;
  /** Return the first batch even when it is larger than maxBytes (Kafka's rule for the first partition). Default true. */
  minOneBatch?: boolean;
}

export interface ReadResult {
  /** Whole batches as stored, possibly starting before the fetch offset; empty when nothing to return. */
  records: Buffer;
  /** Base offset of the first batch returned, -1 when empty. */
  firstOffset: number;
  /** The offset after the last batch returned (where the next fetch continues), or the fetch offset. */
  nextOffset: number;
}

export interface TimestampOffset {
  offset: number;
  timestamp: number;
  leaderEpoch: number;
}

export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
  logStartOffset: number;
}

export interface CompactionResult {
  /** Segments rewritten. */
  cleanedSegments: number;
  recordsRemoved: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** How producer state was loaded at open or after the last truncation. */
export interface ProducerStateLoad {
  /** Offset of the snapshot loaded, -1 when none (replayed from the first segment). */
  readonly snapshotOffset: number;
  /** Batches read after it (each once). */
  readonly replayedBatches: number;
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset still readable. */
  readonly logStartOffset: number;
  /** Offset the next appended record gets. */
  readonly logEndOffset: number;
  /** Set by the broker (replication); never above logEndOffset. */
  readonly highWatermark: number;
  /** Offset below which everything is known durable (fsynced). */
  readonly recoveryPoint: number;
  /** Bytes of all segments. */
  readonly sizeBytes: number;
  readonly segmentCount: number;
  readonly config: Readonly<LogConfig>;
  updateConfig(overrides: Partial<LogConfig>): void;

  /** Producer state as the log's appends left it (leader and follower): what a new leader loads, without a data scan. */
  producerStateView(): ProducerStateView;
  readonly producerStateLoad: ProducerStateLoad;
  /** Drops producers idle for `expirationMs` with no open transaction (producer.id.expiration.ms); returns how many. */
  expireProducers(nowMs: number, expirationMs: number): number;

  /**
   * Appends batches a leader received (validated by `validateProducePayload`, whose
   * `batches` may be passed to skip re-reading headers). Rewrites in place each batch's
   * base offset, partition leader epoch and, under LogAppendTime, its max timestamp; then
   * writes the bytes with one write. `records` must not be reused by the caller afterwards.
   */
  appendAsLeader(records: Buffer, leaderEpoch: number, batches?: readonly BatchInfo[]): AppendResult;
  /**
   * Appends batches whose offsets and epochs were assigned by a leader (replication,
   * tools). Batches are CRC-checked; offsets must not go back (gaps are allowed: compaction).
   */
  appendAsFollower(records: Buffer): AppendResult;

  /**
   * Whole batches from the one holding `fetchOffset`. Throws OffsetOutOfRangeError when
   * the offset is below logStartOffset or above logEndOffset.
   */
  read(fetchOffset: number, options: ReadOptions): ReadResult;

  /** Sets the high watermark (may move back, as on a follower); clamped up to logStartOffset; asserts ≤ LEO. */
  updateHighWatermark(offset: number): number;
  /** Moves the high watermark forward only (the leader's rule); returns whether it moved. */
  maybeIncrementHighWatermark(offset: number): boolean;

  /** ListOffsets by time: the first record with timestamp ≥ `timestampMs`, or null. */
  offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null>;
  /** ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp, or null when empty. */
  maxTimestampOffset(): Promise<TimestampOffset | null>;

  /** Leader epochs. */
  latestEpoch(): number;
  epochEntries(): readonly EpochEntry[];
  /** A new leader records that `epoch` starts at its LEO (KIP-101); also used by followers. */
  assignEpochStartOffset(epoch: number, startOffset: number): void;
  /** OffsetForLeaderEpoch: Kafka's semantics (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };

  /** Removes every batch holding offsets ≥ `offset` (follower truncation). */
  truncateTo(offset: number): void;
  /** Empties the log and restarts it at `offset` (a follower far behind the leader's log start). */
  truncateFullyAndStartAt(offset: number): void;
  /** DeleteRecords: moves the log start to `offset` (≤ high watermark); returns the new log start. */
  deleteRecordsBefore(offset: number): number;

  /** Starts a new active segment now. */
  roll(): void;
  /** retention.ms / retention.bytes (cleanup.policy includes delete); call periodically. */
  enforceRetention(): RetentionResult;
  /** cleanup.policy includes compact: latest value per key below the active segment. */
  compact(): Promise<CompactionResult>;

  /** fsyncs unflushed segments and moves the recovery point to LEO. */
  flush(): void;
  /** Applies flush.messages / flush.ms; call periodically. Returns whether it flushed. */
  maybeFlush(): boolean;
  /** Writes indexes and checkpoints, marks the shutdown clean, closes files. */
  close(): void;
  /**
   * A crash (a killed process): closes the files and nothing else. No index, checkpoint or
   * fsync is written, so the checkpoint still says unclean and the next open recovers every
   * segment from the recovery point on; the bytes are what write() gave the OS.
   */
  abandon(): void;
  /** Segments the open scanned because the last shutdown was not clean (0 after a clean close). */
  readonly recoveredSegments: number;
  /** Closes and removes the partition's directory (DeleteTopics). */
  delete(): void;
}
