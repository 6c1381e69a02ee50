/**
 * The registry's clients on `kstack up --brokers 3` (three `kstack node` processes; topics and
 * `_schemas` replicated), each a client we did not write, each a separate process except kafkajs's:
 * confluent-kafka's SchemaRegistryClient with its Avro, JSON Schema and Protobuf serializers (PyPI),
 * @confluentinc/schemaregistry's Node serdes (npm) and franz-go's pkg/sr (Go; all installed by
 * scripts/setup/40-registry-clients.sh) register schemas with `kstack schema-registry` and round-trip
 * records through the cluster in Confluent's wire format, then evolve and are refused an incompatible
 * change; @kafkajs/confluent-schema-registry 4.1.0 (its own Avro, Protobuf and JSON Schema helpers)
 * does the same with kafkajs. Last, the registry killed with SIGKILL while registering loses no
 * acknowledged schema. Then leader election between three more registries on the same cluster
 * (leader-cases.ts). One cluster for the file (it was three one-broker files: this one,
 * node-clients.test.ts and leader.test.ts). Ports: the cluster's first broker 24200 (with what its
 * supervisor opens: docs/team-rules.md), registry 20211, leader-cases' registries 20241-20243.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { kstackClusterTarget } from '../rest-proxy/cluster-target.ts';
import { describeLeaderElection } from './leader-cases.ts';
import { RegistryProcess, runConfluentJs, runGoDriver, runSerdes } from './registry-process.ts';

const CLUSTER_PORT = 24200;
const REGISTRY_PORT = 20211;
/** Registrations fired at once in the crash test, and how many must be acknowledged before the kill. */
const CRASH_REGISTRATIONS = 60;
const CRASH_AFTER_ACKS = 10;
/** Records each kafkajs round trip sends and reads back. */
const RECORDS = 5;
const CONSUME_TIMEOUT_MS = 60_000;

const cluster = kstackClusterTarget(CLUSTER_PORT, 'kstack-registry-clients-');
/**
 * The seed the separate clients get: one broker, from which each finds the other two through
 * Metadata (franz-go's driver and the Node serdes script take one address, not a list).
 */
const SEED = `127.0.0.1:${CLUSTER_PORT}`;
const registry = new RegistryProcess(cluster.bootstrap, REGISTRY_PORT);

// One cluster for every suite of the file (the leader-election cases too, last).
before(() => cluster.start());
after(() => cluster.stop());

/** Decoded values are the helpers' class instances (avsc records, protobufjs messages): compare plain data. */
async function decodeAll(buffers: Buffer[]): Promise<unknown[]> {
  return JSON.parse(JSON.stringify(await Promise.all(buffers.map((b) => client.decode(b)))));
}
let client: SchemaRegistry;

