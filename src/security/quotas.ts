/**
 * Client quotas as Kafka 4 keeps and enforces them. The quotas are ClientQuotaRecord metadata records
 * (one record per entity and key; `remove` drops the key), replayed from the metadata log at start and,
 * on a cluster, on every broker from the quorum. Enforcement follows Kafka's ClientQuotaManager: one
 * rate sensor per quota type and (user, client-id) metric tags chosen by Kafka's precedence of quota
 * entities, measured over `quota.window.num` windows of `quota.window.size.seconds`, and a throttle
 * time of (rate - bound) / bound × the sensor's window when a recorded value takes the rate over its
 * bound (QuotaUtils.throttleTime).
 */
import type { RequestContext } from '../broker/handler.ts';
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

export type QuotaType = 'producer_byte_rate' | 'consumer_byte_rate';

/** A broker's byte-rate enforcement over a quota store: Kafka's produce and fetch ClientQuotaManagers. */
export class QuotaEnforcer {
  readonly #store: ClientQuotaStore;
  readonly #sensors = new Map<string, RateSensor>();
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
