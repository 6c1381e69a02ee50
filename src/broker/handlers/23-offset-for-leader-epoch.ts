import {
  type Input,
  KafkaErrors,
  type OffsetForLeaderEpochRequestData,
  type OffsetForLeaderEpochResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/**
 * OffsetForLeaderEpoch (KIP-101): for each partition, the largest epoch at or below the
 * one asked and the offset where it ends (the log end for the current epoch). Consumers
 * use it to detect log truncation (followers learn theirs from Fetch's DivergingEpoch).
 */
export const handler = defineHandler<
  OffsetForLeaderEpochRequestData,
  Input<OffsetForLeaderEpochResponseData>
>({
  apiKey: 23,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const broker = brokerOf(context);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((p) => {
          const replica = broker.get(topic.topic, p.partition);
          const fail = (errorCode: number) => ({
            errorCode,
            partition: p.partition,
            leaderEpoch: -1,
            endOffset: -1n,
          });
          if (replica === undefined) return fail(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code);
          // Answered by the leader only (a follower of a replicated partition refuses, as Kafka's does).
          if (!replica.isLeader) return fail(KafkaErrors.NOT_LEADER_OR_FOLLOWER.code);
          if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < replica.leaderEpoch) {
            return fail(KafkaErrors.FENCED_LEADER_EPOCH.code);
          }
          if (p.currentLeaderEpoch > replica.leaderEpoch) return fail(KafkaErrors.UNKNOWN_LEADER_EPOCH.code);
          const found = replica.log.endOffsetForEpoch(p.leaderEpoch);
          return {
            errorCode: 0,
            partition: p.partition,
            leaderEpoch: found.epoch,
            endOffset: BigInt(found.endOffset),
          };
        }),
      })),
    };
  },
});
