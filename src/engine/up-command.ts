/**
 * `kstack up [--brokers N] [--data-dir DIR] [--env-file F] [--compose FILE] [--port P]`: starts
 * the embedded broker (or, with N > 1, a cluster of N node processes: src/engine/cluster.ts) in the
 * foreground, each broker with the settings of its own Compose broker service (src/topology),
 * creates the stack's baseline topics, serves the companions, prints the bootstrap servers, and
 * stops cleanly (answering in-flight requests, closing logs) on Ctrl-C or SIGTERM.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker } from '../broker/broker.ts';
import { BROKER_CONFIG_BY_NAME, BROKER_CONFIGS } from '../broker/config.ts';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  createLogger,
  LOG_LEVEL_DEFAULT,
  LOG_LEVELS,
  type LogLevel,
  logKafkaEvents,
  parseLogLevel,
} from '../common/log.ts';
import type { ConnectCompanion } from '../connect/companion.ts';
import { interBrokerLink } from '../security/inter-broker.ts';
import { type ListenerAddress, parseListenerList, resolveListeners } from '../security/listeners.ts';
import { applyTopicsFile } from '../tools/topics-command.ts';
import { defaultComposeFile, loadTopology, type Topology } from '../topology/compose.ts';
import {
  clusterDefaults,
  describePlan,
  type EmbeddedBrokerPlan,
  embeddedClusterPlans,
} from '../topology/embedded.ts';
import { readTopicsFile, type TopicsFile } from '../topology/topics.ts';
import { type CompanionOptions, type Companions, startCompanions, startStackConnect } from './companions.ts';
import { readEnvFile } from './env-file.ts';
import {
  CRASH_LOOP_EXITS_MAX,
  CRASH_LOOP_WINDOW_MS,
  FAULT_CONTROL_PORT_OFFSET,
  NODE_BROKER_PORT_OFFSET,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
} from './fault-limits.ts';
import { type AdvertisedAddress, parseAdvertisedListeners } from './listeners.ts';

/** The env variable of the first broker's host port (the Docker stack's `kafka-1`). */
export const FIRST_BROKER_PORT_VARIABLE = 'KAFKA_1_EXTERNAL_PORT';
export const DEFAULT_PORT = 9092;
export const DEFAULT_DATA_DIR = '.data/kstack';

/**
 * Brokers `kstack up` starts when neither `--brokers` nor a Compose stack says how many: the seeds'
 * cluster (kafka-1..3, issue 12). With a stack, its broker services' count is the default.
 */
export const DEFAULT_BROKERS = 3;
/** Nodes of a cluster: every one is a voter of the metadata quorum, so at most this many. */
const CLUSTER_NODES_MAX = 9;
/** How long the baseline topics may take to create. */
const BASELINE_TOPICS_TIMEOUT_MS = 30_000;

