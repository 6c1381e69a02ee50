// CRC-32C (Castagnoli), the checksum of RecordBatch v2. The native implementation
// (@node-rs/crc32, SSE4.2/ARMv8 instructions) is used; the table-driven slicing-by-8
// version below is kept as the reference it is tested against and as a fallback should
// the native module fail to load on some platform.
import { createRequire } from 'node:module';

const POLYNOMIAL_REFLECTED = 0x82f63b78;

/** Eight 256-entry tables for slicing-by-8, built once at load. */
const TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < 8; t++) {
    const previous = tables[t - 1]!;
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = previous[n]!;
      table[n] = ((p >>> 8) ^ first[p & 0xff]!) >>> 0;
    }
    tables.push(table);
  }
  return tables;
})();

/** CRC-32C in TypeScript, slicing-by-8. `initial` chains a previous result. */
export function crc32cSoftware(data: Uint8Array, initial = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let crc = ~initial >>> 0;
  let i = 0;
  const length = data.length;
  const end8 = length - (length % 8);
  while (i < end8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) ^ crc;
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[hi & 0xff]! ^
      t2[(hi >>> 8) & 0xff]! ^
      t1[(hi >>> 16) & 0xff]! ^
      t0[hi >>> 24]!;
    i += 8;
  }
  while (i < length) {
    crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

type NativeCrc = (input: Uint8Array, initialState?: number | null) => number;

function loadNative(): NativeCrc | null {
  try {
    const require = createRequire(import.meta.url);
    const native = require('@node-rs/crc32') as { crc32c: NativeCrc };
    // Check the module against the standard check value before trusting it.
    if (native.crc32c(Buffer.from('123456789')) !== 0xe3069283) return null;
    return native.crc32c;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which implementation `crc32c` uses: 'native' or 'software'. */
export const crc32cImplementation: 'native' | 'software' = native ? 'native' : 'software';

/** CRC-32C of `data` (an unsigned 32-bit number). */
export const crc32c: (data: Uint8Array) => number = native
  ? (data) => native(data) >>> 0
  : (data) => crc32cSoftware(data);
