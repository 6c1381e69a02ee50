import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import '../property-seed.ts';
import {
  BATCH_HEADER_BYTES,
  batchSizeAt,
  Compression,
  Cursor,
  checkBatchAt,
  crc32c,
  crc32cSoftware,
  decodeRecordBatch,
  decodeRecordBatches,
  decompress,
  encodeRecordBatch,
  isBatchCrcValid,
  KAFKA_ERROR,
  type RecordSpec,
  readBatchHeader,
  readVarint,
  readVarlong,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  snappyCompressRaw,
  snappyCompressXerial,
  TimestampType,
  timestampTypeOf,
  validateProducePayload,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
  XERIAL_MAGIC,
} from '../../src/records/index.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('crc32c', () => {
  test('standard check value of "123456789" is 0xE3069283 for both implementations', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cSoftware(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    assert.equal(crc32cSoftware(Buffer.alloc(32, 0xff)), 0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xFF
  });
  test('native and software agree on random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => crc32c(data) === crc32cSoftware(data)),
    );
  });
});

describe('varint and varlong', () => {
  test('zig-zag fixtures from the protobuf specification', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-2, '03'],
      [63, '7e'],
      [-64, '7f'],
      [64, '8001'],
      [300, 'd804'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];
    for (const [value, bytes] of cases) {
      const buf = Buffer.alloc(5);
      const end = writeVarint(buf, 0, value);
      assert.equal(buf.subarray(0, end).toString('hex'), bytes, `varint ${value}`);
      assert.equal(varintSize(value), end);
      assert.equal(readVarint(new Cursor(hex(bytes))), value);
    }
    const long = Buffer.alloc(10);
    const end = writeVarlong(long, 0, 1_700_000_000_000);
    assert.equal(long.subarray(0, end).toString('hex'), '80a0abfef962'); // zig-zag 3.4e12 in base-128 groups, low first
    assert.equal(readVarlong(new Cursor(long.subarray(0, end))), 1_700_000_000_000);
  });
  test('round trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        const buf = Buffer.alloc(5);
        const end = writeVarint(buf, 0, v);
        return end === varintSize(v) && readVarint(new Cursor(buf, 0, end)) === v;
      }),
    );
    fc.assert(
      fc.property(
        fc.maxSafeInteger().filter((v) => Math.abs(v) < 2 ** 52),
        (v) => {
          const buf = Buffer.alloc(10);
          const end = writeVarlong(buf, 0, v);
          return end === varlongSize(v) && readVarlong(new Cursor(buf, 0, end)) === v;
        },
      ),
    );
  });
  test('a varint longer than 5 bytes is corrupt, a cut one truncated', () => {
    assert.throws(() => readVarint(new Cursor(hex('ffffffffff01'))), { kind: 'corrupt' });
    assert.throws(() => readVarint(new Cursor(hex('ff'))), { kind: 'truncated' });
  });
});

// One batch written byte by byte from the RecordBatch v2 specification: base offset 5,
// leader epoch 7, one record key "k" value "hello" with one header ("h" → "1"),
// create time 1_700_000_000_000, idempotent producer 42/3 sequence 9, uncompressed.
const RECORD =
  '20' + // length 16 (zig-zag 32 = 0x20)
  '00' + // attributes
  '00' + // timestamp delta 0
  '00' + // offset delta 0
  '02' +
  '6b' + // key length 1, "k"
  '0a' +
  '68656c6c6f' + // value length 5, "hello"
  '02' + // 1 header
  '02' +
  '68' + // header key length 1, "h"
  '02' +
  '31'; // header value length 1, "1"
const AFTER_CRC =
  '0000' + // attributes: no compression, create time
  '00000000' + // last offset delta 0
  '0000018bcfe56800' + // base timestamp 1_700_000_000_000
  '0000018bcfe56800' + // max timestamp
  '000000000000002a' + // producer id 42
  '0003' + // producer epoch 3
  '00000009' + // base sequence 9
  '00000001' + // 1 record
  RECORD;
function handBuiltBatch(): Buffer {
  const tail = hex(AFTER_CRC);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32cSoftware(tail));
  const batchLength = 4 + 1 + 4 + tail.length; // leader epoch + magic + crc + rest
  return Buffer.concat([
    hex('0000000000000005'), // base offset
    hex(batchLength.toString(16).padStart(8, '0')),
    hex('00000007'), // partition leader epoch
    hex('02'), // magic
    crc,
    tail,
  ]);
}

