/**
 * The UI's JSON API under /api, which the page calls. Reads are GET; every change is a POST (see
 * guard.ts). Offsets travel as decimal strings (int64 does not fit a JSON number).
 */
import type { FastifyInstance } from 'fastify';
import { isConsumerProtocolType } from '../common/consumer-groups.ts';
import { show } from './decode.ts';
import { badRequest, confirmationNeeded, groupHasMembers, notFound, registryMissing } from './errors.ts';
import { BROWSE_MESSAGES_MAX, type RawMessage, toUiError, type UiKafka } from './kafka.ts';
import { type Rates, topicRate } from './rates.ts';
import type { RegistryClient } from './registry.ts';
import type { Watch } from './watch.ts';

/** Kafka's legal topic names (Topic.java): checked by Kafka too, whose message the page shows. */
const TOPIC_NAME_MAX = 249;
/** Most partitions the create form accepts (a bound on a typo, not Kafka's limit). */
export const CREATE_PARTITIONS_MAX = 10_000;
const BROWSE_DEFAULT = 50;
/** Longest browse filter text. */
const FILTER_TEXT_MAX = 1_000;

export interface ApiContext {
  readonly kafka: UiKafka;
  readonly registry: RegistryClient | undefined;
  readonly connectUrl: string | undefined;
  readonly readOnly: boolean;
  /** The Charts page's samples, for the topic list's rate (absent: no rate shown). */
  readonly rates?: Watch<Rates>;
}

function object(body: unknown, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`${what}: the body must be a JSON object`);
  }
  return body as Record<string, unknown>;
}

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw badRequest(`${field}: '${String(value)}' is not a whole number from ${min} to ${max}`);
  }
  return n;
}

function offsetText(value: unknown, field: string): bigint {
  if (typeof value !== 'string' && typeof value !== 'number') throw badRequest(`${field} is required`);
  const text = String(value).trim();
  if (!/^-?\d{1,19}$/.test(text)) throw badRequest(`${field}: '${text}' is not a whole number`);
  return BigInt(text);
}

/**
 * The browse filter: a message matches when its key, value (as UTF-8) or one of its headers
 * (`key: value`) contains the text. Empty or missing: every message.
 */
function containsFilter(text: string | undefined): ((message: RawMessage) => boolean) | undefined {
  if (text === undefined || text === '') return undefined;
  if (text.length > FILTER_TEXT_MAX) throw badRequest(`contains: longer than ${FILTER_TEXT_MAX} characters`);
  const needle = Buffer.from(text, 'utf8');
  return (m) =>
    (m.key?.includes(needle) ?? false) ||
    (m.value?.includes(needle) ?? false) ||
    m.headers.some(([k, v]) => `${k?.toString('utf8') ?? ''}: ${v?.toString('utf8') ?? ''}`.includes(text));
}

/** One message as the page gets it: offsets and timestamps as decimal strings, bytes as shown. */
async function present(m: RawMessage, registry: RegistryClient | undefined) {
  return {
    partition: m.partition,
    offset: String(m.offset),
    timestamp: String(m.timestamp),
    key: await show(m.key, registry),
    value: await show(m.value, registry),
    headers: m.headers.map(([k, v]) => ({
      key: k?.toString('utf8') ?? '',
      value: v === null ? null : v.toString('utf8'),
    })),
  };
}

/** The raw reading behind the Cluster page's under-replicated and offline counts. */
const CLUSTER_STATUS_TIMEOUT_MS = 5_000;

/**
 * The produce form's value through a registered schema (`valueSchema: {subject, version}`, version a
 * number or 'latest'; `value` the JSON text): Confluent's wire format, or undefined without one.
 */
async function schemaValue(body: Record<string, unknown>, registry: RegistryClient | undefined) {
  if (body.valueSchema === undefined || body.valueSchema === null) return undefined;
  const chosen = object(body.valueSchema, 'valueSchema');
  if (registry === undefined) throw registryMissing();
  if (typeof chosen.subject !== 'string' || chosen.subject === '') {
    throw badRequest('valueSchema.subject: a subject name is required');
  }
  const version =
    chosen.version === undefined || chosen.version === 'latest'
      ? 'latest'
      : wholeNumber(chosen.version, 'valueSchema.version', 1, 2 ** 31 - 1);
  if (typeof body.value !== 'string')
    throw badRequest('value: the JSON text of the value is required with a schema');
  return registry.encode(chosen.subject, version, body.value);
}

