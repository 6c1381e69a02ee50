/**
 * KIP-848's online migration without a broker (fake clock, a fake classic side): what each
 * group.consumer.migration.policy allows, the records of an upgrade (the classic group's tombstone
 * first) and of a downgrade (the consumer group's tombstones, then the classic group's record), a
 * classic member's own session timeout, its join timeout after REBALANCE_IN_PROGRESS, its
 * ClassicMemberMetadata replayed by a new coordinator, and a custom assignor's user data refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MigrationPolicy } from '../../src/coordinator/classic-members.ts';
import {
  type ClassicGroupsPort,
  type ClassicMemberForDowngrade,
  ConsumerGroups,
  DEFAULT_CONSUMER_GROUP_CONFIG,
} from '../../src/coordinator/consumer-group.ts';
import { decodeConsumerGroupKey } from '../../src/coordinator/consumer-group-records.ts';
import type { CoordinatorRecord } from '../../src/coordinator/records.ts';
import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  decodeVersioned,
  encodeVersioned,
} from '../../src/protocol/consumer-protocol.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { FakeClock } from './fake-clock.ts';

const GROUP = 'migrating';
const TOPIC_ID = Buffer.from('orders..........').toString('base64url');
const CLASSIC_TOMBSTONE: CoordinatorRecord = { key: Buffer.from('classic-group-key'), value: null };
const CLASSIC_RECORD: CoordinatorRecord = { key: Buffer.from('classic-group-key'), value: Buffer.from('v') };

const subscription = encodeVersioned(ConsumerProtocolSubscription, 1, {
  topics: ['orders'],
  userData: null,
  ownedPartitions: [],
});

function assignment(partitions: number[], userData: Uint8Array | null = null): Uint8Array {
  return encodeVersioned(ConsumerProtocolAssignment, 0, {
    assignedPartitions: [{ topic: 'orders', partitions }],
    userData,
  });
}

function setup(policy: MigrationPolicy, userData: Uint8Array | null = null, emptyClassic = false) {
  const classicAssignments = [
    [0, 1, 2],
    [3, 4, 5],
  ];
  const clock = new FakeClock();
  const log: CoordinatorRecord[] = [];
  const downgrades: { generationId: number; members: readonly ClassicMemberForDowngrade[] }[] = [];
  let classicInUse = true;
  const port: ClassicGroupsPort = {
    describeForUpgrade: () => ({
      generationId: 5,
      protocolName: 'range',
      members: classicAssignments.map((partitions, i) => ({
        memberId: `classic-${i + 1}`,
        instanceId: null,
        clientId: 'client',
        clientHost: '/127.0.0.1',
        rebalanceTimeoutMs: 60_000,
        sessionTimeoutMs: 10_000,
        protocols: [{ name: 'range', metadata: subscription }],
        assignment: assignment(partitions, userData),
      })),
    }),
    endForUpgrade: () => {
      classicInUse = false;
      return [CLASSIC_TOMBSTONE];
    },
    // An empty classic group holds the id: every call would end it again (so a second call is a fault).
    endEmptyForConversion: () => (emptyClassic ? [CLASSIC_TOMBSTONE] : []),
    classicMaxSize: 100,
    startFromDowngrade: (_groupId, generationId, members, _rebalanceReason) => {
      downgrades.push({ generationId, members });
      return [CLASSIC_RECORD];
    },
  };
  const groups = new ConsumerGroups({
    clock,
    config: { ...DEFAULT_CONSUMER_GROUP_CONFIG, migrationPolicy: policy },
    topics: { topics: () => [{ topicId: TOPIC_ID, name: 'orders', partitionCount: 6, internal: false }] },
    newMemberId: () => 'generated',
    classicGroupInUse: () => classicInUse && !emptyClassic,
    classicGroups: port,
    persist: (_groupId, records) => {
      log.push(...records);
      return write();
    },
  });
  /** What a write answers (a test holds it back or fails it). */
  let write: () => Promise<number> = async () => ErrorCode.NONE;
  const setWrite = (next: () => Promise<number>) => {
    write = next;
  };
  return { clock, groups, log, downgrades, setWrite };
}

