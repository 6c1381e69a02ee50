/**
 * The one call a node needs to serve its broker's metrics: attach the `BrokerMetrics` the broker
 * was given as its observer, listen, and on close stop listening and detach. `kstack up` uses one
 * per broker (`--brokers 3`: one per cluster node, each on its own port, as the Docker stack's
 * agent serves one endpoint per broker).
 */
import type { BrokerMetrics, BrokerMetricsSource } from './broker-metrics.ts';
import type { MetricsServer } from './http.ts';
import { type WorkerServer, workerServe } from './worker-render.ts';

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
  let server: WorkerServer;
  try {
    // The worker thread listens and answers; the broker's thread only collects when it asks.
    server = await workerServe(options.metrics.registry, {
      host: options.host,
      port: options.port,
      loopDelay: options.metrics.loopDelay,
    });
  } catch (error) {
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
