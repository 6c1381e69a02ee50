/**
 * `node src/bench/eos.ts`: the exactly-once benchmarks of issue 13, kstack's three-node cluster
 * (`kstack up --brokers 3`) against the three-node Apache Kafka reference, both running on the same
 * machine but only one under load at a time: the engines' runs alternate ABBA (kstack, Kafka, Kafka,
 * kstack, ...) so that both see the same background, and every run (a phase) reports the load average
 * and the CPU time each engine's nodes, the clients and the rest of the machine used in it; ratios
 * are per pair of adjacent phases, and their median. Loaded alike by Kafka's own Java client and
 * Kafka Streams (src/bench/java/EosBench.java, one JVM per load and engine):
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
import { availableParallelism, homedir, tmpdir } from 'node:os';
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
import { type MachineLoad, machineBusyCpuMs, machineLoad, processCpuMs } from './machine.ts';
import { type LatencySummary, median, summarizeLatencies } from './stats.ts';

/** kstack's nodes on P..P+2 (controllers P+50.., fault control P+10), Kafka's on P+20.. (controllers P+70..). */
export const EOS_BASE_PORT_DEFAULT = 27620;
const REPLICATION_FACTOR = 3;
/**
 * Warm-up records per producer JVM and transaction size: with 10,000 the reference's brokers were still
 * warming up through the measured runs (100-record transactions: 497, 671, 784, 898 records/s and their
 * nodes' CPU 33, 26, 19, 14 s over its four runs, session 15); with 40,000 flat (1,082-1,239 records/s).
 */
const TXN_WARMUP_RECORDS_DEFAULT = 40_000;
/** Partitions of every bench topic: a transaction spans all three; Streams runs three tasks. */
const PARTITIONS = 3;
const SOURCE = join(import.meta.dirname, 'java', 'EosBench.java');
/** One JVM's limit on its whole run (a warm-up, its runs, the drain). */
const JVM_TIMEOUT_MS = 15 * 60_000;
/** Waiting for the Streams application to be RUNNING (its first rebalance, its internal topics). */
const STREAMS_RUNNING_TIMEOUT_MS = 180_000;
const STREAMS_CLOSE_TIMEOUT_MS = 60_000;
const STDERR_TAIL_CHARS = 8_000;
/** The machine's CPUs: a phase's busy time is out of this many × its seconds. */
const CPUS = availableParallelism();
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
  /** The Streams warm-up ends once every arrival of e2eDrainedSeconds consecutive seconds came within this. */
  e2eDrainedLagMs: number;
  e2eDrainedSeconds: number;
  /** A warm-up not drained by then fails the run (the driver says each second's largest lag). */
  e2eDrainTimeoutSeconds: number;
}

