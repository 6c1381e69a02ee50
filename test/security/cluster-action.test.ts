/**
 * CLUSTER_ACTION: the requests brokers send each other (follower Fetch, OffsetForLeaderEpoch,
 * AddPartitionsToTxn v4+, WriteTxnMarkers), authorized as Kafka 4.1.1's KafkaApis does. The
 * answers compared with the reference are in security-reference.slow.ts (matrix cells "as a follower",
 * "with replica id 7", "allowed by ALTER or CLUSTER_ACTION"); this file checks the guards directly,
 * no sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokerServices } from '../../src/broker/services.ts';
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

const TOPIC_AUTHORIZATION_FAILED = 29;
const CLUSTER_AUTHORIZATION_FAILED = 31;

function brokerWith(superUsers: string): BrokerServices {
  const store = new AclStore(() => true);
  const onCluster = (principal: string, operation: number) => ({
    resourceType: Type.CLUSTER,
    resourceName: CLUSTER_NAME,
    patternType: Pattern.LITERAL,
    principal,
    host: '*',
    operation,
    permissionType: Permission.ALLOW,
  });
  store.create([
    onCluster('User:replica', Op.CLUSTER_ACTION),
    onCluster('User:operator', Op.ALTER),
    {
      resourceType: Type.TOPIC,
      resourceName: 'orders',
      patternType: Pattern.LITERAL,
      principal: 'User:alice',
      host: '*',
      operation: Op.DESCRIBE,
      permissionType: Permission.ALLOW,
    },
  ]);
  const settings = authorizerSettings((name: string) =>
    name === 'authorizer.class.name' ? STANDARD_AUTHORIZER : name === 'super.users' ? superUsers : undefined,
  );
  assert.ok(settings !== undefined);
  const authorizer = new Authorizer(settings, store);
  return {
    slots: { get: (key: unknown) => (key === AUTHORIZER ? authorizer : undefined) },
    metadata: () => ({ topicById: () => undefined }),
  } as unknown as BrokerServices;
}

const broker = brokerWith('User:broker');
/** The guard's outcome, read by field name. */
// biome-ignore lint/suspicious/noExplicitAny: requests and answers are read by field name.
type Outcome = { request?: any; answer?: any; finish?: (response: any) => any };
const ask = (principal: string, apiKey: number, version: number, body: Record<string, unknown>): Outcome =>
  authorizeRequest(apiKey, version, body, { principal, host: '127.0.0.1' }, broker) as Outcome;

const partition = { partition: 0, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1000 };

test('a follower Fetch (v11 replica id, v15 replicaState) needs CLUSTER_ACTION: else every partition TOPIC_AUTHORIZATION_FAILED', () => {
  const v11 = {
    replicaId: 2,
    maxWaitMs: 500,
    minBytes: 1,
    topics: [{ topic: 'orders', partitions: [partition, { ...partition, partition: 1 }] }],
  };
  const v15 = {
    replicaId: -1,
    replicaState: { replicaId: 2, replicaEpoch: 5n },
    maxWaitMs: 500,
    minBytes: 1,
    topics: [{ topic: '', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [partition] }],
  };
  for (const who of ['User:replica', 'User:broker']) {
    assert.ok('request' in ask(who, 1, 11, v11), who);
    assert.ok('request' in ask(who, 1, 15, v15), who);
  }
  // ALTER on the cluster and DESCRIBE on the topic are not enough; the refusal is whole and immediate.
  for (const who of ['User:operator', 'User:alice', 'User:ANONYMOUS']) {
    const refused = ask(who, 1, 11, v11);
    assert.ok('answer' in refused, who);
    assert.deepEqual(
      refused.answer.responses.map((t: { topic: string; partitions: { errorCode: number }[] }) => [
        t.topic,
        t.partitions.map((p) => p.errorCode),
      ]),
      [['orders', [TOPIC_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED]]],
    );
    assert.equal(refused.answer.errorCode, 0);
    const refused15 = ask(who, 1, 15, v15);
    assert.ok('answer' in refused15, who);
    assert.equal(refused15.answer.responses[0].topicId, 'AAAAAAAAAAAAAAAAAAAAAQ');
    assert.equal(refused15.answer.responses[0].partitions[0].errorCode, TOPIC_AUTHORIZATION_FAILED);
  }
  // A consumer's fetch (replica id -1) is still authorized per topic (READ), not by CLUSTER_ACTION.
  const consumer = ask('User:replica', 1, 11, { ...v11, replicaId: -1 });
  assert.ok('request' in consumer);
  assert.deepEqual(consumer.request.topics, []);
});

test('OffsetForLeaderEpoch: CLUSTER_ACTION lets every topic through, else DESCRIBE per topic, whatever the replica id', () => {
  const body = {
    replicaId: 2,
    topics: ['orders', 'secret'].map((topic) => ({
      topic,
      partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }],
    })),
  };
  const replica = ask('User:replica', 23, 4, body);
  assert.ok('request' in replica);
  assert.deepEqual(
    replica.request.topics.map((t: { topic: string }) => t.topic),
    ['orders', 'secret'],
  );
  // A client claiming a replica id gets no more than its topic ACLs allow.
  const alice = ask('User:alice', 23, 4, body);
  assert.ok('request' in alice && alice.finish !== undefined);
  assert.deepEqual(
    alice.request.topics.map((t: { topic: string }) => t.topic),
    ['orders'],
  );
  const answer = alice.finish({ topics: [] });
  assert.deepEqual(
    answer.topics.map((t: { topic: string; partitions: { errorCode: number }[] }) => [
      t.topic,
      t.partitions[0]!.errorCode,
    ]),
    [['secret', TOPIC_AUTHORIZATION_FAILED]],
  );
});

test('AddPartitionsToTxn v4+ (brokers verifying a transaction) needs CLUSTER_ACTION: else CLUSTER_AUTHORIZATION_FAILED at the top', () => {
  const body = {
    transactions: [
      {
        transactionalId: 'tx-1',
        producerId: 1n,
        producerEpoch: 0,
        verifyOnly: true,
        topics: [{ name: 'orders', partitions: [0] }],
      },
    ],
  };
  for (const version of [4, 5]) {
    assert.ok('request' in ask('User:replica', 24, version, body));
    assert.ok('request' in ask('User:broker', 24, version, body));
    for (const who of ['User:operator', 'User:alice']) {
      const refused = ask(who, 24, version, body);
      assert.ok('answer' in refused, who);
      assert.deepEqual(refused.answer, { errorCode: CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] });
    }
  }
});

test('WriteTxnMarkers: ALTER or CLUSTER_ACTION on the cluster, else every partition CLUSTER_AUTHORIZATION_FAILED', () => {
  const body = {
    markers: [
      {
        producerId: 1n,
        producerEpoch: 0,
        transactionResult: false,
        topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
        coordinatorEpoch: 0,
      },
    ],
  };
  for (const who of ['User:replica', 'User:operator', 'User:broker'])
    assert.ok('request' in ask(who, 27, 1, body), who);
  const refused = ask('User:alice', 27, 1, body);
  assert.ok('answer' in refused);
  assert.deepEqual(
    refused.answer.markers[0].topics[0].partitions.map((p: { errorCode: number }) => p.errorCode),
    [CLUSTER_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED],
  );
});
