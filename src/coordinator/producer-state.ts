/**
 * Idempotent producers: producer id allocation (InitProducerId) and, per producer and
 * partition, the sequence checks Kafka's ProducerStateManager makes on every produced
 * batch. The produce path calls `checkAppend` before appending (append / duplicate /
 * error) and `recordAppend` after; at start and when this broker becomes a partition's leader
 * it loads each log's producer state (`loadPartition`: kept by the log as it appends, from its
 * last `.snapshot` and the batches after it, src/storage), so deduplication survives a restart
 * and a failover without a scan of the log.
 *
 * Kafka's rules, kept here:
 * - the last 5 batches of each producer and partition are remembered (a client has at most
 *   5 in flight); a batch equal to one of them (same epoch, same sequence range) is a retry:
 *   it is answered with the original offsets and not appended again;
 * - an older epoch than the last seen is INVALID_PRODUCER_EPOCH;
 * - with the same epoch, the first sequence must follow the last one (wrapping at 2^31),
 *   otherwise OUT_OF_ORDER_SEQUENCE_NUMBER; a new epoch must start at sequence 0, also when a
 *   marker brought the epoch (no batch of it yet);
 * - a producer with no state in the partition (new, or expired) may start at any sequence
 *   (Kafka 2.5+ no longer answers UNKNOWN_PRODUCER_ID; KIP-360).
 */
import type { ProducerAppendDecision, ProducerBatchInfo, ProducerStateService } from '../broker/services.ts';
import { ErrorCode } from '../protocol/errors.ts';
import { type LogProducer, PRODUCER_BATCHES_RETAINED } from '../storage/index.ts';

/** How many batches per producer and partition are kept for duplicate detection (Kafka's constant; the log keeps as many). */
export const BATCHES_RETAINED_PER_PRODUCER = PRODUCER_BATCHES_RETAINED;

const SEQUENCE_MAX = 2_147_483_647;

interface BatchMetadata {
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly timestampMs: bigint;
}

