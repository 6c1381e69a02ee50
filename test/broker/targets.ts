/**
 * The two brokers a same-assertions test runs against: a `kstack up` process and a one-node
 * Apache Kafka reference (its controller listens 50 above its port). Each test file passes
 * ports from its own range.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { BrokerProcess } from '../engine/broker-process.ts';

export interface BrokerTarget {
  readonly kind: 'kstack' | 'reference';
  /** For test titles: `kstack up` or `Apache Kafka (reference)`. */
  readonly title: string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function kstackTarget(port: number): BrokerTarget {
  const broker = new BrokerProcess(port);
  return {
    kind: 'kstack',
    title: 'kstack up',
    port,
    start: () => broker.start(),
    async stop() {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    },
  };
}

export function referenceTarget(port: number, dataDirPrefix: string): BrokerTarget {
  const dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir });
  return {
    kind: 'reference',
    title: 'Apache Kafka (reference)',
    port,
    start: () => cluster.start(),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
