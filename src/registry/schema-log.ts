/**
 * The registry's storage: the compacted `_schemas` topic, read and written with @platformatic/kafka.
 * Keys and values are Confluent's JSON record formats (see records.ts), so Confluent's registry and
 * ours can read each other's topic. The topic is the only state: at start it is read from offset 0 to
 * its end, and every write is followed by reading to the end again, so what a write changed reaches
 * memory through the same path as at start (and as another instance's writes).
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, Producer } from '@platformatic/kafka';

export const SCHEMAS_TOPIC_DEFAULT = '_schemas';
/** Replication factor of `_schemas` on a cluster with enough brokers (Confluent's default). */
export const SCHEMAS_TOPIC_REPLICATION_MAX = 3;
/** Bytes asked per fetch while reading `_schemas`. */
const FETCH_BYTES_MAX = 4 * 1024 * 1024;
/** How long one fetch may wait for data while reading to a known end offset. */
const FETCH_WAIT_MS = 500;
const TOPIC_ALREADY_EXISTS = 36;

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
  readonly #producer: Producer;
  readonly #consumer: Consumer;
  /** The next offset to read. */
  #position = 0n;
  /** How long a read may wait for an appended record to become readable (the request timeout). */
  readonly #readBackMs: number;

  constructor(options: SchemaLogOptions) {
    this.topic = options.topic ?? SCHEMAS_TOPIC_DEFAULT;
    this.#readBackMs = options.requestTimeoutMs ?? 30_000;
    const base = {
      bootstrapBrokers: options.bootstrap.split(',').map((s) => s.trim()),
      timeout: options.requestTimeoutMs ?? 30_000,
      retries: 5,
    };
    this.#admin = new Admin({ ...base, clientId: 'kstack-schema-registry-admin' });
    this.#producer = new Producer({ ...base, clientId: 'kstack-schema-registry', acks: -1 });
    this.#consumer = new Consumer({
      ...base,
      clientId: 'kstack-schema-registry-reader',
      groupId: `kstack-schema-registry-reader-${randomUUID()}`,
    });
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
    const offsets = await this.#consumer.listOffsets({ topics: [this.topic] });
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
          for (const batch of partition.records ?? []) {
            for (const record of batch.records) {
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

  /** Appends one record (acks=all) and resolves with its offset. A null value is a tombstone. */
  async append(key: Buffer, value: Buffer | null): Promise<bigint> {
    const result = await this.#producer.send({
      // acks=all as Confluent's registry: @platformatic/kafka 2.12 takes acks from send() only and
      // defaults it to acks=1 there (the Producer constructor's is ignored).
      acks: -1,
      messages: [{ topic: this.topic, partition: 0, key, value: value as Buffer }],
    });
    const written = result.offsets?.[0];
    if (written === undefined) throw new Error(`the broker returned no offset for ${this.topic}-0`);
    return BigInt(written.offset);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#admin.close(), this.#producer.close(), this.#consumer.close(true)]);
  }
}
