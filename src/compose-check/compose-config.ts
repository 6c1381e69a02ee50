/**
 * The rendered Compose configuration, from the real Docker Compose (`docker compose --env-file F
 * --profile messaging config --format json`, built by scripts/setup/35-compose.sh), and the broker
 * properties of each broker service by the one mapper (src/topology/compose.ts `brokerEnvironment`).
 * The mapper reads the stack with our own loader; here its per-environment rule is fed the environment
 * that Compose itself rendered, so what runs is what Compose would hand each container.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BrokerProperty, brokerEnvironment, MESSAGING_PROFILE } from '../topology/compose.ts';
import {
  COMPONENTS,
  componentOfImage,
  imageRepository,
  imageTag,
  variableToProperty,
} from '../validate/settings.ts';

const CACHE_DIR = process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack');
/** A Docker CLI config folder whose cli-plugins holds the Compose built by the setup. */
export const DOCKER_CONFIG_DIR = join(CACHE_DIR, 'docker');
export const COMPOSE_BINARY = join(CACHE_DIR, 'bin', 'docker-compose');
const COMPOSE_TIMEOUT_MS = 60_000;

export interface Volume {
  readonly type: string;
  readonly source: string | undefined;
  readonly target: string;
}

export interface PortMapping {
  readonly target: number;
  readonly published: number | undefined;
}

export interface Healthcheck {
  readonly test: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly startPeriodMs: number;
}

export interface ComposeService {
  readonly name: string;
  readonly image: string;
  readonly hostname: string | undefined;
  readonly containerName: string | undefined;
  readonly environment: ReadonlyMap<string, string>;
  readonly entrypoint: readonly string[] | undefined;
  readonly command: readonly string[] | undefined;
  readonly volumes: readonly Volume[];
  readonly ports: readonly PortMapping[];
  readonly healthcheck: Healthcheck | undefined;
  readonly dependsOn: readonly string[];
  /** `networks.<name>.ipv4_address` / `ipv6_address` settings, as `networks.<name>.<key> <address>`. */
  readonly staticAddresses: readonly string[];
}

export interface BrokerConfig {
  readonly service: ComposeService;
  readonly properties: ReadonlyMap<string, BrokerProperty>;
  readonly clusterId: string | undefined;
  /** `KAFKA_*` variables the image reads itself (heap, JVM options, logging). */
  readonly notRendered: readonly { variable: string; value: string }[];
}

export class ComposeError extends Error {
  override readonly name = 'ComposeError';
}

/** Compose's durations (`10s`, `1m30s`, `500ms`) in milliseconds. */
export function durationMs(text: unknown, fallbackMs: number): number {
  if (typeof text !== 'string' || text === '') return fallbackMs;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/.exec(rest);
    if (match === null) throw new ComposeError(`duration '${text}' is not one Compose accepts`);
    total += Number(match[1]) * (units[match[2]!] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return total;
}

function stringList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return ['/bin/sh', '-c', value];
  return undefined;
}

function staticAddressesOf(networks: unknown): string[] {
  const found: string[] = [];
  for (const [network, settings] of Object.entries((networks ?? {}) as Record<string, unknown>)) {
    if (settings === null || typeof settings !== 'object') continue;
    for (const key of ['ipv4_address', 'ipv6_address']) {
      const address = (settings as Record<string, unknown>)[key];
      if (typeof address === 'string') found.push(`networks.${network}.${key} ${address}`);
    }
  }
  return found;
}

function parseService(name: string, data: Record<string, unknown>): ComposeService {
  const environment = new Map<string, string>();
  const env = (data.environment ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(env)) if (value !== null) environment.set(key, String(value));
  const health = data.healthcheck as Record<string, unknown> | undefined;
  const healthcheck =
    health === undefined || health.disable === true || !Array.isArray(health.test)
      ? undefined
      : {
          test: (health.test as unknown[]).map(String),
          // Docker's defaults when a duration is not given: 30s interval and timeout, 3 retries.
          intervalMs: durationMs(health.interval, 30_000),
          timeoutMs: durationMs(health.timeout, 30_000),
          retries: typeof health.retries === 'number' ? health.retries : 3,
          startPeriodMs: durationMs(health.start_period, 0),
        };
  const volumes = ((data.volumes ?? []) as Record<string, unknown>[]).map((volume) => ({
    type: String(volume.type),
    source: volume.source === undefined ? undefined : String(volume.source),
    target: String(volume.target),
  }));
  const ports = ((data.ports ?? []) as Record<string, unknown>[]).map((port) => ({
    target: Number(port.target),
    published: port.published === undefined ? undefined : Number(port.published),
  }));
  return {
    name,
    image: String(data.image ?? ''),
    hostname: typeof data.hostname === 'string' ? data.hostname : undefined,
    containerName: typeof data.container_name === 'string' ? data.container_name : undefined,
    environment,
    entrypoint: stringList(data.entrypoint),
    command: stringList(data.command),
    volumes,
    ports,
    healthcheck,
    dependsOn: Object.keys((data.depends_on ?? {}) as Record<string, unknown>),
    staticAddresses: staticAddressesOf(data.networks),
  };
}

/** The command line that runs the Compose CLI: the Docker CLI with our plugin, else the binary itself. */
function composeCommand(): string[] {
  const docker = spawnSync('docker', ['--version'], { encoding: 'utf8' });
  if (docker.status === 0) return ['docker', 'compose'];
  if (existsSync(COMPOSE_BINARY)) return [COMPOSE_BINARY];
  throw new ComposeError(
    `Docker Compose is not installed (${COMPOSE_BINARY} is missing): run \`bash scripts/setup/35-compose.sh\``,
  );
}

