/**
 * Broker-side recompression (src/records/recompress.ts) and bounded decompression
 * (src/records/compression.ts), with bytes alone. The expectations are what Apache Kafka
 * 4.1.1 stored when probed over the wire (see src/records/README.md).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import '../property-seed.ts';
import {
  applyCompressionType,
  COMPRESSION_NAMES,
  COMPRESSION_TYPES,
  Compression,
  checkBatchAt,
  compressSync,
  decodeRecordBatch,
  decompressSync,
  encodeRecordBatch,
  KAFKA_ERROR,
  needsRecompression,
  type RecordSpec,
  readBatchHeader,
  recompressBatch,
  snappyCompressXerial,
  targetCodecOf,
  validateProducePayload,
  writeBatchCrc,
  writeBatchHeader,
} from '../../src/records/index.ts';
import { gzipMembersBomb, lz4Bomb, snappyDeclaredBomb, zstdRleBomb } from './bombs.ts';

const CODECS = [Compression.none, Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd];
const T0 = 1_700_000_000_000;
const MIB = 1024 * 1024;

/** Records with out-of-order timestamps, null keys and values, and headers with a null value. */
function sampleRecords(count = 5): RecordSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: T0 + ((i * 7) % 5) - 2,
    key: i % 3 === 1 ? null : Buffer.from(`key-${i}`),
    value: i % 4 === 3 ? null : Buffer.from(`value-${i}-`.repeat(10)),
    headers: [
      { key: 'h', value: Buffer.from([i, 0, 255]) },
      { key: 'none', value: null },
    ],
  }));
}

function validated(batch: Buffer) {
  const v = validateProducePayload(batch);
  if (!v.ok) throw new Error(v.message);
  return v;
}

