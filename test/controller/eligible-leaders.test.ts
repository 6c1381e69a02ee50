// Eligible Leader Replicas (src/controller/eligible-leaders.ts) as the 3-node reference (Apache Kafka
// 4.1.1, ELR on by default) showed them after SIGKILL of broker 3, checked by hand with
// kafka-topics --describe: RF 1 on [3] → leader none, ISR empty, ELR [3], LastKnownElr [3]; RF 2 on
// [2,3] with min ISR 2 → ISR [2], ELR [3], LastKnownElr empty; RF 3 with min ISR 3 → ISR [1,2],
// ELR [3]. Then: a full ISR again clears both, an empty ISR elects from the ELR when a member is back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { PartitionView } from '../../src/broker/services.ts';
import {
  electFromElr,
  electLastKnownLeader,
  electUnclean,
  elrChange,
  topicMinInsyncReplicas,
  topicUncleanElectionEnabled,
  uncleanElectionChange,
} from '../../src/controller/eligible-leaders.ts';

function partition(
  replicas: number[],
  isr: number[],
  leaderId: number,
  rest: Partial<PartitionView> = {},
): PartitionView {
  return { partitionIndex: 0, leaderId, leaderEpoch: 0, partitionEpoch: 0, replicas, isr, ...rest };
}

test('members leaving an ISR below min ISR enter the ELR; the last one leaves an empty ISR and a LastKnownElr', () => {
  // RF 1 on [3], broker 3 fenced: ISR empty, leader none.
  assert.deepEqual(elrChange(partition([3], [3], 3), [], -1, 2), { elr: [3], lastKnownElr: [3] });
  // RF 2 on [2,3], min ISR 2: 3 leaves.
  assert.deepEqual(elrChange(partition([2, 3], [2, 3], 2), [2], 2, 2), { elr: [3] });
  // RF 3, min ISR 3: 3 leaves.
  assert.deepEqual(elrChange(partition([3, 1, 2], [3, 1, 2], 1), [1, 2], 1, 3), { elr: [3] });
  // At or above min ISR: no ELR, nothing changes.
  assert.deepEqual(elrChange(partition([1, 2, 3], [1, 2, 3], 1), [1, 2], 1, 2), {});
  // Then the survivor fenced too: both in the ELR, LastKnownElr the leader it had.
  assert.deepEqual(elrChange(partition([2, 3], [2], 2, { elr: [3] }), [], -1, 2), {
    elr: [2, 3],
    lastKnownElr: [2],
  });
  // Back to min ISR: both cleared.
  assert.deepEqual(elrChange(partition([2, 3], [2], 2, { elr: [3], lastKnownElr: [2] }), [2, 3], 2, 2), {
    elr: [],
    lastKnownElr: [],
  });
});

test('an empty ISR elects the first unfenced ELR member; the image keeps and clears the lists', () => {
  let image = MetadataImage.empty('c', 1);
  const records: MetadataRecord[] = [2, 3].map((brokerId) => ({
    type: 'RegisterBrokerRecord',
    brokerId,
    host: '127.0.0.1',
    port: 9090 + brokerId,
    rack: null,
    fenced: true,
  }));
  image = image.apply(records, 1n);
  const offline = partition([2, 3], [], -1, { elr: [2, 3], lastKnownElr: [2] });
  assert.equal(electFromElr(image, offline), null, 'both fenced: no leader');
  assert.equal(electFromElr(image, offline, 3), 3, 'broker 3 unfencing may lead');
  assert.equal(
    electFromElr(image, partition([2, 3], [2], -1, { elr: [3] }), 3),
    null,
    'an ISR member comes first',
  );
  const topicId = '0e0b3a55-4f51-4bb4-9a55-1d2f77a1f0c3';
  image = image.apply(
    [
      { type: 'TopicRecord', name: 't', topicId },
      {
        type: 'PartitionRecord',
        topicId,
        partitionId: 0,
        replicas: [2, 3],
        isr: [2, 3],
        leader: 2,
        leaderEpoch: 0,
        partitionEpoch: 0,
      },
      {
        type: 'PartitionChangeRecord',
        topicId,
        partitionId: 0,
        isr: [],
        leader: -1,
        elr: [2, 3],
        lastKnownElr: [2],
      },
    ],
    2n,
  );
  assert.deepEqual(
    image.topic('t')!.partitions[0],
    partition([2, 3], [], -1, { leaderEpoch: 1, partitionEpoch: 1, elr: [2, 3], lastKnownElr: [2] }),
  );
  image = image.apply(
    [
      {
        type: 'PartitionChangeRecord',
        topicId,
        partitionId: 0,
        isr: [3],
        leader: 3,
        elr: [2],
        lastKnownElr: [],
      },
    ],
    3n,
  );
  assert.deepEqual(
    image.topic('t')!.partitions[0],
    partition([2, 3], [3], 3, { leaderEpoch: 2, partitionEpoch: 2, elr: [2] }),
  );
  assert.equal(topicMinInsyncReplicas(image, new Map([['min.insync.replicas', '3']]), 1), 3);
  assert.equal(topicMinInsyncReplicas(image, new Map(), 2), 2);
});

