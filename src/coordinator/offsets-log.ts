/**
 * The storage port of the group coordinator: the partitions of the compacted
 * `__consumer_offsets` topic, as the broker provides them. The coordinator appends its
 * records (offset commits, group metadata, tombstones) and, when it becomes the
 * coordinator of a partition, reads that partition from its start to rebuild its state.
 * Unit tests use `MemoryOffsetsLog`; the broker adapts its partition logs to this port.
 */
import type { CoordinatorRecord } from './records.ts';

export const OFFSETS_TOPIC_NAME = '__consumer_offsets';

/** The producer of a transactional append (TxnOffsetCommit). */
export interface TransactionalProducer {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface OffsetsLog {
  /**
   * Appends the records to one partition as one batch (key and value bytes as given;
   * value null is a tombstone) and resolves once they are durable as acks=-1 would
   * make them. Rejects when the partition cannot take them (not leader, disk error).
   */
  append(
    partition: number,
    records: readonly CoordinatorRecord[],
    timestampMs: number,
    transactional?: TransactionalProducer,
  ): Promise<void>;
  /**
   * Every record of the partition from its log start offset, in offset order. Records of a
   * transaction come when its commit marker does (none for an aborted one); those of a
   * transaction still open at the end carry `openTransactionProducerId`.
   */
  read(partition: number): AsyncIterable<CoordinatorRecord> | Iterable<CoordinatorRecord>;
}

/** An in-memory `OffsetsLog` (no compaction: it keeps every record, which loads back the same). */
export class MemoryOffsetsLog implements OffsetsLog {
  readonly partitions = new Map<number, CoordinatorRecord[]>();
  /** When set, the next append rejects with it (to test storage failures). */
  failNextAppend: Error | null = null;

  async append(partition: number, records: readonly CoordinatorRecord[]): Promise<void> {
    if (this.failNextAppend !== null) {
      const error = this.failNextAppend;
      this.failNextAppend = null;
      throw error;
    }
    let log = this.partitions.get(partition);
    if (log === undefined) {
      log = [];
      this.partitions.set(partition, log);
    }
    log.push(...records);
  }

  read(partition: number): Iterable<CoordinatorRecord> {
    return [...(this.partitions.get(partition) ?? [])];
  }
}

/** Java's String.hashCode: 31-based over UTF-16 code units, wrapping at 32 bits. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * The `__consumer_offsets` partition of a group: `Utils.abs(groupId.hashCode) % n` as
 * Kafka computes it (Utils.abs maps Integer.MIN_VALUE to 0).
 */
export function partitionForGroup(groupId: string, numPartitions: number): number {
  const hash = javaStringHashCode(groupId);
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % numPartitions;
}
