import fc from 'fast-check';
import {
  type FieldDef,
  type FieldType,
  inRange,
  type MessageSchema,
  type StructType,
} from '../../src/protocol/schema.ts';
import { uuidFromBytes } from '../../src/protocol/uuid.ts';

/**
 * Random values of a schema at a version, holding only the fields that version carries: what a peer
 * speaking that version could send. Sizes are kept small so thousands of cases run in seconds.
 */

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => uuidFromBytes(bytes));

function primitive(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'uint32':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 24 });
    case 'uuid':
      return uuid;
    default:
      throw new Error(`no arbitrary for ${type}`);
  }
}

function ofType(type: FieldType, version: number, depth: number): fc.Arbitrary<unknown> {
  if (typeof type === 'string') return primitive(type);
  if (type.kind === 'array')
    return fc.array(ofType(type.items, version, depth + 1), { maxLength: depth > 2 ? 1 : 3 });
  return structArbitrary(type, version, depth + 1);
}

function fieldArbitrary(def: FieldDef, version: number, depth: number): fc.Arbitrary<unknown> {
  const value = ofType(def.type, version, depth);
  return inRange(def.nullableVersions, version) ? fc.option(value, { nil: null, freq: 4 }) : value;
}

export function structArbitrary(
  type: StructType,
  version: number,
  depth = 0,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const def of type.fields) {
    if (inRange(def.versions, version)) shape[def.name] = fieldArbitrary(def, version, depth);
  }
  return fc.record(shape);
}

export function messageArbitrary(
  schema: MessageSchema,
  version: number,
): fc.Arbitrary<Record<string, unknown>> {
  return structArbitrary(schema, version);
}

/** Keeps only the fields present at `version`, recursively: what a round trip must give back. */
export function project(
  type: StructType,
  version: number,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of type.fields) {
    if (!inRange(def.versions, version)) continue;
    out[def.name] = projectValue(def.type, version, value[def.name]);
  }
  return out;
}

function projectValue(type: FieldType, version: number, value: unknown): unknown {
  if (value === null || typeof type === 'string') return value;
  if (type.kind === 'array')
    return (value as unknown[]).map((item) => projectValue(type.items, version, item));
  return project(type, version, value as Record<string, unknown>);
}

export function versionsOf(schema: MessageSchema): number[] {
  const out: number[] = [];
  for (let v = schema.validVersions.min; v <= schema.validVersions.max; v++) out.push(v);
  return out;
}
