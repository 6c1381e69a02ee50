// Compatibility driver for kafkajs 2.2.4 (compat/PROTOCOL.md). kafkajs has no assign() and no static
// membership, only gzip built in, and legacy AlterConfigs only; where the driver emulates an op it
// says so in the step's message, and where it cannot it answers "unsupported".
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type {
  Admin,
  CompressionTypes as CompressionType,
  IHeaders,
  Kafka as KafkaClient,
  KafkaConfig,
  KafkaMessage,
} from 'kafkajs';
import kafkajs from 'kafkajs';
import { clientSecurity, unsecuredJws } from '../../runner/client-security.ts';
import {
  bytesIn,
  bytesOut,
  consumeFrom,
  failure,
  type Job,
  KAFKA_ERROR_NAMES,
  lagRow,
  num,
  runDriver,
  type Step,
  sortLagRows,
  sortRecords,
  str,
  timeoutOf,
  unsupported,
} from '../../runner/driver-kit.ts';
import type { Json } from '../../runner/match.ts';

// kafkajs is CommonJS: its named exports are reached through the default export.
const { AssignerProtocol, CompressionTypes, ConfigResourceTypes, Kafka, logLevel, Partitioners } = kafkajs;
const require = createRequire(import.meta.url);
const VERSION = (require('kafkajs/package.json') as { version: string }).version;
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);
/** kafkajs's older names for Kafka errors. */
const ALIASES: Record<string, string> = {
  UNKNOWN: 'UNKNOWN_SERVER_ERROR',
  NOT_LEADER_FOR_PARTITION: 'NOT_LEADER_OR_FOLLOWER',
};

interface Context {
  kafka: KafkaClient;
  admin?: Admin;
  clientId: string;
}

type RecordOut = { topic: string; partition: number; offset: number } & Record<string, Json>;

async function admin(context: Context): Promise<Admin> {
  if (!context.admin) {
    context.admin = context.kafka.admin({ retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 } });
    await context.admin.connect();
  }
  return context.admin;
}

function normalise(thrown: unknown): { error: string; message: string } {
  let error = thrown as {
    name?: string;
    type?: string;
    message?: string;
    cause?: unknown;
    errors?: unknown[];
    groups?: { error?: unknown }[];
  };
  for (let depth = 0; depth < 5; depth++) {
    if (error?.name === 'KafkaJSAggregateError' && error.errors?.[0]) error = error.errors[0] as typeof error;
    else if (error?.name === 'KafkaJSDeleteGroupsError' && error.groups?.[0]?.error)
      error = error.groups[0].error as typeof error;
    else if (error?.name === 'KafkaJSNumberOfRetriesExceeded' && error.cause)
      error = error.cause as typeof error;
    else break;
  }
  const message = `${error?.name ?? 'Error'}: ${error?.message ?? String(thrown)}`;
  if (typeof error?.type === 'string') return { error: ALIASES[error.type] ?? error.type, message };
  if (error?.name === 'KafkaJSRequestTimeoutError' || error?.name === 'KafkaJSTimeout')
    return { error: 'CLIENT_TIMEOUT', message };
  if (/does not host this topic-partition|not present in metadata/i.test(error?.message ?? '')) {
    return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message };
  }
  return { error: 'CLIENT_ERROR', message };
}

