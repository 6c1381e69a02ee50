/**
 * Security on kstack up and on Apache Kafka 4.1.1 (issue 22), one broker per target started once,
 * both with StandardAuthorizer and seven listeners:
 * - PLAINTEXT (User:ANONYMOUS, a super user: the reference's own broker-to-controller link needs it);
 * - SASL_PLAINTEXT with PLAIN users admin (a super user), alice, bob, replica and operator: the ACLs;
 * - SSL (a throwaway CA; no client certificate, so User:ANONYMOUS), SASL_SSL with PLAIN, and SCRAM_SSL
 *   (SASL_SSL with SCRAM-SHA-512): the security profile's listeners, user `compat` (a super user);
 * - REAUTH (SASL_PLAINTEXT, PLAIN with `connections.max.reauth.ms` 3000, and SCRAM-SHA-512);
 * - OAUTH (SASL_SSL with OAUTHBEARER, Kafka's unsecured-JWS validator, clock skew 30 s).
 * The same tools and requests go to both, and the answers are compared:
 * - Kafka's kafka-acls (AclCommand) adds, lists and removes ACLs through the SASL listener;
 * - an authorization matrix on the wire: each principal sends the same requests of each API Kafka
 *   authorizes, and the error codes (or, where a coordinator's state decides the rest, whether the
 *   request was refused) must be the same on both;
 * - kcat and Kafka's Java admin client as a user with and without ACLs;
 * - the security profile (compat/runner/security.ts's runProfileOn): every compat client creates a
 *   topic, produces with acks=all and consumes back through SSL, SASL_SSL PLAIN and SASL_SSL
 *   SCRAM-SHA-512 and OAUTHBEARER, and a wrong password (an expired token) is refused alike; every
 *   cell's outcome is compared;
 * - OAUTHBEARER on the wire (test/security/oauthbearer-wire.ts): the same first messages, the same
 *   answers byte for byte (the error JSON, the \x01, the session lifetime from the token's exp);
 *   the token's sub is the principal ACLs see;
 * - re-authentication (KIP-368) on a sixth listener, REAUTH (SASL_PLAINTEXT, PLAIN, sessions of
 *   3 s): on the wire, with Kafka's Java producer and with kafkajs (test/security/reauth.ts);
 * - kstack keeps its ACLs over a restart.
 * Ports (docs/team-rules.md): kstack 25960-25966, the reference 25940-25946 and its controller 25990.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unsecuredJws } from '../../compat/runner/client-security.ts';
import { EXPECTED_CLIENTS } from '../../compat/runner/drivers.ts';
import { runProfileOn } from '../../compat/runner/security.ts';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { batchOf, goodRecords } from '../records/faulty-batches.ts';
import { makeCertificates, type TestCertificates } from './certs.ts';
import { KAFKA_OAUTHBEARER_ANSWERS, OAUTH_CLOCK_SKEW_MS, oauthBearerOnTheWire } from './oauthbearer-wire.ts';
import { javaProducerReauth, kafkajsReauth, type ReauthLogin, reauthOnTheWire } from './reauth.ts';
import { kcat, PLAIN_JAAS, run, type SaslLogin, WireClient } from './support.ts';

interface Target {
  readonly name: string;
  /** Its name in the security profile's reports (compat/runner/security.ts). */
  readonly profileName: string;
  readonly plaintext: number;
  readonly sasl: number;
  readonly ssl: number;
  readonly saslSsl: number;
  readonly scramSsl: number;
  /** SASL_PLAINTEXT with PLAIN and `connections.max.reauth.ms` (KIP-368). */
  readonly reauth: number;
  /** SASL_SSL with OAUTHBEARER (Kafka's unsecured-JWS validator). */
  readonly oauth: number;
}
const listenerPorts = (plaintext: number) => ({
  plaintext,
  sasl: plaintext + 1,
  ssl: plaintext + 2,
  saslSsl: plaintext + 3,
  scramSsl: plaintext + 4,
  reauth: plaintext + 5,
  oauth: plaintext + 6,
});
const KSTACK: Target = { name: 'kstack', profileName: 'kstack', ...listenerPorts(25960) };
const KAFKA: Target = { name: 'Apache Kafka', profileName: 'reference', ...listenerPorts(25940) };
const TARGETS = [KSTACK, KAFKA];
const USERS = {
  admin: 'admin-secret',
  alice: 'alice-secret',
  bob: 'bob-secret',
  // Granted CLUSTER_ACTION on the cluster (what a broker's own principal needs), and ALTER on it.
  replica: 'replica-secret',
  operator: 'operator-secret',
} as const;
type User = keyof typeof USERS;
/** The security profile's login (a super user: the profile checks logins, the matrix checks ACLs). */
const COMPAT_USER = 'compat';
const COMPAT_PASSWORD = 'compat-secret';
/** Kafka's broker needs a JAAS entry per enabled mechanism; kstack accepts it. */
const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
/** Debian's librdkafka 2.0.2 fails SCRAM on Kafka 4.1.1 as on kstack (src/security/README.md, Findings). */
const DEBIAN_LIBRDKAFKA = new Set(['kcat', 'python3-confluent-kafka']);
const RUN_CLASS = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-run-class');
const KAFKA_TOPICS = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-topics');
const KAFKA_CONFIGS = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-configs');
const TOPICS = ['orders', 'logs-app', 'secret'];
/** How long Kafka's own tools may take (a JVM each, on a loaded machine). */
const TOOL_TIMEOUT_MS = 120_000;
/** The REAUTH listener's `connections.max.reauth.ms`: sessions of 3 s. */
const REAUTH_MS = 3000;
/** The Java producer's records at 5 a second: 8 s, over two session lifetimes. */
const REAUTH_JAVA_RECORDS = 40;
/** How long kafkajs sends, a record every 250 ms: over two session lifetimes. */
const REAUTH_KAFKAJS_MS = 7000;

function listeners(target: Target): string {
  return [
    `PLAINTEXT://127.0.0.1:${target.plaintext}`,
    `SASL_PLAINTEXT://127.0.0.1:${target.sasl}`,
    `SSL://127.0.0.1:${target.ssl}`,
    `SASL_SSL://127.0.0.1:${target.saslSsl}`,
    `SCRAM_SSL://127.0.0.1:${target.scramSsl}`,
    `REAUTH://127.0.0.1:${target.reauth}`,
    `OAUTH://127.0.0.1:${target.oauth}`,
  ].join(',');
}

