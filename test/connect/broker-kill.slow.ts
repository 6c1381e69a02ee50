/**
 * A broker killed (SIGKILL) under running connectors, on Apache Kafka 4.1.1 (the reference, three
 * nodes) and on kstack (the three `kstack node` processes `kstack up --brokers 3` runs) side by side
 * in one run, so a failure points at kstack or at the test. Each cluster gets Kafka's own Connect
 * worker (a JVM, client JIT only); the two clusters and their workers start once, side by side.
 *
 * On each: a FileStream source → topic → FileStream sink pipeline through an RF 3 topic (min ISR 2)
 * led by the node the test kills; 400 lines through it byte for byte, then the leader's process is
 * killed and 200 more lines appended: a new leader is elected, both connectors stay RUNNING, the
 * sink's file is byte-identical to the source's again, and the topic holds each line once, in order
 * (Connect's source producer writes with acks=all: nothing acknowledged lost, nothing repeated). Both
 * connectors' offsets are committed before the kill (the sink's consumer offset, the source's
 * position), so neither may legitimately read again what it had. Before the kill, `kstack status` run in a copy of the Compose stack whose
 * published ports are the cluster's and its worker's shows that worker without `--connect-url`, and
 * leaves it out for another cluster (its cluster id differs).
 *
 * `test/engine/cluster-up.slow.ts` kills a node of `kstack up --brokers 3` (the stack's own worker,
 * the node restarted by the stack's supervisor); this file runs the same cut against the reference.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KstackCluster } from '../../compat/runner/kstack-cluster.ts';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import { CONNECT_CLUSTER_WAIT_MS } from '../../src/engine/companions.ts';
import { kafkajs } from '../rest-proxy/support.ts';
import { copyStack, envPortEdit, REPO_ROOT } from '../validate/stack-copy.ts';
import {
  assertSameLines,
  createConnector,
  endOffset,
  fileSink,
  fileSource,
  readTopic,
  rest,
  sampleLines,
  waitFor,
  waitForFile,
  waitForState,
} from './scenarios.ts';

type Kind = 'reference' | 'kstack';
const KINDS: readonly Kind[] = ['reference', 'kstack'];
/** Node N's broker on base + N - 1, its controller 50 above (docs/team-rules.md). */
const PORTS = {
  reference: { base: 27220, worker: 27223 },
  kstack: { base: 27230, worker: 27233 },
} as const;
const NODES = [1, 2, 3] as const;
/** The node killed: the pipeline topic's preferred leader. */
const VICTIM = 2;
const TOPIC = 'connect-broker-kill';
/** Lines before and after the kill (every tenth line is 2-3 kB: several batches each way). */
const LINES_BEFORE_KILL = 400;
const LINES_AFTER_KILL = 200;
/** Source offsets committed every 5 s instead of 60, so the committed position is seen soon. */
const WORKER_OVERRIDES: ReadonlyMap<string, string> = new Map([['offset.flush.interval.ms', '5000']]);
/** The client JIT only, as the other Connect tests: the two cores are not shared with C2's threads. */
const JVM_OPTIONS: readonly string[] = ['-XX:TieredStopAtLevel=1'];
const TOOL_TIMEOUT_MS = 120_000;
/**
 * The reference's three JVMs to answering Metadata: beside kstack's nodes and its worker's JVM they
 * missed the launcher's default 120 s three times in six runs at load 44-76 (73-129 s when they made it).
 */
const REFERENCE_READY_TIMEOUT_MS = 300_000;
/** The worker's JVM spawn to ready, waiting for three reference JVMs on a loaded 2-core machine. */
const WORKER_READY_TIMEOUT_MS = 360_000;

interface Side {
  readonly kind: Kind;
  readonly dir: string;
  readonly worker: ConnectWorker;
  /** Every node's address, and the addresses of the nodes still running. */
  readonly bootstrap: string;
  survivors(): string;
  killNode(id: number): Promise<void>;
  stop(): Promise<void>;
}

