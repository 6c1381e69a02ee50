import { array, field, request, response, struct } from '../schema.ts';

// BeginQuorumEpoch (API key 53), written from Kafka 4.1's BeginQuorumEpochRequest/Response message
// definitions: v1 is flexible and adds the voter key and the leader's endpoints (KIP-853). Served
// on the controller listener only.

export const BeginQuorumEpochRequest = request(53, 'BeginQuorumEpochRequest', '0-1', '1+', [
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
              field('voterDirectoryId', 'uuid', '1+'),
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

export const BeginQuorumEpochResponse = response(53, 'BeginQuorumEpochResponse', '0-1', '1+', [
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

/** A decoded BeginQuorumEpochRequest (every version's fields; absent ones hold their default). */
export type BeginQuorumEpochRequestData = {
  clusterId: string | null;
  voterId: number;
  topics: {
    topicName: string;
    partitions: { partitionIndex: number; voterDirectoryId: string; leaderId: number; leaderEpoch: number }[];
  }[];
  leaderEndpoints: { name: string; host: string; port: number }[];
};

/** A decoded BeginQuorumEpochResponse (every version's fields; absent ones hold their default). */
export type BeginQuorumEpochResponseData = {
  errorCode: number;
  topics: {
    topicName: string;
    partitions: { partitionIndex: number; errorCode: number; leaderId: number; leaderEpoch: number }[];
  }[];
  nodeEndpoints: { nodeId: number; host: string; port: number }[];
};
