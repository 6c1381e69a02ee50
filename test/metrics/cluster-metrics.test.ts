/**
 * Three combined broker+controller nodes (ClusterNode) in this process, each serving its own
 * `/metrics` (BrokerMetrics as its broker's observer), scraped every second by a real Prometheus
 * (Debian's package) as the `kstack-broker` job. A topic of replication factor 3 is created with
 * kafkajs and written with kcat; then a node that is not the active controller stops without a
 * controlled shutdown: its target goes down, the leaders shrink their ISRs (IsrShrinks), the
 * dashboard's under-replicated query returns the partitions, the controller fences the broker;
 * restarted, it rejoins the ISRs (IsrExpands) and nothing is under-replicated. The Kafka events
 * (leader changes, ISR changes, fencing) reach the structured log as JSON lines with their Kafka
 * names; `promtool check metrics` passes on every endpoint. `kstack exporter`'s collector (in
 * this process) is scraped too: its under-replicated panel agrees with the brokers'.
 * Ports: brokers 22600-22602, their controller listeners 22610-22612, /metrics 22620-22622, the
 * exporter 22623, Prometheus 22630.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger, logKafkaEvents } from '../../src/common/log.ts';
import { type RunningExporter, startExporter } from '../../src/exporter/exporter.ts';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.ts';
import type { MetricsServer } from '../../src/metrics/http.ts';
import { serveBrokerMetrics } from '../../src/metrics/serve.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { prometheusValue, waitFor } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HOST = '127.0.0.1';
const BROKER_PORTS = [22600, 22601, 22602] as const;
const CONTROLLER_PORTS = [22610, 22611, 22612] as const;
const METRICS_PORTS = [22620, 22621, 22622] as const;
const EXPORTER_PORT = 22623;
const PROMETHEUS = 'http://127.0.0.1:22630';
const CLUSTER_ID = 'a0NzdGFja01ldHJpY3MxMg';
const TOPIC = 'cluster-metrics';
const PARTITIONS = 3;
/** Shorter than Kafka's 30 s, so a stopped follower leaves the ISRs within the test. */
const REPLICA_LAG_TIME_MAX_MS = 2_000;
/** Longer than the lag time: the leaders shrink their ISRs (AlterPartition) before the controller fences. */
const SESSION_TIMEOUT_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
/** What promtool reports because of prom-client's default names (as in prometheus.test.ts); nothing else may appear. */
const FORCED_LINT = new Set([
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
]);

const workDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-metrics-'));
const bootstrap = BROKER_PORTS.map((port) => `${HOST}:${port}`).join(',');
let cluster: TestCluster;
/** Each node's BrokerMetrics (a new one at each start) and the /metrics server in front of it. */
const metricsOf = new Map<number, BrokerMetrics>();
const servers = new Map<number, MetricsServer>();
const logStream = new PassThrough();
const logLines: string[] = [];
logStream.setEncoding('utf8');
logStream.on('data', (text: string) => logLines.push(...text.split('\n').filter((line) => line !== '')));
const logger = createLogger({ component: 'cluster', format: 'json', stream: logStream });
const stopLoggingEvents = logKafkaEvents(logger);
let prometheus: ChildProcess | undefined;
let exporter: RunningExporter | undefined;
let prometheusOutput = '';

/** Node `nodeId`'s /metrics, once the node runs. */
async function serveMetrics(nodeId: number): Promise<void> {
  const server = await serveBrokerMetrics({
    metrics: metricsOf.get(nodeId)!,
    broker: cluster.node(nodeId).broker,
    host: HOST,
    port: METRICS_PORTS[nodeId - 1]!,
  });
  servers.set(nodeId, server);
}

async function killNode(nodeId: number): Promise<void> {
  await servers.get(nodeId)?.close();
  servers.delete(nodeId);
  await cluster.broker(nodeId).kill();
}

const oneValue = (promql: string, accept: (value: number) => boolean) =>
  prometheusValue(PROMETHEUS, promql, accept, WAIT_MS);

/**
 * Produces `count` records with kcat (librdkafka), acks=all. Asynchronously: the brokers run on
 * this process' event loop, so a synchronous spawn would starve them.
 */