function settings(target: Target, certs: TestCertificates): Record<string, string> {
  return {
    'listener.security.protocol.map':
      'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SCRAM_SSL:SASL_SSL,REAUTH:SASL_PLAINTEXT,OAUTH:SASL_SSL,CONTROLLER:PLAINTEXT',
    'advertised.listeners': listeners(target),
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS(USERS),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS({ [COMPAT_USER]: COMPAT_PASSWORD }),
    'listener.name.scram_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.scram_ssl.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
    'listener.name.reauth.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
    'listener.name.reauth.plain.sasl.jaas.config': PLAIN_JAAS(USERS),
    'listener.name.reauth.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
    'listener.name.reauth.plain.connections.max.reauth.ms': String(REAUTH_MS),
    'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
    // Kafka's broker logs itself in with an unsecured token too: it needs unsecuredLoginStringClaim_sub.
    'listener.name.oauth.oauthbearer.sasl.jaas.config': `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin" unsecuredValidatorAllowableClockSkewMs="${OAUTH_CLOCK_SKEW_MS}";`,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
    'authorizer.class.name': STANDARD_AUTHORIZER,
    'super.users': `User:admin;User:ANONYMOUS;User:${COMPAT_USER}`,
    // As compat/run.ts gives both targets (reference/cluster.ts's test-time settings).
    'group.initial.rebalance.delay.ms': '0',
    'offsets.topic.num.partitions': '5',
  };
}

const saslLogin = (user: User): SaslLogin => ({
  protocol: 'SASL_PLAINTEXT',
  mechanism: 'PLAIN',
  username: user,
  password: USERS[user],
});

/** A wire connection logged in as `user` on the SASL listener (SaslHandshake v1, SaslAuthenticate v2). */
async function loginAs(target: Target, user: User): Promise<WireClient> {
  const client = await WireClient.connect(target.sasl);
  const handshake = await client.request(17, 1, { mechanism: 'PLAIN' });
  assert.deepEqual(handshake, { errorCode: 0, mechanisms: ['PLAIN'] }, target.name);
  const answer = await client.request(36, 2, { authBytes: Buffer.from(`\0${user}\0${USERS[user]}`) });
  assert.equal((answer as { errorCode: number }).errorCode, 0, `${target.name}: ${user} login`);
  return client;
}

/** How long one request may go unanswered: a broker that never answers fails the cell, not the suite's clock. */
const ANSWER_TIMEOUT_MS = 60_000;

/** Sends one request and fails the test on a closed connection or no answer. */
async function ask(client: WireClient, apiKey: number, version: number, body: Record<string, unknown>) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ANSWER_TIMEOUT_MS);
  });
  const answer = await Promise.race([client.request(apiKey, version, body), timeout]);
  clearTimeout(timer);
  assert.ok(answer !== 'closed' && answer !== 'no answer', `API ${apiKey} v${version}: ${answer}`);
  // biome-ignore lint/suspicious/noExplicitAny: responses are read by field name below.
  return answer as any;
}

/** kafka-acls as the admin user, through the SASL listener. */
function kafkaAcls(target: Target, configFile: string, args: readonly string[]) {
  return run(
    RUN_CLASS,
    [
      'org.apache.kafka.tools.AclCommand',
      '--bootstrap-server',
      `127.0.0.1:${target.sasl}`,
      '--command-config',
      configFile,
      ...args,
    ],
    { timeoutMs: 180_000 },
  );
}

/**
 * kafka-acls prints blocks per resource in the order of a hash map, and a block's ACLs in no fixed
 * order: compare blocks sorted, lines within a block sorted.
 */
function normalizedAclOutput(text: string): string[] {
  const blocks: string[][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0) continue;
    // Each header line ("Adding ACLs for resource", "Current ACLs for resource", "ACLs for principal") opens a block.
    if (!line.startsWith('(') || blocks.length === 0) blocks.push([line]);
    else blocks.at(-1)!.push(line);
  }
  return blocks.map(([head, ...acls]) => [head, ...acls.sort()].join('\n')).sort();
}

const AUTH_ERRORS: Record<number, string> = {
  29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  53: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
};
/** Where a coordinator's state decides the code of an allowed request, only refusal is compared. */
const refusal = (code: number): string => AUTH_ERRORS[code] ?? 'not refused';
const byName = <T extends { name?: string; groupId?: string }>(items: T[]): T[] =>
  [...items].sort((a, b) => String(a.name ?? a.groupId).localeCompare(String(b.name ?? b.groupId)));

interface Cell {
  readonly name: string;
  readonly users: readonly User[];
  /** The request's outcome, reduced to what must be equal on both brokers. */
  /** `topicIds`: each topic's id on that broker (as a super user sees them). */
  readonly outcome: (
    client: WireClient,
    nodeId: number,
    topicIds: ReadonlyMap<string, string>,
  ) => Promise<unknown>;
}

const topicCodes = (topics: { name: string; partitions?: { errorCode: number }[] }[]) =>
  byName(topics).map((topic) => [topic.name, ...(topic.partitions ?? []).map((p) => p.errorCode)]);

