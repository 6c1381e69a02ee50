/**
 * The replication core's log (`ReplicaLog`, src/replication) over a broker partition's real
 * `PartitionLog` (src/storage). An entry is a run of whole record batches as stored: `offset` its
 * first offset, `epoch` the first batch's partition leader epoch, `value` the bytes. Leader
 * appends go through `LocalReplica.appendAsLeader` (validated, offsets and epoch stamped), then
 * `PartitionReplica.awaitCommit`; followers append the fetched bytes as they are.
 */

import { batchSizeAt, readBatchHeader } from '../records/batch.ts';
import {
  type ReplicaLog,
  ReplicationInvariantError,
  UNDEFINED_EPOCH,
  UNDEFINED_OFFSET,
} from '../replication/log.ts';
import type { LogEntry } from '../replication/types.ts';
import type { LocalReplica } from './partition.ts';
import type { ProducerStateService } from './services.ts';

/** Where a batch header keeps its partition leader epoch (RecordBatch v2). */
const PARTITION_LEADER_EPOCH_AT = 12;

export interface PartitionReplicaLogOptions {
  /** Bytes per follower fetch answer for this partition (replica.fetch.max.bytes; the first batch goes whole). */
  readonly readBytesMax: number;
  /**
   * Count only fsynced records toward the HW (the leader) and fsync before fetching again (a
   * follower), so an acknowledged record survives a machine crash (src/replication README). Off:
   * Kafka's default, the page cache and the other replicas keep it.
   */
  readonly flushBeforeAcknowledge: boolean;
  /**
   * The broker's idempotent-producer table (the PRODUCER_STATE slot), told of every idempotent
   * batch a follower appends, so that as a new leader it dedupes a retried batch as Kafka's
   * ProducerStateManager does on followers. Transactional and control batches are left out: their
   * transaction state needs the markers, which the coordinator writes on the leader.
   */
  readonly producerState?: () => ProducerStateService | undefined;
}

export class PartitionReplicaLog implements ReplicaLog<Buffer> {
  readonly #replica: LocalReplica;
  readonly #options: PartitionReplicaLogOptions;

  constructor(replica: LocalReplica, options: PartitionReplicaLogOptions) {
    this.#replica = replica;
    this.#options = options;
  }

  get logEndOffset(): number {
    return this.#replica.log.logEndOffset;
  }
  get flushedEndOffset(): number {
    const log = this.#replica.log;
    return this.#options.flushBeforeAcknowledge
      ? Math.min(log.recoveryPoint, log.logEndOffset)
      : log.logEndOffset;
  }
  get highWatermark(): number {
    return this.#replica.log.highWatermark;
  }
  /**
   * The latest epoch holding a record. Kafka's UnifiedLog.truncateTo drops an epoch a former leader
   * assigned at its log end without appending to it; PartitionLog.truncateTo returns early at or past
   * the log end, so that epoch stays in the cache. Sent as LastFetchedEpoch it made the new leader
   * (which never saw it) answer the same divergence for ever; skipping it asks as Kafka's follower would.
   */
  latestEpoch(): number {
    const log = this.#replica.log;
    const entries = log.epochEntries();
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.startOffset < log.logEndOffset) return entry.epoch;
    }
    return UNDEFINED_EPOCH;
  }
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    if (epoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    return this.#replica.log.endOffsetForEpoch(epoch);
  }
  assignEpochStartOffset(epoch: number, offset: number): void {
    if (epoch > this.#replica.log.latestEpoch()) this.#replica.log.assignEpochStartOffset(epoch, offset);
  }
  appendAsLeader(): LogEntry<Buffer> {
    throw new ReplicationInvariantError(
      'the broker appends through LocalReplica.appendAsLeader and PartitionReplica.awaitCommit',
    );
  }
  appendAsFollower(entries: readonly LogEntry<Buffer>[]): void {
    for (const entry of entries) {
      if (entry.value.length === 0) continue;
      this.#replica.log.appendAsFollower(entry.value);
      this.#recordProducers(entry.value);
    }
    this.#replica.wakeAppendWaiters();
  }

  #recordProducers(batches: Buffer): void {
    const table = this.#options.producerState?.();
    if (table === undefined) return;
    for (let position = 0; position + 61 <= batches.length; ) {
      const size = batchSizeAt(batches, position);
      const header = readBatchHeader(batches, position);
      position += size;
      // Transactional (0x10) and control (0x20) batches: see `producerState`.
      if (header.producerId < 0 || (header.attributes & 0x30) !== 0) continue;
      table.recordAppend(
        {
          topic: this.#replica.topic,
          partition: this.#replica.partitionIndex,
          producerId: BigInt(header.producerId),
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
          lastSequence: (header.baseSequence + header.lastOffsetDelta) % 0x80000000,
          recordCount: header.recordCount,
          isTransactional: false,
        },
        BigInt(header.baseOffset),
        BigInt(header.baseOffset + header.lastOffsetDelta),
        BigInt(header.maxTimestamp),
      );
    }
  }
  read(fromOffset: number): LogEntry<Buffer>[] {
    const log = this.#replica.log;
    if (fromOffset >= log.logEndOffset || fromOffset < log.logStartOffset) return [];
    const result = log.read(fromOffset, { maxBytes: this.#options.readBytesMax, minOneBatch: true });
    if (result.records.length === 0) return [];
    const epoch = result.records.readInt32BE(PARTITION_LEADER_EPOCH_AT);
    return [{ offset: result.firstOffset, epoch, value: result.records }];
  }
  entryAt(offset: number): LogEntry<Buffer> | undefined {
    return this.read(offset)[0];
  }
  truncateTo(offset: number): void {
    const log = this.#replica.log;
    if (offset >= log.logEndOffset) return;
    if (offset < log.highWatermark)
      throw new ReplicationInvariantError(
        `${log.topic}-${log.partition}: truncation to ${offset} below the high watermark ${log.highWatermark}`,
      );
    log.truncateTo(offset);
  }
  updateHighWatermark(offset: number): void {
    if (offset > this.#replica.log.logEndOffset)
      throw new ReplicationInvariantError(
        `high watermark ${offset} above the log end ${this.#replica.log.logEndOffset}`,
      );
    this.#replica.setHighWatermark(offset);
  }
  flush(): void {
    const log = this.#replica.log;
    // PartitionLog.flush always fsyncs and writes its checkpoint: only when something is unflushed.
    if (this.#options.flushBeforeAcknowledge && log.recoveryPoint < log.logEndOffset) log.flush();
  }
}
