// RecordBatch v2 header: layout, reading, writing and the in-place rewrites a broker
// makes (base offset, partition leader epoch, LogAppendTime). Touches no I/O.
//
//  offset size field                   offset size field
//       0    8 baseOffset                   27    8 baseTimestamp
//       8    4 batchLength (bytes after)    35    8 maxTimestamp
//      12    4 partitionLeaderEpoch         43    8 producerId
//      16    1 magic (= 2)                  51    2 producerEpoch
//      17    4 crc (CRC-32C of 21..end)     53    4 baseSequence
//      21    2 attributes                   57    4 recordCount
//      23    4 lastOffsetDelta              61      records…

import { crc32c } from './crc32c.ts';
import { RecordsError } from './errors.ts';

export const BATCH_HEADER_BYTES = 61;
/** Bytes before `batchLength` counts: baseOffset + batchLength itself. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
/** Smallest `batchLength` of a well-formed v2 batch (a header and no records). */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES;
export const CURRENT_MAGIC = 2;

export const OFFSET = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

/** Compression codecs, attribute bits 0-2. */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = (typeof Compression)[keyof typeof Compression];
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export const ATTRIBUTE = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  /** KIP-534: baseTimestamp holds the delete horizon of a compacted batch. */
  deleteHorizon: 0x40,
} as const;

export const TimestampType = { createTime: 0, logAppendTime: 1 } as const;
export type TimestampTypeValue = (typeof TimestampType)[keyof typeof TimestampType];

/** Values of fields that mean "none". */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the whole batch is batchLength + 12 bytes. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Reads a signed 64-bit big-endian integer as a number (exact within ±2^53). */
export function readInt64(buf: Uint8Array, pos: number): number {
  const view = dataView(buf);
  return view.getInt32(pos) * 4294967296 + view.getUint32(pos + 4);
}

export function writeInt64(buf: Uint8Array, pos: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`int64 value ${value} is not a safe integer`);
  const view = dataView(buf);
  const high = Math.floor(value / 4294967296);
  view.setInt32(pos, high);
  view.setUint32(pos + 4, value - high * 4294967296);
}

function dataView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Reads the header of the batch at `pos`. The caller checks 61 bytes are there. */
export function readBatchHeader(buf: Uint8Array, pos = 0): BatchHeader {
  if (buf.length - pos < BATCH_HEADER_BYTES) {
    throw new RecordsError(
      'truncated',
      `batch header needs ${BATCH_HEADER_BYTES} bytes, ${buf.length - pos} left`,
    );
  }
  const view = dataView(buf);
  return {
    baseOffset: readInt64(buf, pos + OFFSET.baseOffset),
    batchLength: view.getInt32(pos + OFFSET.batchLength),
    partitionLeaderEpoch: view.getInt32(pos + OFFSET.partitionLeaderEpoch),
    magic: view.getInt8(pos + OFFSET.magic),
    crc: view.getUint32(pos + OFFSET.crc),
    attributes: view.getInt16(pos + OFFSET.attributes),
    lastOffsetDelta: view.getInt32(pos + OFFSET.lastOffsetDelta),
    baseTimestamp: readInt64(buf, pos + OFFSET.baseTimestamp),
    maxTimestamp: readInt64(buf, pos + OFFSET.maxTimestamp),
    producerId: readInt64(buf, pos + OFFSET.producerId),
    producerEpoch: view.getInt16(pos + OFFSET.producerEpoch),
    baseSequence: view.getInt32(pos + OFFSET.baseSequence),
    recordCount: view.getInt32(pos + OFFSET.recordCount),
  };
}

/**
 * Writes `header` at `pos` (the crc field as given: call `writeBatchCrc` once the
 * records follow the header).
 */
