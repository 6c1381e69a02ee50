// Snapshots bound the metadata log, and a node far behind catches up through FetchSnapshot: three
// ControllerNodes in this process (real sockets, real files), each with a MetadataQuorum whose
// snapshot trigger is lowered to SNAPSHOT_RECORD_BYTES (Kafka's
// metadata.log.max.record.bytes.between.snapshots, 20 MiB by default). One node stops; the leader
// creates and deletes 1,000 topics; every running node snapshots on its own (nobody calls
// snapshot()), and the snapshot is the size of the surviving image, not of the history. The
// stopped node, restarted below the leader's log start, installs the snapshot and holds an image
// equal to the leader's, with nothing of the deleted topics.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { MetadataImage, MetadataRecord } from '../../src/broker/metadata-image.ts';
import { encodeSnapshotPayload } from '../../src/controller/metadata-quorum.ts';
import { quorumTrio } from './quorum-trio.ts';

const SNAPSHOT_RECORD_BYTES = 64 * 1024;
const CHURN_TOPICS = 1_000;
const SURVIVORS = 10;
/** Proposals in flight at once during the churn. */
const CHURN_CHUNK = 50;

const { running, handed, startNode, stopNode, until, agreedLeader, close } = quorumTrio({
  ports: [27300, 27301, 27302],
  name: 'snapshot-catch-up',
  waitMsMax: 120_000,
  quorum: { snapshotRecordBytes: SNAPSHOT_RECORD_BYTES },
});

/** A Kafka topic id (16 bytes, base64url) made from the index. */
function topicId(index: number): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(index, 0);
  return bytes.toString('base64url');
}

function createTopic(name: string, index: number): MetadataRecord[] {
  const id = topicId(index);
  return [
    { type: 'TopicRecord', name, topicId: id },
    ...[0, 1, 2].map(
      (partitionId): MetadataRecord => ({
        type: 'PartitionRecord',
        topicId: id,
        partitionId,
        replicas: [1, 2, 3],
        isr: [1, 2, 3],
        leader: (partitionId % 3) + 1,
        leaderEpoch: 0,
        partitionEpoch: 0,
      }),
    ),
    { type: 'ConfigRecord', resourceType: 2, resourceName: name, name: 'retention.ms', value: '60000' },
  ];
}

/** The image as readers see it: topics by name with partitions and configs. */
function topicsOf(image: MetadataImage): unknown {
  return [...image.topics()]
    .map((t) => ({ ...t, configs: [...t.configs] }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

after(close);

test('1,000 topics created and deleted: snapshots hold the surviving image; a restarted node catches up through FetchSnapshot', async () => {
  await Promise.all([1, 2, 3].map(startNode));
  const leader = await agreedLeader();
  const quorum = () => running.get(leader)!.quorum;
  const storage = () => running.get(leader)!.node.driver.replica.storage;
  const proposed: MetadataRecord[] = [];
  const propose = async (records: MetadataRecord[]) => {
    proposed.push(...records);
    await quorum().propose(records);
  };
  for (let i = 0; i < SURVIVORS; i++) await propose(createTopic(`kept-${i}`, i));

  const away = [1, 2, 3].find((id) => id !== leader)!;
  const awayEnd = running.get(away)!.node.driver.replica.storage.endOffset();
  await stopNode(away);
  for (let first = 0; first < CHURN_TOPICS; first += CHURN_CHUNK) {
    const indexes = Array.from({ length: CHURN_CHUNK }, (_, i) => SURVIVORS + first + i);
    await Promise.all(indexes.map((i) => propose(createTopic(`churn-${i}`, i))));
    await Promise.all(indexes.map((i) => propose([{ type: 'RemoveTopicRecord', topicId: topicId(i) }])));
  }
  const historyBytes = encodeSnapshotPayload(proposed).length;
  await until('the leader snapshots past the stopped node', () => storage().logStartOffset() > awayEnd);
  for (const [nodeId, { node }] of running) {
    assert.ok(node.driver.replica.storage.logStartOffset() > awayEnd, `node ${nodeId} took its own snapshot`);
  }
  const automatic = storage().snapshotId();
  // The automatic snapshots fall anywhere in the churn; one taken now shows the surviving image.
  const taken = quorum().snapshot();
  assert.ok(taken !== null);
  const snapshotBytes = storage().snapshotBytes()!;
  const snapshot = JSON.parse(new TextDecoder().decode(snapshotBytes)) as { records: MetadataRecord[] };
  const churnInSnapshot = snapshot.records.filter(
    (r) => r.type === 'TopicRecord' && r.name.startsWith('churn-'),
  ).length;
  assert.equal(churnInSnapshot, 0, 'deleted topics in the snapshot');
  assert.equal(snapshot.records.filter((r) => r.type === 'TopicRecord').length, SURVIVORS);
  const survivingBytes = encodeSnapshotPayload(
    Array.from({ length: SURVIVORS }, (_, i) => createTopic(`kept-${i}`, i)).flat(),
  ).length;
  console.log(
    `history ${proposed.length} records, ${historyBytes} bytes; last automatic snapshot at ${automatic.endOffset}; ` +
      `snapshot at ${taken.endOffset}: ${snapshot.records.length} records, ${snapshotBytes.length} bytes; ` +
      `the ${SURVIVORS} survivors' records ${survivingBytes} bytes`,
  );
  assert.equal(snapshotBytes.length, survivingBytes, 'the snapshot is the surviving image');

  await startNode(away);
  const restarted = () => running.get(away)!;
  await until(`node ${away} installs a snapshot`, () => {
    const start = restarted().node.driver.replica.storage.logStartOffset();
    return start > awayEnd && start;
  });
  await until(
    `node ${away} replays to the leader's end`,
    () => restarted().quorum.appliedEndOffset() >= quorum().appliedEndOffset(),
  );
  assert.deepEqual(topicsOf(restarted().quorum.image()), topicsOf(quorum().image()));
  assert.equal([...restarted().quorum.image().topics()].filter((t) => t.name.startsWith('churn-')).length, 0);
  // Handed to its broker: the surviving topics (from the snapshot), none of the 1,000 deleted ones.
  assert.deepEqual(
    (handed.get(away) ?? []).sort(),
    Array.from({ length: SURVIVORS }, (_, i) => `kept-${i}`).sort(),
  );
});
