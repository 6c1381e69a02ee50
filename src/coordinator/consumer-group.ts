/**
 * KIP-848 consumer groups (Kafka 4's `group.protocol=consumer`): ConsumerGroupHeartbeat and
 * ConsumerGroupDescribe. The broker owns the assignment: each membership or subscription change
 * bumps the group epoch, the assignor computes a target assignment for that epoch, and each
 * member is moved towards its target one heartbeat at a time: partitions it must give up are
 * revoked first (its epoch stays behind until it reports them gone), and a partition is handed
 * to its new owner only once no other member holds it.
 *
 * Pure logic over the broker's `Clock`; topics come from a `TopicLookup` (the metadata image).
 */

import { compileRe2j, type WholeNameMatcher } from '../broker/re2j.ts';
import type { Clock } from '../broker/services.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { ASSIGNORS, type Assignment, type AssignorTopic, partitionKey } from './assignors.ts';
import {
  type ClassicMemberMetadata,
  CustomAssignorError,
  decodeAssignment,
  decodeSubscription,
  downgradeEnabled,
  encodeAssignment,
  type MigrationPolicy,
  subscriptionVersion,
  type TopicNames,
  upgradeEnabled,
} from './classic-members.ts';
import {
  CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_TYPE,
  CONSUMER_GROUP_MEMBER_METADATA_TYPE,
  CONSUMER_GROUP_METADATA_TYPE,
  CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_TYPE,
  CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE,
  decodeConsumerGroupKey,
  decodeConsumerGroupValue,
  encodeConsumerGroupKey,
  encodeConsumerGroupValue,
} from './consumer-group-records.ts';
import {
  type JoinGroupResult,
  joinError,
  type MemberProtocol,
  type SyncGroupResult,
  syncError,
} from './group.ts';
import type {
  HeartbeatInput,
  JoinGroupInput,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupInput,
} from './group-coordinator.ts';
import type { CoordinatorRecord } from './records.ts';

/** Kafka's broker settings for consumer groups, under their Kafka names. */
export interface ConsumerGroupConfig {
  /** group.consumer.session.timeout.ms */
  readonly sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms */
  readonly heartbeatIntervalMs: number;
  /** group.consumer.assignors (the first is the default) */
  readonly assignors: readonly string[];
  /** group.consumer.max.size */
  readonly maxSize: number;
  /** group.consumer.migration.policy: conversions between classic and consumer groups (Kafka's default: bidirectional) */
  readonly migrationPolicy: MigrationPolicy;
}

export const DEFAULT_CONSUMER_GROUP_CONFIG: ConsumerGroupConfig = {
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 5_000,
  assignors: ['uniform', 'range'],
  maxSize: 2_147_483_647,
  migrationPolicy: 'bidirectional',
};

/** The protocol type of every classic member a consumer group serves. */
const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** Member epochs with a meaning (ConsumerGroupHeartbeat's MemberEpoch). */
export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;
export const STATIC_LEAVE_EPOCH = -2;

export interface TopicLookup {
  /** Every topic, internal ones included. */
  topics(): Iterable<AssignorTopic & { readonly internal: boolean }>;
}

export interface TopicPartitionsInput {
  readonly topicId: string;
  readonly partitions: readonly number[];
}

export interface ConsumerHeartbeatInput {
  readonly apiVersion: number;
  readonly groupId: string;
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[] | null;
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly ownedPartitions: readonly TopicPartitionsInput[] | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The group's consumer.session.timeout.ms and consumer.heartbeat.interval.ms in force (group configs). */
  readonly groupTimings?: { readonly sessionTimeoutMs: number; readonly heartbeatIntervalMs: number };
}

export interface ConsumerHeartbeatResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly memberId: string | null;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly assignment: { topicId: string; partitions: number[] }[] | null;
}

type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions';

export interface ConsumerMember {
  readonly memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  /** What the member may consume now. */
  assigned: Assignment;
  /** What it still holds and must give up before its epoch moves on. */
  pendingRevocation: Assignment;
  cancelSession: () => void;
  cancelRebalance: () => void;
  /** Set for a member that speaks the classic protocol (JoinGroup, SyncGroup, Heartbeat). */
  classic: ClassicMemberMetadata | null;
  /** A classic member told to rejoin (REBALANCE_IN_PROGRESS) is removed if it does not within its rebalance timeout. */
  cancelJoinTimeout: (() => void) | null;
  /** A classic member that joined is removed if it does not sync within its rebalance timeout. */
  cancelSyncTimeout: () => void;
}

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export class ConsumerGroup {
  readonly groupId: string;
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  /** Target assignment of assignmentEpoch, by member id. */
  target = new Map<string, Assignment>();
  /** The subscribed topics (name → id and partition count) the target was computed from. */
  subscribedTopics = new Map<string, AssignorTopic>();
  assignorName: string;
  /**
   * The group's own consumer.session.timeout.ms and consumer.heartbeat.interval.ms (group configs,
   * as its last heartbeat carried them); undefined: the broker's.
   */
  sessionTimeoutMs: number | undefined = undefined;
  heartbeatIntervalMs: number | undefined = undefined;

  constructor(groupId: string, assignorName: string) {
    this.groupId = groupId;
    this.assignorName = assignorName;
  }

  state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const member of this.members.values()) {
      if (member.memberEpoch !== this.assignmentEpoch || member.state !== 'stable') return 'Reconciling';
    }
    return 'Stable';
  }

  staticMember(instanceId: string): ConsumerMember | undefined {
    for (const member of this.members.values()) if (member.instanceId === instanceId) return member;
    return undefined;
  }

  /** Partition key → id of the member that holds it (assigned or pending revocation). */
  owners(except?: string): Map<string, string> {
    const owners = new Map<string, string>();
    for (const member of this.members.values()) {
      if (member.memberId === except) continue;
      for (const assignment of [member.assigned, member.pendingRevocation]) {
        for (const [topicId, partitions] of assignment) {
          for (const p of partitions) owners.set(partitionKey(topicId, p), member.memberId);
        }
      }
    }
    return owners;
  }
}

class HeartbeatError extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

/**
 * Compiles a subscription regex as Kafka 4.1.1 does (re2j, `../broker/re2j.ts`), matched against
 * the whole topic name (`Pattern.matcher(topic).matches()`); one re2j refuses is
 * INVALID_REGULAR_EXPRESSION with Kafka's message, naming re2j's description of the fault.
 */
export function compileSubscriptionRegex(regex: string): WholeNameMatcher {
  try {
    return compileRe2j(regex);
  } catch (error) {
    throw new HeartbeatError(
      ErrorCode.INVALID_REGULAR_EXPRESSION,
      `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${(error as Error).message}.`,
    );
  }
}

function assignmentKeys(assignment: Assignment): Set<string> {
  const keys = new Set<string>();
  for (const [topicId, partitions] of assignment)
    for (const p of partitions) keys.add(partitionKey(topicId, p));
  return keys;
}

