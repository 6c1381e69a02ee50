import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/frames.ts';

// Byte fixtures written by hand from the protocol specification (field order, types, header versions),
// not produced by our encoder. Each is checked both ways.

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s+|#[^\n]*/g, ''), 'hex'));
}

function ascii(text: string): string {
  return Buffer.from(text).toString('hex');
}

function sized(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

test('ApiVersions v3 request as librdkafka sends it (request header v2, compact strings)', () => {
  const frame = bytes(`
    0012 0003 00000001                # api key 18, version 3, correlation id 1
    0007 ${ascii('rdkafka')}          # client id: classic nullable string even in header v2
    00                                # header tagged fields
    0b ${ascii('librdkafka')}         # ClientSoftwareName, compact string (length + 1)
    06 ${ascii('2.0.2')}              # ClientSoftwareVersion
    00                                # body tagged fields
  `);
  const decoded = decodeRequest(frame);
  assert.deepStrictEqual(decoded.header, {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 1,
    clientId: 'rdkafka',
  });
  assert.deepStrictEqual(decoded.body, { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
  assert.deepStrictEqual(encodeRequest(decoded.header, decoded.body), sized(frame));
});

test('ApiVersions v0 request (header v1, empty body)', () => {
  const frame = bytes(`0012 0000 0000002a ffff`);
  const decoded = decodeRequest(frame);
  assert.equal(decoded.header.clientId, null);
  assert.equal(decoded.header.correlationId, 42);
  assert.deepStrictEqual(decoded.body, { clientSoftwareName: '', clientSoftwareVersion: '' });
});

test('ApiVersions v3 response uses response header v0 and a flexible body', () => {
  const expected = bytes(`
    00000001                          # correlation id; no header tagged fields (header v0)
    0000                              # error code
    03                                # api keys: compact array of 2
      0000 0000 000b 00               # Produce 0-11, tagged fields
      0012 0000 0004 00               # ApiVersions 0-4
    00000000                          # throttle time
    00                                # tagged fields (features left at their defaults)
  `);
  const body = {
    errorCode: 0,
    apiKeys: [
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ],
  };
  assert.deepStrictEqual(encodeResponse(18, 3, 1, body), sized(expected));
  const decoded = decodeResponse(18, 3, expected);
  assert.equal(decoded.correlationId, 1);
  assert.deepStrictEqual(decoded.body.apiKeys, body.apiKeys);
  assert.equal(decoded.body.finalizedFeaturesEpoch, -1n);
});

test('ApiVersions v0 response answering an unsupported version', () => {
  const expected = bytes(`
    00000007 0023                     # correlation id 7, UNSUPPORTED_VERSION (35)
    00000001 0012 0000 0004           # classic array: ApiVersions 0-4; v0 has no throttle time
  `);
  assert.deepStrictEqual(
    encodeResponse(18, 0, 7, { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }),
    sized(expected),
  );
});

test('Metadata v1 request: a topic list, and null for all topics', () => {
  const frame = bytes(`
    0003 0001 00000002 0004 ${ascii('kcat')}
    00000001 0006 ${ascii('events')}  # topics: classic array of 1, name as int16-length string
  `);
  const decoded = decodeRequest(frame);
  assert.deepStrictEqual(decoded.body.topics, [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'events' }]);
  assert.equal(decoded.body.allowAutoTopicCreation, true, 'absent before v4: the spec default');
  assert.deepStrictEqual(encodeRequest(decoded.header, decoded.body), sized(frame));

  const all = decodeRequest(bytes(`0003 0001 00000003 0004 ${ascii('kcat')} ffffffff`));
  assert.equal(all.body.topics, null);
});

test('Produce v3 request: null transactional id, records as raw bytes', () => {
  const frame = bytes(`
    0000 0003 00000009 0001 ${ascii('p')}
    ffff                              # transactional id: null
    ffff 00007530                     # acks -1, timeout 30000 ms
    00000001 0001 ${ascii('t')}       # one topic "t"
    00000001 00000002                 # one partition, index 2
    00000003 aabbcc                   # records: int32 length + bytes
  `);
  const decoded = decodeRequest(frame);
  assert.deepStrictEqual(decoded.body, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [
      {
        name: 't',
        // v13's topic id (KIP-516), absent before it: the spec's default, the zero UUID
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitionData: [{ index: 2, records: new Uint8Array([0xaa, 0xbb, 0xcc]) }],
      },
    ],
  });
  assert.deepStrictEqual(encodeRequest(decoded.header, decoded.body), sized(frame));
});

test('Fetch v12 response (flexible): compact forms, tagged CurrentLeader, nested tagged sections', () => {
  const expected = bytes(`
    00000005 00                       # correlation id, response header v1 tagged fields
    00000000 0000 00000000            # throttle time, error code, session id
    02 03 ${ascii('ev')}              # responses: 1 topic, compact name "ev"
    02                                # partitions: 1
      00000000 0000                   # partition 0, no error
      0000000000000005                # high watermark 5
      0000000000000005                # last stable offset 5
      0000000000000000                # log start offset 0
      00                              # aborted transactions: null (compact nullable array)
      ffffffff                        # preferred read replica -1
      04 aabbcc                       # records: compact bytes
      01 01 09 00000002 00000007 00   # tagged: 1 field, tag 1 (CurrentLeader), 9 bytes: leader 2, epoch 7
    00                                # topic tagged fields
    00                                # response tagged fields
  `);
  const body = {
    responses: [
      {
        topic: 'ev',
        partitions: [
          {
            partitionIndex: 0,
            highWatermark: 5n,
            lastStableOffset: 5n,
            logStartOffset: 0n,
            abortedTransactions: null,
            records: new Uint8Array([0xaa, 0xbb, 0xcc]),
            currentLeader: { leaderId: 2, leaderEpoch: 7 },
          },
        ],
      },
    ],
  };
  assert.deepStrictEqual(encodeResponse(1, 12, 5, body), sized(expected));
  const decoded = decodeResponse(1, 12, expected);
  const partition = (decoded.body.responses as { partitions: Record<string, unknown>[] }[])[0]!
    .partitions[0]!;
  assert.deepStrictEqual(partition.currentLeader, { leaderId: 2, leaderEpoch: 7 });
  assert.deepStrictEqual(partition.divergingEpoch, { epoch: -1, endOffset: -1n }, 'absent tag: default');
  assert.deepStrictEqual(partition.records, new Uint8Array([0xaa, 0xbb, 0xcc]));
});

test('Fetch v13 request: topic ids replace names; unknown tagged fields are skipped', () => {
  const topicId = Buffer.alloc(16, 0x11);
  const frame = bytes(`
    0001 000d 00000004 0000 00        # Fetch v13, client id "", header tagged fields
    ffffffff 000001f4 00000001        # replica id -1, max wait 500, min bytes 1
    00100000 00                       # max bytes 1 MiB, isolation level 0
    00000000 ffffffff                 # session id 0, epoch -1
    02 ${topicId.toString('hex')}     # one topic, by id
    02 00000000 ffffffff              # one partition 0, current leader epoch -1
       0000000000000000 ffffffff      # fetch offset 0, last fetched epoch -1
       ffffffffffffffff 00010000 00   # log start offset -1, partition max bytes 64 KiB
    00                                # topic tagged fields
    01                                # forgotten topics: empty
    01                                # rack id: ""
    02 00 04 04 ${ascii('abc')} 07 01 ff # tagged: ClusterId (tag 0, 4 bytes) = "abc"; unknown tag 7 skipped
  `);
  const decoded = decodeRequest(frame);
  assert.equal(decoded.body.clusterId, 'abc');
  assert.equal(decoded.body.maxBytes, 1048576);
  const topics = decoded.body.topics as { topicId: string; topic: string }[];
  assert.equal(topics[0]!.topicId, topicId.toString('base64url'));
  assert.equal(topics[0]!.topic, '', 'absent from v13: the default');
});

test('OffsetCommit v2 request: retention time exists in versions 2-4 only', () => {
  const frame = bytes(`
    0008 0002 0000000b 0001 ${ascii('k')}
    0001 ${ascii('g')}                # group id "g"
    00000003 0001 ${ascii('m')}       # generation 3, member id "m"
    ffffffffffffffff                  # retention time -1 (broker default)
    00000001 0001 ${ascii('t')}       # one topic "t"
    00000001 00000000                 # one partition, index 0
    000000000000002a ffff             # committed offset 42, metadata null
  `);
  const decoded = decodeRequest(frame);
  assert.equal(decoded.body.retentionTimeMs, -1n);
  assert.equal(decoded.body.generationIdOrMemberEpoch, 3);
  assert.equal(decoded.body.groupInstanceId, null);
  const partitions = (decoded.body.topics as { partitions: Record<string, unknown>[] }[])[0]!.partitions;
  assert.deepStrictEqual(partitions[0], {
    partitionIndex: 0,
    committedOffset: 42n,
    committedLeaderEpoch: -1,
    commitTimestamp: -1n,
    committedMetadata: null,
  });
  assert.deepStrictEqual(encodeRequest(decoded.header, decoded.body), sized(frame));
});

test('Metadata v12 response: topic ids, nullable compact names, no cluster authorized operations', () => {
  const topicId = Buffer.alloc(16, 0xab);
  const expected = bytes(`
    00000003 00                       # correlation id, header tagged fields
    00000000                          # throttle time
    02 00000001 02 ${ascii('h')} 00002384 00 00   # brokers: node 1 at h:9092, rack null, tagged
    02 ${ascii('c')}                  # cluster id "c"
    00000001                          # controller id 1
    02                                # topics: 1
      0000 03 ${ascii('ev')}          # no error, name "ev"
      ${topicId.toString('hex')} 00   # topic id, not internal
      02 0000 00000000 00000001 00000000   # partition 0, leader 1, leader epoch 0
         02 00000001 02 00000001 01 00     # replicas [1], isr [1], offline [], tagged
      80000000 00                     # topic authorized operations: unset (INT32_MIN), tagged
    00                                # tagged fields
  `);
  const body = {
    brokers: [{ nodeId: 1, host: 'h', port: 9092 }],
    clusterId: 'c',
    controllerId: 1,
    topics: [
      {
        name: 'ev',
        topicId: topicId.toString('base64url'),
        partitions: [{ partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1] }],
      },
    ],
    clusterAuthorizedOperations: 7,
  };
  assert.deepStrictEqual(encodeResponse(3, 12, 3, body), sized(expected));
  const decoded = decodeResponse(3, 12, expected);
  assert.equal(decoded.body.clusterAuthorizedOperations, -2147483648, 'not in v12: the default');
});
