// Record-level timestamp lookups for ListOffsets: the batch is found through the time
// index and batch headers, then decoded to find the exact record, as Kafka does.

import { decodeRecordBatch } from '../records/index.ts';
import type { TimestampOffset } from './partition-log.ts';

/** The first record of `batch` with timestamp ≥ `timestampMs` and offset ≥ `minOffset`. */
export async function findRecordAtOrAfterTimestamp(
  batch: Uint8Array,
  timestampMs: number,
  minOffset: number,
): Promise<TimestampOffset | null> {
  const { header, records } = await decodeRecordBatch(batch);
  for (const r of records) {
    if (r.timestamp >= timestampMs && r.offset >= minOffset) {
      return { offset: r.offset, timestamp: r.timestamp, leaderEpoch: header.partitionLeaderEpoch };
    }
  }
  return null;
}

/** The first record of `batch` carrying its largest timestamp. */
export async function findRecordWithMaxTimestamp(batch: Uint8Array): Promise<TimestampOffset | null> {
  const { header, records } = await decodeRecordBatch(batch);
  let best: TimestampOffset | null = null;
  for (const r of records) {
    if (!best || r.timestamp > best.timestamp) {
      best = { offset: r.offset, timestamp: r.timestamp, leaderEpoch: header.partitionLeaderEpoch };
    }
  }
  return best;
}