interface ProducerEntry {
  producerEpoch: number;
  /** Oldest first; at most BATCHES_RETAINED_PER_PRODUCER. */
  batches: BatchMetadata[];
  lastTimestampMs: number;
  /** The coordinator epoch of the producer's last marker here, -1 when none. */
  coordinatorEpoch: number;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === SEQUENCE_MAX);
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class ProducerStateTable implements ProducerStateService {
  /** partitionKey → producer id → entry. */
  readonly #partitions = new Map<string, Map<bigint, ProducerEntry>>();

  #entries(topic: string, partition: number, create: boolean): Map<bigint, ProducerEntry> | undefined {
    const key = partitionKey(topic, partition);
    let entries = this.#partitions.get(key);
    if (entries === undefined && create) {
      entries = new Map();
      this.#partitions.set(key, entries);
    }
    return entries;
  }

  /** Sequence and epoch checks; a transactional batch is checked against its transaction before (src/coordinator/transactions). */
  checkAppend(batch: ProducerBatchInfo): ProducerAppendDecision {
    const entry = this.#entries(batch.topic, batch.partition, false)?.get(batch.producerId);
    if (entry === undefined) {
      // Transaction version 2 starts every transaction's sequences at 0 on every partition: with no
      // state here, a later batch must not be taken before the first (refused CONCURRENT_TRANSACTIONS
      // by the implicit add while the ones after it passed), or the first can never follow (Kafka
      // 4.1.1's ProducerAppendInfo.checkSequence; seen with the Java client, src/bench/eos.ts).
      if (batch.supportsEpochBump === true && batch.baseSequence !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          errorMessage: `Invalid sequence number for producer ${batch.producerId} in partition ${batch.topic}-${batch.partition}: ${batch.baseSequence} (incoming seq. number). Expected sequence 0 for transactions v2 idempotent producer with no existing state.`,
        };
      }
      // Otherwise a new producer here, or one whose state expired: any sequence is accepted.
      return { kind: 'append' };
    }
    if (batch.producerEpoch < entry.producerEpoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        errorMessage: `Epoch of producer ${batch.producerId} is ${batch.producerEpoch}, smaller than the last seen epoch ${entry.producerEpoch}`,
      };
    }
    if (batch.producerEpoch === entry.producerEpoch) {
      const duplicate = entry.batches.find(
        (b) => b.firstSequence === batch.baseSequence && b.lastSequence === batch.lastSequence,
      );
      if (duplicate !== undefined) {
        return {
          kind: 'duplicate',
          baseOffset: duplicate.firstOffset,
          logAppendTimeMs: duplicate.timestampMs,
        };
      }
      // An entry without batches took its epoch from a marker (KIP-890 TV2: every transaction's
      // marker carries the next epoch): that epoch's first batch is sequence 0, as Kafka 4.1.1's
      // ProducerAppendInfo.checkSequence has it (the current end sequence is then -1). Taking any
      // sequence let a later batch overtake the first one, answered CONCURRENT_TRANSACTIONS and
      // retried, which then got OUT_OF_ORDER_SEQUENCE_NUMBER on every retry (test/eos, issue 13).
      const lastSequence = entry.batches.at(-1)?.lastSequence ?? -1;
      if (!inSequence(lastSequence, batch.baseSequence)) {
        return outOfOrder(batch, `${lastSequence} (current end sequence number)`);
      }
      return { kind: 'append' };
    }
    // A bumped epoch starts its sequences again at 0.
    if (batch.baseSequence !== 0) return outOfOrder(batch, `0 expected for new epoch ${batch.producerEpoch}`);
    return { kind: 'append' };
  }

  recordAppend(batch: ProducerBatchInfo, baseOffset: bigint, lastOffset: bigint, timestampMs: bigint): void {
    this.#record(batch.topic, batch.partition, batch.producerId, batch.producerEpoch, {
      firstSequence: batch.baseSequence,
      lastSequence: batch.lastSequence,
      firstOffset: baseOffset,
      lastOffset,
      timestampMs,
    });
  }

  /**
   * A transaction marker of the producer was written: a marker with a newer epoch (the
   * coordinator fenced the producer) makes it the partition's epoch, so older batches are refused.
   */
  recordMarker(
    topic: string,
    partition: number,
    producerId: bigint,
    producerEpoch: number,
    timestampMs: number,
    coordinatorEpoch = -1,
  ): void {
    const entries = this.#entries(topic, partition, true) as Map<bigint, ProducerEntry>;
    const entry = entries.get(producerId);
    if (entry === undefined) {
      entries.set(producerId, {
        producerEpoch,
        batches: [],
        lastTimestampMs: timestampMs,
        coordinatorEpoch,
      });
      return;
    }
    if (producerEpoch > entry.producerEpoch) {
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
      entry.lastTimestampMs = timestampMs;
    }
    if (coordinatorEpoch > entry.coordinatorEpoch) entry.coordinatorEpoch = coordinatorEpoch;
  }

  /**
   * Kafka's checks of a transaction marker before it is appended: an older producer epoch than
   * the partition's is INVALID_PRODUCER_EPOCH, an older coordinator epoch than the producer's last
   * marker here TRANSACTION_COORDINATOR_FENCED (a deposed coordinator still sending); null when it
   * may be written.
   */
  checkMarker(
    topic: string,
    partition: number,
    producerId: bigint,
    producerEpoch: number,
    coordinatorEpoch: number,
  ): { errorCode: number; errorMessage: string } | null {
    const entry = this.#entries(topic, partition, false)?.get(producerId);
    if (entry === undefined) return null;
    if (producerEpoch < entry.producerEpoch) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        errorMessage: `Marker of producer ${producerId} in ${topic}-${partition} has epoch ${producerEpoch}, older than the partition's ${entry.producerEpoch}`,
      };
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      return {
        errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        errorMessage: `Marker of producer ${producerId} in ${topic}-${partition} comes from coordinator epoch ${coordinatorEpoch}, older than ${entry.coordinatorEpoch} of its last marker here`,
      };
    }
    return null;
  }

  /** The producer's epoch in a partition (its last batch's or marker's), null when it has no state there. */
  producerEpochOf(topic: string, partition: number, producerId: bigint): number | null {
    return this.#entries(topic, partition, false)?.get(producerId)?.producerEpoch ?? null;
  }

  /**
   * The producers of a partition: id, epoch, last sequence and timestamp, and the coordinator
   * epoch of the last marker (-1 when none) that `kafka-transactions abort` must send (DescribeProducers).
   */
  producersOf(
    topic: string,
    partition: number,
  ): {
    producerId: bigint;
    producerEpoch: number;
    lastSequence: number;
    lastTimestampMs: number;
    coordinatorEpoch: number;
  }[] {
    const entries = this.#entries(topic, partition, false);
    if (entries === undefined) return [];
    return [...entries].map(([producerId, entry]) => ({
      producerId,
      producerEpoch: entry.producerEpoch,
      lastSequence: entry.batches.at(-1)?.lastSequence ?? -1,
      lastTimestampMs: entry.lastTimestampMs,
      coordinatorEpoch: entry.coordinatorEpoch,
    }));
  }

  #record(
    topic: string,
    partition: number,
    producerId: bigint,
    epoch: number,
    metadata: BatchMetadata,
  ): void {
    const entries = this.#entries(topic, partition, true) as Map<bigint, ProducerEntry>;
    let entry = entries.get(producerId);
    if (entry === undefined) {
      entry = { producerEpoch: epoch, batches: [], lastTimestampMs: -1, coordinatorEpoch: -1 };
      entries.set(producerId, entry);
    }
    if (epoch !== entry.producerEpoch) {
      entry.producerEpoch = epoch;
      entry.batches = [];
    }
    entry.batches.push(metadata);
    if (entry.batches.length > BATCHES_RETAINED_PER_PRODUCER) entry.batches.shift();
    entry.lastTimestampMs = Number(metadata.timestampMs);
  }

  /** Replaces a partition's producers with those its log holds (start-up, a new leadership). */
  loadPartition(
    topic: string,
    partition: number,
    producers: ReadonlyMap<bigint, Readonly<LogProducer>>,
  ): void {
    this.removePartition(topic, partition);
    if (producers.size === 0) return;
    const entries = this.#entries(topic, partition, true) as Map<bigint, ProducerEntry>;
    for (const [producerId, p] of producers) {
      entries.set(producerId, {
        producerEpoch: p.producerEpoch,
        batches: p.batches.map((b) => ({
          firstSequence: b.firstSequence,
          lastSequence: b.lastSequence,
          firstOffset: BigInt(b.firstOffset),
          lastOffset: BigInt(b.lastOffset),
          timestampMs: BigInt(b.timestampMs),
        })),
        lastTimestampMs: p.lastTimestampMs,
        coordinatorEpoch: p.coordinatorEpoch,
      });
    }
  }

  /** Forgets a partition (topic deleted, log truncated before a rebuild). */
  removePartition(topic: string, partition: number): void {
    this.#partitions.delete(partitionKey(topic, partition));
  }

  /** Drops producers idle for `producer.id.expiration.ms`; returns how many. */
  expireProducers(nowMs: number, expirationMs: number): number {
    let expired = 0;
    for (const [key, entries] of this.#partitions) {
      for (const [producerId, entry] of entries) {
        if (nowMs - entry.lastTimestampMs >= expirationMs) {
          entries.delete(producerId);
          expired++;
        }
      }
      if (entries.size === 0) this.#partitions.delete(key);
    }
    return expired;
  }

  /** The highest producer id seen in any partition (-1 when none): allocation must stay above it. */
  maxProducerId(): bigint {
    let max = -1n;
    for (const entries of this.#partitions.values()) {
      for (const producerId of entries.keys()) if (producerId > max) max = producerId;
    }
    return max;
  }
}