function addresses(base: number, ids: readonly number[]): string {
  return ids.map((id) => `127.0.0.1:${base + id - 1}`).join(',');
}

/**
 * Three nodes of `kind` and a Connect worker on them, told of three brokers, its clients waiting for
 * the cluster (as `kstack up` starts its worker). What started is stopped again if either fails.
 */
async function startSide(kind: Kind): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `kstack-connect-kill-${kind}-`));
  const { base } = PORTS[kind];
  const bootstrap = addresses(base, NODES);
  const cluster =
    kind === 'reference'
      ? new ReferenceCluster({ nodes: NODES.length, basePort: base, dataDir: join(dir, 'cluster') })
      : new KstackCluster({
          nodes: NODES.length,
          basePort: base,
          dataDir: join(dir, 'cluster'),
          log: (line) => console.log(line),
        });
  const startedAt = performance.now();
  const workDir = join(dir, 'worker');
  mkdirSync(workDir);
  const abort = new AbortController();
  const clusterReady = (
    cluster instanceof ReferenceCluster ? cluster.start(REFERENCE_READY_TIMEOUT_MS) : cluster.start()
  ).then(
    () => Math.round(performance.now() - startedAt),
    (error: unknown) => {
      abort.abort(error);
      throw error;
    },
  );
  // kstack's nodes are light: its worker's JVM starts with them. The reference's three JVMs are not
  // (REFERENCE_READY_TIMEOUT_MS), so its worker starts once they answer.
  const workerStarting = (kind === 'kstack' ? Promise.resolve() : clusterReady).then(() =>
    startConnectWorker({
      bootstrap,
      port: PORTS[kind].worker,
      workDir,
      brokerCount: NODES.length,
      overrides: new Map([...WORKER_OVERRIDES, ['default.api.timeout.ms', String(CONNECT_CLUSTER_WAIT_MS)]]),
      jvmOptions: JVM_OPTIONS,
      readyTimeoutMs: WORKER_READY_TIMEOUT_MS,
      signal: abort.signal,
    }),
  );
  const [clusterStarted, workerStarted] = await Promise.allSettled([clusterReady, workerStarting]);
  if (clusterStarted.status === 'rejected' || workerStarted.status === 'rejected') {
    if (workerStarted.status === 'fulfilled') await workerStarted.value.stop();
    await cluster.stop(true);
    rmSync(dir, { recursive: true, force: true });
    throw clusterStarted.status === 'rejected'
      ? clusterStarted.reason
      : (workerStarted as PromiseRejectedResult).reason;
  }
  const worker = workerStarted.value;
  console.log(
    `${kind}: 3 nodes ready in ${clusterStarted.value} ms; the worker's JVM to ready ${worker.startToReadyMs} ms`,
  );
  return {
    kind,
    dir,
    worker,
    bootstrap,
    survivors: () => addresses(base, cluster.running()),
    killNode: (id) => cluster.stopNode(id, 'SIGKILL'),
    async stop() {
      await worker.stop();
      await cluster.stop(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface PartitionView {
  readonly leader: number;
  readonly isr: readonly number[];
}

/** Partition 0 of `topic` as Metadata gives it (kafkajs, a client we did not write). */
async function partitionOf(bootstrap: string, topic: string): Promise<PartitionView | undefined> {
  const admin = kafkajs(bootstrap).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partition = topics[0]?.partitions.find((p) => p.partitionId === 0);
    return partition === undefined ? undefined : { leader: partition.leader, isr: partition.isr };
  } finally {
    await admin.disconnect();
  }
}

/** The RF 3 topic, VICTIM its first replica (its preferred leader), with its full ISR. */
async function createLedTopic(side: Side): Promise<void> {
  const admin = kafkajs(side.bootstrap).admin();
  await admin.connect();
  try {
    const replicas = [VICTIM, ...NODES.filter((id) => id !== VICTIM)];
    await admin.createTopics({
      topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas }] }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const led = await waitFor(`${side.kind}: ${TOPIC}-0 with a full ISR`, async () => {
    const partition = await partitionOf(side.bootstrap, TOPIC);
    return partition !== undefined && partition.isr.length === NODES.length ? partition : undefined;
  });
  assert.equal(led.leader, VICTIM, `${side.kind}: ${TOPIC}-0 led by its first replica, the node to kill`);
}

/** The pipeline through the topic, the kill of its leader, and what must hold after it. */
async function brokerKilledUnderConnectors(side: Side): Promise<void> {
  await createLedTopic(side);
  const input = join(side.dir, 'in.txt');
  const output = join(side.dir, 'out.txt');
  const first = sampleLines('before', LINES_BEFORE_KILL, 21, true);
  writeFileSync(input, `${first.join('\n')}\n`);
  await createConnector(side.worker, 'kill-source', fileSource(input, TOPIC));
  await createConnector(side.worker, 'kill-sink', fileSink(output, TOPIC));
  await waitForState(side.worker, 'kill-source', 'RUNNING');
  await waitForState(side.worker, 'kill-sink', 'RUNNING');
  const pipelineAt = performance.now();
  await waitForFile(output, readFileSync(input));
  // Both committed before the kill, so neither may read again what it had: the sink's consumer
  // offsets (a sink re-reads from its last commit, at least once) and the source's position.
  await Promise.all([
    waitForSinkOffset(side, first.length),
    waitForSourcePosition(side, readFileSync(input).length),
  ]);

  const killedAt = performance.now();
  console.log(
    `${side.kind}: ${first.length} lines through the pipeline and committed in ${Math.round(killedAt - pipelineAt)} ms; killing node ${VICTIM}`,
  );
  await side.killNode(VICTIM);
  const second = sampleLines('after', LINES_AFTER_KILL, 22, true);
  appendFileSync(input, `${second.join('\n')}\n`);
  const moved = await waitFor(`${side.kind}: a new leader for ${TOPIC}-0`, async () => {
    const partition = await partitionOf(side.survivors(), TOPIC);
    return partition !== undefined && partition.leader > 0 && partition.leader !== VICTIM
      ? partition
      : undefined;
  });
  // The topic first: each line once, in order (the source's acks=all producer lost and repeated nothing).
  const total = first.length + second.length;
  assertSameLines(await readTopic(side.survivors(), TOPIC, total), [...first, ...second], TOPIC);
  assert.equal(
    await endOffset(side.survivors(), TOPIC),
    BigInt(total),
    `${side.kind}: ${TOPIC}'s end offset`,
  );
  await sinkFileComplete(side, output, readFileSync(input));
  console.log(
    `${side.kind}: leader ${VICTIM} -> ${moved.leader}; the sink's file complete ${Math.round(performance.now() - killedAt)} ms after the kill`,
  );
  // Not asked after the kill: Connect's GET /connectors/NAME/offsets did not answer within 180 s on
  // either cluster once a node was gone (Connect's offset reader), while both connectors ran on.
  for (const name of ['kill-source', 'kill-sink']) await waitForState(side.worker, name, 'RUNNING');
}

/** The sink's committed consumer offset of TOPIC-0 (Connect's GET /connectors/NAME/offsets). */
async function waitForSinkOffset(side: Side, offset: number): Promise<void> {
  await waitFor(`${side.kind}: kill-sink's committed offset to reach ${offset}`, async () => {
    const answer = await rest(side.worker, 'GET', '/connectors/kill-sink/offsets');
    const body = answer.body as { offsets?: { offset?: { kafka_offset?: number } }[] };
    return body.offsets?.[0]?.offset?.kafka_offset === offset ? true : undefined;
  });
}

/** The source's committed position in its file: Connect commits it once the brokers acknowledged the records. */
async function waitForSourcePosition(side: Side, position: number): Promise<void> {
  await waitFor(`${side.kind}: kill-source's committed position to reach ${position}`, async () => {
    const answer = await rest(side.worker, 'GET', '/connectors/kill-source/offsets');
    const body = answer.body as { offsets?: { offset?: { position?: number } }[] };
    return body.offsets?.[0]?.offset?.position === position ? true : undefined;
  });
}

/** waitForFile, and when the sink wrote more or other lines, which (the first repeated line, the counts). */
async function sinkFileComplete(side: Side, output: string, expected: Buffer): Promise<void> {
  try {
    await waitForFile(output, expected);
  } catch (error) {
    const lines = readFileSync(output, 'utf8').split('\n').slice(0, -1);
    const seen = new Map<string, number>();
    const repeated = lines.findIndex((line, i) => {
      if (seen.has(line)) return true;
      seen.set(line, i);
      return false;
    });
    throw new Error(
      `${side.kind}: the sink's file holds ${lines.length} lines for ${expected.toString('utf8').split('\n').length - 1} sent; ${repeated < 0 ? 'none repeated' : `line ${repeated} repeats line ${seen.get(lines[repeated]!)}`}: ${(error as Error).message}`,
    );
  }
}

/** `kstack status` run in `cwd` (a copy of the Compose stack), as a user runs it there. */
function statusIn(
  cwd: string,
  ...flags: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'kstack.ts'), 'status', ...flags],
      { cwd, timeout: TOOL_TIMEOUT_MS },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}

