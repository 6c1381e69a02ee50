import { array, field, request, response, struct } from '../schema.ts';

// OffsetFetch (API key 9), written from Kafka's OffsetFetchRequest/OffsetFetchResponse message definitions.

export const OffsetFetchRequest = request(9, 'OffsetFetchRequest', '0-9', '6+', [
  field('groupId', 'string', '0-7'),
  field(
    'topics',
    array(
      struct('OffsetFetchRequestTopic', [
        field('name', 'string', '0-7'),
        field('partitionIndexes', array('int32'), '0-7'),
      ]),
    ),
    '0-7',
    { nullable: '2-7' },
  ),
  field(
    'groups',
    array(
      struct('OffsetFetchRequestGroup', [
        field('groupId', 'string', '8+'),
        field('memberId', 'string', '9+', { nullable: '9+', default: null }),
        field('memberEpoch', 'int32', '9+', { default: -1 }),
        field(
          'topics',
          array(
            struct('OffsetFetchRequestTopics', [
              field('name', 'string', '8+'),
              field('partitionIndexes', array('int32'), '8+'),
            ]),
          ),
          '8+',
          { nullable: '8+' },
        ),
      ]),
    ),
    '8+',
  ),
  field('requireStable', 'bool', '7+', { default: false }),
]);

export const OffsetFetchResponse = response(9, 'OffsetFetchResponse', '0-9', '6+', [
  field('throttleTimeMs', 'int32', '3+'),
  field(
    'topics',
    array(
      struct('OffsetFetchResponseTopic', [
        field('name', 'string', '0-7'),
        field(
          'partitions',
          array(
            struct('OffsetFetchResponsePartition', [
              field('partitionIndex', 'int32', '0-7'),
              field('committedOffset', 'int64', '0-7'),
              field('committedLeaderEpoch', 'int32', '5-7', { default: -1 }),
              field('metadata', 'string', '0-7', { nullable: '0-7' }),
              field('errorCode', 'int16', '0-7'),
            ]),
          ),
          '0-7',
        ),
      ]),
    ),
    '0-7',
  ),
  field('errorCode', 'int16', '2-7', { default: 0 }),
  field(
    'groups',
    array(
      struct('OffsetFetchResponseGroup', [
        field('groupId', 'string', '8+'),
        field(
          'topics',
          array(
            struct('OffsetFetchResponseTopics', [
              field('name', 'string', '8+'),
              field(
                'partitions',
                array(
                  struct('OffsetFetchResponsePartitions', [
                    field('partitionIndex', 'int32', '8+'),
                    field('committedOffset', 'int64', '8+'),
                    field('committedLeaderEpoch', 'int32', '8+', { default: -1 }),
                    field('metadata', 'string', '8+', { nullable: '8+' }),
                    field('errorCode', 'int16', '8+'),
                  ]),
                ),
                '8+',
              ),
            ]),
          ),
          '8+',
        ),
        field('errorCode', 'int16', '8+', { default: 0 }),
      ]),
    ),
    '8+',
  ),
]);

/** A decoded OffsetFetchRequest (every version's fields; absent ones hold their default). */
export type OffsetFetchRequestData = {
  groupId: string;
  topics:
    | {
        name: string;
        partitionIndexes: number[];
      }[]
    | null;
  groups: {
    groupId: string;
    memberId: string | null;
    memberEpoch: number;
    topics:
      | {
          name: string;
          partitionIndexes: number[];
        }[]
      | null;
  }[];
  requireStable: boolean;
};

/** A decoded OffsetFetchResponse (every version's fields; absent ones hold their default). */
export type OffsetFetchResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: number;
    }[];
  }[];
  errorCode: number;
  groups: {
    groupId: string;
    topics: {
      name: string;
      partitions: {
        partitionIndex: number;
        committedOffset: bigint;
        committedLeaderEpoch: number;
        metadata: string | null;
        errorCode: number;
      }[];
    }[];
    errorCode: number;
  }[];
};
