// The producer state a partition log keeps as it appends, leader and follower alike (Kafka's
// ProducerStateManager beside UnifiedLog): per producer its epoch, its last batches (for the
// broker's duplicate check), its last marker's coordinator epoch and its open transaction; the
// transactions ended by a marker not yet below the high watermark (the last stable offset waits
// for them). The log writes it to `.snapshot` files at every roll and at close, and turns each
// abort marker that ends an open transaction into a `.txnindex` entry (producer-snapshot.ts).
//
// The rules are those of the broker's producer table's replay (src/coordinator/producer-state.ts),
// which loads from this state instead of scanning the log.

import { CONTROL_TYPE_ABORT, controlRecordAt } from '../coordinator/transactions/control.ts';
import { ATTRIBUTE, OFFSET, readInt64 } from '../records/index.ts';
import type { AbortedTxnEntry, ProducerSnapshotEntry } from './producer-snapshot.ts';

/** Batches remembered per producer for duplicate detection (Kafka's constant; a client has at most 5 in flight). */
export const PRODUCER_BATCHES_RETAINED = 5;
const SEQUENCE_SPACE = 2 ** 31;

export interface LoggedBatch {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestampMs: number;
}

export interface LogProducer {
  producerEpoch: number;
  /** Oldest first; at most PRODUCER_BATCHES_RETAINED, of the current epoch. */
  batches: LoggedBatch[];
  lastTimestampMs: number;
  /** Coordinator epoch of the producer's last marker here, -1 when none. */
  coordinatorEpoch: number;
}

/** A transaction ended by a marker (commit or abort) whose marker may not be below the high watermark yet. */
export interface CompletedTxn {
  readonly producerId: bigint;
  readonly firstOffset: number;
  readonly markerOffset: number;
}

/** What the broker's producer table and transaction state load from a log (no data scan). */
export interface ProducerStateView {
  readonly producers: ReadonlyMap<bigint, Readonly<LogProducer>>;
  /** Producer id → first offset of its open transaction. */
  readonly ongoing: ReadonlyMap<bigint, number>;
  /** Ended transactions whose marker is at or above the high watermark, in marker order. */
  readonly unreplicated: readonly CompletedTxn[];
  /** Every aborted transaction still in the log, in marker order (the `.txnindex` files). */
  readonly aborted: readonly AbortedTxnEntry[];
}

/** The fields of a stored batch that move producer state. */
export interface ProducerBatchFacts {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly baseOffset: number;
  readonly lastOffsetDelta: number;
  readonly maxTimestampMs: number;
  readonly isTransactional: boolean;
  readonly isControl: boolean;
  /** For a control batch: 0 abort, 1 commit. */
  readonly controlType: number;
  /** For a marker: the coordinator epoch it carries, else -1. */
  readonly coordinatorEpoch: number;
}

/** The producer facts of the whole batch at `position` of `buf` (its offsets already assigned), or null without a producer id. */
export function producerBatchFactsAt(buf: Uint8Array, position: number): ProducerBatchFacts | null {
  const producerId = readInt64(buf, position + OFFSET.producerId);
  if (producerId < 0) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const attributes = view.getInt16(position + OFFSET.attributes);
  const isControl = (attributes & ATTRIBUTE.control) !== 0;
  const control = isControl ? controlRecordAt(buf, position) : null;
  return {
    producerId: BigInt(producerId),
    producerEpoch: view.getInt16(position + OFFSET.producerEpoch),
    baseSequence: view.getInt32(position + OFFSET.baseSequence),
    baseOffset: readInt64(buf, position + OFFSET.baseOffset),
    lastOffsetDelta: view.getInt32(position + OFFSET.lastOffsetDelta),
    maxTimestampMs: readInt64(buf, position + OFFSET.maxTimestamp),
    isTransactional: (attributes & ATTRIBUTE.transactional) !== 0,
    isControl,
    controlType: control?.controlType ?? -1,
    coordinatorEpoch: control?.coordinatorEpoch ?? -1,
  };
}

export class LogProducerState {
  readonly #producers = new Map<bigint, LogProducer>();
  readonly #ongoing = new Map<bigint, number>();
  #completed: CompletedTxn[] = [];

  get producerCount(): number {
    return this.#producers.size;
  }

  clear(): void {
    this.#producers.clear();
    this.#ongoing.clear();
    this.#completed = [];
  }

