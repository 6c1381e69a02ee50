// Broker-side recompression: what a topic's `compression.type` does to a produced batch.
//
// As observed on Apache Kafka 4.1.1: with `producer` (the default) a batch keeps the
// producer's codec; otherwise a batch whose codec differs from the topic's is rebuilt with
// the topic's codec. The rebuilt batch keeps the producer id, epoch, base sequence, the
// transactional flag and every record's timestamp, key, value and headers; its base
// timestamp becomes the first record's timestamp, its max timestamp the largest record
// timestamp, record offset deltas become 0..n-1 and record attributes 0. Kafka never
// compresses an uncompressed control batch. A batch already in the topic's codec is
// stored as received (no decompression at all).
//
// Records are walked in place, never turned into objects: a batch of millions of tiny
// records costs no more memory than its bytes, and its decompressed size is bounded by
// the caller (DECOMPRESSED_BATCH_BYTES_MAX by default).

import {
  ATTRIBUTE,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  type BatchHeader,
  Compression,
  compressionOf,
  isControl,
  readBatchHeader,
  writeBatchCrc,
  writeBatchHeader,
} from './batch.ts';
import type { BatchInfo } from './codec.ts';
import {
  type CompressionLevels,
  compressSync,
  DECOMPRESSED_BATCH_BYTES_MAX,
  decompressSync,
} from './compression.ts';
import { KAFKA_ERROR, kafkaErrorCodeFor, RecordsError, type RecordsErrorKind } from './errors.ts';
import {
  Cursor,
  readVarint,
  readVarlong,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
} from './varint.ts';

/** Values of `compression.type` (topic and broker), in Kafka's order. */
export const COMPRESSION_TYPES = ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] as const;
export type CompressionType = (typeof COMPRESSION_TYPES)[number];

const CODEC_OF_TYPE: Readonly<Record<string, number>> = {
  uncompressed: Compression.none,
  gzip: Compression.gzip,
  snappy: Compression.snappy,
  lz4: Compression.lz4,
  zstd: Compression.zstd,
};

/** The codec a batch compressed with `sourceCodec` is stored in under `compressionType`. */
export function targetCodecOf(compressionType: string, sourceCodec: number): number {
  if (compressionType === 'producer') return sourceCodec;
  const codec = CODEC_OF_TYPE[compressionType];
  if (codec === undefined) throw new RangeError(`compression.type ${compressionType} does not exist`);
  return codec;
}

/** Whether a batch with these attributes must be rebuilt to be stored in `targetCodec`. */
export function needsRecompression(attributes: number, targetCodec: number): boolean {
  const source = compressionOf(attributes);
  if (source === targetCodec) return false;
  // Kafka keeps control batches uncompressed unless they were written compressed.
  return !(isControl(attributes) && source === Compression.none);
}

/** What one record walk learned: enough to rebuild the records section. */
interface RecordsSummary {
  count: number;
  firstTimestamp: number;
  maxTimestamp: number;
  /** Already in canonical form (attributes 0, offset deltas 0..n-1, base = first timestamp). */
  canonical: boolean;
  /** Bytes of the canonical records section. */
  canonicalBytes: number;
}

function skipBytes(c: Cursor, nullable: boolean, what: string): void {
  const length = readVarint(c);
  if (length < -1 || (length === -1 && !nullable))
    throw new RecordsError('corrupt', `${what} length ${length}`);
  if (length > 0) {
    if (c.pos + length > c.end)
      throw new RecordsError('truncated', `${what} of ${length} bytes runs past its record`);
    c.pos += length;
  }
}

/**
 * Reads one record's framing at the cursor; returns where its key starts and where it ends.
 * Keys, values and headers are skipped, not copied.
 */
function walkRecord(c: Cursor): {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  tailStart: number;
  end: number;
} {
  const length = readVarint(c);
  if (length <= 0) throw new RecordsError('corrupt', `record length ${length}`);
  const end = c.pos + length;
  if (end > c.end) throw new RecordsError('truncated', `record of ${length} bytes runs past its batch`);
  const outerEnd = c.end;
  c.end = end;
  const attributes = c.buf[c.pos++]!;
  const timestampDelta = readVarlong(c);
  const offsetDelta = readVarint(c);
  const tailStart = c.pos;
  skipBytes(c, true, 'key');
  skipBytes(c, true, 'value');
  const headerCount = readVarint(c);
  if (headerCount < 0) throw new RecordsError('corrupt', `negative header count ${headerCount}`);
  for (let i = 0; i < headerCount; i++) {
    skipBytes(c, false, 'header key');
    skipBytes(c, true, 'header value');
  }
  if (c.pos !== end) throw new RecordsError('corrupt', `record has ${end - c.pos} bytes after its headers`);
  c.end = outerEnd;
  return { attributes, timestampDelta, offsetDelta, tailStart, end };
}

function canonicalRecordBytes(timestampDelta: number, index: number, tailBytes: number): number {
  const body = 1 + varlongSize(timestampDelta) + varintSize(index) + tailBytes;
  return varintSize(body) + body;
}