const HELP = `usage: kstack up [--brokers N] [--data-dir DIR] [--env-file F] [--compose FILE | --no-compose]
                 [--no-companions] [--port P] [--host H] [--metrics-port P] [--override K=V]...
                 [--print-config] [--fault-port P] [--no-fault-proxies] [--no-restart]
                 [--no-connect | --connect-plugins DIR...] [--log-level L]

Starts the embedded Kafka-compatible brokers in the foreground (three by default, each its own
process; --brokers 1 for one). Ctrl-C stops them.
Each broker's settings come from its Compose broker service (kafka-1, kafka-2, ... by node id:
its KAFKA_* environment by the cp-kafka image's rule, its published port), then --override; the
baseline topics from kafka-init's file are created once the brokers serve, then the companions
start. Settings the engine does not implement are listed at start, per service.
  --brokers N     brokers to start: by default as many as the Compose stack declares (the
                  project's: 3), else ${DEFAULT_BROKERS}. N > 1 (at most ${CLUSTER_NODES_MAX}): N broker+controller
                  node processes (one metadata quorum), node ids and ports from the Compose
                  services (else 1..N on P..P+N-1), controllers 50 above; without a stack
                  RF min(3, N), min ISR min(2, N). --brokers 1: one broker in this process
  --data-dir DIR  where logs and metadata live (default ${DEFAULT_DATA_DIR})
  --env-file F    the stack's env file (default .env, else .env.example): interpolates the
                  Compose files; without them, F's ${FIRST_BROKER_PORT_VARIABLE} gives the port
  --compose FILE  the root Compose file (default docker-compose.yml here, when there and
                  neither --port nor --base-port is given)
  --no-compose    Kafka's defaults and no baseline topics, even beside a Compose stack
  --no-companions the brokers only: none of the Schema Registry, REST proxy and Kafka
                  exporter that the Compose stack declares (each on its published port)
  --no-connect    the other companions, without the Kafka Connect worker (a JVM)
  --connect-plugins DIR  the user's Connect plugin folder (jars or unpacked plugins), after
                  the shipped plugins on the worker's plugin.path (repeatable)
  --log-level L   ${LOG_LEVELS.join(', ')} (default ${LOG_LEVEL_DEFAULT}): the stack's log stream on stderr
                  (the supervisor's lines, the Kafka Connect worker's log as component
                  kafka-connect; its full log at INFO stays in DATA_DIR/connect/logs/server.log)
  --print-config  print each effective broker config and where it comes from, then exit
  --port P        the broker's port (overrides the Compose/env port; default ${DEFAULT_PORT})
  --base-port P   the first broker's port; the i-th broker listens on P+i-1 (same as --port)
  --host H        the address to bind and advertise (default 127.0.0.1)
  --metrics-port P  serve Prometheus metrics on http://HOST:P/metrics (Kafka's JMX exporter
                  names; the Docker stack's agent port is 7071); the i-th broker of a cluster
                  on P+i-1; none unless given
  --override K=V  a broker config by Kafka name (repeatable), e.g. --override num.partitions=3;
                  advertised.listeners=PLAINTEXT://HOST:PORT is the address clients are given
                  (a proxy or published port in front of the broker; the i-th broker of a
                  cluster is given HOST:PORT+i-1);
                  listeners=PLAINTEXT://H:P,SASL_SSL://H:P2 with listener.security.protocol.map,
                  sasl.enabled.mechanisms, listener.name.<l>.plain.sasl.jaas.config and
                  ssl.keystore.* (PEM) opens several listeners (src/security/README.md); the
                  i-th broker of a cluster gets every listener's port + i-1 (advertised too),
                  the nodes replicate through inter.broker.listener.name (default: the
                  listener named PLAINTEXT; a SASL one logs in with
                  sasl.mechanism.inter.broker.protocol and the username/password of its JAAS
                  config); the fault proxies stand in front of the first listener only, the
                  other listeners are reached directly (isolate/slow do not cut them)
  --fault-port P  a cluster's fault control (HTTP; \`kstack fault --help\`) on P (default: the
                  first broker's port + ${FAULT_CONTROL_PORT_OFFSET}; 0: a free port, printed)
  --no-fault-proxies  no TCP proxies in front of a cluster's listeners: each node listens on its
                  own port, and isolate and slow are refused (kill, pause, restart still work)
  --no-restart    a cluster node that exits on its own is reported, not restarted (default:
                  restarted after a backoff of ${RESTART_BACKOFF_INITIAL_MS} ms doubling to ${RESTART_BACKOFF_MAX_MS} ms; after more than
                  ${CRASH_LOOP_EXITS_MAX} exits in ${CRASH_LOOP_WINDOW_MS / 1000} s the supervisor gives up on that node)
`;

/**
 * `--override listeners` (and `advertised.listeners`) for `--brokers N`: node i (from 0) gets
 * every listener's port + i, bound and advertised alike. Behind the fault proxies the first
 * listener (the client one) binds NODE_BROKER_PORT_OFFSET higher and is advertised at the
 * proxy's port; the other listeners have no proxy. Other settings (protocol map, SASL, SSL)
 * are the same on every node.
 */
