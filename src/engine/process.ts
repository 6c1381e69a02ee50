/**
 * `kstack up` as a child process, for the programs that need a real broker process: tests, the fuzzer,
 * the compatibility runner and the benchmark. Starts `node bin/kstack.ts up ARGS…`, waits until each
 * listening port answers a Metadata request, keeps the tail of its output for error reports, and
 * stops it with SIGTERM (a clean shutdown) and SIGKILL after a grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { probeMetadata } from '../../reference/probe.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Output kept for error reports (stdout and stderr interleaved), by default. */
export const OUTPUT_TAIL_BYTES_DEFAULT = 16 * 1024;
/**
 * kstack's own console lines (`kstack: … bootstrap servers: …`, `[kstack] …`: every line that is not a
 * JSON log line) kept whole, at most this many: a harness waiting for one must not lose it to the
 * tail, which a burst of JSON logs (a 50-partition internal topic created by a companion) can fill.
 */
export const NOTICE_LINES_MAX = 2000;
export const READY_TIMEOUT_MS_DEFAULT = 60_000;
/** How long SIGTERM may take before SIGKILL, by default. */
export const STOP_GRACE_MS_DEFAULT = 30_000;
/** Between Metadata probes while waiting for readiness. */
const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;
const HOST = '127.0.0.1';

/**
 * V8 flags every broker process starts with: here, and in the bin's shebang (which `make up` and
 * `npm run kstack` go through). With V8's small default old generation the broker ran a full
 * mark-compact about every 0.6 s under a steady 5,000 msg/s load, 3-6 ms each, which is most of
 * its e2e p99; an initial old space of 64 MB removed them with the same idle memory (measured in
 * src/bench/README.md). The flag is refused in NODE_OPTIONS, so it has to be on the command line.
 */
export const BROKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

export interface KstackProcessOptions {
  /**
   * Arguments after `kstack up` (ports, data dir, overrides). Without `--brokers` it is given
   * `--brokers 1`: `kstack up` alone starts the Compose stack's three brokers, and every harness
   * that names no count places one broker on its port.
   */
  readonly args: readonly string[];
  /** The ports it listens on, probed with Metadata by `ready()` (not the advertised ones). */
  readonly ports: readonly number[];
  /** Output kept for error reports; OUTPUT_TAIL_BYTES_DEFAULT when missing. */
  readonly outputTailBytes?: number;
  /** Also copy the process's stderr to ours (for interactive tools). */
  readonly echoStderr?: boolean;
  /** More node flags after BROKER_NODE_FLAGS, e.g. `--import` of a probe module. */
  readonly nodeFlags?: readonly string[];
  /** Open an IPC channel to the child (`send`, and its 'message' events through `onMessage`). */
  readonly ipc?: boolean;
  /**
   * Variables added to our environment for `kstack up`, which its nodes inherit (the cluster chaos
   * test's LD_PRELOAD of libfaketime, which skews the nodes' wall clocks).
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A cluster (`--brokers N`, N > 1) as users get it: fault proxies on the fixed ports beside each
   * broker's, the fault control on the first port + 10, a crashed node restarted. Without it a
   * cluster is started `--no-restart --no-fault-proxies --fault-port 0` (unless ARGS name those
   * flags): it binds only the ports its caller placed (and a free one), and a node the caller kills
   * stays down, as every harness written before the fault control expects.
   */
  readonly faults?: boolean;
}

/** How a process ended: its exit code, or the signal that ended it. */
export type ProcessExit = { code: number; signal: null } | { code: null; signal: NodeJS.Signals };

export function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/**
 * `args` with `--brokers 1` first unless they name a broker count (`--brokers N` or `--brokers=N`);
 * for a cluster without `faults`, `--no-restart --no-fault-proxies --fault-port 0` where ARGS
 * name none of them (see KstackProcessOptions.faults).
 */
export function upArgs(
  args: readonly string[],
  { faults = false }: { faults?: boolean } = {},
): readonly string[] {
  const at = args.findIndex((arg) => arg === '--brokers' || arg.startsWith('--brokers='));
  if (at < 0) return ['--brokers', '1', ...args];
  const count = Number(args[at] === '--brokers' ? args[at + 1] : args[at]!.slice('--brokers='.length));
  const named = (flag: string) => args.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
  if (faults || count <= 1) return args;
  return [
    ...args,
    ...(named('--restart') || named('--no-restart') ? [] : ['--no-restart']),
    ...(named('--no-fault-proxies') ? [] : ['--no-fault-proxies']),
    ...(named('--fault-port') ? [] : ['--fault-port', '0']),
  ];
}

