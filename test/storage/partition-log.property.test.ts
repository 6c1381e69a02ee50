// Property: random appends, reads, truncations, deletions, rolls and reopens (clean or
// not) keep the log equal to a simple model — a list of batches of offsets and values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import '../property-seed.ts';
import { decodeRecordBatches, encodeRecordBatch } from '../../src/records/index.ts';
import { MemoryFs, type PartitionLog } from '../../src/storage/index.ts';
import { appendLeader, implementations } from './helpers.ts';

type Op =
  | { kind: 'append'; count: number; size: number; newEpoch: boolean; codec: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'deleteRecords'; at: number }
  | { kind: 'roll' }
  | { kind: 'reopen'; clean: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 6 }),
      size: fc.integer({ min: 0, max: 120 }),
      newEpoch: fc.boolean(),
      codec: fc.constantFrom(0, 0, 1, 3),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 2000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deleteRecords' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }) },
);

interface ModelBatch {
  base: number;
  values: string[];
  epoch: number;
}

async function recordsOf(buf: Buffer): Promise<[number, string][]> {
  return (await decodeRecordBatches(buf)).flatMap((b) =>
    b.records.map((r): [number, string] => [r.offset, r.value!.toString()]),
  );
}

async function readEverything(log: PartitionLog): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for (let o = log.logStartOffset; o < log.logEndOffset; ) {
    const r = log.read(o, { maxBytes: 700 });
    assert.ok(r.records.length > 0, `read at ${o} below LEO ${log.logEndOffset} returned nothing`);
    out.push(...(await recordsOf(r.records)).filter(([offset]) => offset >= o));
    assert.ok(r.nextOffset > o, 'reads make progress');
    o = r.nextOffset;
  }
  return out;
}

for (const impl of implementations) {
  describe(`PartitionLog against a model (${impl.name})`, () => {
    test('random operations', async () => {
      let counter = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
          const h = impl.create();
          const config = { segmentBytes: 600, indexIntervalBytes: 150 };
          let log = h.open(config);
          const model: ModelBatch[] = [];
          let leo = 0;
          let start = 0;
          let epoch = 0;
          const modelRecords = () =>
            model
              .flatMap((b) => b.values.map((v, i): [number, string] => [b.base + i, v]))
              .filter(([o]) => o >= start);
          try {
            for (const op of ops) {
              switch (op.kind) {
                case 'append': {
                  if (op.newEpoch) epoch++;
                  const values = Array.from(
                    { length: op.count },
                    () => `v${counter++}-${'x'.repeat(op.size)}`,
                  );
                  const payload = await encodeRecordBatch({
                    compression: op.codec,
                    records: values.map((v) => ({
                      timestamp: 1_700_000_000_000 + counter,
                      key: null,
                      value: Buffer.from(v),
                    })),
                  });
                  const result = appendLeader(log, payload, epoch);
                  assert.equal(result.baseOffset, leo);
                  model.push({ base: leo, values, epoch });
                  leo += op.count;
                  log.updateHighWatermark(leo);
                  break;
                }
                case 'read': {
                  const at = start + Math.floor(op.at * (leo - start));
                  const r = log.read(at, { maxBytes: op.maxBytes });
                  const got = await recordsOf(r.records);
                  if (at === leo) assert.equal(got.length, 0);
                  else {
                    const holding = model.find((b) => b.base <= at && at < b.base + b.values.length)!;
                    assert.equal(
                      r.firstOffset,
                      holding.base,
                      'the read starts with the batch holding the offset',
                    );
                    const expected = model
                      .flatMap((b) => b.values.map((v, i): [number, string] => [b.base + i, v]))
                      .filter(([o]) => o >= holding.base)
                      .slice(0, got.length);
                    assert.deepEqual(got, expected);
                  }
                  break;
                }
                case 'truncate': {
                  const at = start + Math.floor(op.at * (leo - start));
                  log.truncateTo(at);
                  while (model.length > 0 && model.at(-1)!.base + model.at(-1)!.values.length > at)
                    model.pop();
                  leo = model.length ? model.at(-1)!.base + model.at(-1)!.values.length : Math.min(leo, at);
                  if (model.length === 0) leo = log.logEndOffset; // an emptied log keeps its segment base
                  start = Math.min(start, leo);
                  epoch = Math.max(epoch, log.latestEpoch());
                  break;
                }
                case 'deleteRecords': {
                  const at = start + Math.floor(op.at * (log.highWatermark - start));
                  start = log.deleteRecordsBefore(at);
                  break;
                }
                case 'roll':
                  log.roll();
                  break;
                case 'reopen':
                  if (op.clean) log.close();
                  else if (h.fs instanceof MemoryFs) h.fs.closeAll();
                  log = h.open(config);
                  break;
              }
              assert.equal(log.logEndOffset, leo, `LEO after ${op.kind}`);
              assert.equal(log.logStartOffset, start, `log start after ${op.kind}`);
              assert.ok(log.highWatermark <= log.logEndOffset);
            }
            assert.deepEqual(await readEverything(log), modelRecords());
            // Epochs never go back along the log, and the cache agrees with the batches.
            const entries = log.epochEntries();
            for (let i = 1; i < entries.length; i++) assert.ok(entries[i]!.epoch > entries[i - 1]!.epoch);
            assert.deepEqual(h.warnings, []);
          } finally {
            log.close();
            h.cleanup();
          }
        }),
        { numRuns: impl.name === 'file' ? 60 : 150 },
      );
    });
  });
}
