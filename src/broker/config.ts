/**
 * Broker and topic configuration under Kafka's names, defaults, types and validation.
 * Values are kept as strings (as Kafka's configs travel on the wire and in ConfigRecords)
 * and parsed by type when read. A topic config falls back to its broker synonym
 * (`retention.ms` → `log.retention.ms`), then to its default, as Kafka does.
 */
import type { BrokerConfigView } from './services.ts';

/** DescribeConfigs' ConfigType (v3+). */
export const ConfigType = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
} as const;
export type ConfigTypeValue = (typeof ConfigType)[keyof typeof ConfigType];

/** DescribeConfigs' ConfigSource. */
export const ConfigSource = {
  unknown: 0,
  dynamicTopic: 1,
  dynamicBroker: 2,
  dynamicDefaultBroker: 3,
  staticBroker: 4,
  default: 5,
  dynamicBrokerLogger: 6,
} as const;

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigTypeValue;
  /** Kafka's default, as text; null for "no default" (nullable configs). */
  readonly defaultValue: string | null;
  /** For enumerated strings and lists: the allowed values. */
  readonly validValues?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** A value accepted outside [min, max] (Kafka's `-1` of compression.gzip.level). */
  readonly alsoValid?: number;
  /** Kafka cannot change it at run time (DescribeConfigs' readOnly; AlterConfigs refuses it). */
  readonly readOnly?: boolean;
  /** Kafka can change it at run time, kstack only at start: AlterConfigs refuses it with a kstack message. */
  readonly startOnly?: boolean;
  readonly sensitive?: boolean;
  /** A throttled-replica list (Kafka's ThrottledReplicaListValidator): `*` or `partition:broker` items. */
  readonly replicaList?: boolean;
  readonly doc: string;
}

const LONG_MAX = '9223372036854775807';
const INT_MAX = 2147483647;
/** Kafka's compression level ranges (KIP-390); gzip's -1 is zlib's default level. */
const GZIP_LEVEL_RANGE = { min: 1, max: 9, alsoValid: -1 };
const ZSTD_LEVEL_RANGE = { min: -131072, max: 22 };

function def(
  name: string,
  type: ConfigTypeValue,
  defaultValue: string | null,
  doc: string,
  extra: Partial<ConfigDefinition> = {},
): ConfigDefinition {
  return { name, type, defaultValue, doc, ...extra };
}

const {
  boolean: BOOL,
  string: STR,
  int: INT,
  short: SHORT,
  long: LONG,
  double: DOUBLE,
  list: LIST,
} = ConfigType;

/**
 * Broker configs kstack understands. `readOnly` is Kafka's: true for a config Kafka cannot
 * change at run time (DescribeConfigs says so, AlterConfigs refuses it). `startOnly` marks
 * the few Kafka can change dynamically but kstack applies only at start (it refuses them).
 */
