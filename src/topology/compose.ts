/**
 * The one mapper from the Compose stack to Kafka brokers: loads the stack as
 * `docker compose --env-file F config` does (src/validate/load.ts: root file, includes,
 * interpolation from `.env` or `.env.example`), keeps the services of the `messaging`
 * profile, and turns each broker service's `KAFKA_*` environment into broker properties by
 * the Confluent cp-kafka image's rule. `kstack up` runs the embedded broker from it, and the
 * Compose run-time check (issue 19) runs Apache Kafka from it: one reading for both engines.
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { loadStack } from '../validate/load.ts';
import { environmentOf, isBroker, isOneShot, mountsOf, portsOf } from '../validate/service-facts.ts';
import { COMPONENTS, variableToProperty } from '../validate/settings.ts';
import type { Service, Stack } from '../validate/stack.ts';

/** The Compose profile of the messaging tier (REQ-SPC-MSG-001). */
export const MESSAGING_PROFILE = 'messaging';
/** The environment variable cp-kafka formats the KRaft storage with; not a property. */
export const CLUSTER_ID_VARIABLE = 'CLUSTER_ID';
const BROKER_PREFIX = 'KAFKA_';

const KAFKA_COMPONENT = COMPONENTS.find((component) => component.prefix === BROKER_PREFIX);
if (KAFKA_COMPONENT === undefined) throw new Error('src/validate/settings.ts lost its cp-kafka component');

/** One broker property, with the variable and line it came from. */
export interface BrokerProperty {
  readonly name: string;
  readonly value: string;
  readonly variable: string;
  /** `file:line` of the variable in the Compose stack. */
  readonly where: string;
}

/** A `KAFKA_*` variable the image reads itself (JVM heap and flags, logging): never a property. */
export interface NotRenderedVariable {
  readonly variable: string;
  readonly value: string;
  readonly where: string;
}

export interface BrokerService {
  readonly service: string;
  /** `file:line` of the service. */
  readonly where: string;
  /** `node.id`, when the environment sets it as a whole number. */
  readonly nodeId: number | undefined;
  readonly clusterId: string | undefined;
  /** Properties by name, in the order the environment lists them. */
  readonly properties: ReadonlyMap<string, BrokerProperty>;
  readonly notRendered: readonly NotRenderedVariable[];
  /**
   * The host port clients reach this broker on: the published port of the listener that
   * `advertised.listeners` gives as localhost (else the first published port).
   */
  readonly hostPort: number | undefined;
}

export interface TopicsFileReference {
  /** The service that creates the baseline topics (`kafka-init`). */
  readonly service: string;
  /** Absolute path on the host. */
  readonly path: string;
  /** The path relative to the stack's root folder, for messages. */
  readonly displayPath: string;
}

export interface Topology {
  /** The root Compose file as given. */
  readonly file: string;
  /** The env file read, relative to the root folder; undefined when none. */
  readonly envFile: string | undefined;
  /** Broker services of the messaging profile, by node id (then name). */
  readonly brokers: readonly BrokerService[];
  readonly topicsFile: TopicsFileReference | undefined;
  /**
   * The other long-running services of the messaging profile (registry, REST proxy, exporter,
   * Connect, UI), each with its first published host port: what `kstack up` serves beside the brokers.
   */
  readonly companions: readonly CompanionService[];
}

export interface CompanionService {
  readonly service: string;
  readonly hostPort: number | undefined;
}

/**
 * cp-kafka's rendering of one variable: a property, a variable the image reads itself, or
 * not the image's at all (no `KAFKA_` prefix, `CLUSTER_ID`).
 */
export type VariableRendering =
  | { readonly kind: 'property'; readonly name: string }
  | { readonly kind: 'not-rendered' }
  | { readonly kind: 'other' };

export function renderVariable(variable: string): VariableRendering {
  const component = KAFKA_COMPONENT!;
  if (!variable.startsWith(BROKER_PREFIX) || variable.length === BROKER_PREFIX.length) {
    return { kind: 'other' };
  }
  if (
    component.notRendered.includes(variable) ||
    component.notRenderedPrefixes.some((prefix) => variable.startsWith(prefix))
  ) {
    return { kind: 'not-rendered' };
  }
  return { kind: 'property', name: variableToProperty(variable, BROKER_PREFIX) };
}

/** The properties, not-rendered variables and cluster id of one broker environment. */
export function brokerEnvironment(
  environment: ReadonlyMap<string, { value: string; where: string }>,
): Pick<BrokerService, 'properties' | 'notRendered' | 'clusterId'> {
  const properties = new Map<string, BrokerProperty>();
  const notRendered: NotRenderedVariable[] = [];
  let clusterId: string | undefined;
  for (const [variable, { value, where }] of environment) {
    if (variable === CLUSTER_ID_VARIABLE) {
      clusterId = value;
      continue;
    }
    const rendering = renderVariable(variable);
    if (rendering.kind === 'property') {
      properties.set(rendering.name, { name: rendering.name, value, variable, where });
    } else if (rendering.kind === 'not-rendered') {
      notRendered.push({ variable, value, where });
    }
  }
  return { properties, notRendered, clusterId };
}

