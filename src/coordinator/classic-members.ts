/**
 * Classic-protocol members inside a KIP-848 consumer group (Kafka's online migration): what the
 * coordinator reads out of a classic member's JoinGroup subscription and writes into its SyncGroup
 * assignment (the `consumer` embedded protocol, ConsumerProtocolSubscription/Assignment), with
 * topics named on the wire and identified by id in the consumer group.
 */

import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  decodeVersioned,
  encodeVersioned,
} from '../protocol/consumer-protocol.ts';
import type { Assignment } from './assignors.ts';
import type { MemberProtocol } from './group.ts';

/** group.consumer.migration.policy: which conversions between classic and consumer groups are allowed. */
export type MigrationPolicy = 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';

export const MIGRATION_POLICIES: readonly MigrationPolicy[] = [
  'disabled',
  'upgrade',
  'downgrade',
  'bidirectional',
];

export function upgradeEnabled(policy: MigrationPolicy): boolean {
  return policy === 'upgrade' || policy === 'bidirectional';
}

export function downgradeEnabled(policy: MigrationPolicy): boolean {
  return policy === 'downgrade' || policy === 'bidirectional';
}

/** A classic member's JoinGroup facts kept in its consumer-group record (ClassicMemberMetadata). */
export interface ClassicMemberMetadata {
  readonly sessionTimeoutMs: number;
  readonly protocols: readonly MemberProtocol[];
}

/** Topic names and ids, both ways (the metadata image). */
export interface TopicNames {
  idOf(name: string): string | undefined;
  nameOf(topicId: string): string | undefined;
}

export interface ClassicSubscription {
  readonly topics: string[];
  readonly rackId: string | null;
  /** The partitions the member says it owns, by topic id (topics unknown here are left out). */
  readonly owned: { topicId: string; partitions: number[] }[];
}

/** Reads a `consumer` subscription (any version); throws on malformed bytes. */
export function decodeSubscription(metadata: Uint8Array, topics: TopicNames): ClassicSubscription {
  const { value } = decodeVersioned(ConsumerProtocolSubscription, metadata);
  const owned: { topicId: string; partitions: number[] }[] = [];
  for (const entry of (value.ownedPartitions as { topic: string; partitions: number[] }[] | undefined) ??
    []) {
    const topicId = topics.idOf(entry.topic);
    if (topicId !== undefined) owned.push({ topicId, partitions: [...entry.partitions] });
  }
  return {
    topics: [...(value.topics as string[])],
    rackId: (value.rackId as string | null | undefined) ?? null,
    owned,
  };
}

/**
 * Reads a classic member's assignment for an online upgrade (Kafka's fromClassicGroup): topics
 * unknown here are dropped; user data (a custom assignor's) cannot be carried and is refused.
 */
export function decodeAssignment(bytes: Uint8Array, topics: TopicNames): Assignment {
  const out: Assignment = new Map();
  if (bytes.length === 0) return out;
  const { value } = decodeVersioned(ConsumerProtocolAssignment, bytes);
  const userData = value.userData as Uint8Array | null;
  if (userData !== null && userData.length > 0) throw new CustomAssignorError();
  for (const entry of value.assignedPartitions as { topic: string; partitions: number[] }[]) {
    const topicId = topics.idOf(entry.topic);
    if (topicId === undefined) continue;
    out.set(
      topicId,
      [...entry.partitions].sort((a, b) => a - b),
    );
  }
  return out;
}

/** Thrown when a classic assignment carries user data, which a consumer group would lose. */
export class CustomAssignorError extends Error {
  constructor() {
    super('userData from a custom assignor would be lost');
  }
}

/** The consumer-protocol version of a subscription's bytes (the assignment answers in it). */
export function subscriptionVersion(metadata: Uint8Array): number {
  if (metadata.length < 2) return 0;
  const version = new DataView(metadata.buffer, metadata.byteOffset, 2).getInt16(0);
  return Math.max(0, Math.min(version, ConsumerProtocolAssignment.validVersions.max));
}

/** An assignment as a SyncGroup answer carries it: topic names, in the member's protocol version. */
export function encodeAssignment(assignment: Assignment, version: number, topics: TopicNames): Uint8Array {
  const assignedPartitions: { topic: string; partitions: number[] }[] = [];
  for (const [topicId, partitions] of assignment) {
    const topic = topics.nameOf(topicId);
    if (topic !== undefined) assignedPartitions.push({ topic, partitions: [...partitions] });
  }
  return encodeVersioned(ConsumerProtocolAssignment, version, { assignedPartitions, userData: null });
}
