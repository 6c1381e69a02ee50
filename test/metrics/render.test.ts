/**
 * The cheap render of a broker's `/metrics`: the sliced render gives the same text as
 * prom-client's whole one and returns to the event loop while it runs; the per-partition gauges
 * and the reservoir's one-sort quantiles give the values they gave before. An in-process broker
 * (real sockets, real files) on port 23800, produced to by kafkajs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker/broker.ts';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.ts';
import { slicedRender } from '../../src/metrics/http.ts';
import { LatencyReservoir, QUANTILES } from '../../src/metrics/reservoir.ts';
import { parseSamples, sampleValue } from './support.ts';

const PORT = 23800;
const PARTITIONS = 8;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metrics-render-'));
// Without the process metrics, whose values move between two renders.
const metrics = new BrokerMetrics({ defaultMetrics: false });
const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT, observer: metrics });
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
