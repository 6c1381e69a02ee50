/**
 * Kafka's own code loads a snapshot kstack writes, as kafka-metadata-shell does: a kstack cluster's
 * history (features, three registrations and fencing, broker and topic configs, topics with
 * reassignment and ELR, a partition change, a deleted topic, ACLs, SCRAM credentials, quotas) is
 * replayed into kstack's MetadataImage; kstack's snapshot of that image
 * (src/controller/metadata-snapshot.ts) is written as a `.checkpoint` file; Apache Kafka 4.1.1's
 * FileRawSnapshotReader, RecordsSnapshotReader and MetadataDelta (test/metadata/fixtures/
 * ReadKraftSnapshot.java) load it into Kafka's MetadataImage, which must hold exactly what
 * kstack's image holds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kafkaLibsDir } from '../../reference/cluster.ts';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import { PassedOverRecords, snapshotRecords } from '../../src/controller/metadata-snapshot.ts';
import { codeApiVersions, featureLevelRecords } from '../../src/coordinator/features.ts';
import {
  decodeSnapshotFile,
  encodeSnapshotFile,
  snapshotFileName,
} from '../../src/metadata/snapshot-file.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Compiling the source file and one JVM run: seconds, tens of them on a loaded machine. */
const JAVA_TIMEOUT_MS = 180_000;
const SNAPSHOT_EPOCH = 3;
const LAST_LOG_TIMESTAMP = 1_760_000_123_456;

const ORDERS = 'MTIzNDU2Nzg5MDEyMzQ1Ng';
const PAYMENTS = 'cGF5bWVudHMtdG9waWMtaQ';
const GONE = 'Z29uZS10b3BpYy1pZC0xMg';

const dir = mkdtempSync(join(tmpdir(), 'kstack-metadata-snapshot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function endpoints(node: number) {
  return [
    { name: 'PLAINTEXT', host: `kafka-${node}`, port: 9092, securityProtocol: 0 },
    { name: 'SASL_PLAINTEXT', host: `kafka-${node}`, port: 9192, securityProtocol: 2 },
  ];
}

function registration(node: number, rack: string | null): MetadataRecord {
  return {
    type: 'RegisterBrokerRecord',
    brokerId: node,
    host: `kafka-${node}`,
    port: 9092,
    rack,
    endpoints: endpoints(node),
    fenced: true,
  };
}

function partition(
  topicId: string,
  partitionId: number,
  replicas: number[],
  extra: object = {},
): MetadataRecord {
  return {
    type: 'PartitionRecord',
    topicId,
    partitionId,
    replicas,
    isr: replicas,
    leader: replicas[0] ?? -1,
    leaderEpoch: 0,
    partitionEpoch: 0,
    ...extra,
  };
}

async function history(): Promise<MetadataRecord[]> {
  const bytes = (fill: number, length: number) => Buffer.alloc(length, fill).toString('base64');
  return [
    ...featureLevelRecords(await codeApiVersions(), undefined),
    registration(1, 'rack-a'), // offsets follow the features: each registration's epoch is its offset
    registration(2, null),
    registration(3, 'rack-b'),
    { type: 'ConfigRecord', resourceType: 4, resourceName: '', name: 'log.retention.ms', value: '86400000' },
    { type: 'ConfigRecord', resourceType: 4, resourceName: '2', name: 'log.cleaner.threads', value: '2' },
    { type: 'TopicRecord', name: 'orders', topicId: ORDERS },
    partition(ORDERS, 0, [1, 2, 3]),
    partition(ORDERS, 1, [2, 3, 1], { addingReplicas: [1], removingReplicas: [3] }),
    partition(ORDERS, 2, [3, 1, 2], { isr: [3], elr: [1], lastKnownElr: [2] }),
    {
      type: 'ConfigRecord',
      resourceType: 2,
      resourceName: 'orders',
      name: 'min.insync.replicas',
      value: '2',
    },
    { type: 'TopicRecord', name: 'payments', topicId: PAYMENTS },
    partition(PAYMENTS, 0, [2, 3, 1]),
    {
      type: 'ConfigRecord',
      resourceType: 2,
      resourceName: 'payments',
      name: 'retention.ms',
      value: '600000',
    },
    {
      type: 'ConfigRecord',
      resourceType: 2,
      resourceName: 'payments',
      name: 'cleanup.policy',
      value: 'compact',
    },
    { type: 'ConfigRecord', resourceType: 2, resourceName: 'payments', name: 'cleanup.policy', value: null },
    { type: 'TopicRecord', name: 'gone', topicId: GONE },
    partition(GONE, 0, [1, 2, 3]),
    { type: 'RemoveTopicRecord', topicId: GONE },
    { type: 'PartitionChangeRecord', topicId: ORDERS, partitionId: 0, isr: [2, 3], leader: 2 },
    {
      type: 'AccessControlEntryRecord',
      id: 'YWNsLWlkLW9uZS0xMjM0NQ',
      resourceType: 2,
      resourceName: 'orders',
      patternType: 3,
      principal: 'User:alice',
      host: '*',
      operation: 3,
      permissionType: 3,
    },
    {
      type: 'AccessControlEntryRecord',
      id: 'YWNsLWlkLXR3by0xMjM0NQ',
      resourceType: 3,
      resourceName: 'app-',
      patternType: 4,
      principal: 'User:bob',
      host: '10.0.0.1',
      operation: 2,
      permissionType: 2,
    },
    {
      type: 'AccessControlEntryRecord',
      id: 'YWNsLWlkLXRocmVlLTEyMw',
      resourceType: 4,
      resourceName: 'kafka-cluster',
      patternType: 3,
      principal: 'User:carol',
      host: '*',
      operation: 7,
      permissionType: 3,
    },
    { type: 'RemoveAccessControlEntryRecord', id: 'YWNsLWlkLXRocmVlLTEyMw' },
    {
      type: 'UserScramCredentialRecord',
      name: 'alice',
      mechanism: 1,
      salt: bytes(1, 24),
      storedKey: bytes(2, 32),
      serverKey: bytes(3, 32),
      iterations: 4096,
    },
    {
      type: 'UserScramCredentialRecord',
      name: 'bob',
      mechanism: 2,
      salt: bytes(4, 24),
      storedKey: bytes(5, 64),
      serverKey: bytes(6, 64),
      iterations: 8192,
    },
    {
      type: 'ClientQuotaRecord',
      entity: [{ entityType: 'user', entityName: 'alice' }],
      key: 'producer_byte_rate',
      value: 1024,
      remove: false,
    },
    {
      type: 'ClientQuotaRecord',
      entity: [{ entityType: 'client-id', entityName: null }],
      key: 'consumer_byte_rate',
      value: 2048.5,
      remove: false,
    },
    {
      type: 'ClientQuotaRecord',
      entity: [
        { entityType: 'user', entityName: 'alice' },
        { entityType: 'client-id', entityName: 'app' },
      ],
      key: 'request_percentage',
      value: 25,
      remove: false,
    },
  ];
}

/** Replays the history one record per offset, as the log holds it; fences broker 3 after unfencing 1 and 2. */
function replay(records: readonly MetadataRecord[]): {
  image: MetadataImage;
  passedOver: PassedOverRecords;
  end: number;
} {
  let image = MetadataImage.empty('a3N0YWNrLWNsdXN0ZXItaWQ', 1);
  const passedOver = new PassedOverRecords();
  let offset = 0;
  const apply = (record: MetadataRecord) => {
    image = image.apply([record], BigInt(offset++));
    passedOver.replay([record]);
  };
  for (const record of records) apply(record);
  for (const id of [1, 2]) apply({ type: 'UnfenceBrokerRecord', id, epoch: image.brokerEpoch(id) });
  return { image, passedOver, end: offset };
}

function sortedByName<T extends { name: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => a.name.localeCompare(b.name));
}

