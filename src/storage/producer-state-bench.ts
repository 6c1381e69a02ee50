/**
 * How long a partition log takes to open against its size, with producer snapshots (issue 13).
 * For 1, 10 and 100 segments (`--segments 1,10,100`) of SEGMENT_BYTES on disk (node:fs, a
 * temporary directory), written as idempotent batches of PRODUCERS producers with a transaction
 * aborted or committed every TRANSACTION_EVERY batches, then flushed and closed, a copy of the
 * log is opened three ways, each REPEATS times (median printed):
 *   clean        as closed: the snapshot at the log end, nothing replayed;
 *   killed       without the log-end snapshot (what a kill -9 leaves): the snapshot at the last
 *                roll, the active segment replayed;
 *   no-snapshot  every .snapshot deleted: the whole log replayed (what a log written before
 *                snapshots existed costs once, and what every start cost before).
 * The log's checkpoint says clean in all three, so the storage's CRC recovery of an unclean
 * shutdown (unchanged by snapshots) is not in the figures: what differs is producer state.
 * A benchmark: it prints numbers, it asserts nothing. `node src/storage/producer-state-bench.ts`.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeMarkerBatch } from '../coordinator/transactions/control.ts';
import { encodeRecordBatch } from '../records/index.ts';
import { systemClock } from './clock.ts';
import { nodeFs } from './fs.ts';
import { SegmentedPartitionLog } from './log.ts';

const SEGMENT_BYTES = 1024 * 1024;
const RECORDS_PER_BATCH = 10;
const VALUE_BYTES = 100;
const PRODUCERS = 8;
const TRANSACTION_EVERY = 20;
const REPEATS = 5;
const quiet = { warn: () => {}, info: () => {} };

async function writeLog(dir: string, segments: number): Promise<{ batches: number; bytes: number }> {
  const log = open(dir);
  const sequences = new Array<number>(PRODUCERS).fill(0);
  const value = Buffer.alloc(VALUE_BYTES, 7);
  let batches = 0;
  while (log.segmentCount < segments || log.sizeBytes < SEGMENT_BYTES * segments - SEGMENT_BYTES / 2) {
    const producer = batches % PRODUCERS;
    const transactional = producer === 0;
    const records = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
      timestamp: Date.now(),
      key: null,
      value: i === 0 ? Buffer.from(`${batches}`) : value,
    }));
    log.appendAsLeader(
      await encodeRecordBatch({
        records,
        producerId: 1000 + producer,
        producerEpoch: 0,
        baseSequence: sequences[producer]!,
        transactional,
      }),
      0,
    );
    sequences[producer]! += RECORDS_PER_BATCH;
    batches++;
    if (transactional && batches % TRANSACTION_EVERY === 1) {
      const marker = await encodeMarkerBatch({
        producerId: 1000n,
        producerEpoch: 0,
        commit: batches % (2 * TRANSACTION_EVERY) === 1,
        coordinatorEpoch: 0,
        timestampMs: Date.now(),
      });
      log.appendAsLeader(marker, 0);
      batches++;
    }
  }
  log.flush();
  log.updateHighWatermark(log.logEndOffset);
  log.close();
  return { batches, bytes: log.sizeBytes };
}

function open(dir: string): SegmentedPartitionLog {
  return new SegmentedPartitionLog({
    fs: nodeFs,
    clock: systemClock,
    dir,
    topic: 'bench',
    partition: 0,
    config: { segmentBytes: SEGMENT_BYTES },
    logger: quiet,
  });
}

/** Opens a copy of the written log prepared for `scenario`, timed; the copy is closed without writing. */
function timedOpen(pristine: string, work: string, scenario: Scenario): { ms: number; replayed: number } {
  rmSync(work, { recursive: true, force: true });
  cpSync(pristine, work, { recursive: true });
  const partitionDir = join(work, 'bench-0');
  const snapshots = readdirSync(partitionDir)
    .filter((n) => n.endsWith('.snapshot'))
    .sort();
  const segments = readdirSync(partitionDir)
    .filter((n) => n.endsWith('.log'))
    .sort();
  const lastSegment = segments.at(-1)?.slice(0, 20) ?? '';
  for (const name of snapshots) {
    const atEnd = name.slice(0, 20) > lastSegment;
    if (scenario === 'no-snapshot' || (scenario === 'killed' && atEnd)) unlinkSync(join(partitionDir, name));
  }
  const started = performance.now();
  const log = open(work);
  const ms = performance.now() - started;
  const replayed = log.producerStateLoad.replayedBatches;
  log.abandon();
  return { ms, replayed };
}

type Scenario = 'clean' | 'killed' | 'no-snapshot';
const SCENARIOS: readonly Scenario[] = ['clean', 'killed', 'no-snapshot'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { segments: { type: 'string', default: '1,10,100' } } });
  const sizes = values.segments.split(',').map(Number);
  console.log(`open time in ms, median of ${REPEATS} (batches replayed)`);
  console.log('segments  batches    MiB |      clean |     killed | no-snapshot');
  for (const segments of sizes) {
    const root = mkdtempSync(join(tmpdir(), 'kstack-producer-bench-'));
    const pristine = join(root, 'pristine');
    const work = join(root, 'work');
    try {
      const written = await writeLog(pristine, segments);
      const cells: string[] = [];
      for (const scenario of SCENARIOS) {
        const runs: number[] = [];
        let replayed = 0;
        for (let i = 0; i < REPEATS; i++) {
          const run = timedOpen(pristine, work, scenario);
          runs.push(run.ms);
          replayed = run.replayed;
        }
        cells.push(`${median(runs).toFixed(1)} (${replayed})`.padStart(scenario === 'no-snapshot' ? 11 : 10));
      }
      console.log(
        `${String(segments).padStart(8)}  ${String(written.batches).padStart(7)}  ${(written.bytes / 1048576).toFixed(1).padStart(5)} | ${cells.join(' | ')}`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

await main();
