/**
 * The one call a node needs to serve its broker's metrics: attach the `BrokerMetrics` the broker
 * was given as its observer, listen, and on close stop listening and detach. `kstack up` uses one
 * per broker (`--brokers 3`: one per cluster node, each on its own port, as the Docker stack's
 * agent serves one endpoint per broker).
 */
import type { BrokerMetrics, BrokerMetricsSource } from './broker-metrics.ts';
import { type MetricsServer, startMetricsServer } from './http.ts';
import { workerRender } from './worker-render.ts';

export interface ServeBrokerMetricsOptions {
  /** The broker's observer (`BrokerOptions.observer`), created before the broker. */
  readonly metrics: BrokerMetrics;
  /** The started broker (`Broker`, or a cluster node's `node.broker`). */
  readonly broker: BrokerMetricsSource;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

export async function serveBrokerMetrics(options: ServeBrokerMetricsOptions): Promise<MetricsServer> {
  options.metrics.attach(options.broker);
  let server: MetricsServer;
  const render = workerRender(options.metrics.registry);
  try {
    server = await startMetricsServer({
      registry: render,
      host: options.host,
      port: options.port,
    });
  } catch (error) {
    await render.close();
    options.metrics.detach();
    throw error;
  }
  return {
    url: server.url,
    port: server.port,
    async close() {
      try {
        await server.close();
      } finally {
        options.metrics.detach();
      }
    },
  };
}
