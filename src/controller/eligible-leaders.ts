/**
 * Eligible Leader Replicas (KIP-966), the part clients and tools observe, as Kafka 4.1.1's controller
 * keeps them (PartitionChangeBuilder, eligible.leader.replicas.version=1, on by default):
 *
 * - When a change leaves the ISR below the topic's `min.insync.replicas`, the members it removes
 *   (and the ELR members still out of the ISR) form the ELR; once the ISR reaches min ISR again the
 *   ELR and LastKnownElr are cleared.
 * - The ISR may become empty: the last member fenced leaves it (leader none) and stays in the ELR;
 *   LastKnownElr then names the leader the partition had (Kafka's maybeUpdateLastKnownLeader), and
 *   is cleared once a leader is elected again.
 * - A leaderless partition with an empty ISR elects the first replica (assignment order) in the ELR
 *   that is unfenced; it becomes the ISR alone. So does a fencing that empties the ISR while an ELR
 *   member is unfenced (it left the ISR alive: a clean restart not caught up yet), before any
 *   unclean election, and the fenced broker stays in the ELR.
 *
 * Observed on the 3-node reference (Apache Kafka 4.1.1), `kafka-topics --describe` after SIGKILL of
 * broker 3: RF 1 on [3]: `Leader: none Replicas: 3 Isr: Elr: 3 LastKnownElr: 3` (Metadata: leader -1,
 * ISR empty, LEADER_NOT_AVAILABLE); RF 2 on [2,3], min ISR 2: `Leader: 2 Isr: 2 Elr: 3
 * LastKnownElr:`; RF 3 with min ISR 3: `Isr: 1,2 Elr: 3`.
 *
 * - A broker registering again after an unclean shutdown (BrokerRegistration's PreviousBrokerEpoch
 *   is not its registered epoch: src/controller/clean-shutdown.ts) leaves every ELR
 *   (replication-control.ts); after a clean one it stays and is elected from the ELR.
 * - With ISR and ELR empty and one LastKnownElr member, that member leads once unfenced
 *   (`electLastKnownLeader`), an unclean election: the partition is RECOVERING until its leader
 *   expands the ISR with LeaderRecoveryState RECOVERED in AlterPartition (replication-control.ts).
 *
 * - With `unclean.leader.election.enable` (topic, cluster default, static broker config), a
 *   partition that none of the above can lead elects the first live replica in assignment order
 *   (`electUnclean`): ISR = [it], RECOVERING, ELR and LastKnownElr cleared, as Kafka's
 *   PartitionChangeBuilder does after the ISR, the ELR and the last known leader.
 *
 * Pure: the caller merges the fields into the PartitionChangeRecord it proposes.
 */
import { LeaderRecoveryState, type MetadataImage } from '../broker/metadata-image.ts';
import type { PartitionView } from '../broker/services.ts';

const NO_LEADER = -1;

export interface ElrFields {
  elr?: readonly number[];
  lastKnownElr?: readonly number[];
}

function same(a: readonly number[] | undefined, b: readonly number[]): boolean {
  const left = a ?? [];
  return left.length === b.length && left.every((id, i) => b[i] === id);
}

/**
 * The ELR fields of a change that gives `partition` the ISR `isr` and the leader `leader`: only the
 * fields that change (an empty list clears one).
 */
export function elrChange(
  partition: PartitionView,
  isr: readonly number[],
  leader: number,
  minInsyncReplicas: number,
): ElrFields {
  const fields: ElrFields = {};
  let elr: readonly number[] = [];
  if (isr.length < minInsyncReplicas) {
    const candidates = new Set([...partition.isr, ...(partition.elr ?? [])]);
    elr = partition.replicas.filter((id) => candidates.has(id) && !isr.includes(id));
  }
  if (!same(partition.elr, elr)) fields.elr = elr;
  let lastKnownElr: readonly number[] = partition.lastKnownElr ?? [];
  if (isr.length === 0 && partition.leaderId !== NO_LEADER) lastKnownElr = [partition.leaderId];
  else if (leader !== NO_LEADER || isr.length >= minInsyncReplicas) lastKnownElr = [];
  if (!same(partition.lastKnownElr, lastKnownElr)) fields.lastKnownElr = lastKnownElr;
  return fields;
}

/**
 * The ELR member that may lead a partition whose ISR is empty (counting `unfencing` as unfenced), or
 * null. `isr` is the ISR the change leaves (the partition's own by default) and `excluded` a broker
 * being fenced: a change that empties the ISR elects an unfenced ELR member at once, cleanly, before
 * the last known leader or an unclean candidate (Kafka's PartitionChangeBuilder.isValidNewLeader:
 * with the target ISR empty, an acceptable member of the ELR).
 */
