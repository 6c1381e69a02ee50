import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import '../property-seed.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { Reader } from '../../src/protocol/reader.ts';
import { uuidFromBytes, uuidToBytes, ZERO_UUID } from '../../src/protocol/uuid.ts';
import { utf8Length, Writer } from '../../src/protocol/writer.ts';

function bytesOf(write: (w: Writer) => void): Uint8Array {
  const w = new Writer(1);
  write(w);
  return w.finish();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(text: string): Reader {
  return new Reader(new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex')));
}

describe('fixed-width integers are big-endian two-complement', () => {
  test('known encodings', () => {
    assert.equal(hex(bytesOf((w) => w.int16(-2))), 'fffe');
    assert.equal(hex(bytesOf((w) => w.int32(0x01020304))), '01020304');
    assert.equal(hex(bytesOf((w) => w.int64(-1n))), 'ffffffffffffffff');
    assert.equal(hex(bytesOf((w) => w.uint32(0xfffffffe))), 'fffffffe');
    assert.equal(hex(bytesOf((w) => w.float64(1.5))), '3ff8000000000000');
    assert.equal(hex(bytesOf((w) => w.bool(true))), '01');
  });

  const cases: [string, fc.Arbitrary<number>, (w: Writer, v: number) => void, (r: Reader) => number][] = [
    ['int8', fc.integer({ min: -128, max: 127 }), (w, v) => w.int8(v), (r) => r.int8()],
    ['int16', fc.integer({ min: -32768, max: 32767 }), (w, v) => w.int16(v), (r) => r.int16()],
    ['uint16', fc.integer({ min: 0, max: 65535 }), (w, v) => w.uint16(v), (r) => r.uint16()],
    ['int32', fc.integer(), (w, v) => w.int32(v), (r) => r.int32()],
    ['uint32', fc.integer({ min: 0, max: 2 ** 32 - 1 }), (w, v) => w.uint32(v), (r) => r.uint32()],
    ['float64', fc.double(), (w, v) => w.float64(v), (r) => r.float64()],
    ['varint', fc.integer(), (w, v) => w.varint(v), (r) => r.varint()],
    ['uvarint', fc.integer({ min: 0, max: 2 ** 32 - 1 }), (w, v) => w.uvarint(v), (r) => r.uvarint()],
  ];
  for (const [name, arbitrary, write, read] of cases) {
    test(`${name} round-trips`, () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          const reader = new Reader(bytesOf((w) => write(w, value)));
          assert.ok(Object.is(read(reader), value));
          assert.equal(reader.remaining(), 0);
        }),
      );
    });
  }

  test('int64 and varlong round-trip over the whole 64-bit range', () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    fc.assert(
      fc.property(int64, (value) => {
        assert.equal(new Reader(bytesOf((w) => w.int64(value))).int64(), value);
        const reader = new Reader(bytesOf((w) => w.varlong(value)));
        assert.equal(reader.varlong(), value);
        assert.equal(reader.remaining(), 0);
      }),
    );
  });
});

