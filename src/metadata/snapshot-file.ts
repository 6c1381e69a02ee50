/**
 * KRaft's file names and snapshot files, as Kafka 4.1.1 lays them out in
 * `<data dir>/__cluster_metadata-0/`: log segments `00000000000000000000.log` (base offset, 20
 * digits), snapshots `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint`. A snapshot is record
 * batches at offsets from 0, every one under the snapshot's epoch: a control batch with the
 * SnapshotHeader, data batches of metadata records (at most `SNAPSHOT_BATCH_BYTES_MAX` each, as
 * Kafka's raft client bounds its batches), a control batch with the SnapshotFooter.
 */
import { decodeRecordBatch, isControl } from '../records/index.ts';
import { decodeMetadataBatches, encodeMetadataBatch } from './batch.ts';
import { encodeMetadataRecord, type KraftMetadataRecord } from './codec.ts';
import { ControlRecordError, decodeControlRecord, encodeControlBatch } from './control-records.ts';

/** Kafka's KafkaRaftClient.MAX_BATCH_SIZE_BYTES: a batch closes before it would pass this size. */
export const SNAPSHOT_BATCH_BYTES_MAX = 8 * 1024;

export const SNAPSHOT_SUFFIX = '.checkpoint';

export interface SnapshotFileId {
  readonly endOffset: number;
  readonly epoch: number;
}

/** Kafka's log segment file name for a base offset: `00000000000000000000.log`. */
export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

/** Kafka's snapshot file name (Snapshots.filenameFromSnapshotId): `<endOffset>-<epoch>.checkpoint`. */
export function snapshotFileName(id: SnapshotFileId): string {
  return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${SNAPSHOT_SUFFIX}`;
}

/** The snapshot id a file name gives, or null when the name is not a snapshot's. */
export function parseSnapshotFileName(name: string): SnapshotFileId | null {
  const match = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
  if (match === null) return null;
  return { endOffset: Number(match[1]), epoch: Number(match[2]) };
}

/** Records in groups whose encoded values stay within SNAPSHOT_BATCH_BYTES_MAX (one record at least). */
function groupRecords(records: readonly KraftMetadataRecord[]): KraftMetadataRecord[][] {
  const groups: KraftMetadataRecord[][] = [];
  let current: KraftMetadataRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = encodeMetadataRecord(record).length;
    if (current.length > 0 && bytes + size > SNAPSHOT_BATCH_BYTES_MAX) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** The bytes of a snapshot file holding `records`, for the log up to (excluding) `id.endOffset`. */
export async function encodeSnapshotFile(snapshot: {
  readonly id: SnapshotFileId;
  /** The append time of the last log record the snapshot contains (SnapshotHeader). */
  readonly lastContainedLogTimestamp: number;
  readonly records: readonly KraftMetadataRecord[];
  readonly timestampMs: number;
}): Promise<Buffer> {
  const { epoch } = snapshot.id;
  const timestampMs = snapshot.timestampMs;
  const batches: Buffer[] = [
    await encodeControlBatch({
      baseOffset: 0,
      epoch,
      timestampMs,
      record: { type: 'SnapshotHeader', lastContainedLogTimestamp: snapshot.lastContainedLogTimestamp },
    }),
  ];
  let offset = 1;
  for (const records of groupRecords(snapshot.records)) {
    batches.push(await encodeMetadataBatch({ baseOffset: offset, epoch, timestampMs, records }));
    offset += records.length;
  }
  batches.push(
    await encodeControlBatch({ baseOffset: offset, epoch, timestampMs, record: { type: 'SnapshotFooter' } }),
  );
  return Buffer.concat(batches);
}

/**
 * A snapshot file's records, checked as Kafka's reader checks them: a SnapshotHeader first, a
 * SnapshotFooter last, every batch under the snapshot's epoch. Throws ControlRecordError naming the fault.
 */
export async function decodeSnapshotFile(
  bytes: Uint8Array,
  id: SnapshotFileId,
): Promise<{ lastContainedLogTimestamp: number; records: KraftMetadataRecord[] }> {
  const records: KraftMetadataRecord[] = [];
  let header: number | null = null;
  let footer = false;
  let pos = 0;
  while (pos < bytes.length) {
    const batch = await decodeRecordBatch(bytes, pos);
    const where = `snapshot ${snapshotFileName(id)}, batch at offset ${batch.header.baseOffset}`;
    if (footer) throw new ControlRecordError(`${where}: after the SnapshotFooter`);
    if (batch.header.partitionLeaderEpoch !== id.epoch) {
      throw new ControlRecordError(
        `${where}: epoch ${batch.header.partitionLeaderEpoch}, not the snapshot's ${id.epoch}`,
      );
    }
    if (isControl(batch.header.attributes)) {
      for (const record of batch.records) {
        const control = decodeControlRecord(record.key, record.value);
        if (control.type === 'SnapshotHeader' && header === null && pos === 0)
          header = control.lastContainedLogTimestamp;
        else if (control.type === 'SnapshotFooter' && header !== null) footer = true;
        else if (control.type !== 'KRaftVersion')
          throw new ControlRecordError(`${where}: ${control.type} out of place`);
      }
    } else {
      if (header === null) throw new ControlRecordError(`${where}: records before the SnapshotHeader`);
      for (const decoded of await decodeMetadataBatches(bytes.subarray(pos, pos + batch.size))) {
        records.push(...decoded.records);
      }
    }
    pos += batch.size;
  }
  if (header === null) throw new ControlRecordError(`snapshot ${snapshotFileName(id)}: no SnapshotHeader`);
  if (!footer)
    throw new ControlRecordError(`snapshot ${snapshotFileName(id)}: no SnapshotFooter (torn or unfinished)`);
  return { lastContainedLogTimestamp: header, records };
}
