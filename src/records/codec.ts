// Whole-batch operations: validating a produce payload, encoding a batch from records
// and decoding one back. Batches are stored as received; only tools, compaction and
// tests encode or decode records.

import {
  ATTRIBUTE,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_MIN,
  BATCH_LOG_OVERHEAD_BYTES,
  type BatchHeader,
  Compression,
  CURRENT_MAGIC,
  compressionOf,
  isBatchCrcValid,
  makeAttributes,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  OFFSET,
  readBatchHeader,
  type TimestampTypeValue,
  writeBatchCrc,
  writeBatchHeader,
} from './batch.ts';
import { compress, decompress } from './compression.ts';
import { kafkaErrorCodeFor, RecordsError, type RecordsErrorKind } from './errors.ts';
import { countRecords, type KafkaRecord, type RecordHeader, readRecords, writeRecords } from './record.ts';

/** A batch found in a buffer: where it is and its header. */
export interface BatchInfo {
  /** Byte position of the batch in the buffer it was found in. */
  position: number;
  /** Total bytes (batchLength + 12). */
  size: number;
  header: BatchHeader;
}

/** Outcome of checking the bytes at one position: a whole valid batch or why not. */
export type BatchCheck =
  | { ok: true; batch: BatchInfo }
  | { ok: false; kind: RecordsErrorKind; message: string };

function fail(kind: RecordsErrorKind, message: string): BatchCheck {
  return { ok: false, kind, message };
}

/**
 * Checks the batch at `pos` (structure, magic, length, CRC-32C) without decoding its
 * records. Used by produce validation and by log recovery alike.
 */
export function checkBatchAt(buf: Uint8Array, pos: number, end = buf.length): BatchCheck {
  const left = end - pos;
  if (left < BATCH_LOG_OVERHEAD_BYTES + 5) return fail('truncated', `${left} bytes cannot hold a batch`);
  const magic = (buf[pos + OFFSET.magic]! << 24) >> 24;
  if (magic === 0 || magic === 1) {
    return fail('unsupportedMagic', `message format v${magic} (magic ${magic}) is not supported; use v2`);
  }
  if (magic !== CURRENT_MAGIC) return fail('corrupt', `unknown magic ${magic}`);
  const batchLength = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getInt32(
    pos + OFFSET.batchLength,
  );
  if (batchLength < BATCH_LENGTH_MIN)
    return fail('corrupt', `batch length ${batchLength} below ${BATCH_LENGTH_MIN}`);
  const size = batchLength + BATCH_LOG_OVERHEAD_BYTES;
  if (size > left) return fail('truncated', `batch of ${size} bytes but only ${left} left`);
  if (!isBatchCrcValid(buf, pos, size))
    return fail('crcMismatch', 'batch CRC-32C does not match its contents');
  const header = readBatchHeader(buf, pos);
  if (compressionOf(header.attributes) > Compression.zstd) {
    return fail('unknownCompression', `compression codec ${compressionOf(header.attributes)} does not exist`);
  }
  if (header.recordCount < 0) return fail('corrupt', `negative record count ${header.recordCount}`);
  return { ok: true, batch: { position: pos, size, header } };
}

export type ProduceValidation =
  | { ok: true; batches: BatchInfo[]; recordCount: number }
  | {
      ok: false;
      kind: RecordsErrorKind;
      message: string;
      /** The Kafka error code to answer the partition with. */
      kafkaErrorCode: number;
      /** Index of the offending batch in the payload. */
      batchIndex: number;
    };

/** Bound on batches in one partition's produce payload (Kafka sends exactly one). */
export const PRODUCE_BATCHES_MAX = 1024;

/**
 * Validates the records of one partition in a produce request: a sequence of v2
 * batches, each whole, CRC-valid, with `lastOffsetDelta + 1 == recordCount`, no control
 * batches, and (unless `countRecords` is false) for uncompressed batches a record count
 * matching the record length prefixes. Nothing is decompressed here: the broker's produce
 * path walks every record afterwards (`prepareProducePayload`), so it passes
 * `{ countRecords: false }`.
 */
