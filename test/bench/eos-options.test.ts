/**
 * `node src/bench/eos.ts`: its options (defaults, and bad values refused naming the flag before anything
 * starts), how runs are summarised per transaction size, the engines' ABBA turns and the ratios per pair
 * of adjacent phases (the benchmark itself is run by hand: it starts six nodes and several JVMs).
 * In-process; binds no port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EOS_BASE_PORT_DEFAULT,
  type Phase,
  pairRatios,
  parseEosOptions,
  phaseOrder,
  type TxnRun,
  txnSummary,
} from '../../src/bench/eos.ts';
import { summarizeLatencies } from '../../src/bench/stats.ts';

test('eos bench: defaults, and bad options refused naming the flag', () => {
  assert.deepEqual(parseEosOptions([]), {
    basePort: EOS_BASE_PORT_DEFAULT,
    targets: ['kstack', 'reference'],
    txnSizes: [100, 1000],
    txnRecords: 20_000,
    txnWarmupRecords: 40_000,
    recordBytes: 1024,
    runs: 4,
    rate: 1000,
    e2eSeconds: 20,
    e2eWarmupSeconds: 5,
    e2eRecordBytes: 100,
    e2eDrainedLagMs: 1000,
    e2eDrainedSeconds: 3,
    e2eDrainTimeoutSeconds: 180,
  });
  assert.equal(parseEosOptions(['--help']), 'help');
  const cases: [string[], RegExp][] = [
    [['--targets', 'kstack,kafka'], /--targets: 'kafka' is neither kstack nor reference/],
    [['--targets', 'kstack,kstack'], /--targets: 'kstack,kstack' names one twice/],
    [['--e2e-drained-seconds', '0'], /--e2e-drained-seconds must be an integer >= 1, got '0'/],
    [['--txn-sizes', '100,300', '--txn-records', '1000'], /--txn-records 1000 is not a multiple of 300/],
    [['--e2e-record-bytes', '8'], /--e2e-record-bytes must be an integer >= 9, got '8'/],
    [['--runs', '0'], /--runs must be an integer >= 1/],
    [['--rate', 'fast'], /--rate must be an integer >= 1, got 'fast'/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseEosOptions(args), message, args.join(' '));
});

test('eos bench: per size, the median of the runs and the commits of every run pooled', () => {
  const run = (recordsPerTxn: number, recordsPerSecond: number, commitMs: number[]): TxnRun => ({
    recordsPerTxn,
    records: 1000,
    recordsPerSecond,
    commit: summarizeLatencies(commitMs),
    flush: summarizeLatencies([]),
    commitMs,
  });
  const runs = [run(100, 300, [1, 2]), run(1000, 9000, [50]), run(100, 100, [3, 4]), run(100, 200, [5, 100])];
  const summary = txnSummary(runs, 100);
  assert.equal(summary.runs, 3);
  assert.equal(summary.recordsPerSecond, 200);
  assert.deepEqual(
    { count: summary.commit.count, p50: summary.commit.p50Ms, p99: summary.commit.p99Ms },
    { count: 6, p50: 3, p99: 100 },
  );
  assert.equal(txnSummary(runs, 10).runs, 0);
});

test('eos bench: the engines take turns ABBA, and each pair of adjacent phases gives one ratio', () => {
  assert.deepEqual(phaseOrder(['kstack', 'reference'], 4), [
    'kstack',
    'reference',
    'reference',
    'kstack',
    'kstack',
    'reference',
    'reference',
    'kstack',
  ]);
  assert.deepEqual(phaseOrder(['reference', 'kstack'], 1), ['reference', 'kstack']);
  assert.deepEqual(phaseOrder(['kstack'], 3), ['kstack', 'kstack', 'kstack']);
  const phase = (engine: 'kstack' | 'reference', run: number, value?: number): Phase<number> =>
    value === undefined ? { engine, run, error: 'failed' } : { engine, run, result: value };
  const phases = [
    phase('kstack', 1, 10),
    phase('reference', 1, 5),
    phase('reference', 2, 4),
    phase('kstack', 2, 12),
    phase('kstack', 3, 9),
    phase('reference', 3),
    phase('reference', 4, 10),
    phase('kstack', 4, 10),
  ];
  const { pairs, median } = pairRatios(phases, (one) => one.result);
  assert.deepEqual(pairs, [
    { kstack: 10, reference: 5, ratio: 2 },
    { kstack: 12, reference: 4, ratio: 3 },
    undefined,
    { kstack: 10, reference: 10, ratio: 1 },
  ]);
  assert.equal(median, 2);
  assert.ok(Number.isNaN(pairRatios(phases.slice(4, 6), (one) => one.result).median));
});
