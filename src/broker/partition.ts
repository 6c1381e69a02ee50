/**
 * A partition replica held by this broker: its log, leader epoch and high watermark.
 * The leader stamps each appended batch with its base offset and leader epoch (and
 * LogAppendTime when the topic asks), as Kafka does; nothing else of the batch changes.
 * The high watermark is kept apart from the log end offset: with one replica it moves
 * to the log end after each append; with replication it will follow the ISR's fetches.
 */
import { KafkaErrors } from '../protocol/errors.ts';
import {
  type BatchInfo,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  TimestampType,
} from '../records/index.ts';
import type { TopicSettings } from './config.ts';
import type { BatchEntry, ReplicaLog } from './replica-log.ts';
import type { LocalPartition } from './services.ts';

export interface AppendResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  readonly logAppendTimeMs: number;
  readonly recordErrors: readonly { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

export class LocalReplica implements LocalPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partitionIndex: number;
  readonly log: ReplicaLog;
  #leaderEpoch: number;
  #highWatermark: number;
  /** Callbacks of fetches waiting for new data (long polling); each called once. */
  #waiters = new Set<() => void>();

  constructor(topic: string, topicId: string, partitionIndex: number, leaderEpoch: number, log: ReplicaLog) {
    this.topic = topic;
    this.topicId = topicId;
    this.partitionIndex = partitionIndex;
    this.#leaderEpoch = leaderEpoch;
    this.log = log;
    // One replica: everything in the log is committed.
    this.#highWatermark = log.logEndOffset;
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  get logStartOffset(): bigint {
    return BigInt(this.log.logStartOffset);
  }

  get logEndOffset(): bigint {
    return BigInt(this.log.logEndOffset);
  }

  get highWatermark(): bigint {
    return BigInt(this.#highWatermark);
  }

  get highWatermarkNumber(): number {
    return this.#highWatermark;
  }

  becomeLeader(leaderEpoch: number): void {
    if (leaderEpoch < this.#leaderEpoch) {
      throw new Error(`leader epoch of ${this.topic}-${this.partitionIndex} would go back`);
    }
    this.#leaderEpoch = leaderEpoch;
  }

  /**
   * Appends validated batches (`payload` holds them back to back, `batches` their
   * places) as leader. `payload` is rewritten in place: base offsets, epochs and, under
   * LogAppendTime, timestamps.
   */
  appendAsLeader(
    payload: Uint8Array,
    batches: readonly BatchInfo[],
    settings: TopicSettings,
    nowMs: number,
  ): AppendResult {
    const failure = this.#checkBatches(payload, batches, settings, nowMs);
    if (failure !== null) return failure;
    let nextOffset = this.log.logEndOffset;
    const baseOffset = nextOffset;
    const entries: BatchEntry[] = [];
    for (const batch of batches) {
      const header = batch.header;
      setBaseOffset(payload, batch.position, nextOffset);
      setPartitionLeaderEpoch(payload, batch.position, this.#leaderEpoch);
      let maxTimestamp = header.maxTimestamp;
      if (settings.logAppendTime) {
        setLogAppendTime(payload, batch.position, nowMs);
        maxTimestamp = nowMs;
      }
      entries.push({
        baseOffset: nextOffset,
        lastOffset: nextOffset + header.lastOffsetDelta,
        position: batch.position,
        size: batch.size,
        maxTimestamp,
        leaderEpoch: this.#leaderEpoch,
      });
      nextOffset += header.lastOffsetDelta + 1;
    }
    this.log.append(payload, entries);
    this.#advanceHighWatermark(this.log.logEndOffset);
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset,
      lastOffset: nextOffset - 1,
      logAppendTimeMs: settings.logAppendTime ? nowMs : -1,
      recordErrors: [],
    };
  }

  #checkBatches(
    payload: Uint8Array,
    batches: readonly BatchInfo[],
    settings: TopicSettings,
    nowMs: number,
  ): AppendResult | null {
    for (let index = 0; index < batches.length; index++) {
      const batch = batches[index]!;
      if (batch.size > settings.maxMessageBytes) {
        return failed(
          KafkaErrors.MESSAGE_TOO_LARGE.code,
          `The batch of ${batch.size} bytes is larger than max.message.bytes (${settings.maxMessageBytes})`,
        );
      }
      const header = batch.header;
      const timestampType = header.attributes & 0x08 ? TimestampType.logAppendTime : TimestampType.createTime;
      if (!settings.logAppendTime && timestampType === TimestampType.createTime && header.maxTimestamp >= 0) {
        const tooOld = nowMs - header.maxTimestamp > settings.timestampBeforeMaxMs;
        const tooNew = header.maxTimestamp - nowMs > settings.timestampAfterMaxMs;
        if (tooOld || tooNew) {
          const message = `Timestamp ${header.maxTimestamp} of batch ${index} is out of range (now ${nowMs})`;
          return {
            ...failed(KafkaErrors.INVALID_TIMESTAMP.code, message),
            recordErrors: [{ batchIndex: 0, batchIndexErrorMessage: message }],
          };
        }
      }
    }
    void payload;
    return null;
  }

  #advanceHighWatermark(offset: number): void {
    if (offset < this.#highWatermark) throw new Error(`high watermark of ${this.topic} would go back`);
    if (offset > this.log.logEndOffset) throw new Error(`high watermark of ${this.topic} would pass the LEO`);
    if (offset === this.#highWatermark) return;
    this.#highWatermark = offset;
    if (this.#waiters.size > 0) {
      const waiters = this.#waiters;
      this.#waiters = new Set();
      for (const wake of waiters) wake();
    }
  }

  /** Registers a one-shot callback run when the high watermark next moves; returns its remover. */
  onNewData(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  /** Whole batches from `offset`, up to the high watermark. */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Uint8Array | null {
    return this.log.read(offset, this.#highWatermark, maxBytes, minOneBatch);
  }

  /** DeleteRecords: moves the log start offset (never past the high watermark). */
  deleteRecordsBefore(offset: number): number {
    this.log.advanceLogStart(Math.min(offset, this.#highWatermark));
    return this.log.logStartOffset;
  }
}

function failed(errorCode: number, errorMessage: string): AppendResult {
  return { errorCode, errorMessage, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, recordErrors: [] };
}
