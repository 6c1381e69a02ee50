// What a leader makes of one partition's produce payload once its batch headers and CRCs
// passed (`validateProducePayload`): every batch, compressed or not, is decompressed (within
// DECOMPRESSED_BATCH_BYTES_MAX) and its records walked once, as Kafka 4.1.1's log validator
// walks them; the same walk feeds the rebuild when the topic's compression.type asks for one,
// so no batch is decompressed twice. A batch stored as received gets its max timestamp (and
// timestamp type) corrected in place, as Kafka does. Nothing is written before every batch
// of the payload passed.

import {
  ATTRIBUTE,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  Compression,
  compressionOf,
  OFFSET,
  readBatchHeader,
  writeBatchCrc,
  writeInt64,
} from './batch.ts';
import type { BatchInfo } from './codec.ts';
import { type CompressionLevels, DECOMPRESSED_BATCH_BYTES_MAX, decompressSync } from './compression.ts';
import { KAFKA_ERROR, RecordsError, type RecordsErrorKind } from './errors.ts';
import { needsRecompression, rebuildBatch, targetCodecOf } from './recompress.ts';
import { type RecordError, type RecordRules, type RecordsSummary, summarizeRecords } from './walk.ts';

export interface ProducePayloadOptions {
  /** The topic's `compression.type`. */
  compressionType: string;
  levels?: CompressionLevels;
  rules: RecordRules;
  maxDecompressedBytes?: number;
}

export type ProducePreparation =
  | { ok: true; payload: Uint8Array; batches: BatchInfo[]; recompressed: number }
  | {
      ok: false;
      kind: RecordsErrorKind;
      /** The Kafka error code to answer the partition with. */
      kafkaErrorCode: number;
      message: string;
      /** Index of the offending batch in the payload. */
      batchIndex: number;
      /** The refused records (empty when the batch as a whole is at fault), as Kafka lists them. */
      recordErrors: RecordError[];
    };

type Failure = Extract<ProducePreparation, { ok: false }>;

function failure(
  kind: RecordsErrorKind,
  message: string,
  batchIndex: number,
  recordErrors: RecordError[] = [],
): Failure {
  const kafkaErrorCode =
    kind === 'decompressedTooLarge'
      ? KAFKA_ERROR.MESSAGE_TOO_LARGE
      : kind === 'invalidTimestamp'
        ? KAFKA_ERROR.INVALID_TIMESTAMP
        : KAFKA_ERROR.INVALID_RECORD;
  return { ok: false, kind, kafkaErrorCode, message, batchIndex, recordErrors };
}

/** Kafka's answer to refused records: its messages, word for word. */
function recordsRefused(summary: RecordsSummary, batchIndex: number): Failure {
  if (summary.timestampRefused) {
    return failure(
      'invalidTimestamp',
      'One or more records have been rejected due to invalid timestamp',
      batchIndex,
      summary.recordErrors,
    );
  }
  const shown = summary.recordErrors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.batchIndexErrorMessage}')`)
    .join(', ');
  return failure(
    'invalidRecord',
    `One or more records have been rejected due to ${summary.recordErrorCount} record errors in total, and only showing the first three errors at most: [${shown}]`,
    batchIndex,
    summary.recordErrors,
  );
}

/**
 * A batch kept as received must already number its records 0..n-1: consumers take each
 * record's offset as base offset + delta. (Kafka 4.1.1 stores an uncompressed batch with
 * other deltas as sent, and answers UNKNOWN_SERVER_ERROR for a compressed one.)
 */
function misplacedDeltas(summary: RecordsSummary, batchIndex: number): Failure {
  return failure(
    'invalidRecord',
    `Record ${summary.firstMisplacedDelta} has offset delta ${summary.misplacedDelta}; a record batch numbers its records 0..${summary.count - 1} in order`,
    batchIndex,
  );
}

/**
 * In place, as Kafka does for a batch it keeps: the max timestamp becomes the largest record
 * timestamp, and under CreateTime a LogAppendTime bit set by the producer is cleared. The
 * CRC is recomputed only when something changed. Returns the header as now stored.
 */
function correctInPlace(
  payload: Uint8Array,
  batch: BatchInfo,
  summary: RecordsSummary,
  rules: RecordRules,
): BatchHeader {
  const header = batch.header;
  if (rules.logAppendTime) return header; // the log stamps both fields itself
  const attributes = header.attributes & ~ATTRIBUTE.logAppendTime;
  if (attributes === header.attributes && summary.maxTimestamp === header.maxTimestamp) return header;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  view.setInt16(batch.position + OFFSET.attributes, attributes);
  writeInt64(payload, batch.position + OFFSET.maxTimestamp, summary.maxTimestamp);
  writeBatchCrc(payload, batch.position, batch.size);
  return { ...header, attributes, maxTimestamp: summary.maxTimestamp };
}

