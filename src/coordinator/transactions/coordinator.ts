/**
 * The transaction coordinator (Kafka's TransactionCoordinator and TransactionStateManager) for
 * the `__transaction_state` partitions this broker leads: per transactional id its producer id
 * and epoch, timeout, state and partitions, every change written to the log before it takes
 * effect, rebuilt by replaying the log when a partition is loaded.
 *
 * It serves both transaction versions a client may use (KIP-890): version 0 (the client adds
 * every partition with AddPartitionsToTxn, EndTxn keeps the epoch) and version 2 (partitions are
 * added by the partition leaders and the group coordinator on the client's behalf, every EndTxn
 * bumps the epoch, the markers carry the bumped epoch and the answer the new producer id and
 * epoch). A transaction's version is the client's: EndTxn v5 and the broker's AddPartitionsToTxn
 * v5 mark it 2, and it is kept in the log (TransactionLogValue v1, ClientTransactionVersion).
 * Time comes from the broker's clock; the log, the marker writer and producer ids are ports, so
 * the state machine is tested without a broker.
 */
import type { Clock } from '../../broker/services.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { partitionForGroup } from '../offsets-log.ts';
import type { CoordinatorRecord } from '../records.ts';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  type TransactionLogValue,
} from './records.ts';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/** Kafka's state names, indexed by the status byte of the log value. */
export const TRANSACTION_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'Dead',
  'PrepareEpochFence',
] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

const STATUS: Record<TransactionState, number> = Object.fromEntries(
  TRANSACTION_STATES.map((name, index) => [name, index]),
) as Record<TransactionState, number>;

/** An epoch this close to Short.MAX_VALUE gets a new producer id instead of a bump (Kafka's rule). */
const EPOCH_MAX = 32_767;

/** Transaction version 2 (KIP-890 part 2): the epoch is bumped at the end of every transaction. */
export const TRANSACTION_VERSION_2 = 2;

export interface TransactionCoordinatorConfig {
  /** transaction.state.log.num.partitions */
  readonly numPartitions: number;
  /** transaction.max.timeout.ms */
  readonly maxTimeoutMs: number;
}

export const DEFAULT_TRANSACTION_CONFIG: TransactionCoordinatorConfig = {
  numPartitions: 50,
  maxTimeoutMs: 900_000,
};

/** The `__transaction_state` partitions as the coordinator uses them. */
export interface TransactionLog {
  /** Appends one record and resolves once it is durable as acks=-1 would make it. */
  append(partition: number, record: CoordinatorRecord, timestampMs: number): Promise<void>;
  read(partition: number): AsyncIterable<CoordinatorRecord> | Iterable<CoordinatorRecord>;
  /** The leader epoch of the partition: the coordinator epoch carried by the markers. */
  coordinatorEpoch(partition: number): number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Writes commit/abort markers to the data partitions (and `__consumer_offsets`). */
export interface MarkerWriter {
  writeMarker(
    target: TopicPartition,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void>;
}

export interface TransactionCoordinatorOptions {
  readonly clock: Clock;
  readonly log: TransactionLog;
  readonly markers: MarkerWriter;
  readonly nextProducerId: () => bigint;
  readonly config?: TransactionCoordinatorConfig;
  readonly logger?: (message: string) => void;
}

interface TransactionMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  lastProducerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  state: TransactionState;
  /** topic → partitions in the current transaction. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
  /** The client's transaction version (0, or 2: epoch bumped at every EndTxn). */
  clientTransactionVersion: number;
  /**
   * Transaction version 2 when the epoch would overflow: the id the client continues with once
   * the transaction completes (the markers still carry the old id), else -1.
   */
  nextProducerId: bigint;
  /** A write or marker round is in flight: other requests get CONCURRENT_TRANSACTIONS. */
  busy: boolean;
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface DescribedTransaction {
  readonly errorCode: number;
  readonly transactionalId: string;
  readonly transactionState: string;
  readonly transactionTimeoutMs: number;
  readonly transactionStartTimeMs: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly topics: { topic: string; partitions: number[] }[];
}

export interface ListedTransaction {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly transactionState: string;
}

type PartitionLoad = 'loading' | 'loaded';

export class TransactionCoordinator {
  readonly config: TransactionCoordinatorConfig;
  readonly #clock: Clock;
  readonly #log: TransactionLog;
  readonly #markers: MarkerWriter;
  readonly #nextProducerId: () => bigint;
  readonly #logger: (message: string) => void;
  readonly #transactions = new Map<string, TransactionMetadata>();
  readonly #byProducerId = new Map<bigint, TransactionMetadata>();
  readonly #partitions = new Map<number, PartitionLoad>();
  /** Marker rounds in flight (awaited by `idle()` in tests and at shutdown). */
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: TransactionCoordinatorOptions) {
    this.config = options.config ?? DEFAULT_TRANSACTION_CONFIG;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#markers = options.markers;
    this.#nextProducerId = options.nextProducerId;
    this.#logger = options.logger ?? ((message) => process.stderr.write(`kstack: ${message}\n`));
  }