/** What Kafka's image must hold, read from kstack's image through its accessors. */
function expected(image: MetadataImage, passedOver: PassedOverRecords, records: number) {
  const topics: Record<string, unknown> = {};
  const configs: Record<string, Record<string, string>> = {};
  for (const topic of image.topics()) {
    topics[topic.name] = {
      topicId: topic.topicId,
      partitions: Object.fromEntries(
        topic.partitions.map((p) => [
          String(p.partitionIndex),
          {
            replicas: p.replicas,
            isr: p.isr,
            addingReplicas: p.addingReplicas ?? [],
            removingReplicas: p.removingReplicas ?? [],
            elr: p.elr ?? [],
            lastKnownElr: p.lastKnownElr ?? [],
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            partitionEpoch: p.partitionEpoch,
            leaderRecoveryState: p.leaderRecoveryState ?? 0,
          },
        ]),
      ),
    };
    if (topic.configs.size > 0) configs[`TOPIC:${topic.name}`] = Object.fromEntries(topic.configs);
  }
  for (const [name, values] of image.brokerConfigs) {
    if (values.size > 0) configs[`BROKER:${name}`] = Object.fromEntries(values);
  }
  const brokers = Object.fromEntries(
    image.brokers().map((broker) => [
      String(broker.nodeId),
      {
        epoch: image.brokerEpoch(broker.nodeId),
        fenced: image.isFenced(broker.nodeId),
        rack: broker.rack,
        listeners: sortedByName(image.endpointsOf(broker.nodeId) ?? []),
      },
    ]),
  );
  const acls: Record<string, unknown> = {};
  const scram: Record<string, unknown> = {};
  const quotas = new Map<string, { entity: Record<string, string | null>; quotas: Record<string, number> }>();
  for (const record of passedOver.records()) {
    if (record.type === 'AccessControlEntryRecord') {
      const { type: _type, id, ...acl } = record;
      acls[Buffer.from(id, 'base64url').toString('base64url')] = acl;
    } else if (record.type === 'UserScramCredentialRecord') {
      const { salt, storedKey, serverKey, iterations } = record;
      scram[`${record.name}/${record.mechanism}`] = { salt, storedKey, serverKey, iterations };
    } else if (record.type === 'ClientQuotaRecord') {
      const entity = Object.fromEntries(record.entity.map((e) => [e.entityType, e.entityName]));
      const key = JSON.stringify(Object.entries(entity).sort());
      const current = quotas.get(key) ?? { entity, quotas: {} };
      current.quotas[record.key] = record.value;
      quotas.set(key, current);
    }
  }
  return {
    records,
    lastContainedLogTimestamp: LAST_LOG_TIMESTAMP,
    features: Object.fromEntries(image.finalizedFeatures),
    brokers,
    topics,
    configs,
    acls,
    scram,
    quotas: [...quotas.values()],
  };
}