export function electFromElr(
  image: MetadataImage,
  partition: PartitionView,
  unfencing = NO_LEADER,
  isr: readonly number[] = partition.isr,
  excluded = NO_LEADER,
): number | null {
  if (isr.length > 0) return null;
  const elr = partition.elr ?? [];
  return (
    partition.replicas.find(
      (id) => id !== excluded && elr.includes(id) && (id === unfencing || !image.isFenced(id)),
    ) ?? null
  );
}

/**
 * Kafka's last-known-leader recovery (PartitionChangeBuilder's canElectLastKnownLeader): with the ISR
 * and ELR empty and exactly one LastKnownElr member, that member leads once unfenced (counting
 * `unfencing`). Kafka marks the election unclean and the partition RECOVERING (recoveringChange).
 * Seen on the reference: solo-0 (replicas [3]) after SIGKILL of broker 3 and its
 * restart: `UNCLEAN partition change for solo-0: isr: [] -> [3], leader: -1 -> 3, leaderRecoveryState:
 * RECOVERED -> RECOVERING, lastKnownElr: [3] -> []`, at 3's unfencing.
 */
export function electLastKnownLeader(
  image: MetadataImage,
  partition: PartitionView,
  unfencing = NO_LEADER,
): number | null {
  if (partition.isr.length > 0 || (partition.elr ?? []).length > 0) return null;
  const known = partition.lastKnownElr ?? [];
  const only = known[0];
  if (known.length !== 1 || only === undefined || !partition.replicas.includes(only)) return null;
  return only === unfencing || !image.isFenced(only) ? only : null;
}

/** An unclean election's LeaderRecoveryState field: RECOVERING, unless the partition already is. */
export function recoveringChange(partition: PartitionView): { leaderRecoveryState?: number } {
  return partition.leaderRecoveryState === LeaderRecoveryState.recovering
    ? {}
    : { leaderRecoveryState: LeaderRecoveryState.recovering };
}

/** The effective `min.insync.replicas` of a topic: its override, else the cluster default in the image, else `fallback`. */
export function topicMinInsyncReplicas(
  image: MetadataImage,
  configs: ReadonlyMap<string, string>,
  fallback: number,
): number {
  const value = configs.get('min.insync.replicas') ?? image.brokerConfigs.get('')?.get('min.insync.replicas');
  const parsed = value === undefined ? Number.NaN : Number(value);
  return Number.isInteger(parsed) && parsed >= 1 ? parsed : fallback;
}

/** Kafka's name of the setting that allows a leader from outside the ISR (and ELR). */
export const UNCLEAN_LEADER_ELECTION_ENABLE = 'unclean.leader.election.enable';

/**
 * The effective `unclean.leader.election.enable` of a topic: its override, else the cluster-wide
 * dynamic default in the image, else `fallback` (the brokers' static value), as Kafka's
 * controller reads it (ConfigurationControlManager).
 */
export function topicUncleanElectionEnabled(
  image: MetadataImage,
  configs: ReadonlyMap<string, string>,
  fallback: boolean,
): boolean {
  const value =
    configs.get(UNCLEAN_LEADER_ELECTION_ENABLE) ??
    image.brokerConfigs.get('')?.get(UNCLEAN_LEADER_ELECTION_ENABLE);
  return value === undefined ? fallback : value.trim().toLowerCase() === 'true';
}

/**
 * The unclean election (only with unclean.leader.election.enable): the first replica in assignment
 * order that is unfenced (counting `unfencing`) and not `excluded` (a broker being fenced), or null.
 */
export function electUnclean(
  image: MetadataImage,
  partition: PartitionView,
  unfencing = NO_LEADER,
  excluded = NO_LEADER,
): number | null {
  return (
    partition.replicas.find((id) => id !== excluded && (id === unfencing || !image.isFenced(id))) ?? null
  );
}

/**
 * The fields of an unclean election of `leader`: the ISR is the new leader alone, the partition
 * RECOVERING, and the ELR and LastKnownElr cleared (Kafka's maybeUpdateRecordElr clears both after
 * an unclean election).
 */
export function uncleanElectionChange(
  partition: PartitionView,
  leader: number,
): { leader: number; isr: number[]; leaderRecoveryState?: number } & ElrFields {
  return {
    leader,
    isr: [leader],
    ...((partition.elr ?? []).length > 0 ? { elr: [] } : {}),
    ...((partition.lastKnownElr ?? []).length > 0 ? { lastKnownElr: [] } : {}),
    ...recoveringChange(partition),
  };
}
