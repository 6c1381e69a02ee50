// VAL-MSG-PLN-003: the seeds' smoke chain (kafka-topics --create, kafka-console-producer,
// kafka-console-consumer) with Kafka's own tools from the reference jars, verbatim as the seeds run
// it (replication factor 3), against `kstack up --brokers 3`. The same chain (reference/val-msg-pln-003.sh) against Apache Kafka
// on 3 nodes with replication factor 3, as the seeds run it, is checked by
// test/compose-check/compose-check.test.ts: `kstack compose-check` runs it through the Compose stack's
// published ports against three Apache Kafka brokers of the same version, and that test asserts it
// passes. (This file ran it once more against a 3-node ReferenceCluster of its own: ~31 s of CI.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertKafkaInstalled } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** The ports of this file: kstack's three brokers on 19170-19172, their controllers 50 above. */
const KSTACK_PORT = 19170;
/** The seeds' replication factor for the chain's topic (VAL-MSG-PLN-003). */
const SEEDS_REPLICATION_FACTOR = 3;
const CHAIN_TIMEOUT_MS = 120_000;

function runChain(bootstrap: string, replicationFactor: number): { status: number | null; output: string } {
  const run = spawnSync(
    path.join(ROOT, 'reference', 'val-msg-pln-003.sh'),
    ['--bootstrap-server', bootstrap, '--replication-factor', String(replicationFactor)],
    { encoding: 'utf8', timeout: CHAIN_TIMEOUT_MS },
  );
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-val-msg-pln-003-'));
let kstack: KstackProcess | null = null;
after(async () => {
  await kstack?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('VAL-MSG-PLN-003 with Kafka tools against kstack up --brokers 3, replication factor 3', {
  timeout: 180_000,
}, async () => {
  assertKafkaInstalled();
  const ports = Array.from({ length: SEEDS_REPLICATION_FACTOR }, (_, i) => KSTACK_PORT + i);
  // Ready once every node answers Metadata: a node holds client requests until it is registered
  // and unfenced, so the chain's RF 3 topic finds three brokers.
  kstack = await KstackProcess.start({
    args: [
      '--brokers',
      String(ports.length),
      '--no-compose',
      '--port',
      String(KSTACK_PORT),
      '--data-dir',
      dataDir,
    ],
    ports,
  });
  const { status, output } = runChain(`127.0.0.1:${KSTACK_PORT}`, SEEDS_REPLICATION_FACTOR);
  assert.equal(status, 0, output.slice(-3000));
});
