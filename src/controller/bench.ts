/**
 * `node src/controller/bench.ts [--runs N] [--base-port P]`: measures the quorum of three
 * `kstack controller` processes. Start to ready: from spawning the three processes until every
 * node names the same leader. Election: from SIGKILL of the leader until both survivors name the
 * same new leader (then the killed node is restarted and must catch up before the next run).
 * Prints each run and the p50/max; a benchmark, not a test: nothing is asserted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { decodeResponse, encodeRequest, type MessageValue } from '../protocol/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HOST = '127.0.0.1';
const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';
const WAIT_MS_MAX = 120_000;
const POLL_MS = 10;

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, 'base-port': { type: 'string', default: '21030' } },
});
const runs = Number(values.runs);
const basePort = Number(values['base-port']);
const ports = [basePort, basePort + 1, basePort + 2];
const voters = ports.map((port, i) => `${i + 1}@${HOST}:${port}`).join(',');
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-quorum-bench-'));
const children = new Map<number, ChildProcess>();

function start(nodeId: number): void {
  const child = spawn(
    process.execPath,
    [
      'bin/kstack.ts',
      'controller',
      '--node-id',
      String(nodeId),
      '--voters',
      voters,
      '--cluster-id',
      CLUSTER_ID,
      '--data-dir',
      join(dataDir, `controller-${nodeId}`),
    ],
    { cwd: ROOT, stdio: 'ignore' },
  );
  children.set(nodeId, child);
}

async function kill(nodeId: number, signal: NodeJS.Signals): Promise<void> {
  const child = children.get(nodeId);
  children.delete(nodeId);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

function request(
  port: number,
  apiKey: number,
  apiVersion: number,
  body: MessageValue,
): Promise<MessageValue> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, 2_000);
    socket.on('connect', () =>
      socket.write(
        encodeRequest(
          { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: 'bench' },
          body,
        ),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(decodeResponse(apiKey, apiVersion, received.subarray(4, 4 + received.readInt32BE(0))).body);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function agreedLeader(nodeIds: number[], excluded: number): Promise<number> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (Date.now() < deadline) {
    const leaders = await Promise.all(
      nodeIds.map((id) =>
        request(ports[id - 1]!, 60, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 }).then(
          (body) => body.controllerId as number,
          () => -1,
        ),
      ),
    );
    const first = leaders[0] ?? -1;
    if (first >= 0 && first !== excluded && nodeIds.includes(first) && leaders.every((l) => l === first))
      return first;
    await sleep(POLL_MS);
  }
  throw new Error(`no leader among ${nodeIds.join(',')} within ${WAIT_MS_MAX} ms`);
}

async function caughtUp(leader: number, nodeId: number): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (Date.now() < deadline) {
    const body = await request(ports[leader - 1]!, 55, 2, {
      topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
    }).catch(() => null);
    const partition = (body?.topics as { partitions: Record<string, unknown>[] }[] | undefined)?.[0]
      ?.partitions[0];
    const voters = (partition?.currentVoters ?? []) as { replicaId: number; logEndOffset: bigint }[];
    const end = voters.find((v) => v.replicaId === leader)?.logEndOffset;
    if (
      partition?.errorCode === 0 &&
      end !== undefined &&
      voters.find((v) => v.replicaId === nodeId)?.logEndOffset === end
    )
      return;
    await sleep(POLL_MS);
  }
  throw new Error(`node ${nodeId} did not catch up within ${WAIT_MS_MAX} ms`);
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
  return `${name}: p50 ${p50.toFixed(0)} ms, min ${sorted[0]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms over ${sorted.length} runs`;
}

const load = (await import('node:os')).loadavg()[0]?.toFixed(1);
try {
  const startedAt = performance.now();
  for (const id of [1, 2, 3]) start(id);
  let leader = await agreedLeader([1, 2, 3], -1);
  const readyMs = performance.now() - startedAt;
  console.log(`start to ready (3 processes spawned → one leader named by all): ${readyMs.toFixed(0)} ms`);
  const elections: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    const killedAt = performance.now();
    await kill(leader, 'SIGKILL');
    const next = await agreedLeader(survivors, leader);
    const electionMs = performance.now() - killedAt;
    elections.push(electionMs);
    console.log(
      `run ${run}: leader ${leader} killed, leader ${next} named by both survivors in ${electionMs.toFixed(0)} ms`,
    );
    start(leader);
    await agreedLeader([1, 2, 3], -1);
    await caughtUp(next, leader);
    leader = next;
  }
  console.log(summary('election after SIGKILL of the leader', elections));
  console.log(`load average at start: ${load}`);
} finally {
  await Promise.all([...children.keys()].map((id) => kill(id, 'SIGTERM')));
  rmSync(dataDir, { recursive: true, force: true });
}
