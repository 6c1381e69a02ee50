/**
 * The UI's API against a broker, for what the browser tests do not click through: the Charts
 * page's history (sampled from the UI's start, whether or not a Charts page is open, so a page
 * opened later gets the last minutes at once instead of an empty chart); a message too large
 * refused with Kafka's own error and nothing written; add partitions; delete a topic only with its
 * name typed again; browse from a time; an offset reset refused while the group has members, then
 * shifted. An in-process broker (real sockets, real files), kafkajs as the other client (it writes
 * and it checks), the UI over HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { Broker } from '../../src/broker/broker.ts';
import { startSchemaRegistry } from '../../src/registry/server.ts';
import {
  RATES_INTERVAL_MS,
  RATES_WINDOW_SAMPLES,
  type Rates,
  TOPIC_RATE_SPAN_MS,
} from '../../src/ui/rates.ts';
import { startUi } from '../../src/ui/server.ts';

const BROKER_PORT = 25500;
const UI_PORT = 25501;
const REGISTRY_PORT = 25502;
const TOPIC = 'charts-history';
const RECORDS = 30;
/** Generous: a loaded 2-core machine. */
const WAIT_MS = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-rates-'));
const assetsDir = mkdtempSync(join(tmpdir(), 'kstack-ui-rates-assets-'));
// No initial rebalance delay (Kafka's 3 s): the kafkajs groups here have one member each.
const broker = new Broker({
  dataDir,
  host: '127.0.0.1',
  port: BROKER_PORT,
  config: { 'group.initial.rebalance.delay.ms': '0' },
});
let ui: { url: string; close(): Promise<void> };
let registry: { url: string; close(): Promise<void> } | undefined;

before(async () => {
  await broker.start();
  registry = await startSchemaRegistry({ bootstrap: `127.0.0.1:${BROKER_PORT}`, port: REGISTRY_PORT });
  ui = await startUi({
    bootstrap: `127.0.0.1:${BROKER_PORT}`,
    port: UI_PORT,
    schemaRegistryUrl: registry.url,
    assetsDir,
  });
});

after(async () => {
  await ui?.close();
  await registry?.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(assetsDir, { recursive: true, force: true });
});

const kafka = new Kafka({
  brokers: [`127.0.0.1:${BROKER_PORT}`],
  clientId: 'ui-api-test',
  logLevel: logLevel.NOTHING,
});

/** A change through the UI, as the page sends it (same origin, JSON). */
async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${ui.url}${path}`, {
    method: 'POST',
    headers: { origin: ui.url, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${ui.url}${path}`);
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

const written = (rates: Rates) => rates.samples.reduce((sum, s) => sum + (s.records[TOPIC] ?? 0), 0);

/** The first server-sent `rates` event of a Charts page opened now. */
async function openCharts(): Promise<Rates> {
  const response = await fetch(`${ui.url}/api/rates/events`);
  assert.equal(response.status, 200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      assert.equal(done, false, 'the stream ended before an event');
      text += value;
      const event = /event: rates\ndata: (.*)\n\n/.exec(text);
      if (event !== null) return JSON.parse(event[1]!) as Rates;
    }
  } finally {
    await reader.cancel();
  }
}

test('a Charts page opened after the records were written shows them: sampled while no page listened', async () => {
  const kafka = new Kafka({
    brokers: [`127.0.0.1:${BROKER_PORT}`],
    clientId: 'ui-rates-test',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `record ${i}` })),
    });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }

  // No page listens: GET /api/rates reads the window as it is, it takes no sample.
  const deadline = Date.now() + WAIT_MS;
  let window: Rates;
  for (;;) {
    window = (await (await fetch(`${ui.url}/api/rates`)).json()) as Rates;
    if (written(window) === RECORDS) break;
    assert.ok(
      Date.now() < deadline,
      `the window never counted ${RECORDS} records: ${JSON.stringify(window)}`,
    );
    await sleep(RATES_INTERVAL_MS / 4);
  }
  assert.equal(window.intervalMs, RATES_INTERVAL_MS);
  assert.equal(window.windowSamples, RATES_WINDOW_SAMPLES);

  const openedAt = Date.now();
  const shown = await openCharts();
  // At once: the history, every sample of it taken before the page opened, the records counted once.
  assert.ok(shown.samples.length >= 2, JSON.stringify(shown));
  assert.ok(
    shown.samples.every((s) => s.at < openedAt),
    `samples after the page opened: ${shown.samples.map((s) => s.at - openedAt)}`,
  );
  assert.equal(written(shown), RECORDS);
  assert.equal(shown.samples[0]!.seconds, 0, "the window's first sample has nothing to compare with");
  assert.equal(shown.error, null);
});

