// One pass over a batch's (decompressed) records section, in place: every record's framing
// is read, keys, values and headers are skipped, never copied, and no object is built per
// record. The pass counts the records, finds their timestamps, says whether the section is
// already in canonical form (what a rebuilt batch holds), and, given the topic's rules,
// makes the per-record checks of Kafka 4.1.1's log validator (observed over the wire):
// compacted topics refuse a record without a key, and each record's timestamp must lie
// within message.timestamp.before/after.max.ms of now.

import { ATTRIBUTE, type BatchHeader } from './batch.ts';
import { RecordsError } from './errors.ts';
import {
  Cursor,
  readVarint,
  readVarlong,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
} from './varint.ts';

/** What the produce path checks in each record: the topic's rules and the broker's clock. */
export interface RecordRules {
  /** `topic-partition`, named in per-record messages as Kafka names it. */
  topicPartition: string;
  /** cleanup.policy includes compact: every record needs a key. */
  compacted: boolean;
  /** message.timestamp.type=LogAppendTime: timestamps are not checked; a producer may not set that bit. */
  logAppendTime: boolean;
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  nowMs: number;
}

/** One refused record, as Produce v8+ answers it (`batchIndex` is the record's index in its batch). */
export interface RecordError {
  batchIndex: number;
  batchIndexErrorMessage: string;
}

/**
 * Bound on per-record errors kept for one answer. Kafka lists every refused record; a batch
 * of millions of keyless records would make an answer of hundreds of megabytes, so past
 * this many the total is still counted (and said in the message) but no more are listed.
 */
export const RECORD_ERRORS_MAX = 1000;

/** No timestamp (Kafka's RecordBatch.NO_TIMESTAMP): never checked against the bounds. */
const NO_TIMESTAMP = -1;

/** What one walk of a records section learned. */
export interface RecordsSummary {
  count: number;
  firstTimestamp: number;
  /** Largest record timestamp; -1 when none has one. */
  maxTimestamp: number;
  /** Under the LogAppendTime bit every record's timestamp is the batch max timestamp (Kafka's readers). */
  timestampOverride: number | null;
  /** Already in canonical form: attributes 0, offset deltas 0..n-1, deltas from the first timestamp. */
  canonical: boolean;
  /** Bytes of the canonical records section. */
  canonicalBytes: number;
  /** Index of the first record whose offset delta is not its index; -1 when all are. */
  firstMisplacedDelta: number;
  /** That record's offset delta. */
  misplacedDelta: number;
  /** Refused records (at most RECORD_ERRORS_MAX), how many in all, and whether a timestamp was one cause. */
  recordErrors: RecordError[];
  recordErrorCount: number;
  timestampRefused: boolean;
}

/** One record's framing, filled in place by `readRecordFields` (one object for a whole walk). */
export interface RecordFields {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** -1 for a null key. */
  keyLength: number;
  valueLength: number;
  /** Where the key starts: the record's tail (key, value, headers) is copied as is on a rebuild. */
  tailStart: number;
  end: number;
}

export function newRecordFields(): RecordFields {
  return {
    attributes: 0,
    timestampDelta: 0,
    offsetDelta: 0,
    keyLength: 0,
    valueLength: 0,
    tailStart: 0,
    end: 0,
  };
}

function skipBytes(c: Cursor, nullable: boolean, what: string): number {
  const length = readVarint(c);
  if (length < -1 || (length === -1 && !nullable))
    throw new RecordsError('corrupt', `${what} length ${length}`);
  if (length > 0) {
    if (c.pos + length > c.end)
      throw new RecordsError('truncated', `${what} of ${length} bytes runs past its record`);
    c.pos += length;
  }
  return length;
}

/** Reads one record's framing at the cursor into `out`; keys, values and headers are skipped. */
export function readRecordFields(c: Cursor, out: RecordFields): void {
  const length = readVarint(c);
  if (length <= 0) throw new RecordsError('corrupt', `record length ${length}`);
  const end = c.pos + length;
  if (end > c.end) throw new RecordsError('truncated', `record of ${length} bytes runs past its batch`);
  const outerEnd = c.end;
  c.end = end;
  out.attributes = c.buf[c.pos++]!;
  out.timestampDelta = readVarlong(c);
  out.offsetDelta = readVarint(c);
  out.tailStart = c.pos;
  out.keyLength = skipBytes(c, true, 'key');
  out.valueLength = skipBytes(c, true, 'value');
  const headerCount = readVarint(c);
  if (headerCount < 0) throw new RecordsError('corrupt', `negative header count ${headerCount}`);
  for (let i = 0; i < headerCount; i++) {
    skipBytes(c, false, 'header key');
    skipBytes(c, true, 'header value');
  }
  if (c.pos !== end) throw new RecordsError('corrupt', `record has ${end - c.pos} bytes after its headers`);
  c.end = outerEnd;
  out.end = end;
}

export function canonicalRecordBytes(timestampDelta: number, index: number, tailBytes: number): number {
  const body = 1 + varlongSize(timestampDelta) + varintSize(index) + tailBytes;
  return varintSize(body) + body;
}

