/**
 * Does scraping move the broker's latency? `kstack up --metrics-port` runs as its own process;
 * `kstack bench`'s producer and consumer (their own processes, a fixed rate, one partition) send
 * through it for one long measured phase, cut into windows of `--window` seconds. A scraper
 * fetches `/metrics` every SCRAPE_INTERVAL_MS during every other window, in ABBA order (pair j
 * is unscraped-then-scraped when j is even, the reverse when odd), so a drift of the machine's
 * load cancels out within two pairs instead of landing on one kind. Each record is given to the
 * window it was sent in (records are sent at the fixed rate, in order), less WINDOW_GUARD_SECONDS
 * at each edge. Per pair: the scraped window's p99 over the unscraped one's. The answer is the
 * median of those ratios with its distribution-free confidence interval (order statistics of the
 * binomial), and the verdict against issue 16's +10%: met when the whole interval is under it,
 * missed when the whole interval is over it, otherwise not decided.
 *
 * By default (taskset present, two cores or more) the broker process is pinned to one core and
 * this process and its clients to another, as the registry bench does: the scheduler then cannot
 * move the broker between cores or give its core to a client, which made back-to-back runs spread
 * as wide as the effect; the broker's own metrics worker shares its core (at its own priority,
 * SCHED_IDLE), so what the scrapes cost the broker stays in the figure. `--no-pin` lets the
 * scheduler place them. Also printed per kind of window: the broker's main-thread and
 * whole-process CPU per second and the scraper's (from /proc, in clock ticks), so the cost is seen
 * without the latency's noise.
 *
 * The scraper (bench-scraper.ts) is a process of its own, on the clients' core (`--scraper-cpu`)
 * at SCHED_IDLE (`--scraper-policy idle`): it asks for gzip and reads the bytes without decoding
 * them, and runs only when that core has nothing else to run. What is measured is then what
 * serving the scrapes does to the broker's e2e p99, not what a scraper's own CPU does to the
 * clients beside it (a Prometheus decoding and storing the text is the scraper's cost, on its own
 * machine or core; see the README, "Session 12"). `--scraper-policy normal` runs it at nice 0
 * beside the clients, to see that cost too.
 *
 * A benchmark, not a test: it reports numbers and asserts nothing. The defaults (100 pairs of 5 s
 * windows: 1,000 s measured) take about 17 minutes.
 *
 *   node src/metrics/bench.ts [--pairs N] [--window S] [--rate R] [--partitions N] [--port P]
 *                             [--broker-cpu C] [--load-cpu C] [--no-pin] [--control]
 *                             [--target broker|static] [--scraper-cpu C] [--scraper-policy idle|normal]
 *
 * `--control` runs the same windows with no scraper at all (an A/A run): its interval should hold
 * 1, and its width is what the bench can resolve on that machine. `--target static` scrapes, in the
 * same windows, a server of its own (another process, on the broker's core at the broker's metrics
 * worker's priority: SCHED_IDLE, METRICS_WORKER_SCHED_IDLE) that answers every scrape with the broker's
 * gzipped text as read once at the start: what the scraper and the serving cost the machine when
 * the broker does nothing for a scrape. The broker's own part is the difference between the two.
 *
 * Ports: the broker on P (22650 by default), its /metrics on P+1.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureEndToEndLatency } from '../bench/latency.ts';
import { withTopic } from '../bench/load.ts';
import { machineLoad } from '../bench/machine.ts';
import { median, percentile } from '../bench/stats.ts';
import { KstackProcess } from '../engine/process.ts';
import { positiveInteger } from './bench-broker.ts';
import type { ScraperCommand, ScraperCounts } from './bench-scraper.ts';
import { METRICS_WORKER_NICE, METRICS_WORKER_SCHED_IDLE } from './worker-render.ts';

/** The scrape interval issue 16 names. */
export const SCRAPE_INTERVAL_MS = 100;
/** Issue 16: scraping may move the e2e p99 by at most +10%. */
const TARGET_RATIO = 1.1;
/** The confidence of the median ratio's interval. */
const CONFIDENCE = 0.95;
const PORT_DEFAULT = 22650;
/**
 * Pairs of windows (one unscraped, one scraped); must be even for whole ABBA blocks. 28 pairs gave an
 * interval of about ±14% on this 2-core machine (single windows' p99 swing 0.8-3.4 ms), too wide to
 * decide against +10%; 100 give about ±7%.
 */
