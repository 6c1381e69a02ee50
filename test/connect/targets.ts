/**
 * The two clusters the Connect scenarios run against, each with one shared worker: `kstack up` (a
 * child process) or Apache Kafka (the reference launcher), and Kafka's Connect worker beside it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../../src/connect/clusters.ts';
import type { ConnectLogRecord } from '../../src/connect/log.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import type { ConnectTarget } from './scenarios.ts';

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
  close(): Promise<void>;
}

/**
 * Starts the cluster, then a worker on `workerPort`; `overrides` are worker properties (a restart may
 * add more). Whatever started is stopped again if a later step fails.
 */
export async function startTarget(
  kind: 'kstack' | 'reference',
  clusterPort: number,
  workerPort: number,
  extraOverrides: ReadonlyMap<string, string> = new Map(),
): Promise<RunningTarget> {
  const overrides = new Map([...TEST_WORKER_OVERRIDES, ...extraOverrides]);
  const dir = mkdtempSync(join(tmpdir(), `kstack-connect-${kind}-`));
  const cluster = await startCluster(kind, clusterPort, dir);
  let runs = 0;
  const logRecords: ConnectLogRecord[] = [];
  const joiners: ConnectWorker[] = [];
  const start = (port: number, runOverrides: ReadonlyMap<string, string>) => {
    runs += 1;
    const workDir = join(dir, `worker-${runs}`);
    mkdirSync(workDir, { recursive: true });
    return startConnectWorker({
      bootstrap: cluster.bootstrap,
      port,
      workDir,
      overrides: runOverrides,
      jvmOptions: TEST_JVM_OPTIONS,
      logLevel: 'info',
      logRecord: (record) => {
        logRecords.push(record);
        if (logRecords.length > LOG_RECORDS_KEPT_MAX) logRecords.shift();
      },
    });
  };
  let worker: ConnectWorker;
  try {
    worker = await start(workerPort, overrides);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const firstStartToReadyMs = worker.startToReadyMs;
  return {
    name: kind,
    bootstrap: cluster.bootstrap,
    dir,
    firstStartToReadyMs,
    logRecords,
    worker: () => worker,
    async restartWorker(between, restartOverrides, joinerPort) {
      await worker.stop();
      between?.();
      const properties = new Map([...overrides, ...(restartOverrides ?? [])]);
      const joining = joinerPort === undefined ? [] : [start(joinerPort, properties)];
      const [restarted, ...joined] = await Promise.allSettled([start(workerPort, properties), ...joining]);
      for (const result of joined) if (result.status === 'fulfilled') joiners.push(result.value);
      if (restarted?.status === 'fulfilled') worker = restarted.value;
      const failed = [restarted, ...joined].find((result) => result?.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      return worker;
    },
    joiners: () => joiners,
    async close() {
      await Promise.allSettled([worker.stop(), ...joiners.map((joiner) => joiner.stop())]);
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
