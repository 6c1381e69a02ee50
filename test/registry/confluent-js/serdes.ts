/**
 * Confluent's own Node serdes, @confluentinc/schemaregistry 1.10.1 (installed outside the tree by
 * scripts/setup/40-registry-clients.sh; not a project dependency: it pulls in cloud KMS SDKs), run as
 * a separate process: its serializer registers the schema (Protobuf in the serialized descriptor form),
 * records go through Kafka with kafkajs, its deserializer fetches the writer schema by id; then its
 * client registers a compatible evolution (version 2) and is refused an incompatible one (409).
 *
 * usage: node serdes.ts BOOTSTRAP REGISTRY_URL FORMAT TOPIC   (FORMAT: avro | json | protobuf)
 * Prints one JSON line: {"ok": bool, ...}.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const COUNT = 5;
const CONSUME_TIMEOUT_MS = 60_000;
const VERSION = '1.10.1';
const home = join(
  process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack'),
  `schemaregistry-js-${VERSION}`,
);
const require = createRequire(join(home, 'package.json'));
// biome-ignore lint/suspicious/noExplicitAny: the package is loaded from outside the tree, without its types
type Any = any;
const sr: Any = require('@confluentinc/schemaregistry');
const bufbuild: Any = require('@bufbuild/protobuf');
const wkt: Any = require('@bufbuild/protobuf/wkt');

const [bootstrap, url, format, topic] = process.argv.slice(2) as [string, string, string, string];
const summary: Record<string, unknown> = { ok: false, format, topic };

interface Case {
  serializer: Any;
  deserializer: Any;
  records: unknown[];
  plain(value: Any): unknown;
}

function avroCase(client: Any): Case {
  return {
    serializer: new sr.AvroSerializer(client, sr.SerdeType.VALUE, { useLatestVersion: true }),
    deserializer: new sr.AvroDeserializer(client, sr.SerdeType.VALUE, {}),
    records: Array.from({ length: COUNT }, (_, i) => ({ name: `user-${i}`, number: i })),
    plain: (v) => ({ ...v }),
  };
}

function jsonCase(client: Any): Case {
  return {
    serializer: new sr.JsonSerializer(client, sr.SerdeType.VALUE, { useLatestVersion: true }),
    deserializer: new sr.JsonDeserializer(client, sr.SerdeType.VALUE, {}),
    records: Array.from({ length: COUNT }, (_, i) => ({ id: i, item: `item-${i}` })),
    plain: (v) => v,
  };
}

function protobufCase(client: Any): Case {
  const file = bufbuild.create(wkt.FileDescriptorProtoSchema, {
    name: 'kstack_js_order.proto',
    package: 'kstack.js',
    syntax: 'proto3',
    messageType: [
      {
        name: 'Order',
        field: [
          { name: 'id', jsonName: 'id', number: 1, type: 5, label: 1 },
          { name: 'item', jsonName: 'item', number: 2, type: 9, label: 1 },
        ],
      },
    ],
  });
  const registry = bufbuild.createFileRegistry(file, () => undefined);
  const order = registry.getMessage('kstack.js.Order');
  return {
    serializer: new sr.ProtobufSerializer(client, sr.SerdeType.VALUE, {
      autoRegisterSchemas: true,
      registry,
    }),
    deserializer: new sr.ProtobufDeserializer(client, sr.SerdeType.VALUE, {}),
    records: Array.from({ length: COUNT }, (_, i) => bufbuild.create(order, { id: i, item: `item-${i}` })),
    plain: (v) => ({ id: v.id, item: v.item }),
  };
}

/** Per format: a compatible next version of the subject's schema and an incompatible one (BACKWARD). */
const EVOLUTIONS: Record<string, { schemaType: string; evolved: string; broken: string }> = {
  avro: {
    schemaType: 'AVRO',
    evolved: JSON.stringify({
      type: 'record',
      name: 'User',
      namespace: 'kstack.js',
      fields: [
        { name: 'name', type: 'string' },
        { name: 'number', type: 'int' },
        { name: 'email', type: ['null', 'string'], default: null },
      ],
    }),
    broken: JSON.stringify({
      type: 'record',
      name: 'User',
      namespace: 'kstack.js',
      fields: [
        { name: 'name', type: 'int' },
        { name: 'number', type: 'int' },
      ],
    }),
  },
  json: {
    schemaType: 'JSON',
    evolved: JSON.stringify({
      type: 'object',
      properties: { id: { type: 'number' }, item: { type: 'string' } },
      required: ['id'],
    }),
    broken: JSON.stringify({
      type: 'object',
      properties: { id: { type: 'string' }, item: { type: 'string' } },
      required: ['id'],
    }),
  },
  protobuf: {
    schemaType: 'PROTOBUF',
    evolved:
      'syntax = "proto3";\npackage kstack.js;\nmessage Order {\n  int32 id = 1;\n  string item = 2;\n  string note = 3;\n}\n',
    broken:
      'syntax = "proto3";\npackage kstack.js;\nmessage Order {\n  string id = 1;\n  string item = 2;\n}\n',
  },
};

