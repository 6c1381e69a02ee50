/**
 * kstack's `/metrics` against Apache Kafka 4.1.1 running the Docker stack's JMX exporter
 * agent and rules: after the same kcat produce and consume on both, every metric family
 * kstack claims as an equivalent exists on both with the same label names, and the
 * values that must agree (records in, log end offset, partition and leader counts) do.
 * Ports: reference 20401 (controller 20451), its agent 20402, kstack 20403, /metrics 20404.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  kcatConsume,
  kcatProduce,
  type Running,
  type Sample,
  sampleValue,
  scrape,
  startKstack,
  startReferenceWithAgent,
  waitFor,
} from './support.ts';

const TOPIC = 'metrics-names';
const RECORDS = 20;

/** The families kstack serves with Kafka's names (the README lists what has no equivalent). */
const FAMILIES = [
  ...['messagesin', 'bytesin', 'bytesout'].map((m) => `kafka_server_brokertopicmetrics_${m}_total`),
  ...['messagesin', 'bytesin', 'bytesout', 'totalproducerequests'].map(
    (m) => `kafka_server_brokertopicmetrics_${m}persec_total`,
  ),
  ...['produce', 'fetch', 'fetchconsumer', 'metadata', 'apiversions'].map(
    (r) => `kafka_network_requestmetrics_requestspersec_request_${r}_total`,
  ),
  'kafka_network_requestmetrics_totaltimems',
  ...[
    'partitioncount',
    'leadercount',
    'underreplicatedpartitions',
    'underminisrpartitioncount',
    'atminisrpartitioncount',
    'offlinereplicacount',
  ].map((g) => `kafka_server_replicamanager_${g}`),
  ...['isrshrinks', 'isrexpands', 'failedisrupdates'].map((c) => `kafka_server_replicamanager_${c}_total`),
  ...[
    'activecontrollercount',
    'offlinepartitionscount',
    'globaltopiccount',
    'globalpartitioncount',
    'activebrokercount',
    'fencedbrokercount',
  ].map((g) => `kafka_controller_kafkacontroller_${g}`),
  'kafka_server_kafkaserver_brokerstate',
  'kafka_network_socketserver_networkprocessoravgidlepercent',
  ...['size', 'logendoffset', 'logstartoffset', 'numlogsegments'].map((g) => `kafka_log_log_${g}`),
  ...['underreplicated', 'insyncreplicascount', 'replicascount', 'underminisr', 'atminisr'].map(
    (g) => `kafka_cluster_partition_${g}`,
  ),
  ...['cpu_seconds_total', 'resident_memory_bytes', 'virtual_memory_bytes', 'start_time_seconds'].map(
    (p) => `process_${p}`,
  ),
];

/** Values that depend only on what the clients did, so both brokers must report the same. */
const EQUAL_VALUES: readonly [string, Record<string, string>][] = [
  ['kafka_server_brokertopicmetrics_messagesin_total', {}],
  ['kafka_server_brokertopicmetrics_messagesinpersec_total', { topic: TOPIC }],
  ['kafka_log_log_logendoffset', { topic: TOPIC, partition: '0' }],
  ['kafka_log_log_logstartoffset', { topic: TOPIC, partition: '0' }],
  ['kafka_log_log_numlogsegments', { topic: TOPIC, partition: '0' }],
  ['kafka_server_replicamanager_partitioncount', {}],
  ['kafka_server_replicamanager_leadercount', {}],
  ['kafka_server_replicamanager_underreplicatedpartitions', {}],
  ['kafka_server_replicamanager_isrshrinks_total', {}],
  ['kafka_controller_kafkacontroller_activecontrollercount', {}],
  ['kafka_controller_kafkacontroller_offlinepartitionscount', {}],
  ['kafka_controller_kafkacontroller_globaltopiccount', {}],
  ['kafka_controller_kafkacontroller_globalpartitioncount', {}],
  ['kafka_controller_kafkacontroller_activebrokercount', {}],
  ['kafka_server_kafkaserver_brokerstate', {}],
  ['kafka_cluster_partition_underreplicated', { topic: TOPIC, partition: '0' }],
  ['kafka_cluster_partition_insyncreplicascount', { topic: TOPIC, partition: '0' }],
];

/** Per family, the distinct sets of label names its samples carry (e.g. `request` and `quantile,request`). */
function labelShapes(samples: readonly Sample[]): Map<string, Set<string>> {
  const shapes = new Map<string, Set<string>>();
  for (const sample of samples) {
    let set = shapes.get(sample.name);
    if (set === undefined) {
      set = new Set();
      shapes.set(sample.name, set);
    }
    set.add(Object.keys(sample.labels).sort().join(','));
  }
  return shapes;
}

let reference: Running | undefined;
let kstack: Running | undefined;
const scrapes = new Map<string, Sample[]>();