describe('variable-length integers follow the protobuf encoding', () => {
  test('unsigned varints', () => {
    assert.equal(hex(bytesOf((w) => w.uvarint(0))), '00');
    assert.equal(hex(bytesOf((w) => w.uvarint(127))), '7f');
    assert.equal(hex(bytesOf((w) => w.uvarint(128))), '8001');
    assert.equal(hex(bytesOf((w) => w.uvarint(300))), 'ac02');
    assert.equal(hex(bytesOf((w) => w.uvarint(0xffffffff))), 'ffffffff0f');
  });

  test('zigzag varints and varlongs', () => {
    assert.equal(hex(bytesOf((w) => w.varint(0))), '00');
    assert.equal(hex(bytesOf((w) => w.varint(-1))), '01');
    assert.equal(hex(bytesOf((w) => w.varint(1))), '02');
    assert.equal(hex(bytesOf((w) => w.varint(-64))), '7f');
    assert.equal(hex(bytesOf((w) => w.varint(64))), '8001');
    assert.equal(hex(bytesOf((w) => w.varint(-(2 ** 31)))), 'ffffffff0f');
    assert.equal(hex(bytesOf((w) => w.varlong(-1n))), '01');
    assert.equal(hex(bytesOf((w) => w.varlong(2n ** 63n - 1n))), 'feffffffffffffffff01');
    assert.equal(hex(bytesOf((w) => w.varlong(-(2n ** 63n)))), 'ffffffffffffffffff01');
    assert.equal(fromHex('ffffffffffffffffff01').varlong(), -(2n ** 63n));
    assert.equal(fromHex('ac02').varint(), 150);
  });

  test('an overlong varint is malformed, a cut one truncated', () => {
    assert.throws(() => fromHex('ffffffffff01').uvarint(), { name: 'ProtocolError', kind: 'MALFORMED' });
    assert.throws(() => fromHex('ffffffff1f').uvarint(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('ffffffffffffffffffff01').varlong(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('8080').uvarint(), { kind: 'TRUNCATED' });
    assert.throws(() => fromHex('808080').varlong(), { kind: 'TRUNCATED' });
  });
});

describe('strings and bytes', () => {
  test('classic and compact encodings', () => {
    assert.equal(hex(bytesOf((w) => w.string('abc'))), '0003616263');
    assert.equal(hex(bytesOf((w) => w.nullableString(null))), 'ffff');
    assert.equal(hex(bytesOf((w) => w.compactString('abc'))), '04616263');
    assert.equal(hex(bytesOf((w) => w.compactNullableString(null))), '00');
    assert.equal(hex(bytesOf((w) => w.compactString(''))), '01');
    assert.equal(hex(bytesOf((w) => w.bytes(new Uint8Array([1, 2])))), '000000020102');
    assert.equal(hex(bytesOf((w) => w.nullableBytes(null))), 'ffffffff');
    assert.equal(hex(bytesOf((w) => w.compactBytes(new Uint8Array([1, 2])))), '030102');
    assert.equal(hex(bytesOf((w) => w.compactNullableBytes(null))), '00');
    assert.equal(hex(bytesOf((w) => w.string('é'))), '0002c3a9');
  });

  test('UTF-8 strings round-trip in every form, lengths in bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const expected = Buffer.from(text, 'utf8').toString('utf8');
        assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'));
        for (const [write, read] of [
          [(w: Writer) => w.string(text), (r: Reader) => r.string()],
          [(w: Writer) => w.compactString(text), (r: Reader) => r.compactString()],
          [(w: Writer) => w.nullableString(text), (r: Reader) => r.nullableString()],
          [(w: Writer) => w.compactNullableString(text), (r: Reader) => r.compactNullableString()],
        ] as const) {
          const reader = new Reader(bytesOf(write));
          assert.equal(read(reader), expected);
          assert.equal(reader.remaining(), 0);
        }
      }),
    );
  });

  test('bytes round-trip as views of the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (value) => {
        const encoded = bytesOf((w) => w.compactBytes(value));
        const decoded = new Reader(encoded).compactBytes();
        assert.deepStrictEqual(decoded, value);
        if (value.length > 0) assert.equal(decoded.buffer, encoded.buffer);
        assert.deepStrictEqual(new Reader(bytesOf((w) => w.bytes(value))).bytes(), value);
      }),
    );
  });

  test('null where the type is not nullable is malformed', () => {
    assert.throws(() => fromHex('ffff').string(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('00').compactString(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('ffffffff').bytes(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('fffe').nullableString(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('fffffffe').nullableBytes(), { kind: 'MALFORMED' });
  });

  test('a length past the end is truncated, before any allocation', () => {
    assert.throws(() => fromHex('0005616263').string(), { kind: 'TRUNCATED' });
    assert.throws(() => fromHex('7fffffff00').bytes(), { kind: 'TRUNCATED' });
    assert.throws(() => fromHex('ffffffff07').compactBytes(), { kind: 'TRUNCATED' });
  });
});

describe('arrays and UUIDs', () => {
  test('array counts are checked against the bytes remaining', () => {
    assert.equal(fromHex('ffffffff').arrayLength(), -1);
    assert.equal(fromHex('00').compactArrayLength(), -1);
    assert.equal(fromHex('0000000201 02').arrayLength(), 2);
    assert.throws(() => fromHex('7fffffff0000').arrayLength(), { kind: 'TRUNCATED' });
    assert.throws(() => fromHex('fffffffe').arrayLength(), { kind: 'MALFORMED' });
    assert.throws(() => fromHex('ffffffff0f').compactArrayLength(), { kind: 'TRUNCATED' });
  });

  test('UUIDs are 16 bytes, shown as unpadded base64url', () => {
    assert.equal(uuidFromBytes(new Uint8Array(16)), ZERO_UUID);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = uuidFromBytes(bytes);
        assert.equal(text.length, 22);
        assert.deepStrictEqual(new Uint8Array(uuidToBytes(text)), bytes);
        assert.equal(new Reader(bytesOf((w) => w.uuid(text))).uuid(), text);
      }),
    );
    assert.throws(() => uuidToBytes('abc'), RangeError);
  });

  test('every reader error is a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.integer({ min: 0, max: 9 }), (bytes, which) => {
        const reader = new Reader(bytes);
        const reads = [
          () => reader.int64(),
          () => reader.varlong(),
          () => reader.compactString(),
          () => reader.string(),
          () => reader.nullableBytes(),
          () => reader.compactArrayLength(),
          () => reader.arrayLength(),
          () => reader.uuid(),
          () => reader.float64(),
          () => reader.uvarint(),
        ];
        try {
          reads[which]!();
        } catch (error) {
          assert.ok(error instanceof ProtocolError, String(error));
        }
      }),
    );
  });
});

