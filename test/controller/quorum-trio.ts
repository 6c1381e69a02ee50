// Three ControllerNodes in this process, each with a MetadataQuorum, on real sockets and real
// files: the harness of the metadata-quorum tests. Each node records the TopicRecord names it is
// handed through onRecords since its last start (what a broker would replay).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetadataQuorum } from '../../src/controller/metadata-quorum.ts';
import { ControllerNode } from '../../src/controller/node.ts';

const HOST = '127.0.0.1';
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';
const POLL_MS = 20;
const quiet = { info() {}, warn() {} };

type MetadataQuorumOptions = ConstructorParameters<typeof MetadataQuorum>[0];

export interface QuorumTrioOptions {
  /** The three nodes' controller ports, node ids 1-3 in order. */
  readonly ports: readonly number[];
  /** Prefix of the temporary data folder. */
  readonly name: string;
  /** How long `until` waits before it fails. */
  readonly waitMsMax: number;
  /** Options for every node's MetadataQuorum beside the cluster id and onRecords. */
  readonly quorum?: Omit<MetadataQuorumOptions, 'clusterId' | 'onRecords'>;
}

export interface QuorumTrio {
  readonly running: Map<number, { node: ControllerNode; quorum: MetadataQuorum }>;
  /** The TopicRecord names each node was handed through onRecords since its last start. */
  readonly handed: Map<number, string[]>;
  startNode(nodeId: number): Promise<void>;
  stopNode(nodeId: number): Promise<void>;
  /** Polls `check` until it gives a value (not undefined, null or false), or fails after waitMsMax. */
  until<T>(what: string, check: () => T | undefined | null | false): Promise<T>;
  /** The node every running node names as leader, once they agree and it is leader. */
  agreedLeader(): Promise<number>;
  /** Stops every node and removes the data folder. */
  close(): Promise<void>;
}

export function quorumTrio(options: QuorumTrioOptions): QuorumTrio {
  const voters = options.ports.map((port, i) => ({ nodeId: i + 1, host: HOST, port }));
  const dataDir = mkdtempSync(join(tmpdir(), `kstack-${options.name}-`));
  const running = new Map<number, { node: ControllerNode; quorum: MetadataQuorum }>();
  const handed = new Map<number, string[]>();

  async function startNode(nodeId: number): Promise<void> {
    handed.set(nodeId, []);
    const quorum = new MetadataQuorum({
      ...options.quorum,
      clusterId: CLUSTER_ID,
      onRecords: (records) => {
        for (const record of records)
          if (record.type === 'TopicRecord') handed.get(nodeId)?.push(record.name);
      },
    });
    const node = new ControllerNode({
      nodeId,
      clusterId: CLUSTER_ID,
      voters,
      listenerName: 'CONTROLLER',
      host: HOST,
      port: options.ports[nodeId - 1]!,
      dataDir: join(dataDir, `controller-${nodeId}`),
      raftListener: quorum.listener,
      onLeaderChange: (leader) => quorum.onLeaderChange(leader),
      log: quiet,
      onFatal: (error) => {
        throw error;
      },
    });
    quorum.attach(node.driver);
    await node.start();
    running.set(nodeId, { node, quorum });
  }

  async function stopNode(nodeId: number): Promise<void> {
    const entry = running.get(nodeId);
    if (entry === undefined) return;
    running.delete(nodeId);
    entry.quorum.detach();
    await entry.node.stop();
  }

  async function until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
    const deadline = Date.now() + options.waitMsMax;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== null && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${options.waitMsMax} ms`);
      await sleep(POLL_MS);
    }
  }

  function agreedLeader(): Promise<number> {
    return until('one leader named by every running node', () => {
      const leaders = [...running.values()].map(({ node }) => node.driver.leader().leaderId);
      const first = leaders[0];
      return first !== undefined && first >= 0 && running.has(first) && leaders.every((l) => l === first)
        ? running.get(first)?.node.driver.role() === 'leader' && first
        : undefined;
    });
  }

  async function close(): Promise<void> {
    await Promise.all([...running.keys()].map(stopNode));
    rmSync(dataDir, { recursive: true, force: true });
  }

  return { running, handed, startNode, stopNode, until, agreedLeader, close };
}
