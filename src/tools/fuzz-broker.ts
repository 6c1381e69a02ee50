/**
 * A seeded, time-bounded fuzzer for a running broker, run as its own process:
 *   node src/tools/fuzz-broker.ts --bootstrap-server HOST:PORT [--seed N] [--seconds S]
 * It encodes valid requests (ApiVersions, Metadata, Produce, Fetch, ListOffsets,
 * CreateTopics, DescribeConfigs) at random advertised versions, mutates them (flipped
 * bytes, truncation, junk, wrong sizes, wrong versions), sends them, and between rounds
 * checks that a fresh client is still served and that a record written at the start is
 * still readable. Exit 0 when the broker survived, 1 otherwise; the seed replays a run.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { decodeResponse, encodeRequest } from '../protocol/index.ts';
import { encodeRecordBatch } from '../records/index.ts';

/** mulberry32: a small seeded PRNG, so a failing seed replays exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPIC = 'fuzz-target';

interface Template {
  readonly apiKey: number;
  readonly versions: readonly [number, number];
  body(batch: Uint8Array): Record<string, unknown>;
}

const TEMPLATES: readonly Template[] = [
  { apiKey: 18, versions: [0, 4], body: () => ({ clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }) },
  {
    apiKey: 3,
    versions: [0, 12],
    body: () => ({
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: TOPIC }],
      allowAutoTopicCreation: false,
    }),
  },
  {
    apiKey: 0,
    versions: [3, 11],
    body: (batch) => ({
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
    }),
  },
  {
    apiKey: 1,
    versions: [4, 12],
    body: () => ({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 16 }] }],
    }),
  },
  {
    apiKey: 2,
    versions: [1, 9],
    body: () => ({
      replicaId: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    }),
  },
  {
    apiKey: 19,
    versions: [0, 7],
    body: () => ({
      topics: [
        { name: 'fuzz-created', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 1000,
      validateOnly: true,
    }),
  },
  {
    apiKey: 32,
    versions: [0, 4],
    body: () => ({ resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }] }),
  },
];

function mutate(bytes: Uint8Array, random: () => number): Buffer {
  const out = Buffer.from(bytes);
  const kind = Math.floor(random() * 6);
  if (kind === 0) {
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips; i++) {
      const at = 4 + Math.floor(random() * Math.max(1, out.length - 4));
      if (at < out.length) out[at] = Math.floor(random() * 256);
    }
    return out;
  }
  if (kind === 1) {
    // Truncate the body, keeping the size prefix consistent.
    const keep = 4 + Math.floor(random() * (out.length - 4));
    const cut = out.subarray(0, keep);
    cut.writeInt32BE(keep - 4, 0);
    return cut;
  }
  if (kind === 2) {
    const junk = Buffer.alloc(1 + Math.floor(random() * 64));
    for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(random() * 256);
    const grown = Buffer.concat([out, junk]);
    grown.writeInt32BE(grown.length - 4, 0);
    return grown;
  }
  if (kind === 3) {
    out.writeInt16BE(Math.floor(random() * 40) - 5, 6);
    return out;
  }
  if (kind === 4) {
    // An unknown or random API key.
    out.writeInt16BE(Math.floor(random() * 200) - 10, 4);
    return out;
  }
  return out;
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One request on a fresh connection; resolves with the response frame. */
async function roundTrip(host: string, port: number, request: Uint8Array, timeoutMs = 5000): Promise<Buffer> {
  const socket = await connect(host, port);
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffer.subarray(4, 4 + buffer.readInt32BE(0)));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(request);
  });
}

function header(apiKey: number, apiVersion: number, correlationId: number) {
  return { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'kstack-fuzz' };
}

export interface FuzzReport {
  readonly seed: number;
  readonly sent: number;
  readonly closedConnections: number;
  readonly healthChecks: number;
}

export async function fuzz(host: string, port: number, seed: number, seconds: number): Promise<FuzzReport> {
  const random = seededRandom(seed);
  const batch = await encodeRecordBatch({
    records: [{ key: Buffer.from('fuzz'), value: Buffer.from('canary'), timestamp: Date.now() }],
  });
  // A canary record and the topic, written before the fuzzing starts.
  const created = await roundTrip(
    host,
    port,
    encodeRequest(header(19, 4, 1), {
      topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    }),
  );
  decodeResponse(19, 4, created);
  await roundTrip(host, port, encodeRequest(header(0, 7, 2), TEMPLATES[2]!.body(Buffer.from(batch))));
  const deadline = Date.now() + seconds * 1000;
  let sent = 0;
  let closedConnections = 0;
  let healthChecks = 0;
  let socket = await connect(host, port);
  socket.on('error', () => {});
  while (Date.now() < deadline) {
    for (let i = 0; i < 50; i++) {
      const template = TEMPLATES[Math.floor(random() * TEMPLATES.length)]!;
      const [min, max] = template.versions;
      const version = min + Math.floor(random() * (max - min + 1));
      const valid = encodeRequest(header(template.apiKey, version, sent), template.body(Buffer.from(batch)));
      const bytes = random() < 0.25 ? Buffer.from(valid) : mutate(valid, random);
      if (socket.destroyed || socket.writableEnded) {
        closedConnections++;
        socket = await connect(host, port);
        socket.on('error', () => {});
      }
      socket.write(bytes);
      sent++;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    await healthCheck(host, port, sent);
    healthChecks++;
  }
  socket.destroy();
  return { seed, sent, closedConnections, healthChecks };
}

/** A fresh client is served, and the canary record is still at offset 0. */
async function healthCheck(host: string, port: number, round: number): Promise<void> {
  const versions = await roundTrip(
    host,
    port,
    encodeRequest(header(18, 3, round), TEMPLATES[0]!.body(new Uint8Array())),
  );
  if (decodeResponse(18, 3, versions).body.errorCode !== 0) throw new Error('ApiVersions failed');
  const fetched = await roundTrip(
    host,
    port,
    encodeRequest(header(1, 11, round), TEMPLATES[3]!.body(new Uint8Array())),
  );
  const body = decodeResponse(1, 11, fetched).body as {
    responses: { partitions: { errorCode: number; records: Uint8Array | null }[] }[];
  };
  const partition = body.responses[0]?.partitions[0];
  if (
    partition === undefined ||
    partition.errorCode !== 0 ||
    !Buffer.from(partition.records ?? []).includes('canary')
  ) {
    throw new Error('the canary record written before fuzzing is no longer readable');
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'bootstrap-server': { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      seconds: { type: 'string', default: '10' },
    },
  });
  const [host, portText] = (values['bootstrap-server'] ?? '').split(':');
  if (host === undefined || host === '' || portText === undefined) {
    process.stderr.write(
      'usage: node src/tools/fuzz-broker.ts --bootstrap-server HOST:PORT [--seed N] [--seconds S]\n',
    );
    return 2;
  }
  const seed = Number(values.seed);
  try {
    const report = await fuzz(host, Number(portText), seed, Number(values.seconds));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`fuzz seed ${seed}: the broker failed: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
