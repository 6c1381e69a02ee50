/**
 * `kstack status [--bootstrap-server HOST:PORT] [--format text|json]`: the brokers a cluster
 * lists, its KRaft quorum leader with each voter's lag (DescribeQuorum, where the target serves
 * it; otherwise it says so and gives Metadata's controller id), and its topics with
 * under-replicated (ISR smaller than the replica set) and offline (no leader) partitions.
 * A Kafka client like any tool (@platformatic/kafka's protocol layer), so it works against any cluster.
 * Exit 0: reachable and every partition led and fully replicated; 1: unreachable, or a
 * partition is offline or under-replicated; 2: bad usage.
 */
import {
  apiVersionsV3,
  Connection,
  describeQuorumV0,
  metadataV9,
  metadataV10,
  metadataV11,
  metadataV12,
} from '@platformatic/kafka';
import type { Command } from '../cli.ts';
import { parseBootstrap, parseTimeoutMs } from '../common/bootstrap.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { defaultComposeFile, loadTopology } from '../topology/compose.ts';
import { kafkaErrorText } from '../topology/topics.ts';
import { type ConnectStatus, connectStatusText, readConnectStatus } from './status-connect.ts';

/** Without a Compose stack here: where `kstack up` listens by default. */
const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
/**
 * Without --connect-url, the stack's own worker is asked for as long as this: a port where nothing
 * listens answers at once, and a status must not wait the whole --timeout-ms for a worker that may
 * not run (kstack up --no-connect, no Java).
 */
const STACK_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_TIMEOUT_MS = 15_000;
const DESCRIBE_QUORUM_KEY = 55;
const METADATA_TOPIC = '__cluster_metadata';

const HELP = `usage: kstack status [--bootstrap-server HOST:PORT] [--format text|json] [--timeout-ms MS]
                    [--connect-url URL]

Brokers, the KRaft quorum leader and each voter's lag (DescribeQuorum, where the cluster
serves it), and topics with under-replicated and offline partitions.
  --bootstrap-server  the cluster (default: the published port of the Compose stack's first
                      broker on 127.0.0.1, as kstack up listens; ${DEFAULT_BOOTSTRAP} without a stack here)
  --format            text (default) or json
  --connect-url       also a Kafka Connect worker (e.g. http://127.0.0.1:8083, kstack up's):
                      whether it answers, its connectors and their tasks' states (the exit
                      code stays the cluster's). Without it: the Compose stack's kafka-connect
                      on its published port, shown when it answers for this cluster (the same
                      cluster id), as kstack up runs it
Exit 0: every partition led and fully replicated; 1: unreachable, or a partition offline or
under-replicated; 2: bad usage.
`;

export interface StatusOptions {
  readonly bootstrap: readonly string[];
  readonly format: 'text' | 'json';
  readonly timeoutMs: number;
  /** `--connect-url`: a Connect worker to report on; none when undefined. */
  readonly connectUrl?: string;
}

export function parseStatusArgs(args: readonly string[]): StatusOptions | 'help' {
  const parsed = parseFlags(
    args,
    {
      'bootstrap-server': { type: 'string' },
      format: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'connect-url': { type: 'string' },
    },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format: '${format}' is not text or json`);
  }
  return {
    bootstrap: parseBootstrap(values['bootstrap-server'] ?? defaultBootstrap(), HELP),
    format,
    timeoutMs: parseTimeoutMs(values['timeout-ms'], DEFAULT_TIMEOUT_MS),
    ...(values['connect-url'] === undefined ? {} : { connectUrl: parseConnectUrl(values['connect-url']) }),
  };
}

function parseConnectUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--connect-url: '${text}' is not a URL (e.g. http://127.0.0.1:8083)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--connect-url: '${text}' is not an http or https URL`);
  }
  return text;
}

/** The first broker of the Compose stack in the working folder, as `kstack up` would listen. */
function defaultBootstrap(): string {
  const file = defaultComposeFile(process.cwd());
  if (file === undefined) return DEFAULT_BOOTSTRAP;
  const port = loadTopology({ file }).brokers[0]?.hostPort;
  return port === undefined ? DEFAULT_BOOTSTRAP : `127.0.0.1:${port}`;
}

/** The Compose stack's kafka-connect in the working folder, on its published port, as `kstack up` serves it. */
function stackConnectUrl(): string | undefined {
  const file = defaultComposeFile(process.cwd());
  if (file === undefined) return undefined;
  const port = loadTopology({ file }).companions.find((c) => c.service === 'kafka-connect')?.hostPort;
  return port === undefined ? undefined : `http://127.0.0.1:${port}`;
}

/**
 * `--connect-url`'s worker, or else the stack's own if it answers for the cluster read (its
 * `kafka_cluster_id` is the cluster's id): a worker that does not answer there may simply not run
 * (--no-connect, no Java), and one of another cluster is not this cluster's.
 */
