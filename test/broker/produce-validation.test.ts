/**
 * Produce validation over the wire, with the same assertions against `kstack up` and against
 * Apache Kafka 4.1.1 (the reference): every fault of test/records/faulty-batches.ts in every
 * codec, sent with our own codecs as one Produce v9 into a topic of its own (timestamp
 * bounds of one hour; compacted where the fault needs it), then the answer (error code,
 * message, per-record errors) and what a raw Fetch finds stored. Where kstack answers
 * otherwise on purpose, the table says both answers and why (src/records/README.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaErrors } from '../../src/protocol/index.ts';
import {
  ATTRIBUTE,
  COMPRESSION_NAMES,
  Compression,
  decodeRecordBatches,
  readBatchHeader,
} from '../../src/records/index.ts';
import {
  batchOf,
  CODECS,
  FAULTS,
  type FaultName,
  goodRecords,
  OUT_OF_RANGE_MS,
} from '../records/faulty-batches.ts';
import { type ProduceAnswer, WireClient } from './compression-wire.ts';
import { kstackTarget, referenceTarget } from './targets.ts';

const KSTACK_PORT = 19720;
/** The reference's controller listens 50 above: 19780. */
const REFERENCE_BASE_PORT = 19730;
const HOUR_MS = 3_600_000;
const BOUNDS = {
  'message.timestamp.before.max.ms': String(HOUR_MS),
  'message.timestamp.after.max.ms': String(HOUR_MS),
};
const INVALID_RECORD = KafkaErrors.INVALID_RECORD.code;
const INVALID_TIMESTAMP = KafkaErrors.INVALID_TIMESTAMP.code;
const UNKNOWN_SERVER_ERROR = -1;

/** What a fault gets, per codec; `null` = accepted and stored. */
type Answer = { code: number; records?: number[] } | null;
interface Expectation {
  /** The answer both brokers give, unless `kstack` says kstack's own. */
  answer: (codec: number) => Answer;
  /** kstack's deliberate answer where it differs from Kafka 4.1.1 (see the records README). */
  kstack?: (codec: number) => Answer;
}

const compressed = (codec: number) => codec !== Compression.none;
const invalid: Answer = { code: INVALID_RECORD };

const EXPECTED: Record<FaultName, Expectation> = {
  countAboveRecords: { answer: () => invalid },
  countBelowRecords: { answer: () => invalid },
  // Kafka's decompressors throw an IOException it answers as UNKNOWN_SERVER_ERROR, which no
  // client can act on; kstack says INVALID_RECORD and what failed.
  undecodable: {
    answer: (codec) => (compressed(codec) ? { code: UNKNOWN_SERVER_ERROR } : invalid),
    kstack: () => invalid,
  },
  recordPastEnd: { answer: () => invalid },
  recordBytesLeft: { answer: () => invalid },
  nullHeaderKey: { answer: () => invalid },
  nullKey: { answer: () => null },
  // Kafka stores an uncompressed batch with these deltas as sent (consumers then misplace
  // its records) and fails a compressed one with UNKNOWN_SERVER_ERROR; kstack refuses both.
  deltasReversed: {
    answer: (codec) => (compressed(codec) ? { code: UNKNOWN_SERVER_ERROR } : null),
    kstack: () => invalid,
  },
  deltasShifted: {
    answer: (codec) => (compressed(codec) ? { code: UNKNOWN_SERVER_ERROR } : null),
    kstack: () => invalid,
  },
  recordTooOld: { answer: () => ({ code: INVALID_TIMESTAMP, records: [1] }) },
  twoTooOld: { answer: () => ({ code: INVALID_TIMESTAMP, records: [0, 2] }) },
  maxTimestampAhead: { answer: () => null },
  maxTimestampBehind: { answer: () => null },
  recordAttributes: { answer: () => null },
  logAppendTimeBit: { answer: () => null },
  producerIdNoSequence: { answer: () => invalid },
};

