import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { apis } from '../../src/protocol/apis/index.ts';
import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  decodeVersioned,
  encodeVersioned,
} from '../../src/protocol/consumer-protocol.ts';
import { decode, defaultStruct, encode, type MessageSchema } from '../../src/protocol/schema.ts';
import { messageArbitrary, project, versionsOf } from './arbitrary.ts';

// Round trips of random values for every API, both directions, every version the spec defines.

const RUNS = Number(process.env.PROTOCOL_PROPERTY_RUNS ?? 25);

function roundTrip(schema: MessageSchema, version: number): void {
  fc.assert(
    fc.property(messageArbitrary(schema, version), (value) => {
      const bytes = encode(schema, version, value);
      const decoded = decode(schema, version, bytes);
      assert.deepStrictEqual(project(schema, version, decoded), project(schema, version, value));
      // Encoding what we decoded gives the same bytes back.
      assert.deepStrictEqual(encode(schema, version, decoded), bytes);
    }),
    { numRuns: RUNS },
  );
}

describe('every API round-trips in every version', () => {
  for (const api of apis.values()) {
    test(`${api.name} (key ${api.apiKey}) versions ${api.validVersions.min}-${api.validVersions.max}`, () => {
      for (const version of versionsOf(api.request)) {
        roundTrip(api.request, version);
        roundTrip(api.response, version);
      }
    });
  }
});

describe('an empty value encodes as all defaults', () => {
  for (const api of apis.values()) {
    test(`${api.name}`, () => {
      for (const version of versionsOf(api.request)) {
        for (const schema of [api.request, api.response]) {
          const decoded = decode(schema, version, encode(schema, version, {}));
          assert.deepStrictEqual(decoded, defaultStruct(schema), `${schema.name} v${version}`);
        }
      }
    });
  }
});

test('request and response schemas agree on versions', () => {
  for (const api of apis.values()) {
    assert.deepStrictEqual(api.request.validVersions, api.response.validVersions, api.name);
    assert.deepStrictEqual(api.request.flexibleVersions, api.response.flexibleVersions, api.name);
  }
});

describe('consumer protocol structures', () => {
  for (const schema of [ConsumerProtocolSubscription, ConsumerProtocolAssignment]) {
    test(`${schema.name} round-trips with its version prefix`, () => {
      for (const version of versionsOf(schema)) {
        fc.assert(
          fc.property(messageArbitrary(schema, version), (value) => {
            const decoded = decodeVersioned(schema, encodeVersioned(schema, version, value));
            assert.equal(decoded.version, version);
            assert.deepStrictEqual(project(schema, version, decoded.value), project(schema, version, value));
          }),
          { numRuns: RUNS },
        );
      }
    });
  }

  test('a newer version is read as our newest, trailing fields ignored', () => {
    const v3 = encodeVersioned(ConsumerProtocolAssignment, 3, {
      assignedPartitions: [{ topic: 't', partitions: [1] }],
    });
    const future = new Uint8Array([...v3, 0, 0, 0, 7]);
    future[1] = 9;
    const decoded = decodeVersioned(ConsumerProtocolAssignment, future);
    assert.equal(decoded.version, 9);
    assert.deepStrictEqual(decoded.value.assignedPartitions, [{ topic: 't', partitions: [1] }]);
  });
});
