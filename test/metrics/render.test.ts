/**
 * The cheap render of a broker's `/metrics`: the sliced render and the worker render (what
 * `/metrics` serves: a snapshot formatted by prom-client in a worker thread) give the same text as
 * prom-client's whole one, the worker's also after values, series and families change; the
 * per-partition gauges and the reservoir's one-sort quantiles give the values they gave before. An
 * in-process broker (real sockets, real files) on port 23800, produced to by kafkajs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { Broker } from '../../src/broker/broker.ts';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.ts';
import { acceptsGzip, buildMetricsApp, slicedRender } from '../../src/metrics/http.ts';
import { LatencyReservoir, QUANTILES } from '../../src/metrics/reservoir.ts';
import {
  METRICS_WORKER_NICE,
  METRICS_WORKER_SCHED_IDLE,
  PROCESS_FAMILIES_COLLECTED_IN_WORKER,
  workerRender,
  workerServe,
} from '../../src/metrics/worker-render.ts';
import { parseSamples, sampleValue } from './support.ts';

const PORT = 23800;
/** Linux's SCHED_IDLE (sched.h). */
const SCHED_IDLE_POLICY = 5;
const PARTITIONS = 8;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metrics-render-'));
// Without the process metrics, whose values move between two renders.
const metrics = new BrokerMetrics({ defaultMetrics: false });
const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT, observer: metrics });
const rendered = workerRender(metrics.registry);
const kafka = new Kafka({
  brokers: [`127.0.0.1:${PORT}`],
  clientId: 'metrics-render-test',
  logLevel: logLevel.NOTHING,
});

before(async () => {
  await broker.start();
  metrics.attach(broker);
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'rendered', numPartitions: PARTITIONS }],
      waitForLeaders: true,
    });
    await producer.connect();
    await producer.send({
      topic: 'rendered',
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        value: `record ${partition}`,
      })),
    });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

after(async () => {
  await rendered.close();
  metrics.detach();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The text without the event loop's idle share, which every render measures anew. */
function steady(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('kafka_network_socketserver_networkprocessoravgidlepercent '))
    .join('\n');
}

test('the sliced render gives the whole render text, returning to the event loop between families', async () => {
  const whole = await metrics.registry.metrics();
  let turns = 0;
  let rendering = true;
  const countTurns = () => {
    if (!rendering) return;
    turns++;
    setImmediate(countTurns);
  };
  setImmediate(countTurns);
  // A slice of 0 ms yields after every family.
  const sliced = await slicedRender(metrics.registry, 0).metrics();
  rendering = false;
  assert.equal(steady(sliced), steady(whole));
  const families = metrics.registry.getMetricsAsArray().length;
  assert.ok(
    turns >= families - 1,
    `${turns} turns of the event loop during a render of ${families} families`,
  );
});

test('per-partition gauges: one series per partition, with its log end offset and replica counts', async () => {
  const samples = parseSamples(await slicedRender(metrics.registry).metrics());
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const labels = { topic: 'rendered', partition: String(partition) };
    assert.equal(sampleValue(samples, 'kafka_log_log_logendoffset', labels), 1, `partition ${partition}`);
    assert.equal(sampleValue(samples, 'kafka_log_log_logstartoffset', labels), 0);
    assert.equal(sampleValue(samples, 'kafka_cluster_partition_replicascount', labels), 1);
    assert.equal(sampleValue(samples, 'kafka_cluster_partition_underreplicated', labels), 0);
    assert.ok((sampleValue(samples, 'kafka_log_log_size', labels) ?? 0) > 0);
  }
  const series = samples.filter(
    (s) => s.name === 'kafka_log_log_logendoffset' && s.labels.topic === 'rendered',
  );
  assert.deepEqual(
    series.map((s) => s.labels.partition),
    Array.from({ length: PARTITIONS }, (_, partition) => String(partition)),
    'in partition order',
  );
});

