// Partition reassignment on three combined nodes (ClusterNode) in this process, real sockets and
// files, driven by Kafka 4.1.1's own kafka-reassign-partitions (ReassignPartitionsCommand, a client
// we did not write) through a node that is not the active controller (AlterPartitionReassignments
// forwarded to it; ListPartitionReassignments answered from the node's image).
//
// 1. Under acks=all load from kafkajs, a partition moves off its leader to the third node: every
//    acknowledged record is there afterwards at its acknowledged offset, the new replica's log is
//    byte-identical to the leader's (log start, end, every batch), the node that left stopped
//    fetching and deleted its copy, and --verify says "completed" as on the reference.
// 2. A move to a node that is down stays in progress: --list and --verify show it as Kafka's do,
//    --cancel reverts it (Kafka's order: the current replicas without the adding one), a second
//    --cancel has nothing to cancel.
// 3. Refusals, as the tool prints them on the reference: an unregistered broker, an unknown topic
//    or partition.
// The outputs were compared by hand with the same commands on the 3-node reference (ports
// 23940-23942, controllers 23990-23992); the lines asserted are the ones both print.
// Ports (docs/team-rules.md): brokers 23910-23912, their controller listeners 23960-23962.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import type { PartitionView } from '../../src/broker/services.ts';
import { parseQuorumVoters } from '../../src/controller/node.ts';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { runTool } from '../engine/run-tool.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [23910, 23911, 23912] as const;
const CONTROLLER_PORTS = [23960, 23961, 23962] as const;
const CLUSTER_ID = 'a3N0YWNrUmVhc3NpZ25tZW50';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOOL_TIMEOUT_MS = 180_000;
const POLL_MS = 50;
/**
 * Long: a node stopped without a controlled shutdown stays registered and unfenced, so the tool
 * (which refuses a target broker that DescribeCluster does not list, on the reference too:
 * "Unknown broker id N") starts a move to it that cannot finish.
 */
const SESSION_TIMEOUT_MS = 600_000;
const TOPIC = 'moves';
const HELD = 'held';
const ROOT = join(import.meta.dirname, '..', '..');

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-reassignment-'));
const voters = parseQuorumVoters(CONTROLLER_PORTS.map((port, i) => `${i + 1}@${HOST}:${port}`).join(','));
const nodes = new Map<number, ClusterNode>();
const warnings: string[] = [];
let controllerId = -1;
/** A node that is not the active controller: the one the tool asks. */
let askedId = -1;

