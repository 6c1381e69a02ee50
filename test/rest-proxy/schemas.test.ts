/**
 * The schema-aware embedded formats through a real Schema Registry (`kstack schema-registry` as a
 * process), with the same assertions against `kstack up --brokers 3` and the Apache Kafka reference
 * (one node; three with KSTACK_REFERENCE_NODES=3, by hand). On the
 * other side: confluent-kafka's Python Avro and JSON Schema serializers and deserializers (clients
 * we did not write; scripts/setup/40-registry-clients.sh), and kafkajs for the raw wire bytes.
 * Over kstack up it also runs Confluent's documented request examples (docs-examples.ts).
 * Ports: kstack 23303-23305 (and what its supervisor opens above them: docs/team-rules.md), its
 * proxy 23311, its registry 23312; the reference 20330 (controller 20380), its proxy 20331, its
 * registry 20332; by hand, the three-node reference 23333-23335 (controllers 23383-23385), its
 * proxy 23315, its registry 23317.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GROUP_ID_DEFAULT } from '../../src/registry/leader-protocol.ts';
import { startRestProxy } from '../../src/rest-proxy/server.ts';
import { runTool } from '../engine/run-tool.ts';
import { REGISTRY_PYTHON, RegistryProcess, waitForRegistryGroup } from '../registry/registry-process.ts';
import {
  type ClusterTarget,
  kstackClusterTarget,
  referenceClusterTarget,
  referenceNodes,
} from './cluster-target.ts';
import { docsExamples } from './docs-examples.ts';
import { assertError, call, type HttpAnswer, readWithKafkajs, waitFor } from './support.ts';

const V2 = 'application/vnd.kafka.v2+json';
const AVRO = 'application/vnd.kafka.avro.v2+json';
const JSONSCHEMA = 'application/vnd.kafka.jsonschema.v2+json';
const PROTOBUF = 'application/vnd.kafka.protobuf.v2+json';
const SERDES = join(import.meta.dirname, 'python', 'serdes.py');

/** Generous: the registry's election on a loaded 2-core machine. */
const REGISTRY_ELECTED_TIMEOUT_MS = 120_000;
const targets: { make: () => ClusterTarget; proxyPort: number; registryPort: number }[] = [
  {
    make: () => kstackClusterTarget(23303, 'kstack-rest-proxy-schemas-'),
    proxyPort: 23311,
    registryPort: 23312,
  },
  referenceNodes() === 1
    ? {
        make: () => referenceClusterTarget(20330, 'kstack-rest-proxy-schemas-ref-'),
        proxyPort: 20331,
        registryPort: 20332,
      }
    : {
        make: () => referenceClusterTarget(23333, 'kstack-rest-proxy-schemas-ref-', 3),
        proxyPort: 23315,
        registryPort: 23317,
      },
];

const USER_SCHEMA = JSON.stringify({
  type: 'record',
  name: 'User',
  namespace: 'kstack.test',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'age', type: 'int' },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'nick', type: ['null', 'string'], default: null },
  ],
});
const ORDER_SCHEMA = JSON.stringify({
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Order',
  type: 'object',
  properties: { id: { type: 'integer' }, item: { type: 'string' } },
  required: ['id'],
  additionalProperties: false,
});

function ok(answer: HttpAnswer, status = 200): void {
  assert.equal(answer.status, status, answer.text);
}

