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
  readonly readOnly?: boolean;
  readonly sensitive?: boolean;
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

/** Broker configs kstack understands (static ones are read-only at run time, as in Kafka). */
export const BROKER_CONFIGS: readonly ConfigDefinition[] = [
  def('node.id', INT, '1', 'This broker’s id.', { readOnly: true }),
  def('broker.id', INT, '1', 'Alias of node.id.', { readOnly: true }),
  def('listeners', STR, 'PLAINTEXT://127.0.0.1:9092', 'Listener addresses.', { readOnly: true }),
  def('advertised.listeners', STR, null, 'Addresses given to clients.', { readOnly: true }),
  def('log.dirs', STR, null, 'The data directory.', { readOnly: true }),
  def('auto.create.topics.enable', BOOL, 'true', 'Create a topic on Metadata/Produce for an unknown topic.'),
  def('num.partitions', INT, '1', 'Partitions of an automatically created topic.', { min: 1 }),
  def('default.replication.factor', INT, '1', 'Replication factor of automatically created topics.', {
    min: 1,
  }),
  def('min.insync.replicas', INT, '1', 'Minimum ISR size for acks=all.', { min: 1 }),
  def('message.max.bytes', INT, '1048588', 'Largest record batch size allowed.', { min: 0 }),
  def('log.retention.hours', INT, '168', 'Retention in hours (lowest priority).'),
  def('log.retention.minutes', INT, null, 'Retention in minutes (over hours).'),
  def('log.retention.ms', LONG, null, 'Retention in ms (over minutes); -1 keeps forever.', { min: -1 }),
  def('log.retention.bytes', LONG, '-1', 'Retention by size per partition; -1 unlimited.'),
  def('log.retention.check.interval.ms', LONG, '300000', 'How often retention runs.', { min: 1 }),
  def('log.segment.bytes', INT, '1073741824', 'Segment size.', { min: 14 }),
  def('log.roll.ms', LONG, null, 'Segment age before a roll.'),
  def('log.roll.hours', INT, '168', 'Segment age before a roll, in hours.', { min: 1 }),
  def('log.roll.jitter.ms', LONG, '0', 'Jitter on segment rolls.'),
  def('log.index.interval.bytes', INT, '4096', 'Bytes between offset index entries.', { min: 0 }),
  def('log.index.size.max.bytes', INT, '10485760', 'Index size.', { min: 4 }),
  def('log.flush.interval.messages', LONG, LONG_MAX, 'Messages before a flush.', { min: 1 }),
  def('log.flush.interval.ms', LONG, null, 'Ms before a flush.'),
  def('log.cleanup.policy', LIST, 'delete', 'delete or compact.', { validValues: ['delete', 'compact'] }),
  def('log.cleaner.delete.retention.ms', LONG, '86400000', 'Tombstone retention.', { min: 0 }),
  def('log.cleaner.min.compaction.lag.ms', LONG, '0', 'Minimum age before compaction.', { min: 0 }),
  def('log.cleaner.max.compaction.lag.ms', LONG, LONG_MAX, 'Maximum age before compaction.', { min: 1 }),
  def('log.cleaner.min.cleanable.ratio', DOUBLE, '0.5', 'Dirty ratio that triggers compaction.', {
    min: 0,
    max: 1,
  }),
  def('log.cleaner.backoff.ms', LONG, '15000', 'Pause between compaction passes.', { min: 0 }),
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
  def('delete.topic.enable', BOOL, 'true', 'Allow topic deletion.'),
  def('offsets.topic.replication.factor', SHORT, '1', 'RF of __consumer_offsets.', { min: 1 }),
  def('offsets.topic.num.partitions', INT, '50', 'Partitions of __consumer_offsets.', { min: 1 }),
  def('transaction.state.log.replication.factor', SHORT, '1', 'RF of __transaction_state.', { min: 1 }),
  def('transaction.state.log.min.isr', INT, '1', 'Min ISR of __transaction_state.', { min: 1 }),
  def('group.initial.rebalance.delay.ms', INT, '3000', 'Delay of a new group’s first rebalance.', { min: 0 }),
  def('socket.request.max.bytes', INT, '104857600', 'Largest request frame.', { min: 1, readOnly: true }),
  def('max.connections', INT, String(INT_MAX), 'Connections accepted.', { min: 0, readOnly: true }),
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
  }),
  def('fetch.max.bytes', INT, '57671680', 'Largest fetch response.', { min: 1024 }),
  def('replica.lag.time.max.ms', LONG, '30000', 'Follower lag before it leaves the ISR.'),
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
  topic('cleanup.policy', 'log.cleanup.policy', LIST, 'delete', { validValues: ['delete', 'compact'] }),
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
  topic('index.interval.bytes', 'log.index.interval.bytes', INT, '4096', { min: 0 }),
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
  topic('segment.bytes', 'log.segment.bytes', INT, '1073741824', { min: 14 }),
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

