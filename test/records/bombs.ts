/**
 * Decompression bombs for the tests: small compressed inputs that expand enormously, built
 * by hand from each format's specification so that building them costs no memory.
 */
import { gzipSync } from 'node:zlib';

/**
 * A zstd frame of RLE blocks (RFC 8878: block type 1 repeats one byte up to 128 KiB):
 * 4 input bytes per 128 KiB of output. `outputBytes` is rounded up to whole blocks.
 */
export function zstdRleBomb(outputBytes: number): Buffer {
  const blockBytes = 128 * 1024;
  const blocks = Math.ceil(outputBytes / blockBytes);
  const out = Buffer.alloc(6 + blocks * 4);
  out.writeUInt32LE(0xfd2fb528, 0);
  out[4] = 0x00; // no content size, not single segment, no checksum, no dictionary
  out[5] = 0x38; // window descriptor: 2^17 bytes
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const header = last | (1 << 1) | (blockBytes << 3);
    const at = 6 + i * 4;
    out[at] = header & 0xff;
    out[at + 1] = (header >> 8) & 0xff;
    out[at + 2] = (header >> 16) & 0xff;
    out[at + 3] = 0x61; // the repeated byte
  }
  return out;
}

/**
 * An LZ4 frame with 4 MiB blocks, each one literal, one match of (4 MiB - 6) bytes at
 * offset 1 and five closing literals (the LZ4 block rules): about 16 KiB per 4 MiB.
 */
export function lz4Bomb(blocks: number): Buffer {
  const blockBytes = 4 * 1024 * 1024;
  const matchLength = blockBytes - 6;
  const extension = matchLength - 4 - 15;
  const block = Buffer.alloc(1 + 1 + 2 + Math.floor(extension / 255) + 1 + 1 + 5);
  let p = 0;
  block[p++] = 0x1f; // 1 literal, match length 15 + extension
  block[p++] = 0x61;
  block.writeUInt16LE(1, p);
  p += 2;
  for (let left = extension; ; left -= 255) {
    if (left >= 255) block[p++] = 255;
    else {
      block[p++] = left;
      break;
    }
  }
  block[p++] = 0x50; // 5 literals, no match: the end of the block
  block.fill(0x61, p, p + 5);
  p += 5;
  const body = block.subarray(0, p);
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, 0x00]); // independent blocks, 4 MiB
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff; // the frame descriptor's checksum
  const parts: Buffer[] = [header];
  for (let i = 0; i < blocks; i++) {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(body.length, 0);
    parts.push(size, body);
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

/** A raw snappy block whose preamble declares `declaredBytes` (the body is garbage). */
export function snappyDeclaredBomb(declaredBytes: number): Buffer {
  const preamble: number[] = [];
  let v = declaredBytes;
  while (v >= 0x80) {
    preamble.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  preamble.push(v);
  return Buffer.concat([Buffer.from(preamble), Buffer.alloc(64, 0x61)]);
}

/** `members` concatenated gzip members, each of `memberBytes` zeros (gunzip reads them all). */
export function gzipMembersBomb(memberBytes: number, members: number): Buffer {
  const one = gzipSync(Buffer.alloc(memberBytes), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => one));
}

/** xxHash32 with seed 0 of fewer than 16 bytes (what an LZ4 frame descriptor checksum needs). */
function xxh32(data: Uint8Array): number {
  const prime1 = 2654435761;
  const prime2 = 2246822519;
  const prime3 = 3266489917;
  const prime5 = 374761393;
  const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = (prime5 + data.length) >>> 0;
  for (const byte of data) {
    h = (h + Math.imul(byte, prime5)) >>> 0;
    h = Math.imul(rotl(h, 11), prime1) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, prime2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, prime3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
