/**
 * The fold of `_schemas` records (state.ts), with records alone: the skip rule that keeps every
 * reader consistent when a demoted leader, not yet aware of its demotion, appends a record with
 * an id the new leader already gave another schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeKey, encodeSchemaValue, type SchemaValue } from '../../src/registry/records.ts';
import { RegistryState } from '../../src/registry/state.ts';

const schema = (subject: string, version: number, id: number, text: string): SchemaValue => ({
  subject,
  version,
  id,
  schemaType: 'AVRO',
  references: [],
  schema: text,
  deleted: false,
});

function record(offset: number, value: SchemaValue) {
  return {
    offset: BigInt(offset),
    key: encodeKey({ keytype: 'SCHEMA', subject: value.subject, version: value.version }),
    value: encodeSchemaValue(value),
  };
}

describe('registry state', () => {
  it('gives each context its own ids: the same id in two contexts is two schemas, no clash', () => {
    const state = new RegistryState();
    state.apply(record(0, schema('orders', 1, 1, '"int"')));
    state.apply(record(1, schema(':.staging:orders', 1, 1, '"long"')));
    assert.equal(state.conflicts, 0);
    assert.equal(state.schemaById(1)?.schema, '"int"');
    assert.equal(state.schemaById(1, '.staging')?.schema, '"long"');
    assert.equal(state.maxId(), 1);
    assert.equal(state.maxId('.staging'), 1);
    assert.equal(state.maxId('.other'), 0);
    // Confluent's lookup: an unqualified subject falls back to the contexts that hold `:.ctx:subject`.
    assert.equal(state.locateId(1, ':.staging:orders')?.schema.schema, '"long"');
    assert.equal(state.locateId(1, 'orders')?.schema.schema, '"int"');
    assert.equal(state.locateId(1, undefined)?.context, '.');
    assert.equal(state.locateId(1, 'nobody'), undefined);
  });

  it("skips a later record that gives an id another schema already holds (a demoted leader's write)", () => {
    const state = new RegistryState();
    state.apply(record(0, schema('orders', 1, 7, '"int"')));
    // The old leader decided from an older state: the same id 7 for another schema.
    state.apply(record(1, schema('payments', 1, 7, '"long"')));
    assert.equal(state.conflicts, 1);
    assert.equal(state.schemaById(7)?.schema, '"int"');
    assert.deepEqual(state.versions('payments', true), []);
    assert.equal(state.maxId(), 7);
  });

  it('keeps one id shared by the same schema in two subjects', () => {
    const state = new RegistryState();
    state.apply(record(0, schema('a', 1, 3, '"string"')));
    state.apply(record(1, schema('b', 1, 3, '"string"')));
    assert.equal(state.conflicts, 0);
    assert.deepEqual(
      state.holders(3).map((s) => s.subject),
      ['a', 'b'],
    );
  });

  it('keeps data contracts of SCHEMA records and normalize of CONFIG records, as Confluent writes them', () => {
    const state = new RegistryState();
    const metadata = { properties: { owner: 'Bob' } };
    const ruleSet = { domainRules: [{ name: 'r', kind: 'CONDITION', type: 'CEL', expr: 'true' }] };
    const value: SchemaValue = { ...schema('orders', 1, 1, '"int"'), metadata, ruleSet };
    const encoded = JSON.parse(encodeSchemaValue(value).toString()) as Record<string, unknown>;
    assert.deepEqual(encoded.metadata, metadata);
    assert.deepEqual(encoded.ruleSet, ruleSet);
    // Without data contracts the value carries neither field, as before.
    assert.deepEqual(Object.keys(JSON.parse(encodeSchemaValue(schema('a', 1, 2, '"int"')).toString())), [
      'subject',
      'version',
      'id',
      'references',
      'schema',
      'deleted',
    ]);
    state.apply(record(0, value));
    assert.deepEqual(state.schemaById(1)?.metadata, metadata);
    assert.deepEqual(state.schemaById(1)?.ruleSet, ruleSet);
    const config = (offset: number, body: object | null) => ({
      offset: BigInt(offset),
      key: encodeKey({ keytype: 'CONFIG', subject: 'orders' }),
      value: body === null ? null : Buffer.from(JSON.stringify(body)),
    });
    state.apply(config(1, { compatibilityLevel: 'FULL', normalize: true }));
    assert.equal(state.configs.get('orders'), 'FULL');
    assert.equal(state.normalizes.get('orders'), true);
    state.apply(config(2, { normalize: false }));
    assert.equal(state.configs.get('orders'), undefined);
    assert.equal(state.normalizes.get('orders'), false);
    state.apply(config(3, null));
    assert.equal(state.normalizes.has('orders'), false);
  });
});
