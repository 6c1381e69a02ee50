/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` in the Prometheus text format,
 * served by fastify (the project's one HTTP framework), built apart from listening so
 * tests can call it in-process.
 */
import Fastify, { type FastifyInstance } from 'fastify';

/** What the endpoint serves: a prom-client `Registry`, or one that collects first (the exporter). */
export interface MetricsText {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export function buildMetricsApp(registry: MetricsText): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
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
export async function startMetricsServer(options: {
  readonly registry: MetricsText;
  readonly host: string;
  readonly port: number;
}): Promise<MetricsServer> {
  const app = buildMetricsApp(options.registry);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    url: `http://${options.host}:${port}/metrics`,
    port,
    close: () => app.close(),
  };
}