async function partitionsOf(context: Context, topic: string, step: Step): Promise<number[]> {
  const metadata = await (await admin(context)).fetchTopicMetadata({ topics: [topic] });
  const all = (metadata.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  const wanted = Array.isArray(step.partitions) ? (step.partitions as number[]) : all;
  for (const partition of wanted) {
    if (!all.includes(partition))
      throw failure('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${topic}-${partition}`);
  }
  return wanted;
}

function headersIn(headers: Json | undefined): IHeaders {
  const out: Record<string, (Buffer | null)[]> = {};
  for (const header of (headers ?? []) as { key: string; value: Json }[]) {
    if (header.value === null) throw unsupported('kafkajs cannot send a header with a null value');
    out[header.key] ??= [];
    out[header.key]!.push(bytesIn(header.value));
  }
  return Object.fromEntries(
    Object.entries(out).map(([key, values]) => [key, values.length === 1 ? values[0] : values]),
  ) as IHeaders;
}

function recordOut(topic: string, partition: number, message: KafkaMessage): RecordOut {
  const headers: Json[] = [];
  for (const [key, value] of Object.entries(message.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values)
      headers.push({ key, value: bytesOut(item === undefined ? null : Buffer.from(item as Buffer)) });
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: bytesOut(message.key),
    value: bytesOut(message.value),
    headers,
    timestamp: Number(message.timestamp),
  };
}

const CODECS: Record<string, CompressionType> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };

async function produce(step: Step, context: Context): Promise<Json> {
  const codec = typeof step.compression === 'string' ? step.compression : 'none';
  if (!(codec in CODECS)) throw unsupported(`kafkajs has no ${codec} codec built in (only gzip)`);
  const acks = step.acks === 'all' || step.acks === -1 || step.acks === undefined ? -1 : Number(step.acks);
  const idempotent = step.idempotent === true;
  const producer = context.kafka.producer({
    idempotent,
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: idempotent ? 1 : undefined,
    retry: {
      // Retries span the step's budget (as the Java driver's delivery.timeout.ms does), so that a leader
      // election longer than kafkajs's default 5 retries is waited out.
      retries:
        typeof step.retries === 'number' ? step.retries : Math.max(5, Math.floor(timeoutOf(step) / 2000)),
      initialRetryTime: 100,
      maxRetryTime: 2000,
    },
  });
  try {
    try {
      await producer.connect();
    } catch (thrown) {
      // An idempotent producer's connect() runs InitProducerId after a Metadata request for every topic
      // in the cluster (README.md, "leader-failover"): say so, since the step's own topic may be healthy.
      const { error, message } = normalise(thrown);
      const stage = idempotent
        ? 'producer.connect (Metadata for every topic, then InitProducerId)'
        : 'producer.connect';
      throw failure(error, `${stage}: ${message}`);
    }
    const topic = str(step, 'topic');
    const messages = (step.messages as Record<string, Json>[]).map((m) => {
      const partition =
        typeof m.partition === 'number'
          ? m.partition
          : typeof step.partition === 'number'
            ? step.partition
            : undefined;
      return {
        key: bytesIn(m.key),
        value: bytesIn(m.value),
        headers: headersIn(m.headers),
        ...(partition !== undefined ? { partition } : {}),
        ...(typeof m.timestamp === 'number' ? { timestamp: String(m.timestamp) } : {}),
      };
    });
    const metadata = await producer.send({
      topic,
      acks,
      compression: CODECS[codec],
      timeout: Math.min(30_000, timeoutOf(step)),
      messages,
    });
    // kafkajs reports one base offset per partition; records to a partition follow in send order.
    const next = new Map<number, number>();
    for (const entry of metadata)
      next.set(entry.partition, entry.baseOffset === undefined ? -1 : Number(entry.baseOffset));
    const byPartition = new Map<number, number>();
    return messages.map((m) => {
      const partition = m.partition ?? metadata[0]?.partition ?? 0;
      const base = next.get(partition) ?? -1;
      const index = byPartition.get(partition) ?? 0;
      byPartition.set(partition, index + 1);
      return { partition, offset: acks === 0 || base < 0 ? -1 : base + index };
    });
  } finally {
    await producer.disconnect();
  }
}

/** One transactional producer runs the step's transactions in turn (transaction(), send, commit/abort). */
async function transactionalProduce(step: Step, context: Context): Promise<Json> {
  const topic = str(step, 'topic');
  const producer = context.kafka.producer({
    transactionalId: str(step, 'transactionalId'),
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    const value: Json[] = [];
    for (const transaction of step.transactions as Record<string, Json>[]) {
      const messages = (transaction.messages as Record<string, Json>[]).map((m) => {
        const partition =
          typeof m.partition === 'number'
            ? m.partition
            : typeof step.partition === 'number'
              ? step.partition
              : 0;
        return { key: bytesIn(m.key), value: bytesIn(m.value), headers: headersIn(m.headers), partition };
      });
      const txn = await producer.transaction();
      const metadata = await txn.send({
        topic,
        acks: -1,
        timeout: Math.min(30_000, timeoutOf(step)),
        messages,
      });
      if (transaction.end === 'commit') await txn.commit();
      else await txn.abort();
      const next = new Map<number, number>();
      for (const entry of metadata) next.set(entry.partition, Number(entry.baseOffset ?? -1));
      value.push(
        messages.map((m) => {
          const offset = next.get(m.partition) ?? -1;
          next.set(m.partition, offset + 1);
          return { partition: m.partition, offset };
        }),
      );
    }
    return value;
  } finally {
    await producer.disconnect();
  }
}

/** consume with the isolation level the step names (kafkajs's own default is read_committed). */
function isolatedConsume(step: Step, context: Context): Promise<Json> {
  if (step.isolation !== 'read_committed' && step.isolation !== 'read_uncommitted') {
    throw failure('CLIENT_INVALID_ARGUMENT', 'isolation must be read_committed or read_uncommitted');
  }
  return consume(step, context, step.isolation === 'read_uncommitted');
}

/** kafkajs has no assign(): a throwaway group with auto-commit off stands in for it. */
async function consume(step: Step, context: Context, readUncommitted = false): Promise<Json> {
  const deadline = Date.now() + timeoutOf(step);
  const topic = str(step, 'topic');
  const partitions = await partitionsOf(context, topic, step);
  const from = consumeFrom(step);
  const positions = new Map<number, string>();
  const offsets = await (await admin(context)).fetchTopicOffsets(topic);
  for (const partition of partitions) {
    const range = offsets.find((o) => o.partition === partition)!;
    if (from === 'beginning') positions.set(partition, range.low);
    else if (from === 'end') positions.set(partition, range.high);
    else if ('offset' in from) {
      if (from.offset < Number(range.low) || from.offset > Number(range.high)) {
        throw unsupported(
          'kafkajs resets an out-of-range offset silently (it has no auto.offset.reset=none)',
        );
      }
      positions.set(partition, String(from.offset));
    } else {
      const found = await (await admin(context)).fetchTopicOffsetsByTimestamp(topic, from.timestamp);
      positions.set(partition, found.find((o) => o.partition === partition)?.offset ?? range.high);
    }
  }
  const count = num(step, 'count');
  const records: RecordOut[] = [];
  const consumer = context.kafka.consumer({
    groupId: `${context.clientId}-assign-${Date.now()}`,
    readUncommitted,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
    maxBytes: 64 * 1024 * 1024,
    maxBytesPerPartition: 16 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    // seek() throws until the throwaway group is joined; records fetched before the seek took effect
    // are dropped by position.
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!partitions.includes(partition) || records.length >= count) return;
        if (Number(message.offset) < Number(positions.get(partition) ?? 0)) return;
        if (records.some((r) => r.partition === partition && r.offset === Number(message.offset))) return;
        records.push(recordOut(topic, partition, message));
        if (records.length >= count) done();
      },
    });
    await Promise.race([
      joined,
      new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
    ]);
    for (const [partition, offset] of positions) consumer.seek({ topic, partition, offset });
    await Promise.race([
      finished,
      new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
    ]);
  } finally {
    await consumer.disconnect();
  }
  return sortRecords(records).slice(0, count);
}

