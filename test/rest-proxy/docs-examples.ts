/**
 * The request examples of Confluent's REST proxy documentation (the v2 API reference and the v3
 * OpenAPI examples), sent as they are written (paths, headers, bodies; a `Host` header is all we
 * leave out). Each answer is checked against the documented response: status, content type,
 * fields and their types, and every value the example fixes that a real cluster reproduces
 * (offsets and ids depend on the cluster, so they are checked against what was produced, not
 * against the example's numbers). `docsExamples()` registers them inside schemas.test.ts's
 * `kstack up` suite, whose proxy has a Schema Registry (for the Avro examples): a second cluster
 * and registry of their own would cost the unit run their start-up time again.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertError, call, type HttpAnswer, readWithKafkajs, waitFor } from './support.ts';

const V2 = 'application/vnd.kafka.v2+json';
/** The Accept header most of the documentation's v2 examples send. */
const V2_ACCEPT_ALL = 'application/vnd.kafka.v2+json, application/vnd.kafka+json, application/json';
const BINARY = 'application/vnd.kafka.binary.v2+json';
const JSON_FORMAT = 'application/vnd.kafka.json.v2+json';
const AVRO = 'application/vnd.kafka.avro.v2+json';

function ok(answer: HttpAnswer, status = 200, contentType?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  if (contentType !== undefined) assert.match(answer.contentType, contentType);
}

type Offsets = {
  key_schema_id: number | null;
  value_schema_id: number | null;
  offsets: { partition: number; offset: number; error_code: null; error: null }[];
};

/** The documented produce answer: schema ids, then one offset per record, partitions as given. */
function assertProduced(answer: HttpAnswer, partitions: (number | undefined)[], valueSchemaId?: 'id') {
  ok(answer, 200, /application\/vnd\.kafka\.v2\+json/);
  const body = answer.json as Offsets;
  assert.equal(body.key_schema_id, null);
  if (valueSchemaId === 'id') assert.ok(Number.isInteger(body.value_schema_id), answer.text);
  else assert.equal(body.value_schema_id, null);
  assert.equal(body.offsets.length, partitions.length);
  body.offsets.forEach((o, i) => {
    assert.ok(Number.isInteger(o.offset) && o.offset >= 0, answer.text);
    assert.deepEqual([o.error_code, o.error], [null, null]);
    const partition = partitions[i];
    if (partition !== undefined) assert.equal(o.partition, partition, answer.text);
  });
  return body;
}

export interface DocsExamplesContext {
  /** The brokers of the `kstack up` cluster the proxy serves, comma-separated. */
  readonly bootstrap: string;
  /** How many brokers it has: every test topic is replicated on each. */
  readonly brokers: number;
  /** The proxy's URL and the cluster's id, known once the suite's `before` has run. */
  url(): string;
  clusterId(): string;
  /** The Schema Registry the proxy uses. */
  registryUrl(): string;
}