  partitionFor(transactionalId: string): number {
    return partitionForGroup(transactionalId, this.config.numPartitions);
  }

  /** NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for an id whose partition is not served here, else null. */
  coordinatorError(transactionalId: string): number | null {
    const load = this.#partitions.get(this.partitionFor(transactionalId));
    if (load === undefined) return ErrorCode.NOT_COORDINATOR;
    if (load === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return null;
  }

  hasPartition(partition: number): boolean {
    return this.#partitions.has(partition);
  }

  /**
   * Becomes the coordinator of one partition: replays it, then finishes what was prepared
   * (markers of a PrepareCommit/PrepareAbort are sent again, a PrepareEpochFence is aborted).
   * Ongoing transactions stay open until their client ends them or they time out.
   */
  async loadPartition(partition: number): Promise<void> {
    this.#partitions.set(partition, 'loading');
    const latest = new Map<string, TransactionLogValue | null>();
    for await (const record of this.#log.read(partition)) {
      const id = decodeTransactionLogKey(record.key);
      if (id === null) continue;
      latest.set(id, record.value === null ? null : decodeTransactionLogValue(record.value));
    }
    // Unloaded (leadership moved) while reading: another broker coordinates these ids now.
    if (this.#partitions.get(partition) !== 'loading') return;
    for (const [id, value] of latest) {
      if (value === null) continue;
      const meta = fromLogValue(id, value);
      this.#transactions.set(id, meta);
      this.#byProducerId.set(meta.producerId, meta);
      if (meta.nextProducerId >= 0n) this.#byProducerId.set(meta.nextProducerId, meta);
    }
    this.#partitions.set(partition, 'loaded');
    for (const meta of this.#transactions.values()) {
      if (this.partitionFor(meta.transactionalId) !== partition) continue;
      if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
        this.#track(this.#sendMarkersAndComplete(meta, meta.state === 'PrepareCommit'));
      } else if (meta.state === 'PrepareEpochFence') {
        this.#track(this.#abort(meta, false));
      }
    }
  }

  /**
   * Stops coordinating a partition (another broker leads it now): its transactional ids are
   * dropped from memory; their next request gets NOT_COORDINATOR and finds the new coordinator,
   * which replays the partition. A marker round in flight finishes on its own.
   */
  unloadPartition(partition: number): void {
    this.#partitions.delete(partition);
    for (const [id, meta] of this.#transactions) {
      if (this.partitionFor(id) !== partition) continue;
      this.#transactions.delete(id);
      if (this.#byProducerId.get(meta.producerId) === meta) this.#byProducerId.delete(meta.producerId);
    }
  }

  /** Waits for every marker round in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  // ---- InitProducerId ----------------------------------------------------------------------

  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { producerId: bigint; producerEpoch: number },
  ): Promise<ProducerIdAndEpoch> {
    const failed = (errorCode: number) => ({ errorCode, producerId: -1n, producerEpoch: -1 });
    if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.config.maxTimeoutMs)
      return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    const coordinatorError = this.coordinatorError(transactionalId);
    if (coordinatorError !== null) return failed(coordinatorError);
    const existing = this.#transactions.get(transactionalId);
    if (existing === undefined) {
      const nowMs = this.#clock.nowMs();
      const meta: TransactionMetadata = {
        transactionalId,
        producerId: this.#nextProducerId(),
        lastProducerId: -1n,
        producerEpoch: 0,
        timeoutMs,
        state: 'Empty',
        partitions: new Map(),
        startMs: -1,
        lastUpdateMs: nowMs,
        clientTransactionVersion: 0,
        nextProducerId: -1n,
        busy: true,
      };
      this.#transactions.set(transactionalId, meta);
      try {
        await this.#write(meta, {});
      } catch {
        this.#transactions.delete(transactionalId);
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      } finally {
        meta.busy = false;
      }
      this.#byProducerId.set(meta.producerId, meta);
      return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
    }
    const meta = existing;
    if (meta.busy) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    // KIP-360: a producer recovering its own id and epoch; anything else from the past is a zombie.
    if (expected.producerId >= 0n) {
      const current =
        expected.producerId === meta.producerId && expected.producerEpoch === meta.producerEpoch;
      const previous = expected.producerId === meta.lastProducerId;
      if (!current && !previous) return failed(ErrorCode.PRODUCER_FENCED);
    }
    switch (meta.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
      case 'PrepareEpochFence':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing':
        // The previous incarnation's transaction is aborted (with a bumped epoch, fencing it)
        // before a new epoch is handed out; the client retries on CONCURRENT_TRANSACTIONS.
        this.#track(this.#abort(meta, true));
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        break;
    }
    const bumped =
      meta.producerEpoch >= EPOCH_MAX - 1
        ? { producerId: this.#nextProducerId(), lastProducerId: meta.producerId, producerEpoch: 0 }
        : {
            producerId: meta.producerId,
            lastProducerId: meta.lastProducerId,
            producerEpoch: meta.producerEpoch + 1,
          };
    meta.busy = true;
    try {
      await this.#write(meta, {
        ...bumped,
        timeoutMs,
        state: 'Empty',
        partitions: new Map(),
        startMs: -1,
      });
    } catch {
      return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    } finally {
      meta.busy = false;
    }
    this.#byProducerId.set(meta.producerId, meta);
    return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ---------------------------------------------------

  /** Checks the producer of a request: null when it is the current one, else the error. */
  #producerError(
    meta: TransactionMetadata | undefined,
    producerId: bigint,
    producerEpoch: number,
  ): number | null {
    if (meta === undefined || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return null;
  }

  async addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
    clientTransactionVersion = 0,
  ): Promise<number> {
    const coordinatorError = this.coordinatorError(transactionalId);
    if (coordinatorError !== null) return coordinatorError;
    const meta = this.#transactions.get(transactionalId);
    const producerError = this.#producerError(meta, producerId, producerEpoch);
    if (producerError !== null || meta === undefined)
      return producerError ?? ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (meta.busy || meta.state.startsWith('Prepare')) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (meta.state === 'Dead') return ErrorCode.INVALID_TXN_STATE;
    const merged = new Map([...meta.partitions].map(([topic, set]) => [topic, new Set(set)]));
    let added = false;
    for (const { topic, partition } of partitions) {
      let set = merged.get(topic);
      if (set === undefined) {
        set = new Set();
        merged.set(topic, set);
      }
      if (!set.has(partition)) added = true;
      set.add(partition);
    }
    if (!added && meta.state === 'Ongoing') return ErrorCode.NONE;
    const nowMs = this.#clock.nowMs();
    meta.busy = true;
    try {
      await this.#write(meta, {
        state: 'Ongoing',
        partitions: merged,
        startMs: meta.state === 'Ongoing' ? meta.startMs : nowMs,
        // A transaction's version is set when it starts (Kafka keeps the client's from its first add).
        clientTransactionVersion:
          meta.state === 'Ongoing' ? meta.clientTransactionVersion : clientTransactionVersion,
      });
    } catch {
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    } finally {
      meta.busy = false;
    }
    return ErrorCode.NONE;
  }

