/**
 * Faults on a three-broker test cluster through the API, as a user's suite would write them: the
 * leader of a partition is killed (no controlled shutdown) while kafkajs produces to it with
 * acks=all, a new leader is elected and the ISR shrinks, the node is restarted on its port and data
 * and rejoins the ISR, and every acknowledged record is read back by a consumer and is in the
 * restarted replica's log. The kill is a crash for every part of the node, as SIGKILL is: no file
 * of its data folder (partition logs, indexes, checkpoints, the Raft metadata log, quorum state)
 * changes after the kill and no `.kafka_cleanshutdown` is written, so the restart runs log recovery
 * on the killed node's partition (`recoveredSegments`; a clean stop leaves 0), the controller takes
 * its registration as an unclean shutdown (KIP-966), and a partition whose only replica it is comes
 * back RECOVERING (an unclean election of its last known leader), as Apache Kafka 4.1.1 showed after
 * SIGKILL (test/controller/clean-restart.test.ts; a clean stop elects it from the ELR, RECOVERED).
 * Not in the unit run: about 30-45 s at load 30-40 (the 4 s broker session before the fence, then
 * the client's metadata retries).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { LeaderRecoveryState } from '../../src/broker/metadata-image.ts';
import { CLEAN_SHUTDOWN_FILE } from '../../src/controller/clean-shutdown.ts';
import { RAFT_LOG_FILE } from '../../src/raft/storage.ts';
import { startKafka, type TestKafkaCluster } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOPIC = 'payments';
/** One partition whose only replica is the killed node. */
const SOLO = 'solo';

/** Every node's info lines (the active controller's "registered after an unclean shutdown"). */
const infoLines: string[] = [];
let kafka: TestKafkaCluster;
before(async () => {
  kafka = await startKafka({
    brokers: 3,
    topics: [{ name: TOPIC, partitions: 1, configs: { 'min.insync.replicas': '2' } }],
    log: { info: (line) => infoLines.push(line), warn: () => {} },
  });
});
after(() => kafka?.stop());

/** Each file under `dir` (recursively) with its size and modification time in ns. */
function filesOf(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const stat = statSync(path, { bigint: true });
    files.set(path.slice(dir.length + 1), `${stat.size} bytes, mtime ${stat.mtimeNs}`);
  }
  return files;
}

/** Segments node `nodeId`'s log of the partition recovered when it opened (its storage log's count). */
/** The segments the node's log of TOPIC-0 scanned at its last open (its PartitionLog, not the replication core's view of it). */
function recoveredSegments(nodeId: number): number | undefined {
  return kafka.broker(nodeId).node.broker.get(TOPIC, 0)?.log.recoveredSegments;
}

function client(clientId: string): Kafka {
  return kafkajsClient(clientId, kafka.bootstrapAddresses);
}

