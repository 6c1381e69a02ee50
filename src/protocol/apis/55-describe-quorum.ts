import { array, field, request, response, struct } from '../schema.ts';

// DescribeQuorum (API key 55), written from Kafka's DescribeQuorumRequest/DescribeQuorumResponse message definitions.

const ReplicaState = struct('ReplicaState', [
  field('replicaId', 'int32', '0+'),
  field('replicaDirectoryId', 'uuid', '2+'),
  field('logEndOffset', 'int64', '0+'),
  field('lastFetchTimestamp', 'int64', '1+', { default: -1n }),
  field('lastCaughtUpTimestamp', 'int64', '1+', { default: -1n }),
]);

export const DescribeQuorumRequest = request(55, 'DescribeQuorumRequest', '0-2', '0+', [
  field(
    'topics',
    array(
      struct('TopicData', [
        field('topicName', 'string', '0+'),
        field('partitions', array(struct('PartitionData', [field('partitionIndex', 'int32', '0+')])), '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const DescribeQuorumResponse = response(55, 'DescribeQuorumResponse', '0-2', '0+', [
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '2+', { nullable: '2+' }),
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
              field('errorMessage', 'string', '2+', { nullable: '2+' }),
              field('leaderId', 'int32', '0+'),
              field('leaderEpoch', 'int32', '0+'),
              field('highWatermark', 'int64', '0+'),
              field('currentVoters', array(ReplicaState), '0+'),
              field('observers', array(ReplicaState), '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field(
    'nodes',
    array(
      struct('Node', [
        field('nodeId', 'int32', '2+'),
        field(
          'listeners',
          array(
            struct('Listener', [
              field('name', 'string', '2+'),
              field('host', 'string', '2+'),
              field('port', 'uint16', '2+'),
            ]),
          ),
          '2+',
        ),
      ]),
    ),
    '2+',
  ),
]);

/** A decoded DescribeQuorumRequest (every version's fields; absent ones hold their default). */
export type DescribeQuorumRequestData = {
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
    }[];
  }[];
};

/** A decoded DescribeQuorumResponse (every version's fields; absent ones hold their default). */
export type DescribeQuorumResponseData = {
  errorCode: number;
  errorMessage: string | null;
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      errorMessage: string | null;
      leaderId: number;
      leaderEpoch: number;
      highWatermark: bigint;
      currentVoters: {
        replicaId: number;
        replicaDirectoryId: string;
        logEndOffset: bigint;
        lastFetchTimestamp: bigint;
        lastCaughtUpTimestamp: bigint;
      }[];
      observers: {
        replicaId: number;
        replicaDirectoryId: string;
        logEndOffset: bigint;
        lastFetchTimestamp: bigint;
        lastCaughtUpTimestamp: bigint;
      }[];
    }[];
  }[];
  nodes: {
    nodeId: number;
    listeners: {
      name: string;
      host: string;
      port: number;
    }[];
  }[];
};
