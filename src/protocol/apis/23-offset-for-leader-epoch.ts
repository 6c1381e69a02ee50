import { array, field, request, response, struct } from '../schema.ts';

// OffsetForLeaderEpoch (API key 23), written from Kafka's OffsetForLeaderEpochRequest/OffsetForLeaderEpochResponse message definitions.

export const OffsetForLeaderEpochRequest = request(23, 'OffsetForLeaderEpochRequest', '0-4', '4+', [
  field('replicaId', 'int32', '3+', { default: -2 }),
  field(
    'topics',
    array(
      struct('OffsetForLeaderTopic', [
        field('topic', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('OffsetForLeaderPartition', [
              field('partition', 'int32', '0+'),
              field('currentLeaderEpoch', 'int32', '2+', { default: -1 }),
              field('leaderEpoch', 'int32', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const OffsetForLeaderEpochResponse = response(23, 'OffsetForLeaderEpochResponse', '0-4', '4+', [
  field('throttleTimeMs', 'int32', '2+'),
  field(
    'topics',
    array(
      struct('OffsetForLeaderTopicResult', [
        field('topic', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('EpochEndOffset', [
              field('errorCode', 'int16', '0+'),
              field('partition', 'int32', '0+'),
              field('leaderEpoch', 'int32', '1+', { default: -1 }),
              field('endOffset', 'int64', '0+', { default: -1n }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded OffsetForLeaderEpochRequest (every version's fields; absent ones hold their default). */
export type OffsetForLeaderEpochRequestData = {
  replicaId: number;
  topics: {
    topic: string;
    partitions: {
      partition: number;
      currentLeaderEpoch: number;
      leaderEpoch: number;
    }[];
  }[];
};

/** A decoded OffsetForLeaderEpochResponse (every version's fields; absent ones hold their default). */
export type OffsetForLeaderEpochResponseData = {
  throttleTimeMs: number;
  topics: {
    topic: string;
    partitions: {
      errorCode: number;
      partition: number;
      leaderEpoch: number;
      endOffset: bigint;
    }[];
  }[];
};
