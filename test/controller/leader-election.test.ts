// The controller's election decisions (src/controller/leader-election.ts) on a metadata image built
// from the records the quorum replays: Kafka 4.1.1's answers to ElectLeaders, checked by hand on
// the 3-node reference with kafka-leader-election (ELECTION_NOT_NEEDED for a partition its
// preferred replica leads, PREFERRED_LEADER_NOT_AVAILABLE while that replica is down,
// UNKNOWN_TOPIC_OR_PARTITION naming the missing topic or partition; "all partitions" leaves out
// those needing no election; UNCLEAN only for a leaderless partition), and the automatic balance.
// No sockets: test/controller/leader-balance.slow.ts runs the same through Kafka's own tool.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { BrokerServices } from '../../src/broker/services.ts';
import {
  balanceLeaders,
  ElectionType,
  electLeaders,
  hasImbalance,
} from '../../src/controller/leader-election.ts';
import {
  AclStore,
  CLUSTER_NAME,
  AclOperation as Op,
  PatternType as Pattern,
  AclPermission as Permission,
  ResourceType as Type,
} from '../../src/security/acls.ts';
import { Authorizer, authorizerSettings, STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { AUTHORIZER, authorizeRequest } from '../../src/security/request-authorization.ts';

const TOPIC_ID = '7dc5a2e4-6f6c-4c1e-9d43-3b1f2f0b6a11';
const ELECTION_NOT_NEEDED = 84;
const PREFERRED_LEADER_NOT_AVAILABLE = 80;
const ELIGIBLE_LEADERS_NOT_AVAILABLE = 83;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const CLUSTER_AUTHORIZATION_FAILED = 31;

/** Brokers 1-3 registered and unfenced; topic "t" with the given (replicas, isr, leader) partitions. */
function image(partitions: [number[], number[], number][], fenced: number[] = []): MetadataImage {
  let current = MetadataImage.empty('c', 1);
  let offset = 0n;
  const apply = (records: MetadataRecord[]) => {
    current = current.apply(records, offset);
    offset += BigInt(records.length);
  };
  for (const brokerId of [1, 2, 3]) {
    apply([
      {
        type: 'RegisterBrokerRecord',
        brokerId,
        host: '127.0.0.1',
        port: 9091 + brokerId,
        rack: null,
        fenced: true,
      },
    ]);
    const epoch = current.brokerEpoch(brokerId);
    apply([{ type: 'UnfenceBrokerRecord', id: brokerId, epoch }]);
    if (fenced.includes(brokerId)) apply([{ type: 'FenceBrokerRecord', id: brokerId, epoch }]);
  }
  apply([
    { type: 'TopicRecord', name: 't', topicId: TOPIC_ID },
    ...partitions.map(
      ([replicas, isr, leader], partitionId): MetadataRecord => ({
        type: 'PartitionRecord',
        topicId: TOPIC_ID,
        partitionId,
        replicas,
        isr,
        leader,
        leaderEpoch: 0,
        partitionEpoch: 0,
      }),
    ),
  ]);
  return current;
}

test('preferred: elected when in the ISR and unfenced, else Kafka’s errors', () => {
  const state = image([
    [[1, 2, 3], [1, 2, 3], 1], // already preferred
    [[2, 3, 1], [1, 2, 3], 1], // preferred 2 is in the ISR: moves to 2
    [[3, 1, 2], [1, 2], 1], // preferred 3 out of the ISR
  ]);
  const { results, records } = electLeaders(state, ElectionType.preferred, [
    { topic: 't', partitions: [0, 1, 2, 9] },
    { topic: 'missing', partitions: [0] },
  ]);
  assert.deepEqual(results, [
    {
      topic: 't',
      partitionResult: [
        {
          partitionId: 0,
          errorCode: ELECTION_NOT_NEEDED,
          errorMessage: 'Leader election not needed for topic partition.',
        },
        { partitionId: 1, errorCode: 0, errorMessage: null },
        {
          partitionId: 2,
          errorCode: PREFERRED_LEADER_NOT_AVAILABLE,
          errorMessage: 'The preferred leader was not available.',
        },
        { partitionId: 9, errorCode: UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such partition as t-9' },
      ],
    },
    {
      topic: 'missing',
      partitionResult: [
        { partitionId: 0, errorCode: UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such topic as missing' },
      ],
    },
  ]);
  assert.deepEqual(records, [
    { type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 1, leader: 2 },
  ]);
  const after = state.apply(records, 100n);
  assert.equal(after.topic('t')?.partitions[1]?.leaderId, 2);
  assert.equal(after.topic('t')?.partitions[1]?.leaderEpoch, 1, 'a new leader is a new leader epoch');
});

test('preferred: a fenced preferred replica cannot lead; all partitions lists only those that needed an election', () => {
  const state = image(
    [
      [[1, 2, 3], [1, 2, 3], 1],
      [[2, 3, 1], [2, 3, 1], 3],
      [[3, 1, 2], [3, 1, 2], 1],
    ],
    [2],
  );
  const { results, records } = electLeaders(state, ElectionType.preferred, null);
  assert.deepEqual(results, [
    {
      topic: 't',
      partitionResult: [
        {
          partitionId: 1,
          errorCode: PREFERRED_LEADER_NOT_AVAILABLE,
          errorMessage: 'The preferred leader was not available.',
        },
        { partitionId: 2, errorCode: 0, errorMessage: null },
      ],
    },
  ]);
  assert.deepEqual(records, [
    { type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 2, leader: 3 },
  ]);
});

test('unclean: only a leaderless partition, an ISR member first, else any live replica with the ISR reset to it', () => {
  const state = image(
    [
      [[1, 2, 3], [1, 2, 3], 1], // has a leader
      [[2, 3, 1], [2], -1], // its last ISR member is fenced: 3 is live, out of sync
      [[2], [2], -1], // one replica, fenced: nobody
    ],
    [2],
  );
  const { results, records } = electLeaders(state, ElectionType.unclean, [
    { topic: 't', partitions: [0, 1, 2] },
  ]);
  assert.deepEqual(
    results[0]?.partitionResult.map((p) => p.errorCode),
    [ELECTION_NOT_NEEDED, 0, ELIGIBLE_LEADERS_NOT_AVAILABLE],
  );
  assert.deepEqual(records, [
    // An unclean leader is RECOVERING (Kafka's PartitionChangeBuilder: LeaderRecoveryState 1).
    {
      type: 'PartitionChangeRecord',
      topicId: TOPIC_ID,
      partitionId: 1,
      leader: 3,
      isr: [3],
      leaderRecoveryState: 1,
    },
  ]);
});

test('automatic balance: back to each preferred replica that is in the ISR and unfenced, at most the limit', () => {
  const state = image([
    [[1, 2, 3], [1, 2, 3], 2],
    [[2, 3, 1], [3, 1], 3], // preferred 2 not back in the ISR yet: stays
    [[3, 1, 2], [3, 1, 2], 1],
  ]);
  assert.equal(hasImbalance(state), true);
  assert.deepEqual(
    balanceLeaders(state, 10).map((r) =>
      r.type === 'PartitionChangeRecord' ? [r.partitionId, r.leader] : r.type,
    ),
    [
      [0, 1],
      [2, 3],
    ],
  );
  assert.equal(balanceLeaders(state, 1).length, 1);
  const balanced = image([
    [[1, 2, 3], [1, 2, 3], 1],
    [[2, 3, 1], [2, 3, 1], 2],
  ]);
  assert.equal(hasImbalance(balanced), false);
  assert.deepEqual(balanceLeaders(balanced, 10), []);
});

test('authorization: ElectLeaders needs ALTER on the cluster (CLUSTER_ACTION is not enough), refused whole as Kafka does', () => {
  const store = new AclStore(() => true);
  const allow = (principal: string, operation: number) => ({
    resourceType: Type.CLUSTER,
    resourceName: CLUSTER_NAME,
    patternType: Pattern.LITERAL,
    principal,
    host: '*',
    operation,
    permissionType: Permission.ALLOW,
  });
  store.create([allow('User:alice', Op.ALTER), allow('User:bob', Op.CLUSTER_ACTION)]);
  const settings = authorizerSettings((name: string) =>
    name === 'authorizer.class.name' ? STANDARD_AUTHORIZER : undefined,
  );
  assert.ok(settings !== undefined);
  const authorizer = new Authorizer(settings, store);
  const broker = { slots: { get: (key: unknown) => (key === AUTHORIZER ? authorizer : undefined) } };
  const request = {
    electionType: 0,
    topicPartitions: [{ topic: 't', partitions: [0, 1] }],
    timeoutMs: 60_000,
  };
  const ask = (principal: string, body: typeof request | { electionType: number; topicPartitions: null }) =>
    authorizeRequest(43, 2, body, { principal, host: '10.0.0.1' }, broker as unknown as BrokerServices);
  assert.ok('request' in ask('User:alice', request), 'ALTER on the cluster may elect');
  const refused = ask('User:bob', request);
  assert.ok('answer' in refused);
  const message = 'Cluster authorization failed.';
  assert.deepEqual(refused.answer, {
    errorCode: CLUSTER_AUTHORIZATION_FAILED,
    replicaElectionResults: [
      {
        topic: 't',
        partitionResult: [
          { partitionId: 0, errorCode: CLUSTER_AUTHORIZATION_FAILED, errorMessage: message },
          { partitionId: 1, errorCode: CLUSTER_AUTHORIZATION_FAILED, errorMessage: message },
        ],
      },
    ],
  });
  const all = ask('User:bob', { electionType: 0, topicPartitions: null });
  assert.ok('answer' in all);
  assert.deepEqual(all.answer, { errorCode: CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults: [] });
});
