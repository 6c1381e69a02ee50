import { array, field, request, response, struct } from '../schema.ts';

// ListPartitionReassignments (API key 46), written from Kafka's ListPartitionReassignmentsRequest/ListPartitionReassignmentsResponse message definitions.

export const ListPartitionReassignmentsRequest = request(46, 'ListPartitionReassignmentsRequest', '0', '0+', [
  field('timeoutMs', 'int32', '0+', { default: 60_000 }),
  field(
    'topics',
    array(
      struct('ListPartitionReassignmentsTopics', [
        field('name', 'string', '0+'),
        field('partitionIndexes', array('int32'), '0+'),
      ]),
    ),
    '0+',
    { nullable: '0+', default: null },
  ),
]);

export const ListPartitionReassignmentsResponse = response(
  46,
  'ListPartitionReassignmentsResponse',
  '0',
  '0+',
  [
    field('throttleTimeMs', 'int32', '0+'),
    field('errorCode', 'int16', '0+'),
    field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
    field(
      'topics',
      array(
        struct('OngoingTopicReassignment', [
          field('name', 'string', '0+'),
          field(
            'partitions',
            array(
              struct('OngoingPartitionReassignment', [
                field('partitionIndex', 'int32', '0+'),
                field('replicas', array('int32'), '0+'),
                field('addingReplicas', array('int32'), '0+'),
                field('removingReplicas', array('int32'), '0+'),
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

/** A decoded ListPartitionReassignmentsRequest (every version's fields; absent ones hold their default). */
export type ListPartitionReassignmentsRequestData = {
  timeoutMs: number;
  topics: { name: string; partitionIndexes: number[] }[] | null;
};

/** A decoded ListPartitionReassignmentsResponse (every version's fields; absent ones hold their default). */
export type ListPartitionReassignmentsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      replicas: number[];
      addingReplicas: number[];
      removingReplicas: number[];
    }[];
  }[];
};
