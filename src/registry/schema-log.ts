/**
 * The registry's storage: the compacted `_schemas` topic, read and written with @platformatic/kafka.
 * Keys and values are Confluent's JSON record formats (see records.ts), so Confluent's registry and
 * ours can read each other's topic. The topic is the only state: at start it is read from offset 0 to
 * its end, and every write is followed by reading to the end again, so what a write changed reaches
 * memory through the same path as at start (and as another instance's writes).
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, FetchIsolationLevels, Producer, type ProducerOptions } from '@platformatic/kafka';
import { guardConnectionErrors } from '../common/kafka-connections.ts';

export const SCHEMAS_TOPIC_DEFAULT = '_schemas';
/** Replication factor of `_schemas` on a cluster with enough brokers (Confluent's default). */
export const SCHEMAS_TOPIC_REPLICATION_MAX = 3;
/** Bytes asked per fetch while reading `_schemas`. */
const FETCH_BYTES_MAX = 4 * 1024 * 1024;
/** How long one fetch may wait for data while reading to a known end offset. */
const FETCH_WAIT_MS = 500;
/** Each Kafka request's bound unless given: Kafka's request.timeout.ms default. */
export const SCHEMA_LOG_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
const TOPIC_ALREADY_EXISTS = 36;
/** Kafka's answers to a producer whose epoch a newer InitProducerId of its transactional id replaced. */
const INVALID_PRODUCER_EPOCH = 47;
/**
 * The coordinator still completing the previous transaction (its markers written, its end not yet
 * in the transaction log): the next AddPartitionsToTxn answers this until it is done.
 */
const CONCURRENT_TRANSACTIONS = 51;
/**
 * Backoff after CONCURRENT_TRANSACTIONS, doubling per attempt up to TRANSACTION_RETRY_DELAY_MAX_MS.
 * Kafka's Java producer retries AddPartitionsToTxn after 20 ms for the same reason; with
 * @platformatic/kafka's one delay for every error (1 s), each fenced write on three brokers waited
 * about a second for the previous one's completion (40 concurrent writes through a follower
 * passed the 60 s forward timeout at load 50-78).
 */
export const TRANSACTION_RETRY_DELAY_MS = 20;
export const TRANSACTION_RETRY_DELAY_MAX_MS = 500;
/** Any other retriable error: @platformatic/kafka's default delay. */
const RETRY_DELAY_MS = 1_000;
/** Retries of one request by the transactional producer (its backoff is short for CONCURRENT_TRANSACTIONS). */
export const TRANSACTION_RETRIES_MAX = 20;
const PRODUCER_FENCED = 90;
/** Bit 5 of a record batch's attributes: a control batch (a transaction's commit or abort marker). */
const CONTROL_BATCH = 1 << 5;

/** An append refused because another writer claimed the transactional id since (a newer leader). */
export class FencedError extends Error {}

