/**
 * `/metrics` rendered off the broker's event loop. The broker's thread only collects: it reads
 * each family's values from prom-client (`get()`, which runs the gauges' `collect` against the
 * broker) into a compact snapshot; a worker thread (render-worker.ts) formats the text with
 * prom-client's own formatter. A family whose series are the ones last sent (same names and
 * labels, same order: the per-partition families between metadata images, the counters) is sent
 * as one Float64Array of values, so a snapshot of 253 partitions' families costs well under a
 * millisecond to post. prom-client keeps owning names, types, help and the registry.
 */
import { Worker } from 'node:worker_threads';
import type { EncodedMetrics, FamilyRegistry, MetricsText } from './http.ts';
import { METRICS_RENDER_SLICE_MS } from './http.ts';

/** A render the worker has not answered within this is abandoned (the scrape fails, the worker is replaced). */
export const METRICS_RENDER_TIMEOUT_MS = 10_000;

/**
 * How long a new worker may take to load its modules before the render timeout starts: 0.25-0.5 s
 * at load 13, but a 2-core machine starting JVMs beside the brokers can stretch that past
 * METRICS_RENDER_TIMEOUT_MS, and the first scrape must not fail for it.
 */
export const METRICS_RENDER_WORKER_START_MS = 60_000;

/** One series as prom-client's `get()` (or a histogram's `getForPromString()`) gives it. */
export interface SeriesSnapshot {
  value: number;
  readonly labels?: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
  readonly exemplar?: unknown;
}

/**
 * prom-client's default metrics that read `/proc/self` files on every collect (~0.1-0.4 ms of
 * synchronous reads each): they describe the whole process, so the worker collects them itself
 * (its own prom-client default metrics) instead of the broker's thread. The other default
 * metrics describe the thread that reads them (heap, event-loop lag, GC, handles) or count from
 * when they were registered (CPU seconds), so the broker's thread keeps reading those.
 */
export const PROCESS_FAMILIES_COLLECTED_IN_WORKER: ReadonlySet<string> = new Set([
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
]);

/** A family sent in full: the first time, or when a series came, went or changed labels. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator?: string;
  readonly series: SeriesSnapshot[];
}

/**
 * One render's snapshot, in the registry's order: a family in full, or its name alone when its
 * series are those it was last sent with (their values are the next ones in `values`), or
 * `{ collectInWorker }` for a family the worker collects itself.
 */
export type FamilyEntry = FamilySnapshot | string | { readonly collectInWorker: string };

export interface RenderRequest {
  readonly id: number;
  readonly families: readonly FamilyEntry[];
  /** The values of the families sent by name, one after the other (transferred, not copied). */
  readonly values: Float64Array;
}

export type RenderReply =
  | { readonly id: number; readonly text: string; readonly body: Uint8Array; readonly gzip: Uint8Array }
  | { readonly id: number; readonly error: string }
  /** Sent once, when the worker has loaded its modules. */
  | { readonly ready: true };

/** A render's text and its bytes (UTF-8 and gzipped), as the worker made them. */
interface Rendered {
  readonly text: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
}

/** What a registry's family gives when read (`Metric.get()`); histograms also have `getForPromString()`. */
interface CollectedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator?: string;
  readonly values?: readonly SeriesSnapshot[];
}

interface ReadableFamily {
  readonly name: string;
  get(): Promise<unknown>;
  getForPromString?(): Promise<unknown>;
}

/**
 * prom-client's `Registry.getMetricsAsArray()` returns the registered metrics themselves (its
 * typings call them `MetricObject`, the shape their `get()` resolves to): read them as such.
 */
function familiesOf(registry: FamilyRegistry): readonly ReadableFamily[] {
  return registry.getMetricsAsArray() as unknown as readonly ReadableFamily[];
}

export interface WorkerRender extends MetricsText {
  encoded(): Promise<EncodedMetrics>;
  /** Series in the last snapshot (a family the worker collects counts as one). */
  readonly lastSeriesCount: number;
  /** Stops the worker (a later render starts a new one). */
  close(): Promise<void>;
}

function sameLabels(
  a: Readonly<Record<string, string | number>> | undefined,
  b: Readonly<Record<string, string | number>> | undefined,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => a[key] === b[key]);
}

/** Whether `now` has the series of `sent` (names and labels, in order), so that only values need sending. */
function sameSeries(sent: SeriesSnapshot[], now: readonly SeriesSnapshot[]): boolean {
  if (sent.length !== now.length) return false;
  for (let index = 0; index < now.length; index++) {
    const before = sent[index]!;
    const series = now[index]!;
    // Exemplars are OpenMetrics only (this is the Prometheus text): prom-client's histograms give null.
    if (
      (series.exemplar !== undefined && series.exemplar !== null) ||
      before.metricName !== series.metricName
    ) {
      return false;
    }
    if (!sameLabels(before.labels, series.labels) || !sameLabels(before.sharedLabels, series.sharedLabels)) {
      return false;
    }
  }
  return true;
}

interface RunningWorker {
  readonly worker: Worker;
  /** The series each family was last sent with, in full, to this worker. */
  readonly sent: Map<string, SeriesSnapshot[]>;
  readonly pending: Map<number, { resolve(rendered: Rendered): void; reject(error: Error): void }>;
  /** Resolves when the worker says it has loaded its modules. */
  readonly ready: Promise<void>;
}

