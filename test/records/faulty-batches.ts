/**
 * Hand-built record batches with one fault each, written byte by byte with the low-level
 * writers (src/records/varint.ts), for the produce-validation tests: the unit tests feed
 * them to the records walk, the wire test sends them to kstack and to Apache Kafka.
 */
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  Compression,
  CURRENT_MAGIC,
  compressSync,
  writeBatchCrc,
  writeBatchHeader,
  writeVarint,
  writeVarlong,
} from '../../src/records/index.ts';

/** A record as written on the wire, every field free (attributes, deltas, null header keys). */
export interface RawRecord {
  attributes?: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: { key: Uint8Array | null; value: Uint8Array | null }[];
}

function bytesField(out: number[], bytes: Uint8Array | null): void {
  const scratch = Buffer.alloc(10);
  if (bytes === null) {
    out.push(...scratch.subarray(0, writeVarint(scratch, 0, -1)));
    return;
  }
  out.push(...scratch.subarray(0, writeVarint(scratch, 0, bytes.length)), ...bytes);
}

/** The records section (uncompressed) of `records`, exactly as given. */
export function rawRecords(records: readonly RawRecord[]): Buffer {
  const scratch = Buffer.alloc(10);
  const out: number[] = [];
  for (const r of records) {
    const body: number[] = [r.attributes ?? 0];
    body.push(...scratch.subarray(0, writeVarlong(scratch, 0, r.timestampDelta)));
    body.push(...scratch.subarray(0, writeVarint(scratch, 0, r.offsetDelta)));
    bytesField(body, r.key);
    bytesField(body, r.value);
    const headers = r.headers ?? [];
    body.push(...scratch.subarray(0, writeVarint(scratch, 0, headers.length)));
    for (const h of headers) {
      bytesField(body, h.key);
      bytesField(body, h.value);
    }
    out.push(...scratch.subarray(0, writeVarint(scratch, 0, body.length)), ...body);
  }
  return Buffer.from(out);
}

export interface RawBatchInput {
  codec: number;
  /** The records section before compression. */
  plain?: Buffer;
  /** The records section as stored (already compressed, or garbage): wins over `plain`. */
  body?: Buffer;
  recordCount: number;
  lastOffsetDelta?: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** Attribute bits beyond the codec (0x08 LogAppendTime, 0x10 transactional, 0x20 control). */
  attributes?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

/** A whole v2 batch with a valid CRC around whatever it is given. */
export function rawBatch(input: RawBatchInput): Buffer {
  const body = input.body ?? compressSync(input.codec, input.plain ?? Buffer.alloc(0));
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + body.length);
  writeBatchHeader(buf, 0, {
    baseOffset: 0,
    batchLength: buf.length - BATCH_LOG_OVERHEAD_BYTES,
    partitionLeaderEpoch: -1,
    magic: CURRENT_MAGIC,
    crc: 0,
    attributes: input.codec | (input.attributes ?? 0),
    lastOffsetDelta: input.lastOffsetDelta ?? input.recordCount - 1,
    baseTimestamp: input.baseTimestamp,
    maxTimestamp: input.maxTimestamp,
    producerId: input.producerId ?? -1,
    producerEpoch: input.producerEpoch ?? -1,
    baseSequence: input.baseSequence ?? -1,
    recordCount: input.recordCount,
  });
  body.copy(buf, BATCH_HEADER_BYTES);
  writeBatchCrc(buf, 0, buf.length);
  return buf;
}

export const CODECS = [
  Compression.none,
  Compression.gzip,
  Compression.snappy,
  Compression.lz4,
  Compression.zstd,
] as const;

/** Three well-formed records at `now` with keys "k0".."k2", deltas 0..2. */
export function goodRecords(count = 3): RawRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    timestampDelta: 0,
    offsetDelta: i,
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`value-${i}`),
  }));
}

