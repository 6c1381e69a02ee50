// A kstack cluster the compat runner can break: N `kstack node` processes (node ids 1..N), started
// one by one as `kstack up --brokers N` starts them (src/engine/cluster.ts runCluster), but each a
// child of the runner, so a scenario can stop one node (SIGTERM: controlled shutdown; SIGKILL: a crash)
// and start it again, as it does with the reference's JVMs. Each node may get its own configs (the
// proxy profile's advertised.listeners).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { probeMetadata } from '../../reference/probe.ts';
import {
  CONTROLLER_PORT_OFFSET,
  clusterDefaults,
  loadClusterId,
  NODE_REGISTERED_MARK,
} from '../../src/engine/cluster.ts';
import { BROKER_NODE_FLAGS } from '../../src/engine/process.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const HOST = '127.0.0.1';
/** From spawn to every running node listing the (re)started one in Metadata; generous for a loaded CI. */
export const KSTACK_NODE_READY_TIMEOUT_MS = 90_000;
/** A SIGTERM'd node (controlled shutdown, at most 10 s in cluster-node.ts) is killed after this. */
export const KSTACK_NODE_STOP_GRACE_MS = 30_000;
/** Output of each node kept for error reports. */
const OUTPUT_TAIL_BYTES = 8 * 1024;
const PROBE_INTERVAL_MS = 200;
const PROBE_TIMEOUT_MS = 2_000;
/** When set, each node's whole output is appended to DIR/node-N.log (to diagnose a failing cell). */
const NODE_LOG_DIR = process.env.KSTACK_COMPAT_NODE_LOGS;

export interface KstackClusterOptions {
  readonly nodes: number;
  /** Node N's broker listens on basePort+N-1, its controller listener CONTROLLER_PORT_OFFSET above. */
  readonly basePort: number;
  readonly dataDir: string;
  /** Broker configs of a node by Kafka name, over the cluster defaults `kstack up --brokers N` sets. */
  readonly overrides?: (nodeId: number) => Record<string, string>;
  /** Told of node exits the runner did not ask for. */
  readonly log?: (line: string) => void;
}

interface RunningNode {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  registered: boolean;
  output: string;
  /** Set once the runner asked it to stop (an exit then is no news). */
  stopping: boolean;
}

export class KstackCluster {
  readonly options: KstackClusterOptions;
  readonly ids: number[];
  readonly #clusterId: string;
  readonly #processes = new Map<number, RunningNode>();
  /** Each node's last output, kept after it exits (for the error of a node that died at startup). */
  readonly #lastOutput = new Map<number, string>();

