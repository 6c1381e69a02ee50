/**
 * The two clusters the Connect scenarios run against, each with one shared worker: `kstack up` (a
 * child process) or Apache Kafka (the reference launcher), and Kafka's Connect worker beside it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../../src/connect/clusters.ts';
import { type ConnectCompanion, startConnectCompanion } from '../../src/connect/companion.ts';
import type { ConnectLogRecord } from '../../src/connect/log.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import { type ConnectTarget, waitFor } from './scenarios.ts';

/**
 * Source offsets are committed every offset.flush.interval.ms (60 s by default) and at a clean stop;
 * 5 s lets a test see the committed position without waiting a minute.
 */
const TEST_WORKER_OVERRIDES: ReadonlyMap<string, string> = new Map([['offset.flush.interval.ms', '5000']]);

/**
 * The client JIT only: the two cores are not shared with C2's compiler threads while the worker
 * starts (the tests check behaviour; the benchmark and `kstack connect` run the default JIT).
 */
const TEST_JVM_OPTIONS: readonly string[] = ['-XX:TieredStopAtLevel=1'];

/** The workers' log events kept for the tests (the latest). */
const LOG_RECORDS_KEPT_MAX = 20_000;

export interface RunningTarget extends ConnectTarget {
  /** The workers a restart started beside the worker (`joinerPort`), stopped by close(). */
  joiners(): readonly ConnectWorker[];
  /** The workers' log events at INFO and above, as the stack's stream gets them (the latest kept). */
  readonly logRecords: readonly ConnectLogRecord[];
  /** ms from spawning the first worker's JVM to its REST API ready. */
  readonly firstStartToReadyMs: number;
  /**
   * With `supervised`, the first worker's supervisor (src/connect/companion.ts, as `kstack up` runs
   * it) until the first restart, which closes it and starts plain workers; its lines in
   * `supervisorLines`.
   */
  supervisor(): ConnectCompanion | undefined;
  readonly supervisorLines: readonly string[];
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the cluster, then a worker on `workerPort` (`supervised`: under the companion's supervisor);
 * `overrides` are worker properties (a restart may add more). Whatever started is stopped again if a
 * later step fails.
 */
export async function startTarget(
  kind: 'kstack' | 'reference',
  clusterPort: number,
  workerPort: number,
  extraOverrides: ReadonlyMap<string, string> = new Map(),
  referenceNodes = 1,
  supervised = false,
): Promise<RunningTarget> {
  const overrides = new Map([...TEST_WORKER_OVERRIDES, ...extraOverrides]);
  const dir = mkdtempSync(join(tmpdir(), `kstack-connect-${kind}-`));
  const cluster = await startCluster(kind, clusterPort, dir, referenceNodes);
  let runs = 0;
  const logRecords: ConnectLogRecord[] = [];
  const joiners: ConnectWorker[] = [];
  const logRecord = (record: ConnectLogRecord) => {
    logRecords.push(record);
    if (logRecords.length > LOG_RECORDS_KEPT_MAX) logRecords.shift();
  };
  const nextWorkDir = () => {
    runs += 1;
    const workDir = join(dir, `worker-${runs}`);
    mkdirSync(workDir, { recursive: true });
    return workDir;
  };
  const start = (port: number, runOverrides: ReadonlyMap<string, string>) =>
    startConnectWorker({
      bootstrap: cluster.bootstrap,
      port,
      workDir: nextWorkDir(),
      overrides: runOverrides,
      jvmOptions: TEST_JVM_OPTIONS,
      logLevel: 'info',
      logRecord,
    });
  const supervisorLines: string[] = [];
  let supervisor: ConnectCompanion | undefined;
  let worker: ConnectWorker;
  try {
    if (supervised) {
      supervisor = await startConnectCompanion({
        bootstrap: cluster.bootstrap,
        port: workerPort,
        workDir: nextWorkDir(),
        overrides,
        jvmOptions: TEST_JVM_OPTIONS,
        logLevel: 'info',
        logRecord,
        log: (line) => supervisorLines.push(line),
      });
      const running = supervisor;
      worker = await waitFor('the supervised worker ready', () => running.worker);
    } else worker = await start(workerPort, overrides);
  } catch (error) {
    await supervisor?.close();
    await cluster.stop();
    throw error;
  }
  const firstStartToReadyMs = worker.startToReadyMs;
  const current = () => supervisor?.worker ?? worker;
  /** Stops the supervisor and its worker (SIGTERM), which leaves no JVM; from then on, plain workers. */
  const closeSupervisor = async (running: ConnectCompanion) => {
    const pid = running.worker?.pid;
    await running.close();
    supervisor = undefined;
    if (pid !== undefined && alive(pid))
      throw new Error(`the supervised worker's JVM ${pid} still runs after close()`);
  };
  return {
    name: kind,
    bootstrap: cluster.bootstrap,
    dir,
    firstStartToReadyMs,
    logRecords,
    worker: current,
    supervisor: () => supervisor,
    supervisorLines,
    async restartWorker(between, restartOverrides, joinerPort) {
      if (supervisor === undefined) await worker.stop();
      else await closeSupervisor(supervisor);
      between?.();
      const properties = new Map([...overrides, ...(restartOverrides ?? [])]);
      // The second worker starts once the first is ready: the first, alone, leads the group and fences
      // its exactly-once tasks itself. Started at once, a task on the second could forward its fencing
      // to a leader that has not yet taken the session key from the config topic (Connect's race,
      // KAFKA-17252), and Connect does not restart the task that fails on it.
      worker = await start(workerPort, properties);
      if (joinerPort !== undefined) joiners.push(await start(joinerPort, properties));
      return worker;
    },
    joiners: () => joiners,
    async close() {
      await Promise.allSettled([
        supervisor === undefined ? worker.stop() : supervisor.close(),
        ...joiners.map((joiner) => joiner.stop()),
      ]);
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
