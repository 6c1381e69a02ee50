/**
 * The control records of KRaft's log and snapshots, as Kafka 4.1.1 writes them (its
 * `common/message/` LeaderChangeMessage, SnapshotHeaderRecord, SnapshotFooterRecord,
 * KRaftVersionRecord): each alone in a control batch; its key is Kafka's ControlRecordType key
 * (int16 version 0, int16 type), its value the message body at version 0 (Kafka's
 * ControlRecordUtils reads them at version 0, without a version prefix; the body's own `version`
 * field is 0).
 */
import {
  array,
  compile,
  field,
  type MessageSchema,
  message,
  Reader,
  struct,
  Writer,
} from '../protocol/index.ts';
import { decodeRecordBatch, encodeRecordBatch, isControl } from '../records/index.ts';

/** Kafka's ControlRecordType ids of the KRaft control records. */
export const ControlRecordType = {
  leaderChange: 2,
  snapshotHeader: 3,
  snapshotFooter: 4,
  kraftVersion: 5,
} as const;

/** The version of every control record's key and value kstack writes (Kafka's *_CURRENT_VERSION). */
const CONTROL_VERSION = 0;

function control(name: string, fields: Parameters<typeof struct>[1]): MessageSchema {
  return message({ name, apiKey: -1, type: 'data', validVersions: '0', flexibleVersions: '0+', fields });
}

const Voter = struct('Voter', [field('voterId', 'int32', '0+')]);

const LeaderChangeMessage = control('LeaderChangeMessage', [
  field('version', 'int16', '0+'),
  field('leaderId', 'int32', '0+'),
  field('voters', array(Voter), '0+'),
  field('grantingVoters', array(Voter), '0+'),
]);

const SnapshotHeaderRecord = control('SnapshotHeaderRecord', [
  field('version', 'int16', '0+'),
  field('lastContainedLogTimestamp', 'int64', '0+'),
]);

const SnapshotFooterRecord = control('SnapshotFooterRecord', [field('version', 'int16', '0+')]);

const KRaftVersionRecord = control('KRaftVersionRecord', [
  field('version', 'int16', '0+'),
  field('kRaftVersion', 'int16', '0+'),
]);

export type ControlRecord =
  | {
      readonly type: 'LeaderChange';
      readonly leaderId: number;
      readonly voters: readonly number[];
      readonly grantingVoters: readonly number[];
    }
  | { readonly type: 'SnapshotHeader'; readonly lastContainedLogTimestamp: number }
  | { readonly type: 'SnapshotFooter' }
  | { readonly type: 'KRaftVersion'; readonly kraftVersion: number };

export class ControlRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlRecordError';
  }
}

/** The control record's key: Kafka's ControlRecordType.recordKey(). */
export function controlKey(type: number): Uint8Array {
  const writer = new Writer(4);
  writer.int16(CONTROL_VERSION);
  writer.int16(type);
  return writer.finish();
}

function encodeBody(schema: MessageSchema, value: Record<string, unknown>): Uint8Array {
  const writer = new Writer(64);
  compile(schema, CONTROL_VERSION, true).encode(writer, { version: CONTROL_VERSION, ...value });
  return writer.finish();
}

function toKafka(record: ControlRecord): { type: number; value: Uint8Array } {
  switch (record.type) {
    case 'LeaderChange':
      return {
        type: ControlRecordType.leaderChange,
        value: encodeBody(LeaderChangeMessage, {
          leaderId: record.leaderId,
          voters: record.voters.map((voterId) => ({ voterId })),
          grantingVoters: record.grantingVoters.map((voterId) => ({ voterId })),
        }),
      };
    case 'SnapshotHeader':
      return {
        type: ControlRecordType.snapshotHeader,
        value: encodeBody(SnapshotHeaderRecord, {
          lastContainedLogTimestamp: BigInt(record.lastContainedLogTimestamp),
        }),
      };
    case 'SnapshotFooter':
      return { type: ControlRecordType.snapshotFooter, value: encodeBody(SnapshotFooterRecord, {}) };
    case 'KRaftVersion':
      return {
        type: ControlRecordType.kraftVersion,
        value: encodeBody(KRaftVersionRecord, { kRaftVersion: record.kraftVersion }),
      };
  }
}

