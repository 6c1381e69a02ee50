/**
 * A hanging transaction found and aborted by Kafka's `kafka-transactions` tool
 * (org.apache.kafka.tools.TransactionsCommand `find-hanging` and `abort`), on a 3-node kstack
 * (in-process ClusterNodes) and on a 3-node Apache Kafka 4.1.1 (the reference, with
 * `transaction.partition.verification.enable=false`), with the same assertions.
 *
 * Staged without any test-only path: a producer whose transactional id node A coordinates commits
 * one transaction on an RF 3 partition led by node B (so its last marker there carries a real
 * coordinator epoch), then writes a raw transactional Produce v9 (before v12: no implicit add)
 * there without AddPartitionsToTxn. B appends it unverified (kstack's leaders verify only the
 * producers their own node coordinates; the reference is told not to verify), so the batch opens
 * a transaction the coordinator knows nothing about. Its timestamp is an hour old, so the tool
 * (which reports open transactions whose LastTimestamp is older than `--max-transaction-timeout`,
 * 15 minutes) finds it at once. The LSO stays at the batch while the high watermark moves on;
 * `find-hanging --broker-id` lists it on the leader and on a follower (a follower answers
 * DescribeProducers from the producer state its log keeps); `abort --start-offset` writes the abort
 * marker through WriteTxnMarkers (27) with the coordinator epoch DescribeProducers reports (the
 * commit marker's); then the LSO reaches the high watermark, Kafka's console consumer at
 * read_committed reads the plain and committed records only, and neither `find-hanging` nor
 * `describe-producers` shows an open transaction.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ReferenceCluster } from '../../reference/cluster.ts';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { runTool } from '../engine/run-tool.ts';
import { addPartitionToTxn, clientTo, initProducerId, send } from './raw-requests.ts';

const RUN_CLASS = fileURLToPath(new URL('../../reference/bin/kafka-run-class', import.meta.url));
const CONSOLE_CONSUMER = fileURLToPath(
  new URL('../../reference/bin/kafka-console-consumer', import.meta.url),
);
/** The reference's node 1 (nodes 2 and 3 above it); their controllers listen 50 above: 28050-28052. */
const REFERENCE_PORT = 28000;
/** How old the hanging batch is: well past the tool's default 15-minute bound. */
const BATCH_AGE_MS = 60 * 60 * 1000;
/** A condition polled over the wire (a coordinator loaded, an offset reached). */
const CONDITION_TIMEOUT_MS = 60_000;
const TOOL_TIMEOUT_MS = 90_000;
const TOPIC = 'hanging';
const TRANSACTIONAL_ID = 'hanging-txn';
const LATEST = -1n;

interface Engine {
  readonly title: string;
  readonly bootstrap: string;
  /** The port of node `id`'s broker. */
  port(id: number): number;
  readonly nodeIds: readonly number[];
  stop(): Promise<void>;
}

async function kstackEngine(): Promise<Engine> {
  const cluster: TestCluster = await startCluster({ nodes: 3 });
  return {
    title: 'kstack (3 nodes)',
    bootstrap: cluster.bootstrapServers,
    port: (id) => cluster.broker(id).port,
    nodeIds: [1, 2, 3],
    stop: () => cluster.stop(),
  };
}

async function referenceEngine(): Promise<Engine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-hanging-ref-'));
  const cluster = new ReferenceCluster({
    nodes: 3,
    basePort: REFERENCE_PORT,
    dataDir,
    overrides: { 'transaction.partition.verification.enable': 'false' },
  });
  await cluster.start();
  return {
    title: 'Apache Kafka 4.1.1 (reference)',
    bootstrap: `127.0.0.1:${REFERENCE_PORT}`,
    port: (id) => REFERENCE_PORT + id - 1,
    nodeIds: [1, 2, 3],
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Repeats `attempt` until it gives a value (not undefined) or the deadline passes. */
async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${CONDITION_TIMEOUT_MS} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Kafka's `kafka-transactions` tool: its exit code and the rows of its table. */
async function transactionsTool(
  bootstrap: string,
  ...args: string[]
): Promise<{ code: number | null; rows: Record<string, string>[]; stderr: string }> {
  const result = await runTool(
    RUN_CLASS,
    ['org.apache.kafka.tools.TransactionsCommand', '--bootstrap-server', bootstrap, ...args],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  const [header, ...rows] = result.stdout
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t').map((c) => c.trim()));
  return {
    code: result.code,
    stderr: result.stderr,
    rows: rows.map((row) => Object.fromEntries((header ?? []).map((name, i) => [name, row[i] ?? '']))),
  };
}

/** The node that coordinates `transactionalId`, once it has loaded it (FindCoordinator v4). */
function coordinatorOf(client: ControllerClient, transactionalId: string): Promise<number> {
  return until(`the coordinator of ${transactionalId}`, async () => {
    const found = await send(client, 10, 4, { keyType: 1, coordinatorKeys: [transactionalId] });
    const coordinator = (found.coordinators as MessageValue[])[0];
    return coordinator?.errorCode === ErrorCode.NONE ? (coordinator.nodeId as number) : undefined;
  });
}

/** Produce v9 (no implicit add to the transaction), acks all: the partition's error code and base offset. */
async function produce(
  client: ControllerClient,
  records: Uint8Array,
  transactionalId: string | null,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const answer = await send(client, 0, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  const partition = (answer.responses as { partitionResponses: MessageValue[] }[])[0]?.partitionResponses[0];
  assert.ok(partition !== undefined, 'one partition answered');
  return { errorCode: partition.errorCode as number, baseOffset: partition.baseOffset as bigint };
}

function plainBatch(values: readonly string[]): Promise<Buffer> {
  return encodeRecordBatch({
    records: values.map((value) => ({ timestamp: Date.now(), key: null, value: Buffer.from(value) })),
  });
}

/** ListOffsets v7 latest at an isolation level (0 read_uncommitted: the HW; 1 read_committed: the LSO). */
async function latestOffset(client: ControllerClient, isolationLevel: number): Promise<bigint> {
  const answer = await send(client, 2, 7, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: LATEST }] }],
  });
  const partition = (answer.topics as { partitions: MessageValue[] }[])[0]?.partitions[0];
  assert.equal(partition?.errorCode, ErrorCode.NONE, 'ListOffsets');
  return partition.offset as bigint;
}

