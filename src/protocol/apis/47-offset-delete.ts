import { array, field, request, response, struct } from '../schema.ts';

// OffsetDelete (API key 47), written from Kafka's OffsetDeleteRequest/OffsetDeleteResponse message definitions.

export const OffsetDeleteRequest = request(47, 'OffsetDeleteRequest', '0', 'none', [
  field('groupId', 'string', '0+'),
  field(
    'topics',
    array(
      struct('OffsetDeleteRequestTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(struct('OffsetDeleteRequestPartition', [field('partitionIndex', 'int32', '0+')])),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const OffsetDeleteResponse = response(47, 'OffsetDeleteResponse', '0', 'none', [
  field('errorCode', 'int16', '0+'),
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'topics',
    array(
      struct('OffsetDeleteResponseTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('OffsetDeleteResponsePartition', [
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

/** A decoded OffsetDeleteRequest (every version's fields; absent ones hold their default). */
export type OffsetDeleteRequestData = {
  groupId: string;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
    }[];
  }[];
};

/** A decoded OffsetDeleteResponse (every version's fields; absent ones hold their default). */
export type OffsetDeleteResponseData = {
  errorCode: number;
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
    }[];
  }[];
};