describe('record batch fixtures', () => {
  const fixture = handBuiltBatch();
  const spec: RecordSpec = {
    timestamp: 1_700_000_000_000,
    key: Buffer.from('k'),
    value: Buffer.from('hello'),
    headers: [{ key: 'h', value: Buffer.from('1') }],
  };

  test('the hand-built batch is 61 + 17 bytes and reads field by field', () => {
    assert.equal(fixture.length, BATCH_HEADER_BYTES + 17);
    const h = readBatchHeader(fixture);
    assert.deepEqual(h, {
      baseOffset: 5,
      batchLength: fixture.length - 12,
      partitionLeaderEpoch: 7,
      magic: 2,
      crc: fixture.readUInt32BE(17),
      attributes: 0,
      lastOffsetDelta: 0,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_000,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
      recordCount: 1,
    });
    assert.equal(batchSizeAt(fixture, 0), fixture.length);
    assert.ok(isBatchCrcValid(fixture, 0, fixture.length));
  });

  test('our encoder writes exactly the hand-built bytes', async () => {
    const encoded = await encodeRecordBatch({
      baseOffset: 5,
      partitionLeaderEpoch: 7,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 9,
      records: [spec],
    });
    assert.equal(encoded.toString('hex'), fixture.toString('hex'));
  });

  test('decoding the hand-built batch gives the record back', async () => {
    const { records } = await decodeRecordBatch(fixture);
    assert.equal(records.length, 1);
    const r = records[0]!;
    assert.equal(r.offset, 5);
    assert.equal(r.timestamp, 1_700_000_000_000);
    assert.equal(r.key?.toString(), 'k');
    assert.equal(r.value?.toString(), 'hello');
    assert.deepEqual(r.headers, [{ key: 'h', value: Buffer.from('1') }]);
  });

  test('base offset and leader epoch rewrite leave the CRC valid; LogAppendTime recomputes it', async () => {
    const b = Buffer.from(fixture);
    setBaseOffset(b, 0, 1234567890123);
    setPartitionLeaderEpoch(b, 0, 99);
    assert.equal(b.readUInt32BE(17), fixture.readUInt32BE(17));
    assert.ok(isBatchCrcValid(b, 0, b.length));
    setLogAppendTime(b, 0, 1_800_000_000_000);
    assert.ok(isBatchCrcValid(b, 0, b.length));
    const h = readBatchHeader(b);
    assert.equal(h.baseOffset, 1234567890123);
    assert.equal(h.partitionLeaderEpoch, 99);
    assert.equal(h.maxTimestamp, 1_800_000_000_000);
    assert.equal(timestampTypeOf(h.attributes), TimestampType.logAppendTime);
    const { records } = await decodeRecordBatch(b);
    assert.equal(records[0]!.timestamp, 1_800_000_000_000);
    assert.equal(records[0]!.offset, 1234567890123);
  });
});

describe('produce payload validation', () => {
  const fixture = handBuiltBatch();

  test('accepts a valid batch and a sequence of batches', () => {
    const one = validateProducePayload(fixture);
    assert.ok(one.ok);
    assert.equal(one.batches.length, 1);
    const two = validateProducePayload(Buffer.concat([fixture, fixture]));
    assert.ok(two.ok && two.batches.length === 2 && two.batches[1]!.position === fixture.length);
  });

  test('magic 0 and 1 are reported as unsupported format (UNSUPPORTED_FOR_MESSAGE_FORMAT)', () => {
    for (const magic of [0, 1]) {
      // A v0/v1 message set entry: offset, size, crc, magic, attributes, (timestamp), key, value.
      const legacy = Buffer.alloc(34);
      legacy.writeInt32BE(22, 8);
      legacy[16] = magic;
      const r = validateProducePayload(legacy);
      assert.ok(!r.ok);
      assert.equal(r.kind, 'unsupportedMagic');
      assert.equal(r.kafkaErrorCode, KAFKA_ERROR.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
  });

  test('a flipped byte anywhere in the CRC range is CORRUPT_MESSAGE', () => {
    for (let i = 21; i < fixture.length; i++) {
      const b = Buffer.from(fixture);
      b[i]! ^= 0x10;
      const r = validateProducePayload(b);
      assert.ok(
        !r.ok && r.kind === 'crcMismatch' && r.kafkaErrorCode === KAFKA_ERROR.CORRUPT_MESSAGE,
        `byte ${i}`,
      );
    }
  });

  test('truncated payloads are CORRUPT_MESSAGE, at every cut', () => {
    for (let cut = 1; cut < fixture.length; cut++) {
      const r = validateProducePayload(fixture.subarray(0, cut));
      assert.ok(!r.ok && r.kafkaErrorCode === KAFKA_ERROR.CORRUPT_MESSAGE, `cut at ${cut}`);
    }
  });

  test('record count inconsistencies are INVALID_RECORD', async () => {
    const records = [0, 1, 2].map((i) => ({ timestamp: 1000 + i, key: null, value: Buffer.from([i]) }));
    const good = await encodeRecordBatch({ records });
    const wrongDelta = await encodeRecordBatch({ records, lastOffsetDelta: 5 });
    const r1 = validateProducePayload(wrongDelta);
    assert.ok(!r1.ok && r1.kind === 'invalidRecord' && r1.kafkaErrorCode === KAFKA_ERROR.INVALID_RECORD);
    // Declare 2 records while 3 are in the bytes (count and last delta consistent with each other).
    const lying = Buffer.from(good);
    lying.writeInt32BE(2, 57);
    lying.writeInt32BE(1, 23);
    lying.writeUInt32BE(crc32c(lying.subarray(21)), 17);
    const r2 = validateProducePayload(lying);
    assert.ok(!r2.ok && r2.kind === 'invalidRecord', JSON.stringify(r2));
    const control = await encodeRecordBatch({ records, control: true });
    const r3 = validateProducePayload(control);
    assert.ok(!r3.ok && r3.kind === 'invalidRecord');
  });

  test('random bytes never throw, and are never accepted by accident', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        const r = validateProducePayload(data);
        return !r.ok;
      }),
    );
  });

  test('random mutations of a valid batch give a valid result object, never an exception', () => {
    fc.assert(
      fc.property(fc.nat(fixture.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = Buffer.from(fixture);
        b[i]! ^= x;
        const r = validateProducePayload(b);
        // Bytes outside the CRC range (offset, length, epoch, magic) may still validate.
        return r.ok ? i < 17 : typeof r.kafkaErrorCode === 'number';
      }),
    );
  });
});

