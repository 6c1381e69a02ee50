/**
 * What one render of a broker's `/metrics` costs the broker's event loop. An in-process broker
 * (real files) with the stack's baseline topic, `__consumer_offsets` and `--partitions` more,
 * produced to so every series has a value and every request type a reservoir; then `--renders`
 * renders of each kind, alternating: whole (prom-client's `registry.metrics()`), sliced
 * (`slicedRender`, what `/metrics` served in session 8) and worker (`workerRender`, what it serves
 * now: the broker's thread collects a snapshot, a worker thread formats it). For each kind:
 * the time the broker's thread was busy per render (the event loop's active time,
 * `performance.eventLoopUtilization`, measured in a render of its own with nothing else on the
 * loop: a worker's time and the wait for it are idle), that thread's CPU per render on average
 * (`process.threadCpuUsage` summed over the renders: Linux counts a thread's CPU in scheduler ticks,
 * so single renders read 0 or a tick), the longest turn of the event loop during a render (wall:
 * what delays a record arriving meanwhile), the render's wall time, and the series and bytes of
 * the text. Then the means of the same for a scrape answered from the cached text (curl in its
 * own process, over a socket, on P+1). A benchmark: asserts nothing.
 *
 *   node src/metrics/render-bench.ts [--partitions N] [--renders N] [--port P]
 *
 * Ports: the broker on P (23801 by default), its /metrics on P+1.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { machineLoad } from '../bench/machine.ts';
import { percentile } from '../bench/stats.ts';
import { positiveInteger, startBusyBroker } from './bench-broker.ts';
import { METRICS_RENDER_SLICE_MS, type MetricsServer, slicedRender, startMetricsServer } from './http.ts';
import { workerRender, workerServe } from './worker-render.ts';

const PORT_DEFAULT = 23801;
const execFileAsync = promisify(execFile);
const PARTITIONS_DEFAULT = 200;
const RENDERS_DEFAULT = 100;
/** Scrapes answered from the cached text (by curl), to time the HTTP side alone. */
const CACHED_SCRAPES = 200;

/**
 * The longest the event loop went without running a `setImmediate` callback while `work` was
 * pending (what a request arriving during the render would wait at most before being read), in
 * wall time: on a loaded machine that includes the time the kernel ran others. (A thread's CPU
 * time cannot tell turns of a millisecond apart: Linux counts it in scheduler ticks.)
 */
async function longestTurn(work: Promise<unknown>): Promise<{ wallMs: number }> {
  let done = false;
  const settle = () => {
    done = true;
  };
  work.then(settle, settle);
  let wallMs = 0;
  let lastWallMs = performance.now();
  while (!done) {
    await new Promise((next) => setImmediate(next));
    const nowMs = performance.now();
    wallMs = Math.max(wallMs, nowMs - lastWallMs);
    lastWallMs = nowMs;
  }
  return { wallMs };
}

