// The controller's reassignment decisions (src/controller/reassignment.ts) on a metadata image built
// from the records the quorum replays, as Kafka 4.1.1's controller takes them: target ∪ current while
// adding, completion once the ISR holds the target (leader moved off a removed replica, new leader
// epoch), cancellation back to the original replicas, a new target replacing one in progress, and
// the refusals with their codes. No sockets: test/controller/reassignment.slow.ts runs the same
// through Kafka's own kafka-reassign-partitions on three in-process nodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { BrokerServices } from '../../src/broker/services.ts';
import { alterReassignments, completeIfReady, listReassignments } from '../../src/controller/reassignment.ts';
import { ZERO_UUID } from '../../src/protocol/index.ts';
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

const TOPIC_ID = '5b0b8a57-33c4-4a6e-8f0e-7d5c3c1c9a21';
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const INVALID_REPLICA_ASSIGNMENT = 39;
const NO_REASSIGNMENT_IN_PROGRESS = 85;
const CLUSTER_AUTHORIZATION_FAILED = 31;
const TOPIC_AUTHORIZATION_FAILED = 29;

/** Brokers 1-4 registered and unfenced (none of 9); topic "t" with the given (replicas, isr, leader) partitions. */
function image(partitions: [number[], number[], number][]): MetadataImage {
  let current = MetadataImage.empty('c', 1);
  let offset = 0n;
  const apply = (records: MetadataRecord[]) => {
    current = current.apply(records, offset);
    offset += BigInt(records.length);
  };
  for (const brokerId of [1, 2, 3, 4]) {
    apply([{ type: 'RegisterBrokerRecord', brokerId, host: '127.0.0.1', port: 9091 + brokerId, rack: null }]);
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

function reassign(state: MetadataImage, partitions: { partitionIndex: number; replicas: number[] | null }[]) {
  const outcome = alterReassignments(state, [{ name: 't', partitions }]);
  return { ...outcome, after: state.apply(outcome.records, state.metadataOffset + 1n) };
}

test('a move adds the target, keeps the leaving replicas until the ISR holds the target, then completes', () => {
  const { responses, after } = reassign(image([[[1, 2], [1, 2], 1]]), [
    { partitionIndex: 0, replicas: [2, 3] },
  ]);
  assert.deepEqual(responses, [
    { name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] },
  ]);
  const moving = after.topic('t')!.partitions[0]!;
  assert.deepEqual(moving.replicas, [2, 3, 1]);
  assert.deepEqual(moving.addingReplicas, [3]);
  assert.deepEqual(moving.removingReplicas, [1]);
  assert.equal(moving.leaderId, 1);
  assert.equal(moving.leaderEpoch, 0);
  assert.deepEqual(listReassignments(after, null), [
    {
      name: 't',
      partitions: [{ partitionIndex: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }],
    },
  ]);
  // The leader's AlterPartition adds 3: the target is in the ISR, so the move completes.
  const change = completeIfReady(after, moving, [1, 2, 3], {
    type: 'PartitionChangeRecord',
    topicId: TOPIC_ID,
    partitionId: 0,
    isr: [1, 2, 3],
  });
  const done = after.apply([change], after.metadataOffset + 1n).topic('t')!.partitions[0]!;
  assert.deepEqual(done.replicas, [2, 3]);
  assert.deepEqual(done.isr, [2, 3]);
  assert.equal(done.leaderId, 2, 'the removed leader hands over to the first target replica in the ISR');
  assert.equal(done.leaderEpoch, 1);
  assert.equal(done.addingReplicas, undefined);
  assert.equal(done.removingReplicas, undefined);
  assert.deepEqual(listReassignments(after.apply([change], after.metadataOffset + 1n), null), []);
  // An ISR without the adding replica does not complete it.
  const partial = { type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 0, isr: [1, 2] } as const;
  assert.equal(completeIfReady(after, moving, [1, 2], partial), partial);
});

test('a reorder or a shrink completes at once; the same replicas change nothing', () => {
  const state = image([
    [[1, 2, 3], [1, 2, 3], 1],
    [[1, 2, 3], [1, 2, 3], 1],
    [[1, 2], [1, 2], 1],
  ]);
  const { records, after } = reassign(state, [
    { partitionIndex: 0, replicas: [3, 1, 2] },
    { partitionIndex: 1, replicas: [2, 3] },
    { partitionIndex: 2, replicas: [1, 2] },
  ]);
  assert.equal(records.length, 2);
  const [reordered, shrunk, same] = after.topic('t')!.partitions;
  assert.deepEqual(
    [reordered!.replicas, reordered!.leaderId, reordered!.addingReplicas],
    [[3, 1, 2], 1, undefined],
  );
  assert.deepEqual(
    [shrunk!.replicas, shrunk!.isr, shrunk!.leaderId, shrunk!.leaderEpoch],
    [[2, 3], [2, 3], 2, 1],
  );
  assert.equal(same!.partitionEpoch, 0);
});

test('cancel reverts to the original replicas; a new target replaces the one in progress', () => {
  const state = image([[[1, 2], [1, 2], 1]]);
  const first = reassign(state, [{ partitionIndex: 0, replicas: [2, 3] }]).after;
  const replaced = reassign(first, [{ partitionIndex: 0, replicas: [1, 4] }]).after.topic('t')!
    .partitions[0]!;
  assert.deepEqual(replaced.replicas, [1, 4, 2], 'computed from the original [1,2], not from [2,3,1]');
  assert.deepEqual(replaced.addingReplicas, [4]);
  assert.deepEqual(replaced.removingReplicas, [2]);
  const cancelled = reassign(first, [{ partitionIndex: 0, replicas: null }]);
  assert.deepEqual(cancelled.responses[0]!.partitions[0], {
    partitionIndex: 0,
    errorCode: 0,
    errorMessage: null,
  });
  // Kafka's PartitionReassignmentRevert keeps the current order without the adding replicas: [2,3,1] → [2,1],
  // and the preferred replica leads (the reference moved its leader from 1 to 2 on such a cancel).
  const back = cancelled.after.topic('t')!.partitions[0]!;
  assert.deepEqual([back.replicas, back.isr, back.leaderId], [[2, 1], [1, 2], 2]);
  assert.equal(back.addingReplicas, undefined);
  // A cancelled move whose adding replica had joined the ISR drops it from the ISR too.
  const joined = first.apply(
    [{ type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 0, isr: [1, 2] }],
    first.metadataOffset + 1n,
  );
  assert.deepEqual(
    reassign(joined, [{ partitionIndex: 0, replicas: null }]).after.topic('t')!.partitions[0]!.isr,
    [1, 2],
  );
});

test('refusals: unknown topic or partition, empty, duplicate or unregistered replicas, nothing to cancel', () => {
  const state = image([[[1, 2], [1, 2], 1]]);
  const { responses, records } = reassign(state, [
    { partitionIndex: 0, replicas: [] },
    { partitionIndex: 0, replicas: [1, 1] },
    { partitionIndex: 0, replicas: [1, 9] },
    { partitionIndex: 0, replicas: null },
    { partitionIndex: 7, replicas: [1, 2] },
  ]);
  assert.deepEqual(records, []);
  assert.deepEqual(
    responses[0]!.partitions.map((p) => [p.errorCode, p.errorMessage]),
    [
      [INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.'],
      [INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes the broker 1 more than once.'],
      [
        INVALID_REPLICA_ASSIGNMENT,
        'The manual partition assignment includes broker 9, but no such broker is registered.',
      ],
      [NO_REASSIGNMENT_IN_PROGRESS, null],
      [UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find partition t:7.'],
    ],
  );
  const unknown = alterReassignments(state, [
    { name: 'nope', partitions: [{ partitionIndex: 0, replicas: [1] }] },
  ]);
  assert.deepEqual(unknown.responses[0]!.partitions[0], {
    partitionIndex: 0,
    errorCode: UNKNOWN_TOPIC_OR_PARTITION,
    errorMessage: 'Unable to find a topic named nope.',
  });
  assert.deepEqual(listReassignments(state, [{ name: 'nope', partitionIndexes: [0] }]), []);
});

test('authorization: AlterPartitionReassignments needs ALTER on the cluster; DescribeTopicPartitions DESCRIBE per topic', () => {
  const store = new AclStore(() => true);
  const allow = (principal: string, operation: number, resourceType: number, resourceName: string) => ({
    resourceType,
    resourceName,
    patternType: Pattern.LITERAL,
    principal,
    host: '*',
    operation,
    permissionType: Permission.ALLOW,
  });
  store.create([
    allow('User:alice', Op.ALTER, Type.CLUSTER, CLUSTER_NAME),
    allow('User:bob', Op.DESCRIBE, Type.TOPIC, 'seen'),
  ]);
  const settings = authorizerSettings((name: string) =>
    name === 'authorizer.class.name' ? STANDARD_AUTHORIZER : undefined,
  );
  assert.ok(settings !== undefined);
  const authorizer = new Authorizer(settings, store);
  const broker = { slots: { get: (key: unknown) => (key === AUTHORIZER ? authorizer : undefined) } };
  const ask = (apiKey: number, principal: string, body: Record<string, unknown>) =>
    authorizeRequest(apiKey, 0, body, { principal, host: '10.0.0.1' }, broker as unknown as BrokerServices);
  const move = {
    timeoutMs: 60_000,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }],
  };
  assert.ok('request' in ask(45, 'User:alice', move), 'ALTER on the cluster may reassign');
  const refused = ask(45, 'User:bob', move);
  assert.ok('answer' in refused);
  const message = 'Cluster authorization failed.';
  assert.deepEqual(refused.answer, {
    errorCode: CLUSTER_AUTHORIZATION_FAILED,
    errorMessage: message,
    responses: [
      {
        name: 't',
        partitions: [{ partitionIndex: 0, errorCode: CLUSTER_AUTHORIZATION_FAILED, errorMessage: message }],
      },
    ],
  });
  const topic = (name: string) => ({ errorCode: 0, name, topicId: 'x', isInternal: false, partitions: [{}] });
  const all = ask(75, 'User:bob', { topics: [], responsePartitionLimit: 2000, cursor: null });
  assert.ok('finish' in all);
  assert.deepEqual(all.finish({ topics: [topic('seen'), topic('hidden')] }), { topics: [topic('seen')] });
  const named = ask(75, 'User:bob', {
    topics: [{ name: 'seen' }, { name: 'hidden' }],
    responsePartitionLimit: 2000,
    cursor: null,
  });
  assert.ok('finish' in named);
  assert.deepEqual(named.finish({ topics: [topic('seen'), topic('hidden')] }), {
    topics: [
      topic('seen'),
      {
        errorCode: TOPIC_AUTHORIZATION_FAILED,
        name: 'hidden',
        topicId: ZERO_UUID,
        isInternal: false,
        partitions: [],
      },
    ],
  });
});
