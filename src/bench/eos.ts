/**
 * `node src/bench/eos.ts`: the exactly-once benchmarks of issue 13, kstack's three-node cluster
 * (`kstack up --brokers 3`) against the three-node Apache Kafka reference, started one after the
 * other on the same machine (never both at once), loaded alike by Kafka's own Java client and Kafka
 * Streams (src/bench/java/EosBench.java, one JVM per load):
 *
 * 1. transactional produce: transactions of 100 and of 1,000 records (RF 3, min ISR 2, acks=all as
 *    every transactional producer, --record-bytes each, spread over the topic's partitions);
 *    records/s, and commitTransaction's duration p50/p99 (after a flush, so the EndTxn round trip);
 * 2. Kafka Streams exactly_once_v2 end-to-end latency: a producer at a fixed rate stamping each
 *    record with its send time, a stateless Streams step (Streams' EOS defaults: commit.interval.ms
 *    100), a read_committed consumer noting now minus the send time: p50/p99/p99.9 and the rate
 *    reached.
 *
 * It reports numbers; it asserts nothing. Method: src/bench/README.md ("Exactly-once").
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaLibsDir, kafkaVersion, REFERENCE_DIR } from '../../reference/cluster.ts';
import {
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  type RunningCluster,
  SESSION_TIMEOUT_MS_DEFAULT,
  startKstackCluster,
  startReferenceCluster,
} from './cluster.ts';
import { type LoadTarget, withTopic } from './load.ts';
import { type MachineLoad, machineLoad } from './machine.ts';
import { type LatencySummary, median, summarizeLatencies } from './stats.ts';

/** kstack's nodes on P..P+2 (controllers P+50.., fault control P+10), Kafka's on P+20.. (controllers P+70..). */
export const EOS_BASE_PORT_DEFAULT = 27620;
const REPLICATION_FACTOR = 3;
/** Partitions of every bench topic: a transaction spans all three; Streams runs three tasks. */
const PARTITIONS = 3;
const SOURCE = join(import.meta.dirname, 'java', 'EosBench.java');
/** One JVM's limit on its whole run (a warm-up, its runs, the drain). */
const JVM_TIMEOUT_MS = 15 * 60_000;
/** Waiting for the Streams application to be RUNNING (its first rebalance, its internal topics). */
const STREAMS_RUNNING_TIMEOUT_MS = 180_000;
const STREAMS_CLOSE_TIMEOUT_MS = 60_000;
const STDERR_TAIL_CHARS = 8_000;
/**
 * What reference/cluster.ts sets on every reference node, given to kstack too so both clusters hold
 * the same internal topics (kstack up's default is Kafka's 50 offsets partitions: its followers
 * then fetch 45 more partitions) and groups start alike.
 */
const CLUSTER_OVERRIDES = { 'offsets.topic.num.partitions': '5', 'group.initial.rebalance.delay.ms': '0' };

export interface EosBenchOptions {
  basePort: number;
  targets: ('kstack' | 'reference')[];
  txnSizes: number[];
  /** Records per measured run of each transaction size (transactions = this / size). */
  txnRecords: number;
  /** Records of warm-up transactions before the measured runs (at least one transaction). */
  txnWarmupRecords: number;
  recordBytes: number;
  runs: number;
  rate: number;
  e2eSeconds: number;
  e2eWarmupSeconds: number;
  e2eRecordBytes: number;
}

const HELP = `usage: node src/bench/eos.ts [options]

Starts kstack's 3-node cluster, then the 3-node Apache Kafka reference, and loads each with the Java
client and Kafka Streams: transactional produce, and Kafka Streams exactly_once_v2 end-to-end latency.

  --base-port P            kstack on P..P+2 (controllers P+50.., fault control P+10), Kafka on P+20..P+22
                           (controllers P+70..) (default ${EOS_BASE_PORT_DEFAULT})
  --targets LIST           kstack,reference (default both, in that order)
  --txn-sizes LIST         records per transaction (default 100,1000)
  --txn-records N          records per measured run of each size (default 20000)
  --txn-warmup-records N   records of warm-up transactions, not measured (default 10000)
  --record-bytes N         transactional record size (default 1024)
  --runs N                 measured runs of each load (default 3)
  --rate N                 records/s into the Streams application (default 1000)
  --e2e-seconds N          length of each measured end-to-end run (default 20)
  --e2e-warmup-seconds N   records sent before each run, not counted (default 5)
  --e2e-record-bytes N     end-to-end record size, at least 9 (default 100)
`;

