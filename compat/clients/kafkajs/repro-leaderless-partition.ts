// Reproduces why kafkajs fails the leader-failover scenario in a full matrix run, on a 3-node Apache
// Kafka reference cluster of its own: an idempotent kafkajs producer cannot connect while ANY partition
// of ANY topic in the cluster has no leader, even when every partition it writes to has one.
//
//   node compat/clients/kafkajs/repro-leaderless-partition.ts [--base-port 19410]
//
// Prints the timeline (raw Metadata v6 answers of a surviving broker) and each attempt's outcome, and
// exits 0 when kafkajs behaves as described in README.md ("leader-failover"), 1 when it does not (a
// kafkajs upgrade that fixed it, say). Takes about 60 s; uses ports base..base+2 and base+50..base+52.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { HOST, REFERENCE_DIR, ReferenceCluster } from '../../../reference/cluster.ts';

const { Kafka, logLevel } = kafkajs;
const FAILOVER_TOPIC = 'repro-failover';
const SINGLE_TOPIC = 'repro-single';
const METADATA_WAIT_MS = 60_000;

interface PartitionState {
  topic: string;
  partition: number;
  error: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** One Metadata v6 request (topics null = every topic, as kafkajs sends an empty list) and its partitions. */
function metadataV6(port: number, topics: string[] | null): Promise<PartitionState[]> {
  const clientId = Buffer.from('kafkajs-repro');
  const names = (topics ?? []).map((t) => Buffer.from(t));
  const size = 2 + 2 + 4 + 2 + clientId.length + 4 + names.reduce((n, b) => n + 2 + b.length, 0) + 1;
  const body = Buffer.alloc(size);
  let at = body.writeInt16BE(3, 0); // Metadata
  at = body.writeInt16BE(6, at);
  at = body.writeInt32BE(1, at);
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  at = body.writeInt32BE(topics === null ? -1 : names.length, at);
  for (const name of names) {
    at = body.writeInt16BE(name.length, at);
    at += name.copy(body, at);
  }
  body.writeInt8(0, at); // allow_auto_topic_creation
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0]), body]);
  frame.writeInt32BE(body.length, 0);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error('no Metadata answer in 5 s')), 5000);
    socket.on('connect', () => socket.write(frame));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(decodeMetadataV6(got.subarray(4)));
    });
  });
}

function decodeMetadataV6(b: Buffer): PartitionState[] {
  let at = 4; // correlation id
  const i32 = () => {
    at += 4;
    return b.readInt32BE(at - 4);
  };
  const i16 = () => {
    at += 2;
    return b.readInt16BE(at - 2);
  };
  const str = () => {
    const n = i16();
    at += Math.max(n, 0);
    return n < 0 ? null : b.toString('utf8', at - n, at);
  };
  const array = <T>(item: () => T): T[] => Array.from({ length: Math.max(i32(), 0) }, item);
  i32(); // throttle_time_ms
  array(() => [i32(), str(), i32(), str()]); // brokers
  str(); // cluster_id
  i32(); // controller_id
  return array(() => {
    i16(); // topic error
    const topic = str() ?? '';
    at += 1; // is_internal
    return array(() => {
      const error = i16();
      const partition = i32();
      const leader = i32();
      const replicas = array(i32);
      const isr = array(i32);
      array(i32); // offline_replicas
      return { topic, partition, error, leader, replicas, isr };
    });
  }).flat();
}

function show(states: PartitionState[]): string {
  return states
    .filter((s) => s.topic.startsWith('repro-'))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    .map((s) => `${s.topic}/${s.partition} error=${s.error} leader=${s.leader} isr=[${s.isr}]`)
    .join('; ');
}

