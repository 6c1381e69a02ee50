/**
 * The UI's side of the cluster: one Admin and one Consumer (@platformatic/kafka) shared by every
 * request. The consumer never joins a group: it only sends Fetch to partition leaders, so browsing
 * messages moves no offsets. Kafka's refusals become UiErrors carrying Kafka's own name and message.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  type ClusterMetadata,
  Consumer,
  findErrorBy,
  GenericError,
  NetworkError,
  Producer,
} from '@platformatic/kafka';
import { describeAnyGroups } from '../common/consumer-groups.ts';
import { guardConnectionErrors } from '../common/kafka-connections.ts';
import { type ClusterStatus, readStatus } from '../tools/status-command.ts';
import { badRequest, type KafkaErrorDetail, notFound, UiError } from './errors.ts';

/** Timeout of one Kafka request the UI makes. */
export const KAFKA_REQUEST_TIMEOUT_MS_DEFAULT = 15_000;
/** Tries again of an Admin request Kafka refused with a retriable error (the client's default was 2). */
const ADMIN_RETRIES = 2;
/** The wait before such a try. */
const ADMIN_RETRY_DELAY_MS = 500;
/** Most messages one browse request returns (the page keeps a bounded window). */
export const BROWSE_MESSAGES_MAX = 500;
/**
 * Bytes one browse Fetch asks for per partition. Kafka returns the first batch whole even when it is
 * larger, so a small ask only bounds how many records past the first batch the client must decode:
 * from the middle of a partition of 2,000,000 10-byte messages (batches of 10,000), 4 MiB asks took
 * 0.67-0.87 s a page of 50, this one 256 KiB.
 */
const FETCH_PARTITION_MAX_BYTES = 256 * 1024;
/** Fetches one browse request may make before returning what it has. */
const BROWSE_FETCHES_MAX = 20;
/** Live tails open at once (each has its own connection). */
export const TAIL_STREAMS_MAX = 16;
/** How long one live-tail Fetch waits for new messages. */
const TAIL_WAIT_MS = 1_000;
/** Most messages one live-tail event carries (the page keeps its own bounded window). */
export const TAIL_MESSAGES_PER_EVENT = 500;
/**
 * Longest wait for DescribeLogDirs, which goes to every broker: a paused one (registered until Kafka
 * fences it) would hold the Cluster page and the topic list for the whole request timeout.
 */
export const LOG_SIZES_TIMEOUT_MS = 5_000;
const CONFIG_RESOURCE_TOPIC = 2;
const CONFIG_RESOURCE_BROKER = 4;
const EARLIEST = -2n;
const LATEST = -1n;
const CONTROL_BATCH = 0x20;

export interface PartitionView {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offline: readonly number[];
  readonly beginning: string;
  readonly end: string;
}

/** Log sizes in bytes (DescribeLogDirs): per broker id, and per topic over all its replicas. */
export interface LogSizes {
  readonly brokers: ReadonlyMap<number, bigint>;
  readonly topics: ReadonlyMap<string, bigint>;
}

export interface ConfigView {
  readonly name: string;
  readonly value: string | null;
  readonly source: string;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
}

export interface RawMessage {
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly [Buffer | null, Buffer | null][];
}

/** Kafka's names for DescribeConfigs sources. */
const CONFIG_SOURCES: Readonly<Record<number, string>> = {
  1: 'topic',
  2: 'broker (dynamic)',
  3: 'cluster default (dynamic)',
  4: 'broker (static)',
  5: "Kafka's default",
  6: 'broker logger',
  7: 'client metrics',
  8: 'group',
};

interface ErrorLike {
  message?: string;
  apiId?: string;
  apiCode?: number;
  serverErrorMessage?: string | null;
  errors?: unknown[];
}

