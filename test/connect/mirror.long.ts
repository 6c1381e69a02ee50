/**
 * MirrorMaker 2 (Kafka's MirrorSourceConnector, run in a Connect worker on the target cluster) mirrors
 * a topic from Apache Kafka 4.1.1 into kstack and from kstack into Apache Kafka: the same records, in
 * order, in the topic `<source alias>.<topic>`. Then MirrorCheckpointConnector, in the same worker,
 * with `sync.group.offsets.enabled`: a consumer group's offset committed on the source cluster appears
 * translated on the target, in its checkpoints topic and as the group's own committed offset of the
 * mirrored topic. Not in the unit run (a reference cluster and two workers); run it with
 * `node --test test/connect/mirror.long.ts`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../../src/connect/clusters.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import { kafkajs } from '../rest-proxy/support.ts';
import { mirrorSource, produce } from './mirror-support.ts';
import { assertSameLines, createConnector, readTopic, waitFor, waitForState } from './scenarios.ts';

const REFERENCE_PORT = 21314;
const KSTACK_PORT = 21324;
const REFERENCE_WORKER_PORT = 21315;
const KSTACK_WORKER_PORT = 21325;
const RECORDS = 500;

/**
 * MirrorCheckpointConnector for `group`, syncing its offsets onto the target every second (Kafka's
 * defaults are 60 s); the source task emits an offset sync for every record (`offset.lag.max` 0 on the
 * source connector), so the end offset translates exactly.
 */
function mirrorCheckpoint(
  sourceAlias: string,
  source: Cluster,
  targetAlias: string,
  target: Cluster,
  group: string,
): Record<string, string> {
  const byteArray = 'org.apache.kafka.connect.converters.ByteArrayConverter';
  return {
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector',
    'source.cluster.alias': sourceAlias,
    'target.cluster.alias': targetAlias,
    'source.cluster.bootstrap.servers': source.bootstrap,
    'target.cluster.bootstrap.servers': target.bootstrap,
    groups: group,
    'tasks.max': '1',
    'key.converter': byteArray,
    'value.converter': byteArray,
    'checkpoints.topic.replication.factor': '1',
    'emit.checkpoints.interval.seconds': '1',
    'sync.group.offsets.enabled': 'true',
    'sync.group.offsets.interval.seconds': '1',
    'refresh.groups.interval.seconds': '1',
  };
}

/**
 * Commits `offset` for `group` on partition 0 of `topic` on the source (a group with no members, as
 * after its consumers stopped), starts the checkpoint connector, and waits until the target's copy of
 * the group has committed the translated offset on `<sourceAlias>.<topic>`; the checkpoints topic
 * holds at least one record.
 */
async function checkpointsTranslate(
  worker: ConnectWorker,
  sourceAlias: string,
  source: Cluster,
  targetAlias: string,
  target: Cluster,
  topic: string,
  offset: number,
): Promise<void> {
  const group = `mirror-group-${sourceAlias}`;
  const sourceAdmin = kafkajs(source.bootstrap).admin();
  await sourceAdmin.connect();
  try {
    await sourceAdmin.setOffsets({
      groupId: group,
      topic,
      partitions: [{ partition: 0, offset: String(offset) }],
    });
  } finally {
    await sourceAdmin.disconnect();
  }
  const name = `checkpoint-from-${sourceAlias}`;
  await createConnector(worker, name, mirrorCheckpoint(sourceAlias, source, targetAlias, target, group));
  await waitForState(worker, name, 'RUNNING');
  const mirrored = `${sourceAlias}.${topic}`;
  const targetAdmin = kafkajs(target.bootstrap).admin();
  await targetAdmin.connect();
  const startedAt = performance.now();
  try {
    // MirrorMaker 2 translates conservatively (never past the committed offset), through the offset
    // syncs it has read so far: the target's offset may first lag, then reaches the end offset once
    // the sync of the last record is read. It must never pass the source's.
    const seen: number[] = [];
    await waitFor(`${group}'s offset of ${mirrored} on ${target.kind} to reach ${offset}`, async () => {
      const [fetched] = await targetAdmin.fetchOffsets({ groupId: group, topics: [mirrored] });
      const committed = fetched?.partitions.find((p) => p.partition === 0)?.offset;
      if (committed === undefined || committed === '-1') return undefined;
      const value = Number(committed);
      if (seen.at(-1) !== value) seen.push(value);
      assert.ok(value <= offset, `${mirrored} on ${target.kind}: ${value}, past the source's ${offset}`);
      return value === offset ? value : undefined;
    });
    process.stdout.write(
      `# ${source.kind} -> ${target.kind}: ${group} committed ${offset} on ${topic}; on ${mirrored} the target's group had ${seen.join(', ')} (${Math.round(performance.now() - startedAt)} ms)\n`,
    );
    const checkpoints = `${sourceAlias}.checkpoints.internal`;
    const end = await targetAdmin.fetchTopicOffsets(checkpoints);
    assert.ok(
      end.some((p) => Number(p.high) > 0),
      `${checkpoints} on ${target.kind} holds checkpoints: ${JSON.stringify(end)}`,
    );
  } finally {
    await targetAdmin.disconnect();
  }
}

