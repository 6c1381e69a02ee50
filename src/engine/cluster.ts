/**
 * The cluster `kstack up --brokers N` runs: N combined broker+controller node processes
 * (`kstack node`), supervised. Each node's id, broker port and configs are given by its plan
 * (`kstack up` takes them from the node's own Compose broker service, else ids 1..N on P..P+N-1);
 * its controller listener is CONTROLLER_PORT_OFFSET above its broker port (as the reference cluster
 * places its controllers); each node has its own data directory under the cluster's. Once every node
 * has registered with the active controller and is unfenced (so a quorum exists and commits, and a
 * topic at the full replication factor can be created at once), the plan's `onReady` runs (the
 * baseline topics, the companions), then the bootstrap servers are printed. Ctrl-C or SIGTERM
 * stops every node (each a controlled shutdown); a node that exits on its own is reported and not
 * restarted, the others keep running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { parseQuorumVoters } from '../controller/node.ts';
import { CONTROLLER_PORT_OFFSET, clusterDefaults } from '../topology/embedded.ts';
import { ClusterNode } from './cluster-node.ts';
import { type AdvertisedAddress, parseAdvertisedListeners } from './listeners.ts';
import { BROKER_NODE_FLAGS } from './process.ts';

/** A node's controller listener listens this far above its broker port. */
export { CONTROLLER_PORT_OFFSET, clusterDefaults };
/** How long a stopping node may take (controlled shutdown included) before it is killed; nodes stop one after another. */
export const NODE_STOP_GRACE_MS = 30_000;
/** The line a node prints once registered and unfenced; the supervisor waits for it from every node. */
export const NODE_REGISTERED_MARK = 'registered with the active controller';
const CLUSTER_ID_FILE = 'cluster.id';
/** Configs of the cluster's liveness, read by the node (the broker's own config does not hold them). */
export const LIVENESS_CONFIGS = ['broker.session.timeout.ms', 'broker.heartbeat.interval.ms'] as const;

/**
 * The cluster id kept in DIR/cluster.id, made at the first start (16 random bytes, base64url).
 * Never one that starts with '-', as Kafka's Uuid.randomUuid: a command line would read it as an
 * option (`--cluster-id -abc…`; one start in 64 failed so).
 */
export function loadClusterId(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, CLUSTER_ID_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  writeFileSync(path, `${clusterId}\n`);
  return clusterId;
}

/** One node of the cluster: where it listens and the broker configs it starts with. */
export interface ClusterNodePlan {
  readonly nodeId: number;
  readonly port: number;
  /** Broker configs by Kafka name (its Compose service's, then `--override`), as `kstack node --override`. */
  readonly config: Record<string, string>;
  /** What Metadata gives clients for this broker, when not `host:port`. */
  readonly advertised?: AdvertisedAddress;
  /** Where this node serves Prometheus `/metrics`; none when undefined. */
  readonly metricsPort?: number;
}

export interface ClusterPlan {
  readonly host: string;
  readonly dataDir: string;
  readonly nodes: readonly ClusterNodePlan[];
  /**
   * Run once every node is registered and unfenced, before the bootstrap line (the baseline topics,
   * the companions): resolves to what to close at stop, or rejects to stop the cluster with exit 1.
   */
  readonly onReady?: (bootstrap: string) => Promise<{ close(): Promise<void> } | undefined>;
}

