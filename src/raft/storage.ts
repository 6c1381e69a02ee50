// The Raft replica's disk: the quorum-state file and the metadata log with its snapshot, over the
// project's StorageFs (node:fs in the broker, MemoryFs in tests and the simulator, where a crash
// loses every byte that was not fsynced).
//
// Files in the replica's directory:
//   quorum-state                       JSON, Kafka's QuorumStateData v1 field names; replaced atomically
//   raft-batches.log                   framed entries (one per batch): [u32 length][u32 crc32c(body)][body],
//                                      body = [i32 epoch][u8 control][f64 base offset][u32 record count]
//                                      then per record [u32 length][bytes]
//   <endOffset:20>-<epoch:10>.checkpoint  the latest snapshot: [u32 crc32c][bytes]; replaced atomically
//
// A torn or corrupt log tail (a frame cut short, a checksum that does not match, an offset out of
// sequence) is cut off at open: those entries were never acknowledged, since an entry is
// acknowledged only after `flush()` returned.
//
// A directory holding `raft.log` (the earlier format: one offset per entry, whatever its records) is
// refused at open: its offsets cannot be renumbered safely (every node of a cluster would have to
// renumber identically, uncommitted tails included).

import { join } from 'node:path';
import { crc32c } from '../records/crc32c.ts';
import type { FileHandle, StorageFs } from '../storage/fs.ts';
import { entryEndOffset, type LogEntry, type SnapshotId } from './types.ts';

/** The persisted election state (Kafka's quorum-state file). */
export interface QuorumState {
  readonly leaderEpoch: number;
  /** -1 when no leader is known in this epoch. */
  readonly leaderId: number;
  /** -1 when this replica has not voted in this epoch. */
  readonly votedId: number;
}

export const INITIAL_QUORUM_STATE: QuorumState = { leaderEpoch: 0, leaderId: -1, votedId: -1 };

/** Bound on one log entry's records, so a corrupt length cannot make us allocate gigabytes. */
export const RAFT_ENTRY_BYTES_MAX = 8 * 1024 * 1024;

const FRAME_HEADER_BYTES = 8;
const BODY_HEADER_BYTES = 4 + 1 + 8 + 4;
const RECORD_LENGTH_BYTES = 4;
const QUORUM_STATE_FILE = 'quorum-state';
/** The metadata log's file name in the replica's directory (tests look for it by this name). */
export const RAFT_LOG_FILE = 'raft-batches.log';
/** The log file of the format before offsets per record; refused, never read. */
const PREVIOUS_FORMAT_LOG_FILE = 'raft.log';
const SNAPSHOT_SUFFIX = '.checkpoint';

export class RaftStorageError extends Error {
  override readonly name = 'RaftStorageError';
}

/** What recovery found when the log was opened. */
export interface RecoveryReport {
  /** Bytes cut from the log tail (torn or corrupt frames). */
  readonly truncatedBytes: number;
  readonly reason: string | null;
}

export class RaftStorage {
  readonly #fs: StorageFs;
  readonly #dir: string;
  #fd: FileHandle;
  /** Entries from the log start offset on, in offset order. */
  #entries: LogEntry[] = [];
  /** Byte position of each entry's frame in the log file. */
  #positions: number[] = [];
  #fileBytes = 0;
  #logStartOffset = 0;
  #flushedEnd = 0;
  #snapshotId: SnapshotId = { endOffset: 0, epoch: 0 };
  #snapshotBytes: Uint8Array | null = null;
  /** (epoch, first offset) for each epoch in the log, the first one standing for the snapshot. */
  #epochStarts: { epoch: number; startOffset: number }[] = [];
  readonly recovery: RecoveryReport;

  constructor(fs: StorageFs, dir: string) {
    this.#fs = fs;
    this.#dir = dir;
    fs.mkdirp(dir);
    if (fs.list(dir).includes(PREVIOUS_FORMAT_LOG_FILE)) {
      throw new RaftStorageError(
        `${dir} holds ${PREVIOUS_FORMAT_LOG_FILE}, the metadata log format before offsets per record; this version does not read it: delete ${dir} (this node's copy of the cluster metadata is lost with it unless another node holds it)`,
      );
    }
    this.#loadSnapshot();
    this.#fd = fs.open(join(dir, RAFT_LOG_FILE));
    this.recovery = this.#loadLog();
  }

