/**
 * Confluent's REST API against `kstack up --brokers 3` (three real broker processes) with
 * `_schemas` as the store: in-process through `app.inject`, plus a real socket. Covers the
 * endpoints, the error codes and bodies Confluent answers, bad input (nothing stored is touched),
 * the record format in `_schemas` and its placement (RF 3, min ISR 2, compacted, as kafkajs
 * describes it), a restart that rebuilds the state from the topic, and last, SIGKILL of the
 * leader of `_schemas`: writes resume, ids are not reused. Ports: brokers 23306-23308 (and what
 * their supervisor opens above them: docs/team-rules.md), registries 20201-20203.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { SCHEMA_REQUEST_BYTES_MAX } from '../../src/registry/app.ts';
import { SchemaLog } from '../../src/registry/schema-log.ts';
import { type RunningSchemaRegistry, startSchemaRegistry } from '../../src/registry/server.ts';
import { kstackClusterTarget } from '../rest-proxy/cluster-target.ts';
import { kafkajs } from '../rest-proxy/support.ts';

const BROKER_PORT = 23306;
/** How long writes may take to resume after the leader of `_schemas` is killed (a 4 s session, then elections, on a loaded machine). */
const FAILOVER_WRITE_MS = 120_000;
const REGISTRY_PORT = 20201;
const SECOND_REGISTRY_PORT = 20202;
/** A registry with `leader.eligibility=false`, alone in its own group. */
const INELIGIBLE_REGISTRY_PORT = 20203;
const INELIGIBLE_LEADER_WAIT_MS = 1_000;
/** Registrations sent at once, alternating between the two instances, in the race test. */
const RACE_REGISTRATIONS = 40;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const broker = kstackClusterTarget(BROKER_PORT, 'kstack-registry-api-');
let running: RunningSchemaRegistry;
let app: FastifyInstance;