  constructor(options: KstackClusterOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1)
      throw new Error(`nodes must be a positive integer, got ${options.nodes}`);
    this.options = options;
    this.ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
    this.#clusterId = loadClusterId(options.dataDir);
  }

  brokerPort(id: number): number {
    return this.options.basePort + id - 1;
  }

  /** The process id of a running node. */
  pid(id: number): number | undefined {
    return this.#processes.get(id)?.child.pid;
  }

  running(): number[] {
    return [...this.#processes.keys()].sort((a, b) => a - b);
  }

  /** Starts every node, then waits until each is registered and every node lists them all. */
  async start(): Promise<void> {
    for (const id of this.ids) this.#spawn(id);
    await this.#waitReady(this.ids);
  }

  /** Stops one node: SIGTERM (controlled shutdown, SIGKILL after the grace) or SIGKILL (a crash). */
  async stopNode(id: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    this.#node(id);
    const running = this.#processes.get(id);
    if (running === undefined) return;
    running.stopping = true;
    running.child.kill(signal);
    const timer = setTimeout(() => running.child.kill('SIGKILL'), KSTACK_NODE_STOP_GRACE_MS);
    await running.exited;
    clearTimeout(timer);
  }

  /** Starts a stopped node again (same data dir) and waits until every running node lists it. */
  async startNode(id: number): Promise<void> {
    this.#node(id);
    if (this.#processes.has(id)) return;
    this.#spawn(id);
    await this.#waitReady([id]);
  }

  /** Stops every node. With `kill`, no controlled shutdown (for a data dir thrown away after). */
  async stop(kill = false): Promise<void> {
    await Promise.all(this.running().map((id) => this.stopNode(id, kill ? 'SIGKILL' : 'SIGTERM')));
  }

  /** SIGKILL to every node without waiting, for process 'exit' handlers. */
  killAllSync(): void {
    for (const running of this.#processes.values()) {
      running.stopping = true;
      running.child.kill('SIGKILL');
    }
  }

  #node(id: number): void {
    if (!this.ids.includes(id))
      throw new Error(`kstack cluster: no node ${id} (nodes ${this.ids.join(', ')})`);
  }

  #spawn(id: number): void {
    const voters = this.ids
      .map((voter) => `${voter}@${HOST}:${this.brokerPort(voter) + CONTROLLER_PORT_OFFSET}`)
      .join(',');
    const config = { ...clusterDefaults(this.options.nodes), ...this.options.overrides?.(id) };
    const args = [
      ...BROKER_NODE_FLAGS,
      path.join(ROOT, 'bin', 'kstack.ts'),
      'node',
      '--node-id',
      String(id),
      '--voters',
      voters,
      `--cluster-id=${this.#clusterId}`,
      '--host',
      HOST,
      '--port',
      String(this.brokerPort(id)),
      '--data-dir',
      path.join(this.options.dataDir, `node-${id}`),
      ...Object.entries(config).flatMap(([name, value]) => ['--override', `${name}=${value}`]),
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        this.#lastOutput.set(id, running.output);
        if (this.#processes.get(id) === running) this.#processes.delete(id);
        if (!running.stopping) {
          this.options.log?.(
            `kstack node ${id} (pid ${child.pid}) exited (${signal ?? `code ${code}`}) unasked; its last output:\n${running.output}`,
          );
        }
        resolve();
      }),
    );
    const running: RunningNode = { child, exited, registered: false, output: '', stopping: false };
    if (NODE_LOG_DIR !== undefined) {
      fs.mkdirSync(NODE_LOG_DIR, { recursive: true });
      const file = fs.createWriteStream(path.join(NODE_LOG_DIR, `node-${id}.log`), { flags: 'a' });
      file.write(`--- node ${id} pid ${child.pid} started ${new Date().toISOString()}\n`);
      child.stdout?.pipe(file, { end: false });
      child.stderr?.pipe(file, { end: false });
      // 'close': after the last output (an 'exit' may come before it).
      child.once('close', () =>
        file.end(`--- node ${id} pid ${child.pid} exited ${new Date().toISOString()}\n`),
      );
    }
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      running.output = (running.output + text).slice(-OUTPUT_TAIL_BYTES);
      pending += text;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        if (pending.slice(0, end).includes(NODE_REGISTERED_MARK)) running.registered = true;
        pending = pending.slice(end + 1);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      running.output = (running.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    });
    this.#processes.set(id, running);
  }

  /**
   * Waits until each node of `ids` has printed that it is registered and unfenced, then until every
   * running node answers Metadata listing exactly the running nodes (as the reference cluster waits).
   */
  async #waitReady(ids: number[]): Promise<void> {
    const deadline = Date.now() + KSTACK_NODE_READY_TIMEOUT_MS;
    const fail = (id: number, why: string): never => {
      const output = this.#processes.get(id)?.output ?? this.#lastOutput.get(id) ?? '';
      throw new Error(`kstack node ${id} ${why}; its last output:\n${output.slice(-2000)}`);
    };
    // Any of them exiting fails the wait at once, whichever it is.
    for (;;) {
      const waiting = ids.filter((id) => this.#processes.get(id)?.registered !== true);
      if (waiting.length === 0) break;
      for (const id of waiting) if (!this.#processes.has(id)) fail(id, 'exited during startup');
      if (Date.now() > deadline)
        fail(
          waiting[0]!,
          `did not register within ${KSTACK_NODE_READY_TIMEOUT_MS} ms (no "${NODE_REGISTERED_MARK}")`,
        );
      await sleep(PROBE_INTERVAL_MS);
    }
    for (const id of this.running()) {
      let seen = 'no answer';
      for (;;) {
        const expected = this.running().join(',');
        try {
          const brokers = await probeMetadata(HOST, this.brokerPort(id), PROBE_TIMEOUT_MS);
          seen = `brokers ${brokers.join(',')}`;
          if (brokers.join(',') === expected) break;
        } catch (error) {
          seen = (error as Error).message;
        }
        if (!this.#processes.has(id)) fail(id, 'exited while waiting for the cluster');
        if (Date.now() > deadline)
          fail(
            id,
            `did not list brokers ${expected} in Metadata within ${KSTACK_NODE_READY_TIMEOUT_MS} ms (${seen})`,
          );
        await sleep(PROBE_INTERVAL_MS);
      }
    }
  }
}