async function groupConsume(step: Step, context: Context): Promise<Json> {
  if (typeof step.instanceId === 'string')
    throw unsupported('kafkajs has no static membership (group.instance.id)');
  const deadline = Date.now() + timeoutOf(step);
  const commit = typeof step.commit === 'string' ? step.commit : 'sync';
  const topics = step.topics as string[];
  const count = num(step, 'count');
  const consumer = context.kafka.consumer({
    groupId: str(step, 'group'),
    sessionTimeout: num(step, 'sessionTimeoutMs', 10_000),
    heartbeatInterval: 1000,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
  });
  let assignment: { topic: string; partition: number }[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const held = event.payload.memberAssignment as Record<string, number[]>;
    assignment = Object.entries(held)
      .flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  });
  const records: RecordOut[] = [];
  const next = new Map<string, { topic: string; partition: number; offset: string }>();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: step.reset !== 'latest' });
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.run({
    autoCommit: commit === 'auto',
    autoCommitInterval: 1000,
    eachMessage: async ({ topic, partition, message }) => {
      if (records.length >= count) return;
      records.push(recordOut(topic, partition, message));
      next.set(`${topic}:${partition}`, { topic, partition, offset: String(Number(message.offset) + 1) });
      if (records.length >= count) done();
    },
  });
  await Promise.race([
    finished,
    new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
  ]);
  await consumer.pause(topics.map((topic) => ({ topic })));
  if (commit === 'sync' && next.size > 0) await consumer.commitOffsets([...next.values()]);
  if (step.exit !== 'crash') await consumer.disconnect();
  return { records: sortRecords(records), assignment };
}

