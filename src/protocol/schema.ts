import { malformed } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { ZERO_UUID } from './uuid.ts';
import { Writer } from './writer.ts';

/**
 * The schema DSL. One schema per message, fields carry version ranges, as in Kafka's message
 * definitions. `compile` turns a (struct, version) pair into a decoder and an encoder function once,
 * generated as straight-line JavaScript, and caches them: decoding a Produce request is a few property
 * reads and one view into the frame, with no per-field closure or lookup.
 */

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export interface StructType {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: readonly FieldDef[];
}

export interface ArrayType {
  readonly kind: 'array';
  readonly items: FieldType;
}

export type FieldType = PrimitiveType | StructType | ArrayType;

/** An inclusive version range; `none` is the empty range (min > max). */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export type DefaultValue = number | bigint | boolean | string | null;

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullableVersions: VersionRange;
  readonly taggedVersions: VersionRange;
  readonly tag: number | null;
  /** The spec's default; undefined means the type's zero value. */
  readonly default: DefaultValue | undefined;
  /** A field-level override of the message's flexible versions (only the request header's ClientId). */
  readonly flexibleVersions: VersionRange | null;
}

export interface MessageSchema extends StructType {
  readonly apiKey: number;
  readonly messageType: 'request' | 'response' | 'data' | 'header';
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
}

export interface FieldOptions {
  /** Versions in which the field may be null, e.g. '3+'. */
  nullable?: string;
  /** Tag id: the field is a tagged field in `tagged` versions (default: all its versions). */
  tag?: number;
  tagged?: string;
  default?: DefaultValue;
  /** Field-level flexible versions override, e.g. 'none'. */
  flexible?: string;
}

const MAX_VERSION = 0x7fff;
const EMPTY: VersionRange = { min: 1, max: 0 };

/** Parses Kafka's version notation: '3+', '0-7', '5', 'none'. */
export function versions(spec: string): VersionRange {
  if (spec === 'none') return EMPTY;
  if (spec.endsWith('+')) return { min: Number(spec.slice(0, -1)), max: MAX_VERSION };
  const dash = spec.indexOf('-');
  if (dash > 0) return { min: Number(spec.slice(0, dash)), max: Number(spec.slice(dash + 1)) };
  return { min: Number(spec), max: Number(spec) };
}

export function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

export function field(
  name: string,
  type: FieldType,
  fieldVersions: string,
  options: FieldOptions = {},
): FieldDef {
  const range = versions(fieldVersions);
  return {
    name,
    type,
    versions: range,
    nullableVersions: options.nullable === undefined ? EMPTY : versions(options.nullable),
    taggedVersions: options.tag === undefined ? EMPTY : options.tagged ? versions(options.tagged) : range,
    tag: options.tag ?? null,
    default: options.default,
    flexibleVersions: options.flexible === undefined ? null : versions(options.flexible),
  };
}

export function struct(name: string, fields: readonly FieldDef[]): StructType {
  return { kind: 'struct', name, fields };
}

export function array(items: FieldType): ArrayType {
  return { kind: 'array', items };
}

export interface MessageOptions {
  name: string;
  apiKey: number;
  type: MessageSchema['messageType'];
  validVersions: string;
  flexibleVersions: string;
  fields: readonly FieldDef[];
}

export function message(options: MessageOptions): MessageSchema {
  return {
    kind: 'struct',
    name: options.name,
    fields: options.fields,
    apiKey: options.apiKey,
    messageType: options.type,
    validVersions: versions(options.validVersions),
    flexibleVersions: versions(options.flexibleVersions),
  };
}

export function request(apiKey: number, name: string, valid: string, flexible: string, fields: FieldDef[]) {
  return message({ name, apiKey, type: 'request', validVersions: valid, flexibleVersions: flexible, fields });
}

