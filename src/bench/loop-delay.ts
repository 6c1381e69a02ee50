/**
 * Event-loop delay of the process it runs in: how late a timer that should fire every
 * `LOOP_DELAY_RESOLUTION_MS` actually fires. A long synchronous task (a slow disk write,
 * a GC pause) or a CPU taken by other processes shows up here, and every record waiting
 * on this loop meanwhile is that much later.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The sampling timer's period; reported delays are what comes on top of it. */
export const LOOP_DELAY_RESOLUTION_MS = 5;

export interface LoopDelaySummary {
  /** Timer firings observed. */
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LoopDelayMonitor {
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay>;

  constructor() {
    this.#histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.#histogram.enable();
  }

  /** Starts a new observation window. */
  reset(): void {
    this.#histogram.reset();
  }

  /** The window so far, in milliseconds beyond the sampling period. */
  summary(): LoopDelaySummary {
    const h = this.#histogram;
    const beyond = (nanoseconds: number): number =>
      h.count === 0 ? Number.NaN : Math.max(0, nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS);
    return {
      samples: h.count,
      p50Ms: beyond(h.percentile(50)),
      p99Ms: beyond(h.percentile(99)),
      maxMs: beyond(h.max),
    };
  }

  stop(): void {
    this.#histogram.disable();
  }
}
