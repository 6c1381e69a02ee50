/**
 * The Schema Registry's operations, Confluent's semantics, over the state that `_schemas` holds.
 *
 * Single writer: only the leader elected through the registry group (leader-elector.ts) writes,
 * and it makes every change under one in-process lock as "read `_schemas` to its end, decide
 * (next id = highest id seen + 1, next version = highest version + 1), append, read to the end
 * again and check the record came back as written". Reading to the end first is also what a new
 * leader does before its first write, so ids are never reused across a change of leader. Followers
 * forward writes to the leader (app.ts). Reads are answered from memory, which a background pass
 * brings up to date every REFRESH_INTERVAL_MS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  COMPATIBILITY_DEFAULT,
  type CompatibilityLevel,
  checkCompatibility,
  isCompatibilityLevel,
} from './compatibility.ts';
import { errors, RegistryError } from './errors.ts';
import { formatOf } from './formats/index.ts';
import type { ParsedSchema, ResolvedReference, SchemaReference, SchemaType } from './formats/types.ts';
import { identityUrl, type RegistryIdentity, sameIdentity } from './leader-protocol.ts';
import {
  CONFIG_FIELDS,
  type ConfigFieldName,
  type ConfigFields,
  configFieldsOf,
  type DataContractObject,
  encodeKey,
  encodeSchemaValue,
  isConfigFieldValue,
  type RecordKey,
  type SchemaValue,
} from './records.ts';
import { describeError, FencedError, type SchemaLog } from './schema-log.ts';
import { contextOf, GLOBAL, isMode, MODE_DEFAULT, type Mode, RegistryState } from './state.ts';

/** How often reads catch up with `_schemas` (writes from another instance), ms. */
export const REFRESH_INTERVAL_MS = 1_000;
/** Highest version number and id (Confluent's bound: a positive 32-bit int). */
export const VERSION_MAX = 2 ** 31 - 1;
/** How long the first read of `_schemas` may fail (topic just created, leader not elected) before start fails. */
export const TOPIC_READY_TIMEOUT_MS = 30_000;
const TOPIC_READY_RETRY_MS = 200;
/**
 * How often a registration is retried after its record was skipped or overwritten in the log. With
 * one elected writer this happens only when an old leader that has not yet learnt of its demotion
 * (a stalled process whose session expired) appends at the same time as the new one.
 */
export const WRITE_CONFLICT_RETRIES_MAX = 5;
/** How long a write waits for the group to name a leader before it is refused with 50004. */
export const LEADER_WAIT_MS_DEFAULT = 30_000;
/** How deep references may nest before the registry refuses the schema. */
export const REFERENCE_DEPTH_MAX = 32;

export interface SchemaRequest {
  readonly schema: string;
  readonly schemaType: SchemaType;
  readonly references: readonly SchemaReference[];
  readonly id?: number;
  readonly version?: number;
  /** Data contracts; undefined: not given (a lookup or re-registration then ignores them). */
  readonly metadata?: DataContractObject;
  readonly ruleSet?: DataContractObject;
}

export interface SchemaView {
  subject: string;
  version: number;
  id: number;
  schemaType?: SchemaType;
  references?: readonly SchemaReference[];
  metadata?: DataContractObject;
  ruleSet?: DataContractObject;
  schema: string;
}

/** A subject's or the registry's config as Confluent answers it: only the fields that are set. */
export type ConfigView = ConfigFields & {
  compatibilityLevel?: CompatibilityLevel;
  normalize?: boolean;
};

/** A PUT /config body: Confluent's ConfigUpdateRequest fields (each kept; see setConfig for those applied). */
export type ConfigUpdate = ConfigFields & {
  compatibility?: CompatibilityLevel;
  normalize?: boolean;
};

/** Parses a PUT /config body; a field left out (or null) keeps its current value. */
export function parseConfigUpdate(body: unknown): ConfigUpdate {
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const level = b.compatibility ?? b.compatibilityLevel;
  if (level !== undefined && level !== null && !isCompatibilityLevel(level)) {
    throw errors.invalidCompatibility(String(level));
  }
  if (b.normalize !== undefined && b.normalize !== null && typeof b.normalize !== 'boolean') {
    throw errors.badRequest('"normalize" must be true or false');
  }
  for (const name of Object.keys(CONFIG_FIELDS) as ConfigFieldName[]) {
    const value = b[name];
    if (value !== undefined && value !== null && !isConfigFieldValue(name, value)) {
      const type = CONFIG_FIELDS[name];
      throw errors.badRequest(`"${name}" must be ${type === 'object' ? 'a JSON object' : `a ${type}`}`);
    }
  }
  const update: ConfigUpdate = {
    ...(isCompatibilityLevel(level) ? { compatibility: level } : {}),
    ...(typeof b.normalize === 'boolean' ? { normalize: b.normalize } : {}),
    ...configFieldsOf(b),
  };
  if (Object.keys(update).length === 0) {
    throw errors.invalidCompatibility(
      '(none: the body sets neither compatibility nor normalize nor another config field)',
    );
  }
  return update;
}

