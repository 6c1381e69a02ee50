/**
 * `node test/controller/commit-visibility.bench.ts [--runs N] [--base-port P]` (by hand, not a test):
 * on three `kstack node` processes (the compat runner's cluster, as the 3-node matrix runs them),
 * how long after a CreateTopics / CreatePartitions answer every broker's Metadata shows the change
 * (the window a new client can fall into: last CI's `Local: Unknown partition`), and the nodes' CPU
 * while the cluster is idle. Each broker is asked back to back on its own connection. Prints each
 * run and the p50/p90/max; a benchmark: nothing is asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KstackCluster } from '../../compat/runner/kstack-cluster.ts';
import { decodeResponse, encodeRequest, type MessageValue } from '../../src/protocol/index.ts';

const HOST = '127.0.0.1';
const IDLE_SETTLE_MS = 5_000;
const IDLE_MEASURE_MS = 20_000;
const VISIBLE_WAIT_MS_MAX = 30_000;
const CLOCK_TICKS_PER_S = 100;

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, 'base-port': { type: 'string', default: '27316' } },
});
const runs = Number(values.runs);
const basePort = Number(values['base-port']);

/** One connection, one request at a time. */
class Connection {
  readonly #socket: net.Socket;
  #received = Buffer.alloc(0);
  #waiting: ((frame: Buffer) => void) | null = null;
  #correlationId = 0;

  constructor(port: number) {
    this.#socket = net.connect({ host: HOST, port });
    this.#socket.setNoDelay(true);
    this.#socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      if (this.#received.length < 4) return;
      const size = this.#received.readInt32BE(0);
      if (this.#received.length < 4 + size) return;
      const frame = this.#received.subarray(4, 4 + size);
      this.#received = this.#received.subarray(4 + size);
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting?.(frame);
    });
  }

  request(apiKey: number, apiVersion: number, body: MessageValue): Promise<MessageValue> {
    const correlationId = ++this.#correlationId;
    return new Promise((resolve) => {
      this.#waiting = (frame) => resolve(decodeResponse(apiKey, apiVersion, frame).body);
      this.#socket.write(
        encodeRequest(
          { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'bench' },
          body,
        ),
      );
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

async function partitionCount(connection: Connection, topic: string): Promise<number> {
  const body = await connection.request(3, 9, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  const found = (body.topics as { errorCode: number; partitions: unknown[] }[])[0];
  return found === undefined || found.errorCode !== 0 ? 0 : found.partitions.length;
}

/**
 * For each broker: milliseconds from `answeredAt` until it shows `count` partitions of `topic`, and
 * how many of its answers before that still showed the old state (what a new client could be told).
 */
async function untilVisible(
  connections: Connection[],
  topic: string,
  count: number,
  answeredAt: number,
): Promise<{ ms: number; stale: number }[]> {
  return Promise.all(
    connections.map(async (connection) => {
      let stale = 0;
      while (performance.now() - answeredAt < VISIBLE_WAIT_MS_MAX) {
        if ((await partitionCount(connection, topic)) >= count)
          return { ms: performance.now() - answeredAt, stale };
        stale++;
      }
      throw new Error(`${topic}: ${count} partitions not visible within ${VISIBLE_WAIT_MS_MAX} ms`);
    }),
  );
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function summary(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
  console.log(`${label}: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms (${samples.length} runs)`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-visibility-bench-'));
const cluster = new KstackCluster({ nodes: 3, basePort, dataDir });
try {
  await cluster.start();
  await sleep(IDLE_SETTLE_MS);
  const pids = cluster.ids.map((id) => cluster.pid(id) as number);
  const before = pids.map(cpuTicks);
  await sleep(IDLE_MEASURE_MS);
  const used = pids.map((pid, i) => (cpuTicks(pid) - (before[i] ?? 0)) / CLOCK_TICKS_PER_S);
  const share = (used.reduce((a, b) => a + b, 0) / (IDLE_MEASURE_MS / 1000)) * 100;
  console.log(
    `idle CPU over ${IDLE_MEASURE_MS / 1000} s: ${used.map((s) => s.toFixed(2)).join(' / ')} s per node, ${share.toFixed(1)} % of one core in all (load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`,
  );
  const connections = cluster.ids.map((id) => new Connection(cluster.brokerPort(id)));
  const admin = connections[0] as Connection;
  const samples = {
    createAnswer: [] as number[],
    created: [] as number[],
    growAnswer: [] as number[],
    grown: [] as number[],
  };
  const each = (seen: { ms: number; stale: number }[]): string =>
    seen.map(({ ms, stale }) => `${ms.toFixed(1)} ms (${stale} stale)`).join(', ');
  /** Brokers (of 3 per step) whose first answer after the admin answer still showed the old state. */
  let staleFirst = 0;
  for (let run = 1; run <= runs; run++) {
    const topic = `visibility-${run}`;
    const createSentAt = performance.now();
    await admin.request(19, 5, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const createdAt = performance.now();
    const createdEach = await untilVisible(connections, topic, 1, createdAt);
    const growSentAt = performance.now();
    await admin.request(37, 3, {
      topics: [{ name: topic, count: 4, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const grownAt = performance.now();
    const grownEach = await untilVisible(connections, topic, 4, grownAt);
    samples.createAnswer.push(createdAt - createSentAt);
    samples.created.push(Math.max(...createdEach.map((seen) => seen.ms)));
    samples.growAnswer.push(grownAt - growSentAt);
    samples.grown.push(Math.max(...grownEach.map((seen) => seen.ms)));
    staleFirst += [...createdEach, ...grownEach].filter((seen) => seen.stale > 0).length;
    console.log(
      `run ${run}: CreateTopics answered in ${(createdAt - createSentAt).toFixed(1)} ms, visible on brokers 1, 2, 3 ${each(createdEach)} after; CreatePartitions answered in ${(grownAt - growSentAt).toFixed(1)} ms, visible ${each(grownEach)} after`,
    );
  }
  summary('CreateTopics request -> answer (broker 1)', samples.createAnswer);
  summary('CreateTopics answer -> every broker shows it', samples.created);
  summary('CreatePartitions request -> answer (broker 1)', samples.growAnswer);
  summary('CreatePartitions answer -> every broker shows it', samples.grown);
  console.log(
    `a broker's first Metadata after the answer showed the old state: ${staleFirst} of ${runs * 2 * 3} (runs x 2 steps x 3 brokers)`,
  );
  for (const connection of connections) connection.close();
} finally {
  await cluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