async function describeGroup(step: Step, context: Context): Promise<Json> {
  const { groups } = await (await admin(context)).describeGroups([str(step, 'group')]);
  const group = groups[0]!;
  const members = group.members.map((member) => {
    const decoded =
      member.memberAssignment.length > 0
        ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
        : null;
    const assignment = Object.entries(decoded?.assignment ?? {})
      .flatMap(([topic, partitions]) => (partitions as number[]).map((partition) => ({ topic, partition })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return { clientId: member.clientId, instanceId: null, assignment };
  });
  members.sort((a, b) => a.clientId.localeCompare(b.clientId));
  return {
    group: group.groupId,
    state: group.state,
    protocolType: group.protocolType,
    protocol: group.protocol,
    members,
  };
}

async function groupOffsets(step: Step, context: Context): Promise<Json> {
  const client = await admin(context);
  const groupId = str(step, 'group');
  const topic = typeof step.topic === 'string' ? step.topic : undefined;
  const fetched = await client.fetchOffsets({ groupId, ...(topic ? { topics: [topic] } : {}) });
  const rows: Record<string, Json>[] = [];
  for (const entry of fetched) {
    const ends = await client.fetchTopicOffsets(entry.topic);
    for (const p of entry.partitions) {
      const offset = Number(p.offset);
      if (offset < 0 && !topic) continue;
      const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? -1);
      rows.push(lagRow(entry.topic, p.partition, offset, end));
    }
  }
  return sortLagRows(rows);
}

async function listOffsets(step: Step, context: Context): Promise<Json> {
  const topic = str(step, 'topic');
  const partition = num(step, 'partition', 0);
  await partitionsOf(context, topic, { ...step, partitions: [partition] });
  const client = await admin(context);
  const spec = step.spec as Json;
  if (spec === 'earliest' || spec === 'latest') {
    const found = (await client.fetchTopicOffsets(topic)).find((o) => o.partition === partition)!;
    return { offset: Number(spec === 'earliest' ? found.low : found.high) };
  }
  if (
    typeof spec === 'object' &&
    spec !== null &&
    !Array.isArray(spec) &&
    typeof spec.timestamp === 'number'
  ) {
    // kafkajs answers the high watermark where Kafka answers -1, and does not return the timestamp.
    const found = await client.fetchTopicOffsetsByTimestamp(topic, spec.timestamp);
    return { offset: Number(found.find((o) => o.partition === partition)?.offset ?? -1) };
  }
  throw failure('CLIENT_INVALID_ARGUMENT', `bad spec ${JSON.stringify(spec)}`);
}

async function alterConfigs(step: Step, context: Context): Promise<Json> {
  // Only the legacy AlterConfigs exists in kafkajs: it replaces the topic's whole dynamic config, so the
  // driver reads the current topic-level entries, applies set/delete, and writes the result back.
  const client = await admin(context);
  const name = str(step, 'topic');
  const described = await client.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name }],
    includeSynonyms: false,
  });
  const resource = described.resources[0]!;
  if (resource.errorCode)
    throw failure(normalise({ type: codeName(resource.errorCode) }).error, resource.errorMessage ?? '');
  const current = new Map<string, string>();
  for (const entry of resource.configEntries) {
    if (!entry.isDefault && (entry as { configSource?: number }).configSource === 1)
      current.set(entry.configName, entry.configValue);
  }
  for (const key of (step.delete ?? []) as string[]) current.delete(key);
  for (const [key, value] of Object.entries((step.set ?? {}) as Record<string, string>))
    current.set(key, value);
  await client.alterConfigs({
    validateOnly: step.validateOnly === true,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name,
        configEntries: [...current].map(([n, v]) => ({ name: n, value: v })),
      },
    ],
  });
  return null;
}

/** Pause between two Metadata polls while a new topic's partitions get their leaders. */
const LEADER_POLL_MS = 100;

