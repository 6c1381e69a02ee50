// Clean and unclean restarts (KIP-966's PreviousBrokerEpoch) on kstack's three combined nodes, in
// this process, on real sockets and files. A clean stop (controlled shutdown, logs closed) leaves
// the broker epoch in `.kafka_cleanshutdown`; the next start reads it, deletes it and sends it in
// BrokerRegistration. A crashed node leaves no file and registers with -1: the controller takes
// it out of every ELR in the registration's own batch.
//
// The reference's answer (Apache Kafka 4.1.1, 3 nodes, min.insync.replicas 2; topic solo on [3],
// topic trio on [3,1,2] with min.insync.replicas 3; kafka-topics --describe and the controller's
// log, by hand on ports 27310-27312):
// - broker 3 stopped with SIGTERM: `solo Leader: none Isr: Elr: 3 LastKnownElr: 3`, `trio Leader: 1
//   Isr: 1,2 Elr: 3`. Restarted: no unclean-shutdown handling; once 3 is unfenced solo is elected
//   from the ELR: `solo Leader: 3 Isr: 3 Elr: LastKnownElr:`; trio's ISR takes 3 back.
// - broker 3 killed with SIGKILL (fenced after the session timeout): the same describe. Restarted:
//   the controller logs `handleBrokerUncleanShutdown: changing 2 partition(s)` at its registration
//   (solo-0 then `isr=[], elr=[], lastKnownElr=[3], leader=-1`; trio's ELR empty); at 3's unfencing
//   `UNCLEAN partition change for solo-0: isr: [] -> [3], leader: -1 -> 3, leaderRecoveryState:
//   RECOVERED -> RECOVERING, lastKnownElr: [3] -> []` (the last-known-leader recovery), and trio's
//   ISR takes 3 back.
// - LeaderRecoveryState (KIP-704), the same reference after the SIGKILL restart (solo RECOVERING),
//   solo reassigned to [3,1] with kafka-reassign-partitions (ports 27340-27342, by hand): the
//   controller replayed `PartitionChangeRecord(isr=null, replicas=[3, 1], addingReplicas=[1],
//   leaderRecoveryState=-1)`, then once 1 had caught up leader 3's ISR expansion `isr=[3, 1],
//   addingReplicas=[], leaderRecoveryState=0` in one record; describe: `Leader: 3 Replicas: 3,1
//   Isr: 3,1`. A single replica stays RECOVERING (nothing to expand). The refusals are from Kafka's
//   code, not a run (AlterPartition is inter-broker): ReplicationControlManager's
//   validateAlterPartitionData answers INVALID_REQUEST to RECOVERING with more than one ISR member,
//   and to RECOVERING for a RECOVERED partition.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LeaderRecoveryState, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { PartitionView } from '../../src/broker/services.ts';
import { CLEAN_SHUTDOWN_FILE } from '../../src/controller/clean-shutdown.ts';
import type { ControllerRequestContext } from '../../src/controller/handler.ts';
import { ALTER_PARTITION_KEY } from '../../src/controller/lifecycle-wire.ts';
import { decodeMetadataEntry } from '../../src/controller/metadata-quorum.ts';
import { ALTER_PARTITION_REASSIGNMENTS_KEY } from '../../src/controller/replication-control.ts';
import { KafkaErrors, type MessageValue } from '../../src/protocol/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';

const BROKER_PORTS = [27320, 27321, 27322] as const;
const CONTROLLER_PORTS = [27370, 27371, 27372] as const;
/** Shorter than Kafka's 9 s / 2 s to keep the test short; still many heartbeats per session under load. */
const SESSION_TIMEOUT_MS = 3_000;
const HEARTBEAT_INTERVAL_MS = 300;
const WAIT_MS = 60_000;
const RESTARTED = 3;
const SURVIVOR = 1;

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster({
    ports: BROKER_PORTS,
    controllerPorts: CONTROLLER_PORTS,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    config: { 'default.replication.factor': '3', 'min.insync.replicas': '2' },
    waitMs: WAIT_MS,
  });
  const broker = cluster.node(await cluster.activeController()).broker;
  for (const [name, replicas, minIsr] of [
    ['solo', [3], '2'],
    ['trio', [3, 1, 2], '3'],
  ] as const) {
    const created = await broker.createTopic({
      name,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [replicas],
      configs: new Map([['min.insync.replicas', minIsr]]),
    });
    assert.equal(created.errorCode, 0, created.errorMessage ?? name);
  }
  await waitPartitions('both topics led by 3 with full ISRs', {
    solo: { leaderId: 3, isr: [3], elr: [], lastKnownElr: [] },
    trio: { leaderId: 3, isr: [3, 1, 2], elr: [], lastKnownElr: [] },
  });
});

