import { array, field, request, response, struct } from '../schema.ts';

// FetchSnapshot (API key 59), written from Kafka 4.1's FetchSnapshotRequest/Response message
// definitions (KIP-630): a follower whose fetch offset is below the leader's log start pulls the
// leader's snapshot in chunks. v1 adds the replica directory id and the leader's endpoints
// (KIP-853). Served on the controller listener only.

const SnapshotId = struct('SnapshotId', [field('endOffset', 'int64', '0+'), field('epoch', 'int32', '0+')]);

export const FetchSnapshotRequest = request(59, 'FetchSnapshotRequest', '0-1', '0+', [
  field('clusterId', 'string', '0+', { nullable: '0+', default: null, tag: 0 }),
  field('replicaId', 'int32', '0+', { default: -1 }),
  field('maxBytes', 'int32', '0+', { default: 0x7fffffff }),
  field(
    'topics',
    array(
      struct('TopicSnapshot', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('PartitionSnapshot', [
              field('partition', 'int32', '0+'),
              field('currentLeaderEpoch', 'int32', '0+'),
              field('snapshotId', SnapshotId, '0+'),
              field('position', 'int64', '0+'),
              field('replicaDirectoryId', 'uuid', '1+', { tag: 0 }),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

export const FetchSnapshotResponse = response(59, 'FetchSnapshotResponse', '0-1', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field(
    'topics',
    array(
      struct('TopicSnapshot', [
        field('name', 'string', '0+'),
        field(
          'partitions',
          array(
            struct('PartitionSnapshot', [
              field('index', 'int32', '0+'),
              field('errorCode', 'int16', '0+'),
              field('snapshotId', SnapshotId, '0+'),
              field(
                'currentLeader',
                struct('LeaderIdAndEpoch', [
                  field('leaderId', 'int32', '0+', { default: -1 }),
                  field('leaderEpoch', 'int32', '0+', { default: -1 }),
                ]),
                '0+',
                { tag: 0 },
              ),
              field('size', 'int64', '0+'),
              field('position', 'int64', '0+'),
              field('unalignedRecords', 'records', '0+'),
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

/** A decoded FetchSnapshotRequest (every version's fields; absent ones hold their default). */
export type FetchSnapshotRequestData = {
  clusterId: string | null;
  replicaId: number;
  maxBytes: number;
  topics: {
    name: string;
    partitions: {
      partition: number;
      currentLeaderEpoch: number;
      snapshotId: { endOffset: bigint; epoch: number };
      position: bigint;
      replicaDirectoryId: string;
    }[];
  }[];
};

/** A decoded FetchSnapshotResponse (every version's fields; absent ones hold their default). */
export type FetchSnapshotResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  topics: {
    name: string;
    partitions: {
      index: number;
      errorCode: number;
      snapshotId: { endOffset: bigint; epoch: number };
      currentLeader: { leaderId: number; leaderEpoch: number };
      size: bigint;
      position: bigint;
      unalignedRecords: Uint8Array | null;
    }[];
  }[];
  nodeEndpoints: { nodeId: number; host: string; port: number }[];
};