export const BROKER_CONFIGS: readonly ConfigDefinition[] = [
  def('node.id', INT, null, 'This broker’s id.', { readOnly: true }),
  def('broker.id', INT, '-1', 'Alias of node.id (kstack sets it to node.id, as Kafka in KRaft mode).', {
    readOnly: true,
  }),
  def('listeners', STR, 'PLAINTEXT://:9092', 'Listener addresses.', { startOnly: true }),
  def('advertised.listeners', STR, null, 'Addresses given to clients.', { readOnly: true }),
  // Security (src/security): kstack applies these at start only; a listener-prefixed form
  // (listener.name.<name>.<setting>) wins for one listener, as in Kafka.
  def(
    'listener.security.protocol.map',
    STR,
    'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'Security protocol of each listener name.',
    { startOnly: true },
  ),
  def('sasl.enabled.mechanisms', LIST, 'GSSAPI', 'SASL mechanisms served (kstack: PLAIN).', {
    startOnly: true,
  }),
  def('inter.broker.listener.name', STR, null, 'Listener the brokers replicate through.', { readOnly: true }),
  def('security.inter.broker.protocol', STR, 'PLAINTEXT', 'Names the inter-broker listener by protocol.', {
    readOnly: true,
    validValues: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'],
  }),
  def(
    'sasl.mechanism.inter.broker.protocol',
    STR,
    'GSSAPI',
    'SASL mechanism brokers log in to each other with.',
    {
      startOnly: true,
    },
  ),
  def('ssl.client.auth', STR, 'none', 'Client certificates: none, requested or required.', {
    validValues: ['none', 'requested', 'required'],
    startOnly: true,
  }),
  def('ssl.keystore.type', STR, 'JKS', 'Keystore format (kstack: PEM).', { startOnly: true }),
  def('ssl.keystore.location', STR, null, 'PEM file with the key and its certificate chain.', {
    startOnly: true,
  }),
  def('ssl.keystore.key', ConfigType.password, null, 'Inline PEM private key.', { startOnly: true }),
  def('ssl.keystore.certificate.chain', ConfigType.password, null, 'Inline PEM certificate chain.', {
    startOnly: true,
  }),
  def('ssl.key.password', ConfigType.password, null, 'Password of an encrypted private key.', {
    startOnly: true,
  }),
  def('ssl.truststore.type', STR, 'JKS', 'Truststore format (kstack: PEM).', { startOnly: true }),
  def('ssl.truststore.location', STR, null, 'PEM file of trusted certificates.', { startOnly: true }),
  def('ssl.truststore.certificates', ConfigType.password, null, 'Inline PEM trusted certificates.', {
    startOnly: true,
  }),
  // ACLs (src/security/authorizer.ts). super.users and allow.everyone.if.no.acl.found are the
  // authorizer's own settings, which Kafka's DescribeConfigs does not list.
  def('authorizer.class.name', STR, '', 'The authorizer (kstack: StandardAuthorizer, or empty).', {
    readOnly: true,
  }),
  def('connection.failed.authentication.delay.ms', INT, '100', 'Delay of the answer to a failed login.', {
    readOnly: true,
  }),
  def('super.users', STR, null, 'Principals always allowed, separated by ;.', { startOnly: true }),
  def('allow.everyone.if.no.acl.found', BOOL, 'false', 'Allow what no ACL names.', { startOnly: true }),
  def('log.dirs', STR, null, 'The data directory.', { readOnly: true }),
  def('auto.create.topics.enable', BOOL, 'true', 'Create a topic on Metadata/Produce for an unknown topic.', {
    readOnly: true,
  }),
  def('num.partitions', INT, '1', 'Partitions of an automatically created topic.', {
    min: 1,
    readOnly: true,
  }),
  def('default.replication.factor', INT, '1', 'Replication factor of automatically created topics.', {
    readOnly: true,
  }),
  def('min.insync.replicas', INT, '1', 'Minimum ISR size for acks=all.', { min: 1 }),
  def('message.max.bytes', INT, '1048588', 'Largest record batch size allowed.', { min: 0 }),
  def('log.retention.hours', INT, '168', 'Retention in hours (lowest priority).', { readOnly: true }),
  def('log.retention.minutes', INT, null, 'Retention in minutes (over hours).', { readOnly: true }),
  def('log.retention.ms', LONG, null, 'Retention in ms (over minutes); a negative value keeps forever.'),
  def('log.retention.bytes', LONG, '-1', 'Retention by size per partition; -1 unlimited.'),
  def('log.retention.check.interval.ms', LONG, '300000', 'How often retention runs.', {
    min: 1,
    readOnly: true,
  }),
  def('log.segment.bytes', INT, '1073741824', 'Segment size.', { min: 1048576 }),
  def('log.roll.ms', LONG, null, 'Segment age before a roll (over log.roll.hours).'),
  def('log.roll.hours', INT, '168', 'Segment age before a roll, in hours.', { min: 1, readOnly: true }),
  def('log.roll.jitter.ms', LONG, null, 'Jitter on segment rolls (over log.roll.jitter.hours).'),
  def('log.roll.jitter.hours', INT, '0', 'Jitter on segment rolls, in hours.', { min: 0, readOnly: true }),
  def('log.index.interval.bytes', INT, '4096', 'Bytes between offset index entries.', { min: 0 }),
  def('log.index.size.max.bytes', INT, '10485760', 'Index size.', { min: 4 }),
  def('log.flush.interval.messages', LONG, LONG_MAX, 'Messages before a flush.', { min: 1 }),
  def('log.flush.interval.ms', LONG, null, 'Ms before a flush (over log.flush.scheduler.interval.ms).'),
  def(
    'log.flush.scheduler.interval.ms',
    LONG,
    LONG_MAX,
    'Ms before a flush, when log.flush.interval.ms is unset.',
    {
      readOnly: true,
    },
  ),
  def('log.cleanup.policy', LIST, 'delete', 'delete, compact, both, or none (empty).', {
    validValues: ['compact', 'delete'],
  }),
  def('log.cleaner.delete.retention.ms', LONG, '86400000', 'Tombstone retention.', { min: 0 }),
  def('log.cleaner.min.compaction.lag.ms', LONG, '0', 'Minimum age before compaction.', { min: 0 }),
  def('log.cleaner.max.compaction.lag.ms', LONG, LONG_MAX, 'Maximum age before compaction.', { min: 1 }),
  def('log.cleaner.min.cleanable.ratio', DOUBLE, '0.5', 'Dirty ratio that triggers compaction.', {
    min: 0,
    max: 1,
  }),
  def('log.cleaner.backoff.ms', LONG, '15000', 'Pause between compaction passes.', {
    min: 0,
    startOnly: true,
  }),
  def('log.segment.delete.delay.ms', LONG, '60000', 'Delay before deleting a segment file.', { min: 0 }),
  def('log.preallocate', BOOL, 'false', 'Preallocate segment files.'),
  def('log.message.timestamp.type', STR, 'CreateTime', 'CreateTime or LogAppendTime.', {
    validValues: ['CreateTime', 'LogAppendTime'],
  }),
  def('log.message.timestamp.before.max.ms', LONG, LONG_MAX, 'How far in the past a timestamp may be.', {
    min: 0,
  }),
  def('log.message.timestamp.after.max.ms', LONG, '3600000', 'How far in the future a timestamp may be.', {
    min: 0,
  }),
  def('compression.type', STR, 'producer', 'Final compression of topics.', {
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
  }),
  def('compression.gzip.level', INT, '-1', 'Gzip level when the broker compresses.', GZIP_LEVEL_RANGE),
  def('compression.lz4.level', INT, '9', 'Lz4 level when the broker compresses.', { min: 1, max: 17 }),
  def('compression.zstd.level', INT, '3', 'Zstd level when the broker compresses.', ZSTD_LEVEL_RANGE),
  def('unclean.leader.election.enable', BOOL, 'false', 'Allow out-of-ISR leaders.'),
  // The active controller's leader balancing (KRaft reads only these two; the percentage is listed
  // for Kafka's config surface and, as in KRaft, not used).
  def('auto.leader.rebalance.enable', BOOL, 'true', 'Move leadership back to preferred replicas.', {
    readOnly: true,
  }),
  def('leader.imbalance.check.interval.seconds', LONG, '300', 'Seconds between leader balance checks.', {
    min: 1,
    readOnly: true,
  }),
  def('leader.imbalance.per.broker.percentage', INT, '10', 'Leader imbalance allowed per broker.', {
    min: 0,
    readOnly: true,
  }),
  def('delete.topic.enable', BOOL, 'true', 'Allow topic deletion.', { readOnly: true }),
  // kstack is one node: these default to 1 where Kafka's defaults (3, 2) need three brokers.
  def('offsets.topic.replication.factor', SHORT, '1', 'RF of __consumer_offsets.', {
    min: 1,
    readOnly: true,
  }),
  def('offsets.topic.num.partitions', INT, '50', 'Partitions of __consumer_offsets.', {
    min: 1,
    readOnly: true,
  }),
  def('transaction.state.log.replication.factor', SHORT, '1', 'RF of __transaction_state.', {
    min: 1,
    readOnly: true,
  }),
  def('transaction.state.log.min.isr', INT, '1', 'Min ISR of __transaction_state.', {
    min: 1,
    readOnly: true,
  }),
  def('transaction.state.log.num.partitions', INT, '50', 'Partitions of __transaction_state.', {
    min: 1,
    readOnly: true,
  }),
  def('transaction.max.timeout.ms', INT, '900000', 'Largest transaction.timeout.ms a producer may ask.', {
    min: 1,
    readOnly: true,
  }),
  def(
    'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    INT,
    '10000',
    'How often transactions past their timeout are aborted.',
    { min: 1, readOnly: true },
  ),
  def(
    'transaction.remove.expired.transaction.cleanup.interval.ms',
    INT,
    '3600000',
    'How often expired transactional ids are removed.',
    { min: 1, readOnly: true },
  ),
  def('transactional.id.expiration.ms', INT, '604800000', 'Idle time before a transactional id expires.', {
    min: 1,
    readOnly: true,
  }),
  def('group.initial.rebalance.delay.ms', INT, '3000', 'Delay of a new group’s first rebalance.', {
    min: 0,
    readOnly: true,
  }),
  // KIP-848 consumer groups (src/coordinator/consumer-group.ts).
  // Their bounds on one another (session within its min and max, heartbeat within its min and max and
  // below the session) are checked when the config is built: consumerGroupTimingProblem.
  def('group.consumer.session.timeout.ms', INT, '45000', 'Consumer-group member session timeout.', {
    min: 1,
    readOnly: true,
  }),
  def(
    'group.consumer.min.session.timeout.ms',
    INT,
    '45000',
    'The minimum allowed session timeout for registered consumers.',
    { min: 1, readOnly: true },
  ),
  def(
    'group.consumer.max.session.timeout.ms',
    INT,
    '60000',
    'The maximum allowed session timeout for registered consumers.',
    { min: 1, readOnly: true },
  ),
  def(
    'group.consumer.heartbeat.interval.ms',
    INT,
    '5000',
    'Heartbeat interval given to consumer-group members.',
    {
      min: 1,
      readOnly: true,
    },
  ),
  def(
    'group.consumer.min.heartbeat.interval.ms',
    INT,
    '5000',
    'The minimum heartbeat interval for registered consumers.',
    { min: 1, readOnly: true },
  ),
  def(
    'group.consumer.max.heartbeat.interval.ms',
    INT,
    '15000',
    'The maximum heartbeat interval for registered consumers.',
    { min: 1, readOnly: true },
  ),
  def('group.consumer.assignors', LIST, 'uniform,range', 'Server-side assignors; the first is the default.', {
    readOnly: true,
  }),
  def('group.consumer.max.size', INT, String(INT_MAX), 'Members a consumer group may have.', {
    min: 1,
    readOnly: true,
  }),
  def(
    'group.consumer.migration.policy',
    STR,
    'bidirectional',
    'Conversions between classic and consumer groups: disabled, upgrade, downgrade or bidirectional.',
    { validValues: ['disabled', 'upgrade', 'downgrade', 'bidirectional'], readOnly: true },
  ),
  def('socket.request.max.bytes', INT, '104857600', 'Largest request frame.', { min: 1, readOnly: true }),
  def('max.connections', INT, String(INT_MAX), 'Connections accepted.', { min: 0, startOnly: true }),
  def(
    'max.connections.per.ip',
    INT,
    String(INT_MAX),
    'Connections one address may hold (src/security/quotas-connections.ts).',
    {
      min: 0,
      startOnly: true,
    },
  ),
  def('max.connections.per.ip.overrides', STR, '', 'Per-address maxima, host:count,host:count.', {
    startOnly: true,
  }),
  def('connections.max.idle.ms', LONG, '600000', 'Idle connection timeout.', { readOnly: true }),
  def('queued.max.requests', INT, '500', 'Requests queued per connection before it stops being read.', {
    min: 1,
    readOnly: true,
  }),
  def('queued.max.request.bytes', LONG, '-1', 'Bytes queued before reading stops (-1: 200 MiB).', {
    readOnly: true,
  }),
  def('max.incremental.fetch.session.cache.slots', INT, '1000', 'Fetch sessions kept (KIP-227).', {
    min: 0,
    readOnly: true,
  }),
  def('fetch.max.bytes', INT, '57671680', 'Largest fetch response.', { min: 1024, readOnly: true }),
  def('replica.lag.time.max.ms', LONG, '30000', 'Follower lag before it leaves the ISR.', { readOnly: true }),
  // Read at start by the metadata quorum (src/controller/metadata-quorum.ts); Kafka 4.1.1 lists both with these defaults.
  def(
    'metadata.log.max.record.bytes.between.snapshots',
    LONG,
    '20971520',
    'Metadata record bytes after which a node writes a snapshot.',
    { min: 1, readOnly: true },
  ),
  def(
    'metadata.log.max.snapshot.interval.ms',
    LONG,
    '3600000',
    'Longest time between metadata snapshots while records come (0: never by time).',
    { min: 0, readOnly: true },
  ),
];

