/**
 * JSON Schema through ajv: the schema is compiled by the ajv class of its `$schema` draft (4, 6, 7,
 * 2019-09, 2020-12; draft 7 when it names none), so an invalid schema is refused with ajv's message.
 *
 * Compatibility follows Confluent's rule: the reader must accept every document the writer accepts.
 * That is checked structurally, as Confluent's diff does: types may only widen (integer → number),
 * enums may only grow, bounds may only loosen, a reader may not require what the writer did not,
 * a property the writer may write must be readable (not cut off by a closed content model), and a
 * property the reader adds must not collide with what an open writer may already have written.
 */
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import { errors } from '../errors.ts';
import type { ParsedSchema, ResolvedReference, SchemaFormat } from './types.ts';

type Json = boolean | number | string | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface JsonSchema extends ParsedSchema {
  readonly root: Json;
}

// ajv-draft-04 is CommonJS: its class is the module itself under Node's ESM interop.
const AjvDraft04 = (AjvDraft04Module as unknown as { default: new (options: object) => unknown }).default;

interface Validator {
  addSchema(schema: object, key?: string): unknown;
  compile(schema: object | boolean): unknown;
}

function validatorFor(draft: string): Validator {
  const options = { strict: false, allErrors: false, validateFormats: false } as const;
  if (draft.includes('draft-04')) return new AjvDraft04(options) as unknown as Validator;
  if (draft.includes('2019-09')) return new Ajv2019(options) as unknown as Validator;
  if (draft.includes('2020-12')) return new Ajv2020(options) as unknown as Validator;
  return new Ajv(options) as unknown as Validator;
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: JsonObject = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key] as Json);
    return sorted;
  }
  return value;
}

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw errors.invalidSchema(`${what} is not JSON: ${(error as Error).message}`);
  }
}

export const jsonSchemaFormat: SchemaFormat<JsonSchema> = {
  type: 'JSON',

  parse(text: string, references: readonly ResolvedReference[]): JsonSchema {
    const root = parseJson(text, 'the schema');
    if (typeof root !== 'boolean' && (root === null || typeof root !== 'object' || Array.isArray(root))) {
      throw errors.invalidSchema('a JSON Schema is an object or a boolean');
    }
    const draft = typeof root === 'object' && typeof root.$schema === 'string' ? root.$schema : '';
    const validator = validatorFor(draft);
    try {
      for (const reference of references) {
        const schema = parseJson(reference.schema, `reference '${reference.name}'`);
        if (schema !== null && typeof schema === 'object') validator.addSchema(schema, reference.name);
      }
      validator.compile(root as object | boolean);
    } catch (error) {
      throw errors.invalidSchema((error as Error).message);
    }
    return {
      type: 'JSON',
      canonical: JSON.stringify(root),
      normalized: JSON.stringify(sortKeys(root)),
      root,
    };
  },

  readerProblems(reader: JsonSchema, writer: JsonSchema): string[] {
    const problems: string[] = [];
    compare(reader.root, writer.root, '#', problems, {
      reader: reader.root,
      writer: writer.root,
      depth: 0,
      seen: new Map(),
    });
    return problems;
  },
};

/** How deep the comparison follows nested (or recursive, through $ref) schemas. */
export const COMPARE_DEPTH_MAX = 64;
/** How many $ref hops one schema may take to reach a definition. */
const REF_HOPS_MAX = 32;

interface Roots {
  readonly reader: Json;
  readonly writer: Json;
  readonly depth: number;
  /** Reader/writer schema pairs already compared: each pair once, so recursive schemas stay linear. */
  readonly seen: Map<object, Set<object>>;
}

function firstVisit(roots: Roots, reader: Json, writer: Json): boolean {
  if (reader === null || typeof reader !== 'object' || writer === null || typeof writer !== 'object')
    return true;
  let writers = roots.seen.get(reader);
  if (writers === undefined) {
    writers = new Set();
    roots.seen.set(reader, writers);
  }
  if (writers.has(writer)) return false;
  writers.add(writer);
  return true;
}

/** Follows a local JSON pointer (`#/definitions/a`, `#/$defs/b`) within the schema's root. */
function pointer(root: Json, ref: string): Json | undefined {
  let current: Json | undefined = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) ? current[Number(token)] : current[token];
  }
  return current;
}

/** A schema with its local `$ref`s followed; other refs (to references) stay as they are. */
function deref(schema: Json, root: Json): Json {
  let current = schema;
  for (let hops = 0; hops < REF_HOPS_MAX; hops++) {
    const object = asObject(current);
    if (object === null || typeof object.$ref !== 'string' || !object.$ref.startsWith('#')) return current;
    const target = pointer(root, object.$ref);
    if (target === undefined) return current;
    current = target;
  }
  return current;
}

const ALL_TYPES = ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'];

function asObject(schema: Json | undefined): JsonObject | null {
  return schema !== null && typeof schema === 'object' && !Array.isArray(schema) ? schema : null;
}

/** The types a schema admits (all of them when it does not say). */
function typesOf(schema: JsonObject): Set<string> {
  const type = schema.type;
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'));
  return new Set(ALL_TYPES);
}

function admitsType(readerTypes: Set<string>, type: string): boolean {
  return readerTypes.has(type) || (type === 'integer' && readerTypes.has('number'));
}

/** Is the content model closed (`additionalProperties: false`), open, or a schema? */
function additionalOf(schema: JsonObject): Json {
  const additional = schema.additionalProperties;
  return additional === undefined ? true : additional;
}

