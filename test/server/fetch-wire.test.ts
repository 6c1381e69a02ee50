/**
 * Fetch answers leave `kstack up` as several buffers (the encoded fields and the log's
 * record reads, written corked): over the wire they must be the very bytes the
 * single-buffer encoding gives, for classic and flexible versions, large and small
 * records, pipelined with other requests and in request order.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FETCH_ZERO_COPY_MIN_BYTES } from '../../src/broker/dispatcher.ts';
import { decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess, connect, FrameReader } from '../engine/broker-process.ts';

const PORT = 19530;
const TOPIC = 'fetch-wire';
const broker = new BrokerProcess(PORT);
let socket: net.Socket;
let reader: FrameReader;
let correlationId = 0;
let topicId = '';

function send(apiKey: number, version: number, body: Record<string, unknown>): number {
  const id = ++correlationId;
  socket.write(
    encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: id, clientId: 't' },
      body,
    ),
  );
  return id;
}

async function call(apiKey: number, version: number, body: Record<string, unknown>) {
  const id = send(apiKey, version, body);
  const [frame] = await reader.next(1, 15_000);
  const decoded = decodeResponse(apiKey, version, frame!);
  assert.equal(decoded.correlationId, id);
  return decoded.body;
}

/** One batch of `count` records of `bytes` bytes each (value = partition, batch and index). */
async function batchOf(partition: number, batch: number, count: number, bytes: number): Promise<Uint8Array> {
  const now = Date.now();
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => {
      const value = Buffer.alloc(bytes, 0x61 + ((partition + batch + i) % 26));
      value.write(`${partition}/${batch}/${i}`);
      return { key: null, value, timestamp: now };
    }),
  });
}

function fetchBody(version: number, maxBytes: number): Record<string, unknown> {
  const partitions = [0, 1].map((partition) => ({
    partition,
    fetchOffset: 0n,
    partitionMaxBytes: maxBytes,
    currentLeaderEpoch: -1,
    logStartOffset: -1n,
    lastFetchedEpoch: -1,
  }));
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: version >= 13 ? '' : TOPIC, topicId, partitions }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

describe('Fetch answers written from several buffers', { timeout: 120_000 }, () => {
  const produced: Uint8Array[][] = [[], []];
  before(async () => {
    await broker.start();
    socket = await connect(PORT);
    reader = new FrameReader(socket);
    const created = (await call(19, 7, {
      topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })) as { topics: { errorCode: number; topicId: string }[] };
    assert.equal(created.topics[0]!.errorCode, 0);
    topicId = created.topics[0]!.topicId;
    // Partition 0: batches of ~40 KiB (referenced on fetch); partition 1: ~2 KiB (copied).
    for (let batch = 0; batch < 3; batch++) {
      for (const [partition, count, bytes] of [
        [0, 40, 1000],
        [1, 2, 1000],
      ] as const) {
        const records = await batchOf(partition, batch, count, bytes);
        produced[partition]!.push(records);
        const answer = (await call(0, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }],
        })) as { responses: { partitionResponses: { errorCode: number }[] }[] };
        assert.equal(answer.responses[0]!.partitionResponses[0]!.errorCode, 0);
      }
    }
    assert.ok(produced[0]![0]!.length >= FETCH_ZERO_COPY_MIN_BYTES, 'partition 0 batches are referenced');
    assert.ok(produced[1]![0]!.length < FETCH_ZERO_COPY_MIN_BYTES, 'partition 1 batches are copied');
  });
  after(async () => {
    socket.destroy();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  for (const version of [4, 11, 12, 17]) {
    it(`v${version}: the bytes received are the single-buffer encoding of what they decode to`, async () => {
      // Pipelined: a fetch, an ApiVersions, a fetch limited to one batch; answered in order.
      const first = send(1, version, fetchBody(version, 1 << 20));
      const second = send(18, 0, {});
      const third = send(1, version, fetchBody(version, 1));
      const frames = await reader.next(3, 15_000);
      const [whole, versions, limited] = frames as [Buffer, Buffer, Buffer];
      assert.equal(versions.readInt32BE(0), second);
      for (const [frame, id] of [
        [whole, first],
        [limited, third],
      ] as const) {
        const decoded = decodeResponse(1, version, frame);
        assert.equal(decoded.correlationId, id);
        const single = encodeResponse(1, version, id, decoded.body);
        assert.deepEqual(Buffer.from(frame), Buffer.from(single.subarray(4)), `fetch ${id}`);
      }
      type Answer = { responses: { partitions: { partitionIndex: number; records: Uint8Array | null }[] }[] };
      const all = (decodeResponse(1, version, whole).body as Answer).responses[0]!.partitions;
      for (const { partitionIndex, records } of all) {
        // Stored batches differ from the produced ones only before the CRC-covered part (base offset,
        // leader epoch, CRC unchanged): lengths add up and from the attributes (byte 21) on they are equal.
        const sent = produced[partitionIndex]!;
        assert.equal(
          records?.length,
          sent.reduce((sum, b) => sum + b.length, 0),
        );
        let at = 0;
        for (const batch of sent) {
          const stored = records!.subarray(at, at + batch.length);
          assert.deepEqual(Buffer.from(stored.subarray(21)), Buffer.from(batch.subarray(21)));
          at += batch.length;
        }
      }
      // maxBytes 1: the first batch of the first partition only (KIP-74), nothing of the second.
      const one = (decodeResponse(1, version, limited).body as Answer).responses[0]!.partitions;
      assert.equal(one[0]!.records?.length, produced[0]![0]!.length);
      assert.equal(one[1]!.records?.length ?? 0, 0);
    });
  }
});