describe('compression.type → stored codec', () => {
  test('producer keeps the codec; others name it; control batches stay uncompressed', () => {
    assert.deepEqual([...COMPRESSION_TYPES], ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer']);
    for (const codec of CODECS) assert.equal(targetCodecOf('producer', codec), codec);
    assert.equal(targetCodecOf('uncompressed', Compression.gzip), Compression.none);
    assert.equal(targetCodecOf('zstd', Compression.none), Compression.zstd);
    assert.throws(() => targetCodecOf('none', Compression.none), RangeError);
    assert.equal(needsRecompression(Compression.gzip, Compression.gzip), false);
    assert.equal(needsRecompression(Compression.lz4, Compression.gzip), true);
    assert.equal(needsRecompression(0x20 | Compression.none, Compression.gzip), false); // control
    assert.equal(needsRecompression(0x20 | Compression.lz4, Compression.gzip), true);
  });
});

describe('recompressBatch: every codec into every other', () => {
  for (const source of CODECS) {
    for (const target of CODECS) {
      if (source === target) continue;
      test(`${COMPRESSION_NAMES[source]} → ${COMPRESSION_NAMES[target]} keeps what Kafka keeps`, async () => {
        const records = sampleRecords();
        const input = await encodeRecordBatch({
          compression: source,
          records,
          producerId: 42,
          producerEpoch: 3,
          baseSequence: 17,
          transactional: true,
        });
        const v = validated(input);
        const out = recompressBatch(input, v.batches[0]!, target);
        const check = checkBatchAt(out, 0);
        assert.ok(check.ok, 'CRC and structure valid');
        const h = readBatchHeader(out, 0);
        assert.equal(h.attributes & 0x07, target);
        assert.equal(h.attributes & 0x10, 0x10, 'transactional bit kept');
        assert.deepEqual(
          [h.producerId, h.producerEpoch, h.baseSequence, h.recordCount, h.lastOffsetDelta],
          [42, 3, 17, 5, 4],
        );
        assert.equal(h.baseTimestamp, records[0]!.timestamp, 'base timestamp is the first record’s');
        assert.equal(h.maxTimestamp, Math.max(...records.map((r) => r.timestamp)));
        const decoded = await decodeRecordBatch(out);
        decoded.records.forEach((r, i) => {
          assert.equal(r.offsetDelta, i);
          assert.equal(r.attributes, 0);
          assert.equal(r.timestamp, records[i]!.timestamp);
          assert.deepEqual(r.key, records[i]!.key);
          assert.deepEqual(r.value, records[i]!.value);
          assert.deepEqual(r.headers, records[i]!.headers);
        });
      });
    }
  }

  test('records in non-canonical form (base = min timestamp, gaps in offset deltas) are rewritten', async () => {
    const records = sampleRecords(3).map((r, i) => ({
      ...r,
      timestamp: T0 + [5, -3, 1][i]!,
      offset: [0, 5, 2][i],
    }));
    const input = await encodeRecordBatch({ compression: Compression.gzip, records, lastOffsetDelta: 2 });
    assert.notEqual(readBatchHeader(input, 0).baseTimestamp, records[0]!.timestamp);
    const out = recompressBatch(input, validated(input).batches[0]!, Compression.lz4);
    const decoded = await decodeRecordBatch(out);
    assert.deepEqual(
      decoded.records.map((r) => r.offsetDelta),
      [0, 1, 2],
    );
    assert.deepEqual(
      decoded.records.map((r) => r.timestamp),
      records.map((r) => r.timestamp),
    );
    assert.equal(decoded.header.baseTimestamp, records[0]!.timestamp);
  });

  test('property: any records survive any codec change', async () => {
    const recordArb = fc.record({
      ts: fc.integer({ min: -100_000, max: 100_000 }),
      key: fc.option(fc.uint8Array({ maxLength: 30 })),
      value: fc.option(fc.uint8Array({ maxLength: 200 })),
      headers: fc.array(
        fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(fc.uint8Array({ maxLength: 10 })) }),
        {
          maxLength: 3,
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom(...CODECS),
        fc.constantFrom(...CODECS),
        async (input, source, target) => {
          const records = input.map((r) => ({
            timestamp: T0 + r.ts,
            key: r.key === null ? null : Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            headers: r.headers.map((h) => ({
              key: h.key,
              value: h.value === null ? null : Buffer.from(h.value),
            })),
          }));
          const batch = await encodeRecordBatch({ compression: source, records });
          const outcome = applyCompressionType(
            batch,
            validated(batch).batches,
            COMPRESSION_NAMES[target] === 'none' ? 'uncompressed' : COMPRESSION_NAMES[target]!,
          );
          assert.ok(outcome.ok);
          const decoded = await decodeRecordBatch(outcome.payload);
          assert.equal(decoded.header.attributes & 7, target);
          assert.deepEqual(
            decoded.records.map((r) => [r.timestamp, r.key, r.value, r.headers]),
            records.map((r) => [r.timestamp, r.key, r.value, r.headers]),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('applyCompressionType', () => {
  test('producer, or a batch already in the topic codec: the very same bytes (zero copy)', async () => {
    const batch = await encodeRecordBatch({ compression: Compression.lz4, records: sampleRecords() });
    const v = validated(batch);
    for (const type of ['producer', 'lz4']) {
      const outcome = applyCompressionType(batch, v.batches, type);
      assert.ok(outcome.ok);
      assert.equal(outcome.payload, batch);
      assert.equal(outcome.recompressed, 0);
    }
  });

  test('several batches: each rebuilt one gets its new position and header', async () => {
    const a = await encodeRecordBatch({ compression: Compression.none, records: sampleRecords(2) });
    const b = await encodeRecordBatch({ compression: Compression.gzip, records: sampleRecords(3) });
    const payload = Buffer.concat([a, b]);
    const outcome = applyCompressionType(payload, validated(payload).batches, 'gzip');
    assert.ok(outcome.ok);
    assert.equal(outcome.recompressed, 1);
    assert.equal(outcome.batches[1]!.position, outcome.batches[0]!.size);
    assert.deepEqual(Buffer.from(outcome.payload).subarray(outcome.batches[0]!.size), b);
    assert.equal(outcome.batches[0]!.header.attributes & 7, Compression.gzip);
    assert.ok(validateProducePayload(outcome.payload).ok);
  });

  test('a record count the records do not match answers INVALID_RECORD, as Kafka does', async () => {
    for (const codec of [Compression.none, Compression.gzip]) {
      const batch = await encodeRecordBatch({ compression: codec, records: sampleRecords(3) });
      writeBatchHeader(batch, 0, { ...readBatchHeader(batch, 0), recordCount: 4, lastOffsetDelta: 3 });
      writeBatchCrc(batch, 0, batch.length);
      const outcome = applyCompressionType(
        batch,
        [{ position: 0, size: batch.length, header: readBatchHeader(batch, 0) }],
        'zstd',
      );
      assert.ok(!outcome.ok);
      assert.equal(outcome.kafkaErrorCode, KAFKA_ERROR.INVALID_RECORD);
      assert.match(outcome.message, /declares 4 records, holds 3/);
    }
  });

  test('compressed garbage behind a valid CRC answers INVALID_RECORD (Kafka: gzip 87)', async () => {
    for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
      const batch = await encodeRecordBatch({ compression: codec, records: sampleRecords() });
      batch.fill(0x5a, 61 + 4);
      writeBatchCrc(batch, 0, batch.length);
      const outcome = applyCompressionType(batch, validated(batch).batches, 'uncompressed');
      assert.ok(!outcome.ok, COMPRESSION_NAMES[codec]);
      assert.equal(outcome.kafkaErrorCode, KAFKA_ERROR.INVALID_RECORD);
      assert.equal(outcome.batchIndex, 0);
    }
  });

  test('records over the decompressed bound answer MESSAGE_TOO_LARGE and name the limit', async () => {
    const batch = await encodeRecordBatch({
      compression: Compression.gzip,
      records: [{ timestamp: T0, key: null, value: Buffer.alloc(2 * MIB) }],
    });
    const outcome = applyCompressionType(batch, validated(batch).batches, 'lz4', {}, MIB);
    assert.ok(!outcome.ok);
    assert.equal(outcome.kafkaErrorCode, KAFKA_ERROR.MESSAGE_TOO_LARGE);
    assert.match(outcome.message, /DECOMPRESSED_BATCH_BYTES_MAX/);
  });

  test('levels reach the codecs: gzip 1 vs 9, zstd -50 vs 1 vs 22', async () => {
    const text = Buffer.from(
      Array.from({ length: 4000 }, (_, i) => `row ${i % 97} ${(i * 31) % 1000}`).join('\n'),
    );
    assert.ok(
      compressSync(Compression.gzip, text, { gzip: 1 }).length >
        compressSync(Compression.gzip, text, { gzip: 9 }).length,
    );
    assert.ok(
      compressSync(Compression.zstd, text, { zstd: 1 }).length >
        compressSync(Compression.zstd, text, { zstd: 22 }).length,
    );
    assert.ok(
      compressSync(Compression.zstd, text, { zstd: -50 }).length >
        compressSync(Compression.zstd, text, { zstd: 1 }).length,
    );
  });
});

describe('bounded decompression (decompression bombs)', () => {
  const LIMIT = 8 * MIB;

  test('the bombs are real: each expands as built', () => {
    assert.equal(decompressSync(Compression.zstd, zstdRleBomb(MIB), Number.MAX_SAFE_INTEGER).length, MIB);
    const lz4 = decompressSync(Compression.lz4, lz4Bomb(1), 4 * MIB);
    assert.equal(lz4.length, 4 * MIB);
    assert.equal(decompressSync(Compression.gzip, gzipMembersBomb(MIB, 3)).length, 3 * MIB);
  });

  test('zstd: 8 GiB from 256 KiB stops at the bound', () => {
    const bomb = zstdRleBomb(8 * 1024 * MIB);
    assert.ok(bomb.length < 300_000);
    const started = performance.now();
    assert.throws(() => decompressSync(Compression.zstd, bomb, LIMIT), { kind: 'decompressedTooLarge' });
    assert.ok(performance.now() - started < 2000, 'stopped early, not after 8 GiB');
  });

  test('lz4: 2 GiB from 8 MiB is refused before anything is decompressed', () => {
    const bomb = lz4Bomb(512);
    const started = performance.now();
    assert.throws(() => decompressSync(Compression.lz4, bomb, LIMIT), { kind: 'decompressedTooLarge' });
    assert.ok(performance.now() - started < 500);
  });

  test('snappy: a block declaring 4 GiB, raw or in xerial framing, is refused before allocating', () => {
    const raw = snappyDeclaredBomb(2 ** 32 - 1);
    assert.throws(() => decompressSync(Compression.snappy, raw, LIMIT), { kind: 'decompressedTooLarge' });
    const framed = snappyCompressXerial(Buffer.alloc(3 * MIB));
    assert.throws(() => decompressSync(Compression.snappy, framed, 2 * MIB), {
      kind: 'decompressedTooLarge',
    });
    assert.equal(decompressSync(Compression.snappy, framed, 3 * MIB).length, 3 * MIB);
  });

  test('gzip: concatenated members are all read, and bounded together', () => {
    const bomb = gzipMembersBomb(4 * MIB, 4);
    assert.throws(() => decompressSync(Compression.gzip, bomb, LIMIT), { kind: 'decompressedTooLarge' });
    assert.equal(decompressSync(Compression.gzip, bomb, 16 * MIB).length, 16 * MIB);
  });

  test('concatenated zstd and lz4 frames are all read (node:zlib and lz4-napi stop at one)', () => {
    const part = Buffer.from('frame data '.repeat(100));
    for (const codec of [Compression.zstd, Compression.lz4]) {
      const one = compressSync(codec, part);
      const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]);
      const joined = Buffer.concat([one, skippable, one]);
      assert.deepEqual(decompressSync(codec, joined), Buffer.concat([part, part]), COMPRESSION_NAMES[codec]);
    }
    assert.deepEqual(
      decompressSync(Compression.gzip, Buffer.concat([gzipSync(part), gzipSync(part)])).length,
      2 * part.length,
    );
  });

  test('truncated frames are corrupt, not a crash', () => {
    for (const codec of [Compression.zstd, Compression.lz4]) {
      const whole = compressSync(codec, Buffer.from('some data '.repeat(50)));
      for (const cut of [3, 6, whole.length - 1]) {
        assert.throws(
          () => decompressSync(codec, whole.subarray(0, cut)),
          { kind: 'corrupt' },
          `${COMPRESSION_NAMES[codec]} cut ${cut}`,
        );
      }
    }
  });
});