function listenersPerNode(
  overrides: Readonly<Record<string, string>>,
  host: string,
  brokers: number,
  faultProxies: boolean,
): { firstPort: number; configs: Record<string, string>[] } {
  let bound: ListenerAddress[];
  let advertised: ListenerAddress[];
  try {
    bound = parseListenerList('listeners', overrides.listeners ?? '', host);
    const given = overrides['advertised.listeners'];
    advertised = given === undefined ? [] : parseListenerList('advertised.listeners', given, host);
  } catch (error) {
    throw new UsageError(`--override ${(error as Error).message}`);
  }
  for (const entry of advertised) {
    if (!bound.some(({ name }) => name === entry.name)) {
      throw new UsageError(
        `--override advertised.listeners: ${entry.name} is not one of listeners (${bound.map(({ name }) => name).join(', ')})`,
      );
    }
  }
  for (const entry of [...bound, ...advertised]) {
    if (entry.port === 0 || entry.port + brokers - 1 > 65535) {
      throw new UsageError(
        `--override listeners: ${entry.name} port ${entry.port} cannot be shifted for ${brokers} brokers (node i listens on port + i - 1, 1-65535)`,
      );
    }
  }
  const first = bound[0]!;
  // The nodes replicate through the inter-broker listener (Kafka's default: the one named
  // PLAINTEXT): refused here, before any node starts, as each node would refuse it.
  try {
    interBrokerLink(
      resolveListeners(
        {
          listeners: overrides.listeners,
          securityProtocolMap: overrides['listener.security.protocol.map'],
        },
        host,
        first.port,
      ),
      (name) => overrides[name],
      true,
    );
  } catch (error) {
    throw new UsageError(`--override: ${(error as Error).message}`);
  }
  const configs = Array.from({ length: brokers }, (_, i) => {
    const shift = (entry: ListenerAddress, by: number): string =>
      `${entry.name}://${entry.host.includes(':') ? `[${entry.host}]` : entry.host}:${entry.port + i + by}`;
    const listeners = bound.map((entry) =>
      shift(entry, entry === first && faultProxies ? NODE_BROKER_PORT_OFFSET : 0),
    );
    const advertisedList = bound.map((entry) =>
      shift(advertised.find(({ name }) => name === entry.name) ?? entry, 0),
    );
    return { listeners: listeners.join(','), 'advertised.listeners': advertisedList.join(',') };
  });
  return { firstPort: first.port, configs };
}

function parsePort(text: string, where: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${where}: '${text}' is not a port number (0-65535)`);
  }
  return port;
}

export interface UpOptions {
  readonly port: number;
  /** The Compose stack read, and what each embedded broker makes of its broker service. */
  readonly topology?: {
    readonly file: string;
    readonly topology: Topology;
    /** The first broker's plan (`plans[0]`). */
    readonly plan: EmbeddedBrokerPlan;
    /** One per broker started, in node order: kafka-1, kafka-2, ... */
    readonly plans: readonly EmbeddedBrokerPlan[];
    readonly topicsFile: TopicsFile | undefined;
  };
  /** Each broker's node id and port, in order (one entry for one broker; `port` is the first's). */
  readonly nodes: readonly { readonly nodeId: number; readonly port: number }[];
  readonly printConfig: boolean;
  readonly host: string;
  readonly dataDir: string;
  readonly brokers: number;
  /** Broker configs by Kafka name (`--override name=value`, as kafka-server-start takes them). */
  readonly overrides: Record<string, string>;
  /** What Metadata tells clients, from `--override advertised.listeners=PLAINTEXT://HOST:PORT`. */
  readonly advertised?: AdvertisedAddress;
  /** Where `/metrics` is served (`--metrics-port`); none when undefined. */
  readonly metricsPort?: number;
  /** Serve the stack's companions (registry, REST proxy, exporter) beside the broker; `--no-companions` says no. */
  readonly companions: boolean;
  /** Start the Connect worker the stack declares; `--no-connect` says no. */
  readonly connect: boolean;
  /** `--connect-plugins DIR` (absolute, each an existing folder), on the worker's plugin.path. */
  readonly connectPlugins: readonly string[];
  /** A cluster's fault-control port (`--fault-port`); the default offset when undefined. */
  readonly faultPort?: number;
  /** Proxies in front of a cluster's listeners (isolate, slow); `--no-fault-proxies` says no. */
  readonly faultProxies: boolean;
  /**
   * A cluster's `listeners`/`advertised.listeners` per node (`--override listeners` with
   * `--brokers` > 1): each listener's port + i for the i-th node from 0.
   */
  readonly nodeListeners?: readonly Readonly<Record<string, string>>[];
  /** Restart a cluster node that exits on its own; `--no-restart` says no. */
  readonly restart: boolean;
  /** The stack's log stream's level (`--log-level`): the supervisor's and the Connect worker's lines. */
  readonly logLevel: LogLevel;
}

