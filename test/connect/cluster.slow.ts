/**
 * Kafka Connect (Apache Kafka's own distributed worker) against `kstack up --brokers 3`: the
 * worker's internal topics at RF 3 with min ISR 2, a FileStream source → topic → FileStream sink
 * pipeline byte for byte, then SIGKILL of the leader of the pipeline's topic while both connectors
 * run: they stay RUNNING, and the sink's file is byte-identical to the source's again (nothing lost,
 * nothing twice). In `npm run test:slow` (a three-node start and a JVM worker: its time is in
 * src/connect/README.md). The worker's JVM starts while the cluster starts (it waits for the brokers
 * within CLUSTER_WAIT_MS), which takes the JVM's start off the critical path.
 * Ports: brokers 24203-24205 and what their supervisor opens above them (docs/team-rules.md), the
 * worker 24230.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import { type ClusterTarget, kstackClusterTarget } from '../rest-proxy/cluster-target.ts';
import { kafkajs } from '../rest-proxy/support.ts';
import {
  assertSameLines,
  createConnector,
  endOffset,
  fileSink,
  fileSource,
  readTopic,
  sampleLines,
  waitFor,
  waitForFile,
  waitForState,
} from './scenarios.ts';

const BROKER_PORT = 24203;
const WORKER_PORT = 24230;
/**
 * How long the worker's clients wait for the cluster while both start: Connect looks the cluster id
 * up once at start and exits when it does not get it within `default.api.timeout.ms` (60 s by
 * default, less than a three-node start can take on a loaded machine).
 */
const CLUSTER_WAIT_MS = 180_000;
/** Lines before and after the kill: enough for several batches each way (every tenth line is 2-3 kB). */
const LINES_BEFORE_KILL = 400;
const LINES_AFTER_KILL = 200;
const INTERNAL_TOPICS = ['_connect-configs', '_connect-offsets', '_connect-status'];

describe('Kafka Connect against kstack up --brokers 3', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-cluster-'));
  let cluster: ClusterTarget;
  let worker: ConnectWorker | undefined;
  before(async () => {
    const startedAt = performance.now();
    cluster = kstackClusterTarget(BROKER_PORT, 'kstack-connect-cluster-brokers-');
    mkdirSync(join(dir, 'worker'));
    const clusterReady = cluster.start().then(() => Math.round(performance.now() - startedAt));
    const workerReady = startConnectWorker({
      bootstrap: cluster.bootstrap,
      port: WORKER_PORT,
      workDir: join(dir, 'worker'),
      brokerCount: cluster.brokers,
      overrides: new Map([
        ['offset.flush.interval.ms', '5000'],
        ['default.api.timeout.ms', String(CLUSTER_WAIT_MS)],
        // One partition each instead of 25 (offsets) and 5 (status): 78 fewer replicas for the
        // three nodes to create and the worker to read at start (the other Connect tests keep
        // Connect's defaults).
        ['offset.storage.partitions', '1'],
        ['status.storage.partitions', '1'],
      ]),
      jvmOptions: ['-XX:TieredStopAtLevel=1'],
    });
    // Both are awaited (allSettled) so a failed start leaves nothing running unseen by after().
    const [clusterMs, started] = await Promise.allSettled([clusterReady, workerReady]);
    if (started.status === 'fulfilled') worker = started.value;
    if (clusterMs.status === 'rejected') throw clusterMs.reason;
    if (started.status === 'rejected') throw started.reason;
    process.stdout.write(
      `# cluster ready in ${clusterMs.value} ms; worker start to ready ${worker?.startToReadyMs} ms (started together)\n`,
    );
  });
  after(async () => {
    await worker?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its internal topics compacted at RF 3, min ISR 2', async () => {
    const admin = kafkajs(cluster.bootstrap).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: INTERNAL_TOPICS });
      for (const topic of topics) {
        for (const partition of topic.partitions) {
          assert.deepEqual(
            [...partition.replicas].sort(),
            [1, 2, 3],
            `${topic.name}-${partition.partitionId}`,
          );
        }
      }
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: INTERNAL_TOPICS.map((name) => ({
          type: 2,
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
    } finally {
      await admin.disconnect();
    }
  });

  it('FileStream source → topic → sink byte for byte; SIGKILL of the topic leader: both stay RUNNING, the output is byte-identical again', async () => {
    assert.ok(worker !== undefined);
    const running = worker;
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const topic = 'connect-cluster';
    const admin = kafkajs(cluster.bootstrap).admin();
    await admin.connect();
    try {
      // The topic at RF 3, min ISR 2 (the cluster's defaults), before the source writes to it.
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 3 }],
        waitForLeaders: true,
      });
      const first = sampleLines('first', LINES_BEFORE_KILL, 11, true);
      writeFileSync(input, `${first.join('\n')}\n`);
      await createConnector(running, 'cluster-source', fileSource(input, topic));
      await createConnector(running, 'cluster-sink', fileSink(output, topic));
      await waitForState(running, 'cluster-source', 'RUNNING');
      await waitForState(running, 'cluster-sink', 'RUNNING');
      const pipelineAt = performance.now();
      await waitForFile(output, readFileSync(input));
      process.stdout.write(
        `# ${first.length} lines through source, topic and sink in ${Math.round(performance.now() - pipelineAt)} ms after both RUNNING\n`,
      );

      const leaderOf = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions[0];
      const victim = (await leaderOf())?.leader;
      assert.ok(victim !== undefined && victim >= 1, `a leader for ${topic}-0`);
      const killedAt = performance.now();
      cluster.kill(victim);
      const second = sampleLines('second', LINES_AFTER_KILL, 12, true);
      appendFileSync(input, `${second.join('\n')}\n`);
      const moved = await waitFor('a new leader', async () => {
        const partition = await leaderOf().catch(() => undefined);
        return partition !== undefined && partition.leader >= 1 && partition.leader !== victim
          ? partition
          : undefined;
      });
      await waitForFile(output, readFileSync(input));
      process.stdout.write(
        `# leader ${victim} killed: leader now ${moved.leader}, ISR [${moved.isr}]; the sink's file complete ${Math.round(performance.now() - killedAt)} ms after the kill\n`,
      );
      for (const name of ['cluster-source', 'cluster-sink']) await waitForState(running, name, 'RUNNING');
      // The topic holds each line once, in order.
      assert.equal(await endOffset(cluster.bootstrap, topic), BigInt(first.length + second.length));
      assertSameLines(
        await readTopic(cluster.bootstrap, topic, first.length + second.length),
        [...first, ...second],
        topic,
      );
    } finally {
      await admin.disconnect();
    }
  });
});
