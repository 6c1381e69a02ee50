/**
 * The companions `kstack up` serves beside the embedded brokers, each one the Compose stack
 * declares (by service name) on the host port the stack publishes for it: the Schema Registry,
 * the REST proxy (schema-aware through that registry), Kafka Connect, the Kafka exporter and the web
 * UI (which decodes values through that registry). They are Kafka clients of the brokers like any
 * other, started once the brokers serve, in the same process, except Connect: Apache Kafka's own
 * worker, a supervised JVM (its log in the stack's stream as component kafka-connect), named as not
 * served where no Java 17+ runs; `kstack up --brokers N` starts it with the nodes
 * (`startStackConnect`) and hands it in as `connectStarted`. Each is imported only when
 * the stack declares it: a broker alone does not load their HTTP framework and schema libraries
 * (about 1 s and 40 MB of start-up).
 */
import { join } from 'node:path';
import { createLogger, type LogLevel } from '../common/log.ts';
import type { ConnectCompanion } from '../connect/companion.ts';
import type { CompanionService } from '../topology/compose.ts';
import { FAULT_CONTROL_PORT_OFFSET } from './fault-limits.ts';

export interface RunningCompanion {
  readonly service: string;
  readonly title: string;
  readonly url: string;
}

export interface Companions {
  readonly running: readonly RunningCompanion[];
  /** Stack services with no companion in the embedded engine, with why. */
  readonly notServed: readonly { service: string; reason: string }[];
  close(): Promise<void>;
}

/** What `kstack up`'s flags say of the companions. */
export interface CompanionOptions {
  /** Start the Connect worker where the stack declares it (default true); `--no-connect` says no. */
  readonly connect?: boolean;
  /** The user's plugin folders, after the shipped plugins on the worker's plugin.path (`--connect-plugins`). */
  readonly connectPluginDirs?: readonly string[];
  /**
   * The level of the stack's structured stream on stderr (`--log-level`): the Connect worker's log
   * goes there as component `kafka-connect` at this level. Without it, only the companion's own lines
   * and the worker's errors, as `[connect]` lines.
   */
  readonly logLevel?: LogLevel;
  /**
   * The Connect companion `kstack up --brokers N` started with the cluster (`startStackConnect`):
   * served here as the stack's kafka-connect instead of starting another.
   */
  readonly connectStarted?: ConnectCompanion;
}

/** How long an early-started worker's clients wait for the cluster (its `default.api.timeout.ms`). */
export const CONNECT_CLUSTER_WAIT_MS = 300_000;

/**
 * The stack's Connect worker on `port`, its folder `DATA_DIR/connect`. With `brokerCount`, started
 * while the cluster itself starts: the JVM's start (15-80 s on a loaded machine) overlaps the
 * brokers', and the worker's clients wait for the cluster up to CONNECT_CLUSTER_WAIT_MS (Connect looks
 * the cluster id up once at start and exits when it gets none within `default.api.timeout.ms`, 60 s by
 * default). Rejects with ConnectUnavailableError without Java 17+ or the jars.
 */
export async function startStackConnect(
  bootstrap: string,
  port: number,
  dataDir: string | undefined,
  options: CompanionOptions,
  brokerCount?: number,
): Promise<ConnectCompanion> {
  return (await import('../connect/companion.ts')).startConnectCompanion({
    bootstrap,
    port,
    ...(dataDir === undefined ? {} : { workDir: join(dataDir, 'connect') }),
    ...(options.connectPluginDirs === undefined ? {} : { pluginDirs: options.connectPluginDirs }),
    ...(brokerCount === undefined
      ? {}
      : { brokerCount, overrides: new Map([['default.api.timeout.ms', String(CONNECT_CLUSTER_WAIT_MS)]]) }),
    ...(options.logLevel === undefined
      ? { log: (line: string) => process.stderr.write(`[connect] ${line}\n`) }
      : { logger: createLogger({ component: 'kafka-connect', level: options.logLevel }) }),
  });
}

interface Started {
  readonly url: string;
  close(): Promise<void>;
}

interface CompanionKind {
  readonly service: string;
  readonly title: string;
  start(
    bootstrap: string,
    port: number,
    registryUrl: string | undefined,
    dataDir: string | undefined,
    faultControlUrl: string | undefined,
    options: CompanionOptions,
    /** The Connect companion's URL, once it started (Connect starts before the UI). */
    connectUrl: string | undefined,
  ): Promise<Started>;
}

