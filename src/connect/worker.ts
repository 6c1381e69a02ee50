/**
 * Apache Kafka's own Connect worker in distributed mode (`ConnectDistributed`), run as a child JVM
 * beside any Kafka cluster: the reference's jars (connect-runtime is among them) on the class path, the
 * shipped plugins (scripts/setup/50-connect.sh) and the user's own folders on `plugin.path`. Its state
 * lives in the cluster (the config, offset and status topics), so a worker restarted with the same
 * group id and topics finds its connectors and their source offsets again. Ready when Connect's own
 * `GET /health` (KIP-1017) says the worker has joined its group and read its config topic to the end.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { kafkaLibsDir, kafkaVersion } from '../../reference/cluster.ts';
import { probeMetadata } from '../../reference/probe.ts';
import type { LogLevel } from '../common/log.ts';
import {
  type ConnectLogRecord,
  formatRecord,
  LOG_LINE_CHARS_MAX,
  log4jProperties,
  parseLogLine,
} from './log.ts';

/** Connect's REST port in the Compose stack (KAFKA_CONNECT_PORT). */
export const CONNECT_PORT_DEFAULT = 8083;
/** The Compose stack's CONNECT_GROUP_ID and its internal topics (CONNECT_*_STORAGE_TOPIC). */
export const CONNECT_GROUP_ID_DEFAULT = 'kstack-connect';
export const CONFIG_STORAGE_TOPIC_DEFAULT = '_connect-configs';
export const OFFSET_STORAGE_TOPIC_DEFAULT = '_connect-offsets';
export const STATUS_STORAGE_TOPIC_DEFAULT = '_connect-status';
/** The stack's replication factor for the internal topics; fewer brokers get one replica each. */
export const INTERNAL_TOPIC_REPLICATION_FACTOR_MAX = 3;
/** The lowest Java Kafka 4.1's Connect runtime runs on. */
export const JAVA_VERSION_MIN = 17;
/** JVM start, plugin scan, joining the group and reading the config topic, on a loaded 2-core machine. */
export const READY_TIMEOUT_MS_DEFAULT = 240_000;
/** How long the worker may take to stop after SIGTERM (it commits source offsets) before SIGKILL. */
export const STOP_GRACE_MS_DEFAULT = 60_000;
/** The stack's KAFKA_HEAP_OPTS for kafka-connect. */
export const HEAP_OPTS_DEFAULT = '-Xms512m -Xmx512m';
/** Worker output kept for error reports. */
const OUTPUT_TAIL_BYTES = 16 * 1024;
const HEALTH_POLL_INTERVAL_MS = 250;
const HEALTH_REQUEST_TIMEOUT_MS = 5_000;
const METADATA_PROBE_TIMEOUT_MS = 10_000;

export interface ConnectWorkerOptions {
  /** HOST:PORT[,HOST:PORT…] of the cluster. */
  readonly bootstrap: string;
  /** REST listener; CONNECT_PORT_DEFAULT when missing (0 is refused: Connect needs to know its port). */
  readonly port?: number;
  readonly host?: string;
  readonly groupId?: string;
  /** Holds worker.properties and logs/server.log. */
  readonly workDir: string;
  /** The user's plugin folders, added to plugin.path after the shipped plugins. */
  readonly pluginDirs?: readonly string[];
  /** Worker properties set last, over everything else (e.g. exactly.once.source.support=enabled). */
  readonly overrides?: ReadonlyMap<string, string>;
  /**
   * The cluster's broker count, when the caller knows it: the Metadata probe that finds it is then
   * skipped, so the worker can start while the cluster is still starting (its clients wait for the
   * brokers within `default.api.timeout.ms`, an override).
   */
  readonly brokerCount?: number;
  readonly heapOpts?: string;
  /** More JVM options after the heap's (KAFKA_OPTS-like), e.g. `-XX:TieredStopAtLevel=1` in tests. */
  readonly jvmOptions?: readonly string[];
  readonly readyTimeoutMs?: number;
  /**
   * The lowest level of the worker's log events passed on (`logRecord`, else `log`); default error.
   * The full log is in `workDir/logs/server.log` at INFO whatever this says.
   */
  readonly logLevel?: LogLevel;
  /** Each log event of the worker at `logLevel` or above, as a record (the stack's structured stream). */
  readonly logRecord?: (record: ConnectLogRecord) => void;
  /** Lines: the events as text when `logRecord` is missing, and the JVM's own output (not log4j's). */
  readonly log?: (line: string) => void;
  /** Aborting it while the worker starts kills the JVM and rejects. */
  readonly signal?: AbortSignal;
}

