// cleanup.policy=compact: keep the latest record per key in closed segments.
//
// Pass 1 decodes every cleanable batch and maps each key to its latest offset. Pass 2
// rewrites segment by segment: a batch whose records all survive is copied byte for byte;
// one that loses some is re-encoded with the same base offset, last offset delta,
// producer fields, codec and timestamps; one that loses all is dropped (offsets get gaps,
// which readers skip). Tombstones (null value) are dropped once the segment's newest
// record is older than delete.retention.ms; keyless records are dropped, as Kafka's cleaner
// does. Control and transactional batches are kept as they are (transactions are not
// compacted yet). Each rewritten segment goes through
// `<base>.log.cleaned` → `<base>.log.swap` → `<base>.log`; open() finishes a swap a crash
// interrupted.

import {
  compressionOf,
  decodeRecordBatch,
  encodeRecordBatch,
  isControl,
  isTransactional,
  type KafkaRecord,
  timestampTypeOf,
} from '../records/index.ts';
import type { LogConfig } from './config.ts';
import type { StorageFs } from './fs.ts';
import type { CompactionResult } from './partition-log.ts';
import type { LogSegment } from './segment.ts';

/** Bound on distinct keys held in memory by one compaction (Kafka: log.cleaner.dedupe.buffer.size). */
export const COMPACTION_KEYS_MAX = 4_000_000;

function keyOf(record: KafkaRecord): string | null {
  return record.key === null ? null : record.key.toString('latin1');
}

interface SegmentBatch {
  bytes: Buffer;
  compactable: boolean;
}

function readBatches(segment: LogSegment): SegmentBatch[] {
  const batches: SegmentBatch[] = [];
  segment.scan(0, true, (b) => {
    const bytes = Buffer.from(b.chunk.subarray(b.chunkPosition, b.chunkPosition + b.size));
    batches.push({ bytes, compactable: !isControl(b.attributes) && !isTransactional(b.attributes) });
    return true;
  });
  return batches;
}

export async function compactSegments(
  fs: StorageFs,
  segments: LogSegment[],
  config: LogConfig,
  nowMs: number,
  stillInLog: (segment: LogSegment) => boolean,
): Promise<CompactionResult> {
  const result: CompactionResult = { cleanedSegments: 0, recordsRemoved: 0, bytesBefore: 0, bytesAfter: 0 };
  // Segments younger than min.compaction.lag.ms, and all after them, stay as they are.
  const lagLimit =
    config.minCompactionLagMs > 0
      ? segments.findIndex((s) => nowMs - s.maxTimestamp < config.minCompactionLagMs)
      : -1;
  const cleanable = lagLimit < 0 ? segments : segments.slice(0, lagLimit);
  const latest = new Map<string, number>();
  let mapped = 0;
  for (const segment of cleanable) {
    for (const batch of readBatches(segment)) {
      if (!batch.compactable) continue;
      const { records } = await decodeRecordBatch(batch.bytes);
      for (const r of records) {
        const key = keyOf(r);
        if (key !== null) latest.set(key, r.offset);
      }
    }
    mapped++;
    if (latest.size > COMPACTION_KEYS_MAX) break; // clean what the map covers; the rest next time
  }
  for (const segment of cleanable.slice(0, mapped)) {
    const dropTombstones = nowMs - segment.maxTimestamp > config.deleteRetentionMs;
    const kept: Buffer[] = [];
    let removed = 0;
    const before = segment.size;
    for (const batch of readBatches(segment)) {
      if (!batch.compactable) {
        kept.push(batch.bytes);
        continue;
      }
      const { header, records } = await decodeRecordBatch(batch.bytes);
      const survivors = records.filter((r) => {
        const key = keyOf(r);
        // Produce refuses keyless records in a compacted topic, but a topic switched from delete to
        // compact may hold some: Kafka's cleaner drops them as invalid (Cleaner.shouldRetainRecord).
        if (key === null) return false;
        if (latest.get(key) !== r.offset) return false;
        return !(r.value === null && dropTombstones);
      });
      removed += records.length - survivors.length;
      if (survivors.length === records.length) kept.push(batch.bytes);
      else if (survivors.length > 0) {
        kept.push(
          await encodeRecordBatch({
            baseOffset: header.baseOffset,
            partitionLeaderEpoch: header.partitionLeaderEpoch,
            compression: compressionOf(header.attributes),
            timestampType: timestampTypeOf(header.attributes),
            producerId: header.producerId,
            producerEpoch: header.producerEpoch,
            baseSequence: header.baseSequence,
            baseTimestamp: header.baseTimestamp,
            maxTimestamp: header.maxTimestamp,
            lastOffsetDelta: header.lastOffsetDelta,
            records: survivors.map((r) => ({
              offset: r.offset,
              timestamp: header.baseTimestamp + r.timestampDelta,
              key: r.key,
              value: r.value,
              headers: r.headers,
            })),
          }),
        );
      }
    }
    if (removed === 0) continue;
    // Everything below runs without awaiting: the log cannot change under the swap.
    if (!stillInLog(segment)) continue;
    const cleanedPath = `${segment.logPath}.cleaned`;
    const swapPath = `${segment.logPath}.swap`;
    const fd = fs.open(cleanedPath);
    fs.truncate(fd, 0);
    const content = Buffer.concat(kept);
    fs.write(fd, content, 0, content.length, 0);
    fs.fsync(fd);
    fs.close(fd);
    fs.rename(cleanedPath, swapPath);
    segment.replaceWith(swapPath);
    result.cleanedSegments++;
    result.recordsRemoved += removed;
    result.bytesBefore += before;
    result.bytesAfter += content.length;
  }
  return result;
}
