/**
 * `kstack controller`: one KRaft controller-only node (`process.roles=controller`) of the metadata
 * quorum, in the foreground. Three of them (node ids 1-3, one `--voters` list) elect a leader over
 * Vote/BeginQuorumEpoch/EndQuorumEpoch and replicate the metadata log with Fetch/FetchSnapshot on
 * their controller listeners; Kafka's `kafka-metadata-quorum --bootstrap-controller` describes them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from '../cli.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { RaftStorageError } from '../raft/storage.ts';
import { MetadataQuorum } from './metadata-quorum.ts';
import { ControllerNode, parseQuorumVoters } from './node.ts';

export const CONTROLLER_LISTENER_NAME = 'CONTROLLER';
/** Kafka's cluster ids are 16 bytes as unpadded base64url (22 characters), as kafka-storage prints them. */
const CLUSTER_ID = /^[A-Za-z0-9_-]{22}$/;

const HELP = `usage: kstack controller --node-id N --voters ID@HOST:PORT,... --cluster-id ID
                         [--data-dir DIR] [--host H]

Runs one KRaft controller of the metadata quorum in the foreground (process.roles=controller).
  --node-id N      node.id: this voter's id, one of --voters
  --voters LIST    controller.quorum.voters: every voter as ID@HOST:PORT, comma-separated;
                   this node's controller listener (CONTROLLER) listens on its own entry's port
  --cluster-id ID  the cluster id every voter shares (22 characters, as kafka-storage random-uuid);
                   kept in DIR/meta.properties, which must agree on later starts
  --data-dir DIR   the metadata log and quorum state (default .data/kstack/controller-N)
  --host H         the address to bind (default: this node's host in --voters)
`;

interface ControllerOptions {
  readonly nodeId: number;
  readonly voters: ReturnType<typeof parseQuorumVoters>;
  readonly clusterId: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
}

export function parseControllerArgs(args: readonly string[]): ControllerOptions | 'help' {
  const parsed = parseFlags(
    args,
    {
      'node-id': { type: 'string' },
      voters: { type: 'string' },
      'cluster-id': { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
    },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  const nodeIdText = values['node-id'];
  const nodeId = Number(nodeIdText);
  if (typeof nodeIdText !== 'string' || !/^\d+$/.test(nodeIdText) || nodeId > 2 ** 31 - 1) {
    throw new UsageError(`--node-id: '${nodeIdText ?? ''}' is not a node id (0 to 2147483647)\n\n${HELP}`);
  }
  if (typeof values.voters !== 'string') throw new UsageError(`--voters is required\n\n${HELP}`);
  let voters: ReturnType<typeof parseQuorumVoters>;
  try {
    voters = parseQuorumVoters(values.voters);
  } catch (error) {
    throw new UsageError(`--voters: ${(error as Error).message}`);
  }
  const self = voters.find((voter) => voter.nodeId === nodeId);
  if (self === undefined) {
    throw new UsageError(`--voters: node ${nodeId} (--node-id) is not among the voters ${values.voters}`);
  }
  const clusterId = values['cluster-id'];
  if (typeof clusterId !== 'string' || !CLUSTER_ID.test(clusterId)) {
    throw new UsageError(
      `--cluster-id: '${clusterId ?? ''}' is not a cluster id (22 characters of base64url, e.g. from kafka-storage random-uuid)`,
    );
  }
  const dataDir = resolve((values['data-dir'] as string | undefined) ?? `.data/kstack/controller-${nodeId}`);
  return {
    nodeId,
    voters,
    clusterId,
    dataDir,
    host: values.host ?? self.host,
    port: self.port,
  };
}

/**
 * Kafka's meta.properties: written at the first start, checked at every later one, so a data
 * directory never joins another cluster or takes another node's id.
 */
export function checkMetaProperties(dataDir: string, nodeId: number, clusterId: string): void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'meta.properties');
  if (!existsSync(file)) {
    writeFileSync(file, `version=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
    return;
  }
  const properties = new Map(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  if (properties.get('cluster.id') !== clusterId || properties.get('node.id') !== String(nodeId)) {
    throw new UsageError(
      `${file} belongs to cluster ${properties.get('cluster.id')} node ${properties.get('node.id')}, not cluster ${clusterId} node ${nodeId}; use another --data-dir`,
    );
  }
}

export const command: Command = {
  summary: 'run one KRaft controller of the metadata quorum in the foreground',
  async run(args) {
    const options = parseControllerArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    checkMetaProperties(options.dataDir, options.nodeId, options.clusterId);
    const log = {
      info: (message: string) => process.stderr.write(`[kstack controller ${options.nodeId}] ${message}\n`),
      warn: (message: string) =>
        process.stderr.write(`[kstack controller ${options.nodeId}] WARN ${message}\n`),
    };
    let fatal: ((error: Error) => void) | null = null;
    const failed = new Promise<Error>((resolveFailed) => {
      fatal = resolveFailed;
    });
    const stopRequested = new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    // The metadata log rides on the quorum: committed entries are replayed into this node's image.
    const quorum = new MetadataQuorum({ clusterId: options.clusterId });
    let node: ControllerNode;
    try {
      node = new ControllerNode({
        raftListener: quorum.listener,
        onLeaderChange: (leader) => quorum.onLeaderChange(leader),
        nodeId: options.nodeId,
        clusterId: options.clusterId,
        voters: options.voters,
        listenerName: CONTROLLER_LISTENER_NAME,
        host: options.host,
        port: options.port,
        dataDir: options.dataDir,
        log,
        onFatal: (error) => fatal?.(error),
      });
    } catch (error) {
      // The metadata log is opened here: a directory it refuses (the format before offsets per
      // record) is named with what to do, without a stack trace.
      if (error instanceof RaftStorageError) {
        process.stderr.write(`kstack controller ${options.nodeId}: ${error.message}\n`);
        return EXIT_FAILED;
      }
      throw error;
    }
    quorum.attach(node.driver);
    try {
      await node.start();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        process.stderr.write(`kstack controller: port ${options.port} on ${options.host} is in use\n`);
        quorum.detach();
        node.driver.stop();
        return EXIT_FAILED;
      }
      throw error;
    }
    process.stdout.write(
      `kstack: controller ${options.nodeId} listening on ${options.host}:${node.port} (${CONTROLLER_LISTENER_NAME}); cluster ${options.clusterId}\n`,
    );
    const outcome = await Promise.race([stopRequested.then(() => null), failed]);
    if (outcome !== null) {
      process.stderr.write(`kstack controller ${options.nodeId}: stopped: ${outcome.message}\n`);
      quorum.detach();
      await node.stop();
      return EXIT_FAILED;
    }
    quorum.detach();
    await node.stop();
    process.stderr.write(`[kstack controller ${options.nodeId}] stopped\n`);
    return EXIT_OK;
  },
};
