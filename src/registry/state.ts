/**
 * The registry's state in memory: a fold of the `_schemas` records in log order, so that what a
 * compacted topic keeps (the last record per key) is exactly what this holds after a replay.
 */
import { type CompatibilityLevel, isCompatibilityLevel } from './compatibility.ts';
import { decodeKey, decodeObject, decodeSchemaValue, type SchemaValue } from './records.ts';
import type { LogRecord } from './schema-log.ts';

export const MODES = ['READWRITE', 'READONLY', 'READONLY_OVERRIDE', 'IMPORT'] as const;
export type Mode = (typeof MODES)[number];
export const MODE_DEFAULT: Mode = 'READWRITE';

export function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

/** The key of the global config and mode in the maps below. */
export const GLOBAL = '';

export class RegistryState {
  /** subject → version → the stored schema (soft-deleted ones included). */
  readonly subjects = new Map<string, Map<number, SchemaValue>>();
  /** id → "subject\0version" → the stored schema. */
  readonly byId = new Map<number, Map<string, SchemaValue>>();
  readonly configs = new Map<string, CompatibilityLevel>();
  readonly modes = new Map<string, Mode>();
  /** The highest id ever seen: ids are never reused, even after a permanent delete. */
  maxId = 0;
  /** SCHEMA records skipped because their id already named another schema (racing writers). */
  conflicts = 0;
  /** Records that could not be decoded (skipped, as Confluent's reader skips them). */
  skipped = 0;

  apply(record: LogRecord): void {
    if (record.key === null) return;
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
        let holders = this.byId.get(schema.id);
        if (holders === undefined) {
          holders = new Map();
          this.byId.set(schema.id, holders);
        }
        holders.set(`${key.subject}\0${key.version}`, schema);
        if (schema.id > this.maxId) this.maxId = schema.id;
        return;
      }
      case 'CONFIG': {
        const level = decodeObject(value)?.compatibilityLevel;
        if (isCompatibilityLevel(level)) this.configs.set(key.subject ?? GLOBAL, level);
        else this.configs.delete(key.subject ?? GLOBAL);
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
    for (const holder of this.byId.get(schema.id)?.values() ?? []) {
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
    this.byId.get(schema.id)?.set(`${schema.subject}\0${schema.version}`, schema);
  }

  #removeSchema(subject: string, version: number): void {
    const versions = this.subjects.get(subject);
    const old = versions?.get(version);
    if (versions === undefined || old === undefined) return;
    versions.delete(version);
    if (versions.size === 0) this.subjects.delete(subject);
    const holders = this.byId.get(old.id);
    holders?.delete(`${subject}\0${version}`);
    if (holders?.size === 0) this.byId.delete(old.id);
  }

  /** The versions of a subject in order, soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted: boolean): SchemaValue[] {
    const versions = [...(this.subjects.get(subject)?.values() ?? [])];
    return versions.filter((s) => includeDeleted || !s.deleted).sort((a, b) => a.version - b.version);
  }

  /** Any stored schema with this id (a live one first). */
  schemaById(id: number): SchemaValue | undefined {
    const holders = [...(this.byId.get(id)?.values() ?? [])];
    return holders.find((s) => !s.deleted) ?? holders[0];
  }
}
