import { array, field, request, response, struct } from '../schema.ts';

// ListOffsets (API key 2), written from Kafka's ListOffsetsRequest/ListOffsetsResponse message definitions.

export const ListOffsetsRequest = request(2, 'ListOffsetsRequest', '0-10', '6+', [
  field('replicaId', 'int32', '0+'),
  field('isolationLevel', 'int8', '2+'),
  field(
    'topics',
    array(
      struct('ListOffsetsTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('ListOffsetsPartition', [
              field('partitionIndex', 'int32', '0+'),
              field('currentLeaderEpoch', 'int32', '4+', { default: -1 }),
              field('timestamp', 'int64', '0+'),
              field('maxNumOffsets', 'int32', '0', { default: 1 }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('timeoutMs', 'int32', '10+'),
]);

export const ListOffsetsResponse = response(2, 'ListOffsetsResponse', '0-10', '6+', [
  field('throttleTimeMs', 'int32', '2+'),
  field(
    'topics',
    array(
      struct('ListOffsetsTopicResponse', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('ListOffsetsPartitionResponse', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('oldStyleOffsets', array('int64'), '0'),
              field('timestamp', 'int64', '1+', { default: -1n }),
              field('offset', 'int64', '1+', { default: -1n }),
              field('leaderEpoch', 'int32', '4+', { default: -1 }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded ListOffsetsRequest (every version's fields; absent ones hold their default). */
export type ListOffsetsRequestData = {
  replicaId: number;
  isolationLevel: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      currentLeaderEpoch: number;
      timestamp: bigint;
      maxNumOffsets: number;
    }[];
  }[];
  timeoutMs: number;
};

/** A decoded ListOffsetsResponse (every version's fields; absent ones hold their default). */
export type ListOffsetsResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      oldStyleOffsets: bigint[];
      timestamp: bigint;
      offset: bigint;
      leaderEpoch: number;
    }[];
  }[];
};
