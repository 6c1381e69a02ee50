/**
 * A kafkajs client for the quota tests, run as its own process (kafkajs logs a Fetch answer's
 * fields only with its protocol-buffer debug switches, set in this process's environment):
 * `node quota-client.ts <bootstrap> produce|consume|fill <client-id> <topic> <seconds|megabytes>`.
 * produce / consume: as fast as kafkajs goes for that many seconds; prints one JSON line with the
 * value bytes acknowledged (produce) or received (consume) before the deadline, and the number of
 * answers that carried a throttle time (kafkajs's Produce / Fetch response fields, KIP-219) and the
 * largest. fill: creates the topics `a,b,...` (one partition each), writes that many megabytes to `a`
 * as fast as it goes and one record to each other topic, and prints them.
 */
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, mode, clientId, topicArgument, amountText] = process.argv.slice(2);
let topic = topicArgument;
if (bootstrap === undefined || mode === undefined || clientId === undefined || topic === undefined) {
  throw new Error('usage: quota-client.ts <bootstrap> produce|consume|fill <client-id> <topic> <amount>');
}
const amount = Number(amountText);
const RECORD_BYTES = 10_000;
const BATCH_RECORDS = 10;

let throttled = 0;
let answers = 0;
let maxThrottleMs = 0;
const kafka = new Kafka({
  clientId,
  brokers: [bootstrap],
  // A topic just created may be unknown for a moment (metadata propagation, a loaded machine).
  retry: { retries: 10 },
  logLevel: logLevel.DEBUG,
  logCreator:
    () =>
    ({
      log,
    }: {
      log: { message?: string; data?: { throttleTime?: number; clientSideThrottleTime?: number } };
    }) => {
      const message = log.message ?? '';
      if (!message.startsWith('Response Produce') && !message.startsWith('Response Fetch')) return;
      const data = log.data;
      if (typeof data !== 'object' || data === null || data.throttleTime === undefined) return;
      answers++;
      const ms = Math.max(data.throttleTime, data.clientSideThrottleTime ?? 0);
      if (ms > 0) throttled++;
      maxThrottleMs = Math.max(maxThrottleMs, ms);
    },
});

const value = Buffer.alloc(RECORD_BYTES, 7);
const messages = Array.from({ length: BATCH_RECORDS }, () => ({ value }));

if (mode === 'produce' || mode === 'fill') {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  if (mode === 'fill') {
    // fill creates the topics (one partition each; no JVM tool needed) and writes one record to each
    // but the first, so every later client finds them known.
    const [first, ...others] = topic.split(',');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [first!, ...others].map((t) => ({ topic: t, numPartitions: 1 })),
      waitForLeaders: true,
    });
    await admin.disconnect();
    await producer.connect();
    for (const other of others)
      await producer.send({ topic: other, acks: 1, messages: [{ value: 'ready' }] });
    topic = first!;
  } else {
    await producer.connect();
  }
  let bytes = 0;
  const started = performance.now();
  const deadline = mode === 'produce' ? started + amount * 1000 : Number.POSITIVE_INFINITY;
  const target = mode === 'fill' ? amount * 1_000_000 : Number.POSITIVE_INFINITY;
  while (performance.now() < deadline && bytes < target) {
    await producer.send({ topic, acks: 1, messages });
    if (performance.now() <= deadline) bytes += RECORD_BYTES * BATCH_RECORDS;
  }
  await producer.disconnect();
  console.log(
    JSON.stringify({
      mode,
      bytes,
      answers,
      throttled,
      maxThrottleMs,
      seconds: (performance.now() - started) / 1000,
    }),
  );
} else if (mode === 'consume') {
  const consumer = kafka.consumer({ groupId: `${clientId}-group`, maxBytes: 50 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let bytes = 0;
  let deadline = Number.POSITIVE_INFINITY;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        // The phase starts with the first records, after the group is joined.
        if (deadline === Number.POSITIVE_INFINITY) {
          deadline = performance.now() + amount * 1000;
          setTimeout(resolve, amount * 1000);
        }
        if (performance.now() > deadline) return;
        for (const message of batch.messages) bytes += message.value?.length ?? 0;
      },
    });
  });
  await done;
  const counted = bytes;
  await consumer.disconnect();
  console.log(JSON.stringify({ mode, bytes: counted, answers, throttled, maxThrottleMs, seconds: amount }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