function makeNode(nodeId: number): ClusterNode {
  return new ClusterNode({
    nodeId,
    clusterId: CLUSTER_ID,
    voters,
    host: HOST,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    port: BROKER_PORTS[nodeId - 1]!,
    dataDir: join(dataDir, `node-${nodeId}`),
    config: { 'default.replication.factor': '2', 'num.partitions': '1', 'min.insync.replicas': '2' },
    log: { info: () => {}, warn: (message) => warnings.push(`node ${nodeId}: ${message}`) },
    onFatal: (error) => {
      throw error;
    },
  });
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; warnings: ${warnings.slice(-5)}`);
    await sleep(POLL_MS);
  }
}

function partitionOn(nodeId: number, topic = TOPIC): PartitionView | undefined {
  return nodes.get(nodeId)?.broker.metadata().topic(topic)?.partitions[0];
}

/** Waits until every running node's image holds the same partition 0 of `topic` and `check` holds. */
async function agreed(
  what: string,
  check: (p: PartitionView) => boolean,
  topic = TOPIC,
): Promise<PartitionView> {
  let found: PartitionView | undefined;
  await waitFor(what, () => {
    const views = [...nodes.keys()].map((id) => JSON.stringify(partitionOn(id, topic) ?? null));
    found = partitionOn([...nodes.keys()][0]!, topic);
    return new Set(views).size === 1 && found !== undefined && check(found);
  });
  return found!;
}

let fileCount = 0;
/** kafka-reassign-partitions against the asked node, with a reassignment file when `plan` is given. */
async function reassign(
  plan: { topic: string; partition: number; replicas: number[] }[] | null,
  ...args: string[]
) {
  const fileArgs: string[] = [];
  if (plan !== null) {
    const file = join(dataDir, `plan-${fileCount++}.json`);
    writeFileSync(file, JSON.stringify({ version: 1, partitions: plan }));
    fileArgs.push('--reassignment-json-file', file);
  }
  const startedAt = performance.now();
  const result = await runTool(
    join(ROOT, 'reference', 'bin', 'kafka-run-class'),
    [
      'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
      '--bootstrap-server',
      `${HOST}:${BROKER_PORTS[askedId - 1]}`,
      ...fileArgs,
      ...args,
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  console.log(`kafka-reassign-partitions ${args.join(' ')}: ${Math.round(performance.now() - startedAt)} ms`);
  return result;
}

before(async () => {
  for (const nodeId of [1, 2, 3]) nodes.set(nodeId, makeNode(nodeId));
  await Promise.all([...nodes.values()].map((n) => n.start()));
  await waitFor('one leader named by every node, with three unfenced brokers', () => {
    const ids = new Set([...nodes.values()].map((n) => n.leader().leaderId));
    controllerId = [...ids][0] ?? -1;
    return (
      ids.size === 1 &&
      controllerId > 0 &&
      [...nodes.values()].every((n) => {
        const image = n.broker.metadata();
        return image.brokers().length === 3 && image.brokers().every((b) => !image.isFenced(b.nodeId));
      })
    );
  });
  askedId = [1, 2, 3].find((id) => id !== controllerId)!;
});

after(async () => {
  const order = [...nodes.values()].sort(
    (a, b) => Number(a.nodeId === controllerId) - Number(b.nodeId === controllerId),
  );
  for (const n of order) await n.stop({ controlled: false });
  rmSync(dataDir, { recursive: true, force: true });
});

// The refusals run after the move, not beside it: `kafka-reassign-partitions --execute` refuses any
// plan while a reassignment is in progress ("Cannot execute because there is an existing partition
// assignment"), so beside the move their answer depended on timing (the CI proof hit it). Their three
// tool JVMs still run side by side.
describe('a move under load, then refusals', () => {
  test('a move off the leader under acks=all load loses no acknowledged record; the new replica is byte-identical', async () => {
    const admin = new Admin({
      clientId: 'reassignment-test',
      bootstrapBrokers: [`${HOST}:${BROKER_PORTS[0]}`],
    });
    try {
      await admin.createTopics({ topics: [TOPIC], partitions: 1, replicas: 2 });
    } finally {
      await admin.close();
    }
    const start = await agreed(
      `${TOPIC} on every node with a full ISR`,
      (p) => p.isr.length === 2 && p.leaderId > 0,
    );
    const leaving = start.leaderId;
    const staying = start.replicas.find((id) => id !== leaving)!;
    const joining = [1, 2, 3].find((id) => !start.replicas.includes(id))!;

    const kafka = kafkajsClient(
      'reassignment-load',
      BROKER_PORTS.map((port) => `${HOST}:${port}`),
    );
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const acknowledged = new Map<string, string>();
    let sent = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        const values = Array.from({ length: 20 }, () => `record-${sent++}`);
        const [meta] = await producer.send({
          topic: TOPIC,
          acks: -1,
          timeout: 30_000,
          messages: values.map((value) => ({ value, partition: 0 })),
        });
        const base = BigInt(meta!.baseOffset!);
        values.forEach((value, i) => {
          acknowledged.set(String(base + BigInt(i)), value);
        });
      }
    })();
    await waitFor('some records acknowledged before the move', () => acknowledged.size >= 200);

    const target = [staying, joining];
    const execute = await reassign([{ topic: TOPIC, partition: 0, replicas: target }], '--execute');
    assert.equal(execute.code, 0, `${execute.stdout}${execute.stderr}`);
    assert.match(execute.stdout, /Current partition replica assignment/);
    assert.match(execute.stdout, new RegExp(`Successfully started partition reassignment for ${TOPIC}-0`));
    const done = await agreed(
      `${TOPIC}-0 moved to [${target}]`,
      (p) => p.replicas.join() === target.join() && p.addingReplicas === undefined && p.isr.length === 2,
    );
    assert.equal(
      done.leaderId,
      staying,
      'the removed leader handed over to the first target replica in the ISR',
    );
    assert.ok(done.leaderEpoch > start.leaderEpoch);
    // Keep producing through the change of leader, then stop.
    const atMove = acknowledged.size;
    await waitFor('records acknowledged by the new leader', () => acknowledged.size >= atMove + 200);
    loading = false;
    await load;
    await producer.disconnect();

    // --verify (a JVM) runs while the consumer reads the records back: neither changes anything.
    const verifying = reassign([{ topic: TOPIC, partition: 0, replicas: target }], '--verify');

    // Every acknowledged record, at its acknowledged offset, read back by a consumer from the new leader.
    const leader = nodes.get(staying)!.broker.get(TOPIC, 0)!;
    await waitFor('the high watermark past every acknowledged record', () => {
      return Number(leader.highWatermark) >= acknowledged.size;
    });
    const consumer = kafka.consumer({ groupId: 'reassignment-check' });
    await consumer.connect();
    const read = new Map<string, string>();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        read.set(message.offset, message.value!.toString());
      },
    });
    await waitFor(
      'the consumer read up to the high watermark',
      () => read.size >= Number(leader.highWatermark),
    );
    await consumer.disconnect();
    let lost = 0;
    for (const [offset, value] of acknowledged) if (read.get(offset) !== value) lost++;
    assert.equal(lost, 0, `${lost} of ${acknowledged.size} acknowledged records lost or moved`);
    console.log(`${acknowledged.size} acknowledged records, ${sent} sent, none lost across the move`);
    const verify = await verifying;
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(verify.stdout, new RegExp(`Reassignment of partition ${TOPIC}-0 is completed\\.`));

    // The joined replica holds the leader's log byte for byte; the node that left holds nothing.
    const joined = nodes.get(joining)!.broker.get(TOPIC, 0)!;
    await waitFor(
      'the joined replica at the leader’s log end',
      () => joined.logEndOffset === leader.logEndOffset,
    );
    assert.equal(joined.logStartOffset, leader.logStartOffset);
    const bytes = (replica: typeof leader) =>
      replica.log.read(Number(replica.logStartOffset), { maxBytes: 256 * 1024 * 1024, minOneBatch: true })
        .records;
    assert.ok(
      Buffer.compare(bytes(joined), bytes(leader)) === 0,
      'the joined replica is byte-identical to the leader',
    );
    const left = nodes.get(leaving)!.broker.get(TOPIC, 0);
    assert.equal(left?.logEndOffset ?? 0n, 0n, 'the node that left deleted its copy');
    assert.equal(
      nodes.get(leaving)!.broker.replicaManager?.core(TOPIC, 0),
      undefined,
      'and stopped fetching',
    );
  });

  test('refusals as Kafka gives them: an unregistered broker, an unknown topic or partition', async () => {
    // The reference's lines for the same plans: the unknown broker through DescribeCluster, the unknown
    // topic and partition through the topic description. (A duplicate or an empty replica list the tool
    // refuses before it asks the cluster anything, so those say nothing about kstack.)
    const cases: [string, { topic: string; partition: number; replicas: number[] }, string][] = [
      ['unregistered', { topic: TOPIC, partition: 0, replicas: [1, 9] }, 'Error: Unknown broker id 9'],
      [
        'unknown partition',
        { topic: TOPIC, partition: 7, replicas: [1, 2] },
        `Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find partition: ${TOPIC}-7`,
      ],
      [
        'unknown topic',
        { topic: 'nope', partition: 0, replicas: [1, 2] },
        'Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic nope not found.',
      ],
    ];
    // After the move (no reassignment in progress); the topic exists (the unknown partition is one of it).
    await waitFor(`${TOPIC} in the asked node's image`, () => partitionOn(askedId) !== undefined);
    const results = await Promise.all(cases.map(([, plan]) => reassign([plan], '--execute')));
    cases.forEach(([what, , line], i) => {
      const result = results[i]!;
      console.log(`${what}: exit ${result.code}\n${result.stdout}${result.stderr}`);
      assert.equal(result.code, 1, `${what} is refused`);
      assert.equal(result.stdout.split('\n')[0], line);
    });
  });
});

