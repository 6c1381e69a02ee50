/**
 * The record formats of `__consumer_offsets`, as Kafka writes them, so a log written by
 * either engine reads back in the other: a key and a value, each starting with an int16
 * version. Written from Kafka's OffsetCommitKey/Value and GroupMetadataKey/Value
 * definitions. We write the versions Kafka 3.x/4.x write for classic groups (key 1,
 * offset value 3 (1 with an explicit expire timestamp), group key 2, group value 3) and
 * read every version 0-4. Other record types (KIP-848 and share groups) are skipped.
 */

export interface OffsetCommitRecordKey {
  readonly type: 'offset';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

export interface GroupMetadataRecordKey {
  readonly type: 'group';
  readonly group: string;
}

export type CoordinatorRecordKey = OffsetCommitRecordKey | GroupMetadataRecordKey;

export interface OffsetCommitRecordValue {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: bigint;
  readonly expireTimestampMs: bigint;
}

export interface GroupMemberRecord {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscription: Uint8Array;
  readonly assignment: Uint8Array;
}

export interface GroupMetadataRecordValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  readonly currentStateTimestampMs: bigint;
  readonly members: readonly GroupMemberRecord[];
}

/** One record of the topic: value null is a tombstone (the key's latest state is "deleted"). */
export interface CoordinatorRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  /** Set when read back: the record belongs to a transaction of this producer that has no marker yet. */
  readonly openTransactionProducerId?: bigint;
}

export class CoordinatorRecordError extends Error {
  override readonly name = 'CoordinatorRecordError';
}

class ByteWriter {
  #chunks: Uint8Array[] = [];
  #encoder = new TextEncoder();

  int16(value: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setInt16(0, value);
    this.#chunks.push(b);
    return this;
  }

  int32(value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value);
    this.#chunks.push(b);
    return this;
  }

  int64(value: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, value);
    this.#chunks.push(b);
    return this;
  }

  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = this.#encoder.encode(value);
    if (bytes.length > 0x7fff)
      throw new CoordinatorRecordError(`string of ${bytes.length} bytes is too long`);
    this.int16(bytes.length);
    this.#chunks.push(bytes);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.int32(value.length);
    this.#chunks.push(value);
    return this;
  }

  finish(): Uint8Array {
    const total = this.#chunks.reduce((sum, c) => sum + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

class ByteReader {
  #view: DataView;
  #bytes: Uint8Array;
  #at = 0;
  #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(count: number): number {
    if (count < 0 || this.#at + count > this.#bytes.length) {
      throw new CoordinatorRecordError(`record truncated at byte ${this.#at} (needs ${count} more)`);
    }
    const at = this.#at;
    this.#at += count;
    return at;
  }

  int16(): number {
    return this.#view.getInt16(this.#need(2));
  }

  int32(): number {
    return this.#view.getInt32(this.#need(4));
  }

  int64(): bigint {
    return this.#view.getBigInt64(this.#need(8));
  }

  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.#bytes[this.#need(1)] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new CoordinatorRecordError('varint longer than 5 bytes');
  }

  #text(length: number): string {
    const at = this.#need(length);
    return this.#decoder.decode(this.#bytes.subarray(at, at + length));
  }

  string(flexible: boolean): string | null {
    const length = flexible ? this.unsignedVarint() - 1 : this.int16();
    return length < 0 ? null : this.#text(length);
  }

  requiredString(flexible: boolean, field: string): string {
    const value = this.string(flexible);
    if (value === null) throw new CoordinatorRecordError(`field ${field} is null`);
    return value;
  }

  bytes(flexible: boolean): Uint8Array {
    const length = flexible ? this.unsignedVarint() - 1 : this.int32();
    if (length < 0) return new Uint8Array(0);
    const at = this.#need(length);
    return this.#bytes.slice(at, at + length);
  }

  arrayLength(flexible: boolean): number {
    const length = flexible ? this.unsignedVarint() - 1 : this.int32();
    return Math.max(length, 0);
  }

  /** Skips a tagged-field section (flexible versions): we know none of the tags. */
  skipTaggedFields(): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      this.unsignedVarint();
      this.#need(this.unsignedVarint());
    }
  }
}