test('with ISR and ELR empty, a single LastKnownElr member leads once unfenced (Kafka last-known-leader recovery)', () => {
  const image = MetadataImage.empty('c', 1).apply(
    [2, 3].map((brokerId) => ({
      type: 'RegisterBrokerRecord',
      brokerId,
      host: '127.0.0.1',
      port: 9090 + brokerId,
      rack: null,
      fenced: brokerId === 3,
    })),
    1n,
  );
  // The reference after SIGKILL of 3 and its restart: solo-0 `isr=[], elr=[], lastKnownElr=[3]`.
  const solo = partition([3], [], -1, { lastKnownElr: [3] });
  assert.equal(electLastKnownLeader(image, solo), null, 'still fenced');
  assert.equal(electLastKnownLeader(image, solo, 3), 3, 'unfencing');
  assert.equal(electLastKnownLeader(image, partition([3], [], -1, { elr: [2], lastKnownElr: [3] }), 3), null);
  assert.equal(electLastKnownLeader(image, partition([2, 3], [], -1, { lastKnownElr: [2, 3] }), 3), null);
  assert.equal(
    electLastKnownLeader(image, partition([2], [], -1, { lastKnownElr: [3] }), 3),
    null,
    'not a replica',
  );
});

test('unclean.leader.election.enable: the topic override, then the cluster default, then the static value; the first live replica, ISR [it], RECOVERING, ELR cleared', () => {
  let image = MetadataImage.empty('c', 1).apply(
    [1, 2, 3].map((brokerId) => ({
      type: 'RegisterBrokerRecord',
      brokerId,
      host: '127.0.0.1',
      port: 9090 + brokerId,
      rack: null,
      fenced: brokerId !== 3,
    })),
    1n,
  );
  const on = new Map([['unclean.leader.election.enable', 'true']]);
  const off = new Map([['unclean.leader.election.enable', 'false']]);
  assert.equal(topicUncleanElectionEnabled(image, new Map(), false), false, 'the static default');
  assert.equal(topicUncleanElectionEnabled(image, new Map(), true), true, 'the static value');
  assert.equal(topicUncleanElectionEnabled(image, on, false), true, 'the topic override');
  image = image.apply(
    [
      {
        type: 'ConfigRecord',
        resourceType: 4,
        resourceName: '',
        name: 'unclean.leader.election.enable',
        value: 'true',
      },
    ],
    2n,
  );
  assert.equal(topicUncleanElectionEnabled(image, new Map(), false), true, 'the cluster default');
  assert.equal(topicUncleanElectionEnabled(image, off, false), false, 'the topic override first');

  const dead = partition([1, 2, 3], [], -1, { elr: [1], lastKnownElr: [1] });
  assert.equal(electUnclean(image, dead), 3, 'the only unfenced replica');
  assert.equal(electUnclean(image, dead, 2), 2, 'an unfencing one first in assignment order');
  assert.equal(electUnclean(image, dead, -1, 3), null, 'not the broker being fenced');
  assert.deepEqual(uncleanElectionChange(dead, 3), {
    leader: 3,
    isr: [3],
    elr: [],
    lastKnownElr: [],
    leaderRecoveryState: 1,
  });
});
