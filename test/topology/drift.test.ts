/**
 * Drift between the two engines for the Compose stack's first broker: `kstack up` reading a copy
 * of the stack, and the Apache Kafka reference (1 node) started with the properties the same
 * mapper gives (src/topology), asked the same DescribeConfigs. Every key the mapper applies must
 * read the same on both, and a KAFKA_* variable changed in the copy must change the key on both.
 * Ports (docs/team-rules.md): kstack 20140, reference 20141 (controller 20191).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { KstackProcess } from '../../src/engine/process.ts';
import { loadTopology } from '../../src/topology/compose.ts';
import { embeddedBrokerPlan } from '../../src/topology/embedded.ts';
import { copyStack, KAFKA_FILE, type StackCopy } from '../validate/stack-copy.ts';
import { type ClusterTarget, referenceTarget } from './cluster-targets.ts';

/** A clean shutdown (SIGTERM) may take long on a loaded CI machine (30 s seen at load average 20-35): SIGKILL only after this. */
const STOP_GRACE_MS = 120_000;

const KSTACK_PORT = 20140;
const REFERENCE_PORT = 20141;
const RESOURCE_BROKER = 4;

async function describeBroker(
  bootstrap: string,
  nodeId: number,
  keys: string[],
): Promise<Map<string, string | null>> {
  const admin = new Admin({ clientId: 'drift-test', bootstrapBrokers: [bootstrap], timeout: 30_000 });
  try {
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: RESOURCE_BROKER, resourceName: String(nodeId), configurationKeys: keys }],
    });
    return new Map(described!.configs.map((entry) => [entry.name, entry.value ?? null]));
  } finally {
    await admin.close();
  }
}

describe('drift: kstack up and Apache Kafka from the same Compose broker service', {
  timeout: 900_000,
}, () => {
  let stack: StackCopy;
  let dataDir: string;
  let kstack: KstackProcess | undefined;
  let reference: ClusterTarget | undefined;

  before(() => {
    stack = copyStack([
      {
        file: '.env.example',
        from: 'KAFKA_1_EXTERNAL_PORT=9092',
        to: `KAFKA_1_EXTERNAL_PORT=${KSTACK_PORT}`,
      },
      // The mutation: one variable of the shared broker environment, changed in the file only.
      { file: KAFKA_FILE, from: 'KAFKA_NUM_PARTITIONS: 3', to: 'KAFKA_NUM_PARTITIONS: 4' },
    ]);
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-drift-'));
  });

  after(async () => {
    const exit = await kstack?.stop(STOP_GRACE_MS);
    await reference?.stop();
    stack.remove();
    rmSync(dataDir, { recursive: true, force: true });
    if (exit !== undefined) assert.equal(exit.code, 0, kstack?.output);
  });

  it('every applied key reads the same on both engines, and the changed variable shows on both', async () => {
    const topology = loadTopology({ file: stack.rootFile });
    const broker = topology.brokers[0]!;
    const plan = embeddedBrokerPlan(broker, 1);
    const keys = Object.keys(plan.config).sort();
    assert.ok(keys.length >= 8, `applied keys: ${keys.join(', ')}`);

    kstack = await KstackProcess.start({
      args: ['--compose', stack.rootFile, '--data-dir', join(dataDir, 'kstack')],
      ports: [KSTACK_PORT],
    });
    reference = referenceTarget(1, REFERENCE_PORT, plan.config);
    await reference.start();

    const onKstack = await describeBroker(`127.0.0.1:${KSTACK_PORT}`, plan.nodeId, keys);
    const onKafka = await describeBroker(`127.0.0.1:${REFERENCE_PORT}`, 1, keys);
    const differences = keys
      .filter((key) => onKstack.get(key) !== onKafka.get(key))
      .map((key) => `${key}: kstack ${onKstack.get(key)}, Kafka ${onKafka.get(key)}`);
    assert.deepEqual(differences, []);
    assert.equal(onKstack.get('num.partitions'), '4');
    assert.equal(onKafka.get('num.partitions'), '4');
    assert.equal(onKstack.get('group.initial.rebalance.delay.ms'), '0');
  });
});
