/**
 * Per-group configs (KIP-848's GROUP config resource, ConfigResource type 32), as Apache Kafka 4.1.1's
 * GroupConfig defines, checks and describes them (each message and entry asked of the reference):
 * `kafka-configs --entity-type groups`. A group's own values are ConfigRecords in the metadata log
 * (the image's `groupConfigs`); a value it does not set is the broker's `group.*` default. kstack's
 * consumer groups use `consumer.session.timeout.ms` and `consumer.heartbeat.interval.ms`; the share
 * and streams ones are kept and described (kstack serves neither kind of group).
 */
import { type ConfigEntry, wanted } from '../broker/config-describer.ts';

/** DescribeConfigs' ConfigSource: a group's own value, and the broker's default for it. */
const GROUP_CONFIG_SOURCE = 8;
const DEFAULT_CONFIG_SOURCE = 5;
/** DescribeConfigs' ConfigType codes. */
const STRING_TYPE = 2;
const INT_TYPE = 3;

/**
 * The broker settings the group configs default to and are bounded by, at Kafka 4.1.1's defaults
 * (kstack's broker config defines the consumer ones; the share and streams ones are Kafka's).
 */
const BROKER_DEFAULTS: Readonly<Record<string, number | string>> = {
  'group.consumer.session.timeout.ms': 45_000,
  'group.consumer.min.session.timeout.ms': 45_000,
  'group.consumer.max.session.timeout.ms': 60_000,
  'group.consumer.heartbeat.interval.ms': 5_000,
  'group.consumer.min.heartbeat.interval.ms': 5_000,
  'group.consumer.max.heartbeat.interval.ms': 15_000,
  'group.share.session.timeout.ms': 45_000,
  'group.share.min.session.timeout.ms': 45_000,
  'group.share.max.session.timeout.ms': 60_000,
  'group.share.heartbeat.interval.ms': 5_000,
  'group.share.min.heartbeat.interval.ms': 5_000,
  'group.share.max.heartbeat.interval.ms': 15_000,
  'group.share.record.lock.duration.ms': 30_000,
  'group.share.min.record.lock.duration.ms': 15_000,
  'group.share.max.record.lock.duration.ms': 60_000,
  'group.streams.session.timeout.ms': 45_000,
  'group.streams.min.session.timeout.ms': 45_000,
  'group.streams.max.session.timeout.ms': 60_000,
  'group.streams.heartbeat.interval.ms': 5_000,
  'group.streams.min.heartbeat.interval.ms': 5_000,
  'group.streams.max.heartbeat.interval.ms': 15_000,
  'group.streams.num.standby.replicas': 0,
  'group.streams.max.standby.replicas': 2,
};

/** A broker setting's value: the broker's own when it defines it, else Kafka's default. */
export type BrokerSetting = (name: string) => number | undefined;

interface GroupConfigDefinition {
  readonly name: string;
  readonly type: typeof STRING_TYPE | typeof INT_TYPE;
  readonly documentation: string;
  /** The broker setting its value defaults to, or a fixed default. */
  readonly brokerDefault: string | null;
  readonly fixedDefault?: string;
  /** Kafka's type-level lower bound ("Value must be at least N"). */
  readonly atLeast?: number;
  /** The broker settings bounding it ("X must be greater/less than or equal to Y"). */
  readonly min?: string;
  readonly max?: string;
  /** A string config's allowed values, or its own check. */
  readonly oneOf?: readonly string[];
  readonly check?: (value: string) => string | null;
}

const AUTO_OFFSET_RESET = /^(earliest|latest|by_duration:P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)$/;

