// The facts file's scenario 23 (issue 12) on kstack: a seeded random mix of faults on
// `kstack up --brokers 3` (the real command: three `kstack node` processes behind their fault
// proxies, supervised, driven through its fault control's HTTP endpoint: SIGKILL with the
// supervisor's restart, SIGSTOP/SIGCONT, isolation from peers, clients or both, slowed links, and
// the nodes' wall clocks skewed ahead or back) under load from librdkafka clients, then healed and
// drained, checked with Jepsen's checks: no lost write, duplicate, inconsistent offset, poll-skip,
// non-monotonic poll or send, nothing unseen (run.ts, checker.ts, nemesis.ts).
// The skew: `kstack up` and so its nodes run with Debian's libfaketime preloaded
// (scripts/setup/57-faketime.sh), which reads the offset from CLOCK_FILE at every wall-clock read
// (FAKETIME_NO_CACHE); the monotonic clock stays real (FAKETIME_DONT_FAKE_MONOTONIC), as a step of
// the system clock leaves it. The clients and this process keep the host's time.
// Ports (docs/team-rules.md): brokers (their proxies) 27403-27405, fault control 27413, the nodes'
// own listeners 27423-27425, controllers 27453-27455, their proxies 27473-27475.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KstackProcess } from '../../src/engine/process.ts';
import { waitUntil } from '../controller/acked-load.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';
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

/** Debian's libfaketime (the multithreaded build: a node runs threads), installed by 57-faketime.sh. */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
/** A skew is seen on the leader's clock within this of the offset asked (the answer's own delay). */
const CLOCK_CHECK_TOLERANCE_MS = 2_000;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-chaos-'));
const clockDir = mkdtempSync(join(tmpdir(), 'kstack-chaos-clock-'));
/** The nodes' clock offset, libfaketime's form ("+120", "-30": seconds off the host's time). */
const CLOCK_FILE = join(clockDir, 'faketime.rc');
let cluster: KstackProcess | undefined;

interface QuorumPartition {
  leaderId: number;
  currentVoters: { replicaId: number; lastFetchTimestamp: bigint }[];
}

after(async () => {
  await stopClients();
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(clockDir, { recursive: true, force: true });
});

/**
 * Sets the nodes' clock offset and waits until the quorum leader's wall clock shows it: DescribeQuorum
 * through a broker names the leader's own `lastFetchTimestamp`, its Date.now() when it answers.
 */
async function setClockOffset(seconds: number): Promise<void> {
  writeFileSync(CLOCK_FILE, `${seconds >= 0 ? '+' : ''}${seconds}\n`);
  if (cluster === undefined) return;
  const client = clientTo(BASE_PORT, 'chaos-clock');
  try {
    await waitUntil(`the nodes' clocks ${seconds} s off the host's`, async () => {
      const body = await send(client, 55, 2, {
        topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
      });
      const partition = (body.topics as { partitions: QuorumPartition[] }[])[0]?.partitions[0];
      const leader = partition?.currentVoters.find((voter) => voter.replicaId === partition.leaderId);
      if (leader === undefined) return false;
      const offsetMs = Number(leader.lastFetchTimestamp) - Date.now();
      return Math.abs(offsetMs - seconds * 1000) < CLOCK_CHECK_TOLERANCE_MS;
    });
  } finally {
    client.close();
  }
}

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
    else if (fault.kind === 'skew') await setClockOffset(fault.offsetS);
    else await control('POST', `/nodes/${node}/slow`, { delayMs: fault.delayMs, from: fault.from });
  },
  async heal(node: number, fault: Fault): Promise<void> {
    if (fault.kind === 'pause') await control('POST', `/nodes/${node}/resume`);
    else if (fault.kind === 'skew') await setClockOffset(0);
    else if (fault.kind !== 'kill') await control('POST', `/nodes/${node}/heal`);
    // A killed node is restarted by the supervisor after its backoff.
    await waitUntil(`node ${node} running and registered`, async () => {
      const view = (await control('GET', `/nodes/${node}`)) as { state: string; registered: boolean };
      return view.state === 'running' && view.registered;
    });
  },
};

test('scenario 23 on kstack: a seeded random mix of faults, healed, drained: no anomaly', async () => {
  assert.ok(existsSync(LIBFAKETIME), `${LIBFAKETIME} missing: run scripts/setup/57-faketime.sh`);
  await setClockOffset(0);
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
      env: {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME_TIMESTAMP_FILE: CLOCK_FILE,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      },
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
