/**
 * Partition reassignment as Kafka's KRaft controller runs it (ReplicationControlManager,
 * PartitionReassignmentReplicas, PartitionReassignmentRevert, PartitionChangeBuilder), decided on the
 * committed image:
 *
 * - A target starts a reassignment: replicas = target followed by the current replicas leaving it,
 *   `addingReplicas` = target − current, `removingReplicas` = current − target. The adding replicas
 *   fetch from the leader and join the ISR through AlterPartition.
 * - Once the ISR holds every target replica (at once for a reorder or a shrink, else when an
 *   AlterPartition adds the last one), the change completes: replicas = target, ISR ∩ target, both
 *   lists cleared, and a new leader epoch (Kafka bumps it when replicas leave, fencing their
 *   fetches); a leader not in the target hands over to the first target replica in the ISR.
 * - A new target for a partition already moving replaces the old one, computed from the original
 *   replicas (the current ones without the adding ones). A null target cancels: back to the
 *   original replicas, the adding ones out of the ISR.
 *
 * Pure: no clock, socket or file; the caller proposes the records and answers the results.
 */
import type { MetadataImage, MetadataRecord } from '../broker/metadata-image.ts';
import type { PartitionView, TopicView } from '../broker/services.ts';
import { KafkaErrors } from '../protocol/index.ts';

/** At most this many partitions per AlterPartitionReassignments request (Kafka's MAX_RECORDS_PER_USER_OP). */
export const REASSIGNMENTS_PER_REQUEST_MAX = 10_000;
const NO_LEADER = -1;

export interface ReassignablePartition {
  readonly partitionIndex: number;
  /** null cancels the reassignment in progress. */
  readonly replicas: readonly number[] | null;
}

export interface ReassignableTopic {
  readonly name: string;
  readonly partitions: readonly ReassignablePartition[];
}

