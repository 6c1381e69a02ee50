/**
 * `kstack bench --compare --brokers 3`: the three-broker cluster of `kstack up --brokers 3` beside
 * the three-node Apache Kafka reference, started one after the other (never at the same time),
 * loaded alike: acks=all produce throughput on replication factor 3 (min ISR 2, both clusters'
 * default), end-to-end latency at acks=all, the failover of a partition leader killed with SIGKILL
 * under acks=all load (until the first acknowledged write sent after the kill, and until its ISR
 * is full again), and the nodes' idle resident memory. Both clusters run with the same
 * `broker.session.timeout.ms` and `broker.heartbeat.interval.ms` (Kafka's defaults unless told).
 * A killed kstack node is restarted by the supervisor (as `kstack up` does); a killed Kafka node is
 * started again here at once (as a container's restart policy would). It reports; it asserts nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, ProduceAcks, Producer } from '@platformatic/kafka';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../engine/process.ts';
import type { BenchOptions } from './command.ts';
import { type LatencyResult, measureEndToEndLatency } from './latency.ts';
import { type LoadTarget, measureProduce, type ThroughputResult, withTopic } from './load.ts';
import { type MachineLoad, machineLoad } from './machine.ts';
import { median, residentBytes } from './stats.ts';

const HOST = '127.0.0.1';
export const CLUSTER_NODES = 3;
/** Kafka's defaults for the liveness of brokers; both clusters get the same. */
export const SESSION_TIMEOUT_MS_DEFAULT = 9_000;
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 2_000;
/** kstack's cluster on P..P+2 (controllers P+50..), its fault control on P+10; Kafka's on P+20..P+22 (controllers P+70..). */
const REFERENCE_PORT_OFFSET = 20;
const FAULT_CONTROL_PORT_OFFSET = 10;
const READY_TIMEOUT_MS = 120_000;
/** Idle resident memory is read this long after the cluster is ready. */
const SETTLE_MS = 3_000;
/** The failover load: one acks=all send of one record started every FAILOVER_SEND_INTERVAL_MS. */
const FAILOVER_SEND_INTERVAL_MS = 10;
/** Sends in flight beyond this are not started (counted as skipped): the load stays bounded. */
const FAILOVER_IN_FLIGHT_MAX = 200;
/** Load before the kill, so the producer is connected and the cluster warm. */
const FAILOVER_WARMUP_MS = 2_000;
/** Waiting for the first acknowledgement after the kill, and for the full ISR, each gives up after this. */
const FAILOVER_WAIT_MS = 180_000;
const ISR_POLL_MS = 100;
/** A fresh client's attempt: its request timeout, and the pause between attempts. */
const PROBE_TIMEOUT_MS = 3_000;
const PROBE_INTERVAL_MS = 250;
/** The failover producer's request bound: a send to the killed leader ends after this, then retries. */
const FAILOVER_REQUEST_TIMEOUT_MS = 5_000;
const PRODUCE_PARTITIONS = [1, 6] as const;
const RECORD_BYTES_FAILOVER = 100;

