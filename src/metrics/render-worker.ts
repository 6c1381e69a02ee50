/**
 * The worker thread that turns a registry's snapshot into the Prometheus text (see
 * worker-render.ts, which starts it). The text is prom-client's own: each family is formatted by
 * `Registry.getMetricsAsString` from the values the broker's thread collected, so the exposition
 * is byte for byte what `registry.metrics()` gives on the broker's thread, without the ~9 ms of
 * string building (253 partitions) holding the broker's event loop.
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import {
  LOOP_DELAY_STAT_FAMILIES,
  PROM_CLIENT_LOOP_DELAY_PRECISION_MS,
  registerLoopDelayStats,
} from './loop-delay.ts';
import type {
  CollectReply,
  FamilyEntry,
  FamilySnapshot,
  LoopDelayMessage,
  RenderReply,
  RenderRequest,
  SeriesSnapshot,
  ServeMessage,
  WorkerServeData,
} from './worker-render.ts';

if (parentPort === null) throw new Error('render-worker.ts runs as a worker thread (see worker-render.ts)');
const port = parentPort;
const formatter = new Registry();

/**
 * zlib's level for the gzipped text: 1 compresses the text ~10x (its lines repeat) for a fraction
 * of the default level's time.
 */
const GZIP_LEVEL = 1;

/**
 * A family of the broker's registry, as the worker's registry holds it: reading it gives the
 * snapshot last posted. Formatting goes through prom-client's `getSingleMetricAsString`, so the
 * text is prom-client's whatever the family's type (a Gauge only carries the name here).
 */
class SnapshotFamily extends Gauge {
  snapshot: {
    name: string;
    help: string;
    type: string;
    aggregator: FamilySnapshot['aggregator'];
    values: SeriesSnapshot[];
  } | null = null;

  override async get() {
    if (this.snapshot === null) throw new Error('render worker: a family read before its snapshot came');
    // The snapshot is what `get()` of the broker's family returned (its type may be a counter's).
    return this.snapshot as never;
  }
}

const familiesByName = new Map<string, SnapshotFamily>();

function familyNamed(name: string, help: string): SnapshotFamily {
  let family = familiesByName.get(name);
  if (family === undefined) {
    family = new SnapshotFamily({ name, help, registers: [formatter] });
    familiesByName.set(name, family);
  }
  return family;
}

/**
 * prom-client's default metrics of this thread, created on the first render that asks for one:
 * only the process-wide families (PROCESS_FAMILIES_COLLECTED_IN_WORKER) are read from it.
 */
let processRegistry: Registry | null = null;

/**
 * The broker loop's delay statistics, read from the clone of its histogram the broker's thread
 * sends first (LoopDelayMessage); null until then (and in a worker never sent one).
 */
let loopDelayRegistry: Registry | null = null;

function isLoopDelayMessage(message: unknown): message is LoopDelayMessage {
  return typeof message === 'object' && message !== null && 'loopDelay' in message;
}

/**
 * Each family's series as last sent in full: a family sent by name has the same series (names and
 * labels, in the same order), and its values are the next ones of the request's `values`.
 */
const seriesByFamily = new Map<string, SeriesSnapshot[]>();

/** Reads a request's entries in order, taking each by-name family's values from `values`. */
function seriesOf(name: string, values: Float64Array, offset: number): SeriesSnapshot[] {
  const known = seriesByFamily.get(name);
  if (known === undefined || offset + known.length > values.length) {
    // The broker's side keeps this from happening (a new worker is sent every family in full);
    // a text with wrong values would be worse than a failed scrape.
    throw new Error(`render worker: no series of ${name} to give values to`);
  }
  known.forEach((series, index) => {
    series.value = values[offset + index]!;
  });
  return known;
}

async function formatFamily(family: FamilySnapshot): Promise<string> {
  const formatted = familyNamed(family.name, family.help);
  formatted.snapshot = {
    name: family.name,
    help: family.help,
    type: family.type,
    aggregator: family.aggregator,
    values: family.series,
  };
  return formatter.getSingleMetricAsString(family.name);
}

