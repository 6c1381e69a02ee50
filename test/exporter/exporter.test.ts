/**
 * `kstack exporter` against `kstack up` and against Apache Kafka 4.1.1, with the same
 * assertions: kafkajs (a client we did not write) creates a 3-partition topic, produces
 * 12/10/8 records, deletes the first 2 of partition 0, commits offsets 5 and 10 for one group
 * and keeps a live member in another; both exporters must then serve the same series with
 * the same values, and the values kafka_exporter would give. Then kstack is stopped: the
 * exporter says the cluster is down, and recovers by itself when it is back. A Schema Registry's
 * group (protocol type sr) beside them: the exporter counts its members, and the REST proxy (in
 * process, through inject) keeps it out of its consumer groups, as Kafka's own tools do.
 * Ports: reference 20410 (controller 20460), kstack 20411, exporters 20412 (kstack) and 20413.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { KstackProcess } from '../../src/engine/process.ts';
import { type RunningExporter, startExporter } from '../../src/exporter/exporter.ts';
import { METRICS_RENDER_MIN_INTERVAL_MS } from '../../src/metrics/http.ts';
import { startSchemaRegistry } from '../../src/registry/server.ts';
import { buildRestProxy } from '../../src/rest-proxy/server.ts';
import {
  KSTACK_STOP_GRACE_MS,
  type Running,
  type Sample,
  sampleValue,
  scrape,
  startReference,
  waitFor,
} from '../metrics/support.ts';

const TOPIC = 'exporter-topic';
const COMMITTED_GROUP = 'exporter-committed';
const LIVE_GROUP = 'exporter-live';
const RECORDS_PER_PARTITION = [12, 10, 8];
const DELETED_BEFORE = 2;
const COMMITTED = [5, 10];
const KSTACK_PORT = 20411;
/** Schema Registries in the group `schema-registry` (protocol type sr): on the reference, on kstack. */
const REGISTRY_PORTS = [20415, 20416];

interface Target {
  readonly name: string;
  readonly broker: Running;
  readonly exporter: RunningExporter;
  consumer?: Consumer;
}

