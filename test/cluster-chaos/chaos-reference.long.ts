// Scenario 23 (issue 12) asked of Apache Kafka 4.1.1 (by hand, not in CI: three JVMs): the same
// workload, nemesis and checks as chaos.slow.ts (run.ts), on the three-node reference. The nemesis
// gets the process faults only, SIGKILL (the node started again) and SIGSTOP/SIGCONT of a JVM: the
// link faults (isolate, slow) live in kstack's fault proxies, which tell a peer from a client by
// kstack's own client ids, so they cannot cut the reference's links between its nodes. With the
// same KSTACK_CHAOS_SEED the schedule differs from kstack's (drawn from the process faults only).
// Ports (docs/team-rules.md): the reference's brokers 27406-27408, its controllers 27456-27458.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { describeAnomalies } from './checker.ts';
import { type ChaosTarget, chooseSeed, type Fault } from './nemesis.ts';
import { runChaos, stopClients } from './run.ts';

const BASE_PORT = 27406;
/** As chaos.slow.ts gives kstack. */
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Three JVMs (and each one restarted) on a loaded 2-core machine: 116 s to start at load 22. */
const READY_TIMEOUT_MS = 240_000;
// reference/cluster.ts reads it at import: a restarted JVM's wait (startNode) gets as long.
process.env.KSTACK_REFERENCE_READY_TIMEOUT_MS ??= String(READY_TIMEOUT_MS);
const { ReferenceCluster } = await import('../../reference/cluster.ts');

const seed = chooseSeed();
console.log(
  `chaos seed ${seed.value} (${seed.source}); replay: KSTACK_CHAOS_SEED=${seed.value} node --test test/cluster-chaos/chaos-reference.long.ts`,
);

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-chaos-reference-'));
const reference = new ReferenceCluster({
  nodes: 3,
  basePort: BASE_PORT,
  dataDir,
  overrides: {
    'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
    'broker.heartbeat.interval.ms': String(HEARTBEAT_INTERVAL_MS),
  },
});

after(async () => {
  await stopClients();
  await reference.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

const pid = (node: number): number => Number(readFileSync(join(reference.node(node).dir, 'jvm.pid'), 'utf8'));

/**
 * Restarts one after another: ReferenceCluster.startNode waits until Metadata lists the nodes
 * running when it was called, which a second JVM started meanwhile would never let hold.
 */
let restarts = Promise.resolve();

const referenceTarget: ChaosTarget = {
  name: 'Apache Kafka 4.1.1, 3 nodes',
  faults: ['kill', 'pause'],
  async apply(node: number, fault: Fault): Promise<void> {
    if (fault.kind === 'kill') await reference.stopNode(node, 'SIGKILL');
    else if (fault.kind === 'pause') process.kill(pid(node), 'SIGSTOP');
    else throw new Error(`the reference target cannot ${fault.kind}`);
  },
  async heal(node: number, fault: Fault): Promise<void> {
    if (fault.kind === 'kill') {
      restarts = restarts.then(() => reference.startNode(node));
      await restarts;
    } else if (fault.kind === 'pause') process.kill(pid(node), 'SIGCONT');
  },
};

test('scenario 23 on Apache Kafka 4.1.1: kills and pauses, healed, drained: no anomaly', async () => {
  const started = performance.now();
  await reference.start(READY_TIMEOUT_MS);
  console.log(`reference ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const run = await runChaos(referenceTarget, reference.bootstrap.split(','), seed.value);
  console.log(run.summary);
  assert.equal(
    describeAnomalies(run.result.anomalies),
    '',
    `seed ${seed.value} (KSTACK_CHAOS_SEED=${seed.value} replays it): anomalies found`,
  );
});
