/**
 * Issue 22's two checks on the 3-node cluster (ClusterNode in this process, real sockets and files):
 * - "an ACL created through one broker is enforced by all three within a second": through each
 *   broker in turn (the active controller's and the two that forward to it), CreateAcls grants alice
 *   DESCRIBE on a topic of her own; alice, logged in with PLAIN on every broker's SASL listener, asks
 *   Metadata for it until it is no longer TOPIC_AUTHORIZATION_FAILED; the time from CreateAcls's answer
 *   to the last broker letting her see it is printed. DeleteAcls through the next broker likewise.
 * - "SCRAM credentials survive the restart of every broker": a SCRAM-SHA-256 credential made through
 *   a broker that is not the controller's, all three nodes stopped and started again on their data:
 *   kafkajs (a client we did not write) logs in with it on each node, a wrong password is refused,
 *   and the ACLs made before the restart are still enforced.
 * The assertion on the time allows the loaded CI machine ENFORCED_WITHIN_MS; the report quotes what
 * it printed.
 * Ports (docs/team-rules.md): PLAINTEXT 27400-27402, SASL_PLAINTEXT 27410-27412, controllers 27450-27452.
 */
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { KafkaErrors, ZERO_UUID } from '../../src/protocol/index.ts';
import { AclOperation, ResourceType } from '../../src/security/acls.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { PLAIN_JAAS, WireClient } from './support.ts';

const HOST = '127.0.0.1';
const PLAINTEXT_PORTS = [27400, 27401, 27402] as const;
const SASL_PORTS = [27410, 27411, 27412] as const;
const CONTROLLER_PORTS = [27450, 27451, 27452] as const;
const CLUSTER_ID = 'a3N0YWNrQ2x1c3RlclNlYw';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
/** The issue asks for a second; CI's loaded machine gets more (the printed figure is what counts). */
const ENFORCED_WITHIN_MS = 15_000;
const POLL_MS = 10;
const ALICE_PASSWORD = 'alice-secret';
const BOB_PASSWORD = 'bob-scram-secret';
const SCRAM_ITERATIONS = 4096;
const SCRAM_SHA_256 = 1;
const PATTERN_LITERAL = 3;
const PERMISSION_ALLOW = 3;

const address = (port: number): string => `${HOST}:${port}`;
let dataDir = '';
let nodes: ClusterNode[] = [];

