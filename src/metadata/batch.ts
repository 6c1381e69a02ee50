/**
 * Metadata records in record batches, as Kafka's metadata log holds them: a v2 batch (CRC32C, no
 * compression, no producer) whose partition leader epoch is the Raft epoch that appended it, one
 * record per metadata record, each with a null key and the ApiMessageAndVersion bytes as its value.
 */
import { decodeRecordBatches, encodeRecordBatch, isControl } from '../records/index.ts';
import { decodeMetadataRecord, encodeMetadataRecord, type KraftMetadataRecord } from './codec.ts';

export interface MetadataBatch {
  readonly baseOffset: number;
  /** The Raft epoch of the leader that appended the batch (its partition leader epoch). */
  readonly epoch: number;
  readonly timestampMs: number;
  readonly records: readonly KraftMetadataRecord[];
}

/** One batch of metadata records; record i sits at `baseOffset + i`. */
export function encodeMetadataBatch(batch: MetadataBatch): Promise<Buffer> {
  return encodeRecordBatch({
    baseOffset: batch.baseOffset,
    partitionLeaderEpoch: batch.epoch,
    records: batch.records.map((record) => ({
      timestamp: batch.timestampMs,
      key: null,
      value: encodeMetadataRecord(record),
    })),
  });
}

/** The data batches of `bytes` as metadata records (control batches are not metadata: skipped). */
export async function decodeMetadataBatches(bytes: Uint8Array): Promise<MetadataBatch[]> {
  const batches: MetadataBatch[] = [];
  for (const batch of await decodeRecordBatches(bytes)) {
    if (isControl(batch.header.attributes)) continue;
    batches.push({
      baseOffset: batch.header.baseOffset,
      epoch: batch.header.partitionLeaderEpoch,
      timestampMs: batch.header.baseTimestamp,
      records: batch.records.map((record) => decodeMetadataRecord(record.value ?? new Uint8Array(0))),
    });
  }
  return batches;
}
