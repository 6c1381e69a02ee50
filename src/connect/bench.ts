/**
 * `node src/connect/bench.ts [--lines N] [--runs R] [--targets kstack,reference]`: Kafka Connect on
 * kstack and on Apache Kafka 4.1.1, one after the other, each a one-node cluster with one worker.
 * Reports per target: the worker's start to ready (JVM spawn to GET /health 200), its idle resident
 * memory, and the FileStream pipeline's records/s (a FileStreamSink already running on the topic, then
 * a FileStreamSource on a file of N lines: the time until the sink's file holds every byte, per run,
 * and their median). A benchmark, not a test: it asserts only that the copy is whole.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type ClusterKind, startCluster } from './clusters.ts';
import { type ConnectWorker, startConnectWorker } from './worker.ts';

const PORTS: Readonly<Record<ClusterKind, { cluster: number; worker: number }>> = {
  kstack: { cluster: 21330, worker: 21331 },
  reference: { cluster: 21340, worker: 21341 },
};
const LINES_DEFAULT = 200_000;
const RUNS_DEFAULT = 3;
/** Each line is this long plus its newline: 100 bytes a record. */
const LINE_CHARS = 99;
const PIPELINE_TIMEOUT_MS = 600_000;
const POLL_INTERVAL_MS = 50;
/** Idle: after the worker is ready and has nothing to run, before the first connector. */
const IDLE_SETTLE_MS = 10_000;

interface Result {
  readonly kind: ClusterKind;
  readonly startToReadyMs: number;
  readonly idleRssMiB: number;
  readonly recordsPerSecond: readonly number[];
}

function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kib / 1024);
}

async function request(worker: ConnectWorker, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${worker.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
}

/** One run: sink first, then the source; resolves with the records/s from source creation to the last byte. */
async function pipeline(worker: ConnectWorker, dir: string, run: number, lines: number): Promise<number> {
  const input = join(dir, `in-${run}.txt`);
  const output = join(dir, `out-${run}.txt`);
  const topic = `bench-${run}`;
  const text = Array.from({ length: lines }, (_, i) => `${i}`.padEnd(LINE_CHARS, '.')).join('\n');
  writeFileSync(input, `${text}\n`);
  const size = statSync(input).size;
  const converter = { 'value.converter': 'org.apache.kafka.connect.storage.StringConverter' };
  await request(worker, 'POST', '/connectors', {
    name: `bench-sink-${run}`,
    config: {
      'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
      topics: topic,
      file: output,
      ...converter,
    },
  });
  const started = performance.now();
  await request(worker, 'POST', '/connectors', {
    name: `bench-source-${run}`,
    config: {
      'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector',
      topic,
      file: input,
      'topic.creation.default.replication.factor': '-1',
      'topic.creation.default.partitions': '1',
      ...converter,
    },
  });
  for (;;) {
    let written = 0;
    try {
      written = statSync(output).size;
    } catch {
      // Not created yet.
    }
    if (written >= size) break;
    if (performance.now() - started > PIPELINE_TIMEOUT_MS) {
      throw new Error(`run ${run}: the sink wrote ${written} of ${size} bytes in ${PIPELINE_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  if (digest(input) !== digest(output))
    throw new Error(`run ${run}: the sink's file differs from the source's`);
  for (const kind of ['source', 'sink']) await request(worker, 'DELETE', `/connectors/bench-${kind}-${run}`);
  return Math.round(lines / seconds);
}

async function benchTarget(kind: ClusterKind, lines: number, runs: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `kstack-connect-bench-${kind}-`));
  const cluster = await startCluster(kind, PORTS[kind].cluster, dir);
  let worker: ConnectWorker | undefined;
  try {
    const workDir = join(dir, 'worker');
    mkdirSync(workDir);
    worker = await startConnectWorker({ bootstrap: cluster.bootstrap, port: PORTS[kind].worker, workDir });
    await sleep(IDLE_SETTLE_MS);
    const idleRssMiB = residentMiB(worker.pid);
    const recordsPerSecond: number[] = [];
    for (let run = 1; run <= runs; run++) recordsPerSecond.push(await pipeline(worker, dir, run, lines));
    return { kind, startToReadyMs: worker.startToReadyMs, idleRssMiB, recordsPerSecond };
  } finally {
    await worker?.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      lines: { type: 'string', default: String(LINES_DEFAULT) },
      runs: { type: 'string', default: String(RUNS_DEFAULT) },
      targets: { type: 'string', default: 'kstack,reference' },
    },
  });
  const lines = Number(values.lines);
  const runs = Number(values.runs);
  if (!Number.isInteger(lines) || lines < 1)
    throw new Error(`--lines: '${values.lines}' is not a positive integer`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: '${values.runs}' is not a positive integer`);
  const kinds = values.targets.split(',');
  for (const kind of kinds) {
    if (kind !== 'kstack' && kind !== 'reference')
      throw new Error(`--targets: '${kind}' is not kstack or reference`);
  }
  const results: Result[] = [];
  for (const kind of kinds as ClusterKind[]) {
    process.stdout.write(`${kind}: starting (load average ${loadavg()[0]?.toFixed(1)})\n`);
    const result = await benchTarget(kind, lines, runs);
    results.push(result);
    process.stdout.write(
      `${kind}: worker start to ready ${result.startToReadyMs} ms, idle RSS ${result.idleRssMiB} MiB, ` +
        `FileStream pipeline ${lines} records of 100 B: ${result.recordsPerSecond.join(', ')} records/s ` +
        `(median ${median(result.recordsPerSecond)}); load average ${loadavg()[0]?.toFixed(1)}\n`,
    );
  }
  const [kstack, reference] = ['kstack', 'reference'].map((kind) => results.find((r) => r.kind === kind));
  if (kstack !== undefined && reference !== undefined) {
    const ratio = median(kstack.recordsPerSecond) / median(reference.recordsPerSecond);
    process.stdout.write(`pipeline records/s kstack / reference: ${ratio.toFixed(2)}\n`);
  }
}

await main();
