// biome-ignore-all lint/correctness/noVoidTypeReturn: `return respond(...)` answers a request and ends the branch.
/**
 * The classic group coordinator: JoinGroup, SyncGroup, Heartbeat and LeaveGroup move a
 * group through Empty → PreparingRebalance → CompletingRebalance → Stable (and Dead), as
 * Kafka's GroupCoordinator does; offsets are committed, fetched, expired and deleted; all
 * state is written to `__consumer_offsets` through the `OffsetsLog` port and loaded back.
 *
 * Pure logic: time comes from the injected `Clock` (`nowMs`, `setTimer`), storage from the
 * `OffsetsLog`, member ids from the injected `newUuid`. Requests that Kafka holds in its
 * purgatory (a JoinGroup during a rebalance, a follower's SyncGroup) are promises here,
 * resolved when the group moves on.
 */
import type { Clock } from '../broker/services.ts';
import { publishKafkaEvent } from '../common/events.ts';
import { ErrorCode } from '../protocol/errors.ts';
import type { ClassicGroupsPort, ClassicMemberForDowngrade, ConsumerGroups } from './consumer-group.ts';
import { subscribedTopics } from './consumer-protocol.ts';
import {
  ClassicGroup,
  type CommittedOffset,
  EMPTY_BYTES,
  GROUP_STATES,
  type GroupMember,
  type JoinGroupMemberInfo,
  type JoinGroupResult,
  joinError,
  GroupMember as Member,
  type MemberProtocol,
  offsetKey,
  parseOffsetKey,
  type SyncGroupResult,
  syncError,
} from './group.ts';
import { type OffsetsLog, partitionForGroup } from './offsets-log.ts';
import {
  type CoordinatorRecord,
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataRecordValue,
} from './records.ts';

/** Kafka's broker settings for groups and offsets, under their Kafka names in the comments. */
export interface GroupCoordinatorConfig {
  /** group.min.session.timeout.ms */
  readonly groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  readonly groupMaxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms */
  readonly groupInitialRebalanceDelayMs: number;
  /** group.max.size */
  readonly groupMaxSize: number;
  /** offsets.topic.num.partitions */
  readonly offsetsTopicNumPartitions: number;
  /** offsets.retention.minutes, in milliseconds */
  readonly offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  readonly offsetsRetentionCheckIntervalMs: number;
  /** offset.metadata.max.bytes */
  readonly offsetMetadataMaxBytes: number;
}

export const DEFAULT_GROUP_COORDINATOR_CONFIG: GroupCoordinatorConfig = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 2_147_483_647,
  offsetsTopicNumPartitions: 50,
  offsetsRetentionMs: 10_080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
};

/** How long a new member's JoinGroup may wait in a rebalance before it is dropped (Kafka's constant). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface JoinGroupInput {
  readonly groupId: string;
  /** '' for a member joining for the first time. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and its id (KIP-394). */
  readonly requireKnownMemberId: boolean;
}

export interface SyncGroupInput {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface HeartbeatInput {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveGroupResult {
  readonly errorCode: number;
  readonly members: readonly (LeavingMember & { readonly errorCode: number })[];
}

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

export interface CommitOffsetsInput {
  readonly groupId: string;
  /** -1 for a commit from outside group management (simple consumers, admin tools). */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** OffsetCommit v2-4 RetentionTimeMs; -1 for the broker default. */
  readonly retentionTimeMs: number;
  readonly offsets: readonly OffsetToCommit[];
  /** The request's version: a consumer group answers a stale epoch with STALE_MEMBER_EPOCH from v9. */
  readonly apiVersion?: number;
}

export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

export interface FetchedOffset {
  readonly partitionIndex: number;
  readonly committedOffset: bigint;
  readonly committedLeaderEpoch: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface FetchOffsetsResult {
  readonly errorCode: number;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly FetchedOffset[] }[];
}

export interface TopicPartitions {
  readonly name: string;
  readonly partitions: readonly number[];
}

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly groupState: string;
  readonly groupType: string;
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly memberMetadata: Uint8Array;
  readonly memberAssignment: Uint8Array;
}

export interface DescribedGroup {
  readonly errorCode: number;
  /** v6+: why the group is not described (GROUP_ID_NOT_FOUND), else null. */
  readonly errorMessage: string | null;
  readonly groupId: string;
  readonly groupState: string;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: readonly DescribedMember[];
}

/** DescribeGroups answers an unknown or non-classic group GROUP_ID_NOT_FOUND from this version (KIP-1043). */
export const DESCRIBE_GROUPS_NOT_FOUND_VERSION = 6;

export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  readonly log: OffsetsLog;
  readonly config?: Partial<GroupCoordinatorConfig>;
  /** A random UUID string for member ids (crypto.randomUUID in the broker, a counter in tests). */
  readonly newUuid?: () => string;
  readonly logger?: (message: string) => void;
  /** The broker this coordinator runs on: named by its rebalance events (src/common/events.ts); -1 in tests without one. */
  readonly nodeId?: number;
}

