// A broker that is not one of a partition's replicas refuses clients for it, as Kafka's does: on
// three in-process cluster nodes (src/testing startCluster, real sockets and files), a topic with
// one replica on node 3, and Produce, Fetch and ListOffsets sent straight to node 1 and node 2 by a
// raw wire client (a real client would follow Metadata to node 3 and never ask them).
// Kafka 4.1.1's 3-node reference (ports 23940-23942, by hand: KSTACK_HOSTING_PORTS=23940,23941,23942)
// answers NOT_LEADER_OR_FOLLOWER (6) to all three on the non-replicas and takes the record on node 3;
// before the fix kstack's node 1 took the write (error 0) into a log of its own; later nodes 1 and 2
// still opened a log on disk for it (now only its replica, node 3, has one).
// Ports (docs/team-rules.md): brokers 23930-23932, their controller listeners 23933-23935.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeRecordBatch } from '../../src/records/codec.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { type Body, WireClient } from './compression-wire.ts';

const TOPIC = 'hosted-on-3';
const NOT_LEADER_OR_FOLLOWER = 6;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const byHand = process.env.KSTACK_HOSTING_PORTS?.split(',').map(Number);
let cluster: TestCluster | null = null;
let ports: number[] = [];

before(async () => {
  if (byHand !== undefined) {
    ports = byHand;
    return;
  }
  cluster = await startCluster({
    ports: [23930, 23931, 23932],
    controllerPorts: [23933, 23934, 23935],
    waitMs: WAIT_MS,
  });
  ports = [1, 2, 3].map((id) => cluster!.broker(id).port);
});

after(async () => {
  await cluster?.stop();
});

type Partitions = { partitions: Body[] }[];

const show = (body: unknown): string =>
  JSON.stringify(body, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

async function produce(client: WireClient, value: string): Promise<Body> {
  const records = await encodeRecordBatch({
    records: [{ timestamp: Date.now(), key: null, value: Buffer.from(value) }],
  });
  const answer = await client.call<{ responses: { partitionResponses: Body[] }[] }>(0, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  return answer.responses[0]!.partitionResponses[0]!;
}

async function listOffsets(client: WireClient): Promise<Body> {
  const answer = await client.call<{ topics: Partitions }>(2, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return answer.topics[0]!.partitions[0]!;
}

test('a partition with one replica on node 3: nodes 1 and 2 answer NOT_LEADER_OR_FOLLOWER to Produce, Fetch and ListOffsets; node 3 takes the write', async () => {
  const admin = await WireClient.connect(ports[0]!);
  try {
    const created = await admin.call<{ topics: Body[] }>(19, 5, {
      topics: [
        {
          name: TOPIC,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [3] }],
          configs: [],
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.equal(created.topics[0]?.errorCode, 0, show(created.topics[0]));
  } finally {
    admin.close();
  }
  if (cluster !== null) await cluster.waitForPartition(TOPIC, 0, 'led by node 3', (v) => v.leaderId === 3);
  else await new Promise((resolve) => setTimeout(resolve, 3_000)); // by hand only: the reference's brokers learn it

  for (const nodeId of [1, 2]) {
    const client = await WireClient.connect(ports[nodeId - 1]!);
    try {
      const produced = await produce(client, `to-${nodeId}`);
      assert.equal(
        produced.errorCode,
        NOT_LEADER_OR_FOLLOWER,
        `Produce to node ${nodeId}: ${show(produced)}`,
      );
      const fetched = await client.fetchRaw(TOPIC, 0n);
      assert.equal(fetched.errorCode, NOT_LEADER_OR_FOLLOWER, `Fetch from node ${nodeId}`);
      const listed = await listOffsets(client);
      assert.equal(listed.errorCode, NOT_LEADER_OR_FOLLOWER, `ListOffsets on node ${nodeId}`);
    } finally {
      client.close();
    }
    if (cluster !== null) {
      const broker = cluster.broker(nodeId).node.broker;
      const local = broker.get(TOPIC, 0);
      assert.equal(local?.logEndOffset ?? 0n, 0n, `node ${nodeId} wrote nothing`);
      // Not a replica: no log on its disk at all, as Kafka's broker creates none (it had one before).
      assert.ok(
        !existsSync(join(broker.dataDir, `${TOPIC}-0`)),
        `node ${nodeId} opened no log for ${TOPIC}-0`,
      );
    }
  }

  if (cluster !== null) {
    const dataDir = cluster.broker(3).node.broker.dataDir;
    assert.ok(existsSync(join(dataDir, `${TOPIC}-0`)), `node 3, the replica, has the log of ${TOPIC}-0`);
  }
  const onReplica = await WireClient.connect(ports[2]!);
  try {
    const produced = await produce(onReplica, 'to-3');
    assert.equal(produced.errorCode, 0, show(produced));
    assert.equal(produced.baseOffset, 0n, 'the first record of the partition');
    const listed = await listOffsets(onReplica);
    assert.equal(listed.errorCode, 0);
    assert.equal(listed.offset, 1n);
    const fetched = await onReplica.fetchRaw(TOPIC, 0n);
    assert.equal(fetched.errorCode, 0);
    assert.equal(fetched.highWatermark, 1n);
  } finally {
    onReplica.close();
  }
});
