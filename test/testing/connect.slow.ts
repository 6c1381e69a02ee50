/**
 * Kafka Connect as a companion of a three-broker test cluster (`startKafka({ brokers: 3, connect:
 * true })`), as a suite would use it: Kafka's own JVM worker at `connectUrl`, a FileStream source
 * connector reading a file into a topic, then `reset()`: no connector listed, its offsets gone,
 * so the same connector created again reads the same file from its first line (with the offsets
 * kept it would resume at the end and write nothing). Not in the unit run: a JVM start (10-45 s
 * under load).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startKafka, type TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 120_000;
const CONNECTOR = 'lines';
const TOPIC = 'lines';
const LINES = ['first', 'second', 'third'];

let kafka: TestKafkaCluster;
let folder: string;
let file: string;
before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'kstack-connect-test-'));
  file = join(folder, 'lines.txt');
  writeFileSync(file, `${LINES.join('\n')}\n`);
  kafka = await startKafka({ brokers: 3, connect: true });
  console.log(`three brokers and the Connect worker ready in ${Math.round(kafka.timings.startToReadyMs)} ms`);
});
after(async () => {
  await kafka?.stop();
  rmSync(folder, { recursive: true, force: true });
});

async function rest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${kafka.connectUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

function createSource(topic = TOPIC): Promise<{ status: number; json: unknown }> {
  return rest('POST', '/connectors', {
    name: CONNECTOR,
    config: {
      'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector',
      'tasks.max': '1',
      file,
      topic,
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'topic.creation.default.replication.factor': '-1',
      'topic.creation.default.partitions': '1',
    },
  });
}

/** Waits until `check` holds, polling every 100 ms. */
async function until(what: string | (() => string), check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) {
      assert.fail(`timed out after ${WAIT_MS} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The topic's records as values, from the first (a kafkajs consumer of its own group). */
async function readAll(count: number, topic = TOPIC): Promise<string[]> {
  const consumer = kafkajsClient('check', kafka.bootstrapAddresses).consumer({
    groupId: kafka.namespace().group('check'),
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    await until(
      () => `${count} records read from ${topic} (read: ${values.join(', ')})`,
      async () => values.length >= count,
    );
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** The source's committed position in the file (KIP-875's GET offsets), or null. */
async function committedPosition(): Promise<number | null> {
  const { status, json } = await rest('GET', `/connectors/${CONNECTOR}/offsets`);
  if (status !== 200) return null;
  const offsets = (json as { offsets: { offset: { position?: number } }[] }).offsets;
  return offsets[0]?.offset.position ?? null;
}

test('a FileStream source across reset(): no connector after it, and the same one again reads the file from its start', {
  timeout: 6 * WAIT_MS,
}, async () => {
  const fileChars = `${LINES.join('\n')}\n`.length;
  assert.equal((await createSource()).status, 201);
  assert.deepEqual(await readAll(LINES.length), LINES);
  await until(
    'the source position committed at the end of the file',
    async () => (await committedPosition()) === fileChars,
  );

  const resetStarted = performance.now();
  await kafka.reset();
  console.log(`reset() with one connector: ${Math.round(performance.now() - resetStarted)} ms`);
  assert.deepEqual((await rest('GET', '/connectors')).json, [], 'no connector after reset()');
  assert.equal((await rest('GET', `/connectors/${CONNECTOR}/offsets`)).status, 404);
  const admin = kafkajsClient('admin', kafka.bootstrapAddresses).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    assert.ok(!topics.includes(TOPIC), `the connector's topic is gone: ${topics.join(', ')}`);
    for (const kept of ['_connect-configs', '_connect-offsets', '_connect-status'])
      assert.ok(topics.includes(kept), `the worker's topic ${kept} is kept`);
  } finally {
    await admin.disconnect();
  }

  // Created again under the same name: its committed position was deleted, so it starts over.
  assert.equal((await createSource()).status, 201);
  assert.deepEqual(await readAll(LINES.length), LINES, 'the file read again from its first line');
  await until('the position committed again', async () => (await committedPosition()) === fileChars);
  await kafka.reset();
  assert.deepEqual((await rest('GET', '/connectors')).json, [], 'none after the second reset()');
});

test("a FileStream source across snapshot() and restore(): the snapshot's connector runs again from the position it had committed", {
  timeout: 6 * WAIT_MS,
}, async () => {
  writeFileSync(file, `${LINES.join('\n')}\n`);
  const more = ['fourth', 'fifth'];
  const charsOf = (lines: readonly string[]) => `${lines.join('\n')}\n`.length;
  // A topic of its own: TOPIC was deleted by the reset above and created again, and such a topic
  // comes back empty from a snapshot of three nodes (a broker fault, found here, not Connect's).
  const topic = 'snapshot-lines';
  assert.equal((await createSource(topic)).status, 201);
  assert.deepEqual(await readAll(LINES.length, topic), LINES);
  await until(
    'the position committed at the third line',
    async () => (await committedPosition()) === charsOf(LINES),
  );
  const snapshotStarted = performance.now();
  await kafka.snapshot('three-lines');
  console.log(`snapshot() with a running connector: ${Math.round(performance.now() - snapshotStarted)} ms`);

  // After the snapshot: two more lines read, then the connector deleted.
  appendFileSync(file, `${more.join('\n')}\n`);
  await until(
    'the position committed at the fifth line',
    async () => (await committedPosition()) === charsOf([...LINES, ...more]),
  );
  assert.equal((await rest('DELETE', `/connectors/${CONNECTOR}`)).status, 204);
  await until(
    'no connector listed',
    async () => ((await rest('GET', '/connectors')).json as string[]).length === 0,
  );

  const restoreStarted = performance.now();
  await kafka.restore('three-lines');
  console.log(`restore() with the worker restarted: ${Math.round(performance.now() - restoreStarted)} ms`);
  // The restored topics give the new worker the snapshot's connector and its position (the third
  // line): it reads the two lines after it again, once; from nothing it would write eight records.
  await until("the snapshot's connector listed", async () => {
    const { json } = await rest('GET', '/connectors');
    return Array.isArray(json) && json.includes(CONNECTOR);
  });
  await until(
    'the position committed at the fifth line again',
    async () => (await committedPosition()) === charsOf([...LINES, ...more]),
  );
  const admin = kafkajsClient('admin', kafka.bootstrapAddresses).admin();
  await admin.connect();
  try {
    assert.equal((await admin.fetchTopicOffsets(topic))[0]?.high, '5', 'five records: none written twice');
  } finally {
    await admin.disconnect();
  }
  assert.deepEqual(await readAll(LINES.length + more.length, topic), [...LINES, ...more]);
  await kafka.reset();
  assert.deepEqual((await rest('GET', '/connectors')).json, [], 'none after reset()');
});
