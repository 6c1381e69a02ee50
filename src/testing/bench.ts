/**
 * The testing API's benchmark (not a test: it reports numbers): start-to-ready (1 and 3 brokers,
 * the process' RSS with three running), reset(), snapshot
 * and restore (1 and 3 brokers), each p50 and p99 over RUNS runs, beside Apache Kafka's own start-to-ready (the
 * reference, one node, native JVM: what a testcontainers-style JVM Kafka needs at least, without
 * pulling or starting a container).
 *
 *   node src/testing/bench.ts [--runs 50] [--reference-port 21600] [--no-reference] [--cluster-reset-only]
 *
 * `--cluster-reset-only` measures only reset() on three brokers (each run: 100 records in each of
 * two baseline topics, one extra topic and a group's committed offsets thrown away).
 *
 * The reference binds --reference-port and its controller 50 above it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { startKafka } from './kafka.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    'reference-port': { type: 'string', default: '21600' },
    'no-reference': { type: 'boolean', default: false },
    'cluster-reset-only': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs '${values.runs}' must be a whole number >= 1`);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function report(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50).toFixed(1);
  const p99 = percentile(sorted, 99).toFixed(1);
  process.stdout.write(
    `${name.padEnd(28)} p50 ${p50.padStart(8)} ms   p99 ${p99.padStart(8)} ms   (${samples.length} runs)\n`,
  );
}

process.stdout.write(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
const topics = [
  { name: 'orders', partitions: 3 },
  { name: 'payments', partitions: 3 },
];
const clusterResets: number[] = [];
{
  const cluster = await startKafka({ brokers: 3, topics });
  const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(100) }));
  try {
    for (let run = 0; run < runs; run++) {
      const client = new Kafka({
        clientId: 'bench-reset',
        brokers: cluster.bootstrapAddresses,
        logLevel: logLevel.NOTHING,
      });
      const producer = client.producer();
      const admin = client.admin();
      await Promise.all([producer.connect(), admin.connect()]);
      await admin.createTopics({ topics: [{ topic: 'scratch', numPartitions: 1 }], waitForLeaders: true });
      await producer.send({ topic: 'orders', acks: -1, messages });
      await producer.send({ topic: 'payments', acks: -1, messages });
      await admin.setOffsets({
        groupId: 'bench-group',
        topic: 'orders',
        partitions: [{ partition: 0, offset: '1' }],
      });
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      await cluster.reset();
      clusterResets.push(cluster.timings.lastResetMs ?? Number.NaN);
      const phases = cluster.timings.lastResetPhasesMs;
      if (phases !== undefined && (cluster.timings.lastResetMs ?? 0) > 1_000) {
        process.stdout.write(
          `slow reset ${cluster.timings.lastResetMs!.toFixed(0)} ms: ${Object.entries(phases)
            .map(([phase, ms]) => `${phase} ${ms.toFixed(0)}`)
            .join(', ')} ms\n`,
        );
      }
    }
  } finally {
    await cluster.stop();
  }
}
report('kstack 3 brokers reset()', clusterResets);
if (values['cluster-reset-only']) process.exit(0);
const starts: number[] = [];
for (let run = 0; run < runs; run++) {
  const kafka = await startKafka({ topics });
  starts.push(kafka.timings.startToReadyMs);
  await kafka.stop();
}
report('kstack start-to-ready', starts);
const clusterStarts: number[] = [];
let clusterRss = 0;
for (let run = 0; run < runs; run++) {
  const cluster = await startKafka({ brokers: 3, topics });
  clusterStarts.push(cluster.timings.startToReadyMs);
  clusterRss = Math.max(clusterRss, process.memoryUsage().rss);
  await cluster.stop();
}
report('kstack 3 brokers start', clusterStarts);
process.stdout.write(
  `process RSS with a 3-broker cluster running: up to ${(clusterRss / 2 ** 20).toFixed(0)} MiB\n`,
);

const kafka = await startKafka({ topics });
const producer = new Kafka({
  clientId: 'bench',
  brokers: kafka.bootstrapAddresses,
  logLevel: logLevel.NOTHING,
}).producer();
await producer.connect();
const messages = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(100) }));
const resets: number[] = [];
const saves: number[] = [];
const restores: number[] = [];
for (let run = 0; run < runs; run++) {
  // Some state to throw away each time: 100 records in each topic.
  await producer.send({ topic: 'orders', messages });
  await producer.send({ topic: 'payments', messages });
  await kafka.snapshot('bench');
  saves.push(kafka.timings.lastSnapshotMs ?? Number.NaN);
  await kafka.restore('bench');
  restores.push(kafka.timings.lastRestoreMs ?? Number.NaN);
  await kafka.reset();
  resets.push(kafka.timings.lastResetMs ?? Number.NaN);
}
await producer.disconnect();
await kafka.stop();
report('kstack reset()', resets);
report('kstack snapshot(name)', saves);
report('kstack restore(name)', restores);

// Three brokers: snapshot() and restore() stop the three nodes together, copy their folders, start them.
{
  const cluster = await startKafka({ brokers: 3, topics });
  const clusterProducer = new Kafka({
    clientId: 'bench',
    brokers: cluster.bootstrapAddresses,
    logLevel: logLevel.NOTHING,
  }).producer();
  const clusterSaves: number[] = [];
  const clusterRestores: number[] = [];
  for (let run = 0; run < runs; run++) {
    // A client per run: the nodes' restart closes its connections.
    await clusterProducer.connect();
    await clusterProducer.send({ topic: 'orders', acks: -1, messages });
    await clusterProducer.disconnect();
    await cluster.snapshot('bench');
    clusterSaves.push(cluster.timings.lastSnapshotMs ?? Number.NaN);
    await cluster.restore('bench');
    clusterRestores.push(cluster.timings.lastRestoreMs ?? Number.NaN);
  }
  await cluster.stop();
  report('kstack 3 brokers snapshot', clusterSaves);
  report('kstack 3 brokers restore', clusterRestores);
}

if (!values['no-reference']) {
  const referenceRuns = Math.min(runs, 5);
  const references: number[] = [];
  for (let run = 0; run < referenceRuns; run++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-reference-'));
    const cluster = new ReferenceCluster({ nodes: 1, basePort: Number(values['reference-port']), dataDir });
    const startedMs = performance.now();
    try {
      await cluster.start();
      references.push(performance.now() - startedMs);
    } finally {
      await cluster.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  report('reference (Kafka 4.1.1) start', references);
}
process.stdout.write(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