after(async () => {
  await cluster?.stop();
});

interface Shape {
  leaderId: number;
  isr: readonly number[];
  elr: readonly number[];
  lastKnownElr: readonly number[];
}

function shape(partition: PartitionView | undefined): Shape | undefined {
  if (partition === undefined) return undefined;
  return {
    leaderId: partition.leaderId,
    isr: [...partition.isr].sort(),
    elr: partition.elr ?? [],
    lastKnownElr: partition.lastKnownElr ?? [],
  };
}

/** Waits until the survivor's image shows each topic's partition 0 as `expected` (ISR order ignored). */
async function waitPartitions(what: string, expected: Record<string, Shape>): Promise<void> {
  const wanted = JSON.stringify(
    Object.fromEntries(Object.entries(expected).map(([name, s]) => [name, { ...s, isr: [...s.isr].sort() }])),
  );
  let seen = '';
  try {
    await cluster.waitFor(
      what,
      () => {
        const image = cluster.node(SURVIVOR).broker.metadata();
        seen = JSON.stringify(
          Object.fromEntries(
            Object.keys(expected).map((name) => [name, shape(image.topic(name)?.partitions[0])]),
          ),
        );
        return seen === wanted;
      },
      { timeoutMs: WAIT_MS },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${seen}, wanted ${wanted}`);
  }
}

/** The records of the committed entry holding broker `brokerId`'s latest registration (survivor's log). */
function latestRegistration(brokerId: number): { offset: number; records: MetadataRecord[] } {
  const replica = cluster.node(SURVIVOR).controller.driver.replica;
  let found: { offset: number; records: MetadataRecord[] } | null = null;
  for (let offset = replica.storage.logStartOffset(); ; ) {
    const entries = replica.readCommitted(offset, 256);
    if (entries.length === 0) break;
    for (const entry of entries) {
      offset = entry.offset + entry.records.length;
      if (entry.control) continue;
      const records = decodeMetadataEntry(entry.records);
      if (records.some((r) => r.type === 'RegisterBrokerRecord' && r.brokerId === brokerId))
        found = { offset: entry.offset, records };
    }
  }
  assert.ok(found !== null, `no registration of broker ${brokerId} in the log`);
  return found;
}

const downShape = {
  solo: { leaderId: -1, isr: [], elr: [3], lastKnownElr: [3] },
  trio: { leaderId: 1, isr: [1, 2], elr: [3], lastKnownElr: [] },
};
const backShape = {
  solo: { leaderId: 3, isr: [3], elr: [], lastKnownElr: [] },
  trio: { leaderId: 1, isr: [1, 2, 3], elr: [], lastKnownElr: [] },
};

test('after a clean shutdown the broker registers with its previous epoch and stays in the ELR', async () => {
  const epoch = cluster.node(RESTARTED).brokerEpoch;
  const file = join(cluster.dataDir, `node-${RESTARTED}`, CLEAN_SHUTDOWN_FILE);
  await cluster.stopNode(RESTARTED, true);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: 0, brokerEpoch: epoch });
  await waitPartitions('broker 3 out of both ISRs into the ELRs (as the reference after SIGTERM)', downShape);

  await cluster.restartNode(RESTARTED, { timeoutMs: WAIT_MS });
  assert.equal(existsSync(file), false, 'the file is deleted at start');
  const registration = latestRegistration(RESTARTED);
  assert.deepEqual(
    registration.records.filter((r) => r.type === 'PartitionChangeRecord'),
    [],
    'a clean restart changes no partition at registration',
  );
  await waitPartitions('solo elected from the ELR, trio whole again', backShape);
  const solo = cluster.node(SURVIVOR).broker.metadata().topic('solo')?.partitions[0];
  assert.equal(solo?.leaderRecoveryState, undefined, 'an ELR member is elected cleanly: RECOVERED');
});

test('after a crash the broker registers with -1 and leaves every ELR in its registration batch', async () => {
  const file = join(cluster.dataDir, `node-${RESTARTED}`, CLEAN_SHUTDOWN_FILE);
  await cluster.stopNode(RESTARTED, false);
  assert.equal(existsSync(file), false, 'a crash leaves no clean shutdown file');
  await waitPartitions(
    'broker 3 fenced out of both ISRs into the ELRs (as the reference after SIGKILL)',
    downShape,
  );

  await cluster.restartNode(RESTARTED, { timeoutMs: WAIT_MS });
  const registration = latestRegistration(RESTARTED);
  const image = cluster.node(SURVIVOR).broker.metadata();
  const changes = registration.records
    .filter((r) => r.type === 'PartitionChangeRecord')
    .map((r) => ({ topic: image.topicById(r.topicId)?.name, elr: r.elr, lastKnownElr: r.lastKnownElr }))
    .sort((a, b) => String(a.topic).localeCompare(String(b.topic)));
  // Kafka's handleBrokerUncleanShutdown: "changing 2 partition(s)"; solo keeps LastKnownElr [3].
  assert.deepEqual(changes, [
    { topic: 'solo', elr: [], lastKnownElr: undefined },
    { topic: 'trio', elr: [], lastKnownElr: undefined },
  ]);
  // solo: ISR and ELR empty, LastKnownElr [3]: the last known leader leads once unfenced.
  await waitPartitions('solo led by its last known leader, trio whole again', backShape);
});

/** Calls the active controller's own handler for `apiKey` (what a broker's request reaches). */
async function askController(apiKey: number, body: MessageValue): Promise<MessageValue> {
  const handler = cluster
    .node(await cluster.activeController())
    .control.handlers()
    .find((h) => h.apiKey === apiKey);
  assert.ok(handler !== undefined, `no controller handler for API ${apiKey}`);
  return handler.handle(body, { apiVersion: handler.maxVersion } as ControllerRequestContext);
}

/** AlterPartition v3 for partition 0 of `topic`, sent as its leader with the partition's current epochs. */
async function alterPartition(
  topic: string,
  isr: readonly number[],
  leaderRecoveryState: number,
): Promise<number> {
  const image = cluster.node(SURVIVOR).broker.metadata();
  const view = image.topic(topic);
  const partition = view?.partitions[0];
  assert.ok(view !== undefined && partition !== undefined, topic);
  const answer = await askController(ALTER_PARTITION_KEY, {
    brokerId: partition.leaderId,
    brokerEpoch: BigInt(image.brokerEpoch(partition.leaderId) ?? -1),
    topics: [
      {
        topicId: view.topicId,
        partitions: [
          {
            partitionIndex: 0,
            leaderEpoch: partition.leaderEpoch,
            newIsrWithEpochs: isr.map((id) => ({
              brokerId: id,
              brokerEpoch: BigInt(image.brokerEpoch(id) ?? -1),
            })),
            leaderRecoveryState,
            partitionEpoch: partition.partitionEpoch,
          },
        ],
      },
    ],
  });
  const topics = answer.topics as { partitions: { errorCode: number }[] }[];
  return topics[0]?.partitions[0]?.errorCode ?? (answer.errorCode as number);
}

test('the last known leader leads RECOVERING until it expands the ISR; the controller refuses what Kafka refuses', async () => {
  // After the crash test: solo was elected from its LastKnownElr (unclean), as the reference logged.
  const solo = () => cluster.node(SURVIVOR).broker.metadata().topic('solo')?.partitions[0];
  assert.equal(solo()?.leaderRecoveryState, 1, 'solo RECOVERING after the last-known-leader election');
  const trio = cluster.node(SURVIVOR).broker.metadata().topic('trio')?.partitions[0];
  assert.equal(trio?.leaderRecoveryState, undefined, "trio's leader was elected cleanly");

  const RECOVERING = LeaderRecoveryState.recovering;
  assert.equal(
    await alterPartition('solo', [3, 1], RECOVERING),
    KafkaErrors.INVALID_REQUEST.code,
    'RECOVERING with two ISR members',
  );
  assert.equal(
    await alterPartition('trio', trio?.isr ?? [], RECOVERING),
    KafkaErrors.INVALID_REQUEST.code,
    'RECOVERED -> RECOVERING',
  );
  assert.equal(solo()?.leaderRecoveryState, 1, 'refusals change nothing');
  assert.equal(await alterPartition('solo', [3], RECOVERING), 0, 'a recovering leader alone in the ISR');
  assert.equal(solo()?.leaderRecoveryState, 1);

  // A second replica for solo: broker 1 fetches from 3, and 3's own AlterPartition that adds it to
  // the ISR names RECOVERED (the broker's ISR expansion, as Kafka's), which completes recovery and
  // the reassignment in the same change.
  const answer = await askController(ALTER_PARTITION_REASSIGNMENTS_KEY, {
    timeoutMs: WAIT_MS,
    topics: [{ name: 'solo', partitions: [{ partitionIndex: 0, replicas: [3, 1] }] }],
  });
  assert.equal(answer.errorCode, 0, String(answer.errorMessage));
  await cluster.waitFor(
    'solo on [3,1] with ISR [1,3], RECOVERED',
    () => {
      const now = solo();
      return (
        now !== undefined &&
        JSON.stringify([...now.isr].sort()) === '[1,3]' &&
        now.replicas.length === 2 &&
        now.leaderRecoveryState === undefined
      );
    },
    { timeoutMs: WAIT_MS },
  );
  assert.equal(solo()?.leaderId, 3);
});