const CELLS: readonly Cell[] = [
  {
    name: 'Metadata v9: named topics',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 3, 9, {
        topics: ['orders', 'secret', 'logs-app', 'nope'].map((name) => ({ name })),
        allowAutoTopicCreation: false,
      });
      return byName(answer.topics as { name: string; errorCode: number }[]).map((t) => [t.name, t.errorCode]);
    },
  },
  {
    name: 'Metadata v9: every topic (unauthorized ones hidden)',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 3, 9, { topics: null, allowAutoTopicCreation: false });
      return (answer.topics as { name: string }[])
        .map((topic) => topic.name)
        .filter((name) => TOPICS.includes(name))
        .sort();
    },
  },
  {
    name: 'Metadata v9: auto-creation needs CREATE',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const answer = await ask(client, 3, 9, {
        topics: [{ name: 'logs-auto' }],
        allowAutoTopicCreation: true,
      });
      return (answer.topics as { errorCode: number }[]).map((topic) => refusal(topic.errorCode));
    },
  },
  {
    name: 'Metadata v10, DescribeGroups v4, DescribeCluster v1: the authorized-operations bit fields',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const metadata = await ask(client, 3, 10, {
        topics: ['orders', 'secret'].map((name) => ({ name })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: true,
        includeTopicAuthorizedOperations: true,
      });
      const groups = await ask(client, 15, 4, { groups: ['app'], includeAuthorizedOperations: true });
      const cluster = await ask(client, 60, 1, { includeClusterAuthorizedOperations: true });
      return [
        metadata.clusterAuthorizedOperations,
        byName(
          metadata.topics as { name: string; errorCode: number; topicAuthorizedOperations: number }[],
        ).map((t) => [t.name, t.errorCode, t.topicAuthorizedOperations]),
        groups.groups.map((g: { errorCode: number; authorizedOperations: number }) => [
          g.errorCode,
          g.authorizedOperations,
        ]),
        cluster.clusterAuthorizedOperations,
      ];
    },
  },
  {
    name: 'Produce v8',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const records = batchOf(0, Date.now(), goodRecords(1));
      const answer = await ask(client, 0, 8, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: TOPICS.map((name) => ({ name, partitionData: [{ index: 0, records }] })),
      });
      return byName(answer.responses as { name: string; partitionResponses: { errorCode: number }[] }[]).map(
        (topic) => [topic.name, ...topic.partitionResponses.map((p) => p.errorCode)],
      );
    },
  },
  {
    name: 'Fetch v11',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 1, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1_000_000,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: TOPICS.map((topic) => ({
          topic,
          partitions: [{ partition: 0, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 100_000 }],
        })),
        forgottenTopicsData: [],
        rackId: '',
      });
      return byName(
        (answer.responses as { topic: string; partitions: { errorCode: number }[] }[]).map((t) => ({
          name: t.topic,
          partitions: t.partitions,
        })),
      ).map((topic) => [topic.name, ...topic.partitions.map((p) => p.errorCode)]);
    },
  },
  {
    name: 'ListOffsets v5',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 2, 5, {
        replicaId: -1,
        isolationLevel: 0,
        topics: TOPICS.map((name) => ({ name, partitions: [{ partitionIndex: 0, timestamp: -1n }] })),
      });
      return topicCodes(answer.topics);
    },
  },
  {
    name: 'FindCoordinator v3: groups app and other, transactional id tx-1',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const codes: string[] = [];
      for (const [key, keyType] of [
        ['app', 0],
        ['other', 0],
        ['tx-1', 1],
      ] as const) {
        codes.push(refusal((await ask(client, 10, 3, { key, keyType })).errorCode));
      }
      return codes;
    },
  },
  {
    name: 'JoinGroup v5 other',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const answer = await ask(client, 11, 5, {
        groupId: 'other',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      });
      return answer.errorCode;
    },
  },
  {
    name: 'Heartbeat v3 app',
    users: ['alice', 'bob'],
    outcome: async (client) =>
      refusal((await ask(client, 12, 3, { groupId: 'app', generationId: 1, memberId: 'm' })).errorCode),
  },
  {
    name: 'OffsetCommit v7 app: orders and secret',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 8, 7, {
        groupId: 'app',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: ['orders', 'secret'].map((name) => ({
          name,
          partitions: [
            { partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' },
          ],
        })),
      });
      return topicCodes(answer.topics);
    },
  },
  {
    name: 'OffsetFetch v7 app: orders and secret',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 9, 7, {
        groupId: 'app',
        topics: ['orders', 'secret'].map((name) => ({ name, partitionIndexes: [0] })),
      });
      return [answer.errorCode, topicCodes(answer.topics)];
    },
  },
  {
    name: 'DescribeGroups v4 app and other',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 15, 4, { groups: ['app', 'other'] });
      return byName(answer.groups as { groupId: string; errorCode: number }[]).map((g) => [
        g.groupId,
        g.errorCode,
      ]);
    },
  },
  {
    name: 'ListGroups v3 (groups the principal may not describe left out)',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 16, 3, {});
      return [answer.errorCode, (answer.groups as { groupId: string }[]).map((g) => g.groupId).sort()];
    },
  },
  {
    name: 'CreateTopics v5 validate-only: new-a and other-b',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 19, 5, {
        topics: ['new-a', 'other-b'].map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 30_000,
        validateOnly: true,
      });
      return byName(answer.topics as { name: string; errorCode: number }[]).map((t) => [t.name, t.errorCode]);
    },
  },
  {
    name: 'DeleteTopics v5 ghost',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 20, 5, { topicNames: ['ghost'], timeoutMs: 30_000 });
      return (answer.responses as { errorCode: number }[]).map((r) => r.errorCode);
    },
  },
  {
    name: 'CreatePartitions v2 validate-only orders',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const answer = await ask(client, 37, 2, {
        topics: [{ name: 'orders', count: 2, assignments: null }],
        timeoutMs: 30_000,
        validateOnly: true,
      });
      return (answer.results as { errorCode: number }[]).map((r) => r.errorCode);
    },
  },
  {
    name: 'InitProducerId v3: idempotent, and transactional id tx-1',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const idempotent = await ask(client, 22, 3, { transactionalId: null, transactionTimeoutMs: 60_000 });
      const transactional = await ask(client, 22, 3, {
        transactionalId: 'tx-1',
        transactionTimeoutMs: 60_000,
      });
      // The first idempotent InitProducerId may find Kafka's producer id block not loaded yet (14).
      return [refusal(idempotent.errorCode), refusal(transactional.errorCode)];
    },
  },
  {
    name: 'EndTxn v3 and AddOffsetsToTxn v3',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const end = await ask(client, 26, 3, {
        transactionalId: 'other-tx',
        producerId: 1n,
        producerEpoch: 0,
        committed: true,
      });
      const offsets = await ask(client, 25, 3, {
        transactionalId: 'tx-1',
        producerId: 1n,
        producerEpoch: 0,
        groupId: 'other',
      });
      return [end.errorCode, offsets.errorCode];
    },
  },
  {
    name: 'DescribeConfigs v3: topic orders and the broker',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client, nodeId) => {
      const answer = await ask(client, 32, 3, {
        resources: [
          { resourceType: 2, resourceName: 'orders', configurationKeys: ['cleanup.policy'] },
          { resourceType: 4, resourceName: String(nodeId), configurationKeys: ['num.partitions'] },
        ],
      });
      return (answer.results as { resourceType: number; errorCode: number }[])
        .sort((a, b) => a.resourceType - b.resourceType)
        .map((r) => [r.resourceType, r.errorCode]);
    },
  },
  {
    name: 'AlterConfigs v2 and IncrementalAlterConfigs v1 validate-only: topic orders',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const resources = [{ resourceType: 2, resourceName: 'orders' }];
      const alter = await ask(client, 33, 2, {
        resources: resources.map((r) => ({ ...r, configs: [{ name: 'retention.ms', value: '600000' }] })),
        validateOnly: true,
      });
      const incremental = await ask(client, 44, 1, {
        resources: resources.map((r) => ({
          ...r,
          configs: [{ name: 'retention.ms', configOperation: 0, value: '600000' }],
        })),
        validateOnly: true,
      });
      return [alter.responses[0].errorCode, incremental.responses[0].errorCode];
    },
  },
  {
    name: 'DescribeAcls v2, CreateAcls v2, DeleteAcls v2',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const filter = {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: 'User:nobody',
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      };
      const described = await ask(client, 29, 2, filter);
      const created = await ask(client, 30, 2, {
        creations: [
          {
            resourceType: 2,
            resourceName: 'orders',
            resourcePatternType: 3,
            principal: 'User:bob',
            host: '*',
            operation: 2,
            permissionType: 3,
          },
        ],
      });
      const deleted = await ask(client, 31, 2, { filters: [filter] });
      return [described.errorCode, created.results[0].errorCode, deleted.filterResults[0].errorCode];
    },
  },
  {
    name: 'DescribeLogDirs v3, DescribeUserScramCredentials v0',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const logDirs = await ask(client, 35, 3, { topics: null });
      // users [] (every user), not null: Kafka 4.1.1 never answers a refused request with null users
      // (its error response walks the null list), and the connection hangs until connections.max.idle.ms.
      const scram = await ask(client, 50, 0, { users: [] });
      return [logDirs.errorCode, scram.errorCode];
    },
  },
  {
    name: 'DeleteRecords v2, OffsetForLeaderEpoch v4, DescribeProducers v0: orders and secret',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const topics = ['orders', 'secret'];
      const deleted = await ask(client, 21, 2, {
        topics: topics.map((name) => ({ name, partitions: [{ partitionIndex: 0, offset: 0n }] })),
        timeoutMs: 30_000,
      });
      const epochs = await ask(client, 23, 4, {
        replicaId: -1,
        topics: topics.map((topic) => ({
          topic,
          partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }],
        })),
      });
      const producers = await ask(client, 61, 0, {
        topics: topics.map((name) => ({ name, partitionIndexes: [0] })),
      });
      return [
        topicCodes(deleted.topics),
        topicCodes(
          epochs.topics.map((t: { topic: string; partitions: unknown[] }) => ({
            name: t.topic,
            partitions: t.partitions,
          })),
        ),
        topicCodes(producers.topics),
      ];
    },
  },
  {
    name: 'OffsetDelete v0 app, ConsumerGroupDescribe v0 app, ConsumerGroupHeartbeat v0 other',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const deleted = await ask(client, 47, 0, {
        groupId: 'app',
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }],
      });
      const described = await ask(client, 69, 0, { groupIds: ['app'] });
      const heartbeat = await ask(client, 68, 0, {
        groupId: 'other',
        memberId: '',
        memberEpoch: 0,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ['orders'],
        topicPartitions: [],
      });
      return [
        deleted.errorCode,
        described.groups.map((g: { errorCode: number }) => refusal(g.errorCode)),
        heartbeat.errorCode,
      ];
    },
  },
  {
    name: 'DescribeTransactions v0 tx-1 and other-tx, ListTransactions v1',
    users: ['alice', 'bob', 'admin'],
    outcome: async (client) => {
      const described = await ask(client, 65, 0, { transactionalIds: ['tx-1', 'other-tx'] });
      const listed = await ask(client, 66, 1, {
        stateFilters: [],
        producerIdFilters: [],
        durationFilter: -1n,
      });
      return [
        byName(
          described.transactionStates.map((t: { transactionalId: string; errorCode: number }) => ({
            name: t.transactionalId,
            code: refusal(t.errorCode),
          })),
        ),
        // Which transactions exist depends on whether Kafka's transaction coordinator was up for tx-1's
        // InitProducerId above: only the answer's code is compared.
        listed.errorCode,
      ];
    },
  },
  {
    // A follower's fetch (replica id >= 0) needs CLUSTER_ACTION on the cluster, whatever the topic ACLs.
    // What an allowed follower fetch from a replica that is not assigned answers is the replication
    // code's: only refusals are compared.
    name: 'Fetch v11 and v15 as a follower (replica id 7): orders and secret',
    users: ['alice', 'bob', 'replica', 'operator', 'admin'],
    outcome: async (client, _nodeId, ids) => {
      const topics = ['orders', 'secret'];
      const partition = { partition: 0, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 100_000 };
      const common = { maxWaitMs: 0, minBytes: 0, maxBytes: 1_000_000, isolationLevel: 0, rackId: '' };
      const v11 = await ask(client, 1, 11, {
        ...common,
        replicaId: 7,
        sessionId: 0,
        sessionEpoch: -1,
        topics: topics.map((topic) => ({ topic, partitions: [partition] })),
        forgottenTopicsData: [],
      });
      const v15 = await ask(client, 1, 15, {
        ...common,
        replicaState: { replicaId: 7, replicaEpoch: -1n },
        sessionId: 0,
        sessionEpoch: -1,
        topics: topics.map((topic) => ({
          topicId: ids.get(topic)!,
          partitions: [{ ...partition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }],
        })),
        forgottenTopicsData: [],
      });
      const codes = (answer: { errorCode: number; responses: { partitions: { errorCode: number }[] }[] }) => [
        refusal(answer.errorCode),
        ...answer.responses.flatMap((t) => t.partitions.map((p) => refusal(p.errorCode))),
      ];
      return [codes(v11), codes(v15)];
    },
  },
  {
    // KIP-320: CLUSTER_ACTION on the cluster lets every topic through, else DESCRIBE per topic; the
    // replica id does not matter.
    name: 'OffsetForLeaderEpoch v4 with replica id 7: orders and secret',
    users: ['alice', 'bob', 'replica', 'operator'],
    outcome: async (client) => {
      const epochs = await ask(client, 23, 4, {
        replicaId: 7,
        topics: ['orders', 'secret'].map((topic) => ({
          topic,
          partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }],
        })),
      });
      return topicCodes(
        epochs.topics.map((t: { topic: string; partitions: unknown[] }) => ({
          name: t.topic,
          partitions: t.partitions,
        })),
      );
    },
  },
  {
    name: 'DescribeAcls, CreateAcls and DeleteAcls v3: the whole answers',
    users: ['admin'],
    outcome: async (client) => {
      const dave = {
        resourceType: 2,
        resourceName: 'dave-',
        resourcePatternType: 4,
        principal: 'User:dave',
        host: '*',
        operation: 4,
        permissionType: 3,
      };
      const daveFilter = {
        resourceTypeFilter: 2,
        resourceNameFilter: 'dave-topic',
        patternTypeFilter: 2,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      };
      const created = [];
      for (const creations of [
        [dave, dave],
        [{ ...dave, resourceType: 1 }],
        [{ ...dave, resourceName: '' }],
      ]) {
        created.push(await ask(client, 30, 3, { creations }));
      }
      // Kafka's broker learns a new ACL from the metadata log a moment after CreateAcls answers.
      let described: { resources: unknown[] } | undefined;
      await waitFor('the ACL of User:dave', async () => {
        described = await ask(client, 29, 3, daveFilter);
        return described!.resources.length > 0;
      });
      const deleted = await ask(client, 31, 3, {
        filters: [daveFilter, { ...daveFilter, resourceNameFilter: 'none-such', patternTypeFilter: 3 }],
      });
      // A filter naming UNKNOWN (0) codes is a malformed request: Kafka closes the connection.
      const unknown = await client.request(29, 3, { ...daveFilter, operation: 0 });
      return [created, described, deleted, unknown];
    },
  },
  {
    // Broker to broker only: Kafka answers every partition CLUSTER_AUTHORIZATION_FAILED without
    // CLUSTER_ACTION on the cluster (the principal is neither a super user nor granted it).
    name: 'WriteTxnMarkers v1 orders-0 and secret-0',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const answer = await ask(client, 27, 1, {
        markers: [
          {
            producerId: 4242n,
            producerEpoch: 0,
            transactionResult: false,
            topics: [
              { name: 'orders', partitionIndexes: [0] },
              { name: 'secret', partitionIndexes: [0] },
            ],
            coordinatorEpoch: 0,
          },
        ],
      });
      return answer.markers.flatMap(
        (marker: { topics: { name: string; partitions: { errorCode: number }[] }[] }) =>
          marker.topics.map((topic) => [topic.name, topic.partitions.map((p) => p.errorCode)]),
      );
    },
  },
  {
    // ALTER on the cluster (an operator aborting a hanging transaction) or CLUSTER_ACTION lets it
    // through; what the markers of an unknown producer then answer is the log's: refusals only.
    name: 'WriteTxnMarkers v1 orders-0 allowed by ALTER or CLUSTER_ACTION on the cluster',
    users: ['replica', 'operator'],
    outcome: async (client) => {
      const answer = await ask(client, 27, 1, {
        markers: [
          {
            producerId: 4243n,
            producerEpoch: 0,
            transactionResult: false,
            topics: [{ name: 'orders', partitionIndexes: [0] }],
            coordinatorEpoch: 0,
          },
        ],
      });
      return answer.markers.flatMap((marker: { topics: { partitions: { errorCode: number }[] }[] }) =>
        marker.topics.flatMap((topic) => topic.partitions.map((p) => refusal(p.errorCode))),
      );
    },
  },
  {
    name: 'DeleteGroups v2 app',
    users: ['alice', 'bob'],
    outcome: async (client) => {
      const answer = await ask(client, 42, 2, { groupsNames: ['app'] });
      return (answer.results as { errorCode: number }[]).map((r) => r.errorCode);
    },
  },
];

