// The segmented partition log behind `PartitionLog`, over any StorageFs.
//
// Layout of a partition directory `<dir>/<topic>-<partition>/`:
//   00000000000000000000.log        batches as on the wire
//   00000000000000000000.index      sparse offset index (int32 relative offset, int32 position)
//   00000000000000000000.timeindex  sparse time index (int64 timestamp, int32 relative offset)
//   leader-epoch-checkpoint         epoch → start offset (Kafka's text format)
//   log-checkpoint                  log start offset, recovery point, high watermark, clean-shutdown flag
//   00000000000000000000.snapshot   producer state before that offset (at every roll and clean close)
//   00000000000000000000.txnindex   the aborted transactions whose abort marker is in that segment
//
// Kafka keeps the last three per log directory; one file per partition keeps partitions
// independent (a partition can be moved or deleted as one directory).

import {
  BATCH_HEADER_BYTES,
  type BatchInfo,
  checkBatchAt,
  OFFSET,
  RecordsError,
  readInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from '../records/index.ts';
import type { Clock } from './clock.ts';
import { compactSegments } from './compaction.ts';
import { type LogConfig, resolveLogConfig } from './config.ts';
import { invariant, LogClosedError, OffsetOutOfRangeError } from './errors.ts';
import type { StorageFs } from './fs.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import type {
  AppendResult,
  CompactionResult,
  PartitionLog,
  ProducerStateLoad,
  ReadOptions,
  ReadResult,
  RetentionResult,
  TimestampOffset,
} from './partition-log.ts';
import { LogProducerState, type ProducerStateView, producerBatchFactsAt } from './producer-log-state.ts';
import {
  type AbortedTxnEntry,
  decodeProducerSnapshot,
  decodeTxnIndex,
  encodeProducerSnapshot,
  encodeTxnIndexEntry,
  snapshotFileName,
  snapshotOffsetOf,
  TXN_INDEX_ENTRY_BYTES,
} from './producer-snapshot.ts';
import { type AppendedBatch, LogSegment, OFFSET_INDEX_ENTRY_BYTES } from './segment.ts';
import { findRecordAtOrAfterTimestamp, findRecordWithMaxTimestamp } from './timestamps.ts';

export const LOG_CHECKPOINT_FILE = 'log-checkpoint';
export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const LOG_CHECKPOINT_VERSION = 0;
/** Bound on batches in one append call. */
export const APPEND_BATCHES_MAX = 10_000;

export interface LogLogger {
  warn(message: string): void;
  info(message: string): void;
}

export const stderrLogger: LogLogger = {
  warn: (message) => process.stderr.write(`[storage] WARN ${message}\n`),
  info: () => {},
};

export interface OpenLogOptions {
  fs: StorageFs;
  clock: Clock;
  /** The log directory holding every partition's directory. */
  dir: string;
  topic: string;
  partition: number;
  config?: Partial<LogConfig>;
  logger?: LogLogger;
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

interface Checkpoint {
  logStartOffset: number;
  recoveryPoint: number;
  highWatermark: number;
  clean: boolean;
}

export class SegmentedPartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly #fs: StorageFs;
  readonly #clock: Clock;
  readonly #logger: LogLogger;
  #config: LogConfig;
  #segments: LogSegment[] = [];
  #logStartOffset = 0;
  #logEndOffset = 0;
  #highWatermark = 0;
  #recoveryPoint = 0;
  #recoveredSegments = 0;
  #epochs: LeaderEpochCache;
  #unflushedMessages = 0;
  #oldestUnflushedMs = -1;
  #closed = false;
  readonly #producers = new LogProducerState();
  /** Offset of the newest snapshot file, -1 when none. */
  #latestSnapshotOffset = -1;
  #producerStateLoad: ProducerStateLoad = { snapshotOffset: -1, replayedBatches: 0 };

  constructor(options: OpenLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.dir = `${options.dir}/${partitionDirName(options.topic, options.partition)}`;
    this.#fs = options.fs;
    this.#clock = options.clock;
    this.#logger = options.logger ?? stderrLogger;
    this.#config = resolveLogConfig(options.config);
    this.#fs.mkdirp(this.dir);
    this.#epochs = new LeaderEpochCache(this.#fs, `${this.dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`);
    this.#open();
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  get highWatermark(): number {
    return this.#highWatermark;
  }
  get recoveredSegments(): number {
    return this.#recoveredSegments;
  }
  get producerStateLoad(): ProducerStateLoad {
    return this.#producerStateLoad;
  }

  get recoveryPoint(): number {
    return this.#recoveryPoint;
  }
  get sizeBytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.size;
    return total;
  }
  get segmentCount(): number {
    return this.#segments.length;
  }
  get config(): Readonly<LogConfig> {
    return this.#config;
  }
  updateConfig(overrides: Partial<LogConfig>): void {
    this.#config = resolveLogConfig({ ...this.#config, ...overrides });
  }

