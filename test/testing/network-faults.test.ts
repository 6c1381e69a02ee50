/**
 * Network faults on a three-broker test cluster, as a user's suite writes them: the fault proxies
 * of src/engine stand in front of every node in the test process, and clients see only the
 * brokers' addresses. A slowed client link holds each request (kafkajs); the control endpoint
 * takes isolate, slow and heal over HTTP. The leader isolated from its peers under acks=all is in
 * network-faults.slow.ts (the 4 s broker session before the new leader).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { buildControlServer } from '../../src/testing/control-server.ts';
import {
  KafkaTestingError,
  startCluster,
  startKafka,
  type TestKafkaCluster,
} from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const SLOW_TOPIC = 'audit';

let kafka: TestKafkaCluster;
before(async () => {
  kafka = await startKafka({
    brokers: 3,
    topics: [{ name: SLOW_TOPIC, partitions: 1 }],
  });
});
after(() => kafka?.stop());

function client(clientId: string, brokers = kafka.bootstrapAddresses, retries = 30): Kafka {
  return kafkajsClient(clientId, brokers, retries);
}

test('a slowed client link holds each request; heal takes the delay away', {
  timeout: 2 * WAIT_MS,
}, async () => {
  const leader = await kafka.waitForLeader(SLOW_TOPIC, 0);
  const producer = client('audit').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'warm' }] });
    kafka.broker(leader).slow(400, { from: 'clients' });
    assert.deepEqual(kafka.broker(leader).faults, { isolatedFrom: null, delayMs: 400, delayFrom: 'clients' });
    const startedAt = performance.now();
    await producer.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'slow' }] });
    const slowMs = performance.now() - startedAt;
    assert.ok(slowMs >= 400, `a send through a 400 ms link took ${slowMs.toFixed(0)} ms`);
    // Peers are not slowed: replication keeps the ISR full.
    assert.deepEqual([...(await kafka.waitForIsr(SLOW_TOPIC, 0, { timeoutMs: WAIT_MS }))].sort(), [1, 2, 3]);
    kafka.broker(leader).heal();
    const healedAt = performance.now();
    await producer.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'fast' }] });
    console.log(
      `send through a 400 ms client link: ${slowMs.toFixed(0)} ms; after heal ${(performance.now() - healedAt).toFixed(0)} ms`,
    );
  } finally {
    kafka.broker(leader).heal();
    await producer.disconnect();
  }
});

test('the control endpoint takes isolate, slow and heal; bad bodies are refused by name', async () => {
  const app = buildControlServer(kafka);
  try {
    const post = async (url: string, body?: unknown) => {
      const answer = await app.inject({
        method: 'POST',
        url,
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      return { status: answer.statusCode, body: answer.json() as Record<string, unknown> };
    };
    let answer = await post('/brokers/2/isolate', { from: 'clients' });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.faults, { isolatedFrom: 'clients', delayMs: 0, delayFrom: null });
    answer = await post('/brokers/2/slow', { ms: 250, from: 'peers' });
    assert.deepEqual(answer.body.faults, { isolatedFrom: 'clients', delayMs: 250, delayFrom: 'peers' });
    answer = await post('/brokers/2/heal');
    assert.deepEqual(answer.body, {
      nodeId: 2,
      running: true,
      faults: { isolatedFrom: null, delayMs: 0, delayFrom: null },
    });
    for (const [url, body, status, code, words] of [
      ['/brokers/2/isolate', { from: 'everyone' }, 400, 'REQUEST_INVALID', 'peers, clients, all'],
      ['/brokers/2/isolate', { ms: 5 }, 400, 'REQUEST_INVALID', "not 'ms'"],
      ['/brokers/2/slow', undefined, 400, 'REQUEST_INVALID', '"ms"'],
      ['/brokers/2/slow', { ms: 60_001 }, 400, 'OPTION_INVALID', 'LINK_DELAY_MS_MAX'],
      ['/brokers/2/slow', { ms: 1.5 }, 400, 'OPTION_INVALID', 'whole number'],
      ['/brokers/4/isolate', {}, 400, 'OPTION_INVALID', 'node 4'],
      ['/brokers/2/pause', undefined, 400, 'REQUEST_INVALID', 'isolate, slow or heal'],
    ] as const) {
      answer = await post(url, body);
      assert.equal(answer.status, status, `${url} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error_code, code, url);
      assert.match(String(answer.body.message), new RegExp(words.replace(/[.*+?()[\]]/g, '\\$&')), url);
    }
    assert.deepEqual(kafka.broker(2).faults, { isolatedFrom: null, delayMs: 0, delayFrom: null });
  } finally {
    kafka.broker(2).heal();
    await app.close();
  }
});

test('a node isolated from clients: a client that knows only it cannot connect, the cluster stays whole', {
  timeout: 2 * WAIT_MS,
}, async () => {
  const node = 3;
  kafka.broker(node).isolate({ from: 'clients' });
  try {
    const only = client('only-node-3', [kafka.bootstrapAddresses[node - 1]!], 0).admin();
    await assert.rejects(only.connect(), /closed|ECONNRESET|disconnected|Connection/i);
    await only.disconnect();
    // Its peers still reach it: replication keeps every ISR full, and a client of the others works.
    assert.deepEqual([...(await kafka.waitForIsr(SLOW_TOPIC, 0, { timeoutMs: WAIT_MS }))].sort(), [1, 2, 3]);
    const others = client(
      'others',
      kafka.bootstrapAddresses.filter((_, i) => i + 1 !== node),
    ).admin();
    await others.connect();
    try {
      assert.ok((await others.listTopics()).includes(SLOW_TOPIC));
    } finally {
      await others.disconnect();
    }
  } finally {
    kafka.broker(node).heal();
  }
  const again = client('node-3-again', [kafka.bootstrapAddresses[node - 1]!]).admin();
  await again.connect();
  try {
    assert.ok((await again.listTopics()).includes(SLOW_TOPIC), 'reachable again after heal');
  } finally {
    await again.disconnect();
  }
});

test('bad fault options are refused by name; a cluster without fault proxies says so', async () => {
  const invalid = (words: RegExp) => (error: unknown) =>
    error instanceof KafkaTestingError && error.code === 'OPTION_INVALID' && words.test(error.message);
  assert.throws(
    () => kafka.broker(1).isolate({ from: 'nobody' as 'all' }),
    invalid(/'nobody'.*peers, clients, all/),
  );
  assert.throws(() => kafka.broker(1).slow(-1), invalid(/0\.\.60000 \(LINK_DELAY_MS_MAX\)/));
  assert.throws(() => kafka.broker(1).slow(100, { from: 'x' as 'all' }), invalid(/'x'/));
  assert.deepEqual(kafka.broker(1).faults, { isolatedFrom: null, delayMs: 0, delayFrom: null });
  const plain = await startCluster({ nodes: 1, waitReady: false });
  try {
    assert.throws(
      () => plain.broker(1).isolate(),
      (error: unknown) =>
        error instanceof KafkaTestingError &&
        error.code === 'FAULTS_OFF' &&
        error.httpStatus === 409 &&
        /faultProxies: true/.test(error.message),
    );
  } finally {
    await plain.stop();
  }
});
