// VAL-MSG-PLN-003: the seeds' smoke chain (kafka-topics --create, kafka-console-producer,
// kafka-console-consumer) with Kafka's own tools from the reference jars, against `kstack up` (one
// broker, so replication factor 1). The same chain (reference/val-msg-pln-003.sh) against Apache Kafka
// on 3 nodes with replication factor 3, as the seeds run it, is checked by
// test/compose-check/compose-check.test.ts: `kstack compose-check` runs it through the Compose stack's
// published ports against three Apache Kafka brokers of the same version, and that test asserts it
// passes. (This file ran it once more against a 3-node ReferenceCluster of its own: ~31 s of CI.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { assertKafkaInstalled } from '../../reference/cluster.ts';
import { BrokerProcess } from '../../test/engine/broker-process.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** The port of this file: kstack on 19170. */
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