function positive(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  return value;
}

export function parseEosOptions(argv: readonly string[]): EosBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean' },
      'base-port': { type: 'string' },
      targets: { type: 'string' },
      'txn-sizes': { type: 'string' },
      'txn-records': { type: 'string' },
      'txn-warmup-records': { type: 'string' },
      'record-bytes': { type: 'string' },
      runs: { type: 'string' },
      rate: { type: 'string' },
      'e2e-seconds': { type: 'string' },
      'e2e-warmup-seconds': { type: 'string' },
      'e2e-record-bytes': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const targets = (values.targets ?? 'kstack,reference').split(',');
  for (const target of targets)
    if (target !== 'kstack' && target !== 'reference')
      throw new Error(`--targets: '${target}' is neither kstack nor reference`);
  const txnSizes = (values['txn-sizes'] ?? '100,1000')
    .split(',')
    .map((size) => positive('txn-sizes', size, 0));
  const txnRecords = positive('txn-records', values['txn-records'], 20_000);
  for (const size of txnSizes)
    if (txnRecords % size !== 0) throw new Error(`--txn-records ${txnRecords} is not a multiple of ${size}`);
  return {
    basePort: positive('base-port', values['base-port'], EOS_BASE_PORT_DEFAULT),
    targets: targets as EosBenchOptions['targets'],
    txnSizes,
    txnRecords,
    txnWarmupRecords: positive('txn-warmup-records', values['txn-warmup-records'], 10_000, 0),
    recordBytes: positive('record-bytes', values['record-bytes'], 1024),
    runs: positive('runs', values.runs, 3),
    rate: positive('rate', values.rate, 1000),
    e2eSeconds: positive('e2e-seconds', values['e2e-seconds'], 20),
    e2eWarmupSeconds: positive('e2e-warmup-seconds', values['e2e-warmup-seconds'], 5, 0),
    e2eRecordBytes: positive('e2e-record-bytes', values['e2e-record-bytes'], 100, 9),
  };
}

function streamsLibsDir(): string {
  return join(homedir(), '.cache', 'kstack', `kafka-streams-${kafkaVersion()}`, 'libs');
}

function classPath(): string {
  return `${kafkaLibsDir()}/*:${streamsLibsDir()}/*`;
}

