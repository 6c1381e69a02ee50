// Compatibility driver for @platformatic/kafka (compat/PROTOCOL.md). It speaks flexible protocol
// versions almost only. It has no assign(): a consumer of a throwaway group with explicit start
// offsets (stream mode "manual") stands in for it. Produced headers are a Map, so repeated header
// keys cannot be sent.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  Admin,
  type ClusterMetadata,
  ConfigResourceTypes,
  Consumer,
  IncrementalAlterConfigOperationTypes,
  type Message,
  type MessagesStream,
  Producer,
} from '@platformatic/kafka';
import { type ClientSecurity, clientSecurity, unsecuredJws } from '../../runner/client-security.ts';
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

const require = createRequire(import.meta.url);
const packageFile = require.resolve('@platformatic/kafka').replace(/dist\/index\.js$/, 'package.json');
const VERSION = (require(packageFile) as { version: string }).version;
const LEGACY_STATES: Record<string, string> = {
  PREPARING_REBALANCE: 'PreparingRebalance',
  COMPLETING_REBALANCE: 'CompletingRebalance',
  STABLE: 'Stable',
  DEAD: 'Dead',
  EMPTY: 'Empty',
};

interface Context {
  bootstrap: string[];
  clientId: string;
  admin?: Admin;
}

type RecordOut = { topic: string; partition: number; offset: number } & Record<string, Json>;

function baseOptions(context: Context, role: string, timeoutMs = 10_000) {
  return {
    clientId: `${context.clientId}-${role}`,
    bootstrapBrokers: context.bootstrap,
    retries: 3,
    retryDelay: 200,
    timeout: Math.min(timeoutMs, 30_000),
    ...platformaticSecurity(),
  };
}

/** The security profile's client settings (compat/runner/client-security.ts) as @platformatic/kafka options. */
function platformaticSecurity(): {
  tls?: { ca?: string[] };
  sasl?:
    | { mechanism: NonNullable<ClientSecurity['mechanism']>; username: string; password: string }
    | { mechanism: 'OAUTHBEARER'; token: string };
} {
  const security = clientSecurity();
  if (security === undefined) return {};
  return {
    ...(security.protocol === 'SSL' || security.protocol === 'SASL_SSL'
      ? { tls: security.caFile === undefined ? {} : { ca: [readFileSync(security.caFile, 'utf8')] } }
      : {}),
    ...(security.mechanism === undefined
      ? {}
      : security.mechanism === 'OAUTHBEARER'
        ? // An unsecured JWS for the principal, which Kafka's default validator takes.
          { sasl: { mechanism: 'OAUTHBEARER', token: unsecuredJws(security.username ?? '') } }
        : {
            sasl: {
              mechanism: security.mechanism,
              username: security.username ?? '',
              password: security.password ?? '',
            },
          }),
  };
}

function admin(context: Context): Admin {
  context.admin ??= new Admin(baseOptions(context, 'admin'));
  return context.admin;
}

function normalise(thrown: unknown): { error: string; message: string } {
  let error = thrown as {
    code?: string;
    apiId?: string;
    apiCode?: number;
    message?: string;
    errors?: unknown[];
    cause?: unknown;
  };
  for (let depth = 0; depth < 6; depth++) {
    if (typeof error?.apiId === 'string') break;
    if (Array.isArray(error?.errors) && error.errors.length > 0) error = error.errors[0] as typeof error;
    else if (error?.cause) error = error.cause as typeof error;
    else break;
  }
  const message = `${error?.code ?? 'Error'}: ${error?.message ?? String(thrown)}`;
  if (typeof error?.apiId === 'string')
    return { error: error.apiId === 'UNKNOWN' ? 'UNKNOWN_SERVER_ERROR' : error.apiId, message };
  if (typeof error?.apiCode === 'number')
    return { error: KAFKA_ERROR_NAMES[error.apiCode] ?? 'CLIENT_ERROR', message };
  if (error?.code === 'PLT_KFK_TIMEOUT') return { error: 'CLIENT_TIMEOUT', message };
  // The client refuses to go on when the broker's metadata does not list the topic.
  if (error?.code === 'PLT_KFK_USER' && /^Unknown topic /.test(error.message ?? ''))
    return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message };
  if (error?.code === 'PLT_KFK_USER') return { error: 'CLIENT_INVALID_ARGUMENT', message };
  return { error: 'CLIENT_ERROR', message };
}

