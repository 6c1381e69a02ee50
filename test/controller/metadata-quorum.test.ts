// The metadata log as Raft entries: three ControllerNodes in this process, on real sockets and real
// files, with a MetadataQuorum each. Records proposed on the active controller are committed and
// replayed into every node's image; a follower refuses to propose; a node that was away while the
// leader took a snapshot catches up through FetchSnapshot; after the leader stops another one
// commits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MetadataRecord } from '../../src/broker/metadata-image.ts';
import { MetadataQuorum, NotControllerError } from '../../src/controller/metadata-quorum.ts';
import { ControllerNode } from '../../src/controller/node.ts';
import { decodeEntries, encodeEntries } from '../../src/controller/wire.ts';

const HOST = '127.0.0.1';
const PORTS = [21020, 21021, 21022];
const VOTERS = PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';
const WAIT_MS_MAX = 60_000;
const POLL_MS = 20;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metadata-quorum-'));
const running = new Map<number, { node: ControllerNode; quorum: MetadataQuorum }>();
/** The topic names each node was handed through onRecords, in order (what a broker would replay). */
const handed = new Map<number, string[]>();
const quiet = { info() {}, warn() {} };

async function startNode(nodeId: number): Promise<void> {
  handed.set(nodeId, []);
  const quorum = new MetadataQuorum({
    clusterId: CLUSTER_ID,
    onRecords: (records) => {
      for (const record of records) if (record.type === 'TopicRecord') handed.get(nodeId)?.push(record.name);
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
  running.set(nodeId, { node, quorum });
}

async function stopNode(nodeId: number): Promise<void> {
  const entry = running.get(nodeId);
  if (entry === undefined) return;
  running.delete(nodeId);
  entry.quorum.detach();
  await entry.node.stop();
}

async function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
  const deadline = Date.now() + WAIT_MS_MAX;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS_MAX} ms`);
    await sleep(POLL_MS);
  }
}

/** The node every running node names as leader, once they agree. */
function agreedLeader(): Promise<number> {
  return until('one leader named by every running node', () => {
    const leaders = [...running.values()].map(({ node }) => node.driver.leader().leaderId);
    const first = leaders[0];
    return first !== undefined && first >= 0 && running.has(first) && leaders.every((l) => l === first)
      ? running.get(first)?.node.driver.role() === 'leader' && first
      : undefined;
  });
}

function topicRecords(name: string, index: number): MetadataRecord[] {
  const topicId = `${Buffer.alloc(15, index).toString('base64url').slice(0, 20)}AA`;
  return [
    { type: 'TopicRecord', name, topicId },
    {
      type: 'PartitionRecord',
      topicId,
      partitionId: 0,
      replicas: [1],
      isr: [1],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    },
  ];
}

function topicNames(nodeId: number): string[] {
  return [...(running.get(nodeId)?.quorum.image().topics() ?? [])].map((t) => t.name).sort();
}

after(async () => {
  await Promise.all([...running.keys()].map(stopNode));
  rmSync(dataDir, { recursive: true, force: true });
});

test('log entries cross the wire as record batches: offsets, epochs, control bits and payloads', async () => {
  const entries = [
    { offset: 7, epoch: 3, control: true, payload: new Uint8Array([1, 2, 3]) },
    { offset: 8, epoch: 3, control: false, payload: new Uint8Array(0) },
    { offset: 9, epoch: 4, control: false, payload: new TextEncoder().encode('{"records":[]}') },
  ];
  const decoded = await decodeEntries(await encodeEntries(entries, 1_700_000_000_000));
  assert.deepEqual(
    decoded.map((e) => ({ ...e, payload: [...e.payload] })),
    entries.map((e) => ({ ...e, payload: [...e.payload] })),
  );
  assert.deepEqual(await decodeEntries(null), []);
});

test('records proposed on the active controller reach every image; a follower refuses with NOT_CONTROLLER', async () => {
  await Promise.all([1, 2, 3].map(startNode));
  const leader = await agreedLeader();
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  await assert.rejects(running.get(follower)!.quorum.propose(topicRecords('refused', 9)), (error) => {
    assert.ok(error instanceof NotControllerError);
    assert.equal(error.errorCode, 41);
    assert.equal(error.leader.leaderId, leader);
    return true;
  });
  const offset = await running.get(leader)!.quorum.propose(topicRecords('orders', 1));
  assert.ok(offset >= 1n, 'after the leader-change entry');
  for (const nodeId of [1, 2, 3]) {
    await until(`node ${nodeId} replays 'orders'`, () => topicNames(nodeId).includes('orders'));
    const topic = running.get(nodeId)!.quorum.image().topic('orders');
    assert.deepEqual(topic?.partitions[0]?.replicas, [1]);
  }
  assert.equal(topicNames(follower).includes('refused'), false);
});

test('a node away during a snapshot catches up through FetchSnapshot; after the leader stops another commits', async () => {
  let leader = await agreedLeader();
  const away = [1, 2, 3].find((id) => id !== leader)!;
  const awayEnd = running.get(away)!.node.driver.replica.storage.endOffset();
  await stopNode(away);
  for (let i = 0; i < 5; i++) await running.get(leader)!.quorum.propose(topicRecords(`t${i}`, 10 + i));
  const snapshot = running.get(leader)!.quorum.snapshot();
  assert.ok(
    snapshot !== null && snapshot.endOffset > awayEnd,
    `snapshot ${JSON.stringify(snapshot)} past ${awayEnd}`,
  );
  assert.ok(running.get(leader)!.node.driver.replica.storage.logStartOffset() > awayEnd);

  await startNode(away);
  const expected = ['orders', 't0', 't1', 't2', 't3', 't4'];
  await until(`node ${away} installs the snapshot and replays`, () =>
    JSON.stringify(topicNames(away)) === JSON.stringify(expected) ? true : undefined,
  );
  assert.deepEqual(running.get(away)!.node.driver.replica.storage.snapshotId(), snapshot);

  await stopNode(leader);
  const previous = leader;
  leader = await agreedLeader();
  assert.notEqual(leader, previous);
  await running.get(leader)!.quorum.propose(topicRecords('after-failover', 20));
  for (const nodeId of running.keys()) {
    await until(`node ${nodeId} replays 'after-failover'`, () =>
      topicNames(nodeId).includes('after-failover'),
    );
    assert.deepEqual(topicNames(nodeId), [...expected, 'after-failover'].sort());
  }
  // The node that came back was handed the snapshot's records, then the batch after it.
  assert.deepEqual(handed.get(away), [...expected, 'after-failover']);
});