interface TopicListRow {
  name: string;
  bytes: string | null;
  recordsPerSecond: number | null;
}

/** Bytes of the `.log` segment files of `topic`'s partition directories under the broker's data dir. */
function segmentBytes(topic: string): number {
  let total = 0;
  for (const entry of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.log')) continue;
    if (!new RegExp(`(^|/)${topic}-\\d+$`).test(entry.parentPath)) continue;
    total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

test("the topic list's size is its segment files' bytes, its rate the Charts samples' records per second; the broker's log size", async () => {
  const more = 10;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: more }, (_, i) => ({ value: `more ${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
  const deadline = Date.now() + WAIT_MS;
  // Wait (a condition, not a retry of the checks) for a sample that counted them, and for a list
  // read between two equal windows, so that the rate it shows came from the window this test reads.
  let rates: Rates;
  let row: TopicListRow | undefined;
  let topics: TopicListRow[];
  for (;;) {
    const before = await get<Rates>('/api/rates');
    topics = await get<TopicListRow[]>('/api/topics');
    rates = await get<Rates>('/api/rates');
    row = topics.find((t) => t.name === TOPIC);
    if (written(rates) === RECORDS + more && before.samples.at(-1)?.at === rates.samples.at(-1)?.at) break;
    assert.ok(Date.now() < deadline, `no sample counted ${RECORDS + more} records: ${JSON.stringify(rates)}`);
    await sleep(RATES_INTERVAL_MS / 4);
  }
  const last = rates.samples.at(-1)!;
  const span = rates.samples.filter((s) => s.seconds > 0 && s.at >= last.at - TOPIC_RATE_SPAN_MS);
  const spanRecords = span.reduce((sum, s) => sum + (s.records[TOPIC] ?? 0), 0);
  const spanSeconds = span.reduce((sum, s) => sum + s.seconds, 0);
  assert.ok(spanRecords >= more, JSON.stringify(span));
  assert.equal(row?.recordsPerSecond, spanRecords / spanSeconds, JSON.stringify({ row, span }));

  const onDisk = segmentBytes(TOPIC);
  assert.ok(onDisk > 0, 'no segment file found for the topic');
  assert.equal(row?.bytes, String(onDisk), JSON.stringify(row));
  const cluster = await get<{
    brokers: { id: number; logBytes: string | null }[];
    logSizeError: string | null;
  }>('/api/cluster');
  assert.equal(cluster.logSizeError, null);
  // The broker's log size covers the topics the list shows (Kafka's internal ones are left out of
  // the client's Metadata, see README).
  const userTopics = topics.map((t) => t.name);
  const expected = userTopics.reduce((sum, t) => sum + segmentBytes(t), 0);
  assert.equal(cluster.brokers[0]?.logBytes, String(expected), JSON.stringify({ cluster, userTopics }));
});

test("a message too large: Kafka's own error, nothing written", async () => {
  const created = await post('/api/topics', {
    name: 'ui-small',
    partitions: 1,
    configs: { 'max.message.bytes': '1000' },
  });
  assert.equal(created.status, 201, JSON.stringify(created));
  const refused = await post('/api/topics/ui-small/messages', { value: 'x'.repeat(5_000) });
  assert.equal(refused.status, 400, JSON.stringify(refused));
  const error = refused.body.error as { code: string; message: string };
  assert.equal(error.code, 'KAFKA_MESSAGE_TOO_LARGE', JSON.stringify(error));
  // kafkajs, asked directly, gets the same refusal from the broker.
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await assert.rejects(
      producer.send({ topic: 'ui-small', acks: -1, messages: [{ value: 'x'.repeat(5_000) }] }),
      (e: Error & { type?: string }) => e.type === 'MESSAGE_TOO_LARGE',
    );
  } finally {
    await producer.disconnect();
  }
  const topic = await get<{ partitions: { end: string }[] }>('/api/topics/ui-small');
  assert.equal(topic.partitions[0]?.end, '0', 'nothing written');
});

test('add partitions, then delete the topic only with its name typed again', async () => {
  assert.equal((await post('/api/topics', { name: 'ui-grow', partitions: 1 })).status, 201);
  const grown = await post('/api/topics/ui-grow/partitions', { count: 3 });
  assert.equal(grown.status, 200, JSON.stringify(grown));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [meta] = (await admin.fetchTopicMetadata({ topics: ['ui-grow'] })).topics;
    assert.equal(meta?.partitions.length, 3, "kafkajs's Metadata");
    const unconfirmed = await post('/api/topics/ui-grow/delete', { confirm: 'ui-grow-not' });
    assert.equal(unconfirmed.status, 409, JSON.stringify(unconfirmed));
    assert.ok((await admin.listTopics()).includes('ui-grow'), 'still there');
    assert.equal((await post('/api/topics/ui-grow/delete', { confirm: 'ui-grow' })).status, 200);
    assert.ok(!(await admin.listTopics()).includes('ui-grow'), 'gone for kafkajs');
  } finally {
    await admin.disconnect();
  }
});

test('browse from a time: the first message at or after it', async () => {
  assert.equal((await post('/api/topics', { name: 'ui-times', partitions: 1 })).status, 201);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: 'ui-times',
      acks: -1,
      messages: [1_000, 2_000, 3_000].map((t) => ({
        value: `at ${t}`,
        timestamp: String(1_700_000_000_000 + t),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  const shown = await get<{ messages: { offset: string; value: { text: string } }[] }>(
    `/api/topics/ui-times/messages?partition=0&from=timestamp&timestamp=${1_700_000_000_000 + 1_500}`,
  );
  assert.deepEqual(
    shown.messages.map((m) => m.offset),
    ['1', '2'],
  );
});

test('an offset reset is refused while the group has members, then shifts what kafkajs committed', async () => {
  const group = 'ui-api-reset';
  assert.equal((await post('/api/topics', { name: 'ui-reset', partitions: 1 })).status, 201);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic: 'ui-reset',
    acks: -1,
    messages: Array.from({ length: 5 }, (_, i) => ({ value: `${i}` })),
  });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 200 });
  try {
    await admin.setOffsets({
      groupId: group,
      topic: 'ui-reset',
      partitions: [{ partition: 0, offset: '4' }],
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ui-reset' });
    let joined!: () => void;
    const member = new Promise<void>((resolve) => {
      joined = resolve;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    await member;
    const refused = await post(`/api/groups/${group}/reset`, {
      topic: 'ui-reset',
      to: 'earliest',
      dryRun: false,
    });
    assert.equal(refused.status, 409, JSON.stringify(refused));
    assert.equal((refused.body.error as { code: string }).code, 'UI_GROUP_HAS_MEMBERS');
    await consumer.disconnect();
    const shifted = await post(`/api/groups/${group}/reset`, {
      topic: 'ui-reset',
      to: 'shift',
      value: '-3',
      dryRun: false,
    });
    assert.equal(shifted.status, 200, JSON.stringify(shifted));
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: ['ui-reset'] });
    assert.deepEqual(
      offsets?.partitions.map((p) => [p.partition, p.offset]),
      [[0, '1']],
    );
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
});

test("produce with a registered schema (Avro, JSON Schema, Protobuf): Confluent's wire format, decoded by Confluent's client; bad values named", async () => {
  const topic = 'ui-schema-produce';
  const subject = `${topic}-value`;
  const client = new SchemaRegistry({ host: registry!.url });
  const fields = [
    { name: 'id', type: 'string' },
    { name: 'amountCents', type: 'long' },
  ];
  const v1 = await client.register(
    { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Payment', fields }) },
    { subject },
  );
  const v2 = await client.register(
    {
      type: SchemaType.AVRO,
      schema: JSON.stringify({
        type: 'record',
        name: 'Payment',
        fields: [...fields, { name: 'note', type: ['null', 'string'], default: null }],
      }),
    },
    { subject },
  );
  const json = await client.register(
    {
      type: SchemaType.JSON,
      schema: JSON.stringify({
        type: 'object',
        properties: { sku: { type: 'string' }, count: { type: 'integer' } },
        required: ['sku', 'count'],
      }),
    },
    { subject: `${topic}-json` },
  );
  const proto = await client.register(
    {
      type: SchemaType.PROTOBUF,
      schema:
        'syntax = "proto3";\npackage kstack.ui.test;\nmessage Parcel { string id = 1; int32 grams = 2; }\n',
    },
    { subject: `${topic}-proto` },
  );
  assert.equal((await post('/api/topics', { name: topic, partitions: 1 })).status, 201);
  const sent = [
    { valueSchema: { subject, version: 1 }, value: '{"id": "pay-1", "amountCents": 1250}' },
    {
      valueSchema: { subject, version: 'latest' },
      value: '{"id": "pay-2", "amountCents": 7, "note": {"string": "hi"}}',
    },
    { valueSchema: { subject: `${topic}-json` }, value: '{"sku": "a-1", "count": 3}' },
    { valueSchema: { subject: `${topic}-proto` }, value: '{"id": "p-1", "grams": 1200}' },
  ];
  const answers = [];
  for (const body of sent) answers.push(await post(`/api/topics/${topic}/messages`, { ...body, key: 'k' }));
  assert.deepEqual(
    answers.map((a) => [a.status, a.body.schemaId, a.body.schemaVersion]),
    [
      [201, v1.id, 1],
      [201, v2.id, 2],
      [201, json.id, 1],
      [201, proto.id, 1],
    ],
    JSON.stringify(answers),
  );

  // Refused, naming the fault, nothing written: a value the schema does not take, no such version,
  // not JSON, a document without a required field.
  const refusals = [
    [
      { valueSchema: { subject, version: 1 }, value: '{"id": "pay-3", "amountCents": "many"}' },
      400,
      /amountCents|long/,
    ],
    [{ valueSchema: { subject, version: 9 }, value: '{}' }, 404, /version/i],
    [{ valueSchema: { subject, version: 1 }, value: 'not json' }, 400, /JSON/],
    [{ valueSchema: { subject: `${topic}-json` }, value: '{"sku": "a-2"}' }, 400, /count/],
  ] as const;
  for (const [body, status, message] of refusals) {
    const refused = await post(`/api/topics/${topic}/messages`, body);
    assert.equal(refused.status, status, JSON.stringify(refused));
    assert.match((refused.body.error as { message: string }).message, message);
  }

  // kafkajs reads back exactly the four records; Confluent's client decodes them through the registry.
  const consumer = kafka.consumer({ groupId: 'ui-schema-produce-check' });
  await consumer.connect();
  const values: unknown[] = [];
  let failure: unknown;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(await client.decode(message.value!).catch((error: unknown) => (failure = error)));
      },
    });
    const deadline = Date.now() + WAIT_MS;
    while (values.length < sent.length) {
      assert.ok(Date.now() < deadline, `read back ${values.length} of ${sent.length} in ${WAIT_MS} ms`);
      await sleep(50);
    }
  } finally {
    await consumer.disconnect();
  }
  assert.equal(failure, undefined);
  assert.deepEqual(JSON.parse(JSON.stringify(values)), [
    { id: 'pay-1', amountCents: 1250 },
    { id: 'pay-2', amountCents: 7, note: 'hi' },
    { sku: 'a-1', count: 3 },
    { id: 'p-1', grams: 1200 },
  ]);
  const end = kafka.admin();
  await end.connect();
  try {
    assert.deepEqual(
      (await end.fetchTopicOffsets(topic)).map((p) => p.high),
      [String(sent.length)],
      'the refused values wrote nothing',
    );
  } finally {
    await end.disconnect();
  }
});
