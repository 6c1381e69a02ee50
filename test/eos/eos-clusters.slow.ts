/**
 * Exactly-once on three nodes, kstack and Apache Kafka 4.1.1 (the reference) with the same assertions
 * (issue 13): one JVM (test/eos/java/EosApps.java, Kafka's Java client and Kafka Streams 4.1.1) runs a
 * transactional consume-transform-produce loop and a Kafka Streams `exactly_once_v2` counting
 * application over 400 input records (two batches of 200, ten keys). In order: the first instance
 * starts both and fences a zombie producer; the node coordinating the loop's transactional id is
 * killed with SIGKILL; the second batch is written and the loop commits some of it through the
 * survivors; the application instance is killed with SIGKILL (transactions open); the node comes back;
 * a second instance (same state dir, same transactional ids) takes over and finishes. read_committed
 * readers must then hold each transformed record exactly once (no aborted record, nothing from the
 * zombie) and, per key, the count updates 1, 2, ... 40 exactly (nothing counted twice or lost).
 *
 * In CI (`npm run test:slow`; `--test-name-pattern '^kstack'` runs kstack alone). Session 12 fixed the
 * three kstack faults it showed (src/coordinator/README.md, Tests); then, side by side at load 40-62, five
 * runs of 195-261 s: kstack passed 5 of 5, the reference 4 of 5 (once its node 1 did not answer Metadata
 * within 120 s of its JVM start, before any assertion).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KstackCluster } from '../../compat/runner/kstack-cluster.ts';
import { kafkaLibsDir, kafkaVersion, ReferenceCluster } from '../../reference/cluster.ts';

/** The reference's three nodes (controllers 50 above); kstack's three `kstack node` processes. */
const REFERENCE_BASE_PORT = 25800;
const KSTACK_BASE_PORT = 25810;
const SOURCE = join(import.meta.dirname, 'java', 'EosApps.java');
const LOG4J = join(import.meta.dirname, '..', '..', 'reference', 'tools-log4j2.properties');
/** Mirrors EosApps: two batches of BATCH records over KEYS keys. */
const BATCH = 200;
const TOTAL = 2 * BATCH;
const KEYS = 10;
/** Generous for a loaded 2-core CI: JVM start, Streams' first rebalance, a coordinator failover. */
const EVENT_TIMEOUT_MS = 120_000;
/** The second instance's own deadline for complete outputs is 150 s (EosApps.COMPLETE_TIMEOUT_MS). */
const SECOND_TIMEOUT_MS = 200_000;
/**
 * The reference's three JVMs start beside kstack's nodes and the apps' JVM: once in seven runs at load 43-61
 * node 1 did not answer Metadata within the default 120 s, before any assertion ran.
 */
const REFERENCE_READY_TIMEOUT_MS = 240_000;
const STDERR_TAIL_CHARS = 16_000;

function streamsLibsDir(): string {
  return join(homedir(), '.cache', 'kstack', `kafka-streams-${kafkaVersion()}`, 'libs');
}