function kcatProduce(topic: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kcat',
      ['-P', '-b', bootstrap, '-t', topic, '-X', 'acks=all', '-X', 'enable.idempotence=true'],
      { timeout: WAIT_MS },
      (error, _stdout, stderr) => (error === null ? resolve() : reject(new Error(`kcat -P: ${stderr}`))),
    );
    child.stdin?.end(`${Array.from({ length: count }, (_, i) => String(i + 1)).join('\n')}\n`);
  });
}

/** `promtool check metrics` on `text`, without blocking the brokers' event loop. */
function promtoolCheckMetrics(
  text: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: WAIT_MS }, (error, stdout, stderr) =>
      resolve({
        status: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
        stdout,
        stderr,
      }),
    );
    child.stdin?.end(text);
  });
}

/** The query of the repository dashboard's panel titled `title` (its only target). */
function dashboardQuery(title: string): string {
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, 'src/metrics/dashboards/kstack-kafka.json'), 'utf8'),
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const panel = dashboard.panels.find((p) => p.title === title);
  assert.ok(panel !== undefined && panel.targets.length === 1, `dashboard panel '${title}'`);
  return panel.targets[0]!.expr.replaceAll('$broker_job', '.*');
}

/** The Kafka events logged so far, as parsed JSON lines carrying `event`. */
function loggedEvents(name: string): Record<string, unknown>[] {
  return logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === name);
}

