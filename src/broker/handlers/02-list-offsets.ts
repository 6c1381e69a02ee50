import { TRANSACTIONS, type TransactionRuntime } from '../../coordinator/transactions/runtime.ts';
import {
  type Input,
  KafkaErrors,
  type ListOffsetsRequestData,
  type ListOffsetsResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import type { LocalReplica } from '../partition.ts';

type PartitionAnswer = NonNullable<
  NonNullable<Input<ListOffsetsResponseData>['topics']>[number]['partitions']
>[number];

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

const READ_COMMITTED = 1;

async function answer(
  replica: LocalReplica,
  partitionIndex: number,
  timestamp: bigint,
  version: number,
  transactions: TransactionRuntime | undefined,
): Promise<PartitionAnswer> {
  const found = (offset: number, timestampMs: number, leaderEpoch: number): PartitionAnswer => ({
    partitionIndex,
    errorCode: 0,
    timestamp: BigInt(timestampMs),
    offset: BigInt(offset),
    leaderEpoch,
    oldStyleOffsets: [BigInt(offset)],
  });
  const none = (): PartitionAnswer => found(-1, -1, -1);
  const log = replica.log;
  // read_committed (v2+) sees up to the last stable offset, read_uncommitted up to the high watermark.
  const highWatermark =
    transactions === undefined
      ? replica.highWatermarkNumber
      : transactions.partitions.lastStableOffset(
          replica.topic,
          replica.partitionIndex,
          replica.highWatermarkNumber,
        );
  // A new leader whose HW has not reached the start of its epoch answers OFFSET_NOT_AVAILABLE
  // (Kafka's Partition.fetchOffsetForTimestamp), so latest never goes back across a failover.
  const replication = replica.replication;
  if (
    replication !== null &&
    timestamp !== EARLIEST &&
    timestamp !== EARLIEST_LOCAL &&
    replica.highWatermarkNumber < replication.leaderEpochStartOffset
  ) {
    return {
      partitionIndex,
      errorCode: KafkaErrors.OFFSET_NOT_AVAILABLE.code,
      timestamp: -1n,
      offset: -1n,
    };
  }
  if (timestamp === LATEST) return found(highWatermark, -1, replica.leaderEpoch);
  if (timestamp === LATEST_TIERED) return none();
  if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL) {
    return found(log.logStartOffset, -1, epochAt(replica, log.logStartOffset));
  }
  if (timestamp === MAX_TIMESTAMP) {
    if (version < 7) return { partitionIndex, errorCode: KafkaErrors.UNSUPPORTED_VERSION.code };
    const max = await log.maxTimestampOffset();
    if (max === null || max.offset >= highWatermark) return none();
    return found(max.offset, max.timestamp, max.leaderEpoch);
  }
  const hit = await log.offsetForTimestamp(Number(timestamp));
  if (hit === null || hit.offset >= highWatermark) return none();
  return found(hit.offset, hit.timestamp, hit.leaderEpoch);
}

/** The leader epoch of the batch holding `offset` (from the epoch cache). */
function epochAt(replica: LocalReplica, offset: number): number {
  let epoch = replica.leaderEpoch;
  for (const entry of replica.log.epochEntries()) {
    if (entry.startOffset <= offset) epoch = entry.epoch;
  }
  return epoch;
}

/**
 * ListOffsets: earliest (-2), latest (-1, the high watermark; the last stable offset under
 * read_committed isolation), max timestamp (-3, v7+),
 * or the first offset whose record timestamp is at or after a given time.
 */
export const handler = defineHandler<ListOffsetsRequestData, Input<ListOffsetsResponseData>>({
  apiKey: 2,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const broker = brokerOf(context);
    const transactions =
      context.apiVersion >= 2 && request.isolationLevel === READ_COMMITTED
        ? broker.slots.get(TRANSACTIONS)
        : undefined;
    const topics: Input<ListOffsetsResponseData>['topics'] = [];
    for (const topic of request.topics) {
      const partitions: PartitionAnswer[] = [];
      for (const partition of topic.partitions) {
        const replica = broker.get(topic.name, partition.partitionIndex);
        if (replica === undefined) {
          partitions.push({
            partitionIndex: partition.partitionIndex,
            errorCode: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
            timestamp: -1n,
            offset: -1n,
          });
          continue;
        }
        if (!replica.isLeader) {
          partitions.push({
            partitionIndex: partition.partitionIndex,
            errorCode: KafkaErrors.NOT_LEADER_OR_FOLLOWER.code,
            timestamp: -1n,
            offset: -1n,
          });
          continue;
        }
        const epoch = partition.currentLeaderEpoch;
        if (epoch >= 0 && epoch !== replica.leaderEpoch) {
          partitions.push({
            partitionIndex: partition.partitionIndex,
            errorCode:
              epoch < replica.leaderEpoch
                ? KafkaErrors.FENCED_LEADER_EPOCH.code
                : KafkaErrors.UNKNOWN_LEADER_EPOCH.code,
            timestamp: -1n,
            offset: -1n,
          });
          continue;
        }
        partitions.push(
          await answer(
            replica,
            partition.partitionIndex,
            partition.timestamp,
            context.apiVersion,
            transactions,
          ),
        );
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
