/**
 * Transactions with real clients we did not write, against `kstack up` and against Apache
 * Kafka 4.1.1 (the reference, one node) with the same assertions: librdkafka (PyPI
 * confluent-kafka, test/coordinator/python/transactions.py) commits, aborts, fences a zombie,
 * runs a consume-transform-produce loop with sendOffsetsToTransaction and has a transaction
 * aborted on its timeout; Kafka's Java console consumer reads with both isolation levels;
 * Kafka's `kafka-transactions` tool lists and describes; kafkajs 2.2.4 (the oldest versions:
 * InitProducerId 1, AddPartitionsToTxn 1, EndTxn 1, TxnOffsetCommit 2) commits, aborts and
 * sends offsets; the Java producer (kafka-producer-perf-test) writes in transactions; a broker
 * killed with SIGKILL in the middle of a transaction restarts with the committed data and
 * aborts the open transaction.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type {
  DescribeProducersResponseData,
  MessageValue,
  WriteTxnMarkersResponseData,
} from '../../src/protocol/index.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';
import { clientTo, initProducerId, send } from './raw-requests.ts';

const VENV_PYTHON = join(process.env.HOME ?? '', '.cache', 'kstack', 'venv', 'bin', 'python');
const SCENARIOS = fileURLToPath(new URL('./python/transactions.py', import.meta.url));
const RUN_CLASS = fileURLToPath(new URL('../../reference/bin/kafka-run-class', import.meta.url));
const CONSOLE_CONSUMER = fileURLToPath(
  new URL('../../reference/bin/kafka-console-consumer', import.meta.url),
);
const PERF_TEST = fileURLToPath(new URL('../../reference/bin/kafka-producer-perf-test', import.meta.url));
const KSTACK_PORT = 20530;
/** The reference's controller listens 50 above: 20590. */
const REFERENCE_PORT = 20540;
const SCENARIO_TIMEOUT_MS = 180_000;
/** A condition polled over the wire (a coordinator found, an assignment delivered). */
const CONDITION_TIMEOUT_MS = 60_000;