function nodeConfig(index: number): Record<string, string> {
  return {
    listeners: `PLAINTEXT://${address(PLAINTEXT_PORTS[index]!)},SASL_PLAINTEXT://${address(SASL_PORTS[index]!)}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS({ alice: ALICE_PASSWORD }),
    'authorizer.class.name': STANDARD_AUTHORIZER,
    // ANONYMOUS (PLAINTEXT, and the brokers' replication) manages the ACLs and credentials here.
    'super.users': 'User:ANONYMOUS',
  };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Three nodes on the data folder's node-i folders (new ones, or the same after a stop). */
async function startNodes(): Promise<void> {
  const voters = CONTROLLER_PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
  nodes = [0, 1, 2].map(
    (i) =>
      new ClusterNode({
        nodeId: i + 1,
        clusterId: CLUSTER_ID,
        voters,
        host: HOST,
        port: PLAINTEXT_PORTS[i]!,
        dataDir: join(dataDir, `node-${i + 1}`),
        config: nodeConfig(i),
        log: { info() {}, warn() {} },
        onFatal: (error) => {
          throw error;
        },
      }),
  );
  await Promise.all(nodes.map((node) => node.start()));
  await Promise.all(nodes.map((node) => node.registered));
  await waitFor('three unfenced brokers in every image and one active controller', () => {
    const leaders = new Set(nodes.map((node) => node.controller.driver.leader().leaderId));
    return leaders.size === 1 && nodes.every((node) => node.broker.metadata().aliveBrokers().length === 3);
  });
}

const stopNodes = (): Promise<unknown> => Promise.all(nodes.map((node) => node.stop({ controlled: false })));

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-security-'));
  await startNodes();
});

after(async () => {
  await stopNodes();
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

function activeControllerIndex(): number {
  return nodes[0]!.controller.driver.leader().leaderId - 1;
}

/** A connection logged in as alice with PLAIN on node `index`'s SASL listener. */
async function aliceOn(index: number): Promise<WireClient> {
  const client = await WireClient.connect(SASL_PORTS[index]!);
  const handshake = await client.request(17, 1, { mechanism: 'PLAIN' });
  assert.notEqual(handshake, 'closed');
  assert.equal((handshake as { errorCode: number }).errorCode, 0);
  const login = await client.request(36, 2, { authBytes: Buffer.from(`\0alice\0${ALICE_PASSWORD}`) });
  assert.notEqual(login, 'closed');
  assert.equal(
    (login as { errorCode: number }).errorCode,
    0,
    String((login as { errorMessage: unknown }).errorMessage),
  );
  return client;
}

/** Whether alice may see `topic` on this connection (Metadata v12 without auto-creation). */
async function aliceSees(client: WireClient, topic: string): Promise<boolean> {
  const answer = await client.request(3, 12, {
    topics: [{ topicId: ZERO_UUID, name: topic }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
  assert.notEqual(answer, 'closed', 'Metadata closed the connection');
  const code = (answer as { topics: { errorCode: number }[] }).topics[0]?.errorCode;
  // The topic does not exist: allowed is UNKNOWN_TOPIC_OR_PARTITION, refused TOPIC_AUTHORIZATION_FAILED.
  assert.ok(
    code === KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code ||
      code === KafkaErrors.TOPIC_AUTHORIZATION_FAILED.code,
    `Metadata answered ${code}`,
  );
  return code === KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code;
}

function aclOn(topic: string) {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: topic,
    resourcePatternType: PATTERN_LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.DESCRIBE,
    permissionType: PERMISSION_ALLOW,
  };
}

/** Polls every broker as alice until each answers `visible`; the time after `from` when the last did. */
async function timeUntilAllAgree(clients: WireClient[], topic: string, visible: boolean, from: number) {
  const reached = await Promise.all(
    clients.map(async (client, i) => {
      await waitFor(`broker ${i + 1} ${visible ? 'enforcing' : 'dropping'} the ACL on ${topic}`, async () => {
        return (await aliceSees(client, topic)) === visible;
      });
      return performance.now() - from;
    }),
  );
  return reached;
}

const topics = ['enforced-via-1', 'enforced-via-2', 'enforced-via-3'];

test('an ACL created (and deleted) through each broker in turn is enforced by all three', {
  timeout: 300_000,
}, async () => {
  const clients = await Promise.all([0, 1, 2].map(aliceOn));
  const admins = await Promise.all(PLAINTEXT_PORTS.map((port) => WireClient.connect(port)));
  const controller = activeControllerIndex();
  try {
    for (const [via, topic] of topics.entries()) {
      for (const client of clients) assert.equal(await aliceSees(client, topic), false, 'refused before');
      const created = await admins[via]!.request(30, 3, { creations: [aclOn(topic)] });
      const answeredAt = performance.now();
      assert.deepEqual((created as { results: unknown[] }).results, [{ errorCode: 0, errorMessage: '' }]);
      const times = await timeUntilAllAgree(clients, topic, true, answeredAt);
      const role = via === controller ? "the controller's broker" : 'forwarded';
      console.log(
        `CreateAcls through broker ${via + 1} (${role}): enforced by brokers 1-3 ${times.map((t) => t.toFixed(0)).join(' / ')} ms after its answer`,
      );
      assert.ok(Math.max(...times) < ENFORCED_WITHIN_MS, `enforced after ${Math.max(...times)} ms`);
    }
    // Deleted through the next broker: every broker refuses alice again.
    const deleteVia = (controller + 1) % 3;
    const filter = { ...aclOn(topics[0]!) };
    const deleted = await admins[deleteVia]!.request(31, 3, {
      filters: [
        {
          resourceTypeFilter: filter.resourceType,
          resourceNameFilter: filter.resourceName,
          patternTypeFilter: filter.resourcePatternType,
          principalFilter: filter.principal,
          hostFilter: null,
          operation: filter.operation,
          permissionType: filter.permissionType,
        },
      ],
    });
    const answeredAt = performance.now();
    assert.equal(
      (deleted as { filterResults: { matchingAcls: unknown[] }[] }).filterResults[0]?.matchingAcls.length,
      1,
    );
    const times = await timeUntilAllAgree(clients, topics[0]!, false, answeredAt);
    console.log(
      `DeleteAcls through broker ${deleteVia + 1}: dropped by brokers 1-3 ${times.map((t) => t.toFixed(0)).join(' / ')} ms after its answer`,
    );
    assert.ok(Math.max(...times) < ENFORCED_WITHIN_MS);
  } finally {
    for (const client of [...clients, ...admins]) client.close();
  }
});

/** kafkajs's admin logging in with SCRAM-SHA-256 on one node only; the error, or null when it got in. */
async function scramLogin(index: number, password: string): Promise<Error | null> {
  const kafka = new Kafka({
    clientId: 'cluster-security',
    brokers: [address(SASL_PORTS[index]!)],
    sasl: { mechanism: 'scram-sha-256', username: 'bob', password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 30_000,
    authenticationTimeout: 30_000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return null;
  } catch (error) {
    return error as Error;
  } finally {
    await admin.disconnect();
  }
}

test('a SCRAM credential made through a follower broker logs in on every node after all three restart', {
  timeout: 600_000,
}, async () => {
  const via = (activeControllerIndex() + 2) % 3;
  const salt = randomBytes(16);
  const admin = await WireClient.connect(PLAINTEXT_PORTS[via]!);
  const answer = await admin.request(51, 0, {
    deletions: [],
    upsertions: [
      {
        name: 'bob',
        mechanism: SCRAM_SHA_256,
        iterations: SCRAM_ITERATIONS,
        salt,
        saltedPassword: pbkdf2Sync(BOB_PASSWORD, salt, SCRAM_ITERATIONS, 32, 'sha256'),
      },
    ],
  });
  admin.close();
  assert.equal((answer as { results: { errorCode: number }[] }).results[0]?.errorCode, 0);
  for (const index of [0, 1, 2]) {
    await waitFor(
      `bob logging in on node ${index + 1}`,
      async () => (await scramLogin(index, BOB_PASSWORD)) === null,
    );
  }

  await stopNodes();
  await startNodes();
  for (const index of [0, 1, 2]) {
    assert.equal(await scramLogin(index, BOB_PASSWORD), null, `bob on node ${index + 1} after the restart`);
    const refused = await scramLogin(index, 'wrong');
    assert.match(String(refused?.message), /SASL SCRAM SHA256 authentication failed|Authentication failed/i);
  }
  // The ACLs made before the restart (the first topic's was deleted) are still enforced on every node.
  const clients = await Promise.all([0, 1, 2].map(aliceOn));
  try {
    for (const client of clients) {
      assert.equal(await aliceSees(client, topics[0]!), false);
      assert.equal(await aliceSees(client, topics[1]!), true);
    }
  } finally {
    for (const client of clients) client.close();
  }
});