before(async () => {
  // Resolves once the three nodes are registered and unfenced in every image.
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    clusterId: CLUSTER_ID,
    dataDir: join(workDir, 'cluster'),
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    config: {
      'default.replication.factor': '3',
      'num.partitions': String(PARTITIONS),
      'min.insync.replicas': '2',
      'replica.lag.time.max.ms': String(REPLICA_LAG_TIME_MAX_MS),
      'offsets.topic.replication.factor': '3',
    },
    log: (nodeId) => logger.child('broker', { brokerId: nodeId }),
    brokerOptions: (nodeId) => {
      const metrics = new BrokerMetrics();
      metricsOf.set(nodeId, metrics);
      return { observer: metrics };
    },
    waitMs: WAIT_MS,
  });
  await Promise.all([1, 2, 3].map((id) => serveMetrics(id)));
  exporter = await startExporter({ bootstrap, host: HOST, port: EXPORTER_PORT });
  const config = join(workDir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: kstack-broker',
      '    static_configs:',
      `      - targets: [${METRICS_PORTS.map((port) => `"${HOST}:${port}"`).join(', ')}]`,
      '  - job_name: kafka-exporter',
      '    static_configs:',
      `      - targets: ["${HOST}:${EXPORTER_PORT}"]`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(workDir, 'prometheus-data')}`,
      '--web.listen-address=127.0.0.1:22630',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.setEncoding('utf8');
  prometheus.stderr?.on('data', (text: string) => {
    prometheusOutput = (prometheusOutput + text).slice(-8_000);
  });
  await waitFor(
    'Prometheus to be ready',
    async () => ((await fetch(`${PROMETHEUS}/-/ready`)).ok ? true : undefined),
    WAIT_MS,
  );
});

after(async () => {
  stopLoggingEvents();
  if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
    const exited = new Promise((done) => prometheus!.once('exit', done));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await exporter?.close();
  await Promise.all([...servers.values()].map((server) => server.close()));
  await cluster?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

test('a broker down: its target is down, ISRs shrink, the dashboard shows under-replicated partitions; back: they expand', async () => {
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    clientId: 'cluster-metrics',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  await kcatProduce(TOPIC, 30);

  const underReplicated = dashboardQuery('Under-replicated partitions');
  const underReplicatedExporter = dashboardQuery('Under-replicated partitions (exporter)');
  await oneValue('count(up{job="kstack-broker"} == 1)', (v) => v === 3);
  await oneValue('kafka_exporter_cluster_up', (v) => v === 1);
  await oneValue(`kafka_topic_partitions{topic="${TOPIC}"}`, (v) => v === PARTITIONS);
  await oneValue(underReplicatedExporter, (v) => v === 0);
  await oneValue('sum(kafka_controller_kafkacontroller_activecontrollercount)', (v) => v === 1);
  await oneValue(underReplicated, (v) => v === 0);
  // Every partition has one leader: the leader counts add up to the partition count every broker reports.
  await oneValue(
    'sum(kafka_server_replicamanager_leadercount) - max(kafka_controller_kafkacontroller_globalpartitioncount)',
    (v) => v === 0,
  );
  await oneValue('sum(kafka_controller_kafkacontroller_activebrokercount) / 3', (v) => v === 3);

  const controllerId = cluster.node(1).leader().leaderId;
  const victim = [1, 2, 3].find((id) => id !== controllerId)!;
  await killNode(victim);

  await oneValue(`up{job="kstack-broker",instance="${HOST}:${METRICS_PORTS[victim - 1]}"}`, (v) => v === 0);
  const down = await oneValue(underReplicated, (v) => v > 0);
  assert.ok(down > 0, `under-replicated partitions with broker ${victim} down: ${down}`);
  await oneValue('sum(kafka_server_replicamanager_isrshrinks_total)', (v) => v > 0);
  await oneValue(`sum(kafka_cluster_partition_underreplicated{topic="${TOPIC}"})`, (v) => v === PARTITIONS);
  await oneValue(dashboardQuery('Fenced brokers'), (v) => v === 1);
  // kafka_exporter's view (Metadata's ISRs) agrees: every partition of the topic is under-replicated.
  await oneValue('kafka_exporter_cluster_up', (v) => v === 1).catch((error: unknown) => {
    throw new Error(
      `${(error as Error).message}; the exporter's last error: ${exporter?.exporter.lastError}`,
    );
  });
  await oneValue(underReplicatedExporter, (v) => v === PARTITIONS);
  await oneValue(`sum(kafka_topic_partition_in_sync_replica{topic="${TOPIC}"})`, (v) => v === 2 * PARTITIONS);
  await oneValue('sum(kafka_controller_kafkacontroller_offlinepartitionscount)', (v) => v === 0);
  await oneValue(dashboardQuery('ISR shrinks and expands per second'), (v) => v > 0);

  await cluster.broker(victim).restart();
  await serveMetrics(victim);
  await oneValue('count(up{job="kstack-broker"} == 1)', (v) => v === 3);
  await oneValue('sum(kafka_server_replicamanager_isrexpands_total)', (v) => v > 0);
  await oneValue(underReplicated, (v) => v === 0);
  await oneValue(underReplicatedExporter, (v) => v === 0);
  await oneValue(dashboardQuery('Fenced brokers'), (v) => v === 0);
  assert.ok(prometheus!.exitCode === null, `Prometheus exited: ${prometheusOutput}`);

  // The same story in the structured log, with Kafka's names as fields.
  const shrinks = loggedEvents('isr-change').filter(
    (e) => e.topic === TOPIC && (e.isr as number[]).length < (e.isrBefore as number[]).length,
  );
  assert.ok(shrinks.length > 0, `no ISR shrink of ${TOPIC} logged: ${logLines.slice(-10).join('\n')}`);
  assert.ok(shrinks.every((e) => !(e.isr as number[]).includes(victim) && typeof e.partition === 'number'));
  const fenced = loggedEvents('fencing').filter((e) => e.broker === victim && e.fenced === true);
  assert.equal(fenced.length, 1, 'one fencing of the stopped broker logged');
  // Logged by the node that was the active controller then (an election under load may have moved it).
  assert.ok(
    [1, 2, 3].filter((id) => id !== victim).includes(Number(fenced[0]!.brokerId)),
    'logged by a running node',
  );
  const leaders = loggedEvents('leader-change').filter((e) => e.topic === TOPIC);
  assert.ok(leaders.length >= PARTITIONS, `${leaders.length} leader changes of ${TOPIC} logged`);
  for (const entry of [...shrinks, ...fenced, ...leaders]) {
    assert.equal(entry.level, 'info');
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))), `time ${entry.time}`);
    assert.equal(entry.component, 'cluster');
  }
});

test('promtool check metrics finds nothing but what prom-client’s default names force, on every broker', async () => {
  for (const server of servers.values()) {
    const text = await (await fetch(server.url)).text();
    const result = await promtoolCheckMetrics(text);
    // promtool exits 1 on unparseable input and 3 on lint findings only.
    assert.ok(
      result.status === 0 || result.status === 3,
      `${server.url}: promtool exit ${result.status}: ${result.stderr}`,
    );
    const findings = `${result.stdout}${result.stderr}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !FORCED_LINT.has(line));
    assert.deepEqual(findings, [], `${server.url}: promtool findings`);
  }
});
