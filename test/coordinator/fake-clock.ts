/**
 * A manual clock for coordinator tests: time moves only when the test calls `advance`,
 * which fires every timer that falls due, in due-time order (ties in creation order).
 */
import type { Clock } from '../../src/broker/services.ts';

interface Timer {
  readonly dueMs: number;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #nowMs: number;
  #sequence = 0;
  #timers: Timer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    const timer: Timer = {
      dueMs: this.#nowMs + Math.max(delayMs, 0),
      sequence: this.#sequence++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers still pending (not fired, not cancelled). */
  pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers (and timers they set that also fall due). */
  advance(ms: number): void {
    const targetMs = this.#nowMs + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      const due = this.#timers
        .filter((t) => t.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.sequence - b.sequence)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.#nowMs = Math.max(this.#nowMs, due.dueMs);
      due.callback();
    }
    this.#nowMs = targetMs;
  }
}

/** Lets promise callbacks (storage appends, answers) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Wraps a promise so a test can check whether it has settled yet. */
export function track<T>(promise: Promise<T>): { readonly value: T | undefined; readonly done: boolean } {
  const state: { value: T | undefined; done: boolean } = { value: undefined, done: false };
  void promise.then((value) => {
    state.value = value;
    state.done = true;
  });
  return state;
}
