import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProducerBatchInfo } from '../../src/broker/services.ts';
import {
  MemoryProducerIdStore,
  PRODUCER_ID_BLOCK_SIZE,
  PRODUCER_ID_NODE_SLOTS,
  ProducerIdManager,
  ProducerStateTable,
} from '../../src/coordinator/producer-state.ts';
import {
  CONTROL_TYPE_COMMIT,
  controlRecordAt,
  encodeMarkerBatch,
} from '../../src/coordinator/transactions/control.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { LogProducerState, type ProducerBatchFacts } from '../../src/storage/index.ts';

/** A table loaded, as at start or a new leadership, from the state a partition log kept of `batches`. */
function loadedFromLog(batches: readonly ProducerBatchFacts[]): ProducerStateTable {
  const log = new LogProducerState();
  for (const b of batches) log.apply(b);
  const table = new ProducerStateTable();
  table.loadPartition('t', 0, log.view([]).producers);
  return table;
}

function batch(
  baseSequence: number,
  recordCount: number,
  overrides: Partial<ProducerBatchInfo> = {},
): ProducerBatchInfo {
  return {
    topic: 't',
    partition: 0,
    producerId: 7n,
    producerEpoch: 0,
    baseSequence,
    lastSequence: (baseSequence + recordCount - 1) % 0x80000000,
    recordCount,
    isTransactional: false,
    ...overrides,
  };
}

/** Checks then records, as the produce path does; returns the decision. */
function produce(table: ProducerStateTable, info: ProducerBatchInfo, offset: { next: bigint }) {
  const decision = table.checkAppend(info);
  if (decision.kind === 'append') {
    const base = offset.next;
    offset.next += BigInt(info.recordCount);
    table.recordAppend(info, base, offset.next - 1n, 1000n);
  }
  return decision;
}