export function response(apiKey: number, name: string, valid: string, flexible: string, fields: FieldDef[]) {
  return message({
    name,
    apiKey,
    type: 'response',
    validVersions: valid,
    flexibleVersions: flexible,
    fields,
  });
}

// ---------------------------------------------------------------------------------------------------
// Values and defaults

/** Decoded values are plain objects keyed by lowerCamelCase field names. */
export type MessageValue = Record<string, unknown>;

const EMPTY_BYTES = new Uint8Array(0);

/** The value a field takes when it is absent from the version decoded, or left undefined on encode. */
export function defaultValue(def: FieldDef): unknown {
  const type = def.type;
  if (def.default === null) return null;
  if (typeof type === 'string') {
    switch (type) {
      case 'int64':
        return def.default === undefined ? 0n : BigInt(def.default as number | bigint | string);
      case 'bool':
        return def.default ?? false;
      case 'string':
        return def.default ?? '';
      case 'uuid':
        return def.default ?? ZERO_UUID;
      case 'bytes':
        return EMPTY_BYTES;
      case 'records':
        return null;
      default:
        return def.default ?? 0;
    }
  }
  if (type.kind === 'array') return [];
  return defaultStruct(type);
}

export function defaultStruct(type: StructType): MessageValue {
  const value: MessageValue = {};
  for (const def of type.fields) value[def.name] = defaultValue(def);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Compilation: one decoder and one encoder per (struct, version, flexible), generated once and cached.

export type DecodeFn = (reader: Reader) => MessageValue;
export type EncodeFn = (writer: Writer, value: MessageValue) => void;

interface Codec {
  decode: DecodeFn;
  encode: EncodeFn;
}

const cache = new WeakMap<StructType, Map<number, Codec>>();

/** The compiled codec of a struct at a version; `flexible` is derived from the message for nested structs. */
export function compile(type: StructType, version: number, flexible: boolean): Codec {
  let byVersion = cache.get(type);
  if (!byVersion) {
    byVersion = new Map();
    cache.set(type, byVersion);
  }
  const key = version * 2 + (flexible ? 1 : 0);
  let codec = byVersion.get(key);
  if (!codec) {
    codec = buildCodec(type, version, flexible);
    byVersion.set(key, codec);
  }
  return codec;
}

/** Constants and helpers the generated code refers to by index. */
class Context {
  readonly values: unknown[] = [];
  ref(value: unknown): string {
    let index = this.values.indexOf(value);
    if (index < 0) {
      index = this.values.length;
      this.values.push(value);
    }
    return `k[${index}]`;
  }
}

interface FieldPlan {
  def: FieldDef;
  present: boolean;
  tagged: boolean;
  nullable: boolean;
  compact: boolean;
}

function plan(type: StructType, version: number, flexible: boolean): FieldPlan[] {
  return type.fields.map((def) => {
    const present = inRange(def.versions, version);
    const tagged = present && flexible && def.tag !== null && inRange(def.taggedVersions, version);
    const compact = def.flexibleVersions ? inRange(def.flexibleVersions, version) : flexible;
    return { def, present, tagged, nullable: inRange(def.nullableVersions, version), compact };
  });
}

function buildCodec(type: StructType, version: number, flexible: boolean): Codec {
  // Registered first so a recursive struct (none exist in Kafka today) would not loop forever.
  const codec: Codec = {
    decode: () => {
      throw new Error('unreachable');
    },
    encode: () => {},
  };
  const fields = plan(type, version, flexible);
  codec.decode = buildDecoder(type, fields, version, flexible);
  codec.encode = buildEncoder(type, fields, version, flexible);
  return codec;
}

const primitiveRead: Record<string, string> = {
  int8: 'r.int8()',
  int16: 'r.int16()',
  int32: 'r.int32()',
  int64: 'r.int64()',
  uint16: 'r.uint16()',
  uint32: 'r.uint32()',
  float64: 'r.float64()',
  bool: 'r.bool()',
  uuid: 'r.uuid()',
};

function readExpression(
  ctx: Context,
  type: FieldType,
  nullable: boolean,
  compact: boolean,
  version: number,
  flexible: boolean,
): string {
  if (typeof type === 'string') {
    const simple = primitiveRead[type];
    if (simple) return simple;
    const base = type === 'string' ? 'String' : 'Bytes';
    const name = (compact ? 'compact' : '') + (nullable ? 'Nullable' : '') + base;
    return `r.${name[0]!.toLowerCase()}${name.slice(1)}()`;
  }
  if (type.kind === 'struct') {
    const nested = compile(type, version, flexible);
    // A nullable struct is preceded by an int8 marker: -1 for null, 1 for present.
    if (nullable) return `(r.int8() < 0 ? null : ${ctx.ref(nested.decode)}(r))`;
    return `${ctx.ref(nested.decode)}(r)`;
  }
  const element = elementReader(ctx, type.items, version, flexible);
  const helper = compact ? readCompactArray : readArray;
  return `${ctx.ref(helper)}(r, ${element}, ${nullable})`;
}

function elementReader(ctx: Context, items: FieldType, version: number, flexible: boolean): string {
  if (typeof items !== 'string' && items.kind === 'struct')
    return ctx.ref(compile(items, version, flexible).decode);
  const source = `return ${readExpression(ctx, items, false, flexible, version, flexible)};`;
  return ctx.ref(new Function('k', `return function (r) { ${source} };`)(ctx.values));
}

function readArray(r: Reader, element: (r: Reader) => unknown, nullable: boolean): unknown[] | null {
  const count = r.arrayLength();
  return fillArray(r, count, element, nullable);
}

function readCompactArray(r: Reader, element: (r: Reader) => unknown, nullable: boolean): unknown[] | null {
  const count = r.compactArrayLength();
  return fillArray(r, count, element, nullable);
}

function fillArray(r: Reader, count: number, element: (r: Reader) => unknown, nullable: boolean) {
  if (count < 0) {
    if (nullable) return null;
    throw malformed('non-nullable array is null');
  }
  const items = new Array<unknown>(count);
  for (let i = 0; i < count; i++) items[i] = element(r);
  return items;
}

function defaultExpression(ctx: Context, def: FieldDef): string {
  const value = defaultValue(def);
  if (value === null || typeof value !== 'object' || value === EMPTY_BYTES) return ctx.ref(value);
  // Arrays and structs are mutable: each decoded message gets its own.
  return `${ctx.ref(defaultValue)}(${ctx.ref(def)})`;
}

function buildDecoder(type: StructType, fields: FieldPlan[], version: number, flexible: boolean): DecodeFn {
  const ctx = new Context();
  const lines: string[] = [];
  const entries = fields.map((f) => {
    const key = JSON.stringify(f.def.name);
    if (!f.present || f.tagged) return `${key}: ${defaultExpression(ctx, f.def)}`;
    return `${key}: ${readExpression(ctx, f.def.type, f.nullable, f.compact, version, flexible)}`;
  });
  lines.push(`const o = {\n${entries.join(',\n')}\n};`);
  if (flexible) {
    const cases = fields
      .filter((f) => f.tagged)
      .map((f) => {
        const read = readExpression(ctx, f.def.type, f.nullable, f.compact, version, flexible);
        return `case ${f.def.tag}: o[${JSON.stringify(f.def.name)}] = ${read}; break;`;
      });
    lines.push(`const n = r.uvarint();
for (let i = 0; i < n; i++) {
  const tag = r.uvarint();
  const size = r.uvarint();
  if (size > r.remaining()) ${ctx.ref(throwTruncatedTag)}(tag, size, r.remaining());
  const end = r.offset + size;
  switch (tag) {
    ${cases.join('\n    ')}
    default: r.offset = end; continue;
  }
  if (r.offset !== end) ${ctx.ref(throwTagSize)}(tag, size, r.offset - end + size);
}`);
  }
  lines.push('return o;');
  const source = `return function decode_${safeName(type.name)}_v${version}(r) {\n${lines.join('\n')}\n};`;
  return new Function('k', source)(ctx.values) as DecodeFn;
}

function throwTruncatedTag(tag: number, size: number, remaining: number): never {
  throw malformed(`tagged field ${tag} claims ${size} bytes, ${remaining} remain`);
}

function throwTagSize(tag: number, size: number, read: number): never {
  throw malformed(`tagged field ${tag} claims ${size} bytes but its value took ${read}`);
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

const primitiveWrite: Record<string, string> = {
  int8: 'w.int8',
  int16: 'w.int16',
  int32: 'w.int32',
  int64: 'w.int64',
  uint16: 'w.uint16',
  uint32: 'w.uint32',
  float64: 'w.float64',
  bool: 'w.bool',
  uuid: 'w.uuid',
};

function writeStatement(
  ctx: Context,
  def: FieldDef,
  type: FieldType,
  value: string,
  nullable: boolean,
  compact: boolean,
  version: number,
  flexible: boolean,
): string {
  const guard = nullable
    ? ''
    : `if (${value} === null) ${ctx.ref(throwNotNullable)}(${JSON.stringify(def.name)}, ${version});\n`;
  if (typeof type === 'string') {
    const simple = primitiveWrite[type];
    if (simple) return `${guard}${simple}(${value});`;
    const base = type === 'string' ? 'String' : 'Bytes';
    const name = (compact ? 'compact' : '') + (nullable ? 'Nullable' : '') + base;
    return `${guard}w.${name[0]!.toLowerCase()}${name.slice(1)}(${value});`;
  }
  if (type.kind === 'struct') {
    const encodeStruct = ctx.ref(compile(type, version, flexible).encode);
    if (nullable)
      return `if (${value} === null) w.int8(-1); else { w.int8(1); ${encodeStruct}(w, ${value}); }`;
    return `${guard}${encodeStruct}(w, ${value});`;
  }
  const element = elementWriter(ctx, def, type.items, version, flexible);
  const length = compact ? 'w.compactArrayLength' : 'w.arrayLength';
  return `${guard}if (${value} === null) ${length}(-1);
else { ${length}(${value}.length); for (let i = 0; i < ${value}.length; i++) ${element}(w, ${value}[i]); }`;
}

function elementWriter(
  ctx: Context,
  def: FieldDef,
  items: FieldType,
  version: number,
  flexible: boolean,
): string {
  if (typeof items !== 'string' && items.kind === 'struct')
    return ctx.ref(compile(items, version, flexible).encode);
  const body = writeStatement(ctx, def, items, 'v', false, flexible, version, flexible);
  return ctx.ref(new Function('k', `return function (w, v) { ${body} };`)(ctx.values));
}

function throwNotNullable(name: string, version: number): never {
  throw new TypeError(`field ${name} is not nullable in version ${version}`);
}

/** An expression true when `value` equals the field's default: tagged fields are written only otherwise. */
function isDefaultExpression(ctx: Context, def: FieldDef, value: string): string {
  const type = def.type;
  if (typeof type === 'string') {
    if (type === 'bytes' || type === 'records') {
      return def.default === null ? `${value} === null` : `(${value} !== null && ${value}.length === 0)`;
    }
    return `${value} === ${ctx.ref(defaultValue(def))}`;
  }
  if (type.kind === 'array')
    return def.default === null ? `${value} === null` : `(${value} !== null && ${value}.length === 0)`;
  if (def.default === null) return `${value} === null`;
  return `${ctx.ref(isDefaultStruct)}(${ctx.ref(type)}, ${value})`;
}

function isDefaultStruct(type: StructType, value: MessageValue | null): boolean {
  if (value === null) return false;
  for (const def of type.fields) {
    const v = value[def.name];
    if (v === undefined) continue;
    const d = defaultValue(def);
    if (Array.isArray(v)) {
      if (v.length !== 0) return false;
    } else if (v instanceof Uint8Array) {
      if (v.length !== 0 || d === null) return false;
    } else if (v !== null && typeof v === 'object') {
      if (
        typeof def.type === 'string' ||
        def.type.kind !== 'struct' ||
        !isDefaultStruct(def.type, v as MessageValue)
      )
        return false;
    } else if (v !== d) return false;
  }
  return true;
}

function buildEncoder(type: StructType, fields: FieldPlan[], version: number, flexible: boolean): EncodeFn {
  const ctx = new Context();
  const lines: string[] = ['let v;'];
  const tagged: FieldPlan[] = [];
  for (const f of fields) {
    if (!f.present) continue;
    if (f.tagged) {
      tagged.push(f);
      continue;
    }
    lines.push(
      `v = o[${JSON.stringify(f.def.name)}]; if (v === undefined) v = ${defaultExpression(ctx, f.def)};`,
    );
    lines.push(writeStatement(ctx, f.def, f.def.type, 'v', f.nullable, f.compact, version, flexible));
  }
  if (flexible) {
    tagged.sort((a, b) => (a.def.tag ?? 0) - (b.def.tag ?? 0));
    lines.push('let t = 0;');
    for (const f of tagged) {
      const v = `o[${JSON.stringify(f.def.name)}]`;
      lines.push(`if (${v} !== undefined && !(${isDefaultExpression(ctx, f.def, v)})) t++;`);
    }
    lines.push('w.uvarint(t);');
    for (const f of tagged) {
      const v = `o[${JSON.stringify(f.def.name)}]`;
      lines.push(`v = ${v};
if (v !== undefined && !(${isDefaultExpression(ctx, f.def, 'v')})) {
  w.uvarint(${f.def.tag}); const s = w.offset; w.taggedDepth++;
  ${writeStatement(ctx, f.def, f.def.type, 'v', f.nullable, f.compact, version, flexible)}
  w.taggedDepth--; w.prefixLengthSince(s);
}`);
    }
  }
  const source = `return function encode_${safeName(type.name)}_v${version}(w, o) {\n${lines.join('\n')}\n};`;
  return new Function('k', source)(ctx.values) as EncodeFn;
}

// ---------------------------------------------------------------------------------------------------
// Entry points

function isFlexible(schema: MessageSchema, version: number): boolean {
  return inRange(schema.flexibleVersions, version);
}

function checkVersion(schema: MessageSchema, version: number): void {
  if (!inRange(schema.validVersions, version)) {
    throw new RangeError(`${schema.name} has no version ${version}`);
  }
}

/** Decodes a message body of the given version from a reader (or bytes) and returns its value. */
export function decode(schema: MessageSchema, version: number, input: Reader | Uint8Array): MessageValue {
  checkVersion(schema, version);
  const reader = input instanceof Reader ? input : new Reader(input);
  return compile(schema, version, isFlexible(schema, version)).decode(reader);
}

/** Encodes a message body of the given version into a writer. */
export function encodeInto(
  schema: MessageSchema,
  version: number,
  value: MessageValue,
  writer: Writer,
): void {
  checkVersion(schema, version);
  compile(schema, version, isFlexible(schema, version)).encode(writer, value);
}

/** Encodes a message body of the given version and returns its bytes. */
export function encode(schema: MessageSchema, version: number, value: MessageValue): Uint8Array {
  const writer = new Writer();
  encodeInto(schema, version, value, writer);
  return writer.finish();
}

/**
 * The shape a handler may pass to encode: every field optional (left out, it takes its default).
 * E.g. `const answer: Input<ProduceResponseData> = { responses: [...] }`.
 */
export type Input<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer U)[]
    ? Input<U>[]
    : T extends object
      ? { [K in keyof T]?: Input<T[K]> }
      : T;
