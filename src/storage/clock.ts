// Time as the log sees it: passed in, so tests and simulations control it.

export interface Clock {
  /** Wall-clock milliseconds since the epoch (timestamps, retention, segment.ms). */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  #nowMs: number;
  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }
  nowMs(): number {
    return this.#nowMs;
  }
  advance(ms: number): void {
    if (ms < 0) throw new Error('a clock does not go back');
    this.#nowMs += ms;
  }
}
