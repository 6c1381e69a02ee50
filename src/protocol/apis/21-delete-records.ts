import { array, field, request, response, struct } from '../schema.ts';

// DeleteRecords (API key 21), written from Kafka's DeleteRecordsRequest/DeleteRecordsResponse message definitions.

export const DeleteRecordsRequest = request(21, 'DeleteRecordsRequest', '0-2', '2+', [
  field(
    'topics',
    array(
      struct('DeleteRecordsTopic', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('DeleteRecordsPartition', [
              field('partitionIndex', 'int32', '0+'),
              field('offset', 'int64', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('timeoutMs', 'int32', '0+'),
]);

export const DeleteRecordsResponse = response(21, 'DeleteRecordsResponse', '0-2', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'topics',
    array(
      struct('DeleteRecordsTopicResult', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('DeleteRecordsPartitionResult', [
              field('partitionIndex', 'int32', '0+'),
              field('lowWatermark', 'int64', '0+'),
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

/** A decoded DeleteRecordsRequest (every version's fields; absent ones hold their default). */
export type DeleteRecordsRequestData = {
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      offset: bigint;
    }[];
  }[];
  timeoutMs: number;
};

/** A decoded DeleteRecordsResponse (every version's fields; absent ones hold their default). */
export type DeleteRecordsResponseData = {
  throttleTimeMs: number;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      lowWatermark: bigint;
      errorCode: number;
    }[];
  }[];
};
