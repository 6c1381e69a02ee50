/**
 * Produce through the proxy: records already turned into bytes are placed on partitions (the
 * request's partition, else Kafka's default partitioner: murmur2 of the key, round robin without
 * one), sent one Produce per partition so that a failure marks only that partition's records, and
 * answered per record with its partition and offset or Confluent's error code and message.
 */
import { murmur2 } from '@platformatic/kafka';
import { type KafkaSide, kafkaCodeOf, toRestError } from './kafka.ts';

export interface OutgoingRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Set by the request, or undefined for the partitioner. */
  readonly partition: number | undefined;
  readonly headers?: readonly { key: string; value: Buffer | null }[];
  /** Create time in ms since the epoch; the producer's clock when missing. */
  readonly timestamp?: number | undefined;
}

export interface RecordResult {
  readonly partition: number | null;
  readonly offset: number | null;
  readonly error_code: number | null;
  readonly error: string | null;
  /** The record's create time (ms since the epoch). */
  readonly timestamp: number;
}

/** Kafka's default partitioner for keyed records (the Java client's `Utils.toPositive(murmur2(key)) % n`). */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

export class RecordProducer {
  readonly #kafka: KafkaSide;
  #roundRobin = 0;

  constructor(kafka: KafkaSide) {
    this.#kafka = kafka;
  }

  /** Sends the records; results are in request order. */
  async send(
    topic: string,
    partitionCount: number,
    records: readonly OutgoingRecord[],
  ): Promise<RecordResult[]> {
    const now = Date.now();
    const placed = records.map((record) => {
      if (record.partition !== undefined) return record.partition;
      if (record.key !== null) return partitionForKey(record.key, partitionCount);
      this.#roundRobin = (this.#roundRobin + 1) % partitionCount;
      return this.#roundRobin;
    });
    const byPartition = new Map<number, number[]>();
    placed.forEach((partition, index) => {
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), index]);
    });
    const results: RecordResult[] = new Array(records.length);
    await Promise.all(
      [...byPartition].map(async ([partition, indexes]) => {
        try {
          const sent = await this.#kafka.producer.send({
            // acks=all as Confluent's proxy (its producer's acks=all default): @platformatic/kafka
            // 2.12 takes acks from send() only and defaults it to acks=1 there (the Producer
            // constructor's is ignored).
            acks: -1,
            messages: indexes.map((i) => {
              const record = records[i] as OutgoingRecord;
              return {
                topic,
                partition,
                timestamp: BigInt(record.timestamp ?? now),
                ...(record.key === null ? {} : { key: record.key }),
                ...(record.value === null ? {} : { value: record.value }),
                ...(record.headers === undefined || record.headers.length === 0
                  ? {}
                  : {
                      headers: new Map(
                        record.headers.map((h) => [Buffer.from(h.key), h.value ?? Buffer.alloc(0)]),
                      ),
                    }),
              };
            }),
            autocreateTopics: false,
          });
          const base = sent.offsets?.find((o) => o.topic === topic && o.partition === partition)?.offset;
          if (base === undefined) throw new Error(`Kafka returned no offset for ${topic}-${partition}`);
          indexes.forEach((recordIndex, n) => {
            const timestamp = records[recordIndex]?.timestamp ?? now;
            results[recordIndex] = {
              partition,
              offset: Number(base) + n,
              error_code: null,
              error: null,
              timestamp,
            };
          });
        } catch (error) {
          const failure = toRestError(error);
          const code = kafkaCodeOf(error);
          for (const recordIndex of indexes) {
            results[recordIndex] = {
              partition,
              offset: null,
              error_code: failure.errorCode,
              error: code === undefined ? failure.message : `${failure.message} (Kafka error code ${code})`,
              timestamp: records[recordIndex]?.timestamp ?? now,
            };
          }
        }
      }),
    );
    return results;
  }
}
