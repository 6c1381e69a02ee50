/**
 * MirrorMaker 2 helpers shared by mirror.long.ts (Apache Kafka and kstack, both ways, checkpoints) and
 * test/engine/cluster-up.slow.ts (a one-broker kstack into the three-node stack, in CI).
 */
import { Admin, Producer } from '@platformatic/kafka';
/** What a MirrorMaker 2 connector needs of a cluster. */
export interface MirrorCluster {
  readonly bootstrap: string;
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

export function mirrorSource(
  sourceAlias: string,
  source: MirrorCluster,
  targetAlias: string,
  target: MirrorCluster,
  topic: string,
): Record<string, string> {
  const byteArray = 'org.apache.kafka.connect.converters.ByteArrayConverter';
  return {
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
    'source.cluster.alias': sourceAlias,
    'target.cluster.alias': targetAlias,
    'source.cluster.bootstrap.servers': source.bootstrap,
    'target.cluster.bootstrap.servers': target.bootstrap,
    topics: topic,
    'tasks.max': '1',
    'key.converter': byteArray,
    'value.converter': byteArray,
    'replication.factor': '1',
    'offset-syncs.topic.replication.factor': '1',
    'sync.topic.acls.enabled': 'false',
    // An offset sync for every record, so a consumer group's end offset translates exactly.
    'offset.lag.max': '0',
  };
}
