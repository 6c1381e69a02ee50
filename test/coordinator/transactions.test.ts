/**
 * The transaction coordinator's state machine, its log records and the partition-side LSO,
 * without a broker: an in-memory `__transaction_state`, a recording marker writer, a manual
 * clock. What real clients see is tested in transactions-clients.test.ts against kstack and
 * Apache Kafka; this file covers the paths clients rarely take (retries, stale requests, load).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoordinatorRecord } from '../../src/coordinator/records.ts';
import {
  type MarkerWriter,
  type TopicPartition,
  TRANSACTION_VERSION_2,
  TransactionCoordinator,
  type TransactionLog,
} from '../../src/coordinator/transactions/coordinator.ts';
import { PartitionTransactions } from '../../src/coordinator/transactions/partition-transactions.ts';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
} from '../../src/coordinator/transactions/records.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { FakeClock } from './fake-clock.ts';

class MemoryTransactionLog implements TransactionLog {
  readonly records = new Map<number, CoordinatorRecord[]>();
  epoch = 3;
  async append(partition: number, record: CoordinatorRecord): Promise<void> {
    const list = this.records.get(partition) ?? [];
    list.push(record);
    this.records.set(partition, list);
  }
  read(partition: number): Iterable<CoordinatorRecord> {
    return [...(this.records.get(partition) ?? [])];
  }
  coordinatorEpoch(): number {
    return this.epoch;
  }
  /** The states written for one id, in order. */
  statesOf(transactionalId: string): number[] {
    const key = Buffer.from(encodeTransactionLogKey(transactionalId));
    return [...this.records.values()]
      .flat()
      .filter((r) => Buffer.from(r.key).equals(key) && r.value !== null)
      .map((r) => decodeTransactionLogValue(r.value as Uint8Array).transactionStatus);
  }
}