export interface PartitionReassignmentResult {
  partitionIndex: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface ReassignmentOutcome {
  readonly responses: { name: string; partitions: PartitionReassignmentResult[] }[];
  readonly records: MetadataRecord[];
}

type ChangeRecord = Extract<MetadataRecord, { type: 'PartitionChangeRecord' }>;

class ReassignmentError extends Error {
  readonly code: number;
  /** What the answer carries: null where Kafka's controller sends none. */
  readonly answerMessage: string | null;
  constructor(code: { code: number }, message: string | null) {
    super(message ?? `error code ${code.code}`);
    this.code = code.code;
    this.answerMessage = message;
  }
}

export function isReassigning(partition: PartitionView): boolean {
  return (partition.addingReplicas?.length ?? 0) > 0 || (partition.removingReplicas?.length ?? 0) > 0;
}

/** The replicas a partition had before its reassignment began (Kafka's PartitionReassignmentRevert). */
export function originalReplicas(partition: PartitionView): readonly number[] {
  const adding = new Set(partition.addingReplicas ?? []);
  return partition.replicas.filter((id) => !adding.has(id));
}

/** The replicas a reassignment in progress moves to (replicas without the removing ones). */
export function targetReplicas(partition: PartitionView): readonly number[] {
  const removing = new Set(partition.removingReplicas ?? []);
  return partition.replicas.filter((id) => !removing.has(id));
}

/** Kafka's validateManualPartitionAssignment, with its messages. */
function validateTarget(image: MetadataImage, replicas: readonly number[]): void {
  if (replicas.length === 0) {
    throw new ReassignmentError(
      KafkaErrors.INVALID_REPLICA_ASSIGNMENT,
      'The manual partition assignment includes an empty replica list.',
    );
  }
  const seen = new Set<number>();
  // Registered = in the image's broker list (a lone node registers itself at offset -1, epoch -1).
  const registered = new Set(image.brokers().map((broker) => broker.nodeId));
  for (const id of replicas) {
    if (seen.has(id)) {
      throw new ReassignmentError(
        KafkaErrors.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes the broker ${id} more than once.`,
      );
    }
    seen.add(id);
    if (!registered.has(id)) {
      throw new ReassignmentError(
        KafkaErrors.INVALID_REPLICA_ASSIGNMENT,
        `The manual partition assignment includes broker ${id}, but no such broker is registered.`,
      );
    }
  }
}

/**
 * The change that completes a reassignment whose ISR (`isr`, the one about to be committed) holds
 * every target replica, merged into `change`; `change` unchanged otherwise.
 */
export function completeIfReady(
  image: MetadataImage,
  partition: PartitionView,
  isr: readonly number[],
  change: ChangeRecord,
): ChangeRecord {
  if (!isReassigning(partition)) return change;
  const target = targetReplicas(partition);
  if (!target.every((id) => isr.includes(id))) return change;
  const newIsr = isr.filter((id) => target.includes(id));
  if (newIsr.length === 0) return change;
  const currentLeader =
    change.leader !== undefined && change.leader !== -2 ? change.leader : partition.leaderId;
  const leader = target.includes(currentLeader)
    ? currentLeader
    : (target.find((id) => newIsr.includes(id) && !image.isFenced(id)) ?? NO_LEADER);
  return {
    ...change,
    replicas: target,
    isr: newIsr,
    addingReplicas: [],
    removingReplicas: [],
    // A new leader epoch even when the leader stays: the removed replicas' fetches are fenced.
    leader,
    ...(partition.elr !== undefined ? { elr: partition.elr.filter((id) => target.includes(id)) } : {}),
    ...(partition.lastKnownElr !== undefined
      ? { lastKnownElr: partition.lastKnownElr.filter((id) => target.includes(id)) }
      : {}),
  };
}

function changeFor(topic: TopicView, partition: PartitionView): ChangeRecord {
  return { type: 'PartitionChangeRecord', topicId: topic.topicId, partitionId: partition.partitionIndex };
}

function cancel(image: MetadataImage, topic: TopicView, partition: PartitionView): ChangeRecord {
  if (!isReassigning(partition)) {
    // Kafka 4.1.1 answers this one without a message (asked on the 1-node reference).
    throw new ReassignmentError(KafkaErrors.NO_REASSIGNMENT_IN_PROGRESS, null);
  }
  const replicas = originalReplicas(partition);
  const isr = partition.isr.filter((id) => replicas.includes(id));
  if (isr.length === 0) {
    throw new ReassignmentError(
      KafkaErrors.INVALID_REPLICA_ASSIGNMENT,
      `Unable to revert partition assignment for ${topic.name}:${partition.partitionIndex} because it would require an unclean leader election.`,
    );
  }
  // The reverted partition elects its preferred replica when it can (the 3-node reference moved the
  // leader from 1 to 2 when it cancelled [1,2] → [3,2]: replicas [2,1] after the revert), else keeps
  // a leader still among the replicas, else the first replica left in the ISR.
  const canLead = (id: number) => isr.includes(id) && !image.isFenced(id);
  const preferred = replicas[0];
  const leader =
    preferred !== undefined && canLead(preferred)
      ? preferred
      : replicas.includes(partition.leaderId)
        ? partition.leaderId
        : (replicas.find(canLead) ?? NO_LEADER);
  return {
    ...changeFor(topic, partition),
    replicas,
    isr,
    addingReplicas: [],
    removingReplicas: [],
    ...(leader !== partition.leaderId ? { leader } : {}),
  };
}

function start(
  image: MetadataImage,
  topic: TopicView,
  partition: PartitionView,
  target: readonly number[],
): ChangeRecord | null {
  validateTarget(image, target);
  const current = originalReplicas(partition);
  const removing = current.filter((id) => !target.includes(id));
  const adding = target.filter((id) => !current.includes(id));
  const replicas = [...target, ...removing];
  // A replica of the replaced target that this one does not keep leaves the ISR with it.
  const isr = partition.isr.filter((id) => replicas.includes(id));
  // A leader that the new replicas leave out (an adding replica of the replaced target that was
  // elected meanwhile) hands over to the first replica left in the ISR.
  const leaderLeaves = partition.leaderId !== NO_LEADER && !isr.includes(partition.leaderId);
  const change: ChangeRecord = {
    ...changeFor(topic, partition),
    replicas,
    isr,
    addingReplicas: adding,
    removingReplicas: removing,
    ...(leaderLeaves
      ? { leader: replicas.find((id) => isr.includes(id) && !image.isFenced(id)) ?? NO_LEADER }
      : {}),
  };
  const moving: PartitionView = {
    ...partition,
    replicas,
    isr,
    addingReplicas: adding,
    removingReplicas: removing,
  };
  const unchanged =
    !isReassigning(partition) &&
    adding.length === 0 &&
    removing.length === 0 &&
    replicas.every((id, index) => partition.replicas[index] === id);
  if (unchanged) return null;
  if (adding.length === 0 && removing.length === 0) {
    // A reorder (or back to the original replicas): nothing to copy, done at once.
    return { ...change, addingReplicas: [], removingReplicas: [] };
  }
  return completeIfReady(image, moving, isr, change);
}

function reassignOne(
  image: MetadataImage,
  topicName: string,
  request: ReassignablePartition,
  records: MetadataRecord[],
): PartitionReassignmentResult {
  const { partitionIndex } = request;
  try {
    const topic = image.topic(topicName);
    if (topic === undefined) {
      throw new ReassignmentError(
        KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
        `Unable to find a topic named ${topicName}.`,
      );
    }
    const partition = topic.partitions[partitionIndex];
    if (partition === undefined) {
      throw new ReassignmentError(
        KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
        `Unable to find partition ${topicName}:${partitionIndex}.`,
      );
    }
    const change =
      request.replicas === null
        ? cancel(image, topic, partition)
        : start(image, topic, partition, request.replicas);
    if (change !== null) records.push(change);
    return { partitionIndex, errorCode: 0, errorMessage: null };
  } catch (error) {
    if (!(error instanceof ReassignmentError)) throw error;
    return { partitionIndex, errorCode: error.code, errorMessage: error.answerMessage };
  }
}

/** AlterPartitionReassignments on `image`: one result per named partition and the changes to commit. */
export function alterReassignments(
  image: MetadataImage,
  topics: readonly ReassignableTopic[],
): ReassignmentOutcome {
  const records: MetadataRecord[] = [];
  const responses = topics.map((topic) => {
    // Later entries for one partition see the earlier ones' changes, as Kafka applies them in turn.
    const partitions: PartitionReassignmentResult[] = [];
    for (const request of topic.partitions) {
      const view = records.length === 0 ? image : image.apply(records, image.metadataOffset);
      partitions.push(reassignOne(view, topic.name, request, records));
    }
    return { name: topic.name, partitions };
  });
  return { responses, records };
}

/** The reassignments in progress, as ListPartitionReassignments answers them (null: every topic). */
export function listReassignments(
  image: MetadataImage,
  topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
): {
  name: string;
  partitions: {
    partitionIndex: number;
    replicas: number[];
    addingReplicas: number[];
    removingReplicas: number[];
  }[];
}[] {
  const wanted =
    topics === null
      ? [...image.topics()].map((topic) => ({
          topic,
          indexes: topic.partitions.map((p) => p.partitionIndex),
        }))
      : topics.flatMap((request) => {
          const topic = image.topic(request.name);
          return topic === undefined ? [] : [{ topic, indexes: request.partitionIndexes }];
        });
  const answer = [];
  for (const { topic, indexes } of wanted) {
    const partitions = [];
    for (const index of indexes) {
      const partition = topic.partitions[index];
      if (partition === undefined || !isReassigning(partition)) continue;
      partitions.push({
        partitionIndex: index,
        replicas: [...partition.replicas],
        addingReplicas: [...(partition.addingReplicas ?? [])],
        removingReplicas: [...(partition.removingReplicas ?? [])],
      });
    }
    if (partitions.length > 0) answer.push({ name: topic.name, partitions });
  }
  return answer;
}
