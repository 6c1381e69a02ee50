// Not in the unit run (55 s wall at load 23, 26 s of it the three processes starting): run it with
// `node --test test/engine/cluster-up.slow.ts`.
// `kstack up --brokers 3` as users run it: three node processes under one supervisor. It prints
// the bootstrap servers once every broker registered; Kafka 4.1.1's kafka-topics creates an RF 3
// topic through it; kcat produces acks=all; SIGKILL of the partition leader's process is reported
// by the supervisor (not restarted) and the controller elects a new leader from the ISR after the
// session timeout, which serves every acknowledged record; the node started again rejoins the ISR.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BROKER_NODE_FLAGS, KstackProcess } from '../../src/engine/process.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 21720;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2] as const;
const CONTROLLER_OFFSET = 50;
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOOL_TIMEOUT_MS = 120_000;
const POLL_MS = 250;
const ROOT = join(import.meta.dirname, '..', '..');
const BOOTSTRAP = PORTS.map((port) => `${HOST}:${port}`).join(',');

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-up-'));
let cluster: KstackProcess | undefined;
let rejoined: ChildProcess | undefined;

after(async () => {
  rejoined?.kill('SIGTERM');
  await cluster?.stop();
  if (rejoined !== undefined && rejoined.exitCode === null && rejoined.signalCode === null) {
    await new Promise((done) => rejoined?.once('exit', done));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** kcat as a separate process; `input` goes to its stdin (an early exit is not an error here). */
function kcat(
  args: readonly string[],
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${cluster?.output ?? ''}`);
    await sleep(POLL_MS);
  }
}

interface KcatPartition {
  partition: number;
  leader: number;
  replicas: { id: number }[];
  isrs: { id: number }[];
}

/** Partition 0 of `topic` as the broker on `port` describes it (kcat -L), or undefined. */
async function describe(port: number, topic: string): Promise<KcatPartition | undefined> {
  const result = await kcat(['-b', `${HOST}:${port}`, '-L', '-J', '-t', topic, '-m', '10']);
  if (result.code !== 0) return undefined;
  const metadata = JSON.parse(result.stdout) as { topics: { topic: string; partitions: KcatPartition[] }[] };
  return metadata.topics.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === 0);
}

function topicsTool(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', BOOTSTRAP, ...args],
      { timeout: TOOL_TIMEOUT_MS },
      (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
      },
    );
  });
}

test('kstack up --brokers 3: RF 3 topic, acks=all, SIGKILL of the leader, every record back, the node rejoins', async () => {
  const startedAt = performance.now();
  cluster = await KstackProcess.start(
    {
      args: [
        '--brokers',
        '3',
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
    },
    WAIT_MS,
  );
  const running = cluster;
  await waitFor('the bootstrap servers line', () =>
    running.output.includes(`bootstrap servers: ${BOOTSTRAP}`) ? true : undefined,
  );
  console.log(`start to ready: ${Math.round(performance.now() - startedAt)} ms`);
  const pids = new Map<number, number>();
  for (const match of running.output.matchAll(/kstack: node (\d+) pid (\d+):/g)) {
    pids.set(Number(match[1]), Number(match[2]));
  }
  assert.equal(pids.size, 3, running.output);

  const created = await topicsTool(
    '--create',
    '--topic',
    'ledger',
    '--partitions',
    '1',
    '--replication-factor',
    '3',
  );
  assert.equal(created.code, 0, `kafka-topics --create: ${created.stderr}`);
  const before = await waitFor('ledger-0 with a full ISR', async () => {
    const partition = await describe(PORTS[0], 'ledger');
    return partition !== undefined && partition.isrs.length === 3 ? partition : undefined;
  });
  assert.deepEqual(before.replicas.map((r) => r.id).sort(), [1, 2, 3]);

  const records = Array.from({ length: 300 }, (_, i) => `entry-${i}`);
  const produced = await kcat(
    ['-P', '-b', BOOTSTRAP, '-t', 'ledger', '-p', '0', '-X', 'acks=all'],
    `${records.join('\n')}\n`,
  );
  assert.equal(produced.code, 0, `kcat -P acks=all: ${produced.stderr}`);

  const victim = before.leader;
  const killedAt = performance.now();
  process.kill(pids.get(victim)!, 'SIGKILL');
  const survivor = PORTS[victim === 1 ? 1 : 0];
  const after = await waitFor('a new leader for ledger-0', async () => {
    const partition = await describe(survivor, 'ledger');
    return partition !== undefined && partition.leader > 0 && partition.leader !== victim
      ? partition
      : undefined;
  });
  console.log(
    `failover: leader ${victim} -> ${after.leader} in ${Math.round(performance.now() - killedAt)} ms (session ${SESSION_TIMEOUT_MS} ms)`,
  );
  assert.ok(!after.isrs.some((r) => r.id === victim), 'the killed broker left the ISR');
  assert.match(
    running.output,
    new RegExp(`node ${victim} \\(pid ${pids.get(victim)}\\) exited \\(SIGKILL\\); not restarted`),
  );

  // The new leader serves up to its high watermark, which passes the acknowledged records once the
  // other ISR member has fetched in the new epoch: read until they are all there (or time out).
  const consumed = await waitFor('every acknowledged record from the new leader', async () => {
    const result = await kcat([
      '-C',
      '-b',
      `${HOST}:${PORTS[after.leader - 1]}`,
      '-t',
      'ledger',
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    return result.code === 0 && lines.length >= records.length ? lines : undefined;
  });
  assert.deepEqual(consumed, records);

  // The node started again by hand, with the arguments the supervisor gave it.
  const clusterId = readFileSync(join(dataDir, 'cluster.id'), 'utf8').trim();
  const voters = [1, 2, 3].map((id) => `${id}@${HOST}:${PORTS[id - 1]! + CONTROLLER_OFFSET}`).join(',');
  rejoined = spawn(
    process.execPath,
    [
      ...BROKER_NODE_FLAGS,
      join(ROOT, 'bin', 'kstack.ts'),
      'node',
      '--node-id',
      String(victim),
      '--voters',
      voters,
      '--cluster-id',
      clusterId,
      '--port',
      String(PORTS[victim - 1]),
      '--data-dir',
      join(dataDir, `node-${victim}`),
      '--override',
      `broker.heartbeat.interval.ms=${HEARTBEAT_INTERVAL_MS}`,
      '--override',
      `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor('the restarted broker back in the ISR', async () => {
    const partition = await describe(survivor, 'ledger');
    return partition?.isrs.some((r) => r.id === victim) ? true : undefined;
  });
  const exit = await running.stop();
  assert.deepEqual(exit, { code: 1, signal: null }, 'a node crashed, so the supervisor exits 1');
});
