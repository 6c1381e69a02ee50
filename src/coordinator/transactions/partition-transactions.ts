/**
 * The partition side of transactions, for every local partition: the open transaction of
 * each producer (its first offset), the aborted transactions (producer id, first offset,
 * offset of the abort marker), and from them the last stable offset. The produce path tells
 * it about transactional appends, the marker writer about markers; at start and at a new
 * leadership each partition is loaded from its log (`loadPartition`: the open transactions the
 * log tracks as it appends, its `.txnindex` files), so a restart, clean or `kill -9`, or a
 * failover rebuilds it without a scan of the data.
 *
 * Kafka's rules: the LSO is the smallest first offset of any open transaction, or of one whose
 * marker is not yet below the high watermark (Kafka's unreplicated transactions: on a replicated
 * partition the marker is appended before the ISR has it), or the high watermark when none is
 * open; so a read_committed reader never sees a transaction's records before its marker is
 * replicated, and ListOffsets at the HW then counts the marker. A read_committed fetch returns data below the LSO only and
 * lists the aborted transactions overlapping what it returns, so the client can drop them.
 */

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: number;
  /** Offset of the abort marker. */
  readonly lastOffset: number;
}

interface PartitionState {
  /** producer id → first offset of its open transaction. */
  readonly open: Map<bigint, number>;
  /** In marker order (so by lastOffset). */
  aborted: AbortedTransaction[];
  /** Ended transactions whose marker is not yet below the high watermark, in marker order. */
  unreplicated: { readonly firstOffset: number; readonly markerOffset: number }[];
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class PartitionTransactions {
  readonly #partitions = new Map<string, PartitionState>();

  #state(topic: string, partition: number): PartitionState {
    const key = keyOf(topic, partition);
    let state = this.#partitions.get(key);
    if (state === undefined) {
      state = { open: new Map(), aborted: [], unreplicated: [] };
      this.#partitions.set(key, state);
    }
    return state;
  }

  /** A transactional data batch was appended at `baseOffset`. */
  onTransactionalAppend(topic: string, partition: number, producerId: bigint, baseOffset: number): void {
    const state = this.#state(topic, partition);
    if (!state.open.has(producerId)) state.open.set(producerId, baseOffset);
  }

  /** A commit or abort marker of `producerId` was appended at `markerOffset`: its transaction here ends. */
  onMarker(
    topic: string,
    partition: number,
    producerId: bigint,
    commit: boolean,
    markerOffset: number,
  ): void {
    const state = this.#state(topic, partition);
    const firstOffset = state.open.get(producerId);
    state.open.delete(producerId);
    if (firstOffset !== undefined) state.unreplicated.push({ firstOffset, markerOffset });
    if (commit || firstOffset === undefined) return;
    if (markerOffset < firstOffset) {
      throw new Error(`abort marker at ${markerOffset} before its transaction's first offset ${firstOffset}`);
    }
    state.aborted.push({ producerId, firstOffset, lastOffset: markerOffset });
  }

  /**
   * The last stable offset: the first offset of the oldest open transaction or of the oldest
   * ended one whose marker is not below the high watermark yet, else the high watermark.
   */
  lastStableOffset(topic: string, partition: number, highWatermark: number): number {
    const state = this.#partitions.get(keyOf(topic, partition));
    let lso = highWatermark;
    if (state === undefined) return lso;
    if (state.unreplicated.length > 0 && state.unreplicated[0]!.markerOffset < highWatermark) {
      state.unreplicated = state.unreplicated.filter((t) => t.markerOffset >= highWatermark);
    }
    for (const t of state.unreplicated) if (t.firstOffset < lso) lso = t.firstOffset;
    for (const first of state.open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** First offset of the producer's open transaction in the partition, -1 when none. */
  openTransactionStart(topic: string, partition: number, producerId: bigint): number {
    return this.#partitions.get(keyOf(topic, partition))?.open.get(producerId) ?? -1;
  }

  /** Open transactions of a partition (producer id → first offset). */
  openTransactions(topic: string, partition: number): ReadonlyMap<bigint, number> {
    return this.#partitions.get(keyOf(topic, partition))?.open ?? new Map();
  }

  /**
   * The aborted transactions overlapping [fromOffset, toOffset): those whose marker is at or
   * after `fromOffset` and whose first offset is below `toOffset`. Entries wholly below
   * `logStartOffset` are dropped for good (their data is gone).
   */
  abortedTransactions(
    topic: string,
    partition: number,
    fromOffset: number,
    toOffset: number,
    logStartOffset: number,
  ): AbortedTransaction[] {
    const state = this.#partitions.get(keyOf(topic, partition));
    if (state === undefined) return [];
    if (state.aborted.length > 0 && state.aborted[0]!.lastOffset < logStartOffset) {
      state.aborted = state.aborted.filter((a) => a.lastOffset >= logStartOffset);
    }
    return state.aborted.filter((a) => a.lastOffset >= fromOffset && a.firstOffset < toOffset);
  }

  /** Replaces a partition's transactions with what its log holds. */
  loadPartition(
    topic: string,
    partition: number,
    log: {
      readonly ongoing: ReadonlyMap<bigint, number>;
      readonly unreplicated: readonly { readonly firstOffset: number; readonly markerOffset: number }[];
      readonly aborted: readonly AbortedTransaction[];
    },
  ): void {
    this.#partitions.set(keyOf(topic, partition), {
      open: new Map(log.ongoing),
      aborted: log.aborted.map((a) => ({
        producerId: a.producerId,
        firstOffset: a.firstOffset,
        lastOffset: a.lastOffset,
      })),
      unreplicated: log.unreplicated.map((t) => ({
        firstOffset: t.firstOffset,
        markerOffset: t.markerOffset,
      })),
    });
  }

  /** Forgets a partition (topic deleted). */
  removePartition(topic: string, partition: number): void {
    this.#partitions.delete(keyOf(topic, partition));
  }
}
