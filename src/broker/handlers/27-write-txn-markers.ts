/**
 * WriteTxnMarkers 0-1: a transaction coordinator (on this or another broker, or Kafka's
 * `kafka-transactions abort`) asks this broker to append commit or abort markers to partitions
 * it leads. Each partition is answered on its own: UNKNOWN_TOPIC_OR_PARTITION when not hosted
 * here, NOT_LEADER_OR_FOLLOWER when only a follower (the coordinator retries at the new leader).
 * The marker is answered once appended on the leader (not yet once the ISR has it).
 */
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { Input, WriteTxnMarkersRequestData, WriteTxnMarkersResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

type MarkerResult = WriteTxnMarkersResponseData['markers'][number];

export const handler = defineHandler<WriteTxnMarkersRequestData, Input<WriteTxnMarkersResponseData>>({
  apiKey: 27,
  name: 'WriteTxnMarkers',
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const transactions = transactionsOf(context);
    const markers: MarkerResult[] = [];
    for (const marker of request.markers) {
      const topics: MarkerResult['topics'] = [];
      for (const topic of marker.topics) {
        const partitions: MarkerResult['topics'][number]['partitions'] = [];
        for (const partitionIndex of topic.partitionIndexes) {
          const errorCode =
            transactions === undefined
              ? ErrorCode.NOT_LEADER_OR_FOLLOWER
              : await transactions.writeLocalMarker({
                  target: { topic: topic.name, partition: partitionIndex },
                  producerId: marker.producerId,
                  producerEpoch: marker.producerEpoch,
                  commit: marker.transactionResult,
                  coordinatorEpoch: marker.coordinatorEpoch,
                });
          partitions.push({ partitionIndex, errorCode });
        }
        topics.push({ name: topic.name, partitions });
      }
      markers.push({ producerId: marker.producerId, topics });
    }
    return { markers };
  },
});