/** Waits (bounded) until `probe` holds: the reference creates topics and coordinators asynchronously. */
/** The profile's SCRAM-SHA-512 login, made with Kafka's own kafka-configs through PLAINTEXT. */
async function addScramUser(target: Target): Promise<void> {
  const result = await run(
    KAFKA_CONFIGS,
    [
      '--bootstrap-server',
      `127.0.0.1:${target.plaintext}`,
      '--alter',
      '--add-config',
      `SCRAM-SHA-512=[password=${COMPAT_PASSWORD}]`,
      '--entity-type',
      'users',
      '--entity-name',
      COMPAT_USER,
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  assert.equal(result.code, 0, `kafka-configs on ${target.name}: ${result.stderr}`);
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('security: kstack and Apache Kafka with StandardAuthorizer and seven listeners, the same tools and requests', {
  timeout: 1_200_000,
}, () => {
  let dataDir: string;
  let adminConfig: string;
  let certs: TestCertificates;
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const nodeIds = new Map<string, number>();
  const topicIds = new Map<string, ReadonlyMap<string, string>>();
  const killReference = (): void => reference?.killAllSync();
  const kstackArgs = (): string[] => [
    '--no-compose',
    '--data-dir',
    join(dataDir, 'kstack'),
    '--override',
    `listeners=${listeners(KSTACK)}`,
    ...Object.entries(settings(KSTACK, certs)).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
  ];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-security-'));
    const certDir = join(dataDir, 'certs');
    mkdirSync(certDir);
    certs = makeCertificates(certDir);
    adminConfig = join(dataDir, 'admin.properties');
    writeFileSync(
      adminConfig,
      [
        'security.protocol=SASL_PLAINTEXT',
        'sasl.mechanism=PLAIN',
        `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${USERS.admin}";`,
        'default.api.timeout.ms=60000',
        '',
      ].join('\n'),
    );
    process.on('exit', killReference);
    reference = new ReferenceCluster({
      nodes: 1,
      basePort: KAFKA.plaintext,
      dataDir: join(dataDir, 'reference'),
      overrides: (node) => ({
        ...settings(KAFKA, certs),
        listeners: `${listeners(KAFKA)},CONTROLLER://127.0.0.1:${node.controllerPort}`,
      }),
    });
    [kstack] = await Promise.all([
      KstackProcess.start({ args: kstackArgs(), ports: [KSTACK.plaintext] }),
      reference.start(),
    ]);
    // The topics, created by User:ANONYMOUS (a super user) on the PLAINTEXT listener.
    for (const target of TARGETS) {
      const client = await WireClient.connect(target.plaintext);
      const created = await ask(client, 19, 5, {
        topics: TOPICS.map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 60_000,
      });
      assert.deepEqual(
        (created.topics as { errorCode: number }[]).map((t) => t.errorCode),
        [0, 0, 0],
        target.name,
      );
      await waitFor(`${target.name}: leaders of ${TOPICS.join(', ')}`, async () => {
        const answer = await ask(client, 3, 9, { topics: TOPICS.map((name) => ({ name })) });
        nodeIds.set(target.name, answer.brokers[0].nodeId);
        return (answer.topics as { errorCode: number; partitions: { leaderId: number }[] }[]).every(
          (t) => t.errorCode === 0 && t.partitions.every((p) => p.leaderId >= 0),
        );
      });
      const described = await ask(client, 3, 12, {
        topics: TOPICS.map((name) => ({ name, topicId: ZERO_UUID })),
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      topicIds.set(
        target.name,
        new Map((described.topics as { name: string; topicId: string }[]).map((t) => [t.name, t.topicId])),
      );
      client.close();
    }
  });

  after(async () => {
    const exit = await kstack?.stop();
    await reference?.stop(true);
    process.off('exit', killReference);
    rmSync(dataDir, { recursive: true, force: true });
    if (exit !== undefined) assert.equal(exit.code, 0, kstack?.output);
  });

  it('kafka-acls --add, --list and --remove (as a SASL super user) give the same listings', async () => {
    const steps: (readonly string[])[] = [
      [
        '--add',
        '--allow-principal',
        'User:alice',
        '--allow-principal',
        'User:carol',
        '--operation',
        'Read',
        '--operation',
        'Describe',
        '--topic',
        'orders',
        '--group',
        'app',
      ],
      [
        '--add',
        '--allow-principal',
        'User:alice',
        '--operation',
        'Write',
        '--resource-pattern-type',
        'prefixed',
        '--topic',
        'logs-',
        '--transactional-id',
        'tx-',
      ],
      [
        '--add',
        '--allow-principal',
        'User:*',
        '--deny-principal',
        'User:alice',
        '--operation',
        'Read',
        '--topic',
        'secret',
      ],
      ['--list'],
      [
        '--remove',
        '--force',
        '--allow-principal',
        'User:carol',
        '--operation',
        'Read',
        '--operation',
        'Describe',
        '--topic',
        'orders',
        '--group',
        'app',
      ],
      ['--list', '--principal', 'User:alice'],
    ];
    const outputs = new Map<string, string[][]>();
    // Both targets at once: each step is a JVM start.
    await Promise.all(
      TARGETS.map(async (target) => {
        const seen: string[][] = [];
        for (const step of steps) {
          const result = await kafkaAcls(target, adminConfig, step);
          assert.equal(
            result.code,
            0,
            `${target.name} kafka-acls ${step.join(' ')}: ${result.stdout}${result.stderr}`,
          );
          seen.push(normalizedAclOutput(result.stdout));
        }
        outputs.set(target.name, seen);
      }),
    );
    assert.deepEqual(outputs.get(KSTACK.name), outputs.get(KAFKA.name));
    const listing = outputs.get(KSTACK.name)![3]!;
    assert.equal(listing.length, 5, listing.join('\n\n'));
    assert.match(listing.join('\n'), /resourceType=TRANSACTIONAL_ID, name=tx-, patternType=PREFIXED/);
    assert.doesNotMatch(outputs.get(KSTACK.name)![5]!.join('\n'), /carol/);
    // The matrix below also needs CREATE on topics new-*, CLUSTER_ACTION on the cluster for replica
    // and ALTER on it for operator, given on the wire (CreateAcls v3).
    const onCluster = (principal: string, operation: number) => ({
      resourceType: 4,
      resourceName: 'kafka-cluster',
      resourcePatternType: 3,
      principal,
      host: '*',
      operation,
      permissionType: 3,
    });
    for (const target of TARGETS) {
      const admin = await loginAs(target, 'admin');
      const created = await ask(admin, 30, 3, {
        creations: [
          {
            resourceType: 2,
            resourceName: 'new-',
            resourcePatternType: 4,
            principal: 'User:alice',
            host: '*',
            operation: 5,
            permissionType: 3,
          },
          onCluster('User:replica', 9),
          onCluster('User:operator', 7),
        ],
      });
      assert.deepEqual(created.results, Array(3).fill({ errorCode: 0, errorMessage: '' }), target.name);
      admin.close();
    }
  });

  it('the authorization matrix: each principal gets the same answers from both brokers', async () => {
    // The group and transaction coordinators must be up before their requests are compared.
    // FindCoordinator for a transactional id makes Kafka create __transaction_state; until its
    // partitions are loaded, ListTransactions answers COORDINATOR_LOAD_IN_PROGRESS (14), which
    // made this test fail 2 runs in 5 at load 25 when the matrix itself created the topic.
    for (const target of TARGETS) {
      const admin = await loginAs(target, 'admin');
      await waitFor(`${target.name}: the coordinator of group app`, async () => {
        const answer = await ask(admin, 10, 3, { key: 'app', keyType: 0 });
        return answer.errorCode === 0;
      });
      await waitFor(`${target.name}: the coordinator of transactional id tx-1`, async () => {
        const answer = await ask(admin, 10, 3, { key: 'tx-1', keyType: 1 });
        return answer.errorCode === 0;
      });
      await waitFor(`${target.name}: every transaction coordinator partition loaded`, async () => {
        const answer = await ask(admin, 66, 1, {
          stateFilters: [],
          producerIdFilters: [],
          durationFilter: -1n,
        });
        return answer.errorCode === 0;
      });
      admin.close();
    }
    const results = new Map<string, Record<string, unknown>>();
    for (const target of TARGETS) {
      const seen: Record<string, unknown> = {};
      for (const user of ['alice', 'bob', 'replica', 'operator', 'admin'] as const) {
        const client = await loginAs(target, user);
        for (const cell of CELLS) {
          if (!cell.users.includes(user)) continue;
          const name = `${user}: ${cell.name}`;
          const ids = topicIds.get(target.name)!;
          seen[name] = await cell.outcome(client, nodeIds.get(target.name)!, ids).catch((error: Error) => {
            throw new Error(`${target.name}, ${name}: ${error.message}`);
          });
        }
        client.close();
      }
      results.set(target.name, seen);
    }
    const kstackSeen = results.get(KSTACK.name)!;
    const kafkaSeen = results.get(KAFKA.name)!;
    const cells = Object.keys(kafkaSeen);
    const differing = cells.filter(
      (cell) => JSON.stringify(kstackSeen[cell]) !== JSON.stringify(kafkaSeen[cell]),
    );
    console.log(`authorization matrix: ${cells.length} cells, ${cells.length - differing.length} the same`);
    assert.deepEqual(
      Object.fromEntries(
        differing.map((cell) => [cell, { kstack: kstackSeen[cell], kafka: kafkaSeen[cell] }]),
      ),
      {},
    );
    // Spot checks that authorization happened at all (the comparison alone would pass if both ignored ACLs).
    assert.deepEqual(kafkaSeen['bob: Produce v8'], [
      ['logs-app', 29],
      ['orders', 29],
      ['secret', 29],
    ]);
    assert.deepEqual(kafkaSeen['alice: Fetch v11'], [
      ['logs-app', 29],
      ['orders', 0],
      ['secret', 29],
    ]);
    assert.deepEqual(kafkaSeen['admin: DeleteTopics v5 ghost'], [3]);
    // CLUSTER_ACTION: a follower's fetch is refused per partition without it, whatever the topic ACLs,
    // and served with it; OffsetForLeaderEpoch falls back to DESCRIBE per topic; WriteTxnMarkers
    // takes ALTER as well.
    const follower = 'Fetch v11 and v15 as a follower (replica id 7): orders and secret';
    const denied = ['not refused', 'TOPIC_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED'];
    assert.deepEqual(kafkaSeen[`alice: ${follower}`], [denied, denied]);
    assert.deepEqual(kafkaSeen[`operator: ${follower}`], [denied, denied]);
    const served = ['not refused', 'not refused', 'not refused'];
    assert.deepEqual(kafkaSeen[`replica: ${follower}`], [served, served]);
    const epochs = 'OffsetForLeaderEpoch v4 with replica id 7: orders and secret';
    assert.deepEqual(
      (kafkaSeen[`alice: ${epochs}`] as unknown[][]).map((topic) => topic[1] === 29),
      [false, false],
    );
    assert.deepEqual(
      (kafkaSeen[`bob: ${epochs}`] as unknown[][]).map((topic) => topic[1] === 29),
      [true, false],
    );
    assert.deepEqual(
      (kafkaSeen[`replica: ${epochs}`] as unknown[][]).map((topic) => topic[1] === 29),
      [false, false],
    );
    const markers = 'WriteTxnMarkers v1 orders-0 allowed by ALTER or CLUSTER_ACTION on the cluster';
    assert.deepEqual(kafkaSeen[`operator: ${markers}`], ['not refused']);
    assert.deepEqual(kafkaSeen[`replica: ${markers}`], ['not refused']);
  });

  it('kcat as bob (no ACL but User:* on secret) and alice; Java kafka-topics as bob', async () => {
    const outcomes = new Map<string, unknown[]>();
    for (const target of TARGETS) {
      const bootstrap = `127.0.0.1:${target.sasl}`;
      const seen: unknown[] = [];
      const listed = async (user: User) => {
        const result = await kcat(bootstrap, saslLogin(user), ['-L', '-J', '-m', '30']);
        assert.equal(result.code, 0, `${target.name}: ${result.stderr}`);
        return (JSON.parse(result.stdout).topics as { topic: string }[])
          .map((t) => t.topic)
          .filter((name) => TOPICS.includes(name))
          .sort();
      };
      seen.push(['bob lists', await listed('bob')], ['alice lists', await listed('alice')]);
      const produced = await kcat(bootstrap, saslLogin('bob'), ['-P', '-t', 'orders'], 'refused\n');
      seen.push(['bob produces to orders', /Topic authorization failed/.test(produced.stderr)]);
      const consumed = await kcat(bootstrap, saslLogin('bob'), [
        '-C',
        '-t',
        'secret',
        '-o',
        'beginning',
        '-e',
        '-q',
      ]);
      seen.push([
        'bob consumes secret',
        consumed.code,
        consumed.stdout.split('\n').filter(Boolean).length > 0,
      ]);
      const aliceReads = await kcat(bootstrap, saslLogin('alice'), [
        '-C',
        '-t',
        'secret',
        '-o',
        'beginning',
        '-e',
      ]);
      seen.push(['alice consumes secret', /Topic authorization failed/.test(aliceReads.stderr)]);
      const bobCommand = join(dataDir, 'bob.properties');
      writeFileSync(
        bobCommand,
        [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=PLAIN',
          `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="${USERS.bob}";`,
          'default.api.timeout.ms=30000',
          '',
        ].join('\n'),
      );
      const create = await run(
        KAFKA_TOPICS,
        [
          '--bootstrap-server',
          bootstrap,
          '--command-config',
          bobCommand,
          '--create',
          '--topic',
          'bobs-topic',
        ],
        { timeoutMs: 120_000 },
      );
      const error = /(org\.apache\.kafka\.common\.errors\.\w+: .*)/.exec(create.stdout + create.stderr)?.[1];
      seen.push(['java: bob creates a topic', create.code === 0, error]);
      outcomes.set(target.name, seen);
    }
    assert.deepEqual(outcomes.get(KSTACK.name), outcomes.get(KAFKA.name));
    assert.deepEqual(outcomes.get(KAFKA.name)?.slice(0, 2), [
      ['bob lists', ['secret']],
      ['alice lists', ['logs-app', 'orders', 'secret']],
    ]);
  });

  it('super users pass every check: ANONYMOUS on PLAINTEXT and admin on SASL list every topic', async () => {
    for (const target of TARGETS) {
      for (const [bootstrap, login] of [
        [`127.0.0.1:${target.plaintext}`, { protocol: 'PLAINTEXT' } as SaslLogin],
        [`127.0.0.1:${target.sasl}`, saslLogin('admin')],
      ] as const) {
        const result = await kcat(bootstrap, login, ['-L', '-J', '-m', '30']);
        assert.equal(result.code, 0, `${target.name}: ${result.stderr}`);
        const names = (JSON.parse(result.stdout).topics as { topic: string }[]).map((t) => t.topic);
        for (const topic of TOPICS)
          assert.ok(names.includes(topic), `${target.name} ${bootstrap}: ${names.join(',')}`);
      }
    }
  });

  it('a failed login is answered after connection.failed.authentication.delay.ms (100 ms) on both', async () => {
    for (const target of TARGETS) {
      const client = await WireClient.connect(target.sasl);
      await ask(client, 17, 1, { mechanism: 'PLAIN' });
      const sentAt = performance.now();
      const answer = await ask(client, 36, 2, { authBytes: Buffer.from('\0alice\0wrong') });
      const elapsedMs = performance.now() - sentAt;
      assert.equal(answer.errorCode, 58, target.name);
      assert.ok(elapsedMs >= 99, `${target.name}: answered after ${elapsedMs.toFixed(1)} ms`);
      assert.equal(await client.closedWithin(10_000), true, target.name);
      client.close();
    }
  });

  it('the security profile: every client through SSL, SASL_SSL PLAIN, SCRAM-SHA-512 and OAUTHBEARER, the same on both', async () => {
    await Promise.all(TARGETS.map(addScramUser));
    const bootstrap = (port: (target: Target) => number) =>
      Object.fromEntries(TARGETS.map((target) => [target.profileName, `127.0.0.1:${port(target)}`]));
    const login = { username: COMPAT_USER, password: COMPAT_PASSWORD, caFile: certs.caFile };
    const started = Date.now();
    const result = await runProfileOn(
      [
        {
          mode: 'ssl',
          client: { protocol: 'SSL', caFile: certs.caFile },
          bootstrap: bootstrap((t) => t.ssl),
        },
        {
          mode: 'sasl-ssl-plain',
          client: { protocol: 'SASL_SSL', mechanism: 'PLAIN', ...login },
          bootstrap: bootstrap((t) => t.saslSsl),
        },
        {
          mode: 'sasl-ssl-scram-sha-512',
          client: { protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512', ...login },
          bootstrap: bootstrap((t) => t.scramSsl),
          clients: EXPECTED_CLIENTS.filter((client) => !DEBIAN_LIBRDKAFKA.has(client)),
        },
        {
          // Each client makes an unsecured token with sub `compat` (a super user); the refusal: one expired a minute ago.
          mode: 'sasl-ssl-oauthbearer',
          client: {
            protocol: 'SASL_SSL',
            mechanism: 'OAUTHBEARER',
            username: COMPAT_USER,
            caFile: certs.caFile,
          },
          bootstrap: bootstrap((t) => t.oauth),
        },
      ],
      { scenarios: ['produce-acks-all'] },
    );
    console.log(`${result.output}(the profile: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    assert.deepEqual(result.differing, []);
    assert.equal(result.failed, 0, result.output);
    // Every client's cell ran and passed on each target: 9 clients on SSL, PLAIN and OAUTHBEARER, 7 on SCRAM.
    for (const target of TARGETS) {
      for (const [mode, clients] of [
        ['ssl', 9],
        ['sasl-ssl-plain', 9],
        ['sasl-ssl-scram-sha-512', 7],
        ['sasl-ssl-oauthbearer', 9],
      ] as const) {
        const line = `${target.profileName} (1 node(s)), ${mode}: ${clients} pass, 0 fail, 0 n/s`;
        assert.ok(result.output.includes(line), `${line}\n${result.output}`);
      }
    }
  });

  it('OAUTHBEARER on the wire: the same answers as Kafka 4.1.1, byte for byte; the sub is the principal ACLs see', async () => {
    const tlsOptions = { ca: readFileSync(certs.caFile), servername: 'localhost' };
    const [kstackAnswers, kafkaAnswers] = await Promise.all(
      TARGETS.map((target) => oauthBearerOnTheWire(target.oauth, tlsOptions)),
    );
    assert.deepEqual(kstackAnswers, kafkaAnswers);
    assert.deepEqual(kafkaAnswers, KAFKA_OAUTHBEARER_ANSWERS);
    // Principal User:<sub>: `compat` is a super user, `oauth-nobody` has no ACL at all.
    for (const target of TARGETS) {
      const codes: number[] = [];
      for (const subject of [COMPAT_USER, 'oauth-nobody']) {
        const client = await WireClient.connect(target.oauth, { tls: tlsOptions });
        await ask(client, 17, 1, { mechanism: 'OAUTHBEARER' });
        const token = unsecuredJws(subject);
        const login = await ask(client, 36, 2, {
          authBytes: Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`),
        });
        assert.equal(login.errorCode, 0, `${target.name}: ${subject}`);
        const answer = await ask(client, 3, 12, {
          topics: [{ name: 'orders', topicId: ZERO_UUID }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
        codes.push(answer.topics[0].errorCode);
        client.close();
      }
      assert.deepEqual(
        codes,
        [0, 29],
        `${target.name}: Metadata of orders as User:compat, User:oauth-nobody`,
      );
    }
  });

  it('re-authentication (KIP-368): the session lifetime, re-authenticating over the connection, expiry; Java and kafkajs', async () => {
    const as = (target: Target): ReauthLogin => ({
      port: target.reauth,
      username: 'admin',
      password: USERS.admin,
      lifetimeMs: REAUTH_MS,
    });
    const started = Date.now();
    const [wire, java, kafkajs] = await Promise.all([
      Promise.all(
        TARGETS.map((target) => reauthOnTheWire(as(target), { username: 'alice', password: USERS.alice })),
      ),
      Promise.all(
        TARGETS.map((target) => javaProducerReauth(as(target), 'orders', dataDir, REAUTH_JAVA_RECORDS)),
      ),
      Promise.all(TARGETS.map((target) => kafkajsReauth(as(target), 'orders', REAUTH_KAFKAJS_MS))),
    ]);
    console.log(
      `re-authentication (${((Date.now() - started) / 1000).toFixed(0)} s): ${JSON.stringify({ wire, java: java.map(({ output, ...rest }) => rest), kafkajs })}`,
    );
    const [kstackWire, kafkaWire] = wire as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(kstackWire, kafkaWire);
    // What Kafka answered, so the comparison cannot pass with re-authentication absent on both.
    assert.deepEqual(kafkaWire['login: error, session_lifetime_ms'], [0, String(REAUTH_MS)]);
    assert.equal(kafkaWire['Metadata past the session lifetime'], 'closed');
    assert.deepEqual(kafkaWire['re-authentication with another mechanism: handshake, authenticate'], [
      0,
      'closed',
    ]);
    for (const [i, target] of TARGETS.entries()) {
      const { sent, reauthenticated, failed, output } = java[i]!;
      assert.equal(sent, REAUTH_JAVA_RECORDS, `${target.name}: ${output}`);
      assert.ok(
        reauthenticated >= 1 && failed === 0,
        `${target.name}: ${reauthenticated} re-authentications, ${failed} failed\n${output}`,
      );
      const js = kafkajs[i]!;
      assert.equal(js.acknowledged, js.sent, `${target.name}: ${JSON.stringify(js)}`);
      assert.ok(
        js.logins > js.connections,
        `${target.name}: kafkajs re-authenticated over open connections: ${JSON.stringify(js)}`,
      );
      assert.equal(js.closedByBroker, 0, `${target.name}: ${JSON.stringify(js)}`);
    }
  });

  it('kstack keeps its ACLs over a restart (records in the metadata log)', async () => {
    const describeAll = async (): Promise<unknown> => {
      const admin = await loginAs(KSTACK, 'admin');
      const answer = await ask(admin, 29, 3, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      admin.close();
      assert.equal(answer.errorCode, 0);
      return JSON.stringify(
        (answer.resources as { resourceName: string; acls: unknown[] }[])
          .map((r) => ({ ...r, acls: r.acls.map((a) => JSON.stringify(a)).sort() }))
          .sort((a, b) => a.resourceName.localeCompare(b.resourceName)),
      );
    };
    const before = await describeAll();
    const exit = await kstack?.stop();
    assert.equal(exit?.code, 0, kstack?.output);
    kstack = await KstackProcess.start({ args: kstackArgs(), ports: [KSTACK.plaintext] });
    assert.equal(await describeAll(), before);
    const bob = await kcat(`127.0.0.1:${KSTACK.sasl}`, saslLogin('bob'), ['-L', '-J', '-m', '30']);
    assert.deepEqual(
      (JSON.parse(bob.stdout).topics as { topic: string }[])
        .map((t) => t.topic)
        .filter((n) => TOPICS.includes(n)),
      ['secret'],
    );
  });
});
