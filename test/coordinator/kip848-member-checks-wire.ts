/**
 * What a KIP-848 consumer group answers beside the migration itself, on the wire, one request at a
 * time, so kstack and Apache Kafka 4.1.1 are held to the same answers (kip848-migration.test.ts asks
 * kstack, kip848-migration.long.ts both):
 *
 * - `memberChecksOnTheWire`: ApiVersions' OffsetFetch and DescribeGroups ranges; OffsetFetch v9's
 *   member id and epoch check (Kafka's ConsumerGroup.validateOffsetFetch) for a consumer-protocol
 *   member and a classic member inside the group; DescribeGroups v5 and v6 (KIP-1043) of a consumer
 *   group and of an unknown id; the group and assignment epochs once the last member has left.
 * - `groupConfigsOnTheWire`: the GROUP config resource (DescribeConfigs, IncrementalAlterConfigs),
 *   Kafka's refusals, and the heartbeat interval a member is given by its group's config.
 * - `staticReplacementOnTheWire`: a classic static member taking the instance id of the group's last
 *   consumer-protocol member (which left with epoch -2) downgrades the group at once: without a
 *   rebalance when its subscription is the same, with one when it differs (Kafka's "static member
 *   replacement with different subscription").
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { ClassicMember, listed, NOT_READY, prepare, until } from './kip848-migration-wire.ts';
import { clientTo, send } from './raw-requests.ts';

const REBALANCE_TIMEOUT_MS = 60_000;

/** A consumer-protocol member's join (ConsumerGroupHeartbeat v1, epoch 0), retried while the coordinator loads. */
function consumerJoin(
  client: ControllerClient,
  group: string,
  memberId: string,
  topic: string,
  instanceId: string | null = null,
): Promise<MessageValue> {
  return until(
    'the consumer member joins',
    () =>
      send(client, 68, 1, {
        groupId: group,
        memberId,
        memberEpoch: 0,
        instanceId,
        rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
        subscribedTopicNames: [topic],
        topicPartitions: [],
      }),
    (answer) => !NOT_READY.includes(answer.errorCode as number),
  );
}

/** OffsetFetch v9 of one partition with this member id and epoch: the group's error code. */
async function fetchAs(
  client: ControllerClient,
  group: string,
  topic: string,
  memberId: string | null,
  memberEpoch: number,
): Promise<number> {
  const answer = await send(client, 9, 9, {
    groups: [{ groupId: group, memberId, memberEpoch, topics: [{ name: topic, partitionIndexes: [0] }] }],
    requireStable: false,
  });
  return (answer.groups as { errorCode: number }[])[0]!.errorCode;
}

/** DescribeGroups at `version`: [error code, error message (v6), state] per group. */
async function describeGroups(
  client: ControllerClient,
  version: number,
  groups: string[],
): Promise<unknown[]> {
  const answer = await send(client, 15, version, { groups, includeAuthorizedOperations: false });
  return (answer.groups as { errorCode: number; errorMessage: string | null; groupState: string }[]).map(
    (g) => (version >= 6 ? [g.errorCode, g.errorMessage, g.groupState] : [g.errorCode, g.groupState]),
  );
}

/** ConsumerGroupDescribe v0: [error code, state, group epoch, assignment epoch, members]. */
async function consumerDescribe(client: ControllerClient, group: string): Promise<unknown[]> {
  const answer = await send(client, 69, 0, { groupIds: [group], includeAuthorizedOperations: false });
  const g = (
    answer.groups as {
      errorCode: number;
      groupState: string;
      groupEpoch: number;
      assignmentEpoch: number;
      members: unknown[];
    }[]
  )[0]!;
  return [g.errorCode, g.groupState, g.groupEpoch, g.assignmentEpoch, g.members.length];
}

