import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayCommand, simulate } from '../../src/raft/sim/simulator.ts';

// The deterministic simulator over many seeds: each seed picks its own fault rates and timings
// (drops, duplicates, delays, partitions, crashes losing unflushed bytes, torn writes, crashes
// right after a vote, snapshots) and invariants are checked after every event. A failure names the
// seed and the one command that replays it. RAFT_SIM_SEEDS and RAFT_SIM_START widen or move the range.

const SEEDS = Number(process.env.RAFT_SIM_SEEDS ?? 200);
const START = Number(process.env.RAFT_SIM_START ?? 1);

test(`raft simulation: seeds ${START}..${START + SEEDS - 1} keep every invariant and converge`, {
  timeout: 600_000,
}, (t) => {
  const startedMs = performance.now();
  const failures: string[] = [];
  const totals = {
    proposals: 0,
    acknowledged: 0,
    crashes: 0,
    tornLogRecoveries: 0,
    truncations: 0,
    snapshotsInstalled: 0,
    maxEpoch: 0,
  };
  for (let seed = START; seed < START + SEEDS; seed++) {
    const result = simulate({ seed, traceEvents: 0 });
    if (!result.ok) failures.push(`seed ${seed}: ${result.failure}\n  replay: ${replayCommand(seed)}`);
    totals.proposals += result.stats.proposals;
    totals.acknowledged += result.stats.acknowledged;
    totals.crashes += result.stats.crashes;
    totals.tornLogRecoveries += result.stats.tornLogRecoveries;
    totals.truncations += result.stats.truncations;
    totals.snapshotsInstalled += result.stats.snapshotsInstalled;
    totals.maxEpoch = Math.max(totals.maxEpoch, result.stats.maxEpoch);
  }
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  t.diagnostic(`seeds ${START}..${START + SEEDS - 1} in ${seconds} s: ${JSON.stringify(totals)}`);
  assert.deepStrictEqual(failures, []);
  // The faults must actually happen, or the seeds prove nothing.
  assert.ok(
    totals.crashes > 0 &&
      totals.truncations > 0 &&
      totals.snapshotsInstalled > 0 &&
      totals.tornLogRecoveries > 0,
  );
});

test('a seed replays exactly', () => {
  const first = simulate({ seed: 7 });
  const second = simulate({ seed: 7 });
  assert.deepStrictEqual(second, first);
  assert.ok(first.stats.events > 1000);
});