export interface LogRecord {
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export interface SchemaLogOptions {
  readonly bootstrap: string;
  readonly topic?: string;
  /** Timeout of each Kafka request, ms. */
  readonly requestTimeoutMs?: number;
  /**
   * With a transactional id, appends are transactions of that id, and `claim()` (a new leader's
   * first step) fences every earlier holder of it: Kafka refuses their appends from then on.
   * Without one (an instance that leads alone), appends are plain acks=all sends.
   */
  readonly transactionalId?: string;
}

function errorCodeOf(error: unknown): number | undefined {
  const e = error as { apiCode?: number; errors?: unknown[] } | null;
  if (typeof e?.apiCode === 'number') return e.apiCode;
  for (const inner of e?.errors ?? []) {
    const code = errorCodeOf(inner);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** How long the transactional producer waits before attempt `attempt` (1, 2, …) after `error`. */
export function transactionRetryDelay(
  _client: unknown,
  _operation: string,
  attempt: number,
  _retries: number,
  error: unknown,
): number {
  if (errorCodeOf(error) !== CONCURRENT_TRANSACTIONS) return RETRY_DELAY_MS;
  return Math.min(TRANSACTION_RETRY_DELAY_MS * 2 ** (attempt - 1), TRANSACTION_RETRY_DELAY_MAX_MS);
}

/** An error's message with the messages of the errors it wraps (the client nests them). */
export function describeError(error: unknown): string {
  const e = error as { message?: string; errors?: unknown[]; cause?: unknown } | null;
  const inner = [...(e?.errors ?? []), ...(e?.cause === undefined ? [] : [e.cause])].map(describeError);
  const unique = [...new Set(inner)].filter((m) => m !== '');
  const own = e?.message ?? String(error);
  return unique.length === 0 ? own : `${own} (${unique.join('; ')})`;
}

export class SchemaLog {
  readonly topic: string;
  readonly #admin: Admin;
  #producer: Producer | null = null;
  /** True once Kafka refused an append as fenced: no append until the next `claim()`. */
  #fenced = false;
  readonly #producerOptions: ProducerOptions<Buffer, Buffer, Buffer, Buffer>;
  readonly #transactionalId: string | undefined;
  readonly #consumer: Consumer;
  /** Producer ids whose records are skipped from the offset given until their abort marker. */
  readonly #aborting = new Map<bigint, bigint>();
  /** The next offset to read. */
  #position = 0n;
  /** How long a read may wait for an appended record to become readable (the request timeout). */
  readonly #readBackMs: number;

  constructor(options: SchemaLogOptions) {
    this.topic = options.topic ?? SCHEMAS_TOPIC_DEFAULT;
    this.#readBackMs = options.requestTimeoutMs ?? SCHEMA_LOG_REQUEST_TIMEOUT_MS_DEFAULT;
    const base = {
      bootstrapBrokers: options.bootstrap.split(',').map((s) => s.trim()),
      // `timeout` is only the wait asked of the broker; `requestTimeout` is what the client's
      // connections wait for an answer (the client does not pass `timeout` on to them).
      timeout: this.#readBackMs,
      requestTimeout: this.#readBackMs,
      retries: 5,
    };
    this.#admin = guardConnectionErrors(new Admin({ ...base, clientId: 'kstack-schema-registry-admin' }));
    this.#transactionalId = options.transactionalId;
    this.#producerOptions = {
      ...base,
      clientId: 'kstack-schema-registry',
      acks: -1,
      ...(options.transactionalId === undefined
        ? {}
        : {
            idempotent: true,
            transactionalId: options.transactionalId,
            retries: TRANSACTION_RETRIES_MAX,
            retryDelay: transactionRetryDelay,
          }),
    };
    if (options.transactionalId === undefined)
      this.#producer = guardConnectionErrors(new Producer(this.#producerOptions));
    this.#consumer = guardConnectionErrors(
      new Consumer({
        ...base,
        clientId: 'kstack-schema-registry-reader',
        groupId: `kstack-schema-registry-reader-${randomUUID()}`,
      }),
    );
  }

  get position(): bigint {
    return this.#position;
  }

  /** Creates the topic when missing: 1 partition, compacted, RF min(3, brokers), min ISR 2 from 3 brokers. */
  async ensureTopic(): Promise<void> {
    const topics = await this.#admin.listTopics({ includeInternals: true });
    if (topics.includes(this.topic)) return;
    const metadata = await this.#admin.metadata({ topics: [] });
    const brokers = metadata.brokers.size;
    const replicas = Math.max(1, Math.min(SCHEMAS_TOPIC_REPLICATION_MAX, brokers));
    const configs = [{ name: 'cleanup.policy', value: 'compact' }];
    if (replicas >= 3) configs.push({ name: 'min.insync.replicas', value: '2' });
    try {
      await this.#admin.createTopics({ topics: [this.topic], partitions: 1, replicas, configs });
    } catch (error) {
      if (errorCodeOf(error) !== TOPIC_ALREADY_EXISTS) throw error;
    }
  }

  /**
   * Reads from the current position to the partition's end offset (as of now), handing each record
   * to `apply`; with `atLeast`, also past that offset (a record this instance just appended), as
   * Confluent's store reader waits for the offset its write got: the end offset a broker answers
   * right after a write need not include it (after an acks=1 write, which the registry made until
   * it passed acks to send(), 23 of 30 on kstack's three nodes and 28 of 30 on Apache Kafka's did
   * not), so a read to that end alone would miss the write.
   */
  async readToEnd(apply: (record: LogRecord) => void, atLeast = 0n): Promise<void> {
    // Read committed: the end is the last stable offset, and aborted records are never applied (a
    // fenced writer's transaction that the next writer's claim aborted).
    const offsets = await this.#consumer.listOffsets({
      topics: [this.topic],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const listed = offsets.get(this.topic)?.[0];
    if (listed === undefined) throw new Error(`no end offset for ${this.topic}-0`);
    const end = listed > atLeast ? listed : atLeast;
    const deadline = Date.now() + this.#readBackMs;
    while (this.#position < end) {
      if (this.#position >= listed && Date.now() > deadline) {
        throw new Error(
          `${this.topic}-0 was not readable up to offset ${end} within ${this.#readBackMs} ms (read to ${this.#position})`,
        );
      }
      const metadata = await this.#consumer.metadata({ topics: [this.topic] });
      const topic = metadata.topics.get(this.topic);
      const leader = topic?.partitions[0]?.leader;
      if (topic === undefined || leader === undefined || leader < 0) {
        throw new Error(`no leader for ${this.topic}-0`);
      }
      const response = await this.#consumer.fetch({
        node: leader,
        maxWaitTime: FETCH_WAIT_MS,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        topics: [
          {
            topicId: topic.id,
            partitions: [
              {
                partition: 0,
                fetchOffset: this.#position,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                partitionMaxBytes: FETCH_BYTES_MAX,
              },
            ],
          },
        ],
      });
      for (const topicResponse of response.responses) {
        for (const partition of topicResponse.partitions) {
          if (partition.errorCode !== 0) {
            throw new Error(`fetch ${this.topic}-0 at ${this.#position}: error code ${partition.errorCode}`);
          }
          // A log start above our position (records deleted) is skipped to, as any consumer would.
          if (partition.logStartOffset > this.#position) this.#position = partition.logStartOffset;
          for (const aborted of partition.abortedTransactions ?? []) {
            this.#aborting.set(aborted.producerId, aborted.firstOffset);
          }
          for (const batch of partition.records ?? []) {
            const abortedFrom = this.#aborting.get(batch.producerId);
            const control = (batch.attributes & CONTROL_BATCH) !== 0;
            if (control) this.#aborting.delete(batch.producerId);
            const skip = control || (abortedFrom !== undefined && batch.firstOffset >= abortedFrom);
            for (const record of skip ? [] : batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < this.#position) continue;
              apply({ offset, key: record.key ?? null, value: record.value ?? null });
            }
            const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
            if (next > this.#position) this.#position = next;
          }
        }
      }
    }
  }

  /**
   * Takes the transactional id for this instance (a new leader, before its first write): a new
   * producer whose InitProducerId bumps the id's epoch, which fences the previous holder (Kafka
   * refuses its appends, and aborts a transaction it left open). Without a transactional id: nothing.
   */
  async claim(): Promise<void> {
    if (this.#transactionalId === undefined) return;
    const previous = this.#producer;
    this.#producer = null;
    await previous?.close().catch(() => {});
    const producer = guardConnectionErrors(new Producer(this.#producerOptions));
    try {
      // beginTransaction sends InitProducerId for the transactional id; nothing is produced, so
      // the transaction is dropped locally (cancel sends no EndTxn). Producer id and epoch -1: a
      // new producer taking the id over. @platformatic/kafka 2.12 sends 0 and 0 when not told,
      // which Kafka reads as "producer 0 at epoch 0 bumps its own epoch" and refuses as fenced
      // once the id's producer or epoch is another (after the first claim of a restarted broker).
      const transaction = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await transaction.cancel();
    } catch (error) {
      await producer.close().catch(() => {});
      throw error;
    }
    this.#producer = producer;
    this.#fenced = false;
  }

  /** True when Kafka refused an append as fenced since the last `claim()`. */
  get fenced(): boolean {
    return this.#fenced;
  }

  /**
   * Appends one record (acks=all) and resolves with its offset. A null value is a tombstone. With a
   * transactional id, the record is a transaction of its own (committed before this resolves); a
   * writer fenced by a newer claim gets FencedError and appends nothing more until it claims again.
   */
  async append(key: Buffer, value: Buffer | null): Promise<bigint> {
    const message = { topic: this.topic, partition: 0, key, value: value as Buffer };
    // acks=all as Confluent's registry: @platformatic/kafka 2.12 takes acks from send() only and
    // defaults it to acks=1 there (the Producer constructor's is ignored).
    if (this.#transactionalId === undefined) {
      const result = await (this.#producer as Producer).send({ acks: -1, messages: [message] });
      return offsetOf(result.offsets?.[0], this.topic);
    }
    const producer = this.#producer;
    if (this.#fenced || producer === null) {
      throw new FencedError(
        `the transactional id ${this.#transactionalId} was claimed by a newer leader: this instance no longer writes ${this.topic}`,
      );
    }
    const transaction = await producer.beginTransaction();
    try {
      const result = await transaction.send({ acks: -1, messages: [message] });
      await transaction.commit();
      return offsetOf(result.offsets?.[0], this.topic);
    } catch (error) {
      const code = errorCodeOf(error);
      if (code === PRODUCER_FENCED || code === INVALID_PRODUCER_EPOCH) {
        // Never init again with this producer (that would fence the newer leader in turn).
        this.#fenced = true;
        this.#producer = null;
        await producer.close().catch(() => {});
        throw new FencedError(
          `Kafka refused the append as fenced (error ${code}): a newer leader claimed ${this.#transactionalId}`,
        );
      }
      await transaction.abort().catch(() => transaction.cancel().catch(() => {}));
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.#admin.close(),
      this.#producer?.close() ?? Promise.resolve(),
      this.#consumer.close(true),
    ]);
  }
}

function offsetOf(written: { offset: bigint | number } | undefined, topic: string): bigint {
  if (written === undefined) throw new Error(`the broker returned no offset for ${topic}-0`);
  return BigInt(written.offset);
}
