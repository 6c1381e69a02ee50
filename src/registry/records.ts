/**
 * Confluent Schema Registry's record formats in `_schemas`: JSON keys and values.
 * SCHEMA key {keytype, subject, version, magic: 1} → {subject, version, id, schemaType (not for
 * AVRO), references, schema, deleted, metadata and ruleSet (data contracts: only when set)}; a soft delete rewrites the value with deleted: true, a
 * permanent delete writes a tombstone. CONFIG and MODE keys {keytype, subject (absent: global),
 * magic: 0} → {compatibilityLevel, normalize, and Confluent's other config fields (CONFIG_FIELDS), each
 * only when set} / {mode}, a tombstone clears it. DELETE_SUBJECT →
 * {subject, version} (every version up to it deleted); CLEAR_SUBJECT → {subject}; NOOP → nothing.
 */
import type { SchemaReference, SchemaType } from './formats/types.ts';

export interface SchemaValue {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  readonly schemaType: SchemaType;
  readonly references: readonly SchemaReference[];
  readonly schema: string;
  readonly deleted: boolean;
  /** Data contracts (Confluent 7.4+): `{tags, properties, sensitive}`, kept as given. */
  readonly metadata?: DataContractObject | null;
  /** Data contracts: `{migrationRules, domainRules, encodingRules}`, kept as given. */
  readonly ruleSet?: DataContractObject | null;
}

/** A JSON object kept as the client sent it (schema metadata or rule set). */
export type DataContractObject = Readonly<Record<string, unknown>>;

/**
 * Confluent's config fields besides `compatibilityLevel` and `normalize`, with the JSON type each
 * takes (Confluent's ConfigUpdateRequest and its CONFIG record value): kept and answered as a client
 * sent them; registry.ts says which it applies.
 */
export const CONFIG_FIELDS = {
  alias: 'string',
  compatibilityGroup: 'string',
  validateFields: 'boolean',
  validateRules: 'boolean',
  defaultMetadata: 'object',
  overrideMetadata: 'object',
  defaultRuleSet: 'object',
  overrideRuleSet: 'object',
} as const;

export type ConfigFieldName = keyof typeof CONFIG_FIELDS;
/** The CONFIG_FIELDS a config sets (an object field holds a JSON object as given). */
export type ConfigFields = { -readonly [K in ConfigFieldName]?: unknown };

/** Whether `value` has the JSON type CONFIG_FIELDS names for `name` (an object: not an array, not null). */
export function isConfigFieldValue(name: ConfigFieldName, value: unknown): boolean {
  const type = CONFIG_FIELDS[name];
  if (type === 'object') return value !== null && typeof value === 'object' && !Array.isArray(value);
  return typeof value === type;
}

/** The CONFIG_FIELDS of a CONFIG record value (or request body) that have their type; others are left out. */
export function configFieldsOf(value: Record<string, unknown> | null): ConfigFields {
  const fields: ConfigFields = {};
  for (const name of Object.keys(CONFIG_FIELDS) as ConfigFieldName[]) {
    if (isConfigFieldValue(name, value?.[name])) fields[name] = value?.[name];
  }
  return fields;
}

export type RecordKey =
  | { readonly keytype: 'SCHEMA'; readonly subject: string; readonly version: number }
  | { readonly keytype: 'CONFIG' | 'MODE'; readonly subject: string | null }
  | { readonly keytype: 'DELETE_SUBJECT' | 'CLEAR_SUBJECT'; readonly subject: string }
  | { readonly keytype: 'NOOP' | 'CONTEXT' | 'OTHER' };

export function encodeKey(key: RecordKey): Buffer {
  switch (key.keytype) {
    case 'SCHEMA':
      return Buffer.from(
        JSON.stringify({ keytype: 'SCHEMA', subject: key.subject, version: key.version, magic: 1 }),
      );
    case 'CONFIG':
    case 'MODE':
      return Buffer.from(
        JSON.stringify(
          key.subject === null
            ? { keytype: key.keytype, magic: 0 }
            : { keytype: key.keytype, subject: key.subject, magic: 0 },
        ),
      );
    case 'DELETE_SUBJECT':
    case 'CLEAR_SUBJECT':
      return Buffer.from(JSON.stringify({ keytype: key.keytype, subject: key.subject, magic: 0 }));
    default:
      return Buffer.from(JSON.stringify({ keytype: key.keytype, magic: 0 }));
  }
}

export function encodeSchemaValue(value: SchemaValue): Buffer {
  return Buffer.from(
    JSON.stringify({
      subject: value.subject,
      version: value.version,
      id: value.id,
      ...(value.schemaType === 'AVRO' ? {} : { schemaType: value.schemaType }),
      references: value.references,
      schema: value.schema,
      deleted: value.deleted,
      ...(value.metadata === undefined || value.metadata === null ? {} : { metadata: value.metadata }),
      ...(value.ruleSet === undefined || value.ruleSet === null ? {} : { ruleSet: value.ruleSet }),
    }),
  );
}

function asObject(buffer: Buffer | null): Record<string, unknown> | null {
  if (buffer === null) return null;
  const parsed: unknown = JSON.parse(buffer.toString('utf8'));
  return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
}

/** Decodes a key; unknown key types (from newer registries) decode as OTHER and are skipped. */
export function decodeKey(buffer: Buffer): RecordKey {
  const key = asObject(buffer);
  if (key === null) throw new Error('a _schemas key is not a JSON object');
  const subject = typeof key.subject === 'string' ? key.subject : null;
  switch (key.keytype) {
    case 'SCHEMA':
      if (subject === null || typeof key.version !== 'number')
        throw new Error('SCHEMA key without subject/version');
      return { keytype: 'SCHEMA', subject, version: key.version };
    case 'CONFIG':
    case 'MODE':
      return { keytype: key.keytype, subject };
    case 'DELETE_SUBJECT':
    case 'CLEAR_SUBJECT':
      if (subject === null) throw new Error(`${key.keytype} key without subject`);
      return { keytype: key.keytype, subject };
    case 'NOOP':
    case 'CONTEXT':
      return { keytype: key.keytype };
    default:
      return { keytype: 'OTHER' };
  }
}

export function decodeSchemaValue(buffer: Buffer): SchemaValue {
  const value = asObject(buffer);
  if (value === null || typeof value.subject !== 'string' || typeof value.id !== 'number') {
    throw new Error('SCHEMA value without subject/id');
  }
  const schemaType = typeof value.schemaType === 'string' ? value.schemaType : 'AVRO';
  return {
    subject: value.subject,
    version: Number(value.version),
    id: value.id,
    schemaType: schemaType as SchemaType,
    references: Array.isArray(value.references) ? (value.references as SchemaReference[]) : [],
    schema: String(value.schema),
    deleted: value.deleted === true,
    metadata: objectOrNull(value.metadata),
    ruleSet: objectOrNull(value.ruleSet),
  };
}

function objectOrNull(value: unknown): DataContractObject | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as DataContractObject)
    : null;
}

export function decodeObject(buffer: Buffer | null): Record<string, unknown> | null {
  return asObject(buffer);
}
