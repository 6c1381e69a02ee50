import { array, field, request, response, struct } from '../schema.ts';

// Vote (API key 52), written from Kafka 4.1's VoteRequest/VoteResponse message definitions: v1 adds
// the voter and directory ids (KIP-853), v2 the PreVote flag (KIP-996). Kafka 4.1 names the
// candidate fields ReplicaEpoch/ReplicaId/ReplicaDirectoryId (CandidateEpoch/CandidateId before);
// the bytes are the same. Served on the controller listener only.

const NodeEndpoint = struct('NodeEndpoint', [
  field('nodeId', 'int32', '1+'),
  field('host', 'string', '1+'),
  field('port', 'uint16', '1+'),
]);

export const VoteRequest = request(52, 'VoteRequest', '0-2', '0+', [
  field('clusterId', 'string', '0+', { nullable: '0+', default: null }),
  field('voterId', 'int32', '1+', { default: -1 }),
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
              field('replicaEpoch', 'int32', '0+'),
              field('replicaId', 'int32', '0+'),
              field('replicaDirectoryId', 'uuid', '1+'),
              field('voterDirectoryId', 'uuid', '1+'),
              field('lastOffsetEpoch', 'int32', '0+'),
              field('lastOffset', 'int64', '0+'),
              field('preVote', 'bool', '2+', { default: false }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const VoteResponse = response(52, 'VoteResponse', '0-2', '0+', [
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
              field('voteGranted', 'bool', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('nodeEndpoints', array(NodeEndpoint), '1+', { tag: 0 }),
]);

/** A decoded VoteRequest (every version's fields; absent ones hold their default). */
export type VoteRequestData = {
  clusterId: string | null;
  voterId: number;
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
      replicaEpoch: number;
      replicaId: number;
      replicaDirectoryId: string;
      voterDirectoryId: string;
      lastOffsetEpoch: number;
      lastOffset: bigint;
      preVote: boolean;
    }[];
  }[];
};

/** A decoded VoteResponse (every version's fields; absent ones hold their default). */
export type VoteResponseData = {
  errorCode: number;
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      leaderId: number;
      leaderEpoch: number;
      voteGranted: boolean;
    }[];
  }[];
  nodeEndpoints: { nodeId: number; host: string; port: number }[];
};
