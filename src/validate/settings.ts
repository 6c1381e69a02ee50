/**
 * The components whose environment variables the Confluent images turn into properties,
 * and the real settings of each (the `settings/*.txt` lists). Used by RULE-MSG-008.
 *
 * cp images render `<PREFIX>NAME` as a property: drop the prefix, lower-case, then
 * `___` -> `-`, `__` -> `_`, `_` -> `.`. A few variables are read by the launch scripts
 * instead (heap, JVM and logging options) and are never rendered.
 */
import { readFileSync } from 'node:fs';
import { closest } from 'fastest-levenshtein';

export interface Component {
  /** Name used in messages. */
  readonly label: string;
  /** Image repositories (without registry host or tag) this component runs from. */
  readonly images: readonly string[];
  readonly prefix: string;
  /** Variables with the prefix that the image reads itself rather than rendering. */
  readonly notRendered: readonly string[];
  /** Variable-name prefixes the image reads itself (e.g. logging). */
  readonly notRenderedPrefixes: readonly string[];
  readonly settingsFiles: readonly string[];
  /** Property prefixes whose suffix is free-form (plugin or per-listener settings). */
  readonly openPrefixes: readonly string[];
  /** Property prefixes whose suffix must be a Kafka client setting. */
  readonly clientPrefixes: readonly string[];
}

const JVM_VARIABLES = [
  'HEAP_OPTS',
  'OPTS',
  'JMX_OPTS',
  'JMX_PORT',
  'JMX_HOSTNAME',
  'JVM_PERFORMANCE_OPTS',
  'GC_LOG_OPTS',
];

export const COMPONENTS: readonly Component[] = [
  {
    label: 'Kafka broker (cp-kafka)',
    images: ['confluentinc/cp-kafka', 'confluentinc/cp-server'],
    prefix: 'KAFKA_',
    notRendered: [...JVM_VARIABLES.map((name) => `KAFKA_${name}`), 'KAFKA_VERSION', 'KAFKA_DEBUG'],
    notRenderedPrefixes: ['KAFKA_LOG4J_', 'KAFKA_TOOLS_LOG4J_'],
    settingsFiles: ['kafka-broker.txt'],
    openPrefixes: [
      'listener.name.',
      'confluent.',
      'log.dirs.',
      'remote.log.storage.',
      'remote.log.metadata.',
    ],
    clientPrefixes: [],
  },
  {
    label: 'Schema Registry (cp-schema-registry)',
    images: ['confluentinc/cp-schema-registry'],
    prefix: 'SCHEMA_REGISTRY_',
    notRendered: JVM_VARIABLES.map((name) => `SCHEMA_REGISTRY_${name}`),
    notRenderedPrefixes: ['SCHEMA_REGISTRY_LOG4J_'],
    settingsFiles: ['schema-registry.txt'],
    openPrefixes: ['confluent.'],
    clientPrefixes: [],
  },
  {
    label: 'Kafka Connect (cp-kafka-connect)',
    images: ['confluentinc/cp-kafka-connect', 'confluentinc/cp-server-connect'],
    prefix: 'CONNECT_',
    notRendered: JVM_VARIABLES.map((name) => `CONNECT_${name}`),
    notRenderedPrefixes: ['CONNECT_LOG4J_'],
    settingsFiles: ['kafka-connect.txt'],
    openPrefixes: [
      'key.converter.',
      'value.converter.',
      'header.converter.',
      'config.providers.',
      'confluent.',
    ],
    clientPrefixes: ['producer.', 'consumer.', 'admin.'],
  },
  {
    label: 'REST Proxy (cp-kafka-rest)',
    images: ['confluentinc/cp-kafka-rest'],
    prefix: 'KAFKA_REST_',
    notRendered: JVM_VARIABLES.map((name) => `KAFKA_REST_${name}`),
    notRenderedPrefixes: ['KAFKA_REST_LOG4J_'],
    settingsFiles: ['kafka-rest.txt'],
    openPrefixes: ['confluent.'],
    clientPrefixes: ['client.', 'producer.', 'consumer.', 'admin.'],
  },
];

