import { array, field, request, response, struct } from '../schema.ts';

// ElectLeaders (API key 43), written from Kafka's ElectLeadersRequest/ElectLeadersResponse message definitions.

export const ElectLeadersRequest = request(43, 'ElectLeadersRequest', '0-2', '2+', [
  // 0 elects the preferred replica, 1 a live replica when none in sync is left (v0 is always preferred).
  field('electionType', 'int8', '1+'),
  field(
    'topicPartitions',
    array(
      struct('TopicPartitions', [field('topic', 'string', '0+'), field('partitions', array('int32'), '0+')]),
    ),
    '0+',
    { nullable: '0+', default: null },
  ),
  field('timeoutMs', 'int32', '0+', { default: 60_000 }),
]);

export const ElectLeadersResponse = response(43, 'ElectLeadersResponse', '0-2', '2+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '1+'),
  field(
    'replicaElectionResults',
    array(
      struct('ReplicaElectionResult', [
        field('topic', 'string', '0+'),
        field(
          'partitionResult',
          array(
            struct('PartitionResult', [
              field('partitionId', 'int32', '0+'),
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
]);

/** A decoded ElectLeadersRequest (every version's fields; absent ones hold their default). */
export type ElectLeadersRequestData = {
  electionType: number;
  topicPartitions: { topic: string; partitions: number[] }[] | null;
  timeoutMs: number;
};

/** A decoded ElectLeadersResponse (every version's fields; absent ones hold their default). */
export type ElectLeadersResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  replicaElectionResults: {
    topic: string;
    partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[];
  }[];
};