async function produce(client: WireClient, topic: string, batch: Buffer): Promise<ProduceAnswer> {
  let answer = await client.produce(topic, batch);
  // A fresh topic on the reference may not have its leader yet.
  for (let i = 0; i < 40 && (answer.errorCode === 3 || answer.errorCode === 6); i++) {
    await sleep(250);
    answer = await client.produce(topic, batch);
  }
  return answer;
}

const TIMESTAMP_MESSAGE =
  /^Timestamp (-?\d+) of message with offset (\d+) is out of range\. The timestamp should be within \[(-?\d+), (-?\d+)\]$/;

/** The per-record messages: Kafka's text, with the clock's values checked for consistency. */
function checkRecordErrors(answer: ProduceAnswer, records: number[], sentAt: number, what: string): void {
  assert.deepEqual(
    answer.recordErrors.map((e) => e.batchIndex),
    records,
    what,
  );
  if (answer.errorCode === INVALID_TIMESTAMP) {
    assert.equal(
      answer.errorMessage,
      'One or more records have been rejected due to invalid timestamp',
      what,
    );
    for (const e of answer.recordErrors) {
      const m = TIMESTAMP_MESSAGE.exec(e.batchIndexErrorMessage ?? '');
      assert.ok(m, `${what}: ${e.batchIndexErrorMessage}`);
      const [, timestamp, offset, low, high] = m.map(Number) as [number, number, number, number, number];
      assert.equal(offset, e.batchIndex, what);
      assert.equal(timestamp, sentAt - OUT_OF_RANGE_MS, what);
      assert.equal(high - low, 2 * HOUR_MS, what);
      assert.ok(Math.abs(low + HOUR_MS - sentAt) < 60_000, `${what}: now ${low + HOUR_MS} vs sent ${sentAt}`);
    }
  }
}

async function storedBatch(client: WireClient, topic: string) {
  const fetched = await client.fetchRaw(topic, 0n);
  assert.equal(fetched.errorCode, 0);
  return { highWatermark: fetched.highWatermark, records: fetched.records };
}

