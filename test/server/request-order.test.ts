/**
 * A connection's requests are served one at a time, as Kafka does (its channel is muted from a
 * request's arrival until its answer is sent): a request written right behind another on the same
 * connection sees everything the first one did. On a real socket to an in-process broker, each pair
 * is written in one write (pipelined) and the second answer must show the first request's effect:
 * an OffsetFetch after an OffsetCommit of N answers N (kstack answered N-1 while it ran them side by
 * side), Metadata after CreateTopics lists the topic, ListOffsets after a Produce gives the new end,
 * a Fetch after a Produce returns its records.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { decodeResponse, encodeRequest, type MessageValue } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { connect, FrameReader } from '../engine/broker-process.ts';

const PORT = 27600;
const TOPIC = 'request-order';
const GROUP = 'request-order-group';
/** Commit-then-fetch pairs written pipelined; every one must read its own commit. */
const COMMIT_ROUNDS = 100;
/** A bound on a broker that answers at once on a quiet machine; generous for a loaded one. */
const ANSWER_TIMEOUT_MS = 30_000;

interface Call {
  readonly apiKey: number;
  readonly version: number;
  readonly body: MessageValue;
}

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-request-order-'));
const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT });
let socket: net.Socket;
let reader: FrameReader;
let correlationId = 0;

/** Writes every call in one write (pipelined) and resolves with their decoded answers, in order. */
async function pipelined(calls: readonly Call[]): Promise<Record<string, unknown>[]> {
  const ids = calls.map(() => ++correlationId);
  const frames = calls.map(({ apiKey, version, body }, i) =>
    encodeRequest(
      { requestApiKey: apiKey, requestApiVersion: version, correlationId: ids[i]!, clientId: 't' },
      body,
    ),
  );
  socket.write(Buffer.concat(frames));
  const answers = await reader.next(calls.length, ANSWER_TIMEOUT_MS);
  return answers.map((frame, i) => {
    const decoded = decodeResponse(calls[i]!.apiKey, calls[i]!.version, frame);
    assert.equal(decoded.correlationId, ids[i]);
    return decoded.body as Record<string, unknown>;
  });
}

const commit = (offset: bigint): Call => ({
  apiKey: 8,
  version: 8,
  body: {
    groupId: GROUP,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: TOPIC,
        partitions: [
          { partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' },
        ],
      },
    ],
  },
});

const findCoordinator: Call = { apiKey: 10, version: 3, body: { key: GROUP, keyType: 0 } };

const fetchOffset: Call = {
  apiKey: 9,
  version: 7,
  body: { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0] }], requireStable: false },
};

function produce(topic: string, records: Uint8Array): Call {
  return {
    apiKey: 0,
    version: 9,
    body: {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
  };
}

type CommitAnswer = { topics: { partitions: { errorCode: number }[] }[] };
type OffsetFetchAnswer = {
  errorCode: number;
  topics: { partitions: { committedOffset: bigint; errorCode: number }[] }[];
};

describe('one request of a connection at a time', { timeout: 300_000 }, () => {
  before(async () => {
    await broker.start();
    socket = await connect(PORT);
    reader = new FrameReader(socket);
    const [created] = await pipelined([
      {
        apiKey: 19,
        version: 7,
        body: {
          topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
          timeoutMs: 5000,
          validateOnly: false,
        },
      },
    ]);
    assert.equal((created as { topics: { errorCode: number }[] }).topics[0]!.errorCode, 0);
  });
  after(async () => {
    socket?.destroy();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`an OffsetFetch written with an OffsetCommit of N reads N (${COMMIT_ROUNDS} rounds)`, async () => {
    // FindCoordinator creates __consumer_offsets, as Kafka does; its partition may still be
    // loading: wait (bounded) until a commit is taken.
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const [, answer] = await pipelined([findCoordinator, commit(0n)]);
      const code = (answer as CommitAnswer).topics[0]!.partitions[0]!.errorCode;
      if (code === 0) break;
      assert.ok([14, 15, 16].includes(code), `OffsetCommit error ${code} is not a coordinator-loading one`);
      assert.ok(
        Date.now() < deadline,
        `the group coordinator still answers ${code} after ${ANSWER_TIMEOUT_MS} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stale: bigint[] = [];
    for (let round = 1; round <= COMMIT_ROUNDS; round++) {
      const [committed, fetched] = await pipelined([commit(BigInt(round)), fetchOffset]);
      assert.equal((committed as CommitAnswer).topics[0]!.partitions[0]!.errorCode, 0);
      const answer = fetched as OffsetFetchAnswer;
      assert.equal(answer.errorCode, 0);
      const partition = answer.topics[0]!.partitions[0]!;
      assert.equal(partition.errorCode, 0);
      if (partition.committedOffset !== BigInt(round)) stale.push(partition.committedOffset);
    }
    assert.deepEqual(
      stale,
      [],
      `${stale.length} of ${COMMIT_ROUNDS} fetches did not read the commit written before them`,
    );
  });

  it('Metadata after CreateTopics, ListOffsets and Fetch after Produce, all in one write', async () => {
    const topic = `${TOPIC}-mix`;
    const records = await encodeRecordBatch({
      records: [0, 1, 2].map((i) => ({ key: null, value: Buffer.from(`r${i}`), timestamp: Date.now() })),
    });
    const answers = await pipelined([
      {
        apiKey: 19,
        version: 7,
        body: {
          topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
          timeoutMs: 5000,
          validateOnly: false,
        },
      },
      {
        apiKey: 3,
        version: 12,
        body: {
          topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        },
      },
      produce(topic, records),
      {
        apiKey: 2,
        version: 7,
        body: {
          replicaId: -1,
          isolationLevel: 0,
          topics: [
            { name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
          ],
        },
      },
      {
        apiKey: 1,
        version: 12,
        body: {
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic,
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0n,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1n,
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
      },
    ]);
    const [created, metadata, produced, offsets, fetched] = answers as [
      { topics: { errorCode: number }[] },
      { topics: { name: string; errorCode: number; partitions: unknown[] }[] },
      { responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[] },
      { topics: { partitions: { errorCode: number; offset: bigint }[] }[] },
      {
        responses: {
          partitions: { errorCode: number; highWatermark: bigint; records: Uint8Array | null }[];
        }[];
      },
    ];
    assert.equal(created.topics[0]!.errorCode, 0);
    assert.equal(metadata.topics[0]!.errorCode, 0, 'Metadata written after CreateTopics lists the topic');
    assert.equal(metadata.topics[0]!.partitions.length, 1);
    assert.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, 0);
    assert.equal(offsets.topics[0]!.partitions[0]!.errorCode, 0);
    assert.equal(
      offsets.topics[0]!.partitions[0]!.offset,
      3n,
      'ListOffsets written after Produce sees its end',
    );
    const partition = fetched.responses[0]!.partitions[0]!;
    assert.equal(partition.errorCode, 0);
    assert.equal(partition.highWatermark, 3n);
    assert.ok((partition.records?.length ?? 0) > 0, 'Fetch written after Produce returns its records');
  });
});
