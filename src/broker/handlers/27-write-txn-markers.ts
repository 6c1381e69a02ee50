/**
 * WriteTxnMarkers 0-1: a transaction coordinator (on this or another broker, or Kafka's
 * `kafka-transactions abort`) asks this broker to append commit or abort markers to partitions
 * it leads. Each partition is answered on its own: UNKNOWN_TOPIC_OR_PARTITION when not hosted
 * here, NOT_LEADER_OR_FOLLOWER when only a follower (the coordinator retries at the new leader),
 * INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED for a marker older than the partition's
 * producer or coordinator epoch. A marker is answered once the ISR has it (Kafka appends markers
 * with acks=all); the partitions of a request are written and replicated concurrently.
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
    const markers: MarkerResult[] = await Promise.all(
      request.markers.map(async (marker) => ({
        producerId: marker.producerId,
        topics: await Promise.all(
          marker.topics.map(async (topic) => ({
            name: topic.name,
            partitions: await Promise.all(
              topic.partitionIndexes.map(async (partitionIndex) => ({
                partitionIndex,
                errorCode:
                  transactions === undefined
                    ? ErrorCode.NOT_LEADER_OR_FOLLOWER
                    : await transactions.writeLocalMarker({
                        target: { topic: topic.name, partition: partitionIndex },
                        producerId: marker.producerId,
                        producerEpoch: marker.producerEpoch,
                        commit: marker.transactionResult,
                        coordinatorEpoch: marker.coordinatorEpoch,
                      }),
              })),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
});