/** Compiles EosBench once per source (cached in ~/.cache/kstack/eos-bench-java/<hash>). */
function compiled(): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const classes = join(homedir(), '.cache', 'kstack', 'eos-bench-java', hash);
  if (!existsSync(join(classes, 'EosBench.class'))) {
    if (!existsSync(streamsLibsDir()))
      throw new Error(
        `Kafka Streams is not installed in ${streamsLibsDir()}: run \`bash scripts/setup/60-streams.sh\``,
      );
    const tmp = `${classes}.tmp.${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    execFileSync('javac', ['-nowarn', '-d', tmp, '-cp', classPath(), SOURCE], { stdio: 'inherit' });
    rmSync(classes, { recursive: true, force: true });
    renameSync(tmp, classes);
  }
  return classes;
}

type JvmEvent = Record<string, unknown> & { event: string };

/** What is running now, stopped on SIGINT/SIGTERM so an interrupted bench leaves no JVM nor node. */
const liveJvms = new Set<BenchJvm>();
const liveClusters = new Set<RunningCluster>();
/** Data and state directories to remove then too. */
const liveDirs = new Set<string>();
let stopping = false;

function stopOnSignals(): void {
  const stop = async (signal: NodeJS.Signals) => {
    process.stderr.write(`eos bench: ${signal}: stopping the JVMs and the cluster\n`);
    // No JVM starts from here on (a load failing as its cluster stops would go on to the next).
    stopping = true;
    for (const jvm of liveJvms) jvm.kill();
    await Promise.allSettled([...liveClusters].map((cluster) => cluster.stop()));
    for (const jvm of liveJvms) jvm.kill();
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** One EosBench JVM: its JSON-line events, its stderr's tail, its exit. */
class BenchJvm {
  readonly events: JvmEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(args: readonly string[]) {
    if (stopping) throw new Error('the bench is stopping');
    const jvmArgs = [
      '-Xmx512m',
      `-Dlog4j2.configurationFile=${join(REFERENCE_DIR, 'tools-log4j2.properties')}`,
      '-cp',
      `${compiled()}:${classPath()}`,
      'EosBench',
      ...args,
    ];
    this.#child = spawn('java', jvmArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    liveJvms.add(this);
    let pending = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as JvmEvent);
      }
      this.#wake();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL_CHARS);
    });
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
        liveJvms.delete(this);
        this.#wake();
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** The first event that matches, waiting for it; fails on the JVM's exit or the timeout. */
  async waitFor(what: string, matches: (e: JvmEvent) => boolean, timeoutMs: number): Promise<JvmEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(matches);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`EosBench exited before ${what}: ${this.stderr}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`EosBench: no ${what} within ${timeoutMs} ms: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the exit (SIGKILL after timeoutMs); throws unless it exited 0. */
  async finished(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`EosBench exited ${code}: ${this.stderr}`);
  }

  closeStdin(): void {
    this.#child.stdin?.end();
  }

  kill(): void {
    if (this.running) this.#child.kill('SIGKILL');
  }
}

export interface TxnRun {
  recordsPerTxn: number;
  records: number;
  recordsPerSecond: number;
  commit: LatencySummary;
  flush: LatencySummary;
  commitMs: number[];
  machine: MachineLoad;
}

export interface E2eRun {
  rate: number;
  sent: number;
  received: number;
  sendErrors: number;
  drained: boolean;
  /** Measured records received per second, from the first measured send to the last arrival. */
  receivedPerSecond: number;
  latency: LatencySummary;
  machine: MachineLoad;
}

export interface EosReport {
  name: string;
  bootstrapServer: string;
  txn: TxnRun[];
  txnErrors: string[];
  commitIntervalMs: number | undefined;
  e2e: E2eRun[];
  e2eErrors: string[];
  machineBefore: MachineLoad;
  machineAfter: MachineLoad;
}

/** One JVM per transaction size: its warm-up, then `runs` measured runs. */
async function measureTxn(
  target: LoadTarget,
  options: EosBenchOptions,
  recordsPerTxn: number,
): Promise<TxnRun[]> {
  return withTopic(target, PARTITIONS, async (topic) => {
    const warmupTxns = Math.max(1, Math.ceil(options.txnWarmupRecords / recordsPerTxn));
    const jvm = new BenchJvm([
      'txn',
      target.bootstrapServer,
      topic,
      String(PARTITIONS),
      String(recordsPerTxn),
      String(warmupTxns),
      String(options.txnRecords / recordsPerTxn),
      String(options.runs),
      String(options.recordBytes),
    ]);
    const runs: TxnRun[] = [];
    try {
      for (let run = 1; run <= options.runs; run++) {
        const event = await jvm.waitFor(
          `txn run ${run}`,
          (e) => e.event === 'txnRun' && e.run === run,
          JVM_TIMEOUT_MS,
        );
        const commitMs = event.commitMs as number[];
        runs.push({
          recordsPerTxn,
          records: Number(event.records),
          recordsPerSecond: Number(event.records) / Number(event.seconds),
          commit: summarizeLatencies(commitMs),
          flush: summarizeLatencies(event.flushMs as number[]),
          commitMs,
          machine: machineLoad(),
        });
      }
      await jvm.finished(JVM_TIMEOUT_MS);
      return runs;
    } finally {
      jvm.kill();
    }
  });
}

/** One Streams JVM for all runs; one driver JVM per run. */
async function measureStreams(
  target: LoadTarget,
  options: EosBenchOptions,
  report: EosReport,
  progress: (line: string) => void,
): Promise<void> {
  await withTopic(target, PARTITIONS, (input) =>
    withTopic(target, PARTITIONS, async (output) => {
      const stateDir = mkdtempSync(join(tmpdir(), 'kstack-bench-eos-streams-'));
      liveDirs.add(stateDir);
      const appId = `kstack-bench-eos-${input.slice(-8)}`;
      const streams = new BenchJvm(['streams', target.bootstrapServer, appId, input, output, stateDir]);
      try {
        const config = await streams.waitFor(
          'its config',
          (e) => e.event === 'streamsConfig',
          STREAMS_RUNNING_TIMEOUT_MS,
        );
        report.commitIntervalMs = Number(config.commitIntervalMs);
        await streams.waitFor(
          'state RUNNING',
          (e) => e.event === 'streamsState' && e.state === 'RUNNING',
          STREAMS_RUNNING_TIMEOUT_MS,
        );
        progress(`${report.name}: Streams application running`);
        for (let run = 1; run <= options.runs; run++) {
          try {
            report.e2e.push(await driveOnce(target, options, input, output));
          } catch (error) {
            report.e2eErrors.push((error as Error).message);
            progress(`${report.name}: e2e run ${run} failed: ${(error as Error).message.slice(0, 2000)}`);
          }
        }
        streams.closeStdin();
        await streams.finished(STREAMS_CLOSE_TIMEOUT_MS).catch((error: unknown) => {
          progress(
            `${report.name}: the Streams application did not close cleanly: ${String(error).slice(0, 500)}`,
          );
        });
      } finally {
        streams.kill();
        rmSync(stateDir, { recursive: true, force: true });
        liveDirs.delete(stateDir);
      }
    }),
  );
}

async function driveOnce(
  target: LoadTarget,
  options: EosBenchOptions,
  input: string,
  output: string,
): Promise<E2eRun> {
  const driver = new BenchJvm([
    'driver',
    target.bootstrapServer,
    input,
    output,
    String(PARTITIONS),
    String(options.rate),
    String(options.e2eWarmupSeconds),
    String(options.e2eSeconds),
    String(options.e2eRecordBytes),
  ]);
  try {
    await driver.finished(JVM_TIMEOUT_MS);
    const event = driver.events.find((e) => e.event === 'e2eRun');
    if (event === undefined) throw new Error(`the driver reported no run: ${driver.stderr}`);
    const received = Number(event.received);
    return {
      rate: options.rate,
      sent: Number(event.sent),
      received,
      sendErrors: Number(event.sendErrors),
      drained: event.drained === true,
      receivedPerSecond: received === 0 ? 0 : received / Number(event.receiveSeconds),
      latency: summarizeLatencies(event.latencyMs as number[]),
      machine: machineLoad(),
    };
  } finally {
    driver.kill();
  }
}

async function benchOne(
  name: 'kstack' | 'reference',
  options: EosBenchOptions,
  progress: (line: string) => void,
): Promise<EosReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-eos-'));
  liveDirs.add(dataDir);
  const machineBefore = machineLoad();
  const start = name === 'kstack' ? startKstackCluster : startReferenceCluster;
  const startOptions = {
    basePort: options.basePort,
    sessionTimeoutMs: SESSION_TIMEOUT_MS_DEFAULT,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS_DEFAULT,
    overrides: CLUSTER_OVERRIDES,
  };
  let cluster: RunningCluster | undefined;
  try {
    cluster = await start(startOptions, dataDir);
    liveClusters.add(cluster);
    progress(`${cluster.name}: started (3 nodes)`);
    const report: EosReport = {
      name: cluster.name,
      bootstrapServer: cluster.bootstrapServer,
      txn: [],
      txnErrors: [],
      commitIntervalMs: undefined,
      e2e: [],
      e2eErrors: [],
      machineBefore,
      machineAfter: machineBefore,
    };
    const target: LoadTarget = {
      bootstrapServer: cluster.bootstrapServer,
      replicationFactor: REPLICATION_FACTOR,
    };
    for (const size of options.txnSizes) {
      try {
        report.txn.push(...(await measureTxn(target, options, size)));
        progress(formatTxn(report.txn.filter((run) => run.recordsPerTxn === size)).join('\n'));
      } catch (error) {
        report.txnErrors.push(`${size} records/txn: ${(error as Error).message}`);
        progress(
          `${cluster.name}: transactions of ${size} failed: ${(error as Error).message.slice(0, 2000)}`,
        );
      }
    }
    await measureStreams(target, options, report, progress);
    report.machineAfter = machineLoad();
    return report;
  } finally {
    if (cluster !== undefined) {
      await cluster.stop();
      liveClusters.delete(cluster);
    }
    rmSync(dataDir, { recursive: true, force: true });
    liveDirs.delete(dataDir);
  }
}

const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

function ratio(ours: number | undefined, theirs: number | undefined): string {
  return ours === undefined || theirs === undefined || !(theirs > 0) || Number.isNaN(ours)
    ? 'n/a'
    : (ours / theirs).toFixed(2);
}

const loadOf = (machine: MachineLoad) =>
  `load ${fixed(machine.loadAverage1m, 1)}, cpu pressure ${fixed(machine.cpuPressureSome10s, 0)} %`;

/** Per size: the median of the runs' records/s; commit p50/p99 over every measured commit. */
export function txnSummary(runs: readonly TxnRun[], size: number) {
  const ofSize = runs.filter((run) => run.recordsPerTxn === size);
  return {
    runs: ofSize.length,
    recordsPerSecond: median(ofSize.map((run) => run.recordsPerSecond)),
    commit: summarizeLatencies(ofSize.flatMap((run) => run.commitMs)),
  };
}

function formatTxn(runs: readonly TxnRun[]): string[] {
  return runs.map(
    (run, index) =>
      `txn produce ${String(run.recordsPerTxn).padStart(4)}/txn #${runs.slice(0, index).filter((r) => r.recordsPerTxn === run.recordsPerTxn).length + 1}: ${run.recordsPerSecond.toFixed(0).padStart(7)} records/s  ` +
      `commit p50 ${fixed(run.commit.p50Ms)} p99 ${fixed(run.commit.p99Ms)} max ${fixed(run.commit.maxMs)} ms  ` +
      `flush p50 ${fixed(run.flush.p50Ms)} p99 ${fixed(run.flush.p99Ms)} ms  (${run.commit.count} txns; ${loadOf(run.machine)})`,
  );
}

