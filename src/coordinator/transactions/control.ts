/**
 * Control batches (transaction markers), as Kafka writes them: attributes transactional and
 * control, the producer id and epoch, base sequence -1, one uncompressed record whose key is
 * int16 version 0 + int16 type (0 abort, 1 commit) and whose value is int16 version 0 + int32
 * coordinator epoch.
 */
import {
  BATCH_HEADER_BYTES,
  Cursor,
  encodeRecordBatch,
  readVarint,
  readVarlong,
} from '../../records/index.ts';

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

export function encodeMarkerBatch(marker: {
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestampMs: number;
}): Promise<Buffer> {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(marker.commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  return encodeRecordBatch({
    transactional: true,
    control: true,
    producerId: Number(marker.producerId),
    producerEpoch: marker.producerEpoch,
    baseSequence: -1,
    records: [{ timestamp: marker.timestampMs, key, value }],
  });
}

/** The control type (0 abort, 1 commit) of the control batch at `position`, read from its first record's key. */
export function controlTypeAt(buf: Uint8Array, position: number): number {
  return controlRecordAt(buf, position).controlType;
}

/**
 * The control type and, for a transaction marker, the coordinator epoch (-1 when the value is
 * not a marker's) of the control batch at `position`, read from its first record.
 */
export function controlRecordAt(
  buf: Uint8Array,
  position: number,
): { readonly controlType: number; readonly coordinatorEpoch: number } {
  const c = new Cursor(buf, position + BATCH_HEADER_BYTES);
  readVarint(c); // record length
  c.pos += 1; // attributes
  readVarlong(c); // timestamp delta
  readVarint(c); // offset delta
  const keyLength = readVarint(c);
  if (keyLength < 4 || c.pos + keyLength > c.end)
    throw new Error(`control record key of ${keyLength} bytes at ${position}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const controlType = view.getInt16(c.pos + 2);
  c.pos += keyLength;
  const valueLength = readVarint(c);
  const coordinatorEpoch = valueLength >= 6 && c.pos + 6 <= c.end ? view.getInt32(c.pos + 2) : -1;
  return { controlType, coordinatorEpoch };
}