test('a move to a node that is down stays in progress: --list, --verify, --cancel as Kafka prints them', async () => {
  // On the active controller and the asked node; the third node goes down and is the target.
  const outside = [1, 2, 3].find((id) => id !== askedId && id !== controllerId)!;
  const admin = new Admin({
    clientId: 'reassignment-test',
    bootstrapBrokers: [`${HOST}:${BROKER_PORTS[askedId - 1]}`],
  });
  try {
    await admin.createTopics({
      topics: [HELD],
      assignments: [{ partition: 0, brokers: [controllerId, askedId] }],
    });
  } finally {
    await admin.close();
  }
  await agreed(`${HELD} with a full ISR`, (p) => p.isr.length === 2 && p.leaderId > 0, HELD);
  await nodes.get(outside)!.stop({ controlled: false });
  nodes.delete(outside);
  const target = [outside, askedId];
  const execute = await reassign([{ topic: HELD, partition: 0, replicas: target }], '--execute');
  assert.equal(execute.code, 0, `${execute.stdout}${execute.stderr}`);
  assert.match(execute.stdout, new RegExp(`Successfully started partition reassignment for ${HELD}-0`));

  // --list and --verify read only: side by side.
  const [list, verify] = await Promise.all([
    reassign(null, '--list'),
    reassign([{ topic: HELD, partition: 0, replicas: target }], '--verify'),
  ]);
  assert.equal(list.code, 0, `${list.stdout}${list.stderr}`);
  const replicas = [outside, askedId, controllerId];
  assert.match(
    list.stdout,
    new RegExp(
      `Current partition reassignments:\\n${HELD}-0: replicas: ${replicas.join(',')}\\. adding: ${outside}\\. removing: ${controllerId}\\.`,
    ),
  );
  assert.match(verify.stdout, new RegExp(`Reassignment of partition ${HELD}-0 is still in progress\\.`));

  // Short admin timeouts: the tool's throttle clearing on the stopped broker then fails in seconds, not 60 s.
  const commandConfig = join(dataDir, 'short-timeouts.properties');
  writeFileSync(commandConfig, 'default.api.timeout.ms=8000\nrequest.timeout.ms=4000\n');
  const cancel = await reassign(
    [{ topic: HELD, partition: 0, replicas: target }],
    '--cancel',
    '--command-config',
    commandConfig,
  );
  // The tool then clears the throttles on every listed broker, the stopped one too: that call times
  // out (exit 1), as it would against Kafka with a registered broker down. The cancel itself is done.
  assert.match(cancel.stdout, new RegExp(`Successfully cancelled partition reassignment for: ${HELD}-0`));
  assert.ok(
    cancel.code === 0 ||
      /Timed out waiting for a node assignment\. Call: incrementalAlterConfigs/.test(cancel.stdout),
    `${cancel.stdout}${cancel.stderr}`,
  );
  const reverted = await agreed(`${HELD}-0 reverted`, (p) => p.addingReplicas === undefined, HELD);
  assert.deepEqual(
    [...reverted.replicas],
    [askedId, controllerId],
    "Kafka's revert: the current replicas without the adding one",
  );
  assert.equal(
    reverted.leaderId,
    askedId,
    'the preferred replica of the reverted list leads, as on the reference',
  );
  // Side by side: --list, a second --cancel (as on the reference, the tool sees nothing to cancel
  // and sends nothing), and the stopped node's restart (the last test needs it).
  const restarted = makeNode(outside);
  const [none, again] = await Promise.all([
    reassign(null, '--list'),
    reassign(
      [{ topic: HELD, partition: 0, replicas: target }],
      '--cancel',
      '--command-config',
      commandConfig,
    ),
    restarted.start(),
  ]);
  nodes.set(outside, restarted);
  assert.match(none.stdout, /No partition reassignments found\./);
  assert.match(again.stdout, /None of the specified partition reassignments are active\./);
});

