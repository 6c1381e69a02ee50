/**
 * Client quotas on the 3-node cluster (ClusterNode in this process, real sockets and files): a quota
 * altered through a node that is not the active controller is forwarded to it, committed by the
 * metadata quorum as a ClientQuotaRecord, and then listed and enforced by all three brokers (a Produce
 * over it through each node answers a throttle time).
 * Ports (docs/team-rules.md): brokers 23630-23632, their controller listeners 23680-23682.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClusterNode } from '../../src/engine/cluster-node.ts';
import { CLIENT_QUOTAS } from '../../src/security/quotas.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { batchOf } from '../records/faulty-batches.ts';
import { WireClient } from './support.ts';

const BROKER_PORTS = [23630, 23631, 23632] as const;
const CONTROLLER_PORTS = [23680, 23681, 23682] as const;
const CLUSTER_ID = 'a0NzdGFja1F1b3RhQ2x1c3Q';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 60_000;
/** The WireClient's client id. */
const CLIENT = [{ entityType: 'client-id', entityName: 'security-test' }];

/** A decoded response, read by field name in these tests. */
// biome-ignore lint/suspicious/noExplicitAny: responses are read by field name.
type Answer = any;

let cluster: TestCluster;
let nodes: ClusterNode[] = [];

async function ask(
  port: number,
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
): Promise<Answer> {
  const client = await WireClient.connect(port);
  try {
    const answer = await client.request(apiKey, version, body);
    assert.notEqual(answer, 'closed', `API ${apiKey} v${version} on ${port}: connection closed`);
    return answer;
  } finally {
    client.close();
  }
}

before(async () => {
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    waitMs: WAIT_MS,
  });
  nodes = cluster.nodes();
});

after(() => cluster?.stop());

test('a quota altered through a follower node is listed and enforced by all three brokers', {
  timeout: 300_000,
}, async () => {
  let leaderId = -1;
  await cluster.waitFor('one active controller named by every node', () => {
    const ids = new Set(nodes.map((node) => node.controller.driver.leader().leaderId));
    leaderId = [...ids][0] ?? -1;
    return ids.size === 1 && leaderId > 0;
  });
  const followerPort = BROKER_PORTS.find((_, i) => i + 1 !== leaderId)!;
  const created = await ask(followerPort, 19, 5, {
    topics: [{ name: 'q', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
  });
  assert.equal(created.topics[0].errorCode, 0);
  const refused = await ask(followerPort, 49, 1, {
    entries: [{ entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: -5, remove: false }] }],
    validateOnly: false,
  });
  assert.deepEqual(refused.entries[0], {
    errorCode: 42,
    errorMessage: 'Quota producer_byte_rate must be greater than 0',
    entity: CLIENT,
  });
  const altered = await ask(followerPort, 49, 1, {
    entries: [{ entity: CLIENT, ops: [{ key: 'producer_byte_rate', value: 2500, remove: false }] }],
    validateOnly: false,
  });
  const answeredAt = performance.now();
  assert.deepEqual(altered.entries, [{ errorCode: 0, errorMessage: null, entity: CLIENT }]);
  const quotaOf = (node: ClusterNode) =>
    node.broker.slots
      .get(CLIENT_QUOTAS)
      ?.get(new Map([['client-id', 'security-test']]), 'producer_byte_rate');
  await cluster.waitFor('every broker holding the quota', () =>
    nodes.every((node) => quotaOf(node) === 2500),
  );
  console.log(
    `quota replayed by the 3 brokers ${(performance.now() - answeredAt).toFixed(0)} ms after AlterClientQuotas answered`,
  );
  for (const port of BROKER_PORTS) {
    const described = await ask(port, 48, 1, {
      components: [{ entityType: 'client-id', matchType: 0, match: 'security-test' }],
      strict: true,
    });
    assert.deepEqual(described.entries, [
      { entity: CLIENT, values: [{ key: 'producer_byte_rate', value: 2500 }] },
    ]);
  }
  // Each broker enforces it: ~30 KB to the leader of each partition (each broker counts its own).
  const topic = nodes[0]!.broker.metadata().topic('q');
  assert.ok(topic !== undefined);
  const leaders = new Map<number, number>();
  for (const p of topic.partitions) leaders.set(p.leaderId, p.partitionIndex);
  assert.ok(leaders.size >= 2, `partitions led by ${[...leaders.keys()]}`);
  const records = batchOf(0, Date.now(), [
    { timestampDelta: 0, offsetDelta: 0, key: null, value: Buffer.alloc(30_000, 1) },
  ]);
  for (const [leader, partition] of leaders) {
    const produced = await ask(BROKER_PORTS[leader - 1]!, 0, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: 'q', partitionData: [{ index: partition, records }] }],
    });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
    assert.ok(
      produced.throttleTimeMs > 0,
      `broker ${leader} answered throttle ${produced.throttleTimeMs} ms`,
    );
  }
});