export function parseUpArgs(args: readonly string[]): UpOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  const { values } = parsed;
  if (values.help === true) return 'help';
  const brokersGiven = values.brokers === undefined ? undefined : Number(values.brokers);
  if (brokersGiven !== undefined && (!Number.isInteger(brokersGiven) || brokersGiven < 1)) {
    throw new UsageError(`--brokers: '${values.brokers}' is not a positive whole number`);
  }
  if (brokersGiven !== undefined && brokersGiven > CLUSTER_NODES_MAX) {
    throw new UsageError(
      `--brokers ${brokersGiven}: at most ${CLUSTER_NODES_MAX} nodes (each is a quorum voter)`,
    );
  }
  const stack = readStack(values);
  const brokers =
    brokersGiven ?? Math.min(stack?.topology.brokers.length ?? DEFAULT_BROKERS, CLUSTER_NODES_MAX);
  const topology = stack === undefined ? undefined : planStack(stack, brokers);
  let port = DEFAULT_PORT;
  if (topology?.plan.hostPort !== undefined) {
    port = topology.plan.hostPort;
  } else {
    const envFile =
      values['env-file'] ??
      (existsSync('.env') ? '.env' : existsSync('.env.example') ? '.env.example' : undefined);
    if (envFile !== undefined) {
      const env = readEnvFile(envFile);
      const fromEnv = env.get(FIRST_BROKER_PORT_VARIABLE);
      if (fromEnv !== undefined) port = parsePort(fromEnv, `${envFile}: ${FIRST_BROKER_PORT_VARIABLE}`);
    }
  }
  if (values['base-port'] !== undefined) port = parsePort(values['base-port'], '--base-port');
  if (values.port !== undefined) port = parsePort(values.port, '--port');
  const portGiven = values['base-port'] !== undefined || values.port !== undefined;
  const nodes = Array.from({ length: brokers }, (_, i) => {
    const plan = topology?.plans[i];
    const hostPort = portGiven ? undefined : plan?.hostPort;
    const node: { nodeId: number; port: number } = {
      nodeId: plan?.nodeId ?? i + 1,
      port: hostPort ?? port + i,
    };
    return node;
  });
  const overrides: Record<string, string> = {};
  for (const item of values.override ?? []) {
    const at = item.indexOf('=');
    if (at <= 0)
      throw new UsageError(`--override: '${item}' is not name=value (e.g. --override num.partitions=3)`);
    const name = item.slice(0, at).trim();
    const liveness = name === 'broker.session.timeout.ms' || name === 'broker.heartbeat.interval.ms';
    if (!BROKER_CONFIG_BY_NAME.has(name) && !name.startsWith('listener.name.') && !liveness) {
      throw new UsageError(
        `--override: '${name}' is not a broker config kstack knows (see src/broker/config.ts)`,
      );
    }
    overrides[name] = item.slice(at + 1).trim();
  }
  const host = values.host ?? '127.0.0.1';
  let advertised: AdvertisedAddress | undefined;
  const listeners = overrides['advertised.listeners'];
  // With `listeners` given, the broker reads both settings itself (several listeners, src/security).
  if (listeners !== undefined && overrides.listeners === undefined) {
    try {
      advertised = parseAdvertisedListeners(listeners, host);
    } catch (error) {
      throw new UsageError(`--override ${(error as Error).message}`);
    }
  }
  const faultProxies = values['no-fault-proxies'] !== true;
  const nodeListeners =
    brokers > 1 && overrides.listeners !== undefined
      ? listenersPerNode(overrides, host, brokers, faultProxies)
      : undefined;
  if (nodeListeners !== undefined) {
    // Node i's client (first) listener is its front door: the cluster's bootstrap and the proxy's port.
    for (const [i, node] of nodes.entries()) node.port = nodeListeners.firstPort + i;
    port = nodeListeners.firstPort;
  }
  let logLevel: LogLevel = LOG_LEVEL_DEFAULT;
  if (values['log-level'] !== undefined) {
    try {
      logLevel = parseLogLevel(values['log-level']);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const metricsPort =
    values['metrics-port'] === undefined ? undefined : parsePort(values['metrics-port'], '--metrics-port');
  return {
    overrides,
    advertised,
    topology,
    printConfig: values['print-config'] === true,
    metricsPort,
    companions: values['no-companions'] !== true,
    connect: values['no-connect'] !== true,
    connectPlugins: connectPluginFolders(values['connect-plugins'] ?? [], values['no-connect'] === true),
    faultPort:
      values['fault-port'] === undefined ? undefined : parsePort(values['fault-port'], '--fault-port'),
    faultProxies,
    ...(nodeListeners === undefined ? {} : { nodeListeners: nodeListeners.configs }),
    restart: values['no-restart'] !== true,
    logLevel,
    port,
    nodes,
    host,
    dataDir: resolve(values['data-dir'] ?? DEFAULT_DATA_DIR),
    brokers,
  };
}

/** `--connect-plugins` folders, absolute; each must be an existing folder. */
function connectPluginFolders(dirs: readonly string[], noConnect: boolean): string[] {
  if (noConnect && dirs.length > 0)
    throw new UsageError('--connect-plugins and --no-connect exclude each other');
  return dirs.map((dir) => {
    const folder = resolve(dir);
    let isFolder = false;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch {
      // Missing: said below.
    }
    if (!isFolder) throw new UsageError(`--connect-plugins ${dir}: no such folder (${folder})`);
    return folder;
  });
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      brokers: { type: 'string' },
      'data-dir': { type: 'string' },
      'env-file': { type: 'string' },
      port: { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      'metrics-port': { type: 'string' },
      override: { type: 'string', multiple: true },
      compose: { type: 'string' },
      'no-compose': { type: 'boolean' },
      'no-companions': { type: 'boolean' },
      'no-connect': { type: 'boolean' },
      'connect-plugins': { type: 'string', multiple: true },
      'print-config': { type: 'boolean' },
      'fault-port': { type: 'string' },
      'no-fault-proxies': { type: 'boolean' },
      'no-restart': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

type UpValues = ReturnType<typeof parse>['values'];

/**
 * The Compose stack `kstack up` follows: `--compose FILE`, else `docker-compose.yml` in the
 * working folder unless a port flag places the broker itself (the test harnesses do, and
 * expect Kafka's defaults), else none (the package on its own: Kafka's defaults).
 */
function readStack(values: UpValues): { file: string; topology: Topology } | undefined {
  if (values['no-compose'] === true) {
    if (values.compose !== undefined) throw new UsageError('--compose and --no-compose exclude each other');
    return undefined;
  }
  const portGiven = values.port !== undefined || values['base-port'] !== undefined;
  const file = values.compose ?? (portGiven ? undefined : defaultComposeFile(process.cwd()));
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new UsageError(`--compose: ${file} does not exist`);
  const topology = loadTopology({ file, envFile: values['env-file'] });
  if (topology.brokers.length === 0) {
    throw new UsageError(
      `${file}: no Kafka broker service in the messaging profile (a cp-kafka image run by its own entrypoint); pass --no-compose for Kafka's defaults`,
    );
  }
  return { file, topology };
}

/** What each of the `brokers` embedded brokers makes of its Compose service, and the baseline topics. */
function planStack(stack: { file: string; topology: Topology }, brokers: number): UpOptions['topology'] {
  const { file, topology } = stack;
  const plans = embeddedClusterPlans(topology.brokers, brokers, file);
  const topicsFile =
    topology.topicsFile === undefined
      ? undefined
      : readTopicsFile(topology.topicsFile.path, topology.topicsFile.displayPath);
  return { file, topology, plan: plans[0]!, plans, topicsFile };
}

/**
 * Each broker config's value in force at start and its source, as `--print-config` prints it, for
 * the `node`-th broker (0: the first; a cluster's nodes each have their own Compose service).
 */
export function effectiveConfig(
  options: UpOptions,
  node = 0,
): { name: string; value: string | null; source: string }[] {
  const plan = options.topology?.plans[node];
  const { nodeId, port } = options.nodes[node] ?? { nodeId: node + 1, port: options.port + node };
  const cluster = options.brokers > 1;
  const defaults = cluster ? clusterDefaults(options.brokers) : {};
  const lowered = new Set((plan?.lowered ?? []).map((change) => change.split(' ')[0]));
  const advertised = advertisedOf(options, node);
  return BROKER_CONFIGS.map((definition) => {
    const { name } = definition;
    if (name === 'advertised.listeners' && advertised !== undefined) {
      return { name, value: `PLAINTEXT://${advertised.host}:${advertised.port}`, source: '--override' };
    }
    const override = options.overrides[name];
    if (override !== undefined) return { name, value: override, source: '--override' };
    const fromCompose = plan?.config[name];
    if (fromCompose !== undefined) {
      const where = plan?.sources[name] ?? '';
      return {
        name,
        value: fromCompose,
        source: lowered.has(name) ? `${where} (lowered to the broker count)` : where,
      };
    }
    const clusterDefault = defaults[name];
    if (clusterDefault !== undefined) {
      return {
        name,
        value: clusterDefault,
        source: `kstack up --brokers ${options.brokers} (cluster default)`,
      };
    }
    if (name === 'listeners') {
      const from = plan?.hostPort === port ? `${plan.service}: its published host port` : 'kstack up';
      return { name, value: `PLAINTEXT://${options.host}:${port}`, source: from };
    }
    if (name === 'log.dirs') {
      return {
        name,
        value: join(options.dataDir, cluster ? `node-${nodeId}` : `broker-${nodeId}`),
        source: '--data-dir',
      };
    }
    if (name === 'node.id' || name === 'broker.id') {
      return { name, value: String(nodeId), source: plan === undefined ? 'kstack' : `${plan.service}` };
    }
    return { name, value: definition.defaultValue, source: 'default' };
  });
}

/** The address the `node`-th broker gives clients (`advertised.listeners`; the i-th of a cluster: PORT+i). */
function advertisedOf(options: UpOptions, node: number): AdvertisedAddress | undefined {
  const { advertised } = options;
  return advertised === undefined ? undefined : { host: advertised.host, port: advertised.port + node };
}

/** The `--print-config` text: every broker config and its source; a cluster's brokers one after another. */
export function printedConfig(options: UpOptions): string {
  const lines: string[] = [];
  options.nodes.forEach(({ nodeId, port }, node) => {
    if (options.brokers > 1) {
      const service = options.topology?.plans[node]?.service;
      lines.push(
        `# broker ${nodeId}${service === undefined ? '' : ` (${service})`} on ${options.host}:${port}\n`,
      );
    }
    for (const entry of effectiveConfig(options, node)) {
      lines.push(`${entry.name}=${entry.value ?? ''}\t# ${entry.source}\n`);
    }
  });
  return lines.join('');
}

/** Creates the baseline topics (create-only, as kafka-topics --create --if-not-exists); false on failure. */
async function createBaselineTopics(file: TopicsFile, bootstrap: string): Promise<boolean> {
  const code = await applyTopicsFile(
    file,
    { bootstrap: bootstrap.split(','), timeoutMs: BASELINE_TOPICS_TIMEOUT_MS },
    { createOnly: true, delete: false, dryRun: false },
    {
      out: (line) => process.stderr.write(`[kstack] baseline topics: ${line}\n`),
      err: (line) => process.stderr.write(`[kstack] baseline topics: ${line}\n`),
    },
  );
  return code === EXIT_OK;
}

export const command: Command = {
  summary: 'start the embedded Kafka-compatible broker in the foreground',
  async run(args) {
    const options = parseUpArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (options.printConfig) {
      process.stdout.write(printedConfig(options));
      return EXIT_OK;
    }
    const log = {
      info: (message: string) => process.stderr.write(`[kstack] ${message}\n`),
      warn: (message: string) => process.stderr.write(`[kstack] WARN ${message}\n`),
    };
    const { topology } = options;
    if (topology === undefined) {
      log.info("no Compose stack read (--no-compose, a port flag, or none here): Kafka's defaults");
    } else {
      const env = topology.topology.envFile === undefined ? '' : ` with ${topology.topology.envFile}`;
      log.info(`settings from ${topology.file}${env}; --override wins`);
      for (const plan of topology.plans) {
        for (const line of describePlan(plan, topology.file, options.brokers)) log.info(line);
      }
    }
    if (options.brokers > 1) return upCluster(options);
    const nodeId = topology?.plan.nodeId ?? 1;
    const metrics =
      options.metricsPort === undefined
        ? undefined
        : new (await import('../metrics/broker-metrics.ts')).BrokerMetrics();
    // Ctrl-C and SIGTERM are caught before the broker listens: a signal sent as soon as it answers
    // (a test's or a supervisor's stop) must still be a clean stop, after start-up finishes.
    const stopRequested = new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // Kafka's searchable events (leader changes, topics created, rebalances) as JSON lines.
    const stopEventLog = logKafkaEvents(
      createLogger({ component: 'broker', brokerId: nodeId, level: options.logLevel }),
      nodeId,
    );
    let broker: Broker;
    try {
      broker = new Broker({
        dataDir: join(options.dataDir, `broker-${nodeId}`),
        host: options.host,
        port: options.port,
        advertisedHost: options.advertised?.host,
        advertisedPort: options.advertised?.port,
        nodeId,
        config: { ...topology?.plan.config, ...options.overrides },
        log,
        observer: metrics,
      });
    } catch (error) {
      throw new UsageError(`--override: ${(error as Error).message}`);
    }
    try {
      await broker.start();
    } catch (error) {
      const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
      if (code === 'EADDRINUSE') {
        // The port that is taken: with several `listeners`, not necessarily --port's.
        process.stderr.write(
          `kstack up: port ${port ?? options.port} on ${address ?? options.host} is in use; stop what holds it or pass --port\n`,
        );
        return EXIT_FAILED;
      }
      // A broker that cannot start (its coordinators, its data directory) says why in one line.
      process.stderr.write(`kstack up: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    let metricsServer: { url: string; close(): Promise<void> } | undefined;
    if (metrics !== undefined && options.metricsPort !== undefined) {
      const { serveBrokerMetrics } = await import('../metrics/serve.ts');
      try {
        metricsServer = await serveBrokerMetrics({
          metrics,
          broker,
          host: options.host,
          port: options.metricsPort,
        });
      } catch (error) {
        await broker.stop();
        process.stderr.write(
          `kstack up: --metrics-port ${options.metricsPort} on ${options.host}: ${(error as Error).message}\n`,
        );
        return EXIT_FAILED;
      }
      process.stdout.write(`kstack: broker 1 metrics on ${metricsServer.url}\n`);
    }
    const { advertised } = options;
    const listening = `${options.host}:${broker.port}`;
    const topicsFile = topology?.topicsFile;
    if (topicsFile !== undefined && !(await createBaselineTopics(topicsFile, listening))) {
      process.stderr.write(
        `kstack up: the baseline topics of ${topicsFile.displayPath} could not be created (above); stopping\n`,
      );
      await metricsServer?.close();
      await broker.stop();
      return EXIT_FAILED;
    }
    let companions: Companions | undefined;
    if (topology !== undefined && options.companions) {
      try {
        companions = await startCompanions(
          listening,
          topology.topology.companions,
          options.dataDir,
          undefined,
          companionOptions(options),
        );
      } catch (error) {
        process.stderr.write(
          `kstack up: ${(error as Error).message}; stopping (--no-companions runs without them)\n`,
        );
        await metricsServer?.close();
        await broker.stop();
        return EXIT_FAILED;
      }
      for (const { title, service, url } of companions.running) {
        process.stdout.write(`kstack: ${title} (${service}) on ${url}\n`);
      }
      for (const { service, reason } of companions.notServed) log.info(`${service} not served: ${reason}`);
    }
    process.stdout.write(
      advertised === undefined
        ? `kstack: broker ${nodeId} listening; bootstrap servers: ${listening}\n`
        : `kstack: broker ${nodeId} listening on ${listening}; bootstrap servers (advertised.listeners): ${advertised.host}:${advertised.port}\n`,
    );
    process.stdout.write(`kstack: data in ${options.dataDir}; Ctrl-C stops\n`);
    await stopRequested;
    process.stderr.write('[kstack] stopping\n');
    await companions?.close();
    await metricsServer?.close();
    await broker.stop();
    stopEventLog();
    process.stderr.write('[kstack] stopped\n');
    return EXIT_OK;
  },
};

/** `--brokers N` (N > 1): the cluster of src/engine/cluster.ts, then the baseline topics and the companions. */
async function upCluster(options: UpOptions): Promise<number> {
  // The supervisor's lines (restarts, faults, node lines) are JSON lines, readable on a terminal.
  const log = createLogger({ component: 'supervisor', level: options.logLevel });
  const stopRequested = new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const { topology } = options;
  // Each node is given its own advertised address below; the one given applies to the first.
  const { 'advertised.listeners': _advertised, ...shared } = options.overrides;
  const { runCluster } = await import('./cluster.ts');
  const connect = await startConnectWithCluster(options);
  if (connect === 'failed') return EXIT_FAILED;
  // Stopped on the signal too, beside the nodes, when the cluster never got ready (close is once).
  void stopRequested.then(() => connect?.close());
  const companionsOf = {
    ...companionOptions(options),
    ...(connect === undefined ? {} : { connectStarted: connect }),
  };
  if (options.nodeListeners !== undefined) {
    const each = options.nodeListeners.map(
      (config, i) => `node ${options.nodes[i]?.nodeId ?? i + 1}: ${config['advertised.listeners']}`,
    );
    process.stdout.write(
      `kstack: listeners (advertised) ${each.join('; ')}${options.faultProxies ? '; the fault proxies stand in front of the first listener only' : ''}\n`,
    );
  }
  try {
    return await runCluster(
      {
        host: options.host,
        dataDir: options.dataDir,
        faultProxies: options.faultProxies,
        faultPort: options.faultPort,
        restart: options.restart,
        nodes: options.nodes.map(({ nodeId, port }, node) => ({
          nodeId,
          port,
          config: {
            ...clusterSafe(topology?.plans[node]?.config ?? {}),
            ...(options.advertised === undefined ? options.overrides : shared),
            ...options.nodeListeners?.[node],
          },
          advertised: advertisedOf(options, node),
          metricsPort: options.metricsPort === undefined ? undefined : options.metricsPort + node,
        })),
        onReady: async (bootstrap, faultControlUrl) => {
          const topicsFile = topology?.topicsFile;
          if (topicsFile !== undefined && !(await createBaselineTopics(topicsFile, bootstrap))) {
            throw new Error(`the baseline topics of ${topicsFile.displayPath} could not be created (above)`);
          }
          if (topology === undefined || !options.companions) return undefined;
          let companions: Companions;
          try {
            companions = await startCompanions(
              bootstrap,
              topology.topology.companions,
              options.dataDir,
              faultControlUrl,
              companionsOf,
            );
          } catch (error) {
            throw new Error(`${(error as Error).message} (--no-companions runs without them)`);
          }
          for (const { title, service, url } of companions.running) {
            process.stdout.write(`kstack: ${title} (${service}) on ${url}\n`);
          }
          for (const { service, reason } of companions.notServed)
            log.info(`${service} not served: ${reason}`);
          return companions;
        },
      },
      stopRequested,
      log,
    );
  } finally {
    await connect?.close();
  }
}

/**
 * The stack's Connect worker, started with the cluster (not once it is ready: the JVM's start is the
 * longest part of `kstack up` on a loaded machine); undefined when the stack declares none, the flags
 * leave it out, or Java or the jars are missing (startCompanions then names why it is not served);
 * 'failed' when it cannot start (its port taken), said on stderr.
 */
async function startConnectWithCluster(options: UpOptions): Promise<ConnectCompanion | undefined | 'failed'> {
  const port = options.topology?.topology.companions.find((c) => c.service === 'kafka-connect')?.hostPort;
  if (port === undefined || !options.companions || !options.connect) return undefined;
  const bootstrap = options.nodes.map((node) => `${options.host}:${node.port}`).join(',');
  try {
    return await startStackConnect(
      bootstrap,
      port,
      options.dataDir,
      companionOptions(options),
      options.brokers,
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ConnectUnavailableError') return undefined;
    process.stderr.write(
      `kstack up: Kafka Connect (Compose service kafka-connect) could not start on port ${port}: ${(error as Error).message} (--no-connect runs without it)\n`,
    );
    return 'failed';
  }
}

/** Per-node settings each cluster node sets itself: a Compose broker's values would name one node. */
const PER_NODE_CONFIGS = new Set([
  'listeners',
  'advertised.listeners',
  'listener.security.protocol.map',
  'node.id',
  'broker.id',
  'log.dirs',
  'process.roles',
  'controller.quorum.voters',
  'controller.listener.names',
]);

function clusterSafe(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).filter(([name]) => !PER_NODE_CONFIGS.has(name)));
}

/** What the flags say of the companions (Connect's), and the stack's log stream. */
function companionOptions(options: UpOptions): CompanionOptions {
  return { connect: options.connect, connectPluginDirs: options.connectPlugins, logLevel: options.logLevel };
}
