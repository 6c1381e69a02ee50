/**
 * `kstack bench`: produce and fetch throughput and end-to-end latency against any
 * cluster. It reports numbers; it asserts nothing (benchmarks are not tests).
 */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  type BrokerProbe,
  type LatencyClients,
  type LatencyResult,
  measureEndToEndLatency,
  STAMP_BYTES,
} from './latency.ts';
import { type LoadTarget, measureFetch, measureProduce, type ThroughputResult, withTopic } from './load.ts';
import type { LoopDelaySummary } from './loop-delay.ts';
import { type MachineLoad, processCpuMs } from './machine.ts';
import { median, residentBytes } from './stats.ts';

export interface BenchOptions {
  records: number;
  recordBytes: number;
  ratePerSecond: number;
  latencySeconds: number;
  warmupSeconds: number;
  latencyRuns: number;
  latencyClients: LatencyClients;
  /** Skip the throughput runs (produce and fetch). */
  latencyOnly: boolean;
}

export interface BenchReport {
  bootstrapServer: string;
  produce: ThroughputResult[];
  fetch: ThroughputResult[];
  /** One entry per latency run, in order. */
  latency: LatencyResult[];
  residentBytesIdle?: number | undefined;
  residentBytesAfterLoad?: number | undefined;
}

const HELP = `usage: kstack bench --bootstrap-server HOST:PORT [options]
       kstack bench --compare [--base-port P] [options]

  --bootstrap-server HOST:PORT   the cluster to load
  --compare                      start a kstack broker and an Apache Kafka reference broker (one node
                                 each, one after the other), load both, print the ratios
  --base-port P                  ports for --compare: kstack on P, Kafka on P+1 (default 19800); with
                                 --brokers 3: kstack's nodes on P..P+2 (controllers P+50.., fault control
                                 P+10), Kafka's on P+20..P+22 (controllers P+70..) (default 23810)
  --brokers 1|3                  with --compare: one node each (default), or kstack up --brokers 3 beside
                                 a 3-node Kafka: acks=all produce and e2e latency on RF 3 (min ISR 2), the
                                 failover of a killed partition leader, idle memory per node
  --session-timeout-ms N         with --brokers 3: broker.session.timeout.ms of both clusters (default 9000)
  --heartbeat-interval-ms N      with --brokers 3: broker.heartbeat.interval.ms of both (default 2000)
  --replication-factor N         replication factor of the bench topics (default 1)
  --records N                    records per throughput run (default 200000)
  --record-bytes N               record size in bytes (default 1024)
  --rate N                       records per second for the latency run (default 5000)
  --latency-seconds N            length of each measured latency run (default 10)
  --warmup-seconds N             records sent at the rate before each latency run, not counted (default 2)
  --latency-runs N               latency runs, reported one by one and by their median (default 3)
  --latency-clients split|shared producer and consumer in two processes (split, default) or both in
                                 the bench's own process (shared: each client's work delays the other)
  --latency-only                 skip the produce and fetch throughput runs
  --throughput-only              skip the latency runs (e.g. to profile a broker under throughput load)
  --pid PID                      a local broker process whose resident memory and CPU time to report
  --format text|json             output format (default text)
`;

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new UsageError(`--${name} must be a positive integer, got '${text}'`);
  }
  return value;
}

function nonNegativeInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new UsageError(`--${name} must be a non-negative integer, got '${text}'`);
  }
  return value;
}

function latencyClients(text: string | undefined): LatencyClients {
  if (text === 'split' || text === 'shared') return text;
  throw new UsageError(`--latency-clients must be split or shared, got '${text}'`);
}

/** Runs a throughput load and adds the broker's CPU time over it (client set-up included). */
async function withBrokerCpu(
  pid: number | undefined,
  run: () => Promise<ThroughputResult>,
): Promise<ThroughputResult> {
  const before = pid === undefined ? undefined : processCpuMs(pid);
  const result = await run();
  const after = pid === undefined ? undefined : processCpuMs(pid);
  return {
    ...result,
    brokerCpuMs: before === undefined || after === undefined ? undefined : after - before,
  };
}