export interface ClusterBenchOptions extends BenchOptions {
  basePort: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface FailoverResult {
  leader: number;
  /** From the kill to the first acknowledgement of a write sent after it; null: none within FAILOVER_WAIT_MS. */
  firstAckMs: number | null;
  /**
   * From the kill to the first acks=all write acknowledged to a fresh client (one new producer per
   * attempt, no retries, through a surviving broker): the cluster's failover without the long-lived
   * producer's own recovery (its requests queued behind the dead leader's connection).
   */
  freshClientAckMs: number | null;
  /** From the kill until the partition's ISR holds every replica again; null: not within FAILOVER_WAIT_MS. */
  isrFullMs: number | null;
  newLeader: number | null;
  sent: number;
  acknowledged: number;
  failed: number;
  skipped: number;
}

export interface ClusterReport {
  name: string;
  bootstrapServer: string;
  residentBytesIdle: (number | undefined)[];
  produce: ThroughputResult[];
  latency: LatencyResult[];
  /** Latency runs that did not complete (e.g. the producer's acks did not come within the run's slack). */
  latencyErrors: string[];
  failover: FailoverResult;
  machineBefore: MachineLoad;
  machineAfter: MachineLoad;
}

/** A running three-node cluster the bench can measure and break. */
export interface RunningCluster {
  readonly name: string;
  /** One broker's address (clients learn the others from Metadata). */
  readonly bootstrapServer: string;
  nodePids(): Promise<Map<number, number>>;
  /** SIGKILL of node `nodeId`; it comes back as described in the header. */
  kill(nodeId: number): Promise<void>;
  stop(): Promise<void>;
}

/** What starting a cluster needs of the options (src/bench/eos.ts starts them too). */
export type ClusterStartOptions = Pick<
  ClusterBenchOptions,
  'basePort' | 'sessionTimeoutMs' | 'heartbeatIntervalMs'
> & {
  /** More broker configs by Kafka name, for both clusters (src/bench/eos.ts: as the reference runs). */
  readonly overrides?: Readonly<Record<string, string>>;
};

export async function startKstackCluster(
  options: ClusterStartOptions,
  dataDir: string,
): Promise<RunningCluster> {
  const port = options.basePort;
  const control = `http://${HOST}:${port + FAULT_CONTROL_PORT_OFFSET}`;
  const ports = Array.from({ length: CLUSTER_NODES }, (_, index) => port + index);
  // As users run it, but without the fault proxies (a TCP hop Kafka does not have): the supervisor
  // restarts a killed node, and its fault control kills one.
  const cluster = await KstackProcess.start(
    {
      args: [
        '--brokers',
        String(CLUSTER_NODES),
        '--no-compose',
        '--no-fault-proxies',
        '--port',
        String(port),
        '--fault-port',
        String(port + FAULT_CONTROL_PORT_OFFSET),
        '--data-dir',
        dataDir,
        '--override',
        `broker.session.timeout.ms=${options.sessionTimeoutMs}`,
        '--override',
        `broker.heartbeat.interval.ms=${options.heartbeatIntervalMs}`,
        ...Object.entries(options.overrides ?? {}).flatMap(([name, value]) => [
          '--override',
          `${name}=${value}`,
        ]),
      ],
      ports,
      faults: true,
    },
    READY_TIMEOUT_MS,
  );
  // The ports answer before every node has registered; the bootstrap line comes once all have.
  const readyBy = performance.now() + READY_TIMEOUT_MS;
  while (!cluster.output.includes('bootstrap servers: ')) {
    if (performance.now() > readyBy) {
      await cluster.stop();
      throw new Error(
        `kstack up --brokers 3 never printed its bootstrap servers:\n${cluster.output.slice(-2000)}`,
      );
    }
    await sleep(ISR_POLL_MS);
  }
  const call = async (method: 'GET' | 'POST', path: string): Promise<unknown> => {
    const response = await fetch(`${control}${path}`, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
    });
    const body = await response.json();
    if (!response.ok)
      throw new Error(`${method} ${control}${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    name: 'kstack',
    bootstrapServer: `${HOST}:${port}`,
    async nodePids() {
      const nodes = (await call('GET', '/nodes')) as { nodeId: number; pid: number | null }[];
      return new Map(nodes.flatMap((node) => (node.pid === null ? [] : [[node.nodeId, node.pid] as const])));
    },
    async kill(nodeId) {
      await call('POST', `/nodes/${nodeId}/kill`);
    },
    async stop() {
      await cluster.stop();
    },
  };
}

export async function startReferenceCluster(
  options: ClusterStartOptions,
  dataDir: string,
): Promise<RunningCluster> {
  const cluster = new ReferenceCluster({
    nodes: CLUSTER_NODES,
    basePort: options.basePort + REFERENCE_PORT_OFFSET,
    dataDir,
    overrides: {
      'broker.session.timeout.ms': String(options.sessionTimeoutMs),
      'broker.heartbeat.interval.ms': String(options.heartbeatIntervalMs),
      ...options.overrides,
    },
  });
  try {
    await cluster.start();
  } catch (error) {
    // Three JVMs on a loaded 2-core machine may take longer than the launcher's own wait: wait once
    // more before giving up (and then stop what was started).
    try {
      await cluster.waitReady([1, 2, 3], READY_TIMEOUT_MS);
    } catch {
      await cluster.stop(true);
      throw error;
    }
  }
  let restarting: Promise<void> = Promise.resolve();
  const pidOf = (nodeId: number) => Number(readFileSync(join(cluster.node(nodeId).dir, 'jvm.pid'), 'utf8'));
  return {
    name: 'Apache Kafka',
    bootstrapServer: `${HOST}:${cluster.node(1).port}`,
    async nodePids() {
      return new Map(cluster.nodes.map((node) => [node.id, pidOf(node.id)] as const));
    },
    async kill(nodeId) {
      await cluster.stopNode(nodeId, 'SIGKILL');
      // Started again at once, as the supervisor restarts a kstack node; waited for at stop.
      restarting = cluster.startNode(nodeId).catch((error: unknown) => {
        process.stderr.write(`kstack bench: restarting Kafka node ${nodeId} failed: ${String(error)}\n`);
      });
    },
    async stop() {
      await restarting;
      await cluster.stop(true);
    },
  };
}

/** The leader and ISR of `topic`'s partition 0, as Metadata answers now; undefined while unknown. */
async function partitionState(
  bootstrapServer: string,
  topic: string,
): Promise<{ leader: number; isr: number[] } | undefined> {
  const admin = new Admin({
    clientId: 'kstack-bench-failover-admin',
    bootstrapBrokers: [bootstrapServer],
    retries: 0,
  });
  try {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const partition = metadata.topics.get(topic)?.partitions[0];
    return partition === undefined ? undefined : { leader: partition.leader, isr: [...partition.isr] };
  } catch {
    return undefined;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(ISR_POLL_MS);
  }
  return undefined;
}

/**
 * Kills the leader of a fresh RF 3 partition while an open-loop acks=all producer writes to it,
 * and times the first acknowledgement of a write sent after the kill and the ISR's return to full.
 */
async function measureFailover(cluster: RunningCluster): Promise<FailoverResult> {
  const target = { bootstrapServer: cluster.bootstrapServer, replicationFactor: CLUSTER_NODES };
  return withTopic(target, 1, async (topic) => {
    const before = await waitUntil(async () => {
      const state = await partitionState(cluster.bootstrapServer, topic);
      return state !== undefined && state.leader > 0 && state.isr.length === CLUSTER_NODES
        ? state
        : undefined;
    }, FAILOVER_WAIT_MS);
    if (before === undefined) throw new Error(`${topic}-0 never had a leader and a full ISR`);
    // The bootstrap must not be the broker about to die: the producer may need a new connection.
    const survivors = [1, 2, 3].filter((id) => id !== before.leader);
    const producer = new Producer({
      clientId: 'kstack-bench-failover',
      bootstrapBrokers: [cluster.bootstrapServer],
      retries: 1_000,
      retryDelay: 50,
      // `timeout` is only the wait asked of the broker; the client's connections end a request
      // never answered after `requestTimeout` (30 s unless given: `timeout` does not reach them).
      timeout: FAILOVER_REQUEST_TIMEOUT_MS,
      requestTimeout: FAILOVER_REQUEST_TIMEOUT_MS,
      metadataMaxAge: 1_000,
    });
    const value = Buffer.alloc(RECORD_BYTES_FAILOVER, 0x66);
    let killedAtMs = Number.POSITIVE_INFINITY;
    /**
     * When the kill was done (the fault control answered, `kill -9` returned): only a send started
     * after it cannot have been answered by the old leader. Sends started between killedAtMs and
     * this were acknowledged by the leader still alive (33 ms "failovers" at load 40-58).
     */
    let killDoneAtMs = Number.POSITIVE_INFINITY;
    let firstAckAtMs: number | null = null;
    let inFlight = 0;
    const counts = { sent: 0, acknowledged: 0, failed: 0, skipped: 0 };
    let running = true;
    const pending = new Set<Promise<void>>();
    const load = (async () => {
      while (running) {
        if (inFlight >= FAILOVER_IN_FLIGHT_MAX) counts.skipped++;
        else {
          const startedAtMs = performance.now();
          inFlight++;
          counts.sent++;
          const send = producer
            .send({ messages: [{ topic, partition: 0, value }], acks: ProduceAcks.ALL })
            .then(
              () => {
                counts.acknowledged++;
                if (startedAtMs >= killDoneAtMs && firstAckAtMs === null) firstAckAtMs = performance.now();
              },
              () => {
                counts.failed++;
              },
            )
            .finally(() => {
              inFlight--;
              pending.delete(send);
            });
          pending.add(send);
        }
        await sleep(FAILOVER_SEND_INTERVAL_MS);
      }
    })();
    try {
      await sleep(FAILOVER_WARMUP_MS);
      killedAtMs = performance.now();
      await cluster.kill(before.leader);
      killDoneAtMs = performance.now();
      const freshClientAck = probeUntilAcknowledged(
        `${HOST}:${portOf(cluster, survivors[0]!)}`,
        topic,
        value,
      );
      await waitUntil(async () => (firstAckAtMs === null ? undefined : true), FAILOVER_WAIT_MS);
      const freshClientAckAtMs = await freshClientAck;
      const full = await waitUntil(async () => {
        for (const id of survivors) {
          const state = await partitionState(`${HOST}:${portOf(cluster, id)}`, topic);
          if (state !== undefined && state.isr.length === CLUSTER_NODES) return state;
        }
        return undefined;
      }, FAILOVER_WAIT_MS);
      const isrFullAtMs = full === undefined ? null : performance.now();
      const now = await partitionState(cluster.bootstrapServer, topic);
      return {
        leader: before.leader,
        firstAckMs: firstAckAtMs === null ? null : firstAckAtMs - killedAtMs,
        freshClientAckMs: freshClientAckAtMs === null ? null : freshClientAckAtMs - killedAtMs,
        isrFullMs: isrFullAtMs === null ? null : isrFullAtMs - killedAtMs,
        newLeader: now?.leader ?? null,
        ...counts,
      };
    } finally {
      running = false;
      await load;
      await Promise.allSettled(pending);
      await producer.close().catch(() => undefined);
    }
  });
}

/** Tries one acks=all write with a new producer until one is acknowledged; when, or null after FAILOVER_WAIT_MS. */
async function probeUntilAcknowledged(
  bootstrapServer: string,
  topic: string,
  value: Buffer,
): Promise<number | null> {
  const deadline = performance.now() + FAILOVER_WAIT_MS;
  while (performance.now() < deadline) {
    const producer = new Producer({
      clientId: 'kstack-bench-failover-probe',
      bootstrapBrokers: [bootstrapServer],
      retries: 0,
      timeout: PROBE_TIMEOUT_MS,
      requestTimeout: PROBE_TIMEOUT_MS,
    });
    try {
      await producer.send({ messages: [{ topic, partition: 0, value }], acks: ProduceAcks.ALL });
      return performance.now();
    } catch {
      // Not led yet, or the ISR cannot acknowledge yet: try again.
    } finally {
      await producer.close().catch(() => undefined);
    }
    await sleep(PROBE_INTERVAL_MS);
  }
  return null;
}

/** Node `nodeId`'s broker address: the nodes listen on consecutive ports from the bootstrap's. */
function portOf(cluster: RunningCluster, nodeId: number): number {
  const port = Number(cluster.bootstrapServer.slice(cluster.bootstrapServer.lastIndexOf(':') + 1));
  return port + nodeId - 1;
}

async function benchCluster(
  start: (options: ClusterBenchOptions, dataDir: string) => Promise<RunningCluster>,
  options: ClusterBenchOptions,
  progress: (line: string) => void,
): Promise<ClusterReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-cluster-'));
  const machineBefore = machineLoad();
  const cluster = await start(options, dataDir);
  try {
    progress(`${cluster.name}: started (3 nodes); idle memory, then the loads`);
    await sleep(SETTLE_MS);
    const pids = await cluster.nodePids();
    const residentBytesIdle = await Promise.all(
      [1, 2, 3].map((id) => {
        const pid = pids.get(id);
        return pid === undefined ? undefined : residentBytes(pid);
      }),
    );
    const target: LoadTarget = { bootstrapServer: cluster.bootstrapServer, replicationFactor: CLUSTER_NODES };
    const produce: ThroughputResult[] = [];
    if (!options.latencyOnly) {
      for (const partitions of PRODUCE_PARTITIONS) {
        const load = { partitions, acks: -1, records: options.records, recordBytes: options.recordBytes };
        produce.push(await withTopic(target, partitions, (topic) => measureProduce(target, topic, load)));
      }
    }
    const latency: LatencyResult[] = [];
    const latencyErrors: string[] = [];
    for (let run = 0; run < options.latencyRuns; run++) {
      // A run the cluster cannot keep up with is reported as such; the other figures still count.
      try {
        latency.push(
          await withTopic(target, 1, (topic) =>
            measureEndToEndLatency(cluster.bootstrapServer, topic, {
              ratePerSecond: options.ratePerSecond,
              seconds: options.latencySeconds,
              recordBytes: options.recordBytes,
              warmupSeconds: options.warmupSeconds,
              clients: options.latencyClients,
              acks: -1,
            }),
          ),
        );
      } catch (error) {
        latencyErrors.push((error as Error).message);
        progress(`${cluster.name}: e2e run ${run + 1} failed: ${(error as Error).message}`);
      }
    }
    progress(`${cluster.name}: failover`);
    const failover = await measureFailover(cluster);
    return {
      name: cluster.name,
      bootstrapServer: cluster.bootstrapServer,
      residentBytesIdle,
      produce,
      latency,
      latencyErrors,
      failover,
      machineBefore,
      machineAfter: machineLoad(),
    };
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One cluster's report, or why it could not be measured. */
export type ClusterOutcome = ClusterReport | { name: string; error: string };

export async function runClusterComparison(
  options: ClusterBenchOptions,
  progress: (line: string) => void = () => {},
): Promise<ClusterOutcome[]> {
  const outcomes: ClusterOutcome[] = [];
  for (const [name, start] of [
    ['kstack', startKstackCluster],
    ['Apache Kafka', startReferenceCluster],
  ] as const) {
    // One cluster failing (e.g. not ready in time on a loaded machine) leaves the other's figures.
    try {
      const report = await benchCluster(start, options, progress);
      progress(`${name}: done\n${formatOne(report).join('\n')}`);
      outcomes.push(report);
    } catch (error) {
      progress(`${name}: failed: ${(error as Error).message}`);
      outcomes.push({ name, error: (error as Error).message });
    }
  }
  return outcomes;
}

const fixed = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

function ratio(ours: number | null | undefined, theirs: number | null | undefined): string {
  if (ours === null || ours === undefined || theirs === null || theirs === undefined || !(theirs > 0))
    return 'n/a';
  return (ours / theirs).toFixed(2);
}

const medianOf = (report: ClusterReport, pick: (run: LatencyResult) => number): number =>
  report.latency.length === 0 ? Number.NaN : median(report.latency.map(pick));

const megabytes = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`;

function formatOne(report: ClusterReport): string[] {
  const lines = [`== ${report.name} (3 nodes, bootstrap ${report.bootstrapServer})`];
  for (const result of report.produce) {
    lines.push(
      `produce acks=all RF 3 partitions=${result.partitions} ${result.recordsPerSecond.toFixed(0).padStart(8)} records/s ` +
        `${result.megabytesPerSecond.toFixed(1).padStart(6)} MB/s  (${result.records} x ${result.recordBytes} B in ${result.seconds.toFixed(2)} s)`,
    );
  }
  report.latency.forEach((run, index) => {
    lines.push(
      `e2e acks=all #${index + 1} at ${run.ratePerSecond}/s  p50 ${fixed(run.p50Ms, 2)} ms  p99 ${fixed(run.p99Ms, 2)} ms  ` +
        `p99.9 ${fixed(run.p999Ms, 2)} ms  max ${fixed(run.maxMs, 2)} ms  (${run.count} of ${run.sent} records; load ${fixed(run.machineBefore.loadAverage1m)})`,
    );
  });
  for (const error of report.latencyErrors) lines.push(`e2e acks=all run failed: ${error}`);
  const f = report.failover;
  lines.push(
    `failover: SIGKILL of leader ${f.leader}: first acks=all write acknowledged after ${fixed(f.firstAckMs, 0)} ms, ` +
      `a fresh client's first after ${fixed(f.freshClientAckMs, 0)} ms, ISR full again after ${fixed(f.isrFullMs, 0)} ms (new leader ${f.newLeader ?? 'n/a'}; ${f.sent} sent, ${f.acknowledged} acknowledged, ${f.failed} failed, ${f.skipped} skipped)`,
    `idle rss per node: ${report.residentBytesIdle.map(megabytes).join(', ')}`,
    `machine load: before ${fixed(report.machineBefore.loadAverage1m)}, after ${fixed(report.machineAfter.loadAverage1m)}`,
  );
  return lines;
}

export function formatClusterComparison(
  outcomes: readonly ClusterOutcome[],
  options: ClusterBenchOptions,
): string {
  const lines = [
    `kstack bench --compare --brokers 3: broker.session.timeout.ms ${options.sessionTimeoutMs}, broker.heartbeat.interval.ms ${options.heartbeatIntervalMs}, min ISR 2`,
  ];
  for (const outcome of outcomes) {
    lines.push(
      ...('error' in outcome ? [`== ${outcome.name}: not measured: ${outcome.error}`] : formatOne(outcome)),
      '',
    );
  }
  const [kstack, kafka] = outcomes;
  if (kstack === undefined || kafka === undefined || 'error' in kstack || 'error' in kafka)
    return lines.join('\n');
  lines.push(
    '== ratios kstack / Apache Kafka (throughput: higher is better; latency, failover and memory: lower is better)',
  );
  kstack.produce.forEach((ours, index) => {
    lines.push(
      `produce acks=all partitions=${ours.partitions}: ${ratio(ours.recordsPerSecond, kafka.produce[index]?.recordsPerSecond)}`,
    );
  });
  for (const [label, pick] of [
    ['p50', (l: LatencyResult) => l.p50Ms],
    ['p99', (l: LatencyResult) => l.p99Ms],
    ['p99.9', (l: LatencyResult) => l.p999Ms],
  ] as const) {
    lines.push(
      `e2e acks=all ${label} (median of runs): ${fixed(medianOf(kstack, pick), 2)} / ${fixed(medianOf(kafka, pick), 2)} ms = ${ratio(medianOf(kstack, pick), medianOf(kafka, pick))}`,
    );
  }
  const sum = (values: (number | undefined)[]) =>
    values.some((value) => value === undefined) ? undefined : values.reduce((a = 0, b = 0) => a + b, 0);
  lines.push(
    `failover to the first acknowledged write: ${fixed(kstack.failover.firstAckMs, 0)} / ${fixed(kafka.failover.firstAckMs, 0)} ms = ${ratio(kstack.failover.firstAckMs, kafka.failover.firstAckMs)}`,
    `failover to a fresh client's first acknowledged write: ${fixed(kstack.failover.freshClientAckMs, 0)} / ${fixed(kafka.failover.freshClientAckMs, 0)} ms = ${ratio(kstack.failover.freshClientAckMs, kafka.failover.freshClientAckMs)}`,
    `failover to a full ISR: ${fixed(kstack.failover.isrFullMs, 0)} / ${fixed(kafka.failover.isrFullMs, 0)} ms = ${ratio(kstack.failover.isrFullMs, kafka.failover.isrFullMs)}`,
    `idle rss, 3 nodes: ${megabytes(sum(kstack.residentBytesIdle))} / ${megabytes(sum(kafka.residentBytesIdle))} = ${ratio(sum(kstack.residentBytesIdle), sum(kafka.residentBytesIdle))}`,
  );
  return lines.join('\n');
}