async function produce(topic: string, count: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, index) => ({
        partition: index % PARTITIONS,
        value: `more ${index}`,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

test('the worker render gives the whole render text, as values, series and partitions change', async () => {
  assert.equal(
    steady(await rendered.metrics()),
    steady(await metrics.registry.metrics()),
    'first render: every family in full',
  );
  // Values only: the same series, new log end offsets, sizes, counters and latency quantiles.
  await produce('rendered', 3 * PARTITIONS);
  const valuesOnly = await rendered.metrics();
  assert.equal(steady(valuesOnly), steady(await metrics.registry.metrics()), 'values changed');
  const samples = parseSamples(valuesOnly);
  assert.equal(sampleValue(samples, 'kafka_log_log_logendoffset', { topic: 'rendered', partition: '0' }), 4);
  // New series (a topic, its partitions, its per-topic counters) and a new family (a request type).
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'rendered-later', numPartitions: 2 }],
      waitForLeaders: true,
    });
    await admin.describeGroups(['no-such-group']);
  } finally {
    await admin.disconnect();
  }
  await produce('rendered-later', 2);
  const grown = await rendered.metrics();
  assert.equal(steady(grown), steady(await metrics.registry.metrics()), 'series and families added');
  assert.match(grown, /kafka_log_log_logendoffset\{topic="rendered-later",partition="1"\} 1\n/);
  assert.match(
    grown,
    /kafka_network_requestmetrics_requestspersec_request_describegroups_total\{version="\d+"\} 1\n/,
  );
  assert.equal(rendered.lastSeriesCount, parseSamples(grown).length, 'series counted');
});

/** Each family's text (its `# HELP` line on), by family name. */
function familyTexts(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const block of text.split(/\n(?=# HELP )/)) {
    const name = /^# HELP (\S+)/.exec(block)?.[1];
    if (name !== undefined) families.set(name, block.trim());
  }
  return families;
}

/** The families whose text differs between the worker's render and a full collect, named. */
function staleFamilies(worker: string, whole: string): string[] {
  const rendered = familyTexts(steady(worker));
  const collected = familyTexts(steady(whole));
  const names = new Set([...rendered.keys(), ...collected.keys()]);
  return [...names].filter((name) => rendered.get(name) !== collected.get(name));
}

/** The families of `metrics` a collect may skip (they have a version). */
function versionedFamilies(): number {
  return metrics.registry.getMetricsAsArray().filter((family) => 'snapshotVersion' in family).length;
}

test('versioned families are never stale: after each change the worker text equals a full collect, and an idle collect reads none of them', async () => {
  const versioned = versionedFamilies();
  assert.ok(versioned >= 20, `versioned families: ${versioned}`);
  await rendered.metrics();
  await rendered.metrics();
  assert.equal(rendered.lastUnchangedCount, versioned, 'nothing changed: every versioned family skipped');
  const value = (text: string, name: string, labels: Record<string, string> = {}) =>
    sampleValue(parseSamples(text), name, labels);
  const check = async (what: string): Promise<string> => {
    const text = await rendered.metrics();
    assert.deepEqual(staleFamilies(text, await metrics.registry.metrics()), [], `stale after ${what}`);
    return text;
  };
  const before = await rendered.metrics();
  // An append: log size and end offset, the topic's counters.
  await produce('rendered', PARTITIONS);
  const appended = await check('an append');
  assert.ok(
    value(appended, 'kafka_log_log_size', { topic: 'rendered', partition: '0' })! >
      value(before, 'kafka_log_log_size', { topic: 'rendered', partition: '0' })!,
    'log size grew',
  );
  assert.ok(
    value(appended, 'kafka_server_brokertopicmetrics_messagesin_total')! >
      value(before, 'kafka_server_brokertopicmetrics_messagesin_total')!,
  );
  // A topic created: the partition, leader and global counts (a new metadata image).
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: 'rendered-stale', numPartitions: 3 }],
      waitForLeaders: true,
    });
    const created = await check('a topic created');
    assert.equal(
      value(created, 'kafka_server_replicamanager_partitioncount'),
      value(appended, 'kafka_server_replicamanager_partitioncount')! + 3,
    );
    assert.equal(
      value(created, 'kafka_controller_kafkacontroller_globaltopiccount'),
      value(appended, 'kafka_controller_kafkacontroller_globaltopiccount')! + 1,
    );
    await produce('rendered-stale', 3);
    const produced = await check('an append to the new topic');
    assert.equal(
      value(produced, 'kafka_server_brokertopicmetrics_messagesinpersec_total', { topic: 'rendered-stale' }),
      3,
    );
    // The topic deleted: its per-topic counters go (a new image, no new count).
    await admin.deleteTopics({ topics: ['rendered-stale'] });
    const deleted = await check('a topic deleted');
    assert.equal(
      value(deleted, 'kafka_server_brokertopicmetrics_messagesinpersec_total', { topic: 'rendered-stale' }),
      undefined,
    );
    assert.equal(
      value(deleted, 'kafka_server_replicamanager_partitioncount'),
      value(appended, 'kafka_server_replicamanager_partitioncount'),
    );
    // Requests only: their counters and latency quantiles.
    await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
  await check('requests');
});