describe('idempotent producer sequence checks', () => {
  it('accepts in-order batches and answers a retried batch with its original offset', () => {
    const table = new ProducerStateTable();
    const offset = { next: 100n };
    assert.equal(produce(table, batch(0, 3), offset).kind, 'append');
    assert.equal(produce(table, batch(3, 2), offset).kind, 'append');
    assert.deepEqual(table.checkAppend(batch(0, 3)), {
      kind: 'duplicate',
      baseOffset: 100n,
      logAppendTimeMs: 1000n,
    });
    assert.deepEqual(table.checkAppend(batch(3, 2)), {
      kind: 'duplicate',
      baseOffset: 103n,
      logAppendTimeMs: 1000n,
    });
    assert.equal(offset.next, 105n);
  });

  it('remembers only the last 5 batches; an older retry is out of order', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    for (let seq = 0; seq < 6; seq++) produce(table, batch(seq, 1), offset);
    assert.equal(table.checkAppend(batch(1, 1)).kind, 'duplicate');
    const old = table.checkAppend(batch(0, 1));
    assert.equal(old.kind === 'error' && old.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('OUT_OF_ORDER_SEQUENCE_NUMBER for a gap; INVALID_PRODUCER_EPOCH for an older epoch', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    produce(table, batch(0, 2, { producerEpoch: 3 }), offset);
    const gap = table.checkAppend(batch(5, 1, { producerEpoch: 3 }));
    assert.equal(gap.kind === 'error' && gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const old = table.checkAppend(batch(2, 1, { producerEpoch: 2 }));
    assert.equal(old.kind === 'error' && old.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('a new epoch must start at sequence 0 and forgets the old batches', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    produce(table, batch(0, 2), offset);
    const bad = table.checkAppend(batch(2, 1, { producerEpoch: 1 }));
    assert.equal(bad.kind === 'error' && bad.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(produce(table, batch(0, 2, { producerEpoch: 1 }), offset).kind, 'append');
    assert.deepEqual(table.checkAppend(batch(0, 2, { producerEpoch: 1 })), {
      kind: 'duplicate',
      baseOffset: 2n,
      logAppendTimeMs: 1000n,
    });
  });

  it('an unknown producer may start at any sequence; sequences wrap at 2^31', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    assert.equal(produce(table, batch(2_147_483_646, 2), offset).kind, 'append');
    assert.equal(produce(table, batch(0, 1), offset).kind, 'append');
  });

  it('a transaction version 2 batch with no state here must start at sequence 0 (Kafka 4.1.1)', () => {
    // The Java client's first batch of a transaction was refused (CONCURRENT_TRANSACTIONS at the
    // implicit add) while the next ones in flight (15..29) were taken as the first: sequence 0 could
    // then never follow (src/bench/eos.ts found it).
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    const tv2 = { isTransactional: true, supportsEpochBump: true };
    const later = produce(table, batch(15, 15, tv2), offset);
    assert.equal(later.kind, 'error');
    assert.equal(later.kind === 'error' && later.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.match(
      later.kind === 'error' ? String(later.errorMessage) : '',
      /: 15 \(incoming seq\. number\)\. Expected sequence 0 for transactions v2 idempotent producer with no existing state\.$/,
    );
    assert.equal(produce(table, batch(0, 15, tv2), offset).kind, 'append');
    assert.equal(produce(table, batch(15, 15, tv2), offset).kind, 'append');
    // Before transaction version 2 (and for idempotent batches) any first sequence is taken.
    assert.equal(
      produce(table, batch(15, 1, { isTransactional: true, partition: 1 }), offset).kind,
      'append',
    );
  });

  it('keeps producers apart per partition', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    produce(table, batch(0, 5), offset);
    assert.equal(table.checkAppend(batch(0, 5, { partition: 1 })).kind, 'append');
    // Transactional batches follow the same sequence rules (their transaction is checked before, in transactions/).
    const txn = table.checkAppend(batch(6, 1, { isTransactional: true }));
    assert.equal(txn.kind === 'error' && txn.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('takes the epoch of a fencing marker, so the older epoch is refused after it', () => {
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    produce(table, batch(0, 2), offset);
    table.recordMarker('t', 0, 7n, 1, 0);
    const old = table.checkAppend(batch(2, 1));
    assert.equal(old.kind === 'error' && old.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.deepEqual(
      table.producersOf('t', 0).map((p) => [p.producerId, p.producerEpoch]),
      [[7n, 1]],
    );
  });

  it('after a marker with the next epoch (KIP-890 TV2), that epoch starts at sequence 0, as Kafka checks it', () => {
    // The Java client's next transaction: its first batch [0] answered CONCURRENT_TRANSACTIONS and
    // retried, its second batch [1-9] arriving first (test/eos/eos-clusters.slow.ts, issue 13).
    const table = new ProducerStateTable();
    const offset = { next: 0n };
    produce(table, batch(0, 10, { producerEpoch: 25, isTransactional: true }), offset);
    table.recordMarker('t', 0, 7n, 26, 0);
    const overtaking = table.checkAppend(batch(1, 9, { producerEpoch: 26, isTransactional: true }));
    assert.deepEqual(overtaking, {
      kind: 'error',
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      errorMessage:
        'Out of order sequence number for producer 7 in t-0: 1 (incoming seq. number), -1 (current end sequence number)',
    });
    assert.equal(
      produce(table, batch(0, 1, { producerEpoch: 26, isTransactional: true }), offset).kind,
      'append',
    );
    assert.equal(
      produce(table, batch(1, 9, { producerEpoch: 26, isTransactional: true }), offset).kind,
      'append',
    );
    // A marker for a producer without state here (its batches in other partitions) also sets where it starts.
    table.recordMarker('t', 1, 8n, 4, 0);
    const late = table.checkAppend(batch(3, 1, { partition: 1, producerId: 8n, producerEpoch: 4 }));
    assert.equal(late.kind === 'error' && late.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(
      table.checkAppend(batch(0, 1, { partition: 1, producerId: 8n, producerEpoch: 4 })).kind,
      'append',
    );
  });

  it('refuses a marker of an older producer epoch or an older coordinator epoch, also after a replay', async () => {
    const check = (table: ProducerStateTable, producerEpoch: number, coordinatorEpoch: number) =>
      table.checkMarker('t', 0, 7n, producerEpoch, coordinatorEpoch)?.errorCode ?? ErrorCode.NONE;
    const table = new ProducerStateTable();
    assert.equal(check(table, 0, 0), ErrorCode.NONE, 'a producer unknown here');
    table.recordMarker('t', 0, 7n, 2, 0, 5);
    assert.equal(check(table, 1, 5), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(check(table, 2, 4), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(check(table, 2, 5), ErrorCode.NONE);
    assert.equal(check(table, 3, 6), ErrorCode.NONE);
    // The same marker read back from a log: its value carries the coordinator epoch.
    const bytes = await encodeMarkerBatch({
      producerId: 7n,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 5,
      timestampMs: 0,
    });
    assert.deepEqual(controlRecordAt(bytes, 0), { controlType: CONTROL_TYPE_COMMIT, coordinatorEpoch: 5 });
    const replayed = loadedFromLog([
      {
        producerId: 7n,
        producerEpoch: 2,
        baseSequence: -1,
        lastOffsetDelta: 0,
        baseOffset: 10,
        maxTimestampMs: 0,
        isTransactional: true,
        isControl: true,
        controlType: CONTROL_TYPE_COMMIT,
        coordinatorEpoch: controlRecordAt(bytes, 0).coordinatorEpoch,
      },
    ]);
    assert.equal(check(replayed, 2, 4), ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    assert.equal(check(replayed, 1, 5), ErrorCode.INVALID_PRODUCER_EPOCH);
    // What DescribeProducers reports, so `kafka-transactions abort` can send the right epoch.
    assert.deepEqual(
      replayed.producersOf('t', 0).map((p) => [p.producerEpoch, p.coordinatorEpoch]),
      [[2, 5]],
    );
  });

  it('loads from the producer state its log kept, so dedup survives a restart', () => {
    const table = loadedFromLog([
      {
        producerId: 7n,
        producerEpoch: 0,
        baseSequence: 0,
        lastOffsetDelta: 2,
        baseOffset: 40,
        maxTimestampMs: 5,
        isTransactional: false,
        isControl: false,
        controlType: -1,
        coordinatorEpoch: -1,
      },
    ]);
    assert.deepEqual(table.checkAppend(batch(0, 3)), {
      kind: 'duplicate',
      baseOffset: 40n,
      logAppendTimeMs: 5n,
    });
    assert.equal(table.checkAppend(batch(3, 1)).kind, 'append');
    assert.equal(table.maxProducerId(), 7n);
  });

  it('expires idle producers after producer.id.expiration.ms', () => {
    const table = new ProducerStateTable();
    produce(table, batch(0, 1), { next: 0n });
    assert.equal(table.expireProducers(1000 + 999, 1000), 0);
    assert.equal(table.expireProducers(1000 + 1000, 1000), 1);
    assert.equal(table.checkAppend(batch(9, 1)).kind, 'append');
  });
});

describe('producer id allocation', () => {
  it('hands out increasing ids and never reuses a block after a restart', () => {
    const store = new MemoryProducerIdStore();
    const first = new ProducerIdManager(store);
    assert.equal(first.nextProducerId(), 0n);
    assert.equal(first.nextProducerId(), 1n);
    assert.equal(store.value, PRODUCER_ID_BLOCK_SIZE);
    const afterRestart = new ProducerIdManager(store);
    assert.equal(afterRestart.nextProducerId(), PRODUCER_ID_BLOCK_SIZE);
  });

  it('stays above ids seen in the logs', () => {
    const manager = new ProducerIdManager(new MemoryProducerIdStore());
    manager.observe(5000n);
    assert.equal(manager.nextProducerId(), 5001n);
  });

  it('gives the nodes of a cluster disjoint blocks, across block ends, restarts and ids seen in the logs', () => {
    const stores = [1, 2, 3].map(() => new MemoryProducerIdStore());
    const managers = [1, 2, 3].map((nodeId, i) => new ProducerIdManager(stores[i]!, () => nodeId));
    // Node 2 saw node 3's ids in a replicated log: it must not jump into node 3's block.
    managers[1]!.observe(3n * PRODUCER_ID_BLOCK_SIZE + 7n);
    const handed = new Map<bigint, number>();
    const blockCount = Number(PRODUCER_ID_BLOCK_SIZE) * 2 + 10;
    for (const [i, manager] of managers.entries()) {
      for (let n = 0; n < blockCount; n++) {
        const id = manager.nextProducerId();
        assert.equal(
          handed.get(id),
          undefined,
          `id ${id} handed out by node ${handed.get(id)} and node ${i + 1}`,
        );
        assert.equal(
          (id / PRODUCER_ID_BLOCK_SIZE) % PRODUCER_ID_NODE_SLOTS,
          BigInt(i + 1),
          `id ${id} of node ${i + 1}`,
        );
        handed.set(id, i + 1);
      }
    }
    const restarted = new ProducerIdManager(stores[0]!, () => 1);
    const id = restarted.nextProducerId();
    assert.equal(handed.get(id), undefined, 'a restarted node starts past its used blocks');
    assert.equal((id / PRODUCER_ID_BLOCK_SIZE) % PRODUCER_ID_NODE_SLOTS, 1n);
  });
});
