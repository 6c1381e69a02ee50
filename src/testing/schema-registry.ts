/**
 * The Schema Registry as a companion of a test cluster (`startKafka({ schemaRegistry: true })`):
 * kstack's own registry (src/registry), in-process, leading alone (no registry group), on one port
 * for the cluster's life. `reset()` and `restore()` restart it over the `_schemas` the state change
 * left (none after a reset: `_schemas` is not a baseline topic, so the new registry creates it
 * empty), then raise its id floor so no id handed out before comes back (`raiseIdFloor`).
 */
import { type RunningSchemaRegistry, startSchemaRegistry } from '../registry/server.ts';

/**
 * The subject the id floor is imported under and then deleted for good: only its permanently
 * deleted record keeps the registry's highest id (state.ts counts ids it has seen, deleted or not).
 */
export const ID_FLOOR_SUBJECT = '__kstack_testing_id_floor';

/** A schema no test registers: the floor's id must not be taken by a schema a test sends. */
const ID_FLOOR_SCHEMA = JSON.stringify({ type: 'fixed', name: 'KstackTestingIdFloor', size: 1 });

const JSON_HEADERS = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

export class TestSchemaRegistry {
  readonly #bootstrap: string;
  readonly #host: string;
  #port: number;
  #running: RunningSchemaRegistry | null = null;
  /** The highest id any registry of this cluster handed out. */
  #highestId = 0;

  constructor(bootstrap: string, host: string, port: number) {
    this.#bootstrap = bootstrap;
    this.#host = host;
    this.#port = port;
  }

  /** `http://host:port`, the same across resets and restores. */
  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  async start(): Promise<void> {
    const running = await startSchemaRegistry({
      bootstrap: this.#bootstrap,
      host: this.#host,
      port: this.#port,
      leaderElection: false,
    });
    this.#running = running;
    this.#port = Number(new URL(running.url).port);
    await this.#raiseIdFloor();
  }

  /** Stops it, remembering the highest id it handed out. Safe twice. */
  async stop(): Promise<void> {
    const running = this.#running;
    this.#running = null;
    if (running === null) return;
    this.#highestId = Math.max(this.#highestId, running.registry.state.maxId());
    await running.close();
  }

  /**
   * Makes the next id this registry hands out higher than every id handed out before on this cluster:
   * a client cache from before a reset (id → schema) never meets an old id with a new schema. Imports
   * the floor schema under ID_FLOOR_SUBJECT with that id, then deletes the subject, its mode and the
   * record for good; what remains is no subject, no schema, and the highest id (default context only).
   */
  async #raiseIdFloor(): Promise<void> {
    const running = this.#running;
    if (running === null || running.registry.state.maxId() >= this.#highestId) return;
    const subject = `${this.url}/subjects/${ID_FLOOR_SUBJECT}`;
    await this.#call('PUT', `${this.url}/mode/${ID_FLOOR_SUBJECT}?force=true`, { mode: 'IMPORT' });
    await this.#call('POST', `${subject}/versions`, {
      schema: ID_FLOOR_SCHEMA,
      id: this.#highestId,
      version: 1,
    });
    await this.#call('DELETE', subject);
    // Deleting the subject for good drops its mode too, as Confluent's registry does.
    await this.#call('DELETE', `${subject}?permanent=true`);
  }

  async #call(method: string, url: string, body?: unknown): Promise<void> {
    const answer = await fetch(url, {
      method,
      headers: JSON_HEADERS,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!answer.ok) {
      throw new Error(`schema registry: ${method} ${url} answered ${answer.status}: ${await answer.text()}`);
    }
  }
}
