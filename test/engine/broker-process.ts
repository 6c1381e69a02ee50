/**
 * Test helper: runs `node bin/kstack.ts up` as a separate process on a real port and
 * data directory (src/engine/process.ts), and stops it (SIGTERM, or SIGKILL for crash tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KstackProcess } from '../../src/engine/process.ts';

/** Tests read the whole output of a run (recovery messages, shutdown): keep plenty. */
const OUTPUT_TAIL_BYTES = 4 * 1024 * 1024;
/**
 * How long start() waits for Metadata by default: a bound, not a wait (a quiet machine answers in
 * ~1-2 s). 20 s was missed twice in a row by `kstack up` at load 45-60 on 2026-12-06.
 */
const READY_TIMEOUT_MS = 120_000;

export class BrokerProcess {
  readonly port: number;
  readonly dataDir: string;
  #process: KstackProcess | null = null;
  readonly #extraArgs: readonly string[];

  constructor(port: number, dataDir?: string, extraArgs: readonly string[] = []) {
    this.port = port;
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'kstack-test-'));
    this.#extraArgs = extraArgs;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The output of the current (or last) run. */
  get output(): string {
    return this.#process?.output ?? '';
  }

  async start(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    this.#process = await KstackProcess.start(
      {
        args: ['--port', String(this.port), '--data-dir', this.dataDir, ...this.#extraArgs],
        ports: [this.port],
        outputTailBytes: OUTPUT_TAIL_BYTES,
      },
      timeoutMs,
    );
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Stops the broker: SIGTERM (clean) or SIGKILL (crash); resolves with the exit code or signal. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | string | null> {
    if (this.#process === null) return null;
    const exit = await this.#process.stop(undefined, signal);
    return exit.code ?? exit.signal;
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Opens a raw TCP connection to the broker. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed by the peer (true), or after `timeoutMs` (false). */
export function closedWithin(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', done);
    socket.once('end', done);
  });
}

/** Collects size-prefixed response frames from a socket. */
export class FrameReader {
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  readonly frames: Buffer[] = [];

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4) {
        const size = this.#buffer.readInt32BE(0);
        if (this.#buffer.length < 4 + size) break;
        this.frames.push(this.#buffer.subarray(4, 4 + size));
        this.#buffer = this.#buffer.subarray(4 + size);
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  async next(count = 1, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} frames, got ${this.frames.length}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.frames.splice(0, count);
  }
}