const PAIRS_DEFAULT = 100;
const WINDOW_SECONDS_DEFAULT = 5;
/**
 * Records sent this close to a window's edge are left out: the scraper starts and stops on this
 * process' clock while records are placed by their index (rate × time), and the producer learns
 * of the measured phase a few milliseconds after this process does.
 */
const WINDOW_GUARD_SECONDS = 0.5;
/** A topic of this many partitions is made beside the baseline topics, as a user's stack would have. */
const EXTRA_PARTITIONS_DEFAULT = 200;
const RATE_DEFAULT = 1000;
const WARMUP_SECONDS = 3;
const RECORD_BYTES = 100;
/** A scrape that takes longer is abandoned (the next one starts on time). */
const SCRAPE_TIMEOUT_MS = 5_000;
/** Where the scraper runs: SCHED_IDLE (`idle`, the default) or beside the clients at nice 0 (`normal`). */
type ScraperPolicy = 'idle' | 'normal';

/** `--target static`'s server: one gzipped body for every request; prints its port once it listens. */
const STATIC_SERVER = `
const { createServer } = require('node:http');
const { readFileSync } = require('node:fs');
const [file, contentType] = process.argv.slice(1);
const body = readFileSync(file);
const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': contentType, 'content-encoding': 'gzip', 'content-length': body.length });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));`;

/** How long `kstack up` may take to serve /metrics once its broker listens (its worker thread loads first). */
const METRICS_READY_TIMEOUT_MS = 60_000;
const METRICS_READY_POLL_MS = 100;

/** Resolves once `url` answers 200 (`kstack up` serves /metrics a little after its broker port). */
async function metricsServed(url: string): Promise<void> {
  const deadline = performance.now() + METRICS_READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch (error) {
      if (performance.now() > deadline)
        throw new Error(`${url} not served within ${METRICS_READY_TIMEOUT_MS} ms: ${error}`);
    }
    await new Promise((done) => setTimeout(done, METRICS_READY_POLL_MS));
  }
}

/** The broker's /metrics as its scrapers get it: gzipped bytes and the content type. */
function readGzipped(url: string): Promise<{ body: Buffer; contentType: string }> {
  return new Promise((resolve, reject) => {
    const asked = request(url, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.headers['content-encoding'] !== 'gzip') reject(new Error(`${url}: not gzipped`));
        else resolve({ body: Buffer.concat(chunks), contentType: String(response.headers['content-type']) });
      });
      response.on('error', reject);
    });
    asked.on('error', reject);
    asked.end();
  });
}

