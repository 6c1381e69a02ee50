/**
 * The registry's state in memory: a fold of the `_schemas` records in log order, so that what a
 * compacted topic keeps (the last record per key) is exactly what this holds after a replay.
 */
import { type CompatibilityLevel, isCompatibilityLevel } from './compatibility.ts';
import {
  type ConfigFields,
  configFieldsOf,
  decodeKey,
  decodeObject,
  decodeSchemaValue,
  type SchemaValue,
} from './records.ts';
import type { LogRecord } from './schema-log.ts';

export const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT'] as const;
export type Mode = (typeof MODES)[number];
export const MODE_DEFAULT: Mode = 'READWRITE';

export function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

/** The key of the global config and mode in the maps below. */
export const GLOBAL = '';
/** The context of subjects without a `:.ctx:` prefix. */
export const DEFAULT_CONTEXT = '.';

/** The context of a (qualified) subject: `.` for the default one. */
export function contextOf(subject: string): string {
  const match = /^:(\.[^:]*):/.exec(subject);
  return match?.[1] ?? DEFAULT_CONTEXT;
}

export class RegistryState {
  /** subject → version → the stored schema (soft-deleted ones included). */
  readonly subjects = new Map<string, Map<number, SchemaValue>>();
  /**
   * context → id → "subject\0version" → the stored schema. Each context has its own ids, as in
   * Confluent's registry: id 1 in `.staging` and id 1 in the default context are two schemas.
   */
  readonly byId = new Map<string, Map<number, Map<string, SchemaValue>>>();
  readonly configs = new Map<string, CompatibilityLevel>();
  /** The `normalize` of each CONFIG record that sets it (GLOBAL: the registry's own). */
  readonly normalizes = new Map<string, boolean>();
  /** Confluent's other config fields of each CONFIG record that sets any (records.ts CONFIG_FIELDS). */
  readonly configFields = new Map<string, ConfigFields>();
  readonly modes = new Map<string, Mode>();
  /** The highest id ever seen per context: ids are never reused, even after a permanent delete. */
  readonly #maxIds = new Map<string, number>();
  /** SCHEMA records skipped because their id already named another schema (racing writers). */
  conflicts = 0;
  /** Records that could not be decoded (skipped, as Confluent's reader skips them). */
  skipped = 0;

  /** Counts applied records: anything derived from the state is stale once this changes. */
  generation = 0;

  apply(record: LogRecord): void {
    if (record.key === null) return;
    this.generation += 1;
    try {
      this.#apply(record.key, record.value);
    } catch {
      this.skipped += 1;
    }
  }

