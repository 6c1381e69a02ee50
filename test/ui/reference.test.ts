/**
 * `kstack ui` against any cluster (issue 17): the UI's API over Apache Kafka 4.1.1 itself (a
 * one-node reference, real JVM), not kstack. The Cluster view names the reference's broker and its
 * quorum, a topic created through the UI is what kafkajs lists, a message produced through the UI
 * is what kafkajs reads, and the browser reads it back with the topic's offsets and log size.
 * Ports: the reference 25540 (its controller 25590), the web UI 25541 (docs/team-rules.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { startUi } from '../../src/ui/server.ts';

const REFERENCE_PORT = 25540;
const UI_PORT = 25541;
const TOPIC = 'ui-on-kafka';
/** Generous: a loaded 2-core machine. */
const WAIT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-reference-'));
const assetsDir = mkdtempSync(join(tmpdir(), 'kstack-ui-reference-assets-'));
const reference = new ReferenceCluster({ nodes: 1, basePort: REFERENCE_PORT, dataDir });
const kafka = new Kafka({
  clientId: 'ui-reference-test',
  brokers: [reference.bootstrap],
  logLevel: logLevel.NOTHING,
});
let ui: { url: string; close(): Promise<void> } | undefined;

before(async () => {
  await reference.start();
  ui = await startUi({ bootstrap: reference.bootstrap, port: UI_PORT, assetsDir });
});

after(async () => {
  await ui?.close();
  await reference.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(assetsDir, { recursive: true, force: true });
});

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${ui!.url}${path}`);
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${ui!.url}${path}`, {
    method: 'POST',
    headers: { origin: ui!.url, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('the UI over Apache Kafka: the cluster, a topic created and a message produced through it, read back by kafkajs', {
  timeout: WAIT_MS * 3,
}, async () => {
  const cluster = await get<{ brokers: { id: number; logBytes: string | null }[]; controllerId: number }>(
    '/api/cluster',
  );
  assert.deepEqual(
    cluster.brokers.map((b) => b.id),
    [1],
    JSON.stringify(cluster),
  );

  const created = await post('/api/topics', { name: TOPIC, partitions: 2 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [described] = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics;
    assert.equal(described?.partitions.length, 2);
  } finally {
    await admin.disconnect();
  }

  const produced = await post(`/api/topics/${TOPIC}/messages`, {
    partition: 1,
    key: 'k-1',
    value: 'written by the UI to Apache Kafka',
    headers: [{ key: 'source', value: 'ui' }],
  });
  assert.equal(produced.status, 201, JSON.stringify(produced.body));
  assert.equal(produced.body.partition, 1, JSON.stringify(produced.body));

  const consumer = kafka.consumer({ groupId: 'ui-reference-reader' });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const read = await new Promise<{ key: string; value: string; header: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nothing read from ${TOPIC} in ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer);
          resolve({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            header: message.headers?.source?.toString() ?? '',
          });
        },
      });
    });
    assert.deepEqual(read, { key: 'k-1', value: 'written by the UI to Apache Kafka', header: 'ui' });
  } finally {
    await consumer.disconnect();
  }

  const topic = await get<{ partitions: { partition: number; end: string }[] }>(`/api/topics/${TOPIC}`);
  assert.equal(topic.partitions.find((p) => p.partition === 1)?.end, '1', JSON.stringify(topic));
  const messages = await get<{ messages: { offset: string; key: { text: string } | null }[] }>(
    `/api/topics/${TOPIC}/messages?partition=1&from=beginning&limit=10`,
  );
  assert.equal(messages.messages.length, 1, JSON.stringify(messages));
  const topics = await get<{ name: string; bytes: string | null }[]>('/api/topics');
  const row = topics.find((t) => t.name === TOPIC);
  assert.ok(
    row !== undefined && Number(row.bytes) > 0,
    `size of ${TOPIC} from Kafka's DescribeLogDirs: ${JSON.stringify(row)}`,
  );
});