export async function memberChecksOnTheWire(port: number, label: string): Promise<Record<string, unknown>> {
  const topic = `member-checks-${label}`;
  const group = `member-checks-group-${label}`;
  const out: Record<string, unknown> = {};
  const admin = clientTo(port, 'member-checks-admin');
  const a = new ClassicMember(port, 'classic-a', group, topic);
  const consumer = clientTo(port, 'consumer-c');
  try {
    const versions = await send(admin, 18, 3, {
      clientSoftwareName: 'kstack-test',
      clientSoftwareVersion: '0',
    });
    const max = (key: number) =>
      (versions.apiKeys as { apiKey: number; maxVersion: number }[]).find((k) => k.apiKey === key)
        ?.maxVersion;
    out.maxVersions = { offsetFetch: max(9), describeGroups: max(15) };
    await prepare(admin, topic, [group]);
    const cId = randomUUID();
    const cJoin = await consumerJoin(consumer, group, cId, topic);
    out.consumerJoin = [cJoin.errorCode, cJoin.memberEpoch];
    const cEpoch = cJoin.memberEpoch as number;
    out.classicJoin = (await a.joinFully()).errorCode;
    out.offsetFetch = {
      member: await fetchAs(admin, group, topic, cId, cEpoch),
      otherEpoch: await fetchAs(admin, group, topic, cId, cEpoch + 7),
      unknownMember: await fetchAs(admin, group, topic, 'no-such-member', cEpoch),
      noMember: await fetchAs(admin, group, topic, null, -1),
      emptyMemberId: await fetchAs(admin, group, topic, '', -1),
      classicMember: await fetchAs(admin, group, topic, a.memberId, a.generation),
      classicOtherGeneration: await fetchAs(admin, group, topic, a.memberId, a.generation + 7),
    };
    // One group per request: Kafka answers a request's groups in the order its coordinator shards do.
    out.describeGroupsV5 = [
      ...(await describeGroups(admin, 5, [group])),
      ...(await describeGroups(admin, 5, ['no-such-group'])),
    ];
    out.describeGroupsV6 = [
      ...(await describeGroups(admin, 6, [group])),
      ...(await describeGroups(admin, 6, ['no-such-group'])),
    ];
    const leave = await send(admin, 13, 5, {
      groupId: group,
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    out.classicLeave = leave.errorCode;
    const cLeave = await send(consumer, 68, 1, { groupId: group, memberId: cId, memberEpoch: -1 });
    out.consumerLeave = cLeave.errorCode;
    out.emptyGroup = await consumerDescribe(admin, group);
    out.emptyFetchWithMember = await fetchAs(admin, group, topic, cId, cEpoch);
    out.emptyDescribeGroupsV6 = await describeGroups(admin, 6, [group]);
    return out;
  } finally {
    admin.close();
    a.client.close();
    consumer.close();
  }
}

/** What Apache Kafka 4.1.1 answered to `memberChecksOnTheWire` (one node, asked on 2026-12-06). */
export function memberChecksAnswers(label: string): Record<string, unknown> {
  const group = `member-checks-group-${label}`;
  return {
    maxVersions: { offsetFetch: 9, describeGroups: 6 },
    consumerJoin: [ErrorCode.NONE, 1],
    classicJoin: ErrorCode.NONE,
    offsetFetch: {
      member: ErrorCode.NONE,
      otherEpoch: ErrorCode.STALE_MEMBER_EPOCH,
      unknownMember: ErrorCode.UNKNOWN_MEMBER_ID,
      noMember: ErrorCode.NONE,
      emptyMemberId: ErrorCode.UNKNOWN_MEMBER_ID,
      classicMember: ErrorCode.NONE,
      classicOtherGeneration: ErrorCode.ILLEGAL_GENERATION,
    },
    describeGroupsV5: [
      [ErrorCode.NONE, 'Dead'],
      [ErrorCode.NONE, 'Dead'],
    ],
    describeGroupsV6: [
      [ErrorCode.GROUP_ID_NOT_FOUND, `Group ${group} is not a classic group.`, 'Dead'],
      [ErrorCode.GROUP_ID_NOT_FOUND, 'Group no-such-group not found.', 'Dead'],
    ],
    classicLeave: ErrorCode.NONE,
    consumerLeave: ErrorCode.NONE,
    emptyGroup: [ErrorCode.NONE, 'Empty', 4, 2, 0],
    emptyFetchWithMember: ErrorCode.UNKNOWN_MEMBER_ID,
    emptyDescribeGroupsV6: [[ErrorCode.GROUP_ID_NOT_FOUND, `Group ${group} is not a classic group.`, 'Dead']],
  };
}

/**
 * A consumer-protocol static member and a classic member; the consumer member leaves with epoch -2;
 * a classic member takes its instance id (with the same subscription, or another topic): the answers
 * and the group's type and state after each.
 */
export async function staticReplacementOnTheWire(
  port: number,
  label: string,
  otherSubscription: boolean,
): Promise<Record<string, unknown>> {
  const suffix = `${label}-${otherSubscription ? 'other' : 'same'}`;
  const topic = `static-replace-${suffix}`;
  const otherTopic = `static-replace-other-${suffix}`;
  const group = `static-replace-group-${suffix}`;
  const instanceId = 'instance-s';
  const out: Record<string, unknown> = {};
  const admin = clientTo(port, 'static-replace-admin');
  const a = new ClassicMember(port, 'classic-a', group, topic);
  const s = new ClassicMember(port, 'classic-s', group, topic, instanceId);
  const consumer = clientTo(port, 'consumer-c');
  try {
    await prepare(admin, topic, [group]);
    if (otherSubscription) await prepare(admin, otherTopic, []);
    const cId = randomUUID();
    const cJoin = await consumerJoin(consumer, group, cId, topic, instanceId);
    out.consumerJoin = [cJoin.errorCode, cJoin.memberEpoch];
    out.classicJoin = (await a.joinFully()).errorCode;
    // The consumer member heartbeats until it holds its target (the classic member's join moved the epoch).
    let epoch = cJoin.memberEpoch as number;
    let owned = (
      cJoin.assignment as { topicPartitions: { topicId: Uint8Array; partitions: number[] }[] } | null
    )?.topicPartitions;
    for (let i = 0; i < 5; i++) {
      const beat = await send(consumer, 68, 1, {
        groupId: group,
        memberId: cId,
        memberEpoch: epoch,
        topicPartitions: owned ?? [],
      });
      assert.equal(beat.errorCode, ErrorCode.NONE);
      epoch = beat.memberEpoch as number;
      const assignment = beat.assignment as { topicPartitions: typeof owned } | null;
      if (assignment !== null) owned = assignment.topicPartitions;
    }
    const sLeave = await send(consumer, 68, 1, {
      groupId: group,
      memberId: cId,
      memberEpoch: -2,
      instanceId,
      topicPartitions: null,
    });
    out.staticLeave = [sLeave.errorCode, sLeave.memberEpoch];
    out.listedBefore = await listed(admin, group);
    const sJoin = await s.join('consumer', otherSubscription ? otherTopic : topic);
    out.replacementJoin = [
      sJoin.errorCode,
      sJoin.generationId,
      sJoin.memberId !== '' && sJoin.memberId !== cId,
      sJoin.protocolType,
      sJoin.protocolName,
      sJoin.leader,
      (sJoin.members as unknown[]).length,
    ];
    out.listedAfter = await listed(admin, group);
    return out;
  } finally {
    admin.close();
    a.client.close();
    s.client.close();
    consumer.close();
  }
}

/** What Apache Kafka 4.1.1 answered to `staticReplacementOnTheWire` (one node, asked on 2026-12-06). */
export function staticReplacementAnswers(otherSubscription: boolean): Record<string, unknown> {
  return {
    consumerJoin: [ErrorCode.NONE, 1],
    classicJoin: ErrorCode.NONE,
    staticLeave: [ErrorCode.NONE, -2],
    listedBefore: ['consumer', 'Reconciling'],
    // The answer is the consumer group's (generation = the new member's epoch, no leader): with the
    // same subscription it holds the replaced member's partitions at epoch 2; with another one it
    // is not reconciled (epoch 0) and the classic group rebalances.
    replacementJoin: [ErrorCode.NONE, otherSubscription ? 0 : 2, true, 'consumer', 'range', '', 0],
    listedAfter: ['classic', otherSubscription ? 'PreparingRebalance' : 'Stable'],
  };
}

const GROUP_RESOURCE = 32;

/** DescribeConfigs v4 of a group: [error code, message, entries sorted by name]. */
async function describeGroupConfigs(
  client: ControllerClient,
  group: string,
  keys: string[] | null,
  documentation = false,
): Promise<[number, string, unknown[]]> {
  const answer = await send(client, 32, 4, {
    resources: [{ resourceType: GROUP_RESOURCE, resourceName: group, configurationKeys: keys }],
    includeSynonyms: true,
    includeDocumentation: documentation,
  });
  const result = (
    answer.results as { errorCode: number; errorMessage: string; configs: { name: string }[] }[]
  )[0]!;
  // Kafka lists a group's configs in its properties' hash order: compared by name.
  const configs = [...result.configs].sort((a, b) => (a.name < b.name ? -1 : 1));
  return [result.errorCode, result.errorMessage, configs];
}

/** IncrementalAlterConfigs v1 of a group: [error code, message]. */
async function alterGroupConfigs(
  client: ControllerClient,
  group: string,
  configs: { name: string; configOperation: number; value: string | null }[],
  validateOnly = false,
): Promise<[number, string | null]> {
  const answer = await send(client, 44, 1, {
    resources: [{ resourceType: GROUP_RESOURCE, resourceName: group, configs }],
    validateOnly,
  });
  const r = (answer.responses as { errorCode: number; errorMessage: string | null }[])[0]!;
  return [r.errorCode, r.errorMessage];
}

const SET = 0;
const DELETE = 1;

/** Waits until the group's described configs give `name` this value (Kafka's brokers apply a commit when they replay it). */
async function describedValue(client: ControllerClient, group: string, name: string, value: string) {
  return until(
    `${name} = ${value}`,
    () => describeGroupConfigs(client, group, [name]).then(([, , configs]) => ({ configs }) as MessageValue),
    (answer) => (answer.configs as { value: string }[])[0]?.value === value,
  );
}

export interface GroupConfigHooks {
  /** Runs once the group's configs are set (a restart: they are read back from the metadata log). */
  readonly afterSet?: () => Promise<void>;
}

/**
 * The GROUP config resource: every group config described with the broker's defaults; Kafka's
 * refusals; consumer.session.timeout.ms and consumer.heartbeat.interval.ms set (the heartbeat
 * interval a joining member is told is the group's), kept across `afterSet`, then deleted.
 */
export async function groupConfigsOnTheWire(
  port: number,
  label: string,
  hooks: GroupConfigHooks = {},
): Promise<Record<string, unknown>> {
  const topic = `group-configs-${label}`;
  const group = `group-configs-group-${label}`;
  const out: Record<string, unknown> = {};
  const admin = clientTo(port, 'group-configs-admin');
  const consumer = clientTo(port, 'consumer-c');
  try {
    await prepare(admin, topic, [group]);
    out.describedDefaults = await describeGroupConfigs(admin, group, null, true);
    const set = (name: string, value: string | null) => ({ name, configOperation: SET, value });
    out.refused = [
      await alterGroupConfigs(admin, group, [set('consumer.session.timeout.ms', '1000')]),
      await alterGroupConfigs(admin, group, [set('consumer.session.timeout.ms', '60001')]),
      await alterGroupConfigs(admin, group, [set('consumer.heartbeat.interval.ms', '4999')]),
      await alterGroupConfigs(admin, group, [set('consumer.heartbeat.interval.ms', '99999')]),
      await alterGroupConfigs(admin, group, [set('consumer.heartbeat.interval.ms', 'abc')]),
      await alterGroupConfigs(admin, group, [set('consumer.session.timeout.ms', null)]),
      await alterGroupConfigs(admin, group, [set('no.such.config', '1')]),
      await alterGroupConfigs(admin, group, [
        { name: 'consumer.session.timeout.ms', configOperation: 2, value: '1' },
      ]),
      await alterGroupConfigs(admin, group, [
        { name: 'consumer.session.timeout.ms', configOperation: 3, value: '1' },
      ]),
      await alterGroupConfigs(admin, group, [set('share.record.lock.duration.ms', '1')]),
      await alterGroupConfigs(admin, group, [set('share.isolation.level', 'nope')]),
      await alterGroupConfigs(admin, group, [set('share.auto.offset.reset', 'nope')]),
      await alterGroupConfigs(admin, group, [set('streams.num.standby.replicas', '9')]),
      await alterGroupConfigs(admin, group, [set('streams.num.standby.replicas', '-1')]),
      await alterGroupConfigs(admin, '', [set('consumer.session.timeout.ms', '50000')]),
      await alterGroupConfigs(admin, group, [set('consumer.session.timeout.ms', '50000')], true),
    ];
    out.describedEmptyName = await describeGroupConfigs(admin, '', null);
    out.set = await alterGroupConfigs(admin, group, [
      set('consumer.session.timeout.ms', '50000'),
      set('consumer.heartbeat.interval.ms', '6000'),
    ]);
    await describedValue(admin, group, 'consumer.heartbeat.interval.ms', '6000');
    await hooks.afterSet?.();
    out.describedSet = await describeGroupConfigs(admin, group, [
      'consumer.session.timeout.ms',
      'consumer.heartbeat.interval.ms',
    ]);
    const joined = await consumerJoin(consumer, group, randomUUID(), topic);
    out.joinedHeartbeatIntervalMs = [joined.errorCode, joined.heartbeatIntervalMs];
    out.deleted = await alterGroupConfigs(admin, group, [
      { name: 'consumer.session.timeout.ms', configOperation: DELETE, value: null },
      { name: 'consumer.heartbeat.interval.ms', configOperation: DELETE, value: null },
    ]);
    await describedValue(admin, group, 'consumer.heartbeat.interval.ms', '5000');
    out.describedDeleted = await describeGroupConfigs(admin, group, [
      'consumer.session.timeout.ms',
      'consumer.heartbeat.interval.ms',
    ]);
    return out;
  } finally {
    admin.close();
    consumer.close();
  }
}

/**
 * What Apache Kafka 4.1.1 answered to `groupConfigsOnTheWire` (one node, asked on 2026-12-06; its
 * JSON as recorded, the described configs sorted by name).
 */
export function groupConfigsAnswers(): Record<string, unknown> {
  return JSON.parse(
    readFileSync(new URL('./fixtures/group-configs-kafka-4.1.1.json', import.meta.url), 'utf8'),
  );
}
