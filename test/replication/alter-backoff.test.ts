// A leader whose AlterPartition is refused (NOT_CONTROLLER while no controller is active,
// INELIGIBLE_REPLICA for a stopped broker) sends the next one after Kafka's exponential retry
// backoff, not on its next tick: on 3 nodes a leader resent ~890 times per partition in 90 s
// (issue 12, finding 2). The core alone, on a manual clock, ticked every 10 ms as the broker does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryReplicaLog } from '../../src/replication/log.ts';
import { PartitionReplica } from '../../src/replication/replica.ts';
import { type AlterPartitionRequest, ErrorCode } from '../../src/replication/types.ts';
import { TEST_CONFIG } from './harness.ts';

const TICK_MS = 10;

test('refused AlterPartitions are resent after 100, 200, 400, 800, 1000 ms; a success resets the backoff', () => {
  let nowMs = 0;
  const sent: { atMs: number; request: AlterPartitionRequest }[] = [];
  const replica = new PartitionReplica({
    nodeId: 1,
    brokerEpoch: 7,
    partition: 0,
    log: new MemoryReplicaLog(),
    clock: { nowMs: () => nowMs },
    config: { ...TEST_CONFIG, alterPartitionBackoffMs: 100, alterPartitionBackoffMaxMs: 1_000 },
    send: (_to, message) => {
      if (message.type === 'alter-partition') sent.push({ atMs: nowMs, request: message });
    },
  });
  const state = {
    partition: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    leader: 1,
    leaderEpoch: 1,
    partitionEpoch: 1,
  };
  replica.applyPartitionState(state);
  const answer = (request: AlterPartitionRequest, errorCode: number, isr: number[] | null): void =>
    replica.handle('controller', {
      type: 'alter-partition-response',
      partition: 0,
      errorCode: errorCode as never,
      state: isr === null ? null : { ...state, isr, partitionEpoch: state.partitionEpoch + 1 },
      correlationId: request.correlationId,
    });
  // No follower fetches: past replica.lag.time.max.ms the leader asks to shrink the ISR to itself,
  // and every answer is a refusal.
  let answered = 0;
  while (nowMs < 4_000) {
    nowMs += TICK_MS;
    replica.tick();
    for (const { request } of sent.slice(answered)) answer(request, ErrorCode.NOT_CONTROLLER, null);
    answered = sent.length;
  }
  const gaps = sent.slice(1).map((s, i) => s.atMs - sent[i]!.atMs);
  assert.deepEqual(
    gaps,
    [100, 200, 400, 800, 1_000, 1_000],
    `sends at ${sent.map((s) => s.atMs).join(', ')} ms`,
  );
  for (const { request } of sent)
    assert.deepEqual(
      request.newIsrWithEpochs.map((m) => m.brokerId),
      [1],
    );

  // Accepted: the ISR is [1]; the next change (a refused one) starts again from the base delay.
  const accepted = sent.length;
  nowMs += 1_000;
  replica.tick();
  assert.equal(sent.length, accepted + 1);
  answer(sent[accepted]!.request, ErrorCode.NONE, [1]);
  assert.deepEqual(replica.state?.isr, [1]);
  const afterSuccess = nowMs;
  replica.applyPartitionState({ ...state, isr: [1, 2], partitionEpoch: 5 });
  nowMs += TICK_MS;
  replica.tick();
  assert.equal(sent.length, accepted + 2, 'a shrink right after a success is not held back');
  answer(sent[accepted + 1]!.request, ErrorCode.INELIGIBLE_REPLICA, null);
  while (sent.length === accepted + 2) {
    nowMs += TICK_MS;
    replica.tick();
  }
  assert.equal(
    sent[accepted + 2]!.atMs - sent[accepted + 1]!.atMs,
    100,
    `after success at ${afterSuccess} ms`,
  );
});
