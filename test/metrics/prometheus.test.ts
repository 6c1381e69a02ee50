/**
 * A real Prometheus (Debian's package) scrapes `kstack up --metrics-port` and `kstack exporter`
 * (both as processes) every second; kcat produces, kafkajs commits a group that falls behind,
 * and the queries dashboards use return data through Prometheus' HTTP API: targets up,
 * messages-in rate, consumer lag, under-replicated partitions, request latency, process figures.
 * `promtool check metrics` passes on both endpoints but for the findings Kafka's names force.
 * Ports: kstack 20420, its /metrics 20421, the exporter 20422, Prometheus 20423.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import {
  kcatConsume,
  kcatProduce,
  prometheusQuery,
  prometheusValue,
  type Running,
  startKstack,
  waitFor,
} from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TOPIC = 'prometheus-topic';
const GROUP = 'prometheus-lagging';
const COMMITTED = 50;
const ROUND = 100;
const EXPORTER_PORT = 20422;
const PROMETHEUS = 'http://127.0.0.1:20423';

/**
 * promtool findings that the compatible names themselves cause: kafka_exporter names two gauges
 * `*_sum`, and prom-client's default metrics name three gauges `*_total`. Anything else fails.
 */
const FORCED_LINT = new Set([
  'kafka_consumergroup_current_offset_sum non-histogram and non-summary metrics should not have "_sum" suffix',
  'kafka_consumergroup_lag_sum non-histogram and non-summary metrics should not have "_sum" suffix',
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
]);

const workDir = mkdtempSync(join(tmpdir(), 'kstack-prometheus-'));
let kstack: Running | undefined;
let exporter: ChildProcess | undefined;
let prometheus: ChildProcess | undefined;
let prometheusOutput = '';

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((done) => child.once('exit', () => done()));
}

const query = (promql: string) => prometheusQuery(PROMETHEUS, promql);
const oneValue = (promql: string, accept: (value: number) => boolean) =>
  prometheusValue(PROMETHEUS, promql, accept);