/** A control record's key and value, as the one record of its control batch holds them. */
export function encodeControlRecord(record: ControlRecord): { key: Uint8Array; value: Uint8Array } {
  const { type, value } = toKafka(record);
  return { key: controlKey(type), value };
}

/** A control batch holding one control record at `baseOffset`, under Raft epoch `epoch`. */
export function encodeControlBatch(batch: {
  readonly baseOffset: number;
  readonly epoch: number;
  readonly timestampMs: number;
  readonly record: ControlRecord;
}): Promise<Buffer> {
  const { type, value } = toKafka(batch.record);
  return encodeRecordBatch({
    baseOffset: batch.baseOffset,
    partitionLeaderEpoch: batch.epoch,
    control: true,
    records: [{ timestamp: batch.timestampMs, key: controlKey(type), value }],
  });
}

/** A control record's key and value back; throws ControlRecordError naming the fault. */
export function decodeControlRecord(key: Uint8Array | null, value: Uint8Array | null): ControlRecord {
  if (key === null || key.length < 4)
    throw new ControlRecordError(`control record key of ${key?.length ?? 'no'} bytes`);
  const keyReader = new Reader(key);
  const keyVersion = keyReader.int16();
  const type = keyReader.int16();
  if (keyVersion !== CONTROL_VERSION)
    throw new ControlRecordError(`control record key version ${keyVersion}`);
  const reader = new Reader(value ?? new Uint8Array(0));
  try {
    switch (type) {
      case ControlRecordType.leaderChange: {
        const v = compile(LeaderChangeMessage, CONTROL_VERSION, true).decode(reader);
        const ids = (voters: unknown) => (voters as { voterId: number }[]).map((voter) => voter.voterId);
        return {
          type: 'LeaderChange',
          leaderId: v.leaderId as number,
          voters: ids(v.voters),
          grantingVoters: ids(v.grantingVoters),
        };
      }
      case ControlRecordType.snapshotHeader: {
        const v = compile(SnapshotHeaderRecord, CONTROL_VERSION, true).decode(reader);
        return {
          type: 'SnapshotHeader',
          lastContainedLogTimestamp: Number(v.lastContainedLogTimestamp as bigint),
        };
      }
      case ControlRecordType.snapshotFooter:
        compile(SnapshotFooterRecord, CONTROL_VERSION, true).decode(reader);
        return { type: 'SnapshotFooter' };
      case ControlRecordType.kraftVersion: {
        const v = compile(KRaftVersionRecord, CONTROL_VERSION, true).decode(reader);
        return { type: 'KRaftVersion', kraftVersion: v.kRaftVersion as number };
      }
      default:
        throw new ControlRecordError(`control record type ${type}: not one kstack reads`);
    }
  } catch (error) {
    if (error instanceof ControlRecordError) throw error;
    throw new ControlRecordError(`control record type ${type} is malformed: ${(error as Error).message}`);
  }
}

/** The one control record of the control batch at `pos` of `bytes`, with the batch's size. */
export async function decodeControlBatch(
  bytes: Uint8Array,
  pos = 0,
): Promise<{ record: ControlRecord; baseOffset: number; epoch: number; size: number }> {
  const batch = await decodeRecordBatch(bytes, pos);
  if (!isControl(batch.header.attributes)) {
    throw new ControlRecordError(
      `the batch at byte ${pos} (offset ${batch.header.baseOffset}) is not a control batch`,
    );
  }
  const first = batch.records[0];
  if (first === undefined || batch.records.length !== 1) {
    throw new ControlRecordError(
      `control batch at offset ${batch.header.baseOffset} holds ${batch.records.length} records`,
    );
  }
  return {
    record: decodeControlRecord(first.key, first.value),
    baseOffset: batch.header.baseOffset,
    epoch: batch.header.partitionLeaderEpoch,
    size: batch.size,
  };
}
