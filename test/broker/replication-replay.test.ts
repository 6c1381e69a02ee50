/**
 * The ReplicaManager under metadata replay, on one in-process broker (port 23090) whose image comes
 * only from replayMetadata, as a cluster node's does: a partition whose log the broker replaced
 * (topic removed and created again under its name in one replayed batch) gets a new replication
 * core on the new log, and one partition whose core throws during the replay stops alone, named in
 * the log, without the exception reaching the replay (it ended a node: issue 12, finding 1).
 * AlterPartitions queued while one request is in flight go to the controller together in the next
 * (a second broker, 23091). Metadata answers a partition whose leader is fenced as Kafka does: LEADER_NOT_AVAILABLE, leader -1,
 * the fenced replicas offline (finding 3). Broker 2 is only a registration: its port (23099) is one
 * nothing listens on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import type {
  AlterPartitionRequestData,
  AlterPartitionResponseData,
} from '../../src/broker/controller-channel.ts';
import type { MetadataRecord } from '../../src/broker/metadata-image.ts';
import { WireClient } from './compression-wire.ts';

const HOST = '127.0.0.1';
const PORT = 23090;
const TOPIC = 'replayed';
/** The AlterPartition batching test's broker. */
const ALTER_PORT = 23091;
const LAG_TIME_MS = 300;
const WAIT_MS = 60_000;

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function partition(topicId: string, partitionId: number, leaderEpoch: number): MetadataRecord {
  return {
    type: 'PartitionRecord',
    topicId,
    partitionId,
    replicas: [1, 2],
    isr: [1, 2],
    leader: 1,
    leaderEpoch,
    partitionEpoch: leaderEpoch,
  };
}

