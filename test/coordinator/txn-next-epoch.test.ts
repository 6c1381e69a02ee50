/**
 * Transaction version 2 on three in-process cluster nodes, on the wire: the producer's next
 * transaction (one epoch up, as every EndTxn v5 bumps it) reaches a partition before the previous
 * transaction's marker does. The partition leader must add the partition to the new transaction at
 * the coordinator (which answers CONCURRENT_TRANSACTIONS while the previous one completes) instead of
 * taking the batch into the producer's open transaction there, which is the previous one: Kafka
 * 4.1.1's `UnifiedLog.hasOngoingTransaction(producerId, producerEpoch)` counts an open transaction
 * only in the batch's epoch (read from its bytecode). Before, kstack appended the batch unverified:
 * the previous transaction's commit marker committed it, its own transaction never held the
 * partition, and an abort of it left the record readable (the EOS scenario's over-counts and
 * duplicates come this way when a failover delays markers).
 *
 * The coordinator's markers are held back in-process (its node stands for one whose marker channel
 * is slow or whose partition leader just failed over), so the order is the same every run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TRANSACTIONS, type TransactionRuntime } from '../../src/coordinator/transactions/runtime.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { WireClient } from '../broker/compression-wire.ts';

const BROKER_PORTS = [25820, 25821, 25822] as const;
const CONTROLLER_PORTS = [25870, 25871, 25872] as const;
const TOPIC = 'next-epoch';
/** Every ApiVersion here is the highest kstack serves with transaction version 2. */
const PRODUCE_V12 = 12;
const END_TXN_V5 = 5;
const INIT_PRODUCER_ID_V5 = 5;

let cluster: TestCluster;
const clients: WireClient[] = [];

before(async () => {
  cluster = await startCluster({
    nodes: 3,
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    // A killed leader is replaced after this (Kafka's 9 s would only lengthen the second test).
    sessionTimeoutMs: 3000,
    heartbeatIntervalMs: 500,
  });
});

after(async () => {
  for (const client of clients) client.close();
  await cluster?.stop();
});

function runtimeOf(nodeId: number): TransactionRuntime {
  const runtime = cluster.node(nodeId).broker.slots.get(TRANSACTIONS);
  assert.ok(runtime !== undefined, `node ${nodeId} runs transactions`);
  return runtime;
}

/** A transactional id and the node coordinating it (the leader of its `__transaction_state` partition, loaded). */
async function coordinatedId(): Promise<{ transactionalId: string; coordinator: number }> {
  assert.equal(await runtimeOf(1).ensureTransactionTopic(), ErrorCode.NONE);
  const transactionalId = 'next-epoch-txn';
  let coordinator = -1;
  await cluster.waitFor(`the coordinator of ${transactionalId} loaded`, () => {
    const partition = runtimeOf(1).coordinator.partitionFor(transactionalId);
    coordinator =
      cluster.node(1).broker.metadata().topic('__transaction_state')?.partitions[partition]?.leaderId ?? -1;
    return coordinator > 0 && runtimeOf(coordinator).coordinator.coordinatorError(transactionalId) === null;
  });
  return { transactionalId, coordinator };
}

async function connect(nodeId: number): Promise<WireClient> {
  const client = await WireClient.connect(cluster.broker(nodeId).port);
  clients.push(client);
  return client;
}

async function batch(producerId: bigint, producerEpoch: number, baseSequence: number, values: string[]) {
  return encodeRecordBatch({
    transactional: true,
    producerId: Number(producerId),
    producerEpoch,
    baseSequence,
    records: values.map((value) => ({ timestamp: Date.now(), key: null, value: Buffer.from(value) })),
  });
}