interface Supervised {
  readonly nodeId: number;
  readonly child: ChildProcess;
  registered: boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the cluster in the foreground until `stopRequested`; resolves to the exit code. */
export async function runCluster(
  plan: ClusterPlan,
  stopRequested: Promise<void>,
  log: { info(message: string): void; warn(message: string): void },
): Promise<number> {
  const clusterId = loadClusterId(plan.dataDir);
  const voters = plan.nodes
    .map(({ nodeId, port }) => `${nodeId}@${plan.host}:${port + CONTROLLER_PORT_OFFSET}`)
    .join(',');
  const script = process.argv[1] ?? join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
  let stopping = false;
  let crashed = false;
  let allRegistered: () => void = () => {};
  const registeredAll = new Promise<void>((done) => {
    allRegistered = done;
  });
  const nodes: Supervised[] = plan.nodes.map((nodePlan) => {
    const { nodeId } = nodePlan;
    const config = { ...clusterDefaults(plan.nodes.length), ...nodePlan.config };
    if (nodePlan.advertised !== undefined) {
      config['advertised.listeners'] = `PLAINTEXT://${nodePlan.advertised.host}:${nodePlan.advertised.port}`;
    }
    const args = [
      ...BROKER_NODE_FLAGS,
      script,
      'node',
      '--node-id',
      String(nodeId),
      '--voters',
      voters,
      // One argument: an id kept from before may start with '-'.
      `--cluster-id=${clusterId}`,
      '--host',
      plan.host,
      '--port',
      String(nodePlan.port),
      '--data-dir',
      join(plan.dataDir, `node-${nodeId}`),
      ...(nodePlan.metricsPort === undefined ? [] : ['--metrics-port', String(nodePlan.metricsPort)]),
      ...Object.entries(config).flatMap(([name, value]) => ['--override', `${name}=${value}`]),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const node: Supervised = {
      nodeId,
      child,
      registered: false,
      exited: Promise.resolve({ code: 0, signal: null }),
    };
    node.exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        process.stdout.write(`kstack: node ${nodeId}: ${line}\n`);
        if (line.includes(NODE_REGISTERED_MARK)) {
          node.registered = true;
          if (nodes.every((n) => n.registered)) allRegistered();
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') process.stderr.write(`[node ${nodeId}] ${line}\n`);
      }
    });
    void node.exited.then(({ code, signal }) => {
      if (stopping) return;
      crashed = true;
      process.stderr.write(
        `kstack up: node ${nodeId} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); not restarted, the other nodes keep running\n`,
      );
    });
    process.stdout.write(
      `kstack: node ${nodeId} pid ${child.pid}: broker ${plan.host}:${nodePlan.port}, controller ${plan.host}:${nodePlan.port + CONTROLLER_PORT_OFFSET}\n`,
    );
    return node;
  });
  const outcome = await Promise.race([
    registeredAll.then(() => 'ready' as const),
    stopRequested.then(() => 'stop' as const),
  ]);
  let extras: { close(): Promise<void> } | undefined;
  let failed = false;
  if (outcome === 'ready') {
    const bootstrap = plan.nodes.map(({ port }) => `${plan.host}:${port}`).join(',');
    try {
      extras = await plan.onReady?.(bootstrap);
    } catch (error) {
      failed = true;
      process.stderr.write(`kstack up: ${(error as Error).message}; stopping\n`);
    }
    if (!failed) {
      const advertised = plan.nodes.every((node) => node.advertised === undefined)
        ? ''
        : ` (advertised.listeners: ${plan.nodes
            .map(({ advertised, port }) => `${advertised?.host ?? plan.host}:${advertised?.port ?? port}`)
            .join(',')})`;
      process.stdout.write(
        `kstack: ${plan.nodes.length} brokers serving, cluster id ${clusterId}; bootstrap servers: ${bootstrap}${advertised}\n`,
      );
      process.stdout.write(`kstack: data in ${plan.dataDir}; Ctrl-C stops\n`);
      await stopRequested;
    }
  }
  stopping = true;
  await extras?.close();
  log.info('stopping every node');
  // One at a time: each controlled shutdown moves leadership to nodes still running, and the
  // last one, with nobody to hand over to, stops at once.
  for (const node of [...nodes].reverse()) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) continue;
    node.child.kill('SIGTERM');
    const timer = setTimeout(() => node.child.kill('SIGKILL'), NODE_STOP_GRACE_MS);
    await node.exited;
    clearTimeout(timer);
  }
  log.info('stopped');
  return crashed || failed ? EXIT_FAILED : EXIT_OK;
}

const NODE_HELP = `usage: kstack node --node-id N --voters ID@HOST:PORT,... --cluster-id ID --port P
                   [--host H] [--data-dir DIR] [--metrics-port P] [--override K=V]...

  --override advertised.listeners=PLAINTEXT://HOST:PORT gives clients HOST:PORT for this broker
  (a proxy or published port in front of it); --metrics-port P serves its Prometheus /metrics.

Runs one combined broker+controller node of a cluster in the foreground (what
\`kstack up --brokers N\` starts N of). Prints "${NODE_REGISTERED_MARK}" once its broker has
registered and is unfenced. SIGTERM is a controlled shutdown.
`;