/** Starts `--target static`'s server (see STATIC_SERVER) on `cpu` when given; resolves with its URL. */
async function startStaticTarget(
  metricsUrl: string,
  dataDir: string,
  cpu: string | null,
): Promise<{ url: string; child: ChildProcess }> {
  const { body, contentType } = await readGzipped(metricsUrl);
  const file = join(dataDir, 'metrics.gz');
  writeFileSync(file, body);
  const command = [
    ...(cpu === null ? [] : ['taskset', '-c', cpu]),
    // The broker's metrics worker's priority: what serving a scrape is allowed to take.
    ...(METRICS_WORKER_SCHED_IDLE ? ['chrt', '--idle', '0'] : ['nice', '-n', String(METRICS_WORKER_NICE)]),
    process.execPath,
    '-e',
    STATIC_SERVER,
    file,
    contentType,
  ];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.trim());
    });
    child.once('exit', (code) => reject(new Error(`the static target exited (code ${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/metrics`, child };
}

/**
 * The run may end this much after its planned end before the windows are called unreliable: records
 * are placed by index, so a producer that fell behind would shift them (the overrun also counts the
 * last records' latency and the clients' close, so it is an upper bound on the shift).
 */
const PRODUCER_LAG_WARN_SECONDS = WINDOW_GUARD_SECONDS;

/** The scraper process (bench-scraper.ts): started and stopped per run of scraped windows. */
interface ScraperProcess {
  readonly pid: number;
  /** Sends `start`, `mark` or `stop`; `mark` and `stop` resolve with the scrapes since the last start or mark. */
  command(command: ScraperCommand): Promise<ScraperCounts | null>;
  close(): void;
}

/**
 * Forks bench-scraper.ts scraping `url`, on `cpu` when given, at `policy`: `idle` (SCHED_IDLE,
 * `chrt --idle 0`: it runs only when its core has nothing else to run, so the clients it shares a
 * core with are not delayed by it) or `normal` (nice 0, as the clients).
 */
async function startScraperProcess(
  url: string,
  cpu: string | null,
  policy: ScraperPolicy,
): Promise<ScraperProcess> {
  const node = [process.execPath, fileURLToPath(new URL('./bench-scraper.ts', import.meta.url)), url];
  const command = [
    ...(cpu === null ? [] : ['taskset', '-c', cpu]),
    ...(policy === 'idle' ? ['chrt', '--idle', '0'] : []),
    ...node,
  ];
  // taskset and chrt exec the next program: the pid is node's, the IPC channel (fd 3) inherited.
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  /** Answers awaited, in the order asked (the scraper answers in order). */
  const waiting: { resolve(counts: ScraperCounts): void; reject(error: Error): void }[] = [];
  let exited: Error | null = null;
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the scraper exited before it was ready (code ${code})`)));
  });
  child.on('message', (counts: ScraperCounts) => waiting.shift()?.resolve(counts));
  child.on('exit', (code) => {
    exited = new Error(`the scraper exited (code ${code})`);
    for (const waiter of waiting.splice(0)) waiter.reject(exited);
  });
  return {
    pid: child.pid!,
    command(name) {
      if (exited !== null) return Promise.reject(exited);
      if (name === 'start') {
        child.send(name);
        return Promise.resolve(null);
      }
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.send(name);
      });
    },
    close() {
      if (child.connected) child.disconnect();
    },
  };
}

function signedPercent(ratio: number): string {
  const change = (ratio - 1) * 100;
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`;
}

/** Whether window `index` is scraped: ABBA blocks (pair j: unscraped first when j is even). */
export function windowScraped(index: number): boolean {
  const pair = Math.floor(index / 2);
  const second = index % 2 === 1;
  return pair % 2 === 0 ? second : !second;
}

/**
 * The distribution-free confidence interval of the median of `sorted` (ascending): the k-th and
 * (n-k+1)-th values, k the largest rank with P(Binomial(n, 1/2) < k) ≤ (1 - confidence) / 2.
 * Returns the interval and its exact coverage, or null when n is too small for any.
 */
export function medianInterval(
  sorted: readonly number[],
  confidence: number,
): { low: number; high: number; coverage: number } | null {
  const n = sorted.length;
  const tail = (1 - confidence) / 2;
  // P(X = i) for X ~ Binomial(n, 1/2), summed from i = 0 while it stays within the tail.
  let probability = 0.5 ** n;
  let below = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (below + probability > tail) break;
    below += probability;
    k = i + 1;
    probability = (probability * (n - i)) / (i + 1);
  }
  if (k === 0) return null;
  return { low: sorted[k - 1]!, high: sorted[n - k]!, coverage: 1 - 2 * below };
}