async function topicMetadata(context: Context, topic: string): Promise<ClusterMetadata> {
  return admin(context).metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true });
}

async function partitionsOf(context: Context, topic: string, wanted: Json | undefined): Promise<number[]> {
  const metadata = await topicMetadata(context, topic);
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const all = Array.from({ length: count }, (_, i) => i);
  const chosen = Array.isArray(wanted) ? (wanted as number[]) : all;
  for (const partition of chosen) {
    if (!all.includes(partition))
      throw failure('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${topic}-${partition}`);
  }
  return chosen;
}

function recordOut(message: Message): RecordOut {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: Number(message.offset),
    key:
      message.key === undefined || message.key === null || (message.key as Buffer).length === undefined
        ? null
        : bytesOut(message.key),
    value: message.value === undefined || message.value === null ? null : bytesOut(message.value),
    headers: message.headerEntries.map(([key, value]) => ({
      key: Buffer.from(key).toString('utf8'),
      value: value === undefined || value === null ? null : bytesOut(value),
    })),
    timestamp: Number(message.timestamp),
  };
}

/** Reads messages until `count` arrived or the deadline passed, then closes the stream. */
async function collect(
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
  count: number,
  deadline: number,
  keep: (m: Message) => boolean,
) {
  const records: Message[] = [];
  let failed: unknown;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    stream.on('data', (message: Message) => {
      if (records.length < count && keep(message)) records.push(message);
      if (records.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    stream.on('error', (error: unknown) => {
      failed = error;
      clearTimeout(timer);
      resolve();
    });
  });
  if (failed) throw failed;
  return records;
}

async function consume(step: Step, context: Context): Promise<Json> {
  const deadline = Date.now() + timeoutOf(step);
  const topic = str(step, 'topic');
  const partitions = await partitionsOf(context, topic, step.partitions);
  const from = consumeFrom(step);
  const offsets: { topic: string; partition: number; offset: bigint }[] = [];
  const listed = await admin(context).listOffsets({
    topics: [
      { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: -2n })) },
    ],
  });
  const latest = await admin(context).listOffsets({
    topics: [
      { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) },
    ],
  });
  const byTime =
    typeof from === 'object' && 'timestamp' in from
      ? await admin(context).listOffsets({
          topics: [
            {
              name: topic,
              partitions: partitions.map((partitionIndex) => ({
                partitionIndex,
                timestamp: BigInt(from.timestamp),
              })),
            },
          ],
        })
      : undefined;
  for (const partition of partitions) {
    const low = listed[0]?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0n;
    const high = latest[0]?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0n;
    let offset: bigint;
    if (from === 'beginning') offset = low;
    else if (from === 'end') offset = high;
    else if ('offset' in from) offset = BigInt(from.offset);
    else {
      const found = byTime?.[0]?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? -1n;
      offset = found < 0n ? high : found;
    }
    offsets.push({ topic, partition, offset });
  }
  const consumer = new Consumer({
    ...baseOptions(context, 'reader', timeoutOf(step)),
    groupId: `${context.clientId}-assign-${Date.now()}`,
    maxWaitTime: 200,
    maxBytes: 64 * 1024 * 1024,
    maxBytesPerPartition: 16 * 1024 * 1024,
  });
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'manual',
      offsets,
      fallbackMode: 'fail',
      autocommit: false,
    });
    const records = await collect(stream, num(step, 'count'), deadline, (m) =>
      partitions.includes(m.partition),
    );
    await stream.close();
    return sortRecords(records.map(recordOut));
  } finally {
    await consumer.close(true).catch(() => {});
  }
}

const CODECS = new Set(['none', 'gzip', 'snappy', 'lz4', 'zstd']);