function formatOne(report: EosReport, options: EosBenchOptions): string[] {
  const lines = [
    `== ${report.name} (3 nodes, bootstrap ${report.bootstrapServer})`,
    ...formatTxn(report.txn),
  ];
  for (const size of options.txnSizes) {
    const summary = txnSummary(report.txn, size);
    if (summary.runs > 0)
      lines.push(
        `txn produce ${size}/txn: median ${summary.recordsPerSecond.toFixed(0)} records/s; commit over ${summary.commit.count} txns p50 ${fixed(summary.commit.p50Ms)} p99 ${fixed(summary.commit.p99Ms)} ms`,
      );
  }
  for (const error of report.txnErrors) lines.push(`txn produce failed: ${error.slice(0, 500)}`);
  report.e2e.forEach((run, index) => {
    lines.push(
      `streams eos e2e #${index + 1} at ${run.rate}/s: p50 ${fixed(run.latency.p50Ms)} p99 ${fixed(run.latency.p99Ms)} p99.9 ${fixed(run.latency.p999Ms)} max ${fixed(run.latency.maxMs)} ms; ` +
        `reached ${run.receivedPerSecond.toFixed(0)} records/s (${run.received} of ${run.sent}${run.drained ? '' : ', NOT all arrived'}${run.sendErrors > 0 ? `, ${run.sendErrors} send errors` : ''}; ${loadOf(run.machine)})`,
    );
  });
  for (const error of report.e2eErrors) lines.push(`streams eos e2e run failed: ${error.slice(0, 500)}`);
  lines.push(
    `streams commit.interval.ms ${report.commitIntervalMs ?? 'n/a'}; machine before: ${loadOf(report.machineBefore)}; after: ${loadOf(report.machineAfter)}`,
  );
  return lines;
}

