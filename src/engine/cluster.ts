/**
 * The cluster `kstack up --brokers N` runs: N combined broker+controller node processes
 * (`kstack node`), supervised. Each node's id, broker port and configs are given by its plan
 * (`kstack up` takes them from the node's own Compose broker service, else ids 1..N on P..P+N-1);
 * its controller listener is CONTROLLER_PORT_OFFSET above its broker port (as the reference cluster
 * places its controllers); each node has its own data directory under the cluster's. Once every node
 * has registered with the active controller and is unfenced (so a quorum exists and commits, and a
 * topic at the full replication factor can be created at once), the plan's `onReady` runs (the
 * baseline topics, the companions), then the bootstrap servers are printed. Ctrl-C or SIGTERM
 * stops every node (each a controlled shutdown).
 *
 * A node that exits on its own (a crash, a SIGKILL from outside) is restarted after a backoff that
 * doubles from RESTART_BACKOFF_INITIAL_MS up to RESTART_BACKOFF_MAX_MS; after more than
 * CRASH_LOOP_EXITS_MAX such exits within CRASH_LOOP_WINDOW_MS the supervisor gives up on that node
 * and says so; the others keep running. The fault control (`kstack fault`, its HTTP endpoint:
 * fault-control.ts) drives the same supervision: kill, pause, resume, stop, start, restart, and,
 * through the proxies of fault-proxy.ts in front of every listener, isolate, slow and heal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { createLogger, formatPretty, type Logger, logKafkaEvents } from '../common/log.ts';
import { parseQuorumVoters } from '../controller/node.ts';
import { CONTROLLER_PORT_OFFSET, clusterDefaults } from '../topology/embedded.ts';
import { ClusterNode } from './cluster-node.ts';
import { FaultError, type FaultTarget, type NodeView, serveFaultControl } from './fault-control.ts';
import {
  CRASH_LOOP_EXITS_MAX,
  CRASH_LOOP_WINDOW_MS,
  ExitHistory,
  FAULT_CONTROL_PORT_OFFSET,
  NODE_BROKER_PORT_OFFSET,
  PROXY_CONTROLLER_PORT_OFFSET,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  restartBackoffMs,
} from './fault-limits.ts';
import { FaultRules, type FaultSide, NodeProxy } from './fault-proxy.ts';
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
export {
  CRASH_LOOP_EXITS_MAX,
  CRASH_LOOP_WINDOW_MS,
  FAULT_CONTROL_PORT_OFFSET,
  NODE_BROKER_PORT_OFFSET,
  PROXY_CONTROLLER_PORT_OFFSET,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  restartBackoffMs,
};

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
  /** `faultControlUrl`: where the fault control listens (none when it is off, `--fault-port 0`). */
  readonly onReady?: (
    bootstrap: string,
    faultControlUrl: string | undefined,
  ) => Promise<{ close(): Promise<void> } | undefined>;
  /** Proxies in front of every listener, for isolate and slow (default true). */
  readonly faultProxies?: boolean;
  /** Restart a node that exits on its own (default true). */
  readonly restart?: boolean;
  /** The fault-control endpoint's port (default: the first node's port + FAULT_CONTROL_PORT_OFFSET); null: none. */
  readonly faultPort?: number | null;
}

type NodeState = 'starting' | 'running' | 'paused' | 'stopping' | 'down' | 'restarting' | 'given-up';

/** One supervised node: its process (restarted as need be) and what the fault control did to it. */
class SupervisedNode {
  readonly nodeId: number;
  readonly args: readonly string[];
  readonly #supervisor: Supervisor;
  readonly #log: Logger;
  child: ChildProcess | undefined;
  state: NodeState = 'starting';
  registered = false;
  restarts = 0;
  /** The exits on its own, for the backoff and the crash-loop bound. */
  readonly #exits = new ExitHistory();
  #restartTimer: NodeJS.Timeout | undefined;
  /** What the next exit is, when the supervisor caused it: a kill to restart, or a stop to keep down. */
  #expected: 'kill' | 'down' | 'restart' | null = null;
  exited: Promise<void> = Promise.resolve();