type PartitionLoadState = 'loading' | 'loaded';

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig;
  readonly #clock: Clock;
  readonly #log: OffsetsLog;
  readonly #newUuid: () => string;
  readonly #logger: (message: string) => void;
  readonly #nodeId: number;
  readonly #groups = new Map<string, ClassicGroup>();
  /** KIP-848 consumer groups of this coordinator; their offsets live in the classic map's entry. */
  #consumerGroups: ConsumerGroups | null = null;
  readonly #partitions = new Map<number, PartitionLoadState>();
  /** Transactional offset commits not yet ended by a marker: producer id → group → offset key → offset. */
  readonly #pendingTxnOffsets = new Map<bigint, Map<string, Map<string, CommittedOffset>>>();
  /**
   * Markers written to a partition while it loads, by partition, in order: applied once its load has
   * replayed the log read at its start (which does not hold them), so a commit is never lost to a load
   * that rebuilt the groups after it (Kafka's coordinator runtime orders them after the load alike).
   */
  readonly #completionsDuringLoad = new Map<number, { producerId: bigint; commit: boolean }[]>();
  #cancelExpiryTimer: (() => void) | null = null;
  #uuidCounter = 0;

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_GROUP_COORDINATOR_CONFIG, ...options.config };
    this.#clock = options.clock;
    this.#log = options.log;
    this.#newUuid = options.newUuid ?? (() => `member-${++this.#uuidCounter}`);
    this.#logger = options.logger ?? (() => {});
    this.#nodeId = options.nodeId ?? -1;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** The `__consumer_offsets` partition that holds a group (its coordinator is that partition's leader). */
  /** Attaches the KIP-848 consumer groups (the extension builds them over the broker's topics). */
  attachConsumerGroups(consumerGroups: ConsumerGroups): void {
    this.#consumerGroups = consumerGroups;
  }

  get consumerGroups(): ConsumerGroups | null {
    return this.#consumerGroups;
  }

  /** Whether a classic group with members (or mid-rebalance) holds this id. */
  classicGroupInUse(groupId: string): boolean {
    const group = this.#groups.get(groupId);
    return group !== undefined && !group.is('Empty') && !group.is('Dead');
  }

  /** The classic side of an online upgrade or downgrade (Kafka's group.consumer.migration.policy). */
  classicGroupsPort(): ClassicGroupsPort {
    return {
      describeForUpgrade: (groupId) => this.#describeForUpgrade(groupId),
      endForUpgrade: (groupId) => this.#endForUpgrade(groupId),
      endEmptyForConversion: (groupId) => this.#endEmptyForConversion(groupId),
      classicMaxSize: this.config.groupMaxSize,
      startFromDowngrade: (groupId, generationId, members, rebalanceReason) =>
        this.#startFromDowngrade(groupId, generationId, members, rebalanceReason),
    };
  }

  #describeForUpgrade(groupId: string): ReturnType<ClassicGroupsPort['describeForUpgrade']> {
    const group = this.#groups.get(groupId);
    if (group === undefined || group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) {
      return 'not a consumer protocol group';
    }
    return {
      generationId: group.generationId,
      protocolName: group.protocolName,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        protocols: m.protocols,
        assignment: m.assignment,
      })),
    };
  }

  /** The classic group's members move to a consumer group: its waiting requests are answered, its offsets stay. */
  #endForUpgrade(groupId: string): CoordinatorRecord[] {
    const group = this.#groups.get(groupId)!;
    for (const member of group.members.values()) {
      const join = member.awaitingJoin;
      member.awaitingJoin = null;
      join?.(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
      const sync = member.awaitingSync;
      member.awaitingSync = null;
      sync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.#dropGroupTimers(group);
    const empty = new ClassicGroup(groupId, this.#clock.nowMs());
    for (const [key, offset] of group.offsets) empty.offsets.set(key, offset);
    this.#groups.set(groupId, empty);
    return [{ key: encodeGroupMetadataKey(groupId), value: null }];
  }

  /** An empty classic group gives its id to a consumer group: its tombstone; its offsets stay in the entry. */
  #endEmptyForConversion(groupId: string): CoordinatorRecord[] {
    const group = this.#groups.get(groupId);
    if (group === undefined || !group.is('Empty')) return [];
    this.#dropGroupTimers(group);
    const fresh = new ClassicGroup(groupId, this.#clock.nowMs());
    for (const [key, offset] of group.offsets) fresh.offsets.set(key, offset);
    this.#groups.set(groupId, fresh);
    return [{ key: encodeGroupMetadataKey(groupId), value: null }];
  }

  /** A classic group of a downgraded consumer group's members, Stable at its epoch, then rebalancing for a reason. */
  #startFromDowngrade(
    groupId: string,
    generationId: number,
    members: readonly ClassicMemberForDowngrade[],
    rebalanceReason: string | null,
  ): CoordinatorRecord[] {
    const previous = this.#groups.get(groupId);
    if (previous !== undefined) this.#dropGroupTimers(previous);
    const group = new ClassicGroup(groupId, this.#clock.nowMs());
    for (const [key, offset] of previous?.offsets ?? []) group.offsets.set(key, offset);
    group.generationId = generationId;
    for (const from of members) {
      group.add(
        new Member({
          memberId: from.memberId,
          groupInstanceId: from.instanceId,
          clientId: from.clientId,
          clientHost: from.clientHost,
          rebalanceTimeoutMs: from.rebalanceTimeoutMs,
          sessionTimeoutMs: from.sessionTimeoutMs,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: from.protocols,
        }),
      );
    }
    group.protocolName = group.selectProtocol();
    for (const from of members) {
      const member = group.get(from.memberId);
      member.assignment = from.encodeAssignment(member.metadataFor(group.protocolName));
    }
    group.state = 'Stable';
    group.subscribedTopics = this.#computeSubscribedTopics(group);
    this.#groups.set(groupId, group);
    const record = this.#groupMetadataRecord(group, this.#currentAssignment(group));
    for (const member of group.members.values()) this.#scheduleHeartbeat(group, member);
    if (rebalanceReason !== null) this.#prepareRebalance(group, rebalanceReason);
    return [record];
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.config.offsetsTopicNumPartitions);
  }

  /** Becomes the coordinator of one partition: reads it from the start and rebuilds its groups. */
  async loadPartition(partition: number): Promise<void> {
    this.#partitions.set(partition, 'loading');
    // What a previous leadership of this partition left pending: the log read below says what is.
    this.#dropPendingOffsets(partition);
    const groupRecords = new Map<string, GroupMetadataRecordValue | null>();
    const offsetRecords = new Map<string, Map<string, CommittedOffset>>();
    for await (const record of this.#log.read(partition)) {
      if (record.openTransactionProducerId !== undefined) {
        this.#replayPendingOffset(record, record.openTransactionProducerId);
        continue;
      }
      this.#replay(record, groupRecords, offsetRecords);
    }
    const completions = this.#completionsDuringLoad.get(partition) ?? [];
    this.#completionsDuringLoad.delete(partition);
    // Unloaded (leadership moved) or stopped while reading: what was read is no longer ours to serve.
    if (this.#partitions.get(partition) !== 'loading') return;
    const groupIds = new Set([...groupRecords.keys(), ...offsetRecords.keys()]);
    for (const groupId of groupIds) {
      const value = groupRecords.get(groupId) ?? null;
      const offsets = offsetRecords.get(groupId) ?? new Map<string, CommittedOffset>();
      if (value === null && offsets.size === 0) continue;
      const group = this.#restoreGroup(groupId, value);
      for (const [key, offset] of offsets) group.offsets.set(key, offset);
      this.#groups.set(groupId, group);
    }
    this.#consumerGroups?.finishLoad((groupId) => this.partitionFor(groupId) === partition);
    this.#partitions.set(partition, 'loaded');
    for (const { producerId, commit } of completions) this.completeTransaction(producerId, partition, commit);
    if (this.#cancelExpiryTimer === null) this.#scheduleOffsetExpiry();
  }

  /** Whether the partition is loaded or loading here. */
  hasPartition(partition: number): boolean {
    return this.#partitions.has(partition);
  }

  /** Stops coordinating a partition (leadership moved): its groups are dropped from memory. */
  unloadPartition(partition: number): void {
    this.#partitions.delete(partition);
    this.#dropPendingOffsets(partition);
    this.#consumerGroups?.unload((groupId) => this.partitionFor(groupId) === partition);
    for (const [groupId, group] of this.#groups) {
      if (this.partitionFor(groupId) !== partition) continue;
      this.#dropGroupTimers(group);
      for (const member of group.members.values()) {
        const join = member.awaitingJoin;
        member.awaitingJoin = null;
        join?.(joinError(member.memberId, ErrorCode.NOT_COORDINATOR));
        const sync = member.awaitingSync;
        member.awaitingSync = null;
        sync?.(syncError(ErrorCode.NOT_COORDINATOR));
      }
      this.#groups.delete(groupId);
    }
  }

  /**
   * Forgets the pending transactional offsets of the groups in a partition (unloaded, or about to be
   * loaded again): kept, a marker of the same producer after a later load would commit offsets that
   * the partition's log had meanwhile aborted under another leader.
   */
  #dropPendingOffsets(partition: number): void {
    for (const [producerId, byGroup] of this.#pendingTxnOffsets) {
      for (const groupId of byGroup.keys())
        if (this.partitionFor(groupId) === partition) byGroup.delete(groupId);
      if (byGroup.size === 0) this.#pendingTxnOffsets.delete(producerId);
    }
  }

  /** Cancels every timer and answers every waiting request (broker shutdown). */
  stop(): void {
    this.#cancelExpiryTimer?.();
    this.#cancelExpiryTimer = null;
    for (const partition of [...this.#partitions.keys()]) this.unloadPartition(partition);
  }

  #replay(
    record: CoordinatorRecord,
    groupRecords: Map<string, GroupMetadataRecordValue | null>,
    offsetRecords: Map<string, Map<string, CommittedOffset>>,
  ): void {
    const key = decodeKey(record.key);
    if (key === null) {
      // KIP-848 records (types 3-8) belong to the consumer groups; share-group ones are skipped.
      this.#consumerGroups?.replay(record);
      return;
    }
    if (key.type === 'group') {
      groupRecords.set(key.group, record.value === null ? null : decodeGroupMetadataValue(record.value));
      return;
    }
    let offsets = offsetRecords.get(key.group);
    if (offsets === undefined) {
      offsets = new Map();
      offsetRecords.set(key.group, offsets);
    }
    if (record.value === null) {
      offsets.delete(offsetKey(key.topic, key.partition));
      return;
    }
    const value = decodeOffsetCommitValue(record.value);
    offsets.set(offsetKey(key.topic, key.partition), {
      offset: value.offset,
      leaderEpoch: value.leaderEpoch,
      metadata: value.metadata,
      commitTimestampMs: Number(value.commitTimestampMs),
      expireTimestampMs: Number(value.expireTimestampMs),
    });
  }

  #restoreGroup(groupId: string, value: GroupMetadataRecordValue | null): ClassicGroup {
    const nowMs = this.#clock.nowMs();
    const group = new ClassicGroup(groupId, nowMs);
    if (value === null) return group;
    group.generationId = value.generation;
    group.protocolType = value.protocolType === '' ? null : value.protocolType;
    group.protocolName = value.protocol;
    if (value.currentStateTimestampMs >= 0n)
      group.currentStateTimestampMs = Number(value.currentStateTimestampMs);
    const protocolName = value.protocol ?? '';
    for (const record of value.members) {
      const member = new Member({
        memberId: record.memberId,
        groupInstanceId: record.groupInstanceId,
        clientId: record.clientId,
        clientHost: record.clientHost,
        rebalanceTimeoutMs: record.rebalanceTimeoutMs,
        sessionTimeoutMs: record.sessionTimeoutMs,
        protocolType: value.protocolType,
        protocols: [{ name: protocolName, metadata: record.subscription }],
      });
      member.assignment = record.assignment;
      group.add(member);
    }
    group.leaderId = value.leader !== null && group.has(value.leader) ? value.leader : group.leaderId;
    if (group.members.size > 0) {
      // A group loaded with members is Stable: they heartbeat on, or their sessions expire.
      group.state = 'Stable';
      for (const member of group.members.values()) this.#scheduleHeartbeat(group, member);
    }
    group.subscribedTopics = this.#computeSubscribedTopics(group);
    return group;
  }

  // ---- group lookup and validation -------------------------------------------------------

  /** Kafka's validateGroupStatus: a usable group id, coordinated here, loaded. */
  #groupStatusError(groupId: string, requireNonEmptyId: boolean): number | null {
    if (requireNonEmptyId && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const state = this.#partitions.get(this.partitionFor(groupId));
    if (state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (state === undefined) return ErrorCode.NOT_COORDINATOR;
    return null;
  }

  /** The error a client finding its coordinator would get (null when this coordinator serves the group). */
  coordinatorError(groupId: string): number | null {
    return this.#groupStatusError(groupId, false);
  }

  #getOrCreateGroup(groupId: string): ClassicGroup {
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = new ClassicGroup(groupId, this.#clock.nowMs());
      this.#groups.set(groupId, group);
    }
    return group;
  }

  /** For tests and admin views: the group's current state, or undefined. */
  group(groupId: string): ClassicGroup | undefined {
    return this.#groups.get(groupId);
  }

  /** Kafka's validateCurrentMember: FENCED_INSTANCE_ID or UNKNOWN_MEMBER_ID, or null. */
  #currentMemberError(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number | null {
    const current = group.currentStaticMemberId(groupInstanceId);
    if (current !== undefined) return current === memberId ? null : ErrorCode.FENCED_INSTANCE_ID;
    return group.has(memberId) ? null : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---- JoinGroup -------------------------------------------------------------------------

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      this.#handleJoinGroup(input, resolve);
    });
  }

  #handleJoinGroup(input: JoinGroupInput, respond: (result: JoinGroupResult) => void): void {
    const statusError = this.#groupStatusError(input.groupId, true);
    if (statusError !== null) return respond(joinError(input.memberId, statusError));
    if (
      input.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs ||
      input.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs
    ) {
      return respond(joinError(input.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const consumerGroup = this.#consumerGroups?.group(input.groupId);
    if (consumerGroup !== undefined && consumerGroup.members.size > 0) {
      // A classic member inside a consumer group, served at any migration policy as Kafka does.
      void this.#consumerGroups!.classicJoin(input).then(respond);
      return;
    }
    if (consumerGroup !== undefined && input.memberId === '') {
      // An empty consumer group becomes a classic group: its records go (Kafka's maybeDeleteEmptyConsumerGroup).
      void this.#consumerGroups!.deleteGroup(input.groupId);
    }
    const isUnknownMember = input.memberId === '';
    const existing = this.#groups.get(input.groupId);
    if (existing === undefined && !isUnknownMember) {
      return respond(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    const group = existing ?? this.#getOrCreateGroup(input.groupId);
    if (!this.#acceptJoiningMember(group, input.memberId)) {
      if (group.has(input.memberId)) this.#removeMemberAndUpdateGroup(group, group.get(input.memberId));
      respond(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
    } else if (isUnknownMember) {
      this.#doNewMemberJoin(group, input, respond);
    } else {
      this.#doCurrentMemberJoin(group, input, respond);
    }
    if (group.is('PreparingRebalance')) this.#tryCompleteJoin(group);
  }

  /** Kafka's acceptJoiningMember: group.max.size counts awaiting members while preparing. */
  #acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const maxSize = this.config.groupMaxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (
          (group.has(memberId) && group.get(memberId).awaitingJoin !== null) ||
          group.numAwaitingJoin() < maxSize
        );
      case 'CompletingRebalance':
      case 'Stable':
        return group.has(memberId) || group.members.size < maxSize;
    }
  }

  #doNewMemberJoin(group: ClassicGroup, input: JoinGroupInput, respond: (r: JoinGroupResult) => void): void {
    if (group.is('Dead')) return respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols)) {
      return respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const newMemberId = `${input.groupInstanceId ?? input.clientId}-${this.#newUuid()}`;
    if (input.groupInstanceId !== null) {
      const oldMemberId = group.currentStaticMemberId(input.groupInstanceId);
      if (oldMemberId === undefined) {
        this.#addMemberAndRebalance(group, input, newMemberId, respond);
      } else {
        this.#updateStaticMemberAndRebalance(group, input, oldMemberId, newMemberId, respond);
      }
    } else if (input.requireKnownMemberId) {
      // KIP-394: hand the id out and wait for the member to come back with it.
      group.pendingMembers.set(
        newMemberId,
        this.#clock.setTimer(input.sessionTimeoutMs, () => this.#expirePendingMember(group, newMemberId)),
      );
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.#addMemberAndRebalance(group, input, newMemberId, respond);
    }
  }

  #doCurrentMemberJoin(
    group: ClassicGroup,
    input: JoinGroupInput,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const memberId = input.memberId;
    if (group.is('Dead')) return respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!group.supportsProtocols(input.protocolType, input.protocols)) {
      return respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (group.pendingMembers.has(memberId)) {
      // A dynamic member back with the id MEMBER_ID_REQUIRED gave it.
      return this.#addMemberAndRebalance(group, input, memberId, respond);
    }
    if (group.isStaticMemberFenced(input.groupInstanceId, memberId)) {
      return respond(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
    }
    const instanceUnknown =
      input.groupInstanceId !== null && group.currentStaticMemberId(input.groupInstanceId) === undefined;
    if (!group.has(memberId) || instanceUnknown) {
      return respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
    const member = group.get(memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        this.#updateMemberAndRebalance(group, member, input, respond);
        return;
      case 'CompletingRebalance':
        if (member.matches(input.protocols)) {
          // The member lost our JoinGroup answer: give it the current generation again.
          return respond(this.#joinResult(group, member, group.leaderId ?? ''));
        }
        this.#updateMemberAndRebalance(group, member, input, respond);
        return;
      case 'Stable':
        if (group.isLeader(memberId) || !member.matches(input.protocols)) {
          // A leader's rejoin forces a rebalance (its view of the topics may have changed).
          this.#updateMemberAndRebalance(group, member, input, respond);
          return;
        }
        return respond({ ...this.#joinResult(group, member, group.leaderId ?? ''), members: [] });
      case 'Empty':
      case 'Dead':
        return respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  #joinResult(group: ClassicGroup, member: GroupMember, leader: string): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader,
      skipAssignment: false,
      memberId: member.memberId,
      members: group.isLeader(member.memberId) ? group.currentMemberMetadata() : [],
    };
  }

  #addMemberAndRebalance(
    group: ClassicGroup,
    input: JoinGroupInput,
    memberId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const member = new Member({
      memberId,
      groupInstanceId: input.groupInstanceId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      sessionTimeoutMs: input.sessionTimeoutMs,
      protocolType: input.protocolType,
      protocols: input.protocols,
    });
    member.isNew = true;
    // During the initial delay a new member extends the wait (up to the rebalance timeout).
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true;
    group.add(member);
    member.awaitingJoin = respond;
    // New members cannot heartbeat yet; a JoinGroup abandoned by its client must not stall the group.
    this.#scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.#maybePrepareRebalance(group, `member ${memberId} joined`);
  }

  #updateMemberAndRebalance(
    group: ClassicGroup,
    member: GroupMember,
    input: JoinGroupInput,
    respond: (r: JoinGroupResult) => void,
  ): void {
    this.#updateMember(member, input, respond);
    this.#maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
  }

  #updateMember(member: GroupMember, input: JoinGroupInput, respond: (r: JoinGroupResult) => void): void {
    member.protocols = input.protocols;
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    // A second JoinGroup replaces the first, which its client has given up on; answer it anyway.
    const previous = member.awaitingJoin;
    member.awaitingJoin = respond;
    previous?.(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }

  /** KIP-345: a static member back with a new member id takes its old place. */
  #updateStaticMemberAndRebalance(
    group: ClassicGroup,
    input: JoinGroupInput,
    oldMemberId: string,
    newMemberId: string,
    respond: (r: JoinGroupResult) => void,
  ): void {
    const instanceId = input.groupInstanceId as string;
    const currentLeader = group.leaderId ?? '';
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    this.#scheduleHeartbeat(group, member);
    const oldProtocols = member.protocols;
    this.#updateMember(member, input, respond);
    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          this.#maybePrepareRebalance(group, `static member ${instanceId} changed the selected protocol`);
          return;
        }
        // No rebalance: persist the new member id and give the current generation back. The
        // leader field keeps the old leader id so that a rejoining leader does not reassign
        // (a stable group would not relay that assignment).
        member.awaitingJoin = null;
        const generationId = group.generationId;
        void this.#storeGroup(group, this.#currentAssignment(group)).then((errorCode) => {
          if (errorCode !== ErrorCode.NONE) {
            if (group.has(newMemberId) && group.generationId === generationId) {
              group.replaceStaticMember(instanceId, newMemberId, oldMemberId);
              member.protocols = oldProtocols;
            }
            return respond(joinError('', errorCode));
          }
          respond(this.#joinResult(group, member, currentLeader));
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: rebalance again.
        this.#prepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        throw new Error(`group ${group.groupId}: static member ${instanceId} known in state ${group.state}`);
    }
  }

  #currentAssignment(group: ClassicGroup): Map<string, Uint8Array> {
    return new Map([...group.members.values()].map((m) => [m.memberId, m.assignment]));
  }

  #maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.#prepareRebalance(group, reason);
  }

  #prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance'))
      this.#resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.cancelSyncTimer?.();
    group.cancelSyncTimer = null;
    const wasEmpty = group.is('Empty');
    group.transitionTo('PreparingRebalance', this.#clock.nowMs());
    this.#logger(
      `group ${group.groupId}: preparing to rebalance (generation ${group.generationId}, reason: ${reason})`,
    );
    publishKafkaEvent('rebalance-started', {
      nodeId: this.#nodeId,
      group: group.groupId,
      generationId: group.generationId,
      members: group.members.size,
      reason,
    });
    group.cancelJoinTimer?.();
    if (wasEmpty) {
      // group.initial.rebalance.delay.ms: let more members of a starting group arrive first.
      const delayMs = this.config.groupInitialRebalanceDelayMs;
      this.#scheduleInitialDelay(group, delayMs, Math.max(group.rebalanceTimeoutMs() - delayMs, 0));
    } else {
      this.#scheduleJoinDeadline(group);
      this.#tryCompleteJoin(group);
    }
  }

  #scheduleInitialDelay(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    group.joinIsInitialDelay = true;
    group.cancelJoinTimer = this.#clock.setTimer(delayMs, () => {
      group.cancelJoinTimer = null;
      if (!group.is('PreparingRebalance')) return;
      if (group.newMemberAdded && remainingMs !== 0) {
        group.newMemberAdded = false;
        const nextDelayMs = Math.min(this.config.groupInitialRebalanceDelayMs, remainingMs);
        this.#scheduleInitialDelay(group, nextDelayMs, Math.max(remainingMs - nextDelayMs, 0));
        return;
      }
      group.joinIsInitialDelay = false;
      this.#completeJoin(group);
    });
  }

  #scheduleJoinDeadline(group: ClassicGroup): void {
    group.joinIsInitialDelay = false;
    group.cancelJoinTimer = this.#clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.cancelJoinTimer = null;
      if (group.is('PreparingRebalance')) this.#completeJoin(group);
    });
  }

  #tryCompleteJoin(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance') || group.joinIsInitialDelay) return;
    if (group.hasAllMembersJoined()) this.#completeJoin(group);
  }

  /** Kafka's onCompleteJoin: drop dynamic members that did not rejoin, start the next generation. */
  #completeJoin(group: ClassicGroup): void {
    group.cancelJoinTimer?.();
    group.cancelJoinTimer = null;
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null && member.groupInstanceId === null) {
        this.#logger(`group ${group.groupId}: member ${member.memberId} did not rejoin in time, removing it`);
        group.remove(member.memberId);
      }
    }
    if (group.is('Dead')) return;
    if (!this.#electJoinedLeader(group) && group.members.size > 0) {
      // Only static members that have not rejoined remain: wait for them or their session timeouts.
      this.#scheduleJoinDeadline(group);
      return;
    }
    this.#initNextGeneration(group);
    if (group.is('Empty')) {
      void this.#storeGroup(group, new Map());
      return;
    }
    this.#logger(
      `group ${group.groupId}: generation ${group.generationId} (${group.protocolName}) with ${group.members.size} members`,
    );
    for (const member of group.members.values()) {
      const respond = member.awaitingJoin;
      member.awaitingJoin = null;
      respond?.(this.#joinResult(group, member, group.leaderId ?? ''));
      this.#scheduleHeartbeat(group, member);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    this.#schedulePendingSync(group);
  }

  #electJoinedLeader(group: ClassicGroup): boolean {
    if (group.leaderId === null) return false;
    if (group.get(group.leaderId).awaitingJoin !== null) return true;
    for (const member of group.members.values()) {
      if (member.awaitingJoin !== null) {
        group.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  #initNextGeneration(group: ClassicGroup): void {
    const nowMs = this.#clock.nowMs();
    group.generationId += 1;
    if (group.members.size > 0) {
      group.protocolName = group.selectProtocol();
      group.transitionTo('CompletingRebalance', nowMs);
    } else {
      group.protocolName = null;
      group.transitionTo('Empty', nowMs);
    }
    group.subscribedTopics = this.#computeSubscribedTopics(group);
    group.pendingSyncMembers.clear();
  }

  #computeSubscribedTopics(group: ClassicGroup): ReadonlySet<string> | null {
    if (group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) return null;
    const topics = new Set<string>();
    for (const member of group.members.values()) {
      const memberTopics = subscribedTopics(member.metadataFor(group.protocolName));
      if (memberTopics === null) return null;
      for (const topic of memberTopics) topics.add(topic);
    }
    return topics;
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed. */
  #schedulePendingSync(group: ClassicGroup): void {
    group.cancelSyncTimer?.();
    const generationId = group.generationId;
    group.cancelSyncTimer = this.#clock.setTimer(group.rebalanceTimeoutMs(), () => {
      group.cancelSyncTimer = null;
      if (generationId !== group.generationId) return;
      if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
      if (group.pendingSyncMembers.size === 0) return;
      for (const memberId of [...group.pendingSyncMembers]) {
        this.#logger(`group ${group.groupId}: member ${memberId} sent no SyncGroup in time, removing it`);
        group.remove(memberId);
      }
      this.#maybePrepareRebalance(group, 'members did not sync in time');
    });
  }

  #expirePendingMember(group: ClassicGroup, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    if (group.is('PreparingRebalance')) this.#tryCompleteJoin(group);
  }

  // ---- heartbeats and session timeouts ---------------------------------------------------

  #scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs = member.sessionTimeoutMs): void {
    member.cancelHeartbeatTimer?.();
    member.cancelHeartbeatTimer = this.#clock.setTimer(timeoutMs, () => {
      member.cancelHeartbeatTimer = null;
      if (group.members.get(member.memberId) !== member || group.is('Dead')) return;
      // Members held in a JoinGroup or SyncGroup are waiting on us, not dead (except new members).
      const waiting = member.awaitingJoin !== null || member.awaitingSync !== null;
      if (!member.isNew && waiting) return;
      this.#logger(`group ${group.groupId}: member ${member.memberId} session expired, removing it`);
      this.#removeMemberAndUpdateGroup(group, member);
    });
  }

  heartbeat(input: HeartbeatInput): number {
    const statusError = this.#groupStatusError(input.groupId, true);
    if (statusError !== null) return statusError;
    if (this.#consumerGroups?.group(input.groupId) !== undefined)
      return this.#consumerGroups.classicHeartbeat(input);
    const group = this.#groups.get(input.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = this.#currentMemberError(group, input.memberId, input.groupInstanceId);
    if (memberError !== null) return memberError;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.get(input.memberId);
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.#scheduleHeartbeat(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'CompletingRebalance':
      case 'Stable':
        this.#scheduleHeartbeat(group, member);
        return ErrorCode.NONE;
      case 'Dead':
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  // ---- SyncGroup -------------------------------------------------------------------------

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    return new Promise((resolve) => {
      this.#handleSyncGroup(input, resolve);
    });
  }

  #handleSyncGroup(input: SyncGroupInput, respond: (r: SyncGroupResult) => void): void {
    const statusError = this.#groupStatusError(input.groupId, true);
    if (statusError !== null) return respond(syncError(statusError));
    if (this.#consumerGroups?.group(input.groupId) !== undefined) {
      return respond(this.#consumerGroups.classicSync(input));
    }
    const group = this.#groups.get(input.groupId);
    if (group === undefined) return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.is('Dead')) return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const memberError = this.#currentMemberError(group, input.memberId, input.groupInstanceId);
    if (memberError !== null) return respond(syncError(memberError));
    if (input.generationId !== group.generationId) return respond(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (
      (input.protocolType !== null && input.protocolType !== group.protocolType) ||
      (input.protocolName !== null && input.protocolName !== group.protocolName)
    ) {
      return respond(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    const member = group.get(input.memberId);
    switch (group.state) {
      case 'Empty':
        return respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        const previous = member.awaitingSync;
        member.awaitingSync = respond;
        previous?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        group.pendingSyncMembers.delete(member.memberId);
        if (group.isLeader(member.memberId)) this.#applyLeaderAssignment(group, input);
        return;
      }
      case 'Stable':
        group.pendingSyncMembers.delete(member.memberId);
        respond(this.#syncResult(group, member.assignment));
        this.#scheduleHeartbeat(group, member);
        return;
      case 'Dead':
        return respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  #syncResult(group: ClassicGroup, assignment: Uint8Array): SyncGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment,
    };
  }

  /** The leader's assignment, relayed untouched; members it left out get an empty one. */
  #applyLeaderAssignment(group: ClassicGroup, input: SyncGroupInput): void {
    const assignment = new Map<string, Uint8Array>();
    for (const memberId of group.members.keys()) assignment.set(memberId, EMPTY_BYTES);
    for (const entry of input.assignments) {
      if (assignment.has(entry.memberId)) assignment.set(entry.memberId, entry.assignment);
    }
    const generationId = group.generationId;
    void this.#storeGroup(group, assignment).then((errorCode) => {
      // A member may have joined meanwhile: act only if the group is where we left it.
      if (!group.is('CompletingRebalance') || group.generationId !== generationId) return;
      if (errorCode !== ErrorCode.NONE) {
        this.#resetAndPropagateAssignmentError(group, errorCode);
        this.#maybePrepareRebalance(group, 'storing the assignment failed');
        return;
      }
      for (const member of group.members.values())
        member.assignment = assignment.get(member.memberId) ?? EMPTY_BYTES;
      this.#propagateAssignment(group, ErrorCode.NONE);
      group.transitionTo('Stable', this.#clock.nowMs());
      // Kafka's "Stabilized group G generation N": the rebalance is over.
      publishKafkaEvent('rebalance', {
        nodeId: this.#nodeId,
        group: group.groupId,
        generationId,
        members: group.members.size,
      });
    });
  }

  #resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) member.assignment = EMPTY_BYTES;
    this.#propagateAssignment(group, errorCode);
  }

  #propagateAssignment(group: ClassicGroup, errorCode: number): void {
    for (const member of group.members.values()) {
      const respond = member.awaitingSync;
      if (respond === null) continue;
      member.awaitingSync = null;
      respond(
        errorCode === ErrorCode.NONE ? this.#syncResult(group, member.assignment) : syncError(errorCode),
      );
      // Sessions that ran out while waiting for the leader start again from the answer.
      this.#scheduleHeartbeat(group, member);
    }
  }

  // ---- LeaveGroup and member removal -----------------------------------------------------

  /** LeaveGroup: a classic group's answer at once; a consumer group's once its records are written. */
  async leaveGroup(groupId: string, members: readonly LeavingMember[]): Promise<LeaveGroupResult> {
    const statusError = this.#groupStatusError(groupId, true);
    if (statusError !== null) return { errorCode: statusError, members: [] };
    if (this.#consumerGroups?.group(groupId) !== undefined)
      return this.#consumerGroups.classicLeave(groupId, members);
    const group = this.#groups.get(groupId);
    if (group === undefined) {
      return {
        errorCode: ErrorCode.NONE,
        members: members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })),
      };
    }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const results = members.map((leaving) => ({ ...leaving, errorCode: this.#leaveOne(group, leaving) }));
    return { errorCode: ErrorCode.NONE, members: results };
  }

  #leaveOne(group: ClassicGroup, leaving: LeavingMember): number {
    if (leaving.memberId === '') {
      // Administrative removal of a static member by its instance id.
      const current = group.currentStaticMemberId(leaving.groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.#removeMemberAndUpdateGroup(group, group.get(current));
      return ErrorCode.NONE;
    }
    const cancelPending = group.pendingMembers.get(leaving.memberId);
    if (cancelPending !== undefined) {
      cancelPending();
      group.pendingMembers.delete(leaving.memberId);
      if (group.is('PreparingRebalance')) this.#tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const memberError = this.#currentMemberError(group, leaving.memberId, leaving.groupInstanceId);
    if (memberError !== null) return memberError;
    this.#removeMemberAndUpdateGroup(group, group.get(leaving.memberId));
    return ErrorCode.NONE;
  }

  #removeMemberAndUpdateGroup(group: ClassicGroup, member: GroupMember): void {
    // A member removed while its JoinGroup waits gets UNKNOWN_MEMBER_ID, so it joins afresh if alive.
    const join = member.awaitingJoin;
    member.awaitingJoin = null;
    join?.(joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    const sync = member.awaitingSync;
    member.awaitingSync = null;
    sync?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    group.remove(member.memberId);
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.#maybePrepareRebalance(group, `member ${member.memberId} left`);
        return;
      case 'PreparingRebalance':
        this.#tryCompleteJoin(group);
        return;
      case 'Empty':
      case 'Dead':
        return;
    }
  }

  // ---- persistence -----------------------------------------------------------------------

  /** Writes the group's metadata record; resolves with NONE or the error to answer. */
  async #storeGroup(group: ClassicGroup, assignment: ReadonlyMap<string, Uint8Array>): Promise<number> {
    return this.#append(group.groupId, [this.#groupMetadataRecord(group, assignment)]);
  }

  #groupMetadataRecord(group: ClassicGroup, assignment: ReadonlyMap<string, Uint8Array>): CoordinatorRecord {
    const protocolName = group.protocolName;
    const value = encodeGroupMetadataValue({
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol: protocolName,
      leader: group.leaderId,
      currentStateTimestampMs: BigInt(group.currentStateTimestampMs),
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: protocolName === null ? EMPTY_BYTES : m.metadataFor(protocolName),
        assignment: assignment.get(m.memberId) ?? EMPTY_BYTES,
      })),
    });
    return { key: encodeGroupMetadataKey(group.groupId), value };
  }

  /** Appends records of a group (the consumer groups' writes) to its partition: NONE or the error. */
  appendRecords(groupId: string, records: readonly CoordinatorRecord[]): Promise<number> {
    return this.#append(groupId, records);
  }

  async #append(groupId: string, records: readonly CoordinatorRecord[]): Promise<number> {
    try {
      await this.#log.append(this.partitionFor(groupId), records, this.#clock.nowMs());
      return ErrorCode.NONE;
    } catch (error) {
      this.#logger(`group ${groupId}: writing to __consumer_offsets failed: ${(error as Error).message}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  // ---- offsets ---------------------------------------------------------------------------

  async commitOffsets(input: CommitOffsetsInput): Promise<PartitionResult[]> {
    const all = (errorCode: number) =>
      input.offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode }));
    const statusError = this.#groupStatusError(input.groupId, false);
    if (statusError !== null) return all(statusError);
    const consumerError = this.#consumerGroups?.offsetCommitError(
      input.groupId,
      input.memberId,
      input.generationId,
      input.apiVersion ?? 0,
    );
    if (consumerError !== undefined) {
      // A consumer group: its members commit with their member epoch; offsets live in the classic entry.
      if (consumerError !== null) return all(consumerError);
      return this.#doCommit(this.#getOrCreateGroup(input.groupId), input);
    }
    let group = this.#groups.get(input.groupId);
    if (group === undefined) {
      // Only a commit from outside group management may create a group.
      if (input.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = this.#getOrCreateGroup(input.groupId);
    }
    const groupError = this.#commitError(group, input);
    if (groupError !== null) return all(groupError);
    if (group.has(input.memberId)) this.#scheduleHeartbeat(group, group.get(input.memberId));
    return this.#doCommit(group, input);
  }

  #commitError(group: ClassicGroup, input: CommitOffsetsInput): number | null {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (input.generationId >= 0 || input.memberId !== '' || input.groupInstanceId !== null) {
      const memberError = this.#currentMemberError(group, input.memberId, input.groupInstanceId);
      if (memberError !== null) return memberError;
      if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!group.is('Empty')) {
      // While the group has members, only they may commit.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // A member that knows the generation but has not synced yet must finish the rebalance first.
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return null;
  }

  async #doCommit(group: ClassicGroup, input: CommitOffsetsInput): Promise<PartitionResult[]> {
    const nowMs = this.#clock.nowMs();
    const results: PartitionResult[] = [];
    const records: CoordinatorRecord[] = [];
    const accepted: [string, CommittedOffset][] = [];
    for (const o of input.offsets) {
      const metadata = o.metadata ?? '';
      if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
        results.push({
          topic: o.topic,
          partition: o.partition,
          errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE,
        });
        continue;
      }
      const committed: CommittedOffset = {
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata,
        commitTimestampMs: nowMs,
        expireTimestampMs: input.retentionTimeMs > 0 ? nowMs + input.retentionTimeMs : -1,
      };
      records.push({
        key: encodeOffsetCommitKey(group.groupId, o.topic, o.partition),
        value: encodeOffsetCommitValue({
          offset: committed.offset,
          leaderEpoch: committed.leaderEpoch,
          metadata,
          commitTimestampMs: BigInt(nowMs),
          expireTimestampMs: BigInt(committed.expireTimestampMs),
        }),
      });
      accepted.push([offsetKey(o.topic, o.partition), committed]);
      results.push({ topic: o.topic, partition: o.partition, errorCode: ErrorCode.NONE });
    }
    if (records.length === 0) return results;
    const errorCode = await this.#append(group.groupId, records);
    if (errorCode !== ErrorCode.NONE) {
      return results.map((r) => (r.errorCode === ErrorCode.NONE ? { ...r, errorCode } : r));
    }
    if (this.#groups.get(group.groupId) === group && !group.is('Dead')) {
      for (const [key, committed] of accepted) group.offsets.set(key, committed);
    }
    return results;
  }

  // ---- transactional offsets (TxnOffsetCommit) ---------------------------------------------

  /**
   * TxnOffsetCommit: validated as Kafka does for transactional commits (KIP-447: a stale
   * generation is ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID, a replaced static
   * member FENCED_INSTANCE_ID; generation -1 with no member id is a producer without group
   * metadata), written as a transactional batch of `producerId`, and kept pending (invisible
   * to OffsetFetch) until the transaction's marker commits or aborts it.
   */
  async commitTransactionalOffsets(
    input: CommitOffsetsInput,
    producerId: bigint,
    producerEpoch: number,
  ): Promise<PartitionResult[]> {
    const all = (errorCode: number) =>
      input.offsets.map((o) => ({ topic: o.topic, partition: o.partition, errorCode }));
    const statusError = this.#groupStatusError(input.groupId, false);
    if (statusError !== null) return all(statusError);
    const consumerError = this.#consumerGroups?.txnOffsetCommitError(
      input.groupId,
      input.memberId,
      input.generationId,
      input.groupInstanceId,
    );
    // A consumer group's members commit with their member epoch (its offsets live in the classic entry).
    const groupError = consumerError !== undefined ? consumerError : this.#txnCommitClassicError(input);
    if (groupError !== null) return all(groupError);
    const group = this.#getOrCreateGroup(input.groupId);
    const nowMs = this.#clock.nowMs();
    const results: PartitionResult[] = [];
    const records: CoordinatorRecord[] = [];
    const accepted: [string, CommittedOffset][] = [];
    for (const o of input.offsets) {
      const metadata = o.metadata ?? '';
      if (Buffer.byteLength(metadata) > this.config.offsetMetadataMaxBytes) {
        results.push({
          topic: o.topic,
          partition: o.partition,
          errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE,
        });
        continue;
      }
      const committed: CommittedOffset = {
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata,
        commitTimestampMs: nowMs,
        expireTimestampMs: -1,
      };
      records.push({
        key: encodeOffsetCommitKey(group.groupId, o.topic, o.partition),
        value: encodeOffsetCommitValue({
          offset: committed.offset,
          leaderEpoch: committed.leaderEpoch,
          metadata,
          commitTimestampMs: BigInt(nowMs),
          expireTimestampMs: -1n,
        }),
      });
      accepted.push([offsetKey(o.topic, o.partition), committed]);
      results.push({ topic: o.topic, partition: o.partition, errorCode: ErrorCode.NONE });
    }
    if (records.length === 0) return results;
    try {
      await this.#log.append(this.partitionFor(group.groupId), records, nowMs, { producerId, producerEpoch });
    } catch (error) {
      this.#logger(
        `group ${group.groupId}: writing transactional offsets failed: ${(error as Error).message}`,
      );
      return results.map((r) =>
        r.errorCode === ErrorCode.NONE ? { ...r, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE } : r,
      );
    }
    const pending = this.#pendingOffsetsOf(producerId, group.groupId);
    for (const [key, committed] of accepted) pending.set(key, committed);
    return results;
  }

  /** The KIP-447 checks of a TxnOffsetCommit against a classic group (or none yet): null when accepted. */
  #txnCommitClassicError(input: CommitOffsetsInput): number | null {
    const group = this.#groups.get(input.groupId);
    if (group === undefined) return input.generationId >= 0 ? ErrorCode.ILLEGAL_GENERATION : null;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const withoutGroupMetadata =
      input.generationId < 0 && input.memberId === '' && input.groupInstanceId === null;
    if (withoutGroupMetadata || (input.generationId < 0 && group.is('Empty'))) return null;
    const memberError = this.#currentMemberError(group, input.memberId, input.groupInstanceId);
    if (memberError !== null) return memberError;
    return input.generationId !== group.generationId ? ErrorCode.ILLEGAL_GENERATION : null;
  }

  #pendingOffsetsOf(producerId: bigint, groupId: string): Map<string, CommittedOffset> {
    let byGroup = this.#pendingTxnOffsets.get(producerId);
    if (byGroup === undefined) {
      byGroup = new Map();
      this.#pendingTxnOffsets.set(producerId, byGroup);
    }
    let pending = byGroup.get(groupId);
    if (pending === undefined) {
      pending = new Map();
      byGroup.set(groupId, pending);
    }
    return pending;
  }

  #replayPendingOffset(record: CoordinatorRecord, producerId: bigint): void {
    const key = decodeKey(record.key);
    if (key === null || key.type !== 'offset' || record.value === null) return;
    const value = decodeOffsetCommitValue(record.value);
    this.#pendingOffsetsOf(producerId, key.group).set(offsetKey(key.topic, key.partition), {
      offset: value.offset,
      leaderEpoch: value.leaderEpoch,
      metadata: value.metadata,
      commitTimestampMs: Number(value.commitTimestampMs),
      expireTimestampMs: Number(value.expireTimestampMs),
    });
  }

  /**
   * A commit or abort marker of `producerId` was written to `__consumer_offsets` partition
   * `partition`: its pending offsets of the groups there become committed, or are dropped.
   */
  completeTransaction(producerId: bigint, partition: number, commit: boolean): void {
    if (this.#partitions.get(partition) === 'loading') {
      const queued = this.#completionsDuringLoad.get(partition) ?? [];
      queued.push({ producerId, commit });
      this.#completionsDuringLoad.set(partition, queued);
      return;
    }
    const byGroup = this.#pendingTxnOffsets.get(producerId);
    if (byGroup === undefined) return;
    for (const [groupId, pending] of byGroup) {
      if (this.partitionFor(groupId) !== partition) continue;
      byGroup.delete(groupId);
      if (!commit) continue;
      const group = this.#getOrCreateGroup(groupId);
      if (group.is('Dead')) continue;
      for (const [key, committed] of pending) group.offsets.set(key, committed);
    }
    if (byGroup.size === 0) this.#pendingTxnOffsets.delete(producerId);
  }

  /** Whether a transaction holds an uncommitted offset of this group and partition (OffsetFetch RequireStable). */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    const key = offsetKey(topic, partition);
    for (const byGroup of this.#pendingTxnOffsets.values()) if (byGroup.get(groupId)?.has(key)) return true;
    return false;
  }

  /** Committed offsets of a group; `topics` null means every partition the group has committed. */
  fetchOffsets(groupId: string, topics: readonly TopicPartitions[] | null): FetchOffsetsResult {
    const statusError = this.#groupStatusError(groupId, false);
    if (statusError !== null) {
      const partitions = (t: TopicPartitions) => t.partitions.map((p) => unknownOffset(p, statusError));
      return {
        errorCode: statusError,
        topics: (topics ?? []).map((t) => ({ name: t.name, partitions: partitions(t) })),
      };
    }
    const group = this.#groups.get(groupId);
    const offsets =
      group === undefined || group.is('Dead') ? new Map<string, CommittedOffset>() : group.offsets;
    if (topics === null) {
      const byTopic = new Map<string, FetchedOffset[]>();
      for (const [key, committed] of offsets) {
        const { topic, partition } = parseOffsetKey(key);
        let list = byTopic.get(topic);
        if (list === undefined) {
          list = [];
          byTopic.set(topic, list);
        }
        list.push(fetched(partition, committed));
      }
      const all = [...byTopic].map(([name, partitions]) => ({
        name,
        partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex),
      }));
      return { errorCode: ErrorCode.NONE, topics: all };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const committed = offsets.get(offsetKey(t.name, p));
          return committed === undefined ? unknownOffset(p, ErrorCode.NONE) : fetched(p, committed);
        }),
      })),
    };
  }

  /** OffsetDelete: removes committed offsets of partitions the group no longer consumes. */
  async deleteOffsets(
    groupId: string,
    topics: readonly TopicPartitions[],
  ): Promise<{ errorCode: number; results: PartitionResult[] }> {
    const statusError = this.#groupStatusError(groupId, false);
    if (statusError !== null) return { errorCode: statusError, results: [] };
    const group = this.#groups.get(groupId);
    if (group === undefined || group.is('Dead'))
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, results: [] };
    const subscribed =
      group.is('Empty') || group.protocolType === null ? new Set<string>() : group.subscribedTopics;
    if (subscribed === null) return { errorCode: ErrorCode.NON_EMPTY_GROUP, results: [] };
    const results: PartitionResult[] = [];
    const records: CoordinatorRecord[] = [];
    const removed: string[] = [];
    for (const t of topics) {
      for (const partition of t.partitions) {
        if (subscribed.has(t.name)) {
          results.push({ topic: t.name, partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
          continue;
        }
        results.push({ topic: t.name, partition, errorCode: ErrorCode.NONE });
        const key = offsetKey(t.name, partition);
        if (group.offsets.has(key)) {
          removed.push(key);
          records.push({ key: encodeOffsetCommitKey(groupId, t.name, partition), value: null });
        }
      }
    }
    if (records.length > 0) {
      const errorCode = await this.#append(groupId, records);
      if (errorCode !== ErrorCode.NONE) return { errorCode, results: [] };
      for (const key of removed) group.offsets.delete(key);
    }
    return { errorCode: ErrorCode.NONE, results };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results: { groupId: string; errorCode: number }[] = [];
    for (const groupId of groupIds) results.push({ groupId, errorCode: await this.#deleteGroup(groupId) });
    return results;
  }

  async #deleteGroup(groupId: string): Promise<number> {
    const statusError = this.#groupStatusError(groupId, false);
    if (statusError !== null) return statusError;
    const group = this.#groups.get(groupId);
    const consumerGroup = this.#consumerGroups?.group(groupId);
    if (consumerGroup !== undefined) {
      // A KIP-848 group: refused while it has members; else its records and its offsets go.
      if (consumerGroup.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
      const deleted = await this.#consumerGroups!.deleteGroup(groupId);
      if (deleted !== ErrorCode.NONE || group === undefined || group.is('Dead')) return deleted;
    }
    if (group === undefined || group.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (!group.is('Empty')) return ErrorCode.NON_EMPTY_GROUP;
    const errorCode = await this.#writeGroupTombstones(group);
    if (errorCode !== ErrorCode.NONE) return errorCode;
    this.#markDead(group);
    return ErrorCode.NONE;
  }

  #writeGroupTombstones(group: ClassicGroup): Promise<number> {
    const records: CoordinatorRecord[] = [];
    for (const key of group.offsets.keys()) {
      const { topic, partition } = parseOffsetKey(key);
      records.push({ key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
    }
    records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
    return this.#append(group.groupId, records);
  }

  #markDead(group: ClassicGroup): void {
    group.transitionTo('Dead', this.#clock.nowMs());
    this.#dropGroupTimers(group);
    group.offsets.clear();
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId);
  }

  #dropGroupTimers(group: ClassicGroup): void {
    group.cancelJoinTimer?.();
    group.cancelJoinTimer = null;
    group.cancelSyncTimer?.();
    group.cancelSyncTimer = null;
    for (const cancel of group.pendingMembers.values()) cancel();
    group.pendingMembers.clear();
    for (const member of group.members.values()) {
      member.cancelHeartbeatTimer?.();
      member.cancelHeartbeatTimer = null;
    }
  }

  #scheduleOffsetExpiry(): void {
    this.#cancelExpiryTimer = this.#clock.setTimer(this.config.offsetsRetentionCheckIntervalMs, () => {
      void this.expireOffsets().finally(() => this.#scheduleOffsetExpiry());
    });
  }

  /**
   * Kafka's offset expiration: offsets of an Empty group expire `offsets.retention.minutes`
   * after it became empty; offsets of a standalone group (no protocol type) and, in a Stable
   * consumer group, of topics no longer subscribed, that long after their commit. An empty
   * group left without offsets is deleted. Returns how many offsets expired.
   */
  async expireOffsets(): Promise<number> {
    const nowMs = this.#clock.nowMs();
    let expiredCount = 0;
    for (const group of [...this.#groups.values()]) {
      if (this.#partitions.get(this.partitionFor(group.groupId)) !== 'loaded') continue;
      const expired = this.#expiredOffsetKeys(group, nowMs);
      if (expired.length > 0) {
        const records = expired.map((key) => {
          const { topic, partition } = parseOffsetKey(key);
          return { key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null };
        });
        if ((await this.#append(group.groupId, records)) !== ErrorCode.NONE) continue;
        for (const key of expired) group.offsets.delete(key);
        expiredCount += expired.length;
      }
      if (group.is('Empty') && group.offsets.size === 0 && group.pendingMembers.size === 0) {
        if ((await this.#writeGroupTombstones(group)) === ErrorCode.NONE) this.#markDead(group);
      }
    }
    return expiredCount;
  }

  #expiredOffsetKeys(group: ClassicGroup, nowMs: number): string[] {
    let baseOf: ((o: CommittedOffset) => number) | null = null;
    let keep: ReadonlySet<string> = new Set();
    if (group.protocolType !== null && group.is('Empty')) {
      baseOf = () => group.currentStateTimestampMs;
    } else if (group.protocolType === null) {
      baseOf = (o) => o.commitTimestampMs;
    } else if (
      group.protocolType === CONSUMER_PROTOCOL_TYPE &&
      group.subscribedTopics !== null &&
      group.is('Stable')
    ) {
      baseOf = (o) => o.commitTimestampMs;
      keep = group.subscribedTopics;
    }
    if (baseOf === null) return [];
    const expired: string[] = [];
    for (const [key, o] of group.offsets) {
      if (keep.has(parseOffsetKey(key).topic)) continue;
      const due =
        o.expireTimestampMs >= 0
          ? nowMs >= o.expireTimestampMs
          : nowMs - baseOf(o) >= this.config.offsetsRetentionMs;
      if (due) expired.push(key);
    }
    return expired;
  }

  // ---- admin views -----------------------------------------------------------------------

  /** ListGroups: every group coordinated here, optionally only those in the given states. */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): ListedGroup[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const listed: ListedGroup[] = [];
    for (const group of this.#consumerGroups?.groups() ?? []) {
      if (this.#partitions.get(this.partitionFor(group.groupId)) !== 'loaded') continue;
      const state = group.state();
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('consumer')) continue;
      listed.push({
        groupId: group.groupId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        groupState: state,
        groupType: 'consumer',
      });
    }
    for (const group of this.#groups.values()) {
      if (this.#partitions.get(this.partitionFor(group.groupId)) !== 'loaded' || group.is('Dead')) continue;
      if (this.#consumerGroups?.group(group.groupId) !== undefined) continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('classic')) continue;
      listed.push({
        groupId: group.groupId,
        protocolType: group.protocolType ?? '',
        groupState: group.state,
        groupType: 'classic',
      });
    }
    return listed;
  }

  /** True when any partition is still loading (ListGroups then answers COORDINATOR_LOAD_IN_PROGRESS). */
  isLoading(): boolean {
    return [...this.#partitions.values()].includes('loading');
  }

  /**
   * DescribeGroups: a classic group's state and members. A consumer group or an unknown id is Dead;
   * from v6 (KIP-1043) also GROUP_ID_NOT_FOUND with Kafka 4.1.1's message.
   */
  describeGroup(groupId: string, apiVersion = 0): DescribedGroup {
    const statusError = this.#groupStatusError(groupId, false);
    const isConsumerGroup = this.#consumerGroups?.group(groupId) !== undefined;
    const group = isConsumerGroup ? undefined : this.#groups.get(groupId);
    if (statusError !== null || group === undefined) {
      const notFound = statusError === null && apiVersion >= DESCRIBE_GROUPS_NOT_FOUND_VERSION;
      return {
        errorCode: statusError ?? (notFound ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE),
        errorMessage: notFound
          ? isConsumerGroup
            ? `Group ${groupId} is not a classic group.`
            : `Group ${groupId} not found.`
          : null,
        groupId,
        groupState: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      };
    }
    const stable = group.is('Stable') && group.protocolName !== null;
    const protocolName = group.protocolName ?? '';
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: stable ? protocolName : '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadataFor(protocolName) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }
}

function unknownOffset(partitionIndex: number, errorCode: number): FetchedOffset {
  return { partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode };
}

function fetched(partitionIndex: number, committed: CommittedOffset): FetchedOffset {
  return {
    partitionIndex,
    committedOffset: committed.offset,
    committedLeaderEpoch: committed.leaderEpoch,
    metadata: committed.metadata,
    errorCode: ErrorCode.NONE,
  };
}

export type { JoinGroupMemberInfo };
export { GROUP_STATES };
