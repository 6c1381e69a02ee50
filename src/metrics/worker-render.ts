/**
 * `/metrics` rendered off the broker's event loop. The broker's thread only collects: it reads
 * each family's values from prom-client (`get()`, which runs the gauges' `collect` against the
 * broker) into a compact snapshot; a worker thread (render-worker.ts) formats the text with
 * prom-client's own formatter. A family whose series are the ones last sent (same names and
 * labels, same order: the per-partition families between metadata images, the counters) is sent
 * as one Float64Array of values, so a snapshot of 253 partitions' families costs well under a
 * millisecond to post. prom-client keeps owning names, types, help and the registry.
 */
import type { ELDHistogram } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { EncodedMetrics, FamilyRegistry, MetricsServer, MetricsText } from './http.ts';
import { METRICS_RENDER_MIN_INTERVAL_MS } from './http.ts';
import { LOOP_DELAY_STAT_FAMILIES } from './loop-delay.ts';

/**
 * A collect returns to the event loop once it has held it this long: a request arriving during a
 * collect waits at most about this plus one family's `get()` (the longest, prom-client's
 * event-loop-lag or a per-partition family, ~0.1-0.3 ms on a quiet machine at 253 partitions).
 */
export const METRICS_COLLECT_SLICE_MS = 0.5;

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

/**
 * A family that can tell, without being read, whether what it would give has changed: its
 * `snapshotVersion()` changes whenever its series or values may have (a counter bumped where the
 * broker counts, the metadata image's identity for the gauges computed from it). A collect that
 * finds the version it last sent skips the family's `get()` altogether and sends
 * `{ unchanged: name }`: the worker gives the family's last text again. The version is read before
 * the family is, so a change during the read is seen by the next collect.
 */
export interface VersionedFamily {
  snapshotVersion(): string;
}

/** Gives `family` a `snapshotVersion` (see VersionedFamily); returns it. */
export function versioned<T extends object>(family: T, version: () => string): T & VersionedFamily {
  return Object.assign(family, { snapshotVersion: version });
}

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
 * `{ collectInWorker }` for a family the worker collects itself, or `{ unchanged }` for a
 * versioned family whose version is the one last sent (its last text stands).
 */
export type FamilyEntry =
  | FamilySnapshot
  | string
  | { readonly collectInWorker: string }
  | { readonly unchanged: string };

/** What a collect remembers of each family sent to one worker. */
export interface SentFamily {
  /** Its series as last sent in full (names and labels, in order; values as last read). */
  readonly series: SeriesSnapshot[];
  /** Its `snapshotVersion()` when last read, for a versioned family. */
  version: string | undefined;
}

export interface RenderRequest {
  readonly id: number;
  readonly families: readonly FamilyEntry[];
  /** The values of the families sent by name, one after the other (transferred, not copied). */
  readonly values: Float64Array;
}

/** The broker thread's answer to a worker's `{ collect: id }` (serving mode): a snapshot, or why there is none. */
export type CollectReply = RenderRequest | { readonly id: number; readonly error: string };

/**
 * Sent to a serving worker when it starts: a clone of the broker loop's delay histogram (it shares
 * the native histogram), from which the worker reads LOOP_DELAY_STAT_FAMILIES.
 */
export interface LoopDelayMessage {
  readonly loopDelay: ELDHistogram;
}

/** What a serving worker tells the broker's thread (see `workerServe`). */
export type ServeMessage =
  | { readonly ready: true }
  | { readonly listening: number }
  | { readonly listenError: { readonly message: string; readonly code?: string } }
  /** A scrape needs a render: collect a snapshot and answer with the same id. */
  | { readonly collect: number }
  /** The worker failed a render and forgot every family: send each in full next time. */
  | { readonly resync: true }
  | { readonly closed: true };