function fromKeys(keys: Iterable<string>): Assignment {
  const out: Assignment = new Map();
  const sortedKeys = [...keys].sort();
  for (const key of sortedKeys) {
    const separator = key.lastIndexOf(':');
    const topicId = key.slice(0, separator);
    const list = out.get(topicId);
    const p = Number(key.slice(separator + 1));
    if (list === undefined) out.set(topicId, [p]);
    else list.push(p);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

function sameAssignment(a: Assignment, b: Assignment): boolean {
  const ka = assignmentKeys(a);
  const kb = assignmentKeys(b);
  return ka.size === kb.size && [...ka].every((k) => kb.has(k));
}

function toWire(assignment: Assignment): { topicId: string; partitions: number[] }[] {
  return [...assignment].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

export interface ConsumerGroupsOptions {
  readonly clock: Clock;
  readonly config: ConsumerGroupConfig;
  readonly topics: TopicLookup;
  readonly newMemberId: () => string;
  /** Whether a classic group with members holds this id (the two protocols cannot share one). */
  readonly classicGroupInUse: (groupId: string) => boolean;
  /** The classic groups of the same coordinator, for online upgrades and downgrades; none: no conversion. */
  readonly classicGroups?: ClassicGroupsPort;
  /** Appends a group's records to its `__consumer_offsets` partition; resolves NONE or an error code. */
  readonly persist?: (groupId: string, records: readonly CoordinatorRecord[]) => Promise<number>;
  readonly logger?: (message: string) => void;
}

/** One member of a classic group as an online upgrade takes it (Kafka's ConsumerGroup.fromClassicGroup). */
export interface ClassicMemberForUpgrade {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocols: readonly MemberProtocol[];
  /** Its assignment as the leader wrote it (ConsumerProtocolAssignment bytes; empty when none). */
  readonly assignment: Uint8Array;
}

/** One member of a consumer group as an online downgrade hands it back to a classic group. */
export interface ClassicMemberForDowngrade {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocols: readonly MemberProtocol[];
  /** Its target assignment, encoded in the version of the given subscription bytes. */
  readonly encodeAssignment: (subscription: Uint8Array) => Uint8Array;
}

/** What the classic coordinator does for a conversion (GroupCoordinator implements it). */
export interface ClassicGroupsPort {
  /** The classic group with members that holds the id, or why it cannot become a consumer group. */
  describeForUpgrade(
    groupId: string,
  ): { generationId: number; protocolName: string; members: readonly ClassicMemberForUpgrade[] } | string;
  /** Ends the classic group (waiting requests answered REBALANCE_IN_PROGRESS, offsets kept): the records that say so. */
  endForUpgrade(groupId: string): CoordinatorRecord[];
  /**
   * Ends an empty classic group that holds the id (offsets kept) as a consumer group takes the id:
   * its GroupMetadata tombstone, or nothing when no classic group holds it.
   */
  endEmptyForConversion(groupId: string): CoordinatorRecord[];
  /** group.max.size: a consumer group larger than this is not downgraded. */
  readonly classicMaxSize: number;
  /**
   * Makes a classic group of these members at this generation, Stable, then starts a rebalance for
   * `rebalanceReason` unless it is null: the records that write it.
   */
  startFromDowngrade(
    groupId: string,
    generationId: number,
    members: readonly ClassicMemberForDowngrade[],
    rebalanceReason: string | null,
  ): CoordinatorRecord[];
}

/** Kafka's MemberState codes in ConsumerGroupCurrentMemberAssignmentValue. */
const MEMBER_STATE_CODES: Record<MemberState, number> = {
  stable: 0,
  unrevoked_partitions: 1,
  unreleased_partitions: 2,
};

function wireAssignment(assignment: Assignment): { topicId: string; partitions: number[] }[] {
  return [...assignment].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

function assignmentFromWire(value: unknown): Assignment {
  const out: Assignment = new Map();
  for (const t of value as { topicId: string; partitions: number[] }[]) {
    out.set(
      t.topicId,
      [...t.partitions].sort((a, b) => a - b),
    );
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The consumer groups of one coordinator. */
export class ConsumerGroups {
  readonly #clock: Clock;
  readonly config: ConsumerGroupConfig;
  readonly #topics: TopicLookup;
  readonly #newMemberId: () => string;
  readonly #classicGroupInUse: (groupId: string) => boolean;
  readonly #logger: (message: string) => void;
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #persist: (groupId: string, records: readonly CoordinatorRecord[]) => Promise<number>;
  /** What each group's records last said, key hex → value hex (what a new write must change). */
  readonly #written = new Map<string, Map<string, string>>();
  readonly #classicGroups: ClassicGroupsPort | undefined;
  /** Classic-group records a conversion wrote, to go before (upgrade) or after (downgrade) the group's next write. */
  readonly #conversionRecords = new Map<string, { first: CoordinatorRecord[]; last: CoordinatorRecord[] }>();

  constructor(options: ConsumerGroupsOptions) {
    this.#persist = options.persist ?? (async () => ErrorCode.NONE);
    this.#clock = options.clock;
    this.config = options.config;
    this.#topics = options.topics;
    this.#newMemberId = options.newMemberId;
    this.#classicGroupInUse = options.classicGroupInUse;
    this.#classicGroups = options.classicGroups;
    this.#logger = options.logger ?? (() => {});
    for (const name of this.config.assignors) {
      if (!ASSIGNORS.has(name)) {
        throw new Error(
          `group.consumer.assignors: unknown assignor '${name}' (kstack has ${[...ASSIGNORS.keys()].join(', ')})`,
        );
      }
    }
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.#groups.get(groupId);
  }

  groups(): Iterable<ConsumerGroup> {
    return this.#groups.values();
  }

  /** A heartbeat, answered once the records of what it changed are written. */
  async heartbeatAndPersist(input: ConsumerHeartbeatInput): Promise<ConsumerHeartbeatResult> {
    const result = this.heartbeat(input);
    if (result.errorCode !== ErrorCode.NONE) {
      // A join refused after its group was upgraded (a static member not released yet): the conversion is written.
      if (this.#conversionRecords.has(input.groupId)) void this.persistGroup(input.groupId);
      return result;
    }
    const written = await this.persistGroup(input.groupId);
    if (written !== ErrorCode.NONE)
      return { ...result, errorCode: written, errorMessage: null, assignment: null };
    return result;
  }

  /** Writes the records of whatever changed in a group since its last write (tombstones for what went). */
  persistGroup(groupId: string): Promise<number> {
    const group = this.#groups.get(groupId);
    const now = group === undefined ? new Map<string, CoordinatorRecord>() : this.#records(group);
    const before = this.#written.get(groupId) ?? new Map<string, string>();
    const records: CoordinatorRecord[] = [];
    const after = new Map<string, string>();
    for (const [keyHex, record] of now) {
      const valueHex = hex(record.value!);
      after.set(keyHex, valueHex);
      if (before.get(keyHex) !== valueHex) records.push(record);
    }
    for (const keyHex of before.keys()) {
      if (!now.has(keyHex)) records.push({ key: Buffer.from(keyHex, 'hex'), value: null });
    }
    this.#written.set(groupId, after);
    const conversion = this.#conversionRecords.get(groupId);
    this.#conversionRecords.delete(groupId);
    if (conversion !== undefined) records.unshift(...conversion.first);
    if (conversion !== undefined) records.push(...conversion.last);
    if (records.length === 0) return Promise.resolve(ErrorCode.NONE);
    return this.#persist(groupId, records);
  }

  /** The group's state as Kafka's records (types 3, 5, 6, 7, 8), by key hex. */
  #records(group: ConsumerGroup): Map<string, CoordinatorRecord> {
    const out = new Map<string, CoordinatorRecord>();
    const put = (type: number, memberId: string | null, value: Record<string, unknown>) => {
      const key = encodeConsumerGroupKey(type, group.groupId, memberId);
      out.set(hex(key), { key, value: encodeConsumerGroupValue(type, value) });
    };
    put(CONSUMER_GROUP_METADATA_TYPE, null, { epoch: group.groupEpoch });
    put(CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE, null, { assignmentEpoch: group.assignmentEpoch });
    for (const member of group.members.values()) {
      put(CONSUMER_GROUP_MEMBER_METADATA_TYPE, member.memberId, {
        instanceId: member.instanceId,
        rackId: member.rackId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscribedTopicNames: member.subscribedTopicNames,
        subscribedTopicRegex: member.subscribedTopicRegex,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        serverAssignor: member.serverAssignor,
        classicMemberMetadata:
          member.classic === null
            ? null
            : {
                sessionTimeoutMs: member.classic.sessionTimeoutMs,
                supportedProtocols: member.classic.protocols.map((p) => ({
                  name: p.name,
                  metadata: p.metadata,
                })),
              },
      });
      put(CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_TYPE, member.memberId, {
        topicPartitions: wireAssignment(group.target.get(member.memberId) ?? new Map()),
      });
      put(CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_TYPE, member.memberId, {
        memberEpoch: member.memberEpoch,
        previousMemberEpoch: member.previousMemberEpoch,
        state: MEMBER_STATE_CODES[member.state],
        assignedPartitions: wireAssignment(member.assigned),
        partitionsPendingRevocation: wireAssignment(member.pendingRevocation),
      });
    }
    return out;
  }

  /**
   * Replays one `__consumer_offsets` record at load; false when it is not a KIP-848 record. Call
   * `finishLoad` once the partition is read.
   */
  replay(record: CoordinatorRecord): boolean {
    const key = decodeConsumerGroupKey(record.key);
    if (key === null) return false;
    let group = this.#groups.get(key.groupId);
    if (group === undefined) {
      if (record.value === null) return true;
      group = new ConsumerGroup(key.groupId, this.config.assignors[0]!);
      this.#groups.set(key.groupId, group);
    }
    const value = record.value === null ? null : decodeConsumerGroupValue(key.type, record.value);
    const memberId = key.memberId ?? '';
    const memberOf = () => {
      let member = group.members.get(memberId);
      if (member === undefined) {
        member = this.#newMember({ ...EMPTY_JOIN, groupId: key.groupId, memberId }, memberId);
        group.members.set(memberId, member);
      }
      return member;
    };
    switch (key.type) {
      case CONSUMER_GROUP_METADATA_TYPE:
        if (value === null) this.#groups.delete(key.groupId);
        else group.groupEpoch = value.epoch as number;
        break;
      case CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE:
        if (value !== null) group.assignmentEpoch = value.assignmentEpoch as number;
        break;
      case CONSUMER_GROUP_MEMBER_METADATA_TYPE:
        if (value === null) group.members.delete(memberId);
        else {
          const member = memberOf();
          member.instanceId = value.instanceId as string | null;
          member.rackId = value.rackId as string | null;
          member.clientId = value.clientId as string;
          member.clientHost = value.clientHost as string;
          member.subscribedTopicNames = [...(value.subscribedTopicNames as string[])];
          member.subscribedTopicRegex = value.subscribedTopicRegex as string | null;
          member.rebalanceTimeoutMs = value.rebalanceTimeoutMs as number;
          member.serverAssignor = value.serverAssignor as string | null;
          member.classic = classicFromRecord(value.classicMemberMetadata);
        }
        break;
      case CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_TYPE:
        if (value === null) group.target.delete(memberId);
        else group.target.set(memberId, assignmentFromWire(value.topicPartitions));
        break;
      case CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_TYPE:
        if (value !== null) {
          const member = memberOf();
          member.memberEpoch = value.memberEpoch as number;
          member.previousMemberEpoch = value.previousMemberEpoch as number;
          const code = value.state as number;
          member.state =
            (Object.keys(MEMBER_STATE_CODES) as MemberState[]).find((s) => MEMBER_STATE_CODES[s] === code) ??
            'stable';
          member.assigned = assignmentFromWire(value.assignedPartitions);
          member.pendingRevocation = assignmentFromWire(value.partitionsPendingRevocation);
        }
        break;
    }
    return true;
  }

  /**
   * After a partition's records are replayed: members of its groups get a fresh session (as in
   * Kafka), the subscribed topics are recomputed, and what was read counts as written.
   */
  finishLoad(inPartition: (groupId: string) => boolean): void {
    for (const group of this.#groups.values()) {
      if (!inPartition(group.groupId)) continue;
      group.subscribedTopics = this.#currentSubscribedTopics(group);
      group.assignorName = this.#chooseAssignor(group);
      for (const member of group.members.values()) this.#scheduleSession(group, member);
      const written = new Map<string, string>();
      for (const [keyHex, record] of this.#records(group)) written.set(keyHex, hex(record.value!));
      this.#written.set(group.groupId, written);
    }
  }

  /** Deletes an empty consumer group: tombstones for every record it wrote. */
  deleteGroup(groupId: string): Promise<number> {
    const group = this.#groups.get(groupId);
    if (group !== undefined && group.members.size > 0) return Promise.resolve(ErrorCode.NON_EMPTY_GROUP);
    this.#groups.delete(groupId);
    return this.persistGroup(groupId);
  }

  /** Forgets the groups of a partition this broker no longer leads. */
  unload(inPartition: (groupId: string) => boolean): void {
    for (const group of [...this.#groups.values()]) {
      if (!inPartition(group.groupId)) continue;
      for (const member of group.members.values()) {
        member.cancelSession();
        member.cancelRebalance();
      }
      this.#groups.delete(group.groupId);
      this.#written.delete(group.groupId);
    }
  }

  heartbeat(input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    try {
      return this.#heartbeat(input);
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      return {
        errorCode: error.errorCode,
        errorMessage: error.message,
        memberId: null,
        memberEpoch: 0,
        heartbeatIntervalMs: 0,
        assignment: null,
      };
    }
  }

  #validate(input: ConsumerHeartbeatInput): void {
    const invalid = (message: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, message);
    if (input.groupId === '') throw invalid("GroupId can't be empty.");
    if (input.instanceId !== null && input.instanceId === '') throw invalid("InstanceId can't be empty.");
    if (input.rackId !== null && input.rackId === '') throw invalid("RackId can't be empty.");
    if (input.memberEpoch === JOIN_EPOCH) {
      if (input.apiVersion >= 1 && input.memberId === '') throw invalid("MemberId can't be empty.");
      if (input.rebalanceTimeoutMs === -1)
        throw invalid('RebalanceTimeoutMs must be provided in first request.');
      if (input.ownedPartitions === null || input.ownedPartitions.length > 0) {
        throw invalid('TopicPartitions must be empty when (re-)joining.');
      }
      if (input.subscribedTopicNames === null && input.subscribedTopicRegex === null) {
        throw invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
      }
    } else if (input.memberId === '') {
      throw invalid("MemberId can't be empty.");
    } else if (input.memberEpoch < STATIC_LEAVE_EPOCH) {
      throw invalid(`MemberEpoch ${input.memberEpoch} is invalid.`);
    } else if (input.memberEpoch === STATIC_LEAVE_EPOCH && input.instanceId === null) {
      throw invalid("InstanceId can't be null for a static member leaving temporarily (MemberEpoch -2).");
    }
    if (input.subscribedTopicRegex !== null && input.subscribedTopicRegex !== '')
      compileSubscriptionRegex(input.subscribedTopicRegex);
    if (input.serverAssignor !== null && !this.config.assignors.includes(input.serverAssignor)) {
      throw new HeartbeatError(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${input.serverAssignor} is not supported. Supported assignors: ${this.config.assignors.join(', ')}.`,
      );
    }
  }

  #heartbeat(input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    this.#validate(input);
    let existing = this.#groups.get(input.groupId);
    if (existing === undefined && this.#classicGroupInUse(input.groupId)) {
      if (input.memberEpoch !== JOIN_EPOCH) {
        throw new HeartbeatError(
          ErrorCode.GROUP_ID_NOT_FOUND,
          `Group ${input.groupId} is not a consumer group.`,
        );
      }
      existing = this.#upgrade(input.groupId);
    }
    if (input.memberEpoch === LEAVE_EPOCH || input.memberEpoch === STATIC_LEAVE_EPOCH) {
      return this.#leave(existing, input);
    }
    if (existing === undefined && input.memberEpoch !== JOIN_EPOCH) {
      throw new HeartbeatError(
        ErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${input.memberId} is not a member of group ${input.groupId}.`,
      );
    }
    const group = existing ?? new ConsumerGroup(input.groupId, this.config.assignors[0]!);
    if (input.groupTimings !== undefined) {
      group.sessionTimeoutMs = input.groupTimings.sessionTimeoutMs;
      group.heartbeatIntervalMs = input.groupTimings.heartbeatIntervalMs;
    }
    const member = this.#memberFor(group, input);
    if (existing === undefined) this.#createFrom(group);
    const before = member.assigned;
    const changed = this.#updateMember(group, member, input);
    if (changed || this.#metadataChanged(group)) group.groupEpoch++;
    if (group.groupEpoch > group.assignmentEpoch) this.#computeTarget(group);
    this.#reconcile(group, member, input.ownedPartitions);
    this.#scheduleSession(group, member);
    const sendAssignment =
      input.memberEpoch === JOIN_EPOCH ||
      input.ownedPartitions !== null ||
      !sameAssignment(before, member.assigned);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: group.heartbeatIntervalMs ?? this.config.heartbeatIntervalMs,
      assignment: sendAssignment ? toWire(member.assigned) : null,
    };
  }

  /**
   * A new consumer group takes its id; an empty classic group that held it gets its tombstone
   * first (Kafka's getOrMaybeCreateConsumerGroup, maybeDeleteEmptyClassicGroup).
   */
  #createFrom(group: ConsumerGroup): void {
    this.#groups.set(group.groupId, group);
    const tombstone = this.#classicGroups?.endEmptyForConversion(group.groupId) ?? [];
    if (tombstone.length === 0) return;
    this.#conversionRecords.set(group.groupId, { first: tombstone, last: [] });
    this.#logger(`consumer group ${group.groupId}: converted the empty classic group to a consumer group`);
  }

  #memberFor(group: ConsumerGroup, input: ConsumerHeartbeatInput): ConsumerMember {
    if (input.memberEpoch === JOIN_EPOCH) {
      if (input.instanceId !== null) {
        const previous = group.staticMember(input.instanceId);
        if (previous !== undefined && previous.memberId !== input.memberId) {
          if (previous.memberEpoch !== STATIC_LEAVE_EPOCH) {
            throw new HeartbeatError(
              ErrorCode.UNRELEASED_INSTANCE_ID,
              `Static member ${previous.memberId} with instance id ${input.instanceId} is not released yet.`,
            );
          }
          // The new incarnation takes over the previous one's subscription, target, assignment and
          // epoch: with an unchanged subscription the group epoch does not move.
          const member = this.#newMember(input, input.memberId || this.#newMemberId());
          // It left with epoch -2: it comes back at the epoch it had before.
          this.#takeOver(group, previous, member, previous.previousMemberEpoch);
          member.subscribedTopicRegex = previous.subscribedTopicRegex;
          member.serverAssignor = previous.serverAssignor;
          group.members.set(member.memberId, member);
          return member;
        }
      }
      const known = group.members.get(input.memberId);
      if (known !== undefined) return known;
      if (group.members.size >= this.config.maxSize) {
        throw new HeartbeatError(
          ErrorCode.GROUP_MAX_SIZE_REACHED,
          `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`,
        );
      }
      const member = this.#newMember(input, input.memberId || this.#newMemberId());
      group.members.set(member.memberId, member);
      return member;
    }
    const member = group.members.get(input.memberId);
    if (member === undefined) {
      throw new HeartbeatError(
        ErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${input.memberId} is not a member of group ${group.groupId}.`,
      );
    }
    if (input.memberEpoch !== member.memberEpoch) {
      // A lost answer: the member may still be at the previous epoch, owning only what it may.
      const ownedSubset =
        input.ownedPartitions !== null &&
        [...assignmentKeys(fromOwned(input.ownedPartitions))].every((k) =>
          assignmentKeys(member.assigned).has(k),
        );
      if (!(input.memberEpoch === member.previousMemberEpoch && ownedSubset)) {
        throw new HeartbeatError(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The consumer group member has a smaller member epoch (${input.memberEpoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
        );
      }
    }
    return member;
  }

  #newMember(input: ConsumerHeartbeatInput, memberId: string): ConsumerMember {
    return {
      memberId,
      instanceId: input.instanceId,
      rackId: input.rackId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      subscribedTopicNames: [],
      subscribedTopicRegex: null,
      serverAssignor: null,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      state: 'stable',
      assigned: new Map(),
      pendingRevocation: new Map(),
      cancelSession: () => {},
      cancelRebalance: () => {},
      classic: null,
      cancelJoinTimeout: null,
      cancelSyncTimeout: () => {},
    };
  }

  /** Applies the request's changed fields; true when the group epoch must move. */
  #updateMember(group: ConsumerGroup, member: ConsumerMember, input: ConsumerHeartbeatInput): boolean {
    let changed = member.memberEpoch === 0 && !group.target.has(member.memberId);
    if (input.rackId !== null && input.rackId !== member.rackId) member.rackId = input.rackId;
    if (input.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    if (input.subscribedTopicNames !== null) {
      const names = [...new Set(input.subscribedTopicNames)].sort();
      if (names.join('\u0000') !== member.subscribedTopicNames.join('\u0000')) {
        member.subscribedTopicNames = names;
        changed = true;
      }
    }
    if (input.subscribedTopicRegex !== null) {
      const regex = input.subscribedTopicRegex === '' ? null : input.subscribedTopicRegex;
      if (regex !== member.subscribedTopicRegex) {
        member.subscribedTopicRegex = regex;
        changed = true;
      }
    }
    if (input.serverAssignor !== null && input.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = input.serverAssignor;
      changed = true;
    }
    return changed;
  }

  #subscribedNames(
    member: ConsumerMember,
    all: readonly (AssignorTopic & { internal: boolean })[],
  ): Set<string> {
    const names = new Set(member.subscribedTopicNames.filter((n) => all.some((t) => t.name === n)));
    if (member.subscribedTopicRegex !== null) {
      const regex = compileSubscriptionRegex(member.subscribedTopicRegex);
      // Internal topics too: Kafka 4.1.1 assigns __consumer_offsets to a regex that matches it.
      for (const topic of all) if (regex.test(topic.name)) names.add(topic.name);
    }
    return names;
  }

  #currentSubscribedTopics(group: ConsumerGroup): Map<string, AssignorTopic> {
    const all = [...this.#topics.topics()];
    const byName = new Map(all.map((t) => [t.name, t]));
    const out = new Map<string, AssignorTopic>();
    for (const member of group.members.values()) {
      for (const name of this.#subscribedNames(member, all)) {
        const topic = byName.get(name)!;
        out.set(name, { topicId: topic.topicId, name, partitionCount: topic.partitionCount });
      }
    }
    return out;
  }

  #metadataChanged(group: ConsumerGroup): boolean {
    const current = this.#currentSubscribedTopics(group);
    if (current.size !== group.subscribedTopics.size) return true;
    for (const [name, topic] of current) {
      const known = group.subscribedTopics.get(name);
      if (
        known === undefined ||
        known.topicId !== topic.topicId ||
        known.partitionCount !== topic.partitionCount
      ) {
        return true;
      }
    }
    return false;
  }

  /** The assignor most members prefer (ties: the configured order), else the default. */
  #chooseAssignor(group: ConsumerGroup): string {
    const votes = new Map<string, number>();
    for (const member of group.members.values()) {
      if (member.serverAssignor !== null)
        votes.set(member.serverAssignor, (votes.get(member.serverAssignor) ?? 0) + 1);
    }
    let best = this.config.assignors[0]!;
    let bestVotes = 0;
    for (const name of this.config.assignors) {
      const count = votes.get(name) ?? 0;
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  #computeTarget(group: ConsumerGroup): void {
    const all = [...this.#topics.topics()];
    group.subscribedTopics = this.#currentSubscribedTopics(group);
    group.assignorName = this.#chooseAssignor(group);
    const assignor = ASSIGNORS.get(group.assignorName)!;
    const members = [...group.members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map((m) => ({ memberId: m.memberId, subscribedTopics: this.#subscribedNames(m, all) }));
    group.target = assignor({ members, topics: group.subscribedTopics, previous: group.target });
    group.assignmentEpoch = group.groupEpoch;
    this.#logger(
      `consumer group ${group.groupId}: target assignment of epoch ${group.groupEpoch} (${group.assignorName})`,
    );
  }

  /**
   * Moves a member one step towards its target (Kafka's CurrentAssignmentBuilder): partitions to
   * give up are revoked first and the epoch waits; partitions another member still holds are
   * withheld until released.
   */
  #reconcile(
    group: ConsumerGroup,
    member: ConsumerMember,
    owned: readonly TopicPartitionsInput[] | null,
  ): void {
    if (member.state === 'unrevoked_partitions') {
      const ownedKeys = owned === null ? null : assignmentKeys(fromOwned(owned));
      const stillHeld =
        ownedKeys === null || [...assignmentKeys(member.pendingRevocation)].some((k) => ownedKeys.has(k));
      if (stillHeld) return;
      member.pendingRevocation = new Map();
      member.cancelRebalance();
      member.state = 'stable';
    }
    if (member.memberEpoch === group.assignmentEpoch && member.state === 'stable') return;
    const target = assignmentKeys(group.target.get(member.memberId) ?? new Map());
    const assigned = assignmentKeys(member.assigned);
    const keep = [...assigned].filter((k) => target.has(k));
    const revoke = [...assigned].filter((k) => !target.has(k));
    // As Kafka's CurrentAssignmentBuilder: what the member says it no longer owns needs no revocation step.
    const ownedKeys = owned === null ? null : assignmentKeys(fromOwned(owned));
    if (revoke.length > 0 && (ownedKeys === null || revoke.some((k) => ownedKeys.has(k)))) {
      member.assigned = fromKeys(keep);
      member.pendingRevocation = fromKeys(revoke);
      member.state = 'unrevoked_partitions';
      this.#scheduleRebalanceTimeout(group, member);
      return;
    }
    const others = group.owners(member.memberId);
    const free = [...target].filter((k) => !assigned.has(k) && !others.has(k));
    const withheld = [...target].filter((k) => !assigned.has(k) && others.has(k));
    member.assigned = fromKeys([...keep, ...free]);
    if (member.memberEpoch !== group.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = group.assignmentEpoch;
    }
    member.state = withheld.length > 0 ? 'unreleased_partitions' : 'stable';
  }

  #scheduleSession(group: ConsumerGroup, member: ConsumerMember): void {
    member.cancelSession();
    const timeoutMs =
      member.classic?.sessionTimeoutMs ?? group.sessionTimeoutMs ?? this.config.sessionTimeoutMs;
    member.cancelSession = this.#clock.setTimer(timeoutMs, () => {
      if (group.members.get(member.memberId) !== member) return;
      this.#logger(`consumer group ${group.groupId}: member ${member.memberId} session timed out`);
      this.#removeMember(group, member);
      void this.persistGroup(group.groupId);
    });
  }

  #scheduleRebalanceTimeout(group: ConsumerGroup, member: ConsumerMember): void {
    member.cancelRebalance();
    member.cancelRebalance = this.#clock.setTimer(member.rebalanceTimeoutMs, () => {
      if (group.members.get(member.memberId) !== member || member.state !== 'unrevoked_partitions') return;
      this.#logger(
        `consumer group ${group.groupId}: member ${member.memberId} did not revoke within its rebalance timeout`,
      );
      this.#removeMember(group, member);
      void this.persistGroup(group.groupId);
    });
  }

  /**
   * A static member's new incarnation (`member`, not in the group yet) takes over the previous
   * one's target, subscription, assignment, epochs and state at `memberEpoch`; the previous one is
   * dropped.
   */
  #takeOver(
    group: ConsumerGroup,
    previous: ConsumerMember,
    member: ConsumerMember,
    memberEpoch: number,
  ): void {
    const target = group.target.get(previous.memberId);
    this.#dropMember(group, previous);
    if (target !== undefined) group.target.set(member.memberId, target);
    member.subscribedTopicNames = previous.subscribedTopicNames;
    member.assigned = previous.assigned;
    member.pendingRevocation = previous.pendingRevocation;
    member.memberEpoch = memberEpoch;
    member.previousMemberEpoch = previous.previousMemberEpoch;
    member.state = previous.state;
  }

  #dropMember(group: ConsumerGroup, member: ConsumerMember): void {
    member.cancelSession();
    member.cancelRebalance();
    member.cancelJoinTimeout?.();
    member.cancelJoinTimeout = null;
    member.cancelSyncTimeout();
    group.members.delete(member.memberId);
    group.target.delete(member.memberId);
  }

  /**
   * Members are gone (left, fenced, timed out): their partitions are free, the group epoch moves;
   * or, when only classic members remain and the policy allows it, the group becomes a classic
   * group again (Kafka's online downgrade).
   */
  #removeMembers(group: ConsumerGroup, leaving: readonly ConsumerMember[]): void {
    if (this.#canDowngrade(group, leaving)) {
      this.#downgrade(group, leaving, leavingReason(group.groupId));
      return;
    }
    for (const member of leaving) this.#removeMember(group, member);
  }

  /** A member is gone: see #removeMembers. */
  #removeMember(group: ConsumerGroup, member: ConsumerMember): void {
    if (this.#canDowngrade(group, [member])) {
      this.#downgrade(group, [member], leavingReason(group.groupId));
      return;
    }
    this.#dropMember(group, member);
    group.groupEpoch++;
    // The target follows at the next heartbeat or join (the group is Assigning until then, as Kafka's).
    // The last member gone: the group is Empty and its assignment epoch stays where the last target
    // left it (Kafka's consumerGroupFenceMembers writes only the new group epoch).
    if (group.members.size === 0) group.subscribedTopics = new Map();
  }

  #leave(group: ConsumerGroup | undefined, input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    let member = group?.members.get(input.memberId);
    if (member === undefined && group !== undefined && input.instanceId !== null) {
      member = group.staticMember(input.instanceId);
    }
    if (group === undefined || member === undefined) {
      throw new HeartbeatError(
        ErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${input.memberId} is not a member of group ${input.groupId}.`,
      );
    }
    if (input.memberEpoch === STATIC_LEAVE_EPOCH) {
      // Leaves its assignment in place for the instance's next incarnation, until its session ends.
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = STATIC_LEAVE_EPOCH;
      this.#scheduleSession(group, member);
    } else {
      this.#removeMember(group, member);
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: input.memberId,
      memberEpoch: input.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  }

  /**
   * OffsetCommit (and OffsetFetch with a member) against a consumer group: null when accepted,
   * an error code otherwise, `undefined` when the group is not a consumer group.
   */
  offsetCommitError(
    groupId: string,
    memberId: string,
    memberEpoch: number,
    apiVersion: number,
  ): number | null | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    if (memberEpoch < 0 && memberId === '') {
      // A commit from outside the group (an admin tool): only while the group is empty.
      return group.members.size === 0 ? null : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch !== member.memberEpoch) {
      // A classic member commits with its generation: Kafka answers it as a classic group would.
      if (member.classic !== null) return ErrorCode.ILLEGAL_GENERATION;
      return apiVersion >= 9 ? ErrorCode.STALE_MEMBER_EPOCH : ErrorCode.ILLEGAL_GENERATION;
    }
    return null;
  }

  /**
   * OffsetFetch v9 against a consumer group (Kafka 4.1.1's ConsumerGroup.validateOffsetFetch): null
   * when accepted, an error code otherwise, `undefined` when the group is not a consumer group. No
   * member id (null) with a negative epoch is an admin client or a client without group management;
   * any other member id (the empty one too) must be a member: UNKNOWN_MEMBER_ID, then its epoch:
   * STALE_MEMBER_EPOCH, or ILLEGAL_GENERATION for a classic member.
   */
  offsetFetchError(groupId: string, memberId: string | null, memberEpoch: number): number | null | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    if (memberId === null && memberEpoch < 0) return null;
    const member = memberId === null ? undefined : group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch === member.memberEpoch) return null;
    return member.classic !== null ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /**
   * TxnOffsetCommit against a consumer group (Kafka's validateOffsetCommit, transactional): null
   * when accepted, an error code otherwise, `undefined` when the group is not a consumer group.
   * The request's GenerationId is the member epoch; a commit without group metadata (generation
   * -1, no member id, no instance id) is accepted even while the group has members, and a wrong
   * epoch is ILLEGAL_GENERATION in every version (TxnOffsetCommit has no STALE_MEMBER_EPOCH), as
   * Kafka 4.1.1 answers.
   */
  txnOffsetCommitError(
    groupId: string,
    memberId: string,
    memberEpoch: number,
    instanceId: string | null,
  ): number | null | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    if (memberEpoch < 0 && group.members.size === 0) return null;
    if (memberEpoch < 0 && memberId === '' && instanceId === null) return null;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? null : ErrorCode.ILLEGAL_GENERATION;
  }

  stop(): void {
    for (const group of this.#groups.values()) {
      for (const member of group.members.values()) {
        member.cancelSession();
        member.cancelRebalance();
        member.cancelJoinTimeout?.();
        member.cancelSyncTimeout();
      }
    }
  }

  // ---- classic members in a consumer group, online upgrade and downgrade (KIP-848 migration) ----

  /** Topic names and ids of the metadata image, for the classic members' embedded protocol. */
  #topicNames(): TopicNames {
    const byName = new Map<string, string>();
    const byId = new Map<string, string>();
    for (const topic of this.#topics.topics()) {
      byName.set(topic.name, topic.topicId);
      byId.set(topic.topicId, topic.name);
    }
    return { idOf: (name) => byName.get(name), nameOf: (topicId) => byId.get(topicId) };
  }

  /**
   * A consumer-protocol member joins a classic group with members: the classic group becomes a
   * consumer group of the same members at its generation, each keeping its assignment (Kafka's
   * convertToConsumerGroup), or the join is refused with Kafka's GROUP_ID_NOT_FOUND messages.
   */
  #upgrade(groupId: string): ConsumerGroup {
    const refuse = (why: string) =>
      new HeartbeatError(
        ErrorCode.GROUP_ID_NOT_FOUND,
        `Cannot upgrade classic group ${groupId} to consumer group because ${why}.`,
      );
    const port = this.#classicGroups;
    if (port === undefined || !upgradeEnabled(this.config.migrationPolicy))
      throw refuse('online upgrade is disabled');
    const classic = port.describeForUpgrade(groupId);
    if (typeof classic === 'string') throw refuse('the group does not use the consumer embedded protocol');
    if (classic.members.length > this.config.maxSize) {
      throw refuse('the group size exceeds the consumer group maximum size');
    }
    const names = this.#topicNames();
    const group = new ConsumerGroup(groupId, this.config.assignors[0]!);
    group.groupEpoch = classic.generationId;
    group.assignmentEpoch = classic.generationId;
    for (const from of classic.members) {
      const metadata = from.protocols.find((p) => p.name === classic.protocolName)?.metadata;
      let member: ConsumerMember;
      try {
        if (metadata === undefined) throw new Error(`no ${classic.protocolName} metadata`);
        const subscription = decodeSubscription(metadata, names);
        member = this.#memberFromClassic(from, subscription.topics, names);
        member.rackId = subscription.rackId;
      } catch (error) {
        if (error instanceof CustomAssignorError) {
          throw refuse(
            'an unsupported custom assignor is in use. Please refer to the documentation or switch to a default assignor before re-attempting the upgrade',
          );
        }
        throw refuse('the embedded consumer protocol is malformed');
      }
      member.memberEpoch = classic.generationId;
      member.previousMemberEpoch = classic.generationId;
      group.members.set(member.memberId, member);
      group.target.set(member.memberId, member.assigned);
    }
    group.subscribedTopics = this.#currentSubscribedTopics(group);
    group.assignorName = this.#chooseAssignor(group);
    this.#groups.set(groupId, group);
    this.#conversionRecords.set(groupId, { first: port.endForUpgrade(groupId), last: [] });
    for (const member of group.members.values()) this.#scheduleSession(group, member);
    this.#logger(`consumer group ${groupId}: converted the classic group to a consumer group`);
    return group;
  }

  #memberFromClassic(
    from: ClassicMemberForUpgrade,
    topics: readonly string[],
    names: TopicNames,
  ): ConsumerMember {
    const member = this.#newMember({ ...EMPTY_JOIN, instanceId: from.instanceId }, from.memberId);
    member.clientId = from.clientId;
    member.clientHost = from.clientHost;
    member.rebalanceTimeoutMs = from.rebalanceTimeoutMs;
    member.subscribedTopicNames = [...new Set(topics)].sort();
    member.assigned = decodeAssignment(from.assignment, names);
    member.classic = { sessionTimeoutMs: from.sessionTimeoutMs, protocols: from.protocols };
    return member;
  }

  /** Kafka's validateOnlineDowngradeWithFencedMembers: only classic members would remain. */
  #canDowngrade(group: ConsumerGroup, leaving: readonly ConsumerMember[]): boolean {
    const port = this.#classicGroups;
    if (port === undefined || !downgradeEnabled(this.config.migrationPolicy)) return false;
    const leavingIds = new Set(leaving.map((m) => m.memberId));
    const remaining = [...group.members.values()].filter((m) => !leavingIds.has(m.memberId));
    if (remaining.length === 0 || remaining.some((m) => m.classic === null)) return false;
    return remaining.length <= port.classicMaxSize;
  }

  /**
   * The consumer group becomes a classic group of its remaining (classic) members at the group
   * epoch, each with its target assignment, and a classic rebalance starts unless `rebalanceReason`
   * is null (Kafka's convertToClassicGroup): the consumer group's records get tombstones, then the
   * classic group's.
   */
  #downgrade(group: ConsumerGroup, leaving: readonly ConsumerMember[], rebalanceReason: string | null): void {
    const port = this.#classicGroups!;
    const names = this.#topicNames();
    for (const member of leaving) this.#dropMember(group, member);
    const members: ClassicMemberForDowngrade[] = [...group.members.values()].map((m) => {
      const target = group.target.get(m.memberId) ?? new Map();
      return {
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic!.sessionTimeoutMs,
        protocols: m.classic!.protocols,
        encodeAssignment: (subscription) =>
          encodeAssignment(target, subscriptionVersion(subscription), names),
      };
    });
    for (const member of [...group.members.values()]) this.#dropMember(group, member);
    this.#groups.delete(group.groupId);
    const last = port.startFromDowngrade(group.groupId, group.groupEpoch, members, rebalanceReason);
    this.#conversionRecords.set(group.groupId, { first: [], last });
    this.#logger(`consumer group ${group.groupId}: converted the consumer group to a classic group`);
  }

  /** Kafka's supportsClassicProtocols: type `consumer`, and a protocol every classic member supports. */
  #supportsClassicProtocols(
    group: ConsumerGroup,
    protocolType: string,
    protocols: readonly MemberProtocol[],
  ) {
    if (protocolType !== CONSUMER_PROTOCOL_TYPE || protocols.length === 0) return false;
    const classic = [...group.members.values()].filter((m) => m.classic !== null);
    if (classic.length === 0) return true;
    return protocols.some((p) => classic.every((m) => m.classic!.protocols.some((q) => q.name === p.name)));
  }

  /** A classic member's JoinGroup into a consumer group with members, answered once its records are written. */
  async classicJoin(input: JoinGroupInput): Promise<JoinGroupResult> {
    let result: JoinGroupResult;
    try {
      result = this.#classicJoin(input);
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      return joinError(input.memberId, error.errorCode);
    }
    if (result.errorCode !== ErrorCode.NONE) return result;
    const written = await this.persistGroup(input.groupId);
    return written === ErrorCode.NONE ? result : joinError(input.memberId, written);
  }

  #classicJoin(input: JoinGroupInput): JoinGroupResult {
    const group = this.#groups.get(input.groupId)!;
    const isUnknown = input.memberId === '';
    if (isUnknown && group.members.size >= this.config.maxSize) {
      throw new HeartbeatError(
        ErrorCode.GROUP_MAX_SIZE_REACHED,
        `The consumer group has reached its maximum capacity of ${this.config.maxSize} members.`,
      );
    }
    if (!this.#supportsClassicProtocols(group, input.protocolType, input.protocols)) {
      throw new HeartbeatError(
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        'Unsupported protocol type or protocols.',
      );
    }
    if (isUnknown && input.groupInstanceId === null && input.requireKnownMemberId) {
      // KIP-394 as Kafka does it for a consumer group: the id is handed out, nothing is kept until it comes back.
      return joinError(this.#newMemberId(), ErrorCode.MEMBER_ID_REQUIRED);
    }
    let subscription: ReturnType<typeof decodeSubscription>;
    const names = this.#topicNames();
    try {
      subscription = decodeSubscription(input.protocols[0]!.metadata, names);
    } catch {
      throw new HeartbeatError(
        ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        'Malformed consumer protocol subscription.',
      );
    }
    const replaced = this.#replacedStaticMember(group, input);
    const downgrade = replaced !== undefined && this.#canDowngradeReplacing(group, replaced);
    const member = this.#classicMemberFor(group, input);
    let changed = member.memberEpoch === 0 && !group.target.has(member.memberId);
    const topics = [...new Set(subscription.topics)].sort();
    if (topics.join('\u0000') !== member.subscribedTopicNames.join('\u0000')) {
      member.subscribedTopicNames = topics;
      changed = true;
    }
    if (subscription.rackId !== null) member.rackId = subscription.rackId;
    if (input.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    member.classic = { sessionTimeoutMs: input.sessionTimeoutMs, protocols: input.protocols };
    if (downgrade) {
      // The last consumer-protocol member replaced by a classic one: the group is classic at once
      // (Kafka's classicGroupJoinToConsumerGroup). The same subscription keeps the replaced member's
      // assignment with no rebalance; another one rebalances the classic group (no new epoch first).
      if (!changed) this.#reconcile(group, member, subscription.owned);
      this.#downgrade(
        group,
        [],
        changed
          ? `Downgrade group ${group.groupId} from consumer to classic for static member replacement with different subscription.`
          : null,
      );
    } else {
      if (changed || this.#metadataChanged(group)) group.groupEpoch++;
      if (group.groupEpoch > group.assignmentEpoch) this.#computeTarget(group);
      this.#reconcile(group, member, subscription.owned);
      member.cancelJoinTimeout?.();
      member.cancelJoinTimeout = null;
      this.#scheduleSession(group, member);
      this.#scheduleClassicSyncTimeout(group, member);
    }
    return {
      errorCode: ErrorCode.NONE,
      generationId: member.memberEpoch,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: input.protocols[0]!.name,
      leader: '',
      skipAssignment: false,
      memberId: member.memberId,
      members: [],
    };
  }

  /** The static member a classic JoinGroup without member id replaces (its instance id's current member). */
  #replacedStaticMember(group: ConsumerGroup, input: JoinGroupInput): ConsumerMember | undefined {
    if (input.groupInstanceId === null || input.memberId !== '') return undefined;
    return group.staticMember(input.groupInstanceId);
  }

  /**
   * Kafka's validateOnlineDowngradeWithReplacedMember: the replaced member is the group's only
   * consumer-protocol member, the policy allows a downgrade, and the group fits a classic group.
   */
  #canDowngradeReplacing(group: ConsumerGroup, replaced: ConsumerMember): boolean {
    const port = this.#classicGroups;
    if (port === undefined || !downgradeEnabled(this.config.migrationPolicy)) return false;
    if (replaced.classic !== null) return false;
    const others = [...group.members.values()].filter((m) => m !== replaced);
    return others.every((m) => m.classic !== null) && group.members.size <= port.classicMaxSize;
  }

  /** The member a classic JoinGroup names: an existing one, a new one, or a static member's new incarnation. */
  #classicMemberFor(group: ConsumerGroup, input: JoinGroupInput): ConsumerMember {
    const fields = { ...EMPTY_JOIN, groupId: input.groupId, instanceId: input.groupInstanceId };
    if (input.groupInstanceId === null) {
      const memberId = input.memberId === '' ? this.#newMemberId() : input.memberId;
      const known = group.members.get(memberId);
      if (known !== undefined) return known;
      const member = this.#newMember(fields, memberId);
      group.members.set(memberId, member);
      return member;
    }
    const previous = group.staticMember(input.groupInstanceId);
    if (input.memberId !== '') {
      if (previous === undefined) {
        throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${input.memberId} is unknown.`);
      }
      if (previous.memberId !== input.memberId) {
        throw new HeartbeatError(
          ErrorCode.FENCED_INSTANCE_ID,
          `Instance id ${input.groupInstanceId} is fenced.`,
        );
      }
      return previous;
    }
    const member = this.#newMember(fields, this.#newMemberId());
    if (previous !== undefined) {
      // The new incarnation takes over the previous one's assignment at epoch 0, reconciled from
      // there (Kafka's getOrMaybeSubscribeStaticConsumerGroupMember for a classic join).
      this.#takeOver(group, previous, member, 0);
    }
    group.members.set(member.memberId, member);
    return member;
  }

  /** Kafka's validateConsumerGroupMember and throwIfMemberDoesNotUseClassicProtocol. */
  #classicMember(
    group: ConsumerGroup | undefined,
    memberId: string,
    instanceId: string | null,
  ): ConsumerMember {
    const unknown = () =>
      new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of the group.`);
    if (group === undefined) throw unknown();
    const member = instanceId === null ? group.members.get(memberId) : group.staticMember(instanceId);
    if (member === undefined) throw unknown();
    if (member.memberId !== memberId) {
      throw new HeartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Instance id ${instanceId} is fenced.`);
    }
    if (member.classic === null) {
      throw new HeartbeatError(
        ErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${memberId} does not use the classic protocol.`,
      );
    }
    return member;
  }

  /** A classic member's SyncGroup: its current assignment in the consumer protocol (no leader assigns). */
  classicSync(input: SyncGroupInput): SyncGroupResult {
    try {
      const group = this.#groups.get(input.groupId);
      const member = this.#classicMember(group, input.memberId, input.groupInstanceId);
      if (input.generationId !== member.memberEpoch) {
        return syncError(ErrorCode.ILLEGAL_GENERATION);
      }
      const first = member.classic!.protocols[0]!;
      if (
        (input.protocolType !== null && input.protocolType !== CONSUMER_PROTOCOL_TYPE) ||
        (input.protocolName !== null && input.protocolName !== first.name)
      ) {
        return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      }
      if (group!.groupEpoch > member.memberEpoch && member.state !== 'unrevoked_partitions') {
        this.#scheduleClassicJoinTimeout(group!, member);
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      }
      member.cancelSyncTimeout();
      member.cancelSyncTimeout = () => {};
      this.#scheduleSession(group!, member);
      return {
        errorCode: ErrorCode.NONE,
        protocolType: input.protocolType,
        protocolName: input.protocolName,
        assignment: encodeAssignment(
          member.assigned,
          subscriptionVersion(first.metadata),
          this.#topicNames(),
        ),
      };
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      return syncError(error.errorCode);
    }
  }

  /**
   * A classic member's Heartbeat: REBALANCE_IN_PROGRESS when it must rejoin to move on (the group
   * epoch moved, it must revoke, or the partitions it waits for are free), as Kafka answers.
   */
  classicHeartbeat(input: HeartbeatInput): number {
    let member: ConsumerMember;
    const group = this.#groups.get(input.groupId);
    try {
      member = this.#classicMember(group, input.memberId, input.groupInstanceId);
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      return error.errorCode;
    }
    if (input.generationId !== member.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
    this.#scheduleSession(group!, member);
    const mustRejoin =
      member.memberEpoch < group!.groupEpoch ||
      member.state === 'unrevoked_partitions' ||
      (member.state === 'unreleased_partitions' && !this.#waitingOnUnreleased(group!, member));
    if (!mustRejoin) return ErrorCode.NONE;
    this.#scheduleClassicJoinTimeout(group!, member);
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }

  /** Whether a partition of the member's target is still held by another member. */
  #waitingOnUnreleased(group: ConsumerGroup, member: ConsumerMember): boolean {
    const others = group.owners(member.memberId);
    const assigned = assignmentKeys(member.assigned);
    for (const key of assignmentKeys(group.target.get(member.memberId) ?? new Map())) {
      if (!assigned.has(key) && others.has(key)) return true;
    }
    return false;
  }

  /**
   * A classic LeaveGroup against a consumer group: the members named leave (maybe downgrading the
   * group). Answered once the records are written; a failed write is the answer's error, with no
   * members (Kafka's classicGroupLeave through the coordinator runtime's handleOperationException).
   */
  async classicLeave(groupId: string, leaving: readonly LeavingMember[]): Promise<LeaveGroupResult> {
    const group = this.#groups.get(groupId)!;
    const gone: ConsumerMember[] = [];
    const members = leaving.map((m) => {
      const member =
        m.groupInstanceId === null ? group.members.get(m.memberId) : group.staticMember(m.groupInstanceId);
      let errorCode: number = ErrorCode.NONE;
      if (member === undefined) errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
      else if (m.groupInstanceId !== null && m.memberId !== '' && m.memberId !== member.memberId) {
        errorCode = ErrorCode.FENCED_INSTANCE_ID;
      } else if (!gone.includes(member)) gone.push(member);
      return { ...m, errorCode };
    });
    if (gone.length > 0) this.#removeMembers(group, gone);
    const written = await this.persistGroup(groupId);
    if (written !== ErrorCode.NONE) return { errorCode: written, members: [] };
    return { errorCode: ErrorCode.NONE, members };
  }

  #scheduleClassicJoinTimeout(group: ConsumerGroup, member: ConsumerMember): void {
    if (member.cancelJoinTimeout !== null) return;
    member.cancelJoinTimeout = this.#clock.setTimer(member.rebalanceTimeoutMs, () => {
      member.cancelJoinTimeout = null;
      if (group.members.get(member.memberId) !== member) return;
      this.#logger(
        `consumer group ${group.groupId}: classic member ${member.memberId} did not rejoin in time`,
      );
      this.#removeMember(group, member);
      void this.persistGroup(group.groupId);
    });
  }

  #scheduleClassicSyncTimeout(group: ConsumerGroup, member: ConsumerMember): void {
    member.cancelSyncTimeout();
    member.cancelSyncTimeout = this.#clock.setTimer(member.rebalanceTimeoutMs, () => {
      if (group.members.get(member.memberId) !== member) return;
      this.#logger(`consumer group ${group.groupId}: classic member ${member.memberId} did not sync in time`);
      this.#removeMember(group, member);
      void this.persistGroup(group.groupId);
    });
  }
}

