/**
 * `node src/bench/eos.ts`: its options (defaults, and bad values refused naming the flag before anything
 * starts) and how runs are summarised per transaction size (the benchmark itself is run by hand: it
 * starts six nodes and several JVMs). In-process; binds no port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EOS_BASE_PORT_DEFAULT, parseEosOptions, type TxnRun, txnSummary } from '../../src/bench/eos.ts';
import { summarizeLatencies } from '../../src/bench/stats.ts';

test('eos bench: defaults, and bad options refused naming the flag', () => {
  assert.deepEqual(parseEosOptions([]), {
    basePort: EOS_BASE_PORT_DEFAULT,
    targets: ['kstack', 'reference'],
    txnSizes: [100, 1000],
    txnRecords: 20_000,
    txnWarmupRecords: 10_000,
    recordBytes: 1024,
    runs: 3,
    rate: 1000,
    e2eSeconds: 20,
    e2eWarmupSeconds: 5,
    e2eRecordBytes: 100,
  });
  assert.equal(parseEosOptions(['--help']), 'help');
  const cases: [string[], RegExp][] = [
    [['--targets', 'kstack,kafka'], /--targets: 'kafka' is neither kstack nor reference/],
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
    machine: { loadAverage1m: 0, cpuPressureSome10s: undefined },
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