const e2eMedian = (report: EosReport, pick: (run: E2eRun) => number): number => median(report.e2e.map(pick));

export function formatEos(
  outcomes: readonly (EosReport | { name: string; error: string })[],
  options: EosBenchOptions,
): string {
  const lines = [
    `EOS bench: Java client and Kafka Streams ${kafkaVersion()}; topics of ${PARTITIONS} partitions, RF ${REPLICATION_FACTOR}, min ISR 2; ` +
      `txn records ${options.recordBytes} B, ${options.txnRecords} records per run; e2e records ${options.e2eRecordBytes} B at ${options.rate}/s for ${options.e2eSeconds} s; ${options.runs} runs`,
  ];
  for (const outcome of outcomes)
    lines.push(
      ...('error' in outcome
        ? [`== ${outcome.name}: not measured: ${outcome.error}`]
        : formatOne(outcome, options)),
      '',
    );
  const [kstack, kafka] = outcomes;
  if (kstack === undefined || kafka === undefined || 'error' in kstack || 'error' in kafka)
    return lines.join('\n');
  lines.push(
    '== ratios kstack / Apache Kafka (throughput: higher is better; latency: lower is better; medians of runs)',
  );
  for (const size of options.txnSizes) {
    const ours = txnSummary(kstack.txn, size);
    const theirs = txnSummary(kafka.txn, size);
    lines.push(
      `txn produce ${size}/txn records/s: ${fixed(ours.recordsPerSecond, 0)} / ${fixed(theirs.recordsPerSecond, 0)} = ${ratio(ours.recordsPerSecond, theirs.recordsPerSecond)}`,
      `txn commit ${size}/txn p50: ${fixed(ours.commit.p50Ms)} / ${fixed(theirs.commit.p50Ms)} ms = ${ratio(ours.commit.p50Ms, theirs.commit.p50Ms)}`,
      `txn commit ${size}/txn p99: ${fixed(ours.commit.p99Ms)} / ${fixed(theirs.commit.p99Ms)} ms = ${ratio(ours.commit.p99Ms, theirs.commit.p99Ms)}`,
    );
  }
  for (const [label, pick] of [
    ['p50', (run: E2eRun) => run.latency.p50Ms],
    ['p99', (run: E2eRun) => run.latency.p99Ms],
    ['p99.9', (run: E2eRun) => run.latency.p999Ms],
    ['reached records/s', (run: E2eRun) => run.receivedPerSecond],
  ] as const) {
    const ours = e2eMedian(kstack, pick);
    const theirs = e2eMedian(kafka, pick);
    lines.push(`streams eos e2e ${label}: ${fixed(ours)} / ${fixed(theirs)} = ${ratio(ours, theirs)}`);
  }
  return lines.join('\n');
}

export async function runEosBench(
  options: EosBenchOptions,
  progress: (line: string) => void,
): Promise<(EosReport | { name: string; error: string })[]> {
  const outcomes: (EosReport | { name: string; error: string })[] = [];
  for (const name of options.targets) {
    // One cluster failing (not ready in time on a loaded machine) leaves the other's figures.
    try {
      const report = await benchOne(name, options, progress);
      progress(formatOne(report, options).join('\n'));
      outcomes.push(report);
    } catch (error) {
      progress(`${name}: failed: ${(error as Error).message}`);
      outcomes.push({ name, error: (error as Error).message });
    }
  }
  return outcomes;
}

if (import.meta.main) {
  let options: EosBenchOptions | 'help';
  try {
    options = parseEosOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${HELP}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(HELP);
  } else {
    stopOnSignals();
    const progress = (line: string) =>
      process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    const outcomes = await runEosBench(options, progress);
    process.stdout.write(`${formatEos(outcomes, options)}\n`);
  }
}