const settingsCache = new Map<string, ReadonlySet<string>>();

function settingsList(fileName: string): ReadonlySet<string> {
  const cached = settingsCache.get(fileName);
  if (cached !== undefined) return cached;
  const text = readFileSync(new URL(`./settings/${fileName}`, import.meta.url), 'utf8');
  const names = new Set(
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
  settingsCache.set(fileName, names);
  return names;
}

/** The component an image runs, from its repository name (registry host and tag ignored). */
export function componentOfImage(image: string): Component | undefined {
  const repository = imageRepository(image);
  return COMPONENTS.find((component) => component.images.includes(repository));
}

export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  const name = colon < 0 ? withoutDigest : withoutDigest.slice(0, colon);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  return (hasRegistry ? parts.slice(1) : parts).join('/');
}

export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon < 0 ? undefined : withoutDigest.slice(colon + 1);
}

/** `KAFKA_MIN_INSYNC_REPLICAS` -> `min.insync.replicas` (cp-kafka's rendering rules). */
export function variableToProperty(variable: string, prefix: string): string {
  return variable
    .slice(prefix.length)
    .toLowerCase()
    .replaceAll('___', '\u0001')
    .replaceAll('__', '\u0002')
    .replaceAll('_', '.')
    .replaceAll('\u0001', '-')
    .replaceAll('\u0002', '_');
}

/** The inverse of variableToProperty: `min.insync.replicas` -> `KAFKA_MIN_INSYNC_REPLICAS`. */
export function propertyToVariable(property: string, prefix: string): string {
  return prefix + property.replaceAll('_', '__').replaceAll('-', '___').replaceAll('.', '_').toUpperCase();
}

export type SettingVerdict =
  | { readonly kind: 'not-checked' }
  | { readonly kind: 'known'; readonly property: string }
  | { readonly kind: 'unknown'; readonly property: string; readonly suggestion: string };

/** Whether `variable` names a real setting of `component`, with the nearest one if not. */
export function checkVariable(component: Component, variable: string): SettingVerdict {
  if (!variable.startsWith(component.prefix)) return { kind: 'not-checked' };
  if (component.notRendered.includes(variable)) return { kind: 'not-checked' };
  if (component.notRenderedPrefixes.some((prefix) => variable.startsWith(prefix)))
    return { kind: 'not-checked' };
  const property = variableToProperty(variable, component.prefix);
  if (
    component.openPrefixes.some((prefix) => property.startsWith(prefix) && property.length > prefix.length)
  ) {
    return { kind: 'known', property };
  }
  const clientPrefix = component.clientPrefixes.find((prefix) => property.startsWith(prefix));
  if (clientPrefix !== undefined) {
    const clientProperty = property.slice(clientPrefix.length);
    const clients = settingsList('kafka-clients.txt');
    if (clients.has(clientProperty)) return { kind: 'known', property };
    return {
      kind: 'unknown',
      property,
      suggestion: nearest(clientPrefix + clientProperty, component, clientPrefix),
    };
  }
  const known = ownSettings(component);
  if (known.has(property)) return { kind: 'known', property };
  return { kind: 'unknown', property, suggestion: nearest(property, component, undefined) };
}

function ownSettings(component: Component): ReadonlySet<string> {
  const names = new Set<string>();
  for (const file of component.settingsFiles) for (const name of settingsList(file)) names.add(name);
  return names;
}

/** Nearest valid variable name by Levenshtein distance over the variable spelling. */
function nearest(property: string, component: Component, clientPrefix: string | undefined): string {
  const candidates =
    clientPrefix === undefined
      ? [...ownSettings(component)]
      : [...settingsList('kafka-clients.txt')].map((name) => clientPrefix + name);
  const variables = candidates.map((name) => propertyToVariable(name, component.prefix));
  return closest(propertyToVariable(property, component.prefix), variables);
}