describe('MirrorMaker 2 between Apache Kafka and kstack', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-mirror-'));
  let reference: Cluster | undefined;
  let kstack: Cluster | undefined;
  let referenceWorker: ConnectWorker | undefined;
  let kstackWorker: ConnectWorker | undefined;
  before(async () => {
    reference = await startCluster('reference', REFERENCE_PORT, dir);
    kstack = await startCluster('kstack', KSTACK_PORT, dir);
    const start = (cluster: Cluster, port: number) => {
      const workDir = join(dir, `worker-${cluster.kind}`);
      mkdirSync(workDir, { recursive: true });
      return startConnectWorker({ bootstrap: cluster.bootstrap, port, workDir });
    };
    kstackWorker = await start(kstack, KSTACK_WORKER_PORT);
    referenceWorker = await start(reference, REFERENCE_WORKER_PORT);
  });
  after(async () => {
    await Promise.allSettled([referenceWorker?.stop(), kstackWorker?.stop()]);
    await Promise.allSettled([reference?.stop(), kstack?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('mirrors a topic from Apache Kafka into kstack: the same records, in order', async () => {
    const values = Array.from({ length: RECORDS }, (_, i) => `from-reference ${i}`);
    await produce(reference!.bootstrap, 'mirror-in', values);
    await createConnector(
      kstackWorker!,
      'mirror-from-reference',
      mirrorSource('ref', reference!, 'kstack', kstack!, 'mirror-in'),
    );
    await waitForState(kstackWorker!, 'mirror-from-reference', 'RUNNING');
    assertSameLines(await readTopic(kstack!.bootstrap, 'ref.mirror-in', RECORDS), values, 'ref.mirror-in');
  });

  it("translates a group's committed offset from Apache Kafka onto kstack (MirrorCheckpointConnector)", () =>
    checkpointsTranslate(kstackWorker!, 'ref', reference!, 'kstack', kstack!, 'mirror-in', RECORDS));

  it('mirrors a topic from kstack into Apache Kafka: the same records, in order', async () => {
    const values = Array.from({ length: RECORDS }, (_, i) => `from-kstack ${i}`);
    await produce(kstack!.bootstrap, 'mirror-out', values);
    await createConnector(
      referenceWorker!,
      'mirror-from-kstack',
      mirrorSource('kstack', kstack!, 'ref', reference!, 'mirror-out'),
    );
    await waitForState(referenceWorker!, 'mirror-from-kstack', 'RUNNING');
    assertSameLines(
      await readTopic(reference!.bootstrap, 'kstack.mirror-out', RECORDS),
      values,
      'kstack.mirror-out',
    );
  });

  it("translates a group's committed offset from kstack onto Apache Kafka (MirrorCheckpointConnector)", () =>
    checkpointsTranslate(referenceWorker!, 'kstack', kstack!, 'ref', reference!, 'mirror-out', RECORDS));
});