function readWithKafka(
  partitionDir: string,
  endOffset: number,
  epoch: number,
  outDir: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        `-Dlog4j2.configurationFile=${join(ROOT, 'reference', 'tools-log4j2.properties')}`,
        '-Dfile.encoding=UTF-8',
        '-Dsun.stdout.encoding=UTF-8',
        '-cp',
        `${kafkaLibsDir()}/*`,
        join(ROOT, 'test', 'metadata', 'fixtures', 'ReadKraftSnapshot.java'),
        partitionDir,
        String(endOffset),
        String(epoch),
        outDir,
      ],
      { timeout: JAVA_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Kafka's quota list in a stable order (its map has none). */
function sortQuotas<T extends { entity: Record<string, string | null> }>(quotas: readonly T[]): T[] {
  return [...quotas].sort((a, b) =>
    JSON.stringify(Object.entries(a.entity).sort()).localeCompare(
      JSON.stringify(Object.entries(b.entity).sort()),
    ),
  );
}

interface Run {
  image: MetadataImage;
  passedOver: PassedOverRecords;
  records: MetadataRecord[];
  id: { endOffset: number; epoch: number };
  kafkaOutDir: string;
  code: number;
  stdout: string;
  stderr: string;
}

let run: Run | undefined;

before(async () => {
  const { image, passedOver, end } = replay(await history());
  const records = snapshotRecords(image, passedOver);
  const id = { endOffset: end, epoch: SNAPSHOT_EPOCH };
  const partitionDir = join(dir, '__cluster_metadata-0');
  const kafkaOutDir = join(dir, 'kafka', '__cluster_metadata-0');
  mkdirSync(partitionDir);
  mkdirSync(kafkaOutDir, { recursive: true });
  writeFileSync(
    join(partitionDir, snapshotFileName(id)),
    await encodeSnapshotFile({
      id,
      lastContainedLogTimestamp: LAST_LOG_TIMESTAMP,
      records,
      timestampMs: LAST_LOG_TIMESTAMP,
    }),
  );
  const started = performance.now();
  const result = await readWithKafka(partitionDir, id.endOffset, id.epoch, kafkaOutDir);
  process.stdout.write(
    `ReadKraftSnapshot: ${records.length} records, ${Math.round(performance.now() - started)} ms\n`,
  );
  run = { image, passedOver, records, id, kafkaOutDir, ...result };
});

function ran(): Run {
  assert.ok(run !== undefined);
  assert.equal(run.code, 0, `Kafka's reader failed (${run.code}): ${run.stderr}`);
  return run;
}

test("Kafka 4.1.1's snapshot reader and MetadataDelta load kstack's snapshot into the image kstack holds", () => {
  const { image, passedOver, records, stdout } = ran();
  const kafka = JSON.parse(stdout) as ReturnType<typeof expected>;
  for (const broker of Object.values(kafka.brokers)) broker.listeners = sortedByName(broker.listeners);
  kafka.quotas = sortQuotas(kafka.quotas);

  const want = expected(image, passedOver, records.length);
  want.quotas = sortQuotas(want.quotas);
  // The history is what the test means it to be: checked on kstack's side first.
  assert.deepEqual(Object.keys(want.topics).sort(), ['orders', 'payments']);
  assert.deepEqual(Object.keys(want.acls).length, 2);
  assert.equal(image.isFenced(3), true);
  assert.equal(image.isFenced(1), false);
  assert.deepEqual(kafka, want);
});

test("kstack reads Kafka's own snapshot of that image back into the same image", async () => {
  const { image, passedOver, id, kafkaOutDir } = ran();
  // Kafka's writer: its record versions and fields (incarnation ids, directories), its batching.
  const bytes = readFileSync(join(kafkaOutDir, snapshotFileName(id)));
  const { lastContainedLogTimestamp, records } = await decodeSnapshotFile(bytes, id);
  assert.equal(lastContainedLogTimestamp, LAST_LOG_TIMESTAMP);
  const metadata = records.filter((record) => record.type !== 'NoOpRecord');
  let again = MetadataImage.empty(image.clusterId, image.controllerId);
  const passedOverAgain = new PassedOverRecords();
  metadata.forEach((record, offset) => {
    again = again.apply([record], BigInt(offset));
    passedOverAgain.replay([record]);
  });
  const read = expected(again, passedOverAgain, 0);
  const want = expected(image, passedOver, 0);
  read.quotas = sortQuotas(read.quotas);
  want.quotas = sortQuotas(want.quotas);
  assert.deepEqual(read, want);
});