/** Kafka's error inside a @platformatic/kafka error (looking into aggregates), if Kafka sent one. */
export function kafkaErrorOf(error: unknown): KafkaErrorDetail | undefined {
  const e = error as ErrorLike | null;
  if (typeof e?.apiCode === 'number' && typeof e.apiId === 'string') {
    return { name: e.apiId, code: e.apiCode, message: e.serverErrorMessage ?? null };
  }
  for (const inner of e?.errors ?? []) {
    const found = kafkaErrorOf(inner);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The client's own rule for a retry: its error, and none in the chain says canRetry false. */
function retriable(error: unknown): boolean {
  return (
    GenericError.isGenericError(error as Error) && findErrorBy(error as Error, 'canRetry', false) === null
  );
}

/** No answer from the broker: a timeout, a refused or closed connection. */
function unanswered(error: unknown): boolean {
  return findErrorBy(error as Error, 'code', NetworkError.code) !== null;
}

function describe(error: unknown): string {
  const e = error as ErrorLike | null;
  const inner = e?.errors?.[0];
  if (inner !== undefined) return `${e?.message ?? 'error'}: ${describe(inner)}`;
  return e?.message ?? String(error);
}

/** A Kafka failure as the UI answers it: 400 with Kafka's words when Kafka refused, else 502. */
export function toUiError(error: unknown): UiError {
  if (error instanceof UiError) return error;
  const kafka = kafkaErrorOf(error);
  if (kafka !== undefined) {
    const words = kafka.message ?? describe(error);
    return new UiError(400, `KAFKA_${kafka.name}`, `Kafka refused: ${kafka.name}: ${words}`, kafka);
  }
  return new UiError(502, 'KAFKA_UNREACHABLE', `Kafka did not answer: ${describe(error)}`);
}

/**
 * `kstack status`'s raw reading from the first of `servers` that answers, starting at `from` (the
 * last one that did), one at a time: a broker that accepts and never answers (paused) costs
 * `timeoutMs` once, then the next one is asked. `answered` is the index to start from next time.
 */
export async function statusFromAny(
  servers: readonly string[],
  from: number,
  timeoutMs: number,
): Promise<{ status: ClusterStatus; answered: number }> {
  const failures: string[] = [];
  for (let i = 0; i < servers.length; i++) {
    const at = (from + i) % servers.length;
    try {
      const status = await readStatus({ bootstrap: [servers[at]!], format: 'json', timeoutMs });
      return { status, answered: at };
    } catch (error) {
      failures.push(`${servers[at]}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no broker answered: ${failures.join('; ')}`);
}

export interface UiKafkaOptions {
  readonly bootstrap: string;
  readonly requestTimeoutMs?: number;
}

export class UiKafka {
  readonly bootstrapBrokers: string[];
  readonly consumer: Consumer;
  readonly #base: { bootstrapBrokers: string[]; timeout: number; requestTimeout: number; retries: number };
  /**
   * One Admin per bootstrap broker, each listing the brokers from its own onwards, and the one in
   * use. One Admin over all of them took the first address that accepted a connection for every
   * request: a paused broker (SIGSTOP; its socket, or its fault proxy, still accepts) made each
   * request wait the whole timeout before the client's retry moved on, and the next request
   * started from it again.
   */
  readonly #admins: Admin[];
  #current = 0;
  #producer: Producer | undefined;
  #tails = 0;

  constructor(options: UiKafkaOptions) {
    this.bootstrapBrokers = options.bootstrap.split(',').map((s) => s.trim());
    const timeout = options.requestTimeoutMs ?? KAFKA_REQUEST_TIMEOUT_MS_DEFAULT;
    // The client's `timeout` does not reach its connections: `requestTimeout` (passed on to each
    // connection, 30 s unless given) is what ends a request a broker never answers.
    const base = { bootstrapBrokers: this.bootstrapBrokers, timeout, requestTimeout: timeout, retries: 2 };
    this.#base = base;
    this.#admins = this.bootstrapBrokers.map((_, i) =>
      guardConnectionErrors(
        new Admin({
          ...base,
          bootstrapBrokers: [...this.bootstrapBrokers.slice(i), ...this.bootstrapBrokers.slice(0, i)],
          // Retried here (#call), so that a broker that does not answer moves us to the next one.
          retries: 0,
          clientId: 'kstack-ui-admin',
        }),
      ),
    );
    // A group id is required by the client; this consumer never joins it (Fetch only).
    this.consumer = guardConnectionErrors(
      new Consumer({ ...base, clientId: 'kstack-ui-browser', groupId: 'kstack-ui-browser' }),
    );
  }

  /** The Admin in use: the last one whose bootstrap broker answered. */
  get admin(): Admin {
    return this.#admins[this.#current]!;
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      ...this.#admins.map((admin) => admin.close()),
      this.consumer.close(true),
      this.#producer?.close(),
    ]);
  }

  /**
   * Runs `action` (which reads `this.admin`) as the client's own retries did: a failure Kafka marks
   * retriable is tried again after ADMIN_RETRY_DELAY_MS, at most ADMIN_RETRIES times; a failure
   * without Kafka's answer (a timeout, a refused or closed connection) moves to the next bootstrap
   * broker's Admin at once, each of them once, and the UI stays with the one that answers.
   */
  async #call<T>(action: () => Promise<T>): Promise<T> {
    let retries = 0;
    let moves = 0;
    for (;;) {
      try {
        return await action();
      } catch (error) {
        if (unanswered(error) && moves < this.#admins.length - 1) {
          moves++;
          this.#current = (this.#current + 1) % this.#admins.length;
          continue;
        }
        if (retries < ADMIN_RETRIES && retriable(error)) {
          retries++;
          await sleep(ADMIN_RETRY_DELAY_MS);
          continue;
        }
        throw toUiError(error);
      }
    }
  }

  /** `kstack status`'s raw reading (every topic, internal ones included), from the broker in use first. */
  async status(timeoutMs: number): Promise<ClusterStatus> {
    const { status, answered } = await statusFromAny(this.bootstrapBrokers, this.#current, timeoutMs);
    this.#current = answered;
    return status;
  }

  /**
   * The cluster's metadata for `topics`. @platformatic/kafka leaves Kafka's internal topics
   * (__consumer_offsets, __transaction_state) out of its answer (their entries are undefined), so
   * they are dropped here: the UI does not show them.
   */
  async metadata(topics: readonly string[] = []): Promise<ClusterMetadata> {
    const metadata = await this.#call(() =>
      this.admin.metadata({ topics: [...topics], forceUpdate: true, autocreateTopics: false }),
    );
    const known = [...metadata.topics].filter(([, info]) => info !== undefined);
    return { ...metadata, topics: new Map(known) };
  }

  listTopics(): Promise<string[]> {
    return this.#call(async () => (await this.admin.listTopics({ includeInternals: true })).sort());
  }

  /** Earliest and latest offsets of the given partitions of many topics, in two ListOffsets. */
  async offsets(
    topics: ReadonlyMap<string, number>,
  ): Promise<Map<string, { beginning: bigint; end: bigint }>> {
    const result = new Map<string, { beginning: bigint; end: bigint }>();
    if (topics.size === 0) return result;
    const ask = (timestamp: bigint) =>
      this.#call(() =>
        this.admin.listOffsets({
          topics: [...topics].map(([name, count]) => ({
            name,
            partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp })),
          })),
        }),
      );
    const [earliest, latest] = await Promise.all([ask(EARLIEST), ask(LATEST)]);
    for (const topic of earliest)
      for (const p of topic.partitions)
        result.set(`${topic.name}/${p.partitionIndex}`, { beginning: p.offset, end: -1n });
    for (const topic of latest)
      for (const p of topic.partitions) {
        const key = `${topic.name}/${p.partitionIndex}`;
        result.set(key, { beginning: result.get(key)?.beginning ?? -1n, end: p.offset });
      }
    return result;
  }

  /**
   * Bytes on disk (DescribeLogDirs, sent to every broker): per broker, the sum of its replicas' log
   * sizes over its log dirs; per topic, the sum over every replica of its partitions (all brokers).
   * Only the given topics' partitions are asked for (the client sends no null "all topics").
   */
  async logSizes(topics: ReadonlyMap<string, number>): Promise<LogSizes> {
    const brokers = new Map<number, bigint>();
    const byTopic = new Map<string, bigint>();
    if (topics.size === 0) return { brokers, topics: byTopic };
    const asked = this.#call(() =>
      this.admin.describeLogDirs({
        topics: [...topics].map(([name, count]) => ({
          name,
          partitions: Array.from({ length: count }, (_, p) => p),
        })),
      }),
    );
    asked.catch(() => undefined); // a failure after the timeout below is not the caller's any more
    const timer = new AbortController();
    const late = sleep(LOG_SIZES_TIMEOUT_MS, undefined, { signal: timer.signal }).then(
      () => {
        throw new UiError(
          504,
          'UI_TIMEOUT',
          `DescribeLogDirs: not every broker answered in ${LOG_SIZES_TIMEOUT_MS} ms`,
        );
      },
      () => [],
    );
    let answer: Awaited<typeof asked>;
    try {
      answer = await Promise.race([asked, late]);
    } finally {
      timer.abort();
    }
    for (const broker of answer) {
      let total = 0n;
      for (const dir of broker.results)
        for (const topic of dir.topics)
          for (const p of topic.partitions) {
            if (p.isFutureKey) continue;
            total += p.partitionSize;
            byTopic.set(topic.name, (byTopic.get(topic.name) ?? 0n) + p.partitionSize);
          }
      brokers.set(broker.broker, total);
    }
    return { brokers, topics: byTopic };
  }

  /** The first offset whose timestamp is at or after `timestampMs` in each partition (-1: none). */
  async offsetsForTime(topic: string, partitions: readonly number[], timestampMs: bigint) {
    const answer = await this.#call(() =>
      this.admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: timestampMs })),
          },
        ],
      }),
    );
    const result = new Map<number, bigint>();
    for (const p of answer[0]?.partitions ?? []) result.set(p.partitionIndex, p.offset);
    return result;
  }

  /** 404 naming the topic when Kafka does not list it (the client's Metadata error would not say so). */
  async requireTopic(topic: string): Promise<void> {
    if (!(await this.listTopics()).includes(topic)) throw notFound(`topic '${topic}'`);
  }

  async partitions(topic: string): Promise<PartitionView[]> {
    await this.requireTopic(topic);
    const metadata = await this.metadata([topic]);
    const info = metadata.topics.get(topic);
    if (info === undefined) throw notFound(`topic '${topic}'`);
    const offsets = await this.offsets(new Map([[topic, info.partitions.length]]));
    return info.partitions.map((p, partition) => {
      const o = offsets.get(`${topic}/${partition}`);
      return {
        partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        offline: p.offlineReplicas,
        beginning: String(o?.beginning ?? -1n),
        end: String(o?.end ?? -1n),
      };
    });
  }

  topicConfigs(topic: string): Promise<ConfigView[]> {
    return this.#configs(CONFIG_RESOURCE_TOPIC, topic);
  }

  brokerConfigs(brokerId: number): Promise<ConfigView[]> {
    return this.#configs(CONFIG_RESOURCE_BROKER, String(brokerId));
  }

  async #configs(resourceType: 2 | 4, resourceName: string): Promise<ConfigView[]> {
    const described = await this.#call(() =>
      this.admin.describeConfigs({ resources: [{ resourceType, resourceName }], includeSynonyms: false }),
    );
    return (described[0]?.configs ?? [])
      .map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : (c.value ?? null),
        source: CONFIG_SOURCES[c.configSource] ?? `source ${c.configSource}`,
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Readonly<Record<string, string>>,
  ) {
    return this.#call(() =>
      this.admin.createTopics({
        topics: [name],
        partitions,
        replicas: replicationFactor,
        configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
      }),
    );
  }

  deleteTopic(name: string): Promise<void> {
    return this.#call(() => this.admin.deleteTopics({ topics: [name] }));
  }

  addPartitions(name: string, count: number): Promise<void> {
    return this.#call(() =>
      // No assignments (null on the wire): the broker places them. An empty list means "these
      // assignments", and Kafka refuses it (INVALID_REPLICA_ASSIGNMENT: 0 assignments for N partitions).
      this.admin.createPartitions({ topics: [{ name, count }], validateOnly: false }),
    );
  }

  /** Sets one topic config (IncrementalAlterConfigs SET); Kafka checks the value. */
  setTopicConfig(topic: string, name: string, value: string): Promise<void> {
    return this.#call(() =>
      this.admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: CONFIG_RESOURCE_TOPIC,
            resourceName: topic,
            configs: [{ name, configOperation: 0, value }],
          },
        ],
      }),
    );
  }

  /** Writes one message (acks=all); without a partition, the client's default partitioner picks one. */
  async produce(message: {
    topic: string;
    partition: number | undefined;
    key: Buffer | undefined;
    value: Buffer | undefined;
    headers: ReadonlyMap<string, Buffer>;
  }): Promise<{ partition: number; offset: bigint }> {
    this.#producer ??= guardConnectionErrors(
      new Producer({ ...this.#base, clientId: 'kstack-ui-producer', acks: -1 }),
    );
    const producer = this.#producer;
    const result = await this.#call(() =>
      producer.send({
        messages: [
          {
            topic: message.topic,
            ...(message.partition === undefined ? {} : { partition: message.partition }),
            ...(message.key === undefined ? {} : { key: message.key }),
            ...(message.value === undefined ? {} : { value: message.value }),
            headers: new Map([...message.headers].map(([key, value]) => [Buffer.from(key, 'utf8'), value])),
          },
        ],
        // acks=all here: @platformatic/kafka 2.12 takes acks from send() only (the
        // constructor's is ignored, and send() defaults to acks=1).
        acks: -1,
        autocreateTopics: false,
      }),
    );
    const written = result.offsets?.[0];
    if (written === undefined) throw new UiError(502, 'KAFKA_NO_OFFSET', 'Kafka acknowledged no offset');
    return { partition: written.partition, offset: written.offset };
  }

  deleteGroup(id: string): Promise<void> {
    return this.#call(() => this.admin.deleteGroups({ groups: [id] }));
  }

  /** The leader and topic id of one partition, or the error naming why it cannot be read. */
  async #leaderOf(topic: string, partition: number): Promise<{ leader: number; topicId: string }> {
    const metadata = await this.metadata([topic]);
    const info = metadata.topics.get(topic);
    if (info === undefined) throw notFound(`topic '${topic}'`);
    const leader = info.partitions[partition]?.leader;
    if (leader === undefined) throw notFound(`partition ${partition} of topic '${topic}'`);
    if (leader < 0) throw badRequest(`partition ${partition} of topic '${topic}' has no leader now`);
    return { leader, topicId: info.id };
  }

  /**
   * One Fetch of one partition from `position`: the messages at or after it below `endOffset` (at
   * most `limit`; control batches skipped) and the offset after the last batch returned.
   */
  async #fetchOnce(
    consumer: Consumer,
    where: { leader: number; topicId: string; partition: number },
    position: bigint,
    window: { endOffset: bigint; limit: number; waitMs: number; accept?: (message: RawMessage) => boolean },
  ): Promise<{ messages: RawMessage[]; next: bigint }> {
    const response = await this.#call(() =>
      consumer.fetch({
        node: where.leader,
        maxWaitTime: window.waitMs,
        minBytes: window.waitMs > 0 ? 1 : 0,
        maxBytes: FETCH_PARTITION_MAX_BYTES,
        topics: [
          {
            topicId: where.topicId,
            partitions: [
              {
                partition: where.partition,
                fetchOffset: position,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                partitionMaxBytes: FETCH_PARTITION_MAX_BYTES,
              },
            ],
          },
        ],
      }),
    );
    const messages: RawMessage[] = [];
    let next = position;
    for (const batch of response.responses[0]?.partitions[0]?.records ?? []) {
      if ((batch.attributes & CONTROL_BATCH) === 0) {
        for (const record of batch.records) {
          const offset = batch.firstOffset + BigInt(record.offsetDelta);
          if (offset < position || offset >= window.endOffset || messages.length >= window.limit) continue;
          const message: RawMessage = {
            partition: where.partition,
            offset,
            timestamp: batch.firstTimestamp + record.timestampDelta,
            key: record.key,
            value: record.value,
            headers: record.headers,
          };
          if (window.accept === undefined || window.accept(message)) messages.push(message);
        }
      }
      const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
      if (after > next) next = after;
    }
    // A batch cut by the limit resumes after the last message taken.
    const last = messages.at(-1);
    if (messages.length >= window.limit && last !== undefined) next = last.offset + 1n;
    return { messages, next };
  }

  /**
   * Up to `limit` messages of one partition from `startOffset` on (control batches skipped; only those
   * `accept` takes, when given), read with Fetch from the partition's leader; stops at `endOffset`
   * (exclusive) or after BROWSE_FETCHES_MAX fetches.
   */
  async read(
    topic: string,
    partition: number,
    startOffset: bigint,
    endOffset: bigint,
    limit: number,
    accept?: (message: RawMessage) => boolean,
  ): Promise<RawMessage[]> {
    const { leader, topicId } = await this.#leaderOf(topic, partition);
    const out: RawMessage[] = [];
    let position = startOffset;
    for (
      let fetches = 0;
      fetches < BROWSE_FETCHES_MAX && out.length < limit && position < endOffset;
      fetches++
    ) {
      const { messages, next } = await this.#fetchOnce(
        this.consumer,
        { leader, topicId, partition },
        position,
        { endOffset, limit: limit - out.length, waitMs: 0, ...(accept === undefined ? {} : { accept }) },
      );
      out.push(...messages);
      if (next === position) break;
      position = next;
    }
    return out;
  }

  /**
   * Live tail: yields first the partition's end offset (where the tail starts, with no messages),
   * then each batch of messages appended from there on, until `signal` aborts. Each tail has its own consumer connection, so its long polls
   * (TAIL_WAIT_MS) never hold up the shared one; at most TAIL_STREAMS_MAX run at once.
   */
  /** 429 when TAIL_STREAMS_MAX live tails are open. */
  checkTailLimit(): void {
    if (this.#tails >= TAIL_STREAMS_MAX) {
      throw new UiError(
        429,
        'UI_TOO_MANY_TAILS',
        `at most ${TAIL_STREAMS_MAX} live tails at once (TAIL_STREAMS_MAX)`,
      );
    }
  }

  async *tail(
    topic: string,
    partition: number,
    signal: AbortSignal,
  ): AsyncGenerator<{ from: bigint; messages: RawMessage[] }> {
    this.checkTailLimit();
    this.#tails++;
    const consumer = guardConnectionErrors(
      new Consumer({ ...this.#base, clientId: 'kstack-ui-tail', groupId: 'kstack-ui-tail' }),
    );
    try {
      let where = { ...(await this.#leaderOf(topic, partition)), partition };
      let position =
        (await this.offsets(new Map([[topic, partition + 1]]))).get(`${topic}/${partition}`)?.end ?? 0n;
      yield { from: position, messages: [] };
      while (!signal.aborted) {
        let fetched: { messages: RawMessage[]; next: bigint };
        try {
          fetched = await this.#fetchOnce(consumer, where, position, {
            endOffset: 2n ** 63n - 1n,
            limit: TAIL_MESSAGES_PER_EVENT,
            waitMs: TAIL_WAIT_MS,
          });
        } catch (error) {
          // The leader may have moved: look it up again once, then give up with the error.
          where = { ...(await this.#leaderOf(topic, partition)), partition };
          if (signal.aborted) return;
          fetched = await this.#fetchOnce(consumer, where, position, {
            endOffset: 2n ** 63n - 1n,
            limit: TAIL_MESSAGES_PER_EVENT,
            waitMs: TAIL_WAIT_MS,
          }).catch(() => {
            throw error;
          });
        }
        const from = position;
        position = fetched.next;
        if (fetched.messages.length > 0 && !signal.aborted) yield { from, messages: fetched.messages };
      }
    } finally {
      this.#tails--;
      await consumer.close(true).catch(() => {});
    }
  }

  async groups() {
    const listed = await this.#call(() => this.admin.listGroups());
    return [...listed.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  async describeGroup(id: string) {
    // Groups of every protocol type (a Schema Registry's `sr`, Connect's `connect`): members of other
    // protocols come without assignments (src/common/consumer-groups.ts).
    const described = await this.#call(() => describeAnyGroups(this.admin, [id]));
    const group = described.get(id);
    if (group === undefined || group.state === 'Dead' || group.state === 'DEAD')
      throw notFound(`group '${id}'`);
    return group;
  }

  async committedOffsets(id: string): Promise<{ topic: string; partition: number; offset: bigint }[]> {
    const listed = await this.#call(() => this.admin.listConsumerGroupOffsets({ groups: [id] }));
    const out: { topic: string; partition: number; offset: bigint }[] = [];
    for (const topic of listed[0]?.topics ?? [])
      for (const p of topic.partitions)
        if (p.committedOffset >= 0n)
          out.push({ topic: topic.name, partition: p.partitionIndex, offset: p.committedOffset });
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  alterOffsets(id: string, topic: string, offsets: readonly { partition: number; offset: bigint }[]) {
    return this.#call(() =>
      this.admin.alterConsumerGroupOffsets({
        groupId: id,
        topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ ...o })) }],
      }),
    );
  }
}
