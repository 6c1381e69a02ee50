/**
 * The targets the companions' same-assertion tests run against (the REST proxy, the Schema
 * Registry, Connect): `kstack up --brokers 3` (three `kstack node` processes under one supervisor,
 * brokers on PORT..PORT+2, their controllers 50 above) and the Apache Kafka reference (one node,
 * or three when a test is run by hand against the three-node reference). Each carries what an
 * answer that depends on the cluster needs: its bootstrap list, its broker count, and for kstack
 * each node's pid (a failover test kills one with SIGKILL).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';

const HOST = '127.0.0.1';
/** A cluster start (three Node processes loading modules, a quorum, registrations) on a loaded 2-core machine. */
const CLUSTER_READY_MS = 180_000;
/**
 * The liveness of the test cluster: a killed broker is fenced after this (Kafka's default 9 s
 * would add 5 s to every failover test); heartbeats well inside it, as Kafka's ratio.
 */
export const TEST_SESSION_TIMEOUT_MS = 4_000;
export const TEST_HEARTBEAT_INTERVAL_MS = 500;
/** The whole output is kept: the node pid lines are at its start. */
const OUTPUT_TAIL_BYTES = 4 * 1024 * 1024;

export interface ClusterTarget {
  readonly kind: 'kstack' | 'reference';
  /** For test titles. */
  readonly title: string;
  /** The first broker's port. */
  readonly port: number;
  /** Every broker, comma-separated (what a client is given). */
  readonly bootstrap: string;
  /** How many brokers: answers that list brokers or replicas depend on it. */
  readonly brokers: number;
  /** The replication factor a test topic gets: every broker. */
  readonly replicationFactor: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** kstack only: SIGKILL of node `nodeId`'s process (not restarted by the supervisor). */
  kill(nodeId: number): void;
}

function bootstrapOf(port: number, brokers: number): string {
  return Array.from({ length: brokers }, (_, i) => `${HOST}:${port + i}`).join(',');
}

/**
 * `kstack up --brokers 3 --port PORT` as the tests' kstack: ready once the supervisor prints the
 * bootstrap servers (every node registered and unfenced). `stop()` accepts exit 1 when a node was
 * killed (the supervisor reports it and exits 1 at the end), else wants 0.
 */
export function kstackClusterTarget(port: number, dataDirPrefix: string): ClusterTarget {
  const brokers = 3;
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const bootstrap = bootstrapOf(port, brokers);
  let running: KstackProcess | undefined;
  const pids = new Map<number, number>();
  const killed = new Set<number>();
  return {
    kind: 'kstack',
    title: `kstack up --brokers ${brokers}`,
    port,
    bootstrap,
    brokers,
    replicationFactor: brokers,
    async start() {
      running = await KstackProcess.start(
        {
          args: [
            '--brokers',
            String(brokers),
            '--port',
            String(port),
            '--data-dir',
            dataDir,
            '--override',
            `broker.session.timeout.ms=${TEST_SESSION_TIMEOUT_MS}`,
            '--override',
            `broker.heartbeat.interval.ms=${TEST_HEARTBEAT_INTERVAL_MS}`,
            // The two settings the reference cluster takes only to save test time
            // (reference/README.md): a new group's first rebalance without the 3 s delay, and
            // __consumer_offsets created with 5 partitions rather than 50 (at RF 3: 15 replicas).
            '--override',
            'group.initial.rebalance.delay.ms=0',
            '--override',
            'offsets.topic.num.partitions=5',
          ],
          ports: Array.from({ length: brokers }, (_, i) => port + i),
          outputTailBytes: OUTPUT_TAIL_BYTES,
        },
        CLUSTER_READY_MS,
      );
      const up = running;
      const deadline = Date.now() + CLUSTER_READY_MS;
      while (!up.notices.includes(`bootstrap servers: ${bootstrap}`)) {
        if (up.exit !== null || Date.now() > deadline) {
          await up.stop(0, 'SIGKILL');
          throw new Error(
            `kstack up --brokers ${brokers} never printed its bootstrap servers:\n${up.output}`,
          );
        }
        await sleep(100);
      }
      for (const match of up.output.matchAll(/kstack: node (\d+) pid (\d+):/g)) {
        pids.set(Number(match[1]), Number(match[2]));
      }
      assert.equal(pids.size, brokers, up.output);
    },
    async stop() {
      if (running !== undefined) {
        const exit = await running.stop();
        assert.deepEqual(exit, { code: killed.size > 0 ? 1 : 0, signal: null }, running.output);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
    kill(nodeId: number) {
      const pid = pids.get(nodeId);
      assert.ok(pid !== undefined, `no node ${nodeId} in ${[...pids.keys()].join(', ')}`);
      killed.add(nodeId);
      process.kill(pid, 'SIGKILL');
    },
  };
}

/** The Apache Kafka 4.1.1 reference with `nodes` brokers on PORT.. (controllers 50 above). */
export function referenceClusterTarget(port: number, dataDirPrefix: string, nodes = 1): ClusterTarget {
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const cluster = new ReferenceCluster({ nodes, basePort: port, dataDir });
  return {
    kind: 'reference',
    title: nodes === 1 ? 'Apache Kafka (reference)' : `Apache Kafka (reference, ${nodes} nodes)`,
    port,
    bootstrap: bootstrapOf(port, nodes),
    brokers: nodes,
    replicationFactor: nodes,
    start: () => cluster.start(),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
    kill() {
      throw new Error('kill: the reference target is not killed node by node here');
    },
  };
}

/**
 * How many nodes the reference target of a same-assertion test has: 1 (CI), or 3 when the file is
 * run by hand with KSTACK_REFERENCE_NODES=3 (the answers that depend on the cluster compared with
 * three Apache Kafka brokers; the CI budget has no room for a second three-node start per file).
 */
export function referenceNodes(): number {
  const value = process.env.KSTACK_REFERENCE_NODES ?? '1';
  if (value !== '1' && value !== '3') {
    throw new Error(`KSTACK_REFERENCE_NODES: '${value}' is not 1 or 3`);
  }
  return Number(value);
}