  constructor(nodeId: number, args: readonly string[], supervisor: Supervisor, log: Logger) {
    this.nodeId = nodeId;
    this.args = args;
    this.#supervisor = supervisor;
    this.#log = log;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  view(): NodeView {
    return {
      nodeId: this.nodeId,
      pid: this.alive ? (this.child?.pid ?? null) : null,
      state: this.state,
      registered: this.registered,
      restarts: this.restarts,
      ...this.#supervisor.rules?.describe(this.nodeId),
    };
  }

  spawn(): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.registered = false;
    this.state = 'starting';
    // The IPC channel only tells the node when the supervisor is gone (killed): it then stops too.
    const child = spawn(process.execPath, [...this.args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    this.exited = new Promise((done) =>
      child.once('exit', (code, signal) => {
        this.#onExit(code, signal);
        done();
      }),
    );
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        process.stdout.write(`kstack: node ${this.nodeId}: ${line}\n`);
        if (line.includes(NODE_REGISTERED_MARK)) {
          this.registered = true;
          if (this.state === 'starting') this.state = 'running';
          this.#supervisor.onRegistered(this);
        }
      }
    });
    let pendingErr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      pendingErr += chunk.toString('utf8');
      for (let end = pendingErr.indexOf('\n'); end >= 0; end = pendingErr.indexOf('\n')) {
        const line = pendingErr.slice(0, end);
        pendingErr = pendingErr.slice(end + 1);
        if (line !== '') this.#supervisor.relayNodeLine(this.nodeId, line);
      }
    });
    this.#supervisor.printNodeLine(this);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ?? `code ${code}`;
    const pid = this.child?.pid;
    this.registered = false;
    const expected = this.#expected;
    this.#expected = null;
    if (this.#supervisor.stopping) {
      this.state = 'down';
      return;
    }
    if (expected === 'down') {
      this.state = 'down';
      this.#log.info(`node ${this.nodeId} (pid ${pid}) stopped (${how}); kept down until started`, {
        brokerId: this.nodeId,
      });
      return;
    }
    if (expected === 'restart') {
      this.#log.info(`node ${this.nodeId} (pid ${pid}) stopped (${how}); starting it again`, {
        brokerId: this.nodeId,
      });
      this.restarts++;
      this.spawn();
      return;
    }
    // A fault-control kill restarts after the first backoff and is not counted as a crash.
    let exits = 1;
    let backoffMs: number | null = RESTART_BACKOFF_INITIAL_MS;
    if (expected === null) {
      this.#supervisor.crashed = true;
      if (this.#supervisor.plan.restart === false) {
        this.state = 'down';
        this.#log.warn(
          `node ${this.nodeId} (pid ${pid}) exited (${how}); not restarted (--no-restart), the other nodes keep running`,
          { brokerId: this.nodeId, pid },
        );
        return;
      }
      ({ exits, backoffMs } = this.#exits.record(performance.now()));
    }
    if (backoffMs === null) {
      this.state = 'given-up';
      this.#log.error(
        `node ${this.nodeId} (pid ${pid}) exited (${how}); ${exits} exits within ${CRASH_LOOP_WINDOW_MS} ms (CRASH_LOOP_EXITS_MAX ${CRASH_LOOP_EXITS_MAX}): not restarted again, the other nodes keep running`,
        { brokerId: this.nodeId, pid, exits },
      );
      this.#supervisor.onGaveUp(this);
      return;
    }
    this.state = 'restarting';
    this.#log.warn(
      `node ${this.nodeId} (pid ${pid}) exited (${how}); restarting it in ${backoffMs} ms, the other nodes keep running`,
      { brokerId: this.nodeId, pid, backoffMs, exits },
    );
    this.#restartTimer = setTimeout(() => {
      this.restarts++;
      this.spawn();
    }, backoffMs);
  }

  #needAlive(action: string): ChildProcess {
    if (!this.alive || this.child === undefined) {
      throw new FaultError('NODE_NOT_RUNNING', `node ${this.nodeId} is ${this.state}: cannot ${action} it`);
    }
    return this.child;
  }

  /** SIGKILL; started again after RESTART_BACKOFF_INITIAL_MS unless `restart` is false. */
  async kill(restart: boolean): Promise<void> {
    const child = this.#needAlive('kill');
    this.#expected = restart ? 'kill' : 'down';
    child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    if (this.state === 'paused')
      throw new FaultError('NODE_NOT_RUNNING', `node ${this.nodeId} is paused already`);
    this.#needAlive('pause').kill('SIGSTOP');
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused')
      throw new FaultError('NODE_NOT_PAUSED', `node ${this.nodeId} is ${this.state}, not paused`);
    this.#needAlive('resume').kill('SIGCONT');
    this.state = this.registered ? 'running' : 'starting';
  }

  /** A controlled shutdown (SIGTERM, SIGKILL after NODE_STOP_GRACE_MS); then `then`. */
  async terminate(then: 'down' | 'restart'): Promise<void> {
    const child = this.#needAlive(then === 'down' ? 'stop' : 'restart');
    this.#expected = then;
    if (this.state === 'paused') child.kill('SIGCONT');
    this.state = 'stopping';
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Starts a node that is down (stopped, given up, or waiting for its restart: at once). */
  start(): void {
    if (this.alive)
      throw new FaultError('NODE_RUNNING', `node ${this.nodeId} is running (pid ${this.child?.pid})`);
    this.#exits.clear();
    this.restarts++;
    this.spawn();
  }

  /** At the cluster's stop: no restart pending, the process stopped. */
  async shutdown(): Promise<void> {
    clearTimeout(this.#restartTimer);
    if (!this.alive || this.child === undefined) return;
    const child = this.child;
    if (this.state === 'paused') child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), NODE_STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

class Supervisor implements FaultTarget {
  readonly plan: ClusterPlan;
  readonly log: Logger;
  readonly rules: FaultRules | undefined;
  readonly nodes: SupervisedNode[] = [];
  readonly #pretty: boolean;
  stopping = false;
  crashed = false;
  gaveUp = false;
  #gaveUpResolve: (nodeId: number) => void = () => {};
  /** Resolves with the first node the supervisor gave up on. */
  readonly gaveUpOn = new Promise<number>((done) => {
    this.#gaveUpResolve = done;
  });
  #allRegistered: () => void = () => {};
  readonly registeredAll = new Promise<void>((done) => {
    this.#allRegistered = done;
  });

  constructor(plan: ClusterPlan, log: Logger) {
    this.plan = plan;
    this.log = log;
    this.rules = plan.faultProxies === false ? undefined : new FaultRules();
    this.#pretty = process.stderr.isTTY === true;
  }

  onGaveUp(node: SupervisedNode): void {
    this.gaveUp = true;
    this.#gaveUpResolve(node.nodeId);
  }

  onRegistered(node: SupervisedNode): void {
    if (node.restarts > 0)
      this.log.info(`node ${node.nodeId} registered again (restart ${node.restarts})`, {
        brokerId: node.nodeId,
      });
    if (this.nodes.every((n) => n.registered)) this.#allRegistered();
  }

  printNodeLine(node: SupervisedNode): void {
    const { host } = this.plan;
    const nodePlan = this.plan.nodes.find((n) => n.nodeId === node.nodeId)!;
    const behind =
      this.rules === undefined
        ? ''
        : ` (behind fault proxies: the node listens on ${nodePlan.port + NODE_BROKER_PORT_OFFSET}, its peers reach its controller on ${nodePlan.port + PROXY_CONTROLLER_PORT_OFFSET})`;
    process.stdout.write(
      `kstack: node ${node.nodeId} pid ${node.child?.pid}: broker ${host}:${nodePlan.port}, controller ${host}:${nodePlan.port + CONTROLLER_PORT_OFFSET}${behind}\n`,
    );
  }

  /** A node's stderr line: its JSON log line as it is (readable on a terminal), anything else logged with its node id. */
  relayNodeLine(nodeId: number, line: string): void {
    if (line.startsWith('{')) {
      try {
        process.stderr.write(this.#pretty ? formatPretty(line) : `${line}\n`);
        return;
      } catch {
        // Not a JSON line after all: logged below.
      }
    }
    this.log.warn(line, { brokerId: nodeId, stream: 'stderr' });
  }

  #node(nodeId: number): SupervisedNode {
    const node = this.nodes.find((n) => n.nodeId === nodeId);
    if (node === undefined) {
      throw new FaultError(
        'NODE_UNKNOWN',
        `no node ${nodeId} in this cluster (nodes ${this.nodes.map((n) => n.nodeId).join(', ')})`,
      );
    }
    return node;
  }

  #rules(action: string): FaultRules {
    if (this.rules === undefined) {
      throw new FaultError(
        'PROXIES_OFF',
        `cannot ${action}: this cluster runs without fault proxies (--no-fault-proxies)`,
      );
    }
    return this.rules;
  }

  list(): NodeView[] {
    return this.nodes.map((node) => node.view());
  }

  async act(nodeId: number, action: FaultAction): Promise<NodeView> {
    const node = this.#node(nodeId);
    const fields = { brokerId: nodeId, fault: action.kind };
    switch (action.kind) {
      case 'kill':
        this.log.info(
          `fault: kill node ${nodeId} (SIGKILL${action.restart ? ', then restarted' : ', kept down'})`,
          fields,
        );
        await node.kill(action.restart);
        break;
      case 'pause':
        this.log.info(`fault: pause node ${nodeId} (SIGSTOP)`, fields);
        node.pause();
        break;
      case 'resume':
        this.log.info(`fault: resume node ${nodeId} (SIGCONT)`, fields);
        node.resume();
        break;
      case 'stop':
        this.log.info(`fault: stop node ${nodeId} (controlled shutdown, kept down)`, fields);
        await node.terminate('down');
        break;
      case 'restart':
        this.log.info(`fault: restart node ${nodeId} (controlled shutdown, then started)`, fields);
        await node.terminate('restart');
        break;
      case 'start':
        this.log.info(`fault: start node ${nodeId}`, fields);
        node.start();
        break;
      case 'isolate':
        this.log.info(`fault: isolate node ${nodeId} from ${action.from}`, { ...fields, from: action.from });
        this.#rules('isolate').isolate(nodeId, action.from);
        break;
      case 'slow':
        this.log.info(`fault: slow the links of node ${nodeId} from ${action.from} by ${action.delayMs} ms`, {
          ...fields,
          from: action.from,
          delayMs: action.delayMs,
        });
        this.#rules('slow').slow(nodeId, action.delayMs, action.from);
        break;
      case 'heal':
        this.log.info(`fault: heal node ${nodeId} (no isolation, no delay)`, fields);
        this.#rules('heal').heal(nodeId);
        break;
    }
    return node.view();
  }
}

export type FaultAction =
  | { kind: 'kill'; restart: boolean }
  | { kind: 'pause' | 'resume' | 'stop' | 'restart' | 'start' | 'heal' }
  | { kind: 'isolate'; from: FaultSide }
  | { kind: 'slow'; delayMs: number; from: FaultSide };

/** Each node's `kstack node` arguments: behind proxies, it listens above its public port and reaches its peers' controllers through theirs. */
function nodeArgs(
  plan: ClusterPlan,
  nodePlan: ClusterNodePlan,
  clusterId: string,
  proxied: boolean,
): string[] {
  const { nodeId } = nodePlan;
  const voters = plan.nodes
    .map(({ nodeId: id, port }) => {
      const offset = proxied && id !== nodeId ? PROXY_CONTROLLER_PORT_OFFSET : CONTROLLER_PORT_OFFSET;
      return `${id}@${plan.host}:${port + offset}`;
    })
    .join(',');
  const config = { ...clusterDefaults(plan.nodes.length), ...nodePlan.config };
  // With `listeners` given, the node's own `advertised.listeners` (or none) names every listener.
  if (config.listeners === undefined && nodePlan.advertised !== undefined) {
    config['advertised.listeners'] = `PLAINTEXT://${nodePlan.advertised.host}:${nodePlan.advertised.port}`;
  } else if (config.listeners === undefined && proxied) {
    config['advertised.listeners'] = `PLAINTEXT://${plan.host}:${nodePlan.port}`;
  }
  const script = process.argv[1] ?? join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
  return [
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
    String(nodePlan.port + (proxied ? NODE_BROKER_PORT_OFFSET : 0)),
    '--data-dir',
    join(plan.dataDir, `node-${nodeId}`),
    ...(nodePlan.metricsPort === undefined ? [] : ['--metrics-port', String(nodePlan.metricsPort)]),
    ...Object.entries(config).flatMap(([name, value]) => ['--override', `${name}=${value}`]),
  ];
}

/** The proxies in front of each node's broker and controller listeners. */
async function startProxies(plan: ClusterPlan, rules: FaultRules, log: Logger): Promise<NodeProxy[]> {
  const proxies = plan.nodes.flatMap(({ nodeId, port }) => [
    new NodeProxy({
      nodeId,
      host: plan.host,
      listenPort: port,
      upstreamPort: port + NODE_BROKER_PORT_OFFSET,
      rules,
      log: (message) => log.warn(message),
    }),
    new NodeProxy({
      nodeId,
      host: plan.host,
      listenPort: port + PROXY_CONTROLLER_PORT_OFFSET,
      upstreamPort: port + CONTROLLER_PORT_OFFSET,
      rules,
      log: (message) => log.warn(message),
    }),
  ]);
  const started: NodeProxy[] = [];
  try {
    for (const proxy of proxies) {
      await proxy.listen();
      started.push(proxy);
    }
  } catch (error) {
    await Promise.all(started.map((proxy) => proxy.close()));
    throw error;
  }
  return started;
}

/** Runs the cluster in the foreground until `stopRequested`; resolves to the exit code. */
export async function runCluster(
  plan: ClusterPlan,
  stopRequested: Promise<void>,
  log: Logger = createLogger({ component: 'supervisor' }),
): Promise<number> {
  const clusterId = loadClusterId(plan.dataDir);
  const supervisor = new Supervisor(plan, log);
  let proxies: NodeProxy[] = [];
  let control: { url: string; close(): Promise<void> } | undefined;
  const firstPort = plan.nodes[0]?.port ?? 0;
  const faultPort = plan.faultPort === undefined ? firstPort + FAULT_CONTROL_PORT_OFFSET : plan.faultPort;
  try {
    if (supervisor.rules !== undefined) proxies = await startProxies(plan, supervisor.rules, log);
    if (faultPort !== null)
      control = await serveFaultControl(supervisor, { host: plan.host, port: faultPort });
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    const { code, port } = error as NodeJS.ErrnoException & { port?: number };
    process.stderr.write(
      `kstack up: ${code === 'EADDRINUSE' ? `port ${port} on ${plan.host} is in use (a fault proxy or the fault control, --fault-port)` : (error as Error).message}\n`,
    );
    return EXIT_FAILED;
  }
  for (const nodePlan of plan.nodes) {
    const node = new SupervisedNode(
      nodePlan.nodeId,
      nodeArgs(plan, nodePlan, clusterId, supervisor.rules !== undefined),
      supervisor,
      log,
    );
    supervisor.nodes.push(node);
  }
  for (const node of supervisor.nodes) node.spawn();
  const outcome = await Promise.race([
    supervisor.registeredAll.then(() => 'ready' as const),
    stopRequested.then(() => 'stop' as const),
    // A node in a crash loop before the cluster is ready: nothing will make it ready.
    supervisor.gaveUpOn.then((nodeId) => {
      process.stderr.write(
        `kstack up: node ${nodeId} keeps exiting before the cluster is ready (above); stopping\n`,
      );
      return 'failed' as const;
    }),
  ]);
  let extras: { close(): Promise<void> } | undefined;
  let failed = false;
  if (outcome === 'ready') {
    const bootstrap = plan.nodes.map(({ port }) => `${plan.host}:${port}`).join(',');
    try {
      extras = await plan.onReady?.(bootstrap, control?.url);
    } catch (error) {
      failed = true;
      process.stderr.write(`kstack up: ${(error as Error).message}; stopping\n`);
    }
    if (!failed) {
      if (control !== undefined) {
        process.stdout.write(
          `kstack: fault control on ${control.url} (kstack fault --help)${supervisor.rules === undefined ? '; no fault proxies: isolate and slow are off' : ''}\n`,
        );
      }
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
  supervisor.stopping = true;
  await extras?.close();
  log.info('stopping every node');
  // One at a time: each controlled shutdown moves leadership to nodes still running, and the
  // last one, with nobody to hand over to, stops at once. The faults are healed first, so the
  // handover can reach the other nodes.
  for (const node of supervisor.nodes) supervisor.rules?.heal(node.nodeId);
  for (const node of [...supervisor.nodes].reverse()) await node.shutdown();
  await control?.close();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  log.info('stopped');
  return supervisor.crashed || supervisor.gaveUp || failed ? EXIT_FAILED : EXIT_OK;
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
    // With `listeners` given, the broker reads both settings itself (several listeners, src/security).
    if (advertisedText !== undefined && config.listeners === undefined) {
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
    // JSON lines on stderr (readable on a terminal), each with this node's id; the supervisor relays them.
    const log = createLogger({ component: 'node', brokerId: nodeId });
    // Kafka's searchable events (leader and ISR changes, fencing, topics created, rebalances) as lines.
    const stopEventLog = logKafkaEvents(log, nodeId);
    // Takes the handlers away again: a 'disconnect' listener holds the process open.
    let release = (): void => {};
    const stopRequested = new Promise<void>((done) => {
      const stop = (): void => {
        release();
        done();
      };
      release = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.off('disconnect', orphaned);
      };
      const orphaned = (): void => {
        log.warn(`node ${nodeId}: its supervisor is gone (the IPC channel closed); stopping`);
        stop();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      // Started by a supervisor (kstack up): stop with it, and let the channel not hold the process.
      if (process.channel !== undefined) {
        process.once('disconnect', orphaned);
        process.channel.unref();
      }
    });
    // Constructed inside the try: the node opens its metadata log here, and a directory it refuses (the
    // log format before offsets per record) is a start failure reported like any other.
    let node: ClusterNode;
    try {
      node = new ClusterNode({
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
          log.error(`node ${nodeId}: ${error.message}; exiting`);
          process.exit(EXIT_FAILED);
        },
      });
      await node.start();
    } catch (error) {
      log.error(`kstack node ${nodeId}: ${(error as Error).message}; exiting`);
      release();
      // What the node built before the failed start (files, timers) would keep the process
      // alive, and a supervisor waits for its exit to restart it: exit now.
      process.exit(EXIT_FAILED);
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
        log.error(
          `kstack node ${nodeId}: --metrics-port ${metricsPort} on ${host}: ${(error as Error).message}`,
        );
        await node.stop();
        release();
        process.exit(EXIT_FAILED);
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
    stopEventLog();
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
