/**
 * Kafka Connect beside a test cluster (`startKafka({ brokers: 3, connect: true })`, or `brokers: 1`: a one-node cluster):
 * the real JVM worker, under the supervisor `kstack up` runs (src/connect/companion.ts: restarted
 * when it exits on its own, stopped on close), on a free port of the cluster's host, a client of
 * the cluster through its bootstrap servers. One worker per suite: a JVM costs seconds to start and
 * a few hundred MiB, so it is opt-in.
 *
 * reset() removes every connector with its offsets through Connect's own REST API (KIP-875: the
 * connector stopped, its offsets deleted, then the connector deleted), so the next test starts with
 * none and a connector created again under an old name starts from nothing; the worker keeps
 * running, so its internal topics and its group are kept by the broker-side reset.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectCompanion, startConnectCompanion } from '../connect/companion.ts';
import {
  CONFIG_STORAGE_TOPIC_DEFAULT,
  CONNECT_GROUP_ID_DEFAULT,
  OFFSET_STORAGE_TOPIC_DEFAULT,
  STATUS_STORAGE_TOPIC_DEFAULT,
} from '../connect/worker.ts';
import { KafkaTestingError } from './errors.ts';

/** The worker's own topics and group: kept by reset() (the running worker needs them). */
export const CONNECT_TOPICS: readonly string[] = [
  CONFIG_STORAGE_TOPIC_DEFAULT,
  OFFSET_STORAGE_TOPIC_DEFAULT,
  STATUS_STORAGE_TOPIC_DEFAULT,
];
export const CONNECT_GROUP = CONNECT_GROUP_ID_DEFAULT;
/** How long startKafka waits for the worker's REST API (the JVM starts in 10-45 s on a loaded machine). */
export const CONNECT_READY_MS = 180_000;
/** How long reset() waits for a connector to stop, and for every connector to be gone. */
export const CONNECT_RESET_MS = 60_000;
const POLL_MS = 100;
/**
 * Worker settings for tests: source offsets committed every second (Kafka's 60 s would leave a
 * test's position uncommitted), the client JIT only (the start does not share two cores with C2).
 */
export const TEST_CONNECT_OVERRIDES: ReadonlyMap<string, string> = new Map([
  ['offset.flush.interval.ms', '1000'],
]);
const TEST_CONNECT_JVM_OPTIONS: readonly string[] = ['-XX:TieredStopAtLevel=1'];

export interface TestConnectOptions {
  /** Folders of the suite's own connector plugins, after the shipped ones (FileStream, MirrorMaker). */
  readonly plugins?: readonly string[];
}

export class TestConnect {
  readonly #bootstrap: string;
  readonly #host: string;
  readonly #plugins: readonly string[];
  readonly #brokerCount: number;
  readonly #workDir = mkdtempSync(join(tmpdir(), 'kstack-test-connect-'));
  /** The supervisor's lines (ready, exited, restarting), for errors. */
  readonly #lines: string[] = [];
  #companion: ConnectCompanion | null = null;
  /** The REST port, chosen free at the first start and kept across restarts (connectUrl stays). */
  #port = 0;

  constructor(bootstrap: string, host: string, brokerCount: number, options: TestConnectOptions) {
    this.#bootstrap = bootstrap;
    this.#host = host;
    this.#brokerCount = brokerCount;
    this.#plugins = options.plugins ?? [];
  }

  /** `http://127.0.0.1:port` of the REST API. */
  get url(): string {
    if (this.#companion === null) throw new KafkaTestingError('STOPPED', 'the Connect worker is stopped');
    return this.#companion.url;
  }

  /** Starts the supervised worker; resolves once its REST API answers (GET /health 200). */
  async start(): Promise<void> {
    if (this.#host !== '127.0.0.1') {
      throw new KafkaTestingError(
        'OPTION_INVALID',
        `connect: the worker's REST API listens on 127.0.0.1 only (the cluster's host is ${this.#host})`,
      );
    }
    if (this.#port === 0) this.#port = await freePort();
    const companion = await startConnectCompanion({
      bootstrap: this.#bootstrap,
      port: this.#port,
      workDir: this.#workDir,
      pluginDirs: this.#plugins,
      // The worker's topics at RF min(3, brokers), as Kafka lets its *.storage.replication.factor say.
      brokerCount: this.#brokerCount,
      overrides: TEST_CONNECT_OVERRIDES,
      jvmOptions: TEST_CONNECT_JVM_OPTIONS,
      log: (line) => this.#lines.push(line),
    });
    this.#companion = companion;
    const deadline = performance.now() + CONNECT_READY_MS;
    while (companion.starts === 0) {
      if (performance.now() > deadline) {
        await this.stop();
        throw new KafkaTestingError(
          'WAIT_TIMED_OUT',
          `the Connect worker was not ready within ${CONNECT_READY_MS} ms: ${this.#lines.slice(-3).join(' | ')}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Every connector stopped, its offsets deleted (a source's committed position, a sink's group
   * offsets) and deleted; waits until the worker lists none.
   */
  async removeConnectors(): Promise<void> {
    const names = (await this.#rest('GET', '/connectors')) as string[];
    for (const name of names) {
      const path = `/connectors/${encodeURIComponent(name)}`;
      await this.#rest('PUT', `${path}/stop`);
      await this.#until(`connector '${name}' STOPPED`, async () => {
        const status = (await this.#rest('GET', `${path}/status`)) as { connector?: { state?: string } };
        return status.connector?.state === 'STOPPED';
      });
      await this.#rest('DELETE', `${path}/offsets`);
      await this.#rest('DELETE', path);
    }
    await this.#until(
      'no connector listed',
      async () => ((await this.#rest('GET', '/connectors')) as string[]).length === 0,
    );
  }

  /**
   * Stops the worker (SIGTERM, then SIGKILL after its grace), keeping its work folder and port for
   * `start()` again (restore: a new worker reads the restored topics). Safe twice.
   */
  async halt(): Promise<void> {
    const companion = this.#companion;
    this.#companion = null;
    await companion?.close();
  }

  /** Stops the worker and removes its work folder. Safe twice. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.#workDir, { recursive: true, force: true });
  }

  async #until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + CONNECT_RESET_MS;
    while (!(await check())) {
      if (performance.now() > deadline) {
        throw new KafkaTestingError(
          'RESET_FAILED',
          `reset(): no ${what} within ${CONNECT_RESET_MS} ms (Connect at ${this.url})`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** One REST call; its JSON body (null when empty); RESET_FAILED naming the call on an error status. */
  async #rest(method: string, path: string): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      signal: AbortSignal.timeout(CONNECT_RESET_MS),
    });
    const text = await response.text();
    // 404 on a connector another call removed meanwhile is what reset() wants anyway.
    if (!response.ok && !(response.status === 404 && method !== 'GET')) {
      throw new KafkaTestingError(
        'RESET_FAILED',
        `reset(): Connect answered ${method} ${path} with ${response.status}: ${text.slice(0, 300)}`,
      );
    }
    return text === '' ? null : (JSON.parse(text) as unknown);
  }
}

/** A port free on 127.0.0.1 now (bound, then released: the supervisor refuses a taken one at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
