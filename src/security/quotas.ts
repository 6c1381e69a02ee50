/**
 * Client quotas as Kafka 4 keeps and enforces them. The quotas are ClientQuotaRecord metadata records
 * (one record per entity and key; `remove` drops the key), replayed from the metadata log at start and,
 * on a cluster, on every broker from the quorum. Enforcement follows Kafka's ClientQuotaManager: one
 * rate sensor per quota type and (user, client-id) metric tags chosen by Kafka's precedence of quota
 * entities, measured over `quota.window.num` windows of `quota.window.size.seconds`, and a throttle
 * time of (rate - bound) / bound × the sensor's window when a recorded value takes the rate over its
 * bound (QuotaUtils.throttleTime).
 */
import type { ConnectionInfo, RequestContext } from '../broker/handler.ts';
import { type SlotKey, slotKey } from '../broker/services.ts';
import { knownCertificatePrincipal } from './principal.ts';
import { existingSession } from './sasl.ts';

export const ENTITY_USER = 'user';
export const ENTITY_CLIENT_ID = 'client-id';
export const ENTITY_IP = 'ip';

/** Kafka's quota keys and their config types (QuotaConfig): LONG keys take whole numbers only. */
const CLIENT_KEYS: ReadonlyMap<string, 'long' | 'double'> = new Map([
  ['producer_byte_rate', 'long'],
  ['consumer_byte_rate', 'long'],
  ['request_percentage', 'double'],
  ['controller_mutation_rate', 'double'],
]);
const IP_KEYS: ReadonlyMap<string, 'int' | 'long' | 'double'> = new Map([
  ['connection_creation_rate', 'int'],
]);

/** Kafka's `quota.window.num` and `quota.window.size.seconds` defaults. */
export const QUOTA_WINDOW_NUM = 11;
export const QUOTA_WINDOW_SIZE_MS = 1000;
/** Sensors kept at most (Kafka expires idle ones after an hour); idle ones are dropped past it. */
export const QUOTA_SENSORS_MAX = 10_000;
/** Quota entities kept at most in the cluster (Kafka names no bound); more is INVALID_REQUEST. */
export const QUOTA_ENTITIES_MAX = 100_000;

export interface QuotaEntityComponent {
  readonly entityType: string;
  readonly entityName: string | null;
}

export type ClientQuotaMetadataRecord = {
  readonly type: 'ClientQuotaRecord';
  readonly entity: readonly QuotaEntityComponent[];
  readonly key: string;
  readonly value: number;
  readonly remove: boolean;
};

/** A request Kafka refuses whole: `code` is the Kafka error code, `message` Kafka's text. */
export class QuotaRequestError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const INVALID_REQUEST = 42;
const UNSUPPORTED_VERSION = 35;

interface StoredEntity {
  readonly entity: ReadonlyMap<string, string | null>;
  readonly quotas: Map<string, number>;
}

