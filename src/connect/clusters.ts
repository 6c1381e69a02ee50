/**
 * A cluster to run the Connect worker against, for the tests and the benchmark: `kstack up` (one
 * broker, a child process) or Apache Kafka 4.1.1 (the reference launcher, one node).
 */
import { join } from 'node:path';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../engine/process.ts';

export type ClusterKind = 'kstack' | 'reference';

/** A clean stop of `kstack up` with consumer groups has taken over 30 s on the loaded machine. */
const KSTACK_STOP_GRACE_MS = 120_000;
const KSTACK_READY_TIMEOUT_MS = 120_000;

export interface Cluster {
  readonly kind: ClusterKind;
  readonly bootstrap: string;
  stop(): Promise<void>;
}

/**
 * Starts a one-node cluster listening on 127.0.0.1:port, its data under `dir`; the reference may have
 * `referenceNodes` nodes (on port, port + 1, …: RF 3 and min ISR 2 on three).
 */
export async function startCluster(
  kind: ClusterKind,
  port: number,
  dir: string,
  referenceNodes = 1,
): Promise<Cluster> {
  if (kind === 'reference') {
    const cluster = new ReferenceCluster({
      nodes: referenceNodes,
      basePort: port,
      dataDir: join(dir, 'reference'),
    });
    await cluster.start();
    return { kind, bootstrap: cluster.bootstrap, stop: () => cluster.stop(true) };
  }
  const broker = await KstackProcess.start(
    { args: ['--no-compose', '--port', String(port), '--data-dir', join(dir, 'kstack')], ports: [port] },
    KSTACK_READY_TIMEOUT_MS,
  );
  return {
    kind,
    bootstrap: `127.0.0.1:${port}`,
    stop: async () => {
      await broker.stop(KSTACK_STOP_GRACE_MS);
    },
  };
}