before(async () => {
  reference = await startReferenceWithAgent(20401, 20402);
  kstack = await startKstack(20403, 20404);
  for (const target of [reference, kstack]) {
    kcatProduce(target.bootstrap, TOPIC, RECORDS);
    assert.equal(kcatConsume(target.bootstrap, TOPIC).length, RECORDS);
    const samples = await waitFor(`${target.metricsUrl} to count ${RECORDS} records in`, async () => {
      const samples = await scrape(target.metricsUrl);
      const messagesIn = sampleValue(samples, 'kafka_server_brokertopicmetrics_messagesinpersec_total', {
        topic: TOPIC,
      });
      const bytesOut = sampleValue(samples, 'kafka_server_brokertopicmetrics_bytesoutpersec_total', {
        topic: TOPIC,
      });
      return messagesIn === RECORDS && bytesOut !== undefined ? samples : undefined;
    });
    scrapes.set(target.metricsUrl, samples);
  }
});

after(async () => {
  try {
    await kstack?.stop();
  } finally {
    await reference?.stop();
  }
});

test('every family kstack claims has the same label names on the reference with the JMX exporter rules', () => {
  const ours = labelShapes(scrapes.get(kstack!.metricsUrl)!);
  const theirs = labelShapes(scrapes.get(reference!.metricsUrl)!);
  for (const family of FAMILIES) {
    assert.ok(theirs.has(family), `the reference has no ${family}: kstack claims a name Kafka does not give`);
    assert.ok(ours.has(family), `kstack serves no ${family}`);
    assert.deepEqual(
      [...ours.get(family)!].sort(),
      [...theirs.get(family)!].sort(),
      `label names of ${family}`,
    );
  }
});

test('counts that depend only on what the clients did are equal on both', () => {
  const ours = scrapes.get(kstack!.metricsUrl)!;
  const theirs = scrapes.get(reference!.metricsUrl)!;
  for (const [name, labels] of EQUAL_VALUES) {
    const expected = sampleValue(theirs, name, labels);
    assert.notEqual(expected, undefined, `the reference has no ${name} ${JSON.stringify(labels)}`);
    assert.equal(sampleValue(ours, name, labels), expected, `${name} ${JSON.stringify(labels)}`);
  }
});

test('bytes in equal the log size and bytes out cover it, on both (batching differs, so not across)', () => {
  for (const target of [kstack!, reference!]) {
    const samples = scrapes.get(target.metricsUrl)!;
    const size = sampleValue(samples, 'kafka_log_log_size', { topic: TOPIC, partition: '0' });
    assert.ok(size !== undefined && size > 0, `${target.metricsUrl}: log size ${size}`);
    assert.equal(
      sampleValue(samples, 'kafka_server_brokertopicmetrics_bytesinpersec_total', { topic: TOPIC }),
      size,
    );
    const bytesOut = sampleValue(samples, 'kafka_server_brokertopicmetrics_bytesoutpersec_total', {
      topic: TOPIC,
    });
    assert.ok(
      bytesOut !== undefined && bytesOut >= size,
      `${target.metricsUrl}: bytes out ${bytesOut} < ${size}`,
    );
  }
});

test('request counts carry the versions the client used, and latency quantiles are ordered', () => {
  const versions = (samples: readonly Sample[]) =>
    samples
      .filter((s) => s.name === 'kafka_network_requestmetrics_requestspersec_request_produce_total')
      .map((s) => s.labels.version)
      .sort();
  const ours = scrapes.get(kstack!.metricsUrl)!;
  assert.deepEqual(versions(ours), versions(scrapes.get(reference!.metricsUrl)!));
  const quantile = (q: string) =>
    sampleValue(ours, 'kafka_network_requestmetrics_totaltimems', { request: 'Produce', quantile: q }) ??
    Number.NaN;
  assert.ok(quantile('0.50') > 0, `Produce p50 ${quantile('0.50')} ms`);
  assert.ok(quantile('0.50') <= quantile('0.99') && quantile('0.99') <= quantile('0.999'));
});

test("the dashboard's broker panels use only names both engines serve", () => {
  const dashboard = JSON.parse(
    readFileSync(join(import.meta.dirname, '../../src/metrics/dashboards/kstack-kafka.json'), 'utf8'),
  ) as { panels: { title: string; targets: { expr: string }[] }[] };
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      for (const match of target.expr.matchAll(
        /\b(kafka_(?:server|controller|network|log|cluster)_\w+|process_\w+)/g,
      )) {
        used.add(match[1]!);
      }
    }
  }
  assert.ok(used.size >= 10, `${used.size} broker metric names in the dashboard`);
  for (const target of [reference!, kstack!]) {
    const names = new Set(scrapes.get(target.metricsUrl)!.map((s) => s.name));
    for (const name of used) assert.ok(names.has(name), `${target.metricsUrl} has no ${name}`);
  }
});