describe('ReplicaManager under metadata replay', () => {
  const root = mkdtempSync(join(tmpdir(), 'kstack-replication-replay-'));
  const warnings: string[] = [];
  let broker: Broker;
  let offset = 0n;
  const replay = (records: MetadataRecord[]): void => {
    offset += 1n;
    broker.replayMetadata(records, offset);
  };

  before(async () => {
    broker = new Broker({
      dataDir: root,
      host: HOST,
      port: PORT,
      nodeId: 1,
      log: { info() {}, warn: (message: string) => warnings.push(message) },
      metadataWriter: {
        clusterId: 'cluster-replay-test-01',
        propose: () => Promise.reject(new Error('this test replays records; it proposes none')),
      },
    });
    await broker.start();
    replay([
      { type: 'RegisterBrokerRecord', brokerId: 1, host: HOST, port: PORT, rack: null },
      { type: 'RegisterBrokerRecord', brokerId: 2, host: HOST, port: PORT + 99, rack: null },
    ]);
    broker.startReplication({
      brokerEpoch: 1,
      controller: {
        // The controller never answers: nothing here depends on an ISR change.
        alterPartition: () => new Promise<AlterPartitionResponseData>(() => {}),
        brokerHeartbeat() {},
      },
    });
  });

  after(async () => {
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a topic replaced under its name in one batch gets a new core on its new log', () => {
    replay([
      { type: 'TopicRecord', name: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' },
      partition('AAAAAAAAAAAAAAAAAAAAAA', 0, 0),
    ]);
    const first = broker.replicaManager?.core(TOPIC, 0);
    assert.ok(first?.isLeader, 'leader of the first topic');
    // The old topic's log is deleted and a new one opened at the same path; the leader epoch moves.
    replay([
      { type: 'RemoveTopicRecord', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' },
      { type: 'TopicRecord', name: TOPIC, topicId: 'BBBBBBBBBBBBBBBBBBBBBB' },
      partition('BBBBBBBBBBBBBBBBBBBBBB', 0, 3),
    ]);
    const second = broker.replicaManager?.core(TOPIC, 0);
    assert.ok(second !== undefined && second !== first, 'a new core');
    assert.equal(second.isLeader, true);
    assert.equal(second.leaderEpoch, 3);
    assert.equal(broker.get(TOPIC, 0)?.replication, second, 'the new log is replicated by the new core');
    assert.ok(
      warnings.some((w) => w.includes(`${TOPIC}-0: replica replaced`)),
      `warnings: ${JSON.stringify(warnings)}`,
    );
  });

  it('a partition whose core throws in the replay stops alone; the others take their leadership', () => {
    const topicId = 'CCCCCCCCCCCCCCCCCCCCCC';
    replay([
      { type: 'TopicRecord', name: 'isolated', topicId },
      partition(topicId, 0, 0),
      partition(topicId, 1, 0),
    ]);
    // A closed log makes becoming leader throw (LogClosedError), as the stale core did.
    broker.get('isolated', 0)?.log.close();
    warnings.length = 0;
    assert.doesNotThrow(() =>
      replay([
        { type: 'PartitionChangeRecord', topicId, partitionId: 0, leader: 1 },
        { type: 'PartitionChangeRecord', topicId, partitionId: 1, leader: 1 },
      ]),
    );
    assert.equal(broker.replicaManager?.core('isolated', 1)?.leaderEpoch, 1, 'partition 1 moved on');
    assert.equal(broker.replicaManager?.core('isolated', 0), undefined, 'partition 0 stopped');
    assert.ok(
      warnings.some((w) => w.startsWith('isolated-0 stopped:') && w.includes('closed')),
      `warnings: ${JSON.stringify(warnings)}`,
    );
  });

  it('Metadata: a partition led by a fenced broker is LEADER_NOT_AVAILABLE with leader -1 and its replica offline', async () => {
    const topicId = 'DDDDDDDDDDDDDDDDDDDDDD';
    replay([
      { type: 'TopicRecord', name: 'orphaned', topicId },
      { ...partition(topicId, 0, 0), replicas: [2, 1], isr: [2, 1], leader: 2 } as MetadataRecord,
      partition(topicId, 1, 0),
    ]);
    const client = await WireClient.connect(PORT);
    try {
      const describe = async () =>
        (
          (await client.call(3, 12, {
            topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orphaned' }],
            allowAutoTopicCreation: false,
            includeTopicAuthorizedOperations: false,
          })) as { topics: { errorCode: number; partitions: Record<string, unknown>[] }[] }
        ).topics[0];
      const pick = (p: Record<string, unknown>) => ({
        errorCode: p.errorCode,
        partitionIndex: p.partitionIndex,
        leaderId: p.leaderId,
        replicaNodes: p.replicaNodes,
        isrNodes: p.isrNodes,
        offlineReplicas: p.offlineReplicas,
      });
      const live = await describe();
      assert.equal(live?.errorCode, 0);
      assert.deepEqual(live?.partitions.map(pick), [
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 2,
          replicaNodes: [2, 1],
          isrNodes: [2, 1],
          offlineReplicas: [],
        },
        {
          errorCode: 0,
          partitionIndex: 1,
          leaderId: 1,
          replicaNodes: [1, 2],
          isrNodes: [1, 2],
          offlineReplicas: [],
        },
      ]);
      // Broker 2's registration was replayed at offset 1: that is its broker epoch.
      replay([{ type: 'FenceBrokerRecord', id: 2, epoch: 1 }]);
      const fenced = await describe();
      assert.equal(fenced?.errorCode, 0);
      assert.deepEqual(fenced?.partitions.map(pick), [
        {
          errorCode: 5,
          partitionIndex: 0,
          leaderId: -1,
          replicaNodes: [2, 1],
          isrNodes: [2, 1],
          offlineReplicas: [2],
        },
        {
          errorCode: 0,
          partitionIndex: 1,
          leaderId: 1,
          replicaNodes: [1, 2],
          isrNodes: [1, 2],
          offlineReplicas: [2],
        },
      ]);
    } finally {
      client.close();
    }
  });
});

describe('ReplicaManager: AlterPartition, one request in flight per broker', () => {
  const root = mkdtempSync(join(tmpdir(), 'kstack-replication-alter-'));
  const requests: {
    request: AlterPartitionRequestData;
    answer: (response: AlterPartitionResponseData) => void;
  }[] = [];
  let broker: Broker;
  let offset = 0n;
  const replay = (records: MetadataRecord[]): void => {
    offset += 1n;
    broker.replayMetadata(records, offset);
  };
  const partitionsOf = (request: AlterPartitionRequestData): string[] =>
    request.topics.flatMap((t) => t.partitions.map((p) => `${t.topicId}-${p.partitionIndex}`)).sort();

  before(async () => {
    broker = new Broker({
      dataDir: root,
      host: HOST,
      port: ALTER_PORT,
      nodeId: 1,
      // Broker 2 never fetches: each partition asks to shrink its ISR to [1] after this.
      config: { 'replica.lag.time.max.ms': String(LAG_TIME_MS) },
      log: { info() {}, warn() {} },
      metadataWriter: {
        clusterId: 'cluster-replay-test-02',
        propose: () => Promise.reject(new Error('this test replays records; it proposes none')),
      },
    });
    await broker.start();
    replay([
      { type: 'RegisterBrokerRecord', brokerId: 1, host: HOST, port: ALTER_PORT, rack: null },
      { type: 'RegisterBrokerRecord', brokerId: 2, host: HOST, port: PORT + 99, rack: null },
    ]);
    broker.startReplication({
      brokerEpoch: 1,
      controller: {
        alterPartition: (request) => new Promise((answer) => requests.push({ request, answer })),
        brokerHeartbeat() {},
      },
    });
  });

  after(async () => {
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('changes queued while one request is in flight go together in the next', async () => {
    const first = 'RkZGRkZGRkZGRkZGRkZGRg';
    replay([{ type: 'TopicRecord', name: 'alter-first', topicId: first }, partition(first, 0, 0)]);
    await waitFor('the first AlterPartition', () => requests.length === 1);
    assert.deepEqual(partitionsOf(requests[0]!.request), [`${first}-0`]);
    const second = 'R0dHR0dHR0dHR0dHR0dHRw';
    replay([
      { type: 'TopicRecord', name: 'alter-second', topicId: second },
      partition(second, 0, 0),
      partition(second, 1, 0),
      partition(second, 2, 0),
    ]);
    const manager = broker.replicaManager!;
    await waitFor('three shrinks queued behind the first', () => manager.alterPartitionsQueued === 3);
    assert.equal(requests.length, 1, 'nothing sent while a request is in flight');
    requests[0]!.answer({ errorCode: 41, topics: [] });
    await waitFor('the second AlterPartition', () => requests.length === 2);
    assert.deepEqual(partitionsOf(requests[1]!.request), [`${second}-0`, `${second}-1`, `${second}-2`]);
    assert.equal(requests[1]!.request.brokerEpoch, 1);
    for (const topic of requests[1]!.request.topics)
      for (const p of topic.partitions)
        assert.deepEqual(
          p.newIsrWithEpochs.map((m) => m.brokerId),
          [1],
        );
  });
});
