import { array, field, request, response, struct } from '../schema.ts';

// OffsetCommit (API key 8), written from Kafka's OffsetCommitRequest/OffsetCommitResponse message definitions.

export const OffsetCommitRequest = request(8, 'OffsetCommitRequest', '0-9', '8+', [
  field('groupId', 'string', '0+'),
  field('generationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
  field('memberId', 'string', '1+'),
  field('groupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
  field('retentionTimeMs', 'int64', '2-4', { default: -1n }),
  field(
    'topics',
    array(
      struct('OffsetCommitRequestTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('OffsetCommitRequestPartition', [
              field('partitionIndex', 'int32', '0+'),
              field('committedOffset', 'int64', '0+'),
              field('committedLeaderEpoch', 'int32', '6+', { default: -1 }),
              field('commitTimestamp', 'int64', '1', { default: -1n }),
              field('committedMetadata', 'string', '0+', { nullable: '0+' }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const OffsetCommitResponse = response(8, 'OffsetCommitResponse', '0-9', '8+', [
  field('throttleTimeMs', 'int32', '3+'),
  field(
    'topics',
    array(
      struct('OffsetCommitResponseTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('OffsetCommitResponsePartition', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded OffsetCommitRequest (every version's fields; absent ones hold their default). */
export type OffsetCommitRequestData = {
  groupId: string;
  generationIdOrMemberEpoch: number;
  memberId: string;
  groupInstanceId: string | null;
  retentionTimeMs: bigint;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      commitTimestamp: bigint;
      committedMetadata: string | null;
    }[];
  }[];
};

/** A decoded OffsetCommitResponse (every version's fields; absent ones hold their default). */
export type OffsetCommitResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
    }[];
  }[];
};