/** Registers the documentation's examples as a suite; the proxy must have a Schema Registry. */
export function docsExamples(context: DocsExamplesContext): void {
  describe('Confluent REST proxy documentation examples', () => {
    const { bootstrap, brokers: brokerCount } = context;
    let url = '';
    let clusterId = '';
    const v3Topics = () => `/v3/clusters/${clusterId}/topics`;

    async function createTopic(name: string, partitions: number, configs: object[] = []) {
      ok(
        await call(url, v3Topics(), {
          method: 'POST',
          contentType: 'application/json',
          body: { topic_name: name, partitions_count: partitions, replication_factor: brokerCount, configs },
        }),
        201,
      );
    }

    before(async () => {
      url = context.url();
      clusterId = context.clusterId();
      assert.notEqual(clusterId, '');
      // The documentation's topic "test" has partitions 0-2 and a config override (its example
      // shows cleanup.policy=compact; a compacted topic refuses the keyless records the produce
      // examples send, so the override here is another one).
      await createTopic('test', 3, [{ name: 'compression.type', value: 'gzip' }]);
      await createTopic('test1', 1);
      await createTopic('test2', 1);
    });

    it('v2 topics, partitions and brokers: GET /topics, /topics/test, /topics/test/partitions[/1], /brokers', async () => {
      const topics = await call(url, '/topics', { accept: V2 });
      ok(topics, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.ok(Array.isArray(topics.json));
      assert.ok(
        ['test', 'test1', 'test2'].every((t) => (topics.json as string[]).includes(t)),
        topics.text,
      );

      const brokers = await call(url, '/brokers', { accept: V2_ACCEPT_ALL });
      ok(brokers, 200, /application\/vnd\.kafka\.v2\+json/);
      const ids = (brokers.json as { brokers: number[] }).brokers;
      assert.equal(ids.length, brokerCount, brokers.text);

      const topic = await call(url, '/topics/test', { accept: V2 });
      ok(topic, 200, /application\/vnd\.kafka\.v2\+json/);
      type Partition = {
        partition: number;
        leader: number;
        replicas: { broker: number; leader: boolean; in_sync: boolean }[];
      };
      const t = topic.json as { name: string; configs: Record<string, string>; partitions: Partition[] };
      assert.equal(t.name, 'test');
      assert.equal(t.configs['compression.type'], 'gzip');
      assert.equal(t.configs['cleanup.policy'], 'delete');
      // The documented shape, one replica per broker: the leader's replica says so, all in sync.
      assert.deepEqual(
        t.partitions.map((p) => p.partition),
        [0, 1, 2],
      );
      for (const p of t.partitions) {
        assert.deepEqual(p.replicas.map((r) => r.broker).sort(), [...ids].sort(), topic.text);
        assert.deepEqual(
          p.replicas.map((r) => ({ broker: r.broker, leader: r.broker === p.leader, in_sync: true })),
          p.replicas,
          topic.text,
        );
      }

      const partitions = await call(url, '/topics/test/partitions', { accept: V2_ACCEPT_ALL });
      ok(partitions, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.deepEqual(partitions.json, t.partitions);
      const one = await call(url, '/topics/test/partitions/1', { accept: V2_ACCEPT_ALL });
      ok(one, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.deepEqual(one.json, t.partitions[1]);
    });

    it('v2 produce: the binary, Avro and JSON examples to /topics/test and /topics/test/partitions/1; a consumer instance reads them back as documented', async () => {
      /** The partition of every record produced to "test", from the produce answers. */
      const produced: number[] = [];
      const post = async (path: string, contentType: string, body: object) => {
        const answer = await call(url, path, { method: 'POST', contentType, accept: V2_ACCEPT_ALL, body });
        for (const o of (answer.json as Partial<Offsets>).offsets ?? []) produced.push(o.partition);
        return answer;
      };
      const binaryRecords = [
        { key: 'a2V5', value: 'Y29uZmx1ZW50' },
        { value: 'a2Fma2E=', partition: 1 },
        { value: 'bG9ncw==' },
      ];
      // The documentation's Avro schema string lacks a comma before "records"; this is the same
      // request as valid JSON.
      const avroSchema = '{"name":"int","type": "int"}';
      const jsonRecords = [
        { key: 'somekey', value: { foo: 'bar' } },
        { value: ['foo', 'bar'], partition: 1 },
        { value: 53.5 },
      ];
      const binary = assertProduced(await post('/topics/test', BINARY, { records: binaryRecords }), [
        undefined,
        1,
        undefined,
      ]);
      assertProduced(
        await post('/topics/test', AVRO, {
          value_schema: avroSchema,
          records: [{ value: 12 }, { value: 24, partition: 1 }],
        }),
        [undefined, 1],
        'id',
      );
      assertProduced(await post('/topics/test', JSON_FORMAT, { records: jsonRecords }), [
        undefined,
        1,
        undefined,
      ]);
      const toPartition = assertProduced(
        await post('/topics/test/partitions/1', BINARY, {
          records: [{ key: 'a2V5', value: 'Y29uZmx1ZW50' }, { value: 'a2Fma2E=' }],
        }),
        [1, 1],
      );
      assert.equal(toPartition.offsets[1]?.offset, (toPartition.offsets[0]?.offset ?? -2) + 1);
      assertProduced(
        await post('/topics/test/partitions/1', AVRO, {
          value_schema: avroSchema,
          records: [{ value: 25 }, { value: 26 }],
        }),
        [1, 1],
        'id',
      );
      assertProduced(
        await post('/topics/test/partitions/1', JSON_FORMAT, {
          records: [{ key: 'somekey', value: { foo: 'bar' } }, { value: 53.5 }],
        }),
        [1, 1],
      );

      // "Create a new consumer instance": the documented path ends with a slash.
      const created = await call(url, '/consumers/testgroup/', {
        method: 'POST',
        contentType: V2,
        body: {
          name: 'my_consumer',
          format: 'binary',
          'auto.offset.reset': 'earliest',
          'auto.commit.enable': 'false',
        },
      });
      ok(created, 200, /application\/vnd\.kafka\.v2\+json/);
      const base = '/consumers/testgroup/instances/my_consumer';
      assert.deepEqual(created.json, { instance_id: 'my_consumer', base_uri: `${url}${base}` });

      // Subscription by list (replaced by a pattern, as documented), read back, then removed.
      const subscribe = (body: object) =>
        call(url, `${base}/subscription`, { method: 'POST', contentType: V2, body });
      ok(await subscribe({ topics: ['test1', 'test2'] }), 204);
      const subscription = await call(url, `${base}/subscription`, { accept: V2 });
      ok(subscription, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.deepEqual(subscription.json, { topics: ['test1', 'test2'] });
      ok(await subscribe({ topic_pattern: 'test.*' }), 204);
      const byPattern = (await call(url, `${base}/subscription`, { accept: V2 })).json as {
        topics: string[];
      };
      assert.deepEqual([...byPattern.topics].sort(), ['test', 'test1', 'test2']);
      ok(await call(url, `${base}/subscription`, { method: 'DELETE', accept: V2_ACCEPT_ALL }), 204);

      // Manual assignment of test-0 and test-1, as in the assignments example.
      const partitions = {
        partitions: [
          { topic: 'test', partition: 0 },
          { topic: 'test', partition: 1 },
        ],
      };
      ok(await call(url, `${base}/assignments`, { method: 'POST', contentType: V2, body: partitions }), 204);
      const assignments = await call(url, `${base}/assignments`, { accept: V2 });
      ok(assignments, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.deepEqual(assignments.json, partitions);

      // The three seek examples, each 204; the last (beginning) decides what is read next.
      const offsets2030 = {
        offsets: [
          { topic: 'test', partition: 0, offset: 20 },
          { topic: 'test', partition: 1, offset: 30 },
        ],
      };
      ok(await call(url, `${base}/positions`, { method: 'POST', contentType: V2, body: offsets2030 }), 204);
      ok(
        await call(url, `${base}/positions/end`, { method: 'POST', contentType: V2, body: partitions }),
        204,
      );
      ok(
        await call(url, `${base}/positions/beginning`, { method: 'POST', contentType: V2, body: partitions }),
        204,
      );

      // The binary records example: GET records?timeout=3000&max_bytes=300000.
      type Rec = {
        topic: string;
        key: string | null;
        value: string | null;
        partition: number;
        offset: number;
      };
      const read: Rec[] = [];
      // Partitions 0 and 1 hold every record the produce answers placed there.
      const onTwoPartitions = produced.filter((partition) => partition !== 2).length;
      assert.equal(produced.length, 14);
      await waitFor(`${onTwoPartitions} records of test-0 and test-1`, async () => {
        const answer = await call(url, `${base}/records?timeout=3000&max_bytes=300000`, { accept: BINARY });
        ok(answer, 200, /application\/vnd\.kafka\.binary\.v2\+json/);
        read.push(...(answer.json as Rec[]));
        return read.length >= onTwoPartitions ? true : undefined;
      });
      assert.equal(read.length, onTwoPartitions);
      for (const r of read) {
        assert.deepEqual(Object.keys(r).sort(), ['key', 'offset', 'partition', 'topic', 'value']);
        assert.equal(r.topic, 'test');
      }
      const first = binary.offsets[1];
      assert.deepEqual(
        read.find((r) => r.partition === first?.partition && r.offset === first.offset),
        { topic: 'test', key: null, value: 'a2Fma2E=', partition: 1, offset: first?.offset },
      );
      const keyed = binary.offsets[0];
      if (keyed !== undefined && keyed.partition !== 2)
        assert.deepEqual(
          read.find((r) => r.partition === keyed.partition && r.offset === keyed.offset),
          {
            topic: 'test',
            key: 'a2V5',
            value: 'Y29uZmx1ZW50',
            partition: keyed.partition,
            offset: keyed.offset,
          },
        );

      // Commit the example's offsets; the committed-offsets example answers offset + 1 and metadata "".
      const committed = await call(url, `${base}/offsets`, {
        method: 'POST',
        contentType: V2,
        body: offsets2030,
      });
      assert.ok(committed.status === 200 || committed.status === 204, committed.text);
      const got = await call(url, `${base}/offsets`, {
        method: 'GET',
        accept: V2_ACCEPT_ALL,
        body: partitions,
      });
      ok(got, 200, /application\/vnd\.kafka\.v2\+json/);
      assert.deepEqual(got.json, {
        offsets: [
          { topic: 'test', partition: 0, offset: 21, metadata: '' },
          { topic: 'test', partition: 1, offset: 31, metadata: '' },
        ],
      });

      // "Destroy the consumer instance": DELETE with the v2 content type and no body.
      ok(await call(url, base, { method: 'DELETE', contentType: V2 }), 204);
      assertError(await call(url, base, { method: 'DELETE', contentType: V2 }), 404, 40403);
    });

    it('v2 records in the JSON and Avro formats: the jsongroup and avrogroup examples', async () => {
      await createTopic('jsontest', 1);
      await createTopic('avrotest', 1);
      assertProduced(
        await call(url, '/topics/jsontest', {
          method: 'POST',
          contentType: JSON_FORMAT,
          body: {
            records: [
              { key: 'somekey', value: { foo: 'bar' } },
              { key: 'somekey', value: ['foo', 'bar'] },
            ],
          },
        }),
        [0, 0],
      );
      const userSchema = JSON.stringify({
        type: 'record',
        name: 'User',
        fields: [
          { name: 'id', type: 'int' },
          { name: 'name', type: 'string' },
        ],
      });
      assertProduced(
        await call(url, '/topics/avrotest', {
          method: 'POST',
          contentType: AVRO,
          body: {
            key_schema: '"int"',
            value_schema: userSchema,
            records: [
              { key: 1, value: { id: 1, name: 'Bill' } },
              { key: 2, value: { id: 2, name: 'Melinda' } },
            ],
          },
        }).then((answer) => {
          // Keys are Avro too here, so key_schema_id is an id as well.
          const body = answer.json as Offsets;
          assert.ok(Number.isInteger(body.key_schema_id), answer.text);
          return { ...answer, json: { ...body, key_schema_id: null } };
        }),
        [0, 0],
        'id',
      );
      const readAll = async (group: string, name: string, format: string, topic: string) => {
        ok(
          await call(url, `/consumers/${group}`, {
            method: 'POST',
            contentType: V2,
            body: { name, format, 'auto.offset.reset': 'earliest' },
          }),
        );
        const base = `/consumers/${group}/instances/${name}`;
        // Assigned rather than subscribed: the records example is the same either way, and an
        // assignment spares a group join (seconds of CI time).
        ok(
          await call(url, `${base}/assignments`, {
            method: 'POST',
            contentType: V2,
            body: { partitions: [{ topic, partition: 0 }] },
          }),
          204,
        );
        const records: unknown[] = [];
        const type = `application/vnd.kafka.${format}.v2+json`;
        await waitFor(`two ${format} records`, async () => {
          const answer = await call(url, `${base}/records?timeout=3000&max_bytes=300000`, { accept: type });
          ok(answer, 200, new RegExp(type.replaceAll('.', '\\.').replace('+', '\\+')));
          records.push(...(answer.json as unknown[]));
          return records.length >= 2 ? true : undefined;
        });
        ok(await call(url, base, { method: 'DELETE', contentType: V2 }), 204);
        return records;
      };
      assert.deepEqual(await readAll('jsongroup', 'my_json_consumer', 'json', 'jsontest'), [
        { topic: 'jsontest', key: 'somekey', value: { foo: 'bar' }, partition: 0, offset: 0 },
        { topic: 'jsontest', key: 'somekey', value: ['foo', 'bar'], partition: 0, offset: 1 },
      ]);
      assert.deepEqual(await readAll('avrogroup', 'my_avro_consumer', 'avro', 'avrotest'), [
        { topic: 'avrotest', key: 1, value: { id: 1, name: 'Bill' }, partition: 0, offset: 0 },
        { topic: 'avrotest', key: 2, value: { id: 2, name: 'Melinda' }, partition: 0, offset: 1 },
      ]);
    });

    it('v3 examples: clusters, CreateTopicRequest (uniform, dry run, too many replicas), configs :alter and PUT, ProduceRequest, ProduceBatchRequest and their documented errors', async () => {
      const clusters = await call(url, '/v3/clusters');
      ok(clusters, 200, /application\/json/);
      const list = clusters.json as { kind: string; metadata: { self: string }; data: { kind: string }[] };
      assert.equal(list.kind, 'KafkaClusterList');
      assert.equal(list.metadata.self, `${url}/v3/clusters`);
      assert.equal(list.data[0]?.kind, 'KafkaCluster');
      // not_found examples: an unknown cluster and an unknown endpoint.
      assertError(await call(url, '/v3/clusters/my-cluster'), 404, 404, /my-cluster/);
      assertError(await call(url, `/v3/clusters/${clusterId}/no-such-resource`), 404, 404);

      const uniform = {
        topic_name: 'topic-X',
        partitions_count: 64,
        replication_factor: 3,
        configs: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'compression.type', value: 'gzip' },
        ],
      };
      const create = (body: object) =>
        call(url, v3Topics(), { method: 'POST', contentType: 'application/json', body });
      // More replicas than brokers is the documented 40002.
      assertError(
        await create({ ...uniform, replication_factor: brokerCount + 1 }),
        400,
        40002,
        /[Rr]eplication factor/,
      );
      // The dry-run example (validate_only) answers the topic without creating it.
      const dryRun = await create({
        topic_name: 'topic-X',
        partitions_count: 64,
        replication_factor: brokerCount,
        validate_only: true,
      });
      ok(dryRun, 201, /application\/json/);
      assert.deepEqual(
        [(dryRun.json as { kind: string }).kind, (dryRun.json as { topic_name: string }).topic_name],
        ['KafkaTopic', 'topic-X'],
      );
      assertError(await call(url, `${v3Topics()}/topic-X`), 404, 40401);
      const created = await create({ ...uniform, replication_factor: brokerCount });
      ok(created, 201, /application\/json/);
      const topic = created.json as Record<string, unknown>;
      assert.deepEqual(
        [topic.kind, topic.topic_name, topic.partitions_count, topic.replication_factor, topic.is_internal],
        ['KafkaTopic', 'topic-X', 64, brokerCount, false],
      );
      assert.equal((topic.metadata as { self: string }).self, `${url}${v3Topics()}/topic-X`);
      const config = async (name: string) =>
        (await call(url, `${v3Topics()}/topic-X/configs/${name}`)).json as {
          value: string;
          is_default: boolean;
        };
      assert.equal((await config('compression.type')).value, 'gzip');

      // AlterTopicConfigBatchRequest: validate_only changes nothing; the batch itself does.
      const alter = (body: object) =>
        call(url, `${v3Topics()}/topic-X/configs:alter`, {
          method: 'POST',
          contentType: 'application/json',
          body,
        });
      const batch = [
        { name: 'cleanup.policy', operation: 'DELETE' },
        { name: 'compression.type', value: 'gzip' },
      ];
      ok(await alter({ data: batch, validate_only: true }), 204);
      assert.equal((await config('cleanup.policy')).value, 'compact');
      ok(await alter({ data: batch }), 204);
      await waitFor('cleanup.policy back to its default', async () => {
        const c = await config('cleanup.policy');
        return c.value === 'delete' && c.is_default ? true : undefined;
      });
      // UpdateTopicConfigRequest: PUT {"value": "gzip"} (here on another config, so the change shows).
      ok(
        await call(url, `${v3Topics()}/topic-X/configs/compression.type`, {
          method: 'PUT',
          contentType: 'application/json',
          body: { value: 'lz4' },
        }),
        204,
      );
      await waitFor('compression.type lz4', async () =>
        (await config('compression.type')).value === 'lz4' ? true : undefined,
      );

      // ProduceRequest examples "binary_and_json" and "string" to topic-1 (the topic of the
      // documented answer, produce_record_success); the answer is the documented report.
      await createTopic('topic-1', 2);
      const records = `${v3Topics()}/topic-1/records`;
      const produced = await call(url, records, {
        method: 'POST',
        contentType: 'application/json',
        body: {
          partition_id: 1,
          headers: [
            { name: 'Header-1', value: 'SGVhZGVyLTE=' },
            { name: 'Header-2', value: 'SGVhZGVyLTI=' },
          ],
          key: { type: 'BINARY', data: 'Zm9vYmFy' },
          value: { type: 'JSON', data: { foo: 'bar' } },
          timestamp: '2021-02-05T19:14:42Z',
        },
      });
      ok(produced, 200, /application\/json/);
      const report = produced.json as Record<string, unknown>;
      assert.deepEqual(
        [report.error_code, report.cluster_id, report.topic_name, report.partition_id, report.offset],
        [200, clusterId, 'topic-1', 1, 0],
      );
      assert.equal(new Date(report.timestamp as string).toISOString(), '2021-02-05T19:14:42.000Z');
      assert.deepEqual(
        [report.key, report.value],
        [
          { type: 'BINARY', size: 6 },
          { type: 'JSON', size: 13 },
        ],
      );
      const string = await call(url, records, {
        method: 'POST',
        contentType: 'application/json',
        body: { value: { type: 'STRING', data: 'My message' } },
      });
      ok(string, 200);
      assert.equal((string.json as { error_code: number }).error_code, 200);
      const [withHeaders] = (await readWithKafkajs(bootstrap, 'topic-1', 2)).filter((r) => r.partition === 1);
      assert.deepEqual(
        [
          withHeaders?.key?.toString(),
          withHeaders?.value?.toString(),
          withHeaders?.headers['Header-2']?.toString(),
        ],
        ['foobar', '{"foo":"bar"}', 'Header-2'],
      );

      // ProduceBatchRequest string_batch: 207 with both successes in order; then
      // produce_batch_record_success_and_failure (the second entry's data is not base64).
      const batchPath = `${v3Topics()}/topic-1/records:batch`;
      const postBatch = (entries: object[]) =>
        call(url, batchPath, { method: 'POST', contentType: 'application/json', body: { entries } });
      const both = await postBatch([
        { id: '1', value: { type: 'STRING', data: 'My first message' } },
        { id: '2', value: { type: 'STRING', data: 'My second message' } },
      ]);
      ok(both, 207, /application\/json/);
      const batchBody = both.json as {
        successes: { id: string; topic_name: string; partition_id: number; offset: number; value: unknown }[];
        failures: unknown[];
      };
      assert.deepEqual(batchBody.failures, []);
      assert.deepEqual(
        batchBody.successes.map((r) => [r.id, r.topic_name, r.value]),
        [
          ['1', 'topic-1', { type: 'STRING', size: 16 }],
          ['2', 'topic-1', { type: 'STRING', size: 17 }],
        ],
      );
      const [firstOk, secondOk] = batchBody.successes;
      if (firstOk?.partition_id === secondOk?.partition_id)
        assert.ok((secondOk?.offset ?? -1) > (firstOk?.offset ?? Infinity), both.text);
      const mixed = await postBatch([
        { id: '1', key: { type: 'BINARY', data: 'Zm9vYmFy' }, value: { type: 'JSON', data: { foo: 'bar' } } },
        { id: '2', value: { type: 'BINARY', data: 1 } },
      ]);
      ok(mixed, 207);
      const mixedBody = mixed.json as {
        successes: { id: string }[];
        failures: { id: string; error_code: number; message: string }[];
      };
      assert.deepEqual(
        mixedBody.successes.map((r) => r.id),
        ['1'],
      );
      assert.deepEqual(
        mixedBody.failures.map((f) => [f.id, f.error_code]),
        [['2', 400]],
      );
      assertError(
        await postBatch([
          { id: 'same', value: { type: 'STRING', data: 'a' } },
          { id: 'same', value: { type: 'STRING', data: 'b' } },
        ]),
        400,
        40002,
        /distinct/,
      );

      // produce_record_bad_binary_data (data not base64: 400) and an empty body (422).
      const bad = await call(url, records, {
        method: 'POST',
        contentType: 'application/json',
        body: { value: { type: 'BINARY', data: 1 } },
      });
      assert.equal(
        bad.status === 200 ? (bad.json as { error_code: number }).error_code : bad.status,
        400,
        bad.text,
      );
      assertError(
        await call(url, records, { method: 'POST', contentType: 'application/json', body: '' }),
        422,
        422,
      );
      // UnsupportedMediaType example: records need application/json.
      assertError(
        await call(url, records, { method: 'POST', contentType: 'text/plain', body: '{}' }),
        415,
        415,
      );
    });

    it('v3 ProduceRequest examples with registered schemas: schema_id_and_schema_version, latest_schema, null_and_empty_data, empty_value, binary_and_avro_with_subject_and_raw_schema', async () => {
      await createTopic('topic-2', 1);
      const registry = context.registryUrl();
      const register = async (subject: string, schema: string) => {
        const answer = await call(registry, `/subjects/${subject}/versions`, {
          method: 'POST',
          contentType: 'application/vnd.schemaregistry.v1+json',
          body: { schema },
        });
        ok(answer);
        return (answer.json as { id: number }).id;
      };
      // The examples' registry: an int key; value version 1 a record with foo, version 2 (latest) a string.
      const keyId = await register('topic-2-key', '"int"');
      ok(
        await call(registry, '/config/topic-2-value', {
          method: 'PUT',
          contentType: 'application/vnd.schemaregistry.v1+json',
          body: { compatibility: 'NONE' },
        }),
      );
      const fooSchema = { type: 'record', name: 'Foo', fields: [{ name: 'foo', type: 'string' }] };
      const fooId = await register('topic-2-value', JSON.stringify(fooSchema));
      const stringId = await register('topic-2-value', '"string"');
      const records = `${v3Topics()}/topic-2/records`;
      const produce = async (body: object) => {
        const answer = await call(url, records, { method: 'POST', contentType: 'application/json', body });
        ok(answer, 200, /application\/json/);
        const report = answer.json as { error_code: number; key: unknown; value: unknown; offset: number };
        assert.equal(report.error_code, 200, answer.text);
        return report;
      };
      const versioned = await produce({
        // schema_id 1 in the example: the id the key schema has in this registry.
        key: { subject_name_strategy: 'TOPIC_NAME', schema_id: keyId, data: 1000 },
        value: { schema_version: 1, data: { foo: 'bar' } },
      });
      assert.deepEqual(
        [
          (versioned.key as { type: string; schema_id: number }).schema_id,
          (versioned.value as { schema_id: number }).schema_id,
        ],
        [keyId, fooId],
      );
      assert.equal((versioned.key as { type: string }).type, 'AVRO');
      const latest = await produce({ key: { data: 1000 }, value: { data: 'foobar' } });
      assert.equal((latest.value as { schema_id: number }).schema_id, stringId);
      await produce({ key: { schema_id: keyId }, value: { schema_version: 1, data: null } });
      await produce({ key: { data: 1000 } });
      // A value its schema refuses is still refused: the latest value schema is a string.
      const refused = await call(url, records, {
        method: 'POST',
        contentType: 'application/json',
        body: { value: { data: { foo: 'bar' } } },
      });
      // v3 reports carry the HTTP status as error_code, as in schemas.test.ts.
      assertError(refused, 422, 422, /value\.data/);
      // The four records read back through an Avro consumer instance.
      const base = '/consumers/avro-v3-group/instances/reader';
      ok(
        await call(url, '/consumers/avro-v3-group', {
          method: 'POST',
          contentType: V2,
          body: { name: 'reader', format: 'avro', 'auto.offset.reset': 'earliest' },
        }),
      );
      ok(
        await call(url, `${base}/assignments`, {
          method: 'POST',
          contentType: V2,
          body: { partitions: [{ topic: 'topic-2', partition: 0 }] },
        }),
        204,
      );
      const read: { key: unknown; value: unknown; offset: number }[] = [];
      await waitFor('four Avro records of topic-2', async () => {
        const answer = await call(url, `${base}/records?timeout=3000`, { accept: AVRO });
        ok(answer);
        read.push(...(answer.json as typeof read));
        return read.length >= 4 ? true : undefined;
      });
      ok(await call(url, base, { method: 'DELETE', contentType: V2 }), 204);
      assert.deepEqual(
        read.map((r) => [r.offset, r.key, r.value]),
        [
          [0, 1000, { foo: 'bar' }],
          [1, 1000, 'foobar'],
          [2, null, null],
          [3, 1000, null],
        ],
      );

      // A BINARY key and an AVRO value with its subject and raw schema, registered under that subject.
      const withSubject = await call(url, `${v3Topics()}/topic-1/records`, {
        method: 'POST',
        contentType: 'application/json',
        body: {
          partition_id: 1,
          headers: [
            { name: 'Header-1', value: 'SGVhZGVyLTE=' },
            { name: 'Header-2', value: 'SGVhZGVyLTI=' },
          ],
          key: { type: 'BINARY', data: 'Zm9vYmFy' },
          value: { type: 'AVRO', subject: 'topic-1-key', schema: '{"type":"string"}', data: 'foobar' },
          timestamp: '2021-02-05T19:14:42Z',
        },
      });
      ok(withSubject, 200, /application\/json/);
      const latestOfSubject = await call(registry, '/subjects/topic-1-key/versions/latest');
      ok(latestOfSubject);
      assert.deepEqual(
        [(withSubject.json as { value: unknown }).value],
        [{ type: 'AVRO', size: 12, schema_id: (latestOfSubject.json as { id: number }).id }],
      );
    });
  });
}
