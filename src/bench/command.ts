/**
 * `kstack bench`: produce and fetch throughput and end-to-end latency against any
 * cluster. It reports numbers; it asserts nothing (benchmarks are not tests).
 */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  type LatencyResult,
  type LoadTarget,
  measureEndToEndLatency,
  measureFetch,
  measureProduce,
  type ThroughputResult,
  withTopic,
} from './load.ts';
import { residentBytes } from './stats.ts';

export interface BenchOptions {
  records: number;
  recordBytes: number;
  ratePerSecond: number;
  latencySeconds: number;
}

export interface BenchReport {
  bootstrapServer: string;
  produce: ThroughputResult[];
  fetch: ThroughputResult[];
  latency: LatencyResult;
  residentBytesIdle?: number | undefined;
  residentBytesAfterLoad?: number | undefined;
}

const HELP = `usage: kstack bench --bootstrap-server HOST:PORT [options]
       kstack bench --compare [--base-port P] [options]

  --bootstrap-server HOST:PORT   the cluster to load
  --compare                      start a kstack broker and an Apache Kafka reference broker (one node
                                 each, one after the other), load both, print the ratios
  --base-port P                  ports for --compare: kstack on P, Kafka on P+1 (default 19800)
  --replication-factor N         replication factor of the bench topics (default 1)
  --records N                    records per throughput run (default 200000)
  --record-bytes N               record size in bytes (default 1024)
  --rate N                       records per second for the latency run (default 5000)
  --latency-seconds N            length of the latency run (default 10)
  --pid PID                      a broker process whose resident memory to report
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

export async function runBench(
  target: LoadTarget,
  options: BenchOptions,
  pid?: number,
): Promise<BenchReport> {
  const residentBytesIdle = pid === undefined ? undefined : await residentBytes(pid);
  const produce: ThroughputResult[] = [];
  const fetch: ThroughputResult[] = [];
  for (const partitions of [1, 6]) {
    for (const acks of [1, -1]) {
      await withTopic(target, partitions, async (topic) => {
        const load = { partitions, acks, records: options.records, recordBytes: options.recordBytes };
        produce.push(await measureProduce(target, topic, load));
        // Fetch once per partition count: the acks=-1 topic holds the same data.
        if (acks === 1) fetch.push(await measureFetch(target, topic, load));
      });
    }
  }
  const latency = await withTopic(target, 1, (topic) =>
    measureEndToEndLatency(target, topic, {
      ratePerSecond: options.ratePerSecond,
      seconds: options.latencySeconds,
      recordBytes: options.recordBytes,
    }),
  );
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
    `${result.megabytesPerSecond.toFixed(1).padStart(7)} MB/s  (${result.records} x ${result.recordBytes} B in ${result.seconds.toFixed(2)} s)`
  );
}

export function formatReport(report: BenchReport): string {
  const lines = [`kstack bench against ${report.bootstrapServer}`];
  for (const result of report.produce) lines.push(formatThroughput('produce', result));
  for (const result of report.fetch) lines.push(formatThroughput('fetch', result));
  const l = report.latency;
  lines.push(
    `e2e     rate=${l.ratePerSecond}/s for ${l.seconds} s: p50 ${l.p50Ms.toFixed(2)} ms, ` +
      `p99 ${l.p99Ms.toFixed(2)} ms, p99.9 ${l.p999Ms.toFixed(2)} ms, max ${l.maxMs.toFixed(2)} ms (${l.count} records)`,
  );
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
        pid: { type: 'string' },
        format: { type: 'string', default: 'text' },
        compare: { type: 'boolean' },
        'base-port': { type: 'string' },
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
    };
    if (options.recordBytes < 16) throw new UsageError('--record-bytes must be at least 16');
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
      const report = await runBench(target, options, pid);
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
