/**
 * Consumer instances of the v2 API. Each instance is one @platformatic/kafka Consumer in its
 * group; it joins the group when it subscribes (so its assignment exists before its first read,
 * and heartbeats keep it while the HTTP client is away), or takes a manual assignment. The proxy
 * keeps each assigned partition's position itself and reads with Fetch from the leaders, so
 * `timeout`, `max_bytes`, seeks and commits act exactly on what the HTTP client saw.
 * Operations on one instance run one at a time; an instance unused for
 * `consumer.instance.timeout.ms` is closed (it leaves its group, so its partitions move).
 */
import { randomUUID } from 'node:crypto';
import { Consumer } from '@platformatic/kafka';
import { guardConnectionErrors } from '../common/kafka-connections.ts';
import {
  consumerAlreadyExists,
  consumerAlreadySubscribed,
  consumerInstanceNotFound,
  illegalState,
  invalidConsumerConfig,
  RestError,
} from './errors.ts';
import type { EmbeddedFormat, EmbeddedFormats } from './formats.ts';
import { type KafkaSide, kafkaCodeOf, toRestError } from './kafka.ts';

/** Confluent's default for `consumer.instance.timeout.ms`. */
export const CONSUMER_INSTANCE_TIMEOUT_MS_DEFAULT = 300_000;
/** Confluent's default for `consumer.request.timeout.ms`: how long a records read waits by default. */
export const CONSUMER_REQUEST_TIMEOUT_MS_DEFAULT = 1_000;
/** Confluent's default for `consumer.request.max.bytes`: the most key+value bytes one read returns. */
export const CONSUMER_REQUEST_MAX_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Consumer instances one proxy keeps at once (`consumer.instances.max`). */
export const CONSUMER_INSTANCES_MAX_DEFAULT = 1_000;
/** Bytes asked per partition in one Fetch. */
const FETCH_PARTITION_MAX_BYTES = 1024 * 1024;
/**
 * The longest one Fetch round waits when the assigned partitions have several leaders: the round
 * answers once every leader has, so a leader with nothing new would hold records another leader
 * returned at once for the whole request timeout (a 1 s read of a topic over three brokers took
 * 1 s per round where one broker answered at once). Records arriving meanwhile wait at most this.
 */
export const FETCH_ROUND_WAIT_MS_MULTI_LEADER = 200;
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const REBALANCE_TIMEOUT_MS = 20_000;
/**
 * What a consumer's connection waits beyond the rebalance timeout before it gives up on a JoinGroup
 * (the broker may hold one that long): Kafka's consumer waits max(request.timeout.ms,
 * rebalance.timeout.ms + 5 s) for it.
 */
const JOIN_GROUP_MARGIN_MS = 5_000;
const OFFSET_OUT_OF_RANGE = 1;
const CONTROL_BATCH = 0x20;

export type OffsetReset = 'earliest' | 'latest' | 'none';

export interface InstanceConfig {
  readonly format: EmbeddedFormat;
  readonly autoOffsetReset: OffsetReset;
  readonly autoCommit: boolean;
  readonly fetchMinBytes: number;
  readonly requestTimeoutMs: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class ConsumerInstance {
  readonly group: string;
  readonly id: string;
  readonly config: InstanceConfig;
  lastUsedMs: number;
  readonly #kafka: KafkaSide;
  readonly #consumer: Consumer;
  #mode: 'none' | 'subscribe' | 'assign' = 'none';
  #subscription: string[] = [];
  #pattern: string | undefined;
  #manual: TopicPartition[] = [];
  readonly #positions = new Map<string, { tp: TopicPartition; offset: bigint }>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #pending = 0;

  constructor(kafka: KafkaSide, group: string, id: string, config: InstanceConfig, nowMs: number) {
    this.#kafka = kafka;
    this.group = group;
    this.id = id;
    this.config = config;
    this.lastUsedMs = nowMs;
    this.#consumer = guardConnectionErrors(
      new Consumer({
        bootstrapBrokers: kafka.bootstrapBrokers,
        clientId: `kstack-rest-proxy-${id}`,
        groupId: group,
        timeout: kafka.requestTimeoutMs,
        // The client's `timeout` never reaches its connections: `requestTimeout` ends a request the
        // broker never answers. One value for every request, so it must outlast a JoinGroup.
        requestTimeout: Math.max(kafka.requestTimeoutMs, REBALANCE_TIMEOUT_MS + JOIN_GROUP_MARGIN_MS),
        retries: 3,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: HEARTBEAT_INTERVAL_MS,
        rebalanceTimeout: REBALANCE_TIMEOUT_MS,
      }),
    );
    // A failed background rejoin is reported on the next read; never crash the proxy.
    this.#consumer.on('error', () => {});
  }

