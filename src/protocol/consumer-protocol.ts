import { Reader } from './reader.ts';
import { array, compile, field, type MessageSchema, type MessageValue, message, struct } from './schema.ts';
import { Writer } from './writer.ts';

/**
 * The consumer protocol's embedded structures, carried as opaque bytes in JoinGroup metadata and
 * SyncGroup assignments ("consumer" protocol type). Written from Kafka's ConsumerProtocolSubscription
 * and ConsumerProtocolAssignment definitions. The broker relays them untouched; tools decode them
 * (e.g. to show assignments). On the wire each is an int16 version followed by the struct.
 */

const TopicPartition = (versions: string) =>
  struct('TopicPartition', [
    field('topic', 'string', versions),
    field('partitions', array('int32'), versions),
  ]);

export const ConsumerProtocolSubscription: MessageSchema = message({
  name: 'ConsumerProtocolSubscription',
  apiKey: -1,
  type: 'data',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    field('topics', array('string'), '0+'),
    field('userData', 'bytes', '0+', { nullable: '0+', default: null }),
    field('ownedPartitions', array(TopicPartition('1+')), '1+'),
    field('generationId', 'int32', '2+', { default: -1 }),
    field('rackId', 'string', '3+', { nullable: '3+', default: null }),
  ],
});

export const ConsumerProtocolAssignment: MessageSchema = message({
  name: 'ConsumerProtocolAssignment',
  apiKey: -1,
  type: 'data',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    field('assignedPartitions', array(TopicPartition('0+')), '0+'),
    field('userData', 'bytes', '0+', { nullable: '0+', default: null }),
  ],
});

/** Encodes a versioned consumer-protocol structure: int16 version, then the struct. */
export function encodeVersioned(schema: MessageSchema, version: number, value: MessageValue): Uint8Array {
  const writer = new Writer(64);
  writer.int16(version);
  compile(schema, version, false).encode(writer, value);
  return writer.finish();
}

/**
 * Decodes a versioned consumer-protocol structure. A version newer than we know is read as our newest,
 * as Kafka's clients do: newer versions only append fields, and trailing bytes are ignored.
 */
export function decodeVersioned(
  schema: MessageSchema,
  bytes: Uint8Array,
): { version: number; value: MessageValue } {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0) throw new RangeError(`${schema.name} has negative version ${version}`);
  const readVersion = Math.min(version, schema.validVersions.max);
  return { version, value: compile(schema, readVersion, false).decode(reader) };
}
