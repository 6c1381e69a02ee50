import {
  type DeleteRecordsRequestData,
  type DeleteRecordsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

/**
 * DeleteRecords: moves each partition's log start offset (-1: to the high watermark), on the
 * partition's leader (elsewhere NOT_LEADER_OR_FOLLOWER). Not a metadata write: clients send it to
 * the leaders, never to the controller, so nothing is forwarded.
 */
export const handler = defineHandler<DeleteRecordsRequestData, Input<DeleteRecordsResponseData>>({
  apiKey: 21,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const broker = brokerOf(context);
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((p) => {
          const replica = broker.get(topic.name, p.partitionIndex);
          if (replica === undefined) {
            return {
              partitionIndex: p.partitionIndex,
              lowWatermark: -1n,
              errorCode: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
            };
          }
          // Only the leader moves the log start (the followers follow it), as in Kafka.
          if (!replica.isLeader) {
            return {
              partitionIndex: p.partitionIndex,
              lowWatermark: -1n,
              errorCode: KafkaErrors.NOT_LEADER_OR_FOLLOWER.code,
            };
          }
          const target = p.offset === -1n ? replica.highWatermarkNumber : Number(p.offset);
          if (target < 0 || target > replica.highWatermarkNumber) {
            return {
              partitionIndex: p.partitionIndex,
              lowWatermark: -1n,
              errorCode: KafkaErrors.OFFSET_OUT_OF_RANGE.code,
            };
          }
          const lowWatermark = replica.deleteRecordsBefore(target);
          return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: 0 };
        }),
      })),
    };
  },
});
