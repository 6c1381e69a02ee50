// Admin writes through a node that is not the active controller, on three combined nodes
// (ClusterNode) in this process with real sockets and files. @platformatic/kafka (a client we did
// not write) sends DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs (topic and
// dynamic broker configs), CreateAcls, DeleteAcls and AlterUserScramCredentials to that node; it
// forwards them to the active controller and answers once it has replayed the commit: the change is
// visible on the answering node at the moment of the answer (read-your-writes) and on the other two
// soon after. Each refusal comes back with Kafka's error code and the very message the active
// controller gives when asked directly. Every test checks the controller did not move meanwhile,
// so the writes were really forwarded. Last, with the other two nodes stopped, a write is refused
// with NOT_CONTROLLER and applied nowhere.
// Ports (docs/team-rules.md): brokers 22200-22202, their controller listeners 22250-22252.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  Admin,
  alterConfigsV2,
  alterUserScramCredentialsV0,
  Connection,
  createAclsV3,
  createPartitionsV3,
  deleteAclsV3,
  deleteRecordsV2,
  deleteTopicsV6,
  describeConfigsV4,
  incrementalAlterConfigsV1,
} from '@platformatic/kafka';
import type { ClusterNode } from '../../src/engine/cluster-node.ts';
import { ACLS } from '../../src/security/acls.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { SCRAM_CREDENTIALS } from '../../src/security/scram-store.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [22200, 22201, 22202] as const;
const CONTROLLER_PORTS = [22250, 22251, 22252] as const;
const CLUSTER_ID = 'a0NzdGFja0ZvcndhcmRpbmc';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
const TOPIC = 'forwarded-admin';
// Kafka's codes and enumerations.
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NOT_LEADER_OR_FOLLOWER = 6;
const NOT_CONTROLLER = 41;
const INVALID_PARTITIONS = 37;
const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;
const RESOURCE_NOT_FOUND = 91;
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const SET = 0;
const RESOURCE_TOPIC = 2;
const PATTERN_LITERAL = 3;
const OPERATION_READ = 3;
const PERMISSION_ALLOW = 3;
const SCRAM_SHA_256 = 1;

let cluster: TestCluster;
let leaderId = -1;
/** A node that is not the active controller: every write of these tests goes to it. */
let otherId = -1;

function node(nodeId: number): ClusterNode {
  return cluster.node(nodeId);
}

const waitFor = (what: string, check: () => boolean): Promise<void> => cluster.waitFor(what, check);

/** Checks `check` on the answering node at once (read-your-writes), then waits for it on all three. */
async function seenEverywhere(what: string, check: (n: ClusterNode) => boolean): Promise<void> {
  assert.ok(check(node(otherId)), `${what}: not visible on node ${otherId} when it answered`);
  await waitFor(`${what} on every node`, () => cluster.nodes().every(check));
}

/** The controller did not move: what went to `otherId` was forwarded. */
function assertStillLeader(): void {
  for (const n of cluster.nodes())
    assert.equal(n.leader().leaderId, leaderId, `node ${n.nodeId}'s controller`);
}

/** One request through @platformatic/kafka's own protocol code to one node; a refusal's response is returned too. */
async function send<T>(nodeId: number, run: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = new Connection('cluster-admin-test');
  await connection.connect(HOST, BROKER_PORTS[nodeId - 1]!);
  try {
    return await run(connection);
  } catch (error) {
    const response = (error as { response?: T }).response;
    if (response === undefined) throw error;
    return response;
  } finally {
    await connection.close();
  }
}

/** The same request to the answering node and to the active controller: one answer, unchanged by forwarding. */
async function sameRefusal<T>(run: (connection: Connection) => Promise<T>): Promise<T> {
  const forwarded = await send(otherId, run);
  const direct = await send(leaderId, run);
  assert.deepEqual(forwarded, direct);
  return forwarded;
}

before(async () => {
  // Resolves with the leader every node names, once the three brokers are unfenced in every image.
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    config: {
      'default.replication.factor': '3',
      'num.partitions': '3',
      'min.insync.replicas': '2',
      'authorizer.class.name': STANDARD_AUTHORIZER,
      'super.users': 'User:ANONYMOUS',
    },
    waitMs: WAIT_MS,
  });
  leaderId = await cluster.waitForReady();
  otherId = [1, 2, 3].find((id) => id !== leaderId)!;
  const admin = new Admin({
    clientId: 'cluster-admin-test',
    bootstrapBrokers: [`${HOST}:${BROKER_PORTS[otherId - 1]}`],
  });
  try {
    await admin.createTopics({ topics: [TOPIC], partitions: 3, replicas: 3 });
  } finally {
    await admin.close();
  }
  await waitFor(`${TOPIC} on every node`, () =>
    cluster.nodes().every((n) => n.broker.metadata().topic(TOPIC)),
  );
});

