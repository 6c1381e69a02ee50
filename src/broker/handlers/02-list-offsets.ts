import {
  type Input,
  KafkaErrors,
  type ListOffsetsRequestData,
  type ListOffsetsResponseData,
} from '../../protocol/index.ts';
import { decodeRecordBatch } from '../../records/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import type { LocalReplica } from '../partition.ts';
import type { BatchEntry } from '../replica-log.ts';

type PartitionAnswer = NonNullable<
  NonNullable<Input<ListOffsetsResponseData>['topics']>[number]['partitions']
>[number];

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

/** The first record of `entry`'s batch matching `accept`, as (offset, timestamp). */
async function findRecord(
  replica: LocalReplica,
  entry: BatchEntry,
  accept: (timestamp: number) => boolean,
): Promise<{ offset: number; timestamp: number } | undefined> {
  const bytes = replica.log.read(entry.baseOffset, replica.highWatermarkNumber, 1, true);
  if (bytes === null) return undefined;
  const batch = await decodeRecordBatch(bytes, 0);
  for (const record of batch.records) {
    if (accept(record.timestamp)) return { offset: record.offset, timestamp: record.timestamp };
  }
  return undefined;
}

async function answer(
  replica: LocalReplica,
  partitionIndex: number,
  timestamp: bigint,
  version: number,
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
  const highWatermark = replica.highWatermarkNumber;
  if (timestamp === LATEST || timestamp === LATEST_TIERED) {
    return timestamp === LATEST_TIERED ? none() : found(highWatermark, -1, replica.leaderEpoch);
  }
  if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL) {
    const start = replica.log.logStartOffset;
    return found(start, -1, start >= highWatermark ? replica.leaderEpoch : epochAt(replica, start));
  }
  if (timestamp === MAX_TIMESTAMP) {
    if (version < 7) return { partitionIndex, errorCode: KafkaErrors.UNSUPPORTED_VERSION.code };
    const entry = replica.log.maxTimestampBatch();
    if (entry === undefined || entry.baseOffset >= highWatermark) return none();
    const record = await findRecord(replica, entry, (t) => t === entry.maxTimestamp);
    return record === undefined ? none() : found(record.offset, record.timestamp, entry.leaderEpoch);
  }
  const target = Number(timestamp);
  const entry = replica.log.findByTimestamp(target);
  if (entry === undefined || entry.baseOffset >= highWatermark) return none();
  const record = await findRecord(replica, entry, (t) => t >= target);
  return record === undefined ? none() : found(record.offset, record.timestamp, entry.leaderEpoch);
}

function epochAt(replica: LocalReplica, offset: number): number {
  const bytes = replica.log.read(offset, replica.highWatermarkNumber, 1, true);
  if (bytes === null || bytes.length < 16) return replica.leaderEpoch;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(12);
}

/**
 * ListOffsets: earliest (-2), latest (-1, the high watermark), max timestamp (-3, v7+),
 * or the first offset whose record timestamp is at or after a given time.
 */
export const handler = defineHandler<ListOffsetsRequestData, Input<ListOffsetsResponseData>>({
  apiKey: 2,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
  async handle(request, context) {
    const broker = brokerOf(context);
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
          await answer(replica, partition.partitionIndex, partition.timestamp, context.apiVersion),
        );
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
