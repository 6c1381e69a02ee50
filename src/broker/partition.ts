/**
 * A partition replica held by this broker: its log (src/storage `PartitionLog`:
 * segments, indexes, epoch cache, retention, compaction, recovery), its leader epoch
 * and its high watermark. The leader stamps each appended batch with its base offset
 * and leader epoch (and LogAppendTime when the topic asks), as Kafka does; nothing else
 * of the batch changes. The high watermark is kept apart from the log end offset: with
 * one replica it moves to the log end after each append. A replicated partition
 * (replicas > 1) is driven by the ReplicaManager (replica-manager.ts): the replication core
 * (`replication`, src/replication) decides its role, leader epoch and high watermark, which
 * follows the ISR's fetches.
 */
import { KafkaErrors } from '../protocol/errors.ts';
import { type BatchInfo, TimestampType } from '../records/index.ts';
import type { PartitionReplica } from '../replication/replica.ts';
import type { PartitionLog } from '../storage/index.ts';
import type { TopicSettings } from './config.ts';
import type { BrokerObserver } from './observer.ts';
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

/** Fetch waiters per partition: a bound, so a flood of idle consumers cannot grow memory without end. */
const WAITERS_MAX = 10_000;

export class LocalReplica implements LocalPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partitionIndex: number;
  readonly log: PartitionLog;
  readonly #observer: BrokerObserver | undefined;
  #leaderEpoch: number;
  /** Callbacks of fetches waiting for new data (long polling); each called once. */
  #waiters = new Set<() => void>();
  /** Callbacks of follower fetches waiting for an append (the log end moving); each called once. */
  #appendWaiters = new Set<() => void>();
  /**
   * The replication core of a replicated partition (set by the ReplicaManager), null for a
   * partition with one replica. It owns the role, the leader epoch and the high watermark.
   */
  replication: PartitionReplica<Buffer> | null = null;
  readonly replicated: boolean;
  /**
   * Whether this broker is one of the partition's replicas (set by the ReplicaManager from each
   * image; a single broker hosts everything). A broker that is not a replica never leads: clients
   * get NOT_LEADER_OR_FOLLOWER, as from Kafka, instead of an unreplicated log that takes writes.
   */
  hosted = true;

  constructor(
    topic: string,
    topicId: string,
    partitionIndex: number,
    leaderEpoch: number,
    log: PartitionLog,
    observer?: BrokerObserver,
    replicated = false,
  ) {
    this.#observer = observer;
    this.topic = topic;
    this.topicId = topicId;
    this.partitionIndex = partitionIndex;
    this.log = log;
    this.replicated = replicated;
    this.#leaderEpoch = -1;
    // A replicated partition waits for the ReplicaManager to make it leader or follower.
    if (replicated) return;
    this.becomeLeader(leaderEpoch);
    // One replica: everything in the log is committed.
    log.maybeIncrementHighWatermark(log.logEndOffset);
  }

  get leaderEpoch(): number {
    return this.replication?.leaderEpoch ?? this.#leaderEpoch;
  }

  /** Whether clients may produce to and consume from this replica (a follower refuses them). */
  get isLeader(): boolean {
    if (!this.hosted) return false;
    return this.replication?.isLeader ?? !this.replicated;
  }

  get logStartOffset(): bigint {
    return BigInt(this.log.logStartOffset);
  }

  get logEndOffset(): bigint {
    return BigInt(this.log.logEndOffset);
  }

  get highWatermark(): bigint {
    return BigInt(this.log.highWatermark);
  }

  get highWatermarkNumber(): number {
    return this.log.highWatermark;
  }

  /** Takes leadership at `leaderEpoch`, recording where the epoch starts (KIP-101). */
  becomeLeader(leaderEpoch: number): void {
    if (leaderEpoch < this.#leaderEpoch) {
      throw new Error(`leader epoch of ${this.topic}-${this.partitionIndex} would go back`);
    }
    this.#leaderEpoch = leaderEpoch;
    if (leaderEpoch > this.log.latestEpoch())
      this.log.assignEpochStartOffset(leaderEpoch, this.log.logEndOffset);
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
    const failure = checkBatches(batches, settings, nowMs);
    if (failure !== null) return failure;
    const bytes = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const appended = this.log.appendAsLeader(bytes, this.leaderEpoch, batches);
    // Replicated: the HW moves when the ISR has the records (the replication core decides).
    if (this.replication === null) this.#advanceHighWatermark(this.log.logEndOffset);
    this.wakeAppendWaiters();
    if (this.#observer !== undefined) {
      let records = 0;
      for (const batch of batches) records += batch.header.recordCount;
      this.#observer.appended(this.topic, records, bytes.length);
    }
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset: appended.baseOffset,
      lastOffset: appended.lastOffset,
      logAppendTimeMs: appended.logAppendTimeMs,
      recordErrors: [],
    };
  }

  #advanceHighWatermark(offset: number): void {
    if (!this.log.maybeIncrementHighWatermark(offset)) return;
    if (this.#waiters.size > 0) {
      const waiters = this.#waiters;
      this.#waiters = new Set();
      for (const wake of waiters) wake();
    }
  }

  /** The replication core moved the high watermark (either way on a follower): wakes waiting fetches. */
  setHighWatermark(offset: number): void {
    const before = this.log.highWatermark;
    this.log.updateHighWatermark(offset);
    if (this.log.highWatermark > before && this.#waiters.size > 0) {
      const waiters = this.#waiters;
      this.#waiters = new Set();
      for (const wake of waiters) wake();
    }
  }

  wakeAppendWaiters(): void {
    if (this.#appendWaiters.size === 0) return;
    const waiters = this.#appendWaiters;
    this.#appendWaiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Registers a one-shot callback run at the next append (follower fetches long-poll on it). */
  onAppend(wake: () => void): () => void {
    if (this.#appendWaiters.size >= WAITERS_MAX) return () => {};
    this.#appendWaiters.add(wake);
    return () => this.#appendWaiters.delete(wake);
  }

  /** Registers a one-shot callback run when the high watermark next moves; returns its remover. */
  onNewData(wake: () => void): () => void {
    if (this.#waiters.size >= WAITERS_MAX) {
      // Over the bound the fetch simply waits out its max wait time.
      return () => {};
    }
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  /**
   * Whole batches from `offset`, up to `maxOffset` (the high watermark, or the last stable
   * offset for read_committed); null when none.
   */
  read(
    offset: number,
    maxBytes: number,
    minOneBatch: boolean,
    maxOffset: number = this.log.highWatermark,
  ): Uint8Array | null {
    if (offset >= maxOffset || offset < this.log.logStartOffset) return null;
    const result = this.log.read(offset, { maxBytes, maxOffset, minOneBatch });
    if (result.records.length === 0) return null;
    this.#observer?.read(this.topic, result.records.length);
    return result.records;
  }

  /** DeleteRecords: moves the log start offset (never past the high watermark). */
  deleteRecordsBefore(offset: number): number {
    return this.log.deleteRecordsBefore(Math.min(offset, this.log.highWatermark));
  }
}

function checkBatches(
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
  return null;
}

function failed(errorCode: number, errorMessage: string): AppendResult {
  return { errorCode, errorMessage, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, recordErrors: [] };
}
