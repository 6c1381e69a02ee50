/**
 * KIP-848 consumer groups without a broker: epochs, target assignment, revocation before
 * reassignment, fencing, session and rebalance timeouts, static members, leave, regex
 * subscriptions, and a seeded property run of random joins, leaves and heartbeats that checks
 * no partition is ever held by two members at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Assignment, rangeAssign, uniformAssign } from '../../src/coordinator/assignors.ts';
import {
  ConsumerGroups,
  type ConsumerHeartbeatInput,
  type ConsumerHeartbeatResult,
  compileSubscriptionRegex,
  DEFAULT_CONSUMER_GROUP_CONFIG,
} from '../../src/coordinator/consumer-group.ts';
import {
  decodeConsumerGroupKey,
  encodeConsumerGroupKey,
  encodeConsumerGroupValue,
} from '../../src/coordinator/consumer-group-records.ts';
import type { CoordinatorRecord } from '../../src/coordinator/records.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { FakeClock } from './fake-clock.ts';

const GROUP = 'orders-app';
/** A Kafka topic id (16 bytes, unpadded base64url) spelled from a name. */
const topicId = (name: string) => Buffer.from(name.padEnd(16, '.').slice(0, 16)).toString('base64url');
const T1 = topicId('orders');
const T2 = topicId('payments');

function setup(
  topics = [{ topicId: T1, name: 'orders', partitionCount: 6, internal: false }],
  log: CoordinatorRecord[] = [],
) {
  const clock = new FakeClock();
  const all = [...topics];
  let classicInUse = false;
  const groups = new ConsumerGroups({
    clock,
    config: { ...DEFAULT_CONSUMER_GROUP_CONFIG, sessionTimeoutMs: 45_000, heartbeatIntervalMs: 5_000 },
    topics: { topics: () => all },
    newMemberId: () => 'generated',
    classicGroupInUse: () => classicInUse,
    persist: async (_groupId, records) => {
      log.push(...records);
      return ErrorCode.NONE;
    },
  });
  return {
    clock,
    groups,
    log,
    topics: all,
    setClassicInUse: (value: boolean) => {
      classicInUse = value;
    },
  };
}

function input(overrides: Partial<ConsumerHeartbeatInput>): ConsumerHeartbeatInput {
  return {
    apiVersion: 1,
    groupId: GROUP,
    memberId: 'm1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 300_000,
    subscribedTopicNames: ['orders'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    ownedPartitions: [],
    clientId: 'client',
    clientHost: '/127.0.0.1',
    ...overrides,
  };
}

/** A member's next heartbeat: reports what it owns after applying every answer so far. */
class Member {
  readonly memberId: string;
  epoch = 0;
  owned = new Map<string, number[]>();
  readonly groups: ConsumerGroups;

  constructor(groups: ConsumerGroups, memberId: string) {
    this.groups = groups;
    this.memberId = memberId;
  }

  join(overrides: Partial<ConsumerHeartbeatInput> = {}): ConsumerHeartbeatResult {
    return this.#apply(this.groups.heartbeat(input({ memberId: this.memberId, ...overrides })));
  }

  heartbeat(overrides: Partial<ConsumerHeartbeatInput> = {}): ConsumerHeartbeatResult {
    return this.#apply(
      this.groups.heartbeat(
        input({
          memberId: this.memberId,
          memberEpoch: this.epoch,
          rebalanceTimeoutMs: -1,
          subscribedTopicNames: null,
          ownedPartitions: [...this.owned].map(([topicId, partitions]) => ({ topicId, partitions })),
          ...overrides,
        }),
      ),
    );
  }

  #apply(result: ConsumerHeartbeatResult): ConsumerHeartbeatResult {
    if (result.errorCode !== ErrorCode.NONE) return result;
    this.epoch = result.memberEpoch;
    if (result.assignment !== null) {
      this.owned = new Map(result.assignment.map((t) => [t.topicId, [...t.partitions]]));
    }
    return result;
  }

  partitions(): number[] {
    return [...this.owned.values()].flat().sort((a, b) => a - b);
  }
}

