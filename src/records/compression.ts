// Compression codecs of record batches: gzip and zstd (node:zlib), snappy (raw blocks and
// the xerial framing Java clients send; the `snappy` package) and lz4 (LZ4 frame format;
// `lz4-napi`). Everything here is synchronous, so a broker can recompress a batch inside
// one produce request without letting another request of the same connection overtake it.
//
// Decompression is bounded: a batch may not decompress to more than a caller-given number
// of bytes (DECOMPRESSED_BATCH_BYTES_MAX by default). gzip and zstd stop once the bound is
// passed; snappy and lz4 declare (or bound) their output sizes up front, so an oversized
// input is refused before anything is allocated for it.

import { createRequire } from 'node:module';
import {
  gunzipSync,
  gzipSync,
  constants as zlibConstants,
  zstdCompressSync,
  zstdDecompressSync,
} from 'node:zlib';
import { COMPRESSION_NAMES, Compression } from './batch.ts';
import { RecordsError } from './errors.ts';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array, options?: { asBuffer: true }): Buffer;
};
const lz4 = require('lz4-napi') as {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
};

/** `\x82SNAPPY\0`, the magic of xerial snappy-java framing. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic, int32 version, int32 compatible version
/** snappy-java's default block size; each block is compressed on its own. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;
/**
 * Bound on what one batch may decompress to, against decompression bombs (a small
 * compressed input that expands without limit). Kafka has no such bound: a 900 KB gzip
 * batch holding 900 MiB, sent to a topic that recompresses, exhausted a 1 GiB reference
 * broker's heap and stopped it. Over the bound the broker answers MESSAGE_TOO_LARGE.
 */
export const DECOMPRESSED_BATCH_BYTES_MAX = 256 * 1024 * 1024;

/** Kafka's compression level configs (KIP-390): defaults and accepted ranges. */
export const GZIP_LEVEL = { default: -1, min: 1, max: 9 } as const; // -1: zlib's default (6)
export const LZ4_LEVEL = { default: 9, min: 1, max: 17 } as const;
export const ZSTD_LEVEL = { default: 3, min: -131072, max: 22 } as const;
export const ZSTD_LEVEL_DEFAULT = ZSTD_LEVEL.default;

/** Levels used when compressing, per codec (Kafka's `compression.<codec>.level`). */
export interface CompressionLevels {
  gzip?: number;
  /** Accepted and validated for Kafka compatibility; lz4-napi has one (fast) level only. */
  lz4?: number;
  zstd?: number;
}

function codecName(codec: number): string {
  return COMPRESSION_NAMES[codec] ?? `codec ${codec}`;
}

function tooLarge(codec: number, maxBytes: number): RecordsError {
  return new RecordsError(
    'decompressedTooLarge',
    `${codecName(codec)} data decompresses to more than ${maxBytes} bytes (DECOMPRESSED_BATCH_BYTES_MAX)`,
  );
}

export function isXerialFramed(data: Uint8Array): boolean {
  return (
    data.length >= XERIAL_HEADER_BYTES && Buffer.from(data.buffer, data.byteOffset, 8).equals(XERIAL_MAGIC)
  );
}

/** The uncompressed length a raw snappy block declares in its varint preamble. */
function snappyDeclaredLength(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  throw new RecordsError('corrupt', 'snappy block has no valid length preamble');
}

function snappyBlock(block: Uint8Array, budget: number, maxBytes: number): Buffer {
  if (snappyDeclaredLength(block) > budget) throw tooLarge(Compression.snappy, maxBytes);
  return snappy.uncompressSync(block, { asBuffer: true });
}

/** Snappy: xerial-framed input is unframed block by block; otherwise one raw block. */
export function snappyDecompress(data: Uint8Array, maxBytes = DECOMPRESSED_BATCH_BYTES_MAX): Buffer {
  if (!isXerialFramed(data)) return snappyBlock(data, maxBytes, maxBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new RecordsError('corrupt', 'xerial snappy block length truncated');
    const blockBytes = view.getInt32(pos);
    pos += 4;
    if (blockBytes < 0 || pos + blockBytes > data.length) {
      throw new RecordsError('corrupt', `xerial snappy block of ${blockBytes} bytes runs past the data`);
    }
    const block = snappyBlock(data.subarray(pos, pos + blockBytes), maxBytes - total, maxBytes);
    total += block.length;
    parts.push(block);
    pos += blockBytes;
  }
  return Buffer.concat(parts, total);
}

