// One segment of a partition log: `<base offset>.log` holding batches exactly as on the
// wire, and its sparse `.index` (int32 offset relative to the base, int32 position) and
// `.timeindex` (int64 timestamp, int32 relative offset). Index entries are kept in memory
// and written to their files at flush, roll and close; after an unclean shutdown the
// indexes of the segments past the recovery point are rebuilt from the log.

import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_MIN,
  BATCH_LOG_OVERHEAD_BYTES,
  checkBatchAt,
  OFFSET,
  readInt64,
} from '../records/index.ts';
import { invariant } from './errors.ts';
import type { FileHandle, StorageFs } from './fs.ts';

export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;
/** Bytes read at a time when scanning a segment (a batch larger than this is read whole). */
export const SCAN_CHUNK_BYTES = 1024 * 1024;
/** Offsets in a segment are stored as int32 deltas from its base offset. */
export const RELATIVE_OFFSET_MAX = 2 ** 31 - 1;

export function segmentFileName(
  baseOffset: number,
  suffix: '.log' | '.index' | '.timeindex' | '.txnindex',
): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** What a scan learns about one batch without decoding its records. */
export interface ScannedBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  partitionLeaderEpoch: number;
  attributes: number;
  /** The bytes holding the batch (whole when the scan verified CRCs), and where in them. */
  chunk: Buffer;
  chunkPosition: number;
}

export interface ScanResult {
  /** Position after the last good batch visited (or where the visitor stopped). */
  endPosition: number;
  /** Why the scan stopped before the end of the file, or null. */
  problem: string | null;
}

/** Batch metadata the log hands to `append` (computed from the validated headers). */
export interface AppendedBatch {
  position: number; // within the appended buffer
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export class LogSegment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  /** Aborted transactions whose marker is in this segment (src/storage/producer-snapshot.ts). */
  readonly txnIndexPath: string;
  readonly #fs: StorageFs;
  #fd: FileHandle;
  /** Bytes in the .log file. */
  size = 0;
  /** Offset after the last batch (the segment's end offset); baseOffset when empty. */
  nextOffset: number;
  /** Largest batch max timestamp, -1 when empty. */
  maxTimestamp = -1;
  /** Base offset of the batch holding maxTimestamp, -1 when empty. */
  offsetOfMaxTimestamp = -1;
  /** Clock time of the first append in this process, or first batch timestamp after reopen (segment.ms). */
  rollBaseMs = -1;
  /** Sparse offset index: batch base offsets and positions, ascending. */
  indexOffsets: number[] = [];
  indexPositions: number[] = [];
  /** Sparse time index: max timestamp so far and the base offset of the batch indexed. */
  timeIndexTimestamps: number[] = [];
  timeIndexOffsets: number[] = [];
  #indexEntriesWritten = 0;
  #timeIndexEntriesWritten = 0;
  #bytesSinceIndexEntry = 0;
  readonly #indexIntervalBytes: number;

  constructor(fs: StorageFs, dir: string, baseOffset: number, indexIntervalBytes: number) {
    this.#fs = fs;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.logPath = `${dir}/${segmentFileName(baseOffset, '.log')}`;
    this.indexPath = `${dir}/${segmentFileName(baseOffset, '.index')}`;
    this.timeIndexPath = `${dir}/${segmentFileName(baseOffset, '.timeindex')}`;
    this.txnIndexPath = `${dir}/${segmentFileName(baseOffset, '.txnindex')}`;
    this.#indexIntervalBytes = indexIntervalBytes;
    this.#fd = fs.open(this.logPath);
    this.size = fs.size(this.#fd);
  }

  get indexBytes(): number {
    return this.indexOffsets.length * OFFSET_INDEX_ENTRY_BYTES;
  }

  /** Appends `buf` (whole batches, offsets assigned) at the end: one write. */
  append(buf: Uint8Array, batches: readonly AppendedBatch[], nowMs: number): void {
    const position = this.size;
    this.#fs.write(this.#fd, buf, 0, buf.length, position);
    this.size += buf.length;
    if (this.rollBaseMs < 0) this.rollBaseMs = nowMs;
    for (const b of batches)
      this.#track(b.baseOffset, b.lastOffset, b.maxTimestamp, position + b.position, b.size);
  }

  /** Updates end offset, max timestamp and the sparse indexes for one batch. */
  #track(baseOffset: number, lastOffset: number, maxTimestamp: number, position: number, size: number): void {
    invariant(
      baseOffset >= this.nextOffset,
      () => `batch at ${baseOffset} below segment end ${this.nextOffset}`,
    );
    invariant(
      lastOffset - this.baseOffset <= RELATIVE_OFFSET_MAX,
      () => `offset ${lastOffset} beyond segment range`,
    );
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (position > 0 && this.#bytesSinceIndexEntry >= this.#indexIntervalBytes) {
      this.indexOffsets.push(baseOffset);
      this.indexPositions.push(position);
      if (this.maxTimestamp > (this.timeIndexTimestamps.at(-1) ?? -1)) {
        this.timeIndexTimestamps.push(this.maxTimestamp);
        this.timeIndexOffsets.push(baseOffset);
      }
      this.#bytesSinceIndexEntry = 0;
    }
    this.#bytesSinceIndexEntry += size;
    this.nextOffset = lastOffset + 1;
  }