function count(assignment: Assignment | undefined): number {
  return [...(assignment ?? new Map()).values()].reduce((n, ps) => n + ps.length, 0);
}

describe('consumer groups (KIP-848)', () => {
  it('a first member gets every partition at epoch 1', () => {
    const { groups } = setup();
    const m1 = new Member(groups, 'm1');
    const answer = m1.join();
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.memberId, 'm1');
    assert.equal(answer.memberEpoch, 1);
    assert.equal(answer.heartbeatIntervalMs, 5_000);
    assert.deepEqual(m1.partitions(), [0, 1, 2, 3, 4, 5]);
    assert.equal(groups.group(GROUP)?.state(), 'Stable');
  });

  it('v0 without a member id gets one generated; v1 must name itself', () => {
    const { groups } = setup();
    assert.equal(groups.heartbeat(input({ apiVersion: 0, memberId: '' })).memberId, 'generated');
    const refused = groups.heartbeat(input({ apiVersion: 1, memberId: '' }));
    assert.equal(refused.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(refused.errorMessage ?? '', /MemberId can't be empty/);
  });

  it('revokes before reassigning: the new member waits until the old owner lets go', () => {
    const { groups } = setup();
    const m1 = new Member(groups, 'm1');
    const m2 = new Member(groups, 'm2');
    m1.join();
    const joined = m2.join();
    // Group epoch 2; m2 is at epoch 2 but gets nothing m1 still holds.
    assert.equal(joined.memberEpoch, 2);
    assert.deepEqual(m2.partitions(), []);
    assert.equal(groups.group(GROUP)?.state(), 'Reconciling');
    // m1 is told to keep only its target; its epoch stays until it has revoked.
    const revoke = m1.heartbeat();
    assert.equal(revoke.memberEpoch, 1);
    assert.equal(m1.partitions().length, 3);
    // m1 reports the smaller set: now at epoch 2.
    assert.equal(m1.heartbeat().memberEpoch, 2);
    // m2 receives the released partitions.
    m2.heartbeat();
    assert.equal(m2.partitions().length, 3);
    const all = [...m1.partitions(), ...m2.partitions()].sort((a, b) => a - b);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5]);
    assert.equal(groups.group(GROUP)?.state(), 'Stable');
  });

  it('fences a stale epoch and an unknown member', () => {
    const { groups } = setup();
    const m1 = new Member(groups, 'm1');
    m1.join();
    assert.equal(m1.heartbeat({ memberEpoch: 7 }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal(
      groups.heartbeat(input({ memberId: 'nobody', memberEpoch: 1, subscribedTopicNames: null })).errorCode,
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
  });

  it('accepts the previous epoch when the member owns no more than its assignment (lost answer)', () => {
    const { groups } = setup();
    const m1 = new Member(groups, 'm1');
    m1.join();
    new Member(groups, 'm2').join();
    m1.heartbeat(); // revoke to 3
    m1.heartbeat(); // epoch 2
    assert.equal(m1.epoch, 2);
    assert.equal(m1.heartbeat({ memberEpoch: 1 }).errorCode, ErrorCode.NONE);
  });

  it('session timeout removes a silent member and its partitions move', () => {
    const { groups, clock } = setup();
    const m1 = new Member(groups, 'm1');
    const m2 = new Member(groups, 'm2');
    m1.join();
    m2.join();
    m1.heartbeat();
    m1.heartbeat();
    m2.heartbeat();
    assert.equal(m2.partitions().length, 3);
    // m1 keeps heartbeating; m2 goes silent.
    for (let t = 0; t < 50_000; t += 5_000) {
      clock.advance(5_000);
      m1.heartbeat();
    }
    assert.equal(groups.group(GROUP)?.members.has('m2'), false);
    assert.deepEqual(m1.partitions(), [0, 1, 2, 3, 4, 5]);
  });

  it("the group's own consumer.session.timeout.ms and heartbeat interval (group configs) win over the broker's", () => {
    const { groups, clock } = setup();
    const groupTimings = { sessionTimeoutMs: 60_000, heartbeatIntervalMs: 7_000 };
    const m1 = new Member(groups, 'm1');
    const m2 = new Member(groups, 'm2');
    assert.equal(m1.join({ groupTimings }).heartbeatIntervalMs, 7_000);
    m2.join({ groupTimings });
    // m2 goes silent: still a member past the broker's 45 s, gone after the group's 60 s.
    for (let t = 0; t < 55_000; t += 5_000) {
      clock.advance(5_000);
      m1.heartbeat({ groupTimings });
    }
    assert.equal(groups.group(GROUP)?.members.has('m2'), true);
    clock.advance(6_000);
    m1.heartbeat({ groupTimings });
    assert.equal(groups.group(GROUP)?.members.has('m2'), false);
    // The group's configs deleted: the broker's again.
    assert.equal(
      m1.heartbeat({ groupTimings: { sessionTimeoutMs: 45_000, heartbeatIntervalMs: 5_000 } })
        .heartbeatIntervalMs,
      5_000,
    );
  });

  it('a member that does not revoke within its rebalance timeout is removed', () => {
    const { groups, clock } = setup();
    const m1 = new Member(groups, 'm1');
    const m2 = new Member(groups, 'm2');
    m1.join({ rebalanceTimeoutMs: 10_000 });
    m2.join();
    // m1 is asked to revoke, then keeps reporting all six.
    const owned = [{ topicId: T1, partitions: [0, 1, 2, 3, 4, 5] }];
    groups.heartbeat(
      input({
        memberId: 'm1',
        memberEpoch: 1,
        rebalanceTimeoutMs: -1,
        subscribedTopicNames: null,
        ownedPartitions: owned,
      }),
    );
    clock.advance(10_001);
    assert.equal(groups.group(GROUP)?.members.has('m1'), false);
    m2.heartbeat();
    assert.deepEqual(m2.partitions(), [0, 1, 2, 3, 4, 5]);
  });

  it('leaving (-1) frees the partitions; a static member (-2) keeps them for its next incarnation', () => {
    const { groups } = setup();
    const a = new Member(groups, 'a1');
    const b = new Member(groups, 'b1');
    a.join({ instanceId: 'instance-a' });
    b.join();
    a.heartbeat();
    a.heartbeat();
    b.heartbeat();
    const held = a.partitions();
    assert.equal(held.length, 3);
    const epochBefore = groups.group(GROUP)!.groupEpoch;
    assert.equal(a.heartbeat({ memberEpoch: -2, instanceId: 'instance-a' }).memberEpoch, -2);
    assert.equal(
      groups.group(GROUP)!.groupEpoch,
      epochBefore,
      'a temporary static leave does not bump the epoch',
    );
    // Another instance id cannot take it; the same instance id with a new member id takes it over.
    const again = new Member(groups, 'a2');
    assert.equal(again.join({ instanceId: 'instance-a' }).errorCode, ErrorCode.NONE);
    assert.deepEqual(again.partitions(), held);
    assert.equal(groups.group(GROUP)!.groupEpoch, epochBefore, 'the same subscription again: no new epoch');
    const thief = new Member(groups, 'a3');
    assert.equal(thief.join({ instanceId: 'instance-a' }).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    // b leaves for good: a2 gets everything.
    assert.equal(b.heartbeat({ memberEpoch: -1 }).memberEpoch, -1);
    again.heartbeat();
    assert.deepEqual(again.partitions(), [0, 1, 2, 3, 4, 5]);
  });

  it('the last member leaving: the group epoch moves, the assignment epoch stays (as Kafka 4.1.1)', async () => {
    const log: CoordinatorRecord[] = [];
    const { groups } = setup(undefined, log);
    const a = new Member(groups, 'a1');
    const b = new Member(groups, 'b1');
    a.join();
    b.join();
    a.heartbeat();
    b.heartbeat();
    const group = groups.group(GROUP)!;
    assert.equal(group.assignmentEpoch, 2);
    a.heartbeat({ memberEpoch: -1 });
    b.heartbeat({ memberEpoch: -1 });
    assert.equal(group.state(), 'Empty');
    assert.equal(group.groupEpoch, 4);
    assert.equal(group.assignmentEpoch, 2, 'no target was computed after epoch 2');
    // What a new coordinator replays says the same.
    await groups.persistGroup(GROUP);
    const replayed = setup().groups;
    for (const record of log) replayed.replay(record);
    replayed.finishLoad(() => true);
    assert.deepEqual([replayed.group(GROUP)?.groupEpoch, replayed.group(GROUP)?.assignmentEpoch], [4, 2]);
    // A new member's join computes the next target at once.
    const c = new Member(groups, 'c1');
    assert.equal(c.join().memberEpoch, 5);
    assert.equal(group.assignmentEpoch, 5);
  });

  it('checks the request: rejoin with owned partitions, unknown assignor, bad regex, classic group id', () => {
    const { groups, setClassicInUse } = setup();
    assert.equal(
      groups.heartbeat(input({ ownedPartitions: [{ topicId: T1, partitions: [0] }] })).errorCode,
      ErrorCode.INVALID_REQUEST,
    );
    assert.equal(groups.heartbeat(input({ rebalanceTimeoutMs: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
    const assignor = groups.heartbeat(input({ serverAssignor: 'sticky' }));
    assert.equal(assignor.errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.match(assignor.errorMessage ?? '', /sticky/);
    assert.equal(
      groups.heartbeat(input({ subscribedTopicNames: null, subscribedTopicRegex: '(?=x)orders' })).errorCode,
      ErrorCode.INVALID_REGULAR_EXPRESSION,
    );
    assert.equal(
      groups.heartbeat(input({ subscribedTopicNames: null, subscribedTopicRegex: 'ord[' })).errorCode,
      ErrorCode.INVALID_REGULAR_EXPRESSION,
    );
    setClassicInUse(true);
    const classic = groups.heartbeat(input({}));
    assert.equal(classic.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.match(
      classic.errorMessage ?? '',
      /Cannot upgrade classic group orders-app to consumer group because online upgrade is disabled/,
    );
  });

  it('regex subscriptions match whole names, internal topics included (as Kafka 4.1.1), and follow new topics', () => {
    const { groups, topics } = setup([
      { topicId: T1, name: 'orders', partitionCount: 2, internal: false },
      { topicId: topicId('x'), name: 'orders-eu', partitionCount: 1, internal: false },
      { topicId: topicId('y'), name: 'my-orders', partitionCount: 1, internal: false },
      { topicId: topicId('z'), name: '__consumer_offsets', partitionCount: 1, internal: true },
    ]);
    const m1 = new Member(groups, 'm1');
    m1.join({ subscribedTopicNames: null, subscribedTopicRegex: 'orders.*|__.*' });
    assert.deepEqual([...m1.owned.keys()].sort(), [T1, topicId('x'), topicId('z')].sort());
    topics.push({ topicId: T2, name: 'orders-us', partitionCount: 3, internal: false });
    m1.heartbeat();
    assert.deepEqual([...m1.owned.keys()].sort(), [T1, T2, topicId('x'), topicId('z')].sort());
    assert.equal(compileSubscriptionRegex('(?i)ORDERS').test('orders'), true);
  });

  it('range and uniform assignors', () => {
    const members = [
      { memberId: 'a', subscribedTopics: new Set(['orders']) },
      { memberId: 'b', subscribedTopics: new Set(['orders']) },
      { memberId: 'c', subscribedTopics: new Set(['orders']) },
    ];
    const topics = new Map([['orders', { topicId: T1, name: 'orders', partitionCount: 7 }]]);
    const range = rangeAssign({ members, topics, previous: new Map() });
    assert.deepEqual(range.get('a')?.get(T1), [0, 1, 2]);
    assert.deepEqual(range.get('b')?.get(T1), [3, 4]);
    assert.deepEqual(range.get('c')?.get(T1), [5, 6]);
    const uniform = uniformAssign({ members, topics, previous: new Map() });
    const counts = members.map((m) => count(uniform.get(m.memberId)));
    assert.equal(Math.max(...counts) - Math.min(...counts) <= 1, true, `counts ${counts}`);
    // Sticky: a fourth member takes partitions without moving any between the first three.
    const four = [...members, { memberId: 'd', subscribedTopics: new Set(['orders']) }];
    const next = uniformAssign({ members: four, topics, previous: uniform });
    for (const m of members) {
      for (const p of next.get(m.memberId)?.get(T1) ?? []) {
        assert.ok(uniform.get(m.memberId)?.get(T1)?.includes(p), `${m.memberId} got ${p} from someone else`);
      }
    }
  });

  it("records: keys and values in Kafka's layout", () => {
    // ConsumerGroupMetadataKey: int16 type 3, int16-length group id.
    assert.deepEqual([...encodeConsumerGroupKey(3, 'g')], [0, 3, 0, 1, 0x67]);
    // ConsumerGroupMemberMetadataKey: type 5, group id, member id.
    assert.deepEqual([...encodeConsumerGroupKey(5, 'g', 'm')], [0, 5, 0, 1, 0x67, 0, 1, 0x6d]);
    assert.deepEqual(decodeConsumerGroupKey(encodeConsumerGroupKey(8, 'g', 'm')), {
      type: 8,
      groupId: 'g',
      memberId: 'm',
    });
    assert.equal(decodeConsumerGroupKey(encodeConsumerGroupKey(2, 'g')), null);
    // ConsumerGroupMetadataValue v0: int16 version 0, int32 epoch 7, no tagged fields.
    assert.deepEqual([...encodeConsumerGroupValue(3, { epoch: 7 })], [0, 0, 0, 0, 0, 7, 0]);
  });

  it('records: a new coordinator replaying the log has the same epochs, members and assignments', async () => {
    const { groups, log } = setup();
    const m1 = new Member(groups, 'm1');
    const m2 = new Member(groups, 'm2');
    for (const step of [
      () => m1.join(),
      () => m2.join(),
      () => m1.heartbeat(),
      () => m1.heartbeat(),
      () => m2.heartbeat(),
    ]) {
      step();
      assert.equal(await groups.persistGroup(GROUP), ErrorCode.NONE);
    }
    const before = groups.group(GROUP)!;
    const reloaded = setup().groups;
    for (const record of log) assert.equal(reloaded.replay(record), true);
    reloaded.finishLoad(() => true);
    const after = reloaded.group(GROUP)!;
    assert.equal(after.groupEpoch, before.groupEpoch);
    assert.equal(after.assignmentEpoch, before.assignmentEpoch);
    assert.equal(after.state(), 'Stable');
    for (const id of ['m1', 'm2']) {
      assert.equal(after.members.get(id)?.memberEpoch, before.members.get(id)?.memberEpoch);
      assert.deepEqual(after.members.get(id)?.assigned, before.members.get(id)?.assigned);
      assert.deepEqual(after.target.get(id), before.target.get(id));
    }
    // Nothing changed: nothing more to write. A leave writes tombstones for the member's records.
    const written = log.length;
    assert.equal(await reloaded.persistGroup(GROUP), ErrorCode.NONE);
    assert.equal(log.length, written);
    const m2Epoch = after.members.get('m2')!.memberEpoch;
    const leaveLog: CoordinatorRecord[] = [];
    const { groups: third } = setup(undefined, leaveLog);
    for (const record of log) third.replay(record);
    third.finishLoad(() => true);
    third.heartbeat(
      input({
        memberId: 'm2',
        memberEpoch: m2Epoch,
        subscribedTopicNames: null,
        rebalanceTimeoutMs: -1,
        ownedPartitions: null,
      }),
    );
    third.heartbeat(input({ memberId: 'm2', memberEpoch: -1, subscribedTopicNames: null }));
    assert.equal(await third.persistGroup(GROUP), ErrorCode.NONE);
    assert.equal(
      leaveLog.filter((r) => r.value === null).length,
      3,
      'member metadata, target and current assignment',
    );
  });

  it('deleting: refused while members remain; an empty group leaves tombstones for every record', async () => {
    const { groups, log } = setup();
    const m1 = new Member(groups, 'm1');
    m1.join();
    await groups.persistGroup(GROUP);
    assert.equal(await groups.deleteGroup(GROUP), ErrorCode.NON_EMPTY_GROUP);
    m1.heartbeat({ memberEpoch: -1 });
    await groups.persistGroup(GROUP);
    const live = new Set(log.map((r) => Buffer.from(r.key).toString('hex')));
    assert.equal(await groups.deleteGroup(GROUP), ErrorCode.NONE);
    assert.equal(groups.group(GROUP), undefined);
    const latest = new Map(log.map((r) => [Buffer.from(r.key).toString('hex'), r.value]));
    for (const key of live) assert.equal(latest.get(key), null, `record ${key} has a tombstone`);
  });

  it('property: random joins, leaves, kills and heartbeats never give one partition to two members', () => {
    const seed = Number(process.env.KIP848_SEED ?? Date.now() % 1_000_000);
    console.log(`consumer-group property seed ${seed} (replay: KIP848_SEED=${seed})`);
    let state = seed;
    const random = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state % n;
    };
    for (let run = 0; run < 50; run++) {
      const { groups, clock } = setup([
        { topicId: T1, name: 'orders', partitionCount: 1 + random(12), internal: false },
        { topicId: T2, name: 'payments', partitionCount: 1 + random(5), internal: false },
      ]);
      const members: Member[] = [];
      let nextId = 0;
      for (let step = 0; step < 200; step++) {
        const action = random(10);
        if (action === 0 || members.length === 0) {
          const member = new Member(groups, `m${nextId++}`);
          const subscription = random(3) === 0 ? ['orders'] : ['orders', 'payments'];
          member.join({
            subscribedTopicNames: subscription,
            serverAssignor: random(2) === 0 ? 'range' : null,
          });
          members.push(member);
        } else if (action === 1) {
          members.splice(random(members.length), 1)[0]!.heartbeat({ memberEpoch: -1 });
        } else if (action === 2) {
          clock.advance(46_000); // everyone silent: all expire
          members.length = 0;
        } else {
          const member = members[random(members.length)]!;
          const answer = member.heartbeat();
          if (answer.errorCode !== ErrorCode.NONE) {
            assert.fail(`seed ${seed} run ${run} step ${step}: ${answer.errorMessage}`);
          }
        }
        // What the members believe they own never overlaps.
        const seen = new Map<string, string>();
        for (const member of members) {
          for (const [topicId, partitions] of member.owned) {
            for (const p of partitions) {
              const key = `${topicId}:${p}`;
              const other = seen.get(key);
              assert.equal(
                other,
                undefined,
                `seed ${seed} run ${run} step ${step}: ${key} held by ${other} and ${member.memberId}`,
              );
              seen.set(key, member.memberId);
            }
          }
        }
      }
      // Quiesce: heartbeats until stable; then every partition is owned once.
      for (let round = 0; round < 10; round++) for (const member of members) member.heartbeat();
      if (members.length > 0) {
        assert.equal(groups.group(GROUP)?.state(), 'Stable', `seed ${seed} run ${run}`);
        const owned = members.reduce((n, m) => n + m.partitions().length, 0);
        const group = groups.group(GROUP)!;
        const total = [...group.subscribedTopics.values()].reduce((n, t) => n + t.partitionCount, 0);
        assert.equal(owned, total, `seed ${seed} run ${run}: every subscribed partition owned`);
      }
    }
  });
});