/** `metadata` or `ruleSet` of a request: absent or null is not given; anything else must be an object. */
function dataContract(value: unknown, name: 'metadata' | 'ruleSet'): DataContractObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw errors.invalidSchema(`"${name}" must be a JSON object`);
  }
  if (name === 'metadata') {
    const properties = (value as Record<string, unknown>).properties;
    if (properties !== undefined && properties !== null) {
      const ok =
        typeof properties === 'object' &&
        !Array.isArray(properties) &&
        Object.values(properties).every((v) => typeof v === 'string');
      if (!ok) throw errors.invalidSchema('"metadata.properties" must map names to strings');
    }
  }
  return value as DataContractObject;
}

/** Two data-contract objects alike as JSON whatever their keys' order. */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortedJson(a)) === JSON.stringify(sortedJson(b));
}

function sortedJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedJson((value as Record<string, unknown>)[k])]),
  );
}

/** Parses a request body into a SchemaRequest, or throws the error Confluent answers. */
export function parseSchemaRequest(body: unknown): SchemaRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.badRequest('the request body must be a JSON object with a "schema" string');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.schema !== 'string' || b.schema.trim() === '') {
    throw errors.invalidSchema('the request has no "schema" string');
  }
  const format = formatOf(b.schemaType);
  const references: SchemaReference[] = [];
  if (b.references !== undefined && b.references !== null) {
    if (!Array.isArray(b.references)) throw errors.invalidSchema('"references" must be an array');
    for (const [index, r] of b.references.entries()) {
      const ref = r as Record<string, unknown> | null;
      if (
        typeof ref?.name !== 'string' ||
        typeof ref.subject !== 'string' ||
        typeof ref.version !== 'number' ||
        !Number.isInteger(ref.version)
      ) {
        throw errors.invalidSchema(`references[${index}] must be {name, subject, version}`);
      }
      references.push({ name: ref.name, subject: ref.subject, version: ref.version });
    }
  }
  const optionalInt = (name: 'id' | 'version'): number | undefined => {
    const value = b[name];
    if (value === undefined || value === null || value === -1) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > VERSION_MAX) {
      throw name === 'version'
        ? errors.invalidVersion(String(value))
        : errors.invalidSchema(`"id" must be between 1 and ${VERSION_MAX}`);
    }
    return value;
  };
  return {
    schema: b.schema,
    schemaType: format.type,
    references,
    id: optionalInt('id'),
    version: optionalInt('version'),
    metadata: dataContract(b.metadata, 'metadata'),
    ruleSet: dataContract(b.ruleSet, 'ruleSet'),
  };
}

/** Checks a subject name: Confluent refuses empty names, control characters and its reserved names. */
export function checkSubject(subject: string): string {
  if (subject.trim() === '') throw errors.invalidSubject(subject, 'a subject name cannot be empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(subject)) {
    throw errors.invalidSubject(subject.replace(/[^\x20-\x7e]/g, '?'), 'control characters are not allowed');
  }
  if (subject === '__GLOBAL' || subject === '__EMPTY')
    throw errors.invalidSubject(subject, 'the name is reserved');
  // `:.:name` is `name` in the default context.
  return subject.startsWith(':.:') ? subject.slice(3) : subject;
}

export { contextOf };

/** Parses a version path segment: 1..2^31-1, `latest` or -1; anything else is 42202. */
export function parseVersion(text: string): number | 'latest' {
  if (text === 'latest' || text === '-1') return 'latest';
  if (!/^\d{1,10}$/.test(text)) throw errors.invalidVersion(text);
  const version = Number(text);
  if (version < 1 || version > VERSION_MAX) throw errors.invalidVersion(text);
  return version;
}

