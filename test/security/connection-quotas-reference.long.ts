/**
 * By hand (not in CI): `node --test test/security/connection-quotas-reference.long.ts`. `kstack up` and
 * Apache Kafka 4.1.1 side by side with `max.connections.per.ip.overrides=127.0.0.2:2`, then the default `ip` quota
 * `connection_creation_rate=1`, the same scenarios on the wire (connection-quotas-scenario.ts): what a
 * client sees is compared and printed (outcomes in runs, and the delays of the held connections).
 * Ports (docs/team-rules.md): kstack 27430, the reference 27431 (its controller 27481).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import {
  CLIENT_ADDRESS,
  perIpScenario,
  rateScenario,
  runs,
  setDefaultIpRate,
} from './connection-quotas-scenario.ts';

const KSTACK = 27430;
const KAFKA = 27431;
const LIMIT = 2;
const WAIT_MS = 5_000;
const RATE_CONNECTIONS = 20;
// The limit on the test's own address only: the broker's connections to its controller (from
// 127.0.0.1) are under the same settings on Kafka and must not be limited.
const SETTINGS = { 'max.connections.per.ip.overrides': `${CLIENT_ADDRESS}:${LIMIT}` };

let dataDir = '';
let kstack: KstackProcess | undefined;
let reference: ReferenceCluster | undefined;
const killReference = (): void => reference?.killAllSync();

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kstack-connection-quotas-'));
  process.on('exit', killReference);
  reference = new ReferenceCluster({
    nodes: 1,
    basePort: KAFKA,
    dataDir: join(dataDir, 'reference'),
    overrides: SETTINGS,
  });
  [kstack] = await Promise.all([
    KstackProcess.start({
      args: [
        '--no-compose',
        '--data-dir',
        join(dataDir, 'kstack'),
        '--override',
        `listeners=PLAINTEXT://127.0.0.1:${KSTACK}`,
        ...Object.entries(SETTINGS).flatMap(([k, v]) => ['--override', `${k}=${v}`]),
      ],
      ports: [KSTACK],
    }),
    reference.start(),
  ]);
});

after(async () => {
  await kstack?.stop();
  await reference?.stop(true);
  process.off('exit', killReference);
  rmSync(dataDir, { recursive: true, force: true });
});

it('max.connections.per.ip: the connection over the limit is closed without an answer, alike', async () => {
  const seen = new Map<string, string[]>();
  for (const [name, port] of [
    ['kstack', KSTACK],
    ['reference', KAFKA],
  ] as const) {
    seen.set(name, await perIpScenario(port, LIMIT, WAIT_MS));
    console.log(`${name}: ${seen.get(name)!.join(', ')}`);
  }
  assert.deepEqual(seen.get('kstack'), seen.get('reference'));
});

it('connection_creation_rate=1 on the default ip: later connections held unanswered, then closed, alike', async () => {
  const summaries = new Map<string, string>();
  for (const [name, port] of [
    ['kstack', KSTACK],
    ['reference', KAFKA],
  ] as const) {
    await setDefaultIpRate(port, 1);
    // The reference applies it once its controller committed it and the broker replayed it.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const outcomes = await rateScenario(port, RATE_CONNECTIONS, WAIT_MS);
    const summary = runs(outcomes.map((o) => o.outcome));
    summaries.set(name, summary);
    const held = outcomes.filter((o) => o.outcome !== 'answered').map((o) => o.afterMs);
    console.log(`${name}: ${summary}; held connections closed after ${held.join(' / ')} ms`);
  }
  assert.equal(summaries.get('kstack'), summaries.get('reference'));
});