  /** Runs one operation after the previous ones on this instance. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    this.#pending++;
    const next = this.#queue.then(operation, operation).finally(() => {
      this.#pending--;
      this.lastUsedMs = Date.now();
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Operations queued or running: an instance in use never expires. */
  get busy(): boolean {
    return this.#pending > 0;
  }

  get subscription(): { topics: string[]; pattern: string | undefined } {
    return { topics: [...this.#subscription], pattern: this.#pattern };
  }

  async subscribe(topics: readonly string[] | undefined, pattern: string | undefined): Promise<void> {
    if (this.#mode === 'assign') throw consumerAlreadySubscribed();
    let names = [...(topics ?? [])];
    if (pattern !== undefined) {
      let regex: RegExp;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch (error) {
        throw new RestError(
          422,
          422,
          `topic_pattern is not a valid regular expression: ${(error as Error).message}`,
        );
      }
      names = (await this.#kafka.listTopics()).filter((t) => regex.test(t));
    }
    if (this.#mode === 'subscribe') {
      this.#consumer.topics.untrackAll(...this.#subscription);
    }
    this.#subscription = names;
    this.#pattern = pattern;
    this.#mode = 'subscribe';
    this.#positions.clear();
    this.#consumer.topics.trackAll(...names);
    try {
      await this.#consumer.joinGroup({});
    } catch (error) {
      throw toRestError(error);
    }
  }

  async unsubscribe(): Promise<void> {
    if (this.#mode === 'subscribe') {
      this.#consumer.topics.untrackAll(...this.#subscription);
      try {
        await this.#consumer.leaveGroup();
      } catch (error) {
        throw toRestError(error);
      }
    }
    this.#mode = 'none';
    this.#subscription = [];
    this.#pattern = undefined;
    this.#manual = [];
    this.#positions.clear();
  }

  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.#mode === 'subscribe') throw consumerAlreadySubscribed();
    for (const tp of partitions) await this.#kafka.partition(tp.topic, tp.partition);
    this.#manual = [...partitions];
    this.#mode = partitions.length === 0 ? 'none' : 'assign';
    const keep = new Set(partitions.map((tp) => keyOf(tp.topic, tp.partition)));
    for (const key of this.#positions.keys()) if (!keep.has(key)) this.#positions.delete(key);
  }

  /** The partitions this instance reads now (the group's answer, or the manual list). */
  assignment(): TopicPartition[] {
    if (this.#mode === 'assign') return [...this.#manual];
    if (this.#mode !== 'subscribe') return [];
    const result: TopicPartition[] = [];
    for (const a of this.#consumer.assignments ?? []) {
      for (const partition of a.partitions) result.push({ topic: a.topic, partition });
    }
    return result.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  #requireAssigned(partitions: readonly TopicPartition[]): void {
    const assigned = new Set(this.assignment().map((tp) => keyOf(tp.topic, tp.partition)));
    for (const tp of partitions) {
      if (!assigned.has(keyOf(tp.topic, tp.partition))) {
        throw illegalState(`No current assignment for partition ${tp.topic}-${tp.partition}`);
      }
    }
  }

  seek(offsets: readonly (TopicPartition & { offset: bigint })[]): void {
    this.#requireAssigned(offsets);
    for (const o of offsets) {
      this.#positions.set(keyOf(o.topic, o.partition), {
        tp: { topic: o.topic, partition: o.partition },
        offset: o.offset,
      });
    }
  }

  async seekTo(partitions: readonly TopicPartition[], where: 'beginning' | 'end'): Promise<void> {
    this.#requireAssigned(partitions);
    for (const [topic, list] of groupByTopic(partitions)) {
      const offsets = await this.#kafka.offsets(topic, list);
      for (const partition of list) {
        const found = offsets.get(partition);
        if (found === undefined) continue;
        this.#positions.set(keyOf(topic, partition), {
          tp: { topic, partition },
          offset: where === 'beginning' ? found.beginning : found.end,
        });
      }
    }
  }

  /** Commits the given offsets (the last record read: Kafka stores offset + 1), or every position. */
  async commit(offsets: readonly (TopicPartition & { offset: bigint })[] | undefined): Promise<void> {
    const toCommit =
      offsets?.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset + 1n })) ??
      [...this.#positions.values()].map((p) => ({ ...p.tp, offset: p.offset }));
    if (toCommit.length === 0) return;
    try {
      if (this.#mode === 'subscribe') {
        await this.#consumer.commit({ offsets: toCommit.map((o) => ({ ...o, leaderEpoch: -1 })) });
      } else {
        await this.#kafka.admin.alterConsumerGroupOffsets({
          groupId: this.group,
          topics: [...groupByTopic(toCommit)].map(([name]) => ({
            name,
            partitionOffsets: toCommit
              .filter((o) => o.topic === name)
              .map((o) => ({ partition: o.partition, offset: o.offset })),
          })),
        });
      }
    } catch (error) {
      throw toRestError(error);
    }
  }

  /** The group's committed offsets (next offset to read) of these partitions; uncommitted ones left out. */
  async committed(
    partitions: readonly TopicPartition[],
  ): Promise<(TopicPartition & { offset: bigint; metadata: string })[]> {
    if (partitions.length === 0) return [];
    let groups: Awaited<ReturnType<KafkaSide['admin']['listConsumerGroupOffsets']>>;
    try {
      groups = await this.#kafka.admin.listConsumerGroupOffsets({
        groups: [
          {
            groupId: this.group,
            topics: [...groupByTopic(partitions)].map(([name, list]) => ({ name, partitionIndexes: list })),
          },
        ],
      });
    } catch (error) {
      throw toRestError(error);
    }
    const result: (TopicPartition & { offset: bigint; metadata: string })[] = [];
    for (const topic of groups[0]?.topics ?? []) {
      for (const p of topic.partitions) {
        if (p.committedOffset < 0n) continue;
        result.push({
          topic: topic.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          metadata: p.metadata ?? '',
        });
      }
    }
    return result;
  }

  /** Positions of the assigned partitions that have none yet: committed, else the reset policy. */
  async #initPositions(assigned: readonly TopicPartition[]): Promise<void> {
    const missing = assigned.filter((tp) => !this.#positions.has(keyOf(tp.topic, tp.partition)));
    if (missing.length === 0) return;
    const committed = await this.committed(missing);
    for (const c of committed) this.#positions.set(keyOf(c.topic, c.partition), { tp: c, offset: c.offset });
    const still = missing.filter((tp) => !this.#positions.has(keyOf(tp.topic, tp.partition)));
    await this.#reset(still);
  }

  async #reset(partitions: readonly TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return;
    if (this.config.autoOffsetReset === 'none') {
      const names = partitions.map((tp) => `${tp.topic}-${tp.partition}`).join(', ');
      throw new RestError(
        500,
        50002,
        `Kafka error: no valid offset for ${names} and auto.offset.reset is none`,
      );
    }
    for (const [topic, list] of groupByTopic(partitions)) {
      const offsets = await this.#kafka.offsets(topic, list);
      for (const partition of list) {
        const found = offsets.get(partition);
        if (found === undefined) continue;
        const offset = this.config.autoOffsetReset === 'earliest' ? found.beginning : found.end;
        this.#positions.set(keyOf(topic, partition), { tp: { topic, partition }, offset });
      }
    }
  }

  /**
   * Reads what is there within `timeoutMs`: returns as soon as one Fetch round brings records,
   * at most `maxBytes` of keys and values (a record that would pass the limit waits for the
   * next read, as in Confluent's proxy).
   */
  async records(timeoutMs: number, maxBytes: number): Promise<ConsumedRecord[]> {
    const deadline = Date.now() + timeoutMs;
    let first = true;
    for (;;) {
      const assigned = this.assignment();
      if (assigned.length === 0) {
        if (this.#mode === 'none')
          throw illegalState('Consumer is not subscribed to any topics or assigned any partitions');
        // Subscribed but the group gave nothing (yet): wait for the rest of the timeout.
        const remaining = deadline - Date.now();
        if (remaining <= 0) return [];
        await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 100)));
        continue;
      }
      await this.#initPositions(assigned);
      // What is there already is answered at once: the first round does not wait.
      const remaining = first ? 0 : Math.max(0, deadline - Date.now());
      first = false;
      const found = await this.#fetchOnce(assigned, remaining, maxBytes);
      if (found.length > 0 || Date.now() >= deadline) {
        if (found.length > 0 && this.config.autoCommit) await this.commit(undefined);
        return found;
      }
    }
  }

  async #fetchOnce(
    assigned: readonly TopicPartition[],
    waitMs: number,
    maxBytes: number,
  ): Promise<ConsumedRecord[]> {
    const topics = [...new Set(assigned.map((tp) => tp.topic))];
    let metadata: Awaited<ReturnType<Consumer['metadata']>>;
    try {
      metadata = await this.#consumer.metadata({ topics, autocreateTopics: false });
    } catch (error) {
      throw toRestError(error);
    }
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of assigned) {
      const leader = metadata.topics.get(tp.topic)?.partitions[tp.partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), tp]);
    }
    const idToName = new Map<string, string>();
    for (const [name, info] of metadata.topics) idToName.set(info.id, name);
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    let full = false;
    const roundWaitMs = byLeader.size > 1 ? Math.min(waitMs, FETCH_ROUND_WAIT_MS_MULTI_LEADER) : waitMs;
    const responses = await Promise.all(
      [...byLeader].map(async ([node, tps]) => {
        try {
          return await this.#consumer.fetch({
            node,
            maxWaitTime: roundWaitMs,
            minBytes: this.config.fetchMinBytes,
            maxBytes: Math.max(maxBytes, 1),
            topics: [...groupByTopic(tps)].map(([topic, list]) => ({
              topicId: metadata.topics.get(topic)?.id ?? '',
              partitions: list.map((partition) => ({
                partition,
                fetchOffset: this.#positions.get(keyOf(topic, partition))?.offset ?? 0n,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                partitionMaxBytes: FETCH_PARTITION_MAX_BYTES,
              })),
            })),
          });
        } catch (error) {
          if (kafkaCodeOf(error) === OFFSET_OUT_OF_RANGE) {
            await this.#resetOutOfRange(tps);
            return undefined;
          }
          throw toRestError(error);
        }
      }),
    );
    for (const response of responses) {
      for (const topicResponse of response?.responses ?? []) {
        const topic = idToName.get(topicResponse.topicId);
        if (topic === undefined) continue;
        for (const partition of topicResponse.partitions) {
          const position = this.#positions.get(keyOf(topic, partition.partitionIndex));
          if (position === undefined) continue;
          for (const batch of partition.records ?? []) {
            if ((batch.attributes & CONTROL_BATCH) !== 0) {
              const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
              if (!full && after > position.offset) position.offset = after;
              continue;
            }
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (full || offset < position.offset) continue;
              const size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
              if (bytes + size > maxBytes) {
                full = true;
                continue;
              }
              bytes += size;
              out.push({
                topic,
                partition: partition.partitionIndex,
                offset,
                key: record.key,
                value: record.value,
              });
              position.offset = offset + 1n;
            }
          }
        }
      }
    }
    return out;
  }

  /** Puts positions outside [log start, log end] back by the reset policy. */
  async #resetOutOfRange(partitions: readonly TopicPartition[]): Promise<void> {
    const out: TopicPartition[] = [];
    for (const [topic, list] of groupByTopic(partitions)) {
      const offsets = await this.#kafka.offsets(topic, list);
      for (const partition of list) {
        const position = this.#positions.get(keyOf(topic, partition));
        const range = offsets.get(partition);
        if (position === undefined || range === undefined) continue;
        if (position.offset < range.beginning || position.offset > range.end) {
          this.#positions.delete(keyOf(topic, partition));
          out.push({ topic, partition });
        }
      }
    }
    await this.#reset(out);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#consumer.close(true).catch(() => {});
  }
}

