// The reference cluster: Apache Kafka (pinned in reference/pom.xml) run natively in KRaft combined mode,
// one JVM per node. Used by `npm run reference` and by the compatibility runner, which also stops and
// restarts single nodes for the failover scenarios.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { probeMetadata } from './probe.ts';

export const REFERENCE_DIR = path.dirname(fileURLToPath(import.meta.url));
/** A fixed cluster id (base64url of "kstack-reference") so a data dir can be reused across runs. */
export const CLUSTER_ID = 'a3N0YWNrLXJlZmVyZW5jZQ';
export const HOST = '127.0.0.1';
/** Controller ports sit this far above the broker ports: base 19092 gives controllers from 19142. */
export const CONTROLLER_PORT_OFFSET = 50;
/** Three JVMs share 2 cores and 24 GiB: 1 GiB of heap each leaves room for clients and the OS. */
const HEAP_OPTS = [
  '-Xms256m',
  '-Xmx1g',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:+ExitOnOutOfMemoryError',
];
/**
 * How long start() and restart() wait for every node to answer Metadata. Three JVMs at load 40-50
 * missed a fixed 120 s; `KSTACK_REFERENCE_READY_TIMEOUT_MS` moves it (1 s to 30 minutes).
 */
const READY_TIMEOUT_MS_DEFAULT = 120_000;
const READY_TIMEOUT_MS_MAX = 30 * 60_000;
const READY_TIMEOUT_MS = readyTimeoutMs(process.env.KSTACK_REFERENCE_READY_TIMEOUT_MS);

function readyTimeoutMs(value: string | undefined): number {
  if (value === undefined || value === '') return READY_TIMEOUT_MS_DEFAULT;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1_000 || ms > READY_TIMEOUT_MS_MAX) {
    throw new Error(
      `KSTACK_REFERENCE_READY_TIMEOUT_MS=${value}: must be an integer of milliseconds from 1000 to ${READY_TIMEOUT_MS_MAX}`,
    );
  }
  return ms;
}
const STOP_TIMEOUT_MS = 30_000;

export function kafkaVersion(): string {
  const pom = fs.readFileSync(path.join(REFERENCE_DIR, 'pom.xml'), 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match?.[1]) throw new Error('reference/pom.xml: no <kafka.version> property');
  return match[1];
}

/** Where Maven copied the Kafka jars (scripts/setup/30-reference.sh); KSTACK_KAFKA_LIBS overrides it. */
export function kafkaLibsDir(): string {
  return (
    process.env.KSTACK_KAFKA_LIBS ??
    path.join(os.homedir(), '.cache', 'kstack', `kafka-${kafkaVersion()}`, 'libs')
  );
}

export function assertKafkaInstalled(): void {
  const libs = kafkaLibsDir();
  const serverJar = path.join(libs, `kafka_2.13-${kafkaVersion()}.jar`);
  if (!fs.existsSync(serverJar)) {
    throw new Error(
      `Apache Kafka ${kafkaVersion()} is not installed (${serverJar} is missing): run \`bash scripts/setup/30-reference.sh\` (or \`npm run setup\`)`,
    );
  }
}

export interface ClusterOptions {
  nodes: number;
  basePort: number;
  dataDir: string;
  /** Forward broker errors and launcher progress here; silent when missing. */
  log?: (line: string) => void;
  /**
   * Broker configs by Kafka name that replace or extend the defaults of `serverProperties`, for every
   * node, or per node when a function (e.g. `advertised.listeners`, which names each node's own port).
   */
  overrides?: Record<string, string> | ((node: NodeInfo) => Record<string, string>);
}

export interface NodeInfo {
  id: number;
  port: number;
  controllerPort: number;
  dir: string;
}

export function nodeLayout(options: ClusterOptions): NodeInfo[] {
  return Array.from({ length: options.nodes }, (_, index) => ({
    id: index + 1,
    port: options.basePort + index,
    controllerPort: options.basePort + CONTROLLER_PORT_OFFSET + index,
    dir: path.join(options.dataDir, `node-${index + 1}`),
  }));
}

/**
 * server.properties for one node. Cluster defaults follow the seeds: RF 3 and min ISR 2 on 3 nodes.
 * `overrides` (Kafka names and values) replace a default or add a setting.
 */
export function serverProperties(
  node: NodeInfo,
  all: NodeInfo[],
  overrides: Record<string, string> = {},
): string {
  const replication = Math.min(3, all.length);
  const minInsync = all.length >= 3 ? 2 : 1;
  const voters = all.map((n) => `${n.id}@${HOST}:${n.controllerPort}`).join(',');
  const lines: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://${HOST}:${node.port},CONTROLLER://${HOST}:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${node.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': path.join(node.dir, 'data'),
    'num.partitions': 1,
    'default.replication.factor': replication,
    'min.insync.replicas': minInsync,
    'offsets.topic.replication.factor': replication,
    // Kafka's default is 50 partitions; creating 50 replicated partitions on first group use costs seconds
    // on 2 cores and changes nothing a client can see beyond which partition holds a group.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': replication,
    'transaction.state.log.min.isr': minInsync,
    'share.coordinator.state.topic.replication.factor': replication,
    'share.coordinator.state.topic.min.isr': minInsync,
    // Kafka's default (true); the seeds do not change it. Scenarios with a broker profile turn it off.
    'auto.create.topics.enable': true,
    // Tests join groups constantly; Kafka's 3 s first-join delay only slows them down.
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 4,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (!/^[a-z][a-z0-9._-]*$/.test(key) || /[\r\n]/.test(value)) {
      throw new Error(
        `override ${JSON.stringify(key)}=${JSON.stringify(value)}: not a Kafka config name and value`,
      );
    }
    lines[key] = value;
  }
  return `${Object.entries(lines)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')}\n`;
}

