/**
 * The record formats of `__transaction_state`, as Kafka writes them (TransactionLogKey v0 and
 * TransactionLogValue v0/v1), so a log written here reads like Kafka's. Key: int16 version 0
 * and the transactional id. Value: int16 version, then producer id and epoch, timeout, status,
 * the partitions in the transaction, last-update and start times; v1 (flexible: compact
 * lengths and tagged fields) adds PreviousProducerId (tag 0), NextProducerId (tag 1) and
 * ClientTransactionVersion (tag 2). We write v0 (kstack serves transaction version 0, where
 * Kafka also writes v0) and read both. A null value is a tombstone (the id expired).
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
const VALUE_VERSION_WRITTEN = 0;
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

export function encodeTransactionLogValue(value: TransactionLogValue): Uint8Array {
  const topics = value.transactionPartitions.map((p) => Buffer.from(p.topic, 'utf8'));
  let size = 2 + 8 + 2 + 4 + 1 + 4 + 8 + 8;
  value.transactionPartitions.forEach((p, i) => {
    size += 2 + topics[i]!.length + 4 + 4 * p.partitionIds.length;
  });
  const out = Buffer.alloc(size);
  let pos = out.writeInt16BE(VALUE_VERSION_WRITTEN, 0);
  pos = out.writeBigInt64BE(value.producerId, pos);
  pos = out.writeInt16BE(value.producerEpoch, pos);
  pos = out.writeInt32BE(value.transactionTimeoutMs, pos);
  pos = out.writeInt8(value.transactionStatus, pos);
  pos = out.writeInt32BE(value.transactionPartitions.length, pos);
  value.transactionPartitions.forEach((p, i) => {
    const topic = topics[i]!;
    pos = out.writeInt16BE(topic.length, pos);
    pos += topic.copy(out, pos);
    pos = out.writeInt32BE(p.partitionIds.length, pos);
    for (const id of p.partitionIds) pos = out.writeInt32BE(id, pos);
  });
  pos = out.writeBigInt64BE(value.transactionLastUpdateTimestampMs, pos);
  out.writeBigInt64BE(value.transactionStartTimestampMs, pos);
  return out;
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
