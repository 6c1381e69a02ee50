/**
 * ACLs on an in-process broker with StandardAuthorizer over real sockets: the ACL APIs on the wire,
 * a few authorization outcomes per principal (the answers Apache Kafka 4.1.1 gives to the same
 * requests in test/security/security-reference.slow.ts), ACLs kept over a restart, SECURITY_DISABLED
 * without an authorizer, and a malformed ACL filter closing the connection.
 * Ports (docs/team-rules.md): 21520 (PLAINTEXT), 21521 (SASL_PLAINTEXT); 21522 a broker without an authorizer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { batchOf, goodRecords } from '../records/faulty-batches.ts';
import { PLAIN_JAAS, WireClient } from './support.ts';

const PLAINTEXT = 21520;
const SASL = 21521;
const NO_AUTHORIZER = 21522;
const USERS = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' } as const;
type User = keyof typeof USERS;
const TOPICS = ['orders', 'logs-app', 'secret'];

const CONFIG: Record<string, string> = {
  listeners: `PLAINTEXT://127.0.0.1:${PLAINTEXT},SASL_PLAINTEXT://127.0.0.1:${SASL}`,
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
  'sasl.enabled.mechanisms': 'PLAIN',
  'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS(USERS),
  'authorizer.class.name': STANDARD_AUTHORIZER,
  'super.users': 'User:admin;User:ANONYMOUS',
};

/** A decoded response, read by field name in these tests. */
// biome-ignore lint/suspicious/noExplicitAny: responses are read by field name.
type Answer = any;

async function ask(
  client: WireClient,
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
): Promise<Answer> {
  const answer = await client.request(apiKey, version, body);
  assert.notEqual(answer, 'closed', `API ${apiKey} v${version}: connection closed`);
  return answer;
}

async function loginAs(user: User): Promise<WireClient> {
  const client = await WireClient.connect(SASL);
  await ask(client, 17, 1, { mechanism: 'PLAIN' });
  const answer = await ask(client, 36, 2, { authBytes: Buffer.from(`\0${user}\0${USERS[user]}`) });
  assert.equal(answer.errorCode, 0);
  return client;
}

const acl = (overrides: Record<string, unknown>) => ({
  resourceType: 2,
  resourceName: 'orders',
  resourcePatternType: 3,
  principal: 'User:alice',
  host: '*',
  operation: 3,
  permissionType: 3,
  ...overrides,
});
const ANY_FILTER = {
  resourceTypeFilter: 1,
  resourceNameFilter: null,
  patternTypeFilter: 1,
  principalFilter: null,
  hostFilter: null,
  operation: 1,
  permissionType: 1,
};

const sortedCodes = (topics: { name: string; partitions?: { errorCode: number }[]; errorCode?: number }[]) =>
  [...topics]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((topic) => [topic.name, ...(topic.partitions?.map((p) => p.errorCode) ?? [topic.errorCode])]);