export interface TopologyOptions {
  /** Root Compose file. */
  readonly file: string;
  /** Env file; `.env` beside the root file, else `.env.example`, when absent. */
  readonly envFile?: string;
}

/** Loads the stack; throws src/validate's InputError (exit 2, file and line) on unusable input. */
export function loadTopology(options: TopologyOptions): Topology {
  const stack = loadStack({ file: options.file, envFile: options.envFile });
  const services = stack.services.filter(inMessagingProfile);
  const brokers = services.filter(isBroker).map(brokerService);
  brokers.sort(
    (a, b) => (a.nodeId ?? Infinity) - (b.nodeId ?? Infinity) || a.service.localeCompare(b.service),
  );
  return {
    file: options.file,
    envFile: stack.env?.displayPath,
    brokers,
    topicsFile: topicsFileOf(stack, services),
    companions: services
      .filter((service) => !isBroker(service) && !isOneShot(service))
      .map((service) => ({ service: service.name, hostPort: firstPublishedPort(service) })),
  };
}

/** The root Compose file `kstack up` reads when none is named: `docker-compose.yml` in DIR, if there. */
export function defaultComposeFile(dir: string): string | undefined {
  const path = resolve(dir, 'docker-compose.yml');
  return existsSync(path) ? path : undefined;
}

/** A service without `profiles` always runs; one with them runs when `messaging` is among them. */
function inMessagingProfile(service: Service): boolean {
  const profiles = service.data.profiles;
  return !Array.isArray(profiles) || profiles.includes(MESSAGING_PROFILE);
}

function whereOf(service: Service, path: readonly (string | number)[]): string {
  const source = service.file.source;
  return `${source.displayPath}:${source.lineOf(['services', service.name, ...path])}`;
}

function brokerService(service: Service): BrokerService {
  const environment = new Map<string, { value: string; where: string }>();
  for (const [name, entry] of environmentOf(service)) {
    environment.set(name, { value: entry.value, where: whereOf(service, entry.path) });
  }
  const { properties, notRendered, clusterId } = brokerEnvironment(environment);
  const nodeIdText = properties.get('node.id')?.value;
  const nodeId = nodeIdText !== undefined && /^\d+$/.test(nodeIdText) ? Number(nodeIdText) : undefined;
  return {
    service: service.name,
    where: whereOf(service, []),
    nodeId,
    clusterId,
    properties,
    notRendered,
    hostPort: hostPortOf(service, properties),
  };
}

/** `NAME://host:port` entries of a listener list. */
function listenerEntries(text: string | undefined): { name: string; host: string; port: string }[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((item) => /^\s*([^:\s]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)\s*$/.exec(item))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[1]!, host: match[2]!, port: match[3]! }));
}

function hostPortOf(service: Service, properties: ReadonlyMap<string, BrokerProperty>): number | undefined {
  const published = portsOf(service).filter((port) => port.host !== undefined && /^\d+$/.test(port.host));
  const advertised = listenerEntries(properties.get('advertised.listeners')?.value);
  const external = advertised.find((entry) => entry.host === 'localhost' || entry.host === '127.0.0.1');
  if (external !== undefined) {
    const listener = listenerEntries(properties.get('listeners')?.value).find(
      (entry) => entry.name === external.name,
    );
    const mapping = published.find((port) => port.container === listener?.port);
    if (mapping !== undefined) return Number(mapping.host);
  }
  const first = published[0];
  return first === undefined ? undefined : Number(first.host);
}

/**
 * The baseline topics file: the bind-mounted file that a service names in `TOPICS_FILE`
 * (kafka-init's convention, checked by RULE-MSG-013).
 */
function topicsFileOf(stack: Stack, services: readonly Service[]): TopicsFileReference | undefined {
  for (const service of services) {
    const target = environmentOf(service).get('TOPICS_FILE')?.value;
    if (target === undefined) continue;
    const mount = mountsOf(service).find((item) => item.type === 'bind' && item.target === target);
    if (mount === undefined) continue;
    const path = resolve(service.file.projectDir, mount.source);
    return { service: service.name, path, displayPath: relative(stack.root.projectDir, path) || path };
  }
  return undefined;
}

function firstPublishedPort(service: Service): number | undefined {
  const published = portsOf(service).find((port) => port.host !== undefined && /^\d+$/.test(port.host));
  return published === undefined ? undefined : Number(published.host);
}