export interface ConnectWorker {
  /** http://HOST:PORT of the REST API. */
  readonly url: string;
  readonly pid: number;
  /** ms from spawning the JVM to `GET /health` answering 200. */
  readonly startToReadyMs: number;
  /** The worker properties it runs with. */
  readonly properties: ReadonlyMap<string, string>;
  /** Resolves when the JVM has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (Connect stops its connectors and commits their offsets), SIGKILL after the grace. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: a crashed worker. */
  kill(): Promise<void>;
}

/** Where 50-connect.sh puts the shipped plugins; KSTACK_CONNECT_PLUGINS overrides it. */
export function shippedPluginsDir(): string {
  return (
    process.env.KSTACK_CONNECT_PLUGINS ??
    join(homedir(), '.cache', 'kstack', `connect-${kafkaVersion()}`, 'plugins')
  );
}

/** Java or the jars are missing: `kstack up` says so in one line and starts the rest of the stack. */
export class ConnectUnavailableError extends Error {
  override readonly name = 'ConnectUnavailableError';
}

/** Throws ConnectUnavailableError, saying what to run or install, when Java or the jars are missing. */
export async function assertConnectInstalled(): Promise<void> {
  const runtimeJar = join(kafkaLibsDir(), `connect-runtime-${kafkaVersion()}.jar`);
  if (!existsSync(runtimeJar)) {
    throw new ConnectUnavailableError(
      `Kafka Connect ${kafkaVersion()} is not installed (${runtimeJar} is missing): run \`bash scripts/setup/30-reference.sh\``,
    );
  }
  const plugins = shippedPluginsDir();
  if (!existsSync(plugins) || readdirSync(plugins).length === 0) {
    throw new ConnectUnavailableError(
      `the shipped Connect plugins are not installed (${plugins} is missing): run \`bash scripts/setup/50-connect.sh\``,
    );
  }
  const major = await javaMajorVersion();
  if (major === undefined) {
    throw new ConnectUnavailableError(
      `Kafka Connect needs a Java ${JAVA_VERSION_MIN}+ runtime and there is no \`java\` on PATH`,
    );
  }
  if (major < JAVA_VERSION_MIN) {
    throw new ConnectUnavailableError(
      `Kafka Connect needs Java ${JAVA_VERSION_MIN}+; \`java\` on PATH is Java ${major}`,
    );
  }
}

/** The major version of `java` on PATH, or undefined when there is none. */
export async function javaMajorVersion(): Promise<number | undefined> {
  try {
    const { stderr } = await promisify(execFile)('java', ['-version']);
    // `openjdk version "17.0.15" 2025-04-15`; Java 8 said "1.8.0_…".
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
    if (match === null) return undefined;
    const first = Number(match[1]);
    return first === 1 ? Number(match[2]) : first;
  } catch {
    return undefined;
  }
}