/** Checks one value against its definition; returns a message saying what is wrong, or null. */
export function validateConfigValue(definition: ConfigDefinition, value: string | null): string | null {
  if (value === null) {
    return definition.defaultValue === null ? null : `${definition.name} may not be null`;
  }
  const trimmed = value.trim();
  switch (definition.type) {
    case ConfigType.boolean:
      if (trimmed !== 'true' && trimmed !== 'false') {
        return `Invalid value ${value} for configuration ${definition.name}: Expected value to be either true or false`;
      }
      return null;
    case ConfigType.int:
    case ConfigType.short:
    case ConfigType.long:
    case ConfigType.double: {
      const isInteger = definition.type !== ConfigType.double;
      const number = Number(trimmed);
      if (trimmed === '' || !Number.isFinite(number) || (isInteger && !/^-?\d+$/.test(trimmed))) {
        return `Invalid value ${value} for configuration ${definition.name}: Not a number of type ${typeName(definition.type)}`;
      }
      if (definition.type === ConfigType.int && (number > INT_MAX || number < -INT_MAX - 1)) {
        return `Invalid value ${value} for configuration ${definition.name}: Not a number of type INT`;
      }
      if (definition.alsoValid === number) return null;
      if (
        definition.alsoValid !== undefined &&
        ((definition.min !== undefined && number < definition.min) ||
          (definition.max !== undefined && number > definition.max))
      ) {
        return `Invalid value ${value} for configuration ${definition.name}: Value must be between ${definition.min} and ${definition.max} or equal to ${definition.alsoValid}`;
      }
      if (definition.min !== undefined && number < definition.min) {
        return `Invalid value ${value} for configuration ${definition.name}: Value must be at least ${definition.min}`;
      }
      if (definition.max !== undefined && number > definition.max) {
        return `Invalid value ${value} for configuration ${definition.name}: Value must be no more than ${definition.max}`;
      }
      return null;
    }
    case ConfigType.list: {
      const items = trimmed.split(',').map((s) => s.trim());
      if (definition.validValues !== undefined && (trimmed === '' || items.includes(''))) {
        return `Invalid value ${value} for configuration ${definition.name}: the list must name at least one of ${definition.validValues.join(', ')}, with no empty item`;
      }
      if (definition.validValues !== undefined) {
        for (const item of items) {
          if (!definition.validValues.includes(item)) {
            return `Invalid value ${item} for configuration ${definition.name}: String must be one of: ${definition.validValues.join(', ')}`;
          }
        }
      }
      return null;
    }
    default:
      if (definition.validValues !== undefined && !definition.validValues.includes(trimmed)) {
        return `Invalid value ${value} for configuration ${definition.name}: String must be one of: ${definition.validValues.join(', ')}`;
      }
      return null;
  }
}

function typeName(type: ConfigTypeValue): string {
  return (Object.entries(ConfigType).find(([, v]) => v === type)?.[0] ?? 'string').toUpperCase();
}

