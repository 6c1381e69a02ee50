/**
 * The replication core over the broker's real partition logs (PartitionReplicaLog over
 * PartitionLog on a MemoryFs): two replicas driven by hand, their fetches answered through
 * `answerFetch`, so a case is staged exactly. No sockets here; replication.test.ts has them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerConfig, topicSettings } from '../../src/broker/config.ts';
import { LocalReplica } from '../../src/broker/partition.ts';
import { PartitionReplicaLog } from '../../src/broker/replica-log.ts';
import { ProducerStateTable } from '../../src/coordinator/producer-state.ts';
import { encodeRecordBatch } from '../../src/records/codec.ts';
import { validateProducePayload } from '../../src/records/index.ts';
import { PartitionReplica } from '../../src/replication/replica.ts';
import type { FetchRequest, PartitionState, ReplicationConfig } from '../../src/replication/types.ts';
import { openMemoryPartitionLog, systemClock } from '../../src/storage/index.ts';

const CONFIG: ReplicationConfig = {
  replicaLagTimeMaxMs: 10_000,
  minInsyncReplicas: 1,
  fetchIdleMs: 0,
  requestTimeoutMs: 10_000,
  produceTimeoutMs: 10_000,
  fetchEntriesMax: 1,
  pendingAppendsMax: 100,
};
const SETTINGS = topicSettings(new BrokerConfig({}), new Map());
/** Deliveries a case may take to converge; a loop (the same divergence again and again) runs past it. */
const DELIVERIES_MAX = 100;

class Pair {
  nowMs = 0;
  readonly locals = new Map<number, LocalReplica>();
  readonly cores = new Map<number, PartitionReplica<Buffer>>();
  /** Each broker's idempotent-producer table (what the coordinator installs in PRODUCER_STATE). */
  readonly producers = new Map<number, ProducerStateTable>();
  readonly #queue: (() => void)[] = [];
  truncations = 0;

  constructor() {
    for (const id of [1, 2]) {
      const log = openMemoryPartitionLog({ dir: '/data', topic: 't', partition: 0, clock: systemClock });
      const local = new LocalReplica('t', 'id', 0, 0, log, undefined, true);
      const producers = new ProducerStateTable();
      this.producers.set(id, producers);
      const core: PartitionReplica<Buffer> = new PartitionReplica<Buffer>({
        nodeId: id,
        brokerEpoch: 1,
        partition: 0,
        log: new PartitionReplicaLog(local, {
          readBytesMax: 1 << 20,
          flushBeforeAcknowledge: false,
          producerState: () => producers,
        }),
        clock: { nowMs: () => this.nowMs },
        config: CONFIG,
        send: (to, message) => {
          if (message.type !== 'fetch' || typeof to !== 'number') return;
          const answer = this.cores.get(to)!.answerFetch(message as FetchRequest);
          this.#queue.push(() => this.cores.get(id)!.handle(to, answer));
        },
        listener: { onTruncate: () => this.truncations++ },
      });
      local.replication = core;
      this.locals.set(id, local);
      this.cores.set(id, core);
    }
  }

  /** Both replicas learn the partition state (as from the metadata image). */
  state(leader: number, leaderEpoch: number, partitionEpoch: number): void {
    const state: PartitionState = {
      partition: 0,
      replicas: [1, 2],
      isr: [1, 2],
      leader,
      leaderEpoch,
      partitionEpoch,
    };
    for (const core of this.cores.values()) core.applyPartitionState(state);
  }

  async append(
    leader: number,
    value: string,
    producer?: { producerId: number; baseSequence: number },
  ): Promise<void> {
    const bytes = await encodeRecordBatch({
      ...(producer === undefined ? {} : { ...producer, producerEpoch: 0 }),
      records: [{ timestamp: Date.now(), key: null, value: Buffer.from(value) }],
    });
    const validation = validateProducePayload(bytes);
    assert.ok(validation.ok);
    const appended = this.locals.get(leader)!.appendAsLeader(bytes, validation.batches, SETTINGS, Date.now());
    assert.equal(appended.errorCode, 0);
  }

