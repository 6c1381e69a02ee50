/**
 * The follower's fetcher asks for every partition it follows on a leader in the same Fetch, again
 * right after the leader's answer (Kafka's ReplicaFetcherThread). The transaction coordinator
 * depends on it: each `__transaction_state` write and each marker waits for the ISR (acks=all), so
 * a partition left out of the Fetch that long-polls the leader catches up only when that Fetch ends
 * (replica.fetch.wait.max.ms, 500 ms): on three nodes a transaction state write took 500 ms about
 * half the time, and a transaction about a second per step. Here the leader is a scripted peer on
 * a real socket (the project's own Fetch v17 codec): it answers the first Fetch of two partitions
 * at once, then holds the next one as a leader with nothing new does; the test checks that this
 * held Fetch carries both partitions (the old fetcher sent the first re-asking partition alone and
 * queued the other behind it). No timing is measured.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { type FetcherPartition, ReplicaFetcher } from '../../src/broker/replica-fetcher.ts';
import { REPLICATION_DEFAULTS } from '../../src/broker/replica-manager.ts';
import { decodeRequest, encodeResponse, type FetchRequestData } from '../../src/protocol/index.ts';
import type { FetchRequest } from '../../src/replication/types.ts';

const HOST = '127.0.0.1';
const FETCH_API_KEY = 1;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 30_000;
/** A topic id (16 bytes, unpadded base64url) for the two followed partitions. */
const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const PLACES: readonly FetcherPartition[] = [0, 1].map((partition) => ({
  key: `t-${partition}`,
  topicId: TOPIC_ID,
  partition,
}));

interface SeenFetch {
  readonly correlationId: number;
  readonly partitions: number[];
}

/** A leader on a real socket: records each Fetch's partitions; answers the first only. */
function scriptedLeader(): { server: net.Server; fetches: SeenFetch[]; sockets: net.Socket[] } {
  const fetches: SeenFetch[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const size = buffered.readInt32BE(0);
        const { header, body } = decodeRequest(buffered.subarray(4, 4 + size));
        buffered = buffered.subarray(4 + size);
        assert.equal(header.requestApiKey, FETCH_API_KEY, 'the fetcher sends Fetch only (no login here)');
        const request = body as unknown as FetchRequestData;
        const partitions = request.topics.flatMap((t) => t.partitions.map((p) => p.partition)).sort();
        fetches.push({ correlationId: header.correlationId, partitions });
        // Later Fetches are held: a leader with nothing new long-polls them.
        if (fetches.length > 1) continue;
        const answer = encodeResponse(FETCH_API_KEY, header.requestApiVersion, header.correlationId, {
          throttleTimeMs: 0,
          errorCode: 0,
          sessionId: 0,
          responses: request.topics.map((t) => ({
            topicId: t.topicId,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partition,
              errorCode: 0,
              highWatermark: 0n,
              lastStableOffset: 0n,
              logStartOffset: 0n,
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            })),
          })),
        } as never);
        socket.write(answer);
      }
    });
    socket.on('error', () => {});
  });
  return { server, fetches, sockets };
}

function fetchOf(partition: number, correlationId: number): FetchRequest {
  return {
    type: 'fetch',
    partition,
    replicaId: 2,
    replicaEpoch: 1,
    currentLeaderEpoch: 0,
    fetchOffset: 0,
    lastFetchedEpoch: -1,
    correlationId,
  };
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const leader = scriptedLeader();
let fetcher: ReplicaFetcher | undefined;

after(async () => {
  fetcher?.close();
  for (const socket of leader.sockets) socket.destroy();
  await new Promise((resolve) => leader.server.close(resolve));
});

test('after an answer, the partitions that ask again from their delivery go in one Fetch', async () => {
  await new Promise<void>((resolve) => leader.server.listen(0, HOST, resolve));
  const { port } = leader.server.address() as net.AddressInfo;
  let correlationId = 0;
  const delivered: string[] = [];
  const replica = new ReplicaFetcher({
    nodeId: 2,
    leaderId: 1,
    resolve: () => ({ host: HOST, port }),
    fetchWaitMaxMs: REPLICATION_DEFAULTS.fetchWaitMaxMs,
    fetchMaxBytes: REPLICATION_DEFAULTS.fetchMaxBytes,
    fetchResponseMaxBytes: REPLICATION_DEFAULTS.fetchResponseMaxBytes,
    // As the replication cores do: each answer makes its partition ask again at once.
    deliver: (key, response) => {
      delivered.push(`${key}:${response.errorCode}`);
      const place = PLACES.find((p) => p.key === key);
      assert.ok(place !== undefined, `an answer for a followed partition, not ${key}`);
      replica.enqueue(place, fetchOf(place.partition, ++correlationId));
    },
    log: { warn: (message) => assert.fail(`the fetcher warned: ${message}`) },
  });
  fetcher = replica;
  for (const place of PLACES) replica.enqueue(place, fetchOf(place.partition, ++correlationId));
  await waitFor('the fetcher to ask again after the first answer', () => leader.fetches.length >= 2);
  assert.deepEqual(leader.fetches[0]?.partitions, [0, 1], 'the first Fetch carries both partitions');
  assert.deepEqual(delivered, ['t-0:0', 't-1:0'], 'both answers delivered, without error');
  assert.deepEqual(
    leader.fetches[1]?.partitions,
    [0, 1],
    'the Fetch the leader holds carries both partitions: an append to either wakes it',
  );
});
