/**
 * reset() clears transactional state on one and three brokers, as a user's suite sees it through
 * kafkajs (a client we did not write): a test leaves a transaction open on a transactional id;
 * after reset() no node knows the id, the old producer's commit is refused, and the next test's
 * producer of the same id starts afresh (epoch 0, a producer id never handed out before) without
 * waiting for the old transaction, and commits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Producer } from 'kafkajs';
import type { Broker } from '../../src/broker/broker.ts';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { startKafka, type TestKafka, type TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

const TOPIC = 'orders';
const TRANSACTIONAL_ID = 'shared-tx';

/** The coordinator of `TRANSACTIONAL_ID` among these brokers (the one whose partition it is). */
function describeOn(brokers: Broker[]) {
  for (const broker of brokers) {
    const coordinator = broker.slots.get(TRANSACTIONS)?.coordinator;
    if (coordinator === undefined || coordinator.coordinatorError(TRANSACTIONAL_ID) !== null) continue;
    return coordinator.describe(TRANSACTIONAL_ID);
  }
  throw new Error(`no broker coordinates ${TRANSACTIONAL_ID}`);
}

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 30_000;

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function transactionalProducer(addresses: string[], name: string): Promise<Producer> {
  const producer = kafkajsClient(name, addresses, 5).producer({
    transactionalId: TRANSACTIONAL_ID,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
  });
  await producer.connect();
  return producer;
}

function suite(
  label: string,
  start: () => Promise<TestKafka | TestKafkaCluster>,
  brokers: (k: TestKafka | TestKafkaCluster) => Broker[],
) {
  describe(label, () => {
    let kafka: TestKafka | TestKafkaCluster;
    const open: Producer[] = [];
    before(async () => {
      kafka = await start();
    });
    after(async () => {
      await Promise.allSettled(open.map((producer) => producer.disconnect()));
      await kafka?.stop();
    });

    test('a transaction left open by one test does not reach the next one', async () => {
      // Test 1: a transaction begun and never ended.
      const first = await transactionalProducer(kafka.bootstrapAddresses, 'test-1');
      open.push(first);
      const hanging = await first.transaction();
      await hanging.send({ topic: TOPIC, messages: [{ value: 'uncommitted' }] });
      const before = describeOn(brokers(kafka));
      assert.equal(before.errorCode, ErrorCode.NONE);
      assert.equal(before.transactionState, 'Ongoing');
      assert.deepEqual(before.topics, [{ topic: TOPIC, partitions: [0] }]);

      await kafka.reset();

      // Every broker has forgotten the id, as if started fresh.
      const after = describeOn(brokers(kafka));
      assert.equal(
        after.errorCode,
        ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        `after reset: ${JSON.stringify(after, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`,
      );
      for (const broker of brokers(kafka)) {
        assert.deepEqual(
          broker.slots.get(TRANSACTIONS)?.coordinator.list([], [], -1),
          [],
          `node ${broker.nodeId}`,
        );
      }
      // The old producer cannot end its transaction any more.
      await assert.rejects(hanging.commit(), /producer|transaction/i);

      // Test 2: the same transactional id starts at epoch 0 with a new producer id, and commits.
      const second = await transactionalProducer(kafka.bootstrapAddresses, 'test-2');
      open.push(second);
      const txn = await second.transaction();
      await txn.send({ topic: TOPIC, messages: [{ value: 'committed' }] });
      // kafkajs asks for its producer id with the transaction's first send.
      const fresh = describeOn(brokers(kafka));
      assert.equal(fresh.errorCode, ErrorCode.NONE);
      assert.equal(fresh.transactionState, 'Ongoing');
      assert.equal(fresh.producerEpoch, 0, 'a fresh id starts at epoch 0');
      assert.notEqual(fresh.producerId, before.producerId, 'producer ids are never handed out twice');
      await txn.commit();
      // EndTxn answers once the commit is prepared; the markers follow.
      await until(
        'the commit complete',
        () => describeOn(brokers(kafka)).transactionState === 'CompleteCommit',
      );
      const admin = kafkajsClient('offsets', kafka.bootstrapAddresses, 5).admin();
      await admin.connect();
      try {
        // The record and its commit marker: the topic's log starts from nothing after reset().
        assert.deepEqual(
          (await admin.fetchTopicOffsets(TOPIC)).map((p) => [p.partition, p.high]),
          [[0, '2']],
        );
      } finally {
        await admin.disconnect();
      }
    });
  });
}

suite(
  'reset() on one broker',
  () => startKafka({ topics: [{ name: TOPIC, partitions: 1 }] }),
  (kafka) => [(kafka as TestKafka).broker],
);
suite(
  'reset() on three brokers',
  () => startKafka({ brokers: 3, topics: [{ name: TOPIC, partitions: 1 }] }),
  (kafka) => (kafka as TestKafkaCluster).nodes().map((node) => node.broker),
);
