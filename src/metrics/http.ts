/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` in the Prometheus text format,
 * served by fastify (the project's one HTTP framework), built apart from listening so
 * tests can call it in-process.
 */
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * Scrapes closer together than this get the text rendered for the previous one. Rendering
 * costs the broker about 7 ms of its event loop with ~110 partitions (1.3 ms of it prom-client's
 * process metrics), and the exporter's collection ~4 ms of the broker's: a scraper every
 * 100 ms would otherwise take 7-10% of a core from the broker.
 */
export const METRICS_RENDER_MIN_INTERVAL_MS = 1_000;

/** What the endpoint serves: a prom-client `Registry`, or one that collects first (the exporter). */
export interface MetricsText {
  readonly contentType: string;
  metrics(): Promise<string>;
  /** Releases what rendering holds (a worker thread); called when the server closes. */
  close?(): Promise<void>;
}

/**
 * A render yields to the event loop once it has held it this long, so requests arriving during
 * a scrape wait at most about this (plus one family's text) rather than the whole render.
 */
export const METRICS_RENDER_SLICE_MS = 1;

/** The part of a prom-client `Registry` a sliced render needs. */
export interface FamilyRegistry {
  readonly contentType: string;
  getMetricsAsArray(): readonly { readonly name: string }[];
  getSingleMetricAsString(name: string): Promise<string>;
}

/**
 * `registry.metrics()` in slices: the same text (the families in registration order, joined as
 * prom-client joins them), but built one family at a time, returning to the event loop whenever
 * a slice has run METRICS_RENDER_SLICE_MS, as Kafka's JMX exporter reads MBeans on its own thread
 * instead of the request handlers'. Each family is read in one turn, so its series agree with
 * each other; families read a few milliseconds apart, as the JMX exporter's MBeans are.
 */
export function slicedRender(registry: FamilyRegistry, sliceMs = METRICS_RENDER_SLICE_MS): MetricsText {
  return {
    contentType: registry.contentType,
    async metrics() {
      const families: string[] = [];
      let sliceStartMs = performance.now();
      for (const { name } of registry.getMetricsAsArray()) {
        families.push(await registry.getSingleMetricAsString(name));
        if (performance.now() - sliceStartMs >= sliceMs) {
          await new Promise((done) => setImmediate(done));
          sliceStartMs = performance.now();
        }
      }
      return `${families.join('\n\n')}\n`;
    },
  };
}

export interface MetricsAppOptions {
  /** METRICS_RENDER_MIN_INTERVAL_MS when missing; 0 renders on every scrape. */
  readonly renderMinIntervalMs?: number;
}

export function buildMetricsApp(registry: MetricsText, options: MetricsAppOptions = {}): FastifyInstance {
  const minIntervalMs = options.renderMinIntervalMs ?? METRICS_RENDER_MIN_INTERVAL_MS;
  /** The last text, encoded once: scrapes between renders send the same bytes. */
  let rendered: { body: Buffer; atMs: number } | null = null;
  /** The render in flight: concurrent scrapes share it. */
  let rendering: Promise<Buffer> | null = null;
  const render = (): Promise<Buffer> => {
    rendering ??= registry
      .metrics()
      .then((text) => {
        const body = Buffer.from(text, 'utf8');
        rendered = { body, atMs: performance.now() };
        return body;
      })
      .finally(() => {
        rendering = null;
      });
    return rendering;
  };
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const fresh = rendered !== null && performance.now() - rendered.atMs < minIntervalMs;
    const body = fresh && rendered !== null ? rendered.body : await render();
    return reply.type(registry.contentType).send(body);
  });
  return app;
}

export interface MetricsServer {
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `registry` on `host:port` (port 0: any free port). */
export async function startMetricsServer(
  options: {
    readonly registry: MetricsText;
    readonly host: string;
    readonly port: number;
  } & MetricsAppOptions,
): Promise<MetricsServer> {
  const app = buildMetricsApp(options.registry, options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}/metrics`,
    port,
    async close() {
      try {
        await app.close();
      } finally {
        await options.registry.close?.();
      }
    },
  };
}
