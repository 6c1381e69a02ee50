/**
 * Confluent's v2 API: topics, partitions and brokers metadata, produce with embedded formats, and
 * consumer instances. Request bodies are checked against the JSON schemas below.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ConsumerInstance,
  type ConsumerManager,
  parseInstanceConfig,
  type TopicPartition,
} from './consumers.ts';
import { consumerFormatMismatch, partitionNotFound, unprocessable, unsupportedMediaType } from './errors.ts';
import { type EmbeddedFormat, type EmbeddedFormats, isEmbeddedFormat } from './formats.ts';
import { contentTypeOf, embeddedType, negotiate, readBody, sendJson, V2_TYPES } from './http.ts';
import type { KafkaSide } from './kafka.ts';
import type { RecordProducer } from './produce.ts';

export interface V2Context {
  readonly kafka: KafkaSide;
  readonly formats: EmbeddedFormats;
  readonly producer: RecordProducer;
  readonly consumers: ConsumerManager;
}

type Params = Record<string, string>;

const PARTITION_PARAM = /^(0|[1-9][0-9]{0,9})$/;

function partitionParam(topic: string, raw: string | undefined): number {
  if (raw === undefined || !PARTITION_PARAM.test(raw) || Number(raw) > 2_147_483_647) {
    throw partitionNotFound(topic, raw ?? '');
  }
  return Number(raw);
}

const produceSchema = {
  type: 'object',
  required: ['records'],
  properties: {
    records: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        properties: { partition: { type: 'integer', minimum: 0 } },
      },
    },
    key_schema: { type: ['string', 'null'] },
    key_schema_id: { type: ['integer', 'null'] },
    value_schema: { type: ['string', 'null'] },
    value_schema_id: { type: ['integer', 'null'] },
  },
} as const;

const topicPartitionSchema = {
  type: 'object',
  required: ['topic', 'partition'],
  properties: { topic: { type: 'string', minLength: 1 }, partition: { type: 'integer', minimum: 0 } },
} as const;

const partitionsSchema = {
  type: 'object',
  required: ['partitions'],
  properties: { partitions: { type: 'array', items: topicPartitionSchema } },
} as const;

const offsetsSchema = {
  type: 'object',
  required: ['offsets'],
  properties: {
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['topic', 'partition', 'offset'],
        properties: {
          topic: { type: 'string', minLength: 1 },
          partition: { type: 'integer', minimum: 0 },
          offset: { type: 'integer', minimum: 0 },
          metadata: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

const createConsumerSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._-]+$' },
    format: { type: 'string' },
    'auto.offset.reset': { type: 'string' },
    'auto.commit.enable': { type: ['string', 'boolean'] },
    'fetch.min.bytes': { type: ['string', 'integer'] },
    'consumer.request.timeout.ms': { type: ['string', 'integer'] },
  },
} as const;

const subscriptionSchema = {
  type: 'object',
  properties: {
    topics: { type: 'array', items: { type: 'string', minLength: 1 } },
    topic_pattern: { type: 'string', minLength: 1 },
  },
} as const;

interface ProduceBody {
  records: { key?: unknown; value?: unknown; partition?: number }[];
  key_schema?: string | null;
  key_schema_id?: number | null;
  value_schema?: string | null;
  value_schema_id?: number | null;
}

const EMBEDDED_TYPE = /^application\/vnd\.kafka\.([a-z]+)\.v2\+json$/;
const PRODUCE_TYPES = ['binary', 'json', 'avro', 'jsonschema', 'protobuf'].map((f) =>
  embeddedType(f as EmbeddedFormat),
);

function produceFormat(request: FastifyRequest): EmbeddedFormat {
  const type = contentTypeOf(request);
  const format = EMBEDDED_TYPE.exec(type)?.[1];
  if (format === undefined || !isEmbeddedFormat(format))
    throw unsupportedMediaType(type || '(none)', PRODUCE_TYPES);
  return format;
}

function partitionJson(p: {
  partition: number;
  leader: number;
  replicas: readonly number[];
  isr: readonly number[];
}) {
  return {
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas.map((broker) => ({
      broker,
      leader: broker === p.leader,
      in_sync: p.isr.includes(broker),
    })),
  };
}

export function registerV2(app: FastifyInstance, ctx: V2Context): void {
  const { kafka, consumers } = ctx;
  const answer = (request: FastifyRequest, reply: FastifyReply, status: number, body: unknown) =>
    sendJson(reply, negotiate(request, V2_TYPES), status, body);

  app.get('/topics', async (request, reply) => answer(request, reply, 200, await kafka.listTopics()));

  app.get('/topics/:topic', async (request, reply) => {
    const { topic = '' } = request.params as Params;
    negotiate(request, V2_TYPES);
    const partitions = await kafka.partitions(topic);
    const configs = Object.fromEntries((await kafka.topicConfigs(topic)).map((c) => [c.name, c.value]));
    return answer(request, reply, 200, { name: topic, configs, partitions: partitions.map(partitionJson) });
  });

  app.get('/topics/:topic/partitions', async (request, reply) => {
    const { topic = '' } = request.params as Params;
    negotiate(request, V2_TYPES);
    return answer(request, reply, 200, (await kafka.partitions(topic)).map(partitionJson));
  });

  app.get('/topics/:topic/partitions/:partition', async (request, reply) => {
    const { topic = '', partition } = request.params as Params;
    negotiate(request, V2_TYPES);
    return answer(
      request,
      reply,
      200,
      partitionJson(await kafka.partition(topic, partitionParam(topic, partition))),
    );
  });

  app.get('/topics/:topic/partitions/:partition/offsets', async (request, reply) => {
    const { topic = '', partition: raw } = request.params as Params;
    negotiate(request, V2_TYPES);
    const partition = partitionParam(topic, raw);
    await kafka.partition(topic, partition);
    const offsets = (await kafka.offsets(topic, [partition])).get(partition);
    return answer(request, reply, 200, {
      beginning_offset: Number(offsets?.beginning ?? -1n),
      end_offset: Number(offsets?.end ?? -1n),
    });
  });

  app.get('/brokers', async (request, reply) => {
    negotiate(request, V2_TYPES);
    const metadata = await kafka.metadata();
    return answer(request, reply, 200, { brokers: [...metadata.brokers.keys()].sort((a, b) => a - b) });
  });

  const produce = async (
    request: FastifyRequest,
    reply: FastifyReply,
    fixedPartition: string | undefined,
  ) => {
    const { topic = '' } = request.params as Params;
    const format = produceFormat(request);
    negotiate(request, V2_TYPES);
    const body = readBody<ProduceBody>(request, {
      types: [contentTypeOf(request)],
      schema: produceSchema,
    }) as ProduceBody;
    const partitions = await kafka.partitionsForProduce(topic);
    const target = fixedPartition === undefined ? undefined : partitionParam(topic, fixedPartition);
    if (target !== undefined && !partitions.some((p) => p.partition === target))
      throw partitionNotFound(topic, target);
    for (const record of body.records) {
      if (record.partition !== undefined && !partitions.some((p) => p.partition === record.partition)) {
        throw partitionNotFound(topic, record.partition);
      }
    }
    const codecs = await ctx.formats.produceCodecs(format, {
      topic,
      keySchema: body.key_schema ?? undefined,
      keySchemaId: body.key_schema_id ?? undefined,
      valueSchema: body.value_schema ?? undefined,
      valueSchemaId: body.value_schema_id ?? undefined,
      hasKeys: body.records.some((r) => r.key !== undefined && r.key !== null),
      hasValues: body.records.some((r) => r.value !== undefined && r.value !== null),
    });
    const outgoing = body.records.map((record, i) => ({
      key: codecs.key.encode(record.key, `records[${i}].key`),
      value: codecs.value.encode(record.value, `records[${i}].value`),
      partition: target ?? record.partition,
    }));
    const results = await ctx.producer.send(topic, partitions.length, outgoing);
    return answer(request, reply, 200, {
      // A failed record has neither partition nor offset, as in Confluent's v2 answer.
      offsets: results.map((r) => ({
        partition: r.error_code === null ? r.partition : null,
        offset: r.offset,
        error_code: r.error_code,
        error: r.error,
      })),
      key_schema_id: codecs.keySchemaId,
      value_schema_id: codecs.valueSchemaId,
    });
  };
  app.post('/topics/:topic', (request, reply) => produce(request, reply, undefined));
  app.post('/topics/:topic/partitions/:partition', (request, reply) =>
    produce(request, reply, (request.params as Params).partition),
  );

  // Consumer instances.
  app.post('/consumers/:group', async (request, reply) => {
    const { group = '' } = request.params as Params;
    negotiate(request, V2_TYPES);
    const body =
      readBody<Record<string, unknown>>(request, {
        types: V2_TYPES,
        schema: createConsumerSchema,
        optional: true,
      }) ?? {};
    const config = parseInstanceConfig(body);
    const instance = consumers.create(group, body.name as string | undefined, config);
    const base = `${request.protocol}://${request.headers.host ?? request.hostname}`;
    return answer(request, reply, 200, {
      instance_id: instance.id,
      base_uri: `${base}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(instance.id)}`,
    });
  });

  const prefix = '/consumers/:group/instances/:instance';
  const withInstance =
    (
      handler: (
        instance: ConsumerInstance,
        request: FastifyRequest,
        reply: FastifyReply,
      ) => Promise<FastifyReply>,
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { group = '', instance: id = '' } = request.params as Params;
      const instance = consumers.get(group, id);
      try {
        return await instance.run(() => handler(instance, request, reply));
      } finally {
        instance.lastUsedMs = Date.now();
      }
    };
  const noContent = (reply: FastifyReply) => reply.code(204).send();

  app.delete(prefix, async (request, reply) => {
    const { group = '', instance = '' } = request.params as Params;
    await consumers.delete(group, instance);
    return noContent(reply);
  });

  app.post(
    `${prefix}/subscription`,
    withInstance(async (instance, request, reply) => {
      const body = readBody<{ topics?: string[]; topic_pattern?: string }>(request, {
        types: V2_TYPES,
        schema: subscriptionSchema,
      }) as { topics?: string[]; topic_pattern?: string };
      if ((body.topics === undefined) === (body.topic_pattern === undefined)) {
        throw unprocessable('Invalid request: give exactly one of topics and topic_pattern');
      }
      await instance.subscribe(body.topics, body.topic_pattern);
      return noContent(reply);
    }),
  );
  app.get(
    `${prefix}/subscription`,
    withInstance(async (instance, request, reply) =>
      answer(request, reply, 200, { topics: instance.subscription.topics }),
    ),
  );
  app.delete(
    `${prefix}/subscription`,
    withInstance(async (instance, _request, reply) => {
      await instance.unsubscribe();
      return noContent(reply);
    }),
  );

  app.post(
    `${prefix}/assignments`,
    withInstance(async (instance, request, reply) => {
      const body = readBody<{ partitions: TopicPartition[] }>(request, {
        types: V2_TYPES,
        schema: partitionsSchema,
      });
      await instance.assign(body?.partitions ?? []);
      return noContent(reply);
    }),
  );
  app.get(
    `${prefix}/assignments`,
    withInstance(async (instance, request, reply) =>
      answer(request, reply, 200, { partitions: instance.assignment() }),
    ),
  );

  app.post(
    `${prefix}/positions`,
    withInstance(async (instance, request, reply) => {
      const body = readBody<{ offsets: (TopicPartition & { offset: number })[] }>(request, {
        types: V2_TYPES,
        schema: offsetsSchema,
      });
      instance.seek(
        (body?.offsets ?? []).map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
        })),
      );
      return noContent(reply);
    }),
  );
  for (const where of ['beginning', 'end'] as const) {
    app.post(
      `${prefix}/positions/${where}`,
      withInstance(async (instance, request, reply) => {
        const body = readBody<{ partitions: TopicPartition[] }>(request, {
          types: V2_TYPES,
          schema: partitionsSchema,
        });
        await instance.seekTo(body?.partitions ?? [], where);
        return noContent(reply);
      }),
    );
  }

  app.post(
    `${prefix}/offsets`,
    withInstance(async (instance, request, reply) => {
      const body = readBody<{ offsets: (TopicPartition & { offset: number })[] }>(request, {
        types: V2_TYPES,
        schema: offsetsSchema,
        optional: true,
      });
      await instance.commit(
        body?.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset) })),
      );
      return reply.code(200).send();
    }),
  );
  app.get(
    `${prefix}/offsets`,
    withInstance(async (instance, request, reply) => {
      const body = readBody<{ partitions: TopicPartition[] }>(request, {
        types: V2_TYPES,
        schema: partitionsSchema,
      });
      const committed = await instance.committed(body?.partitions ?? []);
      return answer(request, reply, 200, {
        offsets: committed.map((c) => ({
          topic: c.topic,
          partition: c.partition,
          offset: Number(c.offset),
          metadata: c.metadata,
        })),
      });
    }),
  );

  app.get(
    `${prefix}/records`,
    withInstance(async (instance, request, reply) => {
      const format = instance.config.format;
      const accept = request.headers.accept ?? '';
      const asked = EMBEDDED_TYPE.exec(accept.split(',')[0]?.split(';')[0]?.trim() ?? '')?.[1];
      if (asked !== undefined && asked !== format) throw consumerFormatMismatch(format, asked);
      const type = negotiate(request, [embeddedType(format)]);
      const query = request.query as Record<string, string | undefined>;
      const timeoutMs = wholeNumber(query.timeout, instance.config.requestTimeoutMs, 'timeout');
      const maxBytes = wholeNumber(query.max_bytes, ctx.consumers.requestMaxBytes, 'max_bytes');
      const records = await instance.records(timeoutMs, maxBytes);
      const body = [];
      for (const r of records) {
        const where = `${r.topic}-${r.partition}@${r.offset}`;
        body.push({
          topic: r.topic,
          key: await ctx.formats.decode(format, r.key, `key of ${where}`),
          value: await ctx.formats.decode(format, r.value, `value of ${where}`),
          partition: r.partition,
          offset: Number(r.offset),
        });
      }
      return sendJson(reply, type, 200, body);
    }),
  );
}

function wholeNumber(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,15}$/.test(raw))
    throw unprocessable(`Invalid request: query parameter ${name} '${raw}' is not a whole number`);
  return Number(raw);
}
