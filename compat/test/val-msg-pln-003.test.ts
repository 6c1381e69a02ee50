// VAL-MSG-PLN-003: the seeds' smoke chain (kafka-topics --create, kafka-console-producer,
// kafka-console-consumer) with Kafka's own tools from the reference jars, against Apache Kafka on
// 3 nodes (replication factor 3, as the seeds run it) and against `kstack up` (one broker, so
// replication factor 1 until the cluster lands).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertKafkaInstalled, ReferenceCluster } from '../../reference/cluster.ts';
import { BrokerProcess } from '../../test/engine/broker-process.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** Ports of this file: the reference on 19160-19162 (controllers 50 above), kstack on 19170. */
const REFERENCE_BASE_PORT = 19160;
const KSTACK_PORT = 19170;
const CHAIN_TIMEOUT_MS = 120_000;

function runChain(bootstrap: string, replicationFactor: number): { status: number | null; output: string } {
  const run = spawnSync(
    path.join(ROOT, 'reference', 'val-msg-pln-003.sh'),
    ['--bootstrap-server', bootstrap, '--replication-factor', String(replicationFactor)],
    { encoding: 'utf8', timeout: CHAIN_TIMEOUT_MS },
  );
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

test('VAL-MSG-PLN-003 with Kafka tools against Apache Kafka, 3 nodes, replication factor 3', {
  timeout: 300_000,
}, async () => {
  assertKafkaInstalled();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-val-reference-'));
  const cluster = new ReferenceCluster({ nodes: 3, basePort: REFERENCE_BASE_PORT, dataDir });
  try {
    await cluster.start();
    const { status, output } = runChain(cluster.bootstrap, 3);
    assert.equal(status, 0, output.slice(-3000));
  } finally {
    await cluster.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

const kstack = new BrokerProcess(KSTACK_PORT);
after(async () => {
  await kstack.stop();
  kstack.removeData();
});

test('VAL-MSG-PLN-003 with Kafka tools against kstack up, replication factor 1', {
  timeout: 180_000,
}, async () => {
  assertKafkaInstalled();
  await kstack.start();
  const { status, output } = runChain(kstack.bootstrap, 1);
  assert.equal(status, 0, output.slice(-3000));
});