/** A ConsumerGroupHeartbeat of the consumer-protocol member: a join (0), a heartbeat, or a leave (-1). */
function consumerJoin(groups: ConsumerGroups, memberEpoch = 0) {
  return groups.heartbeatAndPersist({
    apiVersion: 1,
    groupId: GROUP,
    memberId: 'consumer-1',
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: memberEpoch === 0 ? 60_000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['orders'] : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    ownedPartitions: memberEpoch === 0 ? [] : null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
  });
}

const heartbeat = (groups: ConsumerGroups, memberId: string, generationId: number) =>
  groups.classicHeartbeat({ groupId: GROUP, generationId, memberId, groupInstanceId: null });

describe('consumer groups: online migration (KIP-848)', () => {
  it('upgrade: refused unless the policy allows it; members keep generation and assignment; tombstone first', async () => {
    for (const policy of ['disabled', 'downgrade'] as const) {
      const refused = await consumerJoin(setup(policy).groups);
      assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(
        refused.errorMessage,
        `Cannot upgrade classic group ${GROUP} to consumer group because online upgrade is disabled.`,
      );
    }
    const { groups, log } = setup('upgrade');
    const joined = await consumerJoin(groups);
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.memberEpoch, 6); // the classic generation 5, then the new member's epoch bump
    const group = groups.group(GROUP)!;
    assert.deepEqual(group.members.get('classic-1')?.assigned, new Map([[TOPIC_ID, [0, 1, 2]]]));
    assert.equal(group.members.get('classic-2')?.memberEpoch, 5);
    assert.deepEqual(log[0], CLASSIC_TOMBSTONE);
    assert.ok(log.slice(1).every((r) => decodeConsumerGroupKey(r.key) !== null));
    // A classic member at generation 5 is told to rejoin; an older generation is illegal.
    assert.equal(heartbeat(groups, 'classic-1', 5), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(heartbeat(groups, 'classic-1', 4), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(heartbeat(groups, 'consumer-1', 6), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a custom assignor (user data in an assignment) is not upgraded', async () => {
    const refused = await consumerJoin(setup('bidirectional', Uint8Array.of(1)).groups);
    assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.match(refused.errorMessage ?? '', /because an unsupported custom assignor is in use/);
  });

  it('downgrade: only when the policy allows it, at the group epoch, with each member target', async () => {
    const kept = setup('upgrade');
    await consumerJoin(kept.groups);
    const left = await consumerJoin(kept.groups, -1);
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(kept.downgrades.length, 0);
    assert.equal(kept.groups.group(GROUP)?.members.size, 2);

    const { groups, log, downgrades } = setup('bidirectional');
    await consumerJoin(groups);
    const epoch = groups.group(GROUP)!.groupEpoch;
    // Each classic member goes back with its target of that epoch (Kafka's fromConsumerGroup); the
    // classic rebalance that follows hands out the leaving member's partitions.
    const before = ['classic-1', 'classic-2'].map((id) => groups.group(GROUP)!.target.get(id)!.get(TOPIC_ID));
    log.length = 0;
    await consumerJoin(groups, -1);
    assert.equal(groups.group(GROUP), undefined);
    assert.equal(downgrades.length, 1);
    assert.equal(downgrades[0]!.generationId, epoch);
    const targets = downgrades[0]!.members.map((m) => {
      const { value } = decodeVersioned(ConsumerProtocolAssignment, m.encodeAssignment(subscription));
      return (value.assignedPartitions as { partitions: number[] }[]).flatMap((t) => t.partitions);
    });
    assert.deepEqual(targets, before);
    // Every consumer-group record gets its tombstone, then the classic group's record.
    assert.deepEqual(log.at(-1), CLASSIC_RECORD);
    assert.ok(log.slice(0, -1).every((r) => r.value === null && decodeConsumerGroupKey(r.key) !== null));
  });

  it("a classic member's own session timeout, and its join timeout after REBALANCE_IN_PROGRESS", async () => {
    const { groups, clock } = setup('upgrade');
    await consumerJoin(groups);
    // classic-1 heartbeats (told to rejoin, never does); classic-2 is silent: its 10 s session ends first.
    for (let t = 0; t < 12_000; t += 3_000) {
      clock.advance(3_000);
      heartbeat(groups, 'classic-1', 5);
      await consumerJoin(groups, groups.group(GROUP)!.members.get('consumer-1')!.memberEpoch);
    }
    assert.equal(groups.group(GROUP)?.members.has('classic-2'), false);
    assert.equal(groups.group(GROUP)?.members.has('classic-1'), true);
    // classic-1's rebalance timeout (60 s) from its first REBALANCE_IN_PROGRESS.
    for (let t = 12_000; t < 63_000; t += 3_000) {
      clock.advance(3_000);
      heartbeat(groups, 'classic-1', 5);
      await consumerJoin(groups, groups.group(GROUP)!.members.get('consumer-1')!.memberEpoch);
    }
    assert.equal(groups.group(GROUP)?.members.has('classic-1'), false);
  });

  it('a new coordinator replays ClassicMemberMetadata: the classic members are still served', async () => {
    const { groups, log } = setup('upgrade');
    await consumerJoin(groups);
    const replayed = setup('upgrade').groups;
    for (const record of log) replayed.replay(record);
    replayed.finishLoad(() => true);
    const member = replayed.group(GROUP)?.members.get('classic-2');
    assert.equal(member?.classic?.sessionTimeoutMs, 10_000);
    assert.deepEqual(
      member?.classic?.protocols.map((p) => p.name),
      ['range'],
    );
    assert.equal(heartbeat(replayed, 'classic-2', 5), ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('a classic LeaveGroup is answered once its records are written; a failed write is its error', async () => {
    const { groups, setWrite } = setup('upgrade');
    await consumerJoin(groups);
    let release: (code: number) => void = () => {};
    setWrite(() => new Promise<number>((resolve) => (release = resolve)));
    let answered = false;
    const leaving = groups
      .classicLeave(GROUP, [{ memberId: 'classic-1', groupInstanceId: null }])
      .then((result) => {
        answered = true;
        return result;
      });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false, 'answered before its records were written');
    release(ErrorCode.NONE);
    assert.deepEqual(await leaving, {
      errorCode: ErrorCode.NONE,
      members: [{ memberId: 'classic-1', groupInstanceId: null, errorCode: ErrorCode.NONE }],
    });
    // A failed write: the error is the answer's, no members (Kafka's LeaveGroupResponseData.setErrorCode).
    setWrite(async () => ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(await groups.classicLeave(GROUP, [{ memberId: 'classic-2', groupInstanceId: null }]), {
      errorCode: ErrorCode.NOT_COORDINATOR,
      members: [],
    });
  });

  it("an empty classic group's id taken by a consumer member: its GroupMetadata tombstone first, once", async () => {
    const { groups, log } = setup('bidirectional', null, true);
    const joined = await consumerJoin(groups);
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.memberEpoch, 1, 'a new consumer group, not an upgrade');
    assert.deepEqual(log[0], CLASSIC_TOMBSTONE);
    assert.ok(log.slice(1).length > 0 && log.slice(1).every((r) => decodeConsumerGroupKey(r.key) !== null));
    log.length = 0;
    await groups.heartbeatAndPersist({
      apiVersion: 1,
      groupId: GROUP,
      memberId: 'consumer-2',
      memberEpoch: 0,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: 60_000,
      subscribedTopicNames: ['orders'],
      subscribedTopicRegex: null,
      serverAssignor: null,
      ownedPartitions: [],
      clientId: 'client',
      clientHost: '/127.0.0.1',
    });
    assert.ok(log.length > 0);
    assert.ok(
      log.every((r) => decodeConsumerGroupKey(r.key) !== null),
      'the classic tombstone again for a second member',
    );
  });
});
