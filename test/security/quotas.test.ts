/**
 * Client quotas: Kafka's rate and throttle arithmetic (a fake clock), the store's checks with the
 * messages Apache Kafka 4.1.1 answered to `kafka-configs` (fractional and non-positive byte rates,
 * measured on the reference), the precedence of quota entities, and an in-process broker on a real
 * socket: AlterClientQuotas / DescribeClientQuotas, validateOnly, a restart, and Produce and Fetch
 * throttled with the connection muted for the throttle time.
 * Ports (docs/team-rules.md): an in-process broker 23620.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import {
  type ClientQuotaMetadataRecord,
  ClientQuotaStore,
  QuotaEnforcer,
  RateSensor,
  throttleTimeMs,
} from '../../src/security/quotas.ts';
import { batchOf } from '../records/faulty-batches.ts';
import { WireClient } from './support.ts';

const PORT = 23620;
/** A decoded response, read by field name in these tests. */
// biome-ignore lint/suspicious/noExplicitAny: responses are read by field name.
type Answer = any;
const MB = 1_048_576;
const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';

/** A store that applies its records at once (one broker). */
function store(): ClientQuotaStore {
  return new ClientQuotaStore(() => true);
}

function set(s: ClientQuotaStore, entity: Record<string, string | null>, key: string, value: number): void {
  const outcome = s.alter(
    Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName })),
    [{ key, value, remove: false }],
  );
  assert.ok(outcome.ok, JSON.stringify(outcome));
  s.commit(outcome.records);
}

describe('Kafka rate and throttle arithmetic', () => {
  it('a cold sensor counts at least window.num - 1 windows: 20 MB at once against 1 MB/s throttles 10 s', () => {
    const sensor = new RateSensor(11, 1000);
    sensor.record(20 * MB, 0);
    // Rate = 20 MB / 10 s = 2 MB/s; throttle = (2 - 1) / 1 × 10,000 ms.
    assert.equal(sensor.rate(0), 2 * MB);
    assert.equal(throttleTimeMs(sensor, MB, 0), 10_000);
    // Within the bound: no throttle.
    assert.equal(throttleTimeMs(sensor, 4 * MB, 0), 0);
  });

  it('after 11 full windows the old sample is gone, and 12 windows later the window is 10 s again', () => {
    const sensor = new RateSensor(11, 1000);
    sensor.record(5 * MB, 0);
    for (let t = 1000; t <= 10_000; t += 1000) sensor.record(MB, t);
    // 11 samples (0..10 s), the oldest began at 0: window 10.5 s at 10.5 s.
    assert.equal(sensor.windowMs(10_500), 10_500);
    assert.equal(sensor.rate(10_500), (15 * MB) / 10.5);
    // At 11 s the first sample (5 MB) has expired: 10 MB over the 10 windows left.
    assert.equal(Math.round(sensor.rate(11_000)), Math.round((10 * MB) / 10));
  });

  it('the enforcer shares one sensor per metric tags and takes back an unrecorded fetch', () => {
    const s = store();
    set(s, { user: 'alice' }, 'consumer_byte_rate', MB);
    const enforcer = new QuotaEnforcer(s, 11, 1000);
    // alice's two clients share her user quota.
    assert.equal(enforcer.record('consumer_byte_rate', 'alice', 'a', 6 * MB, 0), 0);
    assert.equal(enforcer.record('consumer_byte_rate', 'alice', 'b', 6 * MB, 0), 2000);
    enforcer.unrecord('consumer_byte_rate', 'alice', 'b', 6 * MB, 0);
    assert.equal(enforcer.record('consumer_byte_rate', 'alice', 'b', 4 * MB, 0), 0);
    // No quota for bob, nor for producing: never throttled.
    assert.equal(enforcer.record('consumer_byte_rate', 'bob', 'a', 100 * MB, 0), 0);
    assert.equal(enforcer.record('producer_byte_rate', 'alice', 'a', 100 * MB, 0), 0);
    // One fetch carries at most the quota's whole window (10 windows of 1 s).
    assert.equal(enforcer.maxValueInWindow('consumer_byte_rate', 'alice', 'x'), 10 * MB);
  });
});

