// Zig-zag variable-length integers as used inside Kafka records (protobuf style).
// `varint` holds a signed 32-bit value in at most 5 bytes; `varlong` a signed 64-bit
// value in at most 10 bytes. Varlongs are JavaScript numbers: exact within ±2^53,
// which covers every timestamp delta and length a real batch carries.

import { RecordsError } from './errors.ts';

export const VARINT_MAX_BYTES = 5;
export const VARLONG_MAX_BYTES = 10;

/** A read position over a buffer; `pos` advances as fields are read. */
export class Cursor {
  buf: Uint8Array;
  pos: number;
  end: number;
  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
}

export function readVarint(c: Cursor): number {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (c.pos >= c.end) throw new RecordsError('truncated', 'varint runs past the end of the data');
    const byte = c.buf[c.pos++]!;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (value >>> 1) ^ -(value & 1);
    shift += 7;
  }
  throw new RecordsError('corrupt', 'varint longer than 5 bytes');
}

export function readVarlong(c: Cursor): number {
  // Arithmetic rather than bit operations: JavaScript bit operations are 32-bit.
  let low = 0; // unsigned value of the first 28 bits (4 groups)
  let high = 0; // value of the remaining bits, scaled by 2^28
  for (let i = 0; i < VARLONG_MAX_BYTES; i++) {
    if (c.pos >= c.end) throw new RecordsError('truncated', 'varlong runs past the end of the data');
    const byte = c.buf[c.pos++]!;
    if (i < 4) low += (byte & 0x7f) * 2 ** (7 * i);
    else high += (byte & 0x7f) * 2 ** (7 * (i - 4));
    if ((byte & 0x80) === 0) {
      const negative = (low & 1) === 1; // lowest bit is the zig-zag sign
      const magnitude = Math.floor(low / 2) + high * 2 ** 27; // unsigned >> 1
      return negative ? -magnitude - 1 : magnitude;
    }
  }
  throw new RecordsError('corrupt', 'varlong longer than 10 bytes');
}

export function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

export function varlongSize(value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

/** Writes `value` at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
