// Broker-side recompression: what a topic's `compression.type` does to a produced batch.
//
// As observed on Apache Kafka 4.1.1: with `producer` (the default) a batch keeps the
// producer's codec; otherwise a batch whose codec differs from the topic's is rebuilt with
// the topic's codec. The rebuilt batch keeps the producer id, epoch, base sequence, the
// transactional flag and every record's timestamp, key, value and headers; its base
// timestamp becomes the first record's timestamp, its max timestamp the largest record
// timestamp, record offset deltas become 0..n-1 and record attributes 0. Kafka never
// compresses an uncompressed control batch. A batch already in the topic's codec is
// stored as received (the produce path still walks its records: produce.ts).
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
import { type RecordsSummary, rewriteRecords, summarizeRecords } from './walk.ts';

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
  const summary = summarizeRecords(plain, header);
  const kept = header.attributes & (ATTRIBUTE.logAppendTime | ATTRIBUTE.transactional | ATTRIBUTE.control);
  return rebuildBatch(header, plain, summary, targetCodec, kept, levels, maxDecompressedBytes);
}

/**
 * Builds a batch in `targetCodec` from records already walked (`summary`): the canonical
 * records section (the same bytes when already canonical), compressed, under a header with
 * `attributes` beside the codec, the first record's timestamp as base, the largest as max.
 */
export function rebuildBatch(
  header: BatchHeader,
  plain: Uint8Array,
  summary: RecordsSummary,
  targetCodec: number,
  attributes: number,
  levels: CompressionLevels = {},
  maxDecompressedBytes = DECOMPRESSED_BATCH_BYTES_MAX,
): Buffer {
  if (summary.canonicalBytes > maxDecompressedBytes) {
    throw new RecordsError(
      'decompressedTooLarge',
      `records take ${summary.canonicalBytes} bytes uncompressed, more than ${maxDecompressedBytes} (DECOMPRESSED_BATCH_BYTES_MAX)`,
    );
  }
  const records = summary.canonical
    ? Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength)
    : rewriteRecords(plain, header, summary);
  const compressed = compressSync(targetCodec, records, levels);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
  writeBatchHeader(out, 0, {
    ...header,
    batchLength: out.length - BATCH_LOG_OVERHEAD_BYTES,
    crc: 0,
    attributes: attributes | targetCodec,
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
