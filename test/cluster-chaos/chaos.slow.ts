// The facts file's scenario 23 (issue 12) on kstack: a seeded random mix of faults on
// `kstack up --brokers 3` (the real command: three `kstack node` processes behind their fault
// proxies, supervised, driven through its fault control's HTTP endpoint: SIGKILL with the
// supervisor's restart, SIGSTOP/SIGCONT, isolation from peers, clients or both, slowed links)
// under load from librdkafka clients, then healed and drained, checked with Jepsen's checks: no
// lost write, duplicate, inconsistent offset, poll-skip, non-monotonic poll or send, nothing unseen
// (run.ts, checker.ts, nemesis.ts; no clock skew: nemesis.ts says why).
// Ports (docs/team-rules.md): brokers (their proxies) 27403-27405, fault control 27413, the nodes'
// own listeners 27423-27425, controllers 27453-27455, their proxies 27473-27475.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KstackProcess } from '../../src/engine/process.ts';
import { waitUntil } from '../controller/acked-load.ts';
import { describeAnomalies } from './checker.ts';
import { type ChaosTarget, chooseSeed, FAULT_KINDS, type Fault } from './nemesis.ts';
import { runChaos, stopClients } from './run.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 27403;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2] as const;
const CONTROL = `http://${HOST}:${BASE_PORT + 10}`;
/** Liveness as faults.slow.ts: a paused or cut-off node is fenced after 4 s. */
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Generous: CI runs this on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 120_000;

const seed = chooseSeed();
console.log(
  `chaos seed ${seed.value} (${seed.source}); replay: KSTACK_CHAOS_SEED=${seed.value} node --test test/cluster-chaos/chaos.slow.ts`,
);

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-chaos-'));
let cluster: KstackProcess | undefined;

after(async () => {
  await stopClients();
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function control(method: 'GET' | 'POST', path: string, body: object = {}): Promise<unknown> {
  const init: RequestInit =
    method === 'POST'
      ? { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
      : {};
  const answer = await fetch(`${CONTROL}${path}`, init);
  const text = await answer.text();
  if (!answer.ok) throw new Error(`fault control ${method} ${path}: ${answer.status} ${text}`);
  return JSON.parse(text);
}

/** The cluster through its fault control (src/engine/fault-control.ts). */
const kstackTarget: ChaosTarget = {
  name: 'kstack up --brokers 3',
  faults: FAULT_KINDS,
  async apply(node: number, fault: Fault): Promise<void> {
    if (fault.kind === 'kill') await control('POST', `/nodes/${node}/kill`, { restart: true });
    else if (fault.kind === 'pause') await control('POST', `/nodes/${node}/pause`);
    else if (fault.kind === 'isolate') await control('POST', `/nodes/${node}/isolate`, { from: fault.from });
    else await control('POST', `/nodes/${node}/slow`, { delayMs: fault.delayMs, from: fault.from });
  },
  async heal(node: number, fault: Fault): Promise<void> {
    if (fault.kind === 'pause') await control('POST', `/nodes/${node}/resume`);
    else if (fault.kind !== 'kill') await control('POST', `/nodes/${node}/heal`);
    // A killed node is restarted by the supervisor after its backoff.
    await waitUntil(`node ${node} running and registered`, async () => {
      const view = (await control('GET', `/nodes/${node}`)) as { state: string; registered: boolean };
      return view.state === 'running' && view.registered;
    });
  },
};

test('scenario 23 on kstack: a seeded random mix of faults, healed, drained: no anomaly', async () => {
  const started = performance.now();
  cluster = await KstackProcess.start(
    {
      args: [
        '--brokers',
        '3',
        '--no-compose',
        '--no-companions',
        '--port',
        String(BASE_PORT),
        '--data-dir',
        dataDir,
        '--override',
        `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
        '--override',
        `broker.heartbeat.interval.ms=${HEARTBEAT_INTERVAL_MS}`,
      ],
      ports: PORTS,
      // As users run it: fault proxies, the fault control, a crashed node restarted.
      faults: true,
    },
    READY_TIMEOUT_MS,
  );
  const running = cluster;
  await waitUntil('the fault control line', () => running.notices.includes(`fault control on ${CONTROL}`));
  console.log(`cluster ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const run = await runChaos(
    kstackTarget,
    PORTS.map((port) => `${HOST}:${port}`),
    seed.value,
  );
  console.log(run.summary);
  assert.equal(
    describeAnomalies(run.result.anomalies),
    '',
    `seed ${seed.value} (KSTACK_CHAOS_SEED=${seed.value} replays it): anomalies found`,
  );
});