export async function runBench(
  target: LoadTarget,
  options: BenchOptions,
  broker: BrokerProbe = {},
): Promise<BenchReport> {
  const pid = broker.pid;
  const residentBytesIdle = pid === undefined ? undefined : await residentBytes(pid);
  const produce: ThroughputResult[] = [];
  const fetch: ThroughputResult[] = [];
  for (const partitions of options.latencyOnly ? [] : [1, 6]) {
    for (const acks of [1, -1]) {
      await withTopic(target, partitions, async (topic) => {
        const load = { partitions, acks, records: options.records, recordBytes: options.recordBytes };
        produce.push(await withBrokerCpu(pid, () => measureProduce(target, topic, load)));
        // Fetch once per partition count: the acks=-1 topic holds the same data.
        if (acks === 1) fetch.push(await withBrokerCpu(pid, () => measureFetch(target, topic, load)));
      });
    }
  }
  const latency: LatencyResult[] = [];
  for (let run = 0; run < options.latencyRuns; run++) {
    latency.push(
      await withTopic(target, 1, (topic) =>
        measureEndToEndLatency(
          target.bootstrapServer,
          topic,
          {
            ratePerSecond: options.ratePerSecond,
            seconds: options.latencySeconds,
            recordBytes: options.recordBytes,
            warmupSeconds: options.warmupSeconds,
            clients: options.latencyClients,
          },
          broker,
        ),
      ),
    );
  }
  const residentBytesAfterLoad = pid === undefined ? undefined : await residentBytes(pid);
  return {
    bootstrapServer: target.bootstrapServer,
    produce,
    fetch,
    latency,
    residentBytesIdle,
    residentBytesAfterLoad,
  };
}

function formatThroughput(kind: string, result: ThroughputResult): string {
  const acks = kind === 'fetch' ? '' : ` acks=${String(result.acks).padEnd(2)}`;
  return (
    `${kind.padEnd(7)} partitions=${result.partitions}${acks} ` +
    `${result.recordsPerSecond.toFixed(0).padStart(8)} records/s ` +
    `${result.megabytesPerSecond.toFixed(1).padStart(7)} MB/s  (${result.records} x ${result.recordBytes} B in ${result.seconds.toFixed(2)} s)` +
    (result.brokerCpuMs === undefined ? '' : `  broker CPU ${result.brokerCpuMs.toFixed(0)} ms`)
  );
}

/** The median of one figure over the latency runs (the runs differ mostly by what else the machine did). */
export function medianOf(runs: readonly LatencyResult[], pick: (run: LatencyResult) => number): number {
  return median(runs.map(pick));
}

const ms = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : `${value.toFixed(2)} ms`;

function formatLoopDelay(delay: LoopDelaySummary | undefined): string {
  return delay === undefined ? 'n/a' : `p99 ${ms(delay.p99Ms)} max ${ms(delay.maxMs)}`;
}

function formatMachine(load: MachineLoad): string {
  const pressure = load.cpuPressureSome10s === undefined ? 'n/a' : `${load.cpuPressureSome10s.toFixed(0)}%`;
  return `load ${load.loadAverage1m.toFixed(2)} cpu-pressure ${pressure}`;
}

export function formatLatency(l: LatencyResult, index: number): string[] {
  const cpu =
    l.brokerCpuMs === undefined
      ? 'n/a'
      : `${l.brokerCpuMs.toFixed(0)} ms (${((l.brokerCpuMs / (l.seconds * 1000)) * 100).toFixed(0)}% of a core)`;
  return [
    `e2e #${index + 1}  p50 ${ms(l.p50Ms)}  p99 ${ms(l.p99Ms)}  p99.9 ${ms(l.p999Ms)}  max ${ms(l.maxMs)}  ` +
      `(${l.count} of ${l.sent} records${l.failed > 0 ? `, ${l.failed} sends failed` : ''})`,
    `        broker: event-loop delay ${formatLoopDelay(l.brokerLoopDelay)}, CPU ${cpu}`,
    `        clients: producer loop delay ${formatLoopDelay(l.producerLoopDelay)}, consumer loop delay ${formatLoopDelay(l.consumerLoopDelay)}`,
    `        machine: before ${formatMachine(l.machineBefore)}, after ${formatMachine(l.machineAfter)}`,
  ];
}

