/** The broker under test as a child process: `node bin/kstack.ts up` on a port and a fresh data dir. */
import { describeExit, KstackProcess } from '../src/engine/process.ts';

/** The last bytes of the broker's output kept for the failure report. */
const OUTPUT_TAIL_BYTES = 16 * 1024;

export class BrokerChild {
  readonly #process: KstackProcess;

  /** `overrides`: broker configs by Kafka name (`--override K=V`), e.g. a SASL listener (fuzz/sasl.ts). */
  constructor(port: number, dataDir: string, overrides: Readonly<Record<string, string>> = {}) {
    const overrideArgs = Object.entries(overrides).flatMap(([key, value]) => [
      '--override',
      `${key}=${value}`,
    ]);
    this.#process = new KstackProcess({
      args: ['--port', String(port), '--data-dir', dataDir, ...overrideArgs],
      ports: [port],
      outputTailBytes: OUTPUT_TAIL_BYTES,
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get outputTail(): string {
    return this.#process.output;
  }

  /** How the process exited ("code N", "signal S"), or null while it runs. */
  get exit(): string | null {
    const exit = this.#process.exit;
    return exit === null ? null : describeExit(exit);
  }

  /** Resolves once the broker answers Metadata. */
  ready(timeoutMs: number): Promise<void> {
    return this.#process.ready(timeoutMs);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  async stop(graceMs: number): Promise<string> {
    return describeExit(await this.#process.stop(graceMs));
  }
}
