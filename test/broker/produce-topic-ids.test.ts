/**
 * Produce v13 (topics named by id, KIP-516) and ListTransactions v2 (a transactional-id pattern,
 * KIP-1152), as Apache Kafka 4.1.1 serves them (asked on the reference with the same requests,
 * 2026-12-06: every error code and id list below is what it answered). On a real socket to an
 * in-process broker, and with Kafka's own Java producer 4.1.1 (kafka-producer-perf-test), which
 * sends v13 once the broker advertises it. With ACLs, v13's topics are authorized under the names
 * their ids have (src/security/request-authorization.ts), an unknown id is UNKNOWN_TOPIC_ID.
 * Ports (docs/team-rules.md): 27603; the broker with ACLs 27606 (PLAINTEXT) and 27607 (SASL_PLAINTEXT).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Broker } from '../../src/broker/broker.ts';
import type { BrokerObserver } from '../../src/broker/observer.ts';
import { decodeResponse, encodeRequest, type MessageValue } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { FrameReader } from '../engine/broker-process.ts';
import { PLAIN_JAAS, WireClient } from '../security/support.ts';

const PORT = 27603;
/** The broker with ACLs: its PLAINTEXT listener (User:ANONYMOUS, a super user) and SASL_PLAINTEXT one. */
const ACL_PLAINTEXT = 27606;
const ACL_SASL = 27607;
const TOPIC_AUTHORIZATION_FAILED = 29;
const PERF_TEST = fileURLToPath(new URL('../../reference/bin/kafka-producer-perf-test', import.meta.url));
/** A bound on answers and on the JVM's run (a loaded machine starts a JVM in 10-30 s). */
const ANSWER_TIMEOUT_MS = 30_000;
const JVM_TIMEOUT_MS = 180_000;
const UNKNOWN_TOPIC_ID = 100;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const INVALID_REGULAR_EXPRESSION = 128;

/** Every Produce version the broker was sent, read from the request header. */
const produceVersions = new Set<number>();
const observer: BrokerObserver = {
  appended() {},
  read() {},
  observeRequests: (inner) => ({
    dispatch(frame, connection) {
      if (frame.readInt16BE(0) === 0) produceVersions.add(frame.readInt16BE(2));
      return inner.dispatch(frame, connection);
    },
  }),
};
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-produce-topic-ids-'));
const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT, observer });
let socket: net.Socket;
let reader: FrameReader;
let correlationId = 0;

// biome-ignore lint/suspicious/noExplicitAny: the answers of several APIs, checked field by field
type Answer = Record<string, any>;

async function call(apiKey: number, version: number, body: MessageValue): Promise<Answer> {
  const id = ++correlationId;
  socket.write(
    encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 't' },
      body,
    ),
  );
  const [frame] = await reader.next(1, ANSWER_TIMEOUT_MS);
  const decoded = decodeResponse(apiKey, version, frame!);
  assert.equal(decoded.correlationId, id);
  return decoded.body as Answer;
}

async function createTopic(name: string): Promise<string> {
  const created = await call(19, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(created.topics[0].errorCode, 0);
  return created.topics[0].topicId;
}

function produceById(topicId: string, index: number, records: Uint8Array): MessageValue {
  return {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ topicId, partitionData: [{ index, records }] }],
  };
}

