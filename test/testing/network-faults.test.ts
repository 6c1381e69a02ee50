/**
 * Network faults on a three-broker test cluster, as a user's suite writes them: the fault proxies
 * of src/engine stand in front of every node in the test process, and clients see only the
 * brokers' addresses. A slowed client link holds each request (kafkajs); the control endpoint
 * takes isolate, slow, heal, pause, resume and client cuts over HTTP; a paused leader holds a send
 * until resume; one client id is cut while another keeps working, and a cut after Produce makes an
 * idempotent producer retry (written once); a killed leader answers nothing more. The leader isolated from its peers under acks=all is in
 * network-faults.slow.ts (the 4 s broker session before the new leader).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { encodeRequest } from '../../src/protocol/frames.ts';
import { DEFAULT_SERVER_LIMITS } from '../../src/server/limits.ts';
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
    assert.deepEqual(kafka.broker(leader).faults, {
      isolatedFrom: null,
      delayMs: 400,
      delayFrom: 'clients',
      paused: false,
    });
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
    assert.deepEqual(answer.body.faults, {
      isolatedFrom: 'clients',
      delayMs: 0,
      delayFrom: null,
      paused: false,
    });
    answer = await post('/brokers/2/slow', { ms: 250, from: 'peers' });
    assert.deepEqual(answer.body.faults, {
      isolatedFrom: 'clients',
      delayMs: 250,
      delayFrom: 'peers',
      paused: false,
    });
    answer = await post('/brokers/2/heal');
    assert.deepEqual(answer.body, {
      nodeId: 2,
      running: true,
      faults: { isolatedFrom: null, delayMs: 0, delayFrom: null, paused: false },
    });
    for (const [url, body, status, code, words] of [
      ['/brokers/2/isolate', { from: 'everyone' }, 400, 'REQUEST_INVALID', 'peers, clients, all'],
      ['/brokers/2/isolate', { ms: 5 }, 400, 'REQUEST_INVALID', "not 'ms'"],
      ['/brokers/2/slow', undefined, 400, 'REQUEST_INVALID', '"ms"'],
      ['/brokers/2/slow', { ms: 60_001 }, 400, 'OPTION_INVALID', 'LINK_DELAY_MS_MAX'],
      ['/brokers/2/slow', { ms: 1.5 }, 400, 'OPTION_INVALID', 'whole number'],
      ['/brokers/4/isolate', {}, 400, 'OPTION_INVALID', 'node 4'],
      ['/brokers/2/freeze', undefined, 400, 'REQUEST_INVALID', 'pause or resume'],
      ['/clients/app-x/cut', { afterApiKey: 40_000 }, 400, 'OPTION_INVALID', 'not an API key'],
      ['/clients/app-x/cut', { times: 'x' }, 400, 'REQUEST_INVALID', 'times'],
      ['/clients/app-x/cut', { times: 2 }, 400, 'OPTION_INVALID', 'afterApiKey'],
      ['/clients/app-x/cut', { node: 4 }, 400, 'OPTION_INVALID', 'node 4'],
      ['/clients/app-x/cut', { who: 1 }, 400, 'REQUEST_INVALID', 'who'],
      ['/clients/app-x/heal', undefined, 404, 'CLIENT_CUT_NOT_FOUND', "'app-x'"],
    ] as const) {
      answer = await post(url, body);
      assert.equal(answer.status, status, `${url} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error_code, code, url);
      assert.match(String(answer.body.message), new RegExp(words.replace(/[.*+?()[\]]/g, '\\$&')), url);
    }
    assert.deepEqual(kafka.broker(2).faults, {
      isolatedFrom: null,
      delayMs: 0,
      delayFrom: null,
      paused: false,
    });
    // Pause and resume, and their refusals.
    answer = await post('/brokers/2/pause');
    assert.equal(answer.status, 200);
    assert.equal((answer.body.faults as { paused: boolean }).paused, true);
    answer = await post('/brokers/2/pause');
    assert.deepEqual([answer.status, answer.body.error_code], [409, 'NODE_PAUSED']);
    answer = await post('/brokers/2/resume');
    assert.equal((answer.body.faults as { paused: boolean }).paused, false);
    answer = await post('/brokers/2/resume');
    assert.deepEqual([answer.status, answer.body.error_code], [409, 'NODE_NOT_PAUSED']);
    // Client cuts: armed, listed, healed.
    answer = await post('/clients/app-x/cut', { afterApiKey: 0, times: 2, node: 1 });
    assert.equal(answer.status, 200);
    const armed = { clientId: 'app-x', nodeId: 1, afterApiKey: 0, remaining: 2, made: 0 };
    assert.deepEqual(answer.body, armed);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/clients' })).json(), [armed]);
    answer = await post('/clients/app-x/heal');
    assert.deepEqual(answer.body, armed);
    answer = await post('/clients/app-y/cut');
    assert.deepEqual(answer.body, {
      clientId: 'app-y',
      nodeId: null,
      afterApiKey: null,
      remaining: null,
      made: 0,
    });
    await post('/clients/app-y/heal');
  } finally {
    kafka.broker(2).heal();
    if (kafka.broker(2).faults.paused) kafka.broker(2).resume();
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

/** Whether `answer` settles (either way) within `ms`: only to show that a held request has no answer yet. */
async function settlesWithin(answer: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([
    answer.then(
      () => true,
      () => true,
    ),
    late,
  ]);
  clearTimeout(timer);
  return settled;
}

/** How long a paused leader is watched for an answer that must not come (well under the 4 s broker session). */
const PAUSE_WATCH_MS = 1_000;