export function formatReport(report: BenchReport): string {
  const lines = [`kstack bench against ${report.bootstrapServer}`];
  for (const result of report.produce) lines.push(formatThroughput('produce', result));
  for (const result of report.fetch) lines.push(formatThroughput('fetch', result));
  const first = report.latency[0];
  if (first !== undefined) {
    const clients =
      first.clients === 'split'
        ? 'producer and consumer in separate processes'
        : 'producer and consumer in one process';
    lines.push(
      `e2e     ${first.ratePerSecond} records/s (acks=1, ${first.seconds} s measured after ${first.warmupSeconds} s warm-up, ${clients}); ` +
        'loop delay = how late a 5 ms timer fires; cpu-pressure = share of the last 10 s some task waited for a CPU',
    );
    report.latency.forEach((run, index) => {
      lines.push(...formatLatency(run, index));
    });
    if (report.latency.length > 1) {
      lines.push(
        `e2e median of ${report.latency.length} runs: p50 ${ms(medianOf(report.latency, (l) => l.p50Ms))}, ` +
          `p99 ${ms(medianOf(report.latency, (l) => l.p99Ms))}, p99.9 ${ms(medianOf(report.latency, (l) => l.p999Ms))}`,
      );
    }
  }
  const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`);
  if (report.residentBytesIdle !== undefined || report.residentBytesAfterLoad !== undefined) {
    lines.push(
      `rss     idle ${mb(report.residentBytesIdle)}, after load ${mb(report.residentBytesAfterLoad)}`,
    );
  }
  return lines.join('\n');
}

export const command: Command = {
  summary: 'throughput and end-to-end latency percentiles against any cluster',
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        'bootstrap-server': { type: 'string' },
        'replication-factor': { type: 'string' },
        records: { type: 'string' },
        'record-bytes': { type: 'string' },
        rate: { type: 'string' },
        'latency-seconds': { type: 'string' },
        'warmup-seconds': { type: 'string' },
        'latency-runs': { type: 'string' },
        'latency-clients': { type: 'string', default: 'split' },
        'latency-only': { type: 'boolean' },
        'throughput-only': { type: 'boolean' },
        pid: { type: 'string' },
        format: { type: 'string', default: 'text' },
        compare: { type: 'boolean' },
        'base-port': { type: 'string' },
        brokers: { type: 'string' },
        'session-timeout-ms': { type: 'string' },
        'heartbeat-interval-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const bootstrapServer = values['bootstrap-server'];
    if ((bootstrapServer === undefined) === (values.compare !== true)) {
      throw new UsageError(`give either --bootstrap-server or --compare\n\n${HELP}`);
    }
    if (values.format !== 'text' && values.format !== 'json') {
      throw new UsageError(`--format must be text or json, got '${values.format}'`);
    }
    const options: BenchOptions = {
      records: positiveInteger('records', values.records, 200_000),
      recordBytes: positiveInteger('record-bytes', values['record-bytes'], 1024),
      ratePerSecond: positiveInteger('rate', values.rate, 5000),
      latencySeconds: positiveInteger('latency-seconds', values['latency-seconds'], 10),
      warmupSeconds: nonNegativeInteger('warmup-seconds', values['warmup-seconds'], 2),
      latencyRuns:
        values['throughput-only'] === true ? 0 : positiveInteger('latency-runs', values['latency-runs'], 3),
      latencyClients: latencyClients(values['latency-clients']),
      latencyOnly: values['latency-only'] === true,
    };
    if (options.latencyOnly && options.latencyRuns === 0) {
      throw new UsageError('--latency-only and --throughput-only leave nothing to measure');
    }
    if (options.recordBytes < STAMP_BYTES) {
      throw new UsageError(`--record-bytes must be at least ${STAMP_BYTES} (the latency stamp)`);
    }
    const brokers = positiveInteger('brokers', values.brokers, 1);
    if (brokers !== 1 && brokers !== 3)
      throw new UsageError(`--brokers must be 1 or 3, got '${values.brokers}'`);
    if (brokers === 3 && values.compare !== true) {
      throw new UsageError(
        '--brokers 3 goes with --compare (against any cluster, give its --bootstrap-server)',
      );
    }
    if (brokers === 3) {
      const cluster = await import('./cluster.ts');
      const clusterOptions = {
        ...options,
        basePort: positiveInteger('base-port', values['base-port'], 23810),
        sessionTimeoutMs: positiveInteger(
          'session-timeout-ms',
          values['session-timeout-ms'],
          cluster.SESSION_TIMEOUT_MS_DEFAULT,
        ),
        heartbeatIntervalMs: positiveInteger(
          'heartbeat-interval-ms',
          values['heartbeat-interval-ms'],
          cluster.HEARTBEAT_INTERVAL_MS_DEFAULT,
        ),
      };
      if (clusterOptions.heartbeatIntervalMs >= clusterOptions.sessionTimeoutMs) {
        throw new UsageError('--heartbeat-interval-ms must be below --session-timeout-ms');
      }
      const reports = await cluster.runClusterComparison(clusterOptions, (line) =>
        process.stderr.write(`kstack bench: ${line}\n`),
      );
      process.stdout.write(
        values.format === 'json'
          ? `${JSON.stringify(reports, null, 2)}\n`
          : `${cluster.formatClusterComparison(reports, clusterOptions)}\n`,
      );
      return EXIT_OK;
    }
    if (bootstrapServer === undefined) {
      const { runComparison, formatComparison } = await import('./compare.ts');
      const entries = await runComparison(options, positiveInteger('base-port', values['base-port'], 19800));
      process.stdout.write(
        values.format === 'json' ? `${JSON.stringify(entries, null, 2)}\n` : `${formatComparison(entries)}\n`,
      );
      return EXIT_OK;
    }
    const target = {
      bootstrapServer,
      replicationFactor: positiveInteger('replication-factor', values['replication-factor'], 1),
    };
    const pid = values.pid === undefined ? undefined : positiveInteger('pid', values.pid, 0);
    try {
      const report = await runBench(target, options, { pid });
      process.stdout.write(
        values.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
      );
      return EXIT_OK;
    } catch (error) {
      process.stderr.write(
        `kstack bench: the load against ${bootstrapServer} failed: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
  },
};
