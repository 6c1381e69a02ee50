/**
 * `kstack bench --compare`: the same load against a kstack broker and an Apache Kafka
 * reference broker (one node each), started here one after the other so that they never
 * compete for the machine's cores, then the ratios kstack / Kafka. Kafka's own
 * `kafka-producer-perf-test` gives a second opinion on produce throughput.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { probeMetadata } from '../../reference/probe.ts';
import { type BenchOptions, type BenchReport, formatReport, runBench } from './command.ts';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
/** Idle resident memory is read this long after the broker answers its first Metadata. */
const SETTLE_MS = 3000;

interface StartedBroker {
  name: string;
  bootstrapServer: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitForMetadata(port: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await probeMetadata(HOST, port, 1000);
      return;
    } catch (error) {
      if (!isAlive()) throw new Error(`the broker on port ${port} exited before it answered Metadata`);
      if (Date.now() > deadline)
        throw new Error(`no Metadata answer on port ${port}: ${(error as Error).message}`);
      await sleep(250);
    }
  }
}

async function startKstack(port: number, dataDir: string): Promise<StartedBroker> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['bin/kstack.ts', 'up', '--port', String(port), '--data-dir', dataDir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let alive = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      alive = false;
      resolve();
    }),
  );
  await waitForMetadata(port, () => alive);
  return {
    name: 'kstack',
    bootstrapServer: `${HOST}:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startReference(port: number, dataDir: string): Promise<StartedBroker> {
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir });
  await cluster.start();
  const node = cluster.node(1);
  return {
    name: 'Apache Kafka',
    bootstrapServer: cluster.bootstrap,
    pid: Number(readFileSync(join(node.dir, 'jvm.pid'), 'utf8')),
    stop: () => cluster.stop(),
  };
}

export interface PerfTestResult {
  recordsPerSecond: number;
  megabytesPerSecond: number;
  latencyMsAverage: number;
}

/** Runs Kafka's kafka-producer-perf-test and parses its closing summary line. */
export function producerPerfTest(bootstrapServer: string, topic: string, records: number): PerfTestResult {
  const run = spawnSync(
    'reference/bin/kafka-producer-perf-test',
    [
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      '1024',
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${bootstrapServer}`,
      'acks=1',
      'linger.ms=5',
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  // The last line reads: "N records sent, R records/sec (M MB/sec), A ms avg latency, ..."
  const match = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency/.exec(
    run.stdout ?? '',
  );
  if (match === null) {
    throw new Error(`kafka-producer-perf-test gave no summary: ${(run.stderr ?? '').slice(-500)}`);
  }
  return {
    recordsPerSecond: Number(match[1]),
    megabytesPerSecond: Number(match[2]),
    latencyMsAverage: Number(match[3]),
  };
}

export interface ComparisonEntry {
  name: string;
  report: BenchReport;
  perfTest: PerfTestResult;
}

async function benchOne(
  start: (port: number, dir: string) => Promise<StartedBroker>,
  port: number,
  options: BenchOptions,
): Promise<ComparisonEntry> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-'));
  const broker = await start(port, dataDir);
  try {
    await sleep(SETTLE_MS);
    const report = await runBench(
      { bootstrapServer: broker.bootstrapServer, replicationFactor: 1 },
      options,
      broker.pid,
    );
    const perfTest = producerPerfTest(broker.bootstrapServer, 'kstack-bench-perf-test', options.records);
    return { name: broker.name, report, perfTest };
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runComparison(options: BenchOptions, basePort: number): Promise<ComparisonEntry[]> {
  const kstack = await benchOne(startKstack, basePort, options);
  const reference = await benchOne(startReference, basePort + 1, options);
  return [kstack, reference];
}

function ratio(ours: number, theirs: number): string {
  return theirs > 0 ? (ours / theirs).toFixed(2) : 'n/a';
}

export function formatComparison([kstack, kafka]: ComparisonEntry[]): string {
  if (kstack === undefined || kafka === undefined) return '';
  const lines: string[] = [];
  for (const entry of [kstack, kafka]) {
    lines.push(`== ${entry.name}`, formatReport(entry.report));
    const p = entry.perfTest;
    lines.push(
      `kafka-producer-perf-test acks=1: ${p.recordsPerSecond.toFixed(0)} records/s, ${p.megabytesPerSecond.toFixed(1)} MB/s, avg latency ${p.latencyMsAverage.toFixed(1)} ms`,
      '',
    );
  }
  lines.push(
    '== ratios kstack / Apache Kafka (throughput: higher is better; latency and memory: lower is better)',
  );
  kstack.report.produce.forEach((ours, index) => {
    const theirs = kafka.report.produce[index];
    if (theirs === undefined) return;
    lines.push(
      `produce partitions=${ours.partitions} acks=${ours.acks}: ${ratio(ours.recordsPerSecond, theirs.recordsPerSecond)}`,
    );
  });
  kstack.report.fetch.forEach((ours, index) => {
    const theirs = kafka.report.fetch[index];
    if (theirs === undefined) return;
    lines.push(
      `fetch partitions=${ours.partitions}: ${ratio(ours.recordsPerSecond, theirs.recordsPerSecond)}`,
    );
  });
  lines.push(
    `kafka-producer-perf-test: ${ratio(kstack.perfTest.recordsPerSecond, kafka.perfTest.recordsPerSecond)}`,
    `e2e p99: ${ratio(kstack.report.latency.p99Ms, kafka.report.latency.p99Ms)}`,
    `rss idle: ${ratio(kstack.report.residentBytesIdle ?? 0, kafka.report.residentBytesIdle ?? 0)}`,
  );
  return lines.join('\n');
}
