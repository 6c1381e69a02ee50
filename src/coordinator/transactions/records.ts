/**
 * The record formats of `__transaction_state`, as Kafka writes them (TransactionLogKey v0 and
 * TransactionLogValue v0/v1), so a log written here reads like Kafka's. Key: int16 version 0
 * and the transactional id. Value: int16 version, then producer id and epoch, timeout, status,
 * the partitions in the transaction, last-update and start times; v1 (flexible: compact
 * lengths and tagged fields) adds PreviousProducerId (tag 0), NextProducerId (tag 1) and
 * ClientTransactionVersion (tag 2). We write v1 (kstack finalizes transaction version 2, where
 * Kafka writes v1) and read both. A null value is a tombstone (the id expired).
 */

export interface TransactionPartitions {
  readonly topic: string;
  readonly partitionIds: readonly number[];
}

export interface TransactionLogValue {
  readonly producerId: bigint;
  readonly previousProducerId: bigint;
  readonly nextProducerId: bigint;
  readonly producerEpoch: number;
  readonly transactionTimeoutMs: number;
  /** The state byte: 0 Empty, 1 Ongoing, 2 PrepareCommit, 3 PrepareAbort, 4 CompleteCommit, 5 CompleteAbort, 6 Dead, 7 PrepareEpochFence. */
  readonly transactionStatus: number;
  readonly transactionPartitions: readonly TransactionPartitions[];
  readonly transactionLastUpdateTimestampMs: bigint;
  readonly transactionStartTimestampMs: bigint;
  readonly clientTransactionVersion: number;
}

export class TransactionRecordError extends Error {
  override readonly name = 'TransactionRecordError';
}

const KEY_VERSION = 0;
const VALUE_VERSION_WRITTEN = 1;
const VALUE_VERSION_MAX = 1;

export function encodeTransactionLogKey(transactionalId: string): Uint8Array {
  const id = Buffer.from(transactionalId, 'utf8');
  const out = Buffer.alloc(4 + id.length);
  out.writeInt16BE(KEY_VERSION, 0);
  out.writeInt16BE(id.length, 2);
  id.copy(out, 4);
  return out;
}

/** The transactional id of a key, or null for a key version this code does not know. */
export function decodeTransactionLogKey(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) throw new TransactionRecordError(`transaction log key of ${buf.length} bytes`);
  if (buf.readInt16BE(0) !== KEY_VERSION) return null;
  const length = buf.readInt16BE(2);
  if (length < 0 || 4 + length > buf.length)
    throw new TransactionRecordError('transaction log key: bad id length');
  return buf.toString('utf8', 4, 4 + length);
}

/**
 * Encodes a value as TransactionLogValue v1 (flexible), as Kafka 4.1 writes it once
 * `transaction.version` is 1 or more: the tagged fields PreviousProducerId (0), NextProducerId (1)
 * and ClientTransactionVersion (2) are written when they differ from their defaults (-1, -1, 0).
 */
export function encodeTransactionLogValue(value: TransactionLogValue): Uint8Array {
  const out: number[] = [];
  const int16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const int32 = (v: number) => out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const int64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    out.push(...b);
  };
  const varint = (v: number) => {
    let n = v;
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
  };
  int16(VALUE_VERSION_WRITTEN);
  int64(value.producerId);
  int16(value.producerEpoch);
  int32(value.transactionTimeoutMs);
  out.push(value.transactionStatus & 0xff);
  varint(value.transactionPartitions.length + 1);
  for (const p of value.transactionPartitions) {
    const topic = Buffer.from(p.topic, 'utf8');
    varint(topic.length + 1);
    out.push(...topic);
    varint(p.partitionIds.length + 1);
    for (const id of p.partitionIds) int32(id);
    varint(0);
  }
  int64(value.transactionLastUpdateTimestampMs);
  int64(value.transactionStartTimestampMs);
  const tags: [number, () => void, number][] = [];
  if (value.previousProducerId !== -1n) tags.push([0, () => int64(value.previousProducerId), 8]);
  if (value.nextProducerId !== -1n) tags.push([1, () => int64(value.nextProducerId), 8]);
  if (value.clientTransactionVersion !== 0) tags.push([2, () => int16(value.clientTransactionVersion), 2]);
  varint(tags.length);
  for (const [tag, write, size] of tags) {
    varint(tag);
    varint(size);
    write();
  }
  return Uint8Array.from(out);
}

class ValueReader {
  readonly buf: Buffer;
  pos = 0;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw new TransactionRecordError('transaction log value is truncated');
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new TransactionRecordError('transaction log value: varint too long');
  }
  string(flexible: boolean): string {
    const length = flexible ? this.unsignedVarint() - 1 : this.int16();
    if (length < 0) throw new TransactionRecordError('transaction log value: null topic name');
    this.need(length);
    const text = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return text;
  }
  arrayLength(flexible: boolean): number {
    return flexible ? this.unsignedVarint() - 1 : this.int32();
  }
  /** Reads a tagged-field section, handing each field's bytes to `onTag`. */
  taggedFields(onTag: (tag: number, reader: ValueReader) => void): void {
    const count = this.unsignedVarint();
    for (let i = 0; i < count; i++) {
      const tag = this.unsignedVarint();
      const size = this.unsignedVarint();
      this.need(size);
      const field = new ValueReader(this.buf.subarray(this.pos, this.pos + size));
      onTag(tag, field);
      this.pos += size;
    }
  }
}

export function decodeTransactionLogValue(bytes: Uint8Array): TransactionLogValue {
  const r = new ValueReader(bytes);
  const version = r.int16();
  if (version < 0 || version > VALUE_VERSION_MAX) {
    throw new TransactionRecordError(
      `transaction log value version ${version} is not one of 0-${VALUE_VERSION_MAX}`,
    );
  }
  const flexible = version >= 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const transactionTimeoutMs = r.int32();
  const transactionStatus = r.int8();
  const count = r.arrayLength(flexible);
  const transactionPartitions: TransactionPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = r.string(flexible);
    const ids = r.arrayLength(flexible);
    const partitionIds: number[] = [];
    for (let j = 0; j < ids; j++) partitionIds.push(r.int32());
    if (flexible) r.taggedFields(() => {});
    transactionPartitions.push({ topic, partitionIds });
  }
  const transactionLastUpdateTimestampMs = r.int64();
  const transactionStartTimestampMs = r.int64();
  let previousProducerId = -1n;
  let nextProducerId = -1n;
  let clientTransactionVersion = 0;
  if (flexible) {
    r.taggedFields((tag, field) => {
      if (tag === 0) previousProducerId = field.int64();
      else if (tag === 1) nextProducerId = field.int64();
      else if (tag === 2) clientTransactionVersion = field.int16();
    });
  }
  return {
    producerId,
    previousProducerId,
    nextProducerId,
    producerEpoch,
    transactionTimeoutMs,
    transactionStatus,
    transactionPartitions,
    transactionLastUpdateTimestampMs,
    transactionStartTimestampMs,
    clientTransactionVersion,
  };
}
