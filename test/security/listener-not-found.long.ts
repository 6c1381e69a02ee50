// By hand (not a unit test): `node test/security/listener-not-found.long.ts`. Asks Apache Kafka 4.1.1
// (three nodes; nodes 1-2 have a second PLAINTEXT listener EXTRA, node 3 has none) what
// test/security/cluster-listeners.test.ts asserts of kstack: Metadata through EXTRA lists brokers 1
// and 2 only, and a partition led by node 3 answers LISTENER_NOT_FOUND (72) with leader -1 on v12,
// LEADER_NOT_AVAILABLE (5) on v5, with node 3 among its offline replicas. Ports 24740-24744, 24790-24792.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { ZERO_UUID } from '../../src/protocol/index.ts';
import { WireClient } from './support.ts';

const EXTRA = [24743, 24744];
const TOPIC = 'listener-not-found';
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-listener-not-found-'));
const reference = new ReferenceCluster({
  nodes: 3,
  basePort: 24740,
  dataDir,
  overrides: (node) => {
    const extra = EXTRA[node.id - 1];
    return {
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,EXTRA:PLAINTEXT,CONTROLLER:PLAINTEXT',
      listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${extra === undefined ? '' : `,EXTRA://127.0.0.1:${extra}`}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}${extra === undefined ? '' : `,EXTRA://127.0.0.1:${extra}`}`,
    };
  },
});
const kill = () => reference.killAllSync();
process.on('exit', kill);
try {
  await reference.start();
  const admin = new Kafka({ brokers: ['127.0.0.1:24740'], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }],
    waitForLeaders: true,
  });
  const described = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  await admin.disconnect();
  const leaders = described.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]);
  console.log('leaders (PLAINTEXT):', JSON.stringify(leaders));
  const client = await WireClient.connect(EXTRA[0]!);
  for (const version of [12, 5]) {
    const answer = await client.request(3, version, {
      topics: [{ name: TOPIC, topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.notEqual(answer, 'closed');
    const body = answer as {
      brokers: { nodeId: number; port: number }[];
      topics: {
        partitions: {
          partitionIndex: number;
          errorCode: number;
          leaderId: number;
          offlineReplicas: number[];
        }[];
      }[];
    };
    console.log(`v${version}:`, JSON.stringify(body));
    assert.deepEqual(body.brokers.map((b) => [b.nodeId, b.port]).sort(), [
      [1, EXTRA[0]],
      [2, EXTRA[1]],
    ]);
    for (const partition of body.topics[0]!.partitions) {
      const leader = leaders.find(([id]) => id === partition.partitionIndex)![1];
      const expected = leader === 3 ? [version >= 6 ? 72 : 5, -1] : [0, leader];
      assert.deepEqual(
        [partition.errorCode, partition.leaderId],
        expected,
        `partition ${partition.partitionIndex}`,
      );
      assert.deepEqual(partition.offlineReplicas, [3], `partition ${partition.partitionIndex}`);
    }
  }
  assert.ok(
    leaders.some(([, leader]) => leader === 3),
    'no partition led by node 3',
  );
  client.close();
} finally {
  await reference.stop(true);
  process.off('exit', kill);
  rmSync(dataDir, { recursive: true, force: true });
}
