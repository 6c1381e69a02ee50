// Not in the unit run (three node processes and several session timeouts): run it with
// `node --test test/engine/faults.slow.ts`.
// The fault control of `kstack up --brokers 3` as a user drives it: `kstack fault` (a client of the
// supervisor's HTTP endpoint), `kstack status --format json` to see the effect, and
// @platformatic/kafka as the application. A slowed link adds its delay to acks=all produce; the
// partition leader isolated from its peers cannot acknowledge an acks=all write, is fenced, and a
// new leader is elected; healed, it rejoins the ISR; a paused broker is fenced after the session
// timeout and rejoins once resumed; a node killed with --no-restart stays down until started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { KstackProcess } from '../../src/engine/process.ts';

const HOST = '127.0.0.1';
/** Brokers 23100-23102 (their proxies), fault control 23110, the nodes' own listeners 23120-23122, controllers 23150-23152, their proxies 23170-23172. */
const BASE_PORT = 23100;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2] as const;
const CONTROL = `http://${HOST}:${BASE_PORT + 10}`;
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
const SLOW_DELAY_MS = 300;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const POLL_MS = 250;
const ROOT = join(import.meta.dirname, '..', '..');
const BOOTSTRAP = PORTS.map((port) => `${HOST}:${port}`);

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-faults-'));
let cluster: KstackProcess | undefined;

