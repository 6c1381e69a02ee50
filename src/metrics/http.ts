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
  /**
   * The text as UTF-8 bytes and gzipped, made off the calling thread (the worker render): a
   * scrape that accepts gzip (Prometheus does) is then sent ~10x fewer bytes, and neither
   * encoding costs the broker's thread.
   */
  encoded?(): Promise<EncodedMetrics>;
  /** Releases what rendering holds (a worker thread); called when the server closes. */
  close?(): Promise<void>;
}

export interface EncodedMetrics {
  readonly body: Buffer;
  readonly gzip: Buffer;
}

/**
 * Whether an Accept-Encoding header accepts gzip (RFC 9110 §12.5.3: `gzip` or `*`, unless its
 * q is 0).
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(',')) {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
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
  type Rendered = { body: Buffer; gzip: Buffer | null; atMs: number };
  /** The last text, encoded once: scrapes between renders send the same bytes. */
  let rendered: Rendered | null = null;
  /** The render in flight: concurrent scrapes share it. */
  let rendering: Promise<Rendered> | null = null;
  const encode = (): Promise<{ body: Buffer; gzip: Buffer | null }> =>
    registry.encoded?.() ??
    registry.metrics().then((text) => ({ body: Buffer.from(text, 'utf8'), gzip: null }));
  const render = (): Promise<Rendered> => {
    rendering ??= encode()
      .then((bytes) => {
        rendered = { ...bytes, atMs: performance.now() };
        return rendered;
      })
      .finally(() => {
        rendering = null;
      });
    return rendering;
  };
  const app = Fastify({ logger: false });
  app.get('/metrics', async (request, reply) => {
    const fresh = rendered !== null && performance.now() - rendered.atMs < minIntervalMs;
    const { body, gzip } = fresh && rendered !== null ? rendered : await render();
    reply.type(registry.contentType);
    if (gzip === null) return reply.send(body);
    reply.header('vary', 'accept-encoding');
    if (!acceptsGzip(request.headers['accept-encoding'])) return reply.send(body);
    return reply.header('content-encoding', 'gzip').send(gzip);
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