/**
 * Waits until every partition of a topic that CreateTopics just created has a leader. Kafka answers
 * CreateTopics once the controller has committed the topic, before every broker has applied it, so a
 * broker may still answer UNKNOWN_TOPIC_OR_PARTITION for a moment; kafkajs's waitForLeaders asks one
 * broker and fails on that answer (it retries only LEADER_NOT_AVAILABLE), which made setup steps fail
 * on a loaded machine. Like the Java client, the step's outcome is CreateTopics' own answer.
 */
async function waitForLeaders(context: Context, topic: string, deadline: number): Promise<void> {
  const client = await admin(context);
  for (;;) {
    let problem = 'no partitions yet';
    try {
      const { topics } = await client.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
    } catch (thrown) {
      const { error, message } = normalise(thrown);
      if (error !== 'UNKNOWN_TOPIC_OR_PARTITION' && error !== 'LEADER_NOT_AVAILABLE') throw thrown;
      problem = message;
    }
    if (Date.now() > deadline)
      throw failure('CLIENT_TIMEOUT', `created ${topic}, but its partitions have no leaders yet: ${problem}`);
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
  }
}

function codeName(code: number): string {
  return KAFKA_ERROR_NAMES[code] ?? `KAFKA_ERROR_${code}`;
}

const handlers: Record<string, (step: Step, context: Context) => Promise<Json>> = {
  clientInfo: async () => ({ name: 'kafkajs', version: VERSION, library: `kafkajs ${VERSION}` }),
  sleep: async (step) => {
    await new Promise((resolve) => setTimeout(resolve, num(step, 'ms')));
    return null;
  },
  createTopic: async (step, context) => {
    const deadline = Date.now() + timeoutOf(step);
    const created = await (await admin(context)).createTopics({
      validateOnly: step.validateOnly === true,
      // kafkajs's own wait gives up on the first UNKNOWN_TOPIC_OR_PARTITION: see waitForLeaders.
      waitForLeaders: false,
      timeout: timeoutOf(step),
      topics: [
        {
          topic: str(step, 'topic'),
          numPartitions: num(step, 'partitions', 1),
          replicationFactor: num(step, 'replicationFactor', -1),
          configEntries: Object.entries((step.configs ?? {}) as Record<string, string>).map(
            ([name, value]) => ({ name, value }),
          ),
        },
      ],
    });
    if (!created)
      throw failure('TOPIC_ALREADY_EXISTS', 'kafkajs createTopics answered false (the topic exists)');
    if (step.validateOnly !== true) await waitForLeaders(context, str(step, 'topic'), deadline);
    return null;
  },
  describeTopic: async (step, context) => {
    const { topics } = await (await admin(context)).fetchTopicMetadata({ topics: [str(step, 'topic')] });
    const topic = topics[0]!;
    return {
      topic: topic.name,
      partitions: topic.partitions
        .map((p) => ({
          partition: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: [...p.isr].sort((a, b) => a - b),
        }))
        .sort((a, b) => a.partition - b.partition),
    };
  },
  listTopics: async (step, context) => {
    const names = await (await admin(context)).listTopics();
    return names.filter((n) => step.includeInternal === true || !INTERNAL_TOPICS.has(n)).sort();
  },
  deleteTopic: async (step, context) => {
    await (await admin(context)).deleteTopics({ topics: [str(step, 'topic')], timeout: timeoutOf(step) });
    return null;
  },
  createPartitions: async (step, context) => {
    await (await admin(context)).createPartitions({
      topicPartitions: [{ topic: str(step, 'topic'), count: num(step, 'count') }],
    });
    return null;
  },
  describeConfigs: async (step, context) => {
    const names = Array.isArray(step.names) ? (step.names as string[]) : undefined;
    const { resources } = await (await admin(context)).describeConfigs({
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: str(step, 'topic'),
          ...(names ? { configNames: names } : {}),
        },
      ],
      includeSynonyms: false,
    });
    const resource = resources[0]!;
    if (resource.errorCode) throw failure(codeName(resource.errorCode), resource.errorMessage ?? '');
    const out: Record<string, Json> = {};
    for (const entry of [...resource.configEntries].sort((a, b) =>
      a.configName.localeCompare(b.configName),
    )) {
      out[entry.configName] = entry.isSensitive ? null : entry.configValue;
    }
    return out;
  },
  alterConfigs,
  metadata: async (step, context) => {
    if (step.allowAutoCreate === true)
      throw unsupported("kafkajs's admin never asks for automatic topic creation");
    const client = await admin(context);
    const cluster = await client.describeCluster();
    const names = Array.isArray(step.topics) ? (step.topics as string[]) : (await client.listTopics()).sort();
    const topics: Json[] = [];
    for (const name of names) {
      try {
        const { topics: found } = await client.fetchTopicMetadata({ topics: [name] });
        topics.push({ topic: name, error: null, partitions: found[0]?.partitions.length ?? 0 });
      } catch (error) {
        topics.push({ topic: name, error: normalise(error).error, partitions: 0 });
      }
    }
    return {
      brokers: cluster.brokers
        .map((b) => ({ id: b.nodeId, host: b.host, port: b.port }))
        .sort((a, b) => a.id - b.id),
      topics,
    };
  },
  produce,
  consume,
  transactionalProduce,
  isolatedConsume,
  listOffsets,
  groupConsume,
  commitOffsets: async (step, context) => {
    const client = await admin(context);
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of step.offsets as { topic: string; partition: number; offset: number }[]) {
      byTopic.set(o.topic, [
        ...(byTopic.get(o.topic) ?? []),
        { partition: o.partition, offset: String(o.offset) },
      ]);
    }
    for (const [topic, partitions] of byTopic)
      await client.setOffsets({ groupId: str(step, 'group'), topic, partitions });
    return null;
  },
  listGroups: async (_step, context) => {
    // ListGroups v0-2 carries no state: the entries have none.
    const { groups } = await (await admin(context)).listGroups();
    return groups.map((g) => ({ group: g.groupId })).sort((a, b) => a.group.localeCompare(b.group));
  },
  describeGroup,
  deleteGroup: async (step, context) => {
    await (await admin(context)).deleteGroups([str(step, 'group')]);
    return null;
  },
  groupOffsets,
};

