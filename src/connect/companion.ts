/**
 * The Connect worker as a companion of `kstack up`: started in the background (the JVM takes 15-45 s
 * to be ready on a loaded machine, which `kstack up` does not wait for), supervised like a broker —
 * restarted with a growing backoff when it exits on its own — and stopped on close. Its REST URL is
 * known at once; a line says when it is ready, or why it stopped.
 */
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, LogLevel } from '../common/log.ts';
import type { ConnectLogRecord } from './log.ts';
import { assertConnectInstalled, type ConnectWorker, startConnectWorker } from './worker.ts';

/** The first restart waits this long; each one in a row doubles it, up to the maximum. */
export const RESTART_BACKOFF_MS_MIN = 1_000;
export const RESTART_BACKOFF_MS_MAX = 60_000;
/** A worker that ran this long before it exited starts again with the shortest backoff. */
export const RESTART_BACKOFF_RESET_AFTER_MS = 300_000;

export interface ConnectCompanionOptions {
  readonly bootstrap: string;
  readonly port: number;
  /** worker.properties and logs; `.data/connect-PORT` when missing (as `kstack connect`). */
  readonly workDir?: string;
  readonly pluginDirs?: readonly string[];
  readonly overrides?: ReadonlyMap<string, string>;
  /**
   * The cluster's broker count when known: the worker then starts without asking the cluster (which
   * may still be starting: give `default.api.timeout.ms` in `overrides` to say how long it waits).
   */
  readonly brokerCount?: number;
  /**
   * The stack's structured stream (component kafka-connect): the companion's own lines (ready,
   * exited, restarting) and the worker's log events at this logger's level, with their Kafka names.
   */
  readonly logger?: Logger;
  /** Without `logger`: one line each (ready, exited, restarting; the worker's errors). */
  readonly log?: (line: string) => void;
  /** Without `logger`: the worker's log events at `logLevel` (default error) as records. */
  readonly logRecord?: (record: ConnectLogRecord) => void;
  readonly logLevel?: LogLevel;
  /** Added to the JVM's options (the tests run the client JIT only). */
  readonly jvmOptions?: readonly string[];
}

export interface ConnectCompanion {
  readonly url: string;
  /** The running worker, or undefined while it starts or waits to restart. */
  readonly worker: ConnectWorker | undefined;
  /** How many times the worker has become ready (1 after the first start). */
  readonly starts: number;
  close(): Promise<void>;
}

/**
 * Rejects at once with ConnectUnavailableError, naming what is missing, when there is no Java 17+ or
 * no jars: `kstack up` then says so in one line and goes on without Connect. Otherwise resolves without waiting for the worker.
 */
export async function startConnectCompanion(options: ConnectCompanionOptions): Promise<ConnectCompanion> {
  await assertConnectInstalled();
  await assertPortFree(options.port);
  const { logger } = options;
  const lineLog = options.log ?? (() => {});
  const say = (level: 'info' | 'warn', line: string): void => {
    if (logger === undefined) lineLog(line);
    else logger[level](line);
  };
  const logRecord =
    logger === undefined ? options.logRecord : (record: ConnectLogRecord) => toStream(logger, record);
  const logLevel = logger?.level ?? options.logLevel;
  const workDir = resolve(options.workDir ?? `.data/connect-${options.port}`);
  say(
    'info',
    `Kafka Connect worker starting on port ${options.port}; its full log (INFO) in ${join(workDir, 'logs', 'server.log')}`,
  );
  const controller = new AbortController();
  let worker: ConnectWorker | undefined;
  let starts = 0;
  const supervise = async (): Promise<void> => {
    let backoffMs = RESTART_BACKOFF_MS_MIN;
    while (!controller.signal.aborted) {
      const startedAt = Date.now();
      try {
        worker = await startConnectWorker({
          bootstrap: options.bootstrap,
          port: options.port,
          workDir,
          signal: controller.signal,
          log: (line) => say('warn', line),
          ...(logLevel === undefined ? {} : { logLevel }),
          ...(options.jvmOptions === undefined ? {} : { jvmOptions: options.jvmOptions }),
          ...(logRecord === undefined ? {} : { logRecord }),
          ...(options.brokerCount === undefined ? {} : { brokerCount: options.brokerCount }),
          ...(options.pluginDirs === undefined ? {} : { pluginDirs: options.pluginDirs }),
          ...(options.overrides === undefined ? {} : { overrides: options.overrides }),
        });
        starts += 1;
        say('info', `Kafka Connect ready at ${worker.url} in ${worker.startToReadyMs} ms`);
        const exit = await worker.exited;
        worker = undefined;
        if (controller.signal.aborted) return;
        say('warn', `Kafka Connect worker exited (${exit.signal ?? `code ${exit.code}`})`);
      } catch (error) {
        worker = undefined;
        if (controller.signal.aborted) return;
        say('warn', `Kafka Connect worker failed: ${(error as Error).message.split('\n')[0]}`);
      }
      if (Date.now() - startedAt > RESTART_BACKOFF_RESET_AFTER_MS) backoffMs = RESTART_BACKOFF_MS_MIN;
      say('info', `Kafka Connect worker restarting in ${backoffMs} ms`);
      await sleep(backoffMs, undefined, { signal: controller.signal }).catch(() => undefined);
      backoffMs = Math.min(backoffMs * 2, RESTART_BACKOFF_MS_MAX);
    }
  };
  const supervising = supervise();
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${options.port}`,
    get worker() {
      return worker;
    },
    get starts() {
      return starts;
    },
    close() {
      // Once: kstack up may close it both on its stop signal and with the other companions.
      closing ??= (async () => {
        controller.abort();
        await worker?.stop();
        await supervising;
      })();
      return closing;
    },
  };
}

/** A worker's log event in the stack's stream, at its level, with Kafka's names as fields. */
function toStream(logger: Logger, record: ConnectLogRecord): void {
  logger[record.level](record.message, {
    logger: record.logger,
    connector: record.connector,
    task: record.task,
    error: record.error,
  });
}

/**
 * The worker starts in the background, where a taken port would only show as restarts: as with the
 * other companions, `kstack up` refuses at once, naming the port.
 */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(new Error(`port ${port} is taken (${(error as Error).message})`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort()));
  });
}
