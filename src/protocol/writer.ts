import { uuidToBytes } from './uuid.ts';

/**
 * Writes Kafka primitive types into a growable buffer. `finish()` returns a view of the bytes written
 * (no copy). The initial capacity is a hint; large blobs (records) are copied in once with `set`.
 */
export class Writer {
  buf: Uint8Array;
  view: DataView;
  offset: number;
  /**
   * Zero-copy mode (see `chunked`): blobs of at least this many bytes are referenced, not copied.
   * Infinity (the default) copies everything into one buffer.
   */
  private readonly zeroCopyMinBytes: number;
  private chunks: Uint8Array[] = [];
  private segmentStart = 0;
  private referencedBytes = 0;
  /** Inside a tagged field (whose length is patched in afterwards) nothing is referenced. */
  taggedDepth = 0;

  constructor(initialCapacity = 256, zeroCopyMinBytes = Number.POSITIVE_INFINITY) {
    this.buf = allocate(initialCapacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.offset = 0;
    this.zeroCopyMinBytes = zeroCopyMinBytes;
  }

  /** A writer that references large blobs (records) instead of copying them; read it with `finishChunks`. */
  static chunked(zeroCopyMinBytes = 16 * 1024): Writer {
    return new Writer(256, zeroCopyMinBytes);
  }

  /** Bytes written so far, referenced blobs included. */
  length(): number {
    return this.offset + this.referencedBytes;
  }

  /** What was written, in order: views of this writer's buffers and the referenced blobs themselves. */
  finishChunks(): Uint8Array[] {
    const chunks = [...this.chunks];
    if (this.offset > this.segmentStart || chunks.length === 0)
      chunks.push(this.slice(this.segmentStart, this.offset));
    return chunks;
  }

  ensure(bytes: number): void {
    const needed = this.offset + bytes;
    if (needed <= this.buf.length) return;
    // Double while small; past LARGE_BYTES grow by a quarter beyond need, so a 1 MiB records blob
    // costs one allocation and one copy rather than a run of doublings.
    let capacity = Math.max(this.buf.length * 2, needed);
    if (needed >= LARGE_BYTES)
      capacity = Math.max(needed + (needed >>> 2), Math.floor(this.buf.length * 1.5));
    const grown = allocate(capacity);
    grown.set(this.buf.subarray(0, this.offset));
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** The bytes written so far, as a plain Uint8Array view (no copy). */
  finish(): Uint8Array {
    if (this.chunks.length > 0) throw new Error('a chunked writer is read with finishChunks()');
    return this.slice(0, this.offset);
  }

  /** A plain Uint8Array view of [start, end) of what was written. */
  slice(start: number, end: number): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
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
    if (bytes.length >= this.zeroCopyMinBytes && this.taggedDepth === 0) {
      // Earlier segments stay valid views even if the buffer is later regrown: they keep the old one.
      this.chunks.push(this.slice(this.segmentStart, this.offset), bytes);
      this.segmentStart = this.offset;
      this.referencedBytes += bytes.length;
      return;
    }
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
    // The varint goes straight into the room just made. Going through uvarint() with the offset moved
    // back to `start` would let its ensure() regrow the buffer, and a regrow keeps only [0, offset):
    // the value just moved would be lost (issue 11: a tagged int16 -1 decoded as -256).
    let rest = length;
    for (let at = start; at < start + varintBytes - 1; at++) {
      this.buf[at] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buf[start + varintBytes - 1] = rest;
    this.offset += varintBytes;
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

const LARGE_BYTES = 256 * 1024;

/**
 * Writer memory is always fully written before it is read, so it needs no zero-filling: Node's
 * allocUnsafe skips it (and pools small buffers), which matters for megabyte-sized records.
 */
function allocate(bytes: number): Uint8Array {
  return Buffer.allocUnsafe(bytes);
}

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
