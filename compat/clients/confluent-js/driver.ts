// Compatibility driver for @confluentinc/kafka-javascript (compat/PROTOCOL.md): librdkafka under a
// Node.js addon. Produce and consume use its native (node-rdkafka style) API, which exposes per-message
// delivery reports and assign(); admin uses its KafkaJS-style promisified admin where that has the op,
// else the native AdminClient. The library is built by scripts/setup/25-confluent-js.sh outside the
// work tree; when it is missing every step answers CLIENT_NOT_INSTALLED.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { clientSecurity } from '../../runner/client-security.ts';
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

const CLIENT_NAME = process.env.KSTACK_COMPAT_CLIENT ?? 'confluent-js';
const PINNED_VERSION = '1.10.1';
const HOME =
  process.env.KSTACK_CONFLUENT_JS_HOME ??
  path.join(
    process.env.KSTACK_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'kstack'),
    `confluent-js-${PINNED_VERSION}`,
  );
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

// --- The library's surface this driver uses (it ships no types we can import from here) ------------

type Callback<T = unknown> = (error: LibError | null | undefined, value: T) => void;
interface LibError {
  code?: number;
  message?: string;
  name?: string;
  groups?: { error?: LibError }[];
  errors?: LibError[];
}
interface NativeMessage {
  topic: string;
  partition: number;
  offset: number;
  key?: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: Record<string, Buffer | string | null>[];
}
interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset?: number;
  error?: LibError;
}
interface NativeClient {
  connect(options: object, callback: Callback): void;
  disconnect(callback?: Callback): void;
  on(event: string, listener: (...args: never[]) => void): void;
  getMetadata(
    options: object,
    callback: Callback<{ brokers: { id: number; host: string; port: number }[] }>,
  ): void;
  offsetsForTimes(
    toppars: TopicPartitionOffset[],
    timeout: number,
    callback: Callback<TopicPartitionOffset[]>,
  ): void;
  queryWatermarkOffsets(
    topic: string,
    partition: number,
    timeout: number,
    callback: Callback<{ lowOffset: number; highOffset: number }>,
  ): void;
}
interface NativeProducer extends NativeClient {
  produce(
    topic: string,
    partition: number | null,
    value: Buffer | null,
    key: Buffer | null,
    timestamp: number | null,
    opaque: number,
    headers: Record<string, Buffer>[] | undefined,
  ): void;
  setPollInterval(ms: number): void;
  flush(timeout: number, callback: Callback): void;
}
interface NativeConsumer extends NativeClient {
  assign(assignments: TopicPartitionOffset[]): void;
  subscribe(topics: string[]): void;
  consume(count: number, callback: Callback<NativeMessage[]>): void;
  setDefaultConsumeTimeout(ms: number): void;
  commitSync(offsets: TopicPartitionOffset[] | null): void;
}
interface NativeAdmin {
  createPartitions(topic: string, total: number, timeout: number, callback: Callback): void;
  listOffsets(
    partitions: { topic: string; partition: number; offset: unknown }[],
    options: object,
    callback: Callback<{ topic: string; partition: number; offset: number; timestamp: number }[]>,
  ): void;
  disconnect(): void;
}
interface CompatPartition {
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
}
interface CompatAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(options: object): Promise<boolean>;
  deleteTopics(options: object): Promise<void>;
  listTopics(options?: object): Promise<string[]>;
  fetchTopicMetadata(
    options: object,
  ): Promise<{ name: string; isInternal: boolean; partitions: CompatPartition[] }[]>;
  listGroups(options?: object): Promise<{ groups: { groupId: string; state: number }[] }>;
  describeGroups(
    groups: string[],
    options?: object,
  ): Promise<{
    groups: {
      groupId: string;
      state: number;
      protocolType: string;
      isSimpleConsumerGroup: boolean;
      partitionAssignor: string;
      error?: LibError;
      members: {
        clientId: string;
        groupInstanceId?: string | null;
        assignment?: { topicPartitions?: { topic: string; partition: number }[] };
      }[];
    }[];
  }>;
  deleteGroups(groups: string[], options?: object): Promise<unknown>;
  fetchOffsets(
    options: object,
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  fetchTopicOffsets(
    topic: string,
    options?: object,
  ): Promise<{ partition: number; high: string; low: string }[]>;
}
interface Library {
  Producer: new (conf: object, topicConf?: object) => NativeProducer;
  KafkaConsumer: new (conf: object, topicConf?: object) => NativeConsumer;
  AdminClient: { create(conf: object): NativeAdmin };
  OffsetSpec: { EARLIEST: unknown; LATEST: unknown; new (timestamp: number): unknown };
  librdkafkaVersion: string;
  features: string[];
  CODES: { ERRORS: Record<string, number> };
  KafkaJS: { Kafka: new (config: object) => { admin(config?: object): CompatAdmin } };
}