  #apply(keyBytes: Buffer, value: Buffer | null): void {
    const key = decodeKey(keyBytes);
    switch (key.keytype) {
      case 'SCHEMA': {
        const schema = value === null ? null : decodeSchemaValue(value);
        if (schema !== null && this.#clashes(schema)) {
          // Another writer took this id first (earlier in the log) for another schema: every
          // reader skips the later record, and its writer sees that and registers again.
          this.conflicts += 1;
          return;
        }
        this.#removeSchema(key.subject, key.version);
        if (schema === null) return;
        let versions = this.subjects.get(key.subject);
        if (versions === undefined) {
          versions = new Map();
          this.subjects.set(key.subject, versions);
        }
        versions.set(key.version, schema);
        const context = contextOf(key.subject);
        let ids = this.byId.get(context);
        if (ids === undefined) {
          ids = new Map();
          this.byId.set(context, ids);
        }
        let holders = ids.get(schema.id);
        if (holders === undefined) {
          holders = new Map();
          ids.set(schema.id, holders);
        }
        holders.set(`${key.subject}\0${key.version}`, schema);
        if (schema.id > this.maxId(context)) this.#maxIds.set(context, schema.id);
        return;
      }
      case 'CONFIG': {
        const config = decodeObject(value);
        const target = key.subject ?? GLOBAL;
        const level = config?.compatibilityLevel;
        if (isCompatibilityLevel(level)) this.configs.set(target, level);
        else this.configs.delete(target);
        if (typeof config?.normalize === 'boolean') this.normalizes.set(target, config.normalize);
        else this.normalizes.delete(target);
        const fields = configFieldsOf(config);
        if (Object.keys(fields).length > 0) this.configFields.set(target, fields);
        else this.configFields.delete(target);
        return;
      }
      case 'MODE': {
        const mode = decodeObject(value)?.mode;
        if (isMode(mode)) this.modes.set(key.subject ?? GLOBAL, mode);
        else this.modes.delete(key.subject ?? GLOBAL);
        return;
      }
      case 'DELETE_SUBJECT': {
        const upTo = Number(decodeObject(value)?.version ?? Number.MAX_SAFE_INTEGER);
        for (const [version, schema] of this.subjects.get(key.subject) ?? []) {
          if (version <= upTo && !schema.deleted) this.#replace({ ...schema, deleted: true });
        }
        return;
      }
      case 'CLEAR_SUBJECT':
        for (const version of [...(this.subjects.get(key.subject)?.keys() ?? [])]) {
          this.#removeSchema(key.subject, version);
        }
        return;
      default:
        return;
    }
  }

  #clashes(schema: SchemaValue): boolean {
    for (const holder of this.holders(schema.id, contextOf(schema.subject))) {
      if (holder.subject === schema.subject && holder.version === schema.version) continue;
      if (
        holder.schemaType !== schema.schemaType ||
        holder.schema !== schema.schema ||
        JSON.stringify(holder.references) !== JSON.stringify(schema.references)
      ) {
        return true;
      }
    }
    return false;
  }

  #replace(schema: SchemaValue): void {
    this.subjects.get(schema.subject)?.set(schema.version, schema);
    this.byId
      .get(contextOf(schema.subject))
      ?.get(schema.id)
      ?.set(`${schema.subject}\0${schema.version}`, schema);
  }

  #removeSchema(subject: string, version: number): void {
    const versions = this.subjects.get(subject);
    const old = versions?.get(version);
    if (versions === undefined || old === undefined) return;
    versions.delete(version);
    if (versions.size === 0) this.subjects.delete(subject);
    const ids = this.byId.get(contextOf(subject));
    const holders = ids?.get(old.id);
    holders?.delete(`${subject}\0${version}`);
    if (holders?.size === 0) ids?.delete(old.id);
  }

  /** The highest id ever given in a context (0 before the first). */
  maxId(context: string = DEFAULT_CONTEXT): number {
    return this.#maxIds.get(context) ?? 0;
  }

  /** Every stored schema (soft-deleted ones included) with this id in a context. */
  holders(id: number, context: string = DEFAULT_CONTEXT): SchemaValue[] {
    return [...(this.byId.get(context)?.get(id)?.values() ?? [])];
  }

  /** The versions of a subject in order, soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted: boolean): SchemaValue[] {
    const versions = [...(this.subjects.get(subject)?.values() ?? [])];
    return versions.filter((s) => includeDeleted || !s.deleted).sort((a, b) => a.version - b.version);
  }

  /** Any stored schema with this id in a context (a live one first). */
  schemaById(id: number, context: string = DEFAULT_CONTEXT): SchemaValue | undefined {
    const holders = this.holders(id, context);
    return holders.find((s) => !s.deleted) ?? holders[0];
  }

  /**
   * Where an id lookup lands, by Confluent's rule: without a subject, the default context; with a
   * subject in a named context, that context; with an unqualified subject, the default context,
   * then every other context holding `:.ctx:subject`. The subject, when given, must hold the id.
   */
  locateId(id: number, subject: string | undefined): { context: string; schema: SchemaValue } | undefined {
    const candidates =
      subject === undefined
        ? [{ context: DEFAULT_CONTEXT, subject: undefined }]
        : contextOf(subject) !== DEFAULT_CONTEXT
          ? [{ context: contextOf(subject), subject }]
          : [
              { context: DEFAULT_CONTEXT, subject },
              ...[...this.byId.keys()]
                .filter((context) => context !== DEFAULT_CONTEXT)
                .sort()
                .map((context) => ({ context, subject: `:${context}:${subject}` })),
            ];
    for (const candidate of candidates) {
      const holders = this.holders(id, candidate.context).filter(
        (s) => candidate.subject === undefined || s.subject === candidate.subject,
      );
      const schema = holders.find((s) => !s.deleted) ?? holders[0];
      if (schema !== undefined) return { context: candidate.context, schema };
    }
    return undefined;
  }
}
