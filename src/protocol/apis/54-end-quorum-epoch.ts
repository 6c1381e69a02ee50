import { array, field, request, response, struct } from '../schema.ts';

// EndQuorumEpoch (API key 54), written from Kafka 4.1's EndQuorumEpochRequest/Response message
// definitions: v1 is flexible, replaces PreferredSuccessors by PreferredCandidates (with directory
// ids) and adds the leader's endpoints (KIP-853). Served on the controller listener only.

export const EndQuorumEpochRequest = request(54, 'EndQuorumEpochRequest', '0-1', '1+', [
  field('clusterId', 'string', '0+', { nullable: '0+', default: null }),
  field(
    'topics',
    array(
      struct('TopicData', [
        field('topicName', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('PartitionData', [
              field('partitionIndex', 'int32', '0+'),
              field('leaderId', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+'),
              field('preferredSuccessors', array('int32'), '0'),
              field(
                'preferredCandidates',
                array(
                  struct('ReplicaInfo', [
                    field('candidateId', 'int32', '1+'),
                    field('candidateDirectoryId', 'uuid', '1+'),
                  ]),
                ),
                '1+',
              ),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field(
    'leaderEndpoints',
    array(
      struct('LeaderEndpoint', [
        field('name', 'string', '1+'),
        field('host', 'string', '1+'),
        field('port', 'uint16', '1+'),
      ]),
    ),
    '1+',
  ),
]);

export const EndQuorumEpochResponse = response(54, 'EndQuorumEpochResponse', '0-1', '1+', [
  field('errorCode', 'int16', '0+'),
  field(
    'topics',
    array(
      struct('TopicData', [
        field('topicName', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('PartitionData', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('leaderId', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field(
    'nodeEndpoints',
    array(
      struct('NodeEndpoint', [
        field('nodeId', 'int32', '1+'),
        field('host', 'string', '1+'),
        field('port', 'uint16', '1+'),
      ]),
    ),
    '1+',
    { tag: 0 },
  ),
]);

/** A decoded EndQuorumEpochRequest (every version's fields; absent ones hold their default). */
export type EndQuorumEpochRequestData = {
  clusterId: string | null;
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
      leaderId: number;
      leaderEpoch: number;
      preferredSuccessors: number[];
      preferredCandidates: { candidateId: number; candidateDirectoryId: string }[];
    }[];
  }[];
  leaderEndpoints: { name: string; host: string; port: number }[];
};

/** A decoded EndQuorumEpochResponse (every version's fields; absent ones hold their default). */
export type EndQuorumEpochResponseData = {
  errorCode: number;
  topics: {
    topicName: string;
    partitions: { partitionIndex: number; errorCode: number; leaderId: number; leaderEpoch: number }[];
  }[];
  nodeEndpoints: { nodeId: number; host: string; port: number }[];
};
