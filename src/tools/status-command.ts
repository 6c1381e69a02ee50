/**
 * `kstack status [--bootstrap-server HOST:PORT] [--format text|json]`: the brokers a cluster
 * lists, its KRaft quorum leader with each voter's lag (DescribeQuorum, where the target serves
 * it; otherwise it says so and gives Metadata's controller id), and its topics with
 * under-replicated (ISR smaller than the replica set) and offline (no leader) partitions.
 * A Kafka client like any tool (@platformatic/kafka), so it works against any cluster.
 * Exit 0: reachable and every partition led and fully replicated; 1: unreachable, or a
 * partition is offline or under-replicated; 2: bad usage.
 */
import { parseArgs } from 'node:util';
import { Admin, apiVersionsV3, Connection, describeQuorumV0 } from '@platformatic/kafka';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { parseBootstrap, parseTimeoutMs } from '../topology/bootstrap.ts';
import { kafkaErrorText } from '../topology/topics.ts';

/** The env variable of the first broker's host port, as `kstack up` reads it. */
const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
const DEFAULT_TIMEOUT_MS = 15_000;
const DESCRIBE_QUORUM_KEY = 55;
const METADATA_TOPIC = '__cluster_metadata';

const HELP = `usage: kstack status [--bootstrap-server HOST:PORT] [--format text|json] [--timeout-ms MS]

Brokers, the KRaft quorum leader and each voter's lag (DescribeQuorum, where the cluster
serves it), and topics with under-replicated and offline partitions.
  --bootstrap-server  the cluster (default ${DEFAULT_BOOTSTRAP}, kstack up's first broker)
  --format            text (default) or json
Exit 0: every partition led and fully replicated; 1: unreachable, or a partition offline or
under-replicated; 2: bad usage.
`;

export interface StatusOptions {
  readonly bootstrap: readonly string[];
  readonly format: 'text' | 'json';
  readonly timeoutMs: number;
}

export function parseStatusArgs(args: readonly string[]): StatusOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        'bootstrap-server': { type: 'string' },
        format: { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help === true) return 'help';
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format: '${format}' is not text or json`);
  }
  return {
    bootstrap: parseBootstrap((values['bootstrap-server'] as string | undefined) ?? DEFAULT_BOOTSTRAP, HELP),
    format,
    timeoutMs: parseTimeoutMs(values['timeout-ms'] as string | undefined, DEFAULT_TIMEOUT_MS),
  };
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
  /** The controller id Metadata gives (in KRaft, a broker the client may send controller requests to). */
  readonly metadataControllerId: number;
  readonly quorum: QuorumStatus;
  readonly topicCount: number;
  readonly partitionCount: number;
  readonly underReplicated: readonly PartitionProblem[];
  readonly offline: readonly PartitionProblem[];
}

export async function readStatus(options: StatusOptions): Promise<ClusterStatus> {
  const admin = new Admin({
    clientId: 'kstack-status',
    bootstrapBrokers: [...options.bootstrap],
    timeout: options.timeoutMs,
    retries: 2,
  });
  try {
    const names = await admin.listTopics({ includeInternals: true });
    const metadata = await admin.metadata({ topics: names, forceUpdate: true });
    const underReplicated: PartitionProblem[] = [];
    const offline: PartitionProblem[] = [];
    let partitionCount = 0;
    for (const [topic, info] of [...metadata.topics].sort(([a], [b]) => a.localeCompare(b))) {
      info.partitions.forEach((partition, index) => {
        partitionCount += 1;
        const problem = {
          topic,
          partition: index,
          leader: partition.leader,
          replicas: partition.replicas,
          isr: partition.isr,
        };
        if (partition.leader < 0) offline.push(problem);
        if (partition.isr.length < partition.replicas.length) underReplicated.push(problem);
      });
    }
    const brokers = [...metadata.brokers]
      .map(([nodeId, broker]) => ({ nodeId, host: broker.host, port: broker.port }))
      .sort((a, b) => a.nodeId - b.nodeId);
    return {
      bootstrap: options.bootstrap.join(','),
      clusterId: metadata.id,
      brokers,
      metadataControllerId: metadata.controllerId,
      quorum: await readQuorum(options),
      topicCount: metadata.topics.size,
      partitionCount,
      underReplicated,
      offline,
    };
  } finally {
    await admin.close();
  }
}

/** DescribeQuorum through the first bootstrap broker (Kafka forwards it to the active controller). */
async function readQuorum(options: StatusOptions): Promise<QuorumStatus> {
  const [host = '', portText = ''] = splitHostPort(options.bootstrap[0] ?? '');
  const connection = new Connection('kstack-status', { connectTimeout: options.timeoutMs });
  try {
    await connection.connect(host, Number(portText));
    const versions = await apiVersionsV3.api.async(connection, 'kstack-status', '1');
    const range = versions.apiKeys.find((api) => api.apiKey === DESCRIBE_QUORUM_KEY);
    if (range === undefined) {
      return {
        served: false,
        reason: 'the cluster does not serve DescribeQuorum (no API key 55 in ApiVersions)',
      };
    }
    const response = await describeQuorumV0.api.async(connection, [
      { topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] },
    ]);
    const partition = response.topics[0]?.partitions[0];
    if (partition === undefined) return { served: false, reason: 'DescribeQuorum answered no partition' };
    if (partition.errorCode !== 0) {
      return { served: false, reason: `DescribeQuorum answered error code ${partition.errorCode}` };
    }
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
  } finally {
    await connection.close();
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
    `brokers (${status.brokers.length}): ${status.brokers.map((b) => `${b.nodeId} ${b.host}:${b.port}`).join(', ')}`,
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
    if (options.format === 'json') {
      process.stdout.write(`${JSON.stringify({ ok: healthy, ...status }, null, 2)}\n`);
    } else {
      process.stdout.write(`${statusText(status).join('\n')}\n`);
    }
    return healthy ? EXIT_OK : EXIT_FAILED;
  },
};