/**
 * Each family's text as last formatted: a family sent by name whose values are all those it was
 * last formatted with gets the same text again (most per-partition families of a quiet topic, the
 * gauges that rarely move), so a render formats only what changed.
 */
const textByFamily = new Map<string, { readonly values: Float64Array; readonly text: string }>();

/** Whether `values[offset...]` are `before`'s values, NaN equal to NaN (a family's text would be the same). */
function sameValues(before: Float64Array, values: Float64Array, offset: number): boolean {
  for (let index = 0; index < before.length; index++) {
    if (!Object.is(before[index], values[offset + index])) return false;
  }
  return true;
}

async function render(request: RenderRequest): Promise<string> {
  const texts: string[] = [];
  let offset = 0;
  for (const entry of request.families as readonly FamilyEntry[]) {
    if (typeof entry === 'string') {
      const count = seriesByFamily.get(entry)?.length ?? 0;
      const cached = textByFamily.get(entry);
      if (
        cached !== undefined &&
        cached.values.length === count &&
        sameValues(cached.values, request.values, offset)
      ) {
        texts.push(cached.text);
        offset += count;
        continue;
      }
      const known = seriesOf(entry, request.values, offset);
      const values = request.values.slice(offset, offset + known.length);
      offset += known.length;
      const family = familiesByName.get(entry)!.snapshot!;
      const text = await formatFamily({ ...family, series: known });
      textByFamily.set(entry, { values, text });
      texts.push(text);
    } else if ('unchanged' in entry) {
      // Its version is the one it was last sent with: its values, and so its text, are those.
      const cached = textByFamily.get(entry.unchanged);
      const count = seriesByFamily.get(entry.unchanged)?.length;
      if (cached === undefined || count === undefined) {
        throw new Error(`render worker: no text of ${entry.unchanged} to give again`);
      }
      texts.push(cached.text);
    } else if ('collectInWorker' in entry && LOOP_DELAY_STAT_FAMILIES.has(entry.collectInWorker)) {
      if (loopDelayRegistry === null) {
        throw new Error(
          `render worker: ${entry.collectInWorker} asked for without the broker's delay histogram`,
        );
      }
      texts.push(await loopDelayRegistry.getSingleMetricAsString(entry.collectInWorker));
    } else if ('collectInWorker' in entry) {
      if (processRegistry === null) {
        processRegistry = new Registry();
        // Only the process-wide families are read here: the delay monitor prom-client would start
        // on this thread (a timer every 10 ms, forever) gets a period that never fires.
        collectDefaultMetrics({
          register: processRegistry,
          eventLoopMonitoringPrecision: PROM_CLIENT_LOOP_DELAY_PRECISION_MS,
        });
      }
      texts.push(await processRegistry.getSingleMetricAsString(entry.collectInWorker));
    } else {
      seriesByFamily.set(entry.name, entry.series);
      const text = await formatFamily(entry);
      textByFamily.set(entry.name, { values: Float64Array.from(entry.series, (one) => one.value), text });
      texts.push(text);
    }
  }
  if (offset !== request.values.length) {
    throw new Error(`render worker: ${request.values.length - offset} values left over`);
  }
  // Joined as prom-client's `Registry.metrics()` joins its families (Prometheus text format).
  return `${texts.join('\n\n')}\n`;
}

/** The text as UTF-8 and gzipped, copied into buffers of their own so both can be transferred. */
function encode(text: string): { body: Uint8Array; gzip: Uint8Array } {
  const body = new TextEncoder().encode(text);
  // Copied out of zlib's Buffer (which may share a pooled ArrayBuffer) so it can be transferred.
  const gzip = new Uint8Array(gzipSync(body, { level: GZIP_LEVEL }));
  return { body, gzip };
}

