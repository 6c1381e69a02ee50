/**
 * `GET /schemas/ids/{id}` keeps each answer's bytes until the state changes (app.ts): the kept
 * answers must follow every change of `_schemas` (a new id, a permanent delete) and never answer one
 * request's form (fetchMaxId, a subject) to another. Through fastify (`inject`) and over a real
 * socket, where the lookup is answered before fastify (app.ts answerIdLookup) and everything else,
 * errors included, still goes through fastify. The state is fed records directly; no Kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildRegistryApp, CONTENT_TYPE } from '../../src/registry/app.ts';
import { encodeKey, encodeSchemaValue } from '../../src/registry/records.ts';
import { SchemaRegistry } from '../../src/registry/registry.ts';
import type { SchemaLog } from '../../src/registry/schema-log.ts';

const avro = (name: string) => JSON.stringify({ type: 'record', name, fields: [{ name: 'n', type: 'int' }] });

/** The real-socket case's port (docs/team-rules.md). */
const SOCKET_PORT = 25801;

async function overSocket(url: string) {
  const response = await fetch(`http://127.0.0.1:${SOCKET_PORT}${url}`);
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? undefined,
    body: await response.json(),
  };
}

for (const through of ['inject', 'socket'] as const)
  describe(`id lookups answered from kept bytes (${through})`, () => {
    // The log is never used: these requests only read, and the state is fed by hand.
    const registry = new SchemaRegistry({} as SchemaLog);
    let offset = 0n;
    const put = (subject: string, version: number, id: number | null) => {
      registry.state.apply({
        offset: offset++,
        key: encodeKey({ keytype: 'SCHEMA', subject, version }),
        value:
          id === null
            ? null
            : encodeSchemaValue({
                subject,
                version,
                id,
                schemaType: 'AVRO',
                references: [],
                schema: avro(`R${id}`),
                deleted: false,
              }),
      });
    };
    for (let id = 1; id <= 3; id++) put(`s${id}`, 1, id);
    const app = buildRegistryApp(registry);
    before(async () => {
      if (through === 'socket') await app.listen({ host: '127.0.0.1', port: SOCKET_PORT });
    });
    after(() => app.close());
    const get = async (url: string) => {
      if (through === 'socket') return overSocket(url);
      const answer = await app.inject({ url });
      return { status: answer.statusCode, type: answer.headers['content-type'], body: answer.json() };
    };

    it('follows new ids and permanent deletes, and keeps each form apart', async () => {
      const first = await get('/schemas/ids/2');
      assert.deepEqual(first, { status: 200, type: CONTENT_TYPE, body: { schema: avro('R2') } });
      assert.deepEqual(await get('/schemas/ids/2'), first, 'a kept answer is the same answer');
      assert.deepEqual((await get('/schemas/ids/2?fetchMaxId=true')).body, { schema: avro('R2'), maxId: 3 });
      // A subject that does not hold the id is refused, though the id alone is kept as found.
      const elsewhere = await get('/schemas/ids/2?subject=s3');
      assert.equal(elsewhere.status, 404);
      assert.equal(elsewhere.body.error_code, 40403);

      put('s4', 1, 4);
      assert.deepEqual((await get('/schemas/ids/2?fetchMaxId=true')).body, { schema: avro('R2'), maxId: 4 });
      assert.deepEqual((await get('/schemas/ids/4')).body, { schema: avro('R4') });

      put('s2', 1, null); // the tombstone of a permanent delete
      const gone = await get('/schemas/ids/2');
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error_code, 40403);
      assert.equal((await get('/schemas/ids/abc')).body.error_code, 40403);
      assert.equal((await get('/schemas/ids/99999999999')).body.error_code, 40403);
      // Other routes are fastify's as before.
      assert.deepEqual((await get('/schemas/ids/3/subjects')).body, ['s3']);
      assert.deepEqual((await get('/schemas/ids/3?subject=s3')).body, { schema: avro('R3') });
    });
  });