  /** Reads `length` bytes at `position` (clamped to the segment). */
  read(position: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.size - position));
    const buf = Buffer.allocUnsafe(n);
    const got = this.#fs.read(this.#fd, buf, 0, n, position);
    return got === n ? buf : buf.subarray(0, got);
  }

  /** Position from which to scan for `offset`: the floor entry of the sparse index. */
  lookupPosition(offset: number): number {
    let lo = 0;
    let hi = this.indexOffsets.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.indexOffsets[mid]! <= offset) {
        found = this.indexPositions[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Position from which to scan for the first record with timestamp >= `timestampMs`. */
  lookupTimestampPosition(timestampMs: number): number {
    // The last entry whose timestamp is below the target: every record before its batch is older.
    let lo = 0;
    let hi = this.timeIndexTimestamps.length - 1;
    let offset = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeIndexTimestamps[mid]! < timestampMs) {
        offset = this.timeIndexOffsets[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return offset < 0 ? 0 : this.lookupPosition(offset);
  }

  /**
   * Visits batches from `fromPosition`. With `verify`, each batch is checked whole
   * (structure and CRC) and the scan stops at the first bad one; without it only the
   * header and length are checked. The visitor returns false to stop.
   */
  scan(
    fromPosition: number,
    verify: boolean,
    visit: (batch: ScannedBatch) => boolean,
    chunkBytes = SCAN_CHUNK_BYTES,
  ): ScanResult {
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    let pos = fromPosition;
    const ensure = (length: number): boolean => {
      if (pos + length > this.size) return false;
      if (pos >= chunkStart && pos + length <= chunkStart + chunk.length) return true;
      chunk = this.read(pos, Math.max(chunkBytes, length));
      chunkStart = pos;
      return chunk.length >= length;
    };
    while (pos < this.size) {
      if (!ensure(BATCH_HEADER_BYTES)) return { endPosition: pos, problem: `torn batch header at ${pos}` };
      let at = pos - chunkStart;
      const batchLength = chunk.readInt32BE(at + OFFSET.batchLength);
      if (batchLength < BATCH_LENGTH_MIN) return { endPosition: pos, problem: `bad batch length at ${pos}` };
      const size = batchLength + BATCH_LOG_OVERHEAD_BYTES;
      if (pos + size > this.size) return { endPosition: pos, problem: `torn batch at ${pos}` };
      if (verify) {
        if (!ensure(size)) return { endPosition: pos, problem: `short read at ${pos}` };
        at = pos - chunkStart;
        const check = checkBatchAt(chunk, at, at + size);
        if (!check.ok) return { endPosition: pos, problem: `${check.kind} at ${pos}: ${check.message}` };
      } else if (chunk[at + OFFSET.magic] !== 2) {
        return { endPosition: pos, problem: `bad magic at ${pos}` };
      }
      const baseOffset = readInt64(chunk, at + OFFSET.baseOffset);
      const batch: ScannedBatch = {
        position: pos,
        size,
        baseOffset,
        lastOffset: baseOffset + chunk.readInt32BE(at + OFFSET.lastOffsetDelta),
        maxTimestamp: readInt64(chunk, at + OFFSET.maxTimestamp),
        partitionLeaderEpoch: chunk.readInt32BE(at + OFFSET.partitionLeaderEpoch),
        attributes: chunk.readInt16BE(at + OFFSET.attributes),
        chunk,
        chunkPosition: at,
      };
      if (!visit(batch)) return { endPosition: pos, problem: null };
      pos += size;
    }
    return { endPosition: pos, problem: null };
  }

  /**
   * Rebuilds end offset, max timestamp and indexes by scanning from the start (verify:
   * CRC-check every batch). A bad tail is cut off; returns what was wrong, or null.
   */
  recover(verify: boolean, onBatch?: (batch: ScannedBatch) => void): string | null {
    this.#resetTracking();
    let problem: string | null = null;
    const result = this.scan(0, verify, (b) => {
      if (b.baseOffset < this.nextOffset || b.lastOffset < b.baseOffset) {
        problem = `offset ${b.baseOffset} at ${b.position} does not follow ${this.nextOffset - 1}`;
        return false;
      }
      if (b.lastOffset - this.baseOffset > RELATIVE_OFFSET_MAX) {
        problem = `offset ${b.lastOffset} beyond the segment's range`;
        return false;
      }
      this.#track(b.baseOffset, b.lastOffset, b.maxTimestamp, b.position, b.size);
      onBatch?.(b);
      return true;
    });
    problem ??= result.problem;
    if (result.endPosition < this.size) this.truncateToPosition(result.endPosition);
    this.#indexEntriesWritten = 0;
    this.#timeIndexEntriesWritten = 0;
    this.#fs.unlink(this.indexPath);
    this.#fs.unlink(this.timeIndexPath);
    return problem;
  }

  #resetTracking(): void {
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.indexOffsets = [];
    this.indexPositions = [];
    this.timeIndexTimestamps = [];
    this.timeIndexOffsets = [];
    this.#bytesSinceIndexEntry = 0;
  }

  /**
   * Loads the index files after a clean shutdown and scans only from the last indexed
   * batch to the end. Returns false when an index is missing or inconsistent (the caller
   * then calls `recover`).
   */
  loadIndexes(): boolean {
    const index = this.#fs.readFile(this.indexPath);
    const timeIndex = this.#fs.readFile(this.timeIndexPath);
    if (index === null || timeIndex === null) return this.size === 0 && this.#emptyIndexes();
    if (index.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return false;
    if (timeIndex.length % TIME_INDEX_ENTRY_BYTES !== 0) return false;
    this.#resetTracking();
    for (let p = 0; p < index.length; p += OFFSET_INDEX_ENTRY_BYTES) {
      const offset = this.baseOffset + index.readInt32BE(p);
      const position = index.readInt32BE(p + 4);
      if (this.indexOffsets.length > 0 && offset <= this.indexOffsets.at(-1)!) return false;
      if (
        offset < this.baseOffset ||
        position <= (this.indexPositions.at(-1) ?? 0) ||
        position >= this.size
      ) {
        return false;
      }
      this.indexOffsets.push(offset);
      this.indexPositions.push(position);
    }
    for (let p = 0; p < timeIndex.length; p += TIME_INDEX_ENTRY_BYTES) {
      const timestamp = readInt64(timeIndex, p);
      const offset = this.baseOffset + timeIndex.readInt32BE(p + 8);
      if (timestamp < (this.timeIndexTimestamps.at(-1) ?? -1) || offset < this.baseOffset) return false;
      this.timeIndexTimestamps.push(timestamp);
      this.timeIndexOffsets.push(offset);
    }
    // Check the last index entry points at a batch with that base offset, then scan the tail.
    const tailStart = this.indexPositions.at(-1) ?? 0;
    if (this.indexPositions.length > 0) {
      const header = this.read(tailStart, BATCH_HEADER_BYTES);
      if (header.length < BATCH_HEADER_BYTES || readInt64(header, 0) !== this.indexOffsets.at(-1))
        return false;
    }
    const lastTime = this.timeIndexTimestamps.length - 1;
    if (lastTime >= 0) {
      this.maxTimestamp = this.timeIndexTimestamps[lastTime]!;
      this.offsetOfMaxTimestamp = this.timeIndexOffsets[lastTime]!;
    }
    this.nextOffset = this.indexOffsets.at(-1) ?? this.baseOffset;
    let bad = false;
    const result = this.scan(tailStart, true, (b) => {
      if (b.baseOffset < this.nextOffset) {
        bad = true;
        return false;
      }
      if (b.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = b.maxTimestamp;
        this.offsetOfMaxTimestamp = b.baseOffset;
      }
      this.nextOffset = b.lastOffset + 1;
      this.#bytesSinceIndexEntry += b.size;
      return true;
    });
    if (bad || result.problem !== null || result.endPosition !== this.size) return false;
    this.#indexEntriesWritten = this.indexOffsets.length;
    this.#timeIndexEntriesWritten = this.timeIndexTimestamps.length;
    return true;
  }

  #emptyIndexes(): boolean {
    this.#resetTracking();
    return true;
  }

  /** The first batch's max timestamp (segment.ms after a reopen), -1 when empty. */
  firstBatchTimestamp(): number {
    if (this.size < BATCH_HEADER_BYTES) return -1;
    return readInt64(this.read(0, BATCH_HEADER_BYTES), OFFSET.maxTimestamp);
  }

  /** Cuts the log file at `position` (a batch boundary) and rebuilds the tracking state. */
  truncateToPosition(position: number): void {
    this.#fs.truncate(this.#fd, position);
    this.size = position;
  }

  /** Removes every batch holding offsets >= `offset`; returns the segment's new end offset. */
  truncateToOffset(offset: number): number {
    let cut = this.size;
    this.scan(this.lookupPosition(offset), false, (b) => {
      if (b.lastOffset >= offset) {
        cut = b.position;
        return false;
      }
      return true;
    });
    if (cut < this.size) {
      this.truncateToPosition(cut);
      this.recover(false);
    }
    return this.nextOffset;
  }

  /** Writes index entries not yet on disk. A final time-index entry records the max timestamp. */
  flushIndexes(finalEntry: boolean): void {
    if (finalEntry && this.maxTimestamp > (this.timeIndexTimestamps.at(-1) ?? -1)) {
      this.timeIndexTimestamps.push(this.maxTimestamp);
      this.timeIndexOffsets.push(this.offsetOfMaxTimestamp);
    }
    this.#writeEntries();
  }

  #writeEntries(): void {
    const pendingIndex = this.indexOffsets.length - this.#indexEntriesWritten;
    const pendingTime = this.timeIndexTimestamps.length - this.#timeIndexEntriesWritten;
    if (pendingIndex > 0 || !this.#fs.exists(this.indexPath)) {
      const buf = Buffer.alloc(pendingIndex * OFFSET_INDEX_ENTRY_BYTES);
      for (let i = 0; i < pendingIndex; i++) {
        const e = this.#indexEntriesWritten + i;
        buf.writeInt32BE(this.indexOffsets[e]! - this.baseOffset, i * 8);
        buf.writeInt32BE(this.indexPositions[e]!, i * 8 + 4);
      }
      const fd = this.#fs.open(this.indexPath);
      this.#fs.truncate(fd, this.#indexEntriesWritten * OFFSET_INDEX_ENTRY_BYTES);
      this.#fs.write(fd, buf, 0, buf.length, this.#indexEntriesWritten * OFFSET_INDEX_ENTRY_BYTES);
      this.#fs.close(fd);
      this.#indexEntriesWritten = this.indexOffsets.length;
    }
    if (pendingTime > 0 || !this.#fs.exists(this.timeIndexPath)) {
      const buf = Buffer.alloc(pendingTime * TIME_INDEX_ENTRY_BYTES);
      for (let i = 0; i < pendingTime; i++) {
        const e = this.#timeIndexEntriesWritten + i;
        const ts = this.timeIndexTimestamps[e]!;
        const high = Math.floor(ts / 4294967296);
        buf.writeInt32BE(high, i * 12);
        buf.writeUInt32BE(ts - high * 4294967296, i * 12 + 4);
        buf.writeInt32BE(this.timeIndexOffsets[e]! - this.baseOffset, i * 12 + 8);
      }
      const fd = this.#fs.open(this.timeIndexPath);
      this.#fs.truncate(fd, this.#timeIndexEntriesWritten * TIME_INDEX_ENTRY_BYTES);
      this.#fs.write(fd, buf, 0, buf.length, this.#timeIndexEntriesWritten * TIME_INDEX_ENTRY_BYTES);
      this.#fs.close(fd);
      this.#timeIndexEntriesWritten = this.timeIndexTimestamps.length;
    }
  }

  fsync(): void {
    this.#fs.fsync(this.#fd);
  }

  /** Appends one transaction-index entry (aborts are rare: the file is opened for each). */
  appendTxnIndex(entry: Uint8Array): void {
    const fd = this.#fs.open(this.txnIndexPath);
    try {
      this.#fs.write(fd, entry, 0, entry.length, this.#fs.size(fd));
    } finally {
      this.#fs.close(fd);
    }
  }

  /** Replaces the transaction index with `entries` (none: the file goes). */
  rewriteTxnIndex(entries: readonly Uint8Array[]): void {
    this.#fs.unlink(this.txnIndexPath);
    for (const entry of entries) this.appendTxnIndex(entry);
  }

  /** Makes the transaction index durable, when the segment has one. */
  fsyncTxnIndex(): void {
    if (!this.#fs.exists(this.txnIndexPath)) return;
    const fd = this.#fs.open(this.txnIndexPath);
    try {
      this.#fs.fsync(fd);
    } finally {
      this.#fs.close(fd);
    }
  }

  close(): void {
    this.#fs.close(this.#fd);
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.close();
    this.#fs.unlink(this.logPath);
    this.#fs.unlink(this.indexPath);
    this.#fs.unlink(this.timeIndexPath);
    this.#fs.unlink(this.txnIndexPath);
  }

  /** Replaces the .log file with `replacementPath` (compaction), keeping this object usable. */
  replaceWith(replacementPath: string): void {
    this.close();
    this.#fs.rename(replacementPath, this.logPath);
    this.#fd = this.#fs.open(this.logPath);
    this.size = this.#fs.size(this.#fd);
    this.recover(false);
  }
}