function groupByTopic<T extends TopicPartition>(partitions: readonly T[]): Map<string, number[]> {
  const result = new Map<string, number[]>();
  for (const tp of partitions) result.set(tp.topic, [...(result.get(tp.topic) ?? []), tp.partition]);
  return result;
}

export interface ConsumerManagerOptions {
  /** `consumer.instance.timeout.ms`: idle time after which an instance is closed. */
  readonly instanceTimeoutMs?: number;
  /** `consumer.instances.max`. */
  readonly instancesMax?: number;
  /** `consumer.request.max.bytes`: max_bytes of a records read when the request gives none. */
  readonly requestMaxBytes?: number;
}

/** The instances of every group, their creation, lookup and idle expiry. */
export class ConsumerManager {
  readonly instanceTimeoutMs: number;
  readonly instancesMax: number;
  readonly requestMaxBytes: number;
  readonly #kafka: KafkaSide;
  readonly #formats: EmbeddedFormats;
  readonly #instances = new Map<string, ConsumerInstance>();
  readonly #sweep: NodeJS.Timeout;

  constructor(kafka: KafkaSide, formats: EmbeddedFormats, options: ConsumerManagerOptions = {}) {
    this.#kafka = kafka;
    this.#formats = formats;
    this.instanceTimeoutMs = options.instanceTimeoutMs ?? CONSUMER_INSTANCE_TIMEOUT_MS_DEFAULT;
    this.instancesMax = options.instancesMax ?? CONSUMER_INSTANCES_MAX_DEFAULT;
    this.requestMaxBytes = options.requestMaxBytes ?? CONSUMER_REQUEST_MAX_BYTES_DEFAULT;
    const every = Math.max(50, Math.min(5_000, Math.floor(this.instanceTimeoutMs / 4)));
    this.#sweep = setInterval(() => void this.expireIdle(Date.now()), every);
    this.#sweep.unref();
  }