interface Target {
  readonly title: string;
  readonly bootstrap: string;
  start(): Promise<void>;
  /** SIGKILL and start again on the same data. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

/** A broker start on a loaded 2-core machine: 20 s (the helper's default) was missed at load 45. */
const START_TIMEOUT_MS = 100_000;

function kstack(port: number): Target {
  const broker = new BrokerProcess(port);
  return {
    title: 'kstack up',
    bootstrap: broker.bootstrap,
    start: () => broker.start(START_TIMEOUT_MS),
    async crashAndRestart() {
      assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
      await broker.start(START_TIMEOUT_MS);
    },
    async stop() {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    },
  };
}

function reference(port: number): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-txn-ref-'));
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir });
  return {
    title: 'Apache Kafka (reference)',
    bootstrap: `127.0.0.1:${port}`,
    start: () => cluster.start(),
    async crashAndRestart() {
      await cluster.stopNode(1, 'SIGKILL');
      await cluster.startNode(1);
    },
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one scenario of transactions.py; its stdout is one JSON line. */
async function scenario(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  const result = await runTool(VENV_PYTHON, [SCENARIOS, name, ...args], { timeoutMs: SCENARIO_TIMEOUT_MS });
  assert.equal(result.code, 0, `${name} failed:\n${result.stderr.slice(-4000)}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

/** Kafka's Java console consumer: every value of the topic from the start, with an isolation level. */
async function javaConsume(
  bootstrap: string,
  topic: string,
  isolation: string,
  count: number,
): Promise<string[]> {
  const result = await runTool(
    CONSOLE_CONSUMER,
    [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--from-beginning',
      '--isolation-level',
      isolation,
      '--max-messages',
      String(count),
      '--timeout-ms',
      '30000',
    ],
    { timeoutMs: 90_000 },
  );
  assert.match(result.stderr, new RegExp(`Processed a total of ${count} messages`), result.stderr);
  return result.stdout.trim().split('\n');
}

/** Kafka's `kafka-transactions` tool (org.apache.kafka.tools.TransactionsCommand): rows of its table. */
async function transactionsTool(bootstrap: string, ...args: string[]): Promise<Record<string, string>[]> {
  const result = await runTool(
    RUN_CLASS,
    ['org.apache.kafka.tools.TransactionsCommand', '--bootstrap-server', bootstrap, ...args],
    { timeoutMs: 90_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const [header, ...rows] = result.stdout
    .trim()
    .split('\n')
    .map((line) => line.split('\t').map((c) => c.trim()));
  assert.ok(header !== undefined, result.stdout);
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ''])));
}

/** Repeats `attempt` until it gives a value (not undefined) or the deadline passes. */
async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${CONDITION_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A KIP-848 member (ConsumerGroupHeartbeat v1) takes a 1-partition topic; a transactional producer
 * then sends TxnOffsetCommit v5 (the group coordinator adds the offsets partition itself) with
 * the member's epoch, the epochs beside it, an unknown member, no group metadata and a group
 * that does not exist. The error code of each, and EndTxn's.
 */
async function kip848TxnOffsetCommitCodes(
  client: ControllerClient,
  topic: string,
  group: string,
  transactionalId: string,
): Promise<Record<string, number>> {
  const created = await send(client, 19, 7, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
  });
  assert.equal((created.topics as MessageValue[])[0]?.errorCode, ErrorCode.NONE, 'CreateTopics');
  for (const [key, keyType] of [
    [group, 0],
    [transactionalId, 1],
  ] as const) {
    await until(`FindCoordinator ${key}`, async () => {
      const found = await send(client, 10, 4, { keyType, coordinatorKeys: [key] });
      return (found.coordinators as MessageValue[])[0]?.errorCode === ErrorCode.NONE ? true : undefined;
    });
  }
  const memberId = randomUUID();
  let memberEpoch = 0;
  await until('an assignment with the partition', async () => {
    const join = memberEpoch === 0;
    const answer = await send(client, 68, 1, {
      groupId: group,
      memberId,
      memberEpoch,
      rebalanceTimeoutMs: join ? 30_000 : -1,
      subscribedTopicNames: join ? [topic] : null,
      topicPartitions: join ? [] : null,
    });
    assert.equal(answer.errorCode, ErrorCode.NONE, `ConsumerGroupHeartbeat: ${answer.errorMessage}`);
    memberEpoch = answer.memberEpoch as number;
    const assigned = (answer.assignment as { topicPartitions: MessageValue[] } | null)?.topicPartitions ?? [];
    return assigned.length > 0 ? true : undefined;
  });
  const producer = await until('InitProducerId', () => initProducerId(client, transactionalId));
  const commit = async (groupId: string, generationId: number, member: string) => {
    const answer = await send(client, 28, 5, {
      transactionalId,
      groupId,
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
      generationId,
      memberId: member,
      groupInstanceId: null,
      topics: [
        {
          name: topic,
          partitions: [
            { partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' },
          ],
        },
      ],
    });
    const partitions = (answer.topics as { partitions: { errorCode: number }[] }[])[0]?.partitions ?? [];
    assert.equal(partitions.length, 1, 'one partition answered');
    return partitions[0]!.errorCode;
  };
  const codes: Record<string, number> = {
    memberEpoch: await commit(group, memberEpoch, memberId),
    nextEpoch: await commit(group, memberEpoch + 1, memberId),
    previousEpoch: await commit(group, memberEpoch - 1, memberId),
    unknownMember: await commit(group, memberEpoch, 'not-a-member'),
    noGroupMetadata: await commit(group, -1, ''),
    unknownGroup: await commit(`${group}-none`, memberEpoch, memberId),
  };
  const ended = await send(client, 26, 5, {
    transactionalId,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    committed: false,
  });
  codes.endTxn = ended.errorCode as number;
  return codes;
}

for (const makeTarget of [() => kstack(KSTACK_PORT), () => reference(REFERENCE_PORT)]) {
  const target = makeTarget();
  describe(`transactions with real clients: ${target.title}`, { timeout: 900_000 }, () => {
    before(() => target.start(), { timeout: 120_000 });
    after(() => target.stop(), { timeout: 120_000 });

    it('commit and abort: read_committed consumers see each committed record once and no aborted one', async () => {
      const seen = await scenario('commit-abort', target.bootstrap, 'txn-commit-abort', 'tx-commit-abort');
      assert.deepEqual(seen.readCommitted, ['commit-0', 'commit-1', 'commit-2', 'commit-3']);
      assert.deepEqual(seen.readUncommitted, [
        'commit-0',
        'commit-1',
        'commit-2',
        'abort-0',
        'abort-1',
        'commit-3',
      ]);
      // 6 records and 3 markers (control records take an offset each).
      assert.deepEqual(seen.latest, { committed: 9, uncommitted: 9 });
      const javaCommitted = await javaConsume(target.bootstrap, 'txn-commit-abort', 'read_committed', 4);
      assert.deepEqual(javaCommitted, ['commit-0', 'commit-1', 'commit-2', 'commit-3']);
      const javaAll = await javaConsume(target.bootstrap, 'txn-commit-abort', 'read_uncommitted', 6);
      assert.deepEqual(javaAll, ['commit-0', 'commit-1', 'commit-2', 'abort-0', 'abort-1', 'commit-3']);
    });

    it('an open transaction holds read_committed Fetch and ListOffsets at its first offset', async () => {
      const seen = await scenario('open-transaction', target.bootstrap, 'txn-open', 'tx-open');
      assert.deepEqual(seen.whileOpen, {
        latest: { committed: 1, uncommitted: 3 },
        readCommitted: ['before'],
        readUncommitted: ['before', 'open-0', 'open-1'],
      });
      assert.deepEqual(seen.afterAbort, {
        latest: { committed: 5, uncommitted: 5 },
        readCommitted: ['before', 'after'],
        readUncommitted: ['before', 'open-0', 'open-1', 'after'],
      });
    });

    for (const protocol of ['classic', 'consumer']) {
      const kip848 = protocol === 'consumer';
      const title = kip848
        ? 'consume-transform-produce with a KIP-848 consumer (group.protocol=consumer): TxnOffsetCommit takes its member epoch as the generation'
        : 'consume-transform-produce: output and input offsets commit together, or neither';
      it(title, async () => {
        const name = kip848 ? 'txn-848' : 'txn';
        const seen = await scenario(
          'consume-transform-produce',
          target.bootstrap,
          `${name}-in`,
          `${name}-out`,
          `${name}-group`,
          `tx-${name}-ctp`,
          protocol,
        );
        assert.deepEqual(seen.rounds, [
          {
            outcome: 'commit',
            input: ['in-0', 'in-1', 'in-2', 'in-3', 'in-4'],
            // TxnOffsetCommit's offsets stay invisible until the commit marker.
            offsetBeforeEnd: -1001,
            offsetAfterEnd: 5,
          },
          {
            outcome: 'abort',
            input: ['in-5', 'in-6', 'in-7', 'in-8', 'in-9'],
            offsetBeforeEnd: 5,
            offsetAfterEnd: 5,
          },
        ]);
        assert.deepEqual(seen.sinkReadCommitted, ['out-0', 'out-1', 'out-2', 'out-3', 'out-4']);
        assert.equal((seen.sinkReadUncommitted as string[]).length, 10);
      });
    }

    it('TxnOffsetCommit v5 for a KIP-848 group: the member epoch passes, another epoch is ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID', async () => {
      const port = Number(target.bootstrap.split(':')[1]);
      const client = clientTo(port, 'txn-848-test');
      try {
        const codes = await kip848TxnOffsetCommitCodes(
          client,
          'txn-848-raw',
          'txn-848-raw-group',
          'tx-848-raw',
        );
        assert.deepEqual(codes, {
          memberEpoch: ErrorCode.NONE,
          nextEpoch: ErrorCode.ILLEGAL_GENERATION,
          previousEpoch: ErrorCode.ILLEGAL_GENERATION,
          unknownMember: ErrorCode.UNKNOWN_MEMBER_ID,
          // Without group metadata (generation -1, no member id): accepted while the group has members.
          noGroupMetadata: ErrorCode.NONE,
          unknownGroup: ErrorCode.ILLEGAL_GENERATION,
          endTxn: ErrorCode.NONE,
        });
      } finally {
        client.close();
      }
    });

    it('a zombie producer is fenced by a new instance with the same transactional id', async () => {
      const seen = await scenario('fence', target.bootstrap, 'txn-fence', 'tx-fence');
      assert.deepEqual(seen.zombieError, { name: '_FENCED', fatal: true, abortable: false });
      assert.deepEqual(seen.readCommitted, ['successor']);
      assert.deepEqual(seen.readUncommitted, ['zombie', 'successor']);
    });

    it('WriteTxnMarkers refuses a marker older than the partition: coordinator epoch, then producer epoch', async () => {
      // After the fence scenario: txn-fence-0's producer wrote its commit marker.
      const port = Number(target.bootstrap.split(':')[1]);
      const client = clientTo(port, 'txn-marker-test');
      try {
        const described = (await client.request(61, 0, {
          topics: [{ name: 'txn-fence', partitionIndexes: [0] }],
        })) as unknown as DescribeProducersResponseData;
        const producers = described.topics[0]?.partitions[0]?.activeProducers ?? [];
        assert.equal(
          producers.length,
          1,
          JSON.stringify(described, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
        );
        const producer = producers[0]!;
        assert.ok(producer.producerEpoch >= 1, 'the successor bumped the epoch');
        const marker = async (producerEpoch: number, coordinatorEpoch: number) => {
          const answer = (await client.request(27, 1, {
            markers: [
              {
                producerId: producer.producerId,
                producerEpoch,
                transactionResult: false,
                topics: [{ name: 'txn-fence', partitionIndexes: [0] }],
                coordinatorEpoch,
              },
            ],
          })) as unknown as WriteTxnMarkersResponseData;
          return answer.markers[0]?.topics[0]?.partitions[0]?.errorCode;
        };
        // The coordinator epoch of the producer's last marker, as DescribeProducers gives it on both.
        assert.ok(producer.coordinatorEpoch >= 0, `coordinator epoch ${producer.coordinatorEpoch}`);
        assert.equal(
          await marker(producer.producerEpoch, producer.coordinatorEpoch - 1),
          ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        );
        assert.equal(await marker(producer.producerEpoch - 1, 1_000), ErrorCode.INVALID_PRODUCER_EPOCH);
      } finally {
        client.close();
      }
      // Nothing was written: read_committed still sees the successor's record.
      const seen = await scenario('read', target.bootstrap, 'txn-fence');
      assert.deepEqual(seen.readCommitted, ['successor']);
    });

    it('a transaction past transaction.timeout.ms is aborted by the coordinator, fencing its producer', async () => {
      const seen = await scenario('timeout', target.bootstrap, 'txn-timeout', 'tx-timeout');
      assert.deepEqual(seen.heldBack, { committed: 0, uncommitted: 1 });
      assert.deepEqual(seen.released, { committed: 2, uncommitted: 2 });
      assert.deepEqual(seen.commitError, { name: '_FENCED', fatal: true, abortable: false });
      assert.deepEqual(seen.readCommitted, []);
      assert.deepEqual(seen.readUncommitted, ['timed-out']);
    });

    it('transaction.timeout.ms above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT', async () => {
      const seen = await scenario('invalid-timeout', target.bootstrap, 'tx-invalid-timeout');
      assert.deepEqual(seen.error, { name: 'INVALID_TRANSACTION_TIMEOUT', fatal: true, abortable: false });
    });

    it("kafka-transactions lists and describes the coordinator's transactions", async () => {
      const listed = await transactionsTool(target.bootstrap, 'list');
      const states = Object.fromEntries(listed.map((row) => [row.TransactionalId, row.TransactionState]));
      assert.equal(states['tx-commit-abort'], 'CompleteCommit');
      assert.equal(states['tx-open'], 'CompleteAbort');
      assert.equal(states['tx-timeout'], 'CompleteAbort');
      assert.equal(states['tx-invalid-timeout'], undefined);
      const [described] = await transactionsTool(
        target.bootstrap,
        'describe',
        '--transactional-id',
        'tx-fence',
      );
      assert.equal(described?.TransactionState, 'CompleteCommit');
      // The successor's InitProducerId bumped the epoch twice: fencing abort, then its own epoch.
      assert.equal(described?.ProducerEpoch, '2');
      const producers = await transactionsTool(
        target.bootstrap,
        'describe-producers',
        '--topic',
        'txn-commit-abort',
        '--partition',
        '0',
      );
      assert.equal(producers.length, 1);
      assert.equal(producers[0]?.CurrentTransactionStartOffset, 'None');
    });

    it('kafkajs transactions: commit, abort and sendOffsets on the non-flexible API versions', async () => {
      const kafka = new Kafka({
        clientId: 'kstack-txn-test',
        brokers: [target.bootstrap],
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      const producer = kafka.producer({
        transactionalId: 'tx-kafkajs',
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic: 'txn-kafkajs', numPartitions: 1, replicationFactor: 1 }],
        });
        await producer.connect();
        const committed = await producer.transaction();
        await committed.send({ topic: 'txn-kafkajs', messages: [{ value: 'kjs-0' }, { value: 'kjs-1' }] });
        await committed.sendOffsets({
          consumerGroupId: 'kafkajs-txn-group',
          topics: [{ topic: 'txn-kafkajs', partitions: [{ partition: 0, offset: '2' }] }],
        });
        await committed.commit();
        const aborted = await producer.transaction();
        await aborted.send({ topic: 'txn-kafkajs', messages: [{ value: 'kjs-aborted' }] });
        await aborted.sendOffsets({
          consumerGroupId: 'kafkajs-txn-group',
          topics: [{ topic: 'txn-kafkajs', partitions: [{ partition: 0, offset: '3' }] }],
        });
        await aborted.abort();
        const offsets = await admin.fetchOffsets({ groupId: 'kafkajs-txn-group', topics: ['txn-kafkajs'] });
        assert.deepEqual(
          offsets.map((t) => t.partitions.map((p) => [p.partition, p.offset])),
          [[[0, '2']]],
        );
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
      const seen = await scenario('read', target.bootstrap, 'txn-kafkajs');
      assert.deepEqual(seen.readCommitted, ['kjs-0', 'kjs-1']);
      assert.deepEqual(seen.readUncommitted, ['kjs-0', 'kjs-1', 'kjs-aborted']);
    });

    it('the Java producer writes 2000 records in transactions of 200 ms, all read once by read_committed', async () => {
      const result = await runTool(
        PERF_TEST,
        [
          '--topic',
          'txn-java',
          '--num-records',
          '2000',
          '--record-size',
          '100',
          '--throughput',
          '-1',
          '--transactional-id',
          'tx-java',
          '--transaction-duration-ms',
          '200',
          '--producer-props',
          `bootstrap.servers=${target.bootstrap}`,
        ],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /2000 records sent/);
      const seen = await scenario('read', target.bootstrap, 'txn-java');
      assert.deepEqual(seen.counts, { committed: 2000, uncommitted: 2000 });
      const [described] = await transactionsTool(
        target.bootstrap,
        'describe',
        '--transactional-id',
        'tx-java',
      );
      assert.equal(described?.TransactionState, 'CompleteCommit');
    });

    it('a broker killed with SIGKILL mid-transaction keeps what was committed and aborts the open one', async () => {
      const before = await scenario('crash-phase1', target.bootstrap, 'txn-crash', 'tx-crash');
      assert.deepEqual(before.latest, { committed: 2, uncommitted: 3 });
      await target.crashAndRestart();
      const seen = await scenario('crash-phase2', target.bootstrap, 'txn-crash', 'tx-crash');
      assert.deepEqual(seen.released, { committed: 4, uncommitted: 4 });
      assert.deepEqual(seen.readCommitted, ['committed-before-crash', 'committed-after-restart']);
      assert.deepEqual(seen.readUncommitted, [
        'committed-before-crash',
        'open-at-crash',
        'committed-after-restart',
      ]);
    });
  });
}
