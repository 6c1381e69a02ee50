import { array, field, request, response, struct } from '../schema.ts';

// Fetch (API key 1), written from Kafka's FetchRequest/FetchResponse message definitions.

export const FetchRequest = request(1, 'FetchRequest', '0-17', '12+', [
  field('clusterId', 'string', '12+', { nullable: '12+', tag: 0, default: null }),
  field('replicaId', 'int32', '0-14', { default: -1 }),
  field(
    'replicaState',
    struct('ReplicaState', [
      field('replicaId', 'int32', '15+', { default: -1 }),
      field('replicaEpoch', 'int64', '15+', { default: -1n }),
    ]),
    '15+',
    { tag: 1 },
  ),
  field('maxWaitMs', 'int32', '0+'),
  field('minBytes', 'int32', '0+'),
  field('maxBytes', 'int32', '3+', { default: 2147483647 }),
  field('isolationLevel', 'int8', '4+', { default: 0 }),
  field('sessionId', 'int32', '7+', { default: 0 }),
  field('sessionEpoch', 'int32', '7+', { default: -1 }),
  field(
    'topics',
    array(
      struct('FetchTopic', [
        field('topic', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        field(
          'partitions',
          array(
            struct('FetchPartition', [
              field('partition', 'int32', '0+'),
              field('currentLeaderEpoch', 'int32', '9+', { default: -1 }),
              field('fetchOffset', 'int64', '0+'),
              field('lastFetchedEpoch', 'int32', '12+', { default: -1 }),
              field('logStartOffset', 'int64', '5+', { default: -1n }),
              field('partitionMaxBytes', 'int32', '0+'),
              field('replicaDirectoryId', 'uuid', '17+', { tag: 0 }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field(
    'forgottenTopicsData',
    array(
      struct('ForgottenTopic', [
        field('topic', 'string', '7-12'),
        field('topicId', 'uuid', '13+'),
        field('partitions', array('int32'), '7+'),
      ]),
    ),
    '7+',
  ),
  field('rackId', 'string', '11+', { default: '' }),
]);

export const FetchResponse = response(1, 'FetchResponse', '0-17', '12+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '7+'),
  field('sessionId', 'int32', '7+', { default: 0 }),
  field(
    'responses',
    array(
      struct('FetchableTopicResponse', [
        field('topic', 'string', '0-12'),
        field('topicId', 'uuid', '13+'),
        field(
          'partitions',
          array(
            struct('PartitionData', [
              field('partitionIndex', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('highWatermark', 'int64', '0+'),
              field('lastStableOffset', 'int64', '4+', { default: -1n }),
              field('logStartOffset', 'int64', '5+', { default: -1n }),
              field(
                'divergingEpoch',
                struct('EpochEndOffset', [
                  field('epoch', 'int32', '12+', { default: -1 }),
                  field('endOffset', 'int64', '12+', { default: -1n }),
                ]),
                '12+',
                { tag: 0 },
              ),
              field(
                'currentLeader',
                struct('LeaderIdAndEpoch', [
                  field('leaderId', 'int32', '12+', { default: -1 }),
                  field('leaderEpoch', 'int32', '12+', { default: -1 }),
                ]),
                '12+',
                { tag: 1 },
              ),
              field(
                'snapshotId',
                struct('SnapshotId', [
                  field('endOffset', 'int64', '0+', { default: -1n }),
                  field('epoch', 'int32', '0+', { default: -1 }),
                ]),
                '12+',
                { tag: 2 },
              ),
              field(
                'abortedTransactions',
                array(
                  struct('AbortedTransaction', [
                    field('producerId', 'int64', '4+'),
                    field('firstOffset', 'int64', '4+'),
                  ]),
                ),
                '4+',
                { nullable: '4+' },
              ),
              field('preferredReadReplica', 'int32', '11+', { default: -1 }),
              field('records', 'records', '0+', { nullable: '0+' }),
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
        field('nodeId', 'int32', '16+'),
        field('host', 'string', '16+'),
        field('port', 'int32', '16+'),
        field('rack', 'string', '16+', { nullable: '16+', default: null }),
      ]),
    ),
    '16+',
    { tag: 0 },
  ),
]);

/** A decoded FetchRequest (every version's fields; absent ones hold their default). */
export type FetchRequestData = {
  clusterId: string | null;
  replicaId: number;
  replicaState: {
    replicaId: number;
    replicaEpoch: bigint;
  };
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: {
    topic: string;
    topicId: string;
    partitions: {
      partition: number;
      currentLeaderEpoch: number;
      fetchOffset: bigint;
      lastFetchedEpoch: number;
      logStartOffset: bigint;
      partitionMaxBytes: number;
      replicaDirectoryId: string;
    }[];
  }[];
  forgottenTopicsData: {
    topic: string;
    topicId: string;
    partitions: number[];
  }[];
  rackId: string;
};

/** A decoded FetchResponse (every version's fields; absent ones hold their default). */
export type FetchResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: {
    topic: string;
    topicId: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      highWatermark: bigint;
      lastStableOffset: bigint;
      logStartOffset: bigint;
      divergingEpoch: {
        epoch: number;
        endOffset: bigint;
      };
      currentLeader: {
        leaderId: number;
        leaderEpoch: number;
      };
      snapshotId: {
        endOffset: bigint;
        epoch: number;
      };
      abortedTransactions:
        | {
            producerId: bigint;
            firstOffset: bigint;
          }[]
        | null;
      preferredReadReplica: number;
      records: Uint8Array | null;
    }[];
  }[];
  nodeEndpoints: {
    nodeId: number;
    host: string;
    port: number;
    rack: string | null;
  }[];
};
