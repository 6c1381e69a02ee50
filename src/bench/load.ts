/**
 * The throughput loads `kstack bench` applies to any Kafka cluster, through
 * @platformatic/kafka (end-to-end latency is in latency.ts).
 * Each load creates its own topic (a unique name) and deletes it afterwards, so runs
 * against a shared cluster do not disturb each other.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Admin, Consumer, type Message, Producer } from '@platformatic/kafka';

export interface ThroughputResult {
  partitions: number;
  acks: number;
  records: number;
  recordBytes: number;
  seconds: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  /** CPU time (user + system) the broker used during the run, when its pid is known (a local broker). */
  brokerCpuMs?: number | undefined;
}

export interface LoadTarget {
  bootstrapServer: string;
  /** Replication factor of the bench topics; 1 for a single broker. */
  replicationFactor: number;
  /** @platformatic/kafka connection options (`tls`, `sasl`) for a secured listener (src/security/bench.ts). */
  connection?: Readonly<Record<string, unknown>>;
}

/** How many `send` calls are kept in flight at once: the client batches each call into one request. */
const PRODUCE_IN_FLIGHT_MAX = 8;
/** Records per `send` call (≈ 64 KiB of 1 KiB records per request). */
const RECORDS_PER_SEND = 64;

/** Each client request's bound: Kafka's request.timeout.ms default. */
const LOAD_REQUEST_TIMEOUT_MS = 30_000;

function clientOptions(target: LoadTarget, role: string) {
  return {
    clientId: `kstack-bench-${role}`,
    bootstrapBrokers: [target.bootstrapServer],
    timeout: LOAD_REQUEST_TIMEOUT_MS,
    // The client does not pass `timeout` on to its connections; `requestTimeout` bounds a request.
    requestTimeout: LOAD_REQUEST_TIMEOUT_MS,
    retries: 3,
    ...target.connection,
  };
}

export async function withTopic<T>(
  target: LoadTarget,
  partitions: number,
  body: (topic: string) => Promise<T>,
): Promise<T> {
  const admin = new Admin(clientOptions(target, 'admin'));
  const topic = `kstack-bench-${partitions}p-${randomUUID().slice(0, 8)}`;
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: target.replicationFactor });
    return await body(topic);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close();
  }
}

/** Produces `records` records of `recordBytes` bytes as fast as the client allows. */
export async function measureProduce(
  target: LoadTarget,
  topic: string,
  options: { partitions: number; acks: number; records: number; recordBytes: number },
): Promise<ThroughputResult> {
  const producer = new Producer({ ...clientOptions(target, 'producer'), acks: options.acks });
  const value = Buffer.alloc(options.recordBytes, 0x61);
  let nextRecord = 0;
  let nextPartition = 0;
  const sendOne = async (): Promise<void> => {
    while (nextRecord < options.records) {
      const count = Math.min(RECORDS_PER_SEND, options.records - nextRecord);
      nextRecord += count;
      // Spread records evenly over partitions, one partition per call, as a keyed load would.
      const partition = nextPartition++ % options.partitions;
      const messages = Array.from({ length: count }, () => ({ topic, partition, value }));
      await producer.send({ messages, acks: options.acks });
    }
  };
  try {
    // One warm-up send so that metadata and connections are not part of the measurement.
    await producer.send({ messages: [{ topic, partition: 0, value }], acks: options.acks });
    const started = performance.now();
    await Promise.all(Array.from({ length: PRODUCE_IN_FLIGHT_MAX }, sendOne));
    const seconds = (performance.now() - started) / 1000;
    return throughput(options, seconds);
  } finally {
    await producer.close();
  }
}

function throughput(
  options: { partitions: number; acks: number; records: number; recordBytes: number },
  seconds: number,
): ThroughputResult {
  return {
    ...options,
    seconds,
    recordsPerSecond: options.records / seconds,
    megabytesPerSecond: (options.records * options.recordBytes) / seconds / 1_000_000,
  };
}

/** Reads `records` records from the start of `topic` and reports the rate. */
export async function measureFetch(
  target: LoadTarget,
  topic: string,
  options: { partitions: number; records: number; recordBytes: number },
): Promise<ThroughputResult> {
  const consumer = new Consumer({
    ...clientOptions(target, 'fetcher'),
    groupId: `kstack-bench-${randomUUID()}`,
    maxBytes: 32 * 1024 * 1024,
    maxBytesPerPartition: 8 * 1024 * 1024,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    // The clock starts at the first record, so that joining the group (and Kafka's
    // group.initial.rebalance.delay.ms) is not counted as fetch time.
    let started = 0;
    let seen = 0;
    for await (const _message of stream as AsyncIterable<Message>) {
      if (seen === 0) started = performance.now();
      seen++;
      if (seen >= options.records) break;
    }
    const seconds = (performance.now() - started) / 1000;
    await stream.close();
    return throughput({ ...options, acks: 0, records: seen }, seconds);
  } finally {
    await consumer.close(true);
  }
}
