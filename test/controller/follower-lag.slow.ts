// The facts file's scenarios 3 and 4 (issue 12) with processes, on `kstack up --brokers 3` with
// `replica.lag.time.max.ms` 2 s:
// 4: an idle partition keeps its caught-up followers: for three lag times without a write, every
//    sample of the ISR names all three replicas.
// 3: a follower delayed past the lag time leaves the ISR and comes back once it catches up: the
//    fault control slows every link of one node (not the quorum leader, not the partition leader)
//    by 5 s while a kafkajs producer writes at acks=all; the leader drops it from the ISR, writes
//    go on with the other two (min ISR 2); healed, it catches up and is added back. The high
//    watermark, sampled from the leader throughout, never goes back, and every acknowledged
//    record is read back at its offset.
// The broker session is 30 s here, so the slowed node's heartbeats (each held 5 s) never fence it:
// what takes it out of the ISR is its lag alone (every Metadata sample must list all three
// brokers: Metadata lists unfenced brokers only). Times are printed,
// not asserted.
// Ports (docs/team-rules.md): `kstack up --brokers 3 --port 26400`: brokers (their fault proxies)
// 26400-26402, fault control 26410, the nodes' own broker listeners 26420-26422, controllers
// 26450-26452, their proxies 26470-26472.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';
import { AckedLoad, lostRecords, readAll, stopLoads, waitUntil } from './acked-load.ts';
import { type FaultCluster, startFaultCluster } from './fault-cluster.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 26400;
const LAG_TIME_MS = 2_000;
/** Each request on the slowed node's links is held this long: over twice the lag time. */
const DELAY_MS = 5_000;
const SAMPLE_MS = 200;
const TOPIC = 'follower-lag';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-follower-lag-'));
let cluster: FaultCluster | undefined;
const clients: ControllerClient[] = [];