/** Snappy in xerial framing (what the Java producer writes; every client reads it). */
export function snappyCompressXerial(data: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) {
    const block = snappy.compressSync(data.subarray(pos, pos + XERIAL_BLOCK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

export function snappyCompressRaw(data: Buffer): Buffer {
  return snappy.compressSync(data);
}

const LZ4_FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** LZ4 frame block maximum sizes by the BD byte's bits 4-6 (values 4..7). */
const LZ4_BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/** A frame found in a stream of concatenated frames: where it lies and what may come out. */
interface FrameSpan {
  start: number;
  end: number;
  /** A skippable frame carries no data. */
  skippable: boolean;
  /** At most this many bytes come out of the frame (Infinity: known only by decompressing). */
  outputBoundBytes: number;
}

function need(data: Uint8Array, pos: number, bytes: number, what: string): void {
  if (pos + bytes > data.length) throw new RecordsError('corrupt', `${what} truncated`);
}

/**
 * Walks one LZ4 frame (or skippable frame) at `start` without decompressing: its end and
 * an upper bound on its output (each block yields at most the frame's block maximum; a
 * stored block exactly its size). Lets a bomb be refused before any output exists.
 */
function lz4FrameAt(data: Uint8Array, start: number): FrameSpan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  need(data, start, 4, 'lz4 frame magic');
  const magic = view.getUint32(start, true);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    need(data, start + 4, 4, 'lz4 skippable frame size');
    const end = start + 8 + view.getUint32(start + 4, true);
    need(data, start, end - start, 'lz4 skippable frame');
    return { start, end, skippable: true, outputBoundBytes: 0 };
  }
  if (magic !== LZ4_FRAME_MAGIC) throw new RecordsError('corrupt', 'lz4 data is not in the LZ4 frame format');
  need(data, start + 4, 3, 'lz4 frame descriptor');
  const flags = data[start + 4]!;
  const blockMaxBytes = LZ4_BLOCK_MAX_BYTES[(data[start + 5]! >> 4) & 0x07] ?? 0;
  if (flags >> 6 !== 1 || blockMaxBytes === 0)
    throw new RecordsError('corrupt', 'lz4 frame descriptor invalid');
  const blockChecksum = (flags & 0x10) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  let pos = start + 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1; // + header checksum
  let bound = 0;
  for (;;) {
    need(data, pos, 4, 'lz4 block size');
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break; // end mark
    const stored = (word & 0x80000000) !== 0;
    const bytes = word & 0x7fffffff;
    if (bytes > blockMaxBytes)
      throw new RecordsError('corrupt', `lz4 block of ${bytes} bytes over its frame's maximum`);
    need(data, pos, bytes + (blockChecksum ? 4 : 0), 'lz4 block');
    pos += bytes + (blockChecksum ? 4 : 0);
    bound += stored ? bytes : blockMaxBytes;
  }
  if (contentChecksum) pos += 4;
  need(data, start, pos - start, 'lz4 content checksum');
  return { start, end: pos, skippable: false, outputBoundBytes: bound };
}

const ZSTD_FRAME_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_RESERVED = 3;

/** Walks one zstd frame (or skippable frame) at `start`: where it ends (RFC 8878 layout). */
function zstdFrameAt(data: Uint8Array, start: number): FrameSpan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  need(data, start, 4, 'zstd frame magic');
  const magic = view.getUint32(start, true);
  if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    need(data, start + 4, 4, 'zstd skippable frame size');
    const end = start + 8 + view.getUint32(start + 4, true);
    need(data, start, end - start, 'zstd skippable frame');
    return { start, end, skippable: true, outputBoundBytes: 0 };
  }
  if (magic !== ZSTD_FRAME_MAGIC)
    throw new RecordsError('corrupt', 'zstd data does not start with a zstd frame');
  need(data, start + 4, 1, 'zstd frame header');
  const descriptor = data[start + 4]!;
  const singleSegment = (descriptor & 0x20) !== 0;
  const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03]!;
  let pos = start + 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes + contentSizeBytes;
  for (;;) {
    need(data, pos, 3, 'zstd block header');
    const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    pos += 3;
    const type = (header >> 1) & 0x03;
    if (type === ZSTD_BLOCK_RESERVED) throw new RecordsError('corrupt', 'zstd block of reserved type');
    const bytes = type === ZSTD_BLOCK_RLE ? 1 : header >>> 3;
    need(data, pos, bytes, 'zstd block');
    pos += bytes;
    if (header & 0x01) break; // last block
  }
  if (descriptor & 0x04) pos += 4;
  need(data, start, pos - start, 'zstd content checksum');
  return { start, end: pos, skippable: false, outputBoundBytes: Number.POSITIVE_INFINITY };
}