test('kill the leader under acks=all load: a new leader, the node restarts, ISR back to 3, no acknowledged record lost', {
  timeout: 4 * WAIT_MS,
}, async () => {
  const victim = await kafka.waitForLeader(TOPIC, 0);
  const setup = client('setup').admin();
  await setup.connect();
  try {
    assert.ok(
      await setup.createTopics({
        topics: [{ topic: SOLO, replicaAssignment: [{ partition: 0, replicas: [victim] }] }],
      }),
    );
  } finally {
    await setup.disconnect();
  }
  await kafka.waitForPartition(SOLO, 0, `led by node ${victim}`, (p) => p.leaderId === victim);
  const producer = client('load').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const acknowledged: string[] = [];
  const failed: string[] = [];
  let producing = true;
  let sent = 0;
  // One record at a time, acks=all: each acknowledged one must survive the leader's death.
  const load = (async () => {
    while (producing) {
      const value = `payment-${sent++}`;
      try {
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
        acknowledged.push(value);
      } catch {
        failed.push(value);
      }
    }
  })();
  const waitAcknowledged = (count: number, what: string) =>
    kafka.cluster.waitFor(`${count} records acknowledged ${what}`, () => acknowledged.length >= count, {
      timeoutMs: WAIT_MS,
    });
  try {
    await waitAcknowledged(20, 'before the kill');
    assert.equal(recoveredSegments(victim), 0, 'a fresh partition: nothing to recover at its first open');
    const killedAt = performance.now();
    const beforeKill = acknowledged.length;
    const nodeDir = join(kafka.dataDir, `node-${victim}`);
    // Taken in the same tick as kill() starts: nothing of the node runs in between.
    const atKill = filesOf(nodeDir);
    await kafka.broker(victim).kill();
    assert.equal(kafka.broker(victim).running, false);
    assert.deepEqual(
      filesOf(nodeDir),
      atKill,
      'no file of the killed node written, created or removed after the kill',
    );
    assert.ok(!atKill.has(CLEAN_SHUTDOWN_FILE), 'no clean shutdown file');
    assert.ok(
      [...atKill.keys()].some((path) => basename(path) === RAFT_LOG_FILE),
      `the Raft log is among the files compared: ${[...atKill.keys()].join(', ')}`,
    );
    const leader = await kafka.waitForLeader(TOPIC, 0, { not: victim, timeoutMs: WAIT_MS });
    const failoverMs = performance.now() - killedAt;
    assert.deepEqual(
      [...(await kafka.waitForIsr(TOPIC, 0, { excludes: victim }))].sort(),
      [1, 2, 3].filter((id) => id !== victim),
      'the ISR shrunk to the two live replicas',
    );
    await waitAcknowledged(beforeKill + 20, 'by the new leader');
    const restartedAt = performance.now();
    await kafka.broker(victim).restart({ timeoutMs: WAIT_MS });
    const recovered = recoveredSegments(victim);
    assert.ok(
      recovered !== undefined && recovered >= 1,
      `the restart recovered the killed leader's log (segments recovered: ${recovered})`,
    );
    assert.ok(
      infoLines.some((line) => line.includes(`broker ${victim} registered after an unclean shutdown`)),
      'the controller took the registration as an unclean shutdown (PreviousBrokerEpoch -1)',
    );
    const solo = await kafka.waitForPartition(
      SOLO,
      0,
      `led by node ${victim} again`,
      (p) => p.leaderId === victim,
      {
        timeoutMs: WAIT_MS,
      },
    );
    assert.equal(
      solo.leaderRecoveryState,
      LeaderRecoveryState.recovering,
      'its only replica elected uncleanly (last known leader): RECOVERING, as Kafka after SIGKILL',
    );
    const isr = await kafka.waitForIsr(TOPIC, 0, { timeoutMs: WAIT_MS });
    const rejoinMs = performance.now() - restartedAt;
    assert.deepEqual([...isr].sort(), [1, 2, 3], 'ISR back to 3');
    await waitAcknowledged(acknowledged.length + 10, 'after the rejoin');
    console.log(
      `killed leader ${victim}: new leader ${leader} after ${Math.round(failoverMs)} ms; restarted node in the ISR after ${Math.round(rejoinMs)} ms (${recovered} segment(s) recovered); ${acknowledged.length} acknowledged, ${failed.length} failed sends`,
    );
  } finally {
    producing = false;
    await load;
    await producer.disconnect();
  }
  // Every acknowledged record is in the log: a consumer reads from the beginning up to the end offset.
  const admin = client('check-admin').admin();
  await admin.connect();
  const endOffset = Number(
    (await admin.fetchTopicOffsets(TOPIC)).find((p) => p.partition === 0)?.high ?? Number.NaN,
  );
  await admin.disconnect();
  assert.ok(
    endOffset >= acknowledged.length,
    `end offset ${endOffset} below ${acknowledged.length} acknowledged`,
  );
  const consumer = client('check').consumer({ groupId: kafka.namespace().group('check') });
  const seen = new Set<string>();
  let nextOffset = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.add(message.value?.toString() ?? '');
        nextOffset = Number(message.offset) + 1;
      },
    });
    await kafka.cluster.waitFor(
      `records consumed up to end offset ${endOffset}`,
      () => nextOffset >= endOffset,
      {
        timeoutMs: WAIT_MS,
      },
    );
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(
    acknowledged.filter((value) => !seen.has(value)),
    [],
    'no acknowledged record lost',
  );
  // The restarted replica holds them too: its log reaches the leader's end (nothing is written now).
  const leaderId = await kafka.waitForLeader(TOPIC, 0);
  const leaderLog = kafka.broker(leaderId).node.broker.replicaManager?.core(TOPIC, 0)?.log;
  assert.ok(leaderLog, `node ${leaderId} leads ${TOPIC}-0`);
  assert.ok(leaderLog.logEndOffset >= acknowledged.length, 'the leader holds every acknowledged record');
  await kafka.cluster.waitFor(
    `node ${victim} caught up to the leader's log end ${leaderLog.logEndOffset}`,
    () => {
      const log = kafka.broker(victim).node.broker.replicaManager?.core(TOPIC, 0)?.log;
      return log !== undefined && log.logEndOffset === leaderLog.logEndOffset;
    },
  );
});
