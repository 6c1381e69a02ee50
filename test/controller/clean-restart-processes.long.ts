// By hand, not in CI: `node --test test/controller/clean-restart-processes.long.ts` (about 40 s).
// KIP-966's clean and unclean restarts with real processes: three `kstack node` processes (what
// `kstack up --brokers 3` starts), node 3 stopped with SIGTERM and started again, then killed with
// SIGKILL and started again. SIGTERM is a controlled shutdown: the process writes
// `.kafka_cleanshutdown` holding its broker epoch before it exits; the next start reads and deletes
// it and registers with that epoch as PreviousBrokerEpoch, so the active controller sees a clean
// restart. SIGKILL leaves no file: the next start registers with -1 and the active controller logs
// the unclean shutdown. (The same on three in-process nodes: clean-restart.test.ts, in CI.)
// Ports 27310-27312 (brokers) and 27360-27362 (controllers).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLEAN_SHUTDOWN_FILE } from '../../src/controller/clean-shutdown.ts';
import { NODE_REGISTERED_MARK } from '../../src/engine/cluster.ts';
import { BROKER_NODE_FLAGS } from '../../src/engine/process.ts';

const HOST = '127.0.0.1';
const IDS = [1, 2, 3] as const;
const BROKER_PORT = 27309; // node i: 27309 + i
const CONTROLLER_PORT = 27359; // node i: 27359 + i
const VOTERS = IDS.map((id) => `${id}@${HOST}:${CONTROLLER_PORT + id}`).join(',');
const CLUSTER_ID = 'Y2xlYW4tcmVzdGFydHMtMQ';
const RESTARTED = 3;
/** Generous: a loaded 2-core machine starts a node process in seconds. */
const WAIT_MS = 120_000;
const POLL_MS = 100;
const KSTACK = join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-clean-restart-'));

interface NodeProcess {
  readonly child: ChildProcess;
  /** Everything the process printed (stdout and stderr), appended as it comes. */
  output: string;
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

const nodes = new Map<number, NodeProcess>();
/** Output of processes that have exited, so the controller's log lines survive a restart. */
let pastOutput = '';

function startNode(id: number): NodeProcess {
  const child = spawn(
    process.execPath,
    [
      ...BROKER_NODE_FLAGS,
      KSTACK,
      'node',
      '--node-id',
      String(id),
      '--voters',
      VOTERS,
      `--cluster-id=${CLUSTER_ID}`,
      '--host',
      HOST,
      '--port',
      String(BROKER_PORT + id),
      '--data-dir',
      join(dataDir, `node-${id}`),
      '--override',
      'broker.session.timeout.ms=4000',
      '--override',
      'broker.heartbeat.interval.ms=500',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const node: NodeProcess = {
    child,
    output: '',
    exited: new Promise((done) => child.once('exit', (code, signal) => done(signal ?? code))),
  };
  const append = (chunk: Buffer) => {
    node.output += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  nodes.set(id, node);
  return node;
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

async function waitRegistered(id: number): Promise<void> {
  const node = nodes.get(id);
  assert.ok(node !== undefined);
  await waitFor(`node ${id} registered`, () => node.output.includes(NODE_REGISTERED_MARK));
}

/** Stops node `id` with `signal` and waits for the process to exit. */
async function stop(id: number, signal: NodeJS.Signals): Promise<NodeJS.Signals | number | null> {
  const node = nodes.get(id);
  assert.ok(node !== undefined);
  node.child.kill(signal);
  const how = await node.exited;
  pastOutput += node.output;
  return how;
}

/** Every line any process printed (exited ones included). */
function allOutput(): string {
  return pastOutput + [...nodes.values()].map((node) => node.output).join('');
}

/** The broker epoch node `id` last registered with, from its own "registered ... (broker epoch N)" line. */
function registeredEpoch(id: number): number {
  const node = nodes.get(id);
  const match = node?.output.match(
    /registered with the active controller and unfenced \(broker epoch (\d+)\)/,
  );
  assert.ok(match?.[1] !== undefined, `node ${id} printed no registration line`);
  return Number(match[1]);
}

function uncleanLines(): string[] {
  return allOutput()
    .split('\n')
    .filter((line) => line.includes(`broker ${RESTARTED} registered after an unclean shutdown`));
}

after(async () => {
  for (const node of nodes.values()) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await node.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test('SIGTERM writes .kafka_cleanshutdown and the restart consumes it; SIGKILL writes none and the restart is unclean', async () => {
  for (const id of IDS) startNode(id);
  for (const id of IDS) await waitRegistered(id);
  const file = join(dataDir, `node-${RESTARTED}`, CLEAN_SHUTDOWN_FILE);
  assert.equal(existsSync(file), false);

  const epoch = registeredEpoch(RESTARTED);
  assert.equal(await stop(RESTARTED, 'SIGTERM'), 0, 'a controlled shutdown exits 0');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: 0, brokerEpoch: epoch });
  startNode(RESTARTED);
  await waitRegistered(RESTARTED);
  assert.equal(existsSync(file), false, 'the restart deleted the file');
  assert.deepEqual(uncleanLines(), [], 'a clean restart: the controller sees its previous epoch');

  const cleanEpoch = registeredEpoch(RESTARTED);
  assert.ok(cleanEpoch > epoch, `a new broker epoch (${cleanEpoch} after ${epoch})`);
  assert.equal(await stop(RESTARTED, 'SIGKILL'), 'SIGKILL');
  assert.equal(existsSync(file), false, 'SIGKILL leaves no clean shutdown file');
  startNode(RESTARTED);
  await waitRegistered(RESTARTED);
  // The active controller (whichever node) logs the unclean re-registration with -1.
  await waitFor('the unclean shutdown line', () => uncleanLines().length === 1);
  assert.match(uncleanLines()[0] ?? '', new RegExp(`previous broker epoch -1, registered ${cleanEpoch}\\)`));
});