interface Answer {
  status: number;
  body: unknown;
  contentType: string;
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<Answer> {
  const response = await app.inject({
    method,
    url,
    headers: body === undefined ? {} : { 'content-type': CONTENT_TYPE },
    payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  let parsed: unknown = response.body;
  try {
    parsed = JSON.parse(response.body);
  } catch {}
  return { status: response.statusCode, body: parsed, contentType: String(response.headers['content-type']) };
}

function assertError(answer: Answer, status: number, errorCode: number, message?: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  const body = answer.body as { error_code: number; message: string };
  assert.equal(body.error_code, errorCode, JSON.stringify(body));
  assert.equal(typeof body.message, 'string');
  if (message !== undefined) assert.match(body.message, message);
}

const avro = (fields: object[], name = 'User') =>
  JSON.stringify({ type: 'record', name, namespace: 'kstack', fields });
const nameField = { name: 'name', type: 'string' };

async function register(subject: string, body: object, query = ''): Promise<number> {
  const answer = await call('POST', `/subjects/${encodeURIComponent(subject)}/versions${query}`, body);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return (answer.body as { id: number }).id;
}

describe('Schema Registry API against kstack up --brokers 3', { timeout: 600_000 }, () => {
  before(async () => {
    await broker.start();
    running = await startSchemaRegistry({
      bootstrap: broker.bootstrap,
      port: REGISTRY_PORT,
      leaderElection: true,
    });
    app = running.app;
  });
  after(async () => {
    await running?.close();
    await broker.stop();
  });

  it('answers the root, schema types and an empty registry', async () => {
    assert.deepEqual((await call('GET', '/')).body, {});
    const types = await call('GET', '/schemas/types');
    assert.deepEqual(types.body, ['JSON', 'PROTOBUF', 'AVRO']);
    assert.equal(types.contentType, CONTENT_TYPE);
    assert.deepEqual((await call('GET', '/subjects')).body, []);
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call('GET', '/mode')).body, { mode: 'READWRITE' });
    assertError(await call('GET', '/nowhere'), 404, 404);
  });

  it('registers, looks up and lists versions; the same schema keeps its id', async () => {
    const v1 = avro([nameField]);
    const id1 = await register('users-value', { schema: v1 });
    assert.equal(await register('users-value', { schema: v1 }), id1, 're-registering returns the same id');
    assert.deepEqual((await call('GET', '/subjects/users-value/versions')).body, [1]);
    const v2 = avro([nameField, { name: 'age', type: 'int', default: 0 }]);
    const id2 = await register('users-value', { schema: v2 });
    assert.equal(id2, id1 + 1);
    assert.deepEqual((await call('GET', '/subjects/users-value/versions')).body, [1, 2]);
    const latest = await call('GET', '/subjects/users-value/versions/latest');
    assert.deepEqual(latest.body, { subject: 'users-value', version: 2, id: id2, schema: v2 });
    assert.deepEqual((await call('GET', '/subjects/users-value/versions/-1')).body, latest.body);
    const rawSchema = await app.inject({ method: 'GET', url: '/subjects/users-value/versions/1/schema' });
    assert.equal(rawSchema.body, v1);
    const lookup = await call('POST', '/subjects/users-value', { schema: v1 });
    assert.deepEqual(lookup.body, { subject: 'users-value', version: 1, id: id1, schema: v1 });
    assertError(
      await call('POST', '/subjects/users-value', { schema: avro([{ name: 'other', type: 'long' }]) }),
      404,
      40403,
    );
    assertError(await call('POST', '/subjects/nobody', { schema: v1 }), 404, 40401);
    // The same schema under another subject reuses the id.
    assert.equal(await register('copy-value', { schema: v2 }), id2);
    const byId = await call('GET', `/schemas/ids/${id2}?fetchMaxId=true`);
    assert.deepEqual(byId.body, { schema: v2, maxId: id2 });
    assert.deepEqual((await call('GET', `/schemas/ids/${id2}/subjects`)).body, ['copy-value', 'users-value']);
    assert.deepEqual((await call('GET', `/schemas/ids/${id2}/versions`)).body, [
      { subject: 'copy-value', version: 1 },
      { subject: 'users-value', version: 2 },
    ]);
    assertError(await call('GET', `/schemas/ids/${id1}?subject=copy-value`), 404, 40403);
    assert.deepEqual((await call('GET', '/subjects')).body, ['copy-value', 'users-value']);
    assert.deepEqual((await call('GET', '/subjects?subjectPrefix=us')).body, ['users-value']);
  });

  it('refuses an incompatible schema with 409 and says what broke; the compatibility endpoint agrees', async () => {
    const bad = avro([nameField, { name: 'email', type: 'string' }]);
    const refused = await call('POST', '/subjects/users-value/versions', { schema: bad });
    assertError(refused, 409, 409, /email/);
    const verbose = await call('POST', '/compatibility/subjects/users-value/versions/latest?verbose=true', {
      schema: bad,
    });
    assert.equal((verbose.body as { is_compatible: boolean }).is_compatible, false);
    assert.match((verbose.body as { messages: string[] }).messages.join(), /email/);
    assert.deepEqual(
      (
        await call('POST', '/compatibility/subjects/users-value/versions', {
          schema: avro([nameField, { name: 'email', type: 'string', default: '' }]),
        })
      ).body,
      { is_compatible: true },
    );
    assertError(
      await call('POST', '/compatibility/subjects/users-value/versions/9', { schema: bad }),
      404,
      40402,
    );
    assertError(await call('POST', '/compatibility/subjects/nobody/versions/1', { schema: bad }), 404, 40401);
    assert.deepEqual((await call('GET', '/subjects/users-value/versions')).body, [1, 2], 'nothing stored');
  });

  it('keeps global and per-subject compatibility, with defaultToGlobal', async () => {
    assertError(await call('GET', '/config/users-value'), 404, 40408);
    assert.deepEqual((await call('GET', '/config/users-value?defaultToGlobal=true')).body, {
      compatibilityLevel: 'BACKWARD',
    });
    assert.deepEqual((await call('PUT', '/config/users-value', { compatibility: 'NONE' })).body, {
      compatibility: 'NONE',
    });
    assert.deepEqual((await call('GET', '/config/users-value')).body, { compatibilityLevel: 'NONE' });
    const anything = await register('users-value', { schema: JSON.stringify('string') });
    assert.ok(anything > 0, 'NONE lets any schema through');
    assertError(await call('PUT', '/config', { compatibility: 'SIDEWAYS' }), 422, 42203, /SIDEWAYS/);
    assert.deepEqual((await call('PUT', '/config', { compatibility: 'FULL' })).body, {
      compatibility: 'FULL',
    });
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call('DELETE', '/config/users-value')).body, { compatibilityLevel: 'NONE' });
    assert.deepEqual((await call('DELETE', '/config')).body, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call('GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
  });

  it('soft and permanent deletes follow Confluent order and codes', async () => {
    const subject = 'deleting-value';
    await register(subject, { schema: avro([nameField], 'D1') });
    await register(subject, { schema: avro([nameField, { name: 'x', type: 'int', default: 1 }], 'D1') });
    assertError(await call('DELETE', `/subjects/${subject}/versions/1?permanent=true`), 404, 40407);
    assert.equal((await call('DELETE', `/subjects/${subject}/versions/1`)).body, 1);
    assertError(await call('DELETE', `/subjects/${subject}/versions/1`), 404, 40406);
    assert.deepEqual((await call('GET', `/subjects/${subject}/versions`)).body, [2]);
    assert.deepEqual((await call('GET', `/subjects/${subject}/versions?deleted=true`)).body, [1, 2]);
    assert.deepEqual(
      (await call('GET', `/subjects/${subject}/versions?deletedAsNegative=true`)).body,
      [-1, 2],
    );
    assertError(await call('GET', `/subjects/${subject}/versions/1`), 404, 40402);
    assert.equal((await call('GET', `/subjects/${subject}/versions/1?deleted=true`)).status, 200);
    assert.equal((await call('DELETE', `/subjects/${subject}/versions/1?permanent=true`)).body, 1);
    assertError(await call('DELETE', `/subjects/${subject}?permanent=true`), 404, 40405);
    assert.deepEqual((await call('DELETE', `/subjects/${subject}`)).body, [2]);
    assertError(await call('DELETE', `/subjects/${subject}`), 404, 40404);
    assertError(await call('GET', `/subjects/${subject}/versions`), 404, 40401);
    assert.ok(((await call('GET', '/subjects?deleted=true')).body as string[]).includes(subject));
    assert.deepEqual((await call('DELETE', `/subjects/${subject}?permanent=true`)).body, [2]);
    assert.ok(!((await call('GET', '/subjects?deleted=true')).body as string[]).includes(subject));
  });

  it('resolves references, reports referencedby and protects referenced versions', async () => {
    const address = JSON.stringify({
      type: 'record',
      name: 'Address',
      namespace: 'kstack',
      fields: [{ name: 'city', type: 'string' }],
    });
    const addressId = await register('address', { schema: address });
    const customer = JSON.stringify({
      type: 'record',
      name: 'Customer',
      namespace: 'kstack',
      fields: [{ name: 'home', type: 'kstack.Address' }],
    });
    const references = [{ name: 'kstack.Address', subject: 'address', version: 1 }];
    assertError(
      await call('POST', '/subjects/customer/versions', { schema: customer }),
      422,
      42201,
      /Address/,
    );
    const customerId = await register('customer', { schema: customer, references });
    assert.notEqual(customerId, addressId);
    assert.deepEqual((await call('GET', '/subjects/address/versions/1/referencedby')).body, [customerId]);
    assert.deepEqual((await call('GET', `/schemas/ids/${customerId}`)).body, {
      references,
      schema: customer,
    });
    assertError(await call('DELETE', '/subjects/address/versions/1'), 422, 42206);
    assertError(
      await call('POST', '/subjects/customer2/versions', {
        schema: customer,
        references: [{ name: 'kstack.Address', subject: 'address', version: 7 }],
      }),
      422,
      42201,
      /version 7/,
    );
  });

  it('serves JSON Schema and Protobuf, with the serialized Protobuf form', async () => {
    const json = JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } });
    const jsonId = await register('json-value', { schema: json, schemaType: 'JSON' });
    assert.deepEqual((await call('GET', `/schemas/ids/${jsonId}`)).body, {
      schemaType: 'JSON',
      schema: json,
    });
    const proto = 'syntax = "proto3";\npackage kstack;\nmessage Event { int32 id = 1; }\n';
    const protoId = await register('proto-value', { schema: proto, schemaType: 'PROTOBUF' });
    const serialized = (await call('GET', `/schemas/ids/${protoId}?format=serialized`)).body as {
      schema: string;
    };
    assert.match(serialized.schema, /^[A-Za-z0-9+/]+=*$/);
    // The serialized form registers as the same schema structure: a compatible new version of it.
    const again = await call('POST', '/compatibility/subjects/proto-value/versions/latest', {
      schema: serialized.schema,
      schemaType: 'PROTOBUF',
    });
    assert.deepEqual(again.body, { is_compatible: true });
    assertError(
      await call('POST', '/subjects/proto-value/versions', {
        schema: 'syntax = "proto3"; message {',
        schemaType: 'PROTOBUF',
      }),
      422,
      42201,
    );
  });

  it('normalizes on request and keeps contexts apart', async () => {
    const spaced =
      '{ "type": "record", "name": "N", "fields": [ { "name": "a", "type": "int", "doc": "x" } ] }';
    const id = await register('norm-value', { schema: spaced }, '?normalize=true');
    const stored = (await call('GET', `/schemas/ids/${id}`)).body as { schema: string };
    assert.equal(stored.schema, '{"name":"N","type":"record","fields":[{"name":"a","type":"int"}]}');
    const found = await call('POST', '/subjects/norm-value?normalize=true', {
      schema: '{"fields":[{"type":"int","name":"a"}],"name":"N","type":"record"}',
    });
    assert.equal((found.body as { id: number }).id, id);
    const order = avro([nameField], 'Order');
    // Each context has its own ids (Confluent's): the first schema of `.staging` is id 1 there.
    assert.equal(await register(':.staging:orders-value', { schema: order }), 1);
    const inStaging = (await call('GET', '/schemas/ids/1?subject=:.staging:orders-value&fetchMaxId=true'))
      .body as { schema: string; maxId: number };
    assert.deepEqual(inStaging, { schema: order, maxId: 1 });
    // Without a subject, and with an unqualified one, the default context answers first.
    const inDefault = (await call('GET', '/schemas/ids/1?fetchMaxId=true')).body as {
      schema: string;
      maxId: number;
    };
    assert.notEqual(inDefault.schema, order);
    assert.ok(inDefault.maxId > 1);
    // An unqualified subject the default context lacks is looked for in the other contexts.
    assert.equal(
      ((await call('GET', '/schemas/ids/1?subject=orders-value')).body as { schema: string }).schema,
      order,
    );
    assert.deepEqual((await call('GET', '/schemas/ids/1/subjects?subject=:.staging:orders-value')).body, [
      ':.staging:orders-value',
    ]);
    assert.deepEqual((await call('GET', '/contexts')).body, ['.', '.staging']);
    assert.ok(((await call('GET', '/subjects')).body as string[]).includes(':.staging:orders-value'));
    assertError(await call('DELETE', '/contexts/.staging'), 422, 42211);
  });

  it('data contracts and config normalize, as newer Confluent registries answer them', async () => {
    const subject = 'contracts-value';
    const metadata = { properties: { owner: 'Bob Jones', email: 'bob@acme.com' } };
    const ruleSet = { domainRules: [{ name: 'checkName', kind: 'CONDITION', type: 'CEL', expr: 'true' }] };
    assertError(
      await call('POST', `/subjects/${subject}/versions`, { schema: avro([nameField]), metadata: 'x' }),
      422,
      42201,
      /metadata/,
    );
    assertError(await call('PUT', `/config/${subject}`, { normalize: 'yes' }), 400, 400, /normalize/);
    assertError(
      await call('PUT', `/config/${subject}`, {}),
      422,
      42203,
      /neither compatibility nor normalize/,
    );
    // PUT echoes what it changed; GET answers every field set, normalize included.
    assert.deepEqual(
      (await call('PUT', `/config/${subject}`, { compatibility: 'FULL', normalize: true })).body,
      {
        compatibility: 'FULL',
        normalize: true,
      },
    );
    assert.deepEqual((await call('GET', `/config/${subject}`)).body, {
      compatibilityLevel: 'FULL',
      normalize: true,
    });
    // The register answer carries the registered schema: id, version, data contracts, text.
    const first = await call('POST', `/subjects/${subject}/versions`, {
      schema: avro([nameField]),
      metadata,
      ruleSet,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const { id, ...rest } = first.body as { id: number };
    assert.ok(id > 0);
    // Stored normalized (the subject's config says so): Avro's canonical form, doc and order dropped.
    const normalized = '{"name":"kstack.User","type":"record","fields":[{"name":"name","type":"string"}]}';
    assert.deepEqual(rest, { version: 1, metadata, ruleSet, schema: normalized });
    assert.deepEqual((await call('GET', `/schemas/ids/${id}`)).body, {
      metadata,
      ruleSet,
      schema: normalized,
    });
    // Another owner is another version of the same text; lookups and the metadata query tell them apart.
    const second = await call('POST', `/subjects/${subject}/versions`, {
      schema: avro([nameField]),
      metadata: { properties: { owner: 'Alice' } },
    });
    assert.equal((second.body as { version: number }).version, 2, JSON.stringify(second.body));
    const latest = (await call('GET', `/subjects/${subject}/versions/latest`)).body as Record<
      string,
      unknown
    >;
    assert.deepEqual(latest.metadata, { properties: { owner: 'Alice' } });
    assert.equal(latest.ruleSet, undefined);
    const bob = await call('GET', `/subjects/${subject}/metadata?key=owner&value=Bob%20Jones`);
    assert.equal((bob.body as { version: number }).version, 1, JSON.stringify(bob.body));
    assert.deepEqual((bob.body as { ruleSet: unknown }).ruleSet, ruleSet);
    assertError(await call('GET', `/subjects/${subject}/metadata?key=owner&value=Carol`), 404, 40403);
    const looked = await call('POST', `/subjects/${subject}`, { schema: avro([nameField]), metadata });
    assert.equal((looked.body as { version: number }).version, 1, JSON.stringify(looked.body));
    // normalize from the subject's config: a doc-only change is the same schema, no new version.
    const withDoc = JSON.stringify({ ...JSON.parse(avro([nameField])), doc: 'a person' });
    const again = await call('POST', `/subjects/${subject}/versions`, {
      schema: withDoc,
      metadata: { properties: { owner: 'Alice' } },
    });
    assert.equal((again.body as { version: number }).version, 2, JSON.stringify(again.body));
    // An id names one text with one set of data contracts: the bare text elsewhere gets its own id.
    const bare = await register('contracts-other', { schema: normalized });
    assert.ok(bare !== id && bare !== (second.body as { id: number }).id, `id ${bare} reused`);
    assert.deepEqual((await call('DELETE', `/config/${subject}`)).body, { compatibilityLevel: 'FULL' });
    assertError(await call('GET', `/config/${subject}`), 404, 40408);
  });

  it("keeps Confluent's other config fields and applies compatibilityGroup", async () => {
    const subject = 'grouped-value';
    const group = 'application.major.version';
    const fields = {
      alias: 'grouped-alias',
      compatibilityGroup: group,
      validateFields: true,
      validateRules: false,
      defaultMetadata: { properties: { owner: 'team-a' } },
      overrideMetadata: { properties: { tier: 'gold' } },
      defaultRuleSet: { domainRules: [] },
      overrideRuleSet: { migrationRules: [] },
    };
    assertError(await call('PUT', `/config/${subject}`, { alias: 5 }), 400, 400, /"alias" must be a string/);
    assertError(
      await call('PUT', `/config/${subject}`, { defaultMetadata: [] }),
      400,
      400,
      /"defaultMetadata" must be a JSON object/,
    );
    assertError(await call('GET', `/config/${subject}`), 404, 40408);
    // PUT echoes what it was sent; GET answers every field set.
    assert.deepEqual(
      (await call('PUT', `/config/${subject}`, { compatibility: 'BACKWARD', ...fields })).body,
      {
        compatibility: 'BACKWARD',
        ...fields,
      },
    );
    assert.deepEqual((await call('PUT', `/config/${subject}`, { validateFields: false })).body, {
      validateFields: false,
    });
    const stored = { compatibilityLevel: 'BACKWARD', ...fields, validateFields: false };
    assert.deepEqual((await call('GET', `/config/${subject}`)).body, stored);
    // compatibilityGroup: only versions with the new schema's value of that metadata property are
    // checked. An int name breaks BACKWARD against version 1 of group 1, not in group 2.
    const major = (value: string) => ({ properties: { [group]: value } });
    await register(subject, { schema: avro([nameField]), metadata: major('1') });
    const broken = avro([{ name: 'name', type: 'int' }]);
    const refused = await call('POST', `/subjects/${subject}/versions`, {
      schema: broken,
      metadata: major('1'),
    });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const check = await call('POST', `/compatibility/subjects/${subject}/versions`, {
      schema: broken,
      metadata: major('2'),
    });
    assert.deepEqual(check.body, { is_compatible: true });
    const accepted = await call('POST', `/subjects/${subject}/versions`, {
      schema: broken,
      metadata: major('2'),
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.equal((accepted.body as { version: number }).version, 2);
    // The global config keeps the fields too, and defaultToGlobal answers them.
    await call('PUT', '/config', { compatibilityGroup: group });
    assert.deepEqual((await call('GET', '/config')).body, {
      compatibilityLevel: 'BACKWARD',
      compatibilityGroup: group,
    });
    assert.deepEqual((await call('GET', '/config/nothing-set?defaultToGlobal=true')).body, {
      compatibilityLevel: 'BACKWARD',
      compatibilityGroup: group,
    });
    assert.deepEqual((await call('DELETE', '/config')).body, { compatibilityLevel: 'BACKWARD' });
  });

  it('honours READONLY and IMPORT modes', async () => {
    assert.deepEqual((await call('PUT', '/mode/users-value', { mode: 'READONLY' })).body, {
      mode: 'READONLY',
    });
    assertError(
      await call('POST', '/subjects/users-value/versions', {
        schema: avro([nameField, { name: 'z', type: 'int', default: 0 }]),
      }),
      422,
      42205,
      /read-only/,
    );
    assertError(await call('DELETE', '/subjects/users-value/versions/1'), 422, 42205);
    assert.deepEqual((await call('DELETE', '/mode/users-value')).body, { mode: 'READONLY' });
    assertError(await call('GET', '/mode/users-value'), 404, 40409);
    assertError(await call('PUT', '/mode', { mode: 'SOMETIMES' }), 422, 42204);
    assertError(await call('PUT', '/mode', { mode: 'IMPORT' }), 422, 42205, /force=true/);
    assertError(
      await call('POST', '/subjects/imported/versions', {
        schema: avro([nameField], 'I'),
        id: 500,
        version: 3,
      }),
      422,
      42205,
      /IMPORT/,
    );
    assert.deepEqual((await call('PUT', '/mode/imported', { mode: 'IMPORT' })).body, { mode: 'IMPORT' });
    assert.equal(await register('imported', { schema: avro([nameField], 'I'), id: 500, version: 3 }), 500);
    assert.deepEqual((await call('GET', '/subjects/imported/versions/3')).body, {
      subject: 'imported',
      version: 3,
      id: 500,
      schema: avro([nameField], 'I'),
    });
    assertError(
      await call('POST', '/subjects/imported/versions', {
        schema: avro([nameField], 'J'),
        id: 500,
        version: 4,
      }),
      422,
      42207,
    );
    await call('DELETE', '/mode/imported');
    // New ids continue above the highest id ever seen.
    assert.equal(await register('after-import', { schema: avro([nameField], 'After') }), 501);
  });

  it('answers bad input with Confluent codes and stores nothing', async () => {
    const before = JSON.stringify((await call('GET', '/schemas')).body);
    assertError(await call('POST', '/subjects/bad/versions', '{"schema": '), 400, 400, /not JSON/);
    assertError(
      await call('POST', '/subjects/bad/versions', { schema: '{"type": "recrd"}' }),
      422,
      42201,
      /recrd/,
    );
    assertError(
      await call('POST', '/subjects/bad/versions', { schema: '"int"', schemaType: 'XML' }),
      422,
      42201,
      /XML/,
    );
    assertError(await call('POST', '/subjects/bad/versions', { nothing: 1 }), 422, 42201, /schema/);
    assertError(
      await call('POST', '/subjects/bad/versions', { schema: 'x'.repeat(SCHEMA_REQUEST_BYTES_MAX + 1) }),
      422,
      42209,
      /SCHEMA_REQUEST_BYTES_MAX/,
    );
    assertError(await call('POST', '/subjects/bad%01name/versions', { schema: '"int"' }), 422, 42208);
    assertError(await call('GET', '/subjects/users-value/versions/0'), 422, 42202);
    assertError(await call('GET', '/subjects/users-value/versions/abc'), 422, 42202);
    assertError(await call('GET', '/subjects/users-value/versions/2147483648'), 422, 42202);
    assertError(await call('GET', '/subjects/users-value/versions/99'), 404, 40402);
    assertError(await call('GET', '/schemas/ids/99999'), 404, 40403);
    assertError(await call('GET', '/schemas/ids/-3'), 404, 40403);
    assertError(await call('GET', '/subjects?offset=x'), 400, 400, /offset/);
    assert.equal(JSON.stringify((await call('GET', '/schemas')).body), before);
  });

  it('serves the same answers on a real socket', async () => {
    const response = await fetch(`${running.url}/subjects/users-value/versions/1`, {
      headers: { accept: CONTENT_TYPE },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), CONTENT_TYPE);
    assert.equal(((await response.json()) as { version: number }).version, 1);
    const posted = await fetch(`${running.url}/subjects/socket-value/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema: '"string"' }),
    });
    assert.equal(posted.status, 200);
  });

  it('stores Confluent records in _schemas and rebuilds the same state after a restart', async () => {
    const records: { key: Record<string, unknown>; value: Record<string, unknown> | null }[] = [];
    const log = new SchemaLog({ bootstrap: broker.bootstrap });
    try {
      await log.readToEnd((record) => {
        records.push({
          key: JSON.parse(record.key?.toString() ?? 'null'),
          value: record.value === null ? null : JSON.parse(record.value.toString()),
        });
      });
    } finally {
      await log.close();
    }
    const first = records.find(
      (r) => r.key.keytype === 'SCHEMA' && r.key.subject === 'users-value' && r.key.version === 1,
    );
    assert.deepEqual(first?.key, { keytype: 'SCHEMA', subject: 'users-value', version: 1, magic: 1 });
    assert.deepEqual(Object.keys(first?.value ?? {}), [
      'subject',
      'version',
      'id',
      'references',
      'schema',
      'deleted',
    ]);
    const contract = records.find(
      (r) => r.key.keytype === 'SCHEMA' && r.key.subject === 'contracts-value' && r.key.version === 1,
    );
    assert.deepEqual(contract?.value?.metadata, {
      properties: { owner: 'Bob Jones', email: 'bob@acme.com' },
    });
    assert.ok(contract?.value?.ruleSet !== undefined, 'the rule set is kept in _schemas');
    assert.ok(
      records.some(
        (r) =>
          r.key.keytype === 'CONFIG' && r.key.subject === 'contracts-value' && r.value?.normalize === true,
      ),
      'normalize is kept in the CONFIG record',
    );
    const grouped = records.findLast((r) => r.key.keytype === 'CONFIG' && r.key.subject === 'grouped-value');
    assert.equal(
      grouped?.value?.compatibilityGroup,
      'application.major.version',
      'config fields kept in _schemas',
    );
    assert.deepEqual(grouped?.value?.overrideMetadata, { properties: { tier: 'gold' } });
    const json = records.find((r) => r.key.subject === 'json-value');
    assert.equal(json?.value?.schemaType, 'JSON');
    assert.ok(
      records.some((r) => r.key.keytype === 'CONFIG' && r.key.subject === undefined && r.value === null),
      'global config tombstone',
    );
    assert.ok(
      records.some((r) => r.key.keytype === 'SCHEMA' && r.value === null),
      'a permanent delete is a tombstone',
    );

    const snapshot = async () => ({
      subjects: (await call('GET', '/subjects?deleted=true')).body,
      schemas: (await call('GET', '/schemas?deleted=true')).body,
      maxId: ((await call('GET', '/schemas/ids/1?fetchMaxId=true')).body as { maxId: number }).maxId,
      mode: (await call('GET', '/mode/imported?defaultToGlobal=true')).body,
      config: (await call('GET', '/config/grouped-value')).body,
    });
    const before = await snapshot();
    await running.close();
    running = await startSchemaRegistry({
      bootstrap: broker.bootstrap,
      port: REGISTRY_PORT,
      leaderElection: true,
    });
    app = running.app;
    assert.deepEqual(await snapshot(), before);
    const next = await register('after-restart', { schema: avro([nameField], 'Later') });
    assert.equal(next, before.maxId + 1, 'ids are never reused');
  });

  it('_schemas is one compacted partition on all three brokers, min ISR 2, every replica in sync', async () => {
    const admin = kafkajs(broker.bootstrap).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ['_schemas'] });
      const partitions = topics[0]?.partitions ?? [];
      assert.equal(partitions.length, 1);
      assert.deepEqual([...(partitions[0]?.replicas ?? [])].sort(), [1, 2, 3]);
      assert.deepEqual([...(partitions[0]?.isr ?? [])].sort(), [1, 2, 3]);
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2, name: '_schemas', configNames: ['cleanup.policy', 'min.insync.replicas'] }],
      });
      const entries = described.resources[0]?.configEntries ?? [];
      assert.deepEqual(Object.fromEntries(entries.map((e) => [e.configName, e.configValue])), {
        'cleanup.policy': 'compact',
        'min.insync.replicas': '2',
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('two instances, 40 registrations at once to both: all 200, distinct ids, both converge, 0 lost races', async () => {
    const second = await startSchemaRegistry({
      bootstrap: broker.bootstrap,
      port: SECOND_REGISTRY_PORT,
      leaderElection: true,
    });
    try {
      // Confluent's choice: the eligible member with the smallest URL (…:20201 < …:20202).
      assert.equal(second.registry.leader?.port, REGISTRY_PORT, 'the second instance follows the first');
      assert.equal(second.registry.isLeader, false);
      const apps = [app, second.app];
      await call('PUT', '/config/race-shared', { compatibility: 'NONE' });
      const appendsBefore = { leader: running.registry.appends, follower: second.registry.appends };
      const sent = Array.from({ length: RACE_REGISTRATIONS }, async (_, i) => {
        const subject = i % 4 === 0 ? 'race-shared' : `race-${i}`;
        const schema = avro([{ name: `f${i}`, type: 'int' }], `Race${i}`);
        const target = apps[i % 2] as FastifyInstance;
        const response = await target.inject({
          method: 'POST',
          url: `/subjects/${subject}/versions`,
          headers: { 'content-type': CONTENT_TYPE },
          payload: JSON.stringify({ schema }),
        });
        assert.equal(response.statusCode, 200, response.body);
        return { schema, id: (JSON.parse(response.body) as { id: number }).id };
      });
      const acknowledged = await Promise.all(sent);
      assert.equal(
        new Set(acknowledged.map((a) => a.id)).size,
        RACE_REGISTRATIONS,
        'distinct schemas, distinct ids',
      );
      // The follower forwarded its half and wrote nothing itself; the leader wrote one record each.
      assert.equal(second.registry.forwarded, RACE_REGISTRATIONS / 2);
      assert.equal(second.registry.appends, appendsBefore.follower);
      assert.equal(running.registry.appends - appendsBefore.leader, RACE_REGISTRATIONS);
      // A follower reads a forwarded write back at once (it catches up before it answers).
      const forwardedId = acknowledged[1]?.id;
      const readBack = await second.app.inject({ method: 'GET', url: `/schemas/ids/${forwardedId}` });
      assert.equal(readBack.statusCode, 200, readBack.body);
      // Both instances converge (the follower catches up within its refresh interval).
      const list = async (target: FastifyInstance) =>
        (await target.inject({ method: 'GET', url: '/schemas?deleted=true' })).body;
      const deadline = Date.now() + 30_000;
      while ((await list(app)) !== (await list(second.app))) {
        assert.ok(Date.now() < deadline, 'the two instances did not converge within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const target of apps) {
        for (const { schema, id } of acknowledged) {
          const answer = await target.inject({ method: 'GET', url: `/schemas/ids/${id}` });
          assert.equal((JSON.parse(answer.body) as { schema: string }).schema, schema, `id ${id}`);
        }
      }
      assert.equal(running.registry.writeConflicts + second.registry.writeConflicts, 0, 'no lost races');
      // Deletes, config and mode are writes too: forwarded, and the leader's answer comes back.
      const config = await second.app.inject({
        method: 'PUT',
        url: '/config/race-1',
        headers: { 'content-type': CONTENT_TYPE },
        payload: JSON.stringify({ compatibility: 'FULL' }),
      });
      assert.equal(config.statusCode, 200, config.body);
      assert.deepEqual(JSON.parse(config.body), { compatibility: 'FULL' });
      const missing = await second.app.inject({ method: 'DELETE', url: '/mode/race-1' });
      assert.equal(missing.statusCode, 404, missing.body);
      assert.equal((JSON.parse(missing.body) as { error_code: number }).error_code, 40409);
      assert.equal(second.registry.appends, appendsBefore.follower);
    } finally {
      await second.close();
    }
  });

  it('a write sent while a rebalance has the leader unknown waits for the assignment, then succeeds', async () => {
    // What the elector does when a rebalance starts (Confluent's non-sticky election), then ends.
    running.registry.setLeader(null);
    const pending = call('PUT', '/config/rebalance-wait', { compatibility: 'NONE' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    running.registry.setLeader(running.identity);
    const answer = await pending;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { compatibility: 'NONE' });
  });

  it('an instance that may not lead, alone in its group, serves reads and refuses writes with 50004', async () => {
    const alone = await startSchemaRegistry({
      bootstrap: broker.bootstrap,
      port: INELIGIBLE_REGISTRY_PORT,
      groupId: 'kstack-registry-api-ineligible',
      leaderEligible: false,
      leaderWaitMs: INELIGIBLE_LEADER_WAIT_MS,
      leaderElection: true,
    });
    try {
      assert.equal(alone.registry.leader, null);
      const read = await alone.app.inject({ method: 'GET', url: '/subjects' });
      assert.equal(read.statusCode, 200, read.body);
      const started = Date.now();
      const write = await alone.app.inject({
        method: 'POST',
        url: '/subjects/never/versions',
        headers: { 'content-type': CONTENT_TYPE },
        payload: JSON.stringify({ schema: avro([nameField], 'Never') }),
      });
      assert.ok(Date.now() - started >= INELIGIBLE_LEADER_WAIT_MS, 'it waited for a leader first');
      assert.equal(write.statusCode, 500, write.body);
      const body = JSON.parse(write.body) as { error_code: number; message: string };
      assert.equal(body.error_code, 50004);
      assert.match(body.message, /^Unknown leader: no leader-eligible instance .* within 1000 ms/);
      assert.equal(alone.registry.appends, 0);
    } finally {
      await alone.close();
    }
  });

  // Last: the cluster has two brokers after it.
  it('SIGKILL of the leader of _schemas: every schema still served, writes resume, the next id is not reused', async () => {
    const admin = kafkajs(broker.bootstrap).admin();
    await admin.connect();
    try {
      const leaderOf = async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: ['_schemas'] });
        return topics[0]?.partitions[0];
      };
      const victim = (await leaderOf())?.leader;
      assert.ok(victim !== undefined && victim >= 1, 'a leader for _schemas-0');
      const listed = async () =>
        JSON.stringify(
          ((await call('GET', '/schemas?deleted=true')).body as { subject: string }[]).filter(
            (s) => !s.subject.startsWith('after-failover'),
          ),
        );
      const before = await listed();
      const maxId = ((await call('GET', '/schemas/ids/1?fetchMaxId=true')).body as { maxId: number }).maxId;
      const killedAt = performance.now();
      broker.kill(victim);
      // Writes fail while the partition has no leader (each answered with an error code, not a
      // hang); the first that succeeds is timed, and gets the next id.
      const failures = new Map<string, number>();
      let id: number | undefined;
      const deadline = Date.now() + FAILOVER_WRITE_MS;
      while (id === undefined) {
        const answer = await call('POST', '/subjects/after-failover/versions', {
          schema: avro([nameField], 'AfterFailover'),
        });
        if (answer.status === 200) {
          id = (answer.body as { id: number }).id;
          break;
        }
        const code = `${answer.status} ${(answer.body as { error_code?: number }).error_code}`;
        failures.set(code, (failures.get(code) ?? 0) + 1);
        assert.ok(
          Date.now() < deadline,
          `no write succeeded within ${FAILOVER_WRITE_MS} ms: ${[...failures]}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const resumedMs = Math.round(performance.now() - killedAt);
      const after = await leaderOf();
      process.stdout.write(
        `# _schemas leader ${victim} killed: leader now ${after?.leader}, ISR [${after?.isr}]; a write succeeded ${resumedMs} ms later; refused before: ${JSON.stringify(Object.fromEntries(failures))}\n`,
      );
      assert.notEqual(after?.leader, victim);
      assert.equal(id, maxId + 1, 'ids are never reused');
      assert.equal(await listed(), before, 'every schema stored before the kill, as it was');
      const next = await register('after-failover-2', { schema: avro([nameField], 'AfterFailover2') });
      assert.equal(next, maxId + 2);
    } finally {
      await admin.disconnect();
    }
  });
});