/** Compiles EosApps once per source (cached in ~/.cache/kstack/eos-java/<hash>). */
function compiled(classPath: string): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const classes = join(homedir(), '.cache', 'kstack', 'eos-java', hash);
  if (!existsSync(join(classes, 'EosApps.class'))) {
    const tmp = `${classes}.tmp.${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    execFileSync('javac', ['-nowarn', '-d', tmp, '-cp', classPath, SOURCE], { stdio: 'inherit' });
    rmSync(classes, { recursive: true, force: true });
    renameSync(tmp, classes);
  }
  return classes;
}

type AppEvent = Record<string, unknown> & { event: string };

/** One EosApps JVM: its JSON-line events as they come, stdin commands, SIGKILL. */
class AppInstance {
  readonly events: AppEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #startedAt = Date.now();
  #waiters: (() => void)[] = [];

  constructor(bootstrap: string, role: 'first' | 'second', stateDir: string) {
    const libs = `${kafkaLibsDir()}/*:${streamsLibsDir()}/*`;
    const classes = compiled(libs);
    const args = [
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Dlog4j2.configurationFile=${LOG4J}`,
      '-cp',
      `${classes}:${libs}`,
      'EosApps',
      bootstrap,
      role,
      stateDir,
    ];
    this.#child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let pending = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        // `at`: ms since this JVM started, for the timeline a failure or a slow run prints.
        if (line.startsWith('{'))
          this.events.push({ ...(JSON.parse(line) as AppEvent), at: Date.now() - this.#startedAt });
      }
      this.#wake();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-STDERR_TAIL_CHARS);
    });
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
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

  /** The first event that matches, waiting for it (fails on the JVM's exit or the timeout). */
  async waitFor(what: string, matches: (e: AppEvent) => boolean): Promise<AppEvent> {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    for (;;) {
      const found = this.events.find(matches);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`EosApps exited before ${what}: ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  one(name: string): AppEvent {
    const found = this.events.filter((e) => e.event === name);
    assert.equal(found.length, 1, `one ${name} event: ${this.describe()}`);
    return found[0]!;
  }

  send(command: string): void {
    this.#child.stdin?.write(`${command}\n`);
  }

  async kill(): Promise<void> {
    if (this.running) this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Each event but the counts and outputs, with its time. */
  timeline(): string {
    const shown = this.events.filter((e) => !['loop', 'loopOutput', 'counts'].includes(e.event));
    return shown.map((e) => `${e.at}ms ${e.event}${e.state === undefined ? '' : ` ${e.state}`}`).join(', ');
  }

  describe(): string {
    const events = this.events.filter((e) => e.event !== 'loop').map((e) => JSON.stringify(e));
    return `events ${events.join(' ')}\nstderr: ${this.stderr}`;
  }
}

interface Target {
  readonly name: string;
  readonly bootstrap: string;
  start(): Promise<void>;
  stopNode(id: number, signal: 'SIGKILL'): Promise<void>;
  startNode(id: number): Promise<void>;
  stop(kill: boolean): Promise<void>;
  killAllSync(): void;
}

function bootstrapOf(basePort: number): string {
  return [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`).join(',');
}

const dataDirs: string[] = [];
const started: Target[] = [];
const apps: AppInstance[] = [];
process.once('exit', () => {
  for (const target of started) target.killAllSync();
});

function dataDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kstack-eos-${name}-`));
  dataDirs.push(dir);
  return dir;
}

function kstackTarget(): Target {
  const cluster = new KstackCluster({
    nodes: 3,
    basePort: KSTACK_BASE_PORT,
    dataDir: dataDir('kstack'),
    // As the reference runs (reference/cluster.ts): no first-join delay, 5 offsets partitions.
    overrides: () => ({ 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5' }),
  });
  return Object.assign(cluster, { name: 'kstack', bootstrap: bootstrapOf(KSTACK_BASE_PORT) });
}

function referenceTarget(): Target {
  const cluster = new ReferenceCluster({
    nodes: 3,
    basePort: REFERENCE_BASE_PORT,
    dataDir: dataDir('reference'),
  });
  const start = cluster.start.bind(cluster);
  return Object.assign(cluster, { name: 'reference', start: () => start(REFERENCE_READY_TIMEOUT_MS) });
}

/** The scenario; returns the second instance, finished, and the phases' durations. */
async function scenario(target: Target, phases: Record<string, number>): Promise<AppInstance> {
  let mark = Date.now();
  const phase = (name: string) => {
    phases[name] = Date.now() - mark;
    mark = Date.now();
  };
  await target.start();
  started.push(target);
  phase('clusterStart');
  const stateDir = dataDir(`${target.name}-state`);
  const first = new AppInstance(target.bootstrap, 'first', stateDir);
  apps.push(first);
  const coordinator = Number((await first.waitFor('started', (e) => e.event === 'started')).loopCoordinator);
  await first.waitFor('the zombie', (e) => e.event === 'zombie');
  phase('firstStarted');
  assert.ok([1, 2, 3].includes(coordinator), `the loop's coordinator: ${coordinator}`);
  await target.stopNode(coordinator, 'SIGKILL');
  first.send('produce');
  await first.waitFor('the second batch written', (e) => e.event === 'produced');
  // Past the first batch (so through the survivors), the loop holds a transaction open: killed in it.
  await first.waitFor('the loop holding a transaction open', (e) => e.event === 'holding');
  phase('progressWithoutCoordinator');
  await first.kill();
  await target.startNode(coordinator);
  phase('nodeBack');
  const second = new AppInstance(target.bootstrap, 'second', stateDir);
  apps.push(second);
  const code = await Promise.race([
    second.exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), SECOND_TIMEOUT_MS).unref()),
  ]);
  if (code === 'timeout') await second.kill();
  assert.equal(code, 0, `the second instance exited ${code}: ${second.describe()}`);
  phase('secondFinished');
  return Object.assign(second, { zombie: first.one('zombie'), held: Number(first.one('holding').records) });
}

describe('exactly-once on three nodes: a transactional loop and Kafka Streams exactly_once_v2 through a broker kill -9 and an instance kill -9', {
  timeout: 900_000,
  // The two clusters side by side (distinct ports): much of each scenario is waiting (sessions, JVM starts).
  concurrency: true,
}, () => {
  after(async () => {
    for (const app of apps) await app.kill();
    for (const target of started) await target.stop(true);
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  for (const makeTarget of [kstackTarget, referenceTarget]) {
    it(`${makeTarget === kstackTarget ? 'kstack' : 'the reference'}: every record once, exact counts, the zombie fenced`, async (t) => {
      const target = makeTarget();
      const phases: Record<string, number> = {};
      const second = (await scenario(target, phases)) as AppInstance & { zombie: AppEvent; held: number };
      t.diagnostic(
        `${target.name} phases (ms): ${JSON.stringify(phases)}; loop output records read_uncommitted: ${JSON.stringify(second.events.find((e) => e.event === 'uncommitted'))}`,
      );
      t.diagnostic(`${target.name} second instance: ${second.timeline()}`);
      await target.stop(true);
      started.splice(started.indexOf(target), 1);

      assert.match(
        String(second.zombie.outcome),
        /^(ProducerFencedException|InvalidProducerEpochException)$/,
        'the zombie commit is refused',
      );
      const loop = second.one('loopOutput');
      assert.deepEqual(
        {
          distinct: loop.distinct,
          missing: loop.missing,
          duplicated: loop.duplicated,
          unexpected: loop.unexpected,
        },
        { distinct: TOTAL, missing: [], duplicated: [], unexpected: [] },
        'the loop output read committed: every record once, nothing aborted, nothing from the zombie',
      );
      // The zombie's record and the held transaction's were written, then aborted: the reader above
      // had them to skip.
      assert.ok(Number(second.one('uncommitted').records) >= TOTAL + 1 + second.held, second.describe());
      const counts = second.one('counts');
      const expected = TOTAL / KEYS;
      assert.equal(counts.expected, expected);
      const perKey = Object.fromEntries(
        Array.from({ length: KEYS }, (_, k) => [
          `k${k}`,
          { updates: expected, last: expected, contiguous: true },
        ]),
      );
      assert.deepEqual(counts.keys, perKey, 'each key counted 1, 2, ... once each');
    });
  }
});
