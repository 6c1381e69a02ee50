/**
 * DescribeTopicPartitions 0 (KIP-966): what `kafka-topics --describe` asks a Kafka 3.8+ broker
 * instead of Metadata, for the ELR columns: per partition the leader, replicas, ISR, Eligible
 * Leader Replicas, LastKnownElr and offline replicas, from this node's committed image (the ELR
 * is kept by the controller, src/controller/eligible-leaders.ts). Without it the tool fell back to
 * Metadata and printed `Elr: N/A LastKnownElr: N/A`.
 *
 * As Kafka's DescribeTopicPartitionsRequestHandler: an empty topic list means every topic; topics
 * in name order from the cursor (its partition index for the first one); at most
 * `responsePartitionLimit` partitions per answer, capped by the broker's 2000
 * (`max.request.partition.size.limit`), the rest behind `nextCursor`; an unknown topic answers
 * UNKNOWN_TOPIC_OR_PARTITION; a partition without a live leader answers LEADER_NOT_AVAILABLE with
 * leader -1, as Metadata does. DESCRIBE per topic is checked in src/security/request-authorization.ts.
 */
import {
  type DescribeTopicPartitionsRequestData,
  type DescribeTopicPartitionsResponseData,
  type Input,
  KafkaErrors,
  ZERO_UUID,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { AUTHORIZED_OPERATIONS_OMITTED, brokerOf } from '../handler-support.ts';
import type { TopicView } from '../services.ts';

/** Kafka's `max.request.partition.size.limit` default: partitions in one answer at most. */
export const DESCRIBE_TOPIC_PARTITIONS_MAX = 2000;

type Answer = Input<DescribeTopicPartitionsResponseData>;
type TopicAnswer = NonNullable<Answer['topics']>[number];

function partitionsOf(topic: TopicView, alive: ReadonlySet<number>, from: number, count: number) {
  return topic.partitions.slice(from, from + count).map((p) => {
    const led = p.leaderId >= 0 && alive.has(p.leaderId);
    return {
      errorCode: led ? 0 : KafkaErrors.LEADER_NOT_AVAILABLE.code,
      partitionIndex: p.partitionIndex,
      leaderId: led ? p.leaderId : -1,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      eligibleLeaderReplicas: [...(p.elr ?? [])],
      lastKnownElr: [...(p.lastKnownElr ?? [])],
      offlineReplicas: p.replicas.filter((id) => !alive.has(id)),
    };
  });
}

export const handler = defineHandler<DescribeTopicPartitionsRequestData, Answer>({
  apiKey: 75,
  name: 'DescribeTopicPartitions',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const image = brokerOf(context).metadata();
    const alive = new Set(image.aliveBrokers().map((b) => b.nodeId));
    const cursor = request.cursor;
    const names = (
      request.topics.length === 0 ? [...image.topics()].map((t) => t.name) : request.topics.map((t) => t.name)
    )
      .filter((name, index, all) => all.indexOf(name) === index)
      .filter((name) => cursor === null || name >= cursor.topicName)
      .sort();
    let budget = Math.max(0, Math.min(request.responsePartitionLimit, DESCRIBE_TOPIC_PARTITIONS_MAX));
    const topics: TopicAnswer[] = [];
    let nextCursor: Answer['nextCursor'] = null;
    for (const name of names) {
      const topic = image.topic(name);
      if (topic === undefined) {
        topics.push({
          errorCode: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        });
        continue;
      }
      const from = cursor !== null && name === cursor.topicName ? Math.max(0, cursor.partitionIndex) : 0;
      if (budget === 0 && from < topic.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: from };
        break;
      }
      const partitions = partitionsOf(topic, alive, from, budget);
      budget -= partitions.length;
      topics.push({
        errorCode: 0,
        name,
        topicId: topic.topicId,
        isInternal: topic.internal,
        partitions,
        topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      });
      if (from + partitions.length < topic.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: from + partitions.length };
        break;
      }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