const HELP = `usage: node src/bench/eos.ts [options]

Starts kstack's 3-node cluster, then the 3-node Apache Kafka reference, and loads each with the Java
client and Kafka Streams: transactional produce, and Kafka Streams exactly_once_v2 end-to-end latency.

  --base-port P            kstack on P..P+2 (controllers P+50.., fault control P+10), Kafka on P+20..P+22
                           (controllers P+70..) (default ${EOS_BASE_PORT_DEFAULT})
  --targets LIST           kstack,reference (default both; the first one runs first: ABBA)
  --txn-sizes LIST         records per transaction (default 100,1000)
  --txn-records N          records per measured run of each size (default 20000)
  --txn-warmup-records N   records of warm-up transactions, not measured (default 40000)
  --record-bytes N         transactional record size (default 1024)
  --runs N                 measured runs of each load on each engine, alternating ABBA (default 4)
  --rate N                 records/s into the Streams application (default 1000)
  --e2e-seconds N          length of each measured end-to-end run (default 20)
  --e2e-warmup-seconds N   records sent before each run, not counted, at least (default 5)
  --e2e-record-bytes N     end-to-end record size, at least 9 (default 100)
  --e2e-drained-lag-ms N   the warm-up goes on until every record arriving in --e2e-drained-seconds
  --e2e-drained-seconds N  consecutive seconds came within N ms of its send (defaults 1000 and 3)
  --e2e-drain-timeout-seconds N
                           a warm-up not drained by then fails that run (default 180)
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
      'e2e-drained-lag-ms': { type: 'string' },
      'e2e-drained-seconds': { type: 'string' },
      'e2e-drain-timeout-seconds': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const targets = (values.targets ?? 'kstack,reference').split(',');
  for (const target of targets)
    if (target !== 'kstack' && target !== 'reference')
      throw new Error(`--targets: '${target}' is neither kstack nor reference`);
  if (new Set(targets).size !== targets.length)
    throw new Error(`--targets: '${values.targets}' names one twice`);
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
    txnWarmupRecords: positive(
      'txn-warmup-records',
      values['txn-warmup-records'],
      TXN_WARMUP_RECORDS_DEFAULT,
      0,
    ),
    recordBytes: positive('record-bytes', values['record-bytes'], 1024),
    runs: positive('runs', values.runs, 4),
    rate: positive('rate', values.rate, 1000),
    e2eSeconds: positive('e2e-seconds', values['e2e-seconds'], 20),
    e2eWarmupSeconds: positive('e2e-warmup-seconds', values['e2e-warmup-seconds'], 5, 0),
    e2eRecordBytes: positive('e2e-record-bytes', values['e2e-record-bytes'], 100, 9),
    e2eDrainedLagMs: positive('e2e-drained-lag-ms', values['e2e-drained-lag-ms'], 1000),
    e2eDrainedSeconds: positive('e2e-drained-seconds', values['e2e-drained-seconds'], 3),
    e2eDrainTimeoutSeconds: positive('e2e-drain-timeout-seconds', values['e2e-drain-timeout-seconds'], 180),
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

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** One line to the JVM (a txn JVM runs one measured run per line). */
  send(line: string): void {
    this.#child.stdin?.write(`${line}\n`);
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

export type Engine = 'kstack' | 'reference';

export interface TxnRun {
  recordsPerTxn: number;
  records: number;
  recordsPerSecond: number;
  commit: LatencySummary;
  flush: LatencySummary;
  commitMs: number[];
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
  /** The driver's warm-up: how long it took to drain, and each second's largest lag (-1: none arrived). */
  warmupSeconds: number;
  warmupWindowsMaxLagMs: number[];
}

/** What one phase (one engine's measured run of one load) used, and what the rest of the machine did meanwhile. */
export interface PhaseUsage {
  /** UTC, HH:MM:SS. */
  startedAt: string;
  seconds: number;
  loadBefore: MachineLoad;
  loadAfter: MachineLoad;
  /** CPU time of each running cluster's node processes in the phase: the measured one's and the idle one's. */
  nodesCpuMs: Partial<Record<Engine, number>>;
  /** The phase's client JVMs: the transactional producer; or the Streams application and the driver. */
  clientsCpuMs: number | undefined;
  /** The whole machine's busy CPU time (at most 2 cores × seconds here). */
  machineCpuMs: number | undefined;
}

/** One engine's measured run of one load: its figures, or why there are none. */
export interface Phase<R> {
  engine: Engine;
  /** 1.. per engine and load. */
  run: number;
  result?: R;
  usage?: PhaseUsage;
  error?: string;
}

export interface ClusterOutcome {
  engine: Engine;
  name: string;
  bootstrapServer?: string;
  error?: string;
}

export interface EosReport {
  clusters: ClusterOutcome[];
  /** Per transaction size, its phases in the order they ran. */
  txn: { size: number; phases: Phase<TxnRun>[]; error?: string }[];
  e2e: Phase<E2eRun>[];
  e2eError?: string;
  commitIntervalMs: number | undefined;
  machineBefore: MachineLoad;
  machineAfter: MachineLoad;
}

/** A started cluster, its node processes (for their CPU time) and the bench's handle on it. */
interface LiveCluster {
  engine: Engine;
  cluster: RunningCluster;
  target: LoadTarget;
  pids: number[];
  dataDir: string;
}

/**
 * The engines' turns for `runs` runs each: with two, ABBA (A B, B A, A B, ...), so that each pair of
 * adjacent phases holds one run of each and each engine goes first as often (with an even `runs`);
 * with one, its runs in a row.
 */
export function phaseOrder(engines: readonly Engine[], runs: number): Engine[] {
  const order: Engine[] = [];
  for (let pair = 0; pair < runs; pair++) order.push(...(pair % 2 === 0 ? engines : [...engines].reverse()));
  return order;
}

export interface PairRatio {
  kstack: number;
  reference: number;
  ratio: number;
}

/**
 * kstack / reference for each pair of adjacent phases (phases 1-2, 3-4, ...: one run of each engine
 * under the same background), undefined where a pair lacks a figure, and the median of the others.
 */
export function pairRatios<R>(
  phases: readonly Phase<R>[],
  pick: (phase: Phase<R> & { result: R }) => number | undefined,
): { pairs: (PairRatio | undefined)[]; median: number } {
  const pairs: (PairRatio | undefined)[] = [];
  const figure = (engine: Engine, pair: readonly (Phase<R> | undefined)[]) => {
    const phase = pair.find((one) => one?.engine === engine);
    return phase?.result === undefined ? undefined : pick(phase as Phase<R> & { result: R });
  };
  for (let index = 0; index + 1 < phases.length; index += 2) {
    const pair = [phases[index], phases[index + 1]];
    const kstack = figure('kstack', pair);
    const reference = figure('reference', pair);
    pairs.push(
      kstack !== undefined && reference !== undefined && Number.isFinite(kstack) && reference > 0
        ? { kstack, reference, ratio: kstack / reference }
        : undefined,
    );
  }
  return { pairs, median: median(pairs.flatMap((pair) => (pair === undefined ? [] : [pair.ratio]))) };
}

/** Per size: the median of the runs' records/s; commit p50/p99 over every measured commit. */
export function txnSummary(runs: readonly TxnRun[], size: number) {
  const ofSize = runs.filter((run) => run.recordsPerTxn === size);
  return {
    runs: ofSize.length,
    recordsPerSecond: median(ofSize.map((run) => run.recordsPerSecond)),
    commit: summarizeLatencies(ofSize.flatMap((run) => run.commitMs)),
  };
}

interface UsageMark {
  at: number;
  wall: Date;
  load: MachineLoad;
  machineCpuMs: number | undefined;
  nodesCpuMs: Map<Engine, number | undefined>;
  clientsCpuMs: number | undefined;
}

/** Sum of the processes' CPU time; undefined if one cannot be read (gone, or not Linux). */
function cpuOf(pids: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const ms = pid === undefined ? undefined : processCpuMs(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
}

function markUsage(clusters: readonly LiveCluster[], clientPids: readonly (number | undefined)[]): UsageMark {
  return {
    at: performance.now(),
    wall: new Date(),
    load: machineLoad(),
    machineCpuMs: machineBusyCpuMs(),
    nodesCpuMs: new Map(clusters.map((live) => [live.engine, cpuOf(live.pids)] as const)),
    clientsCpuMs: cpuOf(clientPids),
  };
}

const difference = (before: number | undefined, after: number | undefined) =>
  before === undefined || after === undefined ? undefined : after - before;

function usageBetween(start: UsageMark, end: UsageMark): PhaseUsage {
  const nodesCpuMs: Partial<Record<Engine, number>> = {};
  for (const [engine, before] of start.nodesCpuMs) {
    const used = difference(before, end.nodesCpuMs.get(engine));
    if (used !== undefined) nodesCpuMs[engine] = used;
  }
  return {
    startedAt: start.wall.toISOString().slice(11, 19),
    seconds: (end.at - start.at) / 1000,
    loadBefore: start.load,
    loadAfter: end.load,
    nodesCpuMs,
    clientsCpuMs: difference(start.clientsCpuMs, end.clientsCpuMs),
    machineCpuMs: difference(start.machineCpuMs, end.machineCpuMs),
  };
}

/**
 * Opens one session per cluster (nested: each is closed after the body, in reverse order, even when
 * it fails) and runs the body with them; a session that fails to open is passed as its Error, so the
 * other engine is still measured.
 */
async function withSessions<S>(
  clusters: readonly LiveCluster[],
  open: (live: LiveCluster, use: (session: S) => Promise<void>) => Promise<void>,
  body: (sessions: ReadonlyMap<Engine, S | Error>) => Promise<void>,
  sessions: ReadonlyMap<Engine, S | Error> = new Map(),
): Promise<void> {
  const [first, ...rest] = clusters;
  if (first === undefined) return body(sessions);
  let entered = false;
  try {
    await open(first, (session) => {
      entered = true;
      return withSessions(rest, open, body, new Map(sessions).set(first.engine, session));
    });
  } catch (error) {
    if (entered) throw error;
    await withSessions(rest, open, body, new Map(sessions).set(first.engine, error as Error));
  }
}

/** Runs one load's phases in ABBA order, one engine under load at a time; a failed phase is kept as its error. */
async function runPhases<S, R>(
  clusters: readonly LiveCluster[],
  sessions: ReadonlyMap<Engine, S | Error>,
  runs: number,
  measure: (live: LiveCluster, session: S, run: number) => Promise<{ result: R; usage: PhaseUsage }>,
  report: (phase: Phase<R>) => void,
): Promise<Phase<R>[]> {
  const phases: Phase<R>[] = [];
  const runsSoFar = new Map<Engine, number>();
  for (const engine of phaseOrder(
    clusters.map((live) => live.engine),
    runs,
  )) {
    const run = (runsSoFar.get(engine) ?? 0) + 1;
    runsSoFar.set(engine, run);
    const live = clusters.find((one) => one.engine === engine);
    const session = sessions.get(engine);
    let phase: Phase<R>;
    if (live === undefined || session === undefined || session instanceof Error)
      phase = {
        engine,
        run,
        error: `not measured: ${session instanceof Error ? session.message : 'no session'}`,
      };
    else
      try {
        phase = { engine, run, ...(await measure(live, session, run)) };
      } catch (error) {
        phase = { engine, run, error: (error as Error).message };
      }
    phases.push(phase);
    report(phase);
  }
  return phases;
}

/** One transaction size: one producer JVM per engine (its warm-up), then the engines' runs, ABBA. */
async function txnLoad(
  clusters: readonly LiveCluster[],
  options: EosBenchOptions,
  size: number,
  progress: (line: string) => void,
): Promise<Phase<TxnRun>[]> {
  let phases: Phase<TxnRun>[] = [];
  await withSessions<BenchJvm>(
    clusters,
    (live, use) =>
      withTopic(live.target, PARTITIONS, async (topic) => {
        const jvm = new BenchJvm([
          'txn',
          live.target.bootstrapServer,
          topic,
          String(PARTITIONS),
          String(size),
          String(Math.max(1, Math.ceil(options.txnWarmupRecords / size))),
          String(options.txnRecords / size),
          String(options.recordBytes),
        ]);
        try {
          await jvm.waitFor('the warm-up transactions', (e) => e.event === 'warmedUp', JVM_TIMEOUT_MS);
          progress(`${live.cluster.name}: the ${size}/txn producer warmed up`);
          await use(jvm);
          jvm.closeStdin();
          await jvm.finished(JVM_TIMEOUT_MS).catch((error: unknown) => {
            progress(
              `${live.cluster.name}: the ${size}/txn producer did not end cleanly: ${String(error).slice(0, 500)}`,
            );
          });
        } finally {
          jvm.kill();
        }
      }),
    async (sessions) => {
      phases = await runPhases(
        clusters,
        sessions,
        options.runs,
        (_live, jvm, run) => txnPhase(clusters, jvm, run, size),
        (phase) => progress(formatTxnPhase(phase, size, clusters)),
      );
    },
  );
  return phases;
}

async function txnPhase(
  clusters: readonly LiveCluster[],
  jvm: BenchJvm,
  run: number,
  size: number,
): Promise<{ result: TxnRun; usage: PhaseUsage }> {
  const start = markUsage(clusters, [jvm.pid]);
  jvm.send('run');
  const event = await jvm.waitFor(
    `txn run ${run}`,
    (e) => e.event === 'txnRun' && e.run === run,
    JVM_TIMEOUT_MS,
  );
  const usage = usageBetween(start, markUsage(clusters, [jvm.pid]));
  const commitMs = event.commitMs as number[];
  return {
    result: {
      recordsPerTxn: size,
      records: Number(event.records),
      recordsPerSecond: Number(event.records) / Number(event.seconds),
      commit: summarizeLatencies(commitMs),
      flush: summarizeLatencies(event.flushMs as number[]),
      commitMs,
    },
    usage,
  };
}

interface StreamsSession {
  streams: BenchJvm;
  input: string;
  output: string;
}

/** One Streams application per engine, running through the whole load; one driver JVM per phase. */
async function streamsLoad(
  clusters: readonly LiveCluster[],
  options: EosBenchOptions,
  report: EosReport,
  progress: (line: string) => void,
): Promise<void> {
  await withSessions<StreamsSession>(
    clusters,
    (live, use) =>
      withTopic(live.target, PARTITIONS, (input) =>
        withTopic(live.target, PARTITIONS, async (output) => {
          const stateDir = mkdtempSync(join(tmpdir(), 'kstack-bench-eos-streams-'));
          liveDirs.add(stateDir);
          const appId = `kstack-bench-eos-${input.slice(-8)}`;
          const streams = new BenchJvm([
            'streams',
            live.target.bootstrapServer,
            appId,
            input,
            output,
            stateDir,
          ]);
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
            progress(`${live.cluster.name}: Streams application running`);
            await use({ streams, input, output });
            streams.closeStdin();
            await streams.finished(STREAMS_CLOSE_TIMEOUT_MS).catch((error: unknown) => {
              progress(
                `${live.cluster.name}: the Streams application did not close cleanly: ${String(error).slice(0, 500)}`,
              );
            });
          } finally {
            streams.kill();
            rmSync(stateDir, { recursive: true, force: true });
            liveDirs.delete(stateDir);
          }
        }),
      ),
    async (sessions) => {
      report.e2e = await runPhases(
        clusters,
        sessions,
        options.runs,
        (live, session) => e2ePhase(clusters, live, session, options),
        (phase) => progress(formatE2ePhase(phase, clusters)),
      );
    },
  );
}

/** A driver: its warm-up until the pipeline is drained (not measured), then the measured run. */
async function e2ePhase(
  clusters: readonly LiveCluster[],
  live: LiveCluster,
  session: StreamsSession,
  options: EosBenchOptions,
): Promise<{ result: E2eRun; usage: PhaseUsage }> {
  const driver = new BenchJvm([
    'driver',
    live.target.bootstrapServer,
    session.input,
    session.output,
    String(PARTITIONS),
    String(options.rate),
    String(options.e2eWarmupSeconds),
    String(options.e2eSeconds),
    String(options.e2eRecordBytes),
    String(options.e2eDrainedLagMs),
    String(options.e2eDrainedSeconds),
    String(options.e2eDrainTimeoutSeconds),
  ]);
  try {
    const warmedUp = await driver.waitFor(
      'the end of its warm-up',
      (e) => e.event === 'warmedUp',
      JVM_TIMEOUT_MS,
    );
    const clients = [driver.pid, session.streams.pid];
    const start = markUsage(clusters, clients);
    const event = await driver.waitFor('its measured run', (e) => e.event === 'e2eRun', JVM_TIMEOUT_MS);
    const usage = usageBetween(start, markUsage(clusters, clients));
    await driver.finished(JVM_TIMEOUT_MS);
    const received = Number(event.received);
    return {
      result: {
        rate: options.rate,
        sent: Number(event.sent),
        received,
        sendErrors: Number(event.sendErrors),
        drained: event.drained === true,
        receivedPerSecond: received === 0 ? 0 : received / Number(event.receiveSeconds),
        latency: summarizeLatencies(event.latencyMs as number[]),
        warmupSeconds: Number(warmedUp.seconds),
        warmupWindowsMaxLagMs: warmedUp.windowsMaxLagMs as number[],
      },
      usage,
    };
  } finally {
    driver.kill();
  }
}

async function startCluster(engine: Engine, options: EosBenchOptions): Promise<LiveCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-eos-'));
  liveDirs.add(dataDir);
  const start = engine === 'kstack' ? startKstackCluster : startReferenceCluster;
  try {
    const cluster = await start(
      {
        basePort: options.basePort,
        sessionTimeoutMs: SESSION_TIMEOUT_MS_DEFAULT,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS_DEFAULT,
        overrides: CLUSTER_OVERRIDES,
      },
      dataDir,
    );
    liveClusters.add(cluster);
    const live: LiveCluster = {
      engine,
      cluster,
      target: { bootstrapServer: cluster.bootstrapServer, replicationFactor: REPLICATION_FACTOR },
      pids: [],
      dataDir,
    };
    try {
      live.pids = [...(await cluster.nodePids()).values()];
    } catch (error) {
      await stopCluster(live);
      throw error;
    }
    return live;
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    liveDirs.delete(dataDir);
    throw error;
  }
}

async function stopCluster(live: LiveCluster): Promise<void> {
  try {
    await live.cluster.stop();
  } finally {
    liveClusters.delete(live.cluster);
    rmSync(live.dataDir, { recursive: true, force: true });
    liveDirs.delete(live.dataDir);
  }
}

/**
 * Starts the targets' clusters (one after the other; both then run, idle but for the phase's engine),
 * runs each load's phases ABBA, and stops them.
 */
export async function runEosBench(
  options: EosBenchOptions,
  progress: (line: string) => void,
): Promise<EosReport> {
  const report: EosReport = {
    clusters: [],
    txn: [],
    e2e: [],
    commitIntervalMs: undefined,
    machineBefore: machineLoad(),
    machineAfter: machineLoad(),
  };
  const clusters: LiveCluster[] = [];
  try {
    for (const engine of options.targets) {
      // One cluster failing (not ready in time on a loaded machine) leaves the other's figures.
      try {
        const live = await startCluster(engine, options);
        clusters.push(live);
        report.clusters.push({
          engine,
          name: live.cluster.name,
          bootstrapServer: live.cluster.bootstrapServer,
        });
        progress(`${live.cluster.name}: started (3 nodes, pids ${live.pids.join(', ')})`);
      } catch (error) {
        report.clusters.push({ engine, name: engine, error: (error as Error).message });
        progress(`${engine}: failed to start: ${(error as Error).message.slice(0, 2000)}`);
      }
    }
    if (clusters.length === 0) return report;
    for (const size of options.txnSizes) {
      try {
        report.txn.push({ size, phases: await txnLoad(clusters, options, size, progress) });
      } catch (error) {
        report.txn.push({ size, phases: [], error: (error as Error).message });
        progress(`transactions of ${size} failed: ${(error as Error).message.slice(0, 2000)}`);
      }
    }
    try {
      await streamsLoad(clusters, options, report, progress);
    } catch (error) {
      report.e2eError = (error as Error).message;
      progress(`streams eos e2e failed: ${(error as Error).message.slice(0, 2000)}`);
    }
    report.machineAfter = machineLoad();
    return report;
  } finally {
    for (const live of clusters.reverse()) await stopCluster(live);
  }
}

const fixed = (value: number | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

const seconds = (ms: number | undefined) => fixed(ms === undefined ? undefined : ms / 1000, 1);

const loadOf = (machine: MachineLoad) =>
  `load ${fixed(machine.loadAverage1m, 1)}, cpu pressure ${fixed(machine.cpuPressureSome10s, 0)} %`;

const nameOf = (engine: Engine) => (engine === 'kstack' ? 'kstack' : 'Apache Kafka');

/** The phase's time, load (1 min, before and after) and CPU seconds: the engine's nodes, the idle one's, clients, the rest. */
function formatUsage(
  engine: Engine,
  usage: PhaseUsage | undefined,
  clusters: readonly { engine: Engine }[],
): string {
  if (usage === undefined) return '';
  const nodes = clusters.map(
    (live) =>
      `${nameOf(live.engine)} nodes ${seconds(usage.nodesCpuMs[live.engine])}${live.engine === engine ? '' : ' (idle)'}`,
  );
  const known = [...Object.values(usage.nodesCpuMs), usage.clientsCpuMs];
  const rest =
    usage.machineCpuMs === undefined || known.some((ms) => ms === undefined)
      ? undefined
      : usage.machineCpuMs - known.reduce((sum: number, ms) => sum + (ms ?? 0), 0);
  return (
    ` | ${usage.startedAt} ${fixed(usage.seconds, 1)} s, load ${fixed(usage.loadBefore.loadAverage1m, 1)}->${fixed(usage.loadAfter.loadAverage1m, 1)}, ` +
    `cpu pressure ${fixed(usage.loadAfter.cpuPressureSome10s, 0)} %; cpu s: ${nodes.join(', ')}, clients ${seconds(usage.clientsCpuMs)}, ` +
    `rest of the machine ${seconds(rest)}; machine busy ${seconds(usage.machineCpuMs)} of ${fixed(usage.seconds * CPUS, 1)}`
  );
}

function formatTxnPhase(phase: Phase<TxnRun>, size: number, clusters: readonly { engine: Engine }[]): string {
  const head = `txn produce ${String(size).padStart(4)}/txn ${nameOf(phase.engine).padEnd(12)} #${phase.run}: `;
  const run = phase.result;
  if (run === undefined) return `${head}failed: ${(phase.error ?? '').slice(0, 500)}`;
  return (
    `${head}${run.recordsPerSecond.toFixed(0).padStart(7)} records/s  ` +
    `commit p50 ${fixed(run.commit.p50Ms)} p99 ${fixed(run.commit.p99Ms)} max ${fixed(run.commit.maxMs)} ms  ` +
    `flush p50 ${fixed(run.flush.p50Ms)} p99 ${fixed(run.flush.p99Ms)} ms  (${run.commit.count} txns)` +
    formatUsage(phase.engine, phase.usage, clusters)
  );
}

