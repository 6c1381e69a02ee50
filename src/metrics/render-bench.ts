/**
 * How long one render of a broker's `/metrics` holds the event loop. An in-process broker (real
 * files) with the stack's baseline topic, `__consumer_offsets` and `--partitions` more, produced
 * to so every series has a value and every request type a reservoir; then `--renders` renders of
 * the registry (prom-client's default process metrics included, as `kstack up` serves them),
 * whole (prom-client's `registry.metrics()`) and sliced (`slicedRender`, what `/metrics` serves),
 * alternating. Prints p50/p99/max of a render's wall time and of the longest turn of the event
 * loop during it (what delays a record arriving meanwhile), and the text's size. A benchmark: asserts nothing.
 *
 *   node src/metrics/render-bench.ts [--partitions N] [--renders N] [--port P]
 *
 * Port: the broker on P (23801 by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { machineLoad } from '../bench/machine.ts';
import { percentile } from '../bench/stats.ts';
import { Broker } from '../broker/broker.ts';
import { BrokerMetrics } from './broker-metrics.ts';
import { METRICS_RENDER_SLICE_MS, slicedRender } from './http.ts';

const PORT_DEFAULT = 23801;
const PARTITIONS_DEFAULT = 200;
const RENDERS_DEFAULT = 200;
/** Partitions of each extra topic (the rest in the last one). */
const PARTITIONS_PER_TOPIC = 10;

function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag}: '${text}' is not a positive integer`);
  return value;
}

/**
 * The longest the event loop went without running a `setImmediate` callback while `work` was
 * pending (what a request arriving during the render would wait at most before being read), in
 * wall time and in the process' CPU time: on a loaded machine the wall time of a turn includes
 * the time the kernel ran others, the CPU time does not.
 */
async function longestTurn(work: Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  let done = false;
  const settle = () => {
    done = true;
  };
  work.then(settle, settle);
  let wallMs = 0;
  let cpuMs = 0;
  let lastWallMs = performance.now();
  let lastCpu = process.cpuUsage();
  while (!done) {
    await new Promise((next) => setImmediate(next));
    const nowMs = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    wallMs = Math.max(wallMs, nowMs - lastWallMs);
    cpuMs = Math.max(cpuMs, (cpu.user + cpu.system) / 1000);
    lastWallMs = nowMs;
    lastCpu = process.cpuUsage();
  }
  return { wallMs, cpuMs };
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
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-render-bench-'));
  const metrics = new BrokerMetrics();
  const broker = new Broker({ dataDir, host: '127.0.0.1', port, observer: metrics });
  await broker.start();
  metrics.attach(broker);
  try {
    await broker.createTopic({ name: 'events-topic', numPartitions: 3, replicationFactor: 1 });
    await broker.createTopic({
      name: '__consumer_offsets',
      numPartitions: 50,
      replicationFactor: 1,
      internal: true,
    });
    for (let made = 0, index = 0; made < partitions; index++) {
      const count = Math.min(PARTITIONS_PER_TOPIC, partitions - made);
      await broker.createTopic({ name: `bench-${index}`, numPartitions: count, replicationFactor: 1 });
      for (let p = 0; p < count; p++) metrics.appended(`bench-${index}`, 1, 100);
      made += count;
    }
    // Every request type answered gets a reservoir: fill some as a busy broker would.
    const dispatcher = metrics.observeRequests({ dispatch: () => ({ close: false }) as never });
    for (const apiKey of [0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 18, 19]) {
      const frame = Buffer.alloc(8);
      frame.writeInt16BE(apiKey, 0);
      frame.writeInt16BE(apiKey === 18 ? 3 : 4, 2);
      for (let i = 0; i < 2000; i++) dispatcher.dispatch(frame, {} as never);
    }
    const kinds = [
      { label: 'whole (registry.metrics)', text: metrics.registry },
      { label: `sliced (${METRICS_RENDER_SLICE_MS} ms slices)`, text: slicedRender(metrics.registry) },
    ];
    const results = kinds.map(() => ({
      renderMs: [] as number[],
      turnMs: [] as number[],
      turnCpuMs: [] as number[],
    }));
    let bytes = 0;
    // Alternate the kinds render by render, so a change of the machine's load hits both alike.
    for (let i = 0; i < renders; i++) {
      for (const [index, kind] of kinds.entries()) {
        const start = performance.now();
        const rendering = kind.text.metrics();
        const turn = await longestTurn(rendering);
        results[index]!.renderMs.push(performance.now() - start);
        results[index]!.turnMs.push(turn.wallMs);
        results[index]!.turnCpuMs.push(turn.cpuMs);
        bytes = (await rendering).length;
      }
    }
    const partitionCount = [...broker.metadata().topics()].reduce((n, t) => n + t.partitions.length, 0);
    process.stdout.write(
      `metrics render: ${partitionCount} partitions, ${renders} renders of each kind, ${(bytes / 1024).toFixed(0)} KiB of text, machine load ${machineLoad().loadAverage1m.toFixed(1)}\n`,
    );
    for (const [index, kind] of kinds.entries()) {
      process.stdout.write(`${kind.label}\n`);
      process.stdout.write(`${summary('  render (wall)', results[index]!.renderMs)}\n`);
      process.stdout.write(`${summary('  longest turn (wall)', results[index]!.turnMs)}\n`);
      process.stdout.write(`${summary('  longest turn (CPU)', results[index]!.turnCpuMs)}\n`);
    }
  } finally {
    metrics.detach();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
