// By hand (not CI: three JVMs take minutes to start here): elr-first-scenario.ts on Apache Kafka
// 4.1.1's three combined nodes, with the assertions elr-first.slow.ts makes of kstack, and the
// controllers' election lines ("Setting new leader ... using ELR").
// Ports (docs/team-rules.md): brokers 27307-27309, their controllers 27357-27359.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { assertElrFirst, runElrFirstScenario } from './elr-first-scenario.ts';

/** A JVM restart under load takes tens of seconds: broker 2's session outlasts broker 3's restart. */
const SESSION_MS = 60_000;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-elr-first-reference-'));
const cluster = new ReferenceCluster({
  nodes: 3,
  basePort: 27307,
  dataDir,
  overrides: { 'broker.session.timeout.ms': String(SESSION_MS) },
  log: (line) => {
    if (/exited/.test(line)) console.log(line);
  },
});

after(async () => {
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

test('ELR first at a fencing, on the 3-node reference', { timeout: 900_000 }, async () => {
  await cluster.start(600_000);
  const seen = await runElrFirstScenario({
    askPort: cluster.node(1).port,
    stopNode: (id, signal) => cluster.stopNode(id, signal),
    startNode: (id) => cluster.startNode(id),
    pid: (id) => Number(readFileSync(join(cluster.node(id).dir, 'jvm.pid'), 'utf8')),
  });
  console.log(JSON.stringify(seen));
  for (const node of cluster.nodes) {
    const lines = readFileSync(join(node.dir, 'server.log'), 'utf8')
      .split('\n')
      .filter((line) => /using ELR|UNCLEAN|unclean election/.test(line));
    console.log(`node ${node.id}:\n${lines.map((line) => line.slice(0, 160)).join('\n')}`);
  }
  assertElrFirst(seen);
});
