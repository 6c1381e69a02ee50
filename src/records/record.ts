// Records inside a v2 batch (after decompression):
//   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   keyLength varint, key | valueLength varint, value | headerCount varint,
//   headers[ keyLength varint, key (UTF-8) | valueLength varint, value ]
// A length of -1 is null.

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

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A decoded record. `offset` and `timestamp` are absolute (batch base + delta). */
export interface KafkaRecord {
  attributes: number;
  offsetDelta: number;
  timestampDelta: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** What encoding needs: deltas relative to the batch. */
export interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
}

function readBytes(c: Cursor): Buffer | null {
  const length = readVarint(c);
  if (length < -1) throw new RecordsError('corrupt', `negative length ${length}`);
  if (length === -1) return null;
  if (c.pos + length > c.end)
    throw new RecordsError('truncated', `field of ${length} bytes runs past its record`);
  const bytes = Buffer.from(c.buf.buffer, c.buf.byteOffset + c.pos, length);
  c.pos += length;
  return bytes;
}

/** Decodes one record at the cursor. Key, value and header values are views, not copies. */
export function readRecord(c: Cursor, baseOffset: number, baseTimestamp: number): KafkaRecord {
  const length = readVarint(c);
  if (length < 0) throw new RecordsError('corrupt', `negative record length ${length}`);
  const end = c.pos + length;
  if (end > c.end) throw new RecordsError('truncated', `record of ${length} bytes runs past its batch`);
  const outerEnd = c.end;
  c.end = end;
  if (c.pos >= end) throw new RecordsError('truncated', 'empty record');
  const attributes = c.buf[c.pos++]!;
  const timestampDelta = readVarlong(c);
  const offsetDelta = readVarint(c);
  const key = readBytes(c);
  const value = readBytes(c);
  const headerCount = readVarint(c);
  if (headerCount < 0) throw new RecordsError('corrupt', `negative header count ${headerCount}`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const headerKey = readBytes(c);
    if (headerKey === null) throw new RecordsError('corrupt', 'null header key');
    headers.push({ key: headerKey.toString('utf8'), value: readBytes(c) });
  }
  if (c.pos !== end) throw new RecordsError('corrupt', `record has ${end - c.pos} bytes after its headers`);
  c.end = outerEnd;
  return {
    attributes,
    offsetDelta,
    timestampDelta,
    offset: baseOffset + offsetDelta,
    timestamp: baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/** Decodes `count` records filling `data` exactly. */
export function readRecords(
  data: Uint8Array,
  count: number,
  baseOffset: number,
  baseTimestamp: number,
): KafkaRecord[] {
  const c = new Cursor(data);
  const records: KafkaRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (c.pos >= c.end)
      throw new RecordsError('invalidRecord', `batch declares ${count} records, holds ${i}`);
    records.push(readRecord(c, baseOffset, baseTimestamp));
  }
  if (c.pos !== c.end) {
    throw new RecordsError('invalidRecord', `batch holds bytes after its ${count} declared records`);
  }
  return records;
}

/**
 * Counts the records of `data` by their length prefixes only (no field decoding):
 * cheap enough for every produce request.
 */
export function countRecords(data: Uint8Array): number {
  const c = new Cursor(data);
  let count = 0;
  while (c.pos < c.end) {
    const length = readVarint(c);
    if (length <= 0) throw new RecordsError('corrupt', `record length ${length}`);
    c.pos += length;
    if (c.pos > c.end) throw new RecordsError('truncated', `record of ${length} bytes runs past its batch`);
    count++;
  }
  return count;
}

function bytesSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varintSize(bytes.length) + bytes.length;
}

function recordBodySize(r: RecordInput, headerKeys: Buffer[]): number {
  let size =
    1 + varlongSize(r.timestampDelta) + varintSize(r.offsetDelta) + bytesSize(r.key) + bytesSize(r.value);
  const headers = r.headers ?? [];
  size += varintSize(headers.length);
  headers.forEach((h, i) => {
    size += bytesSize(headerKeys[i]!) + bytesSize(h.value);
  });
  return size;
}

/** Bytes `record` takes once encoded, length prefix included. */
export function recordSize(record: RecordInput): number {
  const body = recordBodySize(
    record,
    (record.headers ?? []).map((h) => Buffer.from(h.key, 'utf8')),
  );
  return varintSize(body) + body;
}

function writeBytes(buf: Uint8Array, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** Encodes records one after another (the uncompressed records section). */
export function writeRecords(records: RecordInput[]): Buffer {
  const keys = records.map((r) => (r.headers ?? []).map((h) => Buffer.from(h.key, 'utf8')));
  const bodies = records.map((r, i) => recordBodySize(r, keys[i]!));
  const total = bodies.reduce((sum, body) => sum + varintSize(body) + body, 0);
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  records.forEach((r, i) => {
    pos = writeVarint(buf, pos, bodies[i]!);
    buf[pos++] = 0; // record attributes: unused, always 0
    pos = writeVarlong(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, r.offsetDelta);
    pos = writeBytes(buf, pos, r.key);
    pos = writeBytes(buf, pos, r.value);
    const headers = r.headers ?? [];
    pos = writeVarint(buf, pos, headers.length);
    headers.forEach((h, j) => {
      pos = writeBytes(buf, pos, keys[i]![j]!);
      pos = writeBytes(buf, pos, h.value);
    });
  });
  if (pos !== total) throw new Error(`record encoding wrote ${pos} bytes, expected ${total}`);
  return buf;
}