/** The group configs in the order Kafka 4.1.1 describes them. */
const GROUP_CONFIGS: readonly GroupConfigDefinition[] = [
  {
    name: 'consumer.session.timeout.ms',
    type: INT_TYPE,
    documentation: 'The timeout to detect client failures when using the consumer group protocol.',
    brokerDefault: 'group.consumer.session.timeout.ms',
    min: 'group.consumer.min.session.timeout.ms',
    max: 'group.consumer.max.session.timeout.ms',
  },
  {
    name: 'streams.heartbeat.interval.ms',
    type: INT_TYPE,
    documentation: 'The heartbeat interval given to the members.',
    brokerDefault: 'group.streams.heartbeat.interval.ms',
    min: 'group.streams.min.heartbeat.interval.ms',
    max: 'group.streams.max.heartbeat.interval.ms',
  },
  {
    name: 'share.auto.offset.reset',
    type: STRING_TYPE,
    documentation:
      'The strategy to initialize the share-partition start offset. <ul><li>earliest: automatically reset the offset to the earliest offset</li><li>latest: automatically reset the offset to the latest offset</li><li>by_duration:&lt;duration&gt;: automatically reset the offset to a configured duration from the current timestamp. &lt;duration&gt; must be specified in ISO8601 format (PnDTnHnMn.nS). Negative duration is not allowed.</li><li>anything else: throw exception to the share consumer.</li></ul>',
    brokerDefault: null,
    fixedDefault: 'latest',
    check: (value) =>
      AUTO_OFFSET_RESET.test(value)
        ? null
        : `Invalid value \`${value}\` for configuration share.auto.offset.reset. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'.`,
  },
  {
    name: 'share.record.lock.duration.ms',
    type: INT_TYPE,
    documentation: 'The record acquisition lock duration in milliseconds for share groups.',
    brokerDefault: 'group.share.record.lock.duration.ms',
    atLeast: 1000,
    min: 'group.share.min.record.lock.duration.ms',
    max: 'group.share.max.record.lock.duration.ms',
  },
  {
    name: 'consumer.heartbeat.interval.ms',
    type: INT_TYPE,
    documentation: 'The heartbeat interval given to the members of a consumer group.',
    brokerDefault: 'group.consumer.heartbeat.interval.ms',
    min: 'group.consumer.min.heartbeat.interval.ms',
    max: 'group.consumer.max.heartbeat.interval.ms',
  },
  {
    name: 'share.session.timeout.ms',
    type: INT_TYPE,
    documentation: 'The timeout to detect client failures when using the share group protocol.',
    brokerDefault: 'group.share.session.timeout.ms',
    min: 'group.share.min.session.timeout.ms',
    max: 'group.share.max.session.timeout.ms',
  },
  {
    name: 'share.isolation.level',
    type: STRING_TYPE,
    documentation:
      'Controls how to read records written transactionally. If set to "read_committed", the share group will only deliver transactional records which have been committed. If set to "read_uncommitted", the share group will return all messages, even transactional messages which have been aborted. Non-transactional records will be returned unconditionally in either mode.',
    brokerDefault: null,
    fixedDefault: 'read_uncommitted',
    oneOf: ['read_committed', 'read_uncommitted'],
  },
  {
    name: 'streams.session.timeout.ms',
    type: INT_TYPE,
    documentation: 'The timeout to detect client failures when using the streams group protocol.',
    brokerDefault: 'group.streams.session.timeout.ms',
    min: 'group.streams.min.session.timeout.ms',
    max: 'group.streams.max.session.timeout.ms',
  },
  {
    name: 'share.heartbeat.interval.ms',
    type: INT_TYPE,
    documentation: 'The heartbeat interval given to the members of a share group.',
    brokerDefault: 'group.share.heartbeat.interval.ms',
    min: 'group.share.min.heartbeat.interval.ms',
    max: 'group.share.max.heartbeat.interval.ms',
  },
  {
    name: 'streams.num.standby.replicas',
    type: INT_TYPE,
    documentation: 'The number of standby replicas for each task.',
    brokerDefault: 'group.streams.num.standby.replicas',
    atLeast: 0,
    max: 'group.streams.max.standby.replicas',
  },
];

