// The log a replica works on, and its in-memory implementation for unit tests and the simulator.
//
// The interface keeps the project's PartitionLog names (logEndOffset, highWatermark,
// endOffsetForEpoch, truncateTo, assignEpochStartOffset) so that an adapter over PartitionLog is a
// thin wrapper; the core does not use PartitionLog directly because its entries are record batches
// (the simulator would spend its time building and CRC-checking batches) and it has no notion of
// a flushed end offset, which the core needs to count only durable entries (see README).

import type { LogEntry } from './types.ts';

export class ReplicationInvariantError extends Error {
  override readonly name = 'ReplicationInvariantError';
}

export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

export interface ReplicaLog<V = string> {
  readonly logEndOffset: number;
  /** Entries below this survive a crash. */
  readonly flushedEndOffset: number;
  readonly highWatermark: number;
  latestEpoch(): number;
  /** Kafka's LeaderEpochFileCache.endOffsetFor. */
  endOffsetForEpoch(epoch: number): EpochEndOffset;
  assignEpochStartOffset(epoch: number, offset: number): void;
  appendAsLeader(value: V, epoch: number): LogEntry<V>;
  appendAsFollower(entries: readonly LogEntry<V>[]): void;
  read(fromOffset: number, countMax: number): LogEntry<V>[];
  entryAt(offset: number): LogEntry<V> | undefined;
  /** Removes every entry at or above `offset`. */
  truncateTo(offset: number): void;
  updateHighWatermark(offset: number): void;
  flush(): void;
}

export class MemoryReplicaLog implements ReplicaLog {
  #entries: LogEntry[] = [];
  #epochs: { epoch: number; startOffset: number }[] = [];
  #flushed = 0;
  #highWatermark = 0;

  get logEndOffset(): number {
    return this.#entries.length;
  }
  get flushedEndOffset(): number {
    return this.#flushed;
  }
  get highWatermark(): number {
    return this.#highWatermark;
  }

  latestEpoch(): number {
    return this.#epochs.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  epochEntries(): readonly { epoch: number; startOffset: number }[] {
    return this.#epochs;
  }

  endOffsetForEpoch(epoch: number): EpochEndOffset {
    if (epoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    if (epoch === this.latestEpoch()) return { epoch, endOffset: this.logEndOffset };
    const higher = this.#epochs.find((e) => e.epoch > epoch);
    if (higher === undefined) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    const floor = this.#epochs.findLast((e) => e.epoch <= epoch);
    return { epoch: floor === undefined ? epoch : floor.epoch, endOffset: higher.startOffset };
  }

  assignEpochStartOffset(epoch: number, offset: number): void {
    const latest = this.#epochs.at(-1);
    if (latest !== undefined && epoch < latest.epoch)
      throw new ReplicationInvariantError(`leader epoch going back: ${epoch} after ${latest.epoch}`);
    if (latest !== undefined && epoch === latest.epoch) return;
    this.#epochs.push({ epoch, startOffset: offset });
  }

  appendAsLeader(value: string, epoch: number): LogEntry {
    this.assignEpochStartOffset(epoch, this.logEndOffset);
    const entry: LogEntry = { offset: this.logEndOffset, epoch, value };
    this.#entries.push(entry);
    return entry;
  }

  appendAsFollower(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.offset !== this.logEndOffset)
        throw new ReplicationInvariantError(
          `follower append at offset ${entry.offset}, log end is ${this.logEndOffset}`,
        );
      this.assignEpochStartOffset(entry.epoch, entry.offset);
      this.#entries.push(entry);
    }
  }

  read(fromOffset: number, countMax: number): LogEntry[] {
    return this.#entries.slice(fromOffset, fromOffset + countMax);
  }

  entryAt(offset: number): LogEntry | undefined {
    return this.#entries[offset];
  }

  truncateTo(offset: number): void {
    if (offset >= this.logEndOffset) {
      // As Kafka's UnifiedLog.truncateTo: the epoch cache is truncated even when no entry goes, since
      // a former leader may hold an epoch it assigned at its log end without appending to it.
      this.#epochs = this.#epochs.filter((e) => e.startOffset < this.logEndOffset);
      return;
    }
    if (offset < this.#highWatermark)
      throw new ReplicationInvariantError(
        `truncation to ${offset} below the high watermark ${this.#highWatermark}`,
      );
    this.#entries.length = offset;
    this.#flushed = Math.min(this.#flushed, offset);
    this.#epochs = this.#epochs.filter((e) => e.startOffset < offset);
  }

  updateHighWatermark(offset: number): void {
    if (offset > this.logEndOffset)
      throw new ReplicationInvariantError(`high watermark ${offset} above the log end ${this.logEndOffset}`);
    this.#highWatermark = offset;
  }

  flush(): void {
    this.#flushed = this.#entries.length;
  }

  /** A machine crash: unflushed entries are lost, the HW (not persisted) starts again at 0. */
  crash(): void {
    this.#entries.length = this.#flushed;
    this.#highWatermark = 0;
    this.#epochs = [];
    for (const entry of this.#entries) this.assignEpochStartOffset(entry.epoch, entry.offset);
  }
}
