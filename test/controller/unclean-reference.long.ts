// By hand (not CI: three JVMs take minutes to start on this machine): the facts file's scenario 13
// (unclean-scenario.ts) on Apache Kafka 4.1.1's three combined nodes, printing what kstack's
// unclean-election.slow.ts asserts, and the controller's UNCLEAN partition-change lines.
// Ports (docs/team-rules.md): brokers 27310-27312, their controllers 27360-27362.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { runUncleanScenario, UNCLEAN_INTERVAL_MS } from './unclean-scenario.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-unclean-reference-'));
// Kafka elects uncleanly after a dynamic change only at its periodic check
// (unclean.leader.election.interval.ms, 5 min by default): UNCLEAN_INTERVAL_MS here.
const cluster = new ReferenceCluster({
  nodes: 3,
  basePort: 27310,
  dataDir,
  overrides: { 'unclean.leader.election.interval.ms': String(UNCLEAN_INTERVAL_MS) },
});

after(async () => {
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

test('scenario 13 on the 3-node reference', { timeout: 900_000 }, async () => {
  await cluster.start(600_000);
  const seen = await runUncleanScenario({
    bootstrap: cluster.nodes.map((n) => `127.0.0.1:${n.port}`),
    stopNode: (id, signal) => cluster.stopNode(id, signal),
    startNode: (id) => cluster.startNode(id),
  });
  console.log(JSON.stringify(seen, null, 1));
  for (const node of cluster.nodes) {
    const lines = readFileSync(join(node.dir, 'server.log'), 'utf8')
      .split('\n')
      .filter((line) => /UNCLEAN|unclean|handleBrokerUncleanShutdown/.test(line));
    console.log(`node ${node.id}:\n${lines.join('\n')}`);
  }
  assert.ok(seen);
});