  /** Ticks and delivers until the logs are equal and nothing is queued; returns the deliveries made. */
  run(): number {
    for (let deliveries = 0; deliveries < DELIVERIES_MAX; deliveries++) {
      this.nowMs += 10;
      for (const core of this.cores.values()) core.tick();
      const next = this.#queue.shift();
      if (next === undefined) continue;
      next();
      const [a, b] = [this.locals.get(1)!.log, this.locals.get(2)!.log];
      if (a.logEndOffset === b.logEndOffset && this.#queue.length === 0 && a.highWatermark === b.logEndOffset)
        return deliveries + 1;
    }
    return DELIVERIES_MAX;
  }
}

describe('replication core over PartitionLog', () => {
  it('a follower copies the leader log batch for batch and the HW follows', async () => {
    const pair = new Pair();
    pair.state(1, 1, 1);
    for (const value of ['a', 'b', 'c']) await pair.append(1, value);
    assert.ok(pair.run() < DELIVERIES_MAX);
    const [leader, follower] = [pair.locals.get(1)!.log, pair.locals.get(2)!.log];
    assert.equal(follower.logEndOffset, 3);
    assert.deepEqual(
      follower.read(0, { maxBytes: 1 << 20 }).records,
      leader.read(0, { maxBytes: 1 << 20 }).records,
    );
    assert.deepEqual(follower.epochEntries(), [{ epoch: 1, startOffset: 0 }]);
  });

  it('a former leader whose last epoch holds no record converges on the new leader (no divergence loop)', async () => {
    const pair = new Pair();
    pair.state(1, 1, 1);
    for (const value of ['a', 'b', 'c']) await pair.append(1, value);
    assert.ok(pair.run() < DELIVERIES_MAX);
    // Broker 1 leads epoch 2 and appends nothing; broker 2 leads epoch 3 without ever seeing epoch 2.
    pair.state(1, 2, 2);
    pair.state(2, 3, 3);
    for (const value of ['d', 'e']) await pair.append(2, value);
    const deliveries = pair.run();
    assert.ok(deliveries < DELIVERIES_MAX, `no convergence in ${DELIVERIES_MAX} deliveries`);
    const [old, leader] = [pair.locals.get(1)!.log, pair.locals.get(2)!.log];
    assert.equal(old.logEndOffset, 5);
    assert.deepEqual(
      old.read(0, { maxBytes: 1 << 20 }).records,
      leader.read(0, { maxBytes: 1 << 20 }).records,
    );
  });

  it('an unreplicated tail of an older epoch is truncated at the diverging epoch', async () => {
    const pair = new Pair();
    pair.state(1, 1, 1);
    await pair.append(1, 'a');
    assert.ok(pair.run() < DELIVERIES_MAX);
    // Broker 1 writes two records broker 2 never fetches, then broker 2 leads epoch 2 and writes three.
    await pair.append(1, 'lost-1');
    await pair.append(1, 'lost-2');
    pair.state(2, 2, 2);
    for (const value of ['x', 'y', 'z']) await pair.append(2, value);
    assert.ok(pair.run() < DELIVERIES_MAX);
    assert.equal(pair.truncations, 1);
    const [old, leader] = [pair.locals.get(1)!.log, pair.locals.get(2)!.log];
    assert.equal(old.logEndOffset, 4);
    assert.deepEqual(
      old.read(0, { maxBytes: 1 << 20 }).records,
      leader.read(0, { maxBytes: 1 << 20 }).records,
    );
    assert.deepEqual(old.endOffsetForEpoch(1), { epoch: 1, endOffset: 1 });
  });

  it("a follower keeps the idempotent producer's last batches, so as leader it answers a retry as a duplicate", async () => {
    const pair = new Pair();
    pair.state(1, 1, 1);
    await pair.append(1, 'plain');
    for (let sequence = 0; sequence < 3; sequence++)
      await pair.append(1, `p-${sequence}`, { producerId: 7, baseSequence: sequence });
    assert.ok(pair.run() < DELIVERIES_MAX);
    const retry = {
      topic: 't',
      partition: 0,
      producerId: 7n,
      producerEpoch: 0,
      baseSequence: 2,
      lastSequence: 2,
      recordCount: 1,
      isTransactional: false,
    };
    const decision = pair.producers.get(2)!.checkAppend(retry);
    assert.equal(decision.kind, 'duplicate');
    assert.equal(
      decision.kind === 'duplicate' ? decision.baseOffset : -1n,
      3n,
      'the original offset of the retried batch',
    );
    assert.equal(
      pair.producers.get(2)!.checkAppend({ ...retry, baseSequence: 4, lastSequence: 4 }).kind,
      'error',
    );
  });
});
