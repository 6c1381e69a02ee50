// AlterPartitionReassignments (45), ListPartitionReassignments (46) and DescribeTopicPartitions (75)
// on one kstack broker in this process, sent by @platformatic/kafka's own encoders (a client we did
// not write) over a real socket: the per-partition refusals a tool never sends (it checks plans
// first) come back with Kafka's codes; a lone node moves nothing; DescribeTopicPartitions pages by
// its cursor. The three-node behaviour is in reassignment.slow.ts.
// Ports (docs/team-rules.md): the broker 23920.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  alterPartitionReassignmentsV0,
  Connection,
  describeTopicPartitionsV0,
  listPartitionReassignmentsV0,
} from '@platformatic/kafka';
import { Broker } from '../../src/broker/broker.ts';

const HOST = '127.0.0.1';
const PORT = 23920;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const INVALID_REPLICA_ASSIGNMENT = 39;
const NO_REASSIGNMENT_IN_PROGRESS = 85;

const root = mkdtempSync(join(tmpdir(), 'kstack-reassignment-wire-'));
let broker: Broker;
let connection: Connection;

before(async () => {
  broker = new Broker({ dataDir: root, host: HOST, port: PORT, nodeId: 1, log: { info() {}, warn() {} } });
  await broker.start();
  for (const name of ['a', 'b']) {
    const result = await broker.topics.createTopic({ name, numPartitions: 3, replicationFactor: 1 });
    assert.equal(result.errorCode, 0, JSON.stringify(result));
  }
  connection = new Connection('reassignment-wire-test');
  await connection.connect(HOST, PORT);
});

after(async () => {
  await connection.close();
  await broker.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The answer, refusals included (the client throws on any partition error, carrying the response). */
async function alter(
  topics: { name: string; partitions: { partitionIndex: number; replicas: number[] | null }[] }[],
) {
  try {
    return await alterPartitionReassignmentsV0.api.async(connection, 30_000, false, topics);
  } catch (error) {
    const response = (error as { response?: unknown }).response;
    if (response === undefined) throw error;
    return response as Awaited<ReturnType<typeof alterPartitionReassignmentsV0.api.async>>;
  }
}

test('one node: the same replicas change nothing; refusals carry Kafka’s codes per partition', async () => {
  const answer = await alter([
    {
      name: 'a',
      partitions: [
        { partitionIndex: 0, replicas: [1] },
        { partitionIndex: 1, replicas: [1, 2] },
        { partitionIndex: 2, replicas: [1, 1] },
        { partitionIndex: 0, replicas: null },
        { partitionIndex: 9, replicas: [1] },
      ],
    },
    { name: 'missing', partitions: [{ partitionIndex: 0, replicas: [1] }] },
  ]);
  assert.equal(answer.errorCode, 0);
  assert.deepEqual(
    answer.responses.map((t) => [
      t.name,
      t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.errorMessage]),
    ]),
    [
      [
        'a',
        [
          [0, 0, null],
          [
            1,
            INVALID_REPLICA_ASSIGNMENT,
            'The manual partition assignment includes broker 2, but no such broker is registered.',
          ],
          [
            2,
            INVALID_REPLICA_ASSIGNMENT,
            'The manual partition assignment includes the broker 1 more than once.',
          ],
          [0, NO_REASSIGNMENT_IN_PROGRESS, null],
          [9, UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find partition a:9.'],
        ],
      ],
      ['missing', [[0, UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find a topic named missing.']]],
    ],
  );
  const listed = await listPartitionReassignmentsV0.api.async(connection, 30_000, null);
  assert.deepEqual(listed.topics, []);
});

test('DescribeTopicPartitions: every topic in name order, paged by its cursor, unknown topics named', async () => {
  const first = await describeTopicPartitionsV0.api.async(connection, [], 4);
  assert.deepEqual(
    first.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.leaderId, p.isrNodes])]),
    [
      [
        'a',
        [
          [0, 1, [1]],
          [1, 1, [1]],
          [2, 1, [1]],
        ],
      ],
      ['b', [[0, 1, [1]]]],
    ],
  );
  assert.deepEqual(first.nextCursor, { topicName: 'b', partitionIndex: 1 });
  const rest = await describeTopicPartitionsV0.api.async(connection, [], 4, first.nextCursor!);
  assert.deepEqual(
    rest.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
    [['b', [1, 2]]],
  );
  assert.equal(rest.nextCursor, null);
  assert.deepEqual(rest.topics[0]!.partitions[0]!.eligibleLeaderReplicas, []);
  try {
    await describeTopicPartitionsV0.api.async(connection, [{ name: 'missing' }], 10);
    assert.fail('an unknown topic is an error');
  } catch (error) {
    const response = (error as { response?: { topics: { name: string; errorCode: number }[] } }).response;
    assert.deepEqual(
      response?.topics.map((t) => [t.name, t.errorCode]),
      [['missing', UNKNOWN_TOPIC_OR_PARTITION]],
    );
  }
});