test('kafka-topics --describe shows the ELR (DescribeTopicPartitions) as the reference does once a last ISR member is out', async () => {
  // On the third node alone (RF 1) and on the asked node plus the third (RF 2, min ISR 2).
  const third = [1, 2, 3].find((id) => id !== askedId && id !== controllerId)!;
  const admin = new Admin({
    clientId: 'reassignment-test',
    bootstrapBrokers: [`${HOST}:${BROKER_PORTS[askedId - 1]}`],
  });
  try {
    await admin.createTopics({ topics: ['elr1'], assignments: [{ partition: 0, brokers: [third] }] });
    await admin.createTopics({
      topics: ['elr2'],
      assignments: [{ partition: 0, brokers: [askedId, third] }],
    });
  } finally {
    await admin.close();
  }
  await agreed('elr2 with a full ISR', (p) => p.isr.length === 2, 'elr2');
  // A controlled shutdown takes the broker out of every ISR (the reference's run was a SIGKILL and
  // its session timeout: the same change, which this file's long session timeout would delay).
  await nodes.get(third)!.stop({ controlled: true });
  nodes.delete(third);
  await agreed('elr1 without a leader', (p) => p.leaderId === -1, 'elr1');
  await agreed('elr2 with an ELR', (p) => p.elr !== undefined, 'elr2');
  const describe = await runTool(
    join(ROOT, 'reference', 'bin', 'kafka-topics'),
    ['--bootstrap-server', `${HOST}:${BROKER_PORTS[askedId - 1]}`, '--describe', '--topic', 'elr1|elr2'],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  console.log(describe.stdout);
  assert.equal(describe.code, 0, `${describe.stdout}${describe.stderr}`);
  const lines = describe.stdout.split('\n').map((line) => line.trim());
  // The reference's lines for the same placements (broker 3 there), with this cluster's ids.
  assert.ok(
    lines.includes(
      `Topic: elr1\tPartition: 0\tLeader: none\tReplicas: ${third}\tIsr: \tElr: ${third}\tLastKnownElr: ${third}`,
    ),
    describe.stdout,
  );
  assert.ok(
    lines.includes(
      `Topic: elr2\tPartition: 0\tLeader: ${askedId}\tReplicas: ${askedId},${third}\tIsr: ${askedId}\tElr: ${third}\tLastKnownElr: `.trim(),
    ),
    describe.stdout,
  );
  const restarted = makeNode(third);
  nodes.set(third, restarted);
  await restarted.start();
  await agreed(
    'elr1 led again by its ELR member',
    (p) => p.leaderId === third && p.elr === undefined,
    'elr1',
  );
  await agreed('elr2 with its ISR back and no ELR', (p) => p.isr.length === 2 && p.elr === undefined, 'elr2');
});
