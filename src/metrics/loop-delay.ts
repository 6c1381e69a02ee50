/**
 * The event loop's delay families of prom-client's default metrics (`nodejs_eventloop_lag_*`),
 * read where they cost the broker's thread nothing. The delay is recorded on the broker's loop by
 * perf_hooks' `monitorEventLoopDelay` (a native timer every LOOP_DELAY_RESOLUTION_MS, no
 * JavaScript); reading its seven statistics walks the whole histogram five times (~0.24 ms of
 * the broker thread's CPU per collect, the largest family left there). A perf_hooks histogram
 * posted to a worker is a clone sharing the same native histogram, so the serving worker reads
 * and resets the broker loop's own figures (`registerLoopDelayStats` on its registry, with the
 * clone), and the broker's thread keeps only `nodejs_eventloop_lag_seconds` (a setImmediate's
 * delay, which only the broker's loop can measure). Names, help, aggregators and values are
 * prom-client's: one collect reads all seven and resets the histogram, as prom-client's does.
 */
import { type ELDHistogram, type Histogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** The delay timer's period on the broker's loop: prom-client's default `eventLoopMonitoringPrecision`. */
export const LOOP_DELAY_RESOLUTION_MS = 10;

/**
 * The `eventLoopMonitoringPrecision` given to prom-client's default metrics: their delay gauges are
 * replaced by these, and at its default their histogram would be a second timer on the broker's
 * loop. At 2^31 - 1 ms (~24.8 days, the largest a libuv timer period that fits an int32) it never
 * fires.
 */
export const PROM_CLIENT_LOOP_DELAY_PRECISION_MS = 2 ** 31 - 1;

/** Measured on the broker's loop at each collect (prom-client's meaning). */
export const LOOP_LAG_FAMILY = 'nodejs_eventloop_lag_seconds';

/** The histogram's reading, as both a broker's histogram and its clone in a worker give it. */
export type DelayHistogram = Pick<Histogram, 'min' | 'max' | 'mean' | 'stddev' | 'percentile' | 'reset'>;

type Aggregator = 'min' | 'max' | 'average';

/** prom-client's seven statistics of the delay histogram (nanoseconds, given in seconds). */
const STATS: readonly (readonly [string, string, Aggregator, (histogram: DelayHistogram) => number])[] = [
  ['nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', 'min', (h) => h.min],
  ['nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', 'max', (h) => h.max],
  [
    'nodejs_eventloop_lag_mean_seconds',
    'The mean of the recorded event loop delays.',
    'average',
    (h) => h.mean,
  ],
  [
    'nodejs_eventloop_lag_stddev_seconds',
    'The standard deviation of the recorded event loop delays.',
    'average',
    (h) => h.stddev,
  ],
  [
    'nodejs_eventloop_lag_p50_seconds',
    'The 50th percentile of the recorded event loop delays.',
    'average',
    (h) => h.percentile(50),
  ],
  [
    'nodejs_eventloop_lag_p90_seconds',
    'The 90th percentile of the recorded event loop delays.',
    'average',
    (h) => h.percentile(90),
  ],
  [
    'nodejs_eventloop_lag_p99_seconds',
    'The 99th percentile of the recorded event loop delays.',
    'average',
    (h) => h.percentile(99),
  ],
];

/** The seven statistics' families, read by the serving worker from the shared histogram. */
export const LOOP_DELAY_STAT_FAMILIES: ReadonlySet<string> = new Set(STATS.map(([name]) => name));

/** A histogram of the calling thread's event-loop delay, recording from now on. */
export function startLoopDelay(): ELDHistogram {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  histogram.enable();
  return histogram;
}

/**
 * Registers the seven statistics of `histogram` on `registry`, in prom-client's order: the first
 * one's collect reads all seven and resets the histogram (a render reads them in that order).
 */
export function registerLoopDelayStats(registry: Registry, histogram: DelayHistogram): void {
  const gauges: Gauge[] = [];
  const readAll = (): void => {
    STATS.forEach(([, , , read], index) => {
      gauges[index]!.set(read(histogram) / 1e9);
    });
    histogram.reset();
  };
  STATS.forEach(([name, help, aggregator], index) => {
    gauges.push(
      new Gauge({
        name,
        help,
        aggregator,
        registers: [registry],
        ...(index === 0 ? { collect: readAll } : {}),
      }),
    );
  });
}

/** `nodejs_eventloop_lag_seconds` as prom-client measures it: a setImmediate's delay from the collect. */
export function registerLoopLag(registry: Registry): void {
  const lag = new Gauge({
    name: LOOP_LAG_FAMILY,
    help: 'Lag of event loop in seconds.',
    aggregator: 'average',
    registers: [registry],
    collect() {
      const start = process.hrtime.bigint();
      // Set after this collect, as prom-client's: a render shows the lag measured at the one before.
      setImmediate(() => lag.set(Number(process.hrtime.bigint() - start) / 1e9));
    },
  });
}
