/**
 * DescribeProducers 0: the active producers of each partition led here: id, epoch, last
 * sequence and timestamp, and the first offset of the producer's open transaction (-1 when
 * none). The coordinator epoch of a producer's last marker is not kept: answered -1.
 */
import { runtimeOf } from '../../coordinator/handler-support.ts';
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  DescribeProducersRequestData,
  DescribeProducersResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<DescribeProducersRequestData, Input<DescribeProducersResponseData>>({
  apiKey: 61,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const groups = runtimeOf(context);
    const transactions = transactionsOf(context);
    const metadata = context.broker.metadata();
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          const failed = (errorCode: number, errorMessage: string) => ({
            partitionIndex,
            errorCode,
            errorMessage,
            activeProducers: [],
          });
          const view = metadata.topic(t.name);
          if (view === undefined || partitionIndex < 0 || partitionIndex >= view.partitions.length) {
            return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${t.name}-${partitionIndex} does not exist`);
          }
          if (context.broker.partitions.get(t.name, partitionIndex) === undefined) {
            return failed(
              ErrorCode.NOT_LEADER_OR_FOLLOWER,
              `This broker does not lead ${t.name}-${partitionIndex}`,
            );
          }
          const producers = groups?.producerState.producersOf(t.name, partitionIndex) ?? [];
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: producers.map((p) => ({
              producerId: p.producerId,
              producerEpoch: p.producerEpoch,
              lastSequence: p.lastSequence,
              lastTimestamp: BigInt(p.lastTimestampMs),
              coordinatorEpoch: p.coordinatorEpoch,
              currentTxnStartOffset: BigInt(
                transactions?.partitions.openTransactionStart(t.name, partitionIndex, p.producerId) ?? -1,
              ),
            })),
          };
        }),
      })),
    };
  },
});