/** Registers the compatible evolution, then the incompatible one; what the client got for each. */
async function evolve(client: Any, subject: string, format: string): Promise<void> {
  const evolution = EVOLUTIONS[format];
  if (evolution === undefined) throw new Error(`unknown format ${format}`);
  const { schemaType } = evolution;
  await client.register(subject, { schemaType, schema: evolution.evolved });
  // The versions, not getLatestSchemaMetadata: the client keeps the latest it read (above) cached.
  summary.evolved_version = Math.max(...((await client.getAllVersions(subject)) as number[]));
  try {
    await client.register(subject, { schemaType, schema: evolution.broken });
    summary.refused = null;
  } catch (error) {
    const e = error as { status?: number; errorCode?: number; message?: string };
    summary.refused = { status: e.status, errorCode: e.errorCode, message: e.message };
  }
}

async function main(): Promise<void> {
  const client = new sr.SchemaRegistryClient({ baseURLs: [url] });
  const subject = `${topic}-value`;
  if (format === 'avro') {
    const schema = {
      type: 'record',
      name: 'User',
      namespace: 'kstack.js',
      fields: [
        { name: 'name', type: 'string' },
        { name: 'number', type: 'int' },
      ],
    };
    summary.registered = await client.register(subject, {
      schemaType: 'AVRO',
      schema: JSON.stringify(schema),
    });
  } else if (format === 'json') {
    const schema = {
      type: 'object',
      properties: { id: { type: 'integer' }, item: { type: 'string' } },
      required: ['id'],
    };
    summary.registered = await client.register(subject, {
      schemaType: 'JSON',
      schema: JSON.stringify(schema),
    });
  }
  const chosen = { avro: avroCase, json: jsonCase, protobuf: protobufCase }[format];
  if (chosen === undefined) throw new Error(`unknown format ${format}`);
  const { serializer, deserializer, records, plain } = chosen(client);
  const values: Buffer[] = [];
  for (const record of records) values.push(await serializer.serialize(topic, record));
  summary.wire_prefix = values[0]?.subarray(0, 5).toString('hex');

  const kafka = new Kafka({
    brokers: [bootstrap],
    clientId: 'confluent-js-serdes',
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await producer.connect();
  await consumer.connect();
  const received: unknown[] = [];
  try {
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`consumed ${received.length} within ${CONSUME_TIMEOUT_MS} ms`)),
        CONSUME_TIMEOUT_MS,
      );
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push(plain(await deserializer.deserialize(topic, message.value)));
          if (received.length === records.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }
  const expected = records.map(plain);
  summary.round_trip = JSON.stringify(received) === JSON.stringify(expected);
  summary.consumed = received.length;
  const latest = await client.getLatestSchemaMetadata(subject);
  summary.latest = { id: latest.id, version: latest.version, schemaType: latest.schemaType ?? 'AVRO' };
  await evolve(client, subject, format);
  summary.ok = summary.round_trip === true;
}

try {
  await main();
} catch (error) {
  summary.error = `${(error as Error).name}: ${(error as Error).message}`;
}
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(0);