/** A batch of `records` in `codec`, header fields consistent with them unless overridden. */
export function batchOf(
  codec: number,
  now: number,
  records: readonly RawRecord[],
  overrides: Partial<RawBatchInput> = {},
): Buffer {
  const timestamps = records.map((r) => now + r.timestampDelta);
  return rawBatch({
    codec,
    plain: rawRecords(records),
    recordCount: records.length,
    baseTimestamp: now,
    maxTimestamp: timestamps.length ? Math.max(...timestamps) : now,
    ...overrides,
  });
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Far enough outside any bound the tests set (message.timestamp.*.max.ms = 1 hour). */
export const OUT_OF_RANGE_MS = DAY_MS;

/**
 * One fault each. `now` is the producer's clock. Every fault is a batch whose CRC, magic,
 * lastOffsetDelta and header record count agree, so only a records walk can find it.
 */
export const FAULTS = {
  /** The header declares one record more than the section holds. */
  countAboveRecords: (codec: number, now: number) =>
    batchOf(codec, now, goodRecords(3), { recordCount: 4, lastOffsetDelta: 3 }),
  /** The header declares one record fewer than the section holds. */
  countBelowRecords: (codec: number, now: number) =>
    batchOf(codec, now, goodRecords(3), { recordCount: 2, lastOffsetDelta: 1 }),
  /** The records section is not in the codec's format at all. */
  undecodable: (codec: number, now: number) =>
    rawBatch({
      codec,
      body: Buffer.from('this is not compressed data, nor records, at all....'),
      recordCount: 3,
      baseTimestamp: now,
      maxTimestamp: now,
    }),
  /** A record whose length runs past the section's end. */
  recordPastEnd: (codec: number, now: number) => {
    const plain = rawRecords(goodRecords(3));
    return rawBatch({
      codec,
      plain: plain.subarray(0, plain.length - 2),
      recordCount: 3,
      baseTimestamp: now,
      maxTimestamp: now,
    });
  },
  /** A record's fields end before its declared length (two spare bytes inside it). */
  recordBytesLeft: (codec: number, now: number) => {
    const records = goodRecords(3);
    const plain = rawRecords(records.slice(0, 2));
    const last = rawRecords(records.slice(2));
    // Grow the last record's length by 2 and append two bytes after its header count.
    const grown = Buffer.concat([Buffer.from([last[0]! + 4]), last.subarray(1), Buffer.from([0, 0])]);
    return rawBatch({
      codec,
      plain: Buffer.concat([plain, grown]),
      recordCount: 3,
      baseTimestamp: now,
      maxTimestamp: now,
    });
  },
  /** A header whose key is null (length -1). */
  nullHeaderKey: (codec: number, now: number) =>
    batchOf(codec, now, [
      ...goodRecords(1),
      {
        timestampDelta: 0,
        offsetDelta: 1,
        key: Buffer.from('k1'),
        value: null,
        headers: [{ key: null, value: null }],
      },
    ]),
  /** Record 1 of 3 has a null key (refused only in a compacted topic). */
  nullKey: (codec: number, now: number) =>
    batchOf(
      codec,
      now,
      goodRecords(3).map((r, i) => (i === 1 ? { ...r, key: null } : r)),
    ),
  /** Offset deltas 2, 1, 0. */
  deltasReversed: (codec: number, now: number) =>
    batchOf(
      codec,
      now,
      goodRecords(3).map((r, i) => ({ ...r, offsetDelta: 2 - i })),
    ),
  /** Offset deltas 5, 6, 7 under lastOffsetDelta 2. */
  deltasShifted: (codec: number, now: number) =>
    batchOf(
      codec,
      now,
      goodRecords(3).map((r, i) => ({ ...r, offsetDelta: 5 + i })),
    ),
  /** Record 1 of 3 is a day older than the others (the batch max timestamp is fine). */
  recordTooOld: (codec: number, now: number) =>
    batchOf(
      codec,
      now,
      goodRecords(3).map((r, i) => (i === 1 ? { ...r, timestampDelta: -OUT_OF_RANGE_MS } : r)),
    ),
  /** Records 0 and 2 are a day older; the base timestamp is theirs. */
  twoTooOld: (codec: number, now: number) =>
    batchOf(
      codec,
      now - OUT_OF_RANGE_MS,
      goodRecords(3).map((r, i) => (i === 1 ? { ...r, timestampDelta: OUT_OF_RANGE_MS } : r)),
    ),
  /** The header's max timestamp is a day ahead of every record. */
  maxTimestampAhead: (codec: number, now: number) =>
    batchOf(codec, now, goodRecords(3), { maxTimestamp: now + OUT_OF_RANGE_MS }),
  /** The header's max timestamp is below the records' (they are all at `now`). */
  maxTimestampBehind: (codec: number, now: number) =>
    batchOf(codec, now, goodRecords(3), { maxTimestamp: now - 1000 }),
  /** Record attributes 0x01 on record 1 (unused in v2). */
  recordAttributes: (codec: number, now: number) =>
    batchOf(
      codec,
      now,
      goodRecords(3).map((r, i) => (i === 1 ? { ...r, attributes: 1 } : r)),
    ),
  /** The producer set the LogAppendTime bit itself. */
  logAppendTimeBit: (codec: number, now: number) => batchOf(codec, now, goodRecords(3), { attributes: 0x08 }),
  /** A producer id without a base sequence. */
  producerIdNoSequence: (codec: number, now: number) =>
    batchOf(codec, now, goodRecords(3), { producerId: 1000, producerEpoch: 0, baseSequence: -1 }),
} as const;

export type FaultName = keyof typeof FAULTS;