async function produce(step: Step, context: Context): Promise<Json> {
  const codec = typeof step.compression === 'string' ? step.compression : 'none';
  if (!CODECS.has(codec)) throw unsupported(`unknown codec ${codec}`);
  const acks = step.acks === 'all' || step.acks === -1 || step.acks === undefined ? -1 : Number(step.acks);
  const topic = str(step, 'topic');
  const messages = (step.messages as Record<string, Json>[]).map((m) => {
    const headers = new Map<Buffer, Buffer>();
    const seen = new Set<string>();
    for (const header of (m.headers ?? []) as { key: string; value: Json }[]) {
      if (seen.has(header.key))
        throw unsupported('@platformatic/kafka takes headers as a Map: a key cannot repeat');
      seen.add(header.key);
      headers.set(Buffer.from(header.key), bytesIn(header.value) as Buffer);
    }
    const partition =
      typeof m.partition === 'number'
        ? m.partition
        : typeof step.partition === 'number'
          ? step.partition
          : undefined;
    const key = bytesIn(m.key);
    const value = bytesIn(m.value);
    return {
      topic,
      ...(key !== null ? { key } : {}),
      ...(value !== null ? { value } : {}),
      headers,
      ...(partition !== undefined ? { partition } : {}),
      ...(typeof m.timestamp === 'number' ? { timestamp: BigInt(m.timestamp) } : {}),
    };
  });
  const producer = new Producer({
    ...baseOptions(context, 'producer', timeoutOf(step)),
    ...(typeof step.retries === 'number' ? { retries: step.retries } : {}),
    idempotent: step.idempotent === true,
    acks,
    autocreateTopics: true,
  });
  try {
    const result = await producer.send({
      messages,
      acks,
      compression: codec as 'none',
      idempotent: step.idempotent === true,
    });
    // The client reports one base offset per partition; records to a partition follow in send order.
    const base = new Map<number, number>();
    for (const entry of result.offsets ?? []) base.set(entry.partition, Number(entry.offset));
    const seen = new Map<number, number>();
    return messages.map((m) => {
      const partition = m.partition ?? result.offsets?.[0]?.partition ?? 0;
      const index = seen.get(partition) ?? 0;
      seen.set(partition, index + 1);
      const first = base.get(partition);
      return { partition, offset: acks === 0 || first === undefined || first < 0 ? -1 : first + index };
    });
  } finally {
    await producer.close().catch(() => {});
  }
}

async function groupConsume(step: Step, context: Context): Promise<Json> {
  const deadline = Date.now() + timeoutOf(step);
  const commit = typeof step.commit === 'string' ? step.commit : 'sync';
  const consumer = new Consumer({
    ...baseOptions(context, 'member', timeoutOf(step)),
    groupId: str(step, 'group'),
    sessionTimeout: num(step, 'sessionTimeoutMs', 10_000),
    heartbeatInterval: 1000,
    maxWaitTime: 200,
    ...(typeof step.instanceId === 'string' ? { groupInstanceId: step.instanceId } : {}),
  });
  let assignment: { topic: string; partition: number }[] = [];
  consumer.on(
    'consumer:group:join',
    (payload: { assignments?: { topic: string; partitions: number[] }[] }) => {
      assignment = (payload.assignments ?? [])
        .flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    },
  );
  const stream = await consumer.consume({
    topics: step.topics as string[],
    mode: 'committed',
    fallbackMode: step.reset === 'latest' ? 'latest' : 'earliest',
    autocommit: commit === 'auto' ? 1000 : false,
  });
  const records = await collect(stream, num(step, 'count'), deadline, () => true);
  if (commit === 'sync' && records.length > 0) {
    const last = new Map<string, Message>();
    for (const record of records) last.set(`${record.topic}:${record.partition}`, record);
    await consumer.commit({
      offsets: [...last.values()].map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset + 1n,
        leaderEpoch: m.leaderEpoch,
      })),
    });
  }
  if (step.exit !== 'crash') {
    await stream.close().catch(() => {});
    await consumer.close(true);
  }
  return { records: sortRecords(records.map(recordOut)), assignment };
}

