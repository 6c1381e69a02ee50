/**
 * Produce on three in-process brokers with a replicated topic (RF 3, min ISR 2): acks=all against
 * acks=1, throughput and per-request latency. A benchmark, not a test: it prints numbers.
 * Brokers and the producer share this process (one event loop), so the figures compare the
 * acks settings with each other, not with another broker. Ports 21110-21112.
 *
 *   node src/replication/bench.ts [--seconds 5] [--requests 2000] [--rounds 3] [--fsync]
 *
 * Each round runs acks=1 then acks=all on a fresh cluster each; the medians over rounds are printed
 * last (the shared machine's load moves single runs by 2-3×). `--fsync` also runs the rounds with
 * flushBeforeAcknowledge on.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker } from '../broker/broker.ts';
import { StubController } from '../broker/replica-controller-stub.ts';
import { decodeResponse, encodeRequest, uuidFromRandomBytes } from '../protocol/index.ts';
import { encodeRecordBatch } from '../records/codec.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 21110;
const PRODUCE_VERSION = 9;
/** Requests kept in flight by the throughput load. */
const IN_FLIGHT = 8;
const RECORDS_PER_REQUEST = 64;
const RECORD_BYTES = 1024;

class Producer {
  readonly #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #id = 0;
  readonly #waiting: ((errorCode: number) => void)[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 4 && this.#buffer.length >= 4 + this.#buffer.readInt32BE(0)) {
        const size = this.#buffer.readInt32BE(0);
        const frame = this.#buffer.subarray(4, 4 + size);
        this.#buffer = this.#buffer.subarray(4 + size);
        const { body } = decodeResponse(0, PRODUCE_VERSION, frame) as unknown as {
          body: { responses: { partitionResponses: { errorCode: number }[] }[] };
        };
        this.#waiting.shift()?.(body.responses[0]?.partitionResponses[0]?.errorCode ?? -1);
      }
    });
  }

  static connect(port: number): Promise<Producer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: HOST, port }, () => resolve(new Producer(socket)));
      socket.once('error', reject);
    });
  }

  send(topic: string, acks: number, batch: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#socket.write(
        encodeRequest(
          {
            requestApiKey: 0,
            requestApiVersion: PRODUCE_VERSION,
            correlationId: ++this.#id,
            clientId: 'bench',
          },
          {
            transactionalId: null,
            acks,
            timeoutMs: 30_000,
            // The broker rewrites offsets in place: each request gets its own copy.
            topicData: [{ name: topic, partitionData: [{ index: 0, records: Buffer.from(batch) }] }],
          },
        ),
      );
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function cluster(flushBeforeAcknowledge: boolean) {
  const root = mkdtempSync(join(tmpdir(), 'kstack-replication-bench-'));
  const topicId = uuidFromRandomBytes(randomBytes(16));
  const topic = 'bench';
  const stub = new StubController({
    brokerIds: [1, 2, 3],
    topics: [{ name: topic, topicId, partitions: 1, configs: { 'min.insync.replicas': '2' } }],
    sessionTimeoutMs: 9_000,
    tickMs: 100,
    nowMs: () => performance.now(),
  });
  const brokers: Broker[] = [];
  for (const id of [1, 2, 3]) {
    const broker = new Broker({
      dataDir: join(root, `b${id}`),
      host: HOST,
      port: BASE_PORT + id - 1,
      nodeId: id,
    });
    await broker.start();
    const brokerEpoch = stub.register(id, {
      host: HOST,
      port: broker.port,
      replay: (r) => broker.replayMetadata(r),
    });
    broker.startReplication({ brokerEpoch, controller: stub, flushBeforeAcknowledge });
    brokers.push(broker);
  }
  const deadline = performance.now() + 30_000;
  while (stub.partitionState(topicId, 0).isr.length < 3 || stub.partitionState(topicId, 0).leader < 0) {
    if (performance.now() > deadline) throw new Error('no leader with the full ISR in 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const leader = stub.partitionState(topicId, 0).leader;
  return {
    topic,
    leaderPort: BASE_PORT + leader - 1,
    async close() {
      for (const broker of brokers) await broker.stop();
      stub.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function run(acks: number, flushBeforeAcknowledge: boolean, seconds: number, requests: number) {
  const target = await cluster(flushBeforeAcknowledge);
  const producer = await Producer.connect(target.leaderPort);
  try {
    const value = Buffer.alloc(RECORD_BYTES, 120);
    const now = Date.now();
    const big = await encodeRecordBatch({
      records: Array.from({ length: RECORDS_PER_REQUEST }, () => ({ timestamp: now, key: null, value })),
    });
    const small = await encodeRecordBatch({
      records: [{ timestamp: now, key: null, value: Buffer.alloc(100, 120) }],
    });
    // Throughput: IN_FLIGHT requests of RECORDS_PER_REQUEST × 1 KiB kept in flight for `seconds`.
    let records = 0;
    let failures = 0;
    const start = performance.now();
    const end = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < end) {
          const errorCode = await producer.send(target.topic, acks, big);
          if (errorCode === 0) records += RECORDS_PER_REQUEST;
          else failures++;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    // Latency: one 100-byte record per request, one request at a time.
    const latencies: number[] = [];
    for (let i = 0; i < requests; i++) {
      const sent = performance.now();
      const errorCode = await producer.send(target.topic, acks, small);
      if (errorCode !== 0) failures++;
      latencies.push(performance.now() - sent);
    }
    latencies.sort((a, b) => a - b);
    return {
      acks: acks === -1 ? 'all' : String(acks),
      flushBeforeAcknowledge,
      recordsPerSecond: Math.round(records / elapsed),
      megabytesPerSecond: Number(((records * RECORD_BYTES) / elapsed / 1e6).toFixed(1)),
      latencyMsP50: Number(percentile(latencies, 50).toFixed(2)),
      latencyMsP99: Number(percentile(latencies, 99).toFixed(2)),
      latencyMsMax: Number((latencies.at(-1) ?? Number.NaN).toFixed(2)),
      failures,
    };
  } finally {
    producer.close();
    await target.close();
  }
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    fsync: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const requests = Number(values.requests);
const rows: Awaited<ReturnType<typeof run>>[] = [];
for (const flush of values.fsync ? [false, true] : [false]) {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const acks of [1, -1]) rows.push(await run(acks, flush, seconds, requests));
  }
}
console.table(rows);
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const medians = [];
for (const flush of values.fsync ? [false, true] : [false]) {
  for (const acks of ['1', 'all']) {
    const group = rows.filter((r) => r.acks === acks && r.flushBeforeAcknowledge === flush);
    medians.push({
      acks,
      flushBeforeAcknowledge: flush,
      rounds: group.length,
      recordsPerSecond: median(group.map((r) => r.recordsPerSecond)),
      latencyMsP50: median(group.map((r) => r.latencyMsP50)),
      latencyMsP99: median(group.map((r) => r.latencyMsP99)),
    });
  }
}
console.log('medians over rounds');
console.table(medians);