/** The series about this test's topic and groups, as `name{labels} value` lines, sorted. */
function seriesOf(samples: readonly Sample[]): string[] {
  return samples
    .filter(
      (s) =>
        s.labels.topic === TOPIC ||
        s.labels.consumergroup === COMMITTED_GROUP ||
        s.labels.consumergroup === LIVE_GROUP ||
        s.name === 'kafka_brokers' ||
        s.name === 'kafka_exporter_cluster_up',
    )
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.value}`)
    .sort();
}

async function prepare(target: Target): Promise<void> {
  const kafka = new Kafka({
    brokers: [target.broker.bootstrap],
    clientId: 'exporter-test',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: RECORDS_PER_PARTITION.length, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  // Idempotent: on a loaded machine a timed-out request is retried, and must not write twice.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: RECORDS_PER_PARTITION.flatMap((count, partition) =>
      Array.from({ length: count }, (_, i) => ({ partition, value: `p${partition}-${i}` })),
    ),
  });
  await producer.disconnect();
  // kafkajs finds the leaders in its cached metadata, which the producer's send did not refresh.
  await admin.fetchTopicMetadata({ topics: [TOPIC] });
  await admin.deleteTopicRecords({
    topic: TOPIC,
    partitions: [{ partition: 0, offset: String(DELETED_BEFORE) }],
  });
  await admin.setOffsets({
    groupId: COMMITTED_GROUP,
    topic: TOPIC,
    partitions: COMMITTED.map((offset, partition) => ({ partition, offset: String(offset) })),
  });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: LIVE_GROUP });
  target.consumer = consumer;
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
  await consumer.run({ eachMessage: async () => {} });
}

const targets: Target[] = [];
/** What the kstack target's exporter logged: [level, message]. */
const exporterLines: [string, string][] = [];
const exporterLog = {
  info: (message: string) => exporterLines.push(['info', message]),
  warn: (message: string) => exporterLines.push(['warn', message]),
};
let kstackProcess: KstackProcess | undefined;
const kstackDataDir = mkdtempSync(join(tmpdir(), 'kstack-exporter-'));

function startKstackProcess(): Promise<KstackProcess> {
  return KstackProcess.start({
    args: ['--port', String(KSTACK_PORT), '--data-dir', kstackDataDir, '--no-compose'],
    ports: [KSTACK_PORT],
  });
}

before(async () => {
  const reference = await startReference(20410);
  targets.push({
    name: 'Apache Kafka (reference)',
    broker: reference,
    exporter: await startExporter({ bootstrap: reference.bootstrap, port: 20413 }),
  });
  kstackProcess = await startKstackProcess();
  const kstack: Running = {
    bootstrap: `127.0.0.1:${KSTACK_PORT}`,
    metricsUrl: '',
    stop: async () => {},
  };
  targets.push({
    name: 'kstack up',
    broker: kstack,
    exporter: await startExporter({ bootstrap: kstack.bootstrap, port: 20412, log: exporterLog }),
  });
  for (const target of targets) await prepare(target);
});

after(async () => {
  // Every process is stopped even when one of them fails to stop cleanly (reported after).
  const failures: unknown[] = [];
  for (const target of targets) {
    await target.consumer?.disconnect().catch(() => {});
    await target.exporter.close().catch((error: unknown) => failures.push(error));
    await target.broker.stop().catch((error: unknown) => failures.push(error));
  }
  if (kstackProcess !== undefined) {
    const exit = await kstackProcess.stop(KSTACK_STOP_GRACE_MS);
    if (exit.code !== 0)
      failures.push(new Error(`kstack up exited with ${JSON.stringify(exit)}: ${kstackProcess.output}`));
  }
  rmSync(kstackDataDir, { recursive: true, force: true });
  assert.deepEqual(failures, []);
});

/** Scrapes until the live group shows its member (the rebalance takes a while), then returns the samples. */
async function settled(target: Target): Promise<Sample[]> {
  return waitFor(`${target.name}: the exporter to show ${LIVE_GROUP} with 1 member`, async () => {
    const samples = await scrape(target.exporter.url);
    const members = sampleValue(samples, 'kafka_consumergroup_members', { consumergroup: LIVE_GROUP });
    return members === 1 ? samples : undefined;
  });
}

test("the exporter gives kafka_exporter's values for offsets, lag and groups, on both", async () => {
  for (const target of targets) {
    const samples = await settled(target);
    const at = (name: string, labels: Record<string, string>) => {
      const value = sampleValue(samples, name, labels);
      assert.notEqual(value, undefined, `${target.name}: no ${name} ${JSON.stringify(labels)}`);
      return value;
    };
    assert.equal(at('kafka_exporter_cluster_up', {}), 1);
    assert.equal(at('kafka_brokers', {}), 1);
    assert.equal(at('kafka_topic_partitions', { topic: TOPIC }), RECORDS_PER_PARTITION.length);
    RECORDS_PER_PARTITION.forEach((count, index) => {
      const partition = { topic: TOPIC, partition: String(index) };
      assert.equal(at('kafka_topic_partition_current_offset', partition), count, `${target.name} ${index}`);
      assert.equal(at('kafka_topic_partition_oldest_offset', partition), index === 0 ? DELETED_BEFORE : 0);
      assert.equal(at('kafka_topic_partition_leader', partition), 1);
      assert.equal(at('kafka_topic_partition_replicas', partition), 1);
      assert.equal(at('kafka_topic_partition_in_sync_replica', partition), 1);
      assert.equal(at('kafka_topic_partition_leader_is_preferred', partition), 1);
      assert.equal(at('kafka_topic_partition_under_replicated_partition', partition), 0);
      const group = { consumergroup: COMMITTED_GROUP, ...partition };
      const committed = COMMITTED[index] ?? -1;
      assert.equal(at('kafka_consumergroup_current_offset', group), committed, `${target.name} ${index}`);
      assert.equal(at('kafka_consumergroup_lag', group), committed < 0 ? -1 : count - committed);
    });
    const sums = { consumergroup: COMMITTED_GROUP, topic: TOPIC };
    assert.equal(at('kafka_consumergroup_current_offset_sum', sums), 5 + 10 - 1);
    assert.equal(at('kafka_consumergroup_lag_sum', sums), 12 - 5 + (10 - 10));
    assert.equal(at('kafka_consumergroup_members', { consumergroup: COMMITTED_GROUP }), 0);
  }
});

test('the same series with the same values against kstack and against Apache Kafka', async () => {
  const [reference, kstack] = await Promise.all(
    targets.map(async (target) => seriesOf(await settled(target))),
  );
  assert.ok(reference!.length > 20, `only ${reference!.length} series`);
  assert.deepEqual(kstack, reference);
});

test("a Schema Registry's sr group: the exporter counts its member as kafka_exporter does; the REST proxy keeps it out of consumer groups, as Kafka's Admin", async () => {
  for (const [index, target] of targets.entries()) {
    // Started with leader election, the registry joins the group `schema-registry` (protocol type sr)
    // and waits for its first assignment: the group exists before the next scrape.
    const registry = await startSchemaRegistry({
      bootstrap: target.broker.bootstrap,
      port: REGISTRY_PORTS[index] as number,
      leaderElection: true,
    });
    const proxy = buildRestProxy({ bootstrap: target.broker.bootstrap });
    try {
      await new Promise((resolve) => setTimeout(resolve, METRICS_RENDER_MIN_INTERVAL_MS + 100));
      for (let scrapeIndex = 0; scrapeIndex < 2; scrapeIndex++) {
        const samples = await scrape(target.exporter.url);
        assert.equal(sampleValue(samples, 'kafka_exporter_cluster_up'), 1, `${target.name}: cluster down`);
        assert.equal(sampleValue(samples, 'kafka_consumergroup_members', { consumergroup: LIVE_GROUP }), 1);
        // Counted, not decoded (its members' bytes are JSON identities), and it commits no offsets.
        assert.equal(
          sampleValue(samples, 'kafka_consumergroup_members', { consumergroup: 'schema-registry' }),
          1,
          `${target.name}: the sr group's member`,
        );
        const srSeries = samples.filter((s) => s.labels.consumergroup === 'schema-registry');
        assert.deepEqual(
          srSeries.map((s) => s.name),
          ['kafka_consumergroup_members'],
        );
      }
      const v3 = async (path: string) => {
        const clusters = await proxy.app.inject({ method: 'GET', url: '/v3/clusters' });
        const clusterId = (JSON.parse(clusters.body) as { data: { cluster_id: string }[] }).data[0]
          ?.cluster_id;
        const answer = await proxy.app.inject({ method: 'GET', url: `/v3/clusters/${clusterId}${path}` });
        return { status: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
      };
      // As `kafka-consumer-groups --list` (Kafka's listConsumerGroups): consumer groups only.
      const listed = await v3('/consumer-groups');
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const ids = (listed.body.data as { consumer_group_id: string }[]).map((g) => g.consumer_group_id);
      assert.ok(ids.includes(LIVE_GROUP), `${target.name}: ${ids.join(', ')}`);
      assert.ok(!ids.includes('schema-registry'), `${target.name}: ${ids.join(', ')}`);
      // As `kafka-consumer-groups --describe` ("GroupId schema-registry is not a consumer group (sr)."):
      // refused by name, with the reason, on every route under it; the proxy goes on serving.
      for (const path of ['', '/consumers', '/lags', '/lag-summary']) {
        const described = await v3(`/consumer-groups/schema-registry${path}`);
        assert.equal(described.status, 404, `${target.name} ${path}: ${JSON.stringify(described.body)}`);
        assert.deepEqual(described.body, {
          error_code: 404,
          message:
            "Consumer group schema-registry cannot be found: it is a group of protocol type 'sr', not a consumer group.",
        });
      }
      const live = await v3(`/consumer-groups/${LIVE_GROUP}/consumers`);
      assert.equal(live.status, 200, JSON.stringify(live.body));
      assert.equal((live.body.data as unknown[]).length, 1);
    } finally {
      await proxy.close();
      await registry.close();
    }
  }
});

