/**
 * KIP-966's order when a fencing empties an ISR (src/controller/eligible-leaders.ts): an unfenced
 * ELR member leads at once, cleanly (ISR [it], the fenced leader into the ELR, not RECOVERING), with
 * unclean.leader.election.enable off or on; only without one does an unclean election take a live
 * replica outside ISR and ELR. Kafka 4.1.1's PartitionChangeBuilder: with the target ISR empty, an
 * acceptable ELR member is a valid new leader, tried before the last known leader and the unclean
 * candidates. Staged on ReplicationControl (its controlled shutdown, the same #removeBroker as a
 * session expiry) over an image whose commits apply at once. No sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigResourceType, MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { MetadataQuorum } from '../../src/controller/metadata-quorum.ts';
import { ReplicationControl } from '../../src/controller/replication-control.ts';

const CLUSTER_ID = 'elr-first';
const BROKER_HEARTBEAT_KEY = 63;
const TOPIC_ID = '5b4c2a9e-8d41-4f0e-9a3c-2e6f1d7b8c90';
/** Brokers 1-4 registered at these offsets (their broker epochs). */
const EPOCHS = new Map([
  [1, 10],
  [2, 11],
  [3, 12],
  [4, 13],
]);

/**
 * Topic t, replicas `replicas`, led by 2 alone in its ISR, with min ISR 2, ELR `elr` and
 * unclean.leader.election.enable `unclean`; brokers in `fenced` are fenced.
 */
function imageWith(replicas: number[], elr: number[], fenced: number[], unclean: boolean): MetadataImage {
  let image = MetadataImage.empty(CLUSTER_ID, 1);
  for (const [brokerId, epoch] of EPOCHS) {
    image = image.apply(
      [
        {
          type: 'RegisterBrokerRecord',
          brokerId,
          host: 'h',
          port: brokerId,
          rack: null,
          fenced: fenced.includes(brokerId),
        },
      ],
      BigInt(epoch),
    );
  }
  const config = (name: string, value: string): MetadataRecord => ({
    type: 'ConfigRecord',
    resourceType: ConfigResourceType.topic,
    resourceName: 't',
    name,
    value,
  });
  return image.apply(
    [
      { type: 'TopicRecord', name: 't', topicId: TOPIC_ID },
      {
        type: 'PartitionRecord',
        topicId: TOPIC_ID,
        partitionId: 0,
        replicas,
        isr: [2],
        leader: 2,
        leaderEpoch: 3,
        partitionEpoch: 5,
        elr,
      },
      config('min.insync.replicas', '2'),
      config('unclean.leader.election.enable', String(unclean)),
    ],
    20n,
  );
}

/** Broker 2's controlled shutdown on a controller over `start`: the partition changes it proposed. */
async function shutDownLeader(start: MetadataImage): Promise<MetadataRecord[]> {
  let image = start;
  const proposed: MetadataRecord[] = [];
  const quorum = {
    image: () => image,
    appliedEpoch: () => 1,
    untilEpochReplayed: () => Promise.resolve(),
    propose: (records: readonly MetadataRecord[]) => {
      proposed.push(...records);
      image = image.apply(records, image.metadataOffset + 1n);
      return Promise.resolve(image.metadataOffset);
    },
  } as unknown as MetadataQuorum;
  const control = new ReplicationControl({
    nodeId: 1,
    clusterId: CLUSTER_ID,
    quorum,
    log: { info: () => {}, warn: () => {} },
  });
  control.onLeaderChange({ leaderId: 1, epoch: 1 } as Parameters<typeof control.onLeaderChange>[0]);
  const heartbeat = control.handlers().find((h) => h.apiKey === BROKER_HEARTBEAT_KEY)!;
  try {
    const answer = await heartbeat.handle(
      { brokerId: 2, brokerEpoch: 11n, currentMetadataOffset: 20n, wantShutDown: true },
      {} as never,
    );
    assert.equal(answer.errorCode, 0);
  } finally {
    control.stop();
  }
  return proposed.filter((record) => record.type === 'PartitionChangeRecord');
}

const change = (fields: object) => ({
  type: 'PartitionChangeRecord',
  topicId: TOPIC_ID,
  partitionId: 0,
  ...fields,
});

for (const unclean of [false, true]) {
  test(`unclean ${unclean}: the leader fenced with ISR [2] and 3 unfenced in the ELR: 3 leads cleanly, 2 enters the ELR`, async () => {
    // Replicas [4,2,3]: an unclean election would take 4, the first live replica.
    const changes = await shutDownLeader(imageWith([4, 2, 3], [3], [], unclean));
    assert.deepEqual(changes, [change({ isr: [3], leader: 3, elr: [2] })]);
  });
}

test('the ELR member fenced too: unclean on takes the first live replica (RECOVERING, lists cleared), off leaves none', async () => {
  assert.deepEqual(await shutDownLeader(imageWith([4, 2, 3], [3], [3], true)), [
    change({ leader: 4, isr: [4], elr: [], leaderRecoveryState: 1 }),
  ]);
  assert.deepEqual(await shutDownLeader(imageWith([4, 2, 3], [3], [3], false)), [
    change({ isr: [], leader: -1, elr: [2, 3], lastKnownElr: [2] }),
  ]);
});
