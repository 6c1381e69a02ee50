/**
 * What a scraper every SCRAPE_INTERVAL_MS costs the broker's thread, measured where it is spent
 * rather than through end-to-end latency (which a loaded machine drowns): an in-process broker
 * (real files) with the stack's baseline topic, `__consumer_offsets` and `--partitions` more, and
 * a scraper in its own process fetching `/metrics` (accepting gzip, as Prometheus does). Phases
 * of `--seconds` each, alternating in rounds so a change of the machine's load hits all alike:
 * no scraper; `/metrics` served from the broker's thread and rendered in a worker (`workerRender`
 * behind `startMetricsServer`: what session 9 served); the worker's bytes served from the broker's
 * thread by node:http without a framework (the cheapest main-thread way); `/metrics` served from a
 * worker thread (`workerServe`: what `serveBrokerMetrics` serves now). Per phase: the broker thread's CPU per
 * second (`process.threadCpuUsage`), the whole process' CPU per second (the worker's included),
 * the event loop's delay p99 and max (`monitorEventLoopDelay` every LOOP_DELAY_RESOLUTION_MS: a request arriving
 * meanwhile waits about that), and the scrapes answered. A benchmark: asserts nothing.
 *
 *   node src/metrics/scrape-bench.ts [--partitions N] [--seconds S] [--rounds R] [--port P]
 *
 * Ports: the broker on P (25650 by default), `/metrics` on P+1.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { machineLoad } from '../bench/machine.ts';
import { median } from '../bench/stats.ts';
import { positiveInteger, startBusyBroker } from './bench-broker.ts';
import {
  acceptsGzip,
  type EncodedMetrics,
  METRICS_RENDER_MIN_INTERVAL_MS,
  type MetricsServer,
  startMetricsServer,
} from './http.ts';
import { workerRender, workerServe } from './worker-render.ts';

/** The scrape interval issue 16 names (bench.ts's SCRAPE_INTERVAL_MS; importing it would run that bench). */
const SCRAPE_INTERVAL_MS = 100;
const PORT_DEFAULT = 25650;
const PARTITIONS_DEFAULT = 200;
const SECONDS_DEFAULT = 10;
const ROUNDS_DEFAULT = 3;
/**
 * The event-loop delay monitor's timer period: 1 ms would wake the thread 1,000 times a second and
 * cost more CPU than the scrapes (~20 ms/s); a stall shorter than this is seen only when it meets a tick.
 */
const LOOP_DELAY_RESOLUTION_MS = 5;

/** The scraper: fetches its URL every interval (never two at once) and prints how many it got. */
const SCRAPER = `
const [url, intervalMs] = process.argv.slice(1);
let ok = 0, failed = 0, stopped = false;
process.on('SIGTERM', () => { stopped = true; });
(async () => {
  while (!stopped) {
    const started = performance.now();
    try { const r = await fetch(url); await r.arrayBuffer(); if (r.ok) ok++; else failed++; } catch { failed++; }
    const wait = Number(intervalMs) - (performance.now() - started);
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  }
  process.stdout.write(JSON.stringify({ ok, failed }));
})();`;

/**
 * `/metrics` answered on the broker's thread by node:http (no framework) from the bytes a worker
 * rendered last (`workerRender`, at most once per METRICS_RENDER_MIN_INTERVAL_MS): the cheapest
 * main-thread alternative to `workerServe`, measured beside it.
 */
async function readyBufferOnBrokerThread(
  registry: Parameters<typeof workerRender>[0],
  host: string,
  port: number,
): Promise<MetricsServer> {
  const render = workerRender(registry);
  let rendered: (EncodedMetrics & { atMs: number }) | null = null;
  let rendering: Promise<EncodedMetrics & { atMs: number }> | null = null;
  const bytes = (): Promise<EncodedMetrics & { atMs: number }> => {
    if (rendered !== null && performance.now() - rendered.atMs < METRICS_RENDER_MIN_INTERVAL_MS)
      return Promise.resolve(rendered);
    rendering ??= render
      .encoded()
      .then((encoded) => {
        rendered = { ...encoded, atMs: performance.now() };
        return rendered;
      })
      .finally(() => {
        rendering = null;
      });
    return rendering;
  };
  const server = createServer((request, response) => {
    bytes().then(
      ({ body, gzip }) => {
        const zipped = acceptsGzip(request.headers['accept-encoding']);
        response.writeHead(200, {
          'content-type': registry.contentType,
          vary: 'accept-encoding',
          ...(zipped ? { 'content-encoding': 'gzip' } : {}),
        });
        response.end(zipped ? gzip : body);
      },
      (error: unknown) => {
        response.writeHead(500);
        response.end(String(error));
      },
    );
  });
  await new Promise<void>((done) => server.listen(port, host, done));
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    async close() {
      await new Promise((done) => server.close(done));
      await render.close();
    },
  };
}

interface Phase {
  threadCpuMsPerS: number;
  processCpuMsPerS: number;
  delayP99Ms: number;
  delayMaxMs: number;
  scrapes: number;
  failed: number;
}

