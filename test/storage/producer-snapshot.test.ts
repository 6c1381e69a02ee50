// Producer-state files (Kafka's .snapshot and .txnindex formats) and the log's rules for them:
// written at roll and clean close, loaded at open with only the tail replayed, deleted when above
// the recovered log end or corrupt, cut back by truncation, dropped with retention.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeMarkerBatch } from '../../src/coordinator/transactions/control.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import {
  CorruptProducerFileError,
  decodeProducerSnapshot,
  decodeTxnIndex,
  encodeProducerSnapshot,
  encodeTxnIndexEntry,
  type MemoryFs,
  type PartitionLog,
  type ProducerSnapshotEntry,
  SegmentedPartitionLog,
  snapshotFileName,
  TXN_INDEX_ENTRY_BYTES,
} from '../../src/storage/index.ts';
import { appendLeader, implementations, records } from './helpers.ts';

const ENTRIES: ProducerSnapshotEntry[] = [
  {
    producerId: 7n,
    producerEpoch: 3,
    lastSequence: 41,
    lastOffset: 1234,
    offsetDelta: 9,
    timestampMs: 1_700_000_000_123,
    coordinatorEpoch: -1,
    currentTxnFirstOffset: -1,
  },
  {
    producerId: 9_007_199_254_740_993n,
    producerEpoch: 32767,
    lastSequence: -1,
    lastOffset: -1,
    offsetDelta: 0,
    timestampMs: 5,
    coordinatorEpoch: 12,
    currentTxnFirstOffset: 1200,
  },
];

describe('producer snapshot format', () => {
  test('round trip: version 1, crc32c over the entries, 46 bytes an entry', () => {
    const buf = encodeProducerSnapshot(ENTRIES);
    assert.equal(buf.length, 10 + 2 * 46);
    assert.equal(buf.readInt16BE(0), 1);
    assert.equal(buf.readInt32BE(6), 2);
    assert.deepEqual(decodeProducerSnapshot(buf), ENTRIES);
    assert.deepEqual(decodeProducerSnapshot(encodeProducerSnapshot([])), []);
  });

  test('a flipped byte fails the crc; a short file and another version are refused', () => {
    const buf = encodeProducerSnapshot(ENTRIES);
    const flipped = Buffer.from(buf);
    flipped[30] = flipped[30]! ^ 1;
    assert.throws(() => decodeProducerSnapshot(flipped), CorruptProducerFileError);
    assert.throws(() => decodeProducerSnapshot(buf.subarray(0, buf.length - 3)), /crc|cannot hold/);
    assert.throws(() => decodeProducerSnapshot(buf.subarray(0, 4)), /snapshot of 4 bytes/);
    const v2 = Buffer.from(buf);
    v2.writeInt16BE(2, 0);
    assert.throws(() => decodeProducerSnapshot(v2), /version 2/);
  });

  test('transaction index: 34-byte entries round trip; a torn tail is left out', () => {
    const a = { producerId: 4n, firstOffset: 10, lastOffset: 20, lastStableOffset: 21 };
    const b = { producerId: 5n, firstOffset: 12, lastOffset: 30, lastStableOffset: 13 };
    const buf = Buffer.concat([encodeTxnIndexEntry(a), encodeTxnIndexEntry(b)]);
    assert.equal(buf.length, 2 * TXN_INDEX_ENTRY_BYTES);
    assert.deepEqual(decodeTxnIndex(buf), { entries: [a, b], tornBytes: 0 });
    assert.deepEqual(decodeTxnIndex(buf.subarray(0, 50)), { entries: [a], tornBytes: 16 });
    const bad = Buffer.from(buf);
    bad.writeInt16BE(3, 34);
    assert.throws(() => decodeTxnIndex(bad), CorruptProducerFileError);
  });
});

const PID = 1000;

/** An idempotent batch of `count` records of producer PID at `sequence`. */
function idempotent(sequence: number, count = 3, opts: { epoch?: number; transactional?: boolean } = {}) {
  return encodeRecordBatch({
    records: records(count),
    producerId: PID,
    producerEpoch: opts.epoch ?? 0,
    baseSequence: sequence,
    transactional: opts.transactional ?? false,
  });
}

async function marker(commit: boolean, epoch = 0) {
  return encodeMarkerBatch({
    producerId: BigInt(PID),
    producerEpoch: epoch,
    commit,
    coordinatorEpoch: 4,
    timestampMs: 1,
  });
}

/** Appends `batches` idempotent batches (3 records each) from sequence `from`. */
async function produce(log: PartitionLog, batches: number, from = 0): Promise<number> {
  for (let i = 0; i < batches; i++) appendLeader(log, await idempotent(from + i * 3));
  return from + batches * 3;
}

function lastBatchOf(log: PartitionLog) {
  return log.producerStateView().producers.get(BigInt(PID))?.batches.at(-1);
}