test('a cluster that goes down is reported as down, and the exporter recovers by itself (and logs both, once)', async () => {
  const target = targets.find((t) => t.name === 'kstack up')!;
  await target.consumer?.disconnect();
  target.consumer = undefined;
  const exit = await kstackProcess!.stop(KSTACK_STOP_GRACE_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, kstackProcess!.output);
  // The previous collection may be served for up to METRICS_RENDER_MIN_INTERVAL_MS.
  const down = await waitFor('the exporter to report the cluster down', async () => {
    const samples = await scrape(target.exporter.url);
    return sampleValue(samples, 'kafka_exporter_cluster_up') === 0 ? samples : undefined;
  });
  assert.equal(sampleValue(down, 'kafka_brokers'), 0);
  assert.equal(
    sampleValue(down, 'kafka_topic_partitions', { topic: TOPIC }),
    undefined,
    'stale series served',
  );
  kstackProcess = await startKstackProcess();
  const back = await waitFor('the exporter to reach kstack again', async () => {
    const samples = await scrape(target.exporter.url);
    return sampleValue(samples, 'kafka_exporter_cluster_up') === 1 ? samples : undefined;
  });
  assert.equal(
    sampleValue(back, 'kafka_topic_partition_current_offset', { topic: TOPIC, partition: '0' }),
    12,
  );
  const bootstrap = `127.0.0.1:${KSTACK_PORT}`;
  // One line per change, never per scrape: reached, then alternately unreachable and back (a
  // collection slower than EXPORTER_COLLECT_TIMEOUT_MS on a loaded machine is a change too).
  const lines = exporterLines.map(
    ([level, message]) => `${level} ${message.replace(/unreachable: .*/, 'unreachable')}`,
  );
  assert.equal(lines[0], `info cluster ${bootstrap} reached`, lines.join('\n'));
  for (const [index, line] of lines.entries()) {
    if (index === 0) continue;
    const expected =
      index % 2 === 1 ? `warn cluster ${bootstrap} unreachable` : `info cluster ${bootstrap} reachable again`;
    assert.equal(line, expected, lines.join('\n'));
  }
  assert.equal(lines.at(-1), `info cluster ${bootstrap} reachable again`, lines.join('\n'));
});
