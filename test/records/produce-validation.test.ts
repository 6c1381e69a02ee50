/**
 * The produce path's record walk (src/records/produce.ts, walk.ts) with bytes alone: every
 * fault of test/records/faulty-batches.ts in every codec, stored as received
 * (compression.type=producer) and rebuilt into another codec. The expectations are what
 * Apache Kafka 4.1.1 answered when the same batches were sent to it (src/records/README.md),
 * except the two answers kstack chooses on purpose (undecodable data, misplaced offset deltas).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ATTRIBUTE,
  COMPRESSION_NAMES,
  Compression,
  decodeRecordBatch,
  isBatchCrcValid,
  KAFKA_ERROR,
  type ProducePreparation,
  prepareProducePayload,
  RECORD_ERRORS_MAX,
  type RecordRules,
  readBatchHeader,
  validateProducePayload,
} from '../../src/records/index.ts';
import { zstdRleBomb } from './bombs.ts';
import {
  batchOf,
  CODECS,
  FAULTS,
  type FaultName,
  goodRecords,
  OUT_OF_RANGE_MS,
  rawBatch,
} from './faulty-batches.ts';

const NOW = 1_700_000_000_000;
const HOUR_MS = 3_600_000;
const MIB = 1024 * 1024;

function rules(overrides: Partial<RecordRules> = {}): RecordRules {
  return {
    topicPartition: 't-0',
    compacted: false,
    logAppendTime: false,
    timestampBeforeMaxMs: HOUR_MS,
    timestampAfterMaxMs: HOUR_MS,
    nowMs: NOW,
    ...overrides,
  };
}

/** Header checks first (as the broker does), then the records walk. */
function prepare(
  batch: Buffer,
  compressionType = 'producer',
  ruleOverrides: Partial<RecordRules> = {},
  maxBytes?: number,
): ProducePreparation {
  const v = validateProducePayload(batch, { countRecords: false });
  assert.ok(v.ok, v.ok ? '' : v.message);
  return prepareProducePayload(batch, v.batches, {
    compressionType,
    rules: rules(ruleOverrides),
    ...(maxBytes === undefined ? {} : { maxDecompressedBytes: maxBytes }),
  });
}

function refused(outcome: ProducePreparation, code: number, what: string) {
  assert.ok(!outcome.ok, `${what}: accepted`);
  assert.equal(outcome.kafkaErrorCode, code, `${what}: ${outcome.message}`);
  assert.equal(outcome.batchIndex, 0);
  return outcome;
}

/** The other codec a rebuild goes to (every codec into one it is not in). */
const REBUILD_TYPE: Record<number, string> = {
  [Compression.none]: 'gzip',
  [Compression.gzip]: 'lz4',
  [Compression.snappy]: 'zstd',
  [Compression.lz4]: 'uncompressed',
  [Compression.zstd]: 'snappy',
};

const BATCH_FAULTS: FaultName[] = [
  'countAboveRecords',
  'countBelowRecords',
  'undecodable',
  'recordPastEnd',
  'recordBytesLeft',
  'nullHeaderKey',
  'producerIdNoSequence',
];

