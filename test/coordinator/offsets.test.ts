import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CommitOffsetsInput, GroupCoordinator } from '../../src/coordinator/group-coordinator.ts';
import {
  javaStringHashCode,
  MemoryOffsetsLog,
  partitionForGroup,
} from '../../src/coordinator/offsets-log.ts';
import {
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../src/coordinator/records.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { FakeClock, flush, track } from './fake-clock.ts';

const PARTITIONS = 4;

async function start(clock: FakeClock, log: MemoryOffsetsLog, retentionMs = 60_000) {
  const coordinator = new GroupCoordinator({
    clock,
    log,
    config: {
      groupInitialRebalanceDelayMs: 0,
      offsetsTopicNumPartitions: PARTITIONS,
      offsetsRetentionMs: retentionMs,
      offsetsRetentionCheckIntervalMs: 1000,
    },
  });
  for (let p = 0; p < PARTITIONS; p++) await coordinator.loadPartition(p);
  return coordinator;
}

function simpleCommit(groupId: string, offsets: [string, number, bigint][]): CommitOffsetsInput {
  return {
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    offsets: offsets.map(([topic, partition, offset]) => ({
      topic,
      partition,
      offset,
      leaderEpoch: 0,
      metadata: 'meta',
    })),
  };
}

function subscription(...topics: string[]): Uint8Array {
  const parts: number[] = [0, 0, 0, 0, 0, topics.length];
  for (const topic of topics) {
    const bytes = new TextEncoder().encode(topic);
    parts.push(0, bytes.length, ...bytes);
  }
  parts.push(0xff, 0xff, 0xff, 0xff);
  return new Uint8Array(parts);
}

async function stableConsumerGroup(coordinator: GroupCoordinator, clock: FakeClock, groupId: string) {
  const join = track(
    coordinator.joinGroup({
      groupId,
      memberId: '',
      groupInstanceId: null,
      clientId: 'app',
      clientHost: '/127.0.0.1',
      // Longer than any test's clock advance: the member stays without heartbeating.
      sessionTimeoutMs: 1_000_000,
      rebalanceTimeoutMs: 30_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription('orders') }],
      requireKnownMemberId: false,
    }),
  );
  clock.advance(0);
  await flush();
  const member = join.value!;
  await coordinator.syncGroup({
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: member.memberId, assignment: new Uint8Array([4, 5]) }],
  });
  return member;
}

describe('group partition (Java String.hashCode)', () => {
  it('hashes as Java does and maps Integer.MIN_VALUE to partition 0', () => {
    assert.equal(javaStringHashCode(''), 0);
    assert.equal(javaStringHashCode('hello'), 99162322);
    assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
    assert.equal(partitionForGroup('polygenelubricants', 50), 0);
    assert.equal(partitionForGroup('hello', 50), 99162322 % 50);
    // "Aa" and "BB" collide in Java.
    assert.equal(javaStringHashCode('Aa'), javaStringHashCode('BB'));
  });
});

describe('__consumer_offsets records', () => {
  it('encodes keys and values byte for byte as Kafka does', () => {
    assert.deepEqual([...encodeOffsetCommitKey('g', 't', 3)], [0, 1, 0, 1, 103, 0, 1, 116, 0, 0, 0, 3]);
    assert.deepEqual([...encodeGroupMetadataKey('g')], [0, 2, 0, 1, 103]);
    const value = encodeOffsetCommitValue({
      offset: 42n,
      leaderEpoch: 7,
      metadata: '',
      commitTimestampMs: 1000n,
      expireTimestampMs: -1n,
    });
    assert.deepEqual([...value], [0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 3, 232]);
  });

  it('round-trips group metadata and reads the flexible v4 form', () => {
    const group = {
      protocolType: 'consumer',
      generation: 3,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestampMs: 5n,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: 'i1',
          clientId: 'c',
          clientHost: '/h',
          rebalanceTimeoutMs: 300,
          sessionTimeoutMs: 100,
          subscription: new Uint8Array([1]),
          assignment: new Uint8Array([2, 3]),
        },
      ],
    };
    assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(group)), group);
    // OffsetCommitValue v4 (flexible): offset, leaderEpoch, compact metadata "x", commitTimestamp, no tags.
    const v4 = new Uint8Array([
      0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 255, 255, 255, 255, 2, 120, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    ]);
    assert.deepEqual(decodeOffsetCommitValue(v4), {
      offset: 9n,
      leaderEpoch: -1,
      metadata: 'x',
      commitTimestampMs: 1n,
      expireTimestampMs: -1n,
    });
    assert.equal(decodeKey(new Uint8Array([0, 5, 0, 1, 103])), null, 'KIP-848 records are skipped');
  });
});

