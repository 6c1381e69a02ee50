// Byte fixtures produced by a real client: the record batches kcat 1.7 (librdkafka)
// sent in a Produce request, captured by fixtures/capture-kcat.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  Compression,
  compressionOf,
  decodeRecordBatch,
  readBatchHeader,
  validateProducePayload,
  XERIAL_MAGIC,
} from '../../src/records/index.ts';

// What capture-kcat.ts fed kcat, one `key<TAB>value` line per record.
const expected = Array.from({ length: 20 }, (_, i) => [
  `k${i % 3}`,
  `value ${i} ${'lorem ipsum '.repeat(5)}`,
]);

for (const [name, codec] of Object.entries(Compression)) {
  test(`kcat ${name} batch validates and decodes to what kcat was given`, async () => {
    const bytes = readFileSync(new URL(`./fixtures/kcat-${name}.bin`, import.meta.url));
    const v = validateProducePayload(bytes);
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.batches.length, 1);
    const header = readBatchHeader(bytes);
    assert.equal(header.magic, 2);
    assert.equal(compressionOf(header.attributes), codec);
    assert.equal(header.recordCount, 20);
    assert.equal(header.lastOffsetDelta, 19);
    const { records } = await decodeRecordBatch(bytes);
    assert.deepEqual(
      records.map((r) => [r.key?.toString(), r.value?.toString()]),
      expected,
    );
    records.forEach((r, i) => {
      assert.equal(r.offsetDelta, i);
      assert.ok(r.timestamp >= header.baseTimestamp && r.timestamp <= header.maxTimestamp);
    });
    // librdkafka 2.0 sends raw snappy; xerial framing comes from Java clients.
    if (codec === Compression.snappy) assert.notDeepEqual(bytes.subarray(61, 69), XERIAL_MAGIC);
    if (codec === Compression.lz4) assert.equal(bytes.subarray(61, 65).toString('hex'), '04224d18');
  });
}

test('kcat message format v1 (sent when the broker offers no Fetch v4) is reported as unsupported magic', () => {
  for (const name of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const bytes = readFileSync(new URL(`./fixtures/kcat-v1-${name}.bin`, import.meta.url));
    assert.equal(bytes[16], 1);
    const v = validateProducePayload(bytes);
    assert.ok(
      !v.ok && v.kind === 'unsupportedMagic' && v.kafkaErrorCode === 43,
      `${name}: ${JSON.stringify(v)}`,
    );
  }
});