const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Uint8Array {
  return new ByteWriter()
    .int16(OFFSET_COMMIT_KEY_VERSION)
    .string(group)
    .string(topic)
    .int32(partition)
    .finish();
}

export function encodeGroupMetadataKey(group: string): Uint8Array {
  return new ByteWriter().int16(GROUP_METADATA_KEY_VERSION).string(group).finish();
}

/** The key's type, or null for record types this coordinator does not use (KIP-848, share groups). */
export function decodeKey(bytes: Uint8Array): CoordinatorRecordKey | null {
  const reader = new ByteReader(bytes);
  const version = reader.int16();
  if (version === 0 || version === 1) {
    const group = reader.requiredString(false, 'group');
    const topic = reader.requiredString(false, 'topic');
    return { type: 'offset', group, topic, partition: reader.int32() };
  }
  if (version === 2) return { type: 'group', group: reader.requiredString(false, 'group') };
  return null;
}

export function encodeOffsetCommitValue(value: OffsetCommitRecordValue): Uint8Array {
  const writer = new ByteWriter();
  if (value.expireTimestampMs >= 0n) {
    // Version 1 is the only one carrying an explicit expire timestamp (OffsetCommit v2-4 retention).
    return writer
      .int16(1)
      .int64(value.offset)
      .string(value.metadata)
      .int64(value.commitTimestampMs)
      .int64(value.expireTimestampMs)
      .finish();
  }
  return writer
    .int16(3)
    .int64(value.offset)
    .int32(value.leaderEpoch)
    .string(value.metadata)
    .int64(value.commitTimestampMs)
    .finish();
}

export function decodeOffsetCommitValue(bytes: Uint8Array): OffsetCommitRecordValue {
  const reader = new ByteReader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 4) throw new CoordinatorRecordError(`OffsetCommitValue version ${version}`);
  const flexible = version >= 4;
  const offset = reader.int64();
  const leaderEpoch = version >= 3 ? reader.int32() : -1;
  const metadata = reader.string(flexible) ?? '';
  const commitTimestampMs = reader.int64();
  const expireTimestampMs = version === 1 ? reader.int64() : -1n;
  if (flexible) reader.skipTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs };
}

export function encodeGroupMetadataValue(value: GroupMetadataRecordValue): Uint8Array {
  const writer = new ByteWriter()
    .int16(3)
    .string(value.protocolType)
    .int32(value.generation)
    .string(value.protocol)
    .string(value.leader)
    .int64(value.currentStateTimestampMs)
    .int32(value.members.length);
  for (const member of value.members) {
    writer
      .string(member.memberId)
      .string(member.groupInstanceId)
      .string(member.clientId)
      .string(member.clientHost)
      .int32(member.rebalanceTimeoutMs)
      .int32(member.sessionTimeoutMs)
      .bytes(member.subscription)
      .bytes(member.assignment);
  }
  return writer.finish();
}

export function decodeGroupMetadataValue(bytes: Uint8Array): GroupMetadataRecordValue {
  const reader = new ByteReader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 4) throw new CoordinatorRecordError(`GroupMetadataValue version ${version}`);
  const flexible = version >= 4;
  const protocolType = reader.requiredString(flexible, 'protocolType');
  const generation = reader.int32();
  const protocol = reader.string(flexible);
  const leader = reader.string(flexible);
  const currentStateTimestampMs = version >= 2 ? reader.int64() : -1n;
  const count = reader.arrayLength(flexible);
  const members: GroupMemberRecord[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = reader.requiredString(flexible, 'memberId');
    const groupInstanceId = version >= 3 ? reader.string(flexible) : null;
    const clientId = reader.requiredString(flexible, 'clientId');
    const clientHost = reader.requiredString(flexible, 'clientHost');
    const rebalanceTimeoutMs = version >= 1 ? reader.int32() : -1;
    const sessionTimeoutMs = reader.int32();
    const subscription = reader.bytes(flexible);
    const assignment = reader.bytes(flexible);
    if (flexible) reader.skipTaggedFields();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) reader.skipTaggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestampMs, members };
}
