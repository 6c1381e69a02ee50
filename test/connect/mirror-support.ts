/**
 * MirrorMaker 2 helpers shared by clusters.slow.ts (Apache Kafka and kstack, both ways, checkpoints) and
 * test/engine/cluster-up.slow.ts (a one-broker kstack into the three-node stack).
 */
import assert from 'node:assert/strict';
import { Admin, Producer } from '@platformatic/kafka';
import { kafkajs } from '../rest-proxy/support.ts';
import {
  assertSameLines,
  createConnector,
  type RestWorker,
  readTopic,
  waitFor,
  waitForState,
} from './scenarios.ts';

/** What a MirrorMaker 2 connector needs of a cluster. */
export interface MirrorCluster {
  readonly bootstrap: string;
}

/** A cluster with a name for messages ('kstack' or 'reference'). */
export interface NamedCluster extends MirrorCluster {
  readonly name: string;
}

/** Creates the topic (one partition) and writes the values to it, acks=all. */
export async function produce(bootstrap: string, topic: string, values: readonly string[]): Promise<void> {
  const admin = new Admin({ bootstrapBrokers: bootstrap.split(','), clientId: 'kstack-connect-mirror-test' });
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  } finally {
    await admin.close();
  }
  const producer = new Producer({
    bootstrapBrokers: bootstrap.split(','),
    clientId: 'kstack-connect-mirror-test',
    acks: -1,
    timeout: 30_000,
    retries: 10,
  });
  try {
    await producer.send({ messages: values.map((value) => ({ topic, value: Buffer.from(value) })) });
  } finally {
    await producer.close();
  }
}

/** What every MirrorMaker 2 connector here says: its class, the two clusters, one task, raw bytes. */
function mirrorConnector(
  connectorClass: string,
  sourceAlias: string,
  source: MirrorCluster,
  targetAlias: string,
  target: MirrorCluster,
): Record<string, string> {
  const byteArray = 'org.apache.kafka.connect.converters.ByteArrayConverter';
  return {
    'connector.class': `org.apache.kafka.connect.mirror.${connectorClass}`,
    'source.cluster.alias': sourceAlias,
    'target.cluster.alias': targetAlias,
    'source.cluster.bootstrap.servers': source.bootstrap,
    'target.cluster.bootstrap.servers': target.bootstrap,
    'tasks.max': '1',
    'key.converter': byteArray,
    'value.converter': byteArray,
  };
}

export function mirrorSource(
  sourceAlias: string,
  source: MirrorCluster,
  targetAlias: string,
  target: MirrorCluster,
  topic: string,
): Record<string, string> {
  return {
    ...mirrorConnector('MirrorSourceConnector', sourceAlias, source, targetAlias, target),
    topics: topic,
    'replication.factor': '1',
    'offset-syncs.topic.replication.factor': '1',
    'sync.topic.acls.enabled': 'false',
    // An offset sync for every record, so a consumer group's end offset translates exactly.
    'offset.lag.max': '0',
  };
}

/**
 * MirrorCheckpointConnector for `group`, syncing its offsets onto the target every second (Kafka's
 * defaults are 60 s); the source task emits an offset sync for every record (`offset.lag.max` 0 on the
 * source connector), so the end offset translates exactly.
 */
function mirrorCheckpoint(
  sourceAlias: string,
  source: MirrorCluster,
  targetAlias: string,
  target: MirrorCluster,
  group: string,
): Record<string, string> {
  return {
    ...mirrorConnector('MirrorCheckpointConnector', sourceAlias, source, targetAlias, target),
    groups: group,
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
export async function checkpointsTranslate(
  worker: RestWorker,
  sourceAlias: string,
  source: NamedCluster,
  targetAlias: string,
  target: NamedCluster,
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
    await waitFor(`${group}'s offset of ${mirrored} on ${target.name} to reach ${offset}`, async () => {
      const [fetched] = await targetAdmin.fetchOffsets({ groupId: group, topics: [mirrored] });
      const committed = fetched?.partitions.find((p) => p.partition === 0)?.offset;
      if (committed === undefined || committed === '-1') return undefined;
      const value = Number(committed);
      if (seen.at(-1) !== value) seen.push(value);
      assert.ok(value <= offset, `${mirrored} on ${target.name}: ${value}, past the source's ${offset}`);
      return value === offset ? value : undefined;
    });
    process.stdout.write(
      `# ${source.name} -> ${target.name}: ${group} committed ${offset} on ${topic}; on ${mirrored} the target's group had ${seen.join(', ')} (${Math.round(performance.now() - startedAt)} ms)\n`,
    );
    const checkpoints = `${sourceAlias}.checkpoints.internal`;
    const end = await targetAdmin.fetchTopicOffsets(checkpoints);
    assert.ok(
      end.some((p) => Number(p.high) > 0),
      `${checkpoints} on ${target.name} holds checkpoints: ${JSON.stringify(end)}`,
    );
  } finally {
    await targetAdmin.disconnect();
  }
}

/** Records the mirroring tests write on the source cluster. */
const MIRRORED_RECORDS = 500;

/**
 * MirrorMaker 2 from `source` into `target`, in `worker` (a worker on the target cluster): 500 records
 * written to `topic` on the source arrive the same and in order in `<sourceAlias>.<topic>` on the
 * target; then a group's committed offset on the source arrives translated on the target.
 */
export async function mirrorTopicAndGroup(
  worker: RestWorker,
  sourceAlias: string,
  source: NamedCluster,
  targetAlias: string,
  target: NamedCluster,
  topic: string,
): Promise<void> {
  const values = Array.from({ length: MIRRORED_RECORDS }, (_, i) => `from-${source.name} ${i}`);
  await produce(source.bootstrap, topic, values);
  const name = `mirror-from-${sourceAlias}`;
  await createConnector(worker, name, mirrorSource(sourceAlias, source, targetAlias, target, topic));
  await waitForState(worker, name, 'RUNNING');
  const mirrored = `${sourceAlias}.${topic}`;
  assertSameLines(await readTopic(target.bootstrap, mirrored, values.length), values, mirrored);
  await checkpointsTranslate(worker, sourceAlias, source, targetAlias, target, topic, values.length);
}