function compareBound(
  reader: JsonObject,
  writer: JsonObject,
  key: string,
  looser: 'higher' | 'lower',
  path: string,
  problems: string[],
): void {
  const r = reader[key];
  if (typeof r !== 'number') return;
  const w = writer[key];
  const changed =
    typeof w !== 'number'
      ? 'ADDED'
      : looser === 'higher'
        ? r < w
          ? 'DECREASED'
          : null
        : r > w
          ? 'INCREASED'
          : null;
  if (changed !== null) problems.push(`${key.toUpperCase()}_${changed} at ${path}`);
}

function compare(readerGiven: Json, writerGiven: Json, path: string, problems: string[], roots: Roots): void {
  // Recursive schemas ($ref cycles) are compared down to COMPARE_DEPTH_MAX levels.
  if (roots.depth > COMPARE_DEPTH_MAX) return;
  const inner: Roots = { ...roots, depth: roots.depth + 1 };
  const readerSchema = deref(readerGiven, roots.reader);
  const writerSchema = deref(writerGiven, roots.writer);
  if (!firstVisit(roots, readerSchema, writerSchema)) return;
  if (readerSchema === true || writerSchema === false) return;
  if (readerSchema === false) {
    problems.push(`FALSE_SCHEMA at ${path}: the reader accepts nothing the writer writes`);
    return;
  }
  const reader = asObject(readerSchema);
  const writer = asObject(writerSchema === true ? {} : writerSchema);
  if (reader === null || writer === null) return;

  const readerTypes = typesOf(reader);
  const writerTypes = typesOf(writer);
  for (const type of writerTypes) {
    if (!admitsType(readerTypes, type))
      problems.push(`TYPE_NARROWED at ${path}: the reader no longer accepts ${type}`);
  }

  if (Array.isArray(reader.enum)) {
    const readerValues = new Set(reader.enum.map((v) => JSON.stringify(v)));
    if (!Array.isArray(writer.enum)) problems.push(`ENUM_ADDED at ${path}`);
    else {
      for (const value of writer.enum) {
        if (!readerValues.has(JSON.stringify(value)))
          problems.push(`ENUM_ARRAY_NARROWED at ${path}: ${JSON.stringify(value)} removed`);
      }
    }
  }
  if (reader.const !== undefined && JSON.stringify(reader.const) !== JSON.stringify(writer.const)) {
    problems.push(`CONST_CHANGED at ${path}`);
  }

  compareBound(reader, writer, 'maxLength', 'higher', path, problems);
  compareBound(reader, writer, 'minLength', 'lower', path, problems);
  compareBound(reader, writer, 'maximum', 'higher', path, problems);
  compareBound(reader, writer, 'minimum', 'lower', path, problems);
  compareBound(reader, writer, 'maxItems', 'higher', path, problems);
  compareBound(reader, writer, 'minItems', 'lower', path, problems);
  compareBound(reader, writer, 'maxProperties', 'higher', path, problems);
  compareBound(reader, writer, 'minProperties', 'lower', path, problems);
  if (typeof reader.pattern === 'string' && reader.pattern !== writer.pattern) {
    problems.push(`PATTERN_CHANGED at ${path}`);
  }

  if (readerTypes.has('object') && writerTypes.has('object'))
    compareObjects(reader, writer, path, problems, inner);
  if (readerTypes.has('array') && writerTypes.has('array')) {
    const readerItems = reader.items ?? true;
    const writerItems = writer.items ?? true;
    if (!Array.isArray(readerItems) && !Array.isArray(writerItems)) {
      compare(readerItems, writerItems, `${path}/items`, problems, inner);
    }
  }
}

function compareObjects(
  reader: JsonObject,
  writer: JsonObject,
  path: string,
  problems: string[],
  roots: Roots,
): void {
  const readerProperties = asObject(reader.properties) ?? {};
  const writerProperties = asObject(writer.properties) ?? {};
  const writerRequired = new Set(Array.isArray(writer.required) ? writer.required : []);
  for (const name of Array.isArray(reader.required) ? reader.required : []) {
    if (typeof name === 'string' && !writerRequired.has(name)) {
      problems.push(`REQUIRED_PROPERTY_ADDED at ${path}/properties/${name}`);
    }
  }
  const readerAdditional = additionalOf(reader);
  const writerAdditional = additionalOf(writer);
  for (const [name, writerProperty] of Object.entries(writerProperties)) {
    const propertyPath = `${path}/properties/${name}`;
    const readerProperty = readerProperties[name];
    if (readerProperty !== undefined) compare(readerProperty, writerProperty, propertyPath, problems, roots);
    else if (readerAdditional === false)
      problems.push(`PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL at ${propertyPath}`);
    else compare(readerAdditional, writerProperty, propertyPath, problems, roots);
  }
  for (const [name, readerProperty] of Object.entries(readerProperties)) {
    if (writerProperties[name] !== undefined || writerAdditional === false) continue;
    // An open writer may already have written this name with any value the writer's
    // additionalProperties allowed: the reader's new property must accept that.
    const before = problems.length;
    compare(readerProperty, writerAdditional, `${path}/properties/${name}`, problems, roots);
    if (problems.length > before) {
      problems.splice(
        before,
        problems.length - before,
        `PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL at ${path}/properties/${name}`,
      );
    }
  }
  if (writerAdditional !== false && readerAdditional !== true) {
    if (readerAdditional === false) problems.push(`ADDITIONAL_PROPERTIES_NARROWED at ${path}`);
    else compare(readerAdditional, writerAdditional, `${path}/additionalProperties`, problems, roots);
  }
}