let lib: Library | undefined;
let version = PINNED_VERSION;
let loadProblem = '';
try {
  const requireFrom = createRequire(path.join(HOME, 'package.json'));
  lib = requireFrom('@confluentinc/kafka-javascript') as Library;
  version = (requireFrom('@confluentinc/kafka-javascript/package.json') as { version: string }).version;
} catch (error) {
  loadProblem = `${(error as Error).message.split('\n')[0]} (looked in ${HOME}; run npm run setup, which runs scripts/setup/25-confluent-js.sh)`;
}
const ERR = lib?.CODES.ERRORS ?? {};

interface Context {
  bootstrap: string;
  clientId: string;
  admin?: CompatAdmin;
  native?: NativeAdmin;
}

// --- Errors ------------------------------------------------------------------------------------------

/** librdkafka's local error codes that stand for a broker error or a client condition. */
const LOCAL_ERRORS: Record<string, string> = {
  ERR__TIMED_OUT: 'CLIENT_TIMEOUT',
  ERR__MSG_TIMED_OUT: 'CLIENT_TIMEOUT',
  ERR__UNKNOWN_TOPIC: 'UNKNOWN_TOPIC_OR_PARTITION',
  ERR__UNKNOWN_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  ERR__INVALID_ARG: 'CLIENT_INVALID_ARGUMENT',
  ERR__AUTO_OFFSET_RESET: 'OFFSET_OUT_OF_RANGE',
};

function codeName(code: number, text = ''): string {
  if (code === 0) return 'CLIENT_ERROR';
  if (code >= -1) return KAFKA_ERROR_NAMES[code] ?? `KAFKA_ERROR_${code}`;
  for (const [name, mapped] of Object.entries(LOCAL_ERRORS)) if (ERR[name] === code) return mapped;
  // ListOffsets on a topic the metadata does not have (PROTOCOL.md section 6).
  if (code === ERR.ERR__NOENT && /No leaders found/.test(text)) return 'UNKNOWN_TOPIC_OR_PARTITION';
  return 'CLIENT_ERROR';
}

function normalise(thrown: unknown): { error: string; message: string } {
  let error = thrown as LibError | undefined;
  if (error?.name === 'KafkaJSDeleteGroupsError' && error.groups?.[0]?.error) error = error.groups[0].error;
  // createTopics throws one KafkaJSAggregateError holding a KafkaJSCreateTopicError per refused topic;
  // the driver creates one topic per call, so the first one is the broker's answer.
  if (error?.name === 'KafkaJSAggregateError' && error.errors?.[0]) error = error.errors[0];
  const message = `${error?.name ?? 'Error'}: ${error?.message ?? String(thrown)}`;
  if (typeof error?.code === 'number') return { error: codeName(error.code, error.message ?? ''), message };
  return { error: 'CLIENT_ERROR', message };
}