async function connectStatusFor(
  options: StatusOptions,
  clusterId: string,
): Promise<ConnectStatus | undefined> {
  if (options.connectUrl !== undefined) return readConnectStatus(options.connectUrl, options.timeoutMs);
  const url = stackConnectUrl();
  if (url === undefined) return undefined;
  const connect = await readConnectStatus(url, Math.min(options.timeoutMs, STACK_CONNECT_TIMEOUT_MS));
  return connect.answering && connect.kafkaClusterId === clusterId ? connect : undefined;
}

export interface QuorumVoter {
  readonly nodeId: number;
  readonly logEndOffset: string;
  /** Records behind the leader's log end offset. */
  readonly lag: string;
}

export type QuorumStatus =
  | {
      readonly served: true;
      readonly leaderId: number;
      readonly leaderEpoch: number;
      readonly highWatermark: string;
      readonly voters: readonly QuorumVoter[];
      readonly observers: readonly QuorumVoter[];
    }
  | { readonly served: false; readonly reason: string };

export interface PartitionProblem {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface ClusterStatus {
  readonly bootstrap: string;
  readonly clusterId: string;
  readonly brokers: readonly { readonly nodeId: number; readonly host: string; readonly port: number }[];
  /**
   * Nodes that hold replicas or vote in the quorum but are not among the brokers Metadata lists:
   * down, or fenced by the controller.
   */
  readonly absentBrokers: readonly number[];
  /** The controller id Metadata gives (in KRaft, a broker the client may send controller requests to). */
  readonly metadataControllerId: number;
  readonly quorum: QuorumStatus;
  readonly topicCount: number;
  readonly partitionCount: number;
  readonly underReplicated: readonly PartitionProblem[];
  readonly offline: readonly PartitionProblem[];
}

type MetadataResponse = metadataV12.MetadataResponse;

/** Metadata versions whose responses @platformatic/kafka parses, newest first. */
const METADATA_APIS = [metadataV12, metadataV11, metadataV10, metadataV9] as const;
const METADATA_KEY = 3;

/**
 * One connection to the first bootstrap server that answers. Metadata is read raw, since the
 * client's own metadata() fails as a whole on a partition without a leader, which is exactly
 * what status must show.
 */
export async function readStatus(options: StatusOptions): Promise<ClusterStatus> {
  const failures: string[] = [];
  for (const server of options.bootstrap) {
    const [host, port] = splitHostPort(server);
    // Both limits: a broker that accepts and never answers (paused) must not hold the reading for the client's 30 s.
    const connection = new Connection('kstack-status', {
      connectTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
    });
    try {
      try {
        await connection.connect(host, Number(port));
      } catch (error) {
        failures.push(`${server}: ${kafkaErrorText(error)}`);
        continue;
      }
      return await statusThrough(connection, options);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
  throw new Error(failures.join('; '));
}

async function statusThrough(connection: Connection, options: StatusOptions): Promise<ClusterStatus> {
  const versions = await apiVersionsV3.api.async(connection, 'kstack-status', '1');
  const metadataRange = versions.apiKeys.find((api) => api.apiKey === METADATA_KEY);
  const metadataApi = METADATA_APIS.find(
    (candidate) =>
      metadataRange !== undefined &&
      candidate.api.version >= metadataRange.minVersion &&
      candidate.api.version <= metadataRange.maxVersion,
  );
  if (metadataApi === undefined) {
    throw new Error(
      `the broker serves no Metadata version from 9 to 12 (it offers ${metadataRange === undefined ? 'none' : `${metadataRange.minVersion}-${metadataRange.maxVersion}`})`,
    );
  }
  let metadata: MetadataResponse;
  try {
    metadata = await metadataApi.api.async(connection, null, false, false);
  } catch (error) {
    // Partition errors (LEADER_NOT_AVAILABLE for an offline partition) come back as an error
    // carrying the whole parsed response.
    const response = (error as { response?: MetadataResponse }).response;
    if (response === undefined || !Array.isArray(response.topics)) throw error;
    metadata = response;
  }
  const underReplicated: PartitionProblem[] = [];
  const offline: PartitionProblem[] = [];
  let partitionCount = 0;
  const topics = [...metadata.topics].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  for (const topic of topics) {
    const partitions = [...topic.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
    for (const partition of partitions) {
      partitionCount += 1;
      const problem = {
        topic: topic.name ?? topic.topicId,
        partition: partition.partitionIndex,
        leader: partition.leaderId,
        replicas: partition.replicaNodes,
        isr: partition.isrNodes,
      };
      if (partition.leaderId < 0) offline.push(problem);
      if (partition.isrNodes.length < partition.replicaNodes.length) underReplicated.push(problem);
    }
  }
  const brokers = metadata.brokers
    .map((broker) => ({ nodeId: broker.nodeId, host: broker.host, port: broker.port }))
    .sort((a, b) => a.nodeId - b.nodeId);
  const servesQuorum = versions.apiKeys.some((api) => api.apiKey === DESCRIBE_QUORUM_KEY);
  const quorum: QuorumStatus = servesQuorum
    ? await readQuorum(connection)
    : { served: false, reason: 'the cluster does not serve DescribeQuorum (no API key 55 in ApiVersions)' };
  const known = new Set<number>();
  for (const topic of metadata.topics)
    for (const p of topic.partitions) for (const id of p.replicaNodes) known.add(id);
  if (quorum.served) for (const voter of quorum.voters) known.add(voter.nodeId);
  const listed = new Set(brokers.map((broker) => broker.nodeId));
  const absentBrokers = [...known].filter((id) => !listed.has(id)).sort((a, b) => a - b);
  return {
    bootstrap: options.bootstrap.join(','),
    clusterId: metadata.clusterId ?? '',
    brokers,
    absentBrokers,
    metadataControllerId: metadata.controllerId,
    quorum,
    topicCount: metadata.topics.length,
    partitionCount,
    underReplicated,
    offline,
  };
}

/** DescribeQuorum v0 (Kafka's brokers forward it to the active controller). */
async function readQuorum(connection: Connection): Promise<QuorumStatus> {
  try {
    const response = await describeQuorumV0.api.async(connection, [
      { topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] },
    ]);
    const partition = response.topics[0]?.partitions[0];
    if (partition === undefined) return { served: false, reason: 'DescribeQuorum answered no partition' };
    const leaderEnd =
      partition.currentVoters.find((voter) => voter.replicaId === partition.leaderId)?.logEndOffset ??
      partition.highWatermark;
    const voter = (entry: { replicaId: number; logEndOffset: bigint }): QuorumVoter => ({
      nodeId: entry.replicaId,
      logEndOffset: String(entry.logEndOffset),
      lag: String(leaderEnd > entry.logEndOffset ? leaderEnd - entry.logEndOffset : 0n),
    });
    return {
      served: true,
      leaderId: partition.leaderId,
      leaderEpoch: partition.leaderEpoch,
      highWatermark: String(partition.highWatermark),
      voters: partition.currentVoters.map(voter),
      observers: partition.observers.map(voter),
    };
  } catch (error) {
    return { served: false, reason: `DescribeQuorum failed: ${kafkaErrorText(error)}` };
  }
}

function splitHostPort(server: string): [string, string] {
  const at = server.lastIndexOf(':');
  return [server.slice(0, at).replace(/^\[|\]$/g, ''), server.slice(at + 1)];
}

function partitionText(problem: PartitionProblem): string {
  const leader = problem.leader < 0 ? 'none' : String(problem.leader);
  return `${problem.topic}-${problem.partition} (leader ${leader}, replicas ${problem.replicas.join(',')}, isr ${problem.isr.join(',') || 'none'})`;
}

export function statusText(status: ClusterStatus): string[] {
  const lines = [`cluster ${status.clusterId} at ${status.bootstrap}`];
  lines.push(
    `brokers (${status.brokers.length}): ${status.brokers.map((b) => `${b.nodeId} ${b.host}:${b.port}`).join(', ')}${status.absentBrokers.length === 0 ? '' : `; not serving (down or fenced): ${status.absentBrokers.join(', ')}`}`,
  );
  const { quorum } = status;
  if (quorum.served) {
    const voters = quorum.voters
      .map((v) => `${v.nodeId}${v.nodeId === quorum.leaderId ? ' (leader)' : ''} lag ${v.lag}`)
      .join(', ');
    const observers =
      quorum.observers.length === 0
        ? ''
        : `; observers: ${quorum.observers.map((o) => `${o.nodeId} lag ${o.lag}`).join(', ')}`;
    lines.push(
      `quorum leader ${quorum.leaderId} (epoch ${quorum.leaderEpoch}, high watermark ${quorum.highWatermark}); voters: ${voters}${observers}`,
    );
  } else {
    lines.push(`quorum: unknown: ${quorum.reason}; Metadata names controller ${status.metadataControllerId}`);
  }
  lines.push(
    `topics: ${status.topicCount} (${status.partitionCount} partitions), ${status.underReplicated.length} under-replicated, ${status.offline.length} offline`,
  );
  for (const problem of status.offline) lines.push(`  offline: ${partitionText(problem)}`);
  for (const problem of status.underReplicated) lines.push(`  under-replicated: ${partitionText(problem)}`);
  return lines;
}

export const command: Command = {
  summary: 'brokers, quorum leader, under-replicated and offline partitions of a cluster',
  async run(args) {
    const options = parseStatusArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    let status: ClusterStatus;
    try {
      status = await readStatus(options);
    } catch (error) {
      const message = `cannot reach ${options.bootstrap.join(',')}: ${kafkaErrorText(error)}`;
      if (options.format === 'json')
        process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
      process.stderr.write(`kstack status: ${message}\n`);
      return EXIT_FAILED;
    }
    const healthy = status.offline.length === 0 && status.underReplicated.length === 0;
    const connect = await connectStatusFor(options, status.clusterId);
    if (options.format === 'json') {
      process.stdout.write(
        `${JSON.stringify({ ok: healthy, ...status, ...(connect === undefined ? {} : { connect }) }, null, 2)}\n`,
      );
    } else {
      const lines = [...statusText(status), ...(connect === undefined ? [] : connectStatusText(connect))];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return healthy ? EXIT_OK : EXIT_FAILED;
  },
};
