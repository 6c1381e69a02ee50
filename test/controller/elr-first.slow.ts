// KIP-966's order at a fencing with processes (elr-first-scenario.ts): three `kstack node`
// processes (compat/runner's KstackCluster, what `kstack up --brokers 3` starts), broker 2 paused
// with SIGSTOP while broker 3 restarts cleanly into the ELR; 2's session (45 s here) expires with 3
// unfenced in the ELR: 3 leads both topics from the ELR, ISR [3], ELR [2], the assertions the
// reference passes (elr-first-reference.long.ts). Before the fix: elr-on elected 3 uncleanly (ELR
// cleared), elr-off stayed leaderless.
// Ports (docs/team-rules.md): brokers 27343-27345, their controller listeners 27393-27395.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assertElrFirst, runElrFirstScenario } from './elr-first-scenario.ts';

/** Long enough for broker 3's restart under CI load (10-11 s on a quiet machine) before 2 is fenced. */
const SESSION_MS = 45_000;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-elr-first-'));
const { KstackCluster } = await import('../../compat/runner/kstack-cluster.ts');
const cluster = new KstackCluster({
  nodes: 3,
  basePort: 27343,
  dataDir,
  overrides: () => ({ 'broker.session.timeout.ms': String(SESSION_MS) }),
});

after(async () => {
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

test('ELR first at a fencing: the unfenced ELR member leads cleanly, unclean on or off', {
  timeout: 600_000,
}, async () => {
  await cluster.start();
  const seen = await runElrFirstScenario({
    askPort: cluster.brokerPort(1),
    stopNode: (id, signal) => cluster.stopNode(id, signal),
    startNode: (id) => cluster.startNode(id),
    pid: (id) => {
      const pid = cluster.pid(id);
      if (pid === undefined) throw new Error(`node ${id} is not running`);
      return pid;
    },
  });
  console.log(JSON.stringify(seen));
  assertElrFirst(seen);
});