for (const makeTarget of [
  () => kstackTarget(KSTACK_PORT),
  () => referenceTarget(REFERENCE_BASE_PORT, 'kstack-produce-validation-ref-'),
]) {
  const target = makeTarget();
  describe(`produce validation against ${target.title}`, {
    timeout: 300_000,
  }, () => {
    let client: WireClient;

    before(async () => {
      await target.start();
      client = await WireClient.connect(target.port);
    });
    after(async () => {
      client?.close();
      await target.stop();
    });

    for (const [fault, expectation] of Object.entries(EXPECTED) as [FaultName, Expectation][]) {
      it(`${fault}, every codec`, async () => {
        for (const codec of CODECS) {
          const topic = `pv-${fault}-${COMPRESSION_NAMES[codec]}`;
          const what = `${target.kind} ${topic}`;
          assert.equal((await client.createTopic(topic, BOUNDS)).errorCode, 0, what);
          const sentAt = Date.now();
          const answer = await produce(client, topic, FAULTS[fault](codec, sentAt));
          const wanted = (target.kind === 'kstack' ? expectation.kstack : undefined) ?? expectation.answer;
          const expected = wanted(codec);
          const stored = await storedBatch(client, topic);
          if (expected === null) {
            assert.equal(answer.errorCode, 0, `${what}: ${answer.errorMessage}`);
            assert.equal(stored.highWatermark, 3n, what);
            const header = readBatchHeader(stored.records!, 0);
            assert.equal(header.attributes & 0x07, codec, `${what}: stored in its own codec`);
            assert.equal(header.attributes & ATTRIBUTE.logAppendTime, 0, `${what}: CreateTime`);
            const [batch] = await decodeRecordBatches(stored.records!);
            const max = Math.max(...batch!.records.map((r) => r.timestamp));
            assert.equal(header.maxTimestamp, max, `${what}: max timestamp is the records'`);
          } else {
            assert.equal(answer.errorCode, expected.code, `${what}: ${answer.errorMessage}`);
            checkRecordErrors(answer, expected.records ?? [], sentAt, what);
            assert.equal(stored.highWatermark, 0n, `${what}: nothing written`);
          }
        }
      });
    }

    it('compacted topic: a record without a key is refused with Kafka’s messages, every codec', async () => {
      for (const codec of CODECS) {
        const topic = `pv-nullkey-compact-${COMPRESSION_NAMES[codec]}`;
        assert.equal(
          (await client.createTopic(topic, { ...BOUNDS, 'cleanup.policy': 'compact' })).errorCode,
          0,
        );
        const answer = await produce(client, topic, FAULTS.nullKey(codec, Date.now()));
        const perRecord = `Compacted topic cannot accept message without key in topic partition ${topic}-0`;
        assert.deepEqual(
          [answer.errorCode, answer.errorMessage, answer.recordErrors],
          [
            INVALID_RECORD,
            `One or more records have been rejected due to 1 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='${perRecord}')]`,
            [{ batchIndex: 1, batchIndexErrorMessage: perRecord }],
          ],
          topic,
        );
        assert.equal((await storedBatch(client, topic)).highWatermark, 0n);
        const keyed = await produce(client, topic, batchOf(codec, Date.now(), goodRecords(3)));
        assert.equal(keyed.errorCode, 0, topic);
      }
    });

    it('LogAppendTime topic: a producer-set LogAppendTime bit is INVALID_TIMESTAMP for every record', async () => {
      // Kafka names the record by the class that read it: PartialDefaultRecord for a compressed
      // batch it keeps, DefaultRecord for an uncompressed or rebuilt one.
      const cases = [
        ['none', 'producer', Compression.none, 'DefaultRecord'],
        ['gzip', 'producer', Compression.gzip, 'PartialDefaultRecord'],
        ['lz4-to-zstd', 'zstd', Compression.lz4, 'DefaultRecord'],
      ] as const;
      for (const [name, type, codec, recordName] of cases) {
        const topic = `pv-lat-bit-${name}`;
        const configs = { 'message.timestamp.type': 'LogAppendTime', 'compression.type': type };
        assert.equal((await client.createTopic(topic, configs)).errorCode, 0);
        const sentAt = Date.now();
        const answer = await produce(client, topic, FAULTS.logAppendTimeBit(codec, sentAt));
        assert.equal(answer.errorCode, INVALID_TIMESTAMP, topic);
        assert.deepEqual(
          answer.recordErrors.map((e) => e.batchIndexErrorMessage),
          [0, 1, 2].map(
            (i) =>
              `Invalid timestamp type in message ${recordName}(offset=${i}, timestamp=${sentAt}, key=2 bytes, value=7 bytes). Producer should not set timestamp type to LogAppendTime.`,
          ),
          topic,
        );
        assert.equal((await storedBatch(client, topic)).highWatermark, 0n, topic);
      }
    });

    it('a rebuilt batch (compression.type=lz4) gets its offset deltas renumbered 0..n-1', async () => {
      const topic = 'pv-rebuild-deltas';
      assert.equal((await client.createTopic(topic, { 'compression.type': 'lz4' })).errorCode, 0);
      const answer = await produce(client, topic, FAULTS.deltasReversed(Compression.gzip, Date.now()));
      assert.equal(answer.errorCode, 0, String(answer.errorMessage));
      const [batch] = await decodeRecordBatches((await storedBatch(client, topic)).records!);
      assert.deepEqual(
        batch!.records.map((r) => [r.offsetDelta, r.key?.toString()]),
        [
          [0, 'k0'],
          [1, 'k1'],
          [2, 'k2'],
        ],
      );
    });
  });
}
