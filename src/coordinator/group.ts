/**
 * One classic consumer group: its members, its state and its committed offsets, with the
 * state transitions Kafka allows. The protocol logic that moves a group between states
 * (join, sync, heartbeat, leave, timers) lives in group-coordinator.ts; this file holds
 * the data and the invariants that must never break.
 */
import { ErrorCode } from '../protocol/errors.ts';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

/** The states a group may come from, per target state (Kafka's GroupState.validPreviousStates). */
const VALID_PREVIOUS_STATES: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  Empty: ['PreparingRebalance'],
};

export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

/** One member as the leader sees it in its JoinGroup answer. */
export interface JoinGroupMemberInfo {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface JoinGroupResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  readonly members: readonly JoinGroupMemberInfo[];
}

export interface SyncGroupResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Uint8Array;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: readonly MemberProtocol[];
  assignment: Uint8Array = EMPTY_BYTES;
  /** Set while a JoinGroup of this member waits for the rebalance to complete. */
  awaitingJoin: ((result: JoinGroupResult) => void) | null = null;
  /** Set while a SyncGroup of this member waits for the leader's assignment. */
  awaitingSync: ((result: SyncGroupResult) => void) | null = null;
  /** A member added by this rebalance: it may still expire while awaiting its JoinGroup answer. */
  isNew = false;
  /** Cancels the pending session-timeout check. */
  cancelHeartbeatTimer: (() => void) | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: readonly MemberProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  metadataFor(protocolName: string): Uint8Array {
    const protocol = this.protocols.find((p) => p.name === protocolName);
    if (protocol === undefined) {
      throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`);
    }
    return protocol.metadata;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly MemberProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const mine = this.protocols[i];
      return mine !== undefined && mine.name === p.name && bytesEqual(mine.metadata, p.metadata);
    });
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A committed offset as held in memory (OffsetCommitValue). */
export interface CommittedOffset {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
  /** Set only by OffsetCommit v2-4 with an explicit retention time; -1 otherwise. */
  readonly expireTimestampMs: number;
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function parseOffsetKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export class ClassicGroup {
  readonly groupId: string;
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  currentStateTimestampMs: number;
  readonly members = new Map<string, GroupMember>();
  /** group.instance.id → member id of the static member currently holding it. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED (KIP-394), not yet joined; value cancels their expiry. */
  readonly pendingMembers = new Map<string, () => void>();
  /** Members of the current generation that have not yet sent SyncGroup. */
  readonly pendingSyncMembers = new Set<string>();
  /** A member joined during the initial rebalance delay: wait once more (group.initial.rebalance.delay.ms). */
  newMemberAdded = false;
  /** Cancels the pending rebalance (join) deadline. */
  cancelJoinTimer: (() => void) | null = null;
  /** True while the pending join deadline is the initial delay, which completes only by its timer. */
  joinIsInitialDelay = false;
  /** Cancels the pending SyncGroup deadline. */
  cancelSyncTimer: (() => void) | null = null;
  /** Committed offsets by offsetKey(topic, partition). */
  readonly offsets = new Map<string, CommittedOffset>();
  /** Topics the consumer members subscribe to, when their metadata could be read; null when unknown. */
  subscribedTopics: ReadonlySet<string> | null = null;

  constructor(groupId: string, nowMs: number) {
    this.groupId = groupId;
    this.currentStateTimestampMs = nowMs;
  }

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(target: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS_STATES[target].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${target}`);
    }
    this.state = target;
    this.currentStateTimestampMs = nowMs;
  }

  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  get(memberId: string): GroupMember {
    const member = this.members.get(memberId);
    if (member === undefined) throw new Error(`group ${this.groupId}: no member ${memberId}`);
    return member;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  currentStaticMemberId(groupInstanceId: string | null): string | undefined {
    return groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
  }

  /** A static member's instance id is now held by another member id: this one is a zombie. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    const current = this.currentStaticMemberId(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  numAwaitingJoin(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.awaitingJoin !== null) count++;
    return count;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin() && this.pendingMembers.size === 0;
  }

  /** The longest rebalance timeout of the members: how long a rebalance may wait for rejoins. */
  rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const member of this.members.values()) timeoutMs = Math.max(timeoutMs, member.rebalanceTimeoutMs);
    return timeoutMs;
  }

  add(member: GroupMember): void {
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (member.protocolType !== this.protocolType) {
      throw new Error(`group ${this.groupId}: member protocol type ${member.protocolType} differs`);
    }
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.pendingMembers.get(member.memberId)?.();
    this.pendingMembers.delete(member.memberId);
  }

  remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    this.members.delete(memberId);
    member.cancelHeartbeatTimer?.();
    member.cancelHeartbeatTimer = null;
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingSyncMembers.delete(memberId);
  }

  /**
   * Gives the static member's record to its new member id (KIP-345); the old member id's
   * waiting JoinGroup/SyncGroup are answered FENCED_INSTANCE_ID.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.get(oldMemberId);
    this.members.delete(oldMemberId);
    const join = member.awaitingJoin;
    member.awaitingJoin = null;
    join?.(joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    const sync = member.awaitingSync;
    member.awaitingSync = null;
    sync?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    return member;
  }

  /**
   * Whether a member with these protocols may join: the first member of an empty group
   * sets the protocol type; later ones must share it and support a protocol every
   * current member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly MemberProtocol[]): boolean {
    if (this.is('Empty') && this.members.size === 0) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => this.countSupporting(p.name) === this.members.size);
  }

  private countSupporting(protocolName: string): number {
    let count = 0;
    for (const member of this.members.values()) {
      if (member.protocols.some((p) => p.name === protocolName)) count++;
    }
    return count;
  }

  /**
   * Kafka's selectProtocol: among the protocols every member supports, each member votes
   * for the first of its own list; the most votes wins (ties go to the earliest vote).
   */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: no members to select a protocol`);
    const first = this.members.values().next().value as GroupMember;
    const candidates = first.protocols
      .map((p) => p.name)
      .filter((name) => this.countSupporting(name) === this.members.size);
    if (candidates.length === 0)
      throw new Error(`group ${this.groupId}: no protocol supported by all members`);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.protocols.find((p) => candidates.includes(p.name))?.name;
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = candidates[0] as string;
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  /** Members in JoinGroup-answer form for the selected protocol (what the leader assigns from). */
  currentMemberMetadata(): JoinGroupMemberInfo[] {
    const protocolName = this.protocolName;
    if (protocolName === null) return [];
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadataFor(protocolName),
    }));
  }
}