/** Renders what the broker's thread sends (workerRender): the text goes back to it. */
function answerRenders(): void {
  port.on('message', (request: RenderRequest) => {
    render(request).then(
      (text) => {
        // Encoded here too, so the broker's thread neither encodes nor compresses: both transferred.
        const { body, gzip } = encode(text);
        port.postMessage({ id: request.id, text, body, gzip } satisfies RenderReply, [
          body.buffer as ArrayBuffer,
          gzip.buffer as ArrayBuffer,
        ]);
      },
      (error: unknown) =>
        port.postMessage({
          id: request.id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies RenderReply),
    );
  });
}

/** This thread's id (Linux: `/proc/thread-self` links to `PID/task/TID`), or null elsewhere. */
function threadId(): number | null {
  try {
    const id = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

/** Lowers this thread's nice to `nice` (METRICS_WORKER_NICE), where threads have ids (Linux). */
function lowerThreadNice(nice: number): void {
  const id = threadId();
  if (id !== null) setPriority(id, nice);
}

/**
 * Moves this thread to the SCHED_IDLE policy (METRICS_WORKER_SCHED_IDLE) through util-linux's
 * `chrt` (Node has no call for it; lowering one's own policy needs no privilege). Called once the
 * worker listens: loading its modules (fastify) at SCHED_IDLE could take a busy machine's idle
 * time for ever, and the broker waits for it to listen. Without chrt, or where it fails, the
 * thread keeps its nice.
 */
function enterSchedIdle(): void {
  const id = threadId();
  if (id === null) return;
  try {
    execFileSync('chrt', ['--idle', '--pid', '0', String(id)], { stdio: 'ignore' });
  } catch {
    // No chrt (not util-linux) or not allowed: nice alone.
  }
}

/**
 * Serves `/metrics` from this thread (workerServe): a scrape that needs a new text asks the
 * broker's thread for a snapshot; the others get the last text without the broker's thread.
 */
async function serve(options: WorkerServeData['serve']): Promise<void> {
  lowerThreadNice(options.nice);
  const { buildMetricsApp } = await import('./http.ts');
  const waiting = new Map<number, (reply: CollectReply) => void>();
  let nextId = 0;
  const send = (message: ServeMessage): void => port.postMessage(message);
  const collected = (): Promise<CollectReply> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      send({ collect: id });
    });
  const renderText = async (): Promise<string> => {
    const reply = await collected();
    if ('error' in reply) throw new Error(`metrics collect failed: ${reply.error}`);
    try {
      return await render(reply);
    } catch (error) {
      // Some families may hold this snapshot's series, others the last: start again from nothing.
      seriesByFamily.clear();
      textByFamily.clear();
      send({ resync: true });
      throw error;
    }
  };
  const app = buildMetricsApp(
    {
      contentType: options.contentType,
      metrics: renderText,
      async encoded() {
        const { body, gzip } = encode(await renderText());
        return {
          body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          gzip: Buffer.from(gzip.buffer, gzip.byteOffset, gzip.byteLength),
        };
      },
    },
    { renderMinIntervalMs: options.renderMinIntervalMs },
  );
  port.on('message', (message: CollectReply | { close: true } | LoopDelayMessage) => {
    if (isLoopDelayMessage(message)) return;
    if ('close' in message) {
      void app.close().finally(() => send({ closed: true }));
      return;
    }
    const resolve = waiting.get(message.id);
    waiting.delete(message.id);
    resolve?.(message);
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    const { message, code } = error as NodeJS.ErrnoException;
    send({ listenError: { message, code } });
    return;
  }
  if (options.schedIdle) enterSchedIdle();
  const address = app.server.address();
  send({ listening: typeof address === 'object' && address !== null ? address.port : options.port });
}

// Listened for at once: the histogram is posted as the worker starts, before any collect.
port.on('message', (message: unknown) => {
  if (!isLoopDelayMessage(message)) return;
  loopDelayRegistry = new Registry();
  registerLoopDelayStats(loopDelayRegistry, message.loopDelay);
});

const serving = (workerData as WorkerServeData | null)?.serve;
if (serving === undefined) answerRenders();
else void serve(serving);

// Its modules are loaded: from now on the render timeout applies (see worker-render.ts).
port.postMessage({ ready: true } satisfies RenderReply);
