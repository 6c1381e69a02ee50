import '../property-seed.ts';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeMetadataBatches, encodeMetadataBatch } from '../../src/metadata/batch.ts';
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type KraftMetadataRecord,
  MetadataRecordError,
} from '../../src/metadata/codec.ts';
import { PartitionRecord, RegisterBrokerRecord, TopicRecord } from '../../src/metadata/schemas.ts';
import { compile, type MessageSchema, type MessageValue, Writer } from '../../src/protocol/index.ts';
import { anyRecord, recordArbitraries } from './arbitraries.ts';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

/** An ApiMessageAndVersion frame written by hand: what another writer (Kafka, an older version) sends. */
function frame(schema: MessageSchema, version: number, value: MessageValue, frameVersion = 1): Uint8Array {
  const writer = new Writer(128);
  writer.uvarint(frameVersion);
  writer.uvarint(schema.apiKey);
  writer.uvarint(version);
  compile(schema, version, true).encode(writer, value);
  return writer.finish();
}

function roundTrip(record: KraftMetadataRecord): KraftMetadataRecord {
  return decodeMetadataRecord(encodeMetadataRecord(record));
}

describe('metadata record codec', () => {
  for (const [type, arbitrary] of Object.entries(recordArbitraries)) {
    test(`${type} round-trips through KRaft's bytes`, () => {
      fc.assert(
        fc.property(arbitrary, (record) => {
          const bytes = encodeMetadataRecord(record);
          assert.deepEqual(decodeMetadataRecord(bytes), record);
        }),
        { numRuns: 200 },
      );
    });
  }

  test('the frame is ApiMessageAndVersion: frame version 1, api key, record version, body', () => {
    const bytes = encodeMetadataRecord({ type: 'TopicRecord', name: 'foo', topicId: TOPIC_ID });
    // 01 frame, 02 TopicRecord, 00 v0, compact string "foo" (04 + 3 bytes), the uuid, no tagged fields.
    assert.equal(Buffer.from(bytes).toString('hex'), `0102000466${'6f'.repeat(2)}${'00'.repeat(15)}0100`);
    const partition = encodeMetadataRecord({
      type: 'PartitionRecord',
      topicId: TOPIC_ID,
      partitionId: 0,
      replicas: [1],
      isr: [1],
      leader: 1,
      leaderEpoch: 0,
      partitionEpoch: 0,
    });
    assert.deepEqual(
      [...partition.subarray(0, 3)],
      [1, 3, 2],
      'PartitionRecord is written as v2 (ELR fields)',
    );
  });

  test('optional fields at their default decode to the form kstack writes', () => {
    assert.deepEqual(
      roundTrip({
        type: 'PartitionRecord',
        topicId: TOPIC_ID,
        partitionId: 3,
        replicas: [1, 2],
        isr: [1],
        leader: 1,
        leaderEpoch: 4,
        partitionEpoch: 5,
        addingReplicas: [],
        removingReplicas: [],
        leaderRecoveryState: 0,
      }),
      {
        type: 'PartitionRecord',
        topicId: TOPIC_ID,
        partitionId: 3,
        replicas: [1, 2],
        isr: [1],
        leader: 1,
        leaderEpoch: 4,
        partitionEpoch: 5,
      },
    );
    // An empty list in a change clears (not "unchanged"): it stays.
    assert.deepEqual(
      roundTrip({ type: 'PartitionChangeRecord', topicId: TOPIC_ID, partitionId: 0, elr: [] }),
      {
        type: 'PartitionChangeRecord',
        topicId: TOPIC_ID,
        partitionId: 0,
        elr: [],
      },
    );
    assert.deepEqual(
      roundTrip({
        type: 'RegisterBrokerRecord',
        brokerId: 1,
        host: 'h',
        port: 1,
        rack: null,
        fenced: false,
        endpoints: [],
      }),
      { type: 'RegisterBrokerRecord', brokerId: 1, host: 'h', port: 1, rack: null },
    );
  });

  test('versions Kafka 4.1.1 writes that kstack does not are read, their extra fields skipped', () => {
    // PartitionRecord v0: no directories, no ELR tags.
    const v0 = frame(PartitionRecord, 0, {
      partitionId: 2,
      topicId: TOPIC_ID,
      replicas: [1, 2, 3],
      isr: [1, 2],
      removingReplicas: [],
      addingReplicas: [3],
      leader: 1,
      leaderRecoveryState: 1,
      leaderEpoch: 7,
      partitionEpoch: 9,
    });
    assert.deepEqual(decodeMetadataRecord(v0), {
      type: 'PartitionRecord',
      topicId: TOPIC_ID,
      partitionId: 2,
      replicas: [1, 2, 3],
      isr: [1, 2],
      leader: 1,
      leaderEpoch: 7,
      partitionEpoch: 9,
      addingReplicas: [3],
      leaderRecoveryState: 1,
    });
    // RegisterBrokerRecord v3 as Kafka's broker sends it: an incarnation id, features, log dirs.
    const kafkaRegistration = frame(RegisterBrokerRecord, 3, {
      brokerId: 2,
      isMigratingZkBroker: false,
      incarnationId: 'x4tU8hUVQ-mWr1PM3Rk6bA',
      brokerEpoch: 40n,
      endPoints: [
        { name: 'PLAINTEXT', host: 'b2', port: 9092, securityProtocol: 0 },
        { name: 'SASL', host: 'b2', port: 9192, securityProtocol: 2 },
      ],
      features: [{ name: 'metadata.version', minSupportedVersion: 7, maxSupportedVersion: 27 }],
      rack: 'r1',
      fenced: true,
      inControlledShutdown: false,
      logDirs: ['bRm4_9gfQjSGvYf5WvOB0g'],
    });
    assert.deepEqual(decodeMetadataRecord(kafkaRegistration), {
      type: 'RegisterBrokerRecord',
      brokerId: 2,
      host: 'b2',
      port: 9092,
      rack: 'r1',
      endpoints: [
        { name: 'PLAINTEXT', host: 'b2', port: 9092, securityProtocol: 0 },
        { name: 'SASL', host: 'b2', port: 9192, securityProtocol: 2 },
      ],
      fenced: true,
      brokerEpoch: 40,
    });
  });

  test('bad bytes are refused with the fault named', () => {
    const topic = { name: 't', topicId: TOPIC_ID };
    const cases: [string, Uint8Array, RegExp][] = [
      ['frame version 0', frame(TopicRecord, 0, topic, 0), /frame version 0, expected 1/],
      ['an api key kstack does not read', Uint8Array.of(1, 15, 0, 0), /api key 15: not one kstack reads/],
      [
        'a version Kafka 4.1.1 does not define',
        frame(TopicRecord, 1, topic),
        /TopicRecord version 1: Kafka 4.1.1 defines 0-0/,
      ],
      [
        'bytes after the body',
        Buffer.concat([frame(TopicRecord, 0, topic), Uint8Array.of(0)]),
        /1 byte\(s\) after its body/,
      ],
      [
        'a truncated body',
        frame(TopicRecord, 0, topic).subarray(0, 10),
        /api key 2 v0, 10 bytes\) is malformed/,
      ],
      ['nothing', new Uint8Array(0), /malformed/],
    ];
    for (const [what, bytes, message] of cases) {
      assert.throws(
        () => decodeMetadataRecord(bytes),
        (error: Error) => {
          assert.ok(error instanceof MetadataRecordError, `${what}: ${error}`);
          assert.match(error.message, message, what);
          return true;
        },
      );
    }
  });

  test('a registration whose host and port are not its first endpoint is refused: Kafka has no field for it', () => {
    assert.throws(
      () =>
        encodeMetadataRecord({
          type: 'RegisterBrokerRecord',
          brokerId: 4,
          host: 'a',
          port: 1,
          rack: null,
          endpoints: [{ name: 'PLAINTEXT', host: 'b', port: 2, securityProtocol: 0 }],
        }),
      /RegisterBrokerRecord of broker 4: a:1 is not its first endpoint \(b:2\)/,
    );
  });

  test('batches hold the records at consecutive offsets under the Raft epoch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(anyRecord, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        async (groups, firstEpoch) => {
          let offset = 0;
          const batches = groups.map((records, i) => {
            const batch = {
              baseOffset: offset,
              epoch: firstEpoch + i,
              timestampMs: 1_700_000_000_000 + i,
              records,
            };
            offset += records.length;
            return batch;
          });
          const bytes = Buffer.concat(await Promise.all(batches.map(encodeMetadataBatch)));
          assert.deepEqual(await decodeMetadataBatches(bytes), batches);
        },
      ),
      { numRuns: 50 },
    );
  });
});
