// Reassignment throttles enforced (src/broker/replication-quota.ts, Kafka's ReplicationQuotaManager),
// set and cleared by Kafka 4.1.1's own kafka-reassign-partitions on three combined nodes
// (ClusterNode) in this process, real sockets and files.
//
// An RF 1 partition holding BYTES of incompressible records is reassigned from its broker L to
// [L, J] with `--execute --throttle RATE`: the tool writes the topic's
// leader.replication.throttled.replicas `0:L` and follower.replication.throttled.replicas `0:J`
// and each involved broker's leader/follower.replication.throttled.rate. J's copy must take at
// least what the quota allows: the first fetch (up to replica.fetch.max.bytes) goes at once, and
// each next one only once the bytes so far over the time since are within RATE (Kafka's SimpleRate),
// so T seconds after the first fetch at most FETCH_MAX_BYTES + RATE x T have moved:
// T >= (BYTES - FETCH_MAX_BYTES) / RATE / SLACK. The 3-node reference, by hand with the same
// commands and records, took 21.7 s (first bytes to last); unthrottled (before this change) kstack
// copied in 0.1 s at load 40. Then
// `--verify` says the move completed and removes the throttles: no throttle config is left on the
// topic or any broker, in every node's image.
// A malformed list is refused as the reference refuses it (kafka-configs --add-config by hand on the
// 3-node reference: INVALID_CONFIG, "Invalid value [0:1, x] for configuration …"), `*` accepted.
// Ports (docs/team-rules.md): brokers 27330-27332, their controller listeners 27380-27382.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Connection, incrementalAlterConfigsV1 } from '@platformatic/kafka';
import { REPLICATION_DEFAULTS } from '../../src/broker/replica-manager.ts';
import { THROTTLED_RATE_CONFIG, THROTTLED_REPLICAS_CONFIG } from '../../src/broker/replication-quota.ts';
import { parseQuorumVoters } from '../../src/controller/node.ts';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { runTool } from '../engine/run-tool.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [27330, 27331, 27332] as const;
const CONTROLLER_PORTS = [27380, 27381, 27382] as const;
const CLUSTER_ID = 'a3N0YWNrVGhyb3R0bGVUZXN0';
const WAIT_MS = 120_000;
const TOOL_TIMEOUT_MS = 180_000;
const POLL_MS = 50;
const TOPIC = 'throttled';
/** `--throttle`, bytes per second. */
const RATE = 100_000;
const RECORD_BYTES = 10_000;
const RECORDS = 300;
const BYTES = RECORD_BYTES * RECORDS;
/** The copy may run this much faster than the bound allows (timer and sampling granularity). */
const SLACK = 1.25;
const ROOT = join(import.meta.dirname, '..', '..');

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-reassignment-throttle-'));
const voters = parseQuorumVoters(CONTROLLER_PORTS.map((port, i) => `${i + 1}@${HOST}:${port}`).join(','));
const nodes = new Map<number, ClusterNode>();
const warnings: string[] = [];