/** Why a classic group made by a downgrade after members left rebalances (Kafka's text). */
function leavingReason(groupId: string): string {
  return `Downgrade group ${groupId} from consumer to classic for member leaving.`;
}

/** A member's ClassicMemberMetadata as its record holds it (null: a consumer-protocol member). */
function classicFromRecord(value: unknown): ClassicMemberMetadata | null {
  if (value === null || value === undefined) return null;
  const v = value as {
    sessionTimeoutMs: number;
    supportedProtocols: { name: string; metadata: Uint8Array }[];
  };
  return {
    sessionTimeoutMs: v.sessionTimeoutMs,
    protocols: v.supportedProtocols.map((p) => ({ name: p.name, metadata: Uint8Array.from(p.metadata) })),
  };
}

/** The fields a member replayed from records starts from before its records fill it in. */
const EMPTY_JOIN: ConsumerHeartbeatInput = {
  apiVersion: 1,
  groupId: '',
  memberId: '',
  memberEpoch: 0,
  instanceId: null,
  rackId: null,
  rebalanceTimeoutMs: -1,
  subscribedTopicNames: null,
  subscribedTopicRegex: null,
  serverAssignor: null,
  ownedPartitions: null,
  clientId: '',
  clientHost: '',
};

function fromOwned(owned: readonly TopicPartitionsInput[]): Assignment {
  const keys: string[] = [];
  for (const t of owned) for (const p of t.partitions) keys.push(partitionKey(t.topicId, p));
  return fromKeys(keys);
}
