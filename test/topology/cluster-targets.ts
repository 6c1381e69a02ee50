/**
 * The clusters the tools' same-assertion tests run against: `kstack up` (one broker, Kafka's
 * defaults) and the Apache Kafka reference with 1 or 3 nodes (controllers 50 above each port).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClusterOptions, ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';

/** A clean shutdown (SIGTERM) may take long on a loaded CI machine (30 s seen at load average 20-35): SIGKILL only after this. */
const STOP_GRACE_MS = 120_000;

/** reference/cluster.ts's own readiness bound. */
const REFERENCE_READY_TIMEOUT_MS = 120_000;
/** How long a reference cluster may take to answer Metadata on every node, in all. */
const READY_TIMEOUT_MS = 360_000;

export interface ClusterTarget {
  readonly title: string;
  readonly brokerCount: number;
  readonly bootstrap: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function kstackTarget(port: number): ClusterTarget {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-tools-'));
  let broker: KstackProcess | undefined;
  return {
    title: 'kstack up (1 broker)',
    brokerCount: 1,
    bootstrap: `127.0.0.1:${port}`,
    async start() {
      broker = await KstackProcess.start({
        args: ['--port', String(port), '--data-dir', dataDir],
        ports: [port],
      });
    },
    async stop() {
      const exit = await broker?.stop(STOP_GRACE_MS);
      rmSync(dataDir, { recursive: true, force: true });
      assert.equal(exit?.code, 0, broker?.output);
    },
  };
}

export function referenceTarget(
  nodes: 1 | 3,
  basePort: number,
  /** Kafka properties for every node, or per node (by its id). */
  overrides: ClusterOptions['overrides'] = {},
): ClusterTarget & { cluster: ReferenceCluster } {
  const dataDir = mkdtempSync(join(tmpdir(), `kstack-tools-ref${nodes}-`));
  const cluster = new ReferenceCluster({ nodes, basePort, dataDir, overrides });
  const onExit = (): void => cluster.killAllSync();
  return {
    title: `Apache Kafka reference (${nodes} node${nodes === 1 ? '' : 's'})`,
    brokerCount: nodes,
    bootstrap: cluster.bootstrap,
    cluster,
    async start() {
      process.on('exit', onExit);
      try {
        await cluster.start();
      } catch (error) {
        // ReferenceCluster gives its nodes 120 s to answer Metadata; three JVMs starting on a
        // loaded 2-core CI machine (load average 35 seen) can take longer. While every node
        // still runs, keep waiting on the same condition, up to READY_TIMEOUT_MS in all.
        const ids = cluster.nodes.map((node) => node.id);
        if (
          !/did not answer Metadata/.test((error as Error).message) ||
          cluster.running().length !== ids.length
        ) {
          throw error;
        }
        await cluster.waitReady(ids, READY_TIMEOUT_MS - REFERENCE_READY_TIMEOUT_MS);
      }
    },
    async stop() {
      await cluster.stop(true);
      process.off('exit', onExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