function summary(label: string, valuesMs: number[]): string {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  return `${label.padEnd(22)} p50 ${percentile(sorted, 0.5).toFixed(2)} ms  p99 ${percentile(sorted, 0.99).toFixed(2)} ms  max ${sorted[sorted.length - 1]!.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { partitions: { type: 'string' }, renders: { type: 'string' }, port: { type: 'string' } },
  });
  const partitions = positiveInteger(values.partitions, '--partitions', PARTITIONS_DEFAULT);
  const renders = positiveInteger(values.renders, '--renders', RENDERS_DEFAULT);
  const port = positiveInteger(values.port, '--port', PORT_DEFAULT);
  const busy = await startBusyBroker({ name: 'render-bench', port, partitions });
  const { broker, metrics } = busy;
  try {
    const worker = workerRender(metrics.registry);
    const kinds = [
      { label: 'whole (registry.metrics)', text: metrics.registry },
      { label: `sliced (${METRICS_RENDER_SLICE_MS} ms slices)`, text: slicedRender(metrics.registry) },
      { label: 'worker (what /metrics serves)', text: worker },
    ];
    const results = kinds.map(() => ({
      busyMs: [] as number[],
      threadCpuMs: 0,
      renderMs: [] as number[],
      turnMs: [] as number[],
    }));
    let bytes = 0;
    let series = 0;
    const produceFrame = Buffer.from([0, 0, 0, 9, 0, 0, 0, 0]);
    try {
      // Alternate the kinds render by render, so a change of the machine's load hits all alike.
      for (let i = 0; i < renders; i++) {
        for (const [index, kind] of kinds.entries()) {
          // A request between renders, as under load: the reservoir is sorted again, values move.
          busy.observe(produceFrame);
          const loopStart = performance.eventLoopUtilization();
          const cpuStart = process.threadCpuUsage();
          await kind.text.metrics();
          const cpu = process.threadCpuUsage(cpuStart);
          results[index]!.busyMs.push(performance.eventLoopUtilization(loopStart).active);
          results[index]!.threadCpuMs += (cpu.user + cpu.system) / 1000;
          busy.observe(produceFrame);
          const start = performance.now();
          const rendering = kind.text.metrics();
          const turn = await longestTurn(rendering);
          results[index]!.renderMs.push(performance.now() - start);
          results[index]!.turnMs.push(turn.wallMs);
          const text = await rendering;
          bytes = Buffer.byteLength(text);
          series = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
        }
      }
      const partitionCount = [...broker.metadata().topics()].reduce((n, t) => n + t.partitions.length, 0);
      process.stdout.write(
        `metrics render: ${partitionCount} partitions, ${series} series, ${metrics.registry.getMetricsAsArray().length} families, ` +
          `${(bytes / 1024).toFixed(0)} KiB of text, ${renders} renders of each kind, machine load ${machineLoad().loadAverage1m.toFixed(1)}\n`,
      );
      for (const [index, kind] of kinds.entries()) {
        process.stdout.write(`${kind.label}\n`);
        process.stdout.write(`${summary('  broker thread busy', results[index]!.busyMs)}\n`);
        process.stdout.write(
          `  broker thread CPU      mean ${(results[index]!.threadCpuMs / renders).toFixed(2)} ms\n`,
        );
        process.stdout.write(`${summary('  longest turn (wall)', results[index]!.turnMs)}\n`);
        process.stdout.write(`${summary('  render (wall)', results[index]!.renderMs)}\n`);
      }
      // Scrapes between renders (Prometheus every 100 ms, a render at most once a second), sent by
      // curl in its own process over a real socket: this thread's time is the server's alone.
      // Served from the broker's thread (session 9), then from a worker thread (workerServe: now).
      const servers: [string, () => Promise<MetricsServer>][] = [
        [
          'served on the broker thread (workerRender)',
          () =>
            startMetricsServer({
              registry: worker,
              host: '127.0.0.1',
              port: port + 1,
              renderMinIntervalMs: 3_600_000,
            }),
        ],
        [
          'served by a worker (workerServe)',
          () =>
            workerServe(metrics.registry, {
              host: '127.0.0.1',
              port: port + 1,
              renderMinIntervalMs: 3_600_000,
            }),
        ],
      ];
      for (const [served, serve] of servers) {
        const server = await serve();
        try {
          await (await fetch(server.url)).text();
          for (const [label, flags] of [
            ['plain text', []],
            ['gzipped (curl --compressed)', ['--compressed']],
          ] as const) {
            const loopStart = performance.eventLoopUtilization();
            const cpuStart = process.threadCpuUsage();
            await execFileAsync('curl', [
              '--silent',
              '--fail',
              ...flags,
              ...Array.from({ length: CACHED_SCRAPES }, () => ['-o', '/dev/null', server.url]).flat(),
            ]);
            const cpu = process.threadCpuUsage(cpuStart);
            const activeMs = performance.eventLoopUtilization(loopStart).active;
            process.stdout.write(
              `a scrape answered from the cached text, ${served}, ${label} (${CACHED_SCRAPES} by curl, one connection): broker thread busy ` +
                `${(activeMs / CACHED_SCRAPES).toFixed(3)} ms, CPU ${((cpu.user + cpu.system) / 1000 / CACHED_SCRAPES).toFixed(3)} ms (means)\n`,
            );
          }
        } finally {
          await server.close();
        }
      }
    } finally {
      await worker.close();
    }
  } finally {
    await busy.stop();
  }
}

await main();
