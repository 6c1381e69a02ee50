import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import '../property-seed.ts';
import { apis } from '../../src/protocol/apis/index.ts';
import { encodeResponse, encodeResponseChunks } from '../../src/protocol/frames.ts';
import { Writer } from '../../src/protocol/writer.ts';
import { messageArbitrary } from './arbitrary.ts';

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

test('encodeResponseChunks gives the bytes of encodeResponse, referencing large records', () => {
  const records = new Uint8Array(40_000).fill(3);
  const body = {
    responses: [
      {
        topic: 't',
        partitions: [
          { partitionIndex: 0, highWatermark: 1n, records },
          { partitionIndex: 1, highWatermark: 2n, records: new Uint8Array([1, 2, 3]) },
          { partitionIndex: 2, highWatermark: 3n, records },
        ],
      },
    ],
  };
  for (const version of [4, 11, 12, 16]) {
    const chunks = encodeResponseChunks(1, version, 9, body);
    assert.deepStrictEqual(concat(chunks), encodeResponse(1, version, 9, body));
    assert.equal(
      chunks.filter((chunk) => chunk === records).length,
      2,
      'the records are referenced, not copied',
    );
  }
});

test('encodeResponseChunks agrees with encodeResponse on random responses', () => {
  for (const api of [apis.get(0)!, apis.get(1)!, apis.get(3)!]) {
    for (const version of [api.validVersions.min, api.validVersions.max]) {
      fc.assert(
        fc.property(messageArbitrary(api.response, version), (body) => {
          const chunks = encodeResponseChunks(api.apiKey, version, 3, body, 4);
          assert.deepStrictEqual(concat(chunks), encodeResponse(api.apiKey, version, 3, body));
        }),
        { numRuns: 30 },
      );
    }
  }
});

test('a chunked writer must be read with finishChunks', () => {
  const writer = Writer.chunked(2);
  writer.bytes(new Uint8Array(4));
  assert.throws(() => writer.finish());
  assert.equal(writer.length(), 8);
});