test('the writer grows as needed', () => {
  const w = new Writer(1);
  for (let i = 0; i < 1000; i++) w.int32(i);
  w.raw(new Uint8Array(100_000));
  const r = new Reader(w.finish());
  for (let i = 0; i < 1000; i++) assert.equal(r.int32(), i);
  assert.equal(r.remaining(), 100_000);
});

test('prefixLengthSince inserts a varint length before what was written', () => {
  const w = new Writer(4);
  w.uint8(9);
  const start = w.offset;
  w.raw(new Uint8Array(200).fill(7));
  w.prefixLengthSince(start);
  const r = new Reader(w.finish());
  assert.equal(r.uint8(), 9);
  assert.equal(r.uvarint(), 200);
  assert.equal(r.remaining(), 200);
});

// Issue 11: a tagged field whose value ended within 4 bytes of the writer's capacity lost its value
// (the length varint's ensure() regrew the buffer while the offset stood before the moved value):
// CreateTopics v5-7 answered topicConfigErrorCode -1 as -256. Every capacity, every short value.
test('prefixLengthSince keeps the value when the buffer is full to the last byte', () => {
  for (let capacity = 2; capacity <= 40; capacity++) {
    for (let valueBytes = 1; valueBytes < capacity; valueBytes++) {
      const w = new Writer(capacity);
      const before = capacity - valueBytes - 1;
      for (let i = 0; i < before; i++) w.uint8(0xa0 + (i % 16));
      const start = w.offset;
      const value = Uint8Array.from({ length: valueBytes }, (_, i) => 0xff - i);
      w.raw(value);
      assert.equal(w.offset + 1, capacity, 'the length varint takes the last free byte');
      w.prefixLengthSince(start);
      const r = new Reader(w.finish());
      for (let i = 0; i < before; i++) assert.equal(r.uint8(), 0xa0 + (i % 16));
      assert.equal(r.uvarint(), valueBytes, `capacity ${capacity}, value of ${valueBytes} bytes`);
      assert.deepStrictEqual(r.raw(valueBytes), value, `capacity ${capacity}, value of ${valueBytes} bytes`);
      assert.equal(r.remaining(), 0);
    }
  }
});
