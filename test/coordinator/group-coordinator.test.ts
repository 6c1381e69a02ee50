import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { onKafkaEvent, type RebalanceEvent, type RebalanceStartedEvent } from '../../src/common/events.ts';
import {
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type JoinGroupInput,
} from '../../src/coordinator/group-coordinator.ts';
import { MemoryOffsetsLog } from '../../src/coordinator/offsets-log.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { FakeClock, flush, track } from './fake-clock.ts';

const GROUP = 'orders-app';
const SESSION_MS = 10_000;
const REBALANCE_MS = 30_000;

async function setup(config: Partial<GroupCoordinatorConfig> = {}) {
  const clock = new FakeClock();
  const log = new MemoryOffsetsLog();
  const coordinator = new GroupCoordinator({
    clock,
    log,
    config: { groupInitialRebalanceDelayMs: 0, offsetsTopicNumPartitions: 4, ...config },
  });
  for (let p = 0; p < coordinator.config.offsetsTopicNumPartitions; p++) await coordinator.loadPartition(p);
  return { clock, log, coordinator };
}

/** A consumer subscription as the consumer protocol encodes it: version, topics, user data. */
function subscription(...topics: string[]): Uint8Array {
  const parts: number[] = [0, 0, 0, 0, 0, topics.length];
  for (const topic of topics) {
    const bytes = new TextEncoder().encode(topic);
    parts.push(0, bytes.length, ...bytes);
  }
  parts.push(0xff, 0xff, 0xff, 0xff);
  return new Uint8Array(parts);
}

function joinInput(overrides: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: GROUP,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('orders') }],
    requireKnownMemberId: false,
    ...overrides,
  };
}

/** Joins a first member and completes generation 1 with it as leader and an assignment. */
async function stableGroupOfOne(
  coordinator: GroupCoordinator,
  clock: FakeClock,
  overrides: Partial<JoinGroupInput> = {},
) {
  const join = track(coordinator.joinGroup(joinInput(overrides)));
  clock.advance(0);
  await flush();
  assert.equal(join.done, true);
  const result = join.value!;
  assert.equal(result.errorCode, ErrorCode.NONE);
  const sync = await coordinator.syncGroup({
    groupId: GROUP,
    generationId: result.generationId,
    memberId: result.memberId,
    groupInstanceId: overrides.groupInstanceId ?? null,
    protocolType: 'consumer',
    protocolName: result.protocolName,
    assignments: [{ memberId: result.memberId, assignment: new Uint8Array([1, 2, 3]) }],
  });
  assert.equal(sync.errorCode, ErrorCode.NONE);
  return result;
}