/** AddPartitionsToTxn v3, one transactional record (sequence 0), EndTxn v3 commit (no epoch bump). */
async function committedTransaction(
  toCoordinator: ControllerClient,
  toLeader: ControllerClient,
  producerId: bigint,
  producerEpoch: number,
): Promise<void> {
  await addPartitionToTxn(toCoordinator, TRANSACTIONAL_ID, producerId, producerEpoch, TOPIC, 0);
  const batch = await encodeRecordBatch({
    transactional: true,
    producerId: Number(producerId),
    producerEpoch,
    baseSequence: 0,
    records: [{ timestamp: Date.now(), key: null, value: Buffer.from('committed') }],
  });
  assert.deepEqual(await produce(toLeader, batch, TRANSACTIONAL_ID), {
    errorCode: ErrorCode.NONE,
    baseOffset: 1n,
  });
  const ended = await send(toCoordinator, 26, 3, {
    transactionalId: TRANSACTIONAL_ID,
    producerId,
    producerEpoch,
    committed: true,
  });
  assert.equal(ended.errorCode, ErrorCode.NONE, 'EndTxn');
}

/** DescribeProducers v0 on one replica: the producer's state there (it must be described). */
async function describedProducer(toReplica: ControllerClient, producerId: bigint): Promise<MessageValue> {
  const answer = await send(toReplica, 61, 0, { topics: [{ name: TOPIC, partitionIndexes: [0] }] });
  const partition = (answer.topics as { partitions: MessageValue[] }[])[0]?.partitions[0];
  assert.equal(partition?.errorCode, ErrorCode.NONE, 'DescribeProducers');
  const producers = partition.activeProducers as MessageValue[];
  const producer = producers.find((p) => p.producerId === producerId);
  assert.ok(producer !== undefined, 'the producer is described');
  return producer;
}