function call<T>(run: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

// --- Clients -----------------------------------------------------------------------------------------

function library(): Library {
  if (!lib) throw failure('CLIENT_NOT_INSTALLED', loadProblem);
  return lib;
}

async function admin(context: Context): Promise<CompatAdmin> {
  if (!context.admin) {
    const kafka = new (library().KafkaJS.Kafka)({
      ...librdkafkaSecurity(),
      kafkaJS: { brokers: context.bootstrap.split(','), clientId: `${context.clientId}-admin`, logLevel: 0 },
    });
    context.admin = kafka.admin();
    await context.admin.connect();
  }
  return context.admin;
}

function nativeAdmin(context: Context): NativeAdmin {
  context.native ??= library().AdminClient.create({
    'bootstrap.servers': context.bootstrap,
    'client.id': `${context.clientId}-admin`,
    ...librdkafkaSecurity(),
  });
  return context.native;
}

function baseConfig(context: Context, step: Step, suffix: string): Record<string, unknown> {
  return {
    'bootstrap.servers': context.bootstrap,
    'client.id': `${context.clientId}-${suffix}`,
    'socket.timeout.ms': Math.max(timeoutOf(step), 10),
    // librdkafka logs to stderr through its own logger only when asked.
    log_level: 3,
    ...librdkafkaSecurity(),
  };
}

/** The security profile's client settings (compat/runner/client-security.ts) as librdkafka properties. */
function librdkafkaSecurity(): Record<string, string> {
  const security = clientSecurity();
  if (security === undefined) return {};
  return {
    'security.protocol': security.protocol.toLowerCase(),
    ...(security.mechanism === undefined
      ? {}
      : security.mechanism === 'OAUTHBEARER'
        ? // librdkafka's own unsecured JWT for the principal.
          {
            'sasl.mechanisms': 'OAUTHBEARER',
            'enable.sasl.oauthbearer.unsecure.jwt': 'true',
            'sasl.oauthbearer.config': `principal=${security.username ?? ''}`,
          }
        : {
            'sasl.mechanisms': security.mechanism,
            'sasl.username': security.username ?? '',
            'sasl.password': security.password ?? '',
          }),
    ...(security.caFile === undefined ? {} : { 'ssl.ca.location': security.caFile }),
  };
}

async function connected<T extends NativeClient>(client: T, step: Step): Promise<T> {
  client.on('event.error', () => {});
  await call((callback) => client.connect({ timeout: timeoutOf(step) }, callback));
  return client;
}

async function disconnect(client: NativeClient): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    client.disconnect(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function topicPartitions(context: Context, topic: string, wanted?: number[]): Promise<number[]> {
  const [metadata] = await (await admin(context)).fetchTopicMetadata({ topics: [topic] });
  const present = (metadata?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  if (!wanted) return present;
  const missing = wanted.filter((p) => !present.includes(p));
  if (missing.length > 0)
    throw failure('UNKNOWN_TOPIC_OR_PARTITION', `no partition ${missing.join(', ')} in ${topic}`);
  return wanted;
}

// --- Produce -----------------------------------------------------------------------------------------

function headersIn(headers: Json | undefined): Record<string, Buffer>[] | undefined {
  const list = (headers ?? []) as { key: string; value: Json }[];
  if (list.length === 0) return undefined;
  return list.map((header) => {
    if (header.value === null)
      throw unsupported(
        `${CLIENT_NAME} ${version} cannot send a header with a null value (its addon takes a string or a Buffer, src/producer.cc)`,
      );
    return { [header.key]: bytesIn(header.value)! };
  });
}

async function produce(step: Step, context: Context): Promise<Json> {
  const { Producer, features } = library();
  const codec = typeof step.compression === 'string' ? step.compression : 'none';
  if (codec !== 'none' && !features.includes(codec))
    throw unsupported(`this build of librdkafka has no ${codec} codec`);
  const budget = timeoutOf(step);
  const acks = step.acks === 'all' || step.acks === -1 || step.acks === undefined ? -1 : Number(step.acks);
  const config: Record<string, unknown> = {
    ...baseConfig(context, step, 'producer'),
    dr_cb: true,
    acks: acks === -1 ? 'all' : acks,
    'compression.type': codec,
    'enable.idempotence': step.idempotent === true,
    'linger.ms': num(step, 'lingerMs', 0),
    'message.timeout.ms': Math.max(budget - 1000, 1000),
    'request.timeout.ms': Math.max(Math.min(budget - 1000, 30_000), 1000),
  };
  if (typeof step.clientMaxBytes === 'number')
    config['message.max.bytes'] = Math.min(step.clientMaxBytes + 4096, 1_000_000_000);
  if (typeof step.retries === 'number') config['message.send.max.retries'] = step.retries;
  const producer = await connected(new Producer(config), step);
  const outcomes: Record<string, Json>[] = [];
  try {
    producer.on('delivery-report', ((error: LibError | null, report: NativeMessage & { opaque: number }) => {
      const outcome = outcomes[report.opaque];
      if (!outcome) return;
      if (error) {
        outcome.error = codeName(error.code ?? 0, error.message);
        outcome.message = error.message ?? '';
      } else {
        outcome.partition = report.partition;
        outcome.offset = report.offset >= 0 ? report.offset : -1;
      }
    }) as (...args: never[]) => void);
    producer.setPollInterval(20);
    const topic = str(step, 'topic');
    (step.messages as Record<string, Json>[]).forEach((message, index) => {
      const outcome: Record<string, Json> = {};
      outcomes.push(outcome);
      const partition =
        typeof message.partition === 'number'
          ? message.partition
          : typeof step.partition === 'number'
            ? step.partition
            : null;
      try {
        producer.produce(
          topic,
          partition,
          bytesIn(message.value),
          bytesIn(message.key),
          typeof message.timestamp === 'number' ? message.timestamp : null,
          index,
          headersIn(message.headers),
        );
      } catch (thrown) {
        const { code, message: text } = thrown as LibError;
        if (thrown instanceof Error && (thrown as { status?: string }).status === 'unsupported') throw thrown;
        outcome.error =
          code === ERR.ERR_MSG_SIZE_TOO_LARGE ? 'CLIENT_MESSAGE_TOO_LARGE' : codeName(code ?? 0, text ?? '');
        outcome.message = text ?? String(thrown);
      }
    });
    await call((callback) => producer.flush(budget, callback)).catch(() => {});
    // Delivery reports arrive on the poll interval after flush returns.
    const deadline = Date.now() + 2000;
    while (outcomes.some((o) => Object.keys(o).length === 0) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await disconnect(producer);
  }
  for (const outcome of outcomes) if (Object.keys(outcome).length === 0) outcome.error = 'CLIENT_TIMEOUT';
  const value = outcomes.map(({ message: _message, ...rest }) => rest);
  const failed = outcomes.find((o) => 'error' in o);
  if (failed) throw failure(String(failed.error), String(failed.message ?? 'undelivered'), value);
  return value;
}

// --- Consume -----------------------------------------------------------------------------------------

type RecordOut = { topic: string; partition: number; offset: number } & Record<string, Json>;

function recordOut(message: NativeMessage): RecordOut {
  const headers: Json[] = [];
  for (const header of message.headers ?? []) {
    for (const [key, value] of Object.entries(header)) {
      headers.push({ key, value: bytesOut(value === null ? null : Buffer.from(value)) });
    }
  }
  const record: RecordOut = {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: bytesOut(message.key ?? null),
    value: bytesOut(message.value),
    headers,
  };
  if (typeof message.timestamp === 'number' && message.timestamp >= 0) record.timestamp = message.timestamp;
  return record;
}

function plainConsumerConfig(context: Context, step: Step): Record<string, unknown> {
  return {
    ...baseConfig(context, step, 'consumer'),
    // A group the consumer never joins: the native consumer requires one.
    'group.id': `kstack-compat-unused-${context.clientId}`,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': false,
    'auto.offset.reset': 'error',
  };
}

/** Polls until count records arrived or the deadline passed; a consumer error fails the step. */
async function pollRecords(consumer: NativeConsumer, count: number, deadline: number): Promise<RecordOut[]> {
  const records: RecordOut[] = [];
  let problem: LibError | undefined;
  consumer.on('event.error', ((error: LibError) => {
    if (error.code === ERR.ERR__AUTO_OFFSET_RESET) problem = error;
  }) as (...args: never[]) => void);
  consumer.setDefaultConsumeTimeout(200);
  while (records.length < count && Date.now() < deadline && !problem) {
    try {
      const batch = await call<NativeMessage[]>((callback) =>
        consumer.consume(Math.min(count - records.length, 500), callback),
      );
      for (const message of batch) records.push(recordOut(message));
    } catch (thrown) {
      const error = thrown as LibError;
      if (error.code === ERR.ERR__PARTITION_EOF || error.code === ERR.ERR__TIMED_OUT) continue;
      problem = error;
    }
  }
  if (problem) {
    throw failure(
      codeName(problem.code ?? 0, problem.message ?? ''),
      problem.message ?? '',
      sortRecords(records),
    );
  }
  return records;
}

async function consume(step: Step, context: Context): Promise<Json> {
  const deadline = Date.now() + timeoutOf(step);
  const topic = str(step, 'topic');
  const partitions = await topicPartitions(
    context,
    topic,
    Array.isArray(step.partitions) ? (step.partitions as number[]) : undefined,
  );
  const consumer = await connected(new (library().KafkaConsumer)(plainConsumerConfig(context, step)), step);
  try {
    const from = consumeFrom(step);
    let start: TopicPartitionOffset[];
    if (from === 'beginning' || from === 'end') {
      const offset = from === 'beginning' ? -2 : -1;
      start = partitions.map((partition) => ({ topic, partition, offset }));
    } else if ('offset' in from) {
      const offset = from.offset;
      start = partitions.map((partition) => ({ topic, partition, offset }));
    } else {
      const timestamp = from.timestamp;
      const query = partitions.map((partition) => ({ topic, partition, offset: timestamp }));
      const found = await call<TopicPartitionOffset[]>((callback) =>
        consumer.offsetsForTimes(query, timeoutOf(step), callback),
      );
      // No offset for that time: start at the end, as the protocol says.
      start = found.map((tp) => ({
        topic,
        partition: tp.partition,
        offset: (tp.offset ?? -1) >= 0 ? tp.offset : -1,
      }));
    }
    consumer.assign(start);
    return sortRecords(await pollRecords(consumer, num(step, 'count'), deadline));
  } finally {
    await disconnect(consumer);
  }
}

async function listOffsets(step: Step, context: Context): Promise<Json> {
  const { OffsetSpec } = library();
  const topic = str(step, 'topic');
  const partition = num(step, 'partition', 0);
  await topicPartitions(context, topic, [partition]);
  const spec = step.spec as Json;
  let offsetSpec: unknown;
  if (spec === 'earliest') offsetSpec = OffsetSpec.EARLIEST;
  else if (spec === 'latest') offsetSpec = OffsetSpec.LATEST;
  else if (
    typeof spec === 'object' &&
    spec !== null &&
    !Array.isArray(spec) &&
    typeof spec.timestamp === 'number'
  )
    offsetSpec = new OffsetSpec(spec.timestamp);
  else throw failure('CLIENT_INVALID_ARGUMENT', `bad spec ${JSON.stringify(spec)}`);
  const [found] = await call<{ offset: number; timestamp: number }[]>((callback) =>
    nativeAdmin(context).listOffsets(
      [{ topic, partition, offset: offsetSpec }],
      { timeout: timeoutOf(step) },
      callback,
    ),
  );
  const offset = Number(found?.offset ?? -1);
  const value: Record<string, Json> = { offset: offset >= 0 ? offset : -1 };
  if (typeof spec === 'object' && offset >= 0 && Number(found?.timestamp) >= 0)
    value.timestamp = Number(found?.timestamp);
  return value;
}

// --- Groups ------------------------------------------------------------------------------------------

const GROUP_STATES: Record<number, string> = {
  0: 'Unknown',
  1: 'PreparingRebalance',
  2: 'CompletingRebalance',
  3: 'Stable',
  4: 'Dead',
  5: 'Empty',
};

async function groupConsume(step: Step, context: Context): Promise<Json> {
  const deadline = Date.now() + timeoutOf(step);
  const commit = typeof step.commit === 'string' ? step.commit : 'sync';
  const config: Record<string, unknown> = {
    ...baseConfig(context, step, 'consumer'),
    'group.id': str(step, 'group'),
    'group.protocol': 'classic',
    'auto.offset.reset': step.reset === 'latest' ? 'latest' : 'earliest',
    'enable.auto.commit': commit === 'auto',
    'auto.commit.interval.ms': 1000,
    'session.timeout.ms': num(step, 'sessionTimeoutMs', 10_000),
    'enable.partition.eof': false,
    rebalance_cb: true,
  };
  if (typeof step.instanceId === 'string') config['group.instance.id'] = step.instanceId;
  const consumer = await connected(new (library().KafkaConsumer)(config), step);
  let assignment: { topic: string; partition: number }[] = [];
  consumer.on('rebalance', ((error: LibError, partitions: TopicPartitionOffset[]) => {
    if (error.code === ERR.ERR__ASSIGN_PARTITIONS) {
      assignment = partitions
        .map(({ topic, partition }) => ({ topic, partition }))
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    } else assignment = [];
  }) as (...args: never[]) => void);
  consumer.subscribe(step.topics as string[]);
  const records = await pollRecords(consumer, num(step, 'count'), deadline);
  if (commit === 'sync' && records.length > 0) {
    const next = new Map<string, TopicPartitionOffset>();
    for (const r of records) {
      const key = `${r.topic}:${r.partition}`;
      const offset = Math.max(next.get(key)?.offset ?? 0, r.offset + 1);
      next.set(key, { topic: r.topic, partition: r.partition, offset });
    }
    consumer.commitSync([...next.values()]);
  }
  const value = { records: sortRecords(records), assignment };
  if (step.exit !== 'crash') await disconnect(consumer);
  return value;
}

async function commitOffsets(step: Step, context: Context): Promise<Json> {
  // No admin AlterConsumerGroupOffsets here: a consumer of the group commits without subscribing.
  const consumer = await connected(
    new (library().KafkaConsumer)({ ...plainConsumerConfig(context, step), 'group.id': str(step, 'group') }),
    step,
  );
  try {
    const offsets = (step.offsets as { topic: string; partition: number; offset: number }[]).map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: o.offset,
    }));
    consumer.commitSync(offsets);
  } finally {
    await disconnect(consumer);
  }
  return null;
}

async function describeGroup(step: Step, context: Context): Promise<Json> {
  const { groups } = await (await admin(context)).describeGroups([str(step, 'group')], {
    timeout: timeoutOf(step),
  });
  const group = groups[0]!;
  if (group.error) throw group.error;
  const members = group.members.map((member) => ({
    clientId: member.clientId,
    instanceId: member.groupInstanceId ?? null,
    assignment: (member.assignment?.topicPartitions ?? [])
      .map(({ topic, partition }) => ({ topic, partition }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  }));
  members.sort(
    (a, b) => (a.instanceId ?? '').localeCompare(b.instanceId ?? '') || a.clientId.localeCompare(b.clientId),
  );
  return {
    group: group.groupId,
    state: GROUP_STATES[group.state] ?? String(group.state),
    // librdkafka reports a group with an empty protocol type as "simple".
    protocolType: group.isSimpleConsumerGroup ? '' : 'consumer',
    protocol: group.partitionAssignor,
    members,
  };
}

async function groupOffsets(step: Step, context: Context): Promise<Json> {
  const client = await admin(context);
  const groupId = str(step, 'group');
  const topic = typeof step.topic === 'string' ? step.topic : undefined;
  // With a topic, every partition of it is listed (offset -1 where the group has none).
  const all = topic ? await topicPartitions(context, topic) : [];
  const fetched = await client.fetchOffsets({ groupId, ...(topic ? { topics: [topic] } : {}) });
  if (topic && !fetched.some((entry) => entry.topic === topic)) fetched.push({ topic, partitions: [] });
  const rows: Record<string, Json>[] = [];
  for (const entry of fetched) {
    const ends = await client.fetchTopicOffsets(entry.topic);
    const committed = new Map(entry.partitions.map((p) => [p.partition, Number(p.offset)]));
    const partitions = entry.topic === topic ? all : [...committed.keys()];
    for (const partition of partitions) {
      const offset = committed.get(partition) ?? -1;
      if (offset < 0 && entry.topic !== topic) continue;
      const end = Number(ends.find((e) => e.partition === partition)?.high ?? -1);
      rows.push(lagRow(entry.topic, partition, offset < 0 ? -1 : offset, end));
    }
  }
  return sortLagRows(rows);
}

// --- Topics ------------------------------------------------------------------------------------------

const NO_CONFIG_ADMIN = `${CLIENT_NAME} ${PINNED_VERSION} has no DescribeConfigs/AlterConfigs API (neither its KafkaJS-style admin nor its native AdminClient)`;

const handlers: Record<string, (step: Step, context: Context) => Promise<Json>> = {
  clientInfo: async () => ({
    name: CLIENT_NAME,
    version,
    library: `librdkafka ${library().librdkafkaVersion}`,
  }),
  sleep: async (step) => {
    await new Promise((resolve) => setTimeout(resolve, num(step, 'ms')));
    return null;
  },
  createTopic: async (step, context) => {
    if (step.validateOnly === true)
      throw unsupported(
        `${CLIENT_NAME} ${PINNED_VERSION} has no validateOnly for CreateTopics ("not yet implemented")`,
      );
    const created = await (await admin(context)).createTopics({
      timeout: timeoutOf(step),
      topics: [
        {
          topic: str(step, 'topic'),
          numPartitions: num(step, 'partitions', 1),
          replicationFactor: num(step, 'replicationFactor', -1),
          configEntries: Object.entries((step.configs ?? {}) as Record<string, string>).map(
            ([name, value]) => ({
              name,
              value,
            }),
          ),
        },
      ],
    });
    if (!created) throw failure('TOPIC_ALREADY_EXISTS', 'createTopics answered false (the topic exists)');
    return null;
  },
  describeTopic: async (step, context) => {
    const topic = str(step, 'topic');
    const [metadata] = await (await admin(context)).fetchTopicMetadata({
      topics: [topic],
      timeout: timeoutOf(step),
    });
    if (!metadata) throw failure('UNKNOWN_TOPIC_OR_PARTITION', `no metadata for ${topic}`);
    return {
      topic,
      internal: metadata.isInternal,
      partitions: metadata.partitions
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
    const names = await (await admin(context)).listTopics({ timeout: timeoutOf(step) });
    return names.filter((n) => step.includeInternal === true || !INTERNAL_TOPICS.has(n)).sort();
  },
  deleteTopic: async (step, context) => {
    await (await admin(context)).deleteTopics({ topics: [str(step, 'topic')], timeout: timeoutOf(step) });
    return null;
  },
  createPartitions: async (step, context) => {
    const client = nativeAdmin(context);
    await call((callback) =>
      client.createPartitions(str(step, 'topic'), num(step, 'count'), timeoutOf(step), callback),
    );
    return null;
  },
  describeConfigs: async () => {
    throw unsupported(NO_CONFIG_ADMIN);
  },
  alterConfigs: async () => {
    throw unsupported(NO_CONFIG_ADMIN);
  },
  metadata: async (step, context) => {
    if (step.allowAutoCreate === true)
      throw unsupported(`${CLIENT_NAME}'s metadata calls cannot ask the broker to create a missing topic`);
    const client = await admin(context);
    const producer = await connected(new (library().Producer)(baseConfig(context, step, 'metadata')), step);
    let brokers: { id: number; host: string; port: number }[];
    try {
      ({ brokers } = await call<{ brokers: typeof brokers }>((callback) =>
        producer.getMetadata({ timeout: timeoutOf(step) }, callback),
      ));
    } finally {
      await disconnect(producer);
    }
    const names = Array.isArray(step.topics)
      ? (step.topics as string[])
      : (await client.listTopics()).filter((n) => !INTERNAL_TOPICS.has(n)).sort();
    const topics: Json[] = [];
    for (const name of names) {
      try {
        const [found] = await client.fetchTopicMetadata({ topics: [name] });
        topics.push({ topic: name, error: null, partitions: found?.partitions.length ?? 0 });
      } catch (error) {
        topics.push({ topic: name, error: normalise(error).error, partitions: 0 });
      }
    }
    return {
      brokers: brokers.map((b) => ({ id: b.id, host: b.host, port: b.port })).sort((a, b) => a.id - b.id),
      topics,
    };
  },
  produce,
  consume,
  listOffsets,
  groupConsume,
  commitOffsets,
  listGroups: async (step, context) => {
    const { groups } = await (await admin(context)).listGroups({ timeout: timeoutOf(step) });
    return groups
      .map((g) => ({ group: g.groupId, state: GROUP_STATES[g.state] ?? String(g.state) }))
      .sort((a, b) => a.group.localeCompare(b.group));
  },
  describeGroup,
  deleteGroup: async (step, context) => {
    await (await admin(context)).deleteGroups([str(step, 'group')], { timeout: timeoutOf(step) });
    return null;
  },
  groupOffsets,
};

await runDriver<Context>({
  info: {
    name: CLIENT_NAME,
    version,
    ...(lib ? { library: `librdkafka ${lib.librdkafkaVersion}` } : {}),
  },
  handlers,
  normalise,
  createContext: (job: Job) => ({
    bootstrap: job.bootstrap,
    clientId: `kstack-compat-${(job.jobId ?? 'job').replace(/[^A-Za-z0-9._-]/g, '_')}`,
  }),
  close: async (context) => {
    context.native?.disconnect();
    await context.admin?.disconnect();
  },
});
