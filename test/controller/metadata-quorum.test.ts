// The metadata log as Raft entries: three ControllerNodes in this process, on real sockets and real
// files, with a MetadataQuorum each. Records proposed on the active controller are committed and
// replayed into every node's image; a follower refuses to propose; a node that was away while the
// leader took a snapshot catches up through FetchSnapshot; after the leader stops another one
// commits.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { MetadataRecord } from '../../src/broker/metadata-image.ts';
import { NotControllerError } from '../../src/controller/metadata-quorum.ts';
import { decodeEntries, encodeEntries } from '../../src/controller/wire.ts';
import type { LogEntry } from '../../src/raft/types.ts';
import { quorumTrio } from './quorum-trio.ts';

const { running, handed, startNode, stopNode, until, agreedLeader, close } = quorumTrio({
  ports: [21020, 21021, 21022],
  name: 'metadata-quorum',
  waitMsMax: 60_000,
});

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

after(close);

test('log entries cross the wire as record batches: offsets, epochs, control bits and records', async () => {
  const entries = [
    { offset: 7, epoch: 3, control: true, records: [new Uint8Array([1, 2, 3])] },
    { offset: 8, epoch: 3, control: false, records: [new Uint8Array(0)] },
    {
      offset: 9,
      epoch: 4,
      control: false,
      records: [new TextEncoder().encode('a'), new TextEncoder().encode('bc'), new Uint8Array([4])],
    },
    { offset: 12, epoch: 4, control: false, records: [new Uint8Array([5])] },
  ];
  const decoded = await decodeEntries(await encodeEntries(entries, 1_700_000_000_000));
  const plain = (list: readonly LogEntry[]) =>
    list.map((e) => ({ ...e, records: e.records.map((r) => [...r]) }));
  assert.deepEqual(plain(decoded), plain(entries));
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