/**
 * kafkajs is silent unless KSTACK_KAFKAJS_LOG names a file: then its debug log (every request, retry
 * and metadata refresh) is appended there as JSON lines, for diagnosing a failing cell.
 */
function kafkajsLogging(): Pick<KafkaConfig, 'logLevel' | 'logCreator'> {
  const file = process.env.KSTACK_KAFKAJS_LOG;
  if (!file) return { logLevel: logLevel.NOTHING };
  return {
    logLevel: logLevel.DEBUG,
    logCreator: () => (entry) => {
      const { timestamp, logger: _logger, message, ...rest } = entry.log;
      fs.appendFileSync(
        file,
        `${JSON.stringify({ timestamp, pid: process.pid, namespace: entry.namespace, level: entry.label, message, ...rest })}\n`,
      );
    },
  };
}

/** The security profile's client settings (compat/runner/client-security.ts) as kafkajs options. */
function kafkajsSecurity(): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const security = clientSecurity();
  if (security === undefined) return {};
  const tls = security.protocol === 'SSL' || security.protocol === 'SASL_SSL';
  const config: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls)
    config.ssl = security.caFile === undefined ? true : { ca: [fs.readFileSync(security.caFile, 'utf8')] };
  if (security.mechanism === 'OAUTHBEARER') {
    // kafkajs asks the application for the token: an unsecured JWS, which Kafka's default validator takes.
    const subject = security.username ?? '';
    config.sasl = {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({ value: unsecuredJws(subject) }),
    };
  } else if (security.mechanism !== undefined) {
    const mechanism = security.mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512';
    config.sasl = {
      mechanism,
      username: security.username ?? '',
      password: security.password ?? '',
    } as KafkaConfig['sasl'];
  }
  return config;
}

await runDriver<Context>({
  info: { name: 'kafkajs', version: VERSION, library: `kafkajs ${VERSION}` },
  handlers,
  normalise,
  createContext: (job: Job) => {
    const clientId = `kstack-compat-${(job.jobId ?? 'job').replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const kafka = new Kafka({
      clientId,
      brokers: job.bootstrap.split(','),
      ...kafkajsSecurity(),
      ...kafkajsLogging(),
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    return { kafka, clientId };
  },
  close: async (context) => {
    await context.admin?.disconnect();
  },
});