/** Kafka's Java console consumer at read_committed: the first `count` values of the topic. */
async function readCommitted(bootstrap: string, count: number): Promise<string[]> {
  const result = await runTool(
    CONSOLE_CONSUMER,
    [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      TOPIC,
      '--from-beginning',
      '--isolation-level',
      'read_committed',
      '--max-messages',
      String(count),
      '--timeout-ms',
      '30000',
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  assert.match(result.stderr, new RegExp(`Processed a total of ${count} messages`), result.stderr);
  return result.stdout.trim().split('\n');
}

for (const makeEngine of [kstackEngine, referenceEngine]) {
  describe(`hanging transaction (${makeEngine === kstackEngine ? 'kstack' : 'reference'})`, () => {
    let engine: Engine;
    const clients: ControllerClient[] = [];
    const clientOf = (id: number): ControllerClient => {
      const client = clientTo(engine.port(id), `hanging-${id}`);
      clients.push(client);
      return client;
    };

    before(async () => {
      engine = await makeEngine();
    });

    after(async () => {
      for (const client of clients) client.close();
      await engine?.stop();
    });

    it('find-hanging lists it, abort ends it, the LSO reaches the high watermark', {
      timeout: 240_000,
    }, async () => {
      const any = clientOf(engine.nodeIds[0]!);
      const coordinator = await coordinatorOf(any, TRANSACTIONAL_ID);
      // The partition's leader: another node than the coordinator; RF 3.
      const leader = engine.nodeIds.find((id) => id !== coordinator) ?? coordinator;
      assert.notEqual(leader, coordinator, 'the leader is not the coordinator');
      const [follower, ...others] = engine.nodeIds.filter((id) => id !== leader);
      assert.ok(follower !== undefined);
      const created = await send(any, 19, 7, {
        topics: [
          {
            name: TOPIC,
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [{ partitionIndex: 0, brokerIds: [leader, follower, ...others] }],
            configs: [],
          },
        ],
        timeoutMs: 30_000,
      });
      assert.equal((created.topics as MessageValue[])[0]?.errorCode, ErrorCode.NONE, 'CreateTopics');
      const toLeader = clientOf(leader);
      const toCoordinator = clientOf(coordinator);
      const producer = await until('InitProducerId', () => initProducerId(toCoordinator, TRANSACTIONAL_ID));
      const producerId = producer.producerId as bigint;
      const producerEpoch = producer.producerEpoch as number;

      const first = await until('the first plain record written', async () => {
        const written = await produce(toLeader, await plainBatch(['before']), null);
        return written.errorCode === ErrorCode.NONE ? written : undefined;
      });
      assert.equal(first.baseOffset, 0n);
      // A committed transaction first, so the producer's last marker here carries a real coordinator
      // epoch: the tool's abort sends the epoch DescribeProducers reports, which must be accepted.
      await committedTransaction(toCoordinator, toLeader, producerId, producerEpoch);
      await until('the commit marker written (LSO 3)', async () =>
        (await latestOffset(toLeader, 1)) === 3n ? true : undefined,
      );
      const coordinatorEpoch = (await describedProducer(toLeader, producerId)).coordinatorEpoch as number;
      assert.ok(coordinatorEpoch >= 0, `the commit marker's coordinator epoch: ${coordinatorEpoch}`);

      const past = Date.now() - BATCH_AGE_MS;
      const hanging = await produce(
        toLeader,
        await encodeRecordBatch({
          transactional: true,
          producerId: Number(producerId),
          producerEpoch,
          baseSequence: 1,
          records: ['hanging-1', 'hanging-2'].map((value, i) => ({
            timestamp: past + i,
            key: null,
            value: Buffer.from(value),
          })),
        }),
        TRANSACTIONAL_ID,
      );
      assert.deepEqual(
        hanging,
        { errorCode: ErrorCode.NONE, baseOffset: 3n },
        'the unverified transactional batch',
      );
      const rest = await produce(toLeader, await plainBatch(['after-1', 'after-2']), null);
      assert.deepEqual(rest, { errorCode: ErrorCode.NONE, baseOffset: 5n });
      assert.equal(await latestOffset(toLeader, 0), 7n, 'the high watermark passes the open transaction');
      assert.equal(await latestOffset(toLeader, 1), 3n, 'the LSO stays at the open transaction');

      // A follower keeps producer state as it appends, and answers DescribeProducers from it.
      const toFollower = clientOf(follower);
      await until(`the open transaction replicated to node ${follower}`, async () =>
        (await describedProducer(toFollower, producerId)).currentTxnStartOffset === 3n ? true : undefined,
      );
      for (const broker of [leader, follower]) {
        const found = await transactionsTool(engine.bootstrap, 'find-hanging', '--broker-id', String(broker));
        assert.equal(found.code, 0, found.stderr);
        const listed = found.rows.map((row) => [row.Topic, row.Partition, row.ProducerId, row.ProducerEpoch]);
        assert.deepEqual(
          listed.map((row, i) => [...row, found.rows[i]?.StartOffset]),
          [[TOPIC, '0', String(producerId), String(producerEpoch), '3']],
          `find-hanging --broker-id ${broker} lists exactly the hanging transaction`,
        );
        assert.equal(found.rows[0]?.LastTimestamp, String(past + 1), 'the batch max timestamp');
        assert.equal(found.rows[0]?.CoordinatorEpoch, String(coordinatorEpoch), "the last marker's epoch");
      }

      const aborted = await transactionsTool(
        engine.bootstrap,
        'abort',
        '--topic',
        TOPIC,
        '--partition',
        '0',
        '--start-offset',
        '3',
      );
      assert.equal(aborted.code, 0, aborted.stderr);

      // The abort marker takes offset 7: the LSO reaches the high watermark, 8.
      await until('the LSO at the high watermark', async () => {
        const [committed, uncommitted] = [await latestOffset(toLeader, 1), await latestOffset(toLeader, 0)];
        return committed === 8n && uncommitted === 8n ? true : undefined;
      });
      assert.deepEqual(await readCommitted(engine.bootstrap, 4), [
        'before',
        'committed',
        'after-1',
        'after-2',
      ]);

      await until(`the abort marker replicated to node ${follower}`, async () =>
        (await describedProducer(toFollower, producerId)).currentTxnStartOffset === -1n ? true : undefined,
      );
      for (const broker of [leader, follower]) {
        const after = await transactionsTool(engine.bootstrap, 'find-hanging', '--broker-id', String(broker));
        assert.equal(after.code, 0, after.stderr);
        assert.deepEqual(after.rows, [], `find-hanging --broker-id ${broker} lists nothing after the abort`);
      }
      const producers = await transactionsTool(
        engine.bootstrap,
        'describe-producers',
        '--topic',
        TOPIC,
        '--partition',
        '0',
      );
      assert.equal(producers.code, 0, producers.stderr);
      const row = producers.rows.find((r) => r.ProducerId === String(producerId));
      assert.ok(row !== undefined, producers.rows.map((r) => JSON.stringify(r)).join('\n'));
      assert.equal(row.CurrentTransactionStartOffset, 'None', 'no current transaction');
      assert.equal(row.ProducerEpoch, String(producerEpoch));
    });
  });
}
