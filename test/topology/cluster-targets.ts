/**
 * The clusters the tools' same-assertion tests run against: `kstack up` (one broker, Kafka's
 * defaults) and the Apache Kafka reference with 1 or 3 nodes (controllers 50 above each port).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';

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
      const exit = await broker?.stop();
      rmSync(dataDir, { recursive: true, force: true });
      assert.equal(exit?.code, 0, broker?.output);
    },
  };
}

export function referenceTarget(
  nodes: 1 | 3,
  basePort: number,
): ClusterTarget & { cluster: ReferenceCluster } {
  const dataDir = mkdtempSync(join(tmpdir(), `kstack-tools-ref${nodes}-`));
  const cluster = new ReferenceCluster({ nodes, basePort, dataDir });
  const onExit = (): void => cluster.killAllSync();
  return {
    title: `Apache Kafka reference (${nodes} node${nodes === 1 ? '' : 's'})`,
    brokerCount: nodes,
    bootstrap: cluster.bootstrap,
    cluster,
    async start() {
      process.on('exit', onExit);
      await cluster.start();
    },
    async stop() {
      await cluster.stop(true);
      process.off('exit', onExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
