/**
 * What delays the registry's event loop, seen from inside it (bench.ts loads this into the registry
 * process with `node --import` under `--probe`; nothing else uses it): the event loop's delay
 * histogram (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution) and each garbage collection's
 * kind and pause. On SIGUSR2 it writes the figures since the previous SIGUSR2 as JSON to
 * `KSTACK_REGISTRY_PROBE_FILE` and starts again, so bench.ts brackets one measurement with two signals.
 */
import { writeFileSync } from 'node:fs';
import {
  constants,
  monitorEventLoopDelay,
  type PerformanceEntry,
  PerformanceObserver,
} from 'node:perf_hooks';

export interface GcFigures {
  count: number;
  totalMs: number;
  maxMs: number;
  /** Pauses over 1 ms. */
  over1Ms: number;
}

export interface ProbeFigures {
  /** Event-loop delay percentiles, ms. */
  loopDelay: { p50: number; p99: number; p999: number; max: number };
  /** Per collection kind: scavenge (young generation), mark-sweep-compact, incremental, weak callbacks. */
  gc: Record<string, GcFigures>;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

const output = process.env.KSTACK_REGISTRY_PROBE_FILE;
if (output !== undefined) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gc: Record<string, GcFigures> = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
      const figures = gc[kind] ?? { count: 0, totalMs: 0, maxMs: 0, over1Ms: 0 };
      gc[kind] = figures;
      figures.count += 1;
      figures.totalMs += entry.duration;
      figures.maxMs = Math.max(figures.maxMs, entry.duration);
      if (entry.duration > 1) figures.over1Ms += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;
  process.on('SIGUSR2', () => {
    const figures: ProbeFigures = {
      loopDelay: {
        p50: ms(delay.percentile(50)),
        p99: ms(delay.percentile(99)),
        p999: ms(delay.percentile(99.9)),
        max: ms(delay.max),
      },
      gc,
    };
    writeFileSync(output, JSON.stringify(figures));
    delay.reset();
    gc = {};
  });
}