export class KstackProcess {
  readonly options: KstackProcessOptions;
  readonly #child: ChildProcess;
  readonly #exited: Promise<ProcessExit>;
  #output = '';
  readonly #notices: string[] = [];
  #exit: ProcessExit | null = null;

  /** Spawns the process; `ready()` waits until it serves. */
  constructor(options: KstackProcessOptions) {
    this.options = options;
    const tailBytes = options.outputTailBytes ?? OUTPUT_TAIL_BYTES_DEFAULT;
    const flags = [...BROKER_NODE_FLAGS, ...(options.nodeFlags ?? [])];
    this.#child = spawn(
      process.execPath,
      [...flags, 'bin/kstack.ts', 'up', ...upArgs(options.args, options)],
      {
        cwd: ROOT,
        stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
        env: options.env === undefined ? process.env : { ...process.env, ...options.env },
      },
    );
    // One follower per stream: the shared output tail, the stream's own notice lines, the echo.
    const follow = (echo: boolean) => {
      const collectNotices = this.#noticeCollector();
      return (chunk: Buffer): void => {
        this.#output = (this.#output + chunk.toString('utf8')).slice(-tailBytes);
        collectNotices(chunk);
        if (echo) process.stderr.write(chunk);
      };
    };
    this.#child.stdout?.on('data', follow(false));
    this.#child.stderr?.on('data', follow(options.echoStderr === true));
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = signal !== null ? { code: null, signal } : { code: code ?? 0, signal: null };
        resolve(this.#exit);
      });
    });
  }

  /** Spawns the process and waits until it serves; stops it again if it never does. */
  static async start(options: KstackProcessOptions, readyTimeoutMs = READY_TIMEOUT_MS_DEFAULT) {
    const started = new KstackProcess(options);
    try {
      await started.ready(readyTimeoutMs);
    } catch (error) {
      await started.stop(0);
      throw error;
    }
    return started;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Sends a message over the IPC channel (the `ipc` option). */
  send(message: object): void {
    if (!this.options.ipc) throw new Error('KstackProcess: send() needs the ipc option');
    this.#child.send(message);
  }

  /** Listens to IPC messages; returns the function that stops listening. */
  onMessage(listener: (message: unknown) => void): () => void {
    this.#child.on('message', listener);
    return () => this.#child.off('message', listener);
  }

  /** The last OUTPUT_TAIL_BYTES of stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  /** kstack's own console lines so far (not its JSON logs), whole: the first NOTICE_LINES_MAX. */
  get notices(): string {
    return this.#notices.join('\n');
  }

  /** Collects one stream's non-JSON lines into #notices (a line may span chunks). */
  #noticeCollector(): (chunk: Buffer) => void {
    let partial = '';
    return (chunk) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('{') || this.#notices.length >= NOTICE_LINES_MAX) continue;
        this.#notices.push(line);
      }
    };
  }

  /** How it ended, or null while it runs. */
  get exit(): ProcessExit | null {
    return this.#exit;
  }

  /** Resolves when every port answers Metadata; rejects (with the output tail) on exit or timeout. */
  async ready(timeoutMs = READY_TIMEOUT_MS_DEFAULT): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const command = `kstack up ${upArgs(this.options.args, this.options).join(' ')}`;
    for (const port of this.options.ports) {
      for (;;) {
        if (this.#exit !== null) {
          throw new Error(
            `\`${command}\` exited (${describeExit(this.#exit)}) before serving:\n${this.#output}`,
          );
        }
        const answered = await probeMetadata(HOST, port, PROBE_TIMEOUT_MS).then(
          () => true,
          () => false,
        );
        if (answered) break;
        if (Date.now() > deadline) {
          throw new Error(
            `\`${command}\` did not answer Metadata on ${HOST}:${port} within ${timeoutMs} ms:\n${this.#output}`,
          );
        }
        await sleep(PROBE_INTERVAL_MS);
      }
    }
  }

  /**
   * SIGTERM (clean shutdown), then SIGKILL if it has not exited after `graceMs`; or SIGKILL at once
   * with `signal` SIGKILL (a crash). Resolves with how it exited.
   */
  async stop(
    graceMs = STOP_GRACE_MS_DEFAULT,
    signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
  ): Promise<ProcessExit> {
    if (this.#exit !== null) return this.#exit;
    this.#child.kill(signal);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const exit = await this.#exited;
    clearTimeout(timer);
    return exit;
  }

  /** SIGKILL without waiting, for process 'exit' handlers (which cannot wait). */
  killSync(): void {
    if (this.#exit === null) this.#child.kill('SIGKILL');
  }
}
