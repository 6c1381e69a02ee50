import { array, field, request, response, struct } from '../schema.ts';

// AlterPartitionReassignments (API key 45), written from Kafka's AlterPartitionReassignmentsRequest/AlterPartitionReassignmentsResponse message definitions.

export const AlterPartitionReassignmentsRequest = request(
  45,
  'AlterPartitionReassignmentsRequest',
  '0',
  '0+',
  [
    field('timeoutMs', 'int32', '0+', { default: 60_000 }),
    field(
      'topics',
      array(
        struct('ReassignableTopic', [
          field('name', 'string', '0+'),
          field(
            'partitions',
            array(
              struct('ReassignablePartition', [
                field('partitionIndex', 'int32', '0+'),
                // null cancels the partition's reassignment in progress.
                field('replicas', array('int32'), '0+', { nullable: '0+', default: null }),
              ]),
            ),
            '0+',
          ),
        ]),
      ),
      '0+',
    ),
  ],
);

export const AlterPartitionReassignmentsResponse = response(
  45,
  'AlterPartitionReassignmentsResponse',
  '0',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    field(
      'responses',
      array(
        struct('ReassignableTopicResponse', [
          field('name', 'string', '0+'),
          field(
            'partitions',
            array(
              struct('ReassignablePartitionResponse', [
                field('partitionIndex', 'int32', '0+'),
                field('errorCode', 'int16', '0+'),
                field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
              ]),
            ),
            '0+',
          ),
        ]),
      ),
      '0+',
    ),
  ],
);

/** A decoded AlterPartitionReassignmentsRequest (every version's fields; absent ones hold their default). */
export type AlterPartitionReassignmentsRequestData = {
  timeoutMs: number;
  topics: { name: string; partitions: { partitionIndex: number; replicas: number[] | null }[] }[];
};

/** A decoded AlterPartitionReassignmentsResponse (every version's fields; absent ones hold their default). */
export type AlterPartitionReassignmentsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  responses: {
    name: string;
    partitions: { partitionIndex: number; errorCode: number; errorMessage: string | null }[];
  }[];
};
