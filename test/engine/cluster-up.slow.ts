// Not in the unit run (`npm run test:slow`; its time is in src/connect/README.md): run it with
// `node --test test/engine/cluster-up.slow.ts`.
// `kstack up --brokers 3` as users run it, from a copy of the project's own Compose stack (its env
// file moving every host port here): three node processes under one supervisor, each broker with
// its own Compose service's node id, published port and KAFKA_* settings. Once every broker
// registered, the baseline topics of kafka-init's file exist at RF 3, the companions the stack
// declares answer with all three brokers as their bootstrap, and each broker serves /metrics.
// Kafka 4.1.1's kafka-topics creates an RF 3
// topic through it; kcat produces acks=all; SIGKILL of the partition leader's process (from outside,
// as a crash) is reported by the supervisor, which starts the node again after its backoff; the
// controller elects a new leader from the ISR, which serves every acknowledged record; the
// restarted node rejoins the ISR.
// Kafka Connect (Apache Kafka's own worker, the stack's kafka-connect companion, its JVM started with
// the nodes; its log in the stack's stream as component kafka-connect) runs through the same kill: its internal topics are compacted at RF 3 with min ISR 2, and a FileStream source → topic →
// FileStream sink pipeline runs through an RF 3 topic led by the broker that is killed; both
// connectors stay RUNNING, the sink's file is byte-identical to the source's again and the topic holds
// every line once, in order. One cluster start and one kill serve both (this was also
// test/connect/cluster.slow.ts, a second three-node start).
// The stack's web UI is given the worker's URL: Chromium on its Connect page (test/ui/connect-visit.ts)
// sees the pipeline's connectors RUNNING with their tasks, creates one from JSON (Connect's error per
// field first), pauses, resumes and deletes it, each read back from the worker; axe-core; screenshots.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin } from '@platformatic/kafka';
import { type Browser, chromium } from 'playwright-core';
import { type Cluster, startCluster } from '../../src/connect/clusters.ts';
import { RESTART_BACKOFF_INITIAL_MS } from '../../src/engine/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { mirrorSource, produce } from '../connect/mirror-support.ts';
import {
  assertSameLines,
  createConnector,
  endOffset,
  fileSink,
  fileSource,
  readTopic,
  sampleLines,
  waitFor as waitForConnect,
  waitForFile,
  waitForState,
} from '../connect/scenarios.ts';
import { kafkajs } from '../rest-proxy/support.ts';
import { SCREENSHOTS, visitConnectPage } from '../ui/connect-visit.ts';
import { copyStack, envPortEdit, KAFKA_FILE } from '../validate/stack-copy.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 21720;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2] as const;
/** The companions' host ports in the copy's env file (docs/team-rules.md), so the stack's own stay free. */
const COMPANION_PORTS = {
  SCHEMA_REGISTRY_PORT: 22400,
  KAFKA_REST_PROXY_PORT: 22401,
  KAFKA_EXPORTER_PORT: 22402,
  KAFKA_UI_PORT: 22403,
  KAFKA_CONNECT_PORT: 22404,
};
/** `--metrics-port`: broker i serves /metrics on METRICS_PORT + i - 1. */
const METRICS_PORT = 22410;
const RESOURCE_BROKER = 4;
const RESOURCE_TOPIC = 2;
const CONTROLLER_OFFSET = 50;
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOOL_TIMEOUT_MS = 120_000;
const POLL_MS = 250;
const ROOT = join(import.meta.dirname, '..', '..');
/** The Connect worker's REST API (the stack's kafka-connect companion). */
const CONNECT = { url: `http://${HOST}:${COMPANION_PORTS.KAFKA_CONNECT_PORT}` };
const CONNECT_INTERNAL_TOPICS = ['_connect-configs', '_connect-offsets', '_connect-status'];
const PIPELINE_TOPIC = 'connect-pipeline';
/** Lines before and after the kill: several batches each way (every tenth line is 2-3 kB). */
const LINES_BEFORE_KILL = 400;
const LINES_AFTER_KILL = 200;
/** The supervisor stops the Connect worker too (SIGTERM, its own SIGKILL after 60 s). */
const STOP_GRACE_MS = 120_000;
const BOOTSTRAP = PORTS.map((port) => `${HOST}:${port}`).join(',');
/** MirrorMaker 2's source: a one-broker `kstack up` beside the stack (docs/team-rules.md). */
const MIRROR_SOURCE_PORT = 25100;
const MIRRORED_RECORDS = 500;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-up-'));
const stack = copyStack([
  ...PORTS.map((port, i) => envPortEdit(`KAFKA_${i + 1}_EXTERNAL_PORT`, port)),
  ...Object.entries(COMPANION_PORTS).map(([variable, port]) => envPortEdit(variable, port)),
  // One service's own settings reach only its broker: a value the engine implements on kafka-2, one
  // it does not on kafka-3 (named on one NOT IMPLEMENTED line with its service).
  {
    file: KAFKA_FILE,
    from: '      KAFKA_NODE_ID: 2\n',
    to: '      KAFKA_NODE_ID: 2\n      KAFKA_MESSAGE_MAX_BYTES: 2000000\n',
  },
  {
    file: KAFKA_FILE,
    from: '      KAFKA_NODE_ID: 3\n',
    to: '      KAFKA_NODE_ID: 3\n      KAFKA_LOG_CLEANER_THREADS: 2\n',
  },
]);
let cluster: KstackProcess | undefined;
/** Started with the stack (a Node process: a few seconds), used once the pipeline has run. */
let mirrorSourceStarting: Promise<Cluster> | undefined;
/** Debian's Chromium (scripts/setup/15-browser.sh), launched with the stack for the UI's Connect page. */
let browserStarting: Promise<Browser> | undefined;
const CHROMIUM = '/usr/bin/chromium';