export function validateProducePayload(
  buf: Uint8Array,
  options: { countRecords?: boolean } = {},
): ProduceValidation {
  const countUncompressed = options.countRecords ?? true;
  const batches: BatchInfo[] = [];
  let recordCount = 0;
  let pos = 0;
  const bad = (kind: RecordsErrorKind, message: string): ProduceValidation => ({
    ok: false,
    kind,
    message,
    kafkaErrorCode: kafkaErrorCodeFor(kind),
    batchIndex: batches.length,
  });
  if (buf.length === 0) return bad('invalidRecord', 'produce payload holds no batch');
  while (pos < buf.length) {
    if (batches.length >= PRODUCE_BATCHES_MAX)
      return bad('invalidRecord', `more than ${PRODUCE_BATCHES_MAX} batches`);
    const check = checkBatchAt(buf, pos);
    if (!check.ok) return bad(check.kind, check.message);
    const { header, size } = check.batch;
    if (header.attributes & ATTRIBUTE.control)
      return bad('invalidRecord', 'producers may not send control batches');
    if (header.recordCount === 0 || header.lastOffsetDelta + 1 !== header.recordCount) {
      return bad(
        'invalidRecord',
        `record count ${header.recordCount} does not match last offset delta ${header.lastOffsetDelta}`,
      );
    }
    if (countUncompressed && compressionOf(header.attributes) === Compression.none) {
      try {
        const counted = countRecords(buf.subarray(pos + BATCH_HEADER_BYTES, pos + size));
        if (counted !== header.recordCount) {
          return bad('invalidRecord', `batch declares ${header.recordCount} records, holds ${counted}`);
        }
      } catch (error) {
        return bad('corrupt', (error as Error).message);
      }
    }
    batches.push(check.batch);
    recordCount += header.recordCount;
    pos += size;
  }
  return { ok: true, batches, recordCount };
}

/** What `encodeRecordBatch` needs. Records carry absolute offsets and timestamps. */
export interface RecordBatchInput {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: number;
  timestampType?: TimestampTypeValue;
  transactional?: boolean;
  control?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Base timestamp; defaults to the smallest record timestamp. */
  baseTimestamp?: number;
  /** Max timestamp; defaults to the largest record timestamp. */
  maxTimestamp?: number;
  /** Last offset delta; defaults to that of the last record (compaction may keep a larger one). */
  lastOffsetDelta?: number;
  records: RecordSpec[];
}

export interface RecordSpec {
  /** Absolute offset; defaults to baseOffset + index. */
  offset?: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
}

/** Encodes a whole v2 batch (compressing the records section) with its CRC. */
export async function encodeRecordBatch(input: RecordBatchInput): Promise<Buffer> {
  const baseOffset = input.baseOffset ?? 0;
  const records = input.records;
  const timestamps = records.map((r) => r.timestamp);
  const baseTimestamp = input.baseTimestamp ?? (records.length ? Math.min(...timestamps) : -1);
  const maxTimestamp = input.maxTimestamp ?? (records.length ? Math.max(...timestamps) : -1);
  const offsetDeltas = records.map((r, i) => (r.offset ?? baseOffset + i) - baseOffset);
  const lastOffsetDelta =
    input.lastOffsetDelta ?? (records.length ? offsetDeltas[offsetDeltas.length - 1]! : 0);
  const codec = input.compression ?? Compression.none;
  const plain = writeRecords(
    records.map((r, i) => ({
      offsetDelta: offsetDeltas[i]!,
      timestampDelta: r.timestamp - baseTimestamp,
      key: r.key,
      value: r.value,
      headers: r.headers ?? [],
    })),
  );
  const body = await compress(codec, plain);
  const size = BATCH_HEADER_BYTES + body.length;
  const buf = Buffer.allocUnsafe(size);
  writeBatchHeader(buf, 0, {
    baseOffset,
    batchLength: size - BATCH_LOG_OVERHEAD_BYTES,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    magic: CURRENT_MAGIC,
    crc: 0,
    attributes: makeAttributes({
      compression: codec,
      timestampType: input.timestampType ?? 0,
      transactional: input.transactional ?? false,
      control: input.control ?? false,
    }),
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: input.producerId ?? NO_PRODUCER_ID,
    producerEpoch: input.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: input.baseSequence ?? NO_SEQUENCE,
    recordCount: records.length,
  });
  body.copy(buf, BATCH_HEADER_BYTES);
  writeBatchCrc(buf, 0, size);
  return buf;
}

export interface DecodedBatch {
  header: BatchHeader;
  size: number;
  records: KafkaRecord[];
}

/**
 * Decodes the batch at `pos`: checks it, decompresses its records and decodes them.
 * Under LogAppendTime every record's timestamp is the batch's max timestamp, as Kafka's
 * readers do.
 */
export async function decodeRecordBatch(buf: Uint8Array, pos = 0): Promise<DecodedBatch> {
  const check = checkBatchAt(buf, pos);
  if (!check.ok) throw new RecordsError(check.kind, check.message);
  const { header, size } = check.batch;
  const body = await decompress(
    compressionOf(header.attributes),
    buf.subarray(pos + BATCH_HEADER_BYTES, pos + size),
  );
  const records = readRecords(body, header.recordCount, header.baseOffset, header.baseTimestamp);
  if (header.attributes & ATTRIBUTE.logAppendTime) {
    for (const r of records) r.timestamp = header.maxTimestamp;
  }
  return { header, size, records };
}

/** Decodes every batch of `buf` (for example a fetch response's records). */
export async function decodeRecordBatches(buf: Uint8Array): Promise<DecodedBatch[]> {
  const batches: DecodedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const batch = await decodeRecordBatch(buf, pos);
    batches.push(batch);
    pos += batch.size;
  }
  return batches;
}