after(async () => {
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function kstack(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'kstack.ts'), ...args],
      { timeout: WAIT_MS },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

async function fault(...args: string[]): Promise<{ state: string; pid: number | null }> {
  const result = await kstack('fault', ...args, '--control', CONTROL);
  assert.equal(result.code, 0, `kstack fault ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as { state: string; pid: number | null };
}

interface Status {
  absentBrokers: number[];
  underReplicated: { topic: string; partition: number; leader: number; isr: number[] }[];
}

/** `kstack status --format json` through one broker (exit 1 is an under-replicated cluster, still an answer). */
async function status(port: number): Promise<Status | undefined> {
  const result = await kstack(
    'status',
    '--format',
    'json',
    '--bootstrap-server',
    `${HOST}:${port}`,
    '--timeout-ms',
    '5000',
  );
  if (result.code === 2 || result.stdout.trim() === '') return undefined;
  try {
    return JSON.parse(result.stdout) as Status;
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** ledger-0's leader and ISR as broker `port` answers Metadata. */
async function partition(port: number): Promise<{ leader: number; isr: number[] } | undefined> {
  const admin = new Admin({ clientId: 'faults-test', bootstrapBrokers: [`${HOST}:${port}`], retries: 0 });
  try {
    const metadata = await admin.metadata({ topics: ['ledger'], forceUpdate: true });
    const p = metadata.topics.get('ledger')?.partitions[0];
    return p === undefined ? undefined : { leader: p.leader, isr: [...p.isr].sort() };
  } finally {
    await admin.close();
  }
}

const fullIsr = (port: number) => async () => {
  const p = await partition(port);
  return p !== undefined && p.isr.length === 3 ? p : undefined;
};

test('kstack fault on kstack up --brokers 3: slow link, isolated leader, paused broker, kill --no-restart', async () => {
  cluster = await KstackProcess.start(
    {
      args: [
        '--brokers',
        '3',
        '--no-compose',
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
      outputTailBytes: 4 * 1024 * 1024,
      // As users run it: fault proxies, the fault control, a crashed node restarted.
      faults: true,
    },
    WAIT_MS,
  );
  const running = cluster;
  await waitFor('the fault control line', async () =>
    running.notices.includes(`fault control on ${CONTROL}`) ? true : undefined,
  );
  const admin = new Admin({ clientId: 'faults-test', bootstrapBrokers: BOOTSTRAP });
  try {
    await admin.createTopics({
      topics: ['ledger'],
      partitions: 1,
      replicas: 3,
      configs: [{ name: 'min.insync.replicas', value: '2' }],
    });
  } finally {
    await admin.close();
  }
  const before = await waitFor('ledger-0 with a full ISR', fullIsr(PORTS[0]));
  const leader = before.leader;
  const leaderPort = PORTS[leader - 1]!;

  // Slow: the leader's client links hold each request SLOW_DELAY_MS.
  const producer = new Producer({
    clientId: 'faults-app',
    bootstrapBrokers: BOOTSTRAP,
    serializers: stringSerializers,
  });
  const sendMs = async (value: string): Promise<number> => {
    const startedAt = performance.now();
    // The acks of send() (the producer's own option is not applied to send).
    await producer.send({ messages: [{ topic: 'ledger', partition: 0, value }], acks: ProduceAcks.ALL });
    return performance.now() - startedAt;
  };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  try {
    await sendMs('warm-up');
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) plain.push(await sendMs(`plain-${i}`));
    await fault('slow', String(leader), '--delay-ms', String(SLOW_DELAY_MS), '--from', 'clients');
    const slowed: number[] = [];
    for (let i = 0; i < 5; i++) slowed.push(await sendMs(`slowed-${i}`));
    await fault('heal', String(leader));
    console.log(
      `acks=all produce, median of 5: ${Math.round(median(plain))} ms; with ${SLOW_DELAY_MS} ms on the leader's client links: ${Math.round(median(slowed))} ms`,
    );
    for (const ms of slowed) assert.ok(ms >= SLOW_DELAY_MS - 1, `a slowed send took ${ms} ms`);
  } finally {
    await producer.close();
  }

  // Isolate the leader from its peers: it cannot acknowledge acks=all, a new leader is elected.
  const isolatedAt = performance.now();
  assert.equal((await fault('isolate', String(leader), '--from', 'peers')).state, 'running');
  const cutOff = new Producer({
    clientId: 'faults-app-isolated',
    bootstrapBrokers: [`${HOST}:${leaderPort}`],
    retries: 0,
    timeout: SESSION_TIMEOUT_MS * 2,
    serializers: stringSerializers,
  });
  try {
    await assert.rejects(
      cutOff.send({
        messages: [{ topic: 'ledger', partition: 0, value: 'never-acknowledged' }],
        acks: ProduceAcks.ALL,
      }),
      (error: Error & { errors?: Error[] }) => {
        // The broker's own answer: REQUEST_TIMED_OUT (7), or NOT_ENOUGH_REPLICAS(_AFTER_APPEND) (19, 20).
        const answers = (error.errors ?? [])
          .map((e) =>
            JSON.stringify((e as Error & { response?: unknown }).response, (_k, v) =>
              typeof v === 'bigint' ? String(v) : v,
            ),
          )
          .join('\n');
        assert.match(
          answers,
          /"errorCode":(7|19|20)\b/,
          `an isolated leader must not acknowledge acks=all: ${error.message} ${answers}`,
        );
        return true;
      },
    );
  } finally {
    await cutOff.close();
  }
  const survivor = PORTS[leader === 1 ? 1 : 0];
  const failedOver = await waitFor(
    'a new leader and the isolated broker fenced, in kstack status',
    async () => {
      const seen = await status(survivor);
      const ledger = seen?.underReplicated.find((p) => p.topic === 'ledger');
      return seen?.absentBrokers.includes(leader) &&
        ledger !== undefined &&
        ledger.leader > 0 &&
        ledger.leader !== leader
        ? ledger
        : undefined;
    },
  );
  console.log(
    `isolated leader ${leader}: leader ${failedOver.leader} ISR ${failedOver.isr} after ${Math.round(performance.now() - isolatedAt)} ms (session ${SESSION_TIMEOUT_MS} ms)`,
  );
  assert.ok(!failedOver.isr.includes(leader));
  const healedAt = performance.now();
  await fault('heal', String(leader));
  await waitFor('the healed broker back in the ISR', fullIsr(survivor));
  console.log(`healed broker ${leader} back in the ISR after ${Math.round(performance.now() - healedAt)} ms`);

  // Pause a broker: fenced after the session timeout; resumed, it rejoins.
  const paused = failedOver.leader;
  const other = PORTS.find((_, i) => i + 1 !== paused)!;
  assert.equal((await fault('pause', String(paused))).state, 'paused');
  const pausedAt = performance.now();
  await waitFor('the paused broker fenced', async () =>
    (await status(other))?.absentBrokers.includes(paused) ? true : undefined,
  );
  console.log(`paused broker ${paused} fenced after ${Math.round(performance.now() - pausedAt)} ms`);
  const led = await waitFor('ledger-0 led by another broker', async () => {
    const p = await partition(other);
    return p !== undefined && p.leader > 0 && p.leader !== paused ? p : undefined;
  });
  assert.ok(!led.isr.includes(paused));
  assert.equal((await fault('resume', String(paused))).state, 'running');
  await waitFor('the resumed broker back in the ISR', fullIsr(other));

  // Kill --no-restart keeps the node down; start brings it back.
  const victim = 3;
  const killed = await fault('kill', String(victim), '--no-restart');
  assert.deepEqual([killed.state, killed.pid], ['down', null]);
  await sleep(1_000);
  const listed = JSON.parse((await kstack('fault', 'list', '--control', CONTROL)).stdout) as {
    nodeId: number;
    state: string;
  }[];
  assert.equal(listed.find((n) => n.nodeId === victim)?.state, 'down', 'not restarted');
  assert.equal((await fault('start', String(victim))).state, 'starting');
  await waitFor('the started broker back in the ISR', fullIsr(PORTS[0]));

  const exit = await running.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, 'faults made by the fault control are no crash');
});
