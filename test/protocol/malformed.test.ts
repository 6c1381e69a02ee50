import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import '../property-seed.ts';
import { apis } from '../../src/protocol/apis/index.ts';
import {
  decodeRequest,
  encodeRequest,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/frames.ts';
import { ProtocolError } from '../../src/protocol/protocol-error.ts';
import { messageArbitrary } from './arbitrary.ts';

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+|#[^\n]*/g, ''), 'hex'));
}

function frameOf(apiKey: number, version: number, body: Record<string, unknown>): Uint8Array {
  const sized = encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: version, correlationId: 77, clientId: 'c' },
    body,
  );
  return sized.subarray(4);
}

function assertProtocolError(frame: Uint8Array, kinds: string[]): ProtocolError {
  try {
    decodeRequest(frame);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.ok(kinds.includes(error.kind), `kind ${error.kind} not in ${kinds.join(', ')}`);
    return error;
  }
  assert.fail('decodeRequest accepted the frame');
}

describe('header-level errors carry what the server needs to answer', () => {
  test('an unknown API key keeps the correlation id', () => {
    const error = assertProtocolError(bytes('7fff 0000 00000009 ffff'), ['UNKNOWN_API_KEY']);
    assert.equal(error.correlationId, 9);
    assert.equal(error.apiKey, 0x7fff);
  });

  test('a too-new ApiVersions request: UNSUPPORTED_VERSION with its header (read as header v2)', () => {
    const error = assertProtocolError(bytes('0012 0063 00000005 0002 6869 00 0201ff'), [
      'UNSUPPORTED_VERSION',
    ]);
    assert.deepStrictEqual(
      [error.apiKey, error.apiVersion, error.correlationId, error.clientId],
      [18, 99, 5, 'hi'],
    );
  });

  test('a Produce version beyond the spec', () => {
    const error = assertProtocolError(bytes('0000 000e 00000006 ffff 00'), ['UNSUPPORTED_VERSION']);
    assert.equal(error.correlationId, 6);
  });

  test('a frame shorter than a header', () => {
    assertProtocolError(new Uint8Array(0), ['TRUNCATED']);
    assertProtocolError(bytes('0012 0003 0000'), ['TRUNCATED']);
  });

  test('a body error keeps the header context', () => {
    const error = assertProtocolError(bytes('0003 0001 00000002 ffff 00000001 00'), ['TRUNCATED']);
    assert.deepStrictEqual([error.apiKey, error.apiVersion, error.correlationId], [3, 1, 2]);
  });

  test('header versions', () => {
    assert.equal(requestHeaderVersion(18, 3), 2);
    assert.equal(requestHeaderVersion(18, 2), 1);
    assert.equal(requestHeaderVersion(0, 9), 2);
    assert.equal(requestHeaderVersion(17, 1), 1, 'SaslHandshake is never flexible');
    assert.equal(requestHeaderVersion(7, 0), 0, 'ControlledShutdown v0');
    assert.equal(responseHeaderVersion(18, 3), 0, 'ApiVersions always answers with header v0');
    assert.equal(responseHeaderVersion(1, 12), 1);
    assert.equal(responseHeaderVersion(1, 11), 0);
  });
});

describe('hostile lengths fail fast, without huge allocations', () => {
  test('an array count of 2^31-1 in a small frame', () => {
    // Metadata v1 with a topics count of 0x7fffffff and nothing after it.
    assertProtocolError(bytes('0003 0001 00000001 ffff 7fffffff'), ['TRUNCATED']);
    // Produce v9 (flexible): compact array count 2^32-2 as an unsigned varint.
    assertProtocolError(bytes('0000 0009 00000001 ffff 00 00 ffff 00007530 ffffffff0f'), ['TRUNCATED']);
  });

  test('negative lengths', () => {
    // Metadata v1: a topic name of length -2.
    assertProtocolError(bytes('0003 0001 00000001 ffff 00000001 fffe'), ['MALFORMED']);
    // Metadata v0 (topics not nullable): a topics count of -1.
    assertProtocolError(bytes('0003 0000 00000001 ffff ffffffff'), ['MALFORMED']);
    // Produce v3: records of length -5.
    assertProtocolError(
      bytes('0000 0003 00000001 ffff ffff ffff 00007530 00000001 0001 74 00000001 00000000 fffffffb'),
      ['MALFORMED'],
    );
    // A client id of length -3.
    assertProtocolError(bytes('0012 0000 00000001 fffd'), ['MALFORMED']);
  });

  test('a tagged field claiming more bytes than remain', () => {
    assertProtocolError(bytes('0012 0003 00000001 ffff 00 01 01 01 00 7f 01'), ['TRUNCATED', 'MALFORMED']);
  });
});

describe('every truncation of a valid request is a typed error', () => {
  for (const api of apis.values()) {
    test(`${api.name}`, () => {
      for (const version of [api.validVersions.min, api.validVersions.max]) {
        fc.assert(
          fc.property(messageArbitrary(api.request, version), (body) => {
            const frame = frameOf(api.apiKey, version, body);
            decodeRequest(frame);
            for (let cut = 0; cut < frame.length; cut++) {
              assertProtocolError(frame.subarray(0, cut), ['TRUNCATED', 'MALFORMED']);
            }
          }),
          { numRuns: 5 },
        );
      }
    });
  }
});

test('mutated requests decode or fail with a ProtocolError, never anything else', () => {
  const versions = [...apis.values()].flatMap((api) =>
    [api.validVersions.min, api.validVersions.max].map((version) => ({ api, version })),
  );
  const arbitrary = fc
    .constantFrom(...versions)
    .chain(({ api, version }) =>
      messageArbitrary(api.request, version).map((body) => frameOf(api.apiKey, version, body)),
    )
    .chain((frame) =>
      fc.tuple(
        fc.constant(frame),
        fc.array(fc.tuple(fc.nat(Math.max(frame.length - 1, 0)), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
      ),
    );
  fc.assert(
    fc.property(arbitrary, ([frame, mutations]) => {
      const mutated = Uint8Array.from(frame);
      for (const [at, value] of mutations) mutated[at] = value;
      try {
        decodeRequest(mutated);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});

test('random bytes decode or fail with a ProtocolError', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(...apis.keys()),
      fc.nat(20),
      (tail, key, version) => {
        const frame = new Uint8Array(8 + tail.length);
        const view = new DataView(frame.buffer);
        view.setInt16(0, key);
        view.setInt16(2, version);
        frame.set(tail, 8);
        try {
          decodeRequest(frame);
        } catch (error) {
          assert.ok(error instanceof ProtocolError, String(error));
        }
      },
    ),
    { numRuns: 3000 },
  );
});
