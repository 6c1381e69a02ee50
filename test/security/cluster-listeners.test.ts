// Several listeners on the 3-node cluster (ClusterNode in this process, real sockets and files):
// every node registers each of its listeners with the controller (RegisterBrokerRecord endpoints),
// and Metadata, DescribeCluster and FindCoordinator answer each client with the brokers' addresses
// on the listener it came in on. Nodes 1 and 2 have PLAINTEXT, SASL_PLAINTEXT (PLAIN) and a third
// PLAINTEXT listener EXTRA; node 3 has no EXTRA: on EXTRA it is left out of the brokers and the
// partitions it leads answer LISTENER_NOT_FOUND (Metadata v6+), and it is an offline replica there,
// as Apache Kafka 4.1.1 answered the same layout (test/security/listener-not-found.long.ts, by hand).
// Clients we did not write (kcat, kafkajs) produce with acks=all and consume through each listener.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { KafkaErrors, ZERO_UUID } from '../../src/protocol/index.ts';
import { kcat, PLAIN_JAAS, type SaslLogin, WireClient } from './support.ts';

const HOST = '127.0.0.1';
const PLAINTEXT_PORTS = [24700, 24701, 24702] as const;
const SASL_PORTS = [24710, 24711, 24712] as const;
/** The EXTRA listener of nodes 1 and 2 (node 3 has none). */
const EXTRA_PORTS = [24720, 24721] as const;
const CONTROLLER_PORTS = [24750, 24751, 24752] as const;
const CLUSTER_ID = 'bGlzdGVuZXJzQ2x1c3Rlcg';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOPIC = 'listeners-round-trip';

const PLAIN: SaslLogin = { protocol: 'PLAINTEXT' };
const ALICE: SaslLogin = {
  protocol: 'SASL_PLAINTEXT',
  mechanism: 'PLAIN',
  username: 'alice',
  password: 'alice-secret',
};

const address = (port: number): string => `${HOST}:${port}`;
let dataDir = '';
const nodes: ClusterNode[] = [];

function nodeConfig(index: number): Record<string, string> {
  const extra = EXTRA_PORTS[index];
  const listeners = [
    `PLAINTEXT://${address(PLAINTEXT_PORTS[index]!)}`,
    `SASL_PLAINTEXT://${address(SASL_PORTS[index]!)}`,
    ...(extra === undefined ? [] : [`EXTRA://${address(extra)}`]),
  ].join(',');
  return {
    listeners,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,EXTRA:PLAINTEXT',
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS({ alice: 'alice-secret' }),
    'offsets.topic.replication.factor': '3',
  };
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-listeners-'));
  const voters = CONTROLLER_PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
  for (let i = 0; i < 3; i++) {
    nodes.push(
      new ClusterNode({
        nodeId: i + 1,
        clusterId: CLUSTER_ID,
        voters,
        host: HOST,
        port: PLAINTEXT_PORTS[i]!,
        dataDir: join(dataDir, `node-${i + 1}`),
        config: nodeConfig(i),
        log: { info() {}, warn() {} },
        onFatal: (error) => {
          throw error;
        },
      }),
    );
  }
  await Promise.all(nodes.map((node) => node.start()));
  await Promise.all(nodes.map((node) => node.registered));
  await waitFor('three unfenced brokers in every image', () =>
    nodes.every((node) => {
      const image = node.broker.metadata();
      return image.aliveBrokers().length === 3;
    }),
  );
});