  /**
   * Applies one appended batch; returns the transaction-index entry when it is an abort marker
   * that ends an open transaction of its producer.
   */
  apply(batch: ProducerBatchFacts): AbortedTxnEntry | null {
    if (batch.isControl) return this.#applyMarker(batch);
    const lastSequence =
      batch.baseSequence < 0 ? -1 : (batch.baseSequence + batch.lastOffsetDelta) % SEQUENCE_SPACE;
    let producer = this.#producers.get(batch.producerId);
    if (producer === undefined) {
      producer = {
        producerEpoch: batch.producerEpoch,
        batches: [],
        lastTimestampMs: -1,
        coordinatorEpoch: -1,
      };
      this.#producers.set(batch.producerId, producer);
    }
    if (batch.producerEpoch !== producer.producerEpoch) {
      producer.producerEpoch = batch.producerEpoch;
      producer.batches = [];
    }
    producer.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence,
      firstOffset: batch.baseOffset,
      lastOffset: batch.baseOffset + batch.lastOffsetDelta,
      timestampMs: batch.maxTimestampMs,
    });
    if (producer.batches.length > PRODUCER_BATCHES_RETAINED) producer.batches.shift();
    producer.lastTimestampMs = batch.maxTimestampMs;
    if (batch.isTransactional && !this.#ongoing.has(batch.producerId)) {
      this.#ongoing.set(batch.producerId, batch.baseOffset);
    }
    return null;
  }

  #applyMarker(batch: ProducerBatchFacts): AbortedTxnEntry | null {
    const producer = this.#producers.get(batch.producerId);
    if (producer === undefined) {
      this.#producers.set(batch.producerId, {
        producerEpoch: batch.producerEpoch,
        batches: [],
        lastTimestampMs: batch.maxTimestampMs,
        coordinatorEpoch: batch.coordinatorEpoch,
      });
    } else {
      if (batch.producerEpoch > producer.producerEpoch) {
        producer.producerEpoch = batch.producerEpoch;
        producer.batches = [];
        producer.lastTimestampMs = batch.maxTimestampMs;
      }
      if (batch.coordinatorEpoch > producer.coordinatorEpoch)
        producer.coordinatorEpoch = batch.coordinatorEpoch;
    }
    const firstOffset = this.#ongoing.get(batch.producerId);
    if (firstOffset === undefined) return null;
    this.#ongoing.delete(batch.producerId);
    this.#completed.push({ producerId: batch.producerId, firstOffset, markerOffset: batch.baseOffset });
    if (batch.controlType !== CONTROL_TYPE_ABORT) return null;
    return {
      producerId: batch.producerId,
      firstOffset,
      lastOffset: batch.baseOffset,
      lastStableOffset: this.#firstUndecidedOffset(batch.baseOffset + 1),
    };
  }

  /** The first offset of the oldest open transaction, or `fallback` when none (Kafka's LSO after a completion). */
  #firstUndecidedOffset(fallback: number): number {
    let first = fallback;
    for (const offset of this.#ongoing.values()) if (offset < first) first = offset;
    return first;
  }

  /**
   * Drops producers idle for `expirationMs` (their last batch's or marker's timestamp) with no
   * open transaction, as Kafka's `producer.id.expiration.ms`; returns how many.
   */
  expire(nowMs: number, expirationMs: number): number {
    let expired = 0;
    for (const [producerId, producer] of this.#producers) {
      if (this.#ongoing.has(producerId) || nowMs - producer.lastTimestampMs < expirationMs) continue;
      this.#producers.delete(producerId);
      expired++;
    }
    return expired;
  }

  /** Forgets ended transactions whose marker is below the high watermark. */
  onHighWatermark(highWatermark: number): void {
    if (this.#completed.length > 0 && this.#completed[0]!.markerOffset < highWatermark) {
      this.#completed = this.#completed.filter((t) => t.markerOffset >= highWatermark);
    }
  }

  /** The snapshot entries: each producer's last batch, in producer id order. */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const entries: ProducerSnapshotEntry[] = [];
    for (const [producerId, producer] of this.#producers) {
      const last = producer.batches.at(-1);
      entries.push({
        producerId,
        producerEpoch: producer.producerEpoch,
        lastSequence: last?.lastSequence ?? -1,
        lastOffset: last?.lastOffset ?? -1,
        offsetDelta: last === undefined ? 0 : last.lastOffset - last.firstOffset,
        timestampMs: producer.lastTimestampMs,
        coordinatorEpoch: producer.coordinatorEpoch,
        currentTxnFirstOffset: this.#ongoing.get(producerId) ?? -1,
      });
    }
    return entries.sort((a, b) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0));
  }

  /** Replaces the state with a snapshot's (each producer's last batch only, as in Kafka). */
  load(entries: readonly ProducerSnapshotEntry[]): void {
    this.clear();
    for (const e of entries) {
      const batches: LoggedBatch[] = [];
      if (e.lastSequence >= 0 && e.lastOffset >= 0) {
        batches.push({
          firstSequence: (e.lastSequence - e.offsetDelta + SEQUENCE_SPACE) % SEQUENCE_SPACE,
          lastSequence: e.lastSequence,
          firstOffset: e.lastOffset - e.offsetDelta,
          lastOffset: e.lastOffset,
          timestampMs: e.timestampMs,
        });
      }
      this.#producers.set(e.producerId, {
        producerEpoch: e.producerEpoch,
        batches,
        lastTimestampMs: e.timestampMs,
        coordinatorEpoch: e.coordinatorEpoch,
      });
      if (e.currentTxnFirstOffset >= 0) this.#ongoing.set(e.producerId, e.currentTxnFirstOffset);
    }
  }

  view(aborted: readonly AbortedTxnEntry[]): ProducerStateView {
    const producers = new Map<bigint, LogProducer>();
    for (const [id, p] of this.#producers) producers.set(id, { ...p, batches: [...p.batches] });
    return { producers, ongoing: new Map(this.#ongoing), unreplicated: [...this.#completed], aborted };
  }
}
