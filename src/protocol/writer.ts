import { uuidToBytes } from './uuid.ts';

/**
 * Writes Kafka primitive types into a growable buffer. `finish()` returns a view of the bytes written
 * (no copy). The initial capacity is a hint; large blobs (records) are copied in once with `set`.
 */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  offset: number;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
    this.offset = 0;
  }

  ensure(bytes: number): void {
    const needed = this.offset + bytes;
    if (needed <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buf.subarray(0, this.offset));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.offset);
  }

  int8(value: number): void {
    this.ensure(1);
    this.view.setInt8(this.offset++, value);
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buf[this.offset++] = value;
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buf[this.offset++] = value ? 1 : 0;
  }

  int16(value: number): void {
    this.ensure(2);
    this.view.setInt16(this.offset, value);
    this.offset += 2;
  }

  uint16(value: number): void {
    this.ensure(2);
    this.view.setUint16(this.offset, value);
    this.offset += 2;
  }

  int32(value: number): void {
    this.ensure(4);
    this.view.setInt32(this.offset, value);
    this.offset += 4;
  }

  uint32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.offset, value);
    this.offset += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.offset, value);
    this.offset += 8;
  }

  /** Unsigned varint of 32 bits. */
  uvarint(value: number): void {
    this.ensure(5);
    let rest = value >>> 0;
    while (rest >= 0x80) {
      this.buf[this.offset++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buf[this.offset++] = rest;
  }

  /** Signed (zigzag) varint of 32 bits. */
  varint(value: number): void {
    this.uvarint((value << 1) ^ (value >> 31));
  }

  /** Unsigned varlong of 64 bits. */
  uvarlong(value: bigint): void {
    this.ensure(10);
    let rest = BigInt.asUintN(64, value);
    while (rest >= 0x80n) {
      this.buf[this.offset++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.offset++] = Number(rest);
  }

  /** Signed (zigzag) varlong of 64 bits. */
  varlong(value: bigint): void {
    const wide = BigInt.asIntN(64, value);
    this.uvarlong((wide << 1n) ^ (wide >> 63n));
  }

  uuid(value: string): void {
    this.raw(uuidToBytes(value));
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.offset);
    this.offset += bytes.length;
  }

  string(value: string): void {
    const length = utf8Length(value);
    if (length > 0x7fff) throw new RangeError(`string of ${length} bytes is longer than 32767`);
    this.int16(length);
    this.utf8(value, length);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.string(value);
  }

  compactString(value: string): void {
    const length = utf8Length(value);
    this.uvarint(length + 1);
    this.utf8(value, length);
  }

  compactNullableString(value: string | null): void {
    if (value === null) this.uvarint(0);
    else this.compactString(value);
  }

  bytes(value: Uint8Array): void {
    this.int32(value.length);
    this.raw(value);
  }

  nullableBytes(value: Uint8Array | null): void {
    if (value === null) this.int32(-1);
    else this.bytes(value);
  }

  compactBytes(value: Uint8Array): void {
    this.uvarint(value.length + 1);
    this.raw(value);
  }

  compactNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.uvarint(0);
    else this.compactBytes(value);
  }

  /** Classic array length; -1 for null. */
  arrayLength(count: number): void {
    this.int32(count);
  }

  /** Compact array length (N+1); -1 for null. */
  compactArrayLength(count: number): void {
    this.uvarint(count + 1);
  }

  /**
   * Inserts, at `start`, the unsigned varint length of what was written since `start`. Used for tagged
   * fields, whose size precedes their value; they are small, so moving them is cheap.
   */
  prefixLengthSince(start: number): void {
    const length = this.offset - start;
    let varintBytes = 1;
    while (length >= 2 ** (7 * varintBytes)) varintBytes++;
    this.ensure(varintBytes);
    this.buf.copyWithin(start + varintBytes, start, this.offset);
    const end = this.offset + varintBytes;
    this.offset = start;
    this.uvarint(length);
    this.offset = end;
  }

  private utf8(value: string, length: number): void {
    this.ensure(length);
    if (length === value.length) {
      for (let i = 0; i < length; i++) this.buf[this.offset + i] = value.charCodeAt(i);
      this.offset += length;
    } else {
      textEncoder.encodeInto(value, this.buf.subarray(this.offset, this.offset + length));
      this.offset += length;
    }
  }
}

const textEncoder = new TextEncoder();

/** UTF-8 byte length of a string, without encoding it. */
export function utf8Length(value: string): number {
  let length = value.length;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 2;
        i++;
      } else length += 2;
    } else length += 2;
  }
  return length;
}
