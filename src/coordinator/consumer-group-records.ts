/**
 * The KIP-848 records of `__consumer_offsets`, in Kafka's formats: a key is its record type as
 * an int16 (3 ConsumerGroupMetadata, 5 ConsumerGroupMemberMetadata, 6 ConsumerGroupTargetAssignmentMetadata,
 * 7 ConsumerGroupTargetAssignmentMember, 8 ConsumerGroupCurrentMemberAssignment) then its
 * non-flexible fields; a value is an int16 version (0) then its flexible (compact, tagged) fields.
 * Type 4 (ConsumerGroupPartitionMetadata) is not written: kstack recomputes the subscribed
 * topics from the metadata image when a group is loaded. A null value is a tombstone.
 */

import {
  array,
  compile,
  field,
  type MessageValue,
  Reader,
  type StructType,
  struct,
  Writer,
} from '../protocol/index.ts';

export const CONSUMER_GROUP_METADATA_TYPE = 3;
export const CONSUMER_GROUP_MEMBER_METADATA_TYPE = 5;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE = 6;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_TYPE = 7;
export const CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_TYPE = 8;

const VALUE_VERSION = 0;

const TopicPartitions = struct('TopicPartitions', [
  field('topicId', 'uuid', '0+'),
  field('partitions', array('int32'), '0+'),
]);

const GroupMetadataValue = struct('ConsumerGroupMetadataValue', [field('epoch', 'int32', '0+')]);

const MemberMetadataValue = struct('ConsumerGroupMemberMetadataValue', [
  field('instanceId', 'string', '0+', { nullable: '0+' }),
  field('rackId', 'string', '0+', { nullable: '0+' }),
  field('clientId', 'string', '0+'),
  field('clientHost', 'string', '0+'),
  field('subscribedTopicNames', array('string'), '0+'),
  field('subscribedTopicRegex', 'string', '0+', { nullable: '0+' }),
  field('rebalanceTimeoutMs', 'int32', '0+', { default: -1 }),
  field('serverAssignor', 'string', '0+', { nullable: '0+' }),
  // Set for a member that speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat) in a consumer group.
  field(
    'classicMemberMetadata',
    struct('ClassicMemberMetadata', [
      field('sessionTimeoutMs', 'int32', '0+'),
      field(
        'supportedProtocols',
        array(struct('ClassicProtocol', [field('name', 'string', '0+'), field('metadata', 'bytes', '0+')])),
        '0+',
      ),
    ]),
    '0+',
    { nullable: '0+', tag: 0, default: null },
  ),
]);

const TargetAssignmentMetadataValue = struct('ConsumerGroupTargetAssignmentMetadataValue', [
  field('assignmentEpoch', 'int32', '0+'),
]);

const TargetAssignmentMemberValue = struct('ConsumerGroupTargetAssignmentMemberValue', [
  field('topicPartitions', array(TopicPartitions), '0+'),
]);

const CurrentMemberAssignmentValue = struct('ConsumerGroupCurrentMemberAssignmentValue', [
  field('memberEpoch', 'int32', '0+'),
  field('previousMemberEpoch', 'int32', '0+'),
  field('state', 'int8', '0+'),
  field('assignedPartitions', array(TopicPartitions), '0+'),
  field('partitionsPendingRevocation', array(TopicPartitions), '0+'),
]);

const VALUE_SCHEMAS: ReadonlyMap<number, StructType> = new Map([
  [CONSUMER_GROUP_METADATA_TYPE, GroupMetadataValue],
  [CONSUMER_GROUP_MEMBER_METADATA_TYPE, MemberMetadataValue],
  [CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE, TargetAssignmentMetadataValue],
  [CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_TYPE, TargetAssignmentMemberValue],
  [CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_TYPE, CurrentMemberAssignmentValue],
]);

export interface ConsumerGroupRecordKey {
  readonly type: number;
  readonly groupId: string;
  /** Member records only (types 5, 7, 8). */
  readonly memberId: string | null;
}

export function encodeConsumerGroupKey(
  type: number,
  groupId: string,
  memberId: string | null = null,
): Uint8Array {
  const writer = new Writer(64);
  writer.int16(type);
  writer.string(groupId);
  if (memberId !== null) writer.string(memberId);
  return writer.finish();
}

/** The key of a KIP-848 record, or null when the bytes hold another record type. */
export function decodeConsumerGroupKey(bytes: Uint8Array): ConsumerGroupRecordKey | null {
  const reader = new Reader(bytes);
  const type = reader.int16();
  if (!VALUE_SCHEMAS.has(type)) return null;
  const groupId = reader.string();
  const memberId =
    type === CONSUMER_GROUP_METADATA_TYPE || type === CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_TYPE
      ? null
      : reader.string();
  return { type, groupId, memberId };
}

export function encodeConsumerGroupValue(type: number, value: MessageValue): Uint8Array {
  const schema = VALUE_SCHEMAS.get(type);
  if (schema === undefined) throw new Error(`no KIP-848 record type ${type}`);
  const writer = new Writer(128);
  writer.int16(VALUE_VERSION);
  compile(schema, VALUE_VERSION, true).encode(writer, value);
  return writer.finish();
}

export function decodeConsumerGroupValue(type: number, bytes: Uint8Array): MessageValue {
  const schema = VALUE_SCHEMAS.get(type);
  if (schema === undefined) throw new Error(`no KIP-848 record type ${type}`);
  const reader = new Reader(bytes);
  const version = reader.int16();
  // Later versions only add tagged fields, which a version-0 reader skips.
  if (version < 0) throw new Error(`record type ${type}: value version ${version}`);
  return compile(schema, VALUE_VERSION, true).decode(reader);
}