after(async () => {
  await (await browserStarting?.catch(() => undefined))?.close();
  await cluster?.stop(STOP_GRACE_MS);
  await (await mirrorSourceStarting?.catch(() => undefined))?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  stack.remove();
});

/** kcat as a separate process; `input` goes to its stdin (an early exit is not an error here). */
function kcat(
  args: readonly string[],
  input = '',
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => {});
    const timer = setTimeout(() => child.kill('SIGKILL'), TOOL_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${cluster?.output ?? ''}`);
    await sleep(POLL_MS);
  }
}

interface KcatPartition {
  partition: number;
  leader: number;
  replicas: { id: number }[];
  isrs: { id: number }[];
}

/** Partition 0 of `topic` as the broker on `port` describes it (kcat -L), or undefined. */
async function describe(port: number, topic: string): Promise<KcatPartition | undefined> {
  const result = await kcat(['-b', `${HOST}:${port}`, '-L', '-J', '-t', topic, '-m', '10']);
  if (result.code !== 0) return undefined;
  const metadata = JSON.parse(result.stdout) as { topics: { topic: string; partitions: KcatPartition[] }[] };
  return metadata.topics.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === 0);
}

function topicsTool(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['org.apache.kafka.tools.TopicCommand', '--bootstrap-server', BOOTSTRAP, ...args],
      { timeout: TOOL_TIMEOUT_MS },
      (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
      },
    );
  });
}

let startedAtMs = 0;

test('kstack up --brokers 3 from the Compose stack: per-broker settings, baseline topics at RF 3, companions, /metrics, Connect; RF 3 topic, acks=all, SIGKILL of the leader, every record back, a Connect pipeline through it RUNNING and complete, the node rejoins', async () => {
  const startedAt = performance.now();
  startedAtMs = startedAt;
  mirrorSourceStarting = startCluster('kstack', MIRROR_SOURCE_PORT, join(dataDir, 'mirror-source'));
  mirrorSourceStarting.catch(() => {}); // Awaited in the test; a failure is reported there.
  cluster = await KstackProcess.start(
    {
      args: [
        '--brokers',
        '3',
        '--compose',
        stack.rootFile,
        '--metrics-port',
        String(METRICS_PORT),
        '--data-dir',
        dataDir,
        '--override',
        `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
        '--override',
        `broker.heartbeat.interval.ms=${HEARTBEAT_INTERVAL_MS}`,
      ],
      ports: PORTS,
      // As users run it: fault proxies, the fault control, a crashed node restarted.
      faults: true,
      // Every line from the start: the node, NOT IMPLEMENTED and baseline-topic lines are checked.
      // The Connect worker's INFO log is in the stream too (about 0.2 MB at start).
      outputTailBytes: 16 * 1024 * 1024,
    },
    WAIT_MS,
  );
  const running = cluster;
  await waitFor('the bootstrap servers line', () =>
    running.notices.includes(`bootstrap servers: ${BOOTSTRAP}`) ? true : undefined,
  );
  console.log(`start to ready: ${Math.round(performance.now() - startedAt)} ms`);
  // Launched once the nodes answer, not beside their start on a loaded machine; used after the failover.
  browserStarting = chromium.launch({ executablePath: CHROMIUM, timeout: WAIT_MS });
  browserStarting.catch(() => {}); // Awaited in the test.
  const pids = new Map<number, number>();
  for (const match of running.output.matchAll(/kstack: node (\d+) pid (\d+):/g)) {
    pids.set(Number(match[1]), Number(match[2]));
  }
  assert.equal(pids.size, 3, running.output);
  await checkStackServed(running.output);

  const created = await topicsTool(
    '--create',
    '--topic',
    'ledger',
    '--partitions',
    '1',
    '--replication-factor',
    '3',
  );
  assert.equal(created.code, 0, `kafka-topics --create: ${created.stderr}`);
  const before = await waitFor('ledger-0 with a full ISR', async () => {
    const partition = await describe(PORTS[0], 'ledger');
    return partition !== undefined && partition.isrs.length === 3 ? partition : undefined;
  });
  assert.deepEqual(before.replicas.map((r) => r.id).sort(), [1, 2, 3]);

  const records = Array.from({ length: 300 }, (_, i) => `entry-${i}`);
  const produced = await kcat(
    ['-P', '-b', BOOTSTRAP, '-t', 'ledger', '-p', '0', '-X', 'acks=all'],
    `${records.join('\n')}\n`,
  );
  assert.equal(produced.code, 0, `kcat -P acks=all: ${produced.stderr}`);

  const victim = before.leader;
  const pipeline = await startPipeline(victim);

  const killedAt = performance.now();
  process.kill(pids.get(victim)!, 'SIGKILL');
  const survivor = PORTS[victim === 1 ? 1 : 0];
  const after = await waitFor('a new leader for ledger-0', async () => {
    const partition = await describe(survivor, 'ledger');
    return partition !== undefined && partition.leader > 0 && partition.leader !== victim
      ? partition
      : undefined;
  });
  console.log(
    `failover: leader ${victim} -> ${after.leader} in ${Math.round(performance.now() - killedAt)} ms (session ${SESSION_TIMEOUT_MS} ms)`,
  );
  assert.ok(!after.isrs.some((r) => r.id === victim), 'the killed broker left the ISR');
  assert.match(
    running.output,
    new RegExp(
      `node ${victim} \\(pid ${pids.get(victim)}\\) exited \\(SIGKILL\\); restarting it in ${RESTART_BACKOFF_INITIAL_MS} ms`,
    ),
  );

  // The new leader serves up to its high watermark, which passes the acknowledged records once the
  // other ISR member has fetched in the new epoch: read until they are all there (or time out).
  const consumed = await waitFor('every acknowledged record from the new leader', async () => {
    const result = await kcat([
      '-C',
      '-b',
      `${HOST}:${PORTS[after.leader - 1]}`,
      '-t',
      'ledger',
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    return result.code === 0 && lines.length >= records.length ? lines : undefined;
  });
  assert.deepEqual(consumed, records);
  await pipeline.afterKill(killedAt);

  // The supervisor started it again (a new pid), and it rejoins the ISR.
  const restartedPid = await waitFor('the restarted node line', async () => {
    const lines = [...running.output.matchAll(new RegExp(`kstack: node ${victim} pid (\\d+):`, 'g'))];
    return lines.length === 2 ? Number(lines[1]![1]) : undefined;
  });
  assert.notEqual(restartedPid, pids.get(victim));
  await waitFor('the restarted broker back in the ISR', async () => {
    const partition = await describe(survivor, 'ledger');
    return partition?.isrs.some((r) => r.id === victim) ? true : undefined;
  });
  await connectPageInBrowser();
  await mirrorIntoStack();
  const exit = await running.stop(STOP_GRACE_MS);
  assert.deepEqual(
    exit,
    { code: 1, signal: null },
    'a node crashed (and came back), so the supervisor exits 1',
  );
});