test('the worker render: renders asked for together run one at a time; a closed one starts a new worker', async () => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'renders_total',
    help: 'counted',
    labelNames: ['kind'],
    registers: [registry],
  });
  const latest = new Gauge({
    name: 'latest_render',
    help: 'one series',
    labelNames: ['index'],
    registers: [registry],
  });
  const render = workerRender(registry);
  try {
    // Each render sends only what changed since the one before it: twenty at once must not mix up.
    const renders: Promise<string>[] = [];
    for (let index = 0; index < 20; index++) {
      counter.labels(index % 2 === 0 ? 'a' : `kind-${index}`).inc();
      renders.push(render.metrics());
    }
    const texts = await Promise.all(renders);
    const counts = texts.map((text) => Number(/renders_total\{kind="a"\} (\d+)\n/.exec(text)?.[1]));
    assert.deepEqual(
      counts,
      [...counts].sort((x, y) => x - y),
      `counts in call order: ${counts}`,
    );
    assert.equal(texts.at(-1), await registry.metrics());
    // A family whose one series changes its labels (the same count of series) is sent in full.
    for (let index = 0; index < 3; index++) {
      latest.reset();
      latest.labels(String(index)).set(index);
      assert.equal(await render.metrics(), await registry.metrics(), `one series relabelled (${index})`);
    }
    await render.close();
    counter.labels('b').inc();
    assert.equal(
      await render.metrics(),
      await registry.metrics(),
      'a new worker is sent every family in full',
    );
  } finally {
    await render.close();
  }
});

test("the worker render: the process-wide default metrics are the worker's, the rest the broker thread's", async () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const render = workerRender(registry);
  try {
    const text = await render.metrics();
    const names = (body: string) =>
      body
        .split('\n')
        .filter((line) => line.startsWith('# TYPE '))
        .map((line) => line.split(' ')[2]);
    assert.deepEqual(names(text), names(await registry.metrics()), 'the same families, in the same order');
    const samples = parseSamples(text);
    for (const name of PROCESS_FAMILIES_COLLECTED_IN_WORKER) {
      const value = sampleValue(samples, name, {});
      assert.ok(value !== undefined && value > 0, `${name} ${value}`);
    }
    // The heap is the broker thread's (a worker's own isolate is a few MB).
    const heapUsed = sampleValue(samples, 'nodejs_heap_size_used_bytes', {}) ?? 0;
    assert.ok(Math.abs(heapUsed - process.memoryUsage().heapUsed) < heapUsed / 2, `heap used ${heapUsed}`);
  } finally {
    await render.close();
  }
});

