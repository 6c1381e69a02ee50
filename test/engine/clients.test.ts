/**
 * Real clients we did not write, as separate processes, against `kstack up` on a real
 * socket and data directory: kcat and Debian's confluent_kafka (librdkafka 2.0.2),
 * kafkajs 2.2.4 and @platformatic/kafka, with every codec each supports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from './broker-process.ts';
import { pythonRoundTrip, runTool } from './run-tool.ts';

const PORT = 19630;
const broker = new BrokerProcess(PORT);

describe('clients against kstack up', { timeout: 600_000 }, () => {
  before(async () => {
    await broker.start();
  });
  after(async () => {
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`kcat produces and consumes with ${codec}`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 200 }, (_, i) => `k${i}:value-${codec}-${i}`);
      const produced = await runTool(
        'kcat',
        ['-b', broker.bootstrap, '-P', '-t', topic, '-K', ':', '-z', codec],
        {
          input: `${lines.join('\n')}\n`,
        },
      );
      assert.equal(produced.code, 0, produced.stderr);
      const consumed = await runTool('kcat', [
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        topic,
        '-o',
        'beginning',
        '-e',
        '-f',
        '%k:%s\n',
      ]);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.deepEqual(consumed.stdout.trim().split('\n'), lines);
    });

    it(`confluent_kafka (librdkafka 2.0.2) round trip with ${codec}`, async () => {
      const summary = await pythonRoundTrip(broker.bootstrap, `python-${codec}`, codec, 2000, 3);
      assert.equal(summary.ok, true, JSON.stringify(summary));
    });
  }

  for (const [name, codec] of [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    it(`kafkajs 2.2.4 produces with ${name}; admin sees the offsets; kcat reads them back`, async () => {
      const kafka = new Kafka({
        brokers: [broker.bootstrap],
        clientId: 'kstack-test',
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      const producer = kafka.producer();
      const topic = `kafkajs-${name}`;
      await admin.connect();
      await producer.connect();
      try {
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);
        const messages = Array.from({ length: 100 }, (_, i) => ({
          key: `k${i}`,
          value: `kafkajs-${name}-${i}`,
          partition: i % 2,
          headers: { index: String(i) },
        }));
        const results = await producer.send({ topic, messages, compression: codec, acks: -1 });
        assert.equal(results.length, 2);
        const offsets = await admin.fetchTopicOffsets(topic);
        assert.deepEqual(offsets.map((o) => [o.partition, o.high, o.low]).sort(), [
          [0, '50', '0'],
          [1, '50', '0'],
        ]);
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        assert.equal(metadata.topics[0]?.partitions.length, 2);
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
      const consumed = await runTool('kcat', [
        '-b',
        broker.bootstrap,
        '-C',
        '-t',
        topic,
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%k=%s\n',
      ]);
      const expected = Array.from({ length: 50 }, (_, j) => `k${2 * j}=kafkajs-${name}-${2 * j}`);
      assert.deepEqual(consumed.stdout.trim().split('\n'), expected);
    });
  }

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`@platformatic/kafka produces with ${compression} and fetches it back`, async () => {
      const topic = `platformatic-${compression}`;
      const base = { bootstrapBrokers: [broker.bootstrap], retries: 3 };
      const admin = new Admin({ ...base, clientId: 'kstack-test-admin' });
      const producer = new Producer({ ...base, clientId: 'kstack-test-producer', compression });
      const consumer = new Consumer({ ...base, clientId: 'kstack-test-consumer', groupId: 'unused' });
      try {
        await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
        const values = Array.from({ length: 100 }, (_, i) => Buffer.from(`${compression}-${i}`));
        await producer.send({ messages: values.map((value) => ({ topic, key: Buffer.from('k'), value })) });
        const metadata = await consumer.metadata({ topics: [topic] });
        const topicId = metadata.topics.get(topic)!.id;
        const seen: string[] = [];
        let offset = 0n;
        while (seen.length < values.length) {
          const response = await consumer.fetch({
            node: 1,
            maxWaitTime: 200,
            topics: [
              {
                topicId,
                partitions: [
                  {
                    partition: 0,
                    fetchOffset: offset,
                    currentLeaderEpoch: -1,
                    lastFetchedEpoch: -1,
                    partitionMaxBytes: 1 << 20,
                  },
                ],
              },
            ],
          });
          const partition = response.responses[0]!.partitions[0]!;
          assert.equal(partition.errorCode, 0);
          for (const batch of partition.records ?? []) {
            for (const record of batch.records) {
              const recordOffset = batch.firstOffset + BigInt(record.offsetDelta);
              if (recordOffset < offset) continue;
              seen.push(record.value!.toString());
              offset = recordOffset + 1n;
            }
          }
        }
        assert.deepEqual(seen, values.map(String));
      } finally {
        await Promise.allSettled([admin.close(), producer.close(), consumer.close(true)]);
      }
    });
  }

  it('kafkajs 2.2.4 consumer group reads back what kafkajs produced with gzip', async () => {
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'kstack-test',
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    const topic = 'kafkajs-group';
    await producer.connect();
    const values = Array.from({ length: 50 }, (_, i) => `group-${i}`);
    try {
      await producer.send({
        topic,
        messages: values.map((value) => ({ value })),
        compression: CompressionTypes.GZIP,
      });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: 'kstack-test-kafkajs' });
    await consumer.connect();
    const seen: string[] = [];
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${seen.length} of ${values.length} read`)),
          60_000,
        );
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '');
            if (seen.length === values.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, values);
  });

  it('@platformatic/kafka consumer group stream reads back what it produced', async () => {
    const topic = 'platformatic-group';
    const base = { bootstrapBrokers: [broker.bootstrap], retries: 3 };
    const producer = new Producer({ ...base, clientId: 'kstack-test-producer', compression: 'lz4' });
    const consumer = new Consumer({
      ...base,
      clientId: 'kstack-test-consumer',
      groupId: 'kstack-test-platformatic',
    });
    const admin = new Admin({ ...base, clientId: 'kstack-test-admin' });
    const values = Array.from({ length: 50 }, (_, i) => `group-${i}`);
    try {
      await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
      await producer.send({
        messages: values.map((value) => ({ topic, value: Buffer.from(value), partition: 0 })),
      });
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
      const seen: string[] = [];
      for await (const message of stream as AsyncIterable<{ value: Buffer }>) {
        seen.push(message.value.toString());
        if (seen.length === values.length) break;
      }
      await stream.close();
      assert.deepEqual(seen, values);
    } finally {
      await Promise.allSettled([admin.close(), producer.close(), consumer.close(true)]);
    }
  });

  it('kstack smoke (AC-MSG-001) passes against it', async () => {
    const result = await runTool(process.execPath, [
      'bin/kstack.ts',
      'smoke',
      '--bootstrap-server',
      broker.bootstrap,
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /AC-MSG-001 passed/);
  });
});
