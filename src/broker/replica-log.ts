/**
 * What a local partition replica needs from its log, and a minimal file-backed log
 * that provides it until the storage module's `PartitionLog` (segments, indexes,
 * retention, compaction) is wired in behind the same interface.
 *
 * `SingleFileLog`: batches appended as received (offsets already assigned) to one file,
 * an in-memory index of batch positions rebuilt at open by scanning the file; a torn or
 * corrupt tail (short batch, CRC mismatch) is truncated, so after a crash the log is a
 * valid prefix of what was written.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BATCH_LOG_OVERHEAD_BYTES, checkBatchAt, readBatchHeader } from '../records/index.ts';

/** One batch's place in the log. */
export interface BatchEntry {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly position: number;
  readonly size: number;
  readonly maxTimestamp: number;
  readonly leaderEpoch: number;
}

export interface ReplicaLog {
  readonly logStartOffset: number;
  /** The offset the next appended record gets. */
  readonly logEndOffset: number;
  /** Appends batches whose offsets and epochs are already assigned (contiguous from logEndOffset). */
  append(batches: Uint8Array, entries: readonly BatchEntry[]): void;
  /**
   * Bytes of whole batches starting with the one holding `offset`, stopping before
   * `maxOffset` (exclusive, the high watermark) and after `maxBytes` (at least one batch
   * when `minOneBatch`).
   */
  read(offset: number, maxOffset: number, maxBytes: number, minOneBatch: boolean): Uint8Array | null;
  /** The first batch with maxTimestamp >= timestampMs (ListOffsets by time). */
  findByTimestamp(timestampMs: number): BatchEntry | undefined;
  /** The batch holding the largest timestamp (ListOffsets MAX_TIMESTAMP). */
  maxTimestampBatch(): BatchEntry | undefined;
  /** The end offset of `epoch` (start of the next higher epoch, or LEO) and the epoch found. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  advanceLogStart(offset: number): void;
  /** Bytes the log holds on disk. */
  readonly sizeBytes: number;
  flush(): void;
  close(): void;
}

const READ_CHUNK_MAX_BYTES = 64 * 1024 * 1024;

export class SingleFileLog implements ReplicaLog {
  readonly #fd: number;
  readonly #entries: BatchEntry[] = [];
  #fileBytes = 0;
  #logStartOffset = 0;
  #logEndOffset = 0;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens (creating) the log in `dir`, recovering a torn or corrupt tail. */
  static open(dir: string, log: (message: string) => void = () => {}): SingleFileLog {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, '00000000000000000000.log');
    const fd = openSync(path, 'a+');
    const replica = new SingleFileLog(fd);
    replica.#recover(path, log);
    const start = readStartOffset(dir);
    if (start > replica.#logStartOffset) replica.#logStartOffset = Math.min(start, replica.#logEndOffset);
    replica.#startFile = join(dir, 'log-start-offset');
    return replica;
  }

  #startFile = '';