  // ---- quorum state ----

  readQuorumState(): QuorumState {
    const bytes = this.#fs.readFile(join(this.#dir, QUORUM_STATE_FILE));
    if (bytes === null) return INITIAL_QUORUM_STATE;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new RaftStorageError(
        `${join(this.#dir, QUORUM_STATE_FILE)} is not JSON: ${(error as Error).message}`,
      );
    }
    const value = parsed as Record<string, unknown>;
    for (const key of ['leaderEpoch', 'leaderId', 'votedId']) {
      if (!Number.isInteger(value[key])) {
        throw new RaftStorageError(`${join(this.#dir, QUORUM_STATE_FILE)}: field ${key} is not an integer`);
      }
    }
    return {
      leaderEpoch: value.leaderEpoch as number,
      leaderId: value.leaderId as number,
      votedId: value.votedId as number,
    };
  }

  /** Durable when it returns: the file is written, fsynced and renamed into place. */
  writeQuorumState(state: QuorumState): void {
    const json = JSON.stringify({
      leaderId: state.leaderId,
      leaderEpoch: state.leaderEpoch,
      votedId: state.votedId,
      votedDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
      data_version: 1,
    });
    this.#fs.writeFileAtomic(join(this.#dir, QUORUM_STATE_FILE), Buffer.from(json, 'utf8'));
  }

  // ---- log ----

  logStartOffset(): number {
    return this.#logStartOffset;
  }

  /** The offset the next appended entry gets (LEO). */
  endOffset(): number {
    const last = this.#entries.at(-1);
    return last === undefined ? this.#logStartOffset : entryEndOffset(last);
  }

  /** Entries below this offset are durable. */
  flushedEndOffset(): number {
    return this.#flushedEnd;
  }

  /** The epoch of the last entry, or of the snapshot when the log is empty. */
  lastEpoch(): number {
    const last = this.#entries.at(-1);
    return last === undefined ? this.#snapshotId.epoch : last.epoch;
  }

  /** The entry (batch) holding `offset`, if the log holds it. */
  entry(offset: number): LogEntry | undefined {
    const index = this.#indexHolding(offset);
    return index < 0 ? undefined : this.#entries[index];
  }

  /** Up to `countMax` entries from `fromOffset`, an entry's base offset or the LEO, in [log start, LEO]. */
  read(fromOffset: number, countMax: number): LogEntry[] {
    if (fromOffset < this.#logStartOffset || fromOffset > this.endOffset()) {
      throw new RaftStorageError(
        `read at ${fromOffset} outside the log [${this.#logStartOffset}, ${this.endOffset()}]`,
      );
    }
    if (fromOffset === this.endOffset()) return [];
    const start = this.#boundaryIndex(fromOffset, 'read');
    return this.#entries.slice(start, start + countMax);
  }

  /** Index of the entry holding `offset`, -1 if none (binary search: entries are in offset order). */
  #indexHolding(offset: number): number {
    let low = 0;
    let high = this.#entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.#entries[middle] as LogEntry;
      if (offset < entry.offset) high = middle - 1;
      else if (offset >= entryEndOffset(entry)) low = middle + 1;
      else return middle;
    }
    return -1;
  }

  /** Index of the entry starting at `offset`; a point inside a batch or outside the log is refused. */
  #boundaryIndex(offset: number, what: string): number {
    const index = this.#indexHolding(offset);
    if (index < 0 || this.#entries[index]?.offset !== offset) {
      throw new RaftStorageError(`${what} at ${offset}, which is not the base offset of a batch in the log`);
    }
    return index;
  }

  /** Appends in memory and to the file, not durable until `flush()`. Offsets must follow the LEO. */
  append(entries: readonly LogEntry[]): void {
    const frames: Uint8Array[] = [];
    for (const entry of entries) {
      if (entry.offset !== this.endOffset()) {
        throw new RaftStorageError(
          `append at offset ${entry.offset}, but the log ends at ${this.endOffset()}`,
        );
      }
      if (entry.records.length === 0) {
        throw new RaftStorageError(`append of an empty batch at offset ${entry.offset}`);
      }
      if (entry.epoch < this.lastEpoch()) {
        throw new RaftStorageError(`append of epoch ${entry.epoch} after epoch ${this.lastEpoch()}`);
      }
      if (entry.epoch > this.lastEpoch() || this.#epochStarts.length === 0) {
        this.#epochStarts.push({ epoch: entry.epoch, startOffset: entry.offset });
      }
      const frame = encodeFrame(entry);
      this.#entries.push(entry);
      this.#positions.push(this.#fileBytes);
      this.#fileBytes += frame.length;
      frames.push(frame);
    }
    if (frames.length === 0) return;
    const bytes = Buffer.concat(frames);
    this.#fs.write(this.#fd, bytes, 0, bytes.length, this.#fileBytes - bytes.length);
  }

  flush(): void {
    if (this.#flushedEnd === this.endOffset()) return;
    this.#fs.fsync(this.#fd);
    this.#flushedEnd = this.endOffset();
  }

  /** Removes every entry at `offset` and above, durably. */
  truncateTo(offset: number): void {
    if (offset < this.#logStartOffset) {
      throw new RaftStorageError(`truncation to ${offset} below the log start ${this.#logStartOffset}`);
    }
    if (offset >= this.endOffset()) return;
    const keep = offset === this.#logStartOffset ? 0 : this.#boundaryIndex(offset, 'truncation');
    const position = this.#positions[keep] ?? this.#fileBytes;
    this.#entries.length = keep;
    this.#positions.length = keep;
    this.#fileBytes = position;
    this.#fs.truncate(this.#fd, position);
    this.#fs.fsync(this.#fd);
    this.#flushedEnd = Math.min(this.#flushedEnd, offset);
    while (this.#epochStarts.length > 1 && (this.#epochStarts.at(-1)?.startOffset ?? 0) >= offset) {
      this.#epochStarts.pop();
    }
  }

  /**
   * Kafka's endOffsetForEpoch: the largest epoch at or below `epoch` that this log holds, and the
   * offset where it ends (the start of the next epoch, or the LEO for the last one).
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    for (let i = this.#epochStarts.length - 1; i >= 0; i--) {
      const start = this.#epochStarts[i];
      if (start === undefined || start.epoch > epoch) continue;
      const next = this.#epochStarts[i + 1];
      return { epoch: start.epoch, endOffset: next === undefined ? this.endOffset() : next.startOffset };
    }
    return { epoch: -1, endOffset: -1 };
  }

  // ---- snapshots ----

  snapshotId(): SnapshotId {
    return this.#snapshotId;
  }

  /** The latest snapshot's bytes, or null when there is none. */
  snapshotBytes(): Uint8Array | null {
    return this.#snapshotBytes;
  }

  /**
   * Stores a snapshot durably, then drops the log below its end offset. A snapshot beyond the log
   * end, or one the log disagrees with (fetched from the leader), replaces the whole log.
   */
  installSnapshot(id: SnapshotId, bytes: Uint8Array): void {
    if (id.endOffset <= this.#snapshotId.endOffset) return;
    const file = Buffer.alloc(4 + bytes.length);
    file.writeUInt32BE(crc32c(bytes) >>> 0, 0);
    file.set(bytes, 4);
    const old = this.#snapshotFileName(this.#snapshotId);
    this.#fs.writeFileAtomic(join(this.#dir, this.#snapshotFileName(id)), file);
    if (this.#snapshotId.endOffset > 0) this.#fs.unlink(join(this.#dir, old));
    this.#snapshotId = id;
    this.#snapshotBytes = bytes;
    // Entries above the snapshot stay only if the log agrees with it at its last offset; a log that
    // disagrees there holds nothing committed above the snapshot and is replaced whole.
    const agrees =
      id.endOffset < this.endOffset() &&
      this.entry(id.endOffset - 1)?.epoch === id.epoch &&
      this.entry(id.endOffset)?.offset === id.endOffset;
    const kept = agrees ? this.read(id.endOffset, Number.MAX_SAFE_INTEGER) : [];
    this.#rewriteLog(id.endOffset, kept);
  }

  #snapshotFileName(id: SnapshotId): string {
    return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${SNAPSHOT_SUFFIX}`;
  }

  #loadSnapshot(): void {
    const names = this.#fs.list(this.#dir).filter((name) => name.endsWith(SNAPSHOT_SUFFIX));
    const ids = names
      .map((name) => {
        const match = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
        return match ? { name, endOffset: Number(match[1]), epoch: Number(match[2]) } : null;
      })
      .filter((id) => id !== null)
      .sort((a, b) => b.endOffset - a.endOffset);
    const latest = ids[0];
    if (latest === undefined) {
      this.#epochStarts = [{ epoch: 0, startOffset: 0 }];
      return;
    }
    const file = this.#fs.readFile(join(this.#dir, latest.name));
    if (file === null || file.length < 4 || file.readUInt32BE(0) !== crc32c(file.subarray(4)) >>> 0) {
      // Snapshots are written to a temporary file, fsynced and renamed: a bad one means the disk lied.
      throw new RaftStorageError(`snapshot ${join(this.#dir, latest.name)} fails its checksum`);
    }
    this.#snapshotId = { endOffset: latest.endOffset, epoch: latest.epoch };
    this.#snapshotBytes = new Uint8Array(file.subarray(4));
    this.#logStartOffset = latest.endOffset;
    this.#epochStarts = [{ epoch: latest.epoch, startOffset: latest.endOffset }];
  }

  #loadLog(): RecoveryReport {
    const size = this.#fs.size(this.#fd);
    const bytes = Buffer.alloc(size);
    this.#fs.read(this.#fd, bytes, 0, size, 0);
    let position = 0;
    let reason: string | null = null;
    const found: { entry: LogEntry; position: number }[] = [];
    while (position < size) {
      const decoded = decodeFrame(bytes, position);
      if (typeof decoded === 'string') {
        reason = decoded;
        break;
      }
      found.push({ entry: decoded.entry, position });
      position = decoded.next;
    }
    // Entries below the snapshot are already in it; the rest must follow it without a gap.
    const kept = found.filter((item) => item.entry.offset >= this.#logStartOffset);
    // A batch across the snapshot's end cannot be: snapshots end at batch boundaries.
    let validEnd = position;
    let expected = this.#logStartOffset;
    let epoch = this.#snapshotId.epoch;
    for (let i = 0; i < kept.length; i++) {
      const item = kept[i] as { entry: LogEntry; position: number };
      if (item.entry.offset !== expected || item.entry.epoch < epoch) {
        reason ??= `entry at byte ${item.position} has offset ${item.entry.offset} epoch ${item.entry.epoch}, expected offset ${expected} epoch >= ${epoch}`;
        validEnd = item.position;
        kept.length = i;
        break;
      }
      expected = entryEndOffset(item.entry);
      epoch = item.entry.epoch;
    }
    if (found.some((item) => item.entry.offset < this.#logStartOffset)) {
      // The file still holds entries the snapshot covers (a crash between snapshot and log rewrite).
      this.#rewriteLog(
        this.#logStartOffset,
        kept.map((item) => item.entry),
      );
      return { truncatedBytes: size - validEnd, reason };
    }
    for (const item of kept) this.#pushLoaded(item.entry, item.position);
    this.#fileBytes = validEnd;
    if (validEnd < size) {
      this.#fs.truncate(this.#fd, validEnd);
      this.#fs.fsync(this.#fd);
    }
    this.#flushedEnd = this.endOffset();
    return { truncatedBytes: size - validEnd, reason };
  }

  #pushLoaded(entry: LogEntry, position: number): void {
    if (entry.epoch > this.lastEpoch())
      this.#epochStarts.push({ epoch: entry.epoch, startOffset: entry.offset });
    this.#entries.push(entry);
    this.#positions.push(position);
  }

  /** Replaces the log file with `entries` (starting at `startOffset`), atomically. */
  #rewriteLog(startOffset: number, entries: readonly LogEntry[]): void {
    const frames = entries.map(encodeFrame);
    const data = Buffer.concat(frames);
    this.#fs.close(this.#fd);
    this.#fs.writeFileAtomic(join(this.#dir, RAFT_LOG_FILE), data);
    this.#fd = this.#fs.open(join(this.#dir, RAFT_LOG_FILE));
    this.#logStartOffset = startOffset;
    this.#entries = [];
    this.#positions = [];
    this.#epochStarts = [{ epoch: this.#snapshotId.epoch, startOffset }];
    let position = 0;
    for (let i = 0; i < entries.length; i++) {
      this.#pushLoaded(entries[i] as LogEntry, position);
      position += (frames[i] as Uint8Array).length;
    }
    this.#fileBytes = position;
    this.#flushedEnd = this.endOffset();
  }

  close(): void {
    this.#fs.close(this.#fd);
  }
}

