// The facts file's scenario 15 (issue 12) with processes: the quorum leader of `kstack up --brokers 3`
// cut off from the majority (the fault control's `isolate --from peers`: its fault proxies close
// every link to and from the other nodes, the controller links included). It must resign (check
// quorum: no majority fetched from it within 1.5 × controller.quorum.fetch.timeout.ms), the other
// two elect a leader in a newer epoch, and once healed it follows the new leader and truncates its
// uncommitted tail (its `quorum: truncated the metadata log to N` line), never below the high
// watermark it had before the cut. A metadata write sent to it while cut off (CreateTopics on its
// own controller listener) is never acknowledged: its proposal waits until the node resigns and is
// then answered NOT_CONTROLLER while the node is still cut off (as the reference's cut-off leader
// answers at its resignation: admin-timeout-reference.long.ts), not passed on to another
// controller; the entry is truncated at the heal, so the topic is nowhere. The times are printed,
// not asserted (a loaded machine stretches them).
// Ports (docs/team-rules.md): `kstack up --brokers 3 --port 27326`: brokers (their fault proxies)
// 27326-27328, fault control 27336, the nodes' own broker listeners 27346-27348, controllers
// 27376-27378, their proxies 27396-27398.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import type { MessageValue } from '../../src/protocol/index.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';
import { waitUntil } from './acked-load.ts';
import { type FaultCluster, startFaultCluster } from './fault-cluster.ts';

const BASE_PORT = 27326;
/** How long the cut-off write may stay unanswered once a new leader is elected (it is answered at the resignation, before). */
const ANSWER_WAIT_MS = 60_000;
const TOPIC = 'written-while-cut-off';
/** Created before the cut; grown (CreatePartitions) and deleted (DeleteTopics) on the cut-off leader. */
const GROWN = 'grown-while-cut-off';
const DOOMED = 'deleted-while-cut-off';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-quorum-isolation-'));
let cluster: FaultCluster | undefined;
const clients: ControllerClient[] = [];