async function produce(
  client: WireClient,
  transactionalId: string,
  records: Uint8Array,
  topic = TOPIC,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const answer = await client.call<{
    responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[];
  }>(0, PRODUCE_V12, {
    transactionalId,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const partition = answer.responses[0]?.partitionResponses[0];
  assert.ok(partition !== undefined);
  return partition;
}

async function endTxn(
  client: WireClient,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  committed: boolean,
): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
  return client.call(26, END_TXN_V5, { transactionalId, producerId, producerEpoch, committed });
}

test('the next transaction before the previous marker: CONCURRENT_TRANSACTIONS, then its own add, and its abort hides it', async () => {
  const { transactionalId, coordinator } = await coordinatedId();
  const leader = coordinator === 1 ? 2 : 1;
  const created = await cluster.node(1).broker.createTopic({
    name: TOPIC,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: [[leader, ...[1, 2, 3].filter((id) => id !== leader)]],
  });
  assert.equal(created.errorCode, ErrorCode.NONE, created.errorMessage ?? '');
  await cluster.waitFor(`${TOPIC}-0 led by node ${leader} with its full ISR on every node`, () =>
    cluster.nodes().every((node) => {
      const partition = node.broker.metadata().topic(TOPIC)?.partitions[0];
      return partition?.leaderId === leader && partition.isr.length === 3;
    }),
  );
  const toCoordinator = await connect(coordinator);
  const toLeader = await connect(leader);
  const init = await toCoordinator.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
    22,
    INIT_PRODUCER_ID_V5,
    { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
  );
  assert.equal(init.errorCode, ErrorCode.NONE);
  const { producerId } = init;
  const first = init.producerEpoch;

  // The first transaction: three records, added by the leader (AddPartitionsToTxn v5 to the coordinator).
  const written = await produce(
    toLeader,
    transactionalId,
    await batch(producerId, first, 0, ['a', 'b', 'c']),
  );
  assert.deepEqual(written, { ...written, errorCode: ErrorCode.NONE, baseOffset: 0n });

  // Its commit is prepared and answered; its markers are held back.
  const coordinatorRuntime = runtimeOf(coordinator);
  const writeMarker = coordinatorRuntime.writeMarker.bind(coordinatorRuntime);
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  coordinatorRuntime.writeMarker = async (...args) => {
    await held;
    return writeMarker(...args);
  };
  const committed = await endTxn(toCoordinator, transactionalId, producerId, first, true);
  assert.deepEqual(committed, { ...committed, errorCode: ErrorCode.NONE, producerEpoch: first + 1 });
  const next = committed.producerEpoch;

  // The next transaction's first batch, before the marker: the partition is not in that transaction yet.
  const early = await batch(producerId, next, 0, ['d']);
  const refused = await produce(toLeader, transactionalId, early);
  assert.equal(
    refused.errorCode,
    ErrorCode.CONCURRENT_TRANSACTIONS,
    `the batch of epoch ${next} must wait for the previous transaction's end (answered ${refused.errorCode})`,
  );

  release();
  coordinatorRuntime.writeMarker = writeMarker;
  const leaderRuntime = runtimeOf(leader);
  // Complete at the coordinator too: until CompleteCommit is written (replicated to the
  // __transaction_state ISR, slow under load) the coordinator still answers CONCURRENT_TRANSACTIONS.
  await cluster.waitFor(
    'the first transaction committed on the leader and complete at its coordinator',
    () =>
      leaderRuntime.partitions.openTransactions(TOPIC, 0).size === 0 &&
      coordinatorRuntime.coordinator.describe(transactionalId).transactionState === 'CompleteCommit',
  );
  // The client retries: now added to its own transaction, after the marker (offset 3).
  const retried = await produce(toLeader, transactionalId, early);
  assert.deepEqual(retried, { ...retried, errorCode: ErrorCode.NONE, baseOffset: 4n });

  const aborted = await endTxn(toCoordinator, transactionalId, producerId, next, false);
  assert.equal(aborted.errorCode, ErrorCode.NONE);
  await cluster.waitFor(
    'the second transaction aborted on the leader',
    () => leaderRuntime.partitions.abortedTransactions(TOPIC, 0, 0, Number.MAX_SAFE_INTEGER, 0).length > 0,
  );
  assert.deepEqual(
    leaderRuntime.partitions
      .abortedTransactions(TOPIC, 0, 0, Number.MAX_SAFE_INTEGER, 0)
      .map(({ producerId: id, firstOffset }) => ({ producerId: id, firstOffset })),
    [{ producerId, firstOffset: 4 }],
    'read_committed readers skip the aborted record d, and only it',
  );
});

test('a new leader after a kill -9 holds the producer state of what it replicated: a retry is a duplicate, the next batch follows', async () => {
  const { transactionalId, coordinator } = await coordinatedId();
  const topic = `${TOPIC}-failover`;
  const leader = coordinator === 3 ? 2 : 3;
  const created = await cluster.node(coordinator).broker.createTopic({
    name: topic,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: [[leader, ...[1, 2, 3].filter((id) => id !== leader)]],
  });
  assert.equal(created.errorCode, ErrorCode.NONE, created.errorMessage ?? '');
  await cluster.waitFor(`${topic}-0 led by node ${leader} with its full ISR on every node`, () =>
    cluster.nodes().every((node) => {
      const partition = node.broker.metadata().topic(topic)?.partitions[0];
      return partition?.leaderId === leader && partition.isr.length === 3;
    }),
  );
  const toCoordinator = await connect(coordinator);
  const init = await toCoordinator.call<{ errorCode: number; producerId: bigint; producerEpoch: number }>(
    22,
    INIT_PRODUCER_ID_V5,
    { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 },
  );
  assert.equal(init.errorCode, ErrorCode.NONE);
  const { producerId, producerEpoch } = init;
  const tenRecords = await batch(producerId, producerEpoch, 0, [...'abcdefghij']);
  const written = await produce(await connect(leader), transactionalId, tenRecords, topic);
  assert.deepEqual(written, { ...written, errorCode: ErrorCode.NONE, baseOffset: 0n });
  // acks=all answered: every replica has the ten records.
  await cluster.broker(leader).kill();
  const successor = await cluster.waitForLeader(topic, 0, { not: leader });
  const toSuccessor = await connect(successor);
  // The client lost the answer and retries at the new leader: the same offsets, nothing written twice.
  const retried = await produce(toSuccessor, transactionalId, tenRecords, topic);
  assert.deepEqual(retried, { ...retried, errorCode: ErrorCode.NONE, baseOffset: 0n });
  const gap = await produce(
    toSuccessor,
    transactionalId,
    await batch(producerId, producerEpoch, 11, ['l']),
    topic,
  );
  assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap after sequence 9');
  const following = await produce(
    toSuccessor,
    transactionalId,
    await batch(producerId, producerEpoch, 10, ['k']),
    topic,
  );
  assert.deepEqual(following, { ...following, errorCode: ErrorCode.NONE, baseOffset: 10n });
  const committed = await endTxn(toCoordinator, transactionalId, producerId, producerEpoch, true);
  assert.equal(committed.errorCode, ErrorCode.NONE);
});