describe('quota entities and their checks', () => {
  it("Kafka's precedence: user+client, user+default client, user, default user+client, ... default client", () => {
    const s = store();
    const key = 'producer_byte_rate';
    set(s, { 'client-id': null }, key, 8);
    assert.deepEqual(s.lookup(key, 'u', 'c'), { limit: 8, tags: '["","c"]' });
    set(s, { 'client-id': 'c' }, key, 7);
    assert.equal(s.lookup(key, 'u', 'c')?.limit, 7);
    set(s, { user: null }, key, 6);
    assert.deepEqual(s.lookup(key, 'u', 'c'), { limit: 6, tags: '["u",""]' });
    set(s, { user: null, 'client-id': null }, key, 5);
    assert.deepEqual(s.lookup(key, 'u', 'c'), { limit: 5, tags: '["u","c"]' });
    set(s, { user: null, 'client-id': 'c' }, key, 4);
    assert.equal(s.lookup(key, 'u', 'c')?.limit, 4);
    set(s, { user: 'u' }, key, 3);
    assert.deepEqual(s.lookup(key, 'u', 'c'), { limit: 3, tags: '["u",""]' });
    set(s, { user: 'u', 'client-id': null }, key, 2);
    assert.equal(s.lookup(key, 'u', 'c')?.limit, 2);
    set(s, { user: 'u', 'client-id': 'c' }, key, 1);
    assert.deepEqual(s.lookup(key, 'u', 'c'), { limit: 1, tags: '["u","c"]' });
    // Another user falls back to the default user's quotas.
    assert.equal(s.lookup(key, 'v', 'c')?.limit, 4);
    assert.equal(s.lookup('consumer_byte_rate', 'u', 'c'), undefined);
  });

  it('refusals with the messages Kafka 4.1.1 gives', () => {
    const s = store();
    const alter = (entity: Record<string, string | null>, key: string, value: number) =>
      s.alter(
        Object.entries(entity).map(([entityType, entityName]) => ({ entityType, entityName })),
        [{ key, value, remove: false }],
      );
    const refusal = (outcome: ReturnType<typeof alter>) =>
      outcome.ok ? 'ok' : `${outcome.code} ${outcome.message}`;
    // Both measured with kafka-configs against Apache Kafka 4.1.1.
    assert.equal(
      refusal(alter({ 'client-id': 'c1' }, 'producer_byte_rate', 1.5)),
      '42 producer_byte_rate cannot be a fractional value.',
    );
    assert.equal(
      refusal(alter({ 'client-id': 'c1' }, 'producer_byte_rate', -1)),
      '42 Quota producer_byte_rate must be greater than 0',
    );
    assert.equal(refusal(alter({ 'client-id': 'c1' }, 'bogus', 1)), '42 Invalid configuration key bogus');
    assert.equal(
      refusal(alter({ group: 'g' }, 'producer_byte_rate', 1)),
      '42 Unhandled client quota entity type: group',
    );
    assert.equal(refusal(alter({}, 'producer_byte_rate', 1)), '42 Invalid empty client quota entity');
    assert.equal(refusal(alter({ user: '' }, 'producer_byte_rate', 1)), '42 Empty user not supported');
    assert.equal(refusal(alter({ 'client-id': 'c1' }, 'request_percentage', 12.5)), 'ok');
    const duplicate = s.alter(
      [{ entityType: 'client-id', entityName: 'c1' }],
      [
        { key: 'producer_byte_rate', value: 1, remove: false },
        { key: 'producer_byte_rate', value: 2, remove: false },
      ],
    );
    assert.equal(duplicate.ok, false);
    assert.throws(
      () => s.describe([{ entityType: 'group', matchType: 2, match: null }], false),
      /Unsupported entity type group/,
    );
    assert.throws(
      () => s.describe([{ entityType: 'user', matchType: 0, match: null }], false),
      /MATCH_TYPE_EXACT, but set match string to null/,
    );
  });

  it('describe filters as kafka-configs --describe lists them on Kafka (strict, by type, default)', () => {
    const s = store();
    set(s, { 'client-id': 'c1' }, 'producer_byte_rate', MB);
    set(s, { user: 'alice', 'client-id': 'c2' }, 'consumer_byte_rate', 2048);
    set(s, { user: null }, 'consumer_byte_rate', 4096);
    const names = (entries: ReturnType<ClientQuotaStore['describe']>) =>
      entries.map((e) => e.entity.map((c) => `${c.entityType}=${c.entityName}`).join(',')).sort();
    assert.deepEqual(names(s.describe([{ entityType: 'user', matchType: 2, match: null }], true)), [
      'user=null',
    ]);
    assert.deepEqual(names(s.describe([{ entityType: 'client-id', matchType: 2, match: null }], true)), [
      'client-id=c1',
    ]);
    assert.deepEqual(
      names(
        s.describe(
          [
            { entityType: 'user', matchType: 2, match: null },
            { entityType: 'client-id', matchType: 2, match: null },
          ],
          true,
        ),
      ),
      ['user=alice,client-id=c2'],
    );
    assert.deepEqual(names(s.describe([{ entityType: 'user', matchType: 0, match: 'alice' }], false)), [
      'user=alice,client-id=c2',
    ]);
    assert.equal(s.describe([], false).length, 3);
    // Removing the last key removes the entity.
    const removal = s.alter(
      [{ entityType: 'user', entityName: null }],
      [{ key: 'consumer_byte_rate', value: 0, remove: true }],
    );
    assert.ok(removal.ok);
    s.commit(removal.records);
    assert.equal(s.describe([], false).length, 2);
    // A record that changes nothing is not written.
    const same = s.alter(
      [{ entityType: 'client-id', entityName: 'c1' }],
      [{ key: 'producer_byte_rate', value: MB, remove: false }],
    );
    assert.deepEqual(same, { ok: true, records: [] as ClientQuotaMetadataRecord[] });
  });
});