before(async () => {
  kstack = await startKstack(20420, 20421, ['--no-compose']);
  exporter = spawn(
    process.execPath,
    ['bin/kstack.ts', 'exporter', '--bootstrap-server', kstack.bootstrap, '--port', String(EXPORTER_PORT)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await waitFor('kstack exporter to listen', async () => {
    const response = await fetch(`http://127.0.0.1:${EXPORTER_PORT}/metrics`);
    return response.ok ? true : undefined;
  });
  // The repository's scrape config for the embedded stack, on this test's ports, every second.
  const shipped = readFileSync(join(ROOT, 'src/metrics/prometheus/embedded.yml'), 'utf8');
  const config = join(workDir, 'prometheus.yml');
  const adapted = shipped
    .replaceAll('127.0.0.1:7071', '127.0.0.1:20421')
    .replaceAll('127.0.0.1:9308', `127.0.0.1:${EXPORTER_PORT}`)
    .replaceAll(/_interval: \d+s/g, '_interval: 1s');
  assert.notEqual(adapted, shipped, 'embedded.yml no longer names 127.0.0.1:7071 and :9308');
  writeFileSync(config, adapted);
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      '--web.listen-address=127.0.0.1:20423',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr?.setEncoding('utf8');
  prometheus.stderr?.on('data', (text: string) => {
    prometheusOutput = (prometheusOutput + text).slice(-8_000);
  });
  await waitFor('Prometheus to be ready', async () => {
    const response = await fetch(`${PROMETHEUS}/-/ready`);
    return response.ok ? true : undefined;
  });
});

after(async () => {
  for (const child of [prometheus, exporter]) {
    if (child === undefined) continue;
    child.kill('SIGTERM');
    await exited(child);
  }
  try {
    await kstack?.stop();
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

test('Prometheus scrapes both targets and the dashboards’ queries return data', async () => {
  const bootstrap = kstack!.bootstrap;
  kcatProduce(bootstrap, TOPIC, ROUND);
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'prometheus-test', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({
    groupId: GROUP,
    topic: TOPIC,
    partitions: [{ partition: 0, offset: String(COMMITTED) }],
  });
  await admin.disconnect();

  for (const job of ['kstack-broker', 'kafka-exporter']) {
    await oneValue(`up{job="${job}"}`, (v) => v === 1);
  }
  const messagesIn = `kafka_server_brokertopicmetrics_messagesinpersec_total{topic="${TOPIC}"}`;
  // A second round after Prometheus has seen the first, so the rate spans two different samples.
  await oneValue(messagesIn, (v) => v === ROUND);
  kcatProduce(bootstrap, TOPIC, ROUND);
  assert.equal(kcatConsume(bootstrap, TOPIC).length, 2 * ROUND);
  await oneValue(messagesIn, (v) => v === 2 * ROUND);
  const rate = await oneValue(`sum by (topic) (rate(${messagesIn}[1m]))`, (v) => v > 0);
  assert.ok(rate > 0, `messages in rate ${rate}/s`);
  await oneValue(
    `sum(rate(kafka_server_brokertopicmetrics_bytesinpersec_total{topic="${TOPIC}"}[1m]))`,
    (v) => v > 0,
  );

  const lag = `kafka_consumergroup_lag{consumergroup="${GROUP}",topic="${TOPIC}",partition="0"}`;
  assert.equal(await oneValue(lag, (v) => v === 2 * ROUND - COMMITTED), 2 * ROUND - COMMITTED);
  await oneValue(
    `sum by (consumergroup, topic) (kafka_consumergroup_lag_sum{consumergroup="${GROUP}"})`,
    (v) => v > 0,
  );
  await oneValue(
    `kafka_topic_partition_current_offset{topic="${TOPIC}",partition="0"}`,
    (v) => v === 2 * ROUND,
  );
  await oneValue('sum(kafka_server_replicamanager_underreplicatedpartitions)', (v) => v === 0);
  await oneValue('sum(kafka_topic_partition_under_replicated_partition)', (v) => v === 0);
  await oneValue('kafka_controller_kafkacontroller_activecontrollercount', (v) => v === 1);
  await oneValue('kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.99"}', (v) => v > 0);
  await oneValue(
    'sum(rate(kafka_network_requestmetrics_requestspersec_request_produce_total[1m]))',
    (v) => v > 0,
  );
  await oneValue('rate(process_cpu_seconds_total{job="kstack-broker"}[1m])', (v) => v > 0);
  await oneValue('process_resident_memory_bytes{job="kstack-broker"}', (v) => v > 0);
  await oneValue('nodejs_eventloop_lag_p99_seconds{job="kstack-broker"}', (v) => v >= 0);
  await oneValue('sum(nodejs_gc_duration_seconds_count{job="kstack-broker"})', (v) => v > 0);
  assert.ok(prometheus!.exitCode === null, `Prometheus exited: ${prometheusOutput}`);
});

test('promtool check metrics finds nothing but what the compatible names force', async () => {
  for (const url of ['http://127.0.0.1:20421/metrics', `http://127.0.0.1:${EXPORTER_PORT}/metrics`]) {
    const text = await (await fetch(url)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // promtool exits 1 on unparseable input and 3 on lint findings only.
    assert.ok(
      result.status === 0 || result.status === 3,
      `${url}: promtool exit ${result.status}: ${result.stderr}`,
    );
    const findings = `${result.stdout}${result.stderr}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const unexpected = findings.filter((line) => !FORCED_LINT.has(line));
    assert.deepEqual(unexpected, [], `${url}: promtool findings`);
  }
});

test("the Docker stack's scrape config: promtool accepts it, its jobs are the dashboard's broker_job and the exporter's", () => {
  const file = join(ROOT, 'src/metrics/prometheus/docker.yml');
  const result = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
  assert.equal(result.status, 0, `promtool check config: ${result.stdout}${result.stderr}`);
  const jobs = [...readFileSync(file, 'utf8').matchAll(/job_name:\s*(\S+)/g)].map((match) => match[1]);
  assert.deepEqual(jobs, ['kafka-broker', 'kafka-exporter']);
  const dashboard = readFileSync(join(ROOT, 'src/metrics/dashboards/kstack-kafka.json'), 'utf8');
  assert.match(dashboard, /"query": "kafka-broker,kstack-broker"/, "the dashboard's broker_job choices");
});

interface DashboardPanel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string }[];
}

test("every panel of the repository's Grafana dashboard returns data from Prometheus", async () => {
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, 'src/metrics/dashboards/kstack-kafka.json'), 'utf8'),
  ) as {
    panels: DashboardPanel[];
  };
  assert.ok(dashboard.panels.length >= 15, `${dashboard.panels.length} panels`);
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      // Grafana's "All" for the broker job variable.
      const promql = target.expr.replaceAll('$broker_job', '.*');
      const result = await waitFor(`panel '${panel.title}': ${promql}`, async () => {
        const series = await query(promql);
        return series.length > 0 ? series : undefined;
      });
      assert.ok(
        result.every((series) => Number.isFinite(Number(series.value[1]))),
        panel.title,
      );
    }
  }
});