interface Marker {
  target: string;
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

class RecordingMarkers implements MarkerWriter {
  readonly written: Marker[] = [];
  /** While set, marker writes wait on it (a slow partition leader). */
  hold: Promise<void> | null = null;
  async writeMarker(
    target: TopicPartition,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void> {
    if (this.hold !== null) await this.hold;
    this.written.push({
      target: `${target.topic}-${target.partition}`,
      producerId,
      producerEpoch,
      commit,
      coordinatorEpoch,
    });
  }
}

function setup(log = new MemoryTransactionLog(), markers = new RecordingMarkers(), firstProducerId = 1000n) {
  const clock = new FakeClock();
  let nextId = firstProducerId;
  const coordinator = new TransactionCoordinator({
    clock,
    log,
    markers,
    nextProducerId: () => nextId++,
    logger: () => {},
  });
  return { clock, log, markers, coordinator };
}

async function loaded(coordinator: TransactionCoordinator, ...ids: string[]) {
  for (const id of ids) {
    const partition = coordinator.partitionFor(id);
    if (!coordinator.hasPartition(partition)) await coordinator.loadPartition(partition);
  }
}

const NO_EXPECTATION = { producerId: -1n, producerEpoch: -1 };
const STATES = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
};

describe('transaction log records', () => {
  it('writes the key as int16 version 0 and the id, as Kafka', () => {
    assert.deepEqual([...encodeTransactionLogKey('tx')], [0, 0, 0, 2, 0x74, 0x78]);
    assert.equal(decodeTransactionLogKey(encodeTransactionLogKey('é-id')), 'é-id');
  });

  it('round-trips a value (written as v1, as Kafka writes it at transaction.version 1+)', () => {
    const value = {
      producerId: 42n,
      previousProducerId: -1n,
      nextProducerId: -1n,
      producerEpoch: 7,
      transactionTimeoutMs: 60000,
      transactionStatus: 1,
      transactionPartitions: [
        { topic: 'a', partitionIds: [0, 2] },
        { topic: 'b', partitionIds: [1] },
      ],
      transactionLastUpdateTimestampMs: 1700000000123n,
      transactionStartTimestampMs: 1700000000001n,
      clientTransactionVersion: 0,
    };
    const encoded = encodeTransactionLogValue(value);
    assert.deepEqual([...encoded.subarray(0, 2)], [0, 1], 'value version 1');
    assert.deepEqual(decodeTransactionLogValue(encoded), value);
  });

  it('reads a v1 (flexible) value with its tagged fields', () => {
    // Built by hand from TransactionLogValue v1: compact array/string lengths are N+1, tagged fields last.
    const bytes = Buffer.concat([
      Buffer.from([0, 1]), // version 1
      Buffer.from('000000000000002a', 'hex'), // producer id 42
      Buffer.from([0, 5]), // epoch 5
      Buffer.from('0000ea60', 'hex'), // timeout 60000
      Buffer.from([2]), // PrepareCommit
      Buffer.from([2]), // one partition entry
      Buffer.from([2, 0x74]), // topic "t"
      Buffer.from([2, 0, 0, 0, 3]), // partition ids [3]
      Buffer.from([0]), // no tagged fields in the entry
      Buffer.from('0000000000000064', 'hex'), // last update 100
      Buffer.from('0000000000000032', 'hex'), // start 50
      Buffer.from([3]), // three tagged fields
      Buffer.from([0, 8]),
      Buffer.from('0000000000000029', 'hex'), // tag 0 previous producer id 41
      Buffer.from([1, 8]),
      Buffer.from('000000000000002b', 'hex'), // tag 1 next producer id 43
      Buffer.from([2, 2, 0, 2]), // tag 2 client transaction version 2
    ]);
    assert.deepEqual(decodeTransactionLogValue(bytes), {
      producerId: 42n,
      previousProducerId: 41n,
      nextProducerId: 43n,
      producerEpoch: 5,
      transactionTimeoutMs: 60000,
      transactionStatus: 2,
      transactionPartitions: [{ topic: 't', partitionIds: [3] }],
      transactionLastUpdateTimestampMs: 100n,
      transactionStartTimestampMs: 50n,
      clientTransactionVersion: 2,
    });
    // The encoder writes the same bytes back: tagged fields in tag order, only when not default.
    assert.deepEqual([...encodeTransactionLogValue(decodeTransactionLogValue(bytes))], [...bytes]);
  });

  it('refuses a value version it does not know, naming it', () => {
    assert.throws(() => decodeTransactionLogValue(Buffer.from([0, 9, 0])), /version 9/);
  });
});

describe('transaction coordinator', () => {
  it('answers NOT_COORDINATOR for an id whose partition it has not loaded', async () => {
    const { coordinator } = setup();
    const result = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.equal(result.errorCode, ErrorCode.NOT_COORDINATOR);
  });

  it('gives a new id epoch 0, bumps the epoch on every InitProducerId, checks the timeout and id', async () => {
    const { coordinator } = setup();
    await loaded(coordinator, 'tx', '');
    const first = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.deepEqual(first, { errorCode: ErrorCode.NONE, producerId: 1000n, producerEpoch: 0 });
    const second = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.deepEqual(second, { errorCode: ErrorCode.NONE, producerId: 1000n, producerEpoch: 1 });
    assert.equal(
      (await coordinator.initProducerId('tx', 900_001, NO_EXPECTATION)).errorCode,
      ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    );
    assert.equal(
      (await coordinator.initProducerId('tx', 0, NO_EXPECTATION)).errorCode,
      ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    );
    assert.equal(
      (await coordinator.initProducerId('', 60000, NO_EXPECTATION)).errorCode,
      ErrorCode.INVALID_REQUEST,
    );
    // KIP-360: a producer naming an epoch that is not the current one is a zombie.
    const stale = await coordinator.initProducerId('tx', 60000, { producerId: 1000n, producerEpoch: 0 });
    assert.equal(stale.errorCode, ErrorCode.PRODUCER_FENCED);
    const recovering = await coordinator.initProducerId('tx', 60000, { producerId: 1000n, producerEpoch: 1 });
    assert.deepEqual(recovering, { errorCode: ErrorCode.NONE, producerId: 1000n, producerEpoch: 2 });
  });

  it('commits: PrepareCommit, markers to every partition, CompleteCommit; retries and contradictions', async () => {
    const { coordinator, log, markers } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    const parts = [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 1 },
    ];
    assert.equal(await coordinator.addPartitions('tx', producerId, 0, parts), ErrorCode.NONE);
    assert.equal(
      await coordinator.addPartitions('tx', producerId + 1n, 0, parts),
      ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    );
    assert.equal(await coordinator.addPartitions('tx', producerId, 1, parts), ErrorCode.PRODUCER_FENCED);
    assert.equal((await coordinator.endTransaction('tx', producerId, 0, true)).errorCode, ErrorCode.NONE);
    await coordinator.idle();
    assert.deepEqual(markers.written, [
      { target: 'a-0', producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 3 },
      { target: 'b-1', producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 3 },
    ]);
    assert.deepEqual(log.statesOf('tx'), [
      STATES.Empty,
      STATES.Ongoing,
      STATES.PrepareCommit,
      STATES.CompleteCommit,
    ]);
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, true)).errorCode,
      ErrorCode.NONE,
      'a retried commit succeeds',
    );
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, false)).errorCode,
      ErrorCode.INVALID_TXN_STATE,
    );
    assert.equal(coordinator.describe('tx').transactionState, 'CompleteCommit');
  });

  it('answers CONCURRENT_TRANSACTIONS while markers are being written, then lets the next transaction start', async () => {
    const { coordinator, markers } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    let release = () => {};
    markers.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    assert.equal((await coordinator.endTransaction('tx', producerId, 0, true)).errorCode, ErrorCode.NONE);
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, true)).errorCode,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    );
    // An abort too, as the 3-node reference answers it (test/coordinator/endtxn-window.slow.ts).
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, false)).errorCode,
      ErrorCode.CONCURRENT_TRANSACTIONS,
    );
    assert.equal(
      await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]),
      ErrorCode.CONCURRENT_TRANSACTIONS,
    );
    markers.hold = null;
    release();
    await coordinator.idle();
    assert.equal(
      await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]),
      ErrorCode.NONE,
    );
  });

  it('transaction version 0: a delayed EndTxn with the same epoch ends the next transaction (what TV2 fixes)', async () => {
    const { coordinator, markers } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    (await coordinator.endTransaction('tx', producerId, 0, false)).errorCode;
    await coordinator.idle();
    await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    // The first transaction's abort, retried late, carries the epoch the second one runs under.
    assert.equal((await coordinator.endTransaction('tx', producerId, 0, false)).errorCode, ErrorCode.NONE);
    await coordinator.idle();
    assert.equal(markers.written.length, 2);
    assert.equal(coordinator.describe('tx').transactionState, 'CompleteAbort');
  });

  it('a new incarnation aborts the open transaction with a bumped epoch, fencing the old producer', async () => {
    const { coordinator, markers } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    assert.equal(coordinator.verifyPartition(producerId, 0, { topic: 'a', partition: 0 }), null);
    assert.equal(
      coordinator.verifyPartition(producerId, 0, { topic: 'a', partition: 1 })?.errorCode,
      ErrorCode.INVALID_TXN_STATE,
    );
    const busy = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.equal(busy.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await coordinator.idle();
    assert.deepEqual(markers.written, [
      { target: 'a-0', producerId, producerEpoch: 1, commit: false, coordinatorEpoch: 3 },
    ]);
    const successor = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.deepEqual(successor, { errorCode: ErrorCode.NONE, producerId, producerEpoch: 2 });
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, true)).errorCode,
      ErrorCode.PRODUCER_FENCED,
    );
    assert.equal(
      coordinator.verifyPartition(producerId, 0, { topic: 'a', partition: 0 })?.errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
  });

  it('starts a new producer id when the epoch would pass Short.MAX_VALUE', async () => {
    const log = new MemoryTransactionLog();
    const { coordinator } = setup(log);
    await loaded(coordinator, 'tx');
    await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    // Put the id near the end of its epochs through the log, as a long-lived id would be, and reload.
    const partition = coordinator.partitionFor('tx');
    const [record] = log.records.get(partition) ?? [];
    const value = decodeTransactionLogValue(record?.value as Uint8Array);
    await log.append(partition, {
      key: encodeTransactionLogKey('tx'),
      value: encodeTransactionLogValue({ ...value, producerEpoch: 32_766 }),
    });
    const { coordinator: reloaded } = setup(log, new RecordingMarkers(), 2000n);
    await loaded(reloaded, 'tx');
    const next = await reloaded.initProducerId('tx', 60000, NO_EXPECTATION);
    assert.equal(next.errorCode, ErrorCode.NONE);
    assert.equal(next.producerEpoch, 0);
    assert.equal(next.producerId, 2000n);
  });

  it('aborts a transaction past its timeout, bumping the epoch, and lists and describes states', async () => {
    const { coordinator, clock, markers } = setup();
    await loaded(coordinator, 'slow', 'quick', 'nobody');
    const slow = await coordinator.initProducerId('slow', 1000, NO_EXPECTATION);
    const quick = await coordinator.initProducerId('quick', 60000, NO_EXPECTATION);
    await coordinator.addPartitions('slow', slow.producerId, 0, [{ topic: 'a', partition: 0 }]);
    await coordinator.addPartitions('quick', quick.producerId, 0, [{ topic: 'a', partition: 1 }]);
    clock.advance(1000);
    assert.equal(coordinator.abortTimedOutTransactions(), 0, 'not past its timeout yet');
    clock.advance(1);
    assert.equal(coordinator.abortTimedOutTransactions(), 1);
    await coordinator.idle();
    assert.deepEqual(markers.written, [
      { target: 'a-0', producerId: slow.producerId, producerEpoch: 1, commit: false, coordinatorEpoch: 3 },
    ]);
    assert.deepEqual(
      coordinator.list([], [], -1).map((t) => [t.transactionalId, t.transactionState]),
      [
        ['slow', 'CompleteAbort'],
        ['quick', 'Ongoing'],
      ],
    );
    assert.deepEqual(
      coordinator.list(['Ongoing'], [], -1).map((t) => t.transactionalId),
      ['quick'],
    );
    assert.deepEqual(
      coordinator.list([], [slow.producerId], -1).map((t) => t.transactionalId),
      ['slow'],
    );
    assert.deepEqual(
      coordinator.list([], [], 5000).map((t) => t.transactionalId),
      [],
      'running 1001 ms, not 5000',
    );
    const described = coordinator.describe('quick');
    assert.equal(described.transactionState, 'Ongoing');
    assert.deepEqual(described.topics, [{ topic: 'a', partitions: [1] }]);
    assert.equal(coordinator.describe('nobody').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  });

  it('expires ids idle past transactional.id.expiration.ms with a tombstone, never an open transaction', async () => {
    const { coordinator, clock, log } = setup();
    await loaded(coordinator, 'idle', 'open');
    await coordinator.initProducerId('idle', 60000, NO_EXPECTATION);
    const open = await coordinator.initProducerId('open', 900_000, NO_EXPECTATION);
    await coordinator.addPartitions('open', open.producerId, 0, [{ topic: 'a', partition: 0 }]);
    clock.advance(999);
    assert.equal(await coordinator.removeExpiredTransactionalIds(1000), 0);
    clock.advance(1);
    assert.equal(await coordinator.removeExpiredTransactionalIds(1000), 1, 'the Ongoing one stays');
    assert.equal(coordinator.describe('idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.equal(coordinator.describe('open').transactionState, 'Ongoing');
    const idlePartition = log.records.get(coordinator.partitionFor('idle')) ?? [];
    assert.equal(idlePartition.at(-1)?.value, null, 'a tombstone was written');
    // Reloaded from the log, the id stays gone.
    const { coordinator: reloaded } = setup(log);
    await loaded(reloaded, 'idle');
    assert.equal(reloaded.describe('idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  });

  it('finishes a prepared commit after a restart: markers again, then CompleteCommit', async () => {
    const log = new MemoryTransactionLog();
    const first = setup(log);
    await loaded(first.coordinator, 'tx');
    const { producerId } = await first.coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    await first.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    first.markers.hold = new Promise<void>(() => {}); // the broker dies before any marker is written
    assert.equal(
      (await first.coordinator.endTransaction('tx', producerId, 0, true)).errorCode,
      ErrorCode.NONE,
    );
    assert.deepEqual(log.statesOf('tx').at(-1), STATES.PrepareCommit);
    const second = setup(log);
    log.epoch = 4;
    await loaded(second.coordinator, 'tx');
    await second.coordinator.idle();
    assert.deepEqual(second.markers.written, [
      { target: 'a-0', producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 4 },
    ]);
    assert.equal(second.coordinator.describe('tx').transactionState, 'CompleteCommit');
    assert.equal(log.statesOf('tx').at(-1), STATES.CompleteCommit);
  });
});

describe('partition transactions (last stable offset, aborted transactions)', () => {
  it('holds the LSO at the oldest open transaction and lists aborted ranges overlapping a read', () => {
    const p = new PartitionTransactions();
    assert.equal(p.lastStableOffset('t', 0, 10), 10);
    p.onTransactionalAppend('t', 0, 1n, 10);
    p.onTransactionalAppend('t', 0, 2n, 12);
    p.onTransactionalAppend('t', 0, 1n, 13); // a later batch of the same transaction
    assert.equal(p.lastStableOffset('t', 0, 14), 10);
    assert.equal(p.openTransactionStart('t', 0, 1n), 10);
    p.onMarker('t', 0, 1n, false, 14);
    assert.equal(p.lastStableOffset('t', 0, 15), 12);
    p.onMarker('t', 0, 2n, true, 15);
    assert.equal(p.lastStableOffset('t', 0, 16), 16);
    assert.equal(p.openTransactionStart('t', 0, 1n), -1);
    assert.deepEqual(p.abortedTransactions('t', 0, 0, 16, 0), [
      { producerId: 1n, firstOffset: 10, lastOffset: 14 },
    ]);
    assert.deepEqual(p.abortedTransactions('t', 0, 15, 16, 0), [], 'the abort marker is before the read');
    assert.deepEqual(p.abortedTransactions('t', 0, 0, 10, 0), [], 'the transaction starts after the read');
    assert.deepEqual(p.abortedTransactions('t', 0, 0, 16, 15), [], 'deleted below the log start offset');
    assert.equal(p.lastStableOffset('t', 1, 3), 3, 'partitions are apart');
  });

  it('keeps an ended transaction unstable until its marker is below the high watermark (a replicated partition)', () => {
    const p = new PartitionTransactions();
    p.onTransactionalAppend('t', 0, 1n, 7);
    p.onMarker('t', 0, 1n, true, 8);
    // The leader appended the marker (log end 9); the followers have not fetched it (HW 7, then 8).
    assert.equal(p.lastStableOffset('t', 0, 7), 7);
    assert.equal(p.lastStableOffset('t', 0, 8), 7, 'the marker at 8 is not below the HW yet');
    assert.equal(p.lastStableOffset('t', 0, 9), 9, 'replicated: the LSO is the HW');
    assert.equal(p.lastStableOffset('t', 0, 9), 9);
  });
});

describe('transaction version 2 (KIP-890 part 2)', () => {
  it('transaction version 2: every EndTxn bumps the epoch, markers carry it, retries answer the same', async () => {
    const { coordinator, log, markers } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    const tv2 = TRANSACTION_VERSION_2;
    // The partition leader adds the partition (AddPartitionsToTxn v5), not the client.
    assert.equal(
      await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }], tv2),
      ErrorCode.NONE,
    );
    const committed = await coordinator.endTransaction('tx', producerId, 0, true, tv2);
    assert.deepEqual(committed, { errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    await coordinator.idle();
    assert.deepEqual(markers.written, [
      { target: 'a-0', producerId, producerEpoch: 1, commit: true, coordinatorEpoch: 3 },
    ]);
    const key = Buffer.from(encodeTransactionLogKey('tx'));
    const values = [...log.records.values()]
      .flat()
      .filter((r) => Buffer.from(r.key).equals(key) && r.value !== null)
      .map((r) => decodeTransactionLogValue(r.value as Uint8Array));
    assert.deepEqual(
      values.map((v) => [v.transactionStatus, v.producerEpoch, v.clientTransactionVersion]),
      [
        [STATES.Empty, 0, 0],
        [STATES.Ongoing, 0, 2],
        [STATES.PrepareCommit, 1, 2],
        [STATES.CompleteCommit, 1, 2],
      ],
    );
    // The client lost the answer and retries with its old epoch: the same answer, nothing written.
    assert.deepEqual(await coordinator.endTransaction('tx', producerId, 0, true, tv2), committed);
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 0, false, tv2)).errorCode,
      ErrorCode.INVALID_TXN_STATE,
    );
    // A delayed EndTxn of the first transaction cannot end the second (KIP-890's fix).
    await coordinator.addPartitions('tx', producerId, 1, [{ topic: 'b', partition: 0 }], tv2);
    assert.deepEqual(await coordinator.endTransaction('tx', producerId, 0, true, tv2), {
      errorCode: ErrorCode.PRODUCER_FENCED,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(coordinator.describe('tx').transactionState, 'Ongoing');
    // Abort: bumped again; an abort with nothing in the transaction bumps too.
    assert.deepEqual(await coordinator.endTransaction('tx', producerId, 1, false, tv2), {
      errorCode: ErrorCode.NONE,
      producerId,
      producerEpoch: 2,
    });
    await coordinator.idle();
    assert.deepEqual(markers.written.at(-1), {
      target: 'b-0',
      producerId,
      producerEpoch: 2,
      commit: false,
      coordinatorEpoch: 3,
    });
    assert.deepEqual(await coordinator.endTransaction('tx', producerId, 2, false, tv2), {
      errorCode: ErrorCode.NONE,
      producerId,
      producerEpoch: 3,
    });
    await coordinator.idle();
    assert.equal(markers.written.length, 2, 'an empty abort writes no marker');
    assert.equal(
      (await coordinator.endTransaction('tx', producerId, 3, true, tv2)).errorCode,
      ErrorCode.INVALID_TXN_STATE,
      'nothing to commit',
    );
  });

  it('transaction version 2: a new producer id when the epoch would overflow, retries of that EndTxn answered alike', async () => {
    const log = new MemoryTransactionLog();
    const { coordinator } = setup(log);
    const partition = coordinator.partitionFor('tx');
    const value = {
      producerId: 77n,
      previousProducerId: -1n,
      nextProducerId: -1n,
      producerEpoch: 32_766,
      transactionTimeoutMs: 60000,
      transactionStatus: STATES.Ongoing,
      transactionPartitions: [{ topic: 'a', partitionIds: [0] }],
      transactionLastUpdateTimestampMs: 0n,
      transactionStartTimestampMs: 0n,
      clientTransactionVersion: 2,
    };
    log.records.set(partition, [
      { key: encodeTransactionLogKey('tx'), value: encodeTransactionLogValue(value) },
    ]);
    await coordinator.loadPartition(partition);
    const ended = await coordinator.endTransaction('tx', 77n, 32_766, true, TRANSACTION_VERSION_2);
    assert.deepEqual(ended, { errorCode: ErrorCode.NONE, producerId: 1000n, producerEpoch: 0 });
    await coordinator.idle();
    assert.deepEqual(
      await coordinator.endTransaction('tx', 77n, 32_766, true, TRANSACTION_VERSION_2),
      ended,
      'the retry from the old id',
    );
    const described = coordinator.describe('tx');
    assert.equal(described.producerId, 1000n);
    assert.equal(described.producerEpoch, 0);
    assert.equal(described.transactionState, 'CompleteCommit');
    // The partition leader adds for the new id.
    assert.equal(
      await coordinator.addPartitions('tx', 1000n, 0, [{ topic: 'a', partition: 0 }], TRANSACTION_VERSION_2),
      ErrorCode.NONE,
    );
  });

  it('verifies partitions for the broker form (VerifyOnly)', async () => {
    const { coordinator } = setup();
    await loaded(coordinator, 'tx');
    const { producerId } = await coordinator.initProducerId('tx', 60000, NO_EXPECTATION);
    await coordinator.addPartitions('tx', producerId, 0, [{ topic: 'a', partition: 0 }]);
    const verified = coordinator.verifyPartitions('tx', producerId, 0, [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
    ]);
    assert.deepEqual(
      [...verified],
      [
        ['a\u00000', ErrorCode.NONE],
        ['a\u00001', ErrorCode.TRANSACTION_ABORTABLE],
      ],
    );
    assert.deepEqual(
      [...coordinator.verifyPartitions('tx', producerId, 1, [{ topic: 'a', partition: 0 }]).values()],
      [ErrorCode.PRODUCER_FENCED],
    );
  });
});
