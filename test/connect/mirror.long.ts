/**
 * MirrorMaker 2 (Kafka's MirrorSourceConnector, run in a Connect worker on the target cluster) mirrors
 * a topic from Apache Kafka 4.1.1 into kstack and from kstack into Apache Kafka: the same records, in
 * order, in the topic `<source alias>.<topic>`. Not in the unit run (a reference cluster and two
 * workers); run it with `node --test test/connect/mirror.long.ts`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '@platformatic/kafka';
import { type Cluster, startCluster } from '../../src/connect/clusters.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
import { assertSameLines, createConnector, readTopic, waitForState } from './scenarios.ts';

const REFERENCE_PORT = 21314;
const KSTACK_PORT = 21324;
const REFERENCE_WORKER_PORT = 21315;
const KSTACK_WORKER_PORT = 21325;
const RECORDS = 500;

/** Creates the topic (one partition) and writes the values to it, acks=all. */
async function produce(bootstrap: string, topic: string, values: readonly string[]): Promise<void> {
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

function mirrorSource(
  sourceAlias: string,
  source: Cluster,
  targetAlias: string,
  target: Cluster,
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
  };
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
});