async function roundTrip(topic: string, values: Buffer[]): Promise<Buffer[]> {
  const kafka = new Kafka({
    brokers: cluster.bootstrap.split(','),
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

describe('Schema Registry clients (Python, Node, Go) against kstack up --brokers 3 and kstack schema-registry', {
  timeout: 900_000,
}, () => {
  before(async () => {
    await registry.start();
    client = new SchemaRegistry({ host: registry.url });
  });
  after(async () => {
    await registry.stop();
  });

  for (const format of ['avro', 'json', 'protobuf']) {
    it(`${format}: register, produce, consume, evolve, refuse an incompatible change`, async () => {
      const summary = await runSerdes(cluster.bootstrap, registry.url, format, `serdes-${format}`);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      const registered = summary.registered as { id: number };
      // Confluent's wire format: magic byte 0, then the 4-byte big-endian schema id.
      assert.deepEqual(summary.wire_prefixes, [`00${registered.id.toString(16).padStart(8, '0')}`]);
      if (format === 'protobuf') {
        // Message indexes as zigzag varints: count 1, index 1 (Detail is the file's second message).
        assert.equal(summary.message_indexes, '0202');
      }
    });
  }

  for (const format of ['avro', 'json', 'protobuf']) {
    it(`@confluentinc/schemaregistry ${format}: serialize (registering), produce, consume, deserialize by id, evolve, refuse an incompatible change`, async () => {
      const summary = await runConfluentJs(SEED, registry.url, format, `confluent-js-${format}`);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      const latest = summary.latest as { id: number; version: number; schemaType: string };
      assert.equal(summary.wire_prefix, `00${latest.id.toString(16).padStart(8, '0')}`);
      assert.equal(latest.schemaType, format === 'json' ? 'JSON' : format.toUpperCase());
      // Its client evolves the subject (version 2) and is refused an incompatible change with 409.
      assert.equal(summary.evolved_version, latest.version + 1, JSON.stringify(summary));
      const refused = summary.refused as { status?: number; message?: string } | null;
      assert.equal(refused?.status, 409, JSON.stringify(summary));
    });
  }

  it("franz-go's pkg/sr: JSON Schema serde round trip through Kafka, evolution, 409, Avro by id", async () => {
    const summary = await runGoDriver(SEED, registry.url, 'franz-sr');
    assert.equal(summary.ok, true, JSON.stringify(summary));
    const registered = summary.registered as { id: number };
    assert.equal(summary.wire_prefix, `00${registered.id.toString(16).padStart(8, '0')}`);
  });

  it('@kafkajs/confluent-schema-registry Avro: registers, looks up, evolves, is refused, round-trips through Kafka', async () => {
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

  it('@kafkajs/confluent-schema-registry Protobuf: registers .proto text, encodes with message indexes, round-trips, evolves, is refused', async () => {
    const subject = 'kafkajs-proto-value';
    const schema =
      'syntax = "proto3";\npackage kstack;\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n}\n';
    const { id } = await client.register({ type: SchemaType.PROTOBUF, schema }, { subject });
    const payloads = Array.from({ length: RECORDS }, (_, i) => ({ id: i, item: `item-${i}` }));
    const encoded = await Promise.all(payloads.map((p) => client.encode(id, p)));
    const received = await roundTrip('kafkajs-proto', encoded);
    assert.deepEqual(await decodeAll(received), payloads);
    // A new field is a compatible evolution: a new id, the subject's latest.
    const evolved =
      'syntax = "proto3";\npackage kstack;\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n  string note = 3;\n}\n';
    const next = await client.register({ type: SchemaType.PROTOBUF, schema: evolved }, { subject });
    assert.notEqual(next.id, id);
    assert.equal(await client.getLatestSchemaId(subject), next.id);
    const bad =
      'syntax = "proto3";\npackage kstack;\nmessage Order {\n  repeated int32 id = 1;\n  string item = 2;\n}\n';
    await assert.rejects(
      client.register({ type: SchemaType.PROTOBUF, schema: bad }, { subject }),
      (error: Error & { status?: number }) => error.status === 409,
    );
  });

  it('@kafkajs/confluent-schema-registry JSON Schema: registers, validates on encode, round-trips, evolves, is refused', async () => {
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
    // Widening count to number evolves the subject; name as an integer is refused with 409.
    const properties = { name: { type: 'string' }, count: { type: 'number' } };
    const evolved = JSON.stringify({ type: 'object', properties, required: ['name'] });
    const next = await client.register({ type: SchemaType.JSON, schema: evolved }, { subject });
    assert.notEqual(next.id, id);
    assert.equal(await client.getLatestSchemaId(subject), next.id);
    const bad = JSON.stringify({ type: 'object', properties: { ...properties, name: { type: 'integer' } } });
    await assert.rejects(
      client.register({ type: SchemaType.JSON, schema: bad }, { subject }),
      (error: Error & { status?: number }) => error.status === 409,
    );
  });

  it('keeps every acknowledged schema once after SIGKILL during registrations', async () => {
    const acknowledged = new Map<string, number>();
    let acks = 0;
    let release: () => void = () => {};
    const enoughAcks = new Promise<void>((resolve) => {
      release = resolve;
    });
    const requests = Array.from({ length: CRASH_REGISTRATIONS }, async (_, i) => {
      const subject = `crash-${i}`;
      const schema = JSON.stringify({
        type: 'record',
        name: `Crash${i}`,
        fields: [{ name: 'n', type: 'int' }],
      });
      try {
        const response = await fetch(`${registry.url}/subjects/${subject}/versions`, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
          body: JSON.stringify({ schema }),
        });
        if (response.status === 200) {
          acknowledged.set(subject, ((await response.json()) as { id: number }).id);
          acks += 1;
          if (acks >= CRASH_AFTER_ACKS) release();
        }
      } catch {
        // Cut off by the kill: not acknowledged, so it may or may not be stored.
      }
    });
    await Promise.race([enoughAcks, Promise.all(requests)]);
    assert.equal(await registry.stop('SIGKILL'), 'SIGKILL');
    await Promise.all(requests);
    const acknowledgedAtKill = new Map(acknowledged);
    assert.ok(acknowledgedAtKill.size >= CRASH_AFTER_ACKS, `acknowledged ${acknowledgedAtKill.size}`);
    await registry.start();
    const ids = new Set<number>();
    for (const [subject, id] of acknowledgedAtKill) {
      const versions = (await (
        await fetch(`${registry.url}/subjects/${subject}/versions`)
      ).json()) as number[];
      assert.deepEqual(versions, [1], `${subject} is stored once`);
      const latest = (await (await fetch(`${registry.url}/subjects/${subject}/versions/1`)).json()) as {
        id: number;
      };
      assert.equal(latest.id, id, `${subject} keeps id ${id}`);
      assert.ok(!ids.has(id), `id ${id} given once`);
      ids.add(id);
    }
    process.stdout.write(
      `# crash test: ${acknowledgedAtKill.size} of ${CRASH_REGISTRATIONS} acknowledged before SIGKILL, all kept\n`,
    );
  });
});

describeLeaderElection(cluster.bootstrap);
