// Kafka's producer-state files, byte for byte, so `kafka-dump-log` reads ours:
//
// `<20-digit offset>.snapshot` (ProducerStateManager, snapshot version 1): the producers of a
// partition as they stand before `offset`:
//   int16 version (1) | uint32 crc32c of every byte after it | int32 count | count × entry
//   entry: int64 producer id, int16 epoch, int32 last sequence, int64 last offset,
//          int32 offset delta (last sequence − first sequence of the last batch), int64 timestamp,
//          int32 coordinator epoch, int64 first offset of the open transaction (−1 when none)
//
// `<20-digit base offset>.txnindex` (TransactionIndex): one 34-byte entry per aborted transaction
// whose abort marker is in that segment:
//   int16 version (0) | int64 producer id | int64 first offset | int64 last offset (the marker)
//   | int64 last stable offset after the abort

import { crc32c } from '../records/index.ts';

export const SNAPSHOT_SUFFIX = '.snapshot';
export const TXN_INDEX_SUFFIX = '.txnindex';
export const PRODUCER_SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 2 + 4 + 4;
const SNAPSHOT_CRC_FROM = 6;
export const SNAPSHOT_ENTRY_BYTES = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
export const TXN_INDEX_VERSION = 0;
export const TXN_INDEX_ENTRY_BYTES = 2 + 8 + 8 + 8 + 8;

/** One producer in a snapshot: its last batch, last marker's coordinator epoch and open transaction. */
export interface ProducerSnapshotEntry {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** -1 when the producer has written no batch in this epoch (only a marker). */
  readonly lastSequence: number;
  readonly lastOffset: number;
  readonly offsetDelta: number;
  readonly timestampMs: number;
  readonly coordinatorEpoch: number;
  /** -1 when no transaction is open. */
  readonly currentTxnFirstOffset: number;
}

export interface AbortedTxnEntry {
  readonly producerId: bigint;
  readonly firstOffset: number;
  /** The offset of the abort marker. */
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

/** A snapshot or transaction index that cannot be read (bad crc, version or length). */
export class CorruptProducerFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptProducerFileError';
  }
}

/** `00000000000000000042.snapshot` for 42. */
export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

/** The offset a snapshot file name stands for, or null when the name is not a snapshot's. */
export function snapshotOffsetOf(name: string): number | null {
  return /^\d{20}\.snapshot$/.test(name) ? Number(name.slice(0, 20)) : null;
}

export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(SNAPSHOT_HEADER_BYTES + entries.length * SNAPSHOT_ENTRY_BYTES);
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, SNAPSHOT_HEADER_BYTES - 4);
  let at = SNAPSHOT_HEADER_BYTES;
  for (const e of entries) {
    buf.writeBigInt64BE(e.producerId, at);
    buf.writeInt16BE(e.producerEpoch, at + 8);
    buf.writeInt32BE(e.lastSequence, at + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), at + 14);
    buf.writeInt32BE(e.offsetDelta, at + 22);
    buf.writeBigInt64BE(BigInt(e.timestampMs), at + 26);
    buf.writeInt32BE(e.coordinatorEpoch, at + 34);
    buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), at + 38);
    at += SNAPSHOT_ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(SNAPSHOT_CRC_FROM)), 2);
  return buf;
}

/** Throws CorruptProducerFileError on a short file, another version, a bad count or a crc mismatch. */
export function decodeProducerSnapshot(buf: Uint8Array): ProducerSnapshotEntry[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < SNAPSHOT_HEADER_BYTES) throw new CorruptProducerFileError(`snapshot of ${b.length} bytes`);
  const version = b.readInt16BE(0);
  if (version !== PRODUCER_SNAPSHOT_VERSION)
    throw new CorruptProducerFileError(`snapshot version ${version}, expected ${PRODUCER_SNAPSHOT_VERSION}`);
  const stored = b.readUInt32BE(2);
  const computed = crc32c(b.subarray(SNAPSHOT_CRC_FROM));
  if (stored !== computed)
    throw new CorruptProducerFileError(`snapshot crc ${stored} does not match the computed ${computed}`);
  const count = b.readInt32BE(SNAPSHOT_HEADER_BYTES - 4);
  if (count < 0 || b.length !== SNAPSHOT_HEADER_BYTES + count * SNAPSHOT_ENTRY_BYTES)
    throw new CorruptProducerFileError(`snapshot of ${b.length} bytes cannot hold ${count} entries`);
  const entries: ProducerSnapshotEntry[] = [];
  for (let at = SNAPSHOT_HEADER_BYTES; at < b.length; at += SNAPSHOT_ENTRY_BYTES) {
    entries.push({
      producerId: b.readBigInt64BE(at),
      producerEpoch: b.readInt16BE(at + 8),
      lastSequence: b.readInt32BE(at + 10),
      lastOffset: Number(b.readBigInt64BE(at + 14)),
      offsetDelta: b.readInt32BE(at + 22),
      timestampMs: Number(b.readBigInt64BE(at + 26)),
      coordinatorEpoch: b.readInt32BE(at + 34),
      currentTxnFirstOffset: Number(b.readBigInt64BE(at + 38)),
    });
  }
  return entries;
}

export function encodeTxnIndexEntry(entry: AbortedTxnEntry): Buffer {
  const buf = Buffer.alloc(TXN_INDEX_ENTRY_BYTES);
  buf.writeInt16BE(TXN_INDEX_VERSION, 0);
  buf.writeBigInt64BE(entry.producerId, 2);
  buf.writeBigInt64BE(BigInt(entry.firstOffset), 10);
  buf.writeBigInt64BE(BigInt(entry.lastOffset), 18);
  buf.writeBigInt64BE(BigInt(entry.lastStableOffset), 26);
  return buf;
}

/**
 * The entries of a transaction index. A torn last entry (a crash mid-write) is left out and
 * reported in `tornBytes`; an entry of another version is CorruptProducerFileError.
 */
export function decodeTxnIndex(buf: Uint8Array): { entries: AbortedTxnEntry[]; tornBytes: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const whole = b.length - (b.length % TXN_INDEX_ENTRY_BYTES);
  const entries: AbortedTxnEntry[] = [];
  for (let at = 0; at < whole; at += TXN_INDEX_ENTRY_BYTES) {
    const version = b.readInt16BE(at);
    if (version !== TXN_INDEX_VERSION)
      throw new CorruptProducerFileError(`transaction index entry at byte ${at} has version ${version}`);
    entries.push({
      producerId: b.readBigInt64BE(at + 2),
      firstOffset: Number(b.readBigInt64BE(at + 10)),
      lastOffset: Number(b.readBigInt64BE(at + 18)),
      lastStableOffset: Number(b.readBigInt64BE(at + 26)),
    });
  }
  return { entries, tornBytes: b.length - whole };
}