/**
 * Decompresses concatenated frames one by one (node:zlib's zstd and lz4-napi stop after the
 * first frame, whereas Kafka's readers take them all), each within what is left of the bound.
 */
function decompressFrames(
  codec: number,
  data: Uint8Array,
  maxBytes: number,
  frameAt: (data: Uint8Array, start: number) => FrameSpan,
  one: (frame: Buffer, span: FrameSpan, budget: number) => Buffer,
): Buffer {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  let total = 0;
  for (let pos = 0; pos < input.length; ) {
    const frame = frameAt(input, pos);
    pos = frame.end;
    if (frame.skippable) continue;
    const out = one(input.subarray(frame.start, frame.end), frame, maxBytes - total);
    total += out.length;
    if (total > maxBytes) throw tooLarge(codec, maxBytes);
    parts.push(out);
  }
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, total);
}

/** node:zlib's answer when output would pass `maxOutputLength`. */
function isBufferTooLarge(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
}

function lz4Decompress(data: Uint8Array, maxBytes: number): Buffer {
  return decompressFrames(Compression.lz4, data, maxBytes, lz4FrameAt, (frame, span, budget) => {
    if (span.outputBoundBytes > budget) throw tooLarge(Compression.lz4, maxBytes);
    return lz4.decompressFrameSync(frame);
  });
}

function zstdDecompress(data: Uint8Array, maxBytes: number): Buffer {
  return decompressFrames(Compression.zstd, data, maxBytes, zstdFrameAt, (frame, _span, budget) => {
    try {
      return zstdDecompressSync(frame, { maxOutputLength: Math.max(1, budget) });
    } catch (error) {
      if (isBufferTooLarge(error)) throw tooLarge(Compression.zstd, maxBytes);
      throw error;
    }
  });
}

function gzipDecompress(data: Uint8Array, maxBytes: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: maxBytes });
  } catch (error) {
    if (isBufferTooLarge(error)) throw tooLarge(Compression.gzip, maxBytes);
    throw error;
  }
}

function wrapCodecError(codec: number, error: unknown): RecordsError {
  if (error instanceof RecordsError) return error;
  return new RecordsError(
    'corrupt',
    `${codecName(codec)} data could not be decompressed: ${(error as Error).message}`,
  );
}

/** Compresses the records section of a batch with `codec` (attribute bits 0-2). */
export function compressSync(codec: number, data: Buffer, levels: CompressionLevels = {}): Buffer {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return gzipSync(data, { level: levels.gzip ?? GZIP_LEVEL.default });
    case Compression.snappy:
      return snappyCompressXerial(data);
    case Compression.lz4:
      return lz4.compressFrameSync(data);
    case Compression.zstd:
      return zstdCompressSync(data, {
        params: { [zlibConstants.ZSTD_c_compressionLevel]: levels.zstd ?? ZSTD_LEVEL.default },
      });
    default:
      throw new RecordsError('unknownCompression', `compression codec ${codec} does not exist`);
  }
}

/**
 * Decompresses the records section of a batch compressed with `codec`, to at most
 * `maxBytes` bytes (RecordsError `decompressedTooLarge` beyond; `corrupt` for bad data).
 * For `none` the input itself is returned (a view, not a copy).
 */
export function decompressSync(
  codec: number,
  data: Uint8Array,
  maxBytes = DECOMPRESSED_BATCH_BYTES_MAX,
): Buffer {
  try {
    switch (codec) {
      case Compression.none:
        if (data.length > maxBytes) throw tooLarge(codec, maxBytes);
        return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      case Compression.gzip:
        return gzipDecompress(data, maxBytes);
      case Compression.snappy:
        return snappyDecompress(data, maxBytes);
      case Compression.lz4:
        return lz4Decompress(data, maxBytes);
      case Compression.zstd:
        return zstdDecompress(data, maxBytes);
      default:
        throw new RecordsError('unknownCompression', `compression codec ${codec} does not exist`);
    }
  } catch (error) {
    throw wrapCodecError(codec, error);
  }
}

/** `compressSync` behind a promise (the interface tools and compaction already use). */
export async function compress(codec: number, data: Buffer, levels: CompressionLevels = {}): Promise<Buffer> {
  return compressSync(codec, data, levels);
}

/** `decompressSync` behind a promise (the interface tools and compaction already use). */
export async function decompress(
  codec: number,
  data: Uint8Array,
  maxBytes = DECOMPRESSED_BATCH_BYTES_MAX,
): Promise<Buffer> {
  return decompressSync(codec, data, maxBytes);
}