  // ---- EndTxn --------------------------------------------------------------------------------

  /**
   * Commit or abort: PrepareCommit/PrepareAbort is written and the client answered; the markers
   * then go to every partition and CompleteCommit/CompleteAbort is written. A retry that matches
   * the state reached succeeds; one that contradicts it gets INVALID_TXN_STATE.
   *
   * With transaction version 2 (EndTxn v5) the Prepare* record carries the epoch bumped by one
   * (a new producer id, epoch 0, once the epoch would reach Short.MAX_VALUE), the markers carry
   * it, and the answer holds the producer id and epoch the client goes on with. A retry from
   * the epoch before the bump is answered as the first call was; an abort with nothing in the
   * transaction (the client's records may still be on their way to a leader) bumps the epoch too.
   */
  async endTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    clientTransactionVersion = 0,
  ): Promise<ProducerIdAndEpoch> {
    const failed = (errorCode: number): ProducerIdAndEpoch => ({
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    const coordinatorError = this.coordinatorError(transactionalId);
    if (coordinatorError !== null) return failed(coordinatorError);
    const meta = this.#transactions.get(transactionalId);
    const tv2 = clientTransactionVersion >= TRANSACTION_VERSION_2;
    if (tv2 && meta !== undefined) return this.#endTransactionV2(meta, producerId, producerEpoch, commit);
    const producerError = this.#producerError(meta, producerId, producerEpoch);
    if (producerError !== null || meta === undefined)
      return failed(producerError ?? ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const ok = (): ProducerIdAndEpoch => ({
      errorCode: ErrorCode.NONE,
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
    });
    // While a transition is being written or its markers sent, Kafka answers any EndTxn with the
    // retriable CONCURRENT_TRANSACTIONS before it looks at the state (asked of the 3-node reference:
    // test/coordinator/endtxn-window.slow.ts), never INVALID_TXN_STATE.
    if (meta.busy) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (meta.state) {
      case 'Ongoing': {
        const prepared = await this.#prepare(meta, commit, meta.producerEpoch, -1n);
        return prepared === ErrorCode.NONE ? ok() : failed(prepared);
      }
      case 'CompleteCommit':
        return commit ? ok() : failed(ErrorCode.INVALID_TXN_STATE);
      case 'CompleteAbort':
        return commit ? failed(ErrorCode.INVALID_TXN_STATE) : ok();
      case 'PrepareCommit':
        return failed(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'PrepareAbort':
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        return failed(ErrorCode.INVALID_TXN_STATE);
    }
  }

  async #endTransactionV2(
    meta: TransactionMetadata,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
  ): Promise<ProducerIdAndEpoch> {
    const failed = (errorCode: number): ProducerIdAndEpoch => ({
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    const ended = meta.state.startsWith('Prepare') || meta.state.startsWith('Complete');
    // The client retries an EndTxn whose answer it lost with the id and epoch it had before the bump.
    const retryOnBump = ended && producerId === meta.producerId && producerEpoch === meta.producerEpoch - 1;
    const retryOnOverflow =
      ended &&
      producerId === meta.lastProducerId &&
      producerEpoch === EPOCH_MAX - 1 &&
      meta.producerEpoch === 0;
    const retryOfPrepared =
      meta.state.startsWith('Prepare') &&
      meta.nextProducerId >= 0n &&
      producerId === meta.producerId &&
      producerEpoch === EPOCH_MAX - 1;
    const isRetry = retryOnBump || retryOnOverflow || retryOfPrepared;
    if (!isRetry) {
      if (meta.producerId !== producerId) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      if (meta.producerEpoch !== producerEpoch) return failed(ErrorCode.PRODUCER_FENCED);
    }
    // A transition being written or its markers sent: retriable, whatever the state and the
    // request (Kafka's pending-transition check comes before the state's; asked of the 3-node
    // reference: an abort pipelined after a commit, test/coordinator/endtxn-window.slow.ts).
    if (meta.busy) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    const current = (): ProducerIdAndEpoch =>
      meta.nextProducerId >= 0n
        ? { errorCode: ErrorCode.NONE, producerId: meta.nextProducerId, producerEpoch: 0 }
        : { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch };
    const bumpAndPrepare = async (): Promise<ProducerIdAndEpoch> => {
      const overflow = meta.producerEpoch >= EPOCH_MAX - 1;
      const prepared = await this.#prepare(
        meta,
        commit,
        meta.producerEpoch + 1,
        overflow ? this.#nextProducerId() : -1n,
      );
      return prepared === ErrorCode.NONE ? current() : failed(prepared);
    };
    switch (meta.state) {
      case 'Ongoing':
        return bumpAndPrepare();
      case 'PrepareCommit':
        if (!commit) return failed(ErrorCode.INVALID_TXN_STATE);
        return isRetry ? current() : failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'PrepareAbort':
        if (commit) return failed(ErrorCode.INVALID_TXN_STATE);
        return isRetry ? current() : failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'CompleteCommit':
        if (isRetry) return commit ? current() : failed(ErrorCode.INVALID_TXN_STATE);
        return commit ? failed(ErrorCode.INVALID_TXN_STATE) : bumpAndPrepare();
      case 'CompleteAbort':
        if (isRetry) return commit ? failed(ErrorCode.INVALID_TXN_STATE) : current();
        return commit ? failed(ErrorCode.INVALID_TXN_STATE) : bumpAndPrepare();
      case 'Empty':
        return commit ? failed(ErrorCode.INVALID_TXN_STATE) : bumpAndPrepare();
      default:
        return failed(ErrorCode.INVALID_TXN_STATE);
    }
  }

  /** Writes PrepareCommit/PrepareAbort (with `producerEpoch`), then sends the markers in the background. */
  async #prepare(
    meta: TransactionMetadata,
    commit: boolean,
    producerEpoch: number,
    nextProducerId: bigint,
  ): Promise<number> {
    meta.busy = true;
    try {
      await this.#write(meta, {
        state: commit ? 'PrepareCommit' : 'PrepareAbort',
        producerEpoch,
        nextProducerId,
        clientTransactionVersion:
          producerEpoch !== meta.producerEpoch ? TRANSACTION_VERSION_2 : meta.clientTransactionVersion,
      });
    } catch {
      meta.busy = false;
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.#track(this.#sendMarkersAndComplete(meta, commit));
    return ErrorCode.NONE;
  }

  /**
   * Aborts an Ongoing transaction from the coordinator's side (timeout, or a new incarnation of
   * its id): with `fence` the epoch is bumped first so the old producer can do nothing more.
   */
  async #abort(meta: TransactionMetadata, fence: boolean): Promise<void> {
    meta.busy = true;
    try {
      const bump = fence && meta.producerEpoch < EPOCH_MAX - 1 ? 1 : 0;
      await this.#write(meta, { state: 'PrepareAbort', producerEpoch: meta.producerEpoch + bump });
    } catch (error) {
      meta.busy = false;
      this.#logger(
        `transaction ${meta.transactionalId}: could not prepare its abort: ${(error as Error).message}`,
      );
      return;
    }
    await this.#sendMarkersAndComplete(meta, false);
  }

  async #sendMarkersAndComplete(meta: TransactionMetadata, commit: boolean): Promise<void> {
    meta.busy = true;
    try {
      const coordinatorEpoch = this.#log.coordinatorEpoch(this.partitionFor(meta.transactionalId));
      // Every partition at once, as Kafka's marker channel sends them: each waits for its ISR.
      const targets = [...meta.partitions].flatMap(([topic, set]) =>
        [...set].map((partition) => ({ topic, partition })),
      );
      const written = await Promise.allSettled(
        targets.map((target) =>
          this.#markers.writeMarker(target, meta.producerId, meta.producerEpoch, commit, coordinatorEpoch),
        ),
      );
      const failed = written.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const complete: Partial<TransactionMetadata> = {
        state: commit ? 'CompleteCommit' : 'CompleteAbort',
        partitions: new Map(),
      };
      // Transaction version 2 past the epoch's end: the client goes on with the next producer id.
      const next = meta.nextProducerId;
      if (next >= 0n)
        Object.assign(complete, {
          producerId: next,
          lastProducerId: meta.producerId,
          producerEpoch: 0,
          nextProducerId: -1n,
        });
      await this.#write(meta, complete);
      if (next >= 0n) this.#byProducerId.set(next, meta);
    } catch (error) {
      this.#logger(`transaction ${meta.transactionalId}: completing it failed: ${(error as Error).message}`);
    } finally {
      meta.busy = false;
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /** Aborts, with an epoch bump, every Ongoing transaction older than its timeout; returns how many. */
  abortTimedOutTransactions(): number {
    const nowMs = this.#clock.nowMs();
    let aborted = 0;
    for (const meta of this.#transactions.values()) {
      if (meta.state !== 'Ongoing' || meta.busy) continue;
      if (this.coordinatorError(meta.transactionalId) !== null) continue;
      if (nowMs - meta.startMs <= meta.timeoutMs) continue;
      this.#logger(
        `transaction ${meta.transactionalId} (producer ${meta.producerId}) ran past its timeout of ${meta.timeoutMs} ms: aborting it`,
      );
      this.#track(this.#abort(meta, true));
      aborted++;
    }
    return aborted;
  }

  /**
   * Forgets transactional ids idle longer than `expirationMs` (transactional.id.expiration.ms)
   * whose last transaction is over (Empty, CompleteCommit, CompleteAbort): a tombstone is
   * written, then the id is dropped; its next InitProducerId starts afresh. Returns how many.
   */
  async removeExpiredTransactionalIds(expirationMs: number): Promise<number> {
    const nowMs = this.#clock.nowMs();
    let removed = 0;
    for (const meta of [...this.#transactions.values()]) {
      if (meta.busy || this.coordinatorError(meta.transactionalId) !== null) continue;
      if (meta.state !== 'Empty' && meta.state !== 'CompleteCommit' && meta.state !== 'CompleteAbort')
        continue;
      if (nowMs - meta.lastUpdateMs < expirationMs) continue;
      meta.busy = true;
      try {
        await this.#log.append(
          this.partitionFor(meta.transactionalId),
          { key: encodeTransactionLogKey(meta.transactionalId), value: null },
          nowMs,
        );
      } catch (error) {
        this.#logger(`transaction ${meta.transactionalId}: could not expire it: ${(error as Error).message}`);
        continue;
      } finally {
        meta.busy = false;
      }
      meta.state = 'Dead';
      this.#transactions.delete(meta.transactionalId);
      if (this.#byProducerId.get(meta.producerId) === meta) this.#byProducerId.delete(meta.producerId);
      removed++;
    }
    return removed;
  }

  // ---- produce verification, TxnOffsetCommit ------------------------------------------------

  /**
   * Whether a transactional append of this producer to this partition belongs to its ongoing
   * transaction (KIP-890 verification, done here without a round trip: the coordinator is local).
   */
  verifyPartition(
    producerId: bigint,
    producerEpoch: number,
    target: TopicPartition,
  ): { errorCode: number; errorMessage: string } | null {
    const meta = this.#byProducerId.get(producerId);
    if (meta === undefined || meta.producerId !== producerId) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        errorMessage: `Producer ${producerId} has no ongoing transaction at its coordinator`,
      };
    }
    if (producerEpoch < meta.producerEpoch) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        errorMessage: `Epoch ${producerEpoch} of producer ${producerId} is older than the coordinator's ${meta.producerEpoch}`,
      };
    }
    if (meta.state !== 'Ongoing' || !meta.partitions.get(target.topic)?.has(target.partition)) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        errorMessage: `${target.topic}-${target.partition} is not part of the ongoing transaction of ${meta.transactionalId}; add it with AddPartitionsToTxn first`,
      };
    }
    return null;
  }

  /**
   * AddPartitionsToTxn's `VerifyOnly` form (a partition leader asking before a producer's first
   * transactional append): per `topic\0partition`, NONE when it is in the producer's ongoing
   * transaction, else TRANSACTION_ABORTABLE (what Kafka 4.1.1 answers, at v4 too); the coordinator
   * and producer errors apply to all.
   */
  verifyPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Map<string, number> {
    const all = (errorCode: number) =>
      new Map(partitions.map((p) => [`${p.topic}\u0000${p.partition}`, errorCode]));
    const coordinatorError = this.coordinatorError(transactionalId);
    if (coordinatorError !== null) return all(coordinatorError);
    const meta = this.#transactions.get(transactionalId);
    const producerError = this.#producerError(meta, producerId, producerEpoch);
    if (producerError !== null || meta === undefined)
      return all(producerError ?? ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    return new Map(
      partitions.map((p) => [
        `${p.topic}\u0000${p.partition}`,
        meta.state === 'Ongoing' && meta.partitions.get(p.topic)?.has(p.partition) === true
          ? ErrorCode.NONE
          : ErrorCode.TRANSACTION_ABORTABLE,
      ]),
    );
  }

  /** Whether a transactional id coordinated here holds this producer id now. */
  knowsProducer(producerId: bigint): boolean {
    return this.#byProducerId.has(producerId);
  }

  // ---- admin --------------------------------------------------------------------------------

  describe(transactionalId: string): DescribedTransaction {
    const none = (errorCode: number): DescribedTransaction => ({
      errorCode,
      transactionalId,
      transactionState: '',
      transactionTimeoutMs: 0,
      transactionStartTimeMs: -1n,
      producerId: -1n,
      producerEpoch: -1,
      topics: [],
    });
    const coordinatorError = this.coordinatorError(transactionalId);
    if (coordinatorError !== null) return none(coordinatorError);
    const meta = this.#transactions.get(transactionalId);
    if (meta === undefined) return none(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    return {
      errorCode: ErrorCode.NONE,
      transactionalId,
      transactionState: meta.state,
      transactionTimeoutMs: meta.timeoutMs,
      transactionStartTimeMs: BigInt(meta.startMs),
      producerId: meta.producerId,
      producerEpoch: meta.producerEpoch,
      topics: [...meta.partitions].map(([topic, set]) => ({
        topic,
        partitions: [...set].sort((a, b) => a - b),
      })),
    };
  }

  list(states: readonly string[], producerIds: readonly bigint[], durationMs: number): ListedTransaction[] {
    const nowMs = this.#clock.nowMs();
    const listed: ListedTransaction[] = [];
    for (const meta of this.#transactions.values()) {
      if (this.coordinatorError(meta.transactionalId) !== null) continue;
      if (states.length > 0 && !states.includes(meta.state)) continue;
      if (producerIds.length > 0 && !producerIds.includes(meta.producerId)) continue;
      if (durationMs >= 0 && (meta.state !== 'Ongoing' || nowMs - meta.startMs < durationMs)) continue;
      listed.push({
        transactionalId: meta.transactionalId,
        producerId: meta.producerId,
        transactionState: meta.state,
      });
    }
    return listed;
  }

  /** Writes the transaction's next state, then applies it (Kafka's order: durable first). */
  async #write(meta: TransactionMetadata, next: Partial<TransactionMetadata>): Promise<void> {
    const nowMs = this.#clock.nowMs();
    const merged = { ...meta, ...next, lastUpdateMs: nowMs };
    const value = encodeTransactionLogValue(toLogValue(merged));
    await this.#log.append(
      this.partitionFor(meta.transactionalId),
      { key: encodeTransactionLogKey(meta.transactionalId), value },
      nowMs,
    );
    Object.assign(meta, next, { lastUpdateMs: nowMs });
  }
}

