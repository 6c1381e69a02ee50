/**
 * Two creations of one topic name proposed before either committed (two clients' first
 * FindCoordinator creating __consumer_offsets, or CreateTopics racing Metadata's auto-creation):
 * the second commits in the Raft log but every node skips it at replay and its proposer gets
 * TOPIC_ALREADY_EXISTS, so the first topic id and its logs stay (replacing it deleted and reopened
 * the logs under acknowledged writes: issue 12, findings 1 and 4). Three ControllerNodes in this
 * process on real sockets and files, controller listeners 23030-23032.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetadataRecord } from '../../src/broker/metadata-image.ts';
import { DuplicateTopicError, MetadataQuorum } from '../../src/controller/metadata-quorum.ts';
import { ControllerNode } from '../../src/controller/node.ts';

const HOST = '127.0.0.1';
const PORTS = [23030, 23031, 23032];
const VOTERS = PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
const CLUSTER_ID = 'RHVwbGljYXRlVG9waWNzMQ';
const WAIT_MS_MAX = 60_000;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metadata-quorum-duplicate-'));
const nodes = new Map<number, { node: ControllerNode; quorum: MetadataQuorum; handed: string[] }>();
const quiet = { info() {}, warn() {} };

function creation(name: string, topicId: string): MetadataRecord[] {
  return [
    { type: 'TopicRecord', name, topicId },
    {
      type: 'PartitionRecord',
      topicId,
      partitionId: 0,
      replicas: [1, 2, 3],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  ];
}

async function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
  const deadline = Date.now() + WAIT_MS_MAX;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await sleep(20);
  }
}

after(async () => {
  for (const { node, quorum } of nodes.values()) {
    quorum.detach();
    await node.stop();
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('a second creation of a name committed before the first replayed is skipped on every node', async () => {
  for (const nodeId of [1, 2, 3]) {
    const handed: string[] = [];
    const quorum = new MetadataQuorum({
      clusterId: CLUSTER_ID,
      onRecords: (records) => {
        for (const r of records) if (r.type === 'TopicRecord') handed.push(`${r.name}/${r.topicId}`);
      },
    });
    const node = new ControllerNode({
      nodeId,
      clusterId: CLUSTER_ID,
      voters: VOTERS,
      listenerName: 'CONTROLLER',
      host: HOST,
      port: PORTS[nodeId - 1]!,
      dataDir: join(dataDir, `controller-${nodeId}`),
      raftListener: quorum.listener,
      onLeaderChange: (leader) => quorum.onLeaderChange(leader),
      log: quiet,
      onFatal: (error) => {
        throw error;
      },
    });
    quorum.attach(node.driver);
    await node.start();
    nodes.set(nodeId, { node, quorum, handed });
  }
  const leader = await until('a leader', () =>
    [...nodes.values()].find(({ node }) => node.driver.role() === 'leader'),
  );
  const first = 'Rmlyc3RUb3BpY0lkMDAwMA';
  const second = 'U2Vjb25kVG9waWNJZDAwMA';
  // Both proposed in the same turn: neither is committed when the other is appended.
  const results = await Promise.allSettled([
    leader.quorum.propose(creation('__consumer_offsets', first)),
    leader.quorum.propose(creation('__consumer_offsets', second)),
  ]);
  assert.equal(results[0]?.status, 'fulfilled');
  assert.equal(results[1]?.status, 'rejected');
  const refusal = (results[1] as PromiseRejectedResult).reason as DuplicateTopicError;
  assert.ok(refusal instanceof DuplicateTopicError, String(refusal));
  assert.equal(refusal.errorCode, 36);
  assert.match(refusal.message, /Topic '__consumer_offsets' already exists/);
  // A later entry commits too, so every node has replayed past both creations.
  await leader.quorum.propose(creation('after', 'QWZ0ZXJUb3BpY0lkMDAwMA'));
  for (const [nodeId, { quorum, handed }] of nodes) {
    await until(`node ${nodeId} replays 'after'`, () => quorum.image().topic('after'));
    assert.equal(quorum.image().topic('__consumer_offsets')?.topicId, first, `node ${nodeId}`);
    assert.deepEqual(
      handed,
      [`__consumer_offsets/${first}`, 'after/QWZ0ZXJUb3BpY0lkMDAwMA'],
      `node ${nodeId}`,
    );
  }
});