/** Topic configs: name, type, Kafka default, and the broker config they fall back to. */
export interface TopicConfigDefinition extends ConfigDefinition {
  /** The broker config this topic config defaults to. */
  readonly brokerSynonym: string | null;
}

function topic(
  name: string,
  brokerSynonym: string | null,
  type: ConfigTypeValue,
  defaultValue: string | null,
  extra: Partial<ConfigDefinition> = {},
): TopicConfigDefinition {
  return { name, brokerSynonym, type, defaultValue, doc: '', ...extra };
}

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  topic('cleanup.policy', 'log.cleanup.policy', LIST, 'delete', { validValues: ['compact', 'delete'] }),
  topic('compression.type', 'compression.type', STR, 'producer', {
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
  }),
  topic('compression.gzip.level', 'compression.gzip.level', INT, '-1', GZIP_LEVEL_RANGE),
  topic('compression.lz4.level', 'compression.lz4.level', INT, '9', { min: 1, max: 17 }),
  topic('compression.zstd.level', 'compression.zstd.level', INT, '3', ZSTD_LEVEL_RANGE),
  topic('delete.retention.ms', 'log.cleaner.delete.retention.ms', LONG, '86400000', { min: 0 }),
  topic('file.delete.delay.ms', 'log.segment.delete.delay.ms', LONG, '60000', { min: 0 }),
  topic('flush.messages', 'log.flush.interval.messages', LONG, LONG_MAX, { min: 1 }),
  topic('flush.ms', 'log.flush.interval.ms', LONG, LONG_MAX, { min: 0 }),
  // The replicas a reassignment throttles (`kafka-reassign-partitions --throttle` sets them, --verify
  // clears them), enforced by src/broker/replication-quota.ts.
  topic('follower.replication.throttled.replicas', null, LIST, '', { replicaList: true }),
  topic('index.interval.bytes', 'log.index.interval.bytes', INT, '4096', { min: 0 }),
  topic('leader.replication.throttled.replicas', null, LIST, '', { replicaList: true }),
  topic('max.compaction.lag.ms', 'log.cleaner.max.compaction.lag.ms', LONG, LONG_MAX, { min: 1 }),
  topic('max.message.bytes', 'message.max.bytes', INT, '1048588', { min: 0 }),
  topic('message.timestamp.type', 'log.message.timestamp.type', STR, 'CreateTime', {
    validValues: ['CreateTime', 'LogAppendTime'],
  }),
  topic('message.timestamp.before.max.ms', 'log.message.timestamp.before.max.ms', LONG, LONG_MAX, { min: 0 }),
  topic('message.timestamp.after.max.ms', 'log.message.timestamp.after.max.ms', LONG, '3600000', { min: 0 }),
  topic('min.cleanable.dirty.ratio', 'log.cleaner.min.cleanable.ratio', DOUBLE, '0.5', { min: 0, max: 1 }),
  topic('min.compaction.lag.ms', 'log.cleaner.min.compaction.lag.ms', LONG, '0', { min: 0 }),
  topic('min.insync.replicas', 'min.insync.replicas', INT, '1', { min: 1 }),
  topic('preallocate', 'log.preallocate', BOOL, 'false'),
  topic('retention.bytes', 'log.retention.bytes', LONG, '-1'),
  topic('retention.ms', 'log.retention.ms', LONG, '604800000', { min: -1 }),
  topic('segment.bytes', 'log.segment.bytes', INT, '1073741824', { min: 1048576 }),
  topic('segment.index.bytes', 'log.index.size.max.bytes', INT, '10485760', { min: 4 }),
  topic('segment.jitter.ms', 'log.roll.jitter.ms', LONG, '0', { min: 0 }),
  topic('segment.ms', 'log.roll.ms', LONG, '604800000', { min: 1 }),
  topic('unclean.leader.election.enable', 'unclean.leader.election.enable', BOOL, 'false'),
];

