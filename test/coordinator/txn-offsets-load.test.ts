/**
 * Transactional offsets across a `__consumer_offsets` load (issue 13; the over-count of
 * test/eos/eos-clusters.slow.ts): a new leader loads the partition while the transaction
 * coordinator's markers keep arriving. The group coordinator alone, a log whose read waits on a
 * gate, so a marker lands in the middle of the load every run.
 *
 * Found in the EOS scenario's logs: Kafka Streams' offsets of a committed transaction were lost on
 * the new leader of `__consumer_offsets`, so the second instance counted a batch twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCoordinator } from '../../src/coordinator/group-coordinator.ts';
import type { OffsetsLog } from '../../src/coordinator/offsets-log.ts';
import {
  type CoordinatorRecord,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../src/coordinator/records.ts';
import { FakeClock } from './fake-clock.ts';

const PARTITIONS = 1;
const GROUP = 'eos-count';
const TOPIC = 'eos-input';
const PRODUCER = 2000n;

function offsetRecord(partition: number, offset: bigint, producerId?: bigint): CoordinatorRecord {
  return {
    key: encodeOffsetCommitKey(GROUP, TOPIC, partition),
    value: encodeOffsetCommitValue({
      offset,
      leaderEpoch: -1,
      metadata: '',
      commitTimestampMs: 1n,
      expireTimestampMs: -1n,
    }),
    ...(producerId === undefined ? {} : { openTransactionProducerId: producerId }),
  };
}

/** A partition's records as a load reads them, the read held at `gate` after its first record. */
class GatedLog implements OffsetsLog {
  records: CoordinatorRecord[] = [];
  #open: () => void = () => {};
  gate: Promise<void> = Promise.resolve();

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }
  release(): void {
    this.#open();
  }
  async append(): Promise<void> {}
  async *read(): AsyncIterable<CoordinatorRecord> {
    const records = [...this.records];
    for (const [i, record] of records.entries()) {
      if (i === 1) await this.gate;
      yield record;
    }
  }
}

function coordinatorOver(log: OffsetsLog): GroupCoordinator {
  return new GroupCoordinator({
    clock: new FakeClock(),
    log,
    config: { groupInitialRebalanceDelayMs: 0, offsetsTopicNumPartitions: PARTITIONS },
  });
}

function committed(coordinator: GroupCoordinator): bigint[] {
  const fetched = coordinator.fetchOffsets(GROUP, [{ name: TOPIC, partitions: [0, 1] }]);
  return fetched.topics[0]?.partitions.map((p) => p.committedOffset) ?? [];
}

describe('transactional offsets across a __consumer_offsets load', () => {
  it('a commit marker written while the partition loads commits the offsets the load finds pending', async () => {
    const log = new GatedLog();
    // Offset 20 committed, then a transaction of the producer with 40 and 60, its marker not yet in the log.
    log.records = [offsetRecord(0, 20n), offsetRecord(0, 40n, PRODUCER), offsetRecord(1, 60n, PRODUCER)];
    const coordinator = coordinatorOver(log);
    log.hold();
    const loading = coordinator.loadPartition(0);
    // The marker reaches the new leader mid-load (the load read the log before it was appended).
    coordinator.completeTransaction(PRODUCER, 0, true);
    log.release();
    await loading;
    assert.deepEqual(committed(coordinator), [40n, 60n], 'the transaction committed');
    assert.equal(coordinator.hasPendingTransactionalOffset(GROUP, TOPIC, 0), false, 'nothing left pending');
  });

  it('an abort marker written while the partition loads drops them', async () => {
    const log = new GatedLog();
    log.records = [offsetRecord(0, 20n), offsetRecord(0, 40n, PRODUCER)];
    const coordinator = coordinatorOver(log);
    log.hold();
    const loading = coordinator.loadPartition(0);
    coordinator.completeTransaction(PRODUCER, 0, false);
    log.release();
    await loading;
    assert.deepEqual(committed(coordinator), [20n, -1n]);
    assert.equal(coordinator.hasPendingTransactionalOffset(GROUP, TOPIC, 0), false);
  });

  it('offsets left pending by an earlier leadership are not committed by a later marker', async () => {
    const log = new GatedLog();
    log.records = [offsetRecord(0, 20n), offsetRecord(0, 40n, PRODUCER)];
    const coordinator = coordinatorOver(log);
    await coordinator.loadPartition(0);
    assert.equal(coordinator.hasPendingTransactionalOffset(GROUP, TOPIC, 0), true);
    coordinator.unloadPartition(0);
    // Meanwhile another leader aborted that transaction: the log now reads without it.
    log.records = [offsetRecord(0, 20n)];
    await coordinator.loadPartition(0);
    // The producer's next transaction commits elsewhere; its marker here must not revive 40.
    coordinator.completeTransaction(PRODUCER, 0, true);
    assert.deepEqual(committed(coordinator), [20n, -1n]);
  });
});