/** One batch: its records walked once; null (kept, corrected in place) or its rebuilt bytes. */
function prepareBatch(
  payload: Uint8Array,
  batch: BatchInfo,
  index: number,
  options: ProducePayloadOptions,
): Failure | { kept: BatchHeader } | { rebuilt: Buffer } {
  const { header, position, size } = batch;
  if (header.producerId >= 0 && header.baseSequence < 0) {
    return failure(
      'invalidRecord',
      `Invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId}`,
      index,
    );
  }
  const maxBytes = options.maxDecompressedBytes ?? DECOMPRESSED_BATCH_BYTES_MAX;
  const codec = compressionOf(header.attributes);
  const target = targetCodecOf(options.compressionType, codec);
  const rebuild = needsRecompression(header.attributes, target);
  let plain: Buffer;
  let summary: RecordsSummary;
  try {
    plain = decompressSync(codec, payload.subarray(position + BATCH_HEADER_BYTES, position + size), maxBytes);
    summary = summarizeRecords(plain, header, options.rules, codec !== Compression.none && !rebuild);
  } catch (error) {
    if (!(error instanceof RecordsError)) throw error;
    // A CRC-valid batch whose records cannot be read: retrying cannot help (Kafka: INVALID_RECORD,
    // or UNKNOWN_SERVER_ERROR when its decompressor fails).
    return failure(
      error.kind === 'decompressedTooLarge' ? error.kind : 'invalidRecord',
      error.message,
      index,
    );
  }
  if (summary.recordErrorCount > 0) return recordsRefused(summary, index);
  if (rebuild) {
    const attributes = header.attributes & (ATTRIBUTE.transactional | ATTRIBUTE.control);
    try {
      return { rebuilt: rebuildBatch(header, plain, summary, target, attributes, options.levels, maxBytes) };
    } catch (error) {
      if (!(error instanceof RecordsError)) throw error;
      return failure(
        error.kind === 'decompressedTooLarge' ? error.kind : 'invalidRecord',
        error.message,
        index,
      );
    }
  }
  if (summary.firstMisplacedDelta >= 0) return misplacedDeltas(summary, index);
  return { kept: correctInPlace(payload, batch, summary, options.rules) };
}

/**
 * Checks every record of a header-validated produce payload under the topic's rules and
 * applies its `compression.type`. Returns the payload itself when no batch is rebuilt (its
 * headers possibly corrected in place), else a new payload with the rebuilt batches.
 *
 * Errors, as Kafka 4.1.1 answers them: refused records → INVALID_RECORD (a null key in a
 * compacted topic) or INVALID_TIMESTAMP (any timestamp among them) with `recordErrors`;
 * records that do not parse, a record count that does not match, a producer id without a
 * sequence → INVALID_RECORD; records over `maxDecompressedBytes` → MESSAGE_TOO_LARGE.
 */
export function prepareProducePayload(
  payload: Uint8Array,
  batches: readonly BatchInfo[],
  options: ProducePayloadOptions,
): ProducePreparation {
  const rebuilt: (Buffer | null)[] = [];
  const headers: BatchHeader[] = [];
  let recompressed = 0;
  for (let index = 0; index < batches.length; index++) {
    const batch = batches[index]!;
    const outcome = prepareBatch(payload, batch, index, options);
    if ('ok' in outcome) return outcome;
    if ('rebuilt' in outcome) {
      rebuilt.push(outcome.rebuilt);
      headers.push(batch.header);
      recompressed++;
    } else {
      rebuilt.push(null);
      headers.push(outcome.kept);
    }
  }
  if (recompressed === 0) {
    const infos = batches.map((b, i) => (headers[i] === b.header ? b : { ...b, header: headers[i]! }));
    return { ok: true, payload, batches: infos, recompressed };
  }
  const parts: Uint8Array[] = [];
  const infos: BatchInfo[] = [];
  let position = 0;
  batches.forEach((batch, index) => {
    const fresh = rebuilt[index];
    const bytes = fresh ?? payload.subarray(batch.position, batch.position + batch.size);
    const header = fresh ? readBatchHeader(fresh, 0) : headers[index]!;
    infos.push({ position, size: bytes.length, header });
    parts.push(bytes);
    position += bytes.length;
  });
  const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts, position);
  return { ok: true, payload: joined, batches: infos, recompressed };
}
