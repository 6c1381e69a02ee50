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
  it("skips a later record that gives an id another schema already holds (a demoted leader's write)", () => {
    const state = new RegistryState();
    state.apply(record(0, schema('orders', 1, 7, '"int"')));
    // The old leader decided from an older state: the same id 7 for another schema.
    state.apply(record(1, schema('payments', 1, 7, '"long"')));
    assert.equal(state.conflicts, 1);
    assert.equal(state.schemaById(7)?.schema, '"int"');
    assert.deepEqual(state.versions('payments', true), []);
    assert.equal(state.maxId, 7);
  });

  it('keeps one id shared by the same schema in two subjects', () => {
    const state = new RegistryState();
    state.apply(record(0, schema('a', 1, 3, '"string"')));
    state.apply(record(1, schema('b', 1, 3, '"string"')));
    assert.equal(state.conflicts, 0);
    assert.deepEqual(
      [...(state.byId.get(3)?.values() ?? [])].map((s) => s.subject),
      ['a', 'b'],
    );
  });
});
