/**
 * Builds DescribeConfigs/CreateTopics config entries (value, source, synonyms, type) for
 * topics and brokers, as Kafka 4.1 shows them: a config's source is that of its own value
 * (synonyms do not count), its synonyms are Kafka's chain (`BrokerConfig.synonyms`), and a
 * broker config nobody defined (Kafka accepts any name) is sensitive, read-only, of unknown type.
 */
import type { Broker } from './broker.ts';
import {
  BROKER_CONFIG_BY_NAME,
  BROKER_CONFIGS,
  type ConfigDefinition,
  ConfigSource,
  type ConfigSynonym,
  ConfigType,
  TOPIC_CONFIG_BY_NAME,
  TOPIC_CONFIGS,
} from './config.ts';
import type { TopicView } from './services.ts';

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/** ConfigType 0: Kafka's answer for a config it has no definition of. */
const UNKNOWN_TYPE = 0;

/** Whether a DescribeConfigs entry is asked for: every one when no keys are named. */
export function wanted(keys: readonly string[] | null, name: string): boolean {
  return keys === null || keys.length === 0 || keys.includes(name);
}

export function describeTopicConfigs(
  broker: Broker,
  topic: TopicView,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const definition of TOPIC_CONFIGS) {
    if (!wanted(keys, definition.name)) continue;
    const { value, source } = broker.config.topicValue(definition.name, topic.configs);
    const synonyms = includeSynonyms ? broker.config.topicSynonyms(definition.name, topic.configs) : [];
    entries.push(entry(definition, value, source, synonyms, includeDocumentation));
  }
  return entries;
}

/**
 * The broker resource: this node's id lists every config with its value in force; '' (the
 * cluster default) lists only the configs set dynamically as cluster defaults.
 */
export function describeBrokerConfigs(
  broker: Broker,
  resourceName: string,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntry[] {
  if (resourceName === '') {
    const entries: ConfigEntry[] = [];
    for (const [name, value] of broker.config.dynamicConfigs('clusterDefault')) {
      if (!wanted(keys, name)) continue;
      const source = ConfigSource.dynamicDefaultBroker;
      const synonyms = includeSynonyms ? [{ name, value, source }] : [];
      entries.push(brokerEntry(name, value, source, synonyms, includeDocumentation));
    }
    return entries;
  }
  const names = new Set(BROKER_CONFIGS.map((d) => d.name));
  for (const name of broker.config.dynamicConfigs('clusterDefault').keys()) names.add(name);
  for (const name of broker.config.dynamicConfigs('perBroker').keys()) names.add(name);
  const entries: ConfigEntry[] = [];
  for (const name of names) {
    if (!wanted(keys, name)) continue;
    const found = broker.config.lookup(name);
    if (found === undefined) continue;
    const synonyms = includeSynonyms ? broker.config.synonyms(name) : [];
    entries.push(brokerEntry(name, found.value, found.source, synonyms, includeDocumentation));
  }
  return entries;
}

function brokerEntry(
  name: string,
  value: string | null,
  source: number,
  synonyms: readonly ConfigSynonym[],
  includeDocumentation: boolean,
): ConfigEntry {
  const definition = BROKER_CONFIG_BY_NAME.get(name);
  if (definition !== undefined) return entry(definition, value, source, synonyms, includeDocumentation);
  // Kafka keeps any name set on the broker resource; without a definition it hides the value.
  return {
    name,
    value: null,
    readOnly: true,
    isDefault: false,
    configSource: source,
    isSensitive: true,
    synonyms: synonyms.map((s) => ({ ...s, value: null })),
    configType: UNKNOWN_TYPE,
    documentation: null,
  };
}

function entry(
  definition: ConfigDefinition,
  value: string | null,
  source: number,
  synonyms: readonly ConfigSynonym[],
  includeDocumentation: boolean,
): ConfigEntry {
  const sensitive = definition.sensitive === true || definition.type === ConfigType.password;
  return {
    name: definition.name,
    value: sensitive ? null : value,
    readOnly: definition.readOnly === true,
    isDefault: source === ConfigSource.default,
    configSource: source,
    isSensitive: sensitive,
    synonyms: synonyms.map((s) => ({ ...s, value: sensitive ? null : s.value })),
    configType: definition.type,
    documentation: includeDocumentation ? definition.doc : null,
  };
}

export function isKnownTopicConfig(name: string): boolean {
  return TOPIC_CONFIG_BY_NAME.has(name);
}
