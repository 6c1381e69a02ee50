/**
 * The testing API as a user's suite uses it: kstack/testing's startKafka with kafkajs (a client we
 * did not write) over real sockets, real files under a temporary data dir. The long runs (100
 * resets, 50 restores) are in isolation.slow.ts (`npm run test:testing`).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { KafkaTestingError, startKafka, type TestKafka } from '../../src/testing/index.ts';

function client(kafka: TestKafka, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: kafka.bootstrapAddresses,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 50 },
  });
}

/** The topics a test sees (kafkajs lists the internal ones too). */
async function userTopics(admin: Admin): Promise<string[]> {
  return (await admin.listTopics()).filter((name) => !name.startsWith('__')).sort();
}

describe('startKafka', () => {
  test('refuses a broker count other than 1 or 3, and a clock that does not exist', async () => {
    await assert.rejects(
      startKafka({ brokers: 2 as 1 }),
      (error: unknown) =>
        error instanceof KafkaTestingError &&
        error.code === 'OPTION_INVALID' &&
        /brokers: 2 .*use 1 or 3/.test(error.message),
    );
    await assert.rejects(
      startKafka({ clock: 'frozen' as 'manual' }),
      (error: unknown) => error instanceof KafkaTestingError && /clock: 'frozen'/.test(error.message),
    );
  });

  test('is ready with internal topics led and the baseline topics of a topics file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'kstack-testing-'));
    const topicsFile = join(folder, 'topics.txt');
    writeFileSync(
      topicsFile,
      '# baseline\norders 3 3 min.insync.replicas=2\naudit 1 1 cleanup.policy=compact\n',
    );
    const kafka = await startKafka({ topicsFile, topics: [{ name: 'extra', partitions: 2 }] });
    try {
      const metadata = kafka.broker.metadata();
      for (const [name, partitions] of [
        ['__consumer_offsets', 1],
        ['__transaction_state', 1],
        ['orders', 3],
        ['audit', 1],
        ['extra', 2],
      ] as const) {
        const topic = metadata.topic(name);
        assert.ok(topic !== undefined, `${name} exists at ready`);
        assert.equal(topic.partitions.length, partitions, name);
        assert.ok(
          topic.partitions.every((p) => p.leaderId === 1),
          `${name} is led`,
        );
      }
      assert.equal(
        metadata.topic('orders')?.configs.get('min.insync.replicas'),
        '1',
        'lowered with RF 3 -> 1',
      );
      const admin = client(kafka, 'ready').admin();
      await admin.connect();
      assert.deepEqual(await userTopics(admin), ['audit', 'extra', 'orders']);
      await admin.disconnect();
      console.log(`start-to-ready: ${kafka.timings.startToReadyMs.toFixed(1)} ms`);
    } finally {
      await kafka.stop();
      rmSync(folder, { recursive: true, force: true });
    }
    assert.equal(existsSync(kafka.dataDir), false, 'stop removes the temporary data dir');
  });

  test('refuses a bad baseline topics file, naming its line', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'kstack-testing-'));
    const topicsFile = join(folder, 'topics.txt');
    writeFileSync(topicsFile, 'orders three 1\n');
    try {
      await assert.rejects(startKafka({ topicsFile }), /topics\.txt:1/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('snapshots', () => {
  test('after reset and restore, clients that read topic ids (Metadata v12) see the new ids', async () => {
    const kafka = await startKafka({ topics: [{ name: 'orders', partitions: 1 }] });
    const admin = new PlatformaticAdmin({
      clientId: 'topic-ids',
      bootstrapBrokers: kafka.bootstrapAddresses,
    });
    try {
      const ids = new Set<string>();
      await kafka.snapshot('start');
      for (const step of ['start', 'reset', 'restore'] as const) {
        if (step === 'reset') await kafka.reset();
        if (step === 'restore') await kafka.restore('start');
        const metadata = await admin.metadata({ topics: ['orders'], forceUpdate: true });
        // The client prints UUIDs as hex with dashes; the broker keeps Kafka's base64url form.
        const id = metadata.topics.get('orders')?.id.replaceAll('-', '');
        const brokerId = kafka.broker.metadata().topic('orders')?.topicId;
        assert.equal(
          id,
          Buffer.from(brokerId ?? '', 'base64url').toString('hex'),
          `${step}: the client sees the broker's id`,
        );
        assert.ok(id !== undefined && !ids.has(id), `${step}: a new topic id`);
        ids.add(id);
      }
    } finally {
      await admin.close();
      await kafka.stop();
    }
  });

  test('bad and unknown snapshot names get clear errors', async () => {
    const kafka = await startKafka();
    try {
      await assert.rejects(
        kafka.snapshot('../escape'),
        (error: unknown) => error instanceof KafkaTestingError && error.code === 'SNAPSHOT_NAME_INVALID',
      );
      await assert.rejects(
        kafka.snapshot('.baseline'),
        (error: unknown) => error instanceof KafkaTestingError && error.code === 'SNAPSHOT_NAME_INVALID',
      );
      await assert.rejects(
        kafka.restore('missing'),
        (error: unknown) =>
          error instanceof KafkaTestingError &&
          error.code === 'SNAPSHOT_NOT_FOUND' &&
          /no snapshot 'missing'.*none saved/.test(error.message),
      );
      // The broker serves again after a refused operation.
      const admin = client(kafka, 'after-errors').admin();
      await admin.connect();
      assert.deepEqual(await userTopics(admin), []);
      await admin.disconnect();
      assert.deepEqual(
        readdirSync(join(kafka.dataDir, 'snapshots')).filter((entry) => entry !== '.baseline'),
        [],
        'no temporary folder left behind',
      );
    } finally {
      await kafka.stop();
    }
  });
});
