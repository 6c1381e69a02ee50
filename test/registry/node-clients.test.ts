/**
 * A Node client we did not write, @kafkajs/confluent-schema-registry 4.1.0 (its own Avro, Protobuf and
 * JSON Schema helpers), against the registry on a real socket: register, look up, evolve, be refused,
 * and round-trip records encoded in Confluent's wire format through `kstack up` with kafkajs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningSchemaRegistry, startSchemaRegistry } from '../../src/registry/server.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { stopBroker } from './registry-process.ts';

const BROKER_PORT = 20230;
const REGISTRY_PORT = 20231;
const RECORDS = 5;
const CONSUME_TIMEOUT_MS = 60_000;

const broker = new BrokerProcess(BROKER_PORT);

/** Decoded values are the helpers' class instances (avsc records, protobufjs messages): compare plain data. */
async function decodeAll(buffers: Buffer[]): Promise<unknown[]> {
  return JSON.parse(JSON.stringify(await Promise.all(buffers.map((b) => client.decode(b)))));
}
let running: RunningSchemaRegistry;
let client: SchemaRegistry;

async function roundTrip(topic: string, values: Buffer[]): Promise<Buffer[]> {
  const kafka = new Kafka({
    brokers: [broker.bootstrap],
    clientId: 'registry-test',
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await producer.connect();
  await consumer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const received: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} records within ${CONSUME_TIMEOUT_MS} ms`)),
        CONSUME_TIMEOUT_MS,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value !== null) received.push(message.value);
          if (received.length === values.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return received;
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }
}

describe('@kafkajs/confluent-schema-registry against the registry and kstack up', {
  timeout: 600_000,
}, () => {
  before(async () => {
    await broker.start(60_000);
    running = await startSchemaRegistry({ bootstrap: broker.bootstrap, port: REGISTRY_PORT });
    client = new SchemaRegistry({ host: running.url });
  });
  after(async () => {
    await running?.close();
    await stopBroker(broker);
  });

  it('Avro: registers, looks up, evolves, is refused, round-trips through Kafka', async () => {
    const subject = 'kafkajs-avro-value';
    const v1 = {
      type: 'record',
      name: 'Payment',
      namespace: 'kstack',
      fields: [{ name: 'amount', type: 'double' }],
    };
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    assert.equal(await client.getLatestSchemaId(subject), id);
    assert.equal(
      await client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(v1) }),
      id,
    );
    const payloads = Array.from({ length: RECORDS }, (_, i) => ({ amount: i + 0.5 }));
    const encoded = await Promise.all(payloads.map((p) => client.encode(id, p)));
    assert.equal(encoded[0]?.readUInt8(0), 0);
    assert.equal(encoded[0]?.readUInt32BE(1), id);
    const received = await roundTrip('kafkajs-avro', encoded);
    assert.deepEqual(await decodeAll(received), payloads);

    const v2 = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
    const { id: id2 } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(v2) },
      { subject },
    );
    assert.notEqual(id2, id);
    const bad = { ...v1, fields: [{ name: 'amount', type: 'string' }] };
    await assert.rejects(
      client.register({ type: SchemaType.AVRO, schema: JSON.stringify(bad) }, { subject }),
      (error: Error & { status?: number }) => error.status === 409 && /incompatible/.test(error.message),
    );
  });

  it('Protobuf: registers .proto text, encodes with message indexes, round-trips', async () => {
    const subject = 'kafkajs-proto-value';
    const schema =
      'syntax = "proto3";\npackage kstack;\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n}\n';
    const { id } = await client.register({ type: SchemaType.PROTOBUF, schema }, { subject });
    const payloads = Array.from({ length: RECORDS }, (_, i) => ({ id: i, item: `item-${i}` }));
    const encoded = await Promise.all(payloads.map((p) => client.encode(id, p)));
    const received = await roundTrip('kafkajs-proto', encoded);
    assert.deepEqual(await decodeAll(received), payloads);
    const bad =
      'syntax = "proto3";\npackage kstack;\nmessage Order {\n  repeated int32 id = 1;\n  string item = 2;\n}\n';
    await assert.rejects(
      client.register({ type: SchemaType.PROTOBUF, schema: bad }, { subject }),
      (error: Error & { status?: number }) => error.status === 409,
    );
  });

  it('JSON Schema: registers, validates on encode, round-trips', async () => {
    const subject = 'kafkajs-json-value';
    const schema = JSON.stringify({
      type: 'object',
      properties: { name: { type: 'string' }, count: { type: 'integer' } },
      required: ['name'],
    });
    const { id } = await client.register({ type: SchemaType.JSON, schema }, { subject });
    const payloads = Array.from({ length: RECORDS }, (_, i) => ({ name: `n${i}`, count: i }));
    const encoded = await Promise.all(payloads.map((p) => client.encode(id, p)));
    const received = await roundTrip('kafkajs-json', encoded);
    assert.deepEqual(await decodeAll(received), payloads);
    await assert.rejects(client.encode(id, { count: 1 }), { name: 'ConfluentSchemaRegistryValidationError' });
  });
});