after(async () => {
  await Promise.all(nodes.map((node) => node.stop({ controlled: false })));
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

async function kcatBrokers(bootstrap: string, login: SaslLogin): Promise<string[]> {
  const result = await kcat(bootstrap, login, ['-L', '-J', '-m', '30']);
  assert.equal(result.code, 0, `kcat -L on ${bootstrap}: ${result.stderr}`);
  const metadata = JSON.parse(result.stdout) as { brokers: { name: string }[] };
  return metadata.brokers.map((b) => b.name).sort();
}

test('kcat through each listener of each node sees only the addresses of that listener', async () => {
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(
      await kcatBrokers(address(PLAINTEXT_PORTS[i]!), PLAIN),
      PLAINTEXT_PORTS.map(address),
      `PLAINTEXT of node ${i + 1}`,
    );
    assert.deepEqual(
      await kcatBrokers(address(SASL_PORTS[i]!), ALICE),
      SASL_PORTS.map(address),
      `SASL_PLAINTEXT of node ${i + 1}`,
    );
  }
  // Node 3 has no EXTRA listener: it is not among EXTRA's brokers.
  assert.deepEqual(await kcatBrokers(address(EXTRA_PORTS[1]), PLAIN), EXTRA_PORTS.map(address));
});

test('kafkajs over SASL_PLAINTEXT: acks=all produce, consume through the other listener, DescribeCluster and FindCoordinator per listener', async () => {
  const sasl = new Kafka({
    clientId: 'cluster-listeners',
    brokers: [address(SASL_PORTS[1])],
    sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 20 },
  });
  const admin = sasl.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    const cluster = await admin.describeCluster();
    assert.deepEqual(
      cluster.brokers.map((b) => `${b.host}:${b.port}`).sort(),
      SASL_PORTS.map(address),
      'DescribeCluster over SASL_PLAINTEXT',
    );
  } finally {
    await admin.disconnect();
  }
  const producer = sasl.producer();
  await producer.connect();
  try {
    for (let partition = 0; partition < 3; partition++) {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        messages: [{ partition, value: `kafkajs-${partition}` }],
      });
    }
  } finally {
    await producer.disconnect();
  }
  // kcat through PLAINTEXT of node 3 reads what kafkajs wrote over SASL_PLAINTEXT; a group's
  // coordinator is given on the consumer's listener.
  const consumed = await kcat(address(PLAINTEXT_PORTS[2]), PLAIN, [
    '-C',
    '-t',
    TOPIC,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%s\n',
  ]);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n').sort(), ['kafkajs-0', 'kafkajs-1', 'kafkajs-2']);

  const client = await WireClient.connect(PLAINTEXT_PORTS[0]);
  try {
    const answer = await client.request(10, 4, { keyType: 0, coordinatorKeys: ['listeners-group'] });
    assert.notEqual(answer, 'closed');
    const coordinators = (answer as { coordinators: { errorCode: number; port: number }[] }).coordinators;
    assert.equal(coordinators[0]?.errorCode, 0);
    assert.ok(
      (PLAINTEXT_PORTS as readonly number[]).includes(coordinators[0]!.port),
      `FindCoordinator on PLAINTEXT gave port ${coordinators[0]!.port}`,
    );
  } finally {
    client.close();
  }
});

test('kcat acks=all through SASL_PLAINTEXT, read back through EXTRA; partitions led by a broker without EXTRA answer LISTENER_NOT_FOUND there', async () => {
  const produced = await kcat(
    address(SASL_PORTS[0]),
    ALICE,
    ['-P', '-t', TOPIC, '-p', '0', '-X', 'acks=all', '-m', '30'],
    'kcat-one\nkcat-two\n',
  );
  assert.equal(produced.code, 0, produced.stderr);

  const client = await WireClient.connect(EXTRA_PORTS[0]);
  try {
    const metadata = async (version: number) => {
      const answer = await client.request(3, version, {
        topics: [{ name: TOPIC, topicId: ZERO_UUID }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.notEqual(answer, 'closed');
      return answer as {
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
    };
    const v12 = await metadata(12);
    assert.deepEqual(v12.brokers.map((b) => [b.nodeId, b.port]).sort(), [
      [1, EXTRA_PORTS[0]],
      [2, EXTRA_PORTS[1]],
    ]);
    const leaders = nodes[0]!.broker
      .metadata()
      .topic(TOPIC)!
      .partitions.map((p) => p.leaderId);
    const v5 = await metadata(5);
    for (const [index, leader] of leaders.entries()) {
      const onV12 = v12.topics[0]!.partitions.find((p) => p.partitionIndex === index)!;
      const onV5 = v5.topics[0]!.partitions.find((p) => p.partitionIndex === index)!;
      // Node 3 has no EXTRA: an offline replica of every partition there (Kafka's isReplicaOffline).
      assert.deepEqual(onV12.offlineReplicas, [3], `partition ${index}`);
      if (leader === 3) {
        assert.deepEqual([onV12.errorCode, onV12.leaderId], [KafkaErrors.LISTENER_NOT_FOUND.code, -1]);
        assert.deepEqual([onV5.errorCode, onV5.leaderId], [KafkaErrors.LEADER_NOT_AVAILABLE.code, -1]);
      } else {
        assert.deepEqual([onV12.errorCode, onV12.leaderId], [0, leader]);
      }
    }
    // Three partitions on three unfenced brokers: one is led by node 3, so the refusal is exercised.
    assert.ok(leaders.includes(3), `no partition led by node 3 (leaders ${leaders.join(',')})`);
  } finally {
    client.close();
  }

  // Partition 0's records through EXTRA when its leader has that listener, else through SASL.
  const leader0 = nodes[0]!.broker.metadata().topic(TOPIC)!.partitions[0]!.leaderId;
  const [bootstrap, login] =
    leader0 === 3 ? [address(SASL_PORTS[2]), ALICE] : [address(EXTRA_PORTS[0]), PLAIN];
  const consumed = await kcat(bootstrap, login, [
    '-C',
    '-t',
    TOPIC,
    '-p',
    '0',
    '-o',
    'beginning',
    '-e',
    '-q',
  ]);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n'), ['kafkajs-0', 'kcat-one', 'kcat-two']);
});