/** What `kstack up --brokers 3` made of the Compose stack, as clients see it. */
async function checkStackServed(output: string): Promise<void> {
  for (const [i, port] of PORTS.entries()) {
    assert.match(
      output,
      new RegExp(
        `node ${i + 1} pid \\d+: broker ${HOST}:${port}, controller ${HOST}:${port + CONTROLLER_OFFSET}`,
      ),
    );
  }
  const unimplemented = output.split('\n').filter((line) => line.includes('NOT IMPLEMENTED'));
  assert.equal(unimplemented.length, 1, output);
  assert.match(unimplemented[0]!, /kafka-3: .*log\.cleaner\.threads=2 \(KAFKA_LOG_CLEANER_THREADS, /);
  assert.doesNotMatch(output, /lowered for 3 brokers/);
  assert.match(
    output,
    /baseline topics: done: create events-topic partitions=3 replication-factor=3 min\.insync\.replicas=2/,
  );

  const admin = new Admin({ clientId: 'cluster-up-test', bootstrapBrokers: BOOTSTRAP.split(',') });
  try {
    const metadata = await admin.metadata({ topics: ['events-topic'], forceUpdate: true });
    const topic = metadata.topics.get('events-topic');
    assert.equal(topic?.partitionsCount, 3);
    for (const partition of topic?.partitions ?? []) {
      assert.deepEqual([...partition.replicas].sort(), [1, 2, 3], 'events-topic at RF 3');
    }
    const [topicConfigs] = await admin.describeConfigs({
      resources: [
        {
          resourceType: RESOURCE_TOPIC,
          resourceName: 'events-topic',
          configurationKeys: ['min.insync.replicas'],
        },
      ],
    });
    assert.equal(topicConfigs?.configs[0]?.value, '2');
    // Each broker runs its own service's settings: message.max.bytes is set on kafka-2 only.
    const described = await admin.describeConfigs({
      resources: ['1', '2', '3'].map((id) => ({
        resourceType: RESOURCE_BROKER,
        resourceName: id,
        configurationKeys: ['message.max.bytes', 'group.initial.rebalance.delay.ms', 'min.insync.replicas'],
      })),
    });
    const value = (broker: number, name: string) =>
      described.find((entry) => entry.resourceName === String(broker))?.configs.find((c) => c.name === name)
        ?.value;
    assert.deepEqual(
      [1, 2, 3].map((id) => value(id, 'message.max.bytes')),
      ['1048588', '2000000', '1048588'],
    );
    assert.deepEqual(
      [1, 2, 3].map((id) => value(id, 'group.initial.rebalance.delay.ms')),
      ['0', '0', '0'],
    );
    assert.deepEqual(
      [1, 2, 3].map((id) => value(id, 'min.insync.replicas')),
      ['2', '2', '2'],
    );
  } finally {
    await admin.close();
  }

  // The companions, each on its published port, are clients of all three brokers.
  const { SCHEMA_REGISTRY_PORT, KAFKA_REST_PROXY_PORT, KAFKA_EXPORTER_PORT, KAFKA_UI_PORT } = COMPANION_PORTS;
  assert.match(
    output,
    new RegExp(`Kafka Connect \\(kafka-connect\\) on ${CONNECT.url.replaceAll('.', '\\.')}\n`),
  );
  assert.deepEqual(await (await fetch(`http://${HOST}:${SCHEMA_REGISTRY_PORT}/subjects`)).json(), []);
  const topics = (await (await fetch(`http://${HOST}:${KAFKA_REST_PROXY_PORT}/topics`)).json()) as string[];
  assert.ok(topics.includes('events-topic'), JSON.stringify(topics));
  const exported = await (await fetch(`http://${HOST}:${KAFKA_EXPORTER_PORT}/metrics`)).text();
  assert.match(exported, /^kafka_brokers 3$/m);
  assert.match(exported, /^kafka_topic_partitions\{topic="events-topic"\} 3$/m);
  const ui = (await (await fetch(`http://${HOST}:${KAFKA_UI_PORT}/api/cluster`)).json()) as {
    bootstrap: string;
    brokers: { id: number }[];
    connect: string | null;
  };
  assert.equal(ui.bootstrap, BOOTSTRAP);
  // kstack up gives its UI the Connect companion's URL (the Connect page: connectPageInBrowser).
  assert.equal(ui.connect, CONNECT.url);
  assert.deepEqual(
    ui.brokers.map((broker) => broker.id),
    [1, 2, 3],
  );

  // One /metrics per broker, on consecutive ports.
  for (const i of [0, 1, 2]) {
    const response = await fetch(`http://${HOST}:${METRICS_PORT + i}/metrics`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^kafka_server_/m);
  }
}

/** The stack's web UI, given the worker's URL by kstack up, used on its Connect page in Chromium. */
async function connectPageInBrowser(): Promise<void> {
  const browser = await browserStarting!;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const startedAt = performance.now();
  try {
    await visitConnectPage({
      page,
      uiUrl: `http://${HOST}:${COMPANION_PORTS.KAFKA_UI_PORT}`,
      worker: CONNECT,
      running: ['cluster-source', 'cluster-sink'],
      name: 'ui-lines-source',
      file: join(dataDir, 'ui-lines.txt'),
      topic: 'ui-lines',
      prefix: 'stack-',
      waitMs: WAIT_MS,
    });
  } finally {
    await page.close();
  }
  console.log(`the UI's Connect page in Chromium: ${Math.round(performance.now() - startedAt)} ms`);
}

/**
 * MirrorMaker 2 in CI, one direction (test/connect/clusters.slow.ts runs Apache Kafka <-> kstack both ways):
 * Kafka's MirrorSourceConnector in the stack's own worker mirrors a topic of a one-broker kstack into
 * the three-node stack at RF 3: the same records, in order, in `src.mirror-in`. kstack serves MM2 as a
 * source (its consumer, the offset-syncs topic) and as a target (the producer, the new topic).
 */
async function mirrorIntoStack(): Promise<void> {
  const source = await mirrorSourceStarting!;
  const startedAt = performance.now();
  const values = Array.from({ length: MIRRORED_RECORDS }, (_, i) => `mirrored ${i} ${'x'.repeat(i % 97)}`);
  await produce(source.bootstrap, 'mirror-in', values);
  await createConnector(CONNECT, 'mirror-in-stack', {
    ...mirrorSource('src', source, 'stack', { bootstrap: BOOTSTRAP }, 'mirror-in'),
    'replication.factor': '3',
  });
  await waitForState(CONNECT, 'mirror-in-stack', 'RUNNING');
  assertSameLines(await readTopic(BOOTSTRAP, 'src.mirror-in', MIRRORED_RECORDS), values, 'src.mirror-in');
  const mirrored = await describe(PORTS[0], 'src.mirror-in');
  assert.equal(mirrored?.replicas.length, 3, 'src.mirror-in at RF 3 on the stack');
  console.log(
    `MirrorMaker 2: ${MIRRORED_RECORDS} records from a one-broker kstack into the stack in ${Math.round(performance.now() - startedAt)} ms from the produce`,
  );
}

interface StreamLine {
  level: string;
  component: string;
  msg: string;
  logger?: string;
  connector?: string;
  task?: number;
}

/** The stack's JSON log lines of component kafka-connect (the companion's and the worker's own). */
function connectLines(): StreamLine[] {
  const lines: StreamLine[] = [];
  for (const text of (cluster?.output ?? '').split('\n')) {
    if (!text.startsWith('{') || !text.includes('"component":"kafka-connect"')) continue;
    try {
      lines.push(JSON.parse(text) as StreamLine);
    } catch {
      // The first line of the kept tail may be cut.
    }
  }
  return lines;
}

/**
 * Connect's part, up to the kill: the worker answers, its internal topics are compacted at RF 3 with
 * min ISR 2, and 400 lines go from a FileStream source through an RF 3 topic led by `victim` to a
 * FileStream sink. `afterKill` appends 200 more lines once `victim` is killed and checks the rest.
 */
async function startPipeline(victim: number): Promise<{ afterKill(killedAt: number): Promise<void> }> {
  const readyAt = await waitForConnect('the Connect worker to answer', async () => {
    const response = await fetch(`${CONNECT.url}/connectors`, { signal: AbortSignal.timeout(10_000) });
    return response.status === 200 ? performance.now() : undefined;
  });
  // The companion's own line in the stack's stream: its JVM's spawn to /health 200 (the JVM spawns
  // when kstack up starts, beside the nodes, and waits for the cluster).
  const spawnToReady = await waitFor("the companion's ready line", () => {
    const line = connectLines().find((l) => /^Kafka Connect ready at \S+ in \d+ ms$/.test(l.msg));
    return line === undefined ? undefined : Number(/in (\d+) ms/.exec(line.msg)![1]);
  });
  console.log(
    `Connect worker answering ${Math.round(readyAt - startedAtMs)} ms after kstack up started (its JVM spawn to ready ${spawnToReady} ms)`,
  );
  // The worker's own log is in the stack's stream: Kafka's logger names, the level mapped from log4j's.
  const where = connectLines().find((l) => l.msg.startsWith('Kafka Connect worker starting on port'));
  assert.match(where?.msg ?? '', new RegExp(`full log \\(INFO\\) in ${dataDir}/connect/logs/server\\.log$`));
  assert.ok(
    connectLines().some(
      (l) =>
        l.level === 'info' && l.logger === 'org.apache.kafka.connect.runtime.distributed.DistributedHerder',
    ),
    "the worker's DistributedHerder INFO lines in the stack's stream",
  );
  assert.match(
    readFileSync(join(dataDir, 'connect', 'logs', 'server.log'), 'utf8'),
    /INFO .*Joined group at generation/,
  );
  const admin = kafkajs(BOOTSTRAP).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: CONNECT_INTERNAL_TOPICS });
    assert.equal(topics.length, CONNECT_INTERNAL_TOPICS.length);
    for (const topic of topics) {
      for (const partition of topic.partitions) {
        assert.deepEqual([...partition.replicas].sort(), [1, 2, 3], `${topic.name}-${partition.partitionId}`);
      }
    }
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: CONNECT_INTERNAL_TOPICS.map((name) => ({
        type: RESOURCE_TOPIC,
        name,
        configNames: ['cleanup.policy', 'min.insync.replicas'],
      })),
    });
    for (const resource of described.resources) {
      assert.deepEqual(
        Object.fromEntries(resource.configEntries.map((e) => [e.configName, e.configValue])),
        { 'cleanup.policy': 'compact', 'min.insync.replicas': '2' },
        resource.resourceName,
      );
    }
    // Led by the broker the test kills (its preferred leader), so one kill tests both.
    const replicas = [victim, ...[1, 2, 3].filter((id) => id !== victim)];
    await admin.createTopics({
      topics: [{ topic: PIPELINE_TOPIC, replicaAssignment: [{ partition: 0, replicas }] }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const led = await waitFor(`${PIPELINE_TOPIC}-0 with a full ISR`, async () => {
    const partition = await describe(PORTS[0], PIPELINE_TOPIC);
    return partition !== undefined && partition.isrs.length === 3 ? partition : undefined;
  });
  assert.equal(led.leader, victim, `${PIPELINE_TOPIC}-0 led by its first replica, the broker to kill`);

  const input = join(dataDir, 'connect-in.txt');
  const output = join(dataDir, 'connect-out.txt');
  const first = sampleLines('first', LINES_BEFORE_KILL, 11, true);
  writeFileSync(input, `${first.join('\n')}\n`);
  await createConnector(CONNECT, 'cluster-source', fileSource(input, PIPELINE_TOPIC));
  await createConnector(CONNECT, 'cluster-sink', fileSink(output, PIPELINE_TOPIC));
  await waitForState(CONNECT, 'cluster-source', 'RUNNING');
  await waitForState(CONNECT, 'cluster-sink', 'RUNNING');
  const pipelineAt = performance.now();
  await waitForFile(output, readFileSync(input));
  console.log(
    `Connect: ${first.length} lines through source, topic and sink in ${Math.round(performance.now() - pipelineAt)} ms after both RUNNING`,
  );
  return {
    async afterKill(killedAt: number) {
      const second = sampleLines('second', LINES_AFTER_KILL, 12, true);
      appendFileSync(input, `${second.join('\n')}\n`);
      const survivor = PORTS[victim === 1 ? 1 : 0];
      const moved = await waitFor(`a new leader for ${PIPELINE_TOPIC}-0`, async () => {
        const partition = await describe(survivor, PIPELINE_TOPIC);
        return partition !== undefined && partition.leader > 0 && partition.leader !== victim
          ? partition
          : undefined;
      });
      await waitForFile(output, readFileSync(input));
      console.log(
        `Connect: leader ${victim} -> ${moved.leader}; the sink's file complete ${Math.round(performance.now() - killedAt)} ms after the kill`,
      );
      for (const name of ['cluster-source', 'cluster-sink']) await waitForState(CONNECT, name, 'RUNNING');
      // The connectors' tasks log under their names (Connect's connector.context) in the stack's stream.
      assert.ok(
        connectLines().some((l) => l.connector === 'cluster-source' && l.task === 0),
        "a line of cluster-source's task 0",
      );
      // The topic holds each line once, in order.
      const total = first.length + second.length;
      assert.equal(await endOffset(BOOTSTRAP, PIPELINE_TOPIC), BigInt(total));
      assertSameLines(
        await readTopic(BOOTSTRAP, PIPELINE_TOPIC, total),
        [...first, ...second],
        PIPELINE_TOPIC,
      );
    },
  };
}
