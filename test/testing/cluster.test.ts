/**
 * startKafka({ brokers: 3 }) as a user's suite uses it: three in-process nodes on free ports, real
 * sockets and files, kafkajs (a client we did not write). Ready means the internal topics (RF 3,
 * min ISR 2) and the baseline topics are led with their full ISR. Killing a broker under load is
 * in cluster-faults.slow.ts (over 25 s at load 30: the 4 s broker session, then the client's
 * metadata retries).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaTestingError, startKafka, type TestKafkaCluster } from '../../src/testing/index.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const TOPIC = 'payments';

let kafka: TestKafkaCluster;
before(async () => {
  kafka = await startKafka({
    brokers: 3,
    topics: [
      { name: TOPIC, partitions: 1, configs: { 'min.insync.replicas': '2' } },
      { name: 'orders', partitions: 3 },
    ],
  });
  console.log(
    `three brokers ready in ${Math.round(kafka.timings.startToReadyMs)} ms: ${kafka.bootstrapServers}`,
  );
});
after(() => kafka?.stop());

function client(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: kafka.bootstrapAddresses,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

describe('startKafka({ brokers: 3 })', () => {
  test('is ready: three brokers, internal topics at RF 3 with min ISR 2, baseline topics led', async () => {
    assert.equal(kafka.bootstrapAddresses.length, 3);
    assert.equal(new Set(kafka.bootstrapAddresses).size, 3, 'three distinct ports');
    // Right after start, without waiting: every node's image already has all of it.
    for (const node of kafka.nodes()) {
      const image = node.broker.metadata();
      assert.deepEqual(
        image
          .brokers()
          .map((b) => b.nodeId)
          .sort(),
        [1, 2, 3],
      );
      for (const [name, partitions] of [
        ['__consumer_offsets', 1],
        ['__transaction_state', 1],
        [TOPIC, 1],
        ['orders', 3],
      ] as const) {
        const topic = image.topic(name);
        assert.ok(topic, `${name} on node ${node.nodeId}`);
        assert.equal(topic.partitions.length, partitions, name);
        for (const p of topic.partitions) {
          assert.equal(p.replicas.length, 3, `${name}-${p.partitionIndex} RF 3`);
          assert.equal(p.isr.length, 3, `${name}-${p.partitionIndex} full ISR`);
          assert.ok(p.leaderId > 0, `${name}-${p.partitionIndex} led`);
        }
      }
    }
    // As a client sees it: Metadata through each broker, and the configs Kafka would report.
    const admin = client('ready').admin();
    await admin.connect();
    try {
      const described = await admin.describeCluster();
      assert.deepEqual(
        described.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).sort(),
        kafka.bootstrapAddresses.map((address, i) => `${i + 1}=${address}`),
      );
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: ['__transaction_state', '__consumer_offsets'].map((name) => ({
          type: 2,
          name,
          configNames: ['min.insync.replicas'],
        })),
      });
      for (const resource of configs.resources) {
        assert.equal(
          resource.configEntries.find((entry) => entry.configName === 'min.insync.replicas')?.configValue,
          '2',
          `${resource.resourceName} min.insync.replicas`,
        );
      }
    } finally {
      await admin.disconnect();
    }
  });

  test('refuses what it does not serve on three brokers, by name', async () => {
    const unsupported = (error: unknown) =>
      error instanceof KafkaTestingError && error.code === 'CLUSTER_UNSUPPORTED' && error.httpStatus === 501;
    await assert.rejects(kafka.reset(), unsupported);
    await assert.rejects(kafka.snapshot('seed'), unsupported);
    await assert.rejects(kafka.restore('seed'), unsupported);
    await assert.rejects(startKafka({ brokers: 3, clock: 'manual' }), unsupported);
    await assert.rejects(
      kafka.clock.advance(1),
      (error: unknown) => error instanceof KafkaTestingError && error.code === 'CLOCK_NOT_MANUAL',
    );
    assert.throws(
      () => kafka.broker(4),
      (error: unknown) =>
        error instanceof KafkaTestingError && /node 4 is not in this cluster/.test(error.message),
    );
    const first = kafka.namespace();
    assert.notEqual(first.prefix, kafka.namespace().prefix);
  });
});