describe('compression', () => {
  const records: RecordSpec[] = Array.from({ length: 50 }, (_, i) => ({
    timestamp: 1_700_000_000_000 + i,
    key: Buffer.from(`key-${i % 7}`),
    value: Buffer.from('x'.repeat(100 + i)),
    headers: i % 3 === 0 ? [{ key: 'trace', value: Buffer.from(String(i)) }] : [],
  }));

  for (const [name, codec] of Object.entries(Compression)) {
    test(`${name} round trip through a batch`, async () => {
      const batch = await encodeRecordBatch({ baseOffset: 100, compression: codec, records });
      const v = validateProducePayload(batch);
      assert.ok(v.ok);
      if (codec !== Compression.none) assert.ok(batch.length < 50 * 100, `${name} compresses`);
      const decoded = await decodeRecordBatch(batch);
      assert.equal(decoded.records.length, 50);
      decoded.records.forEach((r, i) => {
        assert.equal(r.offset, 100 + i);
        assert.equal(r.timestamp, records[i]!.timestamp);
        assert.deepEqual(r.key, records[i]!.key);
        assert.deepEqual(r.value, records[i]!.value);
        assert.deepEqual(r.headers, records[i]!.headers);
      });
    });
  }

  test('stream formats: gzip member, LZ4 frame magic, xerial snappy header', async () => {
    const data = Buffer.from('hello hello hello hello');
    const gz = await encodeRecordBatch({
      compression: Compression.gzip,
      records: [{ timestamp: 0, key: null, value: data }],
    });
    assert.equal(gz.subarray(61, 63).toString('hex'), '1f8b');
    const lz = await encodeRecordBatch({
      compression: Compression.lz4,
      records: [{ timestamp: 0, key: null, value: data }],
    });
    assert.equal(lz.subarray(61, 65).toString('hex'), '04224d18');
    const sn = await encodeRecordBatch({
      compression: Compression.snappy,
      records: [{ timestamp: 0, key: null, value: data }],
    });
    assert.deepEqual(sn.subarray(61, 69), XERIAL_MAGIC);
  });

  test('snappy decompresses raw blocks and multi-block xerial frames', async () => {
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    assert.deepEqual(await decompress(Compression.snappy, snappyCompressRaw(big)), big);
    const framed = snappyCompressXerial(big);
    assert.equal(framed.readInt32BE(8), 1);
    assert.deepEqual(await decompress(Compression.snappy, framed), big);
  });

  test('garbage compressed data is a corrupt error, not a crash', async () => {
    for (const codec of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
      await assert.rejects(decompress(codec, Buffer.from('definitely not compressed data')), {
        kind: 'corrupt',
      });
    }
  });
});

describe('property: any records survive encode → validate → decode with any codec', () => {
  const header = fc.record({
    key: fc.string({ maxLength: 10 }),
    value: fc.option(fc.uint8Array({ maxLength: 20 })),
  });
  const recordArb = fc.record({
    timestampOffset: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    key: fc.option(fc.uint8Array({ maxLength: 40 })),
    value: fc.option(fc.uint8Array({ maxLength: 300 })),
    headers: fc.array(header, { maxLength: 3 }),
  });
  test('round trip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(0, 1, 2, 3, 4),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (input, codec, baseOffset) => {
          const records = input.map((r) => ({
            timestamp: 1_700_000_000_000 + r.timestampOffset,
            key: r.key === null ? null : Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            headers: r.headers.map((h) => ({
              key: h.key,
              value: h.value === null ? null : Buffer.from(h.value),
            })),
          }));
          const batch = await encodeRecordBatch({ baseOffset, compression: codec, records });
          const check = checkBatchAt(batch, 0);
          assert.ok(check.ok);
          assert.ok(validateProducePayload(batch).ok);
          const [decoded] = await decodeRecordBatches(batch);
          assert.equal(decoded!.records.length, records.length);
          decoded!.records.forEach((r, i) => {
            assert.equal(r.offset, baseOffset + i);
            assert.equal(r.timestamp, records[i]!.timestamp);
            assert.deepEqual(r.key, records[i]!.key);
            assert.deepEqual(r.value, records[i]!.value);
            assert.deepEqual(r.headers, records[i]!.headers);
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