describe('quotas on the embedded broker', { timeout: 120_000 }, () => {
  let dataDir: string;
  let broker: Broker | undefined;
  let client: WireClient | undefined;
  const start = async (): Promise<void> => {
    broker = new Broker({ dataDir: join(dataDir, 'broker'), host: '127.0.0.1', port: PORT });
    await broker.start();
    client = await WireClient.connect(PORT);
  };
  const stop = async (): Promise<void> => {
    client?.close();
    await broker?.stop();
  };
  const ask = async (apiKey: number, version: number, body: Record<string, unknown>) => {
    const answer = await client!.request(apiKey, version, body);
    assert.notEqual(answer, 'closed');
    return answer as Answer;
  };
  const alter = (entries: unknown[], validateOnly = false) => ask(49, 1, { entries, validateOnly });
  const describeAll = () => ask(48, 1, { components: [], strict: false });
  // The WireClient's client id.
  const CLIENT = [{ entityType: 'client-id', entityName: 'security-test' }];
  // The default user's quotas come before the client id's in Kafka's precedence.
  const ANY_USER = [{ entityType: 'user', entityName: null }];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-quotas-'));
    await start();
    const created = await ask(19, 5, {
      topics: [{ name: 'q', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
    assert.equal(created.topics[0].errorCode, 0);
  });

  after(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('AlterClientQuotas and DescribeClientQuotas; validateOnly writes nothing; quotas survive a restart', async () => {
    const checked = await alter(
      [{ entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: 1000, remove: false }] }],
      true,
    );
    assert.deepEqual(checked.entries, [{ errorCode: 0, errorMessage: null, entity: CLIENT }]);
    assert.deepEqual((await describeAll()).entries, []);
    const refused = await alter([
      { entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: 0.5, remove: false }] },
      {
        entity: [{ entityType: 'user', entityName: null }],
        ops: [{ key: 'consumer_byte_rate', value: 5000, remove: false }],
      },
    ]);
    assert.deepEqual(
      refused.entries.map((e: { errorCode: number; errorMessage: string | null }) => [
        e.errorCode,
        e.errorMessage,
      ]),
      [
        [42, 'producer_byte_rate cannot be a fractional value.'],
        [0, null],
      ],
    );
    await stop();
    await start();
    const described = await describeAll();
    assert.equal(described.errorCode, 0);
    assert.deepEqual(described.entries, [
      {
        entity: [{ entityType: 'user', entityName: null }],
        values: [{ key: 'consumer_byte_rate', value: 5000 }],
      },
    ]);
    const bad = await ask(48, 1, {
      components: [{ entityType: 'user', matchType: 1, match: 'x' }],
      strict: false,
    });
    assert.deepEqual(
      [bad.errorCode, bad.errorMessage, bad.entries],
      [42, 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.', null],
    );
  });

  it('a Produce over producer_byte_rate answers throttle_time_ms and the connection is muted that long', async () => {
    const altered = await alter([
      { entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: 2500, remove: false }] },
    ]);
    assert.equal(altered.entries[0].errorCode, 0);
    const value = Buffer.alloc(30_000, 7);
    const records = batchOf(0, Date.now(), [{ timestampDelta: 0, offsetDelta: 0, key: null, value }]);
    const produce = () =>
      ask(0, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: 'q', partitionData: [{ index: 0, records }] }],
      });
    const answer = await produce();
    assert.equal(answer.responses[0].partitionResponses[0].errorCode, 0);
    // ~30 KB against 2500 B/s over the cold 10 s window: (3000 - 2500) / 2500 × 10 s ≈ 2 s.
    assert.ok(
      answer.throttleTimeMs > 1_500 && answer.throttleTimeMs < 2_500,
      `throttle ${answer.throttleTimeMs} ms`,
    );
    // The next request on this connection is read only once the throttle is over.
    const sentAt = performance.now();
    const pending = ask(18, 3, { clientSoftwareName: 'quota-test', clientSoftwareVersion: '1' });
    // Meanwhile the quota is lifted from another connection, which is not muted.
    const other = await WireClient.connect(PORT);
    const lifted = await other.request(49, 1, {
      entries: [{ entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: 1e9, remove: false }] }],
      validateOnly: false,
    });
    other.close();
    assert.notEqual(lifted, 'closed');
    assert.ok(performance.now() - sentAt < answer.throttleTimeMs, 'the other connection was not muted');
    const second = await pending;
    const waitedMs = performance.now() - sentAt;
    assert.equal(second.errorCode, 0);
    // Muted from when the throttled answer was written (just before it arrived here).
    assert.ok(waitedMs >= answer.throttleTimeMs - 250, `answered after ${waitedMs.toFixed(0)} ms`);
    // Unmuted with a quota far above the rate: no throttle now.
    assert.equal((await produce()).throttleTimeMs, 0);
  });

  it('a Fetch over consumer_byte_rate answers no records with its throttle time, and records later', async () => {
    const altered = await alter([
      { entity: ANY_USER, ops: [{ key: 'consumer_byte_rate', value: 2500, remove: false }] },
    ]);
    assert.equal(altered.entries[0].errorCode, 0);
    const fetch = () =>
      ask(1, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 50 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'q',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 0n,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: 1_000_000,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
    // The answer is capped at the quota's window (25,000 B), but the first batch (~30 KB) goes whole
    // (KIP-74): 3000 B/s against 2500 over the cold 10 s window: throttled about 2 s, no records.
    const answer = await fetch();
    assert.ok(
      answer.throttleTimeMs > 1_500 && answer.throttleTimeMs < 2_500,
      `throttle ${answer.throttleTimeMs} ms`,
    );
    assert.deepEqual(answer.responses, []);
    // Unrecorded: with the quota lifted the same fetch gets its records (after the mute).
    const other = await WireClient.connect(PORT);
    await other.request(49, 1, {
      entries: [{ entity: ANY_USER, ops: [{ key: 'consumer_byte_rate', value: 1e9, remove: false }] }],
      validateOnly: false,
    });
    other.close();
    const again = await fetch();
    assert.equal(again.throttleTimeMs, 0);
    // Both batches now (the cap is gone with the quota).
    assert.ok(again.responses[0].partitions[0].records.length > 60_000);
  });

  it('an acks=0 Produce over producer_byte_rate gets no answer, and its connection is muted for the throttle', async () => {
    // A sensor of its own: the default user's quota comes first in Kafka's precedence (tags ANONYMOUS, '').
    const altered = await alter([
      { entity: ANY_USER, ops: [{ key: 'producer_byte_rate', value: 2500, remove: false }] },
    ]);
    assert.equal(altered.entries[0].errorCode, 0);
    const value = Buffer.alloc(30_000, 9);
    const records = batchOf(0, Date.now(), [{ timestampDelta: 0, offsetDelta: 0, key: null, value }]);
    // ~30 KB against 2500 B/s over the cold 10 s window: a throttle of about 2 s, in no answer.
    client!.send(0, 9, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 30_000,
      topicData: [{ name: 'q', partitionData: [{ index: 0, records }] }],
    });
    const sentAt = performance.now();
    const next = await ask(18, 3, { clientSoftwareName: 'quota-test', clientSoftwareVersion: '1' });
    const waitedMs = performance.now() - sentAt;
    assert.equal(next.errorCode, 0);
    assert.ok(waitedMs >= 1_500, `the next request was answered after ${waitedMs.toFixed(0)} ms`);
    // Written all the same: the log end moved past the record (ListOffsets, latest).
    const offsets = await ask(2, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'q', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    const endOffset = offsets.topics[0].partitions[0].offset;
    const removed = await alter([
      { entity: ANY_USER, ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] },
    ]);
    assert.equal(removed.entries[0].errorCode, 0);
    // Without a quota the next acks=0 Produce is written too (no timing asserted: a loaded machine).
    client!.send(0, 9, {
      transactionalId: null,
      acks: 0,
      timeoutMs: 30_000,
      topicData: [{ name: 'q', partitionData: [{ index: 0, records }] }],
    });
    const after = await ask(2, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'q', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.equal(after.topics[0].partitions[0].offset, endOffset + 1n);
  });

  it('controller_mutation_rate: the mutation that empties the bucket passes, the next is refused per topic (v6+) or throttled (older)', async () => {
    // On connections of their own (same user and client id, one bucket): a throttled answer mutes its connection.
    const once = async (apiKey: number, version: number, body: Record<string, unknown>) => {
      const connection = await WireClient.connect(PORT);
      const answer = await connection.request(apiKey, version, body);
      connection.close();
      assert.notEqual(answer, 'closed');
      return answer as Answer;
    };
    const topic = (name: string, numPartitions: number) => ({
      name,
      numPartitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    });
    const create = (version: number, topics: unknown[]) =>
      once(19, version, { topics, timeoutMs: 30_000, validateOnly: false });
    // 2 partitions/s: a bucket of 2 × 11 windows × 1 s = 22 tokens, full at the start (KIP-599).
    const altered = await alter([
      { entity: ANY_USER, ops: [{ key: 'controller_mutation_rate', value: 2, remove: false }] },
    ]);
    assert.equal(altered.entries[0].errorCode, 0);
    const first = await create(7, [topic('m1', 30)]);
    assert.deepEqual([first.topics[0].errorCode, first.throttleTimeMs], [0, 0]);
    // 8 tokens short: refused for -tokens / rate = 4 s less the time since.
    const second = await create(7, [topic('m2', 1), topic('m1', 1)]);
    assert.deepEqual(
      second.topics.map((t: { name: string; errorCode: number; errorMessage: string | null }) => [
        t.name,
        t.errorCode,
        t.errorMessage,
      ]),
      [
        ['m2', 89, null],
        ['m1', 36, "Topic 'm1' already exists."],
      ],
    );
    assert.ok(
      second.throttleTimeMs > 0 && second.throttleTimeMs <= 4_000,
      `throttle ${second.throttleTimeMs} ms`,
    );
    const grow = await once(37, 3, {
      topics: [{ name: 'm1', count: 31, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.deepEqual([grow.results[0].errorCode, grow.results[0].errorMessage], [89, null]);
    assert.ok(grow.throttleTimeMs > 0, `throttle ${grow.throttleTimeMs} ms`);
    const deleted = await once(20, 6, { topics: [{ name: 'm1', topicId: ZERO }], timeoutMs: 30_000 });
    assert.equal(deleted.responses[0].errorCode, 89);
    // CreateTopics v5 knows no THROTTLING_QUOTA_EXCEEDED: created, and throttled.
    const old = await create(5, [topic('m3', 10)]);
    assert.equal(old.topics[0].errorCode, 0);
    assert.ok(old.throttleTimeMs > 0, `throttle ${old.throttleTimeMs} ms`);
    const removed = await alter([
      { entity: ANY_USER, ops: [{ key: 'controller_mutation_rate', value: 0, remove: true }] },
    ]);
    assert.equal(removed.entries[0].errorCode, 0);
    const cleanup = await once(20, 6, {
      topics: ['m1', 'm3'].map((name) => ({ name, topicId: ZERO })),
      timeoutMs: 30_000,
    });
    assert.deepEqual(
      [cleanup.throttleTimeMs, ...cleanup.responses.map((r: { errorCode: number }) => r.errorCode)],
      [0, 0, 0],
    );
  });

  it('request_percentage: handling time over the quota throttles the answer, at most one window, and mutes', async () => {
    // 10^-6 % of a thread: any request is over it; Kafka caps the throttle at quota.window.size.seconds
    // (Apache Kafka 4.1.1 answered ApiVersions so: throttle 1000 ms, the next request 990 ms later).
    const connection = await WireClient.connect(PORT);
    const ask1 = async (apiKey: number, version: number, body: Record<string, unknown>) => {
      const answer = await connection.request(apiKey, version, body);
      assert.notEqual(answer, 'closed');
      return answer as Answer;
    };
    const versions = () => ask1(18, 3, { clientSoftwareName: 'quota-test', clientSoftwareVersion: '1' });
    const on = await ask1(49, 1, {
      entries: [{ entity: ANY_USER, ops: [{ key: 'request_percentage', value: 1e-6, remove: false }] }],
      validateOnly: false,
    });
    assert.equal(on.entries[0].errorCode, 0);
    const metadata = await ask1(3, 12, {
      topics: [{ name: 'q', topicId: ZERO }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.deepEqual([metadata.throttleTimeMs, metadata.topics[0].errorCode], [1_000, 0]);
    // Read only once the mute of the answer before is over.
    const sentAt = performance.now();
    const next = await versions();
    const waitedMs = performance.now() - sentAt;
    assert.equal(next.throttleTimeMs, 1_000);
    assert.ok(waitedMs >= 800, `answered after ${waitedMs.toFixed(0)} ms`);
    const off = await ask1(49, 1, {
      entries: [{ entity: ANY_USER, ops: [{ key: 'request_percentage', value: 0, remove: true }] }],
      validateOnly: false,
    });
    assert.equal(off.entries[0].errorCode, 0);
    assert.equal((await versions()).throttleTimeMs, 0);
    connection.close();
  });
});