  get #active(): LogSegment {
    return this.#segments[this.#segments.length - 1]!;
  }

  // ---- open and recovery ----

  #open(): void {
    const names = this.#fs.list(this.dir);
    // A brand-new partition: its directory was just created and holds nothing yet.
    const fresh = names.length === 0;
    this.#cleanLeftovers(names);
    const checkpoint = this.#readCheckpoint();
    const bases = this.#fs
      .list(this.dir)
      .filter((n) => /^\d{20}\.log$/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    const clean = checkpoint?.clean ?? false;
    const recoveryPoint = checkpoint?.recoveryPoint ?? 0;
    const epochsLoaded = this.#epochs.load();
    const rebuiltEpochs: { epoch: number; startOffset: number }[] = [];
    const noteEpoch = (epoch: number, offset: number) => {
      const last = rebuiltEpochs.at(-1);
      if (epoch >= 0 && (!last || epoch > last.epoch)) rebuiltEpochs.push({ epoch, startOffset: offset });
    };
    for (let i = 0; i < bases.length; i++) {
      const segment = new LogSegment(this.#fs, this.dir, bases[i]!, this.#config.indexIntervalBytes);
      const nextBase = bases[i + 1] ?? Number.POSITIVE_INFINITY;
      const needsRecovery = !clean && nextBase > recoveryPoint;
      let problem: string | null = null;
      if (needsRecovery) this.#recoveredSegments += 1;
      if (needsRecovery || !epochsLoaded || !segment.loadIndexes()) {
        if (!needsRecovery && epochsLoaded)
          this.#logger.warn(`${this.dir}: rebuilding indexes of ${segment.logPath}`);
        problem = segment.recover(true, (b) => noteEpoch(b.partitionLeaderEpoch, b.baseOffset));
        segment.flushIndexes(i < bases.length - 1);
      }
      const previous = this.#segments.at(-1);
      if (previous && segment.baseOffset < previous.nextOffset) {
        problem = `segment ${segment.baseOffset} overlaps the previous one ending at ${previous.nextOffset}`;
        segment.delete();
      } else {
        this.#segments.push(segment);
      }
      if (problem !== null) {
        this.#logger.warn(`${this.dir}: recovery truncated ${segment.logPath} (${problem})`);
        for (const later of bases.slice(i + 1)) {
          const dropped = new LogSegment(this.#fs, this.dir, later, this.#config.indexIntervalBytes);
          this.#logger.warn(`${this.dir}: recovery deleted ${dropped.logPath} after a corrupt segment`);
          dropped.delete();
        }
        break;
      }
    }
    if (this.#recoveredSegments > 0) {
      this.#logger.info(
        `${this.dir}: recovered ${this.#recoveredSegments} segment(s) from offset ${recoveryPoint} after an unclean shutdown`,
      );
    }
    // Drop empty segments other than the last (left by a crash between roll and write).
    this.#segments = this.#segments.filter((s, i, all) => {
      if (s.size > 0 || i === all.length - 1) return true;
      s.delete();
      return false;
    });
    const startOffset = checkpoint?.logStartOffset ?? this.#segments[0]?.baseOffset ?? 0;
    if (this.#segments.length === 0) this.#segments.push(this.#newSegment(startOffset));
    this.#logEndOffset = this.#active.nextOffset;
    this.#logStartOffset = Math.min(Math.max(startOffset, this.#segments[0]!.baseOffset), this.#logEndOffset);
    // Verified is not durable: the recovery point stays until the next flush.
    this.#recoveryPoint = Math.min(recoveryPoint, this.#logEndOffset);
    this.#highWatermark = Math.min(
      Math.max(checkpoint?.highWatermark ?? 0, this.#logStartOffset),
      this.#logEndOffset,
    );
    // A fresh log writes no checkpoint yet: a missing epoch checkpoint is rebuilt from the
    // batches (none) and a missing log checkpoint reads as unclean at offset 0, exactly what
    // these writes would say. Skipping them saves 4 fsyncs per new partition on the event loop
    // (creating the 50 partitions of __consumer_offsets blocked every client for ~0.6 s).
    if (fresh) return;
    this.#loadProducerState(true);
    if (!epochsLoaded) this.#epochs.reset(rebuiltEpochs);
    this.#epochs.truncateFromEnd(this.#logEndOffset);
    this.#epochs.truncateFromStart(this.#logStartOffset);
    const active = this.#active;
    if (active.size > 0) active.rollBaseMs = Math.max(0, active.firstBatchTimestamp());
    this.#writeCheckpoint(false);
  }

  /** Finishes or undoes what a crash interrupted: compaction swaps and temporary files. */
  #cleanLeftovers(names: string[]): void {
    for (const name of names) {
      const path = `${this.dir}/${name}`;
      if (name.endsWith('.log.swap')) {
        this.#fs.rename(path, path.slice(0, -'.swap'.length));
        this.#fs.unlink(path.replace(/\.log\.swap$/, '.index'));
        this.#fs.unlink(path.replace(/\.log\.swap$/, '.timeindex'));
      } else if (name.endsWith('.cleaned') || name.endsWith('.tmp') || name.endsWith('.deleted')) {
        this.#fs.unlink(path);
      }
    }
  }

  #readCheckpoint(): Checkpoint | null {
    const data = this.#fs.readFile(`${this.dir}/${LOG_CHECKPOINT_FILE}`);
    if (data === null) return null;
    const lines = data.toString('utf8').trim().split('\n');
    const fields = (lines[1] ?? '').split(' ').map(Number);
    if (
      lines[0] !== String(LOG_CHECKPOINT_VERSION) ||
      fields.length !== 4 ||
      !fields.every(Number.isSafeInteger)
    ) {
      this.#logger.warn(`${this.dir}: ignoring an unreadable ${LOG_CHECKPOINT_FILE}`);
      return null;
    }
    const [logStartOffset, recoveryPoint, highWatermark, clean] = fields as [number, number, number, number];
    return { logStartOffset, recoveryPoint, highWatermark, clean: clean === 1 };
  }

  #writeCheckpoint(clean: boolean): void {
    const body = `${LOG_CHECKPOINT_VERSION}\n${this.#logStartOffset} ${this.#recoveryPoint} ${this.#highWatermark} ${clean ? 1 : 0}\n`;
    this.#fs.writeFileAtomic(`${this.dir}/${LOG_CHECKPOINT_FILE}`, Buffer.from(body));
  }

  #newSegment(baseOffset: number): LogSegment {
    const segment = new LogSegment(this.#fs, this.dir, baseOffset, this.#config.indexIntervalBytes);
    segment.rewriteTxnIndex([]);
    if (segment.size > 0) {
      // A leftover file at this base offset (e.g. after a truncation) is stale.
      segment.truncateToPosition(0);
      segment.recover(false);
    }
    return segment;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError(this.dir);
  }

  // ---- append ----

  appendAsLeader(records: Buffer, leaderEpoch: number, batches?: readonly BatchInfo[]): AppendResult {
    this.#checkOpen();
    const infos = batches ?? this.#checkBatches(records);
    invariant(
      leaderEpoch >= this.#epochs.latestEpoch(),
      () => `append in epoch ${leaderEpoch} after ${this.#epochs.latestEpoch()}`,
    );
    const logAppendTime = this.#config.messageTimestampType === 'LogAppendTime';
    const nowMs = this.#clock.nowMs();
    let offset = this.#logEndOffset;
    const appended: AppendedBatch[] = [];
    for (const info of infos) {
      const { position, size } = info;
      setBaseOffset(records, position, offset);
      setPartitionLeaderEpoch(records, position, leaderEpoch);
      if (logAppendTime) setLogAppendTime(records, position, nowMs);
      const lastOffset = offset + info.header.lastOffsetDelta;
      const maxTimestamp = logAppendTime ? nowMs : info.header.maxTimestamp;
      appended.push({ position, size, baseOffset: offset, lastOffset, maxTimestamp });
      offset = lastOffset + 1;
    }
    this.#epochs.assign(leaderEpoch, this.#logEndOffset);
    const result = this.#write(records, appended);
    return { ...result, logAppendTimeMs: logAppendTime ? nowMs : -1 };
  }

  appendAsFollower(records: Buffer): AppendResult {
    this.#checkOpen();
    const infos = this.#checkBatches(records);
    const appended: AppendedBatch[] = [];
    let next = this.#logEndOffset;
    for (const info of infos) {
      const { header, position, size } = info;
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      invariant(
        header.baseOffset >= next,
        () => `follower append at ${header.baseOffset} below ${next}: offsets only grow`,
      );
      invariant(
        lastOffset >= header.baseOffset,
        () => `batch at ${header.baseOffset} has a negative last offset delta`,
      );
      appended.push({
        position,
        size,
        baseOffset: header.baseOffset,
        lastOffset,
        maxTimestamp: header.maxTimestamp,
      });
      next = lastOffset + 1;
    }
    for (const info of infos) this.#epochs.assign(info.header.partitionLeaderEpoch, info.header.baseOffset);
    return { ...this.#write(records, appended), logAppendTimeMs: -1 };
  }

  #checkBatches(records: Buffer): BatchInfo[] {
    const infos: BatchInfo[] = [];
    let pos = 0;
    while (pos < records.length) {
      invariant(
        infos.length < APPEND_BATCHES_MAX,
        () => `more than ${APPEND_BATCHES_MAX} batches in one append`,
      );
      const check = checkBatchAt(records, pos);
      if (!check.ok)
        throw new RecordsError(check.kind, `cannot append: ${check.kind} at byte ${pos}: ${check.message}`);
      infos.push(check.batch);
      pos += check.batch.size;
    }
    return infos;
  }

  #write(records: Buffer, batches: AppendedBatch[]): Omit<AppendResult, 'logAppendTimeMs'> {
    invariant(batches.length > 0, () => 'append of no batch');
    const first = batches[0]!;
    const last = batches[batches.length - 1]!;
    this.#maybeRoll(records.length, first.baseOffset, last.lastOffset);
    const nowMs = this.#clock.nowMs();
    this.#active.append(records, batches, nowMs);
    invariant(last.lastOffset + 1 > this.#logEndOffset, () => 'log end offset must grow');
    this.#logEndOffset = last.lastOffset + 1;
    for (const b of batches) this.#applyProducerBatch(records, b.position, this.#active);
    let maxTimestamp = -1;
    let messages = 0;
    for (const b of batches) {
      if (b.maxTimestamp > maxTimestamp) maxTimestamp = b.maxTimestamp;
      messages += b.lastOffset - b.baseOffset + 1;
    }
    this.#unflushedMessages += messages;
    if (this.#oldestUnflushedMs < 0) this.#oldestUnflushedMs = nowMs;
    if (this.#unflushedMessages >= this.#config.flushMessages) this.flush();
    return {
      baseOffset: first.baseOffset,
      lastOffset: last.lastOffset,
      maxTimestamp,
      logStartOffset: this.#logStartOffset,
    };
  }

  /** Rolls when the append would pass segment.bytes, segment.ms, the index size or the int32 offset range. */
  #maybeRoll(bytes: number, firstOffset: number, lastOffset: number): void {
    const active = this.#active;
    if (active.size === 0) {
      if (firstOffset !== active.baseOffset) this.#replaceEmptyActive(firstOffset);
      return;
    }
    const config = this.#config;
    const full = active.size + bytes > config.segmentBytes;
    const old = active.rollBaseMs >= 0 && this.#clock.nowMs() - active.rollBaseMs >= config.segmentMs;
    const indexFull = active.indexBytes + OFFSET_INDEX_ENTRY_BYTES > config.segmentIndexBytes;
    const offsetsOverflow = lastOffset - active.baseOffset > 2 ** 31 - 1;
    if (full || old || indexFull || offsetsOverflow) this.#rollAt(firstOffset);
  }

  /** An empty active segment whose base is not where the next batch starts (follower gap): recreate it there. */
  #replaceEmptyActive(baseOffset: number): void {
    this.#segments.pop()!.delete();
    this.#segments.push(this.#newSegment(baseOffset));
  }

  roll(): void {
    this.#checkOpen();
    if (this.#active.size > 0) this.#rollAt(this.#logEndOffset);
  }

  #rollAt(baseOffset: number): void {
    const previous = this.#active;
    previous.flushIndexes(true);
    // The snapshot at the new base describes every batch below it: those batches are made durable
    // first, so a power loss cannot leave a snapshot over log bytes it lost (Kafka flushes the
    // rolled segment too, after the fact, and deletes such snapshots at recovery, as open does here).
    previous.fsync();
    previous.fsyncTxnIndex();
    this.#segments.push(this.#newSegment(baseOffset));
    this.#writeSnapshot(baseOffset);
  }

  // ---- read ----

  read(fetchOffset: number, options: ReadOptions): ReadResult {
    this.#checkOpen();
    if (fetchOffset < this.#logStartOffset || fetchOffset > this.#logEndOffset) {
      throw new OffsetOutOfRangeError(
        `offset ${fetchOffset} is outside [${this.#logStartOffset}, ${this.#logEndOffset}] of ${this.dir}`,
      );
    }
    const maxOffset = Math.min(options.maxOffset ?? this.#logEndOffset, this.#logEndOffset);
    const minOneBatch = options.minOneBatch ?? true;
    const empty: ReadResult = { records: Buffer.alloc(0), firstOffset: -1, nextOffset: fetchOffset };
    if (fetchOffset >= maxOffset) return empty;
    for (let i = this.#segmentIndexFor(fetchOffset); i < this.#segments.length; i++) {
      const segment = this.#segments[i]!;
      if (segment.nextOffset <= fetchOffset) continue;
      const result = this.#readSegment(segment, fetchOffset, maxOffset, options.maxBytes, minOneBatch);
      if (result === 'past-segment') continue; // every batch here is below the offset (compaction gaps)
      return result ?? empty;
    }
    return empty;
  }

  /** One segment's whole batches from the one holding `fetchOffset`, in one read when possible. */
  #readSegment(
    segment: LogSegment,
    fetchOffset: number,
    maxOffset: number,
    maxBytes: number,
    minOneBatch: boolean,
  ): ReadResult | null | 'past-segment' {
    const from = segment.lookupPosition(fetchOffset);
    // Enough for the batches skipped before the fetch offset plus maxBytes of answer.
    const chunkBytes =
      Math.max(BATCH_HEADER_BYTES, maxBytes) + this.#config.indexIntervalBytes + BATCH_HEADER_BYTES;
    let startPosition = -1;
    let endPosition = -1;
    let firstOffset = -1;
    let nextOffset = fetchOffset;
    let startChunk: Buffer | null = null;
    let startChunkPosition = 0;
    let reachedOffset = false;
    segment.scan(
      from,
      false,
      (b) => {
        if (b.lastOffset < fetchOffset) return true;
        reachedOffset = true;
        if (b.lastOffset >= maxOffset) return false;
        if (startPosition < 0) {
          if (b.size > maxBytes && !minOneBatch) return false;
          startPosition = b.position;
          firstOffset = b.baseOffset;
          startChunk = b.chunk;
          startChunkPosition = b.chunkPosition;
        } else if (b.position + b.size - startPosition > maxBytes) {
          return false;
        }
        endPosition = b.position + b.size;
        nextOffset = b.lastOffset + 1;
        return true;
      },
      chunkBytes,
    );
    if (!reachedOffset) return 'past-segment';
    if (startPosition < 0) return null;
    const length = endPosition - startPosition;
    const chunk = startChunk as Buffer | null;
    const records =
      chunk !== null && startChunkPosition + length <= chunk.length
        ? chunk.subarray(startChunkPosition, startChunkPosition + length)
        : segment.read(startPosition, length);
    return { records, firstOffset, nextOffset };
  }

  /** Index of the last segment whose base offset is ≤ `offset` (0 when none). */
  #segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  // ---- high watermark ----

  updateHighWatermark(offset: number): number {
    this.#checkOpen();
    invariant(
      offset <= this.#logEndOffset,
      () => `high watermark ${offset} above log end offset ${this.#logEndOffset}`,
    );
    this.#highWatermark = Math.max(offset, this.#logStartOffset);
    return this.#highWatermark;
  }

  maybeIncrementHighWatermark(offset: number): boolean {
    this.#checkOpen();
    invariant(
      offset <= this.#logEndOffset,
      () => `high watermark ${offset} above log end offset ${this.#logEndOffset}`,
    );
    if (offset <= this.#highWatermark) return false;
    this.#highWatermark = offset;
    return true;
  }

  // ---- timestamps ----

  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    this.#checkOpen();
    for (const segment of this.#segments) {
      if (segment.maxTimestamp < timestampMs) continue;
      let found: TimestampOffset | null = null;
      const candidates: Buffer[] = [];
      segment.scan(segment.lookupTimestampPosition(timestampMs), false, (b) => {
        if (b.maxTimestamp < timestampMs || b.lastOffset < this.#logStartOffset) return true;
        candidates.push(Buffer.from(segment.read(b.position, b.size)));
        return false;
      });
      for (const batch of candidates) {
        found = await findRecordAtOrAfterTimestamp(batch, timestampMs, this.#logStartOffset);
        if (found) return found;
      }
    }
    return null;
  }

  async maxTimestampOffset(): Promise<TimestampOffset | null> {
    this.#checkOpen();
    let best: LogSegment | null = null;
    for (const s of this.#segments)
      if (s.maxTimestamp >= 0 && (!best || s.maxTimestamp > best.maxTimestamp)) best = s;
    if (!best) return null;
    const target = best.offsetOfMaxTimestamp;
    let batch: Buffer | null = null;
    const holder = best;
    holder.scan(holder.lookupPosition(target), false, (b) => {
      if (b.baseOffset !== target) return b.baseOffset < target;
      batch = holder.read(b.position, b.size);
      return false;
    });
    return batch ? findRecordWithMaxTimestamp(batch) : null;
  }

  // ---- leader epochs ----

  latestEpoch(): number {
    return this.#epochs.latestEpoch();
  }
  epochEntries() {
    return this.#epochs.entries();
  }
  assignEpochStartOffset(epoch: number, startOffset: number): void {
    this.#checkOpen();
    invariant(startOffset <= this.#logEndOffset, () => `epoch ${epoch} start ${startOffset} beyond LEO`);
    this.#epochs.assign(epoch, startOffset);
  }
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.#epochs.endOffsetFor(epoch, this.#logEndOffset);
  }

  // ---- truncation and deletion ----

  truncateTo(offset: number): void {
    this.#checkOpen();
    invariant(offset >= 0, () => `truncation to negative offset ${offset}`);
    if (offset >= this.#logEndOffset) {
      // No record goes, but an epoch that starts at the log end goes, as in Kafka's
      // UnifiedLog.truncateTo: a former leader that began an epoch and appended nothing in it must
      // not keep answering that epoch (its follower fetch would diverge on it for ever).
      this.#epochs.truncateFromEnd(this.#logEndOffset);
      return;
    }
    if (offset < this.#logStartOffset) {
      this.truncateFullyAndStartAt(offset);
      return;
    }
    while (this.#segments.length > 1 && this.#active.baseOffset >= offset) this.#segments.pop()!.delete();
    const active = this.#active;
    let end = active.truncateToOffset(offset);
    if (active.size === 0 && active.baseOffset !== end) end = active.baseOffset;
    // A segment emptied by truncation keeps its base offset; the log ends where its data ends.
    this.#logEndOffset = Math.max(end, active.baseOffset);
    invariant(this.#logEndOffset <= offset, () => `truncation to ${offset} left LEO ${this.#logEndOffset}`);
    this.#afterTruncation();
    this.#loadProducerState(false);
  }

  #afterTruncation(): void {
    this.#highWatermark = Math.min(this.#highWatermark, this.#logEndOffset);
    this.#recoveryPoint = Math.min(this.#recoveryPoint, this.#logEndOffset);
    this.#logStartOffset = Math.min(this.#logStartOffset, this.#logEndOffset);
    this.#epochs.truncateFromEnd(this.#logEndOffset);
    this.#writeCheckpoint(false);
  }

  truncateFullyAndStartAt(offset: number): void {
    this.#checkOpen();
    invariant(offset >= 0, () => `log start ${offset} is negative`);
    for (const s of this.#segments) s.delete();
    this.#segments = [this.#newSegment(offset)];
    this.#logStartOffset = offset;
    this.#logEndOffset = offset;
    this.#highWatermark = offset;
    this.#recoveryPoint = offset;
    this.#epochs.clear();
    this.#deleteSnapshots(() => true);
    this.#producers.clear();
    this.#writeCheckpoint(false);
  }

  deleteRecordsBefore(offset: number): number {
    this.#checkOpen();
    if (offset > this.#highWatermark || offset < 0) {
      throw new OffsetOutOfRangeError(
        `cannot delete records before ${offset}: high watermark is ${this.#highWatermark}`,
      );
    }
    if (offset <= this.#logStartOffset) return this.#logStartOffset;
    this.#logStartOffset = offset;
    this.#deleteSegmentsBelowLogStart();
    this.#deleteSnapshots((o) => o < this.#segments[0]!.baseOffset);
    this.#epochs.truncateFromStart(this.#logStartOffset);
    this.#writeCheckpoint(false);
    return this.#logStartOffset;
  }

  /** Segments whose every offset is below the log start are removed (the active one is rolled first). */
  #deleteSegmentsBelowLogStart(): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    while (this.#segments.length > 0 && this.#segments[0]!.nextOffset <= this.#logStartOffset) {
      const segment = this.#segments[0]!;
      if (this.#segments.length === 1) {
        if (segment.size === 0) break;
        this.#rollAt(this.#logEndOffset);
      }
      this.#segments.shift();
      bytes += segment.size;
      count++;
      segment.delete();
    }
    return { count, bytes };
  }

  enforceRetention(): RetentionResult {
    this.#checkOpen();
    const config = this.#config;
    const none = { deletedSegments: 0, deletedBytes: 0, logStartOffset: this.#logStartOffset };
    if (!config.cleanupPolicy.includes('delete')) return none;
    const nowMs = this.#clock.nowMs();
    let total = this.sizeBytes;
    let newStart = this.#logStartOffset;
    for (const segment of this.#segments) {
      if (segment === this.#active && segment.size === 0) break;
      if (segment.nextOffset > this.#highWatermark) break; // only committed data goes
      const expired =
        segment.size === 0 || // emptied by compaction
        (config.retentionMs >= 0 &&
          segment.maxTimestamp >= 0 &&
          nowMs - segment.maxTimestamp > config.retentionMs);
      const oversize = config.retentionBytes >= 0 && total - segment.size >= config.retentionBytes;
      if (!expired && !oversize) break;
      total -= segment.size;
      newStart = segment.nextOffset;
    }
    if (newStart <= this.#logStartOffset) return none;
    this.#logStartOffset = newStart;
    const { count, bytes } = this.#deleteSegmentsBelowLogStart();
    this.#deleteSnapshots((o) => o < this.#segments[0]!.baseOffset);
    this.#epochs.truncateFromStart(this.#logStartOffset);
    this.#writeCheckpoint(false);
    return { deletedSegments: count, deletedBytes: bytes, logStartOffset: this.#logStartOffset };
  }

  async compact(): Promise<CompactionResult> {
    this.#checkOpen();
    const none: CompactionResult = { cleanedSegments: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
    if (!this.#config.cleanupPolicy.includes('compact')) return none;
    // Only closed segments wholly below the high watermark are cleaned, as in Kafka.
    const cleanable = this.#segments.slice(0, -1).filter((s) => s.nextOffset <= this.#highWatermark);
    if (cleanable.length === 0) return none;
    return compactSegments(this.#fs, cleanable, this.#config, this.#clock.nowMs(), (s) =>
      this.#segments.includes(s),
    );
  }

  // ---- flush and close ----

  flush(): void {
    this.#checkOpen();
    for (const segment of this.#segments) {
      if (segment.nextOffset <= this.#recoveryPoint && segment !== this.#active) continue;
      segment.flushIndexes(false);
      segment.fsync();
      segment.fsyncTxnIndex();
    }
    this.#recoveryPoint = this.#logEndOffset;
    this.#unflushedMessages = 0;
    this.#oldestUnflushedMs = -1;
    this.#writeCheckpoint(false);
  }

  maybeFlush(): boolean {
    this.#checkOpen();
    const dueByTime =
      this.#oldestUnflushedMs >= 0 && this.#clock.nowMs() - this.#oldestUnflushedMs >= this.#config.flushMs;
    if (!dueByTime && this.#unflushedMessages < this.#config.flushMessages) return false;
    if (this.#unflushedMessages === 0) return false;
    this.flush();
    return true;
  }

  close(): void {
    if (this.#closed) return;
    for (const segment of this.#segments) {
      segment.flushIndexes(segment === this.#active);
      segment.fsync();
      segment.fsyncTxnIndex();
      segment.close();
    }
    // A clean close leaves a snapshot at the log end: the next start replays nothing.
    if (this.#logEndOffset > Math.max(this.#latestSnapshotOffset, this.#segments[0]!.baseOffset)) {
      this.#writeSnapshot(this.#logEndOffset);
    }
    this.#recoveryPoint = this.#logEndOffset;
    this.#writeCheckpoint(true);
    this.#closed = true;
  }

  abandon(): void {
    if (this.#closed) return;
    for (const segment of this.#segments) segment.close();
    this.#closed = true;
  }

  delete(): void {
    if (!this.#closed) for (const segment of this.#segments) segment.close();
    this.#closed = true;
    this.#fs.removeTree(this.dir);
  }

  // ---- producer state ----

  /** What the broker's producer table loads: the producers, open and unreplicated transactions, aborted ranges. */
  producerStateView(): ProducerStateView {
    this.#producers.onHighWatermark(this.#highWatermark);
    const aborted: AbortedTxnEntry[] = [];
    for (const segment of this.#segments) aborted.push(...this.#readTxnIndex(segment));
    return this.#producers.view(aborted);
  }

  expireProducers(nowMs: number, expirationMs: number): number {
    return this.#producers.expire(nowMs, expirationMs);
  }

  #applyProducerBatch(buf: Uint8Array, position: number, segment: LogSegment): void {
    const facts = producerBatchFactsAt(buf, position);
    if (facts === null) return;
    const aborted = this.#producers.apply(facts);
    if (aborted !== null) segment.appendTxnIndex(encodeTxnIndexEntry(aborted));
  }

  #writeSnapshot(offset: number): void {
    this.#fs.writeFileAtomic(
      `${this.dir}/${snapshotFileName(offset)}`,
      encodeProducerSnapshot(this.#producers.snapshotEntries()),
    );
    this.#latestSnapshotOffset = offset;
  }

  #snapshotOffsets(): number[] {
    const offsets: number[] = [];
    for (const name of this.#fs.list(this.dir)) {
      const offset = snapshotOffsetOf(name);
      if (offset !== null) offsets.push(offset);
    }
    return offsets.sort((a, b) => a - b);
  }

  #deleteSnapshots(which: (offset: number) => boolean): void {
    for (const offset of this.#snapshotOffsets()) {
      if (which(offset)) this.#fs.unlink(`${this.dir}/${snapshotFileName(offset)}`);
    }
    this.#latestSnapshotOffset = this.#snapshotOffsets().at(-1) ?? -1;
  }

  /**
   * Producer state at open and after a truncation, as Kafka's ProducerStateManager loads it:
   * snapshots above the log end (written before a crash lost the log bytes under them) and
   * unreadable ones are deleted with a warning, the newest left is loaded and only the batches
   * after it are replayed; the transaction indexes are cut back to that offset first, since the
   * replay writes their entries again. After a truncation the snapshots above the new end are
   * expected and go without a warning.
   */
  #loadProducerState(atOpen: boolean): void {
    const end = this.#logEndOffset;
    const first = this.#segments[0]!.baseOffset;
    let from = first;
    let snapshotOffset = -1;
    this.#producers.clear();
    for (const offset of this.#snapshotOffsets().reverse()) {
      const path = `${this.dir}/${snapshotFileName(offset)}`;
      if (offset > end) {
        if (atOpen)
          this.#logger.warn(`${this.dir}: deleting producer snapshot ${path} above the log end ${end}`);
        this.#fs.unlink(path);
      } else if (offset < first) {
        this.#fs.unlink(path);
      } else if (snapshotOffset < 0) {
        try {
          this.#producers.load(decodeProducerSnapshot(this.#fs.readFile(path) ?? Buffer.alloc(0)));
          snapshotOffset = offset;
          from = offset;
        } catch (error) {
          this.#logger.warn(
            `${this.dir}: deleting unreadable producer snapshot ${path}: ${(error as Error).message}`,
          );
          this.#fs.unlink(path);
          this.#producers.clear();
        }
      }
    }
    this.#latestSnapshotOffset = this.#snapshotOffsets().at(-1) ?? -1;
    let replayed = 0;
    for (const segment of this.#segments) {
      if (segment.nextOffset <= from && segment.baseOffset < from) continue;
      this.#cutTxnIndex(segment, from);
      const start = segment.baseOffset < from ? segment.lookupPosition(from) : 0;
      segment.scan(start, false, (b) => {
        if (b.lastOffset < from) return true;
        const whole =
          b.chunkPosition + b.size <= b.chunk.length
            ? { buf: b.chunk, at: b.chunkPosition }
            : { buf: segment.read(b.position, b.size), at: 0 };
        this.#applyProducerBatch(whole.buf, whole.at, segment);
        replayed++;
        return true;
      });
    }
    this.#producers.onHighWatermark(this.#highWatermark);
    this.#producerStateLoad = { snapshotOffset, replayedBatches: replayed };
    if (snapshotOffset >= 0 || replayed > 0) {
      this.#logger.info(
        `${this.dir}: producer state: snapshot at ${snapshotOffset}, replayed ${replayed} batches`,
      );
    }
  }

  #readTxnIndex(segment: LogSegment): AbortedTxnEntry[] {
    const data = this.#fs.readFile(segment.txnIndexPath);
    if (data === null) return [];
    try {
      return decodeTxnIndex(data).entries;
    } catch (error) {
      this.#logger.warn(
        `${this.dir}: ignoring unreadable ${segment.txnIndexPath}: ${(error as Error).message}`,
      );
      return [];
    }
  }

  /** Keeps only the entries of a segment's transaction index whose marker is below `offset`. */
  #cutTxnIndex(segment: LogSegment, offset: number): void {
    const entries = this.#readTxnIndex(segment);
    const kept = entries.filter((e) => e.lastOffset < offset);
    if (
      kept.length === entries.length &&
      (this.#fs.readFile(segment.txnIndexPath)?.length ?? 0) === kept.length * TXN_INDEX_ENTRY_BYTES
    )
      return;
    segment.rewriteTxnIndex(kept.map(encodeTxnIndexEntry));
  }

  /** For tests and tools: the segments' base offsets. */
  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }
}

/** The max timestamp recorded in a batch header at `position` of `buf`. */
export function batchMaxTimestamp(buf: Uint8Array, position: number): number {
  return readInt64(buf, position + OFFSET.maxTimestamp);
}