async function describeGroup(step: Step, context: Context): Promise<Json> {
  const group = str(step, 'group');
  const groups = await admin(context).describeGroups({ groups: [group] });
  const found = groups.get(group);
  if (!found) throw failure('GROUP_ID_NOT_FOUND', `no description for ${group}`);
  const members = [...found.members.values()].map((member) => ({
    clientId: member.clientId,
    instanceId: member.groupInstanceId ?? null,
    assignment: [...(member.assignments?.values() ?? [])]
      .flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  }));
  members.sort(
    (a, b) => (a.instanceId ?? '').localeCompare(b.instanceId ?? '') || a.clientId.localeCompare(b.clientId),
  );
  return {
    group: found.id,
    state: LEGACY_STATES[found.state] ?? found.state,
    protocolType: found.protocolType,
    protocol: found.protocol,
    members,
  };
}

async function groupOffsets(step: Step, context: Context): Promise<Json> {
  const groupId = str(step, 'group');
  const topic = typeof step.topic === 'string' ? step.topic : undefined;
  const [group] = await admin(context).listConsumerGroupOffsets({ groups: [groupId] });
  const rows: Record<string, Json>[] = [];
  for (const entry of group?.topics ?? []) {
    if (topic && entry.name !== topic) continue;
    const ends = await admin(context).listOffsets({
      topics: [
        {
          name: entry.name,
          partitions: entry.partitions.map((p) => ({ partitionIndex: p.partitionIndex, timestamp: -1n })),
        },
      ],
    });
    for (const p of entry.partitions) {
      const offset = Number(p.committedOffset);
      if (offset < 0 && !topic) continue;
      const end = Number(
        ends[0]?.partitions.find((e) => e.partitionIndex === p.partitionIndex)?.offset ?? -1n,
      );
      rows.push(lagRow(entry.name, p.partitionIndex, offset, end));
    }
  }
  return sortLagRows(rows);
}

async function listOffsets(step: Step, context: Context): Promise<Json> {
  const topic = str(step, 'topic');
  const partition = num(step, 'partition', 0);
  await partitionsOf(context, topic, [partition]);
  const spec = step.spec as Json;
  let timestamp: bigint;
  if (spec === 'earliest') timestamp = -2n;
  else if (spec === 'latest') timestamp = -1n;
  else if (
    typeof spec === 'object' &&
    spec !== null &&
    !Array.isArray(spec) &&
    typeof spec.timestamp === 'number'
  )
    timestamp = BigInt(spec.timestamp);
  else throw failure('CLIENT_INVALID_ARGUMENT', `bad spec ${JSON.stringify(spec)}`);
  const listed = await admin(context).listOffsets({
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
  });
  const found = listed[0]?.partitions.find((p) => p.partitionIndex === partition);
  const offset = Number(found?.offset ?? -1n);
  if (timestamp >= 0n && offset >= 0 && found && found.timestamp >= 0n)
    return { offset, timestamp: Number(found.timestamp) };
  return { offset };
}

async function createTopic(step: Step, context: Context): Promise<Json> {
  if (step.validateOnly === true) throw unsupported('@platformatic/kafka createTopics has no validateOnly');
  await admin(context).createTopics({
    topics: [str(step, 'topic')],
    partitions: num(step, 'partitions', 1),
    replicas: num(step, 'replicationFactor', -1),
    configs: Object.entries((step.configs ?? {}) as Record<string, string>).map(([name, value]) => ({
      name,
      value,
    })),
  });
  return null;
}

