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
}

export interface MetricsAppOptions {
  /** METRICS_RENDER_MIN_INTERVAL_MS when missing; 0 renders on every scrape. */
  readonly renderMinIntervalMs?: number;
}

export function buildMetricsApp(registry: MetricsText, options: MetricsAppOptions = {}): FastifyInstance {
  const minIntervalMs = options.renderMinIntervalMs ?? METRICS_RENDER_MIN_INTERVAL_MS;
  let rendered: { text: string; atMs: number } | null = null;
  /** The render in flight: concurrent scrapes share it. */
  let rendering: Promise<string> | null = null;
  const render = (): Promise<string> => {
    rendering ??= registry
      .metrics()
      .then((text) => {
        rendered = { text, atMs: performance.now() };
        return text;
      })
      .finally(() => {
        rendering = null;
      });
    return rendering;
  };
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const fresh = rendered !== null && performance.now() - rendered.atMs < minIntervalMs;
    const text = fresh && rendered !== null ? rendered.text : await render();
    return reply.type(registry.contentType).send(text);
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
    close: () => app.close(),
  };
}
