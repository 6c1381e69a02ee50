/**
 * Starting and stopping the Schema Registry: what `kstack schema-registry` runs, and what
 * `kstack up` calls to serve it beside the embedded cluster.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildRegistryApp } from './app.ts';
import { LeaderElector } from './leader-elector.ts';
import { GROUP_ID_DEFAULT, type RegistryIdentity } from './leader-protocol.ts';
import { LEADER_WAIT_MS_DEFAULT, SchemaRegistry } from './registry.ts';
import { SCHEMAS_TOPIC_DEFAULT, SchemaLog } from './schema-log.ts';

export const SCHEMA_REGISTRY_PORT_DEFAULT = 8081;
/** How long start-up waits for the first assignment of the registry group (Confluent's `kafkastore.init.timeout.ms`). */
export const GROUP_JOIN_TIMEOUT_MS = 60_000;
/** The writer's transactional id is this, then `<group id>/<topic>`. */
export const WRITER_ID_PREFIX = 'kstack-schema-registry-writer/';

export interface SchemaRegistryOptions {
  /** Kafka bootstrap servers, HOST:PORT[,HOST:PORT…]. */
  readonly bootstrap: string;
  /** HTTP port; SCHEMA_REGISTRY_PORT_DEFAULT when missing, 0 for any free port. */
  readonly port?: number;
  /** HTTP address; 127.0.0.1 when missing. */
  readonly host?: string;
  /** The storage topic; `_schemas` when missing. */
  readonly topic?: string;
  /** The registry group (Confluent's `schema.registry.group.id`); `schema-registry` when missing. */
  readonly groupId?: string;
  /** Whether this instance may be elected leader (Confluent's `leader.eligibility`); true when missing. */
  readonly leaderEligible?: boolean;
  /** The host name other instances reach this one by (Confluent's `host.name`); the listen host when missing. */
  readonly hostName?: string;
  /** How long a write waits for a leader before 50004. */
  readonly leaderWaitMs?: number;
  /**
   * Whether to join the registry group (Confluent always does; `kstack schema-registry` does unless
   * told `--leader-election false`). Off by default here, for the one in-process instance of
   * `kstack up`: @platformatic/kafka 2.12.1's Admin.describeGroups throws, uncaught, on a group
   * whose members are not consumers, and the Kafka exporter `kstack up` runs in the same process
   * describes every group on each scrape (see README). Off, this instance leads alone.
   */
  readonly leaderElection?: boolean;
  /**
   * With leader election: write `_schemas` in Kafka transactions of one transactional id
   * (`WRITER_ID_PREFIX` + group + topic) that each new leader claims, fencing the one before
   * (schema-log.ts). Defaults to `leaderElection` (each write is then three Kafka round trips more);
   * ignored without leader election.
   */
  readonly fencedWrites?: boolean;
  /** Where the registry reports leadership changes; nowhere when missing. */
  readonly log?: (line: string) => void;
}

export interface RunningSchemaRegistry {
  readonly url: string;
  readonly registry: SchemaRegistry;
  readonly app: FastifyInstance;
  readonly identity: RegistryIdentity;
  /** Null when leader election is off. */
  readonly elector: LeaderElector | null;
  close(): Promise<void>;
}

/**
 * Reads `_schemas` (creating it when missing), listens, then joins the registry group and waits for
 * its first assignment (who leads); rejects if any step fails.
 */
export async function startSchemaRegistry(options: SchemaRegistryOptions): Promise<RunningSchemaRegistry> {
  // With fencedWrites, the leader writes `_schemas` in transactions of one transactional id per group
  // and topic, claimed by each new leader: a demoted leader that has not noticed yet is fenced by Kafka.
  const transactionalId =
    options.leaderElection === true && (options.fencedWrites ?? options.leaderElection) === true
      ? `${WRITER_ID_PREFIX}${options.groupId ?? GROUP_ID_DEFAULT}/${options.topic ?? SCHEMAS_TOPIC_DEFAULT}`
      : undefined;
  const registry = new SchemaRegistry(
    new SchemaLog({ bootstrap: options.bootstrap, topic: options.topic, transactionalId }),
  );
  if (options.log !== undefined) {
    const log = options.log;
    registry.onFenced = (message) => log(`write refused, this instance was fenced: ${message}`);
  }
  registry.leaderWaitMs = options.leaderWaitMs ?? LEADER_WAIT_MS_DEFAULT;
  try {
    await registry.start();
  } catch (error) {
    await registry.close();
    throw error;
  }
  const app = buildRegistryApp(registry);
  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: options.port ?? SCHEMA_REGISTRY_PORT_DEFAULT });
  } catch (error) {
    await registry.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 0);
  const advertised = options.hostName ?? (host === '0.0.0.0' || host === '::' ? hostname() : host);
  const identity: RegistryIdentity = {
    scheme: 'http',
    host: advertised,
    port,
    leaderEligible: options.leaderEligible ?? true,
  };
  registry.setIdentity(identity);
  if (options.leaderElection !== true) {
    registry.setLeader(identity);
    const closeAlone = async () => {
      await app.close();
      await registry.close();
    };
    return { url: `http://${host}:${port}`, registry, app, identity, elector: null, close: closeAlone };
  }
  const elector = new LeaderElector({
    bootstrap: options.bootstrap,
    groupId: options.groupId ?? GROUP_ID_DEFAULT,
    identity,
    onLeader: (leader) => registry.setLeader(leader),
    log: options.log,
  });
  const close = async () => {
    // Finish the requests in flight, then leave the group (another instance takes over at once,
    // without waiting for a session timeout), so no write of ours follows the next leader's.
    await app.close();
    await elector.close();
    await registry.close();
  };
  try {
    await elector.start(GROUP_JOIN_TIMEOUT_MS);
  } catch (error) {
    await close();
    throw error;
  }
  return { url: `http://${host}:${port}`, registry, app, identity, elector, close };
}
