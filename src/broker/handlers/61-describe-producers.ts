/**
 * DescribeProducers 0: the active producers of each partition led here: id, epoch, last
 * sequence and timestamp, and the first offset of the producer's open transaction (-1 when
 * none), and the coordinator epoch of the producer's last marker here (-1 before any), which
 * `kafka-transactions abort --start-offset` sends back in its WriteTxnMarkers. A follower answers
 * too, as Kafka's do (`kafka-transactions describe-producers --broker-id`, `find-hanging
 * --broker-id` ask every replica): from its log's producer state, which it keeps as it appends.
 */
import { asCoordinatorReplica } from '../../coordinator/broker-log.ts';
import { runtimeOf } from '../../coordinator/handler-support.ts';
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  DescribeProducersRequestData,
  DescribeProducersResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import type { LocalPartition } from '../services.ts';

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
          const local = context.broker.partitions.get(t.name, partitionIndex);
          if (local === undefined) {
            return failed(
              ErrorCode.NOT_LEADER_OR_FOLLOWER,
              `This broker holds no replica of ${t.name}-${partitionIndex}`,
            );
          }
          if (view.partitions[partitionIndex]?.leaderId !== context.broker.nodeId) {
            return {
              partitionIndex,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              ...followerProducers(local),
            };
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

/** A follower's producers, as its log's appends left them (the producer table holds led partitions only). */
function followerProducers(local: LocalPartition) {
  const state = asCoordinatorReplica(local)?.log.producerStateView();
  if (state === undefined) return { activeProducers: [] };
  return {
    activeProducers: [...state.producers].map(([producerId, p]) => ({
      producerId,
      producerEpoch: p.producerEpoch,
      lastSequence: p.batches.at(-1)?.lastSequence ?? -1,
      lastTimestamp: BigInt(p.lastTimestampMs),
      coordinatorEpoch: p.coordinatorEpoch,
      currentTxnStartOffset: BigInt(state.ongoing.get(producerId) ?? -1),
    })),
  };
}