test('a paused leader holds a send open without closing it; after resume the same send completes', {
  timeout: 2 * WAIT_MS,
}, async () => {
  const leader = await kafka.waitForLeader(SLOW_TOPIC, 0);
  const producer = client('paused-writer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'warm' }] });
    kafka.broker(leader).pause();
    assert.equal(kafka.broker(leader).faults.paused, true);
    const startedAt = performance.now();
    const pending = producer.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'held' }] });
    const settled = await settlesWithin(pending, PAUSE_WATCH_MS);
    kafka.broker(leader).resume();
    assert.equal(settled, false, 'no answer while the leader is paused');
    const [result] = await pending;
    console.log(
      `send held by a pause of ${PAUSE_WATCH_MS} ms answered after ${(performance.now() - startedAt).toFixed(0)} ms (offset ${result?.baseOffset})`,
    );
    assert.equal(result?.errorCode, 0);
  } finally {
    if (kafka.broker(leader).faults.paused) kafka.broker(leader).resume();
    await producer.disconnect();
  }
  assert.deepEqual([...(await kafka.waitForIsr(SLOW_TOPIC, 0, { timeoutMs: WAIT_MS }))].sort(), [1, 2, 3]);
});

test('a client cut: one client id cut off while another keeps working; a cut after Produce makes an idempotent producer retry, written once', {
  timeout: 2 * WAIT_MS,
}, async () => {
  const keep = client('keep-me').producer({ allowAutoTopicCreation: false });
  const cutOff = client('cut-me', kafka.bootstrapAddresses, 1).producer({ allowAutoTopicCreation: false });
  await Promise.all([keep.connect(), cutOff.connect()]);
  try {
    await keep.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'keep-1' }] });
    await cutOff.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'cut-1' }] });
    kafka.cutClient('cut-me');
    await assert.rejects(cutOff.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'cut-2' }] }));
    await keep.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'keep-2' }] });
    assert.ok(kafka.healClient('cut-me').made >= 1);
  } finally {
    await Promise.all([keep.disconnect(), cutOff.disconnect()]);
  }
  const again = client('cut-me').producer({ allowAutoTopicCreation: false });
  await again.connect();
  try {
    await again.send({ topic: SLOW_TOPIC, acks: 1, messages: [{ value: 'cut-3' }] });
  } finally {
    await again.disconnect();
  }

  const admin = client('offsets').admin();
  const retried = client('retry-me').producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await Promise.all([admin.connect(), retried.connect()]);
  const end = async () => Number((await admin.fetchTopicOffsets(SLOW_TOPIC))[0]!.high);
  try {
    await retried.send({ topic: SLOW_TOPIC, acks: -1, messages: [{ value: 'first' }] });
    const before = await end();
    kafka.cutClient('retry-me', { afterApiKey: 0 });
    await retried.send({ topic: SLOW_TOPIC, acks: -1, messages: [{ value: 'once' }] });
    const cut = kafka.healClient('retry-me');
    assert.deepEqual([cut.made, cut.remaining], [1, 0], 'the Produce was cut after, once');
    assert.equal((await end()) - before, 1, 'the retried record is in the log once');
  } finally {
    await Promise.all([admin.disconnect(), retried.disconnect()]);
  }
});

test('a killed leader answers nothing more: a Fetch waiting at its log end is closed unanswered, at once', {
  timeout: 2 * WAIT_MS,
}, async () => {
  const leader = await kafka.waitForLeader(SLOW_TOPIC, 0);
  const admin = client('fetch-offsets').admin();
  await admin.connect();
  const high = BigInt((await admin.fetchTopicOffsets(SLOW_TOPIC))[0]!.high);
  await admin.disconnect();
  const [host, port] = kafka.bootstrapAddresses[leader - 1]!.split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  const bytes: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => bytes.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Fetch v4 at the log end: the leader holds it up to maxWaitMs for a record that never comes.
  socket.write(
    encodeRequest(
      { requestApiKey: 1, requestApiVersion: 4, correlationId: 1, clientId: 'raw-fetch' },
      {
        replicaId: -1,
        maxWaitMs: 30_000,
        minBytes: 1,
        maxBytes: 1_048_576,
        isolationLevel: 0,
        topics: [
          {
            topic: SLOW_TOPIC,
            partitions: [{ partition: 0, fetchOffset: high, partitionMaxBytes: 1_048_576 }],
          },
        ],
      },
    ),
  );
  // Let the Fetch reach the leader and park there (an in-process hop). Were it still on its way, the kill would
  // leave it unanswered as well: this wait can only make the test weaker, never fail it.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const killedAt = performance.now();
  await kafka.broker(leader).kill();
  await closed;
  const closedMs = performance.now() - killedAt;
  console.log(`the killed leader's client connection closed ${closedMs.toFixed(0)} ms after kill() began`);
  assert.equal(Buffer.concat(bytes).length, 0, 'no answer after the kill');
  // A stop that drains (the kill before it was a crash) holds the connection for the server's
  // shutdown grace (its timer starts after the kill began, so never sooner), then closes it
  // unanswered: 5,077 ms measured at load 40, against 83-101 ms now.
  assert.ok(
    closedMs < DEFAULT_SERVER_LIMITS.shutdownGraceMs,
    `closed ${closedMs.toFixed(0)} ms after the kill: a drain, not a crash`,
  );
  await kafka.broker(leader).restart({ timeoutMs: WAIT_MS });
  assert.deepEqual([...(await kafka.waitForIsr(SLOW_TOPIC, 0, { timeoutMs: WAIT_MS }))].sort(), [1, 2, 3]);
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
  assert.deepEqual(kafka.broker(1).faults, {
    isolatedFrom: null,
    delayMs: 0,
    delayFrom: null,
    paused: false,
  });
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
