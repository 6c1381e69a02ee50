import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionController } from '../../src/replication/controller.ts';
import { MemoryReplicaLog } from '../../src/replication/log.ts';
import { PartitionReplica } from '../../src/replication/replica.ts';
import { ErrorCode, type LogEntry } from '../../src/replication/types.ts';
import { Cluster, TEST_CONFIG } from './harness.ts';

function values(log: MemoryReplicaLog): string[] {
  return log.read(0, log.logEndOffset).map((e) => `${e.value}@${e.epoch}`);
}

function started(): Cluster {
  const cluster = new Cluster();
  for (const id of [1, 2, 3]) cluster.start(id);
  cluster.run(50);
  assert.equal(cluster.controller.partitionState(0).leader, 1);
  return cluster;
}

test('acks=all: acknowledged once every ISR member has it; followers learn the HW', () => {
  const cluster = started();
  const results = cluster.produce(1, 'a');
  assert.equal(results.length, 0, 'not acknowledged before replication');
  cluster.run(50);
  assert.equal(results[0]?.errorCode, ErrorCode.NONE);
  assert.equal(results[0]?.offset, 0);
  for (const id of [1, 2, 3]) {
    assert.deepEqual(values(cluster.log(id)), ['a@1']);
    assert.equal(cluster.log(id).highWatermark, 1);
  }
});

test('one follower down: the ISR shrinks after replica.lag.time.max.ms and writes go on; two down: NOT_ENOUGH_REPLICAS, nothing written', () => {
  const cluster = started();
  cluster.crash(3);
  cluster.run(500);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1, 2]);
  const ok = cluster.produce(1, 'a');
  cluster.run(50);
  assert.equal(ok[0]?.errorCode, ErrorCode.NONE);
  cluster.crash(2);
  cluster.run(500);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1]);
  const endBefore = cluster.log(1).logEndOffset;
  const refused = cluster.produce(1, 'b');
  assert.equal(refused[0]?.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.match(refused[0]?.message ?? '', /min\.insync\.replicas is 2/);
  assert.equal(cluster.log(1).logEndOffset, endBefore, 'nothing written');
  // A restarted follower catches up and rejoins; writes succeed again.
  cluster.start(2);
  cluster.run(300);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1, 2]);
  const again = cluster.produce(1, 'c');
  cluster.run(50);
  assert.equal(again[0]?.errorCode, ErrorCode.NONE);
});

test('the ISR shrinks below min.insync.replicas while an append waits: NOT_ENOUGH_REPLICAS_AFTER_APPEND, HW frozen', () => {
  const cluster = started();
  const first = cluster.produce(1, 'a');
  cluster.run(50);
  assert.equal(first[0]?.errorCode, ErrorCode.NONE);
  const hw = cluster.log(1).highWatermark;
  // Followers stop fetching (their links to the leader are cut), the leader still reaches the controller.
  for (const id of [2, 3]) cluster.cut.add(`${id}>1`).add(`1>${id}`);
  const waiting = cluster.produce(1, 'b');
  assert.equal(waiting.length, 0);
  cluster.run(400);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1]);
  assert.equal(waiting.length, 1);
  assert.equal(waiting[0]?.errorCode, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  assert.equal(
    cluster.log(1).highWatermark,
    hw,
    'the HW does not move while the ISR is below min.insync.replicas',
  );
});

test("KIP-101 divergence: a replica that led epoch 1 alone truncates its uncommitted tail by epoch and takes the new leader's record", () => {
  const cluster = started();
  const a = cluster.produce(1, 'a');
  cluster.run(50);
  assert.equal(a[0]?.errorCode, ErrorCode.NONE);
  // Leader 1 appends 'b' but nobody fetches it; then it is cut off and loses leadership.
  cluster.isolate(1);
  cluster.produce(1, 'b');
  cluster.run(600);
  const state = cluster.controller.partitionState(0);
  assert.equal(state.leader, 2);
  assert.equal(state.leaderEpoch, 2);
  const c = cluster.produce(2, 'c');
  cluster.run(50);
  assert.equal(c[0]?.errorCode, ErrorCode.NONE);
  assert.deepEqual(values(cluster.log(1)), ['a@1', 'b@1']);
  cluster.heal();
  cluster.run(300);
  for (const id of [1, 2, 3]) assert.deepEqual(values(cluster.log(id)), ['a@1', 'c@2']);
  assert.deepEqual(
    cluster.truncations.map((t) => [t.node, t.offset, t.removed.map((e) => e.value)]),
    [[1, 1, ['b']]],
  );
});