describe('ACLs on the embedded broker', { timeout: 180_000 }, () => {
  let dataDir: string;
  let broker: Broker;
  const start = async (): Promise<Broker> => {
    const started = new Broker({
      dataDir: join(dataDir, 'broker'),
      host: '127.0.0.1',
      port: PLAINTEXT,
      config: CONFIG,
    });
    await started.start();
    return started;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-acls-unit-'));
    broker = await start();
    const anonymous = await WireClient.connect(PLAINTEXT);
    const created = await ask(anonymous, 19, 5, {
      topics: TOPICS.map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 30_000,
    });
    assert.deepEqual(
      created.topics.map((t: { errorCode: number }) => t.errorCode),
      [0, 0, 0],
    );
    anonymous.close();
  });

  after(async () => {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('CreateAcls, DescribeAcls and DeleteAcls as a super user, with Kafka 4.1.1 answers', async () => {
    const admin = await loginAs('admin');
    const created = await ask(admin, 30, 3, {
      creations: [
        acl({ operation: 3 }),
        acl({ operation: 8 }),
        acl({ operation: 3 }),
        acl({ resourceName: 'logs-', resourcePatternType: 4, operation: 4 }),
        acl({ resourceType: 5, resourceName: 'tx-', resourcePatternType: 4, operation: 4 }),
        acl({ resourceType: 3, resourceName: 'app', operation: 3 }),
        acl({ resourceName: 'secret', principal: 'User:*' }),
        acl({ resourceName: 'secret', permissionType: 2 }),
        acl({ resourceName: 'new-', resourcePatternType: 4, operation: 5 }),
        acl({ resourceName: '' }),
        acl({ resourceType: 1 }),
      ],
    });
    const ok = { errorCode: 0, errorMessage: '' };
    assert.deepEqual(created.results, [
      ...Array.from({ length: 9 }, () => ok),
      { errorCode: 42, errorMessage: 'Invalid empty resource name' },
      { errorCode: -1, errorMessage: null },
    ]);
    // MATCH: every pattern applying to topic logs-app.
    const matched = await ask(admin, 29, 3, {
      ...ANY_FILTER,
      resourceTypeFilter: 2,
      resourceNameFilter: 'logs-app',
      patternTypeFilter: 2,
    });
    assert.deepEqual(matched, {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: '',
      resources: [
        {
          resourceType: 2,
          resourceName: 'logs-',
          patternType: 4,
          acls: [{ principal: 'User:alice', host: '*', operation: 4, permissionType: 3 }],
        },
      ],
    });
    const dave = acl({ principal: 'User:dave', resourceName: 'dave' });
    await ask(admin, 30, 3, { creations: [dave] });
    const deleted = await ask(admin, 31, 3, {
      filters: [
        { ...ANY_FILTER, principalFilter: 'User:dave' },
        { ...ANY_FILTER, principalFilter: 'User:nobody' },
      ],
    });
    assert.deepEqual(deleted.filterResults, [
      {
        errorCode: 0,
        errorMessage: null,
        matchingAcls: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: 2,
            resourceName: 'dave',
            patternType: 3,
            principal: 'User:dave',
            host: '*',
            operation: 3,
            permissionType: 3,
          },
        ],
      },
      { errorCode: 0, errorMessage: null, matchingAcls: [] },
    ]);
    // A filter naming UNKNOWN codes is malformed: Kafka closes the connection.
    assert.equal(await admin.request(29, 3, { ...ANY_FILTER, operation: 0 }), 'closed');
    admin.close();
  });

  it('per principal: refused topics, groups, transactional ids and cluster operations', async () => {
    const alice = await loginAs('alice');
    const bob = await loginAs('bob');
    const metadata = (client: WireClient) =>
      ask(client, 3, 9, {
        topics: ['orders', 'secret', 'logs-app', 'nope'].map((name) => ({ name })),
        allowAutoTopicCreation: false,
      }).then((answer) =>
        sortedCodes(
          answer.topics.map((t: { name: string; errorCode: number }) => ({
            name: t.name,
            errorCode: t.errorCode,
          })),
        ),
      );
    assert.deepEqual(await metadata(alice), [
      ['logs-app', 0],
      ['nope', 29],
      ['orders', 0],
      ['secret', 0],
    ]);
    assert.deepEqual(await metadata(bob), [
      ['logs-app', 29],
      ['nope', 29],
      ['orders', 29],
      ['secret', 0],
    ]);
    const all = await ask(bob, 3, 9, { topics: null });
    assert.deepEqual(
      all.topics.map((t: { name: string }) => t.name),
      ['secret'],
      'every topic: those bob may not describe are hidden',
    );
    const records = batchOf(0, Date.now(), goodRecords(1));
    const produce = (client: WireClient) =>
      ask(client, 0, 8, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: TOPICS.map((name) => ({ name, partitionData: [{ index: 0, records }] })),
      }).then((answer) =>
        sortedCodes(
          answer.responses.map((r: { name: string; partitionResponses: unknown[] }) => ({
            name: r.name,
            partitions: r.partitionResponses,
          })),
        ),
      );
    assert.deepEqual(await produce(alice), [
      ['logs-app', 0],
      ['orders', 29],
      ['secret', 29],
    ]);
    assert.deepEqual(await produce(bob), [
      ['logs-app', 29],
      ['orders', 29],
      ['secret', 29],
    ]);
    const fetched = await ask(alice, 1, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1_000_000,
      sessionId: 0,
      sessionEpoch: -1,
      topics: TOPICS.map((topic) => ({
        topic,
        partitions: [{ partition: 0, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 100_000 }],
      })),
    });
    assert.deepEqual(
      sortedCodes(
        fetched.responses.map((r: { topic: string; partitions: unknown[] }) => ({
          name: r.topic,
          partitions: r.partitions,
        })),
      ),
      [
        ['logs-app', 29],
        ['orders', 0],
        ['secret', 29],
      ],
    );
    const idempotent = (client: WireClient) =>
      ask(client, 22, 3, { transactionalId: null, transactionTimeoutMs: 60_000 }).then((a) => a.errorCode);
    assert.equal(await idempotent(alice), 0, 'WRITE on some topic is enough (KIP-679)');
    assert.equal(await idempotent(bob), 31);
    assert.equal((await ask(bob, 10, 3, { key: 'tx-1', keyType: 1 })).errorCode, 53);
    assert.equal((await ask(bob, 10, 3, { key: 'app', keyType: 0 })).errorCode, 30);
    assert.equal((await ask(alice, 10, 3, { key: 'other', keyType: 0 })).errorCode, 30);
    const createTopics = await ask(alice, 19, 5, {
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
    assert.deepEqual(sortedCodes(createTopics.topics), [
      ['new-a', 0],
      ['other-b', 29],
    ]);
    assert.equal((await ask(alice, 29, 2, ANY_FILTER)).errorCode, 31);
    assert.equal((await ask(alice, 35, 3, { topics: null })).errorCode, 31);
    alice.close();
    bob.close();
  });

  it('the ACLs survive a restart: the same listing, the same refusals', async () => {
    const list = async (): Promise<string> => {
      const admin = await loginAs('admin');
      const answer = await ask(admin, 29, 3, ANY_FILTER);
      admin.close();
      return JSON.stringify(answer);
    };
    const before = await list();
    await broker.stop();
    broker = await start();
    assert.equal(await list(), before);
    const bob = await loginAs('bob');
    const metadata = await ask(bob, 3, 9, { topics: null });
    assert.deepEqual(
      metadata.topics.map((t: { name: string }) => t.name),
      ['secret'],
    );
    bob.close();
  });

  it('a failed login is answered after connection.failed.authentication.delay.ms (100 ms), then closed', async () => {
    const client = await WireClient.connect(SASL);
    await ask(client, 17, 1, { mechanism: 'PLAIN' });
    const sentAt = performance.now();
    const answer = await ask(client, 36, 2, { authBytes: Buffer.from('\0alice\0wrong') });
    const elapsedMs = performance.now() - sentAt;
    assert.equal(answer.errorCode, 58);
    // The timer may fire up to a millisecond early against performance.now().
    assert.ok(elapsedMs >= 99, `answered after ${elapsedMs.toFixed(1)} ms`);
    assert.equal(await client.closedWithin(10_000), true);
    client.close();
  });

  it('without authorizer.class.name the ACL APIs answer SECURITY_DISABLED and nothing is refused', async () => {
    const { 'authorizer.class.name': _, ...config } = CONFIG;
    const open = new Broker({
      dataDir: join(dataDir, 'open'),
      host: '127.0.0.1',
      port: NO_AUTHORIZER,
      config: { ...config, listeners: `PLAINTEXT://127.0.0.1:${NO_AUTHORIZER}` },
    });
    await open.start();
    try {
      const client = await WireClient.connect(NO_AUTHORIZER);
      assert.deepEqual(await ask(client, 29, 3, ANY_FILTER), {
        throttleTimeMs: 0,
        errorCode: 54,
        errorMessage: 'No Authorizer is configured.',
        resources: [],
      });
      const created = await ask(client, 30, 3, { creations: [acl({})] });
      assert.equal(created.results[0].errorCode, 54);
      assert.equal(
        (await ask(client, 22, 3, { transactionalId: null, transactionTimeoutMs: 60_000 })).errorCode,
        0,
      );
      client.close();
    } finally {
      await open.stop();
    }
  });
});