/** A fresh kafkajs client and producer with the compat driver's retry settings, as each produce step makes. */
async function attempt(bootstrap: string[], idempotent: boolean): Promise<Record<string, unknown>> {
  const kafka = new Kafka({
    clientId: 'kafkajs-repro',
    brokers: bootstrap,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const producer = kafka.producer({
    idempotent,
    maxInFlightRequests: idempotent ? 1 : undefined,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const started = Date.now();
  let stage = 'connect';
  try {
    await producer.connect();
    stage = 'send';
    const sent = await producer.send({
      topic: FAILOVER_TOPIC,
      acks: -1,
      messages: [0, 1, 2].map((partition) => ({ partition, value: `idempotent=${idempotent}` })),
    });
    return { idempotent, ok: true, ms: Date.now() - started, partitions: sent.map((s) => s.partition) };
  } catch (error) {
    let cause = error as { name?: string; type?: string; message?: string; cause?: unknown };
    while (cause.name === 'KafkaJSNumberOfRetriesExceeded' && cause.cause)
      cause = cause.cause as typeof cause;
    return {
      idempotent,
      ok: false,
      stage,
      ms: Date.now() - started,
      error: cause.type ?? cause.name,
      message: cause.message,
    };
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

async function waitFor(port: number, what: string, test: (all: PartitionState[]) => boolean): Promise<void> {
  const deadline = Date.now() + METADATA_WAIT_MS;
  let last = '';
  for (;;) {
    const all = await metadataV6(port, null);
    const line = show(all);
    if (line !== last) console.log(`  ${new Date().toISOString().slice(11, 23)} node on ${port}: ${line}`);
    last = line;
    if (test(all)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'base-port': { type: 'string', default: '19410' } } });
  const basePort = Number(values['base-port']);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-kafkajs-repro-'));
  const cluster = new ReferenceCluster({ nodes: 3, basePort, dataDir });
  const bootstrap = cluster.bootstrap.split(',');
  try {
    console.log(`starting a 3-node reference cluster on ${cluster.bootstrap}`);
    await cluster.start();
    const admin = new Kafka({
      clientId: 'kafkajs-repro-admin',
      brokers: bootstrap,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: FAILOVER_TOPIC, numPartitions: 3, replicationFactor: 3 },
        // Like topic-name-rules' "{t}.a_b-c" (2 partitions, RF 1), which every client leaves behind.
        { topic: SINGLE_TOPIC, numPartitions: 3, replicationFactor: 1 },
      ],
    });
    await admin.disconnect();
    await sleep(1000);
    const before = await metadataV6(basePort, null);
    console.log(`before: ${show(before)}`);
    const victim = before.find((s) => s.topic === FAILOVER_TOPIC && s.partition === 0)!.leader;
    const survivor = cluster.nodes.find((n) => n.id !== victim)!.port;
    const baseline = await attempt(bootstrap, true);
    console.log(`idempotent producer before the kill: ${JSON.stringify(baseline)}`);

    console.log(`SIGKILL node ${victim} (leader of ${FAILOVER_TOPIC}/0)`);
    await cluster.stopNode(victim, 'SIGKILL');
    await waitFor(
      survivor,
      'new leaders',
      (all) =>
        all.filter((s) => s.topic === FAILOVER_TOPIC).every((s) => s.error === 0 && s.leader !== victim) &&
        all.some((s) => s.topic === SINGLE_TOPIC && s.leader === -1),
    );
    const onlyFailover = await metadataV6(survivor, [FAILOVER_TOPIC]);
    console.log(`Metadata v6 for [${FAILOVER_TOPIC}] only: ${show(onlyFailover)}`);
    const leaderless = await attempt(bootstrap, true);
    console.log(`idempotent producer, ${SINGLE_TOPIC} leaderless: ${JSON.stringify(leaderless)}`);
    const plain = await attempt(bootstrap, false);
    console.log(`non-idempotent producer, ${SINGLE_TOPIC} leaderless: ${JSON.stringify(plain)}`);

    // kafkajs's own admin cannot delete it: deleteTopics refreshes metadata for every topic first.
    const deleter = new Kafka({
      clientId: 'kafkajs-repro-admin',
      brokers: bootstrap,
      logLevel: logLevel.NOTHING,
    }).admin();
    const kafkajsDelete = await deleter
      .connect()
      .then(() => deleter.deleteTopics({ topics: [SINGLE_TOPIC], timeout: 30_000 }))
      .then(
        () => 'ok',
        (error: { cause?: { type?: string }; type?: string; name?: string }) =>
          error.cause?.type ?? error.type ?? error.name ?? 'error',
      );
    await deleter.disconnect().catch(() => {});
    console.log(`kafkajs admin.deleteTopics(${SINGLE_TOPIC}): ${kafkajsDelete}`);
    console.log(`deleting ${SINGLE_TOPIC} with Kafka's kafka-topics (the Java admin client) instead`);
    const deleted = spawnSync(
      path.join(REFERENCE_DIR, 'bin', 'kafka-topics'),
      ['--bootstrap-server', `${HOST}:${survivor}`, '--delete', '--topic', SINGLE_TOPIC],
      { encoding: 'utf8' },
    );
    if (deleted.status !== 0) throw new Error(`kafka-topics --delete failed: ${deleted.stderr}`);
    await waitFor(survivor, 'no leaderless partition', (all) => all.every((s) => s.error === 0));
    const after = await attempt(bootstrap, true);
    console.log(`idempotent producer, no leaderless partition left: ${JSON.stringify(after)}`);

    const asDescribed =
      baseline.ok === true &&
      leaderless.ok === false &&
      leaderless.stage === 'connect' &&
      leaderless.error === 'LEADER_NOT_AVAILABLE' &&
      plain.ok === true &&
      kafkajsDelete === 'LEADER_NOT_AVAILABLE' &&
      after.ok === true &&
      onlyFailover.every((s) => s.error === 0);
    console.log(asDescribed ? 'REPRODUCED: kafkajs behaves as README.md describes' : 'NOT REPRODUCED');
    return asDescribed ? 0 : 1;
  } finally {
    await cluster.stop(true);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
