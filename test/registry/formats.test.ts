/**
 * Compatibility rules as Confluent documents them, case by case, per format and in both directions,
 * through the real parsers (avsc, ajv, protobufjs); and invalid schemas refused with 42201 and the
 * parser's own message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { type CompatibilityLevel, checkCompatibility } from '../../src/registry/compatibility.ts';
import { RegistryError } from '../../src/registry/errors.ts';
import { formatOf } from '../../src/registry/formats/index.ts';
import type { SchemaType } from '../../src/registry/formats/types.ts';

function compatible(
  type: SchemaType,
  level: CompatibilityLevel,
  versions: readonly string[],
  candidate: string,
): string[] {
  const format = formatOf(type);
  const previous = versions.map((text, index) => ({ version: index + 1, schema: format.parse(text, []) }));
  return checkCompatibility(format, format.parse(candidate, []), previous, level);
}

function assertRule(
  type: SchemaType,
  level: CompatibilityLevel,
  old: string | string[],
  next: string,
  ok: boolean,
  pattern?: RegExp,
): void {
  const messages = compatible(type, level, Array.isArray(old) ? old : [old], next);
  assert.equal(messages.length === 0, ok, `${level}: ${messages.join('; ') || 'compatible'}`);
  if (pattern !== undefined) assert.match(messages.join('\n'), pattern);
}

function assertInvalid(type: SchemaType, text: string, pattern: RegExp): void {
  assert.throws(
    () => formatOf(type).parse(text, []),
    (error: unknown) =>
      error instanceof RegistryError && error.errorCode === 42201 && pattern.test(error.message),
  );
}

const record = (fields: object[], extra: object = {}) =>
  JSON.stringify({ type: 'record', name: 'User', namespace: 'kstack', fields, ...extra });
const name = { name: 'name', type: 'string' };

describe('Avro compatibility (avsc reader/writer resolution)', () => {
  it('a field added with a default is backward and forward compatible; without one, only forward', () => {
    const withDefault = record([name, { name: 'age', type: 'int', default: 0 }]);
    const without = record([name, { name: 'age', type: 'int' }]);
    assertRule('AVRO', 'BACKWARD', record([name]), withDefault, true);
    assertRule('AVRO', 'FULL', record([name]), withDefault, true);
    assertRule('AVRO', 'BACKWARD', record([name]), without, false, /age/);
    assertRule('AVRO', 'FORWARD', record([name]), without, true);
    assertRule('AVRO', 'FULL', record([name]), without, false);
  });

  it('a field removed: backward compatible; forward only if the old schema had a default', () => {
    assertRule('AVRO', 'BACKWARD', record([name, { name: 'age', type: 'int' }]), record([name]), true);
    assertRule('AVRO', 'FORWARD', record([name, { name: 'age', type: 'int' }]), record([name]), false, /age/);
    assertRule(
      'AVRO',
      'FORWARD',
      record([name, { name: 'age', type: 'int', default: 1 }]),
      record([name]),
      true,
    );
  });

  it('promotions widen one way only (int → long)', () => {
    assertRule(
      'AVRO',
      'BACKWARD',
      record([{ name: 'n', type: 'int' }]),
      record([{ name: 'n', type: 'long' }]),
      true,
    );
    assertRule(
      'AVRO',
      'FORWARD',
      record([{ name: 'n', type: 'int' }]),
      record([{ name: 'n', type: 'long' }]),
      false,
    );
    assertRule(
      'AVRO',
      'BACKWARD',
      record([{ name: 'n', type: 'string' }]),
      record([{ name: 'n', type: 'int' }]),
      false,
    );
  });

  it('enum symbols: adding reads old data, old readers cannot read the new symbol', () => {
    const e = (symbols: string[]) => record([{ name: 'c', type: { type: 'enum', name: 'Color', symbols } }]);
    assertRule('AVRO', 'BACKWARD', e(['RED']), e(['RED', 'BLUE']), true);
    assertRule('AVRO', 'FORWARD', e(['RED']), e(['RED', 'BLUE']), false);
  });

  it('a renamed record breaks compatibility unless the old name is an alias', () => {
    const renamed = JSON.stringify({ type: 'record', name: 'Person', namespace: 'kstack', fields: [name] });
    const aliased = JSON.stringify({
      type: 'record',
      name: 'Person',
      namespace: 'kstack',
      aliases: ['User'],
      fields: [name],
    });
    assertRule('AVRO', 'BACKWARD', record([name]), renamed, false);
    assertRule('AVRO', 'BACKWARD', record([name]), aliased, true);
  });

  it('transitive levels check every earlier version, the others only the latest', () => {
    const v1 = record([name]);
    const v2 = record([name, { name: 'x', type: 'int', default: 0 }]);
    const v3 = record([name, { name: 'x', type: 'int' }]);
    assertRule('AVRO', 'BACKWARD', [v1, v2], v3, true);
    assertRule('AVRO', 'BACKWARD_TRANSITIVE', [v1, v2], v3, false, /oldSchemaVersion: 1/);
    assertRule('AVRO', 'FORWARD_TRANSITIVE', [v1, v2], v3, true);
    assertRule('AVRO', 'FULL_TRANSITIVE', [v1, v2], v3, false);
    assertRule('AVRO', 'NONE', [v1], JSON.stringify('string'), true);
  });

  it('refuses invalid schemas with avsc message; normalizes to the canonical form', () => {
    assertInvalid('AVRO', '{"type":"record","name":"A","fields":[{"name":"x","type":"nosuch"}]}', /nosuch/);
    assertInvalid(
      'AVRO',
      '{"type":"record","name":"A","fields":[{"name":"x","type":"int","default":"a"}]}',
      /default/,
    );
    assertInvalid('AVRO', '{not json', /not JSON/);
    const parsed = formatOf('AVRO').parse(
      '{ "fields": [ {"type":"int","name":"x","doc":"d"} ], "type": "record", "name": "A" }',
      [],
    );
    assert.equal(parsed.normalized, '{"name":"A","type":"record","fields":[{"name":"x","type":"int"}]}');
  });
});

const object = (properties: object, extra: object = {}) =>
  JSON.stringify({ type: 'object', properties, ...extra });

describe('JSON Schema compatibility (structural, Confluent rules)', () => {
  it('closed content model: adding an optional property is backward compatible, removing one is not', () => {
    const closed = { additionalProperties: false };
    assertRule(
      'JSON',
      'BACKWARD',
      object({ a: { type: 'string' } }, closed),
      object({ a: { type: 'string' }, b: { type: 'integer' } }, closed),
      true,
    );
    assertRule(
      'JSON',
      'BACKWARD',
      object({ a: { type: 'string' }, b: { type: 'integer' } }, closed),
      object({ a: { type: 'string' } }, closed),
      false,
      /PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL/,
    );
  });

  it('open content model: adding a typed property is not backward compatible, removing one is', () => {
    assertRule(
      'JSON',
      'BACKWARD',
      object({ a: { type: 'string' } }),
      object({ a: { type: 'string' }, b: { type: 'integer' } }),
      false,
      /PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL/,
    );
    assertRule(
      'JSON',
      'BACKWARD',
      object({ a: { type: 'string' }, b: { type: 'integer' } }),
      object({ a: { type: 'string' } }),
      true,
    );
    assertRule(
      'JSON',
      'FORWARD',
      object({ a: { type: 'string' }, b: { type: 'integer' } }),
      object({ a: { type: 'string' } }),
      false,
    );
  });

  it('a new required property breaks backward compatibility', () => {
    const props = { a: { type: 'string' } };
    assertRule(
      'JSON',
      'BACKWARD',
      object(props),
      object(props, { required: ['a'] }),
      false,
      /REQUIRED_PROPERTY_ADDED/,
    );
    assertRule('JSON', 'FORWARD', object(props), object(props, { required: ['a'] }), true);
  });

  it('types and enums may widen for the reader only', () => {
    assertRule(
      'JSON',
      'BACKWARD',
      object({ n: { type: 'integer' } }),
      object({ n: { type: 'number' } }),
      true,
    );
    assertRule(
      'JSON',
      'FORWARD',
      object({ n: { type: 'integer' } }),
      object({ n: { type: 'number' } }),
      false,
      /TYPE_NARROWED/,
    );
    assertRule('JSON', 'BACKWARD', object({ c: { enum: ['a'] } }), object({ c: { enum: ['a', 'b'] } }), true);
    assertRule(
      'JSON',
      'FORWARD',
      object({ c: { enum: ['a'] } }),
      object({ c: { enum: ['a', 'b'] } }),
      false,
      /ENUM_ARRAY_NARROWED/,
    );
    assertRule(
      'JSON',
      'BACKWARD',
      object({ s: { type: 'string', maxLength: 10 } }),
      object({ s: { type: 'string', maxLength: 5 } }),
      false,
      /MAXLENGTH_DECREASED/,
    );
    assertRule(
      'JSON',
      'BACKWARD',
      object({ l: { type: 'array', items: { type: 'integer' } } }),
      object({ l: { type: 'array', items: { type: 'string' } } }),
      false,
      /items/,
    );
  });

  it('follows local $refs to definitions, also in recursive schemas', () => {
    const withDefs = (item: object) =>
      JSON.stringify({
        type: 'object',
        properties: { item: { $ref: '#/definitions/Item' }, next: { $ref: '#' } },
        definitions: { Item: item },
      });
    assertRule('JSON', 'BACKWARD', withDefs({ type: 'integer' }), withDefs({ type: 'number' }), true);
    assertRule(
      'JSON',
      'BACKWARD',
      withDefs({ type: 'integer' }),
      withDefs({ type: 'string' }),
      false,
      /#\/properties\/item/,
    );
    const defs2020 = (type: string) =>
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $ref: '#/$defs/Root',
        $defs: { Root: { type } },
      });
    assertRule('JSON', 'FORWARD', defs2020('integer'), defs2020('number'), false, /TYPE_NARROWED/);
    // A tree refers to itself twice: each pair of subschemas is compared once, not 2^depth times.
    const tree = (leaf: string) =>
      JSON.stringify({
        type: 'object',
        properties: { left: { $ref: '#' }, right: { $ref: '#' }, value: { type: leaf } },
      });
    const started = performance.now();
    assertRule('JSON', 'FULL', tree('integer'), tree('integer'), true);
    assertRule('JSON', 'BACKWARD', tree('integer'), tree('string'), false, /value/);
    assert.ok(performance.now() - started < 5_000, 'recursive comparison stays fast');
  });

  it('compiles each draft with its ajv class and refuses invalid schemas with ajv message', () => {
    formatOf('JSON').parse(
      JSON.stringify({
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'number',
        minimum: 1,
        exclusiveMinimum: true,
      }),
      [],
    );
    formatOf('JSON').parse(
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        prefixItems: [{ type: 'string' }],
      }),
      [],
    );
    formatOf('JSON').parse(
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2019-09/schema',
        type: 'object',
        unevaluatedProperties: false,
      }),
      [],
    );
    assertInvalid('JSON', JSON.stringify({ type: 'nonsense' }), /type/);
    assertInvalid(
      'JSON',
      JSON.stringify({ type: 'object', properties: { a: { $ref: '#/definitions/missing' } } }),
      /missing/,
    );
    assertInvalid('JSON', '[1,2]', /object or a boolean/);
  });
});

const proto = (body: string, pkg = 'kstack') => `syntax = "proto3";\npackage ${pkg};\n${body}`;

describe('Protobuf compatibility (descriptor comparison, Confluent rules)', () => {
  const base = proto('message Event { int32 id = 1; string name = 2; }');

  it('fields added, removed or renamed are compatible both ways', () => {
    assertRule(
      'PROTOBUF',
      'FULL',
      base,
      proto('message Event { int32 id = 1; string name = 2; bool flag = 3; }'),
      true,
    );
    assertRule('PROTOBUF', 'FULL', base, proto('message Event { int32 id = 1; }'), true);
    assertRule('PROTOBUF', 'FULL', base, proto('message Event { int32 id = 1; string title = 2; }'), true);
    // A message added is MESSAGE_ADDED one way and MESSAGE_REMOVED the other (Confluent's diff).
    const added = proto('message Event { int32 id = 1; string name = 2; } message Other { int32 x = 1; }');
    assertRule('PROTOBUF', 'BACKWARD', base, added, true);
    assertRule('PROTOBUF', 'FORWARD', base, added, false, /MESSAGE_REMOVED: kstack.Other/);
  });

  it('scalar changes are compatible only within a wire-compatible group', () => {
    assertRule('PROTOBUF', 'FULL', base, proto('message Event { int64 id = 1; string name = 2; }'), true);
    assertRule('PROTOBUF', 'FULL', base, proto('message Event { int32 id = 1; bytes name = 2; }'), true);
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base,
      proto('message Event { string id = 1; string name = 2; }'),
      false,
      /FIELD_SCALAR_TYPE_CHANGED/,
    );
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base,
      proto('message Event { sint32 id = 1; string name = 2; }'),
      false,
    );
  });

  it('kind changes, removed messages, package changes and oneof moves break it', () => {
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base,
      proto('message Event { repeated int32 id = 1; string name = 2; }'),
      false,
      /FIELD_KIND_CHANGED/,
    );
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base,
      proto('message Renamed { int32 id = 1; string name = 2; }'),
      false,
      /MESSAGE_REMOVED/,
    );
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base,
      proto('message Event { int32 id = 1; string name = 2; }', 'other'),
      false,
      /PACKAGE_CHANGED/,
    );
    const withOneof = proto(
      'message Event { oneof choice { int32 id = 1; string other = 3; } string name = 2; }',
    );
    const before = proto(
      'message Event { oneof choice { string other = 3; } int32 id = 1; string name = 2; }',
    );
    assertRule('PROTOBUF', 'BACKWARD', before, withOneof, false, /FIELD_MOVED_TO_EXISTING_ONEOF/);
  });

  it('reads the serialized (base64 FileDescriptorProto) form the serdes register', () => {
    const root = protobuf.parse(base, { keepCase: true }).root;
    const file = root.toDescriptor('proto3').file[0];
    assert.ok(file !== undefined);
    const base64 = Buffer.from(descriptor.FileDescriptorProto.encode(file).finish()).toString('base64');
    const parsed = formatOf('PROTOBUF').parse(base64, []) as unknown as { messageNames: string[] };
    assert.deepEqual(parsed.messageNames, ['kstack.Event']);
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base64,
      proto('message Event { repeated int32 id = 1; string name = 2; }'),
      false,
      /FIELD_KIND_CHANGED/,
    );
    assertRule(
      'PROTOBUF',
      'BACKWARD',
      base64,
      proto('message Event { int32 id = 1; string name = 2; bool more = 4; }'),
      true,
    );
  });

  it('refuses invalid schemas with the parser message', () => {
    assertInvalid('PROTOBUF', proto('message Event { int32 id = ; }'), /illegal|id/i);
    assertInvalid('PROTOBUF', proto('message Event { Missing m = 1; }'), /Missing/);
    assertInvalid('PROTOBUF', proto('import "other.proto"; message Event { int32 id = 1; }'), /other\.proto/);
  });

  it('resolves well-known imports without references', () => {
    formatOf('PROTOBUF').parse(
      proto('import "google/protobuf/timestamp.proto"; message Event { google.protobuf.Timestamp at = 1; }'),
      [],
    );
  });
});