const handlers: Record<string, (step: Step, context: Context) => Promise<Json>> = {
  createTopic,
  clientInfo: async () => ({
    name: 'platformatic',
    version: VERSION,
    library: `@platformatic/kafka ${VERSION}`,
  }),
  sleep: async (step) => {
    await new Promise((resolve) => setTimeout(resolve, num(step, 'ms')));
    return null;
  },
  describeTopic: async (step, context) => {
    const topic = str(step, 'topic');
    const metadata = await topicMetadata(context, topic);
    const found = metadata.topics.get(topic);
    if (!found) throw failure('UNKNOWN_TOPIC_OR_PARTITION', `no topic ${topic}`);
    return {
      topic,
      partitions: found.partitions.map((p, partition) => ({
        partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: [...p.isr].sort((a, b) => a - b),
      })),
    };
  },
  listTopics: async (step, context) =>
    (await admin(context).listTopics({ includeInternals: step.includeInternal === true })).sort(),
  deleteTopic: async (step, context) => {
    await admin(context).deleteTopics({ topics: [str(step, 'topic')] });
    return null;
  },
  createPartitions: async (step, context) => {
    await admin(context).createPartitions({
      topics: [{ name: str(step, 'topic'), count: num(step, 'count'), assignments: null }],
    });
    return null;
  },
  describeConfigs: async (step, context) => {
    const names = Array.isArray(step.names) ? (step.names as string[]) : null;
    const [resource] = await admin(context).describeConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: str(step, 'topic'),
          configurationKeys: names,
        },
      ],
    } as never);
    const out: Record<string, Json> = {};
    for (const entry of [...(resource?.configs ?? [])].sort((a, b) => a.name.localeCompare(b.name))) {
      out[entry.name] = entry.isSensitive ? null : (entry.value ?? null);
    }
    return out;
  },
  alterConfigs: async (step, context) => {
    const configs = [
      ...Object.entries((step.set ?? {}) as Record<string, string>).map(([name, value]) => ({
        name,
        value,
        configOperation: IncrementalAlterConfigOperationTypes.SET,
      })),
      ...((step.delete ?? []) as string[]).map((name) => ({
        name,
        configOperation: IncrementalAlterConfigOperationTypes.DELETE,
      })),
    ];
    await admin(context).incrementalAlterConfigs({
      validateOnly: step.validateOnly === true,
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: str(step, 'topic'), configs }],
    } as never);
    return null;
  },
  metadata: async (step, context) => {
    const names = Array.isArray(step.topics) ? (step.topics as string[]) : undefined;
    const autocreateTopics = step.allowAutoCreate === true;
    const all = await admin(context).metadata({ topics: [], forceUpdate: true });
    const topics: Json[] = [];
    for (const name of names ?? [...all.topics.keys()].sort()) {
      try {
        const metadata = await admin(context).metadata({
          topics: [name],
          autocreateTopics,
          forceUpdate: true,
        });
        topics.push({
          topic: name,
          error: null,
          partitions: metadata.topics.get(name)?.partitionsCount ?? 0,
        });
      } catch (error) {
        topics.push({ topic: name, error: normalise(error).error, partitions: 0 });
      }
    }
    return {
      brokers: [...all.brokers.entries()]
        .map(([id, b]) => ({ id, host: b.host, port: b.port }))
        .sort((a, b) => a.id - b.id),
      topics,
    };
  },
  produce,
  consume,
  listOffsets,
  groupConsume,
  commitOffsets: async (step, context) => {
    const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
    for (const o of step.offsets as { topic: string; partition: number; offset: number }[]) {
      byTopic.set(o.topic, [
        ...(byTopic.get(o.topic) ?? []),
        { partition: o.partition, offset: BigInt(o.offset) },
      ]);
    }
    await admin(context).alterConsumerGroupOffsets({
      groupId: str(step, 'group'),
      topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
    });
    return null;
  },
  listGroups: async (_step, context) => {
    const groups = await admin(context).listGroups();
    return [...groups.values()]
      .map((g) => ({ group: g.id, state: LEGACY_STATES[g.state] ?? g.state }))
      .sort((a, b) => a.group.localeCompare(b.group));
  },
  describeGroup,
  deleteGroup: async (step, context) => {
    await admin(context).deleteGroups({ groups: [str(step, 'group')] });
    return null;
  },
  groupOffsets,
};

await runDriver<Context>({
  info: { name: 'platformatic', version: VERSION, library: `@platformatic/kafka ${VERSION}` },
  handlers,
  normalise,
  createContext: (job: Job) => ({
    bootstrap: job.bootstrap.split(','),
    clientId: `kstack-compat-${(job.jobId ?? 'job').replace(/[^A-Za-z0-9._-]/g, '_')}`,
  }),
  close: async (context) => {
    await context.admin?.close();
  },
});
