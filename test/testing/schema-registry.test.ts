/**
 * The Schema Registry companion as a user's suite uses it: startKafka({ schemaRegistry: true }),
 * one @kafkajs/confluent-schema-registry client for the whole suite (a client we did not write, with
 * its id → schema cache), real HTTP and Kafka sockets. After reset() the subject is gone and no old id
 * comes back for a new schema; restore() brings a snapshot's schemas back under their ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { KafkaTestingError, startKafka, type TestKafka } from '../../src/testing/index.ts';
import { ID_FLOOR_SUBJECT } from '../../src/testing/schema-registry.ts';

function avro(name: string, field: string): { type: SchemaType.AVRO; schema: string } {
  return {
    type: SchemaType.AVRO,
    schema: JSON.stringify({ type: 'record', name, fields: [{ name: field, type: 'string' }] }),
  };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const answer = await fetch(url);
  return { status: answer.status, body: await answer.json() };
}

describe('startKafka({ schemaRegistry: true })', () => {
  let kafka: TestKafka;
  let registry: SchemaRegistry;
  before(async () => {
    kafka = await startKafka({ schemaRegistry: true });
    registry = new SchemaRegistry({ host: kafka.schemaRegistryUrl });
  });
  after(() => kafka.stop());

  test('reset() leaves no subject, and the next test never gets an id the client cached', async () => {
    const subject = `${kafka.namespace().topic('orders')}-value`;
    const first = await registry.register(avro('Order', 'id'), { subject });
    const firstBytes = await registry.encode(first.id, { id: 'o-1' });
    assert.equal(await registry.getLatestSchemaId(subject), first.id);

    await kafka.reset();

    // The url stays; the subject, its schema and every other subject are gone.
    assert.deepEqual(await getJson(`${kafka.schemaRegistryUrl}/subjects?deleted=true`), {
      status: 200,
      body: [],
    });
    await assert.rejects(registry.getLatestSchemaId(subject), /Subject .* not found|40401/);
    assert.equal((await getJson(`${kafka.schemaRegistryUrl}/schemas/ids/${first.id}`)).status, 404);

    // The next test's schema gets a new id: the suite's client decodes it with the new schema, not
    // with the one it cached for the old id.
    const next = await registry.register(avro('Payment', 'amount'), { subject });
    assert.ok(next.id > first.id, `id ${next.id} after reset is above ${first.id}`);
    assert.deepEqual(
      { ...(await registry.decode(await registry.encode(next.id, { amount: '12' }))) },
      { amount: '12' },
    );
    assert.deepEqual(
      { ...(await registry.decode(firstBytes)) },
      { id: 'o-1' },
      'the cached old schema still decodes old bytes',
    );
    assert.deepEqual((await getJson(`${kafka.schemaRegistryUrl}/subjects?deleted=true`)).body, [subject]);
    assert.ok(
      !JSON.stringify(await getJson(`${kafka.schemaRegistryUrl}/schemas`)).includes(ID_FLOOR_SUBJECT),
    );
  });

  test("restore() brings a snapshot's schemas back under their ids; later ids stay new", async () => {
    const subject = `${kafka.namespace().topic('users')}-value`;
    const kept = await registry.register(avro('User', 'name'), { subject });
    await kafka.snapshot('with-user');
    await kafka.reset();
    const between = await registry.register(avro('Other', 'x'), { subject: `${subject}-other` });
    await kafka.restore('with-user');

    const back = await getJson(`${kafka.schemaRegistryUrl}/subjects/${subject}/versions/latest`);
    assert.equal(back.status, 200);
    assert.equal((back.body as { id: number }).id, kept.id);
    assert.equal(
      (await getJson(`${kafka.schemaRegistryUrl}/subjects/${subject}-other/versions`)).status,
      404,
    );
    const later = await registry.register(avro('Later', 'y'), { subject: `${subject}-later` });
    assert.ok(later.id > between.id, `id ${later.id} after restore is above ${between.id}`);
  });

  test('schemaRegistryUrl without the option names it', async () => {
    const plain = await startKafka();
    try {
      assert.throws(
        () => plain.schemaRegistryUrl,
        (error: unknown) => error instanceof KafkaTestingError && /schemaRegistry: true/.test(error.message),
      );
    } finally {
      await plain.stop();
    }
  });
});

test('three brokers: reset() leaves no subject and ids stay new', async () => {
  const kafka = await startKafka({ brokers: 3, schemaRegistry: true });
  try {
    const registry = new SchemaRegistry({ host: kafka.schemaRegistryUrl });
    const subject = `${kafka.namespace().topic('orders')}-value`;
    const first = await registry.register(avro('Order', 'id'), { subject });
    await kafka.reset();
    assert.deepEqual(await getJson(`${kafka.schemaRegistryUrl}/subjects?deleted=true`), {
      status: 200,
      body: [],
    });
    const next = await registry.register(avro('Payment', 'amount'), { subject });
    assert.ok(next.id > first.id, `id ${next.id} after reset is above ${first.id}`);
  } finally {
    await kafka.stop();
  }
});
