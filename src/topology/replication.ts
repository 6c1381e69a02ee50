/**
 * Replication settings on a cluster smaller than the one they were written for. The Compose
 * stack is three brokers (replication factor 3, `min.insync.replicas=2`); `kstack up` may run
 * fewer, and `kstack topics apply` may meet a smaller cluster. Kafka itself would refuse the
 * topic (INVALID_REPLICATION_FACTOR) or every `acks=all` write (NOT_ENOUGH_REPLICAS), which
 * no user of a one-broker development cluster wants. So the replication factor is lowered to
 * the broker count, and `min.insync.replicas` by as many replicas as were dropped (at least
 * 1), which keeps the number of replicas a write may lose where the cluster allows it. Every
 * lowered value is reported in one line; nothing is lowered silently.
 */

export interface Replication {
  readonly replicationFactor: number;
  /** Undefined when the source does not set it (the cluster's default applies). */
  readonly minInsyncReplicas: number | undefined;
}

export interface LoweredReplication extends Replication {
  /** Human-readable changes, e.g. `replication factor 3 -> 1`; empty when none. */
  readonly changes: readonly string[];
}

export function fitReplication(wanted: Replication, brokerCount: number): LoweredReplication {
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new Error(`fitReplication: broker count ${brokerCount} is not a positive whole number`);
  }
  if (wanted.replicationFactor <= brokerCount) return { ...wanted, changes: [] };
  const replicationFactor = brokerCount;
  const dropped = wanted.replicationFactor - brokerCount;
  const changes = [`replication factor ${wanted.replicationFactor} -> ${replicationFactor}`];
  let minInsyncReplicas = wanted.minInsyncReplicas;
  if (minInsyncReplicas !== undefined) {
    const lowered = Math.max(1, Math.min(minInsyncReplicas - dropped, replicationFactor));
    if (lowered !== minInsyncReplicas) {
      changes.push(`min.insync.replicas ${minInsyncReplicas} -> ${lowered}`);
      minInsyncReplicas = lowered;
    }
  }
  return { replicationFactor, minInsyncReplicas, changes };
}