/** In start order: the REST proxy and the UI need the registry's URL, the UI Connect's. */
const KINDS: readonly CompanionKind[] = [
  {
    service: 'schema-registry',
    title: 'Schema Registry',
    start: async (bootstrap, port) =>
      // In the group `schema-registry`, as Confluent's: another instance on this cluster (a `kstack
      // schema-registry` beside it) elects one leader with it instead of writing `_schemas` too.
      (await import('../registry/server.ts')).startSchemaRegistry({ bootstrap, port, leaderElection: true }),
  },
  {
    service: 'kafka-rest-proxy',
    title: 'REST proxy',
    start: async (bootstrap, port, registryUrl) =>
      (await import('../rest-proxy/server.ts')).startRestProxy({
        bootstrap,
        port,
        ...(registryUrl === undefined ? {} : { schemaRegistryUrl: registryUrl }),
      }),
  },
  {
    // The real Connect worker (a JVM), started in the background and supervised; without Java 17+
    // it is named as not served and the rest of the stack starts (src/connect/companion.ts).
    service: 'kafka-connect',
    title: 'Kafka Connect',
    start: async (bootstrap, port, _registryUrl, dataDir, _faultControlUrl, options) =>
      options.connectStarted ?? startStackConnect(bootstrap, port, dataDir, options),
  },
  {
    service: 'kafka-exporter',
    title: 'Kafka exporter',
    start: async (bootstrap, port) =>
      (await import('../exporter/exporter.ts')).startExporter({ bootstrap, port }),
  },
  {
    service: 'kafka-ui',
    title: 'web UI',
    start: async (bootstrap, port, registryUrl, _dataDir, faultControlUrl, _options, connectUrl) =>
      (await import('../ui/server.ts')).startUi({
        bootstrap,
        port,
        ...(registryUrl === undefined ? {} : { schemaRegistryUrl: registryUrl }),
        ...(connectUrl === undefined ? {} : { connectUrl }),
        ...(faultControlUrl === undefined ? {} : { faultControlUrl }),
      }),
  },
];

/**
 * The fault control of a cluster whose brokers are `bootstrap` (HOST:PORT,…): where `kstack up
 * --brokers N` serves it by default, the first broker's port + FAULT_CONTROL_PORT_OFFSET; none for
 * one broker (no fault control). `--fault-port P` moves it: `startCompanions`'s `faultControlUrl`
 * then says where.
 */
export function defaultFaultControlUrl(bootstrap: string): string | undefined {
  const brokers = bootstrap.split(',');
  const first = /^(.*):(\d+)$/.exec(brokers[0]?.trim() ?? '');
  if (brokers.length < 2 || first === null) return undefined;
  return `http://${first[1]}:${Number(first[2]) + FAULT_CONTROL_PORT_OFFSET}`;
}

/** Services of the stack the embedded engine does not serve (yet), and why. */
const NOT_SERVED: Readonly<Record<string, string>> = {};

/**
 * Starts every companion the stack declares with a published host port. A companion that cannot
 * start (its port taken, say) stops the ones already started and rejects, naming the service and port.
 */
export async function startCompanions(
  bootstrap: string,
  services: readonly CompanionService[],
  /** Where companions with state of their own keep it (the Connect worker's folder). */
  dataDir?: string,
  /** The cluster's fault control, for the web UI's Faults page (default: defaultFaultControlUrl). */
  faultControlUrl: string | undefined = defaultFaultControlUrl(bootstrap),
  options: CompanionOptions = {},
): Promise<Companions> {
  const byName = new Map(services.map((service) => [service.service, service]));
  const started: { kind: CompanionKind; handle: Started }[] = [];
  const closeAll = async () => {
    for (const { handle } of started.reverse()) await handle.close();
  };
  const unavailable: { service: string; reason: string }[] = [];
  let registryUrl: string | undefined;
  let connectUrl: string | undefined;
  for (const kind of KINDS) {
    const port = byName.get(kind.service)?.hostPort;
    if (port === undefined) continue;
    if (kind.service === 'kafka-connect' && options.connect === false) {
      unavailable.push({ service: kind.service, reason: 'left out by --no-connect' });
      continue;
    }
    try {
      const handle = await kind.start(
        bootstrap,
        port,
        registryUrl,
        dataDir,
        faultControlUrl,
        options,
        connectUrl,
      );
      started.push({ kind, handle });
      if (kind.service === 'schema-registry') registryUrl = handle.url;
      if (kind.service === 'kafka-connect') connectUrl = handle.url;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConnectUnavailableError') {
        unavailable.push({ service: kind.service, reason: error.message });
        continue;
      }
      await closeAll();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `${kind.title} (Compose service ${kind.service}) could not start on port ${port}: ${reason}`,
      );
    }
  }
  return {
    running: started.map(({ kind, handle }) => ({
      service: kind.service,
      title: kind.title,
      url: handle.url,
    })),
    notServed: services
      .filter((service) => NOT_SERVED[service.service] !== undefined)
      .map((service) => ({ service: service.service, reason: NOT_SERVED[service.service]! }))
      .concat(unavailable),
    close: closeAll,
  };
}
