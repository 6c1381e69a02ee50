import { malformed, truncated } from './protocol-error.ts';
import { uuidFromBytes } from './uuid.ts';

/**
 * Reads Kafka primitive types from a byte range. Every length read from the input is checked against
 * the bytes remaining before anything is allocated, so a hostile length fails fast with a ProtocolError
 * (TRUNCATED or MALFORMED) instead of a huge allocation or a long loop.
 *
 * Bytes values (bytes, records) are returned as views into the input, not copies: a decoded request
 * aliases the frame it came from, which is what makes a 1 MiB produce cheap to decode.
 */
export class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  offset: number;
  end: number;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number, what: string): void {
    if (this.offset + bytes > this.end) throw truncated(what, bytes, this.end - this.offset);
  }

  int8(): number {
    this.need(1, 'int8');
    return this.view.getInt8(this.offset++);
  }

  uint8(): number {
    this.need(1, 'uint8');
    return this.buf[this.offset++]!;
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const value = this.view.getInt16(this.offset);
    this.offset += 2;
    return value;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4, 'int32');
    const value = this.view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const value = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return value;
  }

  float64(): number {
    this.need(8, 'float64');
    const value = this.view.getFloat64(this.offset);
    this.offset += 8;
    return value;
  }

  /** Unsigned varint of at most 32 bits (5 bytes), as used for compact lengths and tags. */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) throw truncated('varint', 1, 0);
      const byte = this.buf[this.offset++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (i === 4 && byte > 0x0f) throw malformed('varint does not fit in 32 bits');
        return result >>> 0;
      }
      shift += 7;
    }
    throw malformed('varint longer than 5 bytes');
  }

  /** Signed (zigzag) varint of 32 bits. */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Unsigned varlong of at most 64 bits (10 bytes). */
  uvarlong(): bigint {
    // Most varlongs are small: accumulate in a number while it is exact, then switch to bigint.
    let low = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw truncated('varlong', 1, 0);
      const byte = this.buf[this.offset++]!;
      if (shift < 49) {
        low += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return BigInt(low);
      } else {
        let result = BigInt(low) + (BigInt(byte & 0x7f) << BigInt(shift));
        if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
        for (let j = i + 1; j < 10; j++) {
          shift += 7;
          if (this.offset >= this.end) throw truncated('varlong', 1, 0);
          const next = this.buf[this.offset++]!;
          result += BigInt(next & 0x7f) << BigInt(shift);
          if ((next & 0x80) === 0) return BigInt.asUintN(64, result);
        }
        throw malformed('varlong longer than 10 bytes');
      }
      shift += 7;
    }
    throw malformed('varlong longer than 10 bytes');
  }

  /** Signed (zigzag) varlong of 64 bits. */
  varlong(): bigint {
    const raw = this.uvarlong();
    return (raw >> 1n) ^ -(raw & 1n);
  }

  uuid(): string {
    this.need(16, 'uuid');
    const value = uuidFromBytes(this.buf.subarray(this.offset, this.offset + 16));
    this.offset += 16;
    return value;
  }

  /** Raw bytes as a view into the input. */
  raw(length: number): Uint8Array {
    this.need(length, 'bytes');
    const value = this.buf.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  private utf8(length: number): string {
    this.need(length, 'string');
    const start = this.offset;
    this.offset += length;
    return decodeUtf8(this.buf, start, start + length);
  }

  private checkLength(length: number, what: string): void {
    if (length > this.end - this.offset) throw truncated(what, length, this.end - this.offset);
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw malformed(`non-nullable string has length ${length}`);
    return this.utf8(length);
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < -1) throw malformed(`string has negative length ${length}`);
    return length === -1 ? null : this.utf8(length);
  }

  compactString(): string {
    const length = this.uvarint() - 1;
    if (length < 0) throw malformed('non-nullable compact string is null');
    return this.utf8(length);
  }

  compactNullableString(): string | null {
    const length = this.uvarint() - 1;
    return length === -1 ? null : this.utf8(length);
  }

  bytes(): Uint8Array {
    const length = this.int32();
    if (length < 0) throw malformed(`non-nullable bytes has length ${length}`);
    return this.raw(length);
  }

  nullableBytes(): Uint8Array | null {
    const length = this.int32();
    if (length < -1) throw malformed(`bytes has negative length ${length}`);
    return length === -1 ? null : this.raw(length);
  }

  compactBytes(): Uint8Array {
    const length = this.uvarint() - 1;
    if (length < 0) throw malformed('non-nullable compact bytes is null');
    return this.raw(length);
  }

  compactNullableBytes(): Uint8Array | null {
    const length = this.uvarint() - 1;
    return length === -1 ? null : this.raw(length);
  }

  /**
   * Element count of a classic array (int32, -1 for null). Each element takes at least one byte on the
   * wire, so a count above the bytes remaining is rejected before any allocation.
   */
  arrayLength(): number {
    const count = this.int32();
    if (count < -1) throw malformed(`array has negative length ${count}`);
    if (count > 0) this.checkLength(count, 'array');
    return count;
  }

  /** Element count of a compact array (unsigned varint N+1, 0 for null); -1 means null. */
  compactArrayLength(): number {
    const count = this.uvarint() - 1;
    if (count > 0) this.checkLength(count, 'compact array');
    return count;
  }

  /** Skips a tagged field's payload (or any counted bytes). */
  skip(length: number): void {
    this.need(length, 'skipped bytes');
    this.offset += length;
  }
}

const textDecoder = new TextDecoder('utf-8');

/** Short ASCII strings (topic names, client ids) decode faster by hand than through TextDecoder. */
function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let ascii = '';
    for (let i = start; i < end; i++) {
      const byte = buf[i]!;
      if (byte >= 0x80) return textDecoder.decode(buf.subarray(start, end));
      ascii += String.fromCharCode(byte);
    }
    return ascii;
  }
  return textDecoder.decode(buf.subarray(start, end));
}
