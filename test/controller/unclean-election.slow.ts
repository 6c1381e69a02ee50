// unclean.leader.election.enable (issue 12, the facts file's scenario 13) on three `kstack node`
// processes (compat/runner/kstack-cluster.ts, what `kstack up --brokers 3` starts): every ISR
// member of an RF 2 partition dead while a replica outside the ISR is alive (unclean-scenario.ts).
// Off (the default): the partition stays offline (leader -1). On at creation: the live replica is
// elected when the last ISR member is fenced. Turned on later as a topic config, then as the
// cluster-wide dynamic default: elected at the controller's next periodic check
// (unclean.leader.election.interval.ms, as Kafka's; 3 s here). Each election is unclean: ISR = [the new leader],
// RECOVERING (its controller logs it), and the new leader serves only what it had (5 records of
// 10, as Kafka, where the same steps gave the same leaders, ISRs and end offsets:
// unclean-reference.long.ts).
// Ports (docs/team-rules.md): brokers 27304-27306, their controller listeners 27354-27356.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CLUSTER_LATER,
  ON_AT_CREATE,
  runUncleanScenario,
  TOPIC_LATER,
  UNCLEAN_INTERVAL_MS,
} from './unclean-scenario.ts';

const BASE_PORT = 27304;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-unclean-'));
const logDir = join(dataDir, 'logs');
// Each node's whole output, for the controller's unclean-election lines (read at import).
process.env.KSTACK_COMPAT_NODE_LOGS = logDir;
const { KstackCluster } = await import('../../compat/runner/kstack-cluster.ts');
const cluster = new KstackCluster({
  nodes: 3,
  basePort: BASE_PORT,
  dataDir: join(dataDir, 'cluster'),
  overrides: () => ({ 'unclean.leader.election.interval.ms': String(UNCLEAN_INTERVAL_MS) }),
});

after(async () => {
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

test('every ISR member dead: offline with unclean election off; on, the live replica leads alone, RECOVERING', async () => {
  await cluster.start();
  const seen = await runUncleanScenario({
    bootstrap: cluster.ids.map((id) => `127.0.0.1:${cluster.brokerPort(id)}`),
    stopNode: (id, signal) => cluster.stopNode(id, signal),
    startNode: (id) => cluster.startNode(id),
  });
  console.log(JSON.stringify(seen));
  assert.deepEqual(seen.afterFencing[ON_AT_CREATE], { leader: 3, isr: [3] }, 'on at creation');
  assert.deepEqual(seen.afterFencing[TOPIC_LATER], { leader: -1, isr: [] }, 'off: offline');
  assert.deepEqual(seen.afterFencing[CLUSTER_LATER], { leader: -1, isr: [] }, 'off: offline');
  assert.deepEqual(seen.afterTopicConfig[TOPIC_LATER], { leader: 3, isr: [3] }, 'the topic config turned on');
  assert.deepEqual(seen.afterTopicConfig[CLUSTER_LATER], { leader: -1, isr: [] }, 'still off for this one');
  assert.deepEqual(seen.afterClusterConfig, { leader: 3, isr: [3] }, 'the cluster default turned on');
  // Broker 3 missed the five records written while it was down: they are gone, as in Kafka.
  assert.deepEqual(seen.endOffsets, { [ON_AT_CREATE]: 5, [TOPIC_LATER]: 5, [CLUSTER_LATER]: 5 });
  const lines = cluster.ids
    .flatMap((id) => readFileSync(join(logDir, `node-${id}.log`), 'utf8').split('\n'))
    .filter((line) => line.includes('unclean leader election for'));
  for (const topic of [ON_AT_CREATE, TOPIC_LATER, CLUSTER_LATER]) {
    assert.ok(
      lines.some((line) => line.includes(`${topic}-0: leader 3`) && line.includes('RECOVERING')),
      `no unclean election logged for ${topic}-0:\n${lines.join('\n')}`,
    );
  }
});
