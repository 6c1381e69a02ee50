/** The broker under test as a child process: `node bin/kstack.ts up` on a port and a fresh data dir. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
/** The last bytes of the broker's output kept for the failure report. */
const OUTPUT_TAIL_BYTES = 16 * 1024;

export class BrokerChild {
  readonly #child: ChildProcess;
  #output = '';
  exit: string | null = null;

  constructor(port: number, dataDir: string) {
    this.#child = spawn(
      process.execPath,
      ['bin/kstack.ts', 'up', '--port', String(port), '--data-dir', dataDir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
    };
    this.#child.stdout?.on('data', keep);
    this.#child.stderr?.on('data', keep);
    this.#child.on('exit', (code, signal) => {
      this.exit = signal !== null ? `signal ${signal}` : `code ${code}`;
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get outputTail(): string {
    return this.#output;
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#output.includes('bootstrap servers')) {
      if (this.exit !== null)
        throw new Error(`broker exited (${this.exit}) before listening:\n${this.#output}`);
      if (Date.now() > deadline)
        throw new Error(`broker did not listen within ${timeoutMs} ms:\n${this.#output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  async stop(graceMs: number): Promise<string> {
    if (this.exit !== null) return this.exit;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    return this.exit ?? 'unknown';
  }
}