test("the serving worker reads the event loop's delay statistics from the broker loop's own histogram", async () => {
  const withDefaults = new BrokerMetrics();
  const histogram = withDefaults.loopDelay!;
  const server = await workerServe(withDefaults.registry, {
    host: '127.0.0.1',
    port: 0,
    renderMinIntervalMs: 0,
    loopDelay: histogram,
  });
  try {
    await (await fetch(server.url)).arrayBuffer();
    // This thread (the broker's) holds its loop: the shared histogram records the delay here.
    const heldMs = 150;
    const start = performance.now();
    while (performance.now() - start < heldMs) {}
    // Timer periods after the hold, so the histogram holds more records than a scrape takes.
    while (histogram.count < 20) await new Promise((done) => setTimeout(done, 20));
    const recorded = histogram.count;
    const text = await (await fetch(server.url)).text();
    const samples = parseSamples(text);
    const max = sampleValue(samples, 'nodejs_eventloop_lag_max_seconds', {})!;
    assert.ok(max >= (heldMs * 0.9) / 1000, `max delay ${max} s after holding the loop ${heldMs} ms`);
    assert.ok(sampleValue(samples, 'nodejs_eventloop_lag_p50_seconds', {})! < max);
    // Read and reset by the worker (prom-client resets at each read): the same native histogram.
    assert.ok(histogram.count < recorded, `records ${recorded} before the render, ${histogram.count} after`);
    assert.ok(sampleValue(samples, 'nodejs_eventloop_lag_seconds', {}) !== undefined, 'lag on this thread');
    // This thread never read the statistics: its own max gauge (no collect of its own) was never set.
    const own = (await withDefaults.registry.getSingleMetric('nodejs_eventloop_lag_max_seconds')!.get()) as {
      values: { value: number }[];
    };
    assert.deepEqual(
      own.values.map((one) => one.value),
      [0],
      "the broker thread's own max gauge",
    );
  } finally {
    await server.close();
  }
});

test("/metrics sends the worker's gzipped text to a scraper that accepts gzip, the plain text to others", async () => {
  const app = buildMetricsApp(rendered, { renderMinIntervalMs: 60_000 });
  try {
    const plain = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'accept-encoding');
    assert.equal(steady(plain.body), steady(await metrics.registry.metrics()));
    // Prometheus sends `Accept-Encoding: gzip`.
    const zipped = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(
      zipped.rawPayload.length * 4 < plain.rawPayload.length,
      `${zipped.rawPayload.length} gzipped bytes`,
    );
    assert.equal(gunzipSync(zipped.rawPayload).toString('utf8'), plain.body, 'the same render, gzipped');
    const refused = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'accept-encoding': 'br, gzip;q=0' },
    });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.equal(refused.body, plain.body);
  } finally {
    await app.close();
  }
  // Scrapes that come while a render is in flight share it.
  let renders = 0;
  const counted = buildMetricsApp(
    {
      contentType: rendered.contentType,
      metrics: () => rendered.metrics(),
      encoded: () => {
        renders++;
        return rendered.encoded();
      },
    },
    { renderMinIntervalMs: 0 },
  );
  try {
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        counted.inject({ method: 'GET', url: '/metrics', headers: { 'accept-encoding': 'gzip' } }),
      ),
    );
    assert.equal(renders, 1, 'one render for three scrapes at once');
    for (const answer of answers) assert.deepEqual(answer.rawPayload, answers[0]!.rawPayload);
  } finally {
    await counted.close();
  }
  assert.equal(acceptsGzip('gzip, deflate, br'), true);
  assert.equal(acceptsGzip('deflate, *;q=0.1'), true);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip('GZIP;Q=0.5'), true);
  assert.equal(acceptsGzip(undefined), false);
});

/**
 * Fetches `url` from a thread of its own and reports through `flag` (1: answered with 200, 2:
 * failed), so this thread can wait for it while its own event loop is blocked.
 */