// A segment holds about 4 batches of 3 records (~100 bytes each).
const SMALL_SEGMENTS = { segmentBytes: 400 };

for (const impl of implementations) {
  describe(`producer state in the log (${impl.name})`, () => {
    test('a snapshot at every roll; a clean reopen replays nothing, an unclean one only the active segment', async () => {
      const h = impl.create();
      try {
        let log = h.open(SMALL_SEGMENTS);
        await produce(log, 40);
        const bases = log.segmentBaseOffsets();
        assert.ok(bases.length >= 8, `${bases.length} segments`);
        const names = h.fs.list(h.partitionDir);
        for (const base of bases.slice(1))
          assert.ok(names.includes(snapshotFileName(base)), `snapshot at ${base}`);
        const before = lastBatchOf(log);
        assert.deepEqual(before, {
          firstSequence: 117,
          lastSequence: 119,
          firstOffset: 117,
          lastOffset: 119,
          timestampMs: 1_700_000_000_002,
        });
        // A kill: the snapshot at the last roll, then only the active segment's batches.
        const active = bases.at(-1)!;
        const activeBatches = (log.logEndOffset - active) / 3;
        log.abandon();
        log = h.open(SMALL_SEGMENTS);
        assert.deepEqual(log.producerStateLoad, { snapshotOffset: active, replayedBatches: activeBatches });
        assert.ok(activeBatches >= 1 && activeBatches <= 4, `${activeBatches} batches in the active segment`);
        assert.deepEqual(lastBatchOf(log), before);
        // A clean close leaves a snapshot at the log end: nothing to replay.
        log.close();
        log = h.open(SMALL_SEGMENTS);
        assert.deepEqual(log.producerStateLoad, { snapshotOffset: 120, replayedBatches: 0 });
        assert.deepEqual(lastBatchOf(log), before);
        assert.deepEqual(h.warnings, []);
        log.close();
      } finally {
        h.cleanup();
      }
    });

    test('a corrupt snapshot is deleted with a warning and an older one is used', async () => {
      const h = impl.create();
      try {
        let log = h.open(SMALL_SEGMENTS);
        await produce(log, 20);
        const bases = log.segmentBaseOffsets();
        const newest = bases.at(-1)!;
        const older = bases.at(-2)!;
        log.abandon();
        const path = `${h.partitionDir}/${snapshotFileName(newest)}`;
        const bytes = Buffer.from(h.fs.readFile(path)!);
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        h.fs.writeFileAtomic(path, bytes);
        log = h.open(SMALL_SEGMENTS);
        assert.equal(log.producerStateLoad.snapshotOffset, older);
        assert.equal(h.warnings.length, 1);
        assert.match(h.warnings[0]!, /unreadable producer snapshot .*crc/);
        assert.equal(h.fs.exists(path), false);
        assert.equal(lastBatchOf(log)?.lastSequence, 59);
        log.close();
      } finally {
        h.cleanup();
      }
    });

    test('aborted transactions go to the .txnindex of the marker segment and survive reopen; truncation cuts them', async () => {
      const h = impl.create();
      try {
        let log = h.open(SMALL_SEGMENTS);
        appendLeader(log, await idempotent(0, 3, { transactional: true })); // 0-2
        appendLeader(log, await idempotent(3, 3, { transactional: true })); // 3-5
        log.appendAsLeader(await marker(false), 0); // abort marker at 6
        appendLeader(log, await idempotent(6, 3, { transactional: true })); // 7-9
        log.appendAsLeader(await marker(true), 0); // commit at 10
        appendLeader(log, await idempotent(9, 3, { transactional: true })); // 11-13
        log.appendAsLeader(await marker(false), 0); // abort at 14
        await produce(log, 6, 0); // other records after (sequence restarts: not checked here)
        const view = log.producerStateView();
        assert.deepEqual(
          view.aborted.map((a) => [a.firstOffset, a.lastOffset]),
          [
            [0, 6],
            [11, 14],
          ],
        );
        assert.equal(view.ongoing.size, 0);
        log.close();
        log = h.open(SMALL_SEGMENTS);
        assert.deepEqual(
          log
            .producerStateView()
            .aborted.map((a) => [a.producerId, a.firstOffset, a.lastOffset, a.lastStableOffset]),
          [
            [BigInt(PID), 0, 6, 7],
            [BigInt(PID), 11, 14, 15],
          ],
        );
        log.truncateTo(14);
        const after = log.producerStateView();
        assert.deepEqual(
          after.aborted.map((a) => a.lastOffset),
          [6],
        );
        assert.deepEqual([...after.ongoing], [[BigInt(PID), 11]]);
        for (const name of h.fs.list(h.partitionDir)) {
          const offset = Number(name.slice(0, 20));
          if (name.endsWith('.snapshot')) assert.ok(offset <= 14, `${name} left above the truncation`);
        }
        log.close();
      } finally {
        h.cleanup();
      }
    });

    test('a follower keeps the same producer state as it appends: a new leader needs no scan', async () => {
      const h = impl.create();
      try {
        const leader = h.open(SMALL_SEGMENTS);
        appendLeader(leader, await idempotent(0, 3, { transactional: true }));
        leader.appendAsLeader(await marker(false), 0);
        await produce(leader, 9, 3);
        appendLeader(leader, await idempotent(30, 2, { transactional: true })); // left open
        const follower = new SegmentedPartitionLog({
          fs: h.fs,
          clock: h.clock,
          dir: `${h.dir}/follower`,
          topic: 't',
          partition: 0,
          config: SMALL_SEGMENTS,
        });
        for (let offset = 0; offset < leader.logEndOffset; ) {
          const read = leader.read(offset, { maxBytes: 150 });
          follower.appendAsFollower(Buffer.from(read.records));
          offset = read.nextOffset;
        }
        assert.ok(follower.segmentCount > 3);
        assert.deepEqual(follower.producerStateView(), leader.producerStateView());
        assert.deepEqual([...follower.producerStateView().ongoing], [[BigInt(PID), 31]]);
        follower.close();
        leader.close();
      } finally {
        h.cleanup();
      }
    });

    test('producers idle for the expiration time go, unless a transaction of theirs is open', async () => {
      const h = impl.create();
      try {
        const log = h.open(SMALL_SEGMENTS);
        appendLeader(log, await idempotent(0)); // timestamps 1_700_000_000_000..2
        appendLeader(
          log,
          await encodeRecordBatch({
            records: records(1),
            producerId: PID + 1,
            producerEpoch: 0,
            baseSequence: 0,
            transactional: true,
          }),
        );
        const ids = () => [...log.producerStateView().producers.keys()];
        assert.equal(log.expireProducers(1_700_000_000_002 + 999, 1000), 0);
        assert.deepEqual(ids(), [BigInt(PID), BigInt(PID + 1)]);
        assert.equal(log.expireProducers(1_700_000_000_002 + 1000, 1000), 1);
        assert.deepEqual(ids(), [BigInt(PID + 1)]);
        log.close();
      } finally {
        h.cleanup();
      }
    });

    test('DeleteRecords and retention drop snapshots and transaction indexes below the first segment', async () => {
      const h = impl.create();
      try {
        const log = h.open(SMALL_SEGMENTS);
        appendLeader(log, await idempotent(0, 3, { transactional: true }));
        log.appendAsLeader(await marker(false), 0);
        await produce(log, 20, 3);
        log.updateHighWatermark(log.logEndOffset);
        assert.equal(log.producerStateView().aborted.length, 1);
        log.deleteRecordsBefore(40);
        const first = log.segmentBaseOffsets()[0]!;
        for (const name of h.fs.list(h.partitionDir)) {
          if (name.endsWith('.snapshot') || name.endsWith('.txnindex'))
            assert.ok(Number(name.slice(0, 20)) >= first, `${name} below the first segment ${first}`);
        }
        assert.equal(log.producerStateView().aborted.length, 0);
        log.close();
      } finally {
        h.cleanup();
      }
    });
  });
}