async function python(args: string[]): Promise<Record<string, unknown>> {
  const result = await runTool(REGISTRY_PYTHON, [SERDES, ...args], { timeoutMs: 180_000 });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`serdes.py printed no JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
  assert.equal(parsed.ok, true, `${line}\n${result.stderr}`);
  return parsed;
}

for (const { make, proxyPort, registryPort } of targets) {
  const target = make();
  describe(`REST proxy schema formats over ${target.title}`, { timeout: 600_000 }, () => {
    const { bootstrap } = target;
    const registry = new RegistryProcess(bootstrap, registryPort);
    let proxy: { url: string; close(): Promise<void> };
    let url = '';
    let clusterId = '';

    async function createTopic(name: string) {
      ok(
        await call(url, `/v3/clusters/${clusterId}/topics`, {
          method: 'POST',
          contentType: 'application/json',
          body: { topic_name: name, partitions_count: 1, replication_factor: target.replicationFactor },
        }),
        201,
      );
    }

    /** A consumer instance of the format on a topic, from the beginning; returns its records. */
    async function readThroughProxy(format: string, topic: string, count: number) {
      const group = `rp-${format}-${topic}`;
      ok(
        await call(url, `/consumers/${group}`, {
          method: 'POST',
          contentType: V2,
          body: { name: 'r', format, 'auto.offset.reset': 'earliest' },
        }),
      );
      const base = `/consumers/${group}/instances/r`;
      ok(
        await call(url, `${base}/subscription`, {
          method: 'POST',
          contentType: V2,
          body: { topics: [topic] },
        }),
        204,
      );
      const records: { key: unknown; value: unknown; offset: number }[] = [];
      await waitFor(`${count} ${format} records through the proxy`, async () => {
        const answer = await call(url, `${base}/records?timeout=1000`, {
          accept: `application/vnd.kafka.${format}.v2+json`,
        });
        ok(answer);
        records.push(...(answer.json as typeof records));
        return records.length >= count ? true : undefined;
      });
      ok(await call(url, base, { method: 'DELETE' }), 204);
      return records;
    }

    before(async () => {
      await target.start();
      await registry.start();
      // The registry answers before it is elected; its first write waits for the election (a group
      // join, 3 s of initial rebalance delay on the reference), which must not be spent inside the
      // proxy's SCHEMA_REGISTRY_TIMEOUT_MS (it was, at load 29: 50002 after 10 s).
      await waitForRegistryGroup(
        bootstrap,
        GROUP_ID_DEFAULT,
        (view) => view.members.some((member) => member.leader !== null),
        REGISTRY_ELECTED_TIMEOUT_MS,
      );
      proxy = await startRestProxy({ bootstrap, port: proxyPort, schemaRegistryUrl: registry.url });
      url = proxy.url;
      clusterId =
        ((await call(url, '/v3/clusters')).json as { data: { cluster_id: string }[] }).data[0]?.cluster_id ??
        '';
    });

    after(async () => {
      await proxy?.close();
      await registry.stop();
      await target.stop();
    });

    it('avro: inline schemas registered and their ids answered; confluent-kafka reads them; its records read back through the proxy', async () => {
      await createTopic('rp-avro');
      const first = await call(url, '/topics/rp-avro', {
        method: 'POST',
        contentType: AVRO,
        body: {
          key_schema: '"string"',
          value_schema: USER_SCHEMA,
          records: [
            { key: 'u1', value: { name: 'Ann', age: 30, tags: ['a', 'b'], nick: { string: 'A' } } },
            { key: 'u2', value: { name: 'Bob', age: 41, tags: [], nick: null } },
          ],
        },
      });
      ok(first);
      const ids = first.json as {
        key_schema_id: number;
        value_schema_id: number;
        offsets: { offset: number }[];
      };
      assert.equal(typeof ids.key_schema_id, 'number');
      assert.equal(typeof ids.value_schema_id, 'number');
      assert.notEqual(ids.key_schema_id, ids.value_schema_id);
      const byId = await call(url, '/topics/rp-avro', {
        method: 'POST',
        contentType: AVRO,
        body: {
          key_schema_id: ids.key_schema_id,
          value_schema_id: ids.value_schema_id,
          records: [{ key: 'u3', value: { name: 'Cy', age: 7, tags: ['c'], nick: null } }],
        },
      });
      ok(byId);
      assert.deepEqual(byId.json, {
        offsets: [{ partition: 0, offset: 2, error_code: null, error: null }],
        key_schema_id: ids.key_schema_id,
        value_schema_id: ids.value_schema_id,
      });
      const subjects = await call(registry.url, '/subjects');
      assert.ok(
        (subjects.json as string[]).includes('rp-avro-value') &&
          (subjects.json as string[]).includes('rp-avro-key'),
      );
      const read = await python(['consume', bootstrap, registry.url, 'avro', 'rp-avro', '3']);
      const records = read.records as { key: string; value: unknown; prefix: string }[];
      assert.deepEqual(
        records.map((r) => [r.key, r.value]),
        [
          ['u1', { name: 'Ann', age: 30, tags: ['a', 'b'], nick: 'A' }],
          ['u2', { name: 'Bob', age: 41, tags: [], nick: null }],
          ['u3', { name: 'Cy', age: 7, tags: ['c'], nick: null }],
        ],
      );
      assert.ok(records.every((r) => r.prefix === `00${ids.value_schema_id.toString(16).padStart(8, '0')}`));
      // The other way: confluent-kafka's AvroSerializer writes, a proxy consumer in avro reads.
      await createTopic('rp-avro-in');
      await python([
        'produce',
        bootstrap,
        registry.url,
        'avro',
        'rp-avro-in',
        USER_SCHEMA,
        JSON.stringify([
          { value: { name: 'Dee', age: 52, tags: ['x'], nick: 'D' } },
          { value: { name: 'Eve', age: 1, tags: [], nick: null } },
        ]),
      ]);
      const back = await readThroughProxy('avro', 'rp-avro-in', 2);
      assert.deepEqual(
        back.map((r) => [r.key, r.value]),
        [
          [null, { name: 'Dee', age: 52, tags: ['x'], nick: { string: 'D' } }],
          [null, { name: 'Eve', age: 1, tags: [], nick: null }],
        ],
      );
    });

    it('v3 records in AVRO: schema inline, then by schema_id; confluent-kafka reads them; a value its schema refuses is 422', async () => {
      await createTopic('rp-v3-avro');
      const path = `/v3/clusters/${clusterId}/topics/rp-v3-avro/records`;
      const first = await call(url, path, {
        method: 'POST',
        contentType: 'application/json',
        body: {
          value: { type: 'AVRO', schema: USER_SCHEMA, data: { name: 'Fay', age: 3, tags: [], nick: null } },
        },
      });
      ok(first);
      const value = (first.json as { value: { type: string; schema_id: number } }).value;
      assert.equal(value.type, 'AVRO');
      assert.equal(typeof value.schema_id, 'number');
      const second = await call(url, path, {
        method: 'POST',
        contentType: 'application/json',
        body: [1, 2]
          .map((i) =>
            JSON.stringify({
              value: {
                type: 'AVRO',
                schema_id: value.schema_id,
                data: { name: `G${i}`, age: i, tags: ['t'], nick: { string: 'g' } },
              },
            }),
          )
          .join('\n'),
      });
      ok(second);
      assert.deepEqual(
        second.text
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { offset: number }).offset),
        [1, 2],
      );
      const read = await python(['consume', bootstrap, registry.url, 'avro', 'rp-v3-avro', '3']);
      assert.deepEqual(
        (read.records as { value: unknown }[]).map((r) => r.value),
        [
          { name: 'Fay', age: 3, tags: [], nick: null },
          { name: 'G1', age: 1, tags: ['t'], nick: 'g' },
          { name: 'G2', age: 2, tags: ['t'], nick: 'g' },
        ],
      );
      const refused = await call(url, path, {
        method: 'POST',
        contentType: 'application/json',
        body: { value: { type: 'AVRO', schema_id: value.schema_id, data: { name: 'H' } } },
      });
      // v3 reports carry the HTTP status as error_code (Confluent's v3 error shape).
      assertError(refused, 422, 422, /value\.data/);
    });

    it('jsonschema: values checked and written in the wire format; confluent-kafka reads them; its records read back', async () => {
      await createTopic('rp-json');
      const produced = await call(url, '/topics/rp-json', {
        method: 'POST',
        contentType: JSONSCHEMA,
        body: {
          value_schema: ORDER_SCHEMA,
          records: [{ value: { id: 1, item: 'tea' } }, { value: { id: 2 } }],
        },
      });
      ok(produced);
      const id = (produced.json as { value_schema_id: number }).value_schema_id;
      assert.equal(typeof id, 'number');
      const read = await python(['consume', bootstrap, registry.url, 'json', 'rp-json', '2']);
      const records = read.records as { value: unknown; prefix: string }[];
      assert.deepEqual(
        records.map((r) => r.value),
        [{ id: 1, item: 'tea' }, { id: 2 }],
      );
      assert.ok(records.every((r) => r.prefix === `00${id.toString(16).padStart(8, '0')}`));
      await createTopic('rp-json-in');
      await python([
        'produce',
        bootstrap,
        registry.url,
        'json',
        'rp-json-in',
        ORDER_SCHEMA,
        JSON.stringify([{ value: { id: 9, item: 'cake' } }]),
      ]);
      const back = await readThroughProxy('jsonschema', 'rp-json-in', 1);
      assert.deepEqual(
        back.map((r) => r.value),
        [{ id: 9, item: 'cake' }],
      );
    });

    it('protobuf: the wire bytes carry the schema id and message index 0 before the message; the proxy reads it back', async () => {
      await createTopic('rp-proto');
      const produced = await call(url, '/topics/rp-proto', {
        method: 'POST',
        contentType: PROTOBUF,
        body: {
          value_schema:
            'syntax = "proto3"; package kstack.test; message Ping { string text = 1; int64 n = 2; } message Other { bool b = 1; }',
          records: [{ value: { text: 'hi', n: 5 } }],
        },
      });
      ok(produced);
      const id = (produced.json as { value_schema_id: number }).value_schema_id;
      const [raw] = await readWithKafkajs(bootstrap, 'rp-proto', 1);
      // 0x00, the id, message indexes [0] as one 0x00, then field 1 "hi" (0a 02 68 69) and field 2 = 5 (10 05).
      assert.equal(raw?.value?.toString('hex'), `00${id.toString(16).padStart(8, '0')}000a0268691005`);
      const back = await readThroughProxy('protobuf', 'rp-proto', 1);
      assert.deepEqual(
        back.map((r) => r.value),
        [{ text: 'hi', n: '5' }],
      );
    });

    it('bad schema input: 42201, 42202, 42203 naming the record, 42205 for a bad schema or unknown id', async () => {
      await createTopic('rp-bad-schema');
      const produce = (contentType: string, body: object) =>
        call(url, '/topics/rp-bad-schema', { method: 'POST', contentType, body });
      assertError(
        await produce(AVRO, {
          value_schema: USER_SCHEMA,
          records: [{ key: 'k', value: { name: 'a', age: 1, tags: [] } }],
        }),
        422,
        42201,
      );
      assertError(await produce(AVRO, { records: [{ value: { name: 'a' } }] }), 422, 42202);
      assertError(
        await produce(AVRO, {
          value_schema: USER_SCHEMA,
          records: [
            { value: { name: 'a', age: 1, tags: [] } },
            { value: { name: 'b', age: 'old', tags: [] } },
          ],
        }),
        422,
        42203,
        /records\[1\]\.value/,
      );
      // A JSON schema under the subject that holds Avro is refused by the registry (type changed).
      assertError(
        await produce(JSONSCHEMA, { value_schema: ORDER_SCHEMA, records: [{ value: { id: 1 } }] }),
        422,
        42205,
        /incompatible/,
      );
      await createTopic('rp-bad-json');
      const mismatch = await call(url, '/topics/rp-bad-json', {
        method: 'POST',
        contentType: JSONSCHEMA,
        body: { value_schema: ORDER_SCHEMA, records: [{ value: { id: 'one' } }] },
      });
      assertError(mismatch, 422, 42203, /records\[0\]\.value/);
      assertError(
        await produce(AVRO, { value_schema: '{"type": "recordz"}', records: [{ value: 1 }] }),
        422,
        42205,
      );
      assertError(
        await produce(AVRO, { value_schema_id: 987_654, records: [{ value: 1 }] }),
        422,
        42205,
        /987654|not found/i,
      );
      // Nothing was written by the refused requests.
      const offsets = await call(url, '/topics/rp-bad-schema/partitions/0/offsets');
      assert.deepEqual(offsets.json, { beginning_offset: 0, end_offset: 0 });
    });

    // Confluent's documented examples, on the embedded cluster only (CI time; see docs-examples.ts).
    if (target.kind === 'kstack')
      docsExamples({
        bootstrap,
        brokers: target.brokers,
        url: () => url,
        clusterId: () => clusterId,
        registryUrl: () => registry.url,
      });
  });
}