/** The canonical key of an entity (its components sorted by type). */
export function entityKey(entity: ReadonlyMap<string, string | null>): string {
  return JSON.stringify([...entity].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Kafka's ClientQuotaEntity text, as its messages name an entity. */
function entityText(entity: ReadonlyMap<string, string | null>): string {
  return `ClientQuotaEntity(entries={${[...entity].map(([t, n]) => `${t}=${n}`).join(', ')}})`;
}

/** The outcome of one AlterClientQuotas entry: its records, or Kafka's refusal. */
export type AlterOutcome =
  | { readonly ok: true; readonly records: ClientQuotaMetadataRecord[] }
  | { readonly ok: false; readonly code: number; readonly message: string };

export class ClientQuotaStore {
  readonly #entities = new Map<string, StoredEntity>();
  readonly #commit: (records: readonly ClientQuotaMetadataRecord[]) => boolean | undefined;
  /** Bumped on every change, so enforcement re-resolves its cached lookups. */
  #version = 0;

  /** `commit` as the SCRAM store's: false when the records take effect only once replayed. */
  constructor(commit: (records: readonly ClientQuotaMetadataRecord[]) => boolean | undefined) {
    this.#commit = commit;
  }

  get version(): number {
    return this.#version;
  }

  replay(records: Iterable<{ readonly type: string }>): void {
    for (const record of records) {
      if (record.type === 'ClientQuotaRecord') this.#apply(record as ClientQuotaMetadataRecord);
    }
  }

  commit(records: readonly ClientQuotaMetadataRecord[]): void {
    if (records.length === 0) return;
    if (this.#commit(records) === false) return;
    for (const record of records) this.#apply(record);
  }

  #apply(record: ClientQuotaMetadataRecord): void {
    const entity = new Map(record.entity.map((c) => [c.entityType, c.entityName]));
    const key = entityKey(entity);
    let stored = this.#entities.get(key);
    if (record.remove) {
      if (stored === undefined) return;
      stored.quotas.delete(record.key);
      if (stored.quotas.size === 0) this.#entities.delete(key);
    } else {
      if (stored === undefined) {
        stored = { entity, quotas: new Map() };
        this.#entities.set(key, stored);
      }
      stored.quotas.set(record.key, record.value);
    }
    this.#version++;
  }

  /** The value of one key on one entity (`null` name: the default). */
  get(entity: ReadonlyMap<string, string | null>, key: string): number | undefined {
    return this.#entities.get(entityKey(entity))?.quotas.get(key);
  }

  get size(): number {
    return this.#entities.size;
  }

  /**
   * Checks one AlterClientQuotas entry as Kafka's ClientQuotaControlManager does and returns the
   * records it makes (only changed values; removals of keys that are set).
   */
  alter(
    components: readonly QuotaEntityComponent[],
    ops: readonly { key: string; value: number; remove: boolean }[],
  ): AlterOutcome {
    const fail = (message: string, code = INVALID_REQUEST): AlterOutcome => ({ ok: false, code, message });
    // The request's entity is a map: a type named twice keeps its last name, as Kafka's parsing does.
    const entity = new Map<string, string | null>();
    for (const c of components) entity.set(c.entityType, c.entityName);
    const changes = new Map<string, number | null>();
    for (const op of ops) {
      if (changes.has(op.key))
        return fail(`Duplicate quota key ${op.key} not updating quota for this entity ${entityText(entity)}`);
      changes.set(op.key, op.remove ? null : op.value);
    }
    if (entity.size === 0) return fail('Invalid empty client quota entity');
    for (const [type, name] of entity) {
      if (type !== ENTITY_USER && type !== ENTITY_CLIENT_ID && type !== ENTITY_IP)
        return fail(`Unhandled client quota entity type: ${type}`);
      if (type === ENTITY_IP && name !== null && !isIpAddress(name))
        return fail(`Invalid IP address ${name}`);
      if (name !== null && name === '') return fail(`Empty ${type} not supported`);
    }
    let keys: ReadonlyMap<string, string>;
    if (entity.has(ENTITY_IP)) {
      if (entity.size > 1)
        return fail(
          'Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId',
        );
      keys = IP_KEYS;
    } else {
      keys = CLIENT_KEYS;
    }
    const stored = this.#entities.get(entityKey(entity));
    const records: ClientQuotaMetadataRecord[] = [];
    const recordEntity = [...entity].map(([entityType, entityName]) => ({ entityType, entityName }));
    for (const [key, value] of changes) {
      if (value === null) {
        if (stored?.quotas.has(key) === true)
          records.push({ type: 'ClientQuotaRecord', entity: recordEntity, key, value: 0, remove: true });
        continue;
      }
      const type = keys.get(key);
      if (type === undefined) return fail(`Invalid configuration key ${key}`);
      if (!(value > 0)) return fail(`Quota ${key} must be greater than 0`);
      if (type !== 'double') {
        const max = type === 'int' ? 2 ** 31 - 1 : 2 ** 63 - 1;
        if (value > max) return fail(`Proposed value for ${key} is too large for a ${type.toUpperCase()}.`);
        if (value - Math.floor(value) > 1e-16) return fail(`${key} cannot be a fractional value.`);
      }
      if (stored?.quotas.get(key) !== value)
        records.push({ type: 'ClientQuotaRecord', entity: recordEntity, key, value, remove: false });
    }
    if (stored === undefined && records.length > 0 && this.#entities.size >= QUOTA_ENTITIES_MAX)
      return fail(`Too many quota entities: the limit is ${QUOTA_ENTITIES_MAX} (QUOTA_ENTITIES_MAX)`);
    return { ok: true, records };
  }

  /**
   * DescribeClientQuotas's matching as Kafka's ClientQuotasImage.describe: exact names (0), the default
   * (1), any entity having the type (2); `strict` keeps only entities with exactly the filtered types.
   * Throws QuotaRequestError with Kafka's code and message for a bad filter.
   */
  describe(
    components: readonly { entityType: string; matchType: number; match: string | null }[],
    strict: boolean,
  ): { entity: QuotaEntityComponent[]; values: { key: string; value: number }[] }[] {
    const exact = new Map<string, string | null>();
    const typed = new Set<string>();
    for (const c of components) {
      if (c.entityType === '') throw new QuotaRequestError(INVALID_REQUEST, 'Invalid empty entity type.');
      if (exact.has(c.entityType) || typed.has(c.entityType))
        throw new QuotaRequestError(
          INVALID_REQUEST,
          `Entity type ${c.entityType} cannot appear more than once in the filter.`,
        );
      if (c.entityType !== ENTITY_IP && c.entityType !== ENTITY_USER && c.entityType !== ENTITY_CLIENT_ID)
        throw new QuotaRequestError(UNSUPPORTED_VERSION, `Unsupported entity type ${c.entityType}`);
      switch (c.matchType) {
        case 0:
          if (c.match === null)
            throw new QuotaRequestError(
              INVALID_REQUEST,
              'Request specified MATCH_TYPE_EXACT, but set match string to null.',
            );
          exact.set(c.entityType, c.match);
          break;
        case 1:
          if (c.match !== null)
            throw new QuotaRequestError(
              INVALID_REQUEST,
              'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.',
            );
          exact.set(c.entityType, null);
          break;
        case 2:
          if (c.match !== null)
            throw new QuotaRequestError(
              INVALID_REQUEST,
              'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.',
            );
          typed.add(c.entityType);
          break;
        default:
          throw new QuotaRequestError(UNSUPPORTED_VERSION, `Unknown match type ${c.matchType}`);
      }
    }
    const has = (type: string) => exact.has(type) || typed.has(type);
    if (has(ENTITY_IP) && (has(ENTITY_USER) || has(ENTITY_CLIENT_ID)))
      throw new QuotaRequestError(
        INVALID_REQUEST,
        'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
      );
    const entries: { entity: QuotaEntityComponent[]; values: { key: string; value: number }[] }[] = [];
    for (const { entity, quotas } of this.#entities.values()) {
      if (strict && entity.size !== exact.size + typed.size) continue;
      let matches = true;
      for (const [type, name] of exact) if (!entity.has(type) || entity.get(type) !== name) matches = false;
      for (const type of typed) if (!entity.has(type)) matches = false;
      if (!matches) continue;
      entries.push({
        entity: [...entity].map(([entityType, entityName]) => ({ entityType, entityName })),
        values: [...quotas].map(([key, value]) => ({ key, value })),
      });
    }
    return entries;
  }

  /**
   * The quota of `key` that applies to a (user, client-id), with the metric tags of its sensor, by
   * Kafka's precedence (DefaultQuotaCallback): user+client-id, user+default client, user, default
   * user+client-id, default user+default client, default user, client-id, default client-id. Tags
   * decide which connections share a sensor: a user quota is shared by all of that user's clients.
   */
  lookup(key: string, user: string, clientId: string): { limit: number; tags: string } | undefined {
    const levels: [string | undefined | null, string | undefined | null, string, string][] = [
      [user, clientId, user, clientId],
      [user, null, user, clientId],
      [user, undefined, user, ''],
      [null, clientId, user, clientId],
      [null, null, user, clientId],
      [null, undefined, user, ''],
      [undefined, clientId, '', clientId],
      [undefined, null, '', clientId],
    ];
    for (const [u, c, tagUser, tagClient] of levels) {
      const entity = new Map<string, string | null>();
      if (u !== undefined) entity.set(ENTITY_USER, u);
      if (c !== undefined) entity.set(ENTITY_CLIENT_ID, c);
      const limit = this.get(entity, key);
      if (limit !== undefined) return { limit, tags: JSON.stringify([tagUser, tagClient]) };
    }
    return undefined;
  }
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || (name.includes(':') && /^[0-9a-fA-F:.]+$/.test(name));
}

/**
 * Kafka's Rate over a SampledStat: `samples` windows of `windowMs`, the oldest reset once it is older
 * than all of them together; the rate divides their sum by the elapsed time since the oldest window
 * began, counted as at least `samples - 1` full windows.
 */
export class RateSensor {
  readonly #samples: { start: number; value: number }[] = [];
  #current = 0;
  readonly #count: number;
  readonly #windowMs: number;
  lastRecordMs = 0;

  constructor(samples = QUOTA_WINDOW_NUM, windowMs = QUOTA_WINDOW_SIZE_MS) {
    this.#count = samples;
    this.#windowMs = windowMs;
  }

  record(value: number, nowMs: number): void {
    this.lastRecordMs = nowMs;
    if (this.#samples.length === 0) this.#samples.push({ start: nowMs, value: 0 });
    let sample = this.#samples[this.#current]!;
    if (nowMs - sample.start >= this.#windowMs) {
      this.#current = (this.#current + 1) % this.#count;
      if (this.#current >= this.#samples.length) {
        sample = { start: nowMs, value: 0 };
        this.#samples.push(sample);
      } else {
        sample = this.#samples[this.#current]!;
        sample.start = nowMs;
        sample.value = 0;
      }
    }
    sample.value += value;
  }

  #purge(nowMs: number): void {
    const expireAge = this.#count * this.#windowMs;
    for (const sample of this.#samples) {
      if (nowMs - sample.start >= expireAge) {
        sample.start = nowMs;
        sample.value = 0;
      }
    }
  }

  /** The window the rate is measured over, in ms (Rate.windowSize). */
  windowMs(nowMs: number): number {
    this.#purge(nowMs);
    if (this.#samples.length === 0) this.#samples.push({ start: nowMs, value: 0 });
    let oldest = this.#samples[0]!.start;
    for (const sample of this.#samples) if (sample.start < oldest) oldest = sample.start;
    let elapsed = nowMs - oldest;
    const full = Math.floor(elapsed / this.#windowMs);
    if (full < this.#count - 1) elapsed += (this.#count - 1 - full) * this.#windowMs;
    return Math.max(elapsed, 1);
  }

  /** Per second. */
  rate(nowMs: number): number {
    this.#purge(nowMs);
    let total = 0;
    for (const sample of this.#samples) total += sample.value;
    return total / (this.windowMs(nowMs) / 1000);
  }
}

/** The throttle of one recorded value (ms, 0 when within the quota), as Kafka's QuotaUtils. */
export function throttleTimeMs(sensor: RateSensor, bound: number, nowMs: number): number {
  const rate = sensor.rate(nowMs);
  if (rate <= bound) return 0;
  return Math.round(((rate - bound) / bound) * sensor.windowMs(nowMs));
}

/**
 * Kafka's TokenBucket (KIP-599), the stat of `controller_mutation_rate`: it holds at most
 * bound × `quota.window.num` × `quota.window.size.seconds` tokens (the burst), refills at `bound`
 * per second, and starts full; a mutation takes as many tokens as partitions it creates or deletes,
 * and may take it below zero.
 */
export class TokenBucket {
  #tokens = 0;
  #lastMs = Number.NEGATIVE_INFINITY;
  readonly #burstSeconds: number;

  constructor(samples = QUOTA_WINDOW_NUM, windowMs = QUOTA_WINDOW_SIZE_MS) {
    this.#burstSeconds = (samples * windowMs) / 1000;
  }

  #refill(bound: number, nowMs: number): void {
    const refilled =
      this.#lastMs === Number.NEGATIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : this.#tokens + (bound * Math.max(0, nowMs - this.#lastMs)) / 1000;
    this.#tokens = Math.min(bound * this.#burstSeconds, refilled);
    this.#lastMs = Math.max(this.#lastMs, nowMs);
  }

  tokens(bound: number, nowMs: number): number {
    this.#refill(bound, nowMs);
    return this.#tokens;
  }

  record(bound: number, value: number, nowMs: number): void {
    this.#refill(bound, nowMs);
    this.#tokens = Math.min(bound * this.#burstSeconds, this.#tokens - value);
  }
}

/**
 * Kafka's THROTTLING_QUOTA_EXCEEDED; Apache Kafka 4.1.1 answers it with a null message (CreateTopics
 * v7 and CreatePartitions v3 measured on the reference).
 */
export const THROTTLING_QUOTA_EXCEEDED = 89;
export const THROTTLING_QUOTA_MESSAGE = null;

/**
 * One request's `controller_mutation_rate` quota, as Kafka's Strict- and
 * PermissiveControllerMutationQuota: strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics
 * v5+) refuses a mutation while the bucket is below zero (the one that takes it below zero passes);
 * permissive (older versions, whose clients know no THROTTLING_QUOTA_EXCEEDED) lets every mutation
 * through and throttles once the bucket is below zero. The throttle is -tokens / bound seconds,
 * less the time since it was measured.
 */
export class ControllerMutationQuota {
  readonly #bucket: TokenBucket | undefined;
  readonly #bound: number;
  readonly #strict: boolean;
  readonly #now: () => number;
  #throttleMs = 0;
  #measuredAtMs = 0;

  constructor(found: { bucket: TokenBucket; bound: number } | undefined, strict: boolean, now: () => number) {
    this.#bucket = found?.bucket;
    this.#bound = found?.bound ?? 0;
    this.#strict = strict;
    this.#now = now;
  }

  #violated(tokens: number, nowMs: number): void {
    this.#throttleMs = Math.round((-tokens / this.#bound) * 1000);
    this.#measuredAtMs = nowMs;
  }

  /** Strict only: true when the next mutation is to be refused with THROTTLING_QUOTA_EXCEEDED. */
  exceeded(): boolean {
    if (this.#bucket === undefined || !this.#strict) return false;
    const nowMs = this.#now();
    const tokens = this.#bucket.tokens(this.#bound, nowMs);
    if (tokens >= 0) return false;
    this.#violated(tokens, nowMs);
    return true;
  }

  /** Counts a mutation of `partitions` partitions. */
  record(partitions: number): void {
    if (this.#bucket === undefined || partitions <= 0) return;
    const nowMs = this.#now();
    this.#bucket.record(this.#bound, partitions, nowMs);
    if (this.#strict) return;
    const tokens = this.#bucket.tokens(this.#bound, nowMs);
    if (tokens < 0) this.#violated(tokens, nowMs);
  }

  /** The answer's `throttle_time_ms` (the connection is muted as long). */
  throttleTimeMs(): number {
    return Math.max(0, this.#throttleMs - (this.#now() - this.#measuredAtMs));
  }
}

/** The `controller_mutation_rate` quota of one request; strict from `strictSinceVersion` (Kafka's). */
export function controllerMutationQuota(
  context: RequestContext,
  strictSinceVersion: number,
): ControllerMutationQuota {
  const enforcer = context.broker.slots.get(QUOTA_ENFORCER);
  const clock = context.broker.clock;
  const now = () => clock.nowMs();
  if (enforcer === undefined) return new ControllerMutationQuota(undefined, false, now);
  const { user, clientId } = quotaIdentity(context);
  return new ControllerMutationQuota(
    enforcer.mutationBucket(user, clientId),
    context.apiVersion >= strictSinceVersion,
    now,
  );
}

export type QuotaType = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage';

/** A broker's byte-rate enforcement over a quota store: Kafka's produce and fetch ClientQuotaManagers. */
export class QuotaEnforcer {
  readonly #store: ClientQuotaStore;
  readonly #sensors = new Map<string, RateSensor>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #samples: number;
  readonly #windowMs: number;

  constructor(store: ClientQuotaStore, samples = QUOTA_WINDOW_NUM, windowMs = QUOTA_WINDOW_SIZE_MS) {
    this.#store = store;
    this.#samples = samples;
    this.#windowMs = windowMs;
  }

  /** The quota bound for these, or undefined when no quota applies. */
  limit(type: QuotaType, user: string, clientId: string): number | undefined {
    return this.#store.lookup(type, user, clientId)?.limit;
  }

  /** False while no quota is set at all: nothing to look up per request. */
  get active(): boolean {
    return this.#store.size > 0;
  }

  /**
   * Kafka's ClientRequestQuotaManager: `percentSeconds` of handling time against `request_percentage`;
   * the throttle is capped at one window (`quota.window.size.seconds`), as Kafka bounds it.
   */
  recordRequestTime(user: string, clientId: string, percentSeconds: number, nowMs: number): number {
    return Math.min(this.record('request_percentage', user, clientId, percentSeconds, nowMs), this.#windowMs);
  }

  /** Kafka's getMaxValueInQuotaWindow: the most one request may carry (fetch sizes are capped by it). */
  maxValueInWindow(type: QuotaType, user: string, clientId: string): number {
    const limit = this.limit(type, user, clientId);
    if (limit === undefined) return Number.POSITIVE_INFINITY;
    return limit * (this.#samples - 1) * (this.#windowMs / 1000);
  }

  /** Records `bytes` and returns the throttle time in ms (0: within the quota, or no quota). */
  record(type: QuotaType, user: string, clientId: string, bytes: number, nowMs: number): number {
    const found = this.#store.lookup(type, user, clientId);
    if (found === undefined) return 0;
    const key = `${type}\0${found.tags}`;
    let sensor = this.#sensors.get(key);
    if (sensor === undefined) {
      if (this.#sensors.size >= QUOTA_SENSORS_MAX) this.#expire(nowMs);
      sensor = new RateSensor(this.#samples, this.#windowMs);
      this.#sensors.set(key, sensor);
    }
    sensor.record(bytes, nowMs);
    return throttleTimeMs(sensor, found.limit, nowMs);
  }

  /**
   * The `controller_mutation_rate` token bucket of (user, client-id) and its bound, or undefined
   * without a quota (Kafka's ControllerMutationQuotaManager: one bucket per sensor, as the byte rates).
   */
  mutationBucket(user: string, clientId: string): { bucket: TokenBucket; bound: number } | undefined {
    const found = this.#store.lookup('controller_mutation_rate', user, clientId);
    if (found === undefined) return undefined;
    const key = `controller_mutation_rate\0${found.tags}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= QUOTA_SENSORS_MAX) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = new TokenBucket(this.#samples, this.#windowMs);
      this.#buckets.set(key, bucket);
    }
    return { bucket, bound: found.limit };
  }

  /** Takes back a recorded value (a throttled fetch answers no data, as Kafka's unrecordQuotaSensor). */
  unrecord(type: QuotaType, user: string, clientId: string, bytes: number, nowMs: number): void {
    const found = this.#store.lookup(type, user, clientId);
    if (found === undefined) return;
    this.#sensors.get(`${type}\0${found.tags}`)?.record(-bytes, nowMs);
  }

  #expire(nowMs: number): void {
    const idleMs = this.#samples * this.#windowMs;
    for (const [key, sensor] of this.#sensors)
      if (nowMs - sensor.lastRecordMs > idleMs) this.#sensors.delete(key);
    // Still full: the oldest go (their windows restart empty if those clients come back).
    for (const key of this.#sensors.keys()) {
      if (this.#sensors.size < QUOTA_SENSORS_MAX) break;
      this.#sensors.delete(key);
    }
  }
}

/** The user name Kafka's quotas use for a principal `User:name` (ANONYMOUS without authentication). */
export function quotaUser(principal: string): string {
  return principal.startsWith('User:') ? principal.slice(5) : principal;
}

/** Where the broker keeps its quota store (handlers 48 and 49) and its enforcer (Produce and Fetch). */
export const CLIENT_QUOTAS: SlotKey<ClientQuotaStore> = slotKey<ClientQuotaStore>('clientQuotas');
export const QUOTA_ENFORCER: SlotKey<QuotaEnforcer> = slotKey<QuotaEnforcer>('quotaEnforcer');

/** A broker's enforcer, with `quota.window.num` and `quota.window.size.seconds` if set (positive integers). */
export function quotaEnforcerFor(
  store: ClientQuotaStore,
  setting: (name: string) => string | null | undefined,
): QuotaEnforcer {
  const positive = (name: string, fallback: number): number => {
    const text = setting(name);
    if (text === undefined || text === null) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer, not '${text}'`);
    return value;
  };
  return new QuotaEnforcer(
    store,
    positive('quota.window.num', QUOTA_WINDOW_NUM),
    positive('quota.window.size.seconds', QUOTA_WINDOW_SIZE_MS / 1000) * 1000,
  );
}

/** Who a request counts against: the authenticated user (ANONYMOUS otherwise) and the client id. */
function quotaIdentity(context: RequestContext): { user: string; clientId: string } {
  return {
    user: quotaUser(
      knownCertificatePrincipal(context.connection) ??
        existingSession(context.connection)?.principal ??
        'User:ANONYMOUS',
    ),
    clientId: context.clientId ?? '',
  };
}

/**
 * Records a request's bytes against its client's quota (Produce: `producer_byte_rate`) and returns
 * the throttle time in ms; 0 without a quota. The response carries it in `throttle_time_ms` and the
 * connection is muted for as long (the dispatcher passes it to the server).
 */
export function recordQuota(context: RequestContext, type: QuotaType, bytes: number): number {
  const enforcer = context.broker.slots.get(QUOTA_ENFORCER);
  if (enforcer === undefined) return 0;
  const { user, clientId } = quotaIdentity(context);
  return enforcer.record(type, user, clientId, bytes, context.broker.clock.nowMs());
}

/**
 * Records the time a request took to handle against `request_percentage` (Kafka's
 * ClientRequestQuotaManager: nanoseconds × 100 / 10^9, so 100 is one thread busy all the time) and
 * returns the throttle in ms; 0 without a quota.
 */
export function recordRequestTime(context: RequestContext, nanos: number): number {
  const enforcer = context.broker.slots.get(QUOTA_ENFORCER);
  if (enforcer === undefined || !enforcer.active) return 0;
  const { user, clientId } = quotaIdentity(context);
  return enforcer.recordRequestTime(user, clientId, (nanos * 100) / 1e9, context.broker.clock.nowMs());
}

/** Kafka's unrecordQuotaSensor: a throttled Fetch answers no records, so its bytes do not count. */
export function unrecordQuota(context: RequestContext, type: QuotaType, bytes: number): void {
  const enforcer = context.broker.slots.get(QUOTA_ENFORCER);
  if (enforcer === undefined) return;
  const { user, clientId } = quotaIdentity(context);
  enforcer.unrecord(type, user, clientId, bytes, context.broker.clock.nowMs());
}

/** The most bytes one Fetch may return under the client's `consumer_byte_rate` (Infinity: no quota). */
export function fetchQuotaMaxBytes(context: RequestContext): number {
  const enforcer = context.broker.slots.get(QUOTA_ENFORCER);
  if (enforcer === undefined) return Number.POSITIVE_INFINITY;
  const { user, clientId } = quotaIdentity(context);
  return enforcer.maxValueInWindow('consumer_byte_rate', user, clientId);
}

/** Throttles of requests answered with no response (acks=0 Produce), per connection, until the dispatcher takes them. */
const silentThrottles = new WeakMap<ConnectionInfo, number>();

/**
 * A request that gets no response (Produce with acks=0) still mutes its connection for its throttle,
 * as Kafka's ClientQuotaManager.throttle does: the dispatcher takes it with `takeSilentThrottle`.
 */
export function muteWithoutResponse(connection: ConnectionInfo, throttleMs: number): void {
  silentThrottles.set(connection, Math.max(throttleMs, silentThrottles.get(connection) ?? 0));
}

/** The throttle (ms) of the request just handled without a response on `connection`, 0 if none; clears it. */
export function takeSilentThrottle(connection: ConnectionInfo): number {
  const ms = silentThrottles.get(connection);
  if (ms === undefined) return 0;
  silentThrottles.delete(connection);
  return ms;
}
