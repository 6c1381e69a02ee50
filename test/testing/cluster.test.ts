/**
 * startKafka({ brokers: 3 }) as a user's suite uses it: three in-process nodes on free ports, real
 * sockets and files, kafkajs (a client we did not write). Ready means the internal topics (RF 3,
 * min ISR 2) and the baseline topics are led with their full ISR. Then serve.ts --brokers 3 (what
 * other languages start) over HTTP: kill the leader, wait for a new one and the shrunk ISR, restart,
 * ISR back. Killing a leader under client load is in cluster-faults.slow.ts (30 s at load 37: the
 * 4 s broker session, then the client's metadata retries).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { KafkaTestingError, startKafka, type TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const TOPIC = 'payments';

const ROOT = join(import.meta.dirname, '..', '..');
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;

let kafka: TestKafkaCluster;
before(async () => {
  kafka = await startKafka({
    brokers: 3,
    topics: [
      { name: TOPIC, partitions: 1, configs: { 'min.insync.replicas': '2' } },
      { name: 'orders', partitions: 3 },
    ],
  });
  console.log(
    `three brokers ready in ${Math.round(kafka.timings.startToReadyMs)} ms: ${kafka.bootstrapServers}`,
  );
});
after(() => kafka?.stop());

function client(clientId: string): Kafka {
  return kafkajsClient(clientId, kafka.bootstrapAddresses);
}

describe('startKafka({ brokers: 3 })', () => {
  test('is ready: three brokers, internal topics at RF 3 with min ISR 2, baseline topics led', async () => {
    assert.equal(kafka.bootstrapAddresses.length, 3);
    assert.equal(new Set(kafka.bootstrapAddresses).size, 3, 'three distinct ports');
    // Right after start, without waiting: every node's image already has all of it.
    for (const node of kafka.nodes()) {
      const image = node.broker.metadata();
      assert.deepEqual(
        image
          .brokers()
          .map((b) => b.nodeId)
          .sort(),
        [1, 2, 3],
      );
      for (const [name, partitions] of [
        ['__consumer_offsets', 1],
        ['__transaction_state', 1],
        [TOPIC, 1],
        ['orders', 3],
      ] as const) {
        const topic = image.topic(name);
        assert.ok(topic, `${name} on node ${node.nodeId}`);
        assert.equal(topic.partitions.length, partitions, name);
        for (const p of topic.partitions) {
          assert.equal(p.replicas.length, 3, `${name}-${p.partitionIndex} RF 3`);
          assert.equal(p.isr.length, 3, `${name}-${p.partitionIndex} full ISR`);
          assert.ok(p.leaderId > 0, `${name}-${p.partitionIndex} led`);
        }
      }
    }
    // As a client sees it: Metadata through each broker, and the configs Kafka would report.
    const admin = client('ready').admin();
    await admin.connect();
    try {
      const described = await admin.describeCluster();
      assert.deepEqual(
        described.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).sort(),
        kafka.bootstrapAddresses.map((address, i) => `${i + 1}=${address}`),
      );
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: ['__transaction_state', '__consumer_offsets'].map((name) => ({
          type: 2,
          name,
          configNames: ['min.insync.replicas'],
        })),
      });
      for (const resource of configs.resources) {
        assert.equal(
          resource.configEntries.find((entry) => entry.configName === 'min.insync.replicas')?.configValue,
          '2',
          `${resource.resourceName} min.insync.replicas`,
        );
      }
    } finally {
      await admin.disconnect();
    }
  });

  test('reset() on three brokers: topics, records, groups and committed offsets back to the baseline', {
    timeout: 4 * WAIT_MS,
  }, async () => {
    const topicId = (name: string) => kafka.nodes()[0]!.broker.metadata().topic(name)?.topicId;
    const admin = client('reset-admin').admin();
    const producer = client('reset-writer').producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      await admin.createTopics({ topics: [{ topic: 'scratch', numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
      await producer.send({ topic: 'scratch', acks: -1, messages: [{ value: 'c' }] });
      await admin.setOffsets({
        groupId: 'reset-group',
        topic: 'orders',
        partitions: [{ partition: 0, offset: '1' }],
      });
      assert.ok((await admin.listGroups()).groups.some((g) => g.groupId === 'reset-group'));
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
    // A group with a live member is refused by name; once its consumer leaves, reset() goes on.
    const consumer = client('reset-consumer').consumer({ groupId: 'reset-live', sessionTimeout: 10_000 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      let joined!: () => void;
      const inGroup = new Promise<void>((resolve) => {
        joined = resolve;
      });
      consumer.on(consumer.events.GROUP_JOIN, () => joined());
      await consumer.run({ eachMessage: async () => {} });
      await inGroup;
      await assert.rejects(
        kafka.reset(),
        (error: unknown) =>
          error instanceof KafkaTestingError &&
          error.code === 'GROUP_NOT_EMPTY' &&
          error.httpStatus === 409 &&
          /'reset-live' still has members/.test(error.message),
      );
    } finally {
      await consumer.disconnect();
    }
    const before = topicId('orders');
    const resetMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      await kafka.reset();
      resetMs.push(kafka.timings.lastResetMs!);
    }
    console.log(`reset() on three brokers: ${resetMs.map(Math.round).join(', ')} ms (the first with data)`);
    const images = kafka.nodes().map((node) => node.broker.metadata());
    for (const image of images) {
      assert.deepEqual(
        [...image.topics()]
          .filter((t) => !t.internal)
          .map((t) => t.name)
          .sort(),
        ['orders', TOPIC],
        'only the baseline topics',
      );
    }
    assert.notEqual(topicId('orders'), before, 'orders re-created with a new topic id');
    const after = client('after-reset').admin();
    const writer = client('after-reset-writer').producer({ allowAutoTopicCreation: false });
    await Promise.all([after.connect(), writer.connect()]);
    try {
      assert.deepEqual(
        (await after.fetchTopicOffsets('orders')).map((p) => p.high),
        ['0', '0', '0'],
        'orders empty',
      );
      assert.ok(
        !(await after.listGroups()).groups.some((g) => g.groupId === 'reset-group'),
        'the group is gone',
      );
      const [committed] = await after.fetchOffsets({ groupId: 'reset-group', topics: ['orders'] });
      assert.ok(
        committed!.partitions.every((p) => p.offset === '-1'),
        JSON.stringify(committed),
      );
      const [written] = await writer.send({
        topic: 'orders',
        acks: -1,
        messages: [{ key: 'k', value: 'after' }],
      });
      assert.equal(written?.errorCode, 0);
    } finally {
      await Promise.all([after.disconnect(), writer.disconnect()]);
    }
  });

  test('refuses what it does not serve on three brokers, by name', async () => {
    await assert.rejects(
      startKafka({ brokers: 3, port: 9 }),
      (error: unknown) => error instanceof KafkaTestingError && error.code === 'OPTION_INVALID',
    );
    await assert.rejects(
      kafka.clock.advance(1),
      (error: unknown) => error instanceof KafkaTestingError && error.code === 'CLOCK_NOT_MANUAL',
    );
    assert.throws(
      () => kafka.broker(4),
      (error: unknown) =>
        error instanceof KafkaTestingError && /node 4 is not in this cluster/.test(error.message),
    );
    const first = kafka.namespace();
    assert.notEqual(first.prefix, kafka.namespace().prefix);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the replies have several JSON shapes, checked field by field
async function call(url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method: body === null ? 'GET' : 'POST',
    ...(body === undefined || body === null
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

test('serve.ts --brokers 3: kill, wait for the new leader and the shrunk ISR, restart, ISR back, over HTTP', {
  timeout: 4 * WAIT_MS,
}, async () => {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'src/testing/serve.ts'),
      '--brokers',
      '3',
      '--topics-file',
      join(import.meta.dirname, 'fixtures', 'cluster-topics.txt'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serve.ts --brokers 3 not ready in time')), WAIT_MS);
      createInterface({ input: child.stdout }).once('line', (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      child.once('exit', (code) => reject(new Error(`serve.ts exited with ${code}`)));
    });
    const { controlUrl, bootstrapServers } = JSON.parse(line) as {
      controlUrl: string;
      bootstrapServers: string;
    };
    assert.equal(bootstrapServers.split(',').length, 3, bootstrapServers);
    const described = await call(`${controlUrl}/cluster`, null);
    assert.equal(described.status, 200);
    assert.deepEqual(
      described.json.brokers.map((b: { nodeId: number; running: boolean }) => [b.nodeId, b.running]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    );
    // Refusals by name: an unknown node, an unknown action, a bad body, what three brokers do not serve.
    assert.equal((await call(`${controlUrl}/brokers/7/kill`, {})).json.error_code, 'OPTION_INVALID');
    assert.equal((await call(`${controlUrl}/brokers/1/freeze`, {})).json.error_code, 'REQUEST_INVALID');
    assert.equal((await call(`${controlUrl}/wait/leader`, { topic: 'audit' })).status, 400);
    const reset = await call(`${controlUrl}/reset`, {});
    assert.equal(reset.status, 200, JSON.stringify(reset.json));
    assert.equal(typeof reset.json.resetMs, 'number');

    const leader = (await call(`${controlUrl}/wait/leader`, { topic: 'audit', partition: 0 })).json.leaderId;
    assert.ok([1, 2, 3].includes(leader), `leader ${leader}`);
    const killed = await call(`${controlUrl}/brokers/${leader}/kill`, {});
    const noFaults = { isolatedFrom: null, delayMs: 0, delayFrom: null, paused: false };
    assert.deepEqual(
      [killed.status, killed.json],
      [200, { nodeId: leader, running: false, faults: noFaults }],
    );
    const again = await call(`${controlUrl}/brokers/${leader}/kill`, {});
    assert.deepEqual([again.status, again.json.error_code], [409, 'NODE_STOPPED']);
    const resetDown = await call(`${controlUrl}/reset`, {});
    assert.deepEqual([resetDown.status, resetDown.json.error_code], [409, 'NODE_STOPPED']);
    assert.match(resetDown.json.message, new RegExp(`restart node ${leader}`));
    const next = await call(`${controlUrl}/wait/leader`, { topic: 'audit', partition: 0, not: leader });
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.notEqual(next.json.leaderId, leader);
    const shrunk = await call(`${controlUrl}/wait/isr`, { topic: 'audit', partition: 0, excludes: leader });
    assert.equal(shrunk.status, 200, JSON.stringify(shrunk.json));
    assert.equal(shrunk.json.isr.length, 2);
    // A wait that cannot be met in time answers 504 naming what it waited for.
    const full = await call(`${controlUrl}/wait/isr`, { topic: 'audit', partition: 0, timeoutMs: 200 });
    assert.deepEqual([full.status, full.json.error_code], [504, 'WAIT_TIMED_OUT']);
    assert.match(full.json.message, /audit-0: ISR of every replica/);
    const restarted = await call(`${controlUrl}/brokers/${leader}/restart`, {});
    assert.deepEqual(
      [restarted.status, restarted.json],
      [200, { nodeId: leader, running: true, faults: noFaults }],
    );
    // Network faults over HTTP (network-faults.test.ts has them in depth).
    const slowed = await call(`${controlUrl}/brokers/${leader}/slow`, { ms: 50, from: 'clients' });
    assert.deepEqual(slowed.json.faults, {
      isolatedFrom: null,
      delayMs: 50,
      delayFrom: 'clients',
      paused: false,
    });
    const healed = await call(`${controlUrl}/brokers/${leader}/heal`);
    assert.deepEqual(healed.json.faults, noFaults);
    const back = await call(`${controlUrl}/wait/isr`, { topic: 'audit', partition: 0 });
    assert.equal(back.status, 200, JSON.stringify(back.json));
    assert.deepEqual([...back.json.isr].sort(), [1, 2, 3]);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'serve.ts exits 0 on SIGTERM');
  }
});