function view(schema: SchemaValue): SchemaView {
  return {
    subject: schema.subject,
    version: schema.version,
    id: schema.id,
    ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
    ...(schema.references.length === 0 ? {} : { references: schema.references }),
    ...(schema.metadata === undefined || schema.metadata === null ? {} : { metadata: schema.metadata }),
    ...(schema.ruleSet === undefined || schema.ruleSet === null ? {} : { ruleSet: schema.ruleSet }),
    schema: schema.schema,
  };
}

function sameReferences(a: readonly SchemaReference[], b: readonly SchemaReference[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SchemaRegistry {
  readonly state = new RegistryState();
  /** Registrations that lost a race with another writer (a demoted leader) and were made again. */
  writeConflicts = 0;
  /** Records this instance appended to `_schemas` (a follower appends none). */
  appends = 0;
  /** Writes this instance forwarded to the leader. */
  forwarded = 0;
  /** Appends Kafka refused because a newer leader claimed the writer (this instance was demoted). */
  fencedWrites = 0;
  /** Told of each fenced append (the command prints it). */
  onFenced: ((message: string) => void) | null = null;
  /** Counts the terms this instance was named leader; the writer is claimed once per term. */
  #term = 0;
  #claimedTerm = -1;
  /** How long a write waits for a known leader, ms. */
  leaderWaitMs = LEADER_WAIT_MS_DEFAULT;
  readonly #log: SchemaLog;
  #self: RegistryIdentity | null = null;
  #leader: RegistryIdentity | null = null;
  readonly #leaderWaiters = new Set<() => void>();
  /** Parsed schemas by stored text, so compatibility checks do not re-parse on every request. */
  readonly #parsed = new Map<string, ParsedSchema>();
  #lock: Promise<unknown> = Promise.resolve();
  #refreshTimer: NodeJS.Timeout | null = null;

  constructor(log: SchemaLog) {
    this.#log = log;
  }

  /** Creates `_schemas` when missing, reads it to its end, then keeps reads up to date. */
  async start(): Promise<void> {
    try {
      await this.#log.ensureTopic();
    } catch (error) {
      throw errors.store(`creating or finding ${this.#log.topic}: ${describeError(error)}`);
    }
    // A topic just created may have no leader yet (more so on a multi-broker cluster): the first
    // read is retried until TOPIC_READY_TIMEOUT_MS, then its error is the answer.
    const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
    for (;;) {
      try {
        await this.#sync();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(TOPIC_READY_RETRY_MS);
      }
    }
    this.#refreshTimer = setInterval(() => {
      this.#exclusive(() => this.#sync()).catch(() => {});
    }, REFRESH_INTERVAL_MS);
    this.#refreshTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#refreshTimer !== null) clearInterval(this.#refreshTimer);
    await this.#lock.catch(() => {});
    await this.#log.close();
  }

  #exclusive<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(action, action);
    this.#lock = run.catch(() => {});
    return run;
  }

  // ---- leadership ---------------------------------------------------------------------------

  /** This instance's identity in the registry group (its own URL). */
  setIdentity(identity: RegistryIdentity): void {
    this.#self = identity;
  }

  /** The leader named by the group's latest assignment; null while a rebalance runs or none is eligible. */
  setLeader(leader: RegistryIdentity | null): void {
    this.#leader = leader;
    if (leader === null) return;
    if (this.isLeader) {
      // A new term: claim the writer's transactional id at once (fencing the previous leader's
      // appends from now on), under the write lock so no write of this term goes before it.
      this.#term += 1;
      this.#exclusive(() => this.#claim()).catch(() => {});
    }
    for (const wake of this.#leaderWaiters) wake();
    this.#leaderWaiters.clear();
  }

  get leader(): RegistryIdentity | null {
    return this.#leader;
  }

  get isLeader(): boolean {
    return this.#self !== null && sameIdentity(this.#self, this.#leader);
  }

  /**
   * Where a write goes: null when this instance leads, else the leader's URL. Waits until
   * `deadline` for the group to name a leader (other than `unreachable`, a leader that refused
   * our connection), then refuses with 50004, Confluent's code (50003 when the only leader known
   * cannot be reached). A write another instance forwarded here is never forwarded again (no
   * loops between instances that disagree during a rebalance).
   */
  async writeTarget(options: {
    forwarded: boolean;
    deadline: number;
    unreachable?: string;
  }): Promise<string | null> {
    const waiting = () =>
      this.#leader === null || (!this.isLeader && identityUrl(this.#leader) === options.unreachable);
    while (waiting()) {
      const left = options.deadline - Date.now();
      if (left <= 0) {
        if (this.#leader !== null && options.unreachable !== undefined) {
          throw errors.forwardingFailed(
            options.unreachable,
            `it refused the connection and no other leader was elected within ${this.leaderWaitMs} ms`,
          );
        }
        throw errors.unknownLeader(
          `no leader-eligible instance of the registry group was elected within ${this.leaderWaitMs} ms`,
        );
      }
      let wake = () => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      this.#leaderWaiters.add(wake);
      const timer = setTimeout(wake, left);
      await woken;
      clearTimeout(timer);
      this.#leaderWaiters.delete(wake);
    }
    const leader = this.#leader;
    // The loop above leaves only with a leader named; this keeps the type checker's view the same.
    if (leader === null) throw errors.unknownLeader('the group named no leader');
    if (this.isLeader) return null;
    const url = identityUrl(leader);
    if (options.forwarded) {
      throw errors.unknownLeader(`a write was forwarded to this instance, but the group's leader is ${url}`);
    }
    return url;
  }

  /** Reads `_schemas` to its end now (a follower does this after a forwarded write succeeds). */
  catchUp(): Promise<void> {
    return this.#exclusive(() => this.#sync());
  }

  /** Reads `_schemas` to its end; with `atLeast`, past that offset too (a record just appended). */
  async #sync(atLeast?: bigint): Promise<void> {
    try {
      await this.#log.readToEnd((record) => this.state.apply(record), atLeast);
    } catch (error) {
      throw errors.store(`reading ${this.#log.topic}: ${describeError(error)}`);
    }
  }

  /** Claims `_schemas`' writer for this term once (a failed claim is tried again by the next write). */
  async #claim(): Promise<void> {
    if (this.#claimedTerm === this.#term) return;
    const term = this.#term;
    try {
      await this.#log.claim();
    } catch (error) {
      throw errors.store(`claiming the writer of ${this.#log.topic}: ${describeError(error)}`);
    }
    this.#claimedTerm = term;
  }

  async #write(key: RecordKey, value: Buffer | null): Promise<void> {
    await this.#claim();
    let offset: bigint;
    try {
      offset = await this.#log.append(encodeKey(key), value);
      this.appends += 1;
    } catch (error) {
      if (error instanceof FencedError) {
        this.fencedWrites += 1;
        this.onFenced?.(error.message);
      }
      throw errors.store(`writing to ${this.#log.topic}: ${describeError(error)}`);
    }
    await this.#sync(offset + 1n);
  }

  /** A write, by the leader only: read to the end first, decide, append, read back. */
  #change<T>(action: () => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      if (!this.isLeader) {
        // A rebalance (an instance joining or leaving) forgets the leader until its assignment
        // arrives: a write admitted before it waits for that assignment, as a new write would.
        const leaderUrl = await this.writeTarget({
          forwarded: false,
          deadline: Date.now() + this.leaderWaitMs,
        });
        if (leaderUrl !== null) {
          throw errors.unknownLeader(
            `this instance lost the leadership to ${leaderUrl} before it could make the change`,
          );
        }
      }
      await this.#sync();
      return action();
    });
  }

  // ---- modes and compatibility levels -------------------------------------------------------

  mode(subject: string | null): Mode {
    return (
      (subject === null ? undefined : this.state.modes.get(subject)) ??
      this.state.modes.get(GLOBAL) ??
      MODE_DEFAULT
    );
  }

  compatibility(subject: string | null): CompatibilityLevel {
    return (
      (subject === null ? undefined : this.state.configs.get(subject)) ??
      this.state.configs.get(GLOBAL) ??
      COMPATIBILITY_DEFAULT
    );
  }

  #checkWritable(subject: string): void {
    const mode = this.mode(subject);
    if (mode === 'READONLY' || mode === 'READONLY_OVERRIDE') {
      throw errors.notPermitted(`Subject ${subject} is in read-only mode`);
    }
  }

  // ---- parsing --------------------------------------------------------------------------------

  /** The referenced schemas' texts, a reference's own references first. */
  resolveReferences(references: readonly SchemaReference[]): ResolvedReference[] {
    const resolved: ResolvedReference[] = [];
    this.#resolveInto(references, 0, resolved, new Set());
    return resolved;
  }

  /** Depth-first, each subject/version once (shared references are not walked again). */
  #resolveInto(
    references: readonly SchemaReference[],
    depth: number,
    resolved: ResolvedReference[],
    visited: Set<string>,
  ): void {
    if (depth > REFERENCE_DEPTH_MAX) {
      throw errors.invalidSchema(`references nest deeper than REFERENCE_DEPTH_MAX (${REFERENCE_DEPTH_MAX})`);
    }
    for (const reference of references) {
      const versions = this.state.versions(reference.subject, true);
      const target =
        reference.version === -1 ? versions.at(-1) : versions.find((s) => s.version === reference.version);
      if (target === undefined) {
        throw errors.invalidSchema(
          `reference '${reference.name}' names subject '${reference.subject}' version ${reference.version}, which does not exist`,
        );
      }
      const key = `${target.subject}\0${target.version}`;
      if (!visited.has(key)) {
        visited.add(key);
        this.#resolveInto(target.references, depth + 1, resolved, visited);
      }
      if (!resolved.some((r) => r.name === reference.name)) {
        resolved.push({ name: reference.name, schema: target.schema });
      }
    }
  }

  #parse(schemaType: SchemaType, text: string, references: readonly SchemaReference[]): ParsedSchema {
    const cacheKey = JSON.stringify([schemaType, text, references]);
    const cached = this.#parsed.get(cacheKey);
    if (cached !== undefined) return cached;
    const parsed = formatOf(schemaType).parse(text, this.resolveReferences(references));
    this.#parsed.set(cacheKey, parsed);
    return parsed;
  }

  parseStored(schema: SchemaValue): ParsedSchema {
    return this.#parse(schema.schemaType, schema.schema, schema.references);
  }

  /** The text a request's schema is stored and compared as. */
  #textOf(request: SchemaRequest, normalize: boolean): { parsed: ParsedSchema; text: string } {
    const parsed = this.#parse(request.schemaType, request.schema, request.references);
    return { parsed, text: normalize ? parsed.normalized : parsed.canonical };
  }

  /**
   * Whether a stored version is the requested schema. A request without metadata (or rule set)
   * matches whatever the stored version carries, as Confluent's lookup does, unless `strict` (an id
   * is reused only for the same text and the same data contracts, so an id names one of each).
   */
  #matches(
    stored: SchemaValue,
    request: SchemaRequest,
    text: string,
    normalize: boolean,
    strict = false,
  ): boolean {
    if (stored.schemaType !== request.schemaType || !sameReferences(stored.references, request.references))
      return false;
    if (
      (strict || request.metadata !== undefined) &&
      !sameJson(stored.metadata ?? null, request.metadata ?? null)
    )
      return false;
    if (
      (strict || request.ruleSet !== undefined) &&
      !sameJson(stored.ruleSet ?? null, request.ruleSet ?? null)
    )
      return false;
    if (stored.schema === text) return true;
    const parsedStored = this.parseStored(stored);
    return normalize ? parsedStored.normalized === text : parsedStored.canonical === text;
  }

  // ---- subjects and versions ------------------------------------------------------------------

  subjects(options: { prefix?: string; deleted?: boolean; deletedOnly?: boolean }): string[] {
    const result: string[] = [];
    for (const subject of this.state.subjects.keys()) {
      if (options.prefix !== undefined && !subject.startsWith(options.prefix)) continue;
      const all = this.state.versions(subject, true);
      const live = all.some((s) => !s.deleted);
      if (options.deletedOnly ? !live && all.length > 0 : live || options.deleted === true)
        result.push(subject);
    }
    return result.sort();
  }

  versions(subject: string, options: { deleted?: boolean; deletedOnly?: boolean } = {}): number[] {
    const all = this.state.versions(subject, true);
    if (all.length === 0 || (!options.deleted && !options.deletedOnly && all.every((s) => s.deleted))) {
      throw errors.subjectNotFound(subject);
    }
    if (options.deletedOnly) return all.filter((s) => s.deleted).map((s) => s.version);
    return all.filter((s) => options.deleted || !s.deleted).map((s) => s.version);
  }

  getVersion(subject: string, version: number | 'latest', includeDeleted = false): SchemaValue {
    const all = this.state.versions(subject, true);
    if (all.length === 0 || (!includeDeleted && all.every((s) => s.deleted)))
      throw errors.subjectNotFound(subject);
    const candidates = all.filter((s) => includeDeleted || !s.deleted);
    const found = version === 'latest' ? candidates.at(-1) : candidates.find((s) => s.version === version);
    if (found === undefined) throw errors.versionNotFound(subject, version);
    return found;
  }

  /** The latest version of a subject whose `metadata.properties` hold every pair given. */
  latestWithMetadata(
    subject: string,
    pairs: readonly (readonly [string, string])[],
    includeDeleted: boolean,
  ): SchemaValue {
    const all = this.state.versions(subject, includeDeleted);
    if (all.length === 0) throw errors.subjectNotFound(subject);
    const found = all.findLast((s) => {
      const properties = (s.metadata?.properties ?? {}) as Record<string, unknown>;
      return pairs.every(([key, value]) => properties[key] === value);
    });
    if (found === undefined) {
      throw errors.schemaNotFound(
        `Schema with metadata ${JSON.stringify(Object.fromEntries(pairs))} not found`,
      );
    }
    return found;
  }

  view(schema: SchemaValue): SchemaView {
    return view(schema);
  }

  /** The ids of live schemas that reference this subject/version. */
  referencedBy(subject: string, version: number): number[] {
    const ids = new Set<number>();
    for (const versions of this.state.subjects.values()) {
      for (const schema of versions.values()) {
        if (schema.deleted) continue;
        if (schema.references.some((r) => r.subject === subject && r.version === version)) ids.add(schema.id);
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  lookup(
    subject: string,
    request: SchemaRequest,
    options: { normalize: boolean; deleted: boolean },
  ): SchemaView {
    const all = this.state.versions(subject, options.deleted);
    if (all.length === 0) throw errors.subjectNotFound(subject);
    const { text } = this.#textOf(request, options.normalize);
    const found = all.find((s) => this.#matches(s, request, text, options.normalize));
    if (found === undefined) throw errors.schemaNotFound('Schema not found');
    return view(found);
  }

  /** Messages saying why `request` is incompatible; `version` limits the check to one version. */
  checkCompatibility(
    subject: string,
    request: SchemaRequest,
    version: number | 'latest' | null,
    normalize: boolean,
  ): string[] {
    const { parsed } = this.#textOf(request, normalize);
    const level = this.compatibility(subject);
    if (version !== null) {
      const target = this.getVersion(subject, version);
      const effective = level.endsWith('_TRANSITIVE')
        ? (level.replace('_TRANSITIVE', '') as CompatibilityLevel)
        : level;
      return checkCompatibility(
        formatOf(request.schemaType),
        parsed,
        [{ version: target.version, schema: this.parseStored(target) }],
        effective,
      );
    }
    // With a compatibility group (a metadata property's name), only the versions whose property
    // has the new schema's value are checked (Confluent's compatibilityGroup).
    const group = this.compatibilityGroup(subject);
    const groupOf = (metadata: DataContractObject | null | undefined) =>
      group === undefined ? undefined : (metadata?.properties as Record<string, string> | undefined)?.[group];
    const previous = this.state
      .versions(subject, false)
      .filter((s) => groupOf(s.metadata) === groupOf(request.metadata))
      .map((s) => ({ version: s.version, schema: this.parseStored(s) }));
    return checkCompatibility(formatOf(request.schemaType), parsed, previous, level);
  }

  register(
    subject: string,
    request: SchemaRequest,
    normalize: boolean,
  ): Promise<{ id: number; version: number }> {
    return this.#change(async () => {
      for (let attempt = 0; attempt <= WRITE_CONFLICT_RETRIES_MAX; attempt++) {
        const outcome = await this.#registerOnce(subject, request, normalize);
        if (outcome !== 'conflict') return outcome;
        this.writeConflicts += 1;
      }
      throw errors.store(
        `registering in ${subject} lost ${WRITE_CONFLICT_RETRIES_MAX + 1} races with another instance writing ${this.#log.topic} (a leader that has not learnt of its demotion)`,
      );
    });
  }

  /** One attempt: decide from the state read to the end, append, and check what came back. */
  async #registerOnce(
    subject: string,
    request: SchemaRequest,
    normalize: boolean,
  ): Promise<{ id: number; version: number } | 'conflict'> {
    const mode = this.mode(subject);
    this.#checkWritable(subject);
    const importing = mode === 'IMPORT';
    if (!importing && (request.id !== undefined || request.version !== undefined)) {
      throw errors.notPermitted(
        `Subject ${subject} is not in IMPORT mode: a schema id or version cannot be given`,
      );
    }
    const { text } = this.#textOf(request, normalize);
    const same = this.state.versions(subject, false).find((s) => this.#matches(s, request, text, normalize));
    if (same !== undefined && (request.id === undefined || request.id === same.id)) {
      return { id: same.id, version: same.version };
    }
    if (!importing) {
      const messages = this.checkCompatibility(subject, request, null, normalize);
      if (messages.length > 0) throw errors.incompatible(subject, messages);
    }
    let id: number;
    if (request.id !== undefined) {
      const holder = this.state.schemaById(request.id, contextOf(subject));
      if (holder !== undefined && !(holder.schemaType === request.schemaType && holder.schema === text)) {
        throw errors.idInUse(request.id);
      }
      id = request.id;
    } else {
      const context = contextOf(subject);
      id = this.#existingId(context, request, text, normalize) ?? this.state.maxId(context) + 1;
    }
    const stored = this.state.versions(subject, true);
    const version = request.version ?? (stored.at(-1)?.version ?? 0) + 1;
    if (request.version !== undefined && stored.some((s) => s.version === request.version)) {
      throw errors.notPermitted(`Subject ${subject} already has version ${request.version}`);
    }
    if (version > VERSION_MAX || id > VERSION_MAX) throw errors.store('ids or versions are exhausted');
    const value: SchemaValue = {
      subject,
      version,
      id,
      schemaType: request.schemaType,
      references: request.references,
      schema: text,
      deleted: false,
      metadata: request.metadata ?? null,
      ruleSet: request.ruleSet ?? null,
    };
    await this.#write({ keytype: 'SCHEMA', subject, version }, encodeSchemaValue(value));
    const readBack = this.state.subjects.get(subject)?.get(version);
    if (readBack?.id === id && readBack.schema === text && !readBack.deleted) return { id, version };
    return 'conflict';
  }

  /** The id the same schema already has in this context (Confluent reuses it across subjects). */
  #existingId(context: string, request: SchemaRequest, text: string, normalize: boolean): number | undefined {
    for (const holders of this.state.byId.get(context)?.values() ?? []) {
      for (const schema of holders.values()) {
        if (this.#matches(schema, request, text, normalize, true)) return schema.id;
      }
    }
    return undefined;
  }

  deleteVersion(subject: string, version: number | 'latest', permanent: boolean): Promise<number> {
    return this.#change(async () => {
      this.#checkWritable(subject);
      const target = this.getVersion(subject, version, true);
      if (version === 'latest' && target.deleted && !permanent)
        throw errors.versionNotFound(subject, 'latest');
      if (!permanent && target.deleted) throw errors.versionSoftDeleted(subject, target.version);
      if (permanent && !target.deleted) throw errors.versionNotSoftDeleted(subject, target.version);
      const referencing = this.referencedBy(subject, target.version);
      if (referencing.length > 0)
        throw errors.referenceExists(subject, target.version, `ids ${referencing.join(', ')}`);
      const key: RecordKey = { keytype: 'SCHEMA', subject, version: target.version };
      await this.#write(key, permanent ? null : encodeSchemaValue({ ...target, deleted: true }));
      return target.version;
    });
  }

  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.#change(async () => {
      this.#checkWritable(subject);
      const all = this.state.versions(subject, true);
      if (all.length === 0) throw errors.subjectNotFound(subject);
      const live = all.filter((s) => !s.deleted);
      if (!permanent && live.length === 0) throw errors.subjectSoftDeleted(subject);
      if (permanent && live.length > 0) throw errors.subjectNotSoftDeleted(subject);
      for (const schema of all) {
        const referencing = this.referencedBy(subject, schema.version);
        if (referencing.length > 0)
          throw errors.referenceExists(subject, schema.version, `ids ${referencing.join(', ')}`);
      }
      if (!permanent) {
        for (const schema of live) {
          await this.#write(
            { keytype: 'SCHEMA', subject, version: schema.version },
            encodeSchemaValue({ ...schema, deleted: true }),
          );
        }
        const latest = live.at(-1)?.version ?? 0;
        await this.#write(
          { keytype: 'DELETE_SUBJECT', subject },
          Buffer.from(JSON.stringify({ subject, version: latest })),
        );
        return live.map((s) => s.version);
      }
      for (const schema of all)
        await this.#write({ keytype: 'SCHEMA', subject, version: schema.version }, null);
      if (this.#hasConfig(subject)) await this.#write({ keytype: 'CONFIG', subject }, null);
      if (this.state.modes.has(subject)) await this.#write({ keytype: 'MODE', subject }, null);
      return all.map((s) => s.version);
    });
  }

  // ---- config and mode ----------------------------------------------------------------------

  setCompatibility(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    if (!isCompatibilityLevel(level)) throw errors.invalidCompatibility(String(level));
    return this.setConfig(subject, { compatibility: level }).then(() => level);
  }

  /**
   * Changes the fields `update` gives and keeps the others (Confluent's PUT /config). Applied:
   * `compatibility`, `normalize`, `compatibilityGroup` (checkCompatibility); kept and answered only:
   * `alias`, `validateFields`, `validateRules` and the metadata and rule-set defaults and overrides.
   */
  setConfig(subject: string | null, update: ConfigUpdate): Promise<ConfigUpdate> {
    return this.#change(async () => {
      const target = subject ?? GLOBAL;
      const { compatibility, normalize, ...fields } = update;
      const compatibilityLevel = compatibility ?? this.state.configs.get(target);
      const kept = normalize ?? this.state.normalizes.get(target);
      await this.#write(
        { keytype: 'CONFIG', subject },
        Buffer.from(
          JSON.stringify({
            ...(compatibilityLevel === undefined ? {} : { compatibilityLevel }),
            ...(kept === undefined ? {} : { normalize: kept }),
            ...this.state.configFields.get(target),
            ...fields,
          }),
        ),
      );
      return update;
    });
  }

  /** The config set on a subject (or the registry: null), only its set fields; undefined: none. */
  configOf(subject: string | null): ConfigView | undefined {
    const target = subject ?? GLOBAL;
    if (!this.#hasConfig(target)) return undefined;
    const compatibilityLevel = this.state.configs.get(target);
    const normalize = this.state.normalizes.get(target);
    return {
      ...(compatibilityLevel === undefined ? {} : { compatibilityLevel }),
      ...(normalize === undefined ? {} : { normalize }),
      ...this.state.configFields.get(target),
    };
  }

  #hasConfig(target: string): boolean {
    return (
      this.state.configs.has(target) ||
      this.state.normalizes.has(target) ||
      this.state.configFields.has(target)
    );
  }

  /** A subject's compatibility group (its config's, else the registry's); undefined: none. */
  compatibilityGroup(subject: string): string | undefined {
    const group =
      this.state.configFields.get(subject)?.compatibilityGroup ??
      this.state.configFields.get(GLOBAL)?.compatibilityGroup;
    return typeof group === 'string' ? group : undefined;
  }

  /** Whether schemas of a subject are normalized by default: its config, else the registry's. */
  normalizeByDefault(subject: string): boolean {
    return this.state.normalizes.get(subject) ?? this.state.normalizes.get(GLOBAL) ?? false;
  }

  deleteCompatibility(subject: string | null): Promise<CompatibilityLevel> {
    return this.#change(async () => {
      const previous = this.state.configs.get(subject ?? GLOBAL);
      if (previous === undefined && !this.#hasConfig(subject ?? GLOBAL)) {
        if (subject !== null) throw errors.subjectConfigNotFound(subject);
        return COMPATIBILITY_DEFAULT;
      }
      await this.#write({ keytype: 'CONFIG', subject }, null);
      return previous ?? this.compatibility(null);
    });
  }

  setMode(subject: string | null, mode: unknown, force: boolean): Promise<Mode> {
    if (!isMode(mode)) throw errors.invalidMode(String(mode));
    return this.#change(async () => {
      if (mode === 'IMPORT' && !force) {
        const nonEmpty = subject === null ? this.state.subjects.size > 0 : this.state.subjects.has(subject);
        if (nonEmpty) {
          throw errors.notPermitted(
            `Cannot import since found existing subjects${subject === null ? '' : ` (${subject})`}: use force=true`,
          );
        }
      }
      await this.#write({ keytype: 'MODE', subject }, Buffer.from(JSON.stringify({ mode })));
      return mode;
    });
  }

  deleteMode(subject: string): Promise<Mode> {
    return this.#change(async () => {
      const previous = this.state.modes.get(subject);
      if (previous === undefined) throw errors.subjectModeNotFound(subject);
      await this.#write({ keytype: 'MODE', subject }, null);
      return previous;
    });
  }

  contexts(): string[] {
    const contexts = new Set<string>(['.']);
    for (const subject of this.state.subjects.keys()) contexts.add(contextOf(subject));
    return [...contexts].sort();
  }
}

export { RegistryError };