function toLogValue(meta: TransactionMetadata): TransactionLogValue {
  return {
    producerId: meta.producerId,
    previousProducerId: meta.lastProducerId,
    nextProducerId: meta.nextProducerId,
    producerEpoch: meta.producerEpoch,
    transactionTimeoutMs: meta.timeoutMs,
    transactionStatus: STATUS[meta.state],
    transactionPartitions: [...meta.partitions].map(([topic, set]) => ({
      topic,
      partitionIds: [...set].sort((a, b) => a - b),
    })),
    transactionLastUpdateTimestampMs: BigInt(meta.lastUpdateMs),
    transactionStartTimestampMs: BigInt(meta.startMs),
    clientTransactionVersion: meta.clientTransactionVersion,
  };
}

function fromLogValue(transactionalId: string, value: TransactionLogValue): TransactionMetadata {
  const state = TRANSACTION_STATES[value.transactionStatus];
  if (state === undefined) {
    throw new Error(
      `transaction ${transactionalId}: unknown status ${value.transactionStatus} in ${TRANSACTION_STATE_TOPIC}`,
    );
  }
  return {
    transactionalId,
    producerId: value.producerId,
    lastProducerId: value.previousProducerId,
    producerEpoch: value.producerEpoch,
    timeoutMs: value.transactionTimeoutMs,
    state,
    partitions: new Map(value.transactionPartitions.map((p) => [p.topic, new Set(p.partitionIds)])),
    startMs: Number(value.transactionStartTimestampMs),
    lastUpdateMs: Number(value.transactionLastUpdateTimestampMs),
    clientTransactionVersion: value.clientTransactionVersion,
    nextProducerId: value.nextProducerId,
    busy: false,
  };
}