/** Kafka's per-record verdict, or null when the record passes. */
function recordErrorOf(
  rules: RecordRules,
  header: BatchHeader,
  r: RecordFields,
  timestamp: number,
  recordName: string,
): { message: string; timestamp: boolean } | null {
  if (rules.compacted && r.keyLength < 0) {
    return {
      message: `Compacted topic cannot accept message without key in topic partition ${rules.topicPartition}`,
      timestamp: false,
    };
  }
  const offset = header.baseOffset + r.offsetDelta;
  if (!rules.logAppendTime && timestamp !== NO_TIMESTAMP) {
    const now = rules.nowMs;
    if (now - timestamp > rules.timestampBeforeMaxMs || timestamp - now > rules.timestampAfterMaxMs) {
      const low = now - rules.timestampBeforeMaxMs;
      const high = now + rules.timestampAfterMaxMs;
      return {
        message: `Timestamp ${timestamp} of message with offset ${offset} is out of range. The timestamp should be within [${low}, ${high}]`,
        timestamp: true,
      };
    }
  } else if (header.attributes & ATTRIBUTE.logAppendTime) {
    const key = Math.max(0, r.keyLength);
    const value = Math.max(0, r.valueLength);
    return {
      message: `Invalid timestamp type in message ${recordName}(offset=${offset}, timestamp=${timestamp}, key=${key} bytes, value=${value} bytes). Producer should not set timestamp type to LogAppendTime.`,
      timestamp: true,
    };
  }
  return null;
}

/**
 * Walks the records section `plain` of the batch with `header` once. Structural faults
 * (a record running past the section, bytes left inside a record, a null header key, a
 * record count that does not match) throw RecordsError; per-record refusals under `rules`
 * are collected in the summary, every record being checked as Kafka does. `keptCompressed`:
 * the batch is compressed and will be stored as received (only a message's wording changes).
 */
export function summarizeRecords(
  plain: Uint8Array,
  header: BatchHeader,
  rules: RecordRules | null = null,
  keptCompressed = false,
): RecordsSummary {
  // Kafka names the record in one message by the class that read it: a compressed batch it
  // keeps is read without keys and values (PartialDefaultRecord), any other fully.
  const recordName = keptCompressed ? 'PartialDefaultRecord' : 'DefaultRecord';
  const c = new Cursor(plain);
  const r = newRecordFields();
  const override = rules !== null && header.attributes & ATTRIBUTE.logAppendTime ? header.maxTimestamp : null;
  const summary: RecordsSummary = {
    count: 0,
    firstTimestamp: 0,
    maxTimestamp: NO_TIMESTAMP,
    timestampOverride: override,
    canonical: true,
    canonicalBytes: 0,
    firstMisplacedDelta: -1,
    misplacedDelta: 0,
    recordErrors: [],
    recordErrorCount: 0,
    timestampRefused: false,
  };
  let count = 0;
  while (c.pos < c.end) {
    if (count >= header.recordCount) {
      throw new RecordsError('invalidRecord', `batch declares ${header.recordCount} records but holds more`);
    }
    readRecordFields(c, r);
    const timestamp = override ?? header.baseTimestamp + r.timestampDelta;
    if (count === 0) summary.firstTimestamp = timestamp;
    if (timestamp > summary.maxTimestamp) summary.maxTimestamp = timestamp;
    const delta = timestamp - summary.firstTimestamp;
    if (r.offsetDelta !== count && summary.firstMisplacedDelta < 0) {
      summary.firstMisplacedDelta = count;
      summary.misplacedDelta = r.offsetDelta;
    }
    if (r.attributes !== 0 || r.offsetDelta !== count || delta !== r.timestampDelta)
      summary.canonical = false;
    summary.canonicalBytes += canonicalRecordBytes(delta, count, r.end - r.tailStart);
    if (rules !== null) {
      const error = recordErrorOf(rules, header, r, timestamp, recordName);
      if (error !== null) {
        if (summary.recordErrors.length < RECORD_ERRORS_MAX) {
          summary.recordErrors.push({ batchIndex: count, batchIndexErrorMessage: error.message });
        }
        summary.recordErrorCount++;
        if (error.timestamp) summary.timestampRefused = true;
      }
    }
    count++;
  }
  if (count !== header.recordCount) {
    throw new RecordsError('invalidRecord', `batch declares ${header.recordCount} records, holds ${count}`);
  }
  summary.count = count;
  return summary;
}

/** Writes the canonical records section (a second pass over the same bytes, for a rebuild). */
export function rewriteRecords(plain: Uint8Array, header: BatchHeader, summary: RecordsSummary): Buffer {
  const out = Buffer.allocUnsafe(summary.canonicalBytes);
  const c = new Cursor(plain);
  const r = newRecordFields();
  let pos = 0;
  for (let index = 0; index < summary.count; index++) {
    readRecordFields(c, r);
    const timestamp = summary.timestampOverride ?? header.baseTimestamp + r.timestampDelta;
    const delta = timestamp - summary.firstTimestamp;
    const tailBytes = r.end - r.tailStart;
    pos = writeVarint(out, pos, 1 + varlongSize(delta) + varintSize(index) + tailBytes);
    out[pos++] = 0;
    pos = writeVarlong(out, pos, delta);
    pos = writeVarint(out, pos, index);
    out.set(plain.subarray(r.tailStart, r.end), pos);
    pos += tailBytes;
  }
  if (pos !== out.length) throw new Error(`record rewrite wrote ${pos} bytes, expected ${out.length}`);
  return out;
}
