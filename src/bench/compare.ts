/**
 * `kstack bench --compare`: the same load against a kstack broker and an Apache Kafka
 * reference broker (one node each), started here one after the other so that they never
 * compete for the machine's cores, then the ratios kstack / Kafka. Kafka's own
 * `kafka-producer-perf-test` gives a second opinion on produce throughput.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../engine/process.ts';
import { type BenchOptions, type BenchReport, formatReport, medianOf, runBench } from './command.ts';
import type { BrokerProbe, LatencyResult } from './latency.ts';
import type { LoopDelaySummary } from './loop-delay.ts';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
/** Idle resident memory is read this long after the broker answers its first Metadata. */
const SETTLE_MS = 3000;

export interface StartedBroker {
  name: string;
  bootstrapServer: string;
  probe: BrokerProbe;
  stop(): Promise<void>;
}

const LOOP_DELAY_PROBE = fileURLToPath(new URL('./loop-delay-probe.ts', import.meta.url));
const PROBE_TIMEOUT_MS = 10_000;

/** Asks the broker's loop-delay probe over IPC and waits for its answer. */
function askProbe(
  broker: KstackProcess,
  type: string,
  answer: string,
): Promise<{ summary?: LoopDelaySummary }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stopListening();
      reject(new Error(`the broker's loop-delay probe did not answer '${type}'`));
    }, PROBE_TIMEOUT_MS);
    const stopListening = broker.onMessage((message) => {
      const typed = message as { type?: string; summary?: LoopDelaySummary };
      if (typed.type !== answer) return;
      clearTimeout(timer);
      stopListening();
      resolve(typed);
    });
    broker.send({ type });
  });
}

/** Starts `kstack up` with the loop-delay probe; resolves once it answers Metadata. */
export async function startKstack(port: number, dataDir: string): Promise<StartedBroker> {
  // The probe (src/bench/loop-delay-probe.ts) reports the broker's event-loop delay over IPC.
  const broker = await KstackProcess.start(
    {
      args: ['--port', String(port), '--data-dir', dataDir],
      ports: [port],
      nodeFlags: ['--import', LOOP_DELAY_PROBE],
      ipc: true,
      echoStderr: true,
    },
    READY_TIMEOUT_MS,
  );
  return {
    name: 'kstack',
    bootstrapServer: `${HOST}:${port}`,
    probe: {
      pid: broker.pid,
      loopDelay: {
        reset: async () => {
          await askProbe(broker, 'loop-delay-reset', 'loop-delay-reset');
        },
        report: async () => {
          const { summary } = await askProbe(broker, 'loop-delay-report', 'loop-delay');
          if (summary === undefined) throw new Error('the loop-delay probe answered without a summary');
          return summary;
        },
      },
    },
    async stop() {
      await broker.stop();
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
    probe: { pid: Number(readFileSync(join(node.dir, 'jvm.pid'), 'utf8')) },
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
  perfTest: PerfTestResult | undefined;
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
      broker.probe,
    );
    const perfTest = options.latencyOnly
      ? undefined
      : producerPerfTest(broker.bootstrapServer, 'kstack-bench-perf-test', options.records);
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
    if (p !== undefined) {
      lines.push(
        `kafka-producer-perf-test acks=1: ${p.recordsPerSecond.toFixed(0)} records/s, ${p.megabytesPerSecond.toFixed(1)} MB/s, avg latency ${p.latencyMsAverage.toFixed(1)} ms`,
      );
    }
    lines.push('');
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
  if (kstack.perfTest !== undefined && kafka.perfTest !== undefined) {
    lines.push(
      `kafka-producer-perf-test: ${ratio(kstack.perfTest.recordsPerSecond, kafka.perfTest.recordsPerSecond)}`,
    );
  }
  const median = (entry: ComparisonEntry, pick: (l: LatencyResult) => number) =>
    entry.report.latency.length === 0 ? Number.NaN : medianOf(entry.report.latency, pick);
  for (const [label, pick] of [
    ['p50', (l: LatencyResult) => l.p50Ms],
    ['p99', (l: LatencyResult) => l.p99Ms],
    ['p99.9', (l: LatencyResult) => l.p999Ms],
  ] as const) {
    lines.push(`e2e ${label} (median of runs): ${ratio(median(kstack, pick), median(kafka, pick))}`);
  }
  lines.push(
    `broker CPU during e2e (median of runs): ${ratio(
      median(kstack, (l) => l.brokerCpuMs ?? Number.NaN),
      median(kafka, (l) => l.brokerCpuMs ?? Number.NaN),
    )}`,
    `rss idle: ${ratio(kstack.report.residentBytesIdle ?? 0, kafka.report.residentBytesIdle ?? 0)}`,
  );
  return lines.join('\n');
}