describe('JoinGroup', () => {
  it('KIP-394: a new member gets MEMBER_ID_REQUIRED with its id, then joins with it', async () => {
    const { coordinator, clock } = await setup();
    const first = await coordinator.joinGroup(joinInput({ requireKnownMemberId: true, clientId: 'c1' }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^c1-/);
    assert.equal(coordinator.group(GROUP)?.state, 'Empty');
    const second = track(
      coordinator.joinGroup(joinInput({ requireKnownMemberId: true, memberId: first.memberId })),
    );
    clock.advance(0);
    await flush();
    assert.equal(second.value?.errorCode, ErrorCode.NONE);
    assert.equal(second.value?.memberId, first.memberId);
    assert.equal(second.value?.leader, first.memberId);
    assert.equal(second.value?.generationId, 1);
    assert.equal(second.value?.protocolName, 'range');
    assert.deepEqual(
      second.value?.members.map((m) => m.memberId),
      [first.memberId],
    );
    assert.equal(coordinator.group(GROUP)?.state, 'CompletingRebalance');
  });

  it('an id handed out by MEMBER_ID_REQUIRED expires after the session timeout', async () => {
    const { coordinator, clock } = await setup();
    const first = await coordinator.joinGroup(joinInput({ requireKnownMemberId: true }));
    clock.advance(SESSION_MS);
    const again = await coordinator.joinGroup(joinInput({ memberId: first.memberId }));
    assert.equal(again.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('rejects a session timeout outside the broker bounds', async () => {
    const { coordinator } = await setup();
    const low = await coordinator.joinGroup(joinInput({ sessionTimeoutMs: 5999 }));
    assert.equal(low.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    const high = await coordinator.joinGroup(joinInput({ sessionTimeoutMs: 1_800_001 }));
    assert.equal(high.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  it('rejects an empty group id and a known member id for a group that does not exist', async () => {
    const { coordinator } = await setup();
    assert.equal(
      (await coordinator.joinGroup(joinInput({ groupId: '' }))).errorCode,
      ErrorCode.INVALID_GROUP_ID,
    );
    assert.equal(
      (await coordinator.joinGroup(joinInput({ memberId: 'ghost' }))).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('waits group.initial.rebalance.delay.ms, longer while members keep arriving', async () => {
    const { coordinator, clock } = await setup({ groupInitialRebalanceDelayMs: 3000 });
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    clock.advance(2000);
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b' })));
    clock.advance(1000);
    await flush();
    assert.equal(a.done, false, 'a member arrived during the delay: wait once more');
    clock.advance(3000);
    await flush();
    assert.equal(a.value?.generationId, 1);
    assert.equal(b.value?.generationId, 1);
    assert.equal(a.value?.members.length, 2);
    assert.equal(b.value?.members.length, 0, 'only the leader gets the member list');
  });

  it('selects the protocol most members prefer among those all support', async () => {
    const { coordinator, clock } = await setup();
    const m = (name: string) => ({ name, metadata: subscription('orders') });
    const joins = [
      track(coordinator.joinGroup(joinInput({ protocols: [m('range'), m('roundrobin')] }))),
      track(coordinator.joinGroup(joinInput({ protocols: [m('roundrobin'), m('range')] }))),
      track(coordinator.joinGroup(joinInput({ protocols: [m('roundrobin'), m('range'), m('sticky')] }))),
    ];
    clock.advance(0);
    await flush();
    for (const join of joins) assert.equal(join.value?.protocolName, 'roundrobin');
  });

  it('INCONSISTENT_GROUP_PROTOCOL for another protocol type or no common protocol', async () => {
    const { coordinator, clock } = await setup();
    await stableGroupOfOne(coordinator, clock);
    const otherType = await coordinator.joinGroup(joinInput({ protocolType: 'connect' }));
    assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noCommon = await coordinator.joinGroup(
      joinInput({ protocols: [{ name: 'cooperative-sticky', metadata: new Uint8Array() }] }),
    );
    assert.equal(noCommon.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('GROUP_MAX_SIZE_REACHED beyond group.max.size', async () => {
    const { coordinator, clock } = await setup({ groupMaxSize: 1 });
    await stableGroupOfOne(coordinator, clock);
    const extra = await coordinator.joinGroup(joinInput({ clientId: 'extra' }));
    assert.equal(extra.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('a follower rejoining a stable group unchanged gets the current generation, no rebalance', async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b' })));
    clock.advance(0);
    await flush();
    const leader = a.value!;
    const follower = b.value!;
    const leaderSync = coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal((await leaderSync).errorCode, ErrorCode.NONE);
    const rejoin = await coordinator.joinGroup(joinInput({ memberId: follower.memberId }));
    assert.equal(rejoin.errorCode, ErrorCode.NONE);
    assert.equal(rejoin.generationId, 1);
    assert.equal(coordinator.group(GROUP)?.state, 'Stable');
  });
});

describe('SyncGroup', () => {
  it("relays the leader's assignment untouched; the follower waits for it", async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b' })));
    clock.advance(0);
    await flush();
    const leader = a.value!;
    const follower = b.value!;
    assert.equal(leader.leader, leader.memberId);
    const followerSync = track(
      coordinator.syncGroup({
        groupId: GROUP,
        generationId: 1,
        memberId: follower.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [],
      }),
    );
    await flush();
    assert.equal(followerSync.done, false);
    const bytes = new Uint8Array([
      0, 1, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115, 0, 0, 0, 1, 0, 0, 0, 3,
    ]);
    const leaderSync = await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: leader.memberId, assignment: new Uint8Array([9]) },
        { memberId: follower.memberId, assignment: bytes },
        { memberId: 'not-a-member', assignment: new Uint8Array([7]) },
      ],
    });
    await flush();
    assert.deepEqual(leaderSync.assignment, new Uint8Array([9]));
    assert.deepEqual(followerSync.value?.assignment, bytes);
    assert.equal(followerSync.value?.protocolName, 'range');
    assert.equal(coordinator.group(GROUP)?.state, 'Stable');
  });

  it('ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and INCONSISTENT_GROUP_PROTOCOL', async () => {
    const { coordinator, clock } = await setup();
    const leader = await stableGroupOfOne(coordinator, clock);
    const base = {
      groupId: GROUP,
      generationId: 1,
      memberId: leader.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    };
    assert.equal(
      (await coordinator.syncGroup({ ...base, generationId: 0 })).errorCode,
      ErrorCode.ILLEGAL_GENERATION,
    );
    assert.equal(
      (await coordinator.syncGroup({ ...base, memberId: 'x' })).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    assert.equal(
      (await coordinator.syncGroup({ ...base, protocolName: 'roundrobin' })).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    const again = await coordinator.syncGroup(base);
    assert.deepEqual(
      again.assignment,
      new Uint8Array([1, 2, 3]),
      'a stable group answers the current assignment',
    );
  });

  it('a waiting follower gets REBALANCE_IN_PROGRESS when a new member joins; a sync during the rebalance too', async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b' })));
    clock.advance(0);
    await flush();
    const followerSync = track(
      coordinator.syncGroup({
        groupId: GROUP,
        generationId: 1,
        memberId: b.value!.memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    void coordinator.joinGroup(joinInput({ clientId: 'c' }));
    await flush();
    assert.equal(followerSync.value?.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(coordinator.group(GROUP)?.state, 'PreparingRebalance');
    const leaderSync = await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: a.value!.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.equal(leaderSync.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('members that send no SyncGroup within the rebalance timeout are removed', async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a', sessionTimeoutMs: 60_000 })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b', sessionTimeoutMs: 60_000 })));
    clock.advance(0);
    await flush();
    await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: a.value!.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    clock.advance(REBALANCE_MS);
    const group = coordinator.group(GROUP)!;
    assert.equal(group.has(b.value!.memberId), false);
    assert.equal(group.state, 'PreparingRebalance');
  });
});

describe('Heartbeat and session timeouts', () => {
  it('answers NONE, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS', async () => {
    const { coordinator, clock } = await setup();
    const leader = await stableGroupOfOne(coordinator, clock);
    const hb = (generationId: number, memberId: string) =>
      coordinator.heartbeat({ groupId: GROUP, generationId, memberId, groupInstanceId: null });
    assert.equal(hb(1, leader.memberId), ErrorCode.NONE);
    assert.equal(hb(0, leader.memberId), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(hb(1, 'nobody'), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      coordinator.heartbeat({
        groupId: 'no-such-group',
        generationId: 1,
        memberId: 'x',
        groupInstanceId: null,
      }),
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    void coordinator.joinGroup(joinInput({ clientId: 'newcomer' }));
    assert.equal(hb(1, leader.memberId), ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('heartbeats keep a member; silence for the session timeout removes it and the group empties', async () => {
    const { coordinator, clock } = await setup();
    const leader = await stableGroupOfOne(coordinator, clock);
    for (let i = 0; i < 5; i++) {
      clock.advance(SESSION_MS - 1);
      assert.equal(
        coordinator.heartbeat({
          groupId: GROUP,
          generationId: 1,
          memberId: leader.memberId,
          groupInstanceId: null,
        }),
        ErrorCode.NONE,
      );
    }
    clock.advance(SESSION_MS);
    await flush();
    const group = coordinator.group(GROUP)!;
    assert.equal(group.members.size, 0);
    assert.equal(group.state, 'Empty');
    assert.equal(group.generationId, 2);
  });

  it('a killed member is dropped within its session timeout and the survivor gets all', async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b' })));
    clock.advance(0);
    await flush();
    const sync = (memberId: string, generationId: number) =>
      coordinator.syncGroup({
        groupId: GROUP,
        generationId,
        memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      });
    const syncs = [sync(a.value!.memberId, 1), sync(b.value!.memberId, 1)];
    await Promise.all(syncs);
    // b dies; a heartbeats every 3 s and learns of the rebalance.
    let heartbeat = 0;
    for (let t = 0; t < SESSION_MS + 3000 && heartbeat !== ErrorCode.REBALANCE_IN_PROGRESS; t += 3000) {
      clock.advance(3000);
      heartbeat = coordinator.heartbeat({
        groupId: GROUP,
        generationId: 1,
        memberId: a.value!.memberId,
        groupInstanceId: null,
      });
    }
    assert.equal(heartbeat, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinInput({ memberId: a.value!.memberId }));
    assert.equal(rejoin.generationId, 2);
    assert.deepEqual(
      rejoin.members.map((m) => m.memberId),
      [a.value!.memberId],
    );
  });

  it('a member that does not rejoin within the rebalance timeout is removed from the next generation', async () => {
    const { coordinator, clock } = await setup();
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a' })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b', sessionTimeoutMs: 60_000 })));
    clock.advance(0);
    await flush();
    for (const m of [a.value!, b.value!]) {
      void coordinator.syncGroup({
        groupId: GROUP,
        generationId: 1,
        memberId: m.memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      });
    }
    await flush();
    const rejoin = track(coordinator.joinGroup(joinInput({ memberId: a.value!.memberId })));
    clock.advance(REBALANCE_MS - 1);
    await flush();
    assert.equal(rejoin.done, false);
    clock.advance(1);
    await flush();
    assert.equal(rejoin.value?.generationId, 2);
    assert.equal(rejoin.value?.members.length, 1);
    assert.equal(coordinator.group(GROUP)?.has(b.value!.memberId), false);
  });
});

describe('LeaveGroup', () => {
  it('removes several members at once (v3+), with per-member errors, and triggers a rebalance', async () => {
    const { coordinator, clock } = await setup();
    const joins = ['a', 'b', 'c'].map((c) => track(coordinator.joinGroup(joinInput({ clientId: c }))));
    clock.advance(0);
    await flush();
    const [a, b, c] = joins.map((j) => j.value!);
    const result = await coordinator.leaveGroup(GROUP, [
      { memberId: b!.memberId, groupInstanceId: null },
      { memberId: c!.memberId, groupInstanceId: null },
      { memberId: 'stranger', groupInstanceId: null },
    ]);
    assert.equal(result.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      result.members.map((m) => m.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID],
    );
    const group = coordinator.group(GROUP)!;
    assert.equal(group.state, 'PreparingRebalance');
    assert.deepEqual([...group.members.keys()], [a!.memberId]);
    const rejoin = await coordinator.joinGroup(joinInput({ memberId: a!.memberId }));
    assert.equal(rejoin.generationId, 2);
  });

  it('the last member leaving empties the group; unknown groups answer UNKNOWN_MEMBER_ID per member', async () => {
    const { coordinator, clock } = await setup();
    const leader = await stableGroupOfOne(coordinator, clock);
    coordinator.leaveGroup(GROUP, [{ memberId: leader.memberId, groupInstanceId: null }]);
    await flush();
    assert.equal(coordinator.group(GROUP)?.state, 'Empty');
    const unknown = await coordinator.leaveGroup('nope', [{ memberId: 'x', groupInstanceId: null }]);
    assert.equal(unknown.members[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });
});

describe('static membership (KIP-345)', () => {
  it('a static member rejoining with unchanged protocols takes a new id without a rebalance', async () => {
    const { coordinator, clock } = await setup();
    const first = await stableGroupOfOne(coordinator, clock, { groupInstanceId: 'instance-1' });
    const rejoin = await coordinator.joinGroup(joinInput({ groupInstanceId: 'instance-1' }));
    assert.equal(rejoin.errorCode, ErrorCode.NONE);
    assert.notEqual(rejoin.memberId, first.memberId);
    assert.equal(rejoin.generationId, 1, 'no new generation');
    assert.equal(rejoin.leader, first.memberId, 'the old leader id, so it does not reassign');
    const group = coordinator.group(GROUP)!;
    assert.equal(group.state, 'Stable');
    const sync = await coordinator.syncGroup({
      groupId: GROUP,
      generationId: 1,
      memberId: rejoin.memberId,
      groupInstanceId: 'instance-1',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    assert.deepEqual(sync.assignment, new Uint8Array([1, 2, 3]), 'keeps its assignment');
    // The old incarnation is a zombie now.
    const zombie = coordinator.heartbeat({
      groupId: GROUP,
      generationId: 1,
      memberId: first.memberId,
      groupInstanceId: 'instance-1',
    });
    assert.equal(zombie, ErrorCode.FENCED_INSTANCE_ID);
    const zombieJoin = await coordinator.joinGroup(
      joinInput({ memberId: first.memberId, groupInstanceId: 'instance-1' }),
    );
    assert.equal(zombieJoin.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a static member whose rejoin changes the selected protocol triggers a rebalance', async () => {
    const { coordinator, clock } = await setup();
    await stableGroupOfOne(coordinator, clock, { groupInstanceId: 'instance-1' });
    const rejoin = track(
      coordinator.joinGroup(
        joinInput({
          groupInstanceId: 'instance-1',
          protocols: [
            { name: 'roundrobin', metadata: subscription('orders') },
            { name: 'range', metadata: subscription('orders') },
          ],
        }),
      ),
    );
    clock.advance(0);
    await flush();
    assert.equal(rejoin.value?.generationId, 2);
    assert.equal(rejoin.value?.protocolName, 'roundrobin');
  });

  it('a static member that misses a rebalance keeps its place until its session expires', async () => {
    const { coordinator, clock } = await setup();
    const long = { sessionTimeoutMs: 60_000 };
    const a = track(coordinator.joinGroup(joinInput({ clientId: 'a', groupInstanceId: 'ia', ...long })));
    const b = track(coordinator.joinGroup(joinInput({ clientId: 'b', groupInstanceId: 'ib', ...long })));
    clock.advance(0);
    await flush();
    for (const m of [a.value!, b.value!]) {
      void coordinator.syncGroup({
        groupId: GROUP,
        generationId: 1,
        memberId: m.memberId,
        groupInstanceId: m === a.value ? 'ia' : 'ib',
        protocolType: null,
        protocolName: null,
        assignments: [],
      });
    }
    await flush();
    // A third member joins; only a rejoins in time: b (static) stays in generation 2.
    const c = track(coordinator.joinGroup(joinInput({ clientId: 'c', ...long })));
    const rejoinA = track(
      coordinator.joinGroup(joinInput({ memberId: a.value!.memberId, groupInstanceId: 'ia', ...long })),
    );
    clock.advance(REBALANCE_MS);
    await flush();
    assert.equal(c.value?.generationId, 2);
    const group = coordinator.group(GROUP)!;
    assert.equal(group.has(b.value!.memberId), true);
    assert.equal(rejoinA.value?.leader, a.value!.memberId);
    assert.equal(rejoinA.value?.members.length, 3, 'the leader assigns to the absent static member too');
    assert.equal(group.state, 'CompletingRebalance');
  });

  it('LeaveGroup by instance id alone removes the static member (admin removal)', async () => {
    const { coordinator, clock } = await setup();
    await stableGroupOfOne(coordinator, clock, { groupInstanceId: 'instance-1' });
    const result = await coordinator.leaveGroup(GROUP, [{ memberId: '', groupInstanceId: 'instance-1' }]);
    assert.equal(result.members[0]?.errorCode, ErrorCode.NONE);
    await flush();
    assert.equal(coordinator.group(GROUP)?.state, 'Empty');
  });
});

describe('rebalance events', () => {
  it('a group that stabilizes publishes its coordinator node, generation and member count', async () => {
    const clock = new FakeClock();
    const coordinator = new GroupCoordinator({
      clock,
      log: new MemoryOffsetsLog(),
      config: { groupInitialRebalanceDelayMs: 0, offsetsTopicNumPartitions: 4 },
      nodeId: 7,
    });
    for (let p = 0; p < 4; p++) await coordinator.loadPartition(p);
    const events: RebalanceEvent[] = [];
    const started: RebalanceStartedEvent[] = [];
    const stopStarted = onKafkaEvent('rebalance-started', (event) => {
      if (event.group === GROUP) started.push(event);
    });
    const stop = onKafkaEvent('rebalance', (event) => {
      if (event.group === GROUP) events.push(event);
    });
    try {
      await stableGroupOfOne(coordinator, clock);
      await flush();
      assert.deepEqual(events, [{ nodeId: 7, group: GROUP, generationId: 1, members: 1 }]);
      // A second member: generation 2 with two members once both have synced.
      const second = track(coordinator.joinGroup(joinInput({ clientId: 'c2' })));
      const first = track(
        coordinator.joinGroup(joinInput({ memberId: coordinator.group(GROUP)!.leaderId ?? '' })),
      );
      clock.advance(0);
      await flush();
      assert.equal(second.value?.errorCode, ErrorCode.NONE);
      assert.equal(first.value?.errorCode, ErrorCode.NONE);
      const leader = [first.value!, second.value!].find((r) => r.memberId === r.leader)!;
      await coordinator.syncGroup({
        groupId: GROUP,
        generationId: 2,
        memberId: leader.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: leader.protocolName,
        assignments: [],
      });
      await flush();
      assert.deepEqual(events.at(-1), { nodeId: 7, group: GROUP, generationId: 2, members: 2 });
      assert.equal(events.length, 2);
      // Each rebalance was announced when it began, from the generation it left.
      assert.deepEqual(
        started.map(({ nodeId, generationId, members }) => ({ nodeId, generationId, members })),
        [
          { nodeId: 7, generationId: 0, members: 1 },
          { nodeId: 7, generationId: 1, members: 2 },
        ],
      );
      assert.ok(started.every((event) => event.reason.length > 0));
    } finally {
      stop();
      stopStarted();
    }
  });
});