/** At most this many of a warm-up's per-second lags are printed (its first and last ones). */
const WARMUP_LAGS_SHOWN = 12;

function formatLags(lags: readonly number[]): string {
  const shown =
    lags.length <= WARMUP_LAGS_SHOWN
      ? lags
      : [...lags.slice(0, WARMUP_LAGS_SHOWN / 2), Number.NaN, ...lags.slice(-WARMUP_LAGS_SHOWN / 2)];
  return shown.map((ms) => (Number.isNaN(ms) ? '...' : ms.toFixed(0))).join(' ');
}

function formatE2ePhase(phase: Phase<E2eRun>, clusters: readonly { engine: Engine }[]): string {
  const head = `streams eos e2e ${nameOf(phase.engine).padEnd(12)} #${phase.run}`;
  const run = phase.result;
  if (run === undefined) return `${head}: failed: ${(phase.error ?? '').slice(0, 1000)}`;
  return (
    `${head} at ${run.rate}/s: p50 ${fixed(run.latency.p50Ms)} p99 ${fixed(run.latency.p99Ms)} p99.9 ${fixed(run.latency.p999Ms)} max ${fixed(run.latency.maxMs)} ms; ` +
    `reached ${run.receivedPerSecond.toFixed(0)} records/s (${run.received} of ${run.sent}${run.drained ? '' : ', NOT all arrived'}${run.sendErrors > 0 ? `, ${run.sendErrors} send errors` : ''}); ` +
    `warm-up ${fixed(run.warmupSeconds, 1)} s, each second's largest lag ms: ${formatLags(run.warmupWindowsMaxLagMs)}` +
    formatUsage(phase.engine, phase.usage, clusters)
  );
}