export const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(
  BROKER_CONFIGS.map((d) => [d.name, d]),
);
export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDefinition> = new Map(
  TOPIC_CONFIGS.map((d) => [d.name, d]),
);

const LONG_MAX_BIG = 9223372036854775807n;
/** The integer range of each integral ConfigType, as Kafka parses them. */
const INTEGER_RANGES: ReadonlyMap<number, readonly [bigint, bigint]> = new Map([
  [ConfigType.short, [-32768n, 32767n]],
  [ConfigType.int, [-2147483648n, 2147483647n]],
  [ConfigType.long, [-LONG_MAX_BIG - 1n, LONG_MAX_BIG]],
]);

/**
 * Checks one value against its definition as Kafka's ConfigDef does; returns Kafka's message
 * saying what is wrong, or null. A value that does not parse is quoted as given; a parsed
 * value out of range or not among the valid ones is quoted as parsed (trimmed, numbers as
 * Java prints them).
 */
export function validateConfigValue(definition: ConfigDefinition, value: string | null): string | null {
  if (value === null) {
    return definition.defaultValue === null ? null : `${definition.name} may not be null`;
  }
  const invalid = (shown: string, why: string): string =>
    `Invalid value ${shown} for configuration ${definition.name}: ${why}`;
  const trimmed = value.trim();
  switch (definition.type) {
    case ConfigType.boolean: {
      const lower = trimmed.toLowerCase();
      return lower === 'true' || lower === 'false'
        ? null
        : invalid(value, 'Expected value to be either true or false');
    }
    case ConfigType.short:
    case ConfigType.int:
    case ConfigType.long: {
      const range = INTEGER_RANGES.get(definition.type)!;
      const notANumber = invalid(value, `Not a number of type ${typeName(definition.type)}`);
      if (!/^[-+]?\d+$/.test(trimmed)) return notANumber;
      const parsed = BigInt(trimmed);
      if (parsed < range[0] || parsed > range[1]) return notANumber;
      return rangeProblem(definition, Number(parsed), parsed.toString(), invalid);
    }
    case ConfigType.double: {
      const parsed = Number(trimmed);
      if (trimmed === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[dDfF]?$/.test(trimmed)) {
        return invalid(value, 'Not a number of type DOUBLE');
      }
      return rangeProblem(definition, parsed, javaDouble(parsed), invalid);
    }
    case ConfigType.list: {
      if (definition.replicaList === true) return replicaListProblem(definition.name, trimmed);
      // An empty list is valid (Kafka 4.1: no cleanup at all); an empty item is not.
      if (definition.validValues === undefined || trimmed === '') return null;
      for (const item of trimmed.split(',').map((s) => s.trim())) {
        if (!definition.validValues.includes(item)) {
          return invalid(item, `String must be one of: ${definition.validValues.join(', ')}`);
        }
      }
      return null;
    }
    default:
      if (definition.validValues !== undefined && !definition.validValues.includes(trimmed)) {
        return invalid(trimmed, `String must be one of: ${definition.validValues.join(', ')}`);
      }
      return null;
  }
}