test('no truncation to a stale high watermark: a follower restarted with HW 0 keeps an acknowledged record and serves it as the next leader', () => {
  const cluster = started();
  const a = cluster.produce(1, 'a');
  const b = cluster.produce(1, 'b');
  cluster.run(30);
  assert.equal(b[0]?.errorCode, ErrorCode.NONE);
  assert.equal(a[0]?.errorCode, ErrorCode.NONE);
  // Followers have 'b' but may not know yet that it is committed; a restart loses their HW.
  cluster.crash(2);
  cluster.start(2);
  assert.equal(cluster.log(2).highWatermark, 0);
  assert.deepEqual(values(cluster.log(2)), ['a@1', 'b@1'], 'flushed before it acknowledged them by fetching');
  cluster.run(100);
  // The old leader dies; the next leader must still hold 'b' (pre-KIP-101 Kafka truncated it to the HW).
  cluster.crash(1);
  cluster.run(600);
  const leader = cluster.controller.partitionState(0).leader;
  assert.ok(leader === 2 || leader === 3);
  assert.deepEqual(values(cluster.log(leader)), ['a@1', 'b@1']);
  assert.deepEqual(cluster.truncations, []);
});

test('a zombie leader cut off from everyone acknowledges nothing; its stale epoch is fenced and its tail truncated after it heals', () => {
  const cluster = started();
  cluster.isolate(1);
  const zombie = cluster.produce(1, 'zombie');
  cluster.run(700);
  assert.equal(cluster.controller.partitionState(0).leader, 2);
  assert.ok(cluster.replica(1).isLeader, 'broker 1 still believes it leads epoch 1');
  const fresh = cluster.produce(2, 'fresh');
  cluster.run(50);
  assert.equal(fresh[0]?.errorCode, ErrorCode.NONE);
  assert.notEqual(zombie[0]?.errorCode, ErrorCode.NONE);
  // A follower of the new epoch fetching from the zombie, and the zombie's AlterPartition, are refused.
  const fetchAnswer = answerFetch(cluster, 1, { currentLeaderEpoch: 2 });
  assert.equal(fetchAnswer.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  const stale = cluster.controller.alterPartition({
    type: 'alter-partition',
    brokerId: 1,
    brokerEpoch: cluster.replica(1).brokerEpoch,
    partition: 0,
    leaderEpoch: 1,
    partitionEpoch: 1,
    newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: cluster.replica(1).brokerEpoch }],
    correlationId: 1,
  });
  assert.equal(stale.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  const staleFetch = answerFetch(cluster, 2, { currentLeaderEpoch: 1 });
  assert.equal(staleFetch.errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  cluster.heal();
  cluster.run(300);
  assert.ok(!cluster.replica(1).isLeader);
  for (const id of [1, 2, 3]) assert.deepEqual(values(cluster.log(id)), ['fresh@2']);
  assert.equal(zombie.length, 1);
  assert.notEqual(zombie[0]?.errorCode, ErrorCode.NONE);
});

function answerFetch(
  cluster: Cluster,
  leader: number,
  fields: { currentLeaderEpoch: number },
): { errorCode: number } {
  let answer: { errorCode: number } | undefined;
  const cut = [...cluster.cut];
  cluster.cut.clear();
  const replica = cluster.replica(leader);
  // The replica answers through its send function; catch the answer by asking from broker 3 and reading the queue.
  const origin = cluster.replica(3);
  replica.handle(3, {
    type: 'fetch',
    partition: 0,
    replicaId: 3,
    replicaEpoch: origin.brokerEpoch,
    currentLeaderEpoch: fields.currentLeaderEpoch,
    fetchOffset: 0,
    lastFetchedEpoch: -1,
    correlationId: 1_000_000,
  });
  const spy = origin.handle.bind(origin);
  origin.handle = (from, message) => {
    if (message.type === 'fetch-response' && message.correlationId === 1_000_000) answer = message;
    spy(from, message);
  };
  cluster.deliver();
  origin.handle = spy;
  for (const link of cut) cluster.cut.add(link);
  if (answer === undefined) throw new Error('no fetch answer');
  return answer;
}

test('KIP-279 multi-round truncation: a follower holding an epoch the leader never saw converges', () => {
  const follower = new MemoryReplicaLog();
  const entry = (offset: number, epoch: number, value: string): LogEntry => ({ offset, epoch, value });
  follower.appendAsFollower([entry(0, 1, 'a'), entry(1, 3, 'x'), entry(2, 3, 'y')]);
  const leader = new MemoryReplicaLog();
  leader.appendAsFollower([entry(0, 1, 'a'), entry(1, 2, 'b')]);
  leader.assignEpochStartOffset(4, 2);
  leader.appendAsLeader('c', 4);
  // Round 1: the follower's last epoch 3 → the leader's floor is epoch 2, ending at 2; the follower
  // does not know epoch 2, so it truncates to the end of its epoch below (1 → offset 1).
  assert.deepEqual(leader.endOffsetForEpoch(3), { epoch: 2, endOffset: 2 });
  assert.deepEqual(follower.endOffsetForEpoch(2), { epoch: 1, endOffset: 1 });
  // Round 2: epoch 1 ends at 1 on both: no divergence, fetch from 1.
  assert.deepEqual(leader.endOffsetForEpoch(1), { epoch: 1, endOffset: 1 });
  // The same through two replicas, driven by hand in leader epoch 4.
  const queue: { to: number; from: number; message: Parameters<PartitionReplica['handle']>[1] }[] = [];
  const truncations: number[] = [];
  const make = (nodeId: number, log: MemoryReplicaLog) =>
    new PartitionReplica({
      nodeId,
      brokerEpoch: 10 + nodeId,
      partition: 0,
      log,
      clock: { nowMs: () => 0 },
      config: TEST_CONFIG,
      send: (to, message) => {
        if (to !== 'controller' && message.type !== 'alter-partition')
          queue.push({ to, from: nodeId, message });
      },
      listener: { onTruncate: (offset) => truncations.push(offset) },
    });
  const replicas = new Map([
    [1, make(1, leader)],
    [2, make(2, follower)],
  ]);
  const state = { partition: 0, replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 4, partitionEpoch: 7 };
  for (const replica of replicas.values()) replica.applyPartitionState(state);
  replicas.get(2)?.tick();
  for (let i = 0; i < 20 && queue.length > 0; i++) {
    const item = queue.shift();
    if (item !== undefined) replicas.get(item.to)?.handle(item.from, item.message);
    if (queue.length === 0) replicas.get(2)?.tick();
  }
  assert.deepEqual(values(follower), values(leader));
  assert.deepEqual(truncations, [1]);
});

test('controller: AlterPartition checks (KIP-903 stale broker epoch, partition epoch, leader epoch, sender)', () => {
  let now = 0;
  const controller = new PartitionController({
    replicas: [1, 2, 3],
    partitions: 1,
    sessionTimeoutMs: 1000,
    nowMs: () => now,
    onStateChange: () => {},
  });
  const epochs = new Map([1, 2, 3].map((id) => [id, controller.register(id)] as const));
  const e = (id: number) => epochs.get(id) ?? -1;
  const state = controller.partitionState(0);
  assert.equal(state.leader, 1);
  const request = (
    isr: number[],
    over: Partial<{ partitionEpoch: number; leaderEpoch: number; brokerId: number }> = {},
  ) => ({
    type: 'alter-partition' as const,
    brokerId: over.brokerId ?? 1,
    brokerEpoch: e(over.brokerId ?? 1),
    partition: 0,
    leaderEpoch: over.leaderEpoch ?? state.leaderEpoch,
    partitionEpoch: over.partitionEpoch ?? state.partitionEpoch,
    newIsrWithEpochs: isr.map((id) => ({ brokerId: id, brokerEpoch: e(id) })),
    correlationId: 1,
  });
  // The leader shrinks the ISR to [1, 2]; a request built on the old partition epoch is stale afterwards.
  const shrink = controller.alterPartition(request([1, 2]));
  assert.equal(shrink.errorCode, ErrorCode.NONE);
  assert.equal(controller.alterPartition(request([1, 2, 3])).errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  const current = controller.partitionState(0);
  // KIP-903: broker 3 restarts (new epoch, empty disk perhaps); a delayed expansion naming its old epoch is refused.
  const oldEpoch3 = e(3);
  epochs.set(3, controller.register(3));
  const delayed = controller.alterPartition({
    ...request([1, 2, 3], { partitionEpoch: controller.partitionState(0).partitionEpoch }),
    newIsrWithEpochs: [
      { brokerId: 1, brokerEpoch: e(1) },
      { brokerId: 2, brokerEpoch: e(2) },
      { brokerId: 3, brokerEpoch: oldEpoch3 },
    ],
  });
  assert.equal(delayed.errorCode, ErrorCode.INELIGIBLE_REPLICA);
  const now3 = controller.partitionState(0);
  assert.equal(
    controller.alterPartition(request([1, 2, 3], { partitionEpoch: now3.partitionEpoch, brokerId: 2 }))
      .errorCode,
    ErrorCode.INVALID_REQUEST,
  );
  assert.equal(
    controller.alterPartition(request([2, 3], { partitionEpoch: now3.partitionEpoch })).errorCode,
    ErrorCode.INVALID_REQUEST,
    'the ISR must hold the leader',
  );
  assert.equal(
    controller.alterPartition(
      request([1, 2], { leaderEpoch: now3.leaderEpoch - 1, partitionEpoch: now3.partitionEpoch }),
    ).errorCode,
    ErrorCode.FENCED_LEADER_EPOCH,
  );
  assert.equal(
    controller.alterPartition({
      ...request([1, 2], { partitionEpoch: now3.partitionEpoch }),
      brokerEpoch: e(1) - 1,
    }).errorCode,
    ErrorCode.STALE_BROKER_EPOCH,
  );
  assert.equal(
    controller.alterPartition(request([1, 2, 3], { partitionEpoch: now3.partitionEpoch })).errorCode,
    ErrorCode.NONE,
  );
  assert.ok(current.partitionEpoch < controller.partitionState(0).partitionEpoch);
  // Fencing: no heartbeat for the session timeout → out of every ISR; the leader's fencing elects from the ISR only.
  now = 2000;
  controller.heartbeat(2, e(2));
  controller.heartbeat(3, e(3));
  controller.tick();
  assert.equal(controller.partitionState(0).leader, 2);
  assert.deepEqual(controller.partitionState(0).isr, [2, 3]);
});

test('every ISR member down: the partition goes offline rather than electing a replica outside the ISR', () => {
  const cluster = started();
  cluster.crash(2);
  cluster.crash(3);
  cluster.run(500);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1]);
  cluster.crash(1);
  cluster.run(500);
  assert.equal(cluster.controller.partitionState(0).leader, -1);
  cluster.start(2);
  cluster.run(100);
  assert.equal(
    cluster.controller.partitionState(0).leader,
    -1,
    'broker 2 is not in the ISR: unclean election is off',
  );
  cluster.start(1);
  cluster.run(100);
  assert.equal(cluster.controller.partitionState(0).leader, 1);
});