/** The ratio lines of one figure: each pair's kstack / Kafka, and their median. */
function formatRatios<R>(
  label: string,
  phases: readonly Phase<R>[],
  pick: (phase: Phase<R> & { result: R }) => number | undefined,
): string {
  const { pairs, median: middle } = pairRatios(phases, pick);
  const each = pairs.map((pair) =>
    pair === undefined ? 'n/a' : `${pair.ratio.toFixed(2)} (${fixed(pair.kstack)}/${fixed(pair.reference)})`,
  );
  return `${label}: ${each.join(', ')}; median ${fixed(middle)}`;
}

const nodesCpuOf = (phase: Phase<unknown>) => {
  const ms = phase.usage?.nodesCpuMs[phase.engine];
  return ms === undefined ? undefined : ms / 1000;
};

function formatSummaries(report: EosReport): string[] {
  const lines: string[] = [];
  const engines = report.clusters.filter((one) => one.error === undefined).map((one) => one.engine);
  for (const { size, phases, error } of report.txn) {
    for (const engine of engines) {
      const mine = phases.filter((phase) => phase.engine === engine);
      const summary = txnSummary(
        mine.flatMap((phase) => (phase.result === undefined ? [] : [phase.result])),
        size,
      );
      if (summary.runs > 0)
        lines.push(
          `txn produce ${size}/txn ${nameOf(engine)}: median ${summary.recordsPerSecond.toFixed(0)} records/s over ${summary.runs} runs; commit over ${summary.commit.count} txns p50 ${fixed(summary.commit.p50Ms)} p99 ${fixed(summary.commit.p99Ms)} ms; ` +
            `nodes cpu per run median ${fixed(median(mine.flatMap((phase) => nodesCpuOf(phase) ?? [])), 1)} s`,
        );
    }
    if (error !== undefined) lines.push(`txn produce ${size}/txn failed: ${error.slice(0, 500)}`);
  }
  for (const engine of engines) {
    const mine = report.e2e.filter((phase) => phase.engine === engine);
    const runs = mine.flatMap((phase) => (phase.result === undefined ? [] : [phase.result]));
    if (runs.length > 0)
      lines.push(
        `streams eos e2e ${nameOf(engine)}: medians over ${runs.length} runs p50 ${fixed(median(runs.map((run) => run.latency.p50Ms)))} p99 ${fixed(median(runs.map((run) => run.latency.p99Ms)))} ` +
          `p99.9 ${fixed(median(runs.map((run) => run.latency.p999Ms)))} ms; reached ${fixed(median(runs.map((run) => run.receivedPerSecond)), 0)} records/s; ` +
          `warm-up ${fixed(median(runs.map((run) => run.warmupSeconds)), 1)} s; nodes cpu per run ${fixed(median(mine.flatMap((phase) => nodesCpuOf(phase) ?? [])), 1)} s`,
      );
  }
  if (report.e2eError !== undefined) lines.push(`streams eos e2e failed: ${report.e2eError.slice(0, 500)}`);
  if (!(engines.includes('kstack') && engines.includes('reference'))) return lines;
  lines.push(
    '',
    `== ratios kstack / Apache Kafka per pair of adjacent phases (ABBA), and their median (throughput: higher is better; latency and cpu: lower is better)`,
  );
  for (const { size, phases } of report.txn)
    lines.push(
      formatRatios(`txn produce ${size}/txn records/s`, phases, (phase) => phase.result.recordsPerSecond),
      formatRatios(`txn commit ${size}/txn p50 ms`, phases, (phase) => phase.result.commit.p50Ms),
      formatRatios(`txn commit ${size}/txn p99 ms`, phases, (phase) => phase.result.commit.p99Ms),
      formatRatios(`txn produce ${size}/txn nodes cpu s`, phases, nodesCpuOf),
    );
  lines.push(
    formatRatios('streams eos e2e p50 ms', report.e2e, (phase) => phase.result.latency.p50Ms),
    formatRatios('streams eos e2e p99 ms', report.e2e, (phase) => phase.result.latency.p99Ms),
    formatRatios('streams eos e2e p99.9 ms', report.e2e, (phase) => phase.result.latency.p999Ms),
    formatRatios('streams eos e2e reached records/s', report.e2e, (phase) => phase.result.receivedPerSecond),
    formatRatios('streams eos e2e nodes cpu s', report.e2e, nodesCpuOf),
  );
  return lines;
}