after(async () => {
  for (const client of clients) client.close();
  await cluster?.process.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function client(port: number): ControllerClient {
  const made = clientTo(port, `quorum-isolation-${port}`);
  clients.push(made);
  return made;
}

interface Quorum {
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  currentVoters: { replicaId: number; logEndOffset: bigint }[];
}

async function describeQuorum(to: ControllerClient): Promise<Quorum> {
  const body = await send(to, 55, 2, {
    topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
  });
  const partition = (body.topics as { partitions: Quorum[] }[])[0]?.partitions[0];
  assert.ok(partition !== undefined, 'DescribeQuorum names the metadata partition');
  return partition;
}

/** The first per-topic outcome of an answer (`topics`, `results` or `responses`), or the failure. */
function outcome(
  answer: Promise<MessageValue>,
): Promise<{ errorCode: number | null; message: string | null }> {
  return answer.then(
    (body) => {
      const first = ((body.topics ?? body.results ?? body.responses) as Outcome[])[0];
      return { errorCode: first?.errorCode ?? -1, message: first?.errorMessage ?? null };
    },
    (error: Error) => ({ errorCode: null, message: error.message }),
  );
}

/** How many partitions a node's Metadata lists for `name` (0: unknown). */
async function partitionsAt(to: ControllerClient, name: string): Promise<number> {
  const body = await send(to, 3, 12, {
    topics: [{ name, topicId: ZERO_UUID }],
    allowAutoTopicCreation: false,
  });
  const topic = (body.topics as { errorCode: number; partitions: unknown[] }[])[0];
  return topic?.errorCode === 0 ? topic.partitions.length : 0;
}

/** How a node answers Metadata for TOPIC: its error code and topic id. */
async function topicAt(to: ControllerClient): Promise<string> {
  // Not auto-created by this question (the broker default would create it).
  const body = await send(to, 3, 12, {
    topics: [{ name: TOPIC, topicId: ZERO_UUID }],
    allowAutoTopicCreation: false,
  });
  const topic = (body.topics as { errorCode: number; topicId: string }[])[0];
  return topic === undefined ? 'none' : `error ${topic.errorCode} id ${topic.topicId}`;
}

/**
 * `timeoutMs` 0 is REQUEST_TIMED_OUT without a message and writes nothing, as the reference answers
 * (admin-deadline.ts): CreateTopics on the active controller's own listener, and CreateTopics and
 * DeleteTopics (forwarded unchanged to the controller) on another node's broker listener.
 */
async function timeoutZeroRefused(controller: ControllerClient, broker: ControllerClient): Promise<void> {
  const creation = {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 0,
  };
  const outcomes = [
    ((await send(controller, 19, 7, creation)).topics as Outcome[])[0],
    ((await send(broker, 19, 7, creation)).topics as Outcome[])[0],
    (
      (await send(broker, 20, 6, { topics: [{ name: TOPIC, topicId: ZERO_UUID }], timeoutMs: 0 }))
        .responses as Outcome[]
    )[0],
  ].map((outcome) => `${outcome?.errorCode} ${outcome?.errorMessage}`);
  const timedOut = `${ErrorCode.REQUEST_TIMED_OUT} null`;
  assert.deepEqual(
    outcomes,
    [timedOut, timedOut, timedOut],
    'timeoutMs 0: controller CreateTopics, broker CreateTopics, broker DeleteTopics',
  );
  assert.equal(await topicAt(broker), `error ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} id ${ZERO_UUID}`);
}

type Outcome = { errorCode: number; errorMessage: string | null };

test('15: the quorum leader cut off from the majority resigns, a new one is elected, its uncommitted tail is truncated', async () => {
  cluster = await startFaultCluster({ basePort: BASE_PORT, dataDir });
  const { ownBrokerPort, ownControllerPort, control } = cluster;
  const running = cluster.process;
  const brokers = [1, 2, 3].map((node) => client(ownBrokerPort(node)));
  for (const name of [GROWN, DOOMED]) {
    const created = await outcome(
      send(brokers[0]!, 19, 7, {
        topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
        timeoutMs: 30_000,
      }),
    );
    assert.equal(created.errorCode, 0, `create ${name}: ${created.message}`);
  }
  const before = await describeQuorum(brokers[0]!);
  assert.equal(before.errorCode, 0);
  const leader = before.leaderId;
  const others = [1, 2, 3].filter((node) => node !== leader);
  console.log(`quorum leader ${leader} in epoch ${before.leaderEpoch}, HW ${before.highWatermark}`);
  await timeoutZeroRefused(client(ownControllerPort(leader)), brokers[others[0]! - 1]!);

  await control(`/nodes/${leader}/isolate`, { from: 'peers' });
  const cutAt = performance.now();
  // A metadata write on the cut-off leader's own controller listener: it proposes it to itself.
  let answeredAt = Number.POSITIVE_INFINITY;
  const write = send(client(ownControllerPort(leader)), 19, 7, {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 5_000,
  }).then(
    (body) => {
      answeredAt = performance.now();
      const topic = (body.topics as { errorCode: number; errorMessage: string | null }[])[0];
      return { errorCode: topic?.errorCode ?? -1, message: topic?.errorMessage ?? null };
    },
    (error: Error) => {
      answeredAt = performance.now();
      return { errorCode: null, message: error.message };
    },
  );

  // The other two metadata writes, each on its own connection (one request at a time per connection).
  const growAndDelete = Promise.all([
    outcome(
      send(client(ownControllerPort(leader)), 37, 3, {
        topics: [{ name: GROWN, count: 2, assignments: null }],
        timeoutMs: 5_000,
      }),
    ),
    outcome(
      send(client(ownControllerPort(leader)), 20, 6, {
        topics: [{ name: DOOMED, topicId: ZERO_UUID }],
        timeoutMs: 5_000,
      }),
    ),
  ]);

  const own = client(ownControllerPort(leader));
  await waitUntil(`node ${leader} resigned`, async () => {
    const quorum = await describeQuorum(own);
    return quorum.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER;
  });
  const resignedMs = performance.now() - cutAt;
  let after = before;
  await waitUntil('a new quorum leader among the others', async () => {
    after = await describeQuorum(brokers[others[0]! - 1]!);
    return after.errorCode === 0 && others.includes(after.leaderId) && after.leaderEpoch > before.leaderEpoch;
  });
  const electedMs = performance.now() - cutAt;
  // Still cut off: the write must be answered by now (it was at the resignation), and not with success.
  let waited: NodeJS.Timeout | undefined;
  const unanswered = {
    errorCode: null,
    message: `no answer while cut off (${ANSWER_WAIT_MS} ms after the election)`,
  };
  const [answer, [grown, deleted]] = await Promise.race([
    Promise.all([write, growAndDelete]),
    new Promise<[typeof unanswered, [typeof unanswered, typeof unanswered]]>((resolve) => {
      waited = setTimeout(() => resolve([unanswered, [unanswered, unanswered]]), ANSWER_WAIT_MS);
    }),
  ]);
  clearTimeout(waited);
  await control(`/nodes/${leader}/heal`);
  const newLeader = brokers[after.leaderId - 1]!;
  await waitUntil(`node ${leader} back at the new leader's log end`, async () => {
    const quorum = await describeQuorum(newLeader);
    const ends = new Map(quorum.currentVoters.map((voter) => [voter.replicaId, voter.logEndOffset]));
    return quorum.errorCode === 0 && ends.get(leader) === ends.get(quorum.leaderId);
  });
  const healed = await describeQuorum(newLeader);
  const truncation = new RegExp(
    `"brokerId":${leader},"msg":"quorum: truncated the metadata log to (\\d+) \\(its end was (\\d+)\\)"`,
  ).exec(running.output);
  // A node answers clients once caught up with the metadata log (a restarted or fenced one later).
  const topics: string[] = [];
  for (const broker of brokers) {
    await waitUntil('a Metadata answer', async () => {
      topics.push(await topicAt(broker));
      return true;
    });
  }
  console.log(
    `15: node ${leader} resigned ${Math.round(resignedMs)} ms after the cut (check quorum: 1.5 x the 2,000 ms fetch timeout), node ${after.leaderId} elected in epoch ${after.leaderEpoch} after ${Math.round(electedMs)} ms; healed, it truncated its metadata log to ${truncation?.[1]} (its end ${truncation?.[2]}), HW ${before.highWatermark} -> ${healed.highWatermark}; the write it took answered ${answer.errorCode ?? 'nothing'} (${answer.message}) ${Math.round(answeredAt - cutAt)} ms after the cut; nodes 1-3: ${topics.join('; ')}`,
  );
  assert.ok(truncation !== null, `node ${leader} logged no truncation of its uncommitted tail`);
  const [truncatedTo, previousEnd] = [BigInt(truncation[1]!), BigInt(truncation[2]!)];
  assert.ok(
    truncatedTo >= before.highWatermark,
    `truncated to ${truncatedTo}, below the HW ${before.highWatermark}`,
  );
  assert.ok(previousEnd > truncatedTo);
  assert.ok(
    healed.highWatermark >= before.highWatermark,
    `HW ${before.highWatermark} -> ${healed.highWatermark}`,
  );
  assert.equal(answer.errorCode, ErrorCode.NOT_CONTROLLER, `the cut-off write: ${answer.message}`);
  // CreatePartitions and DeleteTopics on it: NOT_CONTROLLER too (the reference's cut-off leader: the
  // same), and neither applied after the heal.
  console.log(`CreatePartitions ${JSON.stringify(grown)}, DeleteTopics ${JSON.stringify(deleted)}`);
  assert.equal(grown.errorCode, ErrorCode.NOT_CONTROLLER, `the cut-off CreatePartitions: ${grown.message}`);
  assert.equal(deleted.errorCode, ErrorCode.NOT_CONTROLLER, `the cut-off DeleteTopics: ${deleted.message}`);
  assert.equal(await partitionsAt(newLeader, GROWN), 1, `${GROWN} grown although refused`);
  assert.equal(await partitionsAt(newLeader, DOOMED), 1, `${DOOMED} deleted although refused`);
  const unknown = `error ${ErrorCode.UNKNOWN_TOPIC_OR_PARTITION} id ${ZERO_UUID}`;
  assert.deepEqual(topics, [unknown, unknown, unknown], `${TOPIC} refused but applied`);
});