function makeNode(nodeId: number): ClusterNode {
  return new ClusterNode({
    nodeId,
    clusterId: CLUSTER_ID,
    voters,
    host: HOST,
    port: BROKER_PORTS[nodeId - 1]!,
    dataDir: join(dataDir, `node-${nodeId}`),
    config: { 'num.partitions': '1' },
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

/** kafka-reassign-partitions with a reassignment file, through node `askedId`. */
async function reassign(askedId: number, replicas: number[], ...args: string[]) {
  const file = join(dataDir, `plan-${args[0]?.slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas }] }));
  const startedAt = performance.now();
  const result = await runTool(
    join(ROOT, 'reference', 'bin', 'kafka-run-class'),
    [
      'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
      '--bootstrap-server',
      `${HOST}:${BROKER_PORTS[askedId - 1]}`,
      '--reassignment-json-file',
      file,
      ...args,
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  console.log(`kafka-reassign-partitions ${args.join(' ')}: ${Math.round(performance.now() - startedAt)} ms`);
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** The throttle configs every node's image holds: the topic's and each broker's, as `name=value`. */
function throttleConfigs(nodeId: number): string[] {
  const image = nodes.get(nodeId)!.broker.metadata();
  const found: string[] = [];
  for (const [name, value] of image.topic(TOPIC)?.configs ?? [])
    if (Object.values(THROTTLED_REPLICAS_CONFIG).includes(name as never)) found.push(`${name}=${value}`);
  for (const [broker, configs] of image.brokerConfigs)
    for (const [name, value] of configs)
      if (Object.values(THROTTLED_RATE_CONFIG).includes(name as never))
        found.push(`broker ${broker} ${name}=${value}`);
  return found.sort();
}

before(async () => {
  for (const nodeId of [1, 2, 3]) nodes.set(nodeId, makeNode(nodeId));
  await Promise.all([...nodes.values()].map((n) => n.start()));
  await waitFor('three unfenced brokers in every image', () =>
    [...nodes.values()].every((n) => {
      const image = n.broker.metadata();
      return image.brokers().length === 3 && image.brokers().every((b) => !image.isFenced(b.nodeId));
    }),
  );
});

after(async () => {
  for (const n of nodes.values()) await n.stop({ controlled: false });
  rmSync(dataDir, { recursive: true, force: true });
});

test('--throttle bounds the copy to the rate given; --verify removes every throttle config', async () => {
  const admin = new Admin({ clientId: 'throttle-test', bootstrapBrokers: [`${HOST}:${BROKER_PORTS[0]}`] });
  try {
    await admin.createTopics({ topics: [TOPIC], partitions: 1, replicas: 1 });
  } finally {
    await admin.close();
  }
  await waitFor(`${TOPIC}-0 led in every image`, () =>
    [...nodes.values()].every((n) => (n.broker.metadata().topic(TOPIC)?.partitions[0]?.leaderId ?? -1) > 0),
  );
  const leaderId = nodes.get(1)!.broker.metadata().topic(TOPIC)!.partitions[0]!.leaderId;
  const joinerId = [1, 2, 3].find((id) => id !== leaderId)!;
  const askedId = [1, 2, 3].find((id) => id !== leaderId && id !== joinerId)!;

  const producer = kafkajsClient('throttle-load', [`${HOST}:${BROKER_PORTS[leaderId - 1]}`]).producer();
  await producer.connect();
  for (let sent = 0; sent < RECORDS; sent += 10)
    await producer.send({
      topic: TOPIC,
      acks: 1,
      messages: Array.from({ length: 10 }, () => ({ value: randomBytes(RECORD_BYTES), partition: 0 })),
    });
  await producer.disconnect();
  const leaderLog = nodes.get(leaderId)!.broker.get(TOPIC, 0)!.log;
  const endOffset = Number(leaderLog.logEndOffset);
  assert.equal(endOffset, RECORDS);

  // The joiner's progress, sampled while the tool runs: when its first records came, when all did.
  const joinerEnd = () => Number(nodes.get(joinerId)!.broker.get(TOPIC, 0)?.log.logEndOffset ?? 0);
  let firstAt = -1;
  let doneAt = -1;
  const sampling = (async () => {
    while (doneAt < 0) {
      const end = joinerEnd();
      if (end > 0 && firstAt < 0) firstAt = performance.now();
      if (end >= endOffset) doneAt = performance.now();
      else await sleep(POLL_MS);
    }
  })();

  const execute = await reassign(askedId, [leaderId, joinerId], '--execute', '--throttle', String(RATE));
  assert.match(execute, new RegExp(`The inter-broker throttle limit was set to ${RATE} B/s`));
  assert.match(execute, new RegExp(`Successfully started partition reassignment for ${TOPIC}-0`));
  // What the tool wrote, before the copy ends (the copy takes seconds at this rate).
  const written = throttleConfigs(askedId);
  assert.ok(
    written.includes(`${THROTTLED_REPLICAS_CONFIG.leader}=0:${leaderId}`) &&
      written.includes(`${THROTTLED_REPLICAS_CONFIG.follower}=0:${joinerId}`) &&
      written.includes(`broker ${leaderId} ${THROTTLED_RATE_CONFIG.leader}=${RATE}`) &&
      written.includes(`broker ${joinerId} ${THROTTLED_RATE_CONFIG.follower}=${RATE}`),
    `the throttles --execute writes: ${written.join('; ')}`,
  );
  await waitFor('the joiner caught up', () => doneAt >= 0);
  await sampling;

  const copySeconds = (doneAt - firstAt) / 1000;
  const boundSeconds = (BYTES - REPLICATION_DEFAULTS.fetchMaxBytes) / RATE / SLACK;
  console.log(
    `copied ${BYTES} B in ${copySeconds.toFixed(1)} s after the first fetch (${Math.round(BYTES / copySeconds)} B/s; throttle ${RATE} B/s; at least ${boundSeconds.toFixed(1)} s allowed)`,
  );
  assert.ok(
    copySeconds >= boundSeconds,
    `the copy took ${copySeconds.toFixed(1)} s: faster than ${RATE} B/s allows (${boundSeconds.toFixed(1)} s)`,
  );

  await waitFor(`${TOPIC}-0 on [${leaderId},${joinerId}] with both in the ISR, in every image`, () =>
    [...nodes.values()].every((n) => {
      const p = n.broker.metadata().topic(TOPIC)?.partitions[0];
      return (
        p?.replicas.join() === `${leaderId},${joinerId}` && p.isr.length === 2 && !p.addingReplicas?.length
      );
    }),
  );
  const verify = await reassign(askedId, [leaderId, joinerId], '--verify');
  assert.match(verify, new RegExp(`Reassignment of partition ${TOPIC}-0 is completed\\.`));
  assert.match(verify, /Clearing broker-level throttles on brokers/);
  assert.match(verify, new RegExp(`Clearing topic-level throttles on topic ${TOPIC}`));
  await waitFor('no throttle config left in any image', () =>
    [1, 2, 3].every((id) => throttleConfigs(id).length === 0),
  );
});

/** IncrementalAlterConfigs SET of one topic config through node 1: the answer's code and message. */
async function setTopicConfig(
  name: string,
  value: string,
): Promise<{ code: number; message: string | null }> {
  const connection = new Connection('throttle-config-test');
  await connection.connect(HOST, BROKER_PORTS[0]);
  try {
    const answer = await incrementalAlterConfigsV1.api
      .async(
        connection,
        [{ resourceType: 2, resourceName: TOPIC, configs: [{ name, configOperation: 0, value }] }],
        false,
      )
      .catch((error: { response?: Awaited<ReturnType<typeof incrementalAlterConfigsV1.api.async>> }) => {
        if (error.response === undefined) throw error;
        return error.response;
      });
    const result = answer.responses[0]!;
    return { code: result.errorCode, message: result.errorMessage ?? null };
  } finally {
    await connection.close();
  }
}

test("a malformed throttled-replica list is refused with Kafka's message; '*' is taken", async () => {
  const why = (name: string, shown: string) =>
    `Invalid value ${shown} for configuration ${name}: ${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;
  const INVALID_CONFIG = 40;
  const leader = THROTTLED_REPLICAS_CONFIG.leader;
  const follower = THROTTLED_REPLICAS_CONFIG.follower;
  assert.deepEqual(await setTopicConfig(leader, '0:1,x'), {
    code: INVALID_CONFIG,
    message: why(leader, '[0:1, x]'),
  });
  assert.deepEqual(await setTopicConfig(follower, 'abc'), {
    code: INVALID_CONFIG,
    message: why(follower, '[abc]'),
  });
  assert.deepEqual(throttleConfigs(1), [], 'nothing applied');
  assert.equal((await setTopicConfig(follower, '*')).code, 0);
  await waitFor(`${follower}=* in every image`, () =>
    [1, 2, 3].every((id) => throttleConfigs(id).join() === `${follower}=*`),
  );
});
