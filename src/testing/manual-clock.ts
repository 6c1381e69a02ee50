/**
 * A clock a test can move forward: it runs at the real clock's speed, and `advance(ms)` jumps
 * it ahead at once, firing every timer that falls due by then, earliest first (each with the
 * clock set to its due time). The broker and its coordinators take their time and timers from
 * it (`BrokerServices.clock`), so retention, group session and rebalance timeouts, transaction
 * timeouts and offset expiry happen at the jump instead of minutes later.
 *
 * It keeps running between jumps, rather than standing still, because a broker also waits on
 * time for its clients: a Fetch with nothing to read answers after its `max_wait_ms`, and a
 * frozen clock would hold every such poll until the client gave up on it.
 */
import type { Clock } from '../broker/services.ts';
import { currentTimerGate } from './timer-gates.ts';

/** The longest delay node's setTimeout takes (2^31-1 ms); longer timers are re-armed on expiry. */
const REAL_TIMER_DELAY_MS_MAX = 2 ** 31 - 1;
/** The most timers one `advance` fires (a timer re-arming itself at delay 0 would loop forever). */
export const ADVANCE_TIMERS_MAX = 100_000;

interface Timer {
  readonly dueMs: number;
  /** Creation order: timers due at the same time fire in the order they were set. */
  readonly sequence: number;
  readonly callback: () => void;
  handle: NodeJS.Timeout | null;
}

export class ManualClock implements Clock {
  #offsetMs = 0;
  #sequence = 0;
  readonly #timers = new Set<Timer>();
  readonly #realNowMs: () => number;
  readonly #advanceTimersMax: number;

  /** `realNowMs` is the clock it follows; `advanceTimersMax` bounds one advance (ADVANCE_TIMERS_MAX). */
  constructor(realNowMs: () => number = Date.now, advanceTimersMax = ADVANCE_TIMERS_MAX) {
    this.#realNowMs = realNowMs;
    this.#advanceTimersMax = advanceTimersMax;
  }

  nowMs(): number {
    return this.#realNowMs() + this.#offsetMs;
  }

  /** How far `advance` has moved this clock ahead of the real one, in total. */
  get advancedMs(): number {
    return this.#offsetMs;
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  setTimer(delayMs: number, callback: () => void): () => void {
    // A paused node's timers hold even when advance() fires them (timer-gates.ts).
    const gate = currentTimerGate();
    const timer: Timer = {
      dueMs: this.nowMs() + Math.max(0, delayMs),
      sequence: this.#sequence++,
      callback: gate === undefined ? callback : () => gate.fire(timer, callback),
      handle: null,
    };
    this.#timers.add(timer);
    this.#arm(timer);
    return () => {
      gate?.cancel(timer);
      this.#timers.delete(timer);
      if (timer.handle !== null) clearTimeout(timer.handle);
    };
  }

  /**
   * Moves the clock `ms` forward and fires, in due order, every timer due by then, including
   * those the fired ones set. Resolves once they have run and the promise jobs they started
   * have had a turn of the event loop (asynchronous work they start, such as disk I/O, may
   * finish later: wait on its effect).
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance: ms must be a finite number of milliseconds >= 0, got ${ms}`);
    }
    const targetMs = this.nowMs() + ms;
    for (let fired = 0; ; fired++) {
      const next = this.#earliest();
      if (next === undefined || next.dueMs > targetMs) break;
      if (fired >= this.#advanceTimersMax) {
        throw new Error(
          `clock.advance: more than ${this.#advanceTimersMax} timers fell due (ADVANCE_TIMERS_MAX); a timer keeps re-arming itself`,
        );
      }
      this.#moveTo(next.dueMs);
      this.#fire(next);
      await new Promise<void>((done) => setImmediate(done));
    }
    this.#moveTo(targetMs);
  }

  /** Cancels every pending timer (when the broker using the clock is gone). */
  clear(): void {
    for (const timer of this.#timers) if (timer.handle !== null) clearTimeout(timer.handle);
    this.#timers.clear();
  }

  #moveTo(timeMs: number): void {
    // The clock never goes back: only a later time moves the offset.
    const offsetMs = timeMs - this.#realNowMs();
    if (offsetMs > this.#offsetMs) this.#offsetMs = offsetMs;
  }

  #earliest(): Timer | undefined {
    let earliest: Timer | undefined;
    for (const timer of this.#timers) {
      if (
        earliest === undefined ||
        timer.dueMs < earliest.dueMs ||
        (timer.dueMs === earliest.dueMs && timer.sequence < earliest.sequence)
      ) {
        earliest = timer;
      }
    }
    return earliest;
  }

  /** A real timer for the time left, so timers also fire as real time passes. */
  #arm(timer: Timer): void {
    const leftMs = Math.min(REAL_TIMER_DELAY_MS_MAX, Math.max(0, timer.dueMs - this.nowMs()));
    timer.handle = setTimeout(() => {
      timer.handle = null;
      if (!this.#timers.has(timer)) return;
      if (this.nowMs() < timer.dueMs) this.#arm(timer);
      else this.#fire(timer);
    }, leftMs);
    // A pending broker timer must not keep a test process alive on its own.
    timer.handle.unref();
  }

  #fire(timer: Timer): void {
    if (!this.#timers.delete(timer)) return;
    if (timer.handle !== null) clearTimeout(timer.handle);
    timer.callback();
  }
}