/** How many brokers the cluster lists, asked of the first bootstrap address that answers. */
export async function countBrokers(bootstrap: string): Promise<number> {
  const errors: string[] = [];
  for (const address of bootstrap.split(',')) {
    const at = address.lastIndexOf(':');
    try {
      const ids = await probeMetadata(
        address.slice(0, at),
        Number(address.slice(at + 1)),
        METADATA_PROBE_TIMEOUT_MS,
      );
      return ids.length;
    } catch (error) {
      errors.push(`${address}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no broker of ${bootstrap} answered Metadata (${errors.join('; ')})`);
}

/**
 * The worker's properties: the Compose stack's CONNECT_* settings (group, topics, converters), the
 * internal topics' replication factor min(3, brokers), the REST listener, plugin.path, then overrides.
 */
export function workerProperties(options: ConnectWorkerOptions, brokerCount: number): Map<string, string> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? CONNECT_PORT_DEFAULT;
  const replicationFactor = String(Math.min(INTERNAL_TOPIC_REPLICATION_FACTOR_MAX, brokerCount));
  const userPlugins = options.pluginDirs ?? [];
  const properties = new Map<string, string>([
    ['bootstrap.servers', options.bootstrap],
    ['group.id', options.groupId ?? CONNECT_GROUP_ID_DEFAULT],
    ['config.storage.topic', CONFIG_STORAGE_TOPIC_DEFAULT],
    ['offset.storage.topic', OFFSET_STORAGE_TOPIC_DEFAULT],
    ['status.storage.topic', STATUS_STORAGE_TOPIC_DEFAULT],
    ['config.storage.replication.factor', replicationFactor],
    ['offset.storage.replication.factor', replicationFactor],
    ['status.storage.replication.factor', replicationFactor],
    ['key.converter', 'org.apache.kafka.connect.storage.StringConverter'],
    ['value.converter', 'org.apache.kafka.connect.json.JsonConverter'],
    ['value.converter.schemas.enable', 'false'],
    ['listeners', `http://${host}:${port}`],
    ['rest.advertised.host.name', host],
    ['rest.advertised.port', String(port)],
    ['plugin.path', [shippedPluginsDir(), ...userPlugins].join(',')],
    // The shipped plugins all carry ServiceLoader manifests, so the worker need not scan every jar
    // of its class path; a user's folder may hold older plugins without them.
    ['plugin.discovery', userPlugins.length === 0 ? 'service_load' : 'hybrid_warn'],
  ]);
  for (const [name, value] of options.overrides ?? []) properties.set(name, value);
  return properties;
}

function renderProperties(properties: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  for (const [name, value] of properties) {
    if (/[\r\n]/.test(name + value)) throw new Error(`worker property ${name}: a line break is not allowed`);
    // A .properties file treats backslashes as escapes.
    lines.push(`${name}=${value.replace(/\\/g, '\\\\')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Starts the worker and resolves once its REST API says it is ready; rejects (JVM stopped) if not. */
export async function startConnectWorker(options: ConnectWorkerOptions): Promise<ConnectWorker> {
  await assertConnectInstalled();
  const brokerCount = options.brokerCount ?? (await countBrokers(options.bootstrap));
  const properties = workerProperties(options, brokerCount);
  const logsDir = join(options.workDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const propertiesFile = join(options.workDir, 'worker.properties');
  writeFileSync(propertiesFile, renderProperties(properties));
  const log4jFile = join(options.workDir, 'log4j2.properties');
  writeFileSync(log4jFile, log4jProperties(logsDir, options.logLevel ?? 'error'));
  const started = Date.now();
  const child = spawn(
    'java',
    [
      ...(options.heapOpts ?? HEAP_OPTS_DEFAULT).split(/\s+/).filter(Boolean),
      '-XX:+UseSerialGC',
      ...(options.jvmOptions ?? []),
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${logsDir}`,
      `-Dlog4j2.configurationFile=${log4jFile}`,
      '-cp',
      `${kafkaLibsDir()}/*`,
      'org.apache.kafka.connect.cli.ConnectDistributed',
      propertiesFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  const passOn = (line: string): void => {
    if (line === '') return;
    const record = parseLogLine(line);
    if (record === undefined) options.log?.(line);
    else if (options.logRecord !== undefined) options.logRecord(record);
    else options.log?.(formatRecord(record));
  };
  child.stdout?.on('data', byLine(keep, passOn));
  child.stderr?.on('data', byLine(keep, passOn));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((value) => {
    exit = value;
  });
  const url = `http://${properties.get('rest.advertised.host.name')}:${options.port ?? CONNECT_PORT_DEFAULT}`;
  const stop = (graceMs = STOP_GRACE_MS_DEFAULT) => stopChild(child, exited, graceMs);
  const timeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT;
  const abort = () => void stop(0);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await waitReady();
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  return {
    url,
    pid: child.pid ?? -1,
    startToReadyMs: Date.now() - started,
    properties,
    exited,
    stop,
    kill: () => stopChild(child, exited, 0),
  };

  async function waitReady(): Promise<void> {
    for (;;) {
      if (options.signal?.aborted) {
        await stop(0);
        throw new Error('the Connect worker was stopped before it was ready');
      }
      if (exit !== undefined) {
        throw new Error(
          `the Connect worker exited (${exit.signal ?? `code ${exit.code}`}) before it was ready; see ${join(logsDir, 'server.log')}${tail(output)}`,
        );
      }
      if (await healthy(url)) return;
      if (Date.now() - started > timeoutMs) {
        await stop(0);
        throw new Error(
          `the Connect worker was not ready within ${timeoutMs} ms (GET ${url}/health); see ${join(logsDir, 'server.log')}${tail(output)}`,
        );
      }
      await sleep(HEALTH_POLL_INTERVAL_MS);
    }
  }
}

/** A 'data' listener: every chunk to `keep`, each whole line (cut at LOG_LINE_CHARS_MAX) to `line`. */
function byLine(keep: (chunk: Buffer) => void, line: (text: string) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    keep(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    // A line with no end yet is held only up to the bound; the rest of it is dropped.
    if (partial.length > LOG_LINE_CHARS_MAX) partial = partial.slice(0, LOG_LINE_CHARS_MAX);
    for (const text of lines)
      line(text.length > LOG_LINE_CHARS_MAX ? text.slice(0, LOG_LINE_CHARS_MAX) : text);
  };
}

function tail(output: string): string {
  const lines = output.trim().split('\n').slice(-10).join('\n');
  return lines === '' ? '' : `:\n${lines}`;
}

/** Connect's KIP-1017 health endpoint: 200 once the worker has started and joined its group. */
async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, {
      signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  if (graceMs > 0) {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    return;
  }
  await exited;
}
