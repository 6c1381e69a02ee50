/**
 * The Cluster page's pushed health: `kstack status`'s reading of the cluster (readStatus: the
 * brokers Metadata lists, the nodes that hold replicas or vote but are not listed (down or fenced),
 * the KRaft quorum's leader, epoch, high watermark and each voter's log end offset and lag by
 * DescribeQuorum (API 55), under-replicated and offline partitions), asked every
 * CLUSTER_WATCH_INTERVAL_MS while a Cluster page listens and sent as server-sent `cluster` events.
 * Metadata is read raw there, so a partition without a leader is shown rather than failing the read.
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterStatus } from '../tools/status-command.ts';
import { statusFromAny } from './kafka.ts';
import { serveWatch, Watch } from './watch.ts';

/** How often a listened-to Cluster page is refreshed. */
export const CLUSTER_WATCH_INTERVAL_MS = 2_000;
/** One broker's reading (connecting and each request); the next broker is tried after it. */
const STATUS_TIMEOUT_MS = 5_000;

export interface ClusterLive {
  readonly at: number;
  readonly status: ClusterStatus | null;
  readonly error: string | null;
}

/**
 * Each round asks the bootstrap brokers one at a time, from the last one that answered: a killed
 * broker's fault proxy still accepts connections, so the first address may connect and then fail.
 */
export function clusterWatch(bootstrap: string): Watch<ClusterLive> {
  const servers = bootstrap.split(',').map((s) => s.trim());
  let answering = 0;
  return new Watch<ClusterLive>('the Cluster page', CLUSTER_WATCH_INTERVAL_MS, async () => {
    try {
      const { status, answered } = await statusFromAny(servers, answering, STATUS_TIMEOUT_MS);
      answering = answered;
      return { at: Date.now(), status, error: null };
    } catch (error) {
      return { at: Date.now(), status: null, error: (error as Error).message };
    }
  });
}

/** `GET /api/cluster/live` (one reading) and `GET /api/cluster/events` (pushed). */
export function registerClusterLive(app: FastifyInstance, watch: Watch<ClusterLive>): void {
  app.get('/api/cluster/live', () => watch.get());
  serveWatch(app, '/api/cluster/events', 'cluster', watch);
}
