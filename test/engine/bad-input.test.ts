/**
 * Bad input against a real broker process: each gets the right error or a closed
 * connection, another client keeps being served, and what was written stays readable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess, closedWithin, connect, FrameReader } from './broker-process.ts';

const PORT = 19620;
const broker = new BrokerProcess(PORT);

function request(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: Record<string, unknown>,
): Uint8Array {
  return encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'bad-input-test' },
    body,
  );
}

/** A healthy client: ApiVersions v3 answered with the full list. */
async function healthyRoundTrip(): Promise<void> {
  const socket = await connect(PORT);
  const reader = new FrameReader(socket);
  socket.write(request(18, 3, 7, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
  const [frame] = await reader.next(1);
  const { correlationId, body } = decodeResponse(18, 3, frame!);
  assert.equal(correlationId, 7);
  assert.equal(body.errorCode, 0);
  assert.ok((body.apiKeys as unknown[]).length >= 15);
  socket.destroy();
}

async function expectClosed(payload: Buffer | Uint8Array, what: string): Promise<void> {
  const socket = await connect(PORT);
  socket.on('error', () => {});
  socket.write(payload);
  assert.equal(await closedWithin(socket, 5000), true, `${what}: connection should be closed`);
  socket.destroy();
  await healthyRoundTrip();
}

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

describe('bad input against kstack up', { timeout: 120_000 }, () => {
  before(async () => {
    await broker.start();
  });
  after(async () => {
    const code = await broker.stop();
    assert.equal(code, 0, broker.output);
    broker.removeData();
  });

  it('serves a healthy client', healthyRoundTrip);

  it('closes on random bytes (seeded)', async () => {
    let seed = 12345;
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      random[i] = seed & 0xff;
    }
    // The first 4 bytes form a size far over the limit or negative: closed.
    random.writeInt32BE(0x7fff0000, 0);
    await expectClosed(random, 'random bytes');
  });

  it('closes on a frame over socket.request.max.bytes', async () => {
    const header = Buffer.alloc(4);
    header.writeInt32BE(104_857_600 + 1);
    await expectClosed(header, 'oversized frame');
  });

  it('closes on a negative length', async () => {
    const header = Buffer.alloc(4);
    header.writeInt32BE(-5);
    await expectClosed(header, 'negative length');
  });

  it('closes on a truncated request', async () => {
    const full = Buffer.from(
      request(3, 12, 1, { topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'x' }] }),
    );
    const body = full.subarray(4, full.length - 6);
    await expectClosed(frame(body), 'truncated request');
  });

  it('closes on an unknown API key', async () => {
    const body = Buffer.alloc(12);
    body.writeInt16BE(9999, 0);
    body.writeInt16BE(0, 2);
    body.writeInt32BE(1, 4);
    body.writeInt16BE(-1, 8);
    await expectClosed(frame(body), 'unknown API key');
  });

  it('answers ApiVersions of an unknown version with v0, UNSUPPORTED_VERSION and the full list', async () => {
    const socket = await connect(PORT);
    const reader = new FrameReader(socket);
    const body = Buffer.alloc(14);
    body.writeInt16BE(18, 0);
    body.writeInt16BE(99, 2);
    body.writeInt32BE(42, 4);
    body.writeInt16BE(-1, 8);
    socket.write(frame(body));
    const [answer] = await reader.next(1);
    const { correlationId, body: decoded } = decodeResponse(18, 0, answer!);
    assert.equal(correlationId, 42);
    assert.equal(decoded.errorCode, 35);
    const keys = (decoded.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[]).map(
      (k) => k.apiKey,
    );
    for (const key of [0, 1, 2, 3, 18, 19, 20]) assert.ok(keys.includes(key), `API key ${key} advertised`);
    socket.destroy();
  });

  it('answers a bad-CRC batch with CORRUPT_MESSAGE and keeps earlier data', async () => {
    const socket = await connect(PORT);
    const reader = new FrameReader(socket);
    socket.write(
      request(19, 4, 1, {
        topics: [{ name: 'bad-crc', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      }),
    );
    await reader.next(1);
    const good = await encodeRecordBatch({
      records: [{ key: Buffer.from('k'), value: Buffer.from('good'), timestamp: Date.now() }],
    });
    const bad = Buffer.from(good);
    bad[bad.length - 1] = (bad[bad.length - 1]! + 1) & 0xff;
    const produce = (records: Uint8Array, id: number) =>
      request(0, 7, id, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'bad-crc', partitionData: [{ index: 0, records }] }],
      });
    socket.write(produce(good, 2));
    socket.write(produce(bad, 3));
    const [first, second] = await reader.next(2);
    const ok = decodeResponse(0, 7, first!).body as {
      responses: { partitionResponses: { errorCode: number }[] }[];
    };
    const corrupt = decodeResponse(0, 7, second!).body as typeof ok;
    assert.equal(ok.responses[0]!.partitionResponses[0]!.errorCode, 0);
    assert.equal(corrupt.responses[0]!.partitionResponses[0]!.errorCode, 2);
    socket.write(
      request(2, 2, 4, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'bad-crc', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
      }),
    );
    const [offsets] = await reader.next(1);
    const listed = decodeResponse(2, 2, offsets!).body as { topics: { partitions: { offset: bigint }[] }[] };
    assert.equal(listed.topics[0]!.partitions[0]!.offset, 1n);
    socket.destroy();
    await healthyRoundTrip();
  });

  it('keeps serving a client while another sends garbage', async () => {
    const attackers = await Promise.all(Array.from({ length: 5 }, () => connect(PORT)));
    for (const socket of attackers) {
      socket.on('error', () => {});
      socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    }
    await healthyRoundTrip();
    for (const socket of attackers) assert.equal(await closedWithin(socket, 5000), true);
  });

  it('refuses more than 10,000 new partitions in one request with POLICY_VIOLATION (fuzz finding F5)', async () => {
    const socket = await connect(PORT);
    const reader = new FrameReader(socket);
    const topics = [
      { name: 'f5-huge', numPartitions: 2 ** 31 - 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'f5-small', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ];
    socket.write(request(19, 5, 31, { topics, timeoutMs: 5000, validateOnly: false }));
    const [created] = await reader.next(1);
    const createdBody = decodeResponse(19, 5, created!).body as {
      topics: { name: string; errorCode: number; errorMessage: string | null }[];
    };
    // Kafka fails every topic of the request, not only the large one.
    for (const topic of createdBody.topics) {
      assert.equal(topic.errorCode, 44, `${topic.name}: POLICY_VIOLATION`);
      assert.match(topic.errorMessage ?? '', /Excessively large number of partitions/);
    }
    socket.write(
      request(37, 0, 32, {
        topics: [{ name: 'bad-crc', count: 100_000, assignments: null }],
        timeoutMs: 5000,
      }),
    );
    const [grown] = await reader.next(1);
    const grownBody = decodeResponse(37, 0, grown!).body as { results: { errorCode: number }[] };
    assert.equal(grownBody.results[0]!.errorCode, 44);
    socket.destroy();
    await healthyRoundTrip();
  });
});
