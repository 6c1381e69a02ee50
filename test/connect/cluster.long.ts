/**
 * Kafka Connect (Apache Kafka's own distributed worker) against `kstack up --brokers 3`: the
 * worker's internal topics at RF 3 with min ISR 2, a FileStream source → topic → FileStream sink
 * pipeline byte for byte, then SIGKILL of the leader of the pipeline's topic while both connectors
 * run: they stay RUNNING, and the sink's file is byte-identical to the source's again (nothing lost,
 * nothing twice). Not in the unit or slow run (a three-node start and a JVM worker: see
 * src/connect/README.md for its time); run it with `node --test test/connect/cluster.long.ts`.
 * Ports: brokers 23306-23308 (the same as test/registry/api.test.ts: do not run the two at once),
 * the worker 23318.
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

const BROKER_PORT = 23306;
const WORKER_PORT = 23318;
const INTERNAL_TOPICS = ['_connect-configs', '_connect-offsets', '_connect-status'];

describe('Kafka Connect against kstack up --brokers 3', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-cluster-'));
  let cluster: ClusterTarget;
  let worker: ConnectWorker | undefined;
  before(async () => {
    const startedAt = performance.now();
    cluster = kstackClusterTarget(BROKER_PORT, 'kstack-connect-cluster-brokers-');
    await cluster.start();
    const clusterMs = Math.round(performance.now() - startedAt);
    mkdirSync(join(dir, 'worker'));
    worker = await startConnectWorker({
      bootstrap: cluster.bootstrap,
      port: WORKER_PORT,
      workDir: join(dir, 'worker'),
      overrides: new Map([['offset.flush.interval.ms', '5000']]),
      jvmOptions: ['-XX:TieredStopAtLevel=1'],
    });
    process.stdout.write(
      `# cluster ready in ${clusterMs} ms; worker start to ready ${worker.startToReadyMs} ms\n`,
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
      const first = sampleLines('first', 2_000, 11, true);
      writeFileSync(input, `${first.join('\n')}\n`);
      await createConnector(running, 'cluster-source', fileSource(input, topic));
      await createConnector(running, 'cluster-sink', fileSink(output, topic));
      await waitForState(running, 'cluster-source', 'RUNNING');
      await waitForState(running, 'cluster-sink', 'RUNNING');
      await waitForFile(output, readFileSync(input));

      const leaderOf = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions[0];
      const victim = (await leaderOf())?.leader;
      assert.ok(victim !== undefined && victim >= 1, `a leader for ${topic}-0`);
      const killedAt = performance.now();
      cluster.kill(victim);
      const second = sampleLines('second', 1_000, 12, true);
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
