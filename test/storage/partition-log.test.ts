// One test body, run against the file log and the in-memory log.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  Compression,
  decodeRecordBatches,
  encodeRecordBatch,
  readBatchHeader,
} from '../../src/records/index.ts';
import { InvariantViolation, OffsetOutOfRangeError } from '../../src/storage/index.ts';
import { appendLeader, batch, type Harness, implementations, records } from './helpers.ts';

async function offsetsIn(buf: Buffer): Promise<number[]> {
  return (await decodeRecordBatches(buf)).flatMap((b) => b.records.map((r) => r.offset));
}

for (const impl of implementations) {
  describe(`PartitionLog (${impl.name})`, () => {
    let h: Harness;
    beforeEach(() => {
      h = impl.create();
    });
    afterEach(() => h.cleanup());

    test('append assigns offsets and stamps the leader epoch; reads return whole batches', async () => {
      const log = h.open();
      const a = appendLeader(log, await batch(3), 5);
      const b = appendLeader(log, await batch(2), 5);
      assert.deepEqual([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset], [0, 2, 3, 4]);
      assert.equal(a.logAppendTimeMs, -1);
      assert.equal(log.logEndOffset, 5);
      const r = log.read(0, { maxBytes: 1 << 20 });
      assert.deepEqual(await offsetsIn(r.records), [0, 1, 2, 3, 4]);
      assert.equal(r.firstOffset, 0);
      assert.equal(r.nextOffset, 5);
      assert.equal(readBatchHeader(r.records).partitionLeaderEpoch, 5);
      // From inside a batch: the whole batch comes back.
      const inside = log.read(1, { maxBytes: 1 << 20 });
      assert.equal(inside.firstOffset, 0);
      assert.deepEqual(await offsetsIn(inside.records), [0, 1, 2, 3, 4]);
      log.close();
    });

    test('max bytes: at least one batch, whole batches only; minOneBatch false returns nothing too big', async () => {
      const log = h.open();
      for (let i = 0; i < 5; i++) appendLeader(log, await batch(4, { size: 100 }));
      const size = log.read(0, { maxBytes: 1 << 20 }).records.length / 5;
      const one = log.read(0, { maxBytes: 1 });
      assert.equal(one.records.length, size);
      assert.equal(one.nextOffset, 4);
      const two = log.read(4, { maxBytes: size * 2 + size / 2 });
      assert.deepEqual(await offsetsIn(two.records), [4, 5, 6, 7, 8, 9, 10, 11]);
      const none = log.read(0, { maxBytes: 1, minOneBatch: false });
      assert.equal(none.records.length, 0);
      log.close();
    });

    test('reads stop below maxOffset (the high watermark) and at LEO; out of range throws', async () => {
      const log = h.open();
      appendLeader(log, await batch(3));
      appendLeader(log, await batch(3));
      log.updateHighWatermark(3);
      assert.deepEqual(
        await offsetsIn(log.read(0, { maxBytes: 1 << 20, maxOffset: log.highWatermark }).records),
        [0, 1, 2],
      );
      assert.equal(log.read(3, { maxBytes: 1 << 20, maxOffset: 3 }).records.length, 0);
      assert.equal(log.read(6, { maxBytes: 1 << 20 }).records.length, 0);
      assert.throws(() => log.read(7, { maxBytes: 10 }), OffsetOutOfRangeError);
      assert.throws(() => log.read(-1, { maxBytes: 10 }), OffsetOutOfRangeError);
      log.close();
    });

    test('high watermark never passes LEO and the leader rule only moves it forward', async () => {
      const log = h.open();
      appendLeader(log, await batch(3));
      assert.throws(() => log.updateHighWatermark(4), InvariantViolation);
      assert.ok(log.maybeIncrementHighWatermark(2));
      assert.ok(!log.maybeIncrementHighWatermark(1));
      assert.equal(log.highWatermark, 2);
      assert.equal(log.updateHighWatermark(1), 1); // a follower may move back
      log.close();
    });

    test('everything survives close and reopen, including HW, epochs and log start', async () => {
      let log = h.open({ segmentBytes: 400 });
      for (let i = 0; i < 10; i++) appendLeader(log, await batch(3, { size: 50 }), i < 5 ? 1 : 2);
      log.updateHighWatermark(30);
      log.deleteRecordsBefore(4);
      const before = log.read(4, { maxBytes: 1 << 20 }).records;
      const segments = log.segmentCount;
      log.close();
      log = h.open({ segmentBytes: 400 });
      assert.equal(log.logEndOffset, 30);
      assert.equal(log.logStartOffset, 4);
      assert.equal(log.highWatermark, 30);
      assert.equal(log.segmentCount, segments);
      assert.deepEqual(log.epochEntries(), [
        { epoch: 1, startOffset: 4 },
        { epoch: 2, startOffset: 15 },
      ]);
      assert.deepEqual(log.read(4, { maxBytes: 1 << 20 }).records, before);
      assert.deepEqual(h.warnings, []);
      log.close();
    });

    test('segments roll by segment.bytes and segment.ms, named by 20-digit base offset', async () => {
      const log = h.open({ segmentBytes: 1000, segmentMs: 60_000 });
      const one = await batch(5, { size: 50 });
      const size = one.length;
      appendLeader(log, one);
      for (let i = 0; i < 3; i++) appendLeader(log, await batch(5, { size: 50 }));
      const perSegment = Math.floor(1000 / size);
      assert.equal(log.segmentCount, Math.ceil(4 / perSegment));
      const names = h.fs.list(h.partitionDir).filter((n) => n.endsWith('.log'));
      assert.ok(names.includes('00000000000000000000.log'), names.join());
      assert.ok(names.every((n) => /^\d{20}\.log$/.test(n)));
      const count = log.segmentCount;
      h.clock.advance(60_000);
      appendLeader(log, await batch(1));
      assert.equal(log.segmentCount, count + 1);
      log.close();
    });

    test('retention by bytes and by time deletes whole committed segments and moves the log start', async () => {
      const log = h.open({ segmentBytes: 500, retentionBytes: 1000, retentionMs: 3_600_000 });
      for (let i = 0; i < 10; i++) appendLeader(log, await batch(2, { size: 100, ts: h.clock.nowMs() }));
      assert.equal(log.enforceRetention().deletedSegments, 0, 'nothing below the high watermark');
      log.updateHighWatermark(log.logEndOffset);
      const r = log.enforceRetention();
      assert.ok(r.deletedSegments > 0);
      assert.ok(log.sizeBytes <= 1000 + 500, `size ${log.sizeBytes}`);
      assert.equal(log.logStartOffset, r.logStartOffset);
      assert.throws(() => log.read(0, { maxBytes: 100 }), OffsetOutOfRangeError);
      h.clock.advance(3_600_100);
      log.enforceRetention();
      assert.equal(log.logStartOffset, 20);
      assert.equal(log.logEndOffset, 20);
      assert.equal(log.sizeBytes, 0);
      appendLeader(log, await batch(1));
      assert.equal(log.logEndOffset, 21);
      log.close();
    });

    test('deleteRecordsBefore moves the log start within the high watermark', async () => {
      const log = h.open({ segmentBytes: 150 });
      for (let i = 0; i < 6; i++) appendLeader(log, await batch(2, { size: 50 }));
      assert.throws(() => log.deleteRecordsBefore(5), OffsetOutOfRangeError);
      log.updateHighWatermark(12);
      assert.equal(log.deleteRecordsBefore(5), 5);
      assert.throws(() => log.read(4, { maxBytes: 100 }), OffsetOutOfRangeError);
      assert.equal(log.read(5, { maxBytes: 1 << 20 }).firstOffset, 4); // the batch holding 5
      assert.equal(log.deleteRecordsBefore(3), 5);
      assert.ok(log.segmentCount < 6);
      log.close();
    });

    test('leader epochs: endOffsetForEpoch follows Kafka; epochs never go back; truncation trims them', async () => {
      const log = h.open();
      appendLeader(log, await batch(3), 1); // 0..2
      appendLeader(log, await batch(3), 3); // 3..5
      log.assignEpochStartOffset(4, log.logEndOffset); // new leader, nothing written yet
      appendLeader(log, await batch(2), 4); // 6..7
      assert.deepEqual(log.endOffsetForEpoch(4), { epoch: 4, endOffset: 8 });
      assert.deepEqual(log.endOffsetForEpoch(3), { epoch: 3, endOffset: 6 });
      assert.deepEqual(log.endOffsetForEpoch(2), { epoch: 1, endOffset: 3 });
      assert.deepEqual(log.endOffsetForEpoch(0), { epoch: 0, endOffset: 0 });
      assert.deepEqual(log.endOffsetForEpoch(9), { epoch: -1, endOffset: -1 });
      await assert.rejects(async () => appendLeader(log, await batch(1), 2), InvariantViolation);
      log.truncateTo(4); // inside batch 3..5: the whole batch goes
      assert.equal(log.logEndOffset, 3);
      assert.deepEqual(log.epochEntries(), [{ epoch: 1, startOffset: 0 }]);
      appendLeader(log, await batch(1), 5);
      assert.deepEqual(await offsetsIn(log.read(0, { maxBytes: 1 << 20 }).records), [0, 1, 2, 3]);
      log.close();
    });

    test('truncateTo at or past the log end drops an epoch begun there with no record, as Kafka', async () => {
      const log = h.open();
      appendLeader(log, await batch(3), 1); // 0..2
      log.assignEpochStartOffset(2, log.logEndOffset); // a leader of epoch 2 that wrote nothing
      assert.equal(log.latestEpoch(), 2);
      log.truncateTo(log.logEndOffset);
      assert.equal(log.logEndOffset, 3);
      assert.deepEqual(log.epochEntries(), [{ epoch: 1, startOffset: 0 }]);
      // An epoch above every known one: undefined, as Kafka's LeaderEpochFileCache.endOffsetFor.
      assert.deepEqual(log.endOffsetForEpoch(2), { epoch: -1, endOffset: -1 });
      log.close();
    });

    test('truncateTo across segments, then truncateFullyAndStartAt', async () => {
      const log = h.open({ segmentBytes: 150 });
      for (let i = 0; i < 8; i++) appendLeader(log, await batch(2, { size: 50 }));
      log.updateHighWatermark(16);
      log.truncateTo(6);
      assert.equal(log.logEndOffset, 6);
      assert.equal(log.highWatermark, 6);
      const all: number[] = [];
      for (let o = 0; o < log.logEndOffset; ) {
        const r = log.read(o, { maxBytes: 1 << 20 });
        all.push(...(await offsetsIn(r.records)));
        o = r.nextOffset;
      }
      assert.deepEqual(all, [0, 1, 2, 3, 4, 5]);
      appendLeader(log, await batch(1));
      assert.equal(log.logEndOffset, 7);
      log.truncateFullyAndStartAt(100);
      assert.deepEqual(
        [log.logStartOffset, log.logEndOffset, log.highWatermark, log.segmentCount],
        [100, 100, 100, 1],
      );
      assert.equal(appendLeader(log, await batch(1)).baseOffset, 100);
      log.close();
      const reopened = h.open({ segmentBytes: 300 });
      assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset], [100, 101]);
      reopened.close();
    });

    test('follower append keeps the leader offsets (gaps allowed) and learns epochs; offsets never go back', async () => {
      const log = h.open();
      const a = await encodeRecordBatch({ baseOffset: 0, partitionLeaderEpoch: 2, records: records(3) });
      const b = await encodeRecordBatch({ baseOffset: 10, partitionLeaderEpoch: 3, records: records(2) });
      log.appendAsFollower(Buffer.concat([a, b]));
      assert.equal(log.logEndOffset, 12);
      assert.deepEqual(log.epochEntries(), [
        { epoch: 2, startOffset: 0 },
        { epoch: 3, startOffset: 10 },
      ]);
      assert.equal(log.read(5, { maxBytes: 1 << 20 }).firstOffset, 10);
      const old = await encodeRecordBatch({ baseOffset: 11, partitionLeaderEpoch: 3, records: records(1) });
      assert.throws(() => log.appendAsFollower(old), InvariantViolation);
      const corrupt = Buffer.from(await encodeRecordBatch({ baseOffset: 12, records: records(1) }));
      corrupt[corrupt.length - 1]! ^= 1;
      assert.throws(() => log.appendAsFollower(corrupt), /crcMismatch/);
      log.close();
    });

    test('ListOffsets: first record at or after a timestamp, and the max timestamp', async () => {
      const log = h.open({ segmentBytes: 400, indexIntervalBytes: 100 });
      const base = 1_800_000_000_000;
      for (let i = 0; i < 10; i++) {
        const recs = records(3, { size: 40 }).map((r, j) => ({ ...r, timestamp: base + i * 100 + j * 10 }));
        appendLeader(
          log,
          await encodeRecordBatch({ records: recs, compression: i % 2 ? Compression.lz4 : 0 }),
          7,
        );
      }
      assert.deepEqual(await log.offsetForTimestamp(base + 415), {
        offset: 14,
        timestamp: base + 420,
        leaderEpoch: 7,
      });
      assert.deepEqual(await log.offsetForTimestamp(0), { offset: 0, timestamp: base, leaderEpoch: 7 });
      assert.equal(await log.offsetForTimestamp(base + 10_000), null);
      assert.deepEqual(await log.maxTimestampOffset(), { offset: 29, timestamp: base + 920, leaderEpoch: 7 });
      log.close();
      const reopened = h.open({ segmentBytes: 400, indexIntervalBytes: 100 });
      assert.deepEqual(await reopened.offsetForTimestamp(base + 415), {
        offset: 14,
        timestamp: base + 420,
        leaderEpoch: 7,
      });
      assert.deepEqual(await reopened.maxTimestampOffset(), {
        offset: 29,
        timestamp: base + 920,
        leaderEpoch: 7,
      });
      reopened.close();
    });

    test('LogAppendTime stamps batches and returns the append time', async () => {
      const log = h.open({ messageTimestampType: 'LogAppendTime' });
      const r = appendLeader(log, await batch(2, { ts: 5 }));
      assert.equal(r.logAppendTimeMs, h.clock.nowMs());
      const [decoded] = await decodeRecordBatches(log.read(0, { maxBytes: 1 << 20 }).records);
      assert.deepEqual(
        decoded!.records.map((x) => x.timestamp),
        [h.clock.nowMs(), h.clock.nowMs()],
      );
      log.close();
    });

    test('compaction keeps the latest value per key; tombstones go after delete.retention.ms', async () => {
      const config = { segmentBytes: 350, cleanupPolicy: 'compact' as const, deleteRetentionMs: 1000 };
      const log = h.open(config);
      const ts = h.clock.nowMs();
      for (let i = 0; i < 12; i++) {
        const value = i === 9 ? null : Buffer.from(`v${i}`);
        const codec = [0, 1, 2, 3, 4][i % 5]!;
        appendLeader(
          log,
          await encodeRecordBatch({
            compression: codec,
            records: [{ timestamp: ts + i, key: Buffer.from(`key${i % 4}`), value }],
          }),
        );
      }
      appendLeader(log, await batch(1, { key: () => 'other' }));
      log.updateHighWatermark(log.logEndOffset);
      const before = log.sizeBytes;
      const result = await log.compact();
      assert.ok(result.cleanedSegments > 0 && result.recordsRemoved > 0, JSON.stringify(result));
      assert.ok(log.sizeBytes < before);
      const kept = (await decodeRecordBatches(readAll(log))).flatMap((b) => b.records);
      const latest = new Map(kept.map((r) => [r.key!.toString(), r.value?.toString() ?? null]));
      assert.equal(latest.get('key0'), 'v8');
      assert.equal(latest.get('key1'), null); // tombstone at offset 9, still kept
      assert.equal(kept.filter((r) => r.key!.toString() === 'key0').length, 1);
      assert.deepEqual(
        [...kept.map((r) => r.offset)],
        [...kept.map((r) => r.offset)].sort((a, b) => a - b),
      );
      h.clock.advance(2000);
      await log.compact();
      const after = (await decodeRecordBatches(readAll(log))).flatMap((b) => b.records);
      assert.ok(
        !after.some((r) => r.key!.toString() === 'key1' && r.offset < 12),
        'tombstone removed after delete.retention.ms',
      );
      log.close();
      const reopened = h.open(config);
      assert.equal(reopened.logEndOffset, 13);
      assert.deepEqual(
        await offsetsIn(readAll(reopened)),
        after.map((r) => r.offset),
      );
      reopened.close();
    });

    test('compaction drops keyless records (written while the topic was cleanup.policy=delete)', async () => {
      const log = h.open({ segmentBytes: 150 });
      const ts = h.clock.nowMs();
      for (let i = 0; i < 6; i++) {
        const key = i % 2 === 0 ? null : Buffer.from('k');
        appendLeader(
          log,
          await encodeRecordBatch({ records: [{ timestamp: ts + i, key, value: Buffer.from(`v${i}`) }] }),
        );
      }
      appendLeader(log, await batch(1, { key: () => 'last' }));
      log.updateHighWatermark(log.logEndOffset);
      log.updateConfig({ cleanupPolicy: 'compact' });
      const result = await log.compact();
      const kept = (await decodeRecordBatches(readAll(log))).flatMap((b) => b.records);
      assert.ok(!kept.some((r) => r.key === null && r.offset < 6), `keyless left: ${JSON.stringify(result)}`);
      assert.deepEqual(
        kept.filter((r) => r.key?.toString() === 'k').map((r) => r.value!.toString()),
        ['v5'],
      );
      log.close();
    });

    test('flush.messages moves the recovery point', async () => {
      const log = h.open({ flushMessages: 4 });
      appendLeader(log, await batch(2));
      assert.equal(log.recoveryPoint, 0);
      appendLeader(log, await batch(2));
      assert.equal(log.recoveryPoint, 4);
      log.updateConfig({ flushMessages: Number.POSITIVE_INFINITY, flushMs: 1000 });
      appendLeader(log, await batch(1));
      assert.ok(!log.maybeFlush());
      h.clock.advance(1000);
      assert.ok(log.maybeFlush());
      assert.equal(log.recoveryPoint, 5);
      log.close();
    });

    test('recovery truncates a torn tail to the last whole batch and logs it', async () => {
      let log = h.open();
      for (let i = 0; i < 5; i++) appendLeader(log, await batch(2));
      log.flush(); // unclean shutdown follows: no close
      const path = `${h.partitionDir}/00000000000000000000.log`;
      const bytes = h.fs.readFile(path)!;
      const cut = bytes.length - 7;
      truncateFile(h, path, cut);
      log = h.open();
      assert.equal(log.logEndOffset, 8);
      assert.equal(h.warnings.length, 1, h.warnings.join('\n'));
      assert.match(h.warnings[0]!, /recovery truncated/);
      assert.equal(appendLeader(log, await batch(1)).baseOffset, 8);
      log.close();
    });

    test('abandon() is a crash: the next open recovers from the recovery point; close() is clean', async () => {
      let log = h.open();
      for (let i = 0; i < 3; i++) appendLeader(log, await batch(2));
      log.close();
      log = h.open();
      assert.equal(log.recoveredSegments, 0, 'a clean close leaves nothing to recover');
      for (let i = 0; i < 2; i++) appendLeader(log, await batch(2));
      log.abandon(); // no index, checkpoint or fsync after the writes
      log = h.open();
      assert.equal(log.recoveredSegments, 1, 'the active segment scanned');
      assert.equal(log.logEndOffset, 10);
      assert.deepEqual(await offsetsIn(log.read(0, { maxBytes: 1 << 20 }).records), [...Array(10).keys()]);
      assert.equal(appendLeader(log, await batch(1)).baseOffset, 10);
      log.close();
      log = h.open();
      assert.equal(log.recoveredSegments, 0);
      log.close();
    });

    test('recovery truncates at a flipped byte (CRC mismatch), even after a clean shutdown', async () => {
      let log = h.open();
      for (let i = 0; i < 5; i++) appendLeader(log, await batch(2));
      log.close();
      const path = `${h.partitionDir}/00000000000000000000.log`;
      const bytes = Buffer.from(h.fs.readFile(path)!);
      const third = (bytes.length / 5) * 2;
      bytes[third + 70]! ^= 0xff;
      replaceFile(h, path, bytes);
      log = h.open();
      assert.equal(log.logEndOffset, 4);
      assert.ok(
        h.warnings.some((w) => /crcMismatch/.test(w)),
        h.warnings.join('\n'),
      );
      log.close();
    });

    test('missing or damaged indexes are rebuilt', async () => {
      let log = h.open({ indexIntervalBytes: 50 });
      for (let i = 0; i < 20; i++) appendLeader(log, await batch(2));
      log.close();
      const index = `${h.partitionDir}/00000000000000000000.index`;
      assert.ok((h.fs.readFile(index)?.length ?? 0) > 0);
      h.fs.unlink(index);
      log = h.open({ indexIntervalBytes: 50 });
      assert.equal(log.logEndOffset, 40);
      assert.equal(log.read(33, { maxBytes: 1 }).firstOffset, 32);
      log.close();
      replaceFile(h, index, Buffer.from('garbage!garbage!'));
      log = h.open({ indexIntervalBytes: 50 });
      assert.equal(log.read(17, { maxBytes: 1 }).firstOffset, 16);
      assert.ok(h.warnings.some((w) => /rebuilding indexes/.test(w)));
      log.close();
      assert.ok((h.fs.readFile(index)?.length ?? 0) % 8 === 0);
    });
  });
}

function readAll(log: import('../../src/storage/index.ts').PartitionLog): Buffer {
  const parts: Buffer[] = [];
  for (let o = log.logStartOffset; o < log.logEndOffset; ) {
    const r = log.read(o, { maxBytes: 1 << 20 });
    if (r.records.length === 0) break;
    parts.push(Buffer.from(r.records));
    o = r.nextOffset;
  }
  return Buffer.concat(parts);
}

function truncateFile(h: Harness, path: string, length: number): void {
  const fd = h.fs.open(path);
  h.fs.truncate(fd, length);
  h.fs.close(fd);
}

function replaceFile(h: Harness, path: string, data: Buffer): void {
  const fd = h.fs.open(path);
  h.fs.truncate(fd, 0);
  h.fs.write(fd, data, 0, data.length, 0);
  h.fs.close(fd);
}