/**
 * The nice value of a serving worker's thread (Linux: a thread's own priority). Formatting, gzip
 * and answering scrapes can wait a few milliseconds; on a machine of two cores they should not
 * take a core from the broker's thread or the clients it serves while those have work. At 10 the
 * kernel gives the worker about a tenth of the time of a nice-0 thread wanting the same core (and
 * all of an idle one). Threads inherit their creator's nice: the worker starts no threads of its
 * own, and libuv's pool (file I/O) is started by the broker before its metrics are served.
 */
export const METRICS_WORKER_NICE = 10;

/**
 * Whether a serving worker's thread also takes the SCHED_IDLE policy (Linux, through `chrt`, once
 * it listens: its modules load at nice): it then runs only when its core has nothing else to run, and a broker thread that wakes takes
 * the core from it at once. Nice alone is not enough on this kernel's EEVDF scheduler: a running
 * nice-10 thread keeps the core for the rest of its slice (~1 ms here) when a nice-0 thread wakes,
 * so a record arriving during a scrape waited for it (see the README, "Session 12").
 */
export const METRICS_WORKER_SCHED_IDLE = true;

/** `workerData` of a worker that serves `/metrics` itself (render-worker.ts). */
export interface WorkerServeData {
  readonly serve: {
    readonly host: string;
    readonly port: number;
    readonly contentType: string;
    readonly renderMinIntervalMs: number;
    /** METRICS_WORKER_NICE. */
    readonly nice: number;
    /** METRICS_WORKER_SCHED_IDLE. */
    readonly schedIdle: boolean;
  };
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
  snapshotVersion?(): string;
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
  /** Families the last snapshot did not read (their version was the one last sent). */
  readonly lastUnchangedCount: number;
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

/** One collect of a registry: its entries in order and the by-name families' values. */
export interface CollectedSnapshot {
  readonly families: FamilyEntry[];
  readonly values: Float64Array;
  /** Series in the snapshot (a family the worker collects counts as one). */
  readonly seriesCount: number;
  /** Families whose version was the one last sent: not read, sent as `{ unchanged }`. */
  readonly unchanged: number;
}

/**
 * Reads every family of `registry` on the calling thread (`get()`, which runs the gauges'
 * `collect` against the broker), returning to the event loop whenever a slice has run `sliceMs`,
 * so a request arriving meanwhile waits at most about that plus one family. A versioned family
 * whose version is the one in `sent` is not read (`{ unchanged }`). A family whose series are
 * those in `sent` (names and labels, in order) is given by name with its values packed in
 * `values`; the others in full, and `sent` learns them.
 */
export async function collectSnapshot(
  registry: FamilyRegistry,
  sent: Map<string, SentFamily>,
  collectInWorker: ReadonlySet<string>,
  sliceMs: number,
): Promise<CollectedSnapshot> {
  const families: FamilyEntry[] = [];
  const values: number[] = [];
  let seriesCount = 0;
  let unchanged = 0;
  let sliceStartMs = performance.now();
  for (const family of familiesOf(registry)) {
    if (collectInWorker.has(family.name)) {
      families.push({ collectInWorker: family.name });
      seriesCount++;
      continue;
    }
    const version = family.snapshotVersion?.();
    const before = sent.get(family.name);
    if (version !== undefined && before !== undefined && before.version === version) {
      families.push({ unchanged: family.name });
      seriesCount += before.series.length;
      unchanged++;
      continue;
    }
    const collected = (await (family.getForPromString?.() ?? family.get())) as CollectedFamily;
    const series = collected.values ?? [];
    seriesCount += series.length;
    const known = sent.get(collected.name);
    if (known !== undefined && sameSeries(known.series, series)) {
      families.push(collected.name);
      for (const one of series) values.push(one.value);
      known.version = version;
    } else {
      // Copied: the worker must get the series as they are now, not as prom-client changes them later.
      const copy = series.map((one) => ({ ...one }));
      sent.set(collected.name, { series: copy, version });
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
  return { families, values: Float64Array.from(values), seriesCount, unchanged };
}

interface RunningWorker {
  readonly worker: Worker;
  /** What each family was last sent with to this worker. */
  readonly sent: Map<string, SentFamily>;
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
    /** METRICS_COLLECT_SLICE_MS when missing. */
    readonly sliceMs?: number;
    /** Families the worker collects from its own default metrics; PROCESS_FAMILIES_COLLECTED_IN_WORKER when missing. */
    readonly collectInWorker?: ReadonlySet<string>;
  } = {},
): WorkerRender {
  const sliceMs = options.sliceMs ?? METRICS_COLLECT_SLICE_MS;
  const collectInWorker = options.collectInWorker ?? PROCESS_FAMILIES_COLLECTED_IN_WORKER;
  let running: RunningWorker | null = null;
  let nextId = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let lastSeriesCount = 0;
  let lastUnchangedCount = 0;

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
    const { families, values, seriesCount, unchanged } = await collectSnapshot(
      registry,
      current.sent,
      collectInWorker,
      sliceMs,
    );
    current.worker.ref();
    current.worker.postMessage({ id, families, values } satisfies RenderRequest, [
      values.buffer as ArrayBuffer,
    ]);
    lastSeriesCount = seriesCount;
    lastUnchangedCount = unchanged;
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
    get lastUnchangedCount() {
      return lastUnchangedCount;
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

/** A `/metrics` endpoint served from a worker thread (`workerServe`). */
export interface WorkerServer extends MetricsServer {
  /** Snapshots the broker's thread has collected for the worker so far. */
  readonly collects: number;
  /** Series in the last snapshot (a family the worker collects counts as one). */
  readonly lastSeriesCount: number;
  /** Families the last snapshot did not read (their version was the one last sent). */
  readonly lastUnchangedCount: number;
}

/** How long `close()` waits for the worker to stop listening before it is terminated. */
export const METRICS_SERVE_CLOSE_MS = 5_000;

/**
 * `/metrics` served by a worker thread: the worker listens, answers scrapes (from the text it
 * rendered last when that is younger than `renderMinIntervalMs`, as `buildMetricsApp` does), and
 * formats, encodes and gzips the text. The broker's thread only collects, when the worker asks
 * (at most once per `renderMinIntervalMs`), in slices of `sliceMs`: a scrape answered from the
 * last text costs it nothing. The text is byte for byte `registry.metrics()`'s, as `workerRender`'s.
 * A worker that exits on its own (a crash) is replaced once, on the port it had. A collect has no
 * time limit of its own: the scraper's (Prometheus' `scrape_timeout`) bounds a scrape.
 */
export async function workerServe(
  registry: FamilyRegistry,
  options: {
    readonly host: string;
    /** 0: any free port. */
    readonly port: number;
    /** METRICS_RENDER_MIN_INTERVAL_MS when missing. */
    readonly renderMinIntervalMs?: number;
    /** METRICS_COLLECT_SLICE_MS when missing. */
    readonly sliceMs?: number;
    /**
     * PROCESS_FAMILIES_COLLECTED_IN_WORKER when missing, and LOOP_DELAY_STAT_FAMILIES with a
     * `loopDelay`.
     */
    readonly collectInWorker?: ReadonlySet<string>;
    /**
     * The histogram behind the registry's LOOP_DELAY_STAT_FAMILIES (`BrokerMetrics.loopDelay`):
     * the worker reads and resets it (a clone sharing it) instead of the broker's thread.
     */
    readonly loopDelay?: ELDHistogram | null;
  },
): Promise<WorkerServer> {
  const sliceMs = options.sliceMs ?? METRICS_COLLECT_SLICE_MS;
  const loopDelay = options.loopDelay ?? null;
  const collectInWorker =
    options.collectInWorker ??
    (loopDelay === null
      ? PROCESS_FAMILIES_COLLECTED_IN_WORKER
      : new Set([...PROCESS_FAMILIES_COLLECTED_IN_WORKER, ...LOOP_DELAY_STAT_FAMILIES]));
  let collects = 0;
  let lastSeriesCount = 0;
  let lastUnchangedCount = 0;
  let closing = false;

  /** Starts a worker listening on `port`; resolves with the port once it listens. */
  interface Running {
    readonly worker: Worker;
    readonly listening: Promise<number>;
    readonly closed: Promise<void>;
    fail(error: Error): void;
  }
  const start = (port: number): Running => {
    const data: WorkerServeData = {
      serve: {
        host: options.host,
        port,
        contentType: registry.contentType,
        renderMinIntervalMs: options.renderMinIntervalMs ?? METRICS_RENDER_MIN_INTERVAL_MS,
        nice: METRICS_WORKER_NICE,
        schedIdle: METRICS_WORKER_SCHED_IDLE,
      },
    };
    const worker = new Worker(new URL('./render-worker.ts', import.meta.url), { workerData: data });
    // The broker keeps the process alive; the endpoint alone must not.
    worker.unref();
    // Before any collect is asked for: the worker reads the delay statistics from it.
    if (loopDelay !== null) worker.postMessage({ loopDelay } satisfies LoopDelayMessage);
    /** What each family was last sent with to this worker. */
    const sent = new Map<string, SentFamily>();
    let collecting: Promise<unknown> = Promise.resolve();
    let listened = (_port: number): void => {};
    let failed = (_error: Error): void => {};
    const listening = new Promise<number>((resolve, reject) => {
      listened = resolve;
      failed = reject;
    });
    let closedNow = (): void => {};
    const closed = new Promise<void>((done) => {
      closedNow = done;
    });
    const answer = async (id: number): Promise<void> => {
      try {
        const { families, values, seriesCount, unchanged } = await collectSnapshot(
          registry,
          sent,
          collectInWorker,
          sliceMs,
        );
        collects++;
        lastSeriesCount = seriesCount;
        lastUnchangedCount = unchanged;
        worker.postMessage({ id, families, values } satisfies CollectReply, [values.buffer as ArrayBuffer]);
      } catch (error) {
        // What the worker holds no longer matches `sent`: the next snapshot goes in full.
        sent.clear();
        worker.postMessage({
          id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies CollectReply);
      }
    };
    worker.on('message', (message: ServeMessage) => {
      if ('collect' in message) {
        // One at a time, in the order asked: each snapshot is sent against the one before it.
        collecting = collecting.then(() => answer(message.collect));
      } else if ('resync' in message) {
        collecting = collecting.then(() => sent.clear());
      } else if ('listening' in message) {
        listened(message.listening);
      } else if ('listenError' in message) {
        const error = Object.assign(new Error(message.listenError.message), {
          code: message.listenError.code,
        });
        failed(error);
        void worker.terminate();
      } else if ('closed' in message) {
        closedNow();
      }
    });
    worker.on('error', (error) => failed(error));
    worker.on('exit', (code) => {
      failed(new Error(`metrics serving worker exited (code ${code})`));
      closedNow();
    });
    return { worker, listening, closed, fail: failed };
  };

  const first = start(options.port);
  const timer = setTimeout(() => {
    first.fail(
      new Error(`metrics serving worker did not listen within ${METRICS_RENDER_WORKER_START_MS} ms`),
    );
    void first.worker.terminate();
  }, METRICS_RENDER_WORKER_START_MS);
  let port: number;
  try {
    port = await first.listening;
  } finally {
    clearTimeout(timer);
  }
  let current = first;
  const replaceOnExit = (running: Running, again: boolean): void => {
    running.worker.once('exit', () => {
      if (closing || !again) return;
      current = start(port);
      current.listening.catch(() => {});
      replaceOnExit(current, false);
    });
  };
  replaceOnExit(first, true);

  return {
    url: `http://${options.host}:${port}/metrics`,
    port,
    get collects() {
      return collects;
    },
    get lastSeriesCount() {
      return lastSeriesCount;
    },
    get lastUnchangedCount() {
      return lastUnchangedCount;
    },
    async close() {
      closing = true;
      const running = current;
      running.worker.postMessage({ close: true });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        running.closed,
        new Promise<void>((done) => {
          timer = setTimeout(done, METRICS_SERVE_CLOSE_MS);
        }),
      ]);
      clearTimeout(timer);
      await running.worker.terminate();
    },
  };
}
