/**
 * A small seeded PRNG (sfc32) and helpers. Each iteration of the fuzzer gets its own generator,
 * derived from (seed, iteration), so iteration N produces the same bytes whatever ran before it:
 * a failure replays with `--seed S --iteration N` alone.
 */

function mix32(value: number): number {
  // splitmix32's finalizer: spreads a counter into well-distributed state words.
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream = 0) {
    this.#a = mix32(seed);
    this.#b = mix32(this.#a ^ stream);
    this.#c = mix32(this.#b + 0x6a09e667);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [min, max] (inclusive); both within ±2^31. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.uint32() & 0xff;
    return out;
  }
}

/** The generator of one iteration: independent of every other iteration. */
export function iterationPrng(seed: number, iteration: number): Prng {
  return new Prng(seed, mix32(iteration ^ 0x5bd1e995));
}