/**
 * `registry.metrics()`'s text, formatted in a worker thread from a snapshot the calling thread
 * collects family by family (returning to the event loop once a slice has run `sliceMs`, as
 * `slicedRender` does). Renders run one at a time, in call order.
 */
export function workerRender(
  registry: FamilyRegistry,
  options: {
    /** METRICS_RENDER_SLICE_MS when missing. */
    readonly sliceMs?: number;
    /** Families the worker collects from its own default metrics; PROCESS_FAMILIES_COLLECTED_IN_WORKER when missing. */
    readonly collectInWorker?: ReadonlySet<string>;
  } = {},
): WorkerRender {
  const sliceMs = options.sliceMs ?? METRICS_RENDER_SLICE_MS;
  const collectInWorker = options.collectInWorker ?? PROCESS_FAMILIES_COLLECTED_IN_WORKER;
  let running: RunningWorker | null = null;
  let nextId = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let lastSeriesCount = 0;

  const stop = (current: RunningWorker, error: Error): void => {
    if (running === current) running = null;
    for (const waiter of current.pending.values()) waiter.reject(error);
    current.pending.clear();
    void current.worker.terminate();
  };

  const start = (): RunningWorker => {
    const worker = new Worker(new URL('./render-worker.ts', import.meta.url));
    let loaded = (): void => {};
    const ready = new Promise<void>((done) => {
      loaded = done;
    });
    const current: RunningWorker = { worker, sent: new Map(), pending: new Map(), ready };
    // Idle, the worker does not keep the process alive; a render in flight refs it.
    worker.unref();
    worker.on('message', (reply: RenderReply) => {
      if ('ready' in reply) {
        loaded();
        return;
      }
      const waiter = current.pending.get(reply.id);
      if (waiter === undefined) return;
      current.pending.delete(reply.id);
      if (current.pending.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else {
        waiter.resolve({
          text: reply.text,
          body: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength),
          gzip: Buffer.from(reply.gzip.buffer, reply.gzip.byteOffset, reply.gzip.byteLength),
        });
      }
    });
    worker.on('error', (error) => stop(current, error));
    worker.on('exit', (code) => stop(current, new Error(`metrics render worker exited (code ${code})`)));
    return current;
  };

  /** Collects every family on this thread, yielding between slices, and posts the snapshot. */
  const snapshot = async (current: RunningWorker, id: number): Promise<void> => {
    const families: FamilyEntry[] = [];
    const values: number[] = [];
    let seriesCount = 0;
    let sliceStartMs = performance.now();
    for (const family of familiesOf(registry)) {
      if (collectInWorker.has(family.name)) {
        families.push({ collectInWorker: family.name });
        seriesCount++;
        continue;
      }
      const collected = (await (family.getForPromString?.() ?? family.get())) as CollectedFamily;
      const series = collected.values ?? [];
      seriesCount += series.length;
      const sent = current.sent.get(collected.name);
      if (sent !== undefined && sameSeries(sent, series)) {
        families.push(collected.name);
        for (const one of series) values.push(one.value);
      } else {
        // Copied: the worker must get the series as they are now, not as prom-client changes them later.
        const copy = series.map((one) => ({ ...one }));
        current.sent.set(collected.name, copy);
        families.push({
          name: collected.name,
          help: collected.help,
          type: collected.type,
          aggregator: collected.aggregator,
          series: copy,
        });
      }
      if (performance.now() - sliceStartMs >= sliceMs) {
        await new Promise((done) => setImmediate(done));
        sliceStartMs = performance.now();
      }
    }
    const packed = Float64Array.from(values);
    current.worker.ref();
    current.worker.postMessage({ id, families, values: packed } satisfies RenderRequest, [packed.buffer]);
    lastSeriesCount = seriesCount;
  };

  const renderOnce = async (): Promise<Rendered> => {
    running ??= start();
    const current = running;
    const id = nextId++;
    const answered = new Promise<Rendered>((resolve, reject) => {
      current.pending.set(id, { resolve, reject });
    });
    // Awaited below once the snapshot is posted; a worker failing before that must not count as unhandled.
    answered.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    // A new worker first gets METRICS_RENDER_WORKER_START_MS to load; then the render its own limit.
    const timeout = new Promise<never>((_, reject) => {
      const arm = (ms: number, what: string): void => {
        timer = setTimeout(() => {
          const error = new Error(`metrics render worker ${what} within ${ms} ms`);
          stop(current, error);
          reject(error);
        }, ms);
      };
      arm(METRICS_RENDER_WORKER_START_MS, 'did not load');
      void current.ready.then(() => {
        if (settled) return;
        clearTimeout(timer);
        arm(METRICS_RENDER_TIMEOUT_MS, 'did not answer');
      });
    });
    try {
      await snapshot(current, id);
      return await Promise.race([answered, timeout]);
    } catch (error) {
      // What the worker was sent is unknown now: the next render starts a new one.
      if (running === current) stop(current, error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  };

  const queued = (): Promise<Rendered> => {
    const rendered = queue.then(renderOnce);
    queue = rendered.catch(() => {});
    return rendered;
  };

  return {
    contentType: registry.contentType,
    async metrics() {
      return (await queued()).text;
    },
    encoded: () => queued(),
    get lastSeriesCount() {
      return lastSeriesCount;
    },
    async close() {
      const current = running;
      running = null;
      if (current !== null) {
        for (const waiter of current.pending.values()) waiter.reject(new Error('metrics render closed'));
        current.pending.clear();
        await current.worker.terminate();
      }
    },
  };
}