for (const codec of CODECS) {
  const name = COMPRESSION_NAMES[codec];
  describe(`produce records walk, ${name}`, () => {
    for (const fault of BATCH_FAULTS) {
      test(`${fault}: INVALID_RECORD, no per-record errors, kept or rebuilt`, () => {
        for (const type of ['producer', REBUILD_TYPE[codec]!]) {
          const outcome = refused(
            prepare(FAULTS[fault](codec, NOW), type),
            KAFKA_ERROR.INVALID_RECORD,
            `${fault} ${type}`,
          );
          assert.deepEqual(outcome.recordErrors, []);
        }
      });
    }

    test('null key: accepted in a delete topic; in a compacted one INVALID_RECORD naming record 1', () => {
      assert.ok(prepare(FAULTS.nullKey(codec, NOW)).ok);
      for (const type of ['producer', REBUILD_TYPE[codec]!]) {
        const outcome = refused(
          prepare(FAULTS.nullKey(codec, NOW), type, { compacted: true }),
          KAFKA_ERROR.INVALID_RECORD,
          type,
        );
        const perRecord = 'Compacted topic cannot accept message without key in topic partition t-0';
        assert.deepEqual(outcome.recordErrors, [{ batchIndex: 1, batchIndexErrorMessage: perRecord }]);
        assert.equal(
          outcome.message,
          `One or more records have been rejected due to 1 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='${perRecord}')]`,
        );
      }
    });

    test('a record out of the timestamp bounds: INVALID_TIMESTAMP naming it, though the batch max is fine', () => {
      const outcome = refused(prepare(FAULTS.recordTooOld(codec, NOW)), KAFKA_ERROR.INVALID_TIMESTAMP, 'old');
      assert.equal(outcome.message, 'One or more records have been rejected due to invalid timestamp');
      assert.deepEqual(outcome.recordErrors, [
        {
          batchIndex: 1,
          batchIndexErrorMessage: `Timestamp ${NOW - OUT_OF_RANGE_MS} of message with offset 1 is out of range. The timestamp should be within [${NOW - HOUR_MS}, ${NOW + HOUR_MS}]`,
        },
      ]);
      const two = refused(
        prepare(FAULTS.twoTooOld(codec, NOW), REBUILD_TYPE[codec]),
        KAFKA_ERROR.INVALID_TIMESTAMP,
        'two',
      );
      assert.deepEqual(
        two.recordErrors.map((e) => e.batchIndex),
        [0, 2],
      );
      // The same batch in a LogAppendTime topic: timestamps are not checked.
      assert.ok(prepare(FAULTS.twoTooOld(codec, NOW), 'producer', { logAppendTime: true }).ok);
    });

    test('key and timestamp refusals together: every record listed, INVALID_TIMESTAMP wins', () => {
      const records = goodRecords(4).map((r, i) =>
        i === 0 ? { ...r, key: null } : i === 1 ? { ...r, timestampDelta: -OUT_OF_RANGE_MS } : r,
      );
      const outcome = refused(
        prepare(batchOf(codec, NOW, records), 'producer', { compacted: true }),
        KAFKA_ERROR.INVALID_TIMESTAMP,
        'both',
      );
      assert.deepEqual(
        outcome.recordErrors.map((e) => e.batchIndex),
        [0, 1],
      );
    });

    test('offset deltas other than 0..n-1: refused when kept, renumbered when rebuilt', async () => {
      for (const fault of ['deltasReversed', 'deltasShifted'] as const) {
        const kept = refused(prepare(FAULTS[fault](codec, NOW)), KAFKA_ERROR.INVALID_RECORD, fault);
        assert.match(
          kept.message,
          /^Record 0 has offset delta [25]; a record batch numbers its records 0\.\.2 in order$/,
        );
        const rebuilt = prepare(FAULTS[fault](codec, NOW), REBUILD_TYPE[codec]);
        assert.ok(rebuilt.ok);
        const decoded = await decodeRecordBatch(rebuilt.payload);
        assert.deepEqual(
          decoded.records.map((r) => r.offsetDelta),
          [0, 1, 2],
        );
      }
    });

    test('a wrong header max timestamp (ahead or behind) is corrected in place, CRC recomputed', () => {
      for (const fault of ['maxTimestampAhead', 'maxTimestampBehind'] as const) {
        const batch = FAULTS[fault](codec, NOW);
        const outcome = prepare(batch);
        assert.ok(outcome.ok, fault);
        assert.equal(outcome.payload, batch, 'the request bytes themselves');
        assert.equal(readBatchHeader(batch, 0).maxTimestamp, NOW);
        assert.equal(outcome.batches[0]!.header.maxTimestamp, NOW);
        assert.ok(isBatchCrcValid(batch, 0, batch.length));
      }
    });

    test('record attributes are not checked (Kafka keeps them as sent)', () => {
      const batch = FAULTS.recordAttributes(codec, NOW);
      const copy = Buffer.from(batch);
      const outcome = prepare(batch);
      assert.ok(outcome.ok);
      assert.deepEqual(batch, copy, 'stored byte for byte');
    });

    test('a producer-set LogAppendTime bit: cleared under CreateTime; INVALID_TIMESTAMP per record under LogAppendTime', () => {
      const batch = FAULTS.logAppendTimeBit(codec, NOW);
      const outcome = prepare(batch);
      assert.ok(outcome.ok);
      assert.equal(readBatchHeader(batch, 0).attributes & ATTRIBUTE.logAppendTime, 0);
      assert.ok(isBatchCrcValid(batch, 0, batch.length));
      const lat = refused(
        prepare(FAULTS.logAppendTimeBit(codec, NOW), 'producer', { logAppendTime: true }),
        KAFKA_ERROR.INVALID_TIMESTAMP,
        'lat',
      );
      assert.equal(lat.recordErrors.length, 3);
      assert.equal(
        lat.recordErrors[0]!.batchIndexErrorMessage,
        `Invalid timestamp type in message ${codec === Compression.none ? 'DefaultRecord' : 'PartialDefaultRecord'}(offset=0, timestamp=${NOW}, key=2 bytes, value=7 bytes). Producer should not set timestamp type to LogAppendTime.`,
      );
      const rebuilt = prepare(FAULTS.logAppendTimeBit(codec, NOW), REBUILD_TYPE[codec], {
        logAppendTime: true,
      });
      assert.ok(!rebuilt.ok);
      assert.match(
        rebuilt.recordErrors[0]!.batchIndexErrorMessage,
        /^Invalid timestamp type in message DefaultRecord\(/,
      );
    });

    test('a well-formed batch kept as received is the request bytes, unchanged', () => {
      const batch = batchOf(codec, NOW, goodRecords(5));
      const copy = Buffer.from(batch);
      const outcome = prepare(batch, 'producer', { compacted: true });
      assert.ok(outcome.ok);
      assert.equal(outcome.payload, batch);
      assert.equal(outcome.recompressed, 0);
      assert.deepEqual(batch, copy);
    });
  });
}

describe('produce records walk: bounds', () => {
  test('records of a batch kept as received are decompressed within the bound (MESSAGE_TOO_LARGE)', () => {
    const bomb = rawBatch({
      codec: Compression.zstd,
      body: zstdRleBomb(4 * MIB),
      recordCount: 1,
      baseTimestamp: NOW,
      maxTimestamp: NOW,
    });
    const outcome = refused(prepare(bomb, 'producer', {}, MIB), KAFKA_ERROR.MESSAGE_TOO_LARGE, 'bomb');
    assert.match(outcome.message, /DECOMPRESSED_BATCH_BYTES_MAX/);
  });

  test(`per-record errors listed up to RECORD_ERRORS_MAX (${RECORD_ERRORS_MAX}); the message counts them all`, () => {
    const count = RECORD_ERRORS_MAX + 5;
    const records = goodRecords(count).map((r) => ({ ...r, key: null }));
    const outcome = refused(
      prepare(batchOf(Compression.lz4, NOW, records), 'producer', { compacted: true }),
      KAFKA_ERROR.INVALID_RECORD,
      'many',
    );
    assert.equal(outcome.recordErrors.length, RECORD_ERRORS_MAX);
    assert.match(outcome.message, new RegExp(`due to ${count} record errors in total`));
  });

  test('records with no timestamp (-1) are not checked against the bounds', () => {
    const batch = batchOf(Compression.none, -1, goodRecords(3), { maxTimestamp: -1 });
    assert.ok(prepare(batch).ok);
    const negative = batchOf(Compression.none, -5, goodRecords(3), { maxTimestamp: -5 });
    assert.equal(refused(prepare(negative), KAFKA_ERROR.INVALID_TIMESTAMP, '-5').recordErrors.length, 3);
  });
});