  create(group: string, name: string | undefined, config: InstanceConfig): ConsumerInstance {
    this.#formats.checkConsumable(config.format);
    const id = name ?? `rest-consumer-${randomUUID()}`;
    const key = `${group}\u0000${id}`;
    if (this.#instances.has(key)) throw consumerAlreadyExists(group, id);
    if (this.#instances.size >= this.instancesMax) {
      throw new RestError(
        429,
        42901,
        `Too many consumer instances: consumer.instances.max is ${this.instancesMax}; delete unused ones`,
      );
    }
    const instance = new ConsumerInstance(this.#kafka, group, id, config, Date.now());
    this.#instances.set(key, instance);
    return instance;
  }

  /** The instance, marked as used now, or 40403. */
  get(group: string, id: string): ConsumerInstance {
    const instance = this.#instances.get(`${group}\u0000${id}`);
    if (instance === undefined) throw consumerInstanceNotFound(group, id);
    instance.lastUsedMs = Date.now();
    return instance;
  }

  async delete(group: string, id: string): Promise<void> {
    const instance = this.get(group, id);
    this.#instances.delete(`${group}\u0000${id}`);
    await instance.run(() => instance.close());
  }

  /** Closes the instances idle longer than the timeout; returns how many. */
  async expireIdle(nowMs: number): Promise<number> {
    const idle = [...this.#instances].filter(
      ([, i]) => !i.busy && nowMs - i.lastUsedMs > this.instanceTimeoutMs,
    );
    for (const [key] of idle) this.#instances.delete(key);
    await Promise.all(idle.map(([, i]) => i.run(() => i.close())));
    return idle.length;
  }

  get size(): number {
    return this.#instances.size;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map((i) => i.close()));
  }
}

/** Parses Confluent's consumer creation fields (strings or JSON scalars), or 42204. */
export function parseInstanceConfig(body: Record<string, unknown>): InstanceConfig {
  const format = String(body.format ?? 'binary');
  if (!['binary', 'json', 'avro', 'jsonschema', 'protobuf'].includes(format)) {
    throw invalidConsumerConfig(`format '${format}' is none of binary, json, avro, jsonschema, protobuf`);
  }
  const reset = String(body['auto.offset.reset'] ?? 'latest');
  if (reset !== 'earliest' && reset !== 'latest' && reset !== 'none') {
    throw invalidConsumerConfig(`auto.offset.reset '${reset}' is none of earliest, latest, none`);
  }
  const commit = String(body['auto.commit.enable'] ?? 'true');
  if (commit !== 'true' && commit !== 'false') {
    throw invalidConsumerConfig(`auto.commit.enable '${commit}' is neither true nor false`);
  }
  const number = (name: string, fallback: number, min: number): number => {
    const raw = body[name];
    if (raw === undefined || raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw invalidConsumerConfig(`${name} '${String(raw)}' is not a whole number ≥ ${min}`);
    return n;
  };
  return {
    format: format as EmbeddedFormat,
    autoOffsetReset: reset,
    autoCommit: commit === 'true',
    fetchMinBytes: number('fetch.min.bytes', 1, 0),
    requestTimeoutMs: number('consumer.request.timeout.ms', CONSUMER_REQUEST_TIMEOUT_MS_DEFAULT, 0),
  };
}
