/**
 * Pushed pages: a `Watch` asks something (the cluster, the fault control) every interval while at
 * least one page listens, one round shared by every listener, and `serveWatch` streams its answers
 * to a page as server-sent events.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { UiError } from './errors.ts';

/** Pages listening to one watch at once (each one stream), else 429. */
export const WATCH_STREAMS_MAX = 16;

export class Watch<T> {
  readonly #ask: () => Promise<T>;
  readonly #intervalMs: number;
  readonly #what: string;
  readonly #listeners = new Set<(value: T) => void>();
  readonly #closed = new AbortController();
  #running = false;
  /** Rounds go on with no page listening (keepAsking), and a new page gets the last answer at once. */
  #always = false;
  #last: T | undefined;
  #round: Promise<T> | undefined;

  constructor(what: string, intervalMs: number, ask: () => Promise<T>) {
    this.#what = what;
    this.#intervalMs = intervalMs;
    this.#ask = ask;
  }

  /** One round now (shared with a round already under way). */
  get(): Promise<T> {
    this.#round ??= this.#ask()
      .then((value) => {
        this.#last = value;
        return value;
      })
      .finally(() => {
        this.#round = undefined;
      });
    return this.#round;
  }

  /** Asks now and tells every listener (after a change, so that pages do not wait a round). */
  async push(): Promise<void> {
    if (this.#listeners.size === 0 && !this.#always) return;
    const value = await this.get();
    for (const listener of this.#listeners) listener(value);
  }

  /** Rounds every interval from now until close, listened to or not (the Charts page's history). */
  keepAsking(): void {
    this.#always = true;
    this.#run();
  }

  /** The last answer of a watch that keeps asking (undefined otherwise: it may be old). */
  latest(): T | undefined {
    return this.#always ? this.#last : undefined;
  }

  subscribe(listener: (value: T) => void): () => void {
    if (this.#listeners.size >= WATCH_STREAMS_MAX) {
      throw new UiError(
        429,
        'UI_TOO_MANY_STREAMS',
        `${WATCH_STREAMS_MAX} pages already listen to ${this.#what} (WATCH_STREAMS_MAX)`,
      );
    }
    this.#listeners.add(listener);
    this.#run();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Rounds while anyone listens (or always): the first at once, each next one the interval after the last ends. */
  #run(): void {
    if (this.#running) return;
    this.#running = true;
    void (async () => {
      try {
        while ((this.#always || this.#listeners.size > 0) && !this.#closed.signal.aborted) {
          await this.push().catch(() => {});
          await sleep(this.#intervalMs, undefined, { signal: this.#closed.signal }).catch(() => {});
        }
      } finally {
        this.#running = false;
      }
    })();
  }

  close(): void {
    this.#closed.abort();
    this.#listeners.clear();
  }
}

/** `GET path`: the watch's answers as server-sent events named `event`; every stream ends when the server closes. */
export function serveWatch<T>(app: FastifyInstance, path: string, event: string, watch: Watch<T>): void {
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });
  app.get(path, async (_request, reply) => {
    const raw = reply.raw;
    let unsubscribe: (() => void) | undefined;
    const end = () => {
      unsubscribe?.();
      streams.delete(end);
      raw.end();
    };
    // Before the stream starts, so that a refusal (429) is still a plain answer.
    unsubscribe = watch.subscribe((value) => {
      raw.write(`event: ${event}\ndata: ${JSON.stringify(value)}\n\n`);
    });
    streams.add(end);
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    raw.write(`: ${event}\n\n`);
    // A watch that keeps asking has history: the page gets it now, not a round later.
    const latest = watch.latest();
    if (latest !== undefined) raw.write(`event: ${event}\ndata: ${JSON.stringify(latest)}\n\n`);
    raw.on('close', end);
  });
}
