/**
 * Reassignment throttles, as Kafka's ReplicationQuotaManager: one quota for what this broker
 * sends as a leader, one for what it fetches as a follower. A partition is throttled on this
 * broker when its topic's `leader.replication.throttled.replicas` (or `follower.…`) is `*` or
 * lists `partition:thisBroker` (what `kafka-reassign-partitions --throttle` writes: the current
 * replicas on the leader side, the moving ones on the follower side). Every throttled partition's
 * replicated bytes are counted in a rate over `REPLICATION_QUOTA_WINDOW_NUM` windows of
 * `REPLICATION_QUOTA_WINDOW_MS` (Kafka's `replication.quota.window.num` 11 and
 * `replication.quota.window.size.seconds` 1); while that rate is above the broker's dynamic
 * `leader.replication.throttled.rate` (or `follower.…`, bytes per second, unbounded when unset),
 * a throttled partition whose follower is not in the ISR gets no records (leader) or is not
 * fetched (follower). The rate is Kafka's SimpleRate (`SimpleRateSensor`): the bytes of the kept
 * windows over the time since the oldest began, at least one window.
 */

/** `replication.quota.window.num` (Kafka's default; kstack does not read it from the config). */
export const REPLICATION_QUOTA_WINDOW_NUM = 11;
/** `replication.quota.window.size.seconds` (Kafka's default, 1 s), in ms. */
export const REPLICATION_QUOTA_WINDOW_MS = 1000;

export type ReplicationQuotaType = 'leader' | 'follower';

/** The broker config bounding each quota (bytes per second; Kafka's default Long.MAX_VALUE). */
export const THROTTLED_RATE_CONFIG = {
  leader: 'leader.replication.throttled.rate',
  follower: 'follower.replication.throttled.rate',
} as const;

/** The topic config naming each quota's throttled replicas. */
export const THROTTLED_REPLICAS_CONFIG = {
  leader: 'leader.replication.throttled.replicas',
  follower: 'follower.replication.throttled.replicas',
} as const;

/** Every partition of the topic (`*`), or the partitions listed for this broker. */
type ThrottledPartitions = '*' | ReadonlySet<number>;

export interface ReplicationQuotaSource {
  /** The broker config in force (dynamic per-broker, cluster default, static), undefined when unset. */
  brokerConfig(name: string): string | null | undefined;
  /** A topic's own config override, undefined when unset. */
  topicConfig(topic: string, name: string): string | undefined;
}

export class ReplicationQuota {
  readonly type: ReplicationQuotaType;
  readonly #nodeId: number;
  readonly #source: ReplicationQuotaSource;
  readonly #sensor = new SimpleRateSensor(REPLICATION_QUOTA_WINDOW_NUM, REPLICATION_QUOTA_WINDOW_MS);
  /** The last parse of each throttled-replicas value (topics share a few values). */
  readonly #parsed = new Map<string, ThrottledPartitions>();

  constructor(type: ReplicationQuotaType, nodeId: number, source: ReplicationQuotaSource) {
    this.type = type;
    this.#nodeId = nodeId;
    this.#source = source;
  }

  /** Whether this partition's replication on this broker counts against the quota. */
  isThrottled(topic: string, partition: number): boolean {
    const value = this.#source.topicConfig(topic, THROTTLED_REPLICAS_CONFIG[this.type]);
    if (value === undefined || value.trim() === '') return false;
    let partitions = this.#parsed.get(value);
    if (partitions === undefined) {
      partitions = throttledPartitions(value, this.#nodeId);
      if (this.#parsed.size > 1000) this.#parsed.clear();
      this.#parsed.set(value, partitions);
    }
    return partitions === '*' || partitions.has(partition);
  }

  /** The bound in bytes per second; Infinity when unset (Kafka: Long.MAX_VALUE). */
  bound(): number {
    const text = this.#source.brokerConfig(THROTTLED_RATE_CONFIG[this.type]);
    const value = text === null || text === undefined ? Number.NaN : Number(text);
    return Number.isFinite(value) && value >= 0 ? value : Number.POSITIVE_INFINITY;
  }

  /** Whether the throttled partitions' rate is over the bound (Kafka's `isQuotaExceeded`). */
  isQuotaExceeded(nowMs: number = performance.now()): boolean {
    const bound = this.bound();
    return bound !== Number.POSITIVE_INFINITY && this.#sensor.rate(nowMs) > bound;
  }

  /** Counts replicated bytes of throttled partitions (in sync or not, as Kafka counts them). */
  record(bytes: number, nowMs: number = performance.now()): void {
    if (bytes > 0) this.#sensor.record(bytes, nowMs);
  }

  /** Bytes per second over the windows (Kafka's LeaderReplication / FollowerReplication byte-rate). */
  rate(nowMs: number = performance.now()): number {
    return this.#sensor.rate(nowMs);
  }
}

/**
 * Kafka's SimpleRate, which ReplicationQuotaManager measures with: `samples` windows of `windowMs`,
 * a window reset once older than all of them together; the rate divides their sum by the time since
 * the oldest began, at least one window. (src/security/quotas.ts's RateSensor is Kafka's Rate, which
 * counts at least `samples - 1` windows from the start: a move would first copy ten seconds' worth
 * at once, which the 3-node reference does not: 3 MB at 100,000 B/s took it 21.7 s, kstack 11 s.)
 */
export class SimpleRateSensor {
  readonly #samples: { start: number; value: number }[] = [];
  readonly #count: number;
  readonly #windowMs: number;

  constructor(samples: number, windowMs: number) {
    this.#count = samples;
    this.#windowMs = windowMs;
  }

  record(value: number, nowMs: number): void {
    this.#purge(nowMs);
    const current = this.#samples.at(-1);
    if (current !== undefined && nowMs - current.start < this.#windowMs) {
      current.value += value;
      return;
    }
    if (this.#samples.length >= this.#count) this.#samples.shift();
    this.#samples.push({ start: nowMs, value });
  }

  /** Bytes per second over the kept windows. */
  rate(nowMs: number): number {
    this.#purge(nowMs);
    const oldest = this.#samples[0];
    if (oldest === undefined) return 0;
    let total = 0;
    for (const sample of this.#samples) total += sample.value;
    return total / (Math.max(nowMs - oldest.start, this.#windowMs) / 1000);
  }

  #purge(nowMs: number): void {
    const expireAge = this.#count * this.#windowMs;
    while (this.#samples.length > 0 && nowMs - this.#samples[0]!.start >= expireAge) this.#samples.shift();
  }
}

/**
 * Kafka's `parseThrottledPartitions`: `*`, or the partition ids of the `partition:broker` entries
 * naming this broker (entries of other brokers and malformed ones are skipped; AlterConfigs
 * validates the list).
 */
export function throttledPartitions(value: string, nodeId: number): ThrottledPartitions {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  const partitions = new Set<number>();
  for (const entry of trimmed.split(',')) {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(entry);
    if (match !== null && Number(match[2]) === nodeId) partitions.add(Number(match[1]));
  }
  return partitions;
}