/** Renders the stack with the real Compose; throws ComposeError with Compose's own message when it refuses. */
export function renderConfig(composeFile: string, envFile: string | undefined): ComposeService[] {
  const [command, ...base] = composeCommand();
  const args = [...base, '-f', composeFile];
  if (envFile !== undefined) args.push('--env-file', envFile);
  args.push('--profile', MESSAGING_PROFILE, 'config', '--format', 'json');
  // The stack's variables come from the env file only, as on a machine with a clean shell.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DOCKER_CONFIG: DOCKER_CONFIG_DIR,
  };
  const result = spawnSync(command!, args, {
    cwd: dirname(composeFile),
    env,
    encoding: 'utf8',
    timeout: COMPOSE_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new ComposeError(
      `docker compose config refused the stack: ${(result.stderr || result.stdout || String(result.error)).trim()}`,
    );
  }
  const config = JSON.parse(result.stdout) as { services?: Record<string, Record<string, unknown>> };
  return Object.entries(config.services ?? {})
    .map(([name, data]) => parseService(name, data))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** As src/validate's isBroker: a cp-kafka image run with its own entrypoint (not a one-shot script). */
export function isBrokerService(service: ComposeService): boolean {
  return (
    componentOfImage(service.image)?.prefix === 'KAFKA_' &&
    service.entrypoint === undefined &&
    service.command === undefined
  );
}

/** The broker properties of one broker service, by the shared mapper. */
export function brokerConfig(service: ComposeService): BrokerConfig {
  const environment = new Map<string, { value: string; where: string }>();
  for (const [variable, value] of service.environment) {
    environment.set(variable, { value, where: `services.${service.name}.environment.${variable}` });
  }
  const { properties, clusterId, notRendered } = brokerEnvironment(environment);
  return {
    service,
    properties,
    clusterId,
    notRendered: notRendered.map(({ variable, value }) => ({ variable, value })),
  };
}

const CONNECT_PREFIX = 'CONNECT_';

/** A cp-kafka-connect service: a Connect worker configured by its `CONNECT_*` environment. */
export function isConnectService(service: ComposeService): boolean {
  return componentOfImage(service.image)?.prefix === CONNECT_PREFIX;
}

/**
 * The worker properties of a Connect service by the cp images' rule (src/validate/settings.ts: its
 * component's variables the image reads itself are left out). The shared mapper covers KAFKA_* only;
 * this is the same rule, taken from the same table, for the CONNECT_ prefix.
 */
export function connectProperties(service: ComposeService): Map<string, string> {
  const component = COMPONENTS.find((entry) => entry.prefix === CONNECT_PREFIX);
  if (component === undefined)
    throw new Error('src/validate/settings.ts lost its cp-kafka-connect component');
  const properties = new Map<string, string>();
  for (const [variable, value] of service.environment) {
    if (!variable.startsWith(CONNECT_PREFIX) || component.notRendered.includes(variable)) continue;
    if (component.notRenderedPrefixes.some((prefix) => variable.startsWith(prefix))) continue;
    properties.set(variableToProperty(variable, CONNECT_PREFIX), value);
  }
  return properties;
}

/**
 * The Apache Kafka minor version a Confluent Platform image tag ships. Confluent's "Supported Versions
 * and Interoperability" table pairs CP 7.x with Apache Kafka 3.x and CP 8.x with 4.x, minor for minor
 * (7.0 → 3.0 … 7.9 → 3.9, 8.0 → 4.0, 8.1 → 4.1); the stack's spec writes `cp-kafka:8.1.1 (Kafka 4.1)`.
 */
export function kafkaMinorOfConfluentTag(tag: string): string | undefined {
  const match = /^(\d+)\.(\d+)\./.exec(tag);
  if (match === null) return undefined;
  const major = Number(match[1]);
  if (major < 7) return undefined;
  return `${major - 4}.${match[2]}`;
}

export interface DriftFinding {
  readonly ok: boolean;
  readonly message: string;
}

/** The stack's cp-kafka images (one finding per image) against the Kafka version this check runs. */
export function checkDrift(services: readonly ComposeService[], kafkaVersion: string): DriftFinding[] {
  const runMinor = /^(\d+\.\d+)/.exec(kafkaVersion)?.[1];
  const byImage = new Map<string, string[]>();
  for (const service of services) {
    if (imageRepository(service.image) !== 'confluentinc/cp-kafka') continue;
    byImage.set(service.image, [...(byImage.get(service.image) ?? []), service.name]);
  }
  return [...byImage].map(([image, names]) => {
    const who = `${names.join(', ')}: image ${image}`;
    const minor = kafkaMinorOfConfluentTag(imageTag(image) ?? 'latest');
    if (minor === undefined) {
      return {
        ok: false,
        message: `${who} has no X.Y.Z tag, so the Apache Kafka it ships is unknown; pin a version (this check runs Apache Kafka ${kafkaVersion}, reference/pom.xml kafka.version)`,
      };
    }
    if (minor !== runMinor) {
      return {
        ok: false,
        message: `${who} ships Apache Kafka ${minor}.x but this check runs Apache Kafka ${kafkaVersion} (reference/pom.xml kafka.version): make them one version`,
      };
    }
    return {
      ok: true,
      message: `${who} ships Apache Kafka ${minor}.x, as this check runs (${kafkaVersion})`,
    };
  });
}