/**
 * In a copy of the Compose stack whose first broker and kafka-connect publish the side's node 1 and
 * worker ports: `kstack status` without flags shows the worker as its REST API says; pointed at the
 * other cluster, it leaves the worker out (another cluster's id).
 */
async function statusFindsTheStacksWorker(side: Side, other: Side): Promise<void> {
  const stack = copyStack([
    envPortEdit('KAFKA_1_EXTERNAL_PORT', PORTS[side.kind].base),
    envPortEdit('KAFKA_CONNECT_PORT', PORTS[side.kind].worker),
  ]);
  try {
    const root = (await rest(side.worker, 'GET', '/')).body as { version: string; kafka_cluster_id: string };
    const [json, elsewhere] = await Promise.all([
      statusIn(stack.dir, '--format', 'json'),
      statusIn(stack.dir, '--bootstrap-server', other.bootstrap.split(',')[0]!),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const read = JSON.parse(json.stdout) as { bootstrap: string; clusterId: string; connect?: unknown };
    assert.equal(read.bootstrap, `127.0.0.1:${PORTS[side.kind].base}`);
    assert.equal(read.clusterId, root.kafka_cluster_id);
    assert.deepEqual(read.connect, {
      url: side.worker.url,
      answering: true,
      version: root.version,
      kafkaClusterId: root.kafka_cluster_id,
      connectors: [],
    });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.doesNotMatch(elsewhere.stdout, /Kafka Connect/, "another cluster's status leaves this worker out");
  } finally {
    stack.remove();
  }
}

describe('a broker killed under running connectors, on Apache Kafka and on kstack', {
  timeout: 900_000,
}, () => {
  const sides = new Map<Kind, Side>();
  const sideOf = (kind: Kind): Side => {
    const side = sides.get(kind);
    assert.ok(side !== undefined, `${kind} did not start`);
    return side;
  };
  before(async () => {
    const started = await Promise.allSettled(KINDS.map(startSide));
    for (const [i, result] of started.entries()) {
      if (result.status === 'fulfilled') sides.set(KINDS[i]!, result.value);
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  });
  after(async () => {
    await Promise.allSettled([...sides.values()].map((side) => side.stop()));
  });

  it("kstack status shows the Compose stack's worker without --connect-url, for its own cluster only", async () => {
    await Promise.all([
      statusFindsTheStacksWorker(sideOf('kstack'), sideOf('reference')),
      statusFindsTheStacksWorker(sideOf('reference'), sideOf('kstack')),
    ]);
  });

  describe('SIGKILL of the leader of the connectors topic', { concurrency: true }, () => {
    for (const kind of KINDS) {
      it(`${kind}: the connectors stay RUNNING, every line arrives once, in order, in the topic and the sink's file`, () =>
        brokerKilledUnderConnectors(sideOf(kind)));
    }
  });
});