const BY_NAME = new Map(GROUP_CONFIGS.map((d) => [d.name, d]));

export function isGroupConfig(name: string): boolean {
  return BY_NAME.has(name);
}

function brokerValue(name: string, broker: BrokerSetting): number {
  return broker(name) ?? (BROKER_DEFAULTS[name] as number);
}

function defaultValue(definition: GroupConfigDefinition, broker: BrokerSetting): string {
  if (definition.brokerDefault === null) return definition.fixedDefault!;
  return String(brokerValue(definition.brokerDefault, broker));
}

/** Kafka's ConfigDef parse of an INT (trimmed, whole, in range): the number or null. */
function parseInt32(value: string): number | null {
  const text = value.trim();
  if (!/^[-+]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : null;
}

/** Why a group config value is refused (Kafka's INVALID_CONFIG message), or null. */
export function groupConfigProblem(name: string, value: string, broker: BrokerSetting): string | null {
  const definition = BY_NAME.get(name);
  if (definition === undefined) return `Unknown group config name: ${name}`;
  const invalid = (why: string) => `Invalid value ${value} for configuration ${name}: ${why}`;
  if (definition.type === STRING_TYPE) {
    if (definition.oneOf !== undefined && !definition.oneOf.includes(value.trim())) {
      return invalid(`String must be one of: ${definition.oneOf.join(', ')}`);
    }
    const problem = definition.check?.(value.trim()) ?? null;
    return problem === null ? null : invalid(problem);
  }
  const n = parseInt32(value);
  if (n === null) return invalid('Not a number of type INT');
  if (definition.atLeast !== undefined && n < definition.atLeast) {
    return invalid(`Value must be at least ${definition.atLeast}`);
  }
  if (definition.min !== undefined && n < brokerValue(definition.min, broker)) {
    return `${name} must be greater than or equal to ${definition.min}`;
  }
  if (definition.max !== undefined && n > brokerValue(definition.max, broker)) {
    return `${name} must be less than or equal to ${definition.max}`;
  }
  return null;
}

/** APPEND/SUBTRACT on a group config: Kafka refuses them (only LIST configs take them; no group config is one). */
export function listOperationProblem(name: string, operation: 'APPEND' | 'SUBTRACT'): string {
  return `Can't ${operation} to key ${name} because its type is not LIST.`;
}

/**
 * DescribeConfigs of a group: every group config (or the keys asked for; unknown keys are left
 * out) with the group's own value (source 8) or the broker's default (source 5), as Kafka 4.1.1
 * answers (isDefault false either way; the one synonym is the entry itself).
 */
export function describeGroupConfigs(
  own: ReadonlyMap<string, string> | undefined,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
  broker: BrokerSetting,
): ConfigEntry[] {
  return GROUP_CONFIGS.filter((d) => wanted(keys, d.name)).map((definition) => {
    const set = own?.get(definition.name);
    const value = set ?? defaultValue(definition, broker);
    const source = set === undefined ? DEFAULT_CONFIG_SOURCE : GROUP_CONFIG_SOURCE;
    return {
      name: definition.name,
      value,
      readOnly: false,
      isDefault: false,
      configSource: source,
      isSensitive: false,
      synonyms: includeSynonyms ? [{ name: definition.name, value, source }] : [],
      configType: definition.type,
      documentation: includeDocumentation ? definition.documentation : null,
    };
  });
}

/** The session timeout and heartbeat interval a consumer group's members get. */
export function consumerGroupTimings(
  own: ReadonlyMap<string, string> | undefined,
  broker: BrokerSetting,
): { sessionTimeoutMs: number; heartbeatIntervalMs: number } {
  const read = (name: string) => Number((own?.get(name) ?? defaultValue(BY_NAME.get(name)!, broker)).trim());
  return {
    sessionTimeoutMs: read('consumer.session.timeout.ms'),
    heartbeatIntervalMs: read('consumer.heartbeat.interval.ms'),
  };
}