function outOfOrder(batch: ProducerBatchInfo, expected: string): ProducerAppendDecision {
  return {
    kind: 'error',
    errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    errorMessage: `Out of order sequence number for producer ${batch.producerId} in ${batch.topic}-${batch.partition}: ${batch.baseSequence} (incoming seq. number), ${expected}`,
  };
}

/** Where the next block of producer ids starts, kept across restarts (a file in the data directory). */
export interface ProducerIdStore {
  read(): bigint | null;
  write(nextBlockStart: bigint): void;
}

export class MemoryProducerIdStore implements ProducerIdStore {
  value: bigint | null = null;
  read(): bigint | null {
    return this.value;
  }
  write(nextBlockStart: bigint): void {
    this.value = nextBlockStart;
  }
}

/** Ids are handed out from blocks; a block is recorded as used before its first id is given. */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;
/**
 * Cluster nodes share the id space in interleaved blocks: node n takes the blocks whose index is
 * n modulo this. Node ids that are equal modulo it would share blocks (kstack up runs 1-9).
 */
export const PRODUCER_ID_NODE_SLOTS = 16n;

export class ProducerIdManager {
  readonly #store: ProducerIdStore;
  readonly #nodeId: () => number | null;
  #next = -1n;
  #blockEnd = -1n;

  /**
   * `nodeId` names this node when it is one of several (a cluster), else null; asked at every new
   * block. A cluster node takes only the blocks whose index modulo PRODUCER_ID_NODE_SLOTS is its
   * node id modulo the same, so two nodes never hand out the same id (Kafka's controller allocates
   * the blocks instead: AllocateProducerIds). Alone, it takes every block.
   */
  constructor(store: ProducerIdStore, nodeId: () => number | null = () => null) {
    this.#store = store;
    this.#nodeId = nodeId;
  }

  /** Makes sure no id at or below `producerId` is handed out again (ids seen in the logs). */
  observe(producerId: bigint): void {
    if (producerId >= this.#next) {
      this.#next = producerId + 1n;
      if (this.#next > this.#blockEnd) this.#blockEnd = -1n;
    }
  }

  nextProducerId(): bigint {
    if (this.#next < 0n || this.#next >= this.#blockEnd) {
      const stored = this.#store.read() ?? 0n;
      const candidate = stored > this.#next ? stored : this.#next < 0n ? 0n : this.#next;
      const nodeId = this.#nodeId();
      const start =
        nodeId === null ? candidate : ownStart(candidate, BigInt(nodeId) % PRODUCER_ID_NODE_SLOTS);
      this.#blockEnd =
        nodeId === null
          ? start + PRODUCER_ID_BLOCK_SIZE
          : (start / PRODUCER_ID_BLOCK_SIZE + 1n) * PRODUCER_ID_BLOCK_SIZE;
      this.#store.write(this.#blockEnd);
      this.#next = start;
    }
    const id = this.#next;
    this.#next += 1n;
    return id;
  }
}

/** The first id at or above `candidate` in a block whose index modulo PRODUCER_ID_NODE_SLOTS is `slot`. */
function ownStart(candidate: bigint, slot: bigint): bigint {
  let block = candidate / PRODUCER_ID_BLOCK_SIZE;
  if (block % PRODUCER_ID_NODE_SLOTS === slot) return candidate;
  while (block % PRODUCER_ID_NODE_SLOTS !== slot) block += 1n;
  return block * PRODUCER_ID_BLOCK_SIZE;
}