/** CPU time (ms) of the broker process and of its main thread, from /proc (clock ticks); null off Linux. */
function brokerCpuMs(pid: number): { process: number; thread: number } | null {
  const ticks = (path: string): number => {
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count after ')'.
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  try {
    const hertz = 100;
    return {
      process: (ticks(`/proc/${pid}/stat`) * 1000) / hertz,
      thread: (ticks(`/proc/${pid}/task/${pid}/stat`) * 1000) / hertz,
    };
  } catch {
    return null;
  }
}

/** CPU time (ms) of process `pid` (all its threads), or null. */
function processCpuMsOf(pid: number): number | null {
  return brokerCpuMs(pid)?.process ?? null;
}

/** Pins every thread of process `pid` to `cpu` (threads started later inherit it). */
function pin(pid: number, cpu: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Window {
  readonly scraped: boolean;
  scrapes: number;
  failures: number;
  /** Broker CPU over the window (ms), when /proc could be read at both edges. */
  processCpuMs: number | null;
  threadCpuMs: number | null;
  /** The scraper process' CPU over the window (ms). */
  scraperCpuMs: number | null;
}

/**
 * Runs the scraper in every scraped window, from `startMs` (performance.now()) on, and reads the
 * broker's and the scraper's CPU at each window's edges; resolves once the last window has ended.
 */
async function runWindows(
  windows: Window[],
  windowMs: number,
  scraper: ScraperProcess | null,
  brokerPid: number,
  startMs: number,
): Promise<void> {
  let scraping = false;
  let cpuBefore = brokerCpuMs(brokerPid);
  let scraperBefore = scraper === null ? null : processCpuMsOf(scraper.pid);
  for (let index = 0; index < windows.length; index++) {
    const window = windows[index]!;
    if (window.scraped && !scraping && scraper !== null) {
      await scraper.command('start');
      scraping = true;
    }
    const endMs = startMs + (index + 1) * windowMs;
    await new Promise((done) => setTimeout(done, Math.max(0, endMs - performance.now())));
    if (scraping && scraper !== null) {
      // ABBA: two scraped windows in a row share one run of the scraper; each gets its own scrapes.
      const continues = windows[index + 1]?.scraped === true;
      const counts = await scraper.command(continues ? 'mark' : 'stop');
      scraping = continues;
      window.scrapes += counts?.scrapes ?? 0;
      window.failures += counts?.failures ?? 0;
    }
    const cpuAfter = brokerCpuMs(brokerPid);
    if (cpuBefore !== null && cpuAfter !== null) {
      window.processCpuMs = cpuAfter.process - cpuBefore.process;
      window.threadCpuMs = cpuAfter.thread - cpuBefore.thread;
    }
    cpuBefore = cpuAfter;
    const scraperAfter = scraper === null ? null : processCpuMsOf(scraper.pid);
    if (scraperBefore !== null && scraperAfter !== null) window.scraperCpuMs = scraperAfter - scraperBefore;
    scraperBefore = scraperAfter;
  }
}

/** The p99 of each window's records (send order), less the guard at each edge. */
function windowP99s(
  latenciesMs: readonly number[],
  windows: number,
  perWindow: number,
  guard: number,
): number[] {
  const p99s: number[] = [];
  for (let index = 0; index < windows; index++) {
    const kept = latenciesMs.slice(index * perWindow + guard, (index + 1) * perWindow - guard);
    p99s.push(
      percentile(
        [...kept].sort((a, b) => a - b),
        0.99,
      ),
    );
  }
  return p99s;
}

/** All kept records of windows of one kind, pooled: their p99. */
function pooledP99(
  latenciesMs: readonly number[],
  windows: readonly Window[],
  perWindow: number,
  guard: number,
  scraped: boolean,
): number {
  const kept: number[] = [];
  windows.forEach((window, index) => {
    if (window.scraped !== scraped) return;
    for (let i = index * perWindow + guard; i < (index + 1) * perWindow - guard; i++) {
      const latency = latenciesMs[i];
      if (latency !== undefined) kept.push(latency);
    }
  });
  return percentile(
    kept.sort((a, b) => a - b),
    0.99,
  );
}

/** CPU per second of windows of one kind, or 'n/a'. */
function cpuPerSecond(
  windows: readonly Window[],
  scraped: boolean,
  windowSeconds: number,
  key: 'processCpuMs' | 'threadCpuMs' | 'scraperCpuMs',
): string {
  const measured = windows.filter((window) => window.scraped === scraped && window[key] !== null);
  if (measured.length === 0) return 'n/a';
  const total = measured.reduce((sum, window) => sum + window[key]!, 0);
  return `${(total / (measured.length * windowSeconds)).toFixed(1)} ms/s`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pairs: { type: 'string' },
      window: { type: 'string' },
      rate: { type: 'string' },
      port: { type: 'string' },
      partitions: { type: 'string' },
      'broker-cpu': { type: 'string' },
      'load-cpu': { type: 'string' },
      'no-pin': { type: 'boolean' },
      control: { type: 'boolean' },
      target: { type: 'string' },
      'scraper-cpu': { type: 'string' },
      'scraper-policy': { type: 'string' },
    },
  });
  const pairs = positiveInteger(values.pairs, '--pairs', PAIRS_DEFAULT);
  if (pairs % 2 !== 0) throw new Error(`--pairs: ${pairs} is odd (whole ABBA blocks need an even number)`);
  const windowSeconds = positiveInteger(values.window, '--window', WINDOW_SECONDS_DEFAULT);
  if (windowSeconds <= 2 * WINDOW_GUARD_SECONDS)
    throw new Error(`--window: ${windowSeconds} s leaves nothing inside the guards`);
  const rate = positiveInteger(values.rate, '--rate', RATE_DEFAULT);
  const port = positiveInteger(values.port, '--port', PORT_DEFAULT);
  const extraPartitions = positiveInteger(values.partitions, '--partitions', EXTRA_PARTITIONS_DEFAULT);
  const control = values.control === true;
  const target = values.target ?? 'broker';
  if (target !== 'broker' && target !== 'static')
    throw new Error(`--target: '${target}' is not broker or static`);
  const pinned = values['no-pin'] !== true && availableParallelism() >= 2 && hasTaskset();
  const brokerCpu = values['broker-cpu'] ?? '0';
  const loadCpu = values['load-cpu'] ?? '1';
  const scraperCpu = values['scraper-cpu'] ?? loadCpu;
  const scraperPolicy = values['scraper-policy'] ?? 'idle';
  if (scraperPolicy !== 'idle' && scraperPolicy !== 'normal')
    throw new Error(`--scraper-policy: '${scraperPolicy}' is not idle or normal`);
  const startedMs = performance.now();
  // Pinned before anything is started: the broker and the clients inherit this process' core.
  if (pinned) pin(process.pid, loadCpu);
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metrics-bench-'));
  const broker = await KstackProcess.start({
    args: ['--port', String(port), '--metrics-port', String(port + 1), '--data-dir', dataDir, '--no-compose'],
    ports: [port],
  });
  const brokerPid = broker.pid!;
  if (pinned) pin(brokerPid, brokerCpu);
  const brokerMetricsUrl = `http://127.0.0.1:${port + 1}/metrics`;
  const kafka = { bootstrapServer: `127.0.0.1:${port}`, replicationFactor: 1 };
  let staticTarget: { url: string; child: ChildProcess } | null = null;
  let scraper: ScraperProcess | null = null;
  await metricsServed(brokerMetricsUrl);
  const windowCount = pairs * 2;
  const windows: Window[] = Array.from({ length: windowCount }, (_, index) => ({
    scraped: windowScraped(index),
    scrapes: 0,
    failures: 0,
    processCpuMs: null,
    threadCpuMs: null,
    scraperCpuMs: null,
  }));
  const loadBefore = machineLoad().loadAverage1m;
  process.stdout.write(
    `kstack metrics bench: ${pairs} pairs of ${windowSeconds} s windows (ABBA) at ${rate} records/s; scraper every ` +
      `${SCRAPE_INTERVAL_MS} ms in every other window; ${extraPartitions} more partitions beside the baseline topics; ` +
      `${pinned ? `broker pinned to cpu ${brokerCpu}, clients to cpu ${loadCpu}, scraper to cpu ${scraperCpu}` : 'not pinned'}; ` +
      `scraper at ${scraperPolicy === 'idle' ? 'SCHED_IDLE' : 'nice 0'}; ` +
      `scraping ${target === 'broker' ? "the broker's /metrics" : 'a static copy of its text (--target static)'}; ` +
      `machine load ${loadBefore.toFixed(1)}` +
      `${control ? '\nCONTROL RUN: nothing scrapes; the "scraped" windows are only labelled so (the interval should hold 1)' : ''}\n`,
  );
  let latenciesMs: readonly number[] = [];
  let lagSeconds = 0;
  try {
    // Many partitions make each render cost what a real stack's would (every partition has its series).
    await withTopic(kafka, extraPartitions, async () => {
      // Read once the topics exist, so the static target serves as many series as the broker.
      if (target === 'static')
        staticTarget = await startStaticTarget(brokerMetricsUrl, dataDir, pinned ? brokerCpu : null);
      const metricsUrl = staticTarget?.url ?? brokerMetricsUrl;
      if (!control)
        scraper = await startScraperProcess(metricsUrl, pinned ? scraperCpu : null, scraperPolicy);
      await withTopic(kafka, 1, async (topic) => {
        let windowsDone: Promise<void> = Promise.resolve();
        let measureStartMs = 0;
        const run = await measureEndToEndLatency(
          kafka.bootstrapServer,
          topic,
          {
            ratePerSecond: rate,
            seconds: windowCount * windowSeconds,
            recordBytes: RECORD_BYTES,
            warmupSeconds: WARMUP_SECONDS,
            clients: 'split',
            keepLatencies: true,
            onMeasure: () => {
              measureStartMs = performance.now();
              windowsDone = runWindows(windows, windowSeconds * 1000, scraper, brokerPid, measureStartMs);
            },
          },
          { pid: brokerPid },
        );
        lagSeconds = (performance.now() - measureStartMs) / 1000 - windowCount * windowSeconds;
        await windowsDone;
        if (run.failed > 0)
          throw new Error(`${run.failed} records were not acknowledged: the windows lost their place`);
        latenciesMs = run.latenciesMs ?? [];
      });
    });
  } finally {
    (scraper as ScraperProcess | null)?.close();
    (staticTarget as { child: ChildProcess } | null)?.child.kill('SIGTERM');
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const loadAfter = machineLoad().loadAverage1m;
  report({ latenciesMs, windows, windowSeconds, rate, lagSeconds, loadBefore, loadAfter, pinned, startedMs });
}

