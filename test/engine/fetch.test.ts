/**
 * Fetch over the wire against `kstack up`: long polling (max_wait_ms, min_bytes, woken by
 * a produce), incremental sessions (KIP-227), OFFSET_OUT_OF_RANGE, whole batches.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess, connect, FrameReader } from './broker-process.ts';

const PORT = 19650;
const TOPIC = 'fetch-tests';
const broker = new BrokerProcess(PORT);
let socket: net.Socket;
let reader: FrameReader;
let correlationId = 0;

type FetchAnswer = {
  errorCode: number;
  sessionId: number;
  responses: {
    topic: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      highWatermark: bigint;
      records: Uint8Array | null;
    }[];
  }[];
};

async function call(
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const id = ++correlationId;
  socket.write(
    encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 't' },
      body,
    ),
  );
  const [frame] = await reader.next(1, 15_000);
  const decoded = decodeResponse(apiKey, version, frame!);
  assert.equal(decoded.correlationId, id);
  return decoded.body;
}

async function produce(values: string[]): Promise<void> {
  const now = Date.now();
  const batch = await encodeRecordBatch({
    records: values.map((value) => ({ key: null, value: Buffer.from(value), timestamp: now })),
  });
  const answer = (await call(0, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
  })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
  assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, 0);
}

function fetchBody(offset: bigint, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] },
    ],
    ...extra,
  };
}

describe('Fetch against kstack up', { timeout: 120_000 }, () => {
  before(async () => {
    await broker.start();
    socket = await connect(PORT);
    reader = new FrameReader(socket);
    await call(19, 4, {
      topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    await produce(['a', 'b', 'c']);
  });
  after(async () => {
    socket.destroy();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('returns the whole batch when fetching from inside it', async () => {
    const answer = (await call(1, 11, fetchBody(1n))) as FetchAnswer;
    const partition = answer.responses[0]!.partitions[0]!;
    assert.equal(partition.errorCode, 0);
    assert.equal(partition.highWatermark, 3n);
    const records = Buffer.from(partition.records!);
    assert.equal(records.readBigInt64BE(0), 0n, 'the batch starts at offset 0');
  });

  it('answers OFFSET_OUT_OF_RANGE past the log end', async () => {
    const answer = (await call(1, 11, fetchBody(10n))) as FetchAnswer;
    assert.equal(answer.responses[0]!.partitions[0]!.errorCode, 1);
  });

  it('waits max_wait_ms when min_bytes are not there', async () => {
    const started = Date.now();
    const answer = (await call(1, 11, fetchBody(3n, { maxWaitMs: 400, minBytes: 1 }))) as FetchAnswer;
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs >= 350, `waited ${elapsedMs} ms`);
    assert.equal(answer.responses[0]!.partitions[0]!.records!.length, 0);
  });

  it('is woken by a produce before max_wait_ms', async () => {
    const producer = await connect(PORT);
    const producerReader = new FrameReader(producer);
    const started = Date.now();
    // A long wait keeps "woken by the produce" (seconds at most, even on a loaded machine) apart
    // from "answered at the deadline" (a minute).
    const waiting = call(1, 11, fetchBody(3n, { maxWaitMs: 60_000, minBytes: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const batch = await encodeRecordBatch({
      records: [{ key: null, value: Buffer.from('d'), timestamp: Date.now() }],
    });
    producer.write(
      encodeRequest(
        { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: 'p' },
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
        },
      ),
    );
    await producerReader.next(1);
    producer.destroy();
    const answer = (await waiting) as FetchAnswer;
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs < 30_000, `answered after ${elapsedMs} ms`);
    assert.ok(answer.responses[0]!.partitions[0]!.records!.length > 0);
  });

  it('opens an incremental session and answers only partitions with news', async () => {
    const opened = (await call(1, 11, fetchBody(0n, { sessionEpoch: 0 }))) as FetchAnswer;
    assert.ok(opened.sessionId > 0);
    assert.equal(opened.responses[0]!.partitions.length, 1);
    const highWatermark = opened.responses[0]!.partitions[0]!.highWatermark;
    // The client moves its position to the end: nothing new there, so the answer names no partition.
    const quiet = (await call(
      1,
      11,
      fetchBody(highWatermark, { sessionId: opened.sessionId, sessionEpoch: 1, maxWaitMs: 100, minBytes: 1 }),
    )) as FetchAnswer;
    assert.equal(quiet.errorCode, 0);
    assert.equal(quiet.sessionId, opened.sessionId);
    assert.equal(quiet.responses.length, 0);
    await produce(['e']);
    const news = (await call(1, 11, {
      ...fetchBody(0n, { sessionId: opened.sessionId, sessionEpoch: 2 }),
      topics: [],
    })) as FetchAnswer;
    assert.equal(news.responses[0]!.partitions[0]!.highWatermark, highWatermark + 1n);
    assert.ok(news.responses[0]!.partitions[0]!.records!.length > 0);
    const stale = (await call(1, 11, {
      ...fetchBody(0n, { sessionId: opened.sessionId, sessionEpoch: 1 }),
      topics: [],
    })) as FetchAnswer;
    assert.equal(stale.errorCode, 71, 'INVALID_FETCH_SESSION_EPOCH');
  });
});
