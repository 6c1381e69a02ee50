/**
 * kstack's Node API in a Jest suite: one embedded cluster for the file, reset after every test.
 * In a project of your own, import from 'kstack/testing'. Run from the repository's root:
 * NODE_OPTIONS=--experimental-vm-modules npx jest --config examples/jest/jest.config.js
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka, type TestKafka } from '../../src/testing/index.ts';

let kafka: TestKafka;
beforeAll(async () => {
  kafka = await startKafka({ clock: 'manual', topics: [{ name: 'orders', partitions: 1 }] });
});
afterEach(() => kafka.reset());
afterAll(() => kafka?.stop());

function client(): Kafka {
  return new Kafka({
    clientId: 'jest-example',
    brokers: kafka.bootstrapAddresses,
    logLevel: logLevel.NOTHING,
  });
}

/** Jest has no expect.poll: asks `read` every 50 ms until it gives `expected` or `timeoutMs` passed. */
async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  expect(last).toBe(expected);
}

// Each run creates the same topic and writes to the baseline one; the reset after each leaves no trace.
test.each([1, 2, 3])('run %i sees nothing of the run before', async (run) => {
  const admin = client().admin();
  const producer = client().producer();
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    expect(await admin.listTopics()).not.toContain('shared-name');
    const [orders] = await admin.fetchTopicOffsets('orders');
    expect(orders?.high).toBe('0'); // the baseline topic is empty again
    await admin.createTopics({ topics: [{ topic: 'shared-name', numPartitions: 1 }] });
    await producer.send({ topic: 'orders', messages: [{ value: `run ${run}` }] });
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
});

test('a snapshot restored after the clock moved past retention.ms gives the records back', async () => {
  const topic = kafka.namespace().topic('events');
  const admin = client().admin();
  const producer = client().producer();
  await Promise.all([admin.connect(), producer.connect()]);
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await kafka.snapshot('two-events');
    await kafka.clock.advance(6 * 60_000 + 1); // past retention.ms and the 5 min retention check
    await eventually(async () => (await admin.fetchTopicOffsets(topic))[0]?.low, '2');
    await kafka.restore('two-events');
    expect((await admin.fetchTopicOffsets(topic))[0]?.low).toBe('0');
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
});
