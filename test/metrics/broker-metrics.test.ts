/**
 * BrokerMetrics on an in-process broker (real sockets, real files) driven by kafkajs, read
 * through the fastify app in-process; and the latency reservoir's quantiles. Port: broker 20405.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker/broker.ts';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.ts';
import { buildMetricsApp } from '../../src/metrics/http.ts';
import { LATENCY_SAMPLES_MAX, LatencyReservoir } from '../../src/metrics/reservoir.ts';
import { parseSamples, type Sample, sampleValue } from './support.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-broker-metrics-'));
const metrics = new BrokerMetrics({ defaultMetrics: false });
const broker = new Broker({ dataDir, host: '127.0.0.1', port: 20405, observer: metrics });
const app = buildMetricsApp(metrics.registry, { renderMinIntervalMs: 0 });
const kafka = new Kafka({
  brokers: ['127.0.0.1:20405'],
  clientId: 'broker-metrics-test',
  logLevel: logLevel.NOTHING,
});

async function scrapeApp(): Promise<Sample[]> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseSamples(response.body);
}

before(async () => {
  await broker.start();
  metrics.attach(broker);
});

after(async () => {
  await app.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a deleted topic's series go, as Kafka removes its meters", async () => {
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }], waitForLeaders: true });
    await producer.connect();
    await producer.send({
      topic: 'doomed',
      acks: -1,
      messages: [
        { partition: 1, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    });
    const before = await scrapeApp();
    assert.equal(
      sampleValue(before, 'kafka_server_brokertopicmetrics_messagesinpersec_total', { topic: 'doomed' }),
      2,
    );
    assert.equal(sampleValue(before, 'kafka_log_log_logendoffset', { topic: 'doomed', partition: '1' }), 2);
    assert.equal(sampleValue(before, 'kafka_log_log_logendoffset', { topic: 'doomed', partition: '0' }), 0);
    assert.equal(sampleValue(before, 'kafka_server_replicamanager_partitioncount'), 2);
    assert.equal(sampleValue(before, 'kafka_controller_kafkacontroller_globaltopiccount'), 1);
    await admin.deleteTopics({ topics: ['doomed'] });
    const after = await scrapeApp();
    const left = after.filter((s) => s.labels.topic === 'doomed');
    assert.deepEqual(left, [], 'series of the deleted topic');
    assert.equal(
      sampleValue(after, 'kafka_server_brokertopicmetrics_messagesin_total'),
      2,
      'the all-topics count stays',
    );
    assert.equal(sampleValue(after, 'kafka_server_replicamanager_partitioncount'), 0);
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('requests are counted per API and version, with their latency', async () => {
  const samples = await scrapeApp();
  const versions = samples.filter(
    (s) => s.name === 'kafka_network_requestmetrics_requestspersec_request_produce_total',
  );
  assert.ok(versions.length >= 1);
  for (const sample of versions) assert.match(sample.labels.version ?? '', /^\d+$/);
  const count = samples.find(
    (s) =>
      s.name === 'kafka_network_requestmetrics_totaltimems' &&
      s.labels.request === 'Produce' &&
      s.labels.quantile === undefined,
  )?.value;
  const total = versions.reduce((sum, s) => sum + s.value, 0);
  assert.equal(count, total, 'latency samples = produce requests');
});

test('reservoir quantiles interpolate at q·(n+1) over the last LATENCY_SAMPLES_MAX samples', () => {
  const reservoir = new LatencyReservoir();
  assert.equal(reservoir.quantile(0.99), 0);
  for (let value = 100; value >= 1; value--) reservoir.add(value);
  assert.equal(reservoir.count, 100);
  assert.equal(reservoir.quantile(0.5), 50.5);
  assert.equal(reservoir.quantile(0.75), 75.75);
  assert.equal(reservoir.quantile(0.999), 100);
  assert.equal(reservoir.quantile(0.001), 1);
  // Older samples leave the ring: after LATENCY_SAMPLES_MAX samples of 1000, only 1000 is left.
  for (let i = 0; i < LATENCY_SAMPLES_MAX; i++) reservoir.add(1000);
  assert.equal(reservoir.count, 100 + LATENCY_SAMPLES_MAX);
  assert.equal(reservoir.quantile(0.5), 1000);
  assert.equal(reservoir.quantile(0.001), 1000);
});

test('scrapes within METRICS_RENDER_MIN_INTERVAL_MS get the previous text; later ones a new one', async () => {
  let renders = 0;
  const counting = {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    metrics: async () => `renders ${++renders}\n`,
  };
  const cached = buildMetricsApp(counting, { renderMinIntervalMs: 60_000 });
  const bodies = [];
  for (let i = 0; i < 3; i++) bodies.push((await cached.inject({ method: 'GET', url: '/metrics' })).body);
  assert.deepEqual(bodies, ['renders 1\n', 'renders 1\n', 'renders 1\n']);
  const uncached = buildMetricsApp(counting, { renderMinIntervalMs: 0 });
  assert.equal((await uncached.inject({ method: 'GET', url: '/metrics' })).body, 'renders 2\n');
  assert.equal((await uncached.inject({ method: 'GET', url: '/metrics' })).body, 'renders 3\n');
  await cached.close();
  await uncached.close();
});

/** Sends one request frame (header v1, no body) and resolves with the answer's bytes, or null when the broker closes. */
function rawRequest(apiKey: number, apiVersion: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(20405, '127.0.0.1');
    const body = Buffer.alloc(10);
    body.writeInt16BE(apiKey, 0);
    body.writeInt16BE(apiVersion, 2);
    body.writeInt32BE(7, 4);
    body.writeInt16BE(-1, 8);
    const frame = Buffer.concat([Buffer.alloc(4), body]);
    frame.writeInt32BE(body.length, 0);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        socket.destroy();
        resolve(all);
      }
    });
    socket.on('close', () => resolve(null));
    socket.on('error', reject);
    socket.write(frame);
  });
}

test('versions outside the specification and refused requests get no series', async () => {
  assert.notEqual(await rawRequest(18, 999), null, 'ApiVersions v999 is answered (with v0 and the list)');
  assert.equal(await rawRequest(0, 99), null, 'Produce v99 closes the connection');
  const samples = await scrapeApp();
  const odd = samples.filter(
    (s) =>
      s.name.startsWith('kafka_network_requestmetrics_requestspersec_') &&
      ['999', '99'].includes(s.labels.version ?? ''),
  );
  assert.deepEqual(odd, []);
});