export function writeBatchHeader(buf: Uint8Array, pos: number, header: BatchHeader): void {
  const view = dataView(buf);
  writeInt64(buf, pos + OFFSET.baseOffset, header.baseOffset);
  view.setInt32(pos + OFFSET.batchLength, header.batchLength);
  view.setInt32(pos + OFFSET.partitionLeaderEpoch, header.partitionLeaderEpoch);
  view.setInt8(pos + OFFSET.magic, header.magic);
  view.setUint32(pos + OFFSET.crc, header.crc >>> 0);
  view.setInt16(pos + OFFSET.attributes, header.attributes);
  view.setInt32(pos + OFFSET.lastOffsetDelta, header.lastOffsetDelta);
  writeInt64(buf, pos + OFFSET.baseTimestamp, header.baseTimestamp);
  writeInt64(buf, pos + OFFSET.maxTimestamp, header.maxTimestamp);
  writeInt64(buf, pos + OFFSET.producerId, header.producerId);
  view.setInt16(pos + OFFSET.producerEpoch, header.producerEpoch);
  view.setInt32(pos + OFFSET.baseSequence, header.baseSequence);
  view.setInt32(pos + OFFSET.recordCount, header.recordCount);
}

/** Total bytes of the batch at `pos` (batchLength + 12), read from its header. */
export function batchSizeAt(buf: Uint8Array, pos: number): number {
  return dataView(buf).getInt32(pos + OFFSET.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
}

/** CRC-32C over attributes..end of the batch at `pos` of `size` bytes. */
export function computeBatchCrc(buf: Uint8Array, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + OFFSET.attributes, pos + size));
}

export function writeBatchCrc(buf: Uint8Array, pos: number, size: number): void {
  dataView(buf).setUint32(pos + OFFSET.crc, computeBatchCrc(buf, pos, size));
}

export function isBatchCrcValid(buf: Uint8Array, pos: number, size: number): boolean {
  return dataView(buf).getUint32(pos + OFFSET.crc) === computeBatchCrc(buf, pos, size);
}

// Attribute helpers.
export function compressionOf(attributes: number): number {
  return attributes & ATTRIBUTE.compressionMask;
}
export function timestampTypeOf(attributes: number): TimestampTypeValue {
  return attributes & ATTRIBUTE.logAppendTime ? TimestampType.logAppendTime : TimestampType.createTime;
}
export function isTransactional(attributes: number): boolean {
  return (attributes & ATTRIBUTE.transactional) !== 0;
}
export function isControl(attributes: number): boolean {
  return (attributes & ATTRIBUTE.control) !== 0;
}
export function makeAttributes(fields: {
  compression?: number;
  timestampType?: TimestampTypeValue;
  transactional?: boolean;
  control?: boolean;
}): number {
  return (
    ((fields.compression ?? 0) & ATTRIBUTE.compressionMask) |
    (fields.timestampType === TimestampType.logAppendTime ? ATTRIBUTE.logAppendTime : 0) |
    (fields.transactional ? ATTRIBUTE.transactional : 0) |
    (fields.control ? ATTRIBUTE.control : 0)
  );
}

// In-place rewrites. Base offset and partition leader epoch lie before the CRC'd
// range, so they change without recomputing the CRC, as in Kafka.

export function setBaseOffset(buf: Uint8Array, pos: number, baseOffset: number): void {
  writeInt64(buf, pos + OFFSET.baseOffset, baseOffset);
}

export function setPartitionLeaderEpoch(buf: Uint8Array, pos: number, epoch: number): void {
  dataView(buf).setInt32(pos + OFFSET.partitionLeaderEpoch, epoch);
}

/**
 * LogAppendTime: marks the batch's timestamp type as log-append time and sets its max
 * timestamp to `logAppendTimeMs`, then recomputes the CRC (both lie in the CRC'd range).
 * Records keep their own deltas; readers take the batch max timestamp for every record.
 */
export function setLogAppendTime(buf: Uint8Array, pos: number, logAppendTimeMs: number): void {
  const view = dataView(buf);
  const size = view.getInt32(pos + OFFSET.batchLength) + BATCH_LOG_OVERHEAD_BYTES;
  view.setInt16(pos + OFFSET.attributes, view.getInt16(pos + OFFSET.attributes) | ATTRIBUTE.logAppendTime);
  writeInt64(buf, pos + OFFSET.maxTimestamp, logAppendTimeMs);
  writeBatchCrc(buf, pos, size);
}

/** The last offset of the batch at `pos`: baseOffset + lastOffsetDelta. */
export function lastOffsetAt(buf: Uint8Array, pos: number): number {
  return readInt64(buf, pos + OFFSET.baseOffset) + dataView(buf).getInt32(pos + OFFSET.lastOffsetDelta);
}