export const nodeCommand: Command = {
  summary: 'one broker+controller node of a kstack cluster (kstack up --brokers N runs them)',
  async run(args) {
    let values: ReturnType<typeof parseNodeArgs>;
    try {
      values = parseNodeArgs(args);
    } catch (error) {
      throw new UsageError(`${(error as Error).message}\n\n${NODE_HELP}`);
    }
    if (values.help === true) {
      process.stdout.write(NODE_HELP);
      return EXIT_OK;
    }
    const nodeId = Number(values['node-id']);
    if (!Number.isInteger(nodeId) || nodeId < 0)
      throw new UsageError(`--node-id: '${values['node-id']}' is not a node id`);
    if (values.voters === undefined || values['cluster-id'] === undefined || values.port === undefined) {
      throw new UsageError(`--voters, --cluster-id and --port are required\n\n${NODE_HELP}`);
    }
    let voters: ReturnType<typeof parseQuorumVoters>;
    try {
      voters = parseQuorumVoters(values.voters);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError(`--port: '${values.port}' is not a port`);
    const config: Record<string, string> = {};
    for (const item of values.override ?? []) {
      const at = item.indexOf('=');
      if (at <= 0) throw new UsageError(`--override: '${item}' is not name=value`);
      config[item.slice(0, at).trim()] = item.slice(at + 1).trim();
    }
    const liveness: number[] = [];
    for (const name of LIVENESS_CONFIGS) {
      const text = config[name];
      delete config[name];
      const value = text === undefined ? undefined : Number(text);
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new UsageError(`--override ${name}: '${text}' is not a positive number of milliseconds`);
      }
      liveness.push(value ?? -1);
    }
    const [sessionTimeoutMs, heartbeatIntervalMs] = liveness.map((v) => (v < 0 ? undefined : v));
    const host = values.host ?? '127.0.0.1';
    let advertised: AdvertisedAddress | undefined;
    const advertisedText = config['advertised.listeners'];
    if (advertisedText !== undefined) {
      delete config['advertised.listeners'];
      try {
        advertised = parseAdvertisedListeners(advertisedText, host);
      } catch (error) {
        throw new UsageError(`--override ${(error as Error).message}`);
      }
    }
    let metricsPort: number | undefined;
    if (values['metrics-port'] !== undefined) {
      metricsPort = Number(values['metrics-port']);
      if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
        throw new UsageError(`--metrics-port: '${values['metrics-port']}' is not a port number (0-65535)`);
    }
    const metrics =
      metricsPort === undefined
        ? undefined
        : new (await import('../metrics/broker-metrics.ts')).BrokerMetrics();
    const log = {
      info: (message: string) => process.stderr.write(`${message}\n`),
      warn: (message: string) => process.stderr.write(`WARN ${message}\n`),
    };
    const stopRequested = new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    const node = new ClusterNode({
      nodeId,
      clusterId: values['cluster-id'],
      voters,
      host,
      port,
      dataDir: resolve(values['data-dir'] ?? join('.data', 'kstack', `node-${nodeId}`)),
      config,
      sessionTimeoutMs,
      heartbeatIntervalMs,
      log,
      broker: {
        ...(advertised === undefined
          ? {}
          : { advertisedHost: advertised.host, advertisedPort: advertised.port }),
        ...(metrics === undefined ? {} : { observer: metrics }),
      },
      onFatal: (error) => {
        process.stderr.write(`node ${nodeId}: ${error.message}; exiting\n`);
        process.exit(EXIT_FAILED);
      },
    });
    try {
      await node.start();
    } catch (error) {
      process.stderr.write(`kstack node ${nodeId}: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    let metricsServer: { url: string; close(): Promise<void> } | undefined;
    if (metrics !== undefined && metricsPort !== undefined) {
      try {
        metricsServer = await (await import('../metrics/serve.ts')).serveBrokerMetrics({
          metrics,
          broker: node.broker,
          host,
          port: metricsPort,
        });
      } catch (error) {
        process.stderr.write(
          `kstack node ${nodeId}: --metrics-port ${metricsPort} on ${host}: ${(error as Error).message}\n`,
        );
        await node.stop();
        return EXIT_FAILED;
      }
      process.stdout.write(`broker ${nodeId} metrics on ${metricsServer.url}\n`);
    }
    void node.registered.then(
      (epoch) => {
        process.stdout.write(
          `broker ${nodeId} ${NODE_REGISTERED_MARK} and unfenced (broker epoch ${epoch})\n`,
        );
      },
      () => {},
    );
    await stopRequested;
    await metricsServer?.close();
    await node.stop();
    return EXIT_OK;
  },
};

function parseNodeArgs(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      'node-id': { type: 'string' },
      voters: { type: 'string' },
      'cluster-id': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'metrics-port': { type: 'string' },
      override: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}