describe('producer state after a lost log tail (memory)', () => {
  test('a snapshot above the recovered log end is deleted with a warning; state comes from an older one', async () => {
    const h = implementations.find((i) => i.name === 'memory')!.create();
    const fs = h.fs as MemoryFs;
    let log = h.open(SMALL_SEGMENTS);
    await produce(log, 20);
    const bases = log.segmentBaseOffsets();
    const last = bases.at(-1)!;
    const previous = bases.at(-2)!;
    log.close(); // snapshots at every roll and at the log end (60)
    // The segment before the active one loses its bytes (a disk that lied about fsync): the
    // recovered log ends at its base, below the snapshots at `last` and 60.
    fs.replaceFile(`${h.partitionDir}/${String(previous).padStart(20, '0')}.log`, Buffer.alloc(0));
    fs.unlink(`${h.partitionDir}/${String(last).padStart(20, '0')}.log`);
    fs.replaceFile(`${h.partitionDir}/log-checkpoint`, Buffer.from('0\n0 0 0 0\n'));
    log = h.open(SMALL_SEGMENTS);
    assert.equal(log.logEndOffset, previous);
    assert.equal(log.producerStateLoad.snapshotOffset, previous);
    assert.ok(
      h.warnings.some((w) => /above the log end/.test(w)),
      h.warnings.join('\n'),
    );
    for (const offset of [last, 60])
      assert.equal(fs.exists(`${h.partitionDir}/${snapshotFileName(offset)}`), false);
    assert.equal(lastBatchOf(log)?.lastOffset, previous - 1);
    log.close();
  });
});