test('an idle partition keeps its caught-up followers in the ISR', () => {
  const cluster = started();
  const epochBefore = cluster.controller.partitionState(0).partitionEpoch;
  cluster.run(2000); // 20 × replica.lag.time.max.ms with nothing produced
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1, 2, 3]);
  assert.equal(cluster.controller.partitionState(0).partitionEpoch, epochBefore, 'no AlterPartition at all');
});

test('a follower delayed past replica.lag.time.max.ms leaves the ISR, rejoins once caught up; the HW never goes back', () => {
  const cluster = started();
  const hws: number[] = [];
  cluster.cut.add('3>1'); // broker 3's fetches are lost
  for (let i = 0; i < 30; i++) {
    cluster.produce(1, `r${i}`);
    cluster.run(20);
    hws.push(cluster.log(1).highWatermark);
  }
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1, 2]);
  assert.ok(cluster.log(3).logEndOffset < cluster.log(1).logEndOffset);
  cluster.cut.delete('3>1');
  cluster.run(200);
  hws.push(cluster.log(1).highWatermark);
  assert.deepEqual(cluster.controller.partitionState(0).isr, [1, 2, 3]);
  assert.deepEqual(values(cluster.log(3)), values(cluster.log(1)));
  assert.deepEqual(
    hws,
    [...hws].sort((a, b) => a - b),
  );
  assert.equal(hws.at(-1), 30);
});