export function formatEos(report: EosReport, options: EosBenchOptions): string {
  const lines = [
    `EOS bench: Java client and Kafka Streams ${kafkaVersion()}; topics of ${PARTITIONS} partitions, RF ${REPLICATION_FACTOR}, min ISR 2; ` +
      `txn records ${options.recordBytes} B, ${options.txnRecords} records per run; e2e records ${options.e2eRecordBytes} B at ${options.rate}/s for ${options.e2eSeconds} s ` +
      `after a warm-up of at least ${options.e2eWarmupSeconds} s, drained (${options.e2eDrainedSeconds} s in a row within ${options.e2eDrainedLagMs} ms); ` +
      `${options.runs} runs per engine, ABBA; streams commit.interval.ms ${report.commitIntervalMs ?? 'n/a'}`,
  ];
  for (const cluster of report.clusters)
    lines.push(
      cluster.error === undefined
        ? `${cluster.name}: 3 nodes, bootstrap ${cluster.bootstrapServer}`
        : `${cluster.name}: not measured: ${cluster.error.slice(0, 1000)}`,
    );
  const clusters = report.clusters.filter((one) => one.error === undefined);
  lines.push('');
  for (const { size, phases } of report.txn)
    for (const phase of phases) lines.push(formatTxnPhase(phase, size, clusters));
  for (const phase of report.e2e) lines.push(formatE2ePhase(phase, clusters));
  lines.push('', ...formatSummaries(report));
  lines.push('', `machine before: ${loadOf(report.machineBefore)}; after: ${loadOf(report.machineAfter)}`);
  return lines.join('\n');
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
    const report = await runEosBench(options, progress);
    process.stdout.write(`${formatEos(report, options)}\n`);
  }
}