/**
 * The broker's configuration: static values (from the command line or env file) over
 * Kafka's defaults, plus dynamic overrides (AlterConfigs on the broker resource).
 */
export class BrokerConfig implements BrokerConfigView {
  readonly #static: Map<string, string>;
  readonly #dynamic = new Map<string, string>();

  constructor(values: Record<string, string> = {}) {
    this.#static = new Map(Object.entries(values));
    for (const [name, value] of this.#static) {
      const definition = BROKER_CONFIG_BY_NAME.get(name);
      if (definition === undefined) continue;
      const problem = validateConfigValue(definition, value);
      if (problem !== null) throw new Error(problem);
    }
  }

  /** The value in force and where it came from; undefined for an unknown name. */
  lookup(name: string): { value: string | null; source: number } | undefined {
    const dynamic = this.#dynamic.get(name);
    if (dynamic !== undefined) return { value: dynamic, source: ConfigSource.dynamicBroker };
    const configured = this.#static.get(name);
    if (configured !== undefined) return { value: configured, source: ConfigSource.staticBroker };
    const definition = BROKER_CONFIG_BY_NAME.get(name);
    if (definition === undefined) return undefined;
    return { value: this.#derivedDefault(name) ?? definition.defaultValue, source: ConfigSource.default };
  }

  /** Kafka derives some defaults from others (log.retention.ms from .minutes/.hours). */
  #derivedDefault(name: string): string | null {
    if (name === 'log.retention.ms') {
      const minutes = this.lookup('log.retention.minutes')?.value;
      if (minutes !== null && minutes !== undefined) return String(Number(minutes) * 60_000);
      return String(Number(this.lookup('log.retention.hours')?.value ?? '168') * 3_600_000);
    }
    if (name === 'log.roll.ms') {
      return String(Number(this.lookup('log.roll.hours')?.value ?? '168') * 3_600_000);
    }
    if (name === 'log.flush.interval.ms')
      return this.lookup('log.flush.interval.messages')?.value ?? LONG_MAX;
    if (name === 'broker.id') return this.lookup('node.id')?.value ?? null;
    return null;
  }

  setDynamic(name: string, value: string | null): void {
    if (value === null) this.#dynamic.delete(name);
    else this.#dynamic.set(name, value);
  }

  dynamicOverrides(): ReadonlyMap<string, string> {
    return this.#dynamic;
  }

  getString(name: string): string {
    const found = this.lookup(name);
    if (found === undefined) throw new Error(`unknown broker config ${name}`);
    return found.value ?? '';
  }

  getNumber(name: string): number {
    return Number(this.getString(name));
  }

  getBoolean(name: string): boolean {
    return this.getString(name) === 'true';
  }

  /** A topic config's value in force for a topic with these overrides, and its source. */
  topicValue(name: string, overrides: ReadonlyMap<string, string>): { value: string | null; source: number } {
    const override = overrides.get(name);
    if (override !== undefined) return { value: override, source: ConfigSource.dynamicTopic };
    const definition = TOPIC_CONFIG_BY_NAME.get(name);
    if (definition?.brokerSynonym) {
      const broker = this.lookup(definition.brokerSynonym);
      if (broker !== undefined && broker.source !== ConfigSource.default) return broker;
      if (broker !== undefined && broker.value !== null && definition.brokerSynonym === 'log.retention.ms') {
        return { value: broker.value, source: ConfigSource.default };
      }
    }
    return { value: definition?.defaultValue ?? null, source: ConfigSource.default };
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
    compact: get('cleanup.policy').split(',').includes('compact'),
    deleteRetentionMs: Number(get('delete.retention.ms')),
    compressionType: get('compression.type').trim(),
    compressionGzipLevel: Number(get('compression.gzip.level')),
    compressionLz4Level: Number(get('compression.lz4.level')),
    compressionZstdLevel: Number(get('compression.zstd.level')),
  };
}