/** Retries a coordinator request while its coordinator is still loading (bounded). */
async function untilServed(send: () => Promise<number>): Promise<void> {
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  for (;;) {
    const code = await send();
    if (code === 0) return;
    assert.ok([14, 15, 16].includes(code), `error ${code} is not a coordinator-loading one`);
    assert.ok(Date.now() < deadline, `the transaction coordinator still answers ${code}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Produce v13 and ListTransactions v2', { timeout: 400_000 }, () => {
  before(async () => {
    await broker.start();
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const opened = net.connect({ host: '127.0.0.1', port: PORT }, () => resolve(opened));
      opened.once('error', reject);
    });
    reader = new FrameReader(socket);
  });
  after(async () => {
    socket?.destroy();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('advertises Produce 0-13 and ListTransactions 0-2, as Kafka 4.1.1', async () => {
    const versions = await call(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const range = (key: number) => versions.apiKeys.find((api: { apiKey: number }) => api.apiKey === key);
    assert.deepEqual([range(0).minVersion, range(0).maxVersion], [0, 13]);
    assert.deepEqual([range(66).minVersion, range(66).maxVersion], [0, 2]);
  });

  it('v13 appends by topic id, answers by id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
    const topicId = await createTopic('topic-ids');
    const records = await encodeRecordBatch({
      records: [{ key: null, value: Buffer.from('a'), timestamp: Date.now() }],
    });
    const known = await call(0, 13, produceById(topicId, 0, records));
    assert.equal(known.responses[0].topicId, topicId);
    assert.equal(known.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(known.responses[0].partitionResponses[0].baseOffset, 0n);
    for (const unknown of ['AAAAAAAAAAAAAAAAAAAAAQ', 'AAAAAAAAAAAAAAAAAAAAAA']) {
      const answer = await call(0, 13, produceById(unknown, 0, records));
      assert.equal(answer.responses[0].topicId, unknown);
      assert.equal(answer.responses[0].partitionResponses[0].errorCode, UNKNOWN_TOPIC_ID);
    }
    const badPartition = await call(0, 13, produceById(topicId, 5, records));
    assert.equal(badPartition.responses[0].partitionResponses[0].errorCode, UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('ListTransactions v2 keeps the ids the whole of which match the pattern; a bad one is INVALID_REGULAR_EXPRESSION', async () => {
    for (const transactionalId of ['tx-abc', 'tx-abd', 'other']) {
      await untilServed(
        async () =>
          (await call(10, 4, { keyType: 1, coordinatorKeys: [transactionalId] })).coordinators[0].errorCode,
      );
      await untilServed(
        async () =>
          (
            await call(22, 5, {
              transactionalId,
              transactionTimeoutMs: 60_000,
              producerId: -1n,
              producerEpoch: -1,
            })
          ).errorCode,
      );
    }
    const expected: [string | null, number, string[]][] = [
      [null, 0, ['other', 'tx-abc', 'tx-abd']],
      ['', 0, ['other', 'tx-abc', 'tx-abd']],
      ['tx-ab', 0, []],
      ['tx-ab.', 0, ['tx-abc', 'tx-abd']],
      ['.*abc', 0, ['tx-abc']],
      ['(', INVALID_REGULAR_EXPRESSION, []],
      ['[a-', INVALID_REGULAR_EXPRESSION, []],
    ];
    for (const [pattern, errorCode, ids] of expected) {
      const answer = await call(66, 2, {
        stateFilters: [],
        producerIdFilters: [],
        durationFilter: -1n,
        transactionalIdPattern: pattern,
      });
      const listed = answer.transactionStates
        .map((state: { transactionalId: string }) => state.transactionalId)
        .sort();
      assert.deepEqual([answer.errorCode, listed], [errorCode, ids], `pattern ${JSON.stringify(pattern)}`);
    }
  });

  it("Kafka's Java producer 4.1.1 sends v13 and its records are stored", async () => {
    produceVersions.clear();
    await createTopic('java-v13');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        PERF_TEST,
        [
          '--topic',
          'java-v13',
          '--num-records',
          '200',
          '--record-size',
          '100',
          '--throughput',
          '-1',
          '--producer-props',
          `bootstrap.servers=127.0.0.1:${PORT}`,
          'acks=all',
        ],
        { timeout: JVM_TIMEOUT_MS },
        (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
      );
    });
    assert.match(output, /200 records sent/);
    assert.deepEqual([...produceVersions], [13]);
    const offsets = await call(2, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: 'java-v13', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
      ],
    });
    assert.equal(offsets.topics[0].partitions[0].offset, 200n);
  });
});

describe('Produce v13 under ACLs: the names of the ids are authorized', { timeout: 120_000 }, () => {
  const aclDir = mkdtempSync(join(tmpdir(), 'kstack-produce-topic-ids-acl-'));
  const secured = new Broker({
    dataDir: aclDir,
    host: '127.0.0.1',
    port: ACL_PLAINTEXT,
    config: {
      listeners: `PLAINTEXT://127.0.0.1:${ACL_PLAINTEXT},SASL_PLAINTEXT://127.0.0.1:${ACL_SASL}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS({ alice: 'alice-secret' }),
      'authorizer.class.name': STANDARD_AUTHORIZER,
      'super.users': 'User:ANONYMOUS',
    },
  });
  after(async () => {
    await secured.stop();
    rmSync(aclDir, { recursive: true, force: true });
  });

  it('alice writes by id where she may, is refused by id elsewhere, an unknown id is UNKNOWN_TOPIC_ID', async () => {
    await secured.start();
    const admin = await WireClient.connect(ACL_PLAINTEXT);
    const ask = async (
      client: WireClient,
      apiKey: number,
      version: number,
      body: Record<string, unknown>,
    ) => {
      const answer = await client.request(apiKey, version, body);
      assert.notEqual(answer, 'closed');
      return answer as Answer;
    };
    const created = await ask(admin, 19, 7, {
      topics: ['allowed', 'denied'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const ids = new Map<string, string>(
      created.topics.map((t: { name: string; topicId: string }) => [t.name, t.topicId]),
    );
    // WRITE on topic "allowed" for User:alice (resource type 2 topic, literal 3, operation 4 write, allow 3).
    const acls = await ask(admin, 30, 3, {
      creations: [
        {
          resourceType: 2,
          resourceName: 'allowed',
          resourcePatternType: 3,
          principal: 'User:alice',
          host: '*',
          operation: 4,
          permissionType: 3,
        },
      ],
    });
    assert.equal(acls.results[0].errorCode, 0);
    admin.close();
    const alice = await WireClient.connect(ACL_SASL);
    await ask(alice, 17, 1, { mechanism: 'PLAIN' });
    assert.equal((await ask(alice, 36, 2, { authBytes: Buffer.from('\0alice\0alice-secret') })).errorCode, 0);
    const records = await encodeRecordBatch({
      records: [{ key: null, value: Buffer.from('a'), timestamp: Date.now() }],
    });
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const answer = await ask(alice, 0, 13, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [ids.get('allowed'), ids.get('denied'), unknown].map((topicId) => ({
        topicId,
        partitionData: [{ index: 0, records }],
      })),
    });
    const byId = new Map(
      answer.responses.map((r: { topicId: string; partitionResponses: { errorCode: number }[] }) => [
        r.topicId,
        r.partitionResponses[0]!.errorCode,
      ]),
    );
    assert.deepEqual(
      [byId.get(ids.get('allowed')), byId.get(ids.get('denied')), byId.get(unknown)],
      [0, TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_ID],
    );
    alice.close();
  });
});