function encodeFrame(entry: LogEntry): Buffer {
  let bodyLength = BODY_HEADER_BYTES;
  for (const record of entry.records) bodyLength += RECORD_LENGTH_BYTES + record.length;
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + bodyLength);
  frame.writeUInt32BE(bodyLength, 0);
  frame.writeInt32BE(entry.epoch, 8);
  frame.writeUInt8(entry.control ? 1 : 0, 12);
  frame.writeDoubleBE(entry.offset, 13);
  frame.writeUInt32BE(entry.records.length, 21);
  let position = FRAME_HEADER_BYTES + BODY_HEADER_BYTES;
  for (const record of entry.records) {
    frame.writeUInt32BE(record.length, position);
    frame.set(record, position + RECORD_LENGTH_BYTES);
    position += RECORD_LENGTH_BYTES + record.length;
  }
  frame.writeUInt32BE(crc32c(frame.subarray(FRAME_HEADER_BYTES)) >>> 0, 4);
  return frame;
}

function decodeFrame(bytes: Buffer, position: number): { entry: LogEntry; next: number } | string {
  if (bytes.length - position < FRAME_HEADER_BYTES) return `torn frame header at byte ${position}`;
  const bodyLength = bytes.readUInt32BE(position);
  if (bodyLength < BODY_HEADER_BYTES || bodyLength > BODY_HEADER_BYTES + RAFT_ENTRY_BYTES_MAX) {
    return `frame length ${bodyLength} at byte ${position} out of bounds`;
  }
  const end = position + FRAME_HEADER_BYTES + bodyLength;
  if (end > bytes.length) return `torn frame at byte ${position}: ${bodyLength} bytes announced`;
  const body = bytes.subarray(position + FRAME_HEADER_BYTES, end);
  if (bytes.readUInt32BE(position + 4) !== crc32c(body) >>> 0) return `checksum mismatch at byte ${position}`;
  const offset = body.readDoubleBE(5);
  if (!Number.isSafeInteger(offset) || offset < 0) return `bad offset at byte ${position}`;
  const count = body.readUInt32BE(13);
  const records: Uint8Array[] = [];
  let at = BODY_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + RECORD_LENGTH_BYTES > body.length)
      return `record ${i} of the frame at byte ${position} cut short`;
    const length = body.readUInt32BE(at);
    at += RECORD_LENGTH_BYTES;
    if (at + length > body.length) return `record ${i} of the frame at byte ${position} cut short`;
    records.push(new Uint8Array(body.subarray(at, at + length)));
    at += length;
  }
  if (count === 0 || at !== body.length)
    return `frame at byte ${position} holds ${count} records and ${body.length - at} bytes more`;
  return {
    entry: { epoch: body.readInt32BE(0), control: body.readUInt8(4) === 1, offset, records },
    next: end,
  };
}