function javaArgs(mainClass: string, extra: string[], logsDir: string, log4jFile: string): string[] {
  return [
    ...HEAP_OPTS,
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${logsDir}`,
    `-Dlog4j2.configurationFile=${log4jFile}`,
    '-cp',
    `${kafkaLibsDir()}/*`,
    mainClass,
    ...extra,
  ];
}

function formatStorage(node: NodeInfo, propertiesFile: string): void {
  const result = spawnSync(
    'java',
    [
      '-Xmx256m',
      `-Dlog4j2.configurationFile=${path.join(REFERENCE_DIR, 'tools-log4j2.properties')}`,
      '-cp',
      `${kafkaLibsDir()}/*`,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      CLUSTER_ID,
      '--config',
      propertiesFile,
      '--ignore-formatted',
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`kafka-storage format failed for node ${node.id}: ${result.stderr || result.stdout}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills a JVM left behind by an earlier launcher that died, if its pid file says it used this node dir. */
function killStale(node: NodeInfo): void {
  const pidFile = path.join(node.dir, 'jvm.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes(node.dir)) process.kill(pid, 'SIGKILL');
  } catch {
    // Not running any more.
  }
  fs.rmSync(pidFile, { force: true });
}

export class ReferenceCluster {
  readonly options: ClusterOptions;
  readonly nodes: NodeInfo[];
  private readonly processes = new Map<number, ChildProcess>();

  constructor(options: ClusterOptions) {
    if (![1, 2, 3, 4, 5].includes(options.nodes))
      throw new Error(`--nodes must be 1..5, got ${options.nodes}`);
    this.options = options;
    this.nodes = nodeLayout(options);
  }

  get bootstrap(): string {
    return this.nodes.map((n) => `${HOST}:${n.port}`).join(',');
  }

  overridesFor(node: NodeInfo): Record<string, string> {
    const { overrides } = this.options;
    return typeof overrides === 'function' ? overrides(node) : (overrides ?? {});
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Formats storage (once per data dir) and starts every node, then waits until all answer Metadata
   * (`readyTimeoutMs`: a caller that starts other JVMs beside these may wait longer).
   */
  async start(readyTimeoutMs = READY_TIMEOUT_MS): Promise<void> {
    assertKafkaInstalled();
    for (const node of this.nodes) {
      fs.mkdirSync(node.dir, { recursive: true });
      killStale(node);
      const propertiesFile = path.join(node.dir, 'server.properties');
      fs.writeFileSync(propertiesFile, serverProperties(node, this.nodes, this.overridesFor(node)));
      formatStorage(node, propertiesFile);
    }
    for (const node of this.nodes) this.spawnNode(node);
    await this.waitReady(
      this.nodes.map((n) => n.id),
      readyTimeoutMs,
    );
  }

  private spawnNode(node: NodeInfo): void {
    const args = javaArgs(
      'kafka.Kafka',
      [path.join(node.dir, 'server.properties')],
      node.dir,
      path.join(REFERENCE_DIR, 'log4j2.properties'),
    );
    const child = spawn('java', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid === undefined) throw new Error(`could not start java for node ${node.id}`);
    fs.writeFileSync(path.join(node.dir, 'jvm.pid'), String(child.pid));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) this.log(`[node ${node.id}] ${line}`);
    });
    child.on('exit', (code, signal) => {
      if (this.processes.get(node.id) === child) {
        this.processes.delete(node.id);
        this.log(`[node ${node.id}] exited (${signal ?? code})`);
      }
    });
    this.processes.set(node.id, child);
  }

  /** Waits until each listed node answers Metadata listing every running node. */
  async waitReady(ids: number[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const expected = [...this.processes.keys()].sort((a, b) => a - b).join(',');
    for (const id of ids) {
      const node = this.node(id);
      for (;;) {
        if (!this.processes.has(id)) {
          throw new Error(`node ${id} exited during startup: see ${path.join(node.dir, 'server.log')}`);
        }
        try {
          const brokers = await probeMetadata(HOST, node.port, 2000);
          if (brokers.join(',') === expected) break;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) {
          throw new Error(
            `node ${id} did not answer Metadata within ${timeoutMs} ms: see ${node.dir}/server.log`,
          );
        }
        await sleep(250);
      }
    }
  }

  node(id: number): NodeInfo {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  running(): number[] {
    return [...this.processes.keys()].sort((a, b) => a - b);
  }

  /** Stops one node: SIGTERM (controlled shutdown) or SIGKILL (a crash). */
  async stopNode(id: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.processes.get(id);
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    this.processes.delete(id);
    fs.rmSync(path.join(this.node(id).dir, 'jvm.pid'), { force: true });
  }

  /** Restarts a stopped node and waits until every running node sees it. */
  async startNode(id: number): Promise<void> {
    if (this.processes.has(id)) return;
    this.spawnNode(this.node(id));
    await this.waitReady(this.running());
  }

  /** Stops every node. With `kill`, skips controlled shutdown (for throw-away data dirs). */
  async stop(kill = false): Promise<void> {
    await Promise.all(this.running().map((id) => this.stopNode(id, kill ? 'SIGKILL' : 'SIGTERM')));
  }

  /** Synchronous last resort for process exit handlers. */
  killAllSync(): void {
    for (const [id, child] of this.processes) {
      child.kill('SIGKILL');
      fs.rmSync(path.join(this.node(id).dir, 'jvm.pid'), { force: true });
    }
    this.processes.clear();
  }

  /** True when a JVM of this cluster is still alive (for tests). */
  anyAlive(): boolean {
    return [...this.processes.values()].some((child) => child.pid !== undefined && pidAlive(child.pid));
  }
}
