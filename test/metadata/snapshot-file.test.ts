import '../property-seed.ts';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeMetadataBatch } from '../../src/metadata/batch.ts';
import {
  type ControlRecord,
  ControlRecordError,
  decodeControlBatch,
  decodeControlRecord,
  encodeControlBatch,
} from '../../src/metadata/control-records.ts';
import {
  decodeSnapshotFile,
  encodeSnapshotFile,
  parseSnapshotFileName,
  SNAPSHOT_BATCH_BYTES_MAX,
  segmentFileName,
  snapshotFileName,
} from '../../src/metadata/snapshot-file.ts';
import { decodeRecordBatches, isControl } from '../../src/records/index.ts';
import { anyRecord } from './arbitraries.ts';

const controlRecord: fc.Arbitrary<ControlRecord> = fc.oneof(
  fc.record(
    {
      type: fc.constant('LeaderChange' as const),
      leaderId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      voters: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }),
      grantingVoters: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('SnapshotHeader' as const),
      lastContainedLogTimestamp: fc.integer({ min: -1, max: 2 ** 48 }),
    },
    { noNullPrototype: true },
  ),
  fc.constant({ type: 'SnapshotFooter' as const }),
  fc.record(
    { type: fc.constant('KRaftVersion' as const), kraftVersion: fc.integer({ min: 0, max: 1 }) },
    { noNullPrototype: true },
  ),
);

describe('KRaft control records', () => {
  test('each is one record in a control batch and round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(controlRecord, fc.nat(), fc.nat(), async (record, baseOffset, epoch) => {
        const bytes = await encodeControlBatch({ baseOffset, epoch, timestampMs: 1_760_000_000_000, record });
        const [batch] = await decodeRecordBatches(bytes);
        assert.ok(batch !== undefined && isControl(batch.header.attributes));
        assert.deepEqual(await decodeControlBatch(bytes), { record, baseOffset, epoch, size: bytes.length });
      }),
      { numRuns: 200 },
    );
  });

  test("a LeaderChange's key and value are Kafka's bytes", async () => {
    const bytes = await encodeControlBatch({
      baseOffset: 0,
      epoch: 1,
      timestampMs: 0,
      record: { type: 'LeaderChange', leaderId: 1, voters: [1, 2], grantingVoters: [1] },
    });
    const [batch] = await decodeRecordBatches(bytes);
    const record = batch?.records[0];
    // key: version 0, type 2 (LEADER_CHANGE); value: version 0, leader 1, compact arrays of voters, no tags.
    assert.equal(Buffer.from(record?.key ?? []).toString('hex'), '00000002');
    assert.equal(
      Buffer.from(record?.value ?? []).toString('hex'),
      '0000' + '00000001' + '03' + '0000000100' + '0000000200' + '02' + '0000000100' + '00',
    );
  });

  test('bad control records are refused with the fault named', () => {
    assert.throws(
      () => decodeControlRecord(Uint8Array.of(0, 0, 0, 9), new Uint8Array(0)),
      /type 9: not one kstack reads/,
    );
    assert.throws(() => decodeControlRecord(Uint8Array.of(0, 1, 0, 2), new Uint8Array(0)), /key version 1/);
    assert.throws(() => decodeControlRecord(null, null), /key of no bytes/);
    assert.throws(
      () => decodeControlRecord(Uint8Array.of(0, 0, 0, 2), Uint8Array.of(0, 0, 0)),
      (error: Error) => {
        assert.ok(error instanceof ControlRecordError);
        assert.match(error.message, /type 2 is malformed/);
        return true;
      },
    );
  });
});

describe('KRaft file names and snapshot files', () => {
  test("names are Kafka's", () => {
    assert.equal(segmentFileName(0), '00000000000000000000.log');
    assert.equal(
      snapshotFileName({ endOffset: 1234, epoch: 7 }),
      '00000000000000001234-0000000007.checkpoint',
    );
    assert.deepEqual(parseSnapshotFileName('00000000000000001234-0000000007.checkpoint'), {
      endOffset: 1234,
      epoch: 7,
    });
    assert.equal(parseSnapshotFileName('00000000000000001234-0000000007.checkpoint.part'), null);
    assert.equal(parseSnapshotFileName('00000000000000000000.log'), null);
  });

  test('a snapshot holds header, records in bounded batches under its epoch, footer; and reads back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyRecord, { maxLength: 300 }),
        fc.record({ endOffset: fc.nat(), epoch: fc.nat() }, { noNullPrototype: true }),
        async (records, id) => {
          const bytes = await encodeSnapshotFile({
            id,
            lastContainedLogTimestamp: 42,
            records,
            timestampMs: 7,
          });
          const batches = await decodeRecordBatches(bytes);
          assert.ok(batches.length >= 2);
          let next = 0;
          for (const batch of batches) {
            assert.equal(batch.header.partitionLeaderEpoch, id.epoch);
            assert.equal(batch.header.baseOffset, next, 'offsets follow from 0');
            next += batch.records.length;
            const values = batch.records.reduce((sum, record) => sum + (record.value?.length ?? 0), 0);
            if (!isControl(batch.header.attributes) && batch.records.length > 1) {
              assert.ok(values <= SNAPSHOT_BATCH_BYTES_MAX, `a batch of ${values} bytes of records`);
            }
          }
          assert.ok(
            isControl(batches[0]?.header.attributes ?? 0) &&
              isControl(batches.at(-1)?.header.attributes ?? 0),
          );
          assert.deepEqual(await decodeSnapshotFile(bytes, id), { lastContainedLogTimestamp: 42, records });
        },
      ),
      { numRuns: 40 },
    );
  });

  test('a torn, headless or foreign-epoch snapshot is refused with the fault named', async () => {
    const id = { endOffset: 10, epoch: 3 };
    const records = [{ type: 'TopicRecord' as const, name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }];
    const whole = await encodeSnapshotFile({ id, lastContainedLogTimestamp: 1, records, timestampMs: 1 });
    const data = await encodeMetadataBatch({ baseOffset: 0, epoch: 3, timestampMs: 1, records });
    const footer = await encodeControlBatch({
      baseOffset: 1,
      epoch: 3,
      timestampMs: 1,
      record: { type: 'SnapshotFooter' },
    });
    const name = '00000000000000000010-0000000003.checkpoint';
    const lastBatch = (await decodeRecordBatches(whole)).at(-1);
    assert.ok(lastBatch !== undefined);
    await assert.rejects(decodeSnapshotFile(whole.subarray(0, whole.length - lastBatch.size), id), {
      message: `snapshot ${name}: no SnapshotFooter (torn or unfinished)`,
    });
    await assert.rejects(decodeSnapshotFile(Buffer.concat([data, footer]), id), {
      message: `snapshot ${name}, batch at offset 0: records before the SnapshotHeader`,
    });
    await assert.rejects(
      decodeSnapshotFile(whole, { endOffset: 10, epoch: 4 }),
      /epoch 3, not the snapshot's 4/,
    );
    await assert.rejects(decodeSnapshotFile(Buffer.concat([whole, footer]), id), /after the SnapshotFooter/);
    await assert.rejects(decodeSnapshotFile(whole.subarray(0, whole.length - 5), id));
  });
});