export function registerApi(app: FastifyInstance, context: ApiContext): void {
  const { kafka } = context;

  app.get('/api/cluster', async () => {
    // The client's Metadata leaves internal topics out; the under-replicated and offline counts come
    // from kstack status's raw reading of every topic (as Kafka's UnderReplicatedPartitions counts).
    const [[names, metadata], status] = await Promise.all([
      kafka.listTopics().then(async (all) => [all, await kafka.metadata(all)] as const),
      kafka.status(CLUSTER_STATUS_TIMEOUT_MS).catch(() => undefined),
    ]);
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    let partitions = 0;
    let underReplicated = 0;
    let offline = 0;
    for (const topic of metadata.topics.values()) {
      for (const p of topic.partitions) {
        partitions++;
        if (p.leader < 0) offline++;
        else leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
        if (p.isr.length < p.replicas.length) underReplicated++;
        for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
      }
    }
    const counts = new Map<string, number>();
    for (const [name, info] of metadata.topics) counts.set(name, info.partitions.length);
    // A broker that does not answer DescribeLogDirs leaves the sizes unknown, not the page broken.
    const sizes = await kafka.logSizes(counts).catch((error: Error) => error);
    return {
      clusterId: metadata.id,
      controllerId: metadata.controllerId,
      bootstrap: kafka.bootstrapBrokers.join(','),
      brokers: [...metadata.brokers]
        .sort(([a], [b]) => a - b)
        .map(([id, b]) => ({
          id,
          host: b.host,
          port: b.port,
          rack: b.rack,
          leaders: leaders.get(id) ?? 0,
          replicas: replicas.get(id) ?? 0,
          logBytes: sizes instanceof Error ? null : String(sizes.brokers.get(id) ?? 0n),
        })),
      logSizeError: sizes instanceof Error ? sizes.message : null,
      topics: metadata.topics.size,
      partitions,
      // Kafka's internal topics, left out of the counts above (as kafbat, the cards say both): those
      // ListTopics names that the client's Metadata leaves out; their partitions from the raw reading,
      // when it saw the same topics (else null: a topic made between the two readings).
      internalTopics: names.length - metadata.topics.size,
      internalPartitions:
        status !== undefined && status.topicCount === names.length
          ? status.partitionCount - partitions
          : null,
      underReplicated: status?.underReplicated.length ?? underReplicated,
      offline: status?.offline.length ?? offline,
      readOnly: context.readOnly,
      schemaRegistry: context.registry?.url ?? null,
      connect: context.connectUrl ?? null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/brokers/:id/configs', async (request) =>
    kafka.brokerConfigs(wholeNumber(request.params.id, 'broker id', 0, 2 ** 31 - 1)),
  );

  app.get('/api/topics', async () => {
    const names = await kafka.listTopics();
    const metadata = await kafka.metadata(names);
    const counts = new Map<string, number>();
    for (const [name, info] of metadata.topics) counts.set(name, info.partitions.length);
    const [offsets, sizes] = await Promise.all([
      kafka.offsets(counts),
      kafka.logSizes(counts).catch(() => undefined),
    ]);
    const rates = context.rates?.latest();
    return [...metadata.topics]
      .map(([name, info]) => {
        let messages = 0n;
        for (let p = 0; p < info.partitions.length; p++) {
          const o = offsets.get(`${name}/${p}`);
          if (o !== undefined && o.end >= o.beginning && o.beginning >= 0n) messages += o.end - o.beginning;
        }
        return {
          name,
          internal: name.startsWith('__') || name === '_schemas',
          partitions: info.partitions.length,
          replicationFactor: info.partitions[0]?.replicas.length ?? 0,
          underReplicated: info.partitions.filter((p) => p.isr.length < p.replicas.length).length,
          messages: String(messages),
          // Null: unknown (a broker did not answer DescribeLogDirs; no Charts sample yet).
          bytes: sizes === undefined ? null : String(sizes.topics.get(name) ?? 0n),
          recordsPerSecond: rates === undefined ? null : topicRate(rates, name),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  });

  app.get<{ Params: { name: string } }>('/api/topics/:name', async (request) => {
    const { name } = request.params;
    const [partitions, configs] = await Promise.all([kafka.partitions(name), kafka.topicConfigs(name)]);
    return { name, partitions, configs };
  });

  app.post('/api/topics', async (request, reply) => {
    const body = object(request.body, 'create topic');
    const name = body.name;
    if (typeof name !== 'string' || name === '') throw badRequest('name: a topic name is required');
    if (name.length > TOPIC_NAME_MAX * 4)
      throw badRequest(`name: longer than ${TOPIC_NAME_MAX * 4} characters`);
    // -1 lets the broker use its num.partitions and default.replication.factor (the baseline defaults).
    const partitions = wholeNumber(body.partitions ?? -1, 'partitions', -1, CREATE_PARTITIONS_MAX);
    const replicationFactor = wholeNumber(body.replicationFactor ?? -1, 'replicationFactor', -1, 32_767);
    const configs: Record<string, string> = {};
    for (const [key, value] of Object.entries(object(body.configs ?? {}, 'configs'))) {
      if (typeof value !== 'string') throw badRequest(`configs.${key}: the value must be a string`);
      configs[key] = value;
    }
    const [created] = await kafka.createTopic(name, partitions, replicationFactor, configs);
    return reply
      .code(201)
      .send({ name, partitions: created?.partitions, replicationFactor: created?.replicas });
  });

  app.post<{ Params: { name: string } }>('/api/topics/:name/delete', async (request) => {
    const { name } = request.params;
    const body = object(request.body, 'delete topic');
    if (body.confirm !== name) throw confirmationNeeded(`deleting topic '${name}'`);
    await kafka.deleteTopic(name);
    return { deleted: name };
  });

  app.post<{ Params: { name: string } }>('/api/topics/:name/partitions', async (request) => {
    const { name } = request.params;
    const body = object(request.body, 'add partitions');
    const count = wholeNumber(body.count, 'count', 1, CREATE_PARTITIONS_MAX);
    await kafka.addPartitions(name, count);
    return { name, partitions: count };
  });

  app.post<{ Params: { name: string } }>('/api/topics/:name/configs', async (request) => {
    const body = object(request.body, 'set config');
    if (typeof body.name !== 'string' || body.name === '')
      throw badRequest('name: the config name is required');
    if (typeof body.value !== 'string') throw badRequest(`value: the value of ${body.name} must be a string`);
    await kafka.setTopicConfig(request.params.name, body.name, body.value);
    return { topic: request.params.name, name: body.name, value: body.value };
  });

  app.post<{ Params: { name: string } }>('/api/topics/:name/messages', async (request, reply) => {
    const body = object(request.body, 'produce');
    const text = (field: string): Buffer | undefined => {
      const value = body[field];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'string') throw badRequest(`${field}: must be a string (or null)`);
      return Buffer.from(value, 'utf8');
    };
    const headers = new Map<string, Buffer>();
    const rawHeaders = body.headers ?? [];
    if (!Array.isArray(rawHeaders)) throw badRequest('headers: must be a list of {key, value}');
    for (const [index, header] of rawHeaders.entries()) {
      const h = object(header, `headers[${index}]`);
      if (typeof h.key !== 'string' || h.key === '' || typeof h.value !== 'string') {
        throw badRequest(`headers[${index}]: key and value must be strings (key not empty)`);
      }
      headers.set(h.key, Buffer.from(h.value, 'utf8'));
    }
    const partition =
      body.partition === undefined || body.partition === null || body.partition === ''
        ? undefined
        : wholeNumber(body.partition, 'partition', 0, 2 ** 31 - 1);
    await kafka.requireTopic(request.params.name);
    const count = (await kafka.metadata([request.params.name])).topics.get(request.params.name)?.partitions
      .length;
    if (count === undefined) throw notFound(`topic '${request.params.name}'`);
    if (partition !== undefined && partition >= count) {
      throw badRequest(
        `partition: topic '${request.params.name}' has partitions 0 to ${count - 1}, not ${partition}`,
      );
    }
    const encoded = await schemaValue(body, context.registry);
    const written = await kafka.produce({
      topic: request.params.name,
      partition,
      key: text('key'),
      value: encoded?.bytes ?? text('value'),
      headers,
    });
    return reply.code(201).send({
      partition: written.partition,
      offset: String(written.offset),
      ...(encoded === undefined ? {} : { schemaId: encoded.id, schemaVersion: encoded.version }),
    });
  });

  app.get<{
    Params: { name: string };
    Querystring: {
      partition?: string;
      from?: string;
      offset?: string;
      timestamp?: string;
      limit?: string;
      contains?: string;
    };
  }>('/api/topics/:name/messages', async (request) => {
    const { name } = request.params;
    const q = request.query;
    const partition = wholeNumber(q.partition ?? '0', 'partition', 0, 2 ** 31 - 1);
    const limit = wholeNumber(q.limit ?? String(BROWSE_DEFAULT), 'limit', 1, BROWSE_MESSAGES_MAX);
    const partitions = await kafka.partitions(name);
    const p = partitions.find((x) => x.partition === partition);
    if (p === undefined) throw badRequest(`partition: topic '${name}' has no partition ${partition}`);
    const beginning = BigInt(p.beginning);
    const end = BigInt(p.end);
    const from = q.from ?? 'beginning';
    let start: bigint;
    switch (from) {
      case 'beginning':
        start = beginning;
        break;
      case 'end':
        start = end - BigInt(limit) > beginning ? end - BigInt(limit) : beginning;
        break;
      case 'offset':
        start = offsetText(q.offset, 'offset');
        if (start < beginning) start = beginning;
        break;
      case 'timestamp': {
        const at = offsetText(q.timestamp, 'timestamp');
        const found = (await kafka.offsetsForTime(name, [partition], at)).get(partition) ?? -1n;
        start = found < 0n ? end : found;
        break;
      }
      default:
        throw badRequest(`from: '${from}' is not one of beginning, end, offset, timestamp`);
    }
    const accept = containsFilter(q.contains);
    const raw = start >= end ? [] : await kafka.read(name, partition, start, end, limit, accept);
    const messages = await Promise.all(raw.map((m) => present(m, context.registry)));
    return { topic: name, partition, beginning: p.beginning, end: p.end, start: String(start), messages };
  });

  // Open tails end when the server closes (they would otherwise hold its connections open).
  const tails = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const abort of tails) abort.abort();
  });

  // Live tail as server-sent events: a `position` event with the offset it starts from (the log end
  // when it starts), then one `messages` event per batch appended to the partition (each
  // at most TAIL_MESSAGES_PER_EVENT), an `error` event and the end of the stream if Kafka fails.
  app.get<{ Params: { name: string }; Querystring: { partition?: string } }>(
    '/api/topics/:name/tail',
    async (request, reply) => {
      const { name } = request.params;
      const partition = wholeNumber(request.query.partition ?? '0', 'partition', 0, 2 ** 31 - 1);
      // Checked before the stream starts, so that these are still plain answers.
      await kafka.requireTopic(name);
      kafka.checkTailLimit();
      const abort = new AbortController();
      tails.add(abort);
      const stream = kafka.tail(name, partition, abort.signal);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      raw.write(': tail started\n\n');
      raw.on('close', () => abort.abort());
      const send = (event: string, data: unknown) =>
        raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      try {
        let step = await stream.next();
        while (!step.done && !abort.signal.aborted) {
          const { from, messages } = step.value;
          if (messages.length === 0) send('position', { offset: String(from) });
          else send('messages', await Promise.all(messages.map((m) => present(m, context.registry))));
          step = await stream.next();
        }
      } catch (error) {
        if (!abort.signal.aborted) send('error', toUiError(error).body().error);
      } finally {
        abort.abort();
        tails.delete(abort);
        await stream.return(undefined).catch(() => {});
        raw.end();
      }
    },
  );

  app.get('/api/groups', async () => {
    const groups = await kafka.groups();
    return groups.map((g) => ({ id: g.id, state: g.state, protocolType: g.protocolType, type: g.groupType }));
  });

  const groupView = async (id: string) => {
    const group = await kafka.describeGroup(id);
    // Another protocol's group (`sr`, `connect`) commits no offsets: no lag to show.
    const committed = isConsumerProtocolType(group.protocolType) ? await kafka.committedOffsets(id) : [];
    const counts = new Map<string, number>();
    for (const c of committed) counts.set(c.topic, Math.max(counts.get(c.topic) ?? 0, c.partition + 1));
    const ends = await kafka.offsets(counts);
    let totalLag = 0n;
    const offsets = committed.map((c) => {
      const end = ends.get(`${c.topic}/${c.partition}`)?.end ?? -1n;
      const lag = end >= c.offset ? end - c.offset : 0n;
      totalLag += lag;
      return {
        topic: c.topic,
        partition: c.partition,
        committed: String(c.offset),
        end: String(end),
        lag: String(lag),
      };
    });
    return {
      id,
      state: group.state,
      protocol: group.protocol,
      protocolType: group.protocolType,
      members: [...group.members.values()].map((m) => ({
        id: m.id,
        clientId: m.clientId,
        host: m.clientHost,
        instanceId: m.groupInstanceId,
        assignments: [...(m.assignments?.values() ?? [])].map((a) => ({
          topic: a.topic,
          partitions: a.partitions,
        })),
      })),
      offsets,
      totalLag: String(totalLag),
    };
  };

  app.get<{ Params: { id: string } }>('/api/groups/:id', async (request) => groupView(request.params.id));

  app.post<{ Params: { id: string } }>('/api/groups/:id/delete', async (request) => {
    const { id } = request.params;
    if (object(request.body, 'delete group').confirm !== id)
      throw confirmationNeeded(`deleting group '${id}'`);
    await kafka.deleteGroup(id);
    return { deleted: id };
  });

  app.post<{ Params: { id: string } }>('/api/groups/:id/reset', async (request) => {
    const { id } = request.params;
    const body = object(request.body, 'reset offsets');
    const topic = body.topic;
    if (typeof topic !== 'string' || topic === '') throw badRequest('topic: the topic to reset is required');
    const dryRun = body.dryRun !== false;
    const group = await kafka.describeGroup(id);
    if (group.members.size > 0) throw groupHasMembers(id, group.members.size);
    const partitions = await kafka.partitions(topic);
    const committed = new Map(
      (await kafka.committedOffsets(id)).filter((c) => c.topic === topic).map((c) => [c.partition, c.offset]),
    );
    const to = body.to;
    let targetOf: (p: {
      partition: number;
      beginning: bigint;
      end: bigint;
      current: bigint | undefined;
    }) => bigint;
    switch (to) {
      case 'earliest':
        targetOf = (p) => p.beginning;
        break;
      case 'latest':
        targetOf = (p) => p.end;
        break;
      case 'offset': {
        const offset = offsetText(body.value, 'value');
        targetOf = () => offset;
        break;
      }
      case 'shift': {
        const shift = offsetText(body.value, 'value');
        targetOf = (p) => (p.current ?? p.end) + shift;
        break;
      }
      case 'timestamp': {
        const at = offsetText(body.value, 'value');
        const found = await kafka.offsetsForTime(
          topic,
          partitions.map((p) => p.partition),
          at,
        );
        targetOf = (p) => {
          const o = found.get(p.partition) ?? -1n;
          return o < 0n ? p.end : o;
        };
        break;
      }
      default:
        throw badRequest(`to: '${String(to)}' is not one of earliest, latest, offset, timestamp, shift`);
    }
    // As kafka-consumer-groups does, a target outside [log start, log end] is moved to the nearest end.
    const plan = partitions.map((p) => {
      const beginning = BigInt(p.beginning);
      const end = BigInt(p.end);
      const current = committed.get(p.partition);
      let target = targetOf({ partition: p.partition, beginning, end, current });
      if (target < beginning) target = beginning;
      if (target > end) target = end;
      return { partition: p.partition, current: current === undefined ? null : String(current), target };
    });
    if (!dryRun) {
      await kafka.alterOffsets(
        id,
        topic,
        plan.map((p) => ({ partition: p.partition, offset: p.target })),
      );
    }
    return {
      group: id,
      topic,
      dryRun,
      partitions: plan.map((p) => ({ partition: p.partition, current: p.current, target: String(p.target) })),
    };
  });

  const registry = (): RegistryClient => {
    if (context.registry === undefined) throw registryMissing();
    return context.registry;
  };

  app.get('/api/schemas', async () => {
    const client = registry();
    const subjects = await client.subjects();
    return { url: client.url, subjects };
  });

  app.get<{ Params: { subject: string } }>('/api/schemas/:subject', async (request) => {
    const client = registry();
    const { subject } = request.params;
    const [versionNumbers, withDeleted] = await Promise.all([
      client.versions(subject),
      client.versions(subject, true),
    ]);
    const softDeleted = withDeleted.filter((v) => !versionNumbers.includes(v));
    const [versions, deletedVersions, compatibility] = await Promise.all([
      Promise.all(versionNumbers.map((v) => client.version(subject, v))),
      Promise.all(softDeleted.map((v) => client.version(subject, v, true))),
      client.compatibility(subject),
    ]);
    return { subject, compatibility, versions, deletedVersions };
  });

  /** The schema and its type from a body: `{schema, schemaType?}` (AVRO, JSON or PROTOBUF). */
  const schemaOf = (body: Record<string, unknown>): { schema: string; schemaType: string } => {
    if (typeof body.schema !== 'string' || body.schema.trim() === '')
      throw badRequest('schema: the schema text is required');
    const schemaType = body.schemaType ?? 'AVRO';
    if (schemaType !== 'AVRO' && schemaType !== 'JSON' && schemaType !== 'PROTOBUF') {
      throw badRequest(`schemaType: '${String(schemaType)}' is not one of AVRO, JSON, PROTOBUF`);
    }
    return { schema: body.schema, schemaType };
  };

  app.post<{ Params: { subject: string } }>('/api/schemas/:subject/versions', async (request, reply) => {
    const { schema, schemaType } = schemaOf(object(request.body, 'register'));
    const id = await registry().register(request.params.subject, schemaType, schema);
    return reply.code(201).send({ subject: request.params.subject, id });
  });

  app.post<{ Params: { subject: string } }>('/api/schemas/:subject/compatibility', async (request) => {
    const { schema, schemaType } = schemaOf(object(request.body, 'test compatibility'));
    return registry().testCompatibility(request.params.subject, schemaType, schema);
  });

  app.post<{ Params: { subject: string } }>('/api/schemas/:subject/config', async (request) => {
    const level = object(request.body, 'compatibility level').compatibility;
    if (typeof level !== 'string' || level === '') throw badRequest('compatibility: the level is required');
    return {
      subject: request.params.subject,
      compatibility: await registry().setCompatibility(request.params.subject, level),
    };
  });

  app.post<{ Params: { subject: string; version: string } }>(
    '/api/schemas/:subject/versions/:version/delete',
    async (request) => {
      const { subject } = request.params;
      const body = object(request.body, 'delete version');
      if (body.confirm !== subject) throw confirmationNeeded(`deleting a version of subject '${subject}'`);
      const version = wholeNumber(request.params.version, 'version', 1, 2 ** 31 - 1);
      // The registry removes only a soft-deleted version: a permanent delete soft deletes first (a
      // version already soft deleted refuses that, and the permanent delete then answers for itself).
      if (body.permanent === true)
        await registry()
          .deleteVersion(subject, version, false)
          .catch(() => {});
      const deleted = await registry().deleteVersion(subject, version, body.permanent === true);
      return { subject, version: deleted, permanent: body.permanent === true };
    },
  );

  app.post<{ Params: { subject: string } }>('/api/schemas/:subject/delete', async (request) => {
    const { subject } = request.params;
    const body = object(request.body, 'delete subject');
    if (body.confirm !== subject) throw confirmationNeeded(`deleting subject '${subject}'`);
    if (body.permanent === true)
      await registry()
        .deleteSubject(subject, false)
        .catch(() => {});
    const versions = await registry().deleteSubject(subject, body.permanent === true);
    return { subject, versions, permanent: body.permanent === true };
  });
}