function summarize(plain: Uint8Array, header: BatchHeader): RecordsSummary {
  const c = new Cursor(plain);
  let count = 0;
  let firstTimestamp = 0;
  let maxTimestamp = -1;
  let canonical = true;
  let canonicalBytes = 0;
  while (c.pos < c.end) {
    if (count >= header.recordCount) {
      throw new RecordsError('invalidRecord', `batch declares ${header.recordCount} records but holds more`);
    }
    const r = walkRecord(c);
    const timestamp = header.baseTimestamp + r.timestampDelta;
    if (count === 0) firstTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const delta = timestamp - firstTimestamp;
    if (r.attributes !== 0 || r.offsetDelta !== count || delta !== r.timestampDelta) canonical = false;
    canonicalBytes += canonicalRecordBytes(delta, count, r.end - r.tailStart);
    count++;
  }
  if (count !== header.recordCount) {
    throw new RecordsError('invalidRecord', `batch declares ${header.recordCount} records, holds ${count}`);
  }
  return { count, firstTimestamp, maxTimestamp, canonical, canonicalBytes };
}

/** Writes the canonical records section (second pass over the same bytes). */
function rewriteRecords(plain: Uint8Array, header: BatchHeader, summary: RecordsSummary): Buffer {
  const out = Buffer.allocUnsafe(summary.canonicalBytes);
  const c = new Cursor(plain);
  let pos = 0;
  for (let index = 0; index < summary.count; index++) {
    const r = walkRecord(c);
    const delta = header.baseTimestamp + r.timestampDelta - summary.firstTimestamp;
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

/** One batch rebuilt in `targetCodec`; throws RecordsError on bad records or a bomb. */
export function recompressBatch(
  buf: Uint8Array,
  batch: BatchInfo,
  targetCodec: number,
  levels: CompressionLevels = {},
  maxDecompressedBytes = DECOMPRESSED_BATCH_BYTES_MAX,
): Buffer {
  const { header, position, size } = batch;
  const body = buf.subarray(position + BATCH_HEADER_BYTES, position + size);
  const plain = decompressSync(compressionOf(header.attributes), body, maxDecompressedBytes);
  const summary = summarize(plain, header);
  if (summary.canonicalBytes > maxDecompressedBytes) {
    throw new RecordsError(
      'decompressedTooLarge',
      `records take ${summary.canonicalBytes} bytes uncompressed, more than ${maxDecompressedBytes} (DECOMPRESSED_BATCH_BYTES_MAX)`,
    );
  }
  const records = summary.canonical ? plain : rewriteRecords(plain, header, summary);
  const compressed = compressSync(targetCodec, records, levels);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
  const kept = header.attributes & (ATTRIBUTE.logAppendTime | ATTRIBUTE.transactional | ATTRIBUTE.control);
  writeBatchHeader(out, 0, {
    ...header,
    batchLength: out.length - BATCH_LOG_OVERHEAD_BYTES,
    crc: 0,
    attributes: kept | targetCodec,
    lastOffsetDelta: summary.count - 1,
    baseTimestamp: summary.firstTimestamp,
    maxTimestamp: summary.maxTimestamp,
    recordCount: summary.count,
  });
  compressed.copy(out, BATCH_HEADER_BYTES);
  writeBatchCrc(out, 0, out.length);
  return out;
}

export type RecompressOutcome =
  | { ok: true; payload: Uint8Array; batches: BatchInfo[]; recompressed: number }
  | { ok: false; kind: RecordsErrorKind; message: string; kafkaErrorCode: number; batchIndex: number };

/**
 * Applies a topic's `compression.type` to a validated produce payload. Returns the payload
 * itself (zero copy) when no batch needs rebuilding, else a new payload with the rebuilt
 * batches and their new positions and headers.
 *
 * Errors: records that decompress to more than `maxDecompressedBytes` answer
 * MESSAGE_TOO_LARGE; data that cannot be decompressed or records that do not parse answer
 * INVALID_RECORD (the batch CRC already matched, so a retry cannot help; Kafka answers
 * INVALID_RECORD for bad gzip data and for a record count that does not match).
 */
export function applyCompressionType(
  payload: Uint8Array,
  batches: readonly BatchInfo[],
  compressionType: string,
  levels: CompressionLevels = {},
  maxDecompressedBytes = DECOMPRESSED_BATCH_BYTES_MAX,
): RecompressOutcome {
  const rebuilt: (Buffer | null)[] = [];
  let recompressed = 0;
  for (let index = 0; index < batches.length; index++) {
    const batch = batches[index]!;
    const target = targetCodecOf(compressionType, compressionOf(batch.header.attributes));
    if (!needsRecompression(batch.header.attributes, target)) {
      rebuilt.push(null);
      continue;
    }
    try {
      rebuilt.push(recompressBatch(payload, batch, target, levels, maxDecompressedBytes));
      recompressed++;
    } catch (error) {
      if (!(error instanceof RecordsError)) throw error;
      const kind = error.kind;
      return {
        ok: false,
        kind,
        message: error.message,
        kafkaErrorCode:
          kind === 'decompressedTooLarge' ? kafkaErrorCodeFor(kind) : KAFKA_ERROR.INVALID_RECORD,
        batchIndex: index,
      };
    }
  }
  if (recompressed === 0) return { ok: true, payload, batches: [...batches], recompressed };
  const parts: Uint8Array[] = [];
  const infos: BatchInfo[] = [];
  let position = 0;
  batches.forEach((batch, index) => {
    const fresh = rebuilt[index];
    const bytes = fresh ?? payload.subarray(batch.position, batch.position + batch.size);
    infos.push({ position, size: bytes.length, header: fresh ? readBatchHeader(fresh, 0) : batch.header });
    parts.push(bytes);
    position += bytes.length;
  });
  const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts, position);
  return { ok: true, payload: joined, batches: infos, recompressed };
}
