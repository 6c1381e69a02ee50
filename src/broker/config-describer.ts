/** Builds DescribeConfigs/CreateTopics config entries (value, source, synonyms, type) for topics and brokers. */
import type { Broker } from './broker.ts';
import {
  BROKER_CONFIG_BY_NAME,
  BROKER_CONFIGS,
  type ConfigDefinition,
  ConfigSource,
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

export function describeTopicConfigs(
  broker: Broker,
  topic: TopicView,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const definition of TOPIC_CONFIGS) {
    if (keys !== null && keys.length > 0 && !keys.includes(definition.name)) continue;
    const { value, source } = broker.config.topicValue(definition.name, topic.configs);
    const synonyms: ConfigEntry['synonyms'] = [];
    if (includeSynonyms) {
      const override = topic.configs.get(definition.name);
      if (override !== undefined) {
        synonyms.push({ name: definition.name, value: override, source: ConfigSource.dynamicTopic });
      }
      if (definition.brokerSynonym !== null) {
        const brokerValue = broker.config.lookup(definition.brokerSynonym);
        if (brokerValue !== undefined && brokerValue.source !== ConfigSource.default) {
          synonyms.push({
            name: definition.brokerSynonym,
            value: brokerValue.value,
            source: brokerValue.source,
          });
        }
        const brokerDefault = BROKER_CONFIG_BY_NAME.get(definition.brokerSynonym);
        synonyms.push({
          name: definition.brokerSynonym,
          value: definition.defaultValue ?? brokerDefault?.defaultValue ?? null,
          source: ConfigSource.default,
        });
      }
    }
    entries.push(entry(definition, value, source, synonyms, includeDocumentation));
  }
  return entries;
}

export function describeBrokerConfigs(
  broker: Broker,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  for (const definition of BROKER_CONFIGS) {
    if (keys !== null && keys.length > 0 && !keys.includes(definition.name)) continue;
    const found = broker.config.lookup(definition.name);
    if (found === undefined) continue;
    const synonyms = includeSynonyms
      ? [{ name: definition.name, value: found.value, source: found.source }]
      : [];
    entries.push(entry(definition, found.value, found.source, synonyms, includeDocumentation));
  }
  return entries;
}

function entry(
  definition: ConfigDefinition,
  value: string | null,
  source: number,
  synonyms: ConfigEntry['synonyms'],
  includeDocumentation: boolean,
): ConfigEntry {
  return {
    name: definition.name,
    value: definition.sensitive === true ? null : value,
    readOnly: definition.readOnly === true,
    isDefault: source === ConfigSource.default,
    configSource: source,
    isSensitive: definition.sensitive === true,
    synonyms,
    configType: definition.type,
    documentation: includeDocumentation ? definition.doc : null,
  };
}

export function isKnownTopicConfig(name: string): boolean {
  return TOPIC_CONFIG_BY_NAME.has(name);
}