describe('OffsetCommit / OffsetFetch', () => {
  it('commits and fetches for a simple (standalone) group, including all partitions', async () => {
    const clock = new FakeClock();
    const coordinator = await start(clock, new MemoryOffsetsLog());
    const results = await coordinator.commitOffsets(
      simpleCommit('simple', [
        ['t', 0, 5n],
        ['t', 1, 7n],
      ]),
    );
    assert.deepEqual(
      results.map((r) => r.errorCode),
      [0, 0],
    );
    const fetched = coordinator.fetchOffsets('simple', [{ name: 't', partitions: [0, 1, 2] }]);
    assert.deepEqual(
      fetched.topics[0]?.partitions.map((p) => p.committedOffset),
      [5n, 7n, -1n],
    );
    assert.equal(fetched.topics[0]?.partitions[0]?.metadata, 'meta');
    const all = coordinator.fetchOffsets('simple', null);
    assert.equal(all.topics[0]?.partitions.length, 2);
    const unknown = coordinator.fetchOffsets('nobody', [{ name: 't', partitions: [0] }]);
    assert.equal(unknown.topics[0]?.partitions[0]?.committedOffset, -1n);
  });

  it('fences commits: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, and simple commits into a live group', async () => {
    const clock = new FakeClock();
    const coordinator = await start(clock, new MemoryOffsetsLog());
    const member = await stableConsumerGroup(coordinator, clock, 'live');
    const commit = (generationId: number, memberId: string) =>
      coordinator.commitOffsets({ ...simpleCommit('live', [['orders', 0, 1n]]), generationId, memberId });
    assert.equal((await commit(member.generationId, member.memberId))[0]?.errorCode, ErrorCode.NONE);
    assert.equal(
      (await commit(member.generationId + 1, member.memberId))[0]?.errorCode,
      ErrorCode.ILLEGAL_GENERATION,
    );
    assert.equal((await commit(member.generationId, 'ghost'))[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await commit(-1, ''))[0]?.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const fresh = await coordinator.commitOffsets({
      ...simpleCommit('new-group', [['t', 0, 1n]]),
      generationId: 3,
    });
    assert.equal(fresh[0]?.errorCode, ErrorCode.ILLEGAL_GENERATION);
  });

  it('OFFSET_METADATA_TOO_LARGE; storage failure answers COORDINATOR_NOT_AVAILABLE and keeps nothing', async () => {
    const clock = new FakeClock();
    const log = new MemoryOffsetsLog();
    const coordinator = await start(clock, log);
    const big = await coordinator.commitOffsets({
      ...simpleCommit('g', []),
      offsets: [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: 'x'.repeat(4097) }],
    });
    assert.equal(big[0]?.errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);
    log.failNextAppend = new Error('disk full');
    const failed = await coordinator.commitOffsets(simpleCommit('g', [['t', 0, 1n]]));
    assert.equal(failed[0]?.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(
      coordinator.fetchOffsets('g', [{ name: 't', partitions: [0] }]).topics[0]?.partitions[0]
        ?.committedOffset,
      -1n,
    );
  });

  it('loads offsets and group metadata back after a restart', async () => {
    const clock = new FakeClock();
    const log = new MemoryOffsetsLog();
    const first = await start(clock, log);
    const member = await stableConsumerGroup(first, clock, 'durable');
    await first.commitOffsets({
      ...simpleCommit('durable', [
        ['orders', 0, 11n],
        ['orders', 1, 12n],
      ]),
      generationId: member.generationId,
      memberId: member.memberId,
    });
    await first.commitOffsets(simpleCommit('simple', [['t', 0, 3n]]));
    await first.commitOffsets(simpleCommit('simple', [['t', 0, 4n]]));
    first.stop();

    const second = await start(clock, log);
    const fetched = second.fetchOffsets('durable', [{ name: 'orders', partitions: [0, 1] }]);
    assert.deepEqual(
      fetched.topics[0]?.partitions.map((p) => p.committedOffset),
      [11n, 12n],
    );
    assert.equal(second.fetchOffsets('simple', null).topics[0]?.partitions[0]?.committedOffset, 4n);
    const group = second.group('durable')!;
    assert.equal(group.state, 'Stable');
    assert.equal(group.generationId, member.generationId);
    assert.deepEqual(group.get(member.memberId).assignment, new Uint8Array([4, 5]));
    // The loaded member may heartbeat on as if nothing happened.
    assert.equal(
      second.heartbeat({
        groupId: 'durable',
        generationId: member.generationId,
        memberId: member.memberId,
        groupInstanceId: null,
      }),
      ErrorCode.NONE,
    );
  });
});

describe('offset expiry, OffsetDelete, DeleteGroups, ListGroups, DescribeGroups', () => {
  it('expires offsets of an empty group after the retention, then deletes the group', async () => {
    const clock = new FakeClock();
    const log = new MemoryOffsetsLog();
    const coordinator = await start(clock, log, 60_000);
    const member = await stableConsumerGroup(coordinator, clock, 'leaving');
    await coordinator.commitOffsets({
      ...simpleCommit('leaving', [['orders', 0, 9n]]),
      generationId: member.generationId,
      memberId: member.memberId,
    });
    clock.advance(120_000);
    await flush();
    assert.equal(
      coordinator.fetchOffsets('leaving', null).topics.length,
      1,
      'a stable group keeps offsets of subscribed topics',
    );
    coordinator.leaveGroup('leaving', [{ memberId: member.memberId, groupInstanceId: null }]);
    await flush();
    assert.equal(coordinator.group('leaving')?.state, 'Empty');
    clock.advance(59_000);
    await flush();
    assert.equal(coordinator.fetchOffsets('leaving', null).topics.length, 1);
    clock.advance(2_000);
    await flush();
    assert.equal(coordinator.fetchOffsets('leaving', null).topics.length, 0);
    assert.equal(coordinator.group('leaving'), undefined, 'an empty group without offsets is deleted');
    const restarted = await start(clock, log);
    assert.equal(restarted.group('leaving'), undefined, 'the tombstones load back too');
  });

  it('OffsetDelete refuses subscribed topics of a live group; DeleteGroups refuses non-empty groups', async () => {
    const clock = new FakeClock();
    const coordinator = await start(clock, new MemoryOffsetsLog());
    const member = await stableConsumerGroup(coordinator, clock, 'app');
    await coordinator.commitOffsets({
      ...simpleCommit('app', [
        ['orders', 0, 1n],
        ['old-topic', 0, 2n],
      ]),
      generationId: member.generationId,
      memberId: member.memberId,
    });
    const deleted = await coordinator.deleteOffsets('app', [
      { name: 'orders', partitions: [0] },
      { name: 'old-topic', partitions: [0] },
    ]);
    assert.equal(deleted.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      deleted.results.map((r) => r.errorCode),
      [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE],
    );
    assert.equal(coordinator.fetchOffsets('app', null).topics.length, 1);
    assert.equal((await coordinator.deleteOffsets('missing', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    const results = await coordinator.deleteGroups(['app', 'missing']);
    assert.deepEqual(
      results.map((r) => r.errorCode),
      [ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND],
    );
    coordinator.leaveGroup('app', [{ memberId: member.memberId, groupInstanceId: null }]);
    await flush();
    assert.deepEqual(await coordinator.deleteGroups(['app']), [
      { groupId: 'app', errorCode: ErrorCode.NONE },
    ]);
    assert.equal(coordinator.fetchOffsets('app', null).topics.length, 0);
  });

  it('ListGroups filters by state; DescribeGroups shows members and assignments when stable', async () => {
    const clock = new FakeClock();
    const coordinator = await start(clock, new MemoryOffsetsLog());
    const member = await stableConsumerGroup(coordinator, clock, 'stable-group');
    await coordinator.commitOffsets(simpleCommit('standalone', [['t', 0, 1n]]));
    assert.deepEqual(
      coordinator
        .listGroups([], [])
        .map((g) => `${g.groupId}:${g.groupState}:${g.protocolType}`)
        .sort(),
      ['stable-group:Stable:consumer', 'standalone:Empty:'],
    );
    assert.deepEqual(
      coordinator.listGroups(['stable'], []).map((g) => g.groupId),
      ['stable-group'],
    );
    assert.deepEqual(coordinator.listGroups([], ['consumer']), []);
    const described = coordinator.describeGroup('stable-group');
    assert.equal(described.groupState, 'Stable');
    assert.equal(described.protocolData, 'range');
    assert.equal(described.members[0]?.memberId, member.memberId);
    assert.deepEqual(described.members[0]?.memberAssignment, new Uint8Array([4, 5]));
    assert.equal(coordinator.describeGroup('nope').groupState, 'Dead');
  });

  it('answers NOT_COORDINATOR for partitions not loaded here', async () => {
    const clock = new FakeClock();
    const coordinator = new GroupCoordinator({
      clock,
      log: new MemoryOffsetsLog(),
      config: { offsetsTopicNumPartitions: PARTITIONS },
    });
    assert.equal(coordinator.coordinatorError('g'), ErrorCode.NOT_COORDINATOR);
    const join = await coordinator.joinGroup({
      groupId: 'g',
      memberId: '',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: 'h',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: new Uint8Array() }],
      requireKnownMemberId: true,
    });
    assert.equal(join.errorCode, ErrorCode.NOT_COORDINATOR);
  });
});