after(() => cluster?.stop());

test('topic configs: IncrementalAlterConfigs and AlterConfigs through a node that is not the controller', async () => {
  const set = await send(otherId, (c) =>
    incrementalAlterConfigsV1.api.async(
      c,
      [
        {
          resourceType: CONFIG_TOPIC,
          resourceName: TOPIC,
          configs: [{ name: 'retention.ms', configOperation: SET, value: '3600000' }],
        },
      ],
      false,
    ),
  );
  assert.equal(set.responses[0]?.errorCode, 0, String(set.responses[0]?.errorMessage));
  await seenEverywhere(
    'retention.ms=3600000',
    (n) => n.broker.metadata().topic(TOPIC)?.configs.get('retention.ms') === '3600000',
  );
  // A real client reads it back from the node it wrote through.
  const described = await send(otherId, (c) =>
    describeConfigsV4.api.async(
      c,
      [{ resourceType: CONFIG_TOPIC, resourceName: TOPIC, configurationKeys: ['retention.ms'] }],
      false,
      false,
    ),
  );
  assert.equal(
    described.results[0]?.configs.find((config) => config.name === 'retention.ms')?.value,
    '3600000',
  );

  // AlterConfigs replaces the whole set: retention.ms goes, cleanup.policy comes.
  const replaced = await send(otherId, (c) =>
    alterConfigsV2.api.async(
      c,
      [
        {
          resourceType: CONFIG_TOPIC,
          resourceName: TOPIC,
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      false,
    ),
  );
  assert.equal(replaced.responses[0]?.errorCode, 0, String(replaced.responses[0]?.errorMessage));
  await seenEverywhere('cleanup.policy=compact alone', (n) => {
    const configs = n.broker.metadata().topic(TOPIC)?.configs;
    return configs?.get('cleanup.policy') === 'compact' && !configs.has('retention.ms');
  });

  const invalid = await sameRefusal((c) =>
    incrementalAlterConfigsV1.api.async(
      c,
      [
        {
          resourceType: CONFIG_TOPIC,
          resourceName: TOPIC,
          configs: [{ name: 'retention.ms', configOperation: SET, value: 'soon' }],
        },
      ],
      false,
    ),
  );
  // Kafka 4.1.1's answer, checked against the 3-node reference (every message below too).
  assert.equal(invalid.responses[0]?.errorCode, INVALID_CONFIG);
  assert.equal(
    invalid.responses[0]?.errorMessage,
    'Invalid value soon for configuration retention.ms: Not a number of type LONG',
  );
  const invalidFull = await sameRefusal((c) =>
    alterConfigsV2.api.async(
      c,
      [
        {
          resourceType: CONFIG_TOPIC,
          resourceName: TOPIC,
          configs: [{ name: 'retention.ms', value: 'soon' }],
        },
      ],
      false,
    ),
  );
  assert.equal(invalidFull.responses[0]?.errorCode, INVALID_CONFIG);
  assertStillLeader();
});

test('dynamic broker configs: a cluster default and a per-broker value reach the brokers they name', async () => {
  const answer = await send(otherId, (c) =>
    incrementalAlterConfigsV1.api.async(
      c,
      [
        {
          resourceType: CONFIG_BROKER,
          resourceName: '',
          configs: [{ name: 'message.max.bytes', configOperation: SET, value: '2000000' }],
        },
        {
          resourceType: CONFIG_BROKER,
          resourceName: String(otherId),
          configs: [{ name: 'log.retention.ms', configOperation: SET, value: '7200000' }],
        },
      ],
      false,
    ),
  );
  assert.deepEqual(
    answer.responses.map((r) => r.errorCode),
    [0, 0],
    answer.responses.map((r) => r.errorMessage).join('; '),
  );
  await seenEverywhere(
    'message.max.bytes=2000000 (cluster default)',
    (n) => n.broker.config.lookup('message.max.bytes')?.value === '2000000',
  );
  // The per-broker value applies to the broker it names only; every image records it.
  assert.deepEqual(node(otherId).broker.config.lookup('log.retention.ms'), { value: '7200000', source: 2 });
  await waitFor('the per-broker record in every image', () =>
    cluster
      .nodes()
      .every(
        (n) => n.broker.metadata().brokerConfigs.get(String(otherId))?.get('log.retention.ms') === '7200000',
      ),
  );
  for (const n of cluster.nodes()) {
    if (n.nodeId !== otherId) assert.notEqual(n.broker.config.lookup('log.retention.ms')?.value, '7200000');
  }

  // A per-broker resource must name the broker the request was sent to, as Kafka's broker checks.
  const elsewhere = await send(otherId, (c) =>
    incrementalAlterConfigsV1.api.async(
      c,
      [
        {
          resourceType: CONFIG_BROKER,
          resourceName: String(leaderId),
          configs: [{ name: 'log.retention.ms', configOperation: SET, value: '1' }],
        },
      ],
      false,
    ),
  );
  assert.equal(elsewhere.responses[0]?.errorCode, INVALID_REQUEST);
  assert.equal(
    elsewhere.responses[0]?.errorMessage,
    `Unexpected broker id, expected ${otherId}, but received ${leaderId}`,
  );
  const readOnly = await sameRefusal((c) =>
    incrementalAlterConfigsV1.api.async(
      c,
      [
        {
          resourceType: CONFIG_BROKER,
          resourceName: '',
          configs: [{ name: 'node.id', configOperation: SET, value: '7' }],
        },
      ],
      false,
    ),
  );
  assert.equal(readOnly.responses[0]?.errorCode, INVALID_REQUEST);
  assert.equal(readOnly.responses[0]?.errorMessage, 'Cannot update these configs dynamically: Set(node.id)');
  assertStillLeader();
});

test('ACLs: CreateAcls and DeleteAcls through a node that is not the controller', async () => {
  const acl = {
    resourceType: RESOURCE_TOPIC,
    resourceName: 'forwarded-acl',
    resourcePatternType: PATTERN_LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: OPERATION_READ,
    permissionType: PERMISSION_ALLOW,
  } as const;
  const hasAcl = (n: ClusterNode) =>
    [...(n.broker.slots.get(ACLS)?.all() ?? [])].some((stored) => stored.resourceName === acl.resourceName);
  const created = await send(otherId, (c) => createAclsV3.api.async(c, [acl]));
  assert.equal(created.results[0]?.errorCode, 0, String(created.results[0]?.errorMessage));
  await seenEverywhere('the ACL', hasAcl);

  const refused = await sameRefusal((c) => createAclsV3.api.async(c, [{ ...acl, principal: 'alice' }]));
  assert.equal(refused.results[0]?.errorCode, INVALID_REQUEST);
  assert.equal(
    refused.results[0]?.errorMessage,
    'Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)',
  );

  const deleted = await send(otherId, (c) =>
    deleteAclsV3.api.async(c, [{ ...acl, principal: null, host: null }]),
  );
  assert.equal(deleted.filterResults[0]?.errorCode, 0);
  assert.equal(deleted.filterResults[0]?.matchingAcls.length, 1);
  await seenEverywhere('the ACL gone', (n) => !hasAcl(n));
  // DeleteAcls has no per-filter refusal in Kafka (a malformed filter closes the connection); a
  // filter that matches nothing is answered empty, the same on both nodes.
  const none = await sameRefusal((c) => deleteAclsV3.api.async(c, [{ ...acl, principal: null, host: null }]));
  assert.deepEqual(none.filterResults[0]?.matchingAcls, []);
  assertStillLeader();
});

test('SCRAM credentials: AlterUserScramCredentials through a node that is not the controller', async () => {
  const salt = randomBytes(16);
  const iterations = 4096;
  const saltedPassword = pbkdf2Sync('alice-secret', salt, iterations, 32, 'sha256');
  const answer = await send(otherId, (c) =>
    alterUserScramCredentialsV0.api.async(
      c,
      [],
      [{ name: 'alice', mechanism: SCRAM_SHA_256, iterations, salt, saltedPassword }],
    ),
  );
  assert.equal(answer.results[0]?.errorCode, 0, String(answer.results[0]?.errorMessage));
  await seenEverywhere(
    'alice SCRAM-SHA-256',
    (n) => n.broker.slots.get(SCRAM_CREDENTIALS)?.get('alice', 'SCRAM-SHA-256') !== undefined,
  );

  const missing = await sameRefusal((c) =>
    alterUserScramCredentialsV0.api.async(c, [{ name: 'nobody', mechanism: SCRAM_SHA_256 }], []),
  );
  assert.equal(missing.results[0]?.errorCode, RESOURCE_NOT_FOUND);
  assert.equal(missing.results[0]?.errorMessage, 'Attempt to delete a user credential that does not exist');
  assertStillLeader();
});

test('CreatePartitions and DeleteTopics through a node that is not the controller', async () => {
  const grown = await send(otherId, (c) =>
    createPartitionsV3.api.async(c, [{ name: TOPIC, count: 5 }], 30_000, false),
  );
  assert.equal(grown.results[0]?.errorCode, 0, String(grown.results[0]?.errorMessage));
  await seenEverywhere('5 partitions', (n) => n.broker.metadata().topic(TOPIC)?.partitions.length === 5);
  const shrink = await sameRefusal((c) =>
    createPartitionsV3.api.async(c, [{ name: TOPIC, count: 2 }], 30_000, false),
  );
  assert.equal(shrink.results[0]?.errorCode, INVALID_PARTITIONS);
  assert.equal(
    shrink.results[0]?.errorMessage,
    `The topic ${TOPIC} currently has 5 partition(s); 2 would not be an increase.`,
  );

  // DeleteRecords is no metadata write: clients send it to each partition's leader, and a broker
  // that does not lead the partition refuses it, as Kafka's does.
  const partitions = node(otherId).broker.metadata().topic(TOPIC)?.partitions ?? [];
  const led = partitions.find((p) => p.leaderId === otherId);
  const notLed = partitions.find((p) => p.leaderId !== otherId);
  assert.ok(led !== undefined && notLed !== undefined, 'five partitions spread over three brokers');
  const trimmed = await send(otherId, (c) =>
    deleteRecordsV2.api.async(
      c,
      [
        {
          name: TOPIC,
          partitions: [
            { partitionIndex: led.partitionIndex, offset: 0n },
            { partitionIndex: notLed.partitionIndex, offset: 0n },
          ],
        },
      ],
      30_000,
    ),
  );
  assert.deepEqual(
    trimmed.topics[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode]),
    [
      [led.partitionIndex, 0],
      [notLed.partitionIndex, NOT_LEADER_OR_FOLLOWER],
    ],
  );

  const unknown = await sameRefusal((c) => deleteTopicsV6.api.async(c, [{ name: 'no-such-topic' }], 30_000));
  assert.equal(unknown.responses[0]?.errorCode, UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(unknown.responses[0]?.errorMessage, 'This server does not host this topic-partition.');

  // The high-level admin client: it sends DeleteTopics to its bootstrap node (the controller is not
  // known to it yet), then lists the topics there.
  const admin = new Admin({
    clientId: 'cluster-admin-test',
    bootstrapBrokers: [`${HOST}:${BROKER_PORTS[otherId - 1]}`],
  });
  try {
    await admin.deleteTopics({ topics: [TOPIC] });
    assert.equal(node(otherId).broker.metadata().topic(TOPIC), undefined, 'deleted on the answering node');
    assert.ok(!(await admin.listTopics()).includes(TOPIC), 'listed after its deletion');
  } finally {
    await admin.close();
  }
  await waitFor(`${TOPIC} gone from every node`, () =>
    cluster.nodes().every((n) => n.broker.metadata().topic(TOPIC) === undefined),
  );
  assertStillLeader();
});

test('with no controller to forward to, a write is refused with NOT_CONTROLLER and applied nowhere', async () => {
  // The other two nodes stop: the answering node cannot reach a controller (refused connections,
  // then no leader at all), so it answers from its own proposal's refusal, within the forwarding
  // retry bound (FORWARD_NO_CONTROLLER_RETRY_MS, 8 s).
  for (const id of [1, 2, 3].filter((nodeId) => nodeId !== otherId)) {
    await cluster.broker(id).kill();
  }
  const acl = {
    resourceType: RESOURCE_TOPIC,
    resourceName: 'never-created',
    resourcePatternType: PATTERN_LITERAL,
    principal: 'User:bob',
    host: '*',
    operation: OPERATION_READ,
    permissionType: PERMISSION_ALLOW,
  } as const;
  const refused = await send(otherId, (c) => createAclsV3.api.async(c, [acl]));
  assert.equal(refused.results[0]?.errorCode, NOT_CONTROLLER, String(refused.results[0]?.errorMessage));
  assert.ok(
    ![...(node(otherId).broker.slots.get(ACLS)?.all() ?? [])].some(
      (stored) => stored.resourceName === acl.resourceName,
    ),
    'the refused ACL is not applied',
  );
});