function scrapeFromAnotherThread(url: string, flag: Int32Array): Worker {
  const scraper = new Worker(
    `const { workerData } = require('node:worker_threads');
     const flag = new Int32Array(workerData.shared);
     fetch(workerData.url).then((r) => r.text().then(() => r.ok), () => false).then((ok) => {
       Atomics.store(flag, 0, ok ? 1 : 2);
       Atomics.notify(flag, 0);
     });`,
    { eval: true, workerData: { url, shared: flag.buffer } },
  );
  return scraper;
}

test('workerServe: the worker thread answers /metrics; the broker thread collects only for a new text', async () => {
  const server = await workerServe(metrics.registry, {
    host: '127.0.0.1',
    port: 0,
    renderMinIntervalMs: 60_000,
  });
  try {
    const plain = await fetch(server.url, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), metrics.registry.contentType);
    const text = await plain.text();
    assert.equal(steady(text), steady(await metrics.registry.metrics()), "prom-client's text");
    assert.equal(server.collects, 1);
    assert.equal(server.lastSeriesCount, parseSamples(text).length);
    // fetch asks for gzip and unzips: the same cached render, sent gzipped.
    const zipped = await fetch(server.url);
    assert.equal(zipped.headers.get('content-encoding'), 'gzip');
    assert.equal(await zipped.text(), text);
    // The broker thread blocked (Atomics.wait holds its event loop): a scrape is still answered.
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const scraper = scrapeFromAnotherThread(server.url, flag);
    try {
      const waited = Atomics.wait(flag, 0, 0, 30_000);
      assert.equal(waited === 'timed-out' ? 'timed-out' : Atomics.load(flag, 0), 1, 'answered while blocked');
    } finally {
      await scraper.terminate();
    }
    assert.equal(server.collects, 1, 'answered from the last text: no collect');
    // The serving thread runs at a lower priority than the broker's (Linux: per-thread nice).
    const niceOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Field 19 is nice: the 17th after the command name's closing parenthesis.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const nices = readdirSync('/proc/self/task').map(niceOf);
    // That one thread only: libuv's pool (the broker's file I/O), started by the broker, keeps 0.
    assert.equal(
      nices.filter((nice) => nice === METRICS_WORKER_NICE).length,
      1,
      `threads' nice values: ${nices}`,
    );
    assert.equal(niceOf(String(process.pid)), 0, "the broker's (main) thread keeps its priority");
    // And the SCHED_IDLE policy (5), where chrt is (Linux): a broker thread that wakes takes the core at once.
    const policyOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Field 41 is the policy: the 39th after the command name's closing parenthesis.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    };
    const policies = readdirSync('/proc/self/task').map(policyOf);
    assert.equal(
      policies.filter((policy) => policy === SCHED_IDLE_POLICY).length,
      METRICS_WORKER_SCHED_IDLE ? 1 : 0,
      `threads' scheduling policies: ${policies}`,
    );
    assert.equal(policyOf(String(process.pid)), 0, "the broker's (main) thread keeps SCHED_OTHER");
    // The port is taken: the error names it.
    await assert.rejects(
      workerServe(metrics.registry, { host: '127.0.0.1', port: server.port }),
      /EADDRINUSE/,
    );
  } finally {
    await server.close();
  }
});

test("the reservoir's one-sort quantiles equal each quantile, and follow new samples", () => {
  const reservoir = new LatencyReservoir();
  const qs = QUANTILES.map(([, q]) => q);
  assert.deepEqual(
    reservoir.quantiles(qs),
    qs.map(() => 0),
  );
  for (let value = 1; value <= 500; value++) reservoir.add((value * 7919) % 500);
  assert.deepEqual(
    reservoir.quantiles(qs),
    qs.map((q) => reservoir.quantile(q)),
  );
  const before = reservoir.quantiles([0.999]);
  for (let i = 0; i < 100; i++) reservoir.add(10_000);
  assert.ok(reservoir.quantiles([0.999])[0]! > before[0]!, 'a sort after new samples');
  assert.equal(reservoir.quantile(0.999), 10_000);
});
