/**
 * Leader elections the active controller runs on request (ElectLeaders, 43) and on its own
 * (automatic leader balancing), decided on the committed image as Kafka's
 * ReplicationControlManager and PartitionChangeBuilder decide them:
 *
 * - PREFERRED: the first replica of the assignment leads if it is in the ISR and unfenced. A
 *   partition it already leads needs no election (ELECTION_NOT_NEEDED); when it cannot lead, the
 *   partition keeps a valid leader and answers PREFERRED_LEADER_NOT_AVAILABLE (a leaderless one
 *   takes the next unfenced ISR member, in assignment order).
 * - UNCLEAN: only for a partition without a leader (else ELECTION_NOT_NEEDED): the first unfenced
 *   ISR member, else the first unfenced replica with the ISR reset to it (Kafka also marks the
 *   partition RECOVERING; kstack's image has no recovery state yet). An explicit request elects
 *   uncleanly whatever `unclean.leader.election.enable` says, as Kafka's does.
 *
 * Pure: no clock, socket or file; the caller proposes the records and answers the results.
 */
import type { MetadataImage, MetadataRecord } from '../broker/metadata-image.ts';
import type { PartitionView, TopicView } from '../broker/services.ts';
import { KafkaErrors } from '../protocol/index.ts';
import { recoveringChange } from './eligible-leaders.ts';

/** ElectLeaders' election types. */
export const ElectionType = { preferred: 0, unclean: 1 } as const;
/** At most this many partitions per ElectLeaders request (Kafka's MAX_RECORDS_PER_USER_OP). */
export const ELECTIONS_PER_REQUEST_MAX = 10_000;
const NO_LEADER = -1;

export interface PartitionElectionResult {
  partitionId: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface TopicElectionResult {
  topic: string;
  partitionResult: PartitionElectionResult[];
}

export interface ElectionOutcome {
  readonly results: TopicElectionResult[];
  readonly records: MetadataRecord[];
}

function error(code: { code: number }, message: string | null): Omit<PartitionElectionResult, 'partitionId'> {
  return { errorCode: code.code, errorMessage: message };
}

const NONE = { errorCode: 0, errorMessage: null };
const NOT_NEEDED = error(KafkaErrors.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');

/** A replica that may lead: in `isr` and unfenced. */
function canLead(image: MetadataImage, isr: readonly number[], id: number): boolean {
  return isr.includes(id) && !image.isFenced(id);
}

/** The change a preferred-replica election makes, or null when the leader stays. */
export function preferredLeaderChange(
  image: MetadataImage,
  topic: TopicView,
  partition: PartitionView,
): MetadataRecord | null {
  const preferred = partition.replicas[0];
  let leader = partition.leaderId;
  if (preferred !== undefined && canLead(image, partition.isr, preferred)) leader = preferred;
  else if (leader === NO_LEADER || !canLead(image, partition.isr, leader)) {
    leader = partition.replicas.slice(1).find((id) => canLead(image, partition.isr, id)) ?? NO_LEADER;
  }
  if (leader === partition.leaderId) return null;
  return {
    type: 'PartitionChangeRecord',
    topicId: topic.topicId,
    partitionId: partition.partitionIndex,
    leader,
  };
}

/** The change an unclean election makes for a leaderless partition, or null when no replica is alive. */
function uncleanLeaderChange(
  image: MetadataImage,
  topic: TopicView,
  partition: PartitionView,
): MetadataRecord | null {
  const base = {
    type: 'PartitionChangeRecord',
    topicId: topic.topicId,
    partitionId: partition.partitionIndex,
  } as const;
  const clean = partition.replicas.find((id) => canLead(image, partition.isr, id));
  if (clean !== undefined) return { ...base, leader: clean };
  const live = partition.replicas.find((id) => !image.isFenced(id));
  return live === undefined ? null : { ...base, leader: live, isr: [live], ...recoveringChange(partition) };
}

function electOne(
  image: MetadataImage,
  topicName: string,
  partitionId: number,
  electionType: number,
  records: MetadataRecord[],
): Omit<PartitionElectionResult, 'partitionId'> {
  const topic = image.topic(topicName);
  if (topic === undefined)
    return error(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, `No such topic as ${topicName}`);
  const partition = topic.partitions[partitionId];
  if (partition === undefined) {
    return error(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, `No such partition as ${topicName}-${partitionId}`);
  }
  if (electionType === ElectionType.preferred) {
    if (partition.leaderId === partition.replicas[0]) return NOT_NEEDED;
    const change = preferredLeaderChange(image, topic, partition);
    if (change === null) {
      return error(KafkaErrors.PREFERRED_LEADER_NOT_AVAILABLE, 'The preferred leader was not available.');
    }
    records.push(change);
    return NONE;
  }
  if (partition.leaderId !== NO_LEADER) return NOT_NEEDED;
  const change = uncleanLeaderChange(image, topic, partition);
  if (change === null) {
    return error(
      KafkaErrors.ELIGIBLE_LEADERS_NOT_AVAILABLE,
      'Eligible topic partition leaders are not available.',
    );
  }
  records.push(change);
  return NONE;
}

/**
 * ElectLeaders on `image`: the named partitions, or every partition when `topicPartitions` is null
 * (then, as in Kafka, partitions that need no election are left out of the answer).
 */
export function electLeaders(
  image: MetadataImage,
  electionType: number,
  topicPartitions: readonly { topic: string; partitions: readonly number[] }[] | null,
): ElectionOutcome {
  const records: MetadataRecord[] = [];
  const results: TopicElectionResult[] = [];
  if (topicPartitions === null) {
    for (const topic of image.topics()) {
      const partitionResult: PartitionElectionResult[] = [];
      for (const partition of topic.partitions) {
        const outcome = electOne(image, topic.name, partition.partitionIndex, electionType, records);
        if (outcome.errorCode !== KafkaErrors.ELECTION_NOT_NEEDED.code) {
          partitionResult.push({ partitionId: partition.partitionIndex, ...outcome });
        }
      }
      results.push({ topic: topic.name, partitionResult });
    }
    return { results, records };
  }
  for (const topic of topicPartitions) {
    results.push({
      topic: topic.topic,
      partitionResult: topic.partitions.map((partitionId) => ({
        partitionId,
        ...electOne(image, topic.topic, partitionId, electionType, records),
      })),
    });
  }
  return { results, records };
}

/**
 * Automatic leader balancing (Kafka's maybeBalancePartitionLeaders): every partition led by
 * another replica than its preferred one, whose preferred replica is in the ISR and unfenced,
 * moves back to it; at most `limit` partitions per pass.
 */
export function balanceLeaders(image: MetadataImage, limit: number): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const topic of image.topics()) {
    for (const partition of topic.partitions) {
      if (records.length >= limit) return records;
      const preferred = partition.replicas[0];
      if (preferred === undefined || partition.leaderId === preferred) continue;
      if (!canLead(image, partition.isr, preferred)) continue;
      records.push({
        type: 'PartitionChangeRecord',
        topicId: topic.topicId,
        partitionId: partition.partitionIndex,
        leader: preferred,
      });
    }
  }
  return records;
}

/** Whether any partition is led by another replica than its preferred one. */
export function hasImbalance(image: MetadataImage): boolean {
  for (const topic of image.topics()) {
    if (topic.partitions.some((p) => p.replicas[0] !== undefined && p.leaderId !== p.replicas[0]))
      return true;
  }
  return false;
}