/**
 * Kafka's ThrottledReplicaListValidator: the literal `*`, or items `partitionId:brokerId` (an
 * empty item passes, as Kafka's pattern makes the pair optional). Kafka shows the value as its
 * parsed list, `[0:1, x]`.
 */
function replicaListProblem(name: string, trimmed: string): string | null {
  if (trimmed === '*') return null;
  const items = trimmed === '' ? [] : trimmed.split(/\s*,\s*/);
  if (items.every((item) => /^(\d+:\d+)?$/.test(item.trim()))) return null;
  return `Invalid value [${items.join(', ')}] for configuration ${name}: ${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;
}

function rangeProblem(
  definition: ConfigDefinition,
  number: number,
  shown: string,
  invalid: (shown: string, why: string) => string,
): string | null {
  const { min, max, alsoValid } = definition;
  if (alsoValid === number) return null;
  const below = min !== undefined && number < min;
  const above = max !== undefined && number > max;
  if (alsoValid !== undefined && (below || above)) {
    return invalid(shown, `Value must be between ${min} and ${max} or equal to ${alsoValid}`);
  }
  if (below) return invalid(shown, `Value must be at least ${min}`);
  if (above) return invalid(shown, `Value must be no more than ${max}`);
  return null;
}

/** A double as Java's Double.toString prints it (2.0, 0.5, 2.147483648E9), as Kafka's messages show it. */
export function javaDouble(n: number): string {
  const magnitude = Math.abs(n);
  if (n === 0 || (magnitude >= 1e-3 && magnitude < 1e7)) {
    return Number.isInteger(n) ? `${n}.0` : String(n);
  }
  const [mantissa = '', exponent = '0'] = n.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/**
 * Kafka's requirements on the log configs in force after a dynamic change, beyond each
 * value's type and range: checked on the derived values (a negative log.retention.ms means
 * "forever"; a per-broker value shadows the cluster default). Returns Kafka's message or null.
 */
export function brokerRequirementProblem(config: BrokerConfig, changed: readonly string[]): string | null {
  const touches = (name: string): boolean => changed.some((c) => synonymNames(name).includes(c));
  if (touches('log.roll.ms') && config.getNumber('log.roll.ms') < 1) {
    return 'requirement failed: log.roll.ms must be greater than or equal to 1';
  }
  if (touches('log.roll.jitter.ms') && config.getNumber('log.roll.jitter.ms') < 0) {
    return 'requirement failed: log.roll.jitter.ms must be greater than or equal to 0';
  }
  if (touches('log.retention.ms') && config.getNumber('log.retention.ms') === 0) {
    return 'requirement failed: log.retention.ms must be unlimited (-1) or, greater than or equal to 1';
  }
  return null;
}

/**
 * Kafka's requirements on the consumer-group session and heartbeat settings, in GroupCoordinatorConfig's
 * order and with its messages (Apache Kafka 4.1.1 refuses to start on the first one broken):
 * `value` reads a setting in force. Returns the first broken one's message, or null.
 */
export function consumerGroupTimingProblem(value: (name: string) => number): string | null {
  const session = 'group.consumer.session.timeout.ms';
  const minSession = 'group.consumer.min.session.timeout.ms';
  const maxSession = 'group.consumer.max.session.timeout.ms';
  const heartbeat = 'group.consumer.heartbeat.interval.ms';
  const minHeartbeat = 'group.consumer.min.heartbeat.interval.ms';
  const maxHeartbeat = 'group.consumer.max.heartbeat.interval.ms';
  const atLeast = (a: string, b: string) =>
    value(a) >= value(b) || `${a} must be greater than or equal to ${b}`;
  const atMost = (a: string, b: string) => value(a) <= value(b) || `${a} must be less than or equal to ${b}`;
  const checks = [
    () => atLeast(maxHeartbeat, minHeartbeat),
    () => atLeast(heartbeat, minHeartbeat),
    () => atMost(heartbeat, maxHeartbeat),
    () => atLeast(maxSession, minSession),
    () => atLeast(session, minSession),
    () => atMost(session, maxSession),
    () => value(heartbeat) < value(session) || `${heartbeat} must be less than ${session}`,
  ];
  for (const check of checks) {
    const result = check();
    if (result !== true) return result;
  }
  return null;
}

function typeName(type: ConfigTypeValue): string {
  return (Object.entries(ConfigType).find(([, v]) => v === type)?.[0] ?? 'string').toUpperCase();
}

/** Which dynamic layer an AlterConfigs on the broker resource writes: '' (cluster default) or this node's id. */
export type DynamicScope = 'clusterDefault' | 'perBroker';

export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

/**
 * Kafka's broker-config synonyms: the configs that set the same thing, highest priority
 * first (log.retention.ms over .minutes over .hours). A topic or broker config in force is
 * the first of them set in the highest layer.
 */
function synonymNames(name: string): readonly string[] {
  if (name === 'log.retention.ms' || name === 'log.retention.minutes' || name === 'log.retention.hours') {
    return ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'];
  }
  if (name === 'log.roll.ms' || name === 'log.roll.hours') return ['log.roll.ms', 'log.roll.hours'];
  if (name === 'log.roll.jitter.ms' || name === 'log.roll.jitter.hours') {
    return ['log.roll.jitter.ms', 'log.roll.jitter.hours'];
  }
  if (name === 'log.flush.interval.ms') return ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'];
  return [name];
}

const MS_PER_MINUTE = 60_000n;
const MS_PER_HOUR = 3_600_000n;

/**
 * The broker's configuration in Kafka's four layers, highest first: the per-broker dynamic
 * configs (AlterConfigs on this node's id), the cluster-default dynamic configs (resource
 * name ''), the static configs (`kstack up --override`, Kafka's server.properties), and
 * Kafka's defaults. The dynamic layers are replayed from the metadata log at start.
 */
export class BrokerConfig implements BrokerConfigView {
  readonly #static: Map<string, string>;
  readonly #clusterDefault = new Map<string, string>();
  readonly #perBroker = new Map<string, string>();

  constructor(values: Record<string, string> = {}) {
    this.#static = new Map(Object.entries(values));
    // Kafka in KRaft mode takes broker.id from node.id.
    const nodeId = this.#static.get('node.id');
    if (nodeId !== undefined && !this.#static.has('broker.id')) this.#static.set('broker.id', nodeId);
    for (const [name, value] of this.#static) {
      const definition = BROKER_CONFIG_BY_NAME.get(name);
      if (definition === undefined) continue;
      const problem = validateConfigValue(definition, value);
      if (problem !== null) throw new Error(problem);
    }
    const timingProblem = consumerGroupTimingProblem((name) => this.getNumber(name));
    if (timingProblem !== null) throw new Error(timingProblem);
  }

  #layers(perBroker: boolean): [ReadonlyMap<string, string>, number][] {
    const layers: [ReadonlyMap<string, string>, number][] = [];
    if (perBroker) layers.push([this.#perBroker, ConfigSource.dynamicBroker]);
    layers.push([this.#clusterDefault, ConfigSource.dynamicDefaultBroker]);
    layers.push([this.#static, ConfigSource.staticBroker]);
    return layers;
  }

  /**
   * A broker config's own value in force and its source, as DescribeConfigs shows it (no
   * synonym is consulted: log.retention.ms is null until set); undefined for a name that
   * neither a definition nor a dynamic layer knows.
   */
  lookup(name: string): { value: string | null; source: number } | undefined {
    for (const [layer, source] of this.#layers(true)) {
      const value = layer.get(name);
      if (value !== undefined) return { value, source };
    }
    const definition = BROKER_CONFIG_BY_NAME.get(name);
    if (definition === undefined) return undefined;
    return { value: definition.defaultValue, source: ConfigSource.default };
  }

  /**
   * Kafka's synonym chain of a broker config: per-broker, cluster-default, static, default
   * entries of each synonym, layer by layer, starting at the first entry of the config itself
   * (so log.retention.hours is listed under log.retention.ms only once log.retention.ms is set).
   */
  synonyms(name: string, perBroker = true): ConfigSynonym[] {
    const names = synonymNames(name);
    const list: ConfigSynonym[] = [];
    for (const [layer, source] of this.#layers(perBroker)) {
      for (const synonym of names) {
        const value = layer.get(synonym);
        if (value !== undefined) list.push({ name: synonym, value, source });
      }
    }
    for (const synonym of names) {
      const value = BROKER_CONFIG_BY_NAME.get(synonym)?.defaultValue ?? null;
      if (value !== null) list.push({ name: synonym, value, source: ConfigSource.default });
    }
    const first = list.findIndex((entry) => entry.name === name);
    return first < 0 ? [] : list.slice(first);
  }

  /** Sets (value) or removes (null) a dynamic broker config of one layer. */
  setDynamic(scope: DynamicScope, name: string, value: string | null): void {
    const layer = scope === 'perBroker' ? this.#perBroker : this.#clusterDefault;
    if (value === null) layer.delete(name);
    else layer.set(name, value);
  }

  dynamicConfigs(scope: DynamicScope): ReadonlyMap<string, string> {
    return scope === 'perBroker' ? this.#perBroker : this.#clusterDefault;
  }

  /**
   * The value the broker works with: a config's own value, or for the configs Kafka
   * derives from their synonyms (log.retention.ms from .minutes/.hours, log.roll.ms,
   * log.roll.jitter.ms, log.flush.interval.ms), the derived one.
   */
  getString(name: string): string {
    const derived = this.#derived(name);
    if (derived !== null) return derived;
    const found = this.lookup(name);
    if (found === undefined) throw new Error(`unknown broker config ${name}`);
    return found.value ?? '';
  }

  #own(name: string): string | null {
    const value = this.lookup(name)?.value ?? null;
    return value === null ? null : value.trim();
  }

  #derived(name: string): string | null {
    const hours = (hoursName: string): bigint => BigInt(this.#own(hoursName) ?? '0') * MS_PER_HOUR;
    switch (name) {
      case 'log.retention.ms': {
        // As Kafka's logRetentionTimeMillis: any negative value means "keep forever" (-1).
        const ms = this.#own('log.retention.ms');
        const minutes = this.#own('log.retention.minutes');
        const millis =
          ms !== null
            ? BigInt(ms)
            : minutes !== null
              ? BigInt(minutes) * MS_PER_MINUTE
              : hours('log.retention.hours');
        return millis < 0n ? '-1' : millis.toString();
      }
      case 'log.roll.ms':
        return this.#own('log.roll.ms') ?? hours('log.roll.hours').toString();
      case 'log.roll.jitter.ms':
        return this.#own('log.roll.jitter.ms') ?? hours('log.roll.jitter.hours').toString();
      case 'log.flush.interval.ms':
        return this.#own('log.flush.interval.ms') ?? this.#own('log.flush.scheduler.interval.ms') ?? LONG_MAX;
      default:
        return null;
    }
  }

  getNumber(name: string): number {
    return Number(this.getString(name));
  }

  getBoolean(name: string): boolean {
    return this.getString(name).trim().toLowerCase() === 'true';
  }

  /**
   * A topic config's value in force for a topic with these overrides, and its source: the
   * override (source 1), else the value its broker config gives (derived as the broker
   * derives it), with the source of the broker config's own value.
   */
  topicValue(name: string, overrides: ReadonlyMap<string, string>): { value: string | null; source: number } {
    const override = overrides.get(name);
    if (override !== undefined) return { value: override, source: ConfigSource.dynamicTopic };
    const definition = TOPIC_CONFIG_BY_NAME.get(name);
    if (definition?.brokerSynonym) {
      const own = this.lookup(definition.brokerSynonym);
      if (own !== undefined) {
        return { value: this.getString(definition.brokerSynonym), source: own.source };
      }
    }
    return { value: definition?.defaultValue ?? null, source: ConfigSource.default };
  }

  /** A topic config's synonyms: its override, then its broker config's chain. */
  topicSynonyms(name: string, overrides: ReadonlyMap<string, string>): ConfigSynonym[] {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides.get(name);
    if (override !== undefined) synonyms.push({ name, value: override, source: ConfigSource.dynamicTopic });
    const brokerSynonym = TOPIC_CONFIG_BY_NAME.get(name)?.brokerSynonym;
    if (brokerSynonym) synonyms.push(...this.synonyms(brokerSynonym));
    return synonyms;
  }
}

/** The topic configs in force for one topic, parsed for the hot path. */
export interface TopicSettings {
  readonly maxMessageBytes: number;
  readonly logAppendTime: boolean;
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  readonly minInsyncReplicas: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly compact: boolean;
  readonly deleteRetentionMs: number;
  /** `compression.type`: `producer` keeps each batch's codec, else batches are stored in this one. */
  readonly compressionType: string;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
}

export function topicSettings(config: BrokerConfig, overrides: ReadonlyMap<string, string>): TopicSettings {
  const get = (name: string): string => config.topicValue(name, overrides).value ?? '';
  return {
    maxMessageBytes: Number(get('max.message.bytes')),
    logAppendTime: get('message.timestamp.type') === 'LogAppendTime',
    timestampBeforeMaxMs: Number(get('message.timestamp.before.max.ms')),
    timestampAfterMaxMs: Number(get('message.timestamp.after.max.ms')),
    minInsyncReplicas: Number(get('min.insync.replicas')),
    retentionMs: Number(get('retention.ms')),
    retentionBytes: Number(get('retention.bytes')),
    segmentBytes: Number(get('segment.bytes')),
    segmentMs: Number(get('segment.ms')),
    compact: get('cleanup.policy')
      .split(',')
      .map((policy) => policy.trim())
      .includes('compact'),
    deleteRetentionMs: Number(get('delete.retention.ms')),
    compressionType: get('compression.type').trim(),
    compressionGzipLevel: Number(get('compression.gzip.level')),
    compressionLz4Level: Number(get('compression.lz4.level')),
    compressionZstdLevel: Number(get('compression.zstd.level')),
  };
}