  #recover(path: string, log: (message: string) => void): void {
    const size = fstatSync(this.#fd).size;
    let position = 0;
    const header = Buffer.allocUnsafe(61);
    let buffer = Buffer.allocUnsafe(1024 * 1024);
    while (position < size) {
      if (size - position < 61) break;
      readSync(this.#fd, header, 0, 61, position);
      const batchSize = header.readInt32BE(8) + BATCH_LOG_OVERHEAD_BYTES;
      if (batchSize < 61 || position + batchSize > size) break;
      if (buffer.length < batchSize) buffer = Buffer.allocUnsafe(batchSize);
      readSync(this.#fd, buffer, 0, batchSize, position);
      const check = checkBatchAt(buffer, 0, batchSize);
      if (!check.ok) break;
      const h = check.batch.header;
      if (this.#entries.length > 0 && h.baseOffset !== this.#logEndOffset) break;
      this.#entries.push({
        baseOffset: h.baseOffset,
        lastOffset: h.baseOffset + h.lastOffsetDelta,
        position,
        size: batchSize,
        maxTimestamp: h.maxTimestamp,
        leaderEpoch: h.partitionLeaderEpoch,
      });
      if (this.#entries.length === 1) this.#logStartOffset = h.baseOffset;
      this.#logEndOffset = h.baseOffset + h.lastOffsetDelta + 1;
      position += batchSize;
    }
    if (position < size) {
      log(`${path}: truncating a torn or corrupt tail of ${size - position} bytes at position ${position}`);
      ftruncateSync(this.#fd, position);
    }
    this.#fileBytes = position;
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }

  get logEndOffset(): number {
    return this.#logEndOffset;
  }

  get sizeBytes(): number {
    return this.#fileBytes;
  }

  append(batches: Uint8Array, entries: readonly BatchEntry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.baseOffset !== this.#logEndOffset) {
      throw new Error(`append at offset ${first.baseOffset} but the log ends at ${this.#logEndOffset}`);
    }
    let written = 0;
    while (written < batches.length) {
      written += writeSync(this.#fd, batches, written, batches.length - written, this.#fileBytes + written);
    }
    for (const entry of entries) {
      this.#entries.push({ ...entry, position: this.#fileBytes + entry.position });
    }
    this.#fileBytes += batches.length;
    this.#logEndOffset = entries[entries.length - 1]!.lastOffset + 1;
  }

  /** Index of the batch holding `offset` (or the first after it). */
  #indexOf(offset: number): number {
    let low = 0;
    let high = this.#entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.#entries[middle]!;
      if (entry.lastOffset < offset) low = middle + 1;
      else high = middle - 1;
    }
    return low;
  }

  read(offset: number, maxOffset: number, maxBytes: number, minOneBatch: boolean): Uint8Array | null {
    let index = this.#indexOf(offset);
    const first = this.#entries[index];
    if (first === undefined || first.baseOffset >= maxOffset) return null;
    const start = first.position;
    let end = start;
    const limit = Math.min(maxBytes, READ_CHUNK_MAX_BYTES);
    while (index < this.#entries.length) {
      const entry = this.#entries[index]!;
      if (entry.baseOffset >= maxOffset) break;
      if (end + entry.size - start > limit && !(minOneBatch && end === start)) break;
      end += entry.size;
      index++;
    }
    if (end === start) return null;
    const bytes = Buffer.allocUnsafe(end - start);
    let read = 0;
    while (read < bytes.length) {
      const n = readSync(this.#fd, bytes, read, bytes.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return bytes;
  }

  findByTimestamp(timestampMs: number): BatchEntry | undefined {
    const start = this.#indexOf(this.#logStartOffset);
    for (let i = start; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (entry.maxTimestamp >= timestampMs) return entry;
    }
    return undefined;
  }

  maxTimestampBatch(): BatchEntry | undefined {
    let best: BatchEntry | undefined;
    const start = this.#indexOf(this.#logStartOffset);
    for (let i = start; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      if (best === undefined || entry.maxTimestamp > best.maxTimestamp) best = entry;
    }
    return best;
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    // Epochs never decrease along the log: the last batch with an epoch <= the one asked
    // for names the epoch found; the epoch ends where the next batch starts (or at LEO).
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.leaderEpoch <= epoch) {
        const next = this.#entries[i + 1];
        return {
          epoch: entry.leaderEpoch,
          endOffset: next === undefined ? this.#logEndOffset : next.baseOffset,
        };
      }
    }
    return { epoch: -1, endOffset: -1 };
  }

  advanceLogStart(offset: number): void {
    if (offset <= this.#logStartOffset) return;
    this.#logStartOffset = Math.min(offset, this.#logEndOffset);
    writeStartOffset(this.#startFile, this.#logStartOffset);
  }

  flush(): void {
    // The page cache holds the data, as Kafka's default flush policy does; close() fsyncs.
  }

  close(): void {
    closeSync(this.#fd);
  }
}

function readStartOffset(dir: string): number {
  try {
    const fd = openSync(join(dir, 'log-start-offset'), 'r');
    const buffer = Buffer.alloc(32);
    const n = readSync(fd, buffer, 0, 32, 0);
    closeSync(fd);
    return Number(buffer.toString('utf8', 0, n).trim()) || 0;
  } catch {
    return 0;
  }
}

function writeStartOffset(path: string, offset: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, `${offset}\n`);
  closeSync(fd);
}

/** Reads the header fields the index needs from the batch at `position` of `buf`. */
export function entryOf(buf: Uint8Array, position: number, size: number): BatchEntry {
  const header = readBatchHeader(buf, position);
  return {
    baseOffset: header.baseOffset,
    lastOffset: header.baseOffset + header.lastOffsetDelta,
    position,
    size,
    maxTimestamp: header.maxTimestamp,
    leaderEpoch: header.partitionLeaderEpoch,
  };
}
