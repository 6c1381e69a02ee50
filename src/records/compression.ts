// Compression codecs of record batches: gzip (node:zlib), snappy (raw blocks and the
// xerial framing Java clients send), lz4 (LZ4 frame format) and zstd. The native codecs
// come from npm packages that carry their binaries (snappy, lz4-napi, @mongodb-js/zstd).

import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Compression } from './batch.ts';
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
const zstd = require('@mongodb-js/zstd') as {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
};

/** `\x82SNAPPY\0`, the magic of xerial snappy-java framing. */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic, int32 version, int32 compatible version
/** snappy-java's default block size; each block is compressed on its own. */
export const XERIAL_BLOCK_BYTES = 32 * 1024;
/** Bound on what one batch may decompress to, against decompression bombs. */
export const DECOMPRESSED_BATCH_BYTES_MAX = 256 * 1024 * 1024;
export const ZSTD_LEVEL_DEFAULT = 3;

export function isXerialFramed(data: Uint8Array): boolean {
  return (
    data.length >= XERIAL_HEADER_BYTES && Buffer.from(data.buffer, data.byteOffset, 8).equals(XERIAL_MAGIC)
  );
}

/** Snappy: xerial-framed input is unframed block by block; otherwise one raw block. */
export function snappyDecompress(data: Uint8Array): Buffer {
  if (!isXerialFramed(data)) return snappy.uncompressSync(data, { asBuffer: true });
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
    const block = snappy.uncompressSync(data.subarray(pos, pos + blockBytes), { asBuffer: true });
    total += block.length;
    if (total > DECOMPRESSED_BATCH_BYTES_MAX)
      throw new RecordsError('corrupt', 'snappy data decompresses too large');
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

function wrapCodecError(codec: string, error: unknown): RecordsError {
  if (error instanceof RecordsError) return error;
  return new RecordsError('corrupt', `${codec} data could not be decompressed: ${(error as Error).message}`);
}

/** Compresses the records section of a batch with `codec` (attribute bits 0-2). */
export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return gzipSync(data);
    case Compression.snappy:
      return snappyCompressXerial(data);
    case Compression.lz4:
      return lz4.compressFrameSync(data);
    case Compression.zstd:
      return zstd.compress(data, ZSTD_LEVEL_DEFAULT);
    default:
      throw new RecordsError('unknownCompression', `compression codec ${codec} does not exist`);
  }
}

/** Decompresses the records section of a batch compressed with `codec`. */
export async function decompress(codec: number, data: Uint8Array): Promise<Buffer> {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    switch (codec) {
      case Compression.none:
        return input;
      case Compression.gzip:
        return gunzipSync(input, { maxOutputLength: DECOMPRESSED_BATCH_BYTES_MAX });
      case Compression.snappy:
        return snappyDecompress(input);
      case Compression.lz4:
        return lz4.decompressFrameSync(input);
      case Compression.zstd:
        return await zstd.decompress(input);
      default:
        throw new RecordsError('unknownCompression', `compression codec ${codec} does not exist`);
    }
  } catch (error) {
    throw wrapCodecError(['none', 'gzip', 'snappy', 'lz4', 'zstd'][codec] ?? 'unknown', error);
  }
}