function report(run: {
  latenciesMs: readonly number[];
  windows: readonly Window[];
  windowSeconds: number;
  rate: number;
  lagSeconds: number;
  loadBefore: number;
  loadAfter: number;
  pinned: boolean;
  startedMs: number;
}): void {
  const { latenciesMs, windows, windowSeconds, rate } = run;
  const perWindow = rate * windowSeconds;
  const guard = Math.round(rate * WINDOW_GUARD_SECONDS);
  const p99s = windowP99s(latenciesMs, windows.length, perWindow, guard);
  const ratios: number[] = [];
  const lines: string[] = [];
  for (let pair = 0; pair < windows.length / 2; pair++) {
    const [first, second] = [2 * pair, 2 * pair + 1];
    const scrapedIndex = windows[first]!.scraped ? first : second;
    const plainIndex = scrapedIndex === first ? second : first;
    const ratio = p99s[scrapedIndex]! / p99s[plainIndex]!;
    ratios.push(ratio);
    const scraped = windows[scrapedIndex]!;
    lines.push(
      `  pair ${String(pair + 1).padStart(2)}: p99 ${p99s[plainIndex]!.toFixed(2).padStart(7)} ms -> ` +
        `${p99s[scrapedIndex]!.toFixed(2).padStart(7)} ms scraped  ratio ${ratio.toFixed(3)}  ` +
        `(${scraped.scrapes} scrapes, ${scraped.failures} failed)`,
    );
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const middle = median(sorted);
  const interval = medianInterval(sorted, CONFIDENCE);
  const verdict =
    interval === null
      ? 'NOT DECIDED (too few pairs for an interval)'
      : interval.high <= TARGET_RATIO
        ? `MET (the whole interval is at most ${signedPercent(TARGET_RATIO)})`
        : interval.low > TARGET_RATIO
          ? `MISSED (the whole interval is over ${signedPercent(TARGET_RATIO)})`
          : `NOT DECIDED (the interval spans ${signedPercent(TARGET_RATIO)})`;
  const received = latenciesMs.length;
  process.stdout.write(
    `${lines.join('\n')}\n` +
      `records: ${received} of ${windows.length * perWindow} received; ${WINDOW_GUARD_SECONDS} s left out at each window edge` +
      `${run.lagSeconds > PRODUCER_LAG_WARN_SECONDS ? `; WARNING: the run ended ${run.lagSeconds.toFixed(1)} s after its planned end (the last records' latency and the clients' close included: an upper bound on how late the producer sent), so windows may be misplaced by up to that` : ''}\n` +
      `pooled p99: unscraped ${pooledP99(latenciesMs, windows, perWindow, guard, false).toFixed(2)} ms, ` +
      `scraped ${pooledP99(latenciesMs, windows, perWindow, guard, true).toFixed(2)} ms\n` +
      `broker CPU: main thread ${cpuPerSecond(windows, false, windowSeconds, 'threadCpuMs')} unscraped, ` +
      `${cpuPerSecond(windows, true, windowSeconds, 'threadCpuMs')} scraped; whole process ` +
      `${cpuPerSecond(windows, false, windowSeconds, 'processCpuMs')} unscraped, ${cpuPerSecond(windows, true, windowSeconds, 'processCpuMs')} scraped; ` +
      `the scraper ${cpuPerSecond(windows, true, windowSeconds, 'scraperCpuMs')} scraped\n` +
      `pair ratios: min ${sorted[0]!.toFixed(3)}, quartiles ${percentile(sorted, 0.25).toFixed(3)} / ${percentile(sorted, 0.75).toFixed(3)}, max ${sorted.at(-1)!.toFixed(3)}\n` +
      `median pair ratio ${middle.toFixed(3)} (${signedPercent(middle)})` +
      (interval === null
        ? ''
        : `, ${(interval.coverage * 100).toFixed(1)}% interval ${interval.low.toFixed(3)} - ${interval.high.toFixed(3)} ` +
          `(${signedPercent(interval.low)} to ${signedPercent(interval.high)})`) +
      `\nverdict (issue 16, scraping every ${SCRAPE_INTERVAL_MS} ms moves e2e p99 by at most +10%): ${verdict}\n` +
      `machine load ${run.loadBefore.toFixed(1)} before, ${run.loadAfter.toFixed(1)} after; ${run.pinned ? 'pinned' : 'not pinned'}; ` +
      `took ${((performance.now() - run.startedMs) / 1000).toFixed(0)} s\n`,
  );
}

if (import.meta.main) await main();
