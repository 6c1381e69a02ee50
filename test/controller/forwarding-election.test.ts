// Metadata writes forwarded while the quorum elects a new controller, on three in-process cluster
// nodes (src/testing startCluster, real sockets and files): the active controller is killed and,
// at once, CreateTopics, DeleteTopics and CreatePartitions go to another node over the wire. That
// node cannot reach a controller until the survivors elect one (the killed node's listener refuses
// connections; the followers notice after controller.quorum.fetch.timeout.ms, 2 s); it holds the
// requests and sends them to the new controller, so each one succeeds. Kafka 4.1.1's 3-node
// reference, asked the same way by hand (its active controller's JVM killed with SIGKILL, the three
// requests sent at once through another broker), answered all three with error 0 after 3.6-3.8 s.
// Before the fix kstack answered NOT_CONTROLLER (41) to each: only a request never sent was sent
// again, and a connection refused by the dead controller failed it.
//
// Then, on the same cluster, a restarted node answers no client before it has caught up with the
// metadata log, as Kafka's broker processes no request until it is unfenced: the killed node's own
// log lacks the topic created during the election; restarted alone (the other two killed, so no
// quorum and no catching up), it is sent Metadata for that topic, and only once a second node is
// back does the answer come, naming the topic. Before the fix it answered at once from its stale
// image: UNKNOWN_TOPIC_OR_PARTITION (3) for a topic the cluster had (and, in `kstack up` processes
// under a producer, itself as leader at its old epoch: src/controller/README.md).
// Ports (docs/team-rules.md): brokers 24600-24602, their controller listeners 24650-24652.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { type Body, WireClient } from '../broker/compression-wire.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 60_000;
let cluster: TestCluster;

before(async () => {
  cluster = await startCluster({
    ports: [24600, 24601, 24602],
    controllerPorts: [24650, 24651, 24652],
    waitMs: WAIT_MS,
  });
});

after(async () => {
  await cluster?.stop();
});

const show = (body: unknown): string =>
  JSON.stringify(body, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** The node killed first (the active controller); its log never saw `born-in-election`. */
let killed = -1;

const topic = (name: string) => ({
  name,
  numPartitions: 1,
  replicationFactor: 1,
  assignments: [],
  configs: [],
});

test('the active controller killed: CreateTopics, DeleteTopics and CreatePartitions sent at once through another node all succeed once a new controller is elected', async (t) => {
  killed = await cluster.waitForReady();
  const through = [1, 2, 3].find((id) => id !== killed)!;
  const port = cluster.broker(through).port;
  const setup = await WireClient.connect(port);
  try {
    const created = await setup.call<{ topics: Body[] }>(19, 7, {
      topics: [topic('to-delete'), topic('to-grow')],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    assert.deepEqual(
      created.topics.map((answer) => answer.errorCode),
      [0, 0],
      show(created),
    );
  } finally {
    setup.close();
  }
  await cluster.waitFor('both topics on every node', () =>
    cluster.nodes().every((n) => ['to-delete', 'to-grow'].every((name) => n.broker.metadata().topic(name))),
  );

  const clients = await Promise.all([0, 1, 2].map(() => WireClient.connect(port)));
  try {
    await cluster.broker(killed).kill();
    const startedAt = performance.now();
    const [created, deleted, grown] = await Promise.all([
      clients[0]!.call<{ topics: Body[] }>(
        19,
        7,
        { topics: [topic('born-in-election')], timeoutMs: 30_000, validateOnly: false },
        REQUEST_TIMEOUT_MS,
      ),
      clients[1]!.call<{ responses: Body[] }>(
        20,
        6,
        { topics: [{ name: 'to-delete', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 30_000 },
        REQUEST_TIMEOUT_MS,
      ),
      clients[2]!.call<{ results: Body[] }>(
        37,
        3,
        {
          topics: [{ name: 'to-grow', count: 2, assignments: null }],
          timeoutMs: 30_000,
          validateOnly: false,
        },
        REQUEST_TIMEOUT_MS,
      ),
    ]);
    t.diagnostic(`answered ${Math.round(performance.now() - startedAt)} ms after the kill of node ${killed}`);
    assert.equal(created.topics[0]?.errorCode, 0, `CreateTopics: ${show(created)}`);
    assert.equal(deleted.responses[0]?.errorCode, 0, `DeleteTopics: ${show(deleted)}`);
    assert.equal(grown.results[0]?.errorCode, 0, `CreatePartitions: ${show(grown)}`);
    // Answered after the election, by the new controller, and replayed on the answering node.
    const leader = cluster.node(through).leader().leaderId;
    assert.ok(leader !== killed && leader > 0, `node ${through} names controller ${leader}`);
    const image = cluster.node(through).broker.metadata();
    assert.ok(image.topic('born-in-election') !== undefined, 'the created topic');
    assert.equal(image.topic('to-delete'), undefined, 'the deleted topic');
    assert.equal(image.topic('to-grow')?.partitions.length, 2, 'the grown topic');
  } finally {
    for (const client of clients) client.close();
  }
});

test('a restarted node holds client requests until it has caught up with the metadata log, then answers from the caught-up image', async () => {
  assert.ok(killed > 0, 'the first test killed the active controller');
  const others = [1, 2, 3].filter((id) => id !== killed);
  for (const id of others) await cluster.broker(id).kill();
  // Alone, without a quorum: it cannot learn anything committed while it was down.
  await cluster.startNodes([killed]);
  const client = await WireClient.connect(cluster.broker(killed).port);
  try {
    let answeredAt = Number.POSITIVE_INFINITY;
    const asked = client
      .call<{ topics: Body[] }>(
        3,
        12,
        {
          topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'born-in-election' }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        },
        WAIT_MS,
      )
      .then((answer) => {
        answeredAt = performance.now();
        return answer;
      });
    // Held, not answered from the stale image (a request takes milliseconds when served).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(answeredAt, Number.POSITIVE_INFINITY, 'answered before catching up');
    const restartedAt = performance.now();
    await cluster.broker(others[0]!).restart();
    const answer = await asked;
    assert.ok(answeredAt >= restartedAt, 'answered only once a quorum was back');
    const known = answer.topics[0]!;
    assert.equal(known.errorCode, 0, `Metadata after catching up: ${show(known)}`);
    assert.equal(
      known.topicId,
      cluster.node(others[0]!).broker.metadata().topic('born-in-election')?.topicId,
      'the topic created while this node was down',
    );
  } finally {
    client.close();
  }
});