async function measure(url: string | null, seconds: number): Promise<Phase> {
  const scraper =
    url === null ? null : spawn(process.execPath, ['-e', SCRAPER, url, String(SCRAPE_INTERVAL_MS)]);
  let output = '';
  scraper?.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = scraper === null ? null : new Promise((done) => scraper.once('exit', done));
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const thread = process.threadCpuUsage();
  const whole = process.cpuUsage();
  const startMs = performance.now();
  delay.enable();
  await new Promise((done) => setTimeout(done, seconds * 1000));
  delay.disable();
  const elapsedS = (performance.now() - startMs) / 1000;
  const threadCpu = process.threadCpuUsage(thread);
  const processCpu = process.cpuUsage(whole);
  scraper?.kill('SIGTERM');
  await exited;
  const counts =
    output === '' ? { ok: 0, failed: 0 } : (JSON.parse(output) as { ok: number; failed: number });
  return {
    threadCpuMsPerS: (threadCpu.user + threadCpu.system) / 1000 / elapsedS,
    processCpuMsPerS: (processCpu.user + processCpu.system) / 1000 / elapsedS,
    delayP99Ms: delay.percentile(99) / 1e6,
    delayMaxMs: delay.max / 1e6,
    scrapes: counts.ok,
    failed: counts.failed,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      partitions: { type: 'string' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      port: { type: 'string' },
    },
  });
  const partitions = positiveInteger(values.partitions, '--partitions', PARTITIONS_DEFAULT);
  const seconds = positiveInteger(values.seconds, '--seconds', SECONDS_DEFAULT);
  const rounds = positiveInteger(values.rounds, '--rounds', ROUNDS_DEFAULT);
  const port = positiveInteger(values.port, '--port', PORT_DEFAULT);
  const busy = await startBusyBroker({ name: 'scrape-bench', port, partitions });
  const { metrics } = busy;
  const startedMs = performance.now();
  const loads: number[] = [];
  try {
    // A produce now and then, so each render has a new latency sample and new values.
    const produceFrame = Buffer.from([0, 0, 0, 9, 0, 0, 0, 0]);
    const ticker = setInterval(() => busy.observe(produceFrame), 10);
    const kinds: { label: string; serve: (() => Promise<MetricsServer>) | null }[] = [
      { label: 'no scraper', serve: null },
      {
        label: 'served on the broker thread, rendered in a worker (workerRender)',
        serve: () =>
          startMetricsServer({ registry: workerRender(metrics.registry), host: '127.0.0.1', port: port + 1 }),
      },
      {
        label: 'ready bytes served on the broker thread by node:http',
        serve: () => readyBufferOnBrokerThread(metrics.registry, '127.0.0.1', port + 1),
      },
      {
        label: 'served and rendered in a worker (workerServe, now)',
        serve: () => workerServe(metrics.registry, { host: '127.0.0.1', port: port + 1 }),
      },
    ];
    const results = kinds.map(() => [] as Phase[]);
    process.stdout.write(
      `scrape bench: ${partitions + 53} partitions, ${rounds} rounds of ${kinds.length} phases of ${seconds} s, scraper every ${SCRAPE_INTERVAL_MS} ms, machine load ${machineLoad().loadAverage1m.toFixed(1)}\n`,
    );
    try {
      for (let round = 0; round < rounds; round++) {
        // Rotate the order each round, so a trend in the machine's load favours no kind.
        for (let step = 0; step < kinds.length; step++) {
          const index = (round + step) % kinds.length;
          const kind = kinds[index]!;
          const server = kind.serve === null ? null : await kind.serve();
          try {
            // One scrape first: the worker loads and the first (full) snapshot is sent.
            if (server !== null) await (await fetch(server.url)).arrayBuffer();
            loads.push(machineLoad().loadAverage1m);
            const phase = await measure(server?.url ?? null, seconds);
            results[index]!.push(phase);
            process.stdout.write(
              `  ${kind.label.padEnd(62)} thread CPU ${phase.threadCpuMsPerS.toFixed(2).padStart(6)} ms/s  process CPU ${phase.processCpuMsPerS.toFixed(1).padStart(6)} ms/s  ` +
                `loop delay p99 ${phase.delayP99Ms.toFixed(2)} max ${phase.delayMaxMs.toFixed(2)} ms  ${phase.scrapes} scrapes (${phase.failed} failed), load ${loads.at(-1)!.toFixed(1)}\n`,
            );
          } finally {
            await server?.close();
          }
        }
      }
    } finally {
      clearInterval(ticker);
    }
    process.stdout.write('medians over the rounds:\n');
    for (const [index, kind] of kinds.entries()) {
      const of = (pick: (phase: Phase) => number) => median(results[index]!.map(pick));
      process.stdout.write(
        `  ${kind.label.padEnd(62)} thread CPU ${of((p) => p.threadCpuMsPerS)
          .toFixed(2)
          .padStart(6)} ms/s  process CPU ${of((p) => p.processCpuMsPerS)
          .toFixed(1)
          .padStart(6)} ms/s  ` +
          `loop delay p99 ${of((p) => p.delayP99Ms).toFixed(2)} max ${of((p) => p.delayMaxMs).toFixed(2)} ms\n`,
      );
    }
    process.stdout.write(
      `machine load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}; took ${((performance.now() - startedMs) / 1000).toFixed(0)} s\n`,
    );
  } finally {
    await busy.stop();
  }
}

await main();