after(async () => {
  await stopLoads();
  for (const client of clients) client.close();
  await cluster?.process.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Brokers a sample of Metadata did not list (Metadata lists only unfenced brokers). */
const unlisted = new Set<number>();

/** The partition's leader and ISR as a node's Metadata answers them; notes any broker it left out. */
async function partitionAt(to: ControllerClient): Promise<{ leader: number; isr: number[] }> {
  const body = await send(to, 3, 12, {
    topics: [{ name: TOPIC, topicId: ZERO_UUID }],
    allowAutoTopicCreation: false,
  });
  const listed = new Set((body.brokers as { nodeId: number }[]).map((broker) => broker.nodeId));
  for (const node of [1, 2, 3]) if (!listed.has(node)) unlisted.add(node);
  const topic = (
    body.topics as { errorCode: number; partitions: { leaderId: number; isrNodes: number[] }[] }[]
  )[0];
  const partition = topic?.errorCode === 0 ? topic.partitions[0] : undefined;
  return { leader: partition?.leaderId ?? -1, isr: [...(partition?.isrNodes ?? [])].sort() };
}

/** The high watermark the partition leader answers (ListOffsets latest, read_uncommitted). */
async function highWatermark(leader: ControllerClient): Promise<bigint> {
  const body = await send(leader, 2, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  const partition = (body.topics as { partitions: { errorCode: number; offset: bigint }[] }[])[0]
    ?.partitions[0];
  assert.equal(partition?.errorCode, 0, 'ListOffsets on the partition leader');
  return partition!.offset;
}

test('3 and 4: an idle partition keeps its followers; a follower past replica.lag.time.max.ms leaves the ISR and rejoins, the HW never back', async () => {
  cluster = await startFaultCluster({
    basePort: BASE_PORT,
    dataDir,
    overrides: { 'replica.lag.time.max.ms': String(LAG_TIME_MS), 'broker.session.timeout.ms': '30000' },
  });
  const { ownBrokerPort, control } = cluster;
  const brokers = [1, 2, 3].map((node) => {
    const made = clientTo(ownBrokerPort(node), `follower-lag-${node}`);
    clients.push(made);
    return made;
  });
  const quorum = await send(brokers[0]!, 55, 2, {
    topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
  });
  const quorumLeader = (quorum.topics as { partitions: { leaderId: number }[] }[])[0]!.partitions[0]!
    .leaderId;
  // The slowed node leads neither the quorum nor the partition, so neither has to move.
  const lagging = [1, 2, 3].find((node) => node !== quorumLeader)!;
  const [leader, follower] = [1, 2, 3].filter((node) => node !== lagging) as [number, number];
  const created = await send(brokers[0]!, 19, 7, {
    topics: [
      {
        name: TOPIC,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: [leader, follower, lagging] }],
        configs: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    timeoutMs: 30_000,
  });
  assert.equal((created.topics as { errorCode: number }[])[0]?.errorCode, 0);
  const all = [1, 2, 3];
  await waitUntil('the partition led with a full ISR', async () => {
    const seen = await partitionAt(brokers[leader - 1]!);
    return seen.leader === leader && seen.isr.join() === all.join();
  });
  unlisted.clear(); // from here on every broker is registered and unfenced
  const kafka = new Kafka({
    clientId: 'follower-lag',
    brokers: cluster.brokerPorts.map((port) => `${HOST}:${port}`),
    logLevel: logLevel.NOTHING,
  });

  // 4: a few writes, then idle for three lag times: the ISR stays whole.
  const warmup = new AckedLoad(kafka, TOPIC, -1);
  await waitUntil('the first acknowledged writes', () => warmup.acknowledged.size >= 100);
  await warmup.stop();
  const idleUntil = performance.now() + 3 * LAG_TIME_MS;
  let idleSamples = 0;
  while (performance.now() < idleUntil) {
    const seen = await partitionAt(brokers[leader - 1]!);
    assert.deepEqual(seen, { leader, isr: all }, `idle partition, sample ${idleSamples}`);
    idleSamples++;
    await sleep(SAMPLE_MS);
  }
  console.log(`4: ISR [${all}] in each of ${idleSamples} samples over ${3 * LAG_TIME_MS} ms idle`);

  // 3: node `lagging` slowed under acks=all load.
  const load = new AckedLoad(kafka, TOPIC, -1);
  const watermarks: bigint[] = [];
  const sampleWatermark = async () => watermarks.push(await highWatermark(brokers[leader - 1]!));
  await waitUntil('writes under way', () => load.acknowledged.size >= 200);
  await control(`/nodes/${lagging}/slow`, { delayMs: DELAY_MS, from: 'peers' });
  const slowedAt = performance.now();
  await waitUntil(`node ${lagging} out of the ISR`, async () => {
    await sampleWatermark();
    const seen = await partitionAt(brokers[leader - 1]!);
    return seen.isr.join() === [leader, follower].sort().join();
  });
  const shrunkAfterMs = performance.now() - slowedAt;
  const ackedWhileOut = load.acknowledged.size;
  await waitUntil('writes acknowledged by the two left', async () => {
    await sampleWatermark();
    return load.acknowledged.size >= ackedWhileOut + 200;
  });
  await control(`/nodes/${lagging}/heal`);
  const healedAt = performance.now();
  await waitUntil(`node ${lagging} back in the ISR`, async () => {
    await sampleWatermark();
    return (await partitionAt(brokers[leader - 1]!)).isr.join() === all.join();
  });
  const rejoinedAfterMs = performance.now() - healedAt;
  await load.stop();
  await sampleWatermark();
  console.log(
    `3: node ${lagging} out of the ISR ${Math.round(shrunkAfterMs)} ms after its links were slowed by ${DELAY_MS} ms ` +
      `(replica.lag.time.max.ms ${LAG_TIME_MS}), back ${Math.round(rejoinedAfterMs)} ms after the heal; ` +
      `${watermarks.length} HW samples ${watermarks[0]}..${watermarks.at(-1)}; ${load.acknowledged.size} acknowledged, ${load.failed} sends failed`,
  );
  for (let i = 1; i < watermarks.length; i++) {
    assert.ok(
      watermarks[i]! >= watermarks[i - 1]!,
      `HW went back: ${watermarks[i - 1]} then ${watermarks[i]}`,
    );
  }
  // Every Metadata sample listed all three brokers: none was fenced, its lag alone took it out.
  assert.deepEqual([...unlisted], [], 'brokers missing from a Metadata sample (fenced)');
  const acknowledged = new Map([...warmup.acknowledged, ...load.acknowledged]);
  const read = await readAll(kafka, TOPIC, 'follower-lag-check');
  assert.equal(lostRecords(acknowledged, read), 0, 'every acknowledged record read back at its offset');
});
