import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayCommand, simulate } from '../../src/replication/sim/simulator.ts';

// The deterministic replication simulator over many seeds: each seed picks its own fault rates and
// timings (drops, duplicates, delays and so reordering, symmetric and one-way cuts, a slow broker,
// crashes losing unflushed entries) and invariants are checked after every 5 ms step. A failure
// names the seed and the one command that replays it. REPLICATION_SIM_SEEDS and
// REPLICATION_SIM_START widen or move the range.

const SEEDS = Number(process.env.REPLICATION_SIM_SEEDS ?? 200);
const START = Number(process.env.REPLICATION_SIM_START ?? 1);

test(`replication simulation: seeds ${START}..${START + SEEDS - 1} keep every invariant and converge`, {
  timeout: 600_000,
}, (t) => {
  const startedMs = performance.now();
  const failures: string[] = [];
  const totals: Record<string, number> = {};
  for (let seed = START; seed < START + SEEDS; seed++) {
    const result = simulate({ seed });
    if (!result.ok) failures.push(`seed ${seed}: ${result.failure}\n  replay: ${replayCommand(seed)}`);
    for (const [key, value] of Object.entries(result.stats)) totals[key] = (totals[key] ?? 0) + value;
  }
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  t.diagnostic(`seeds ${START}..${START + SEEDS - 1} in ${seconds} s: ${JSON.stringify(totals)}`);
  assert.deepStrictEqual(failures, []);
  // The faults and the outcomes they should cause must actually happen, or the seeds prove nothing.
  for (const key of [
    'acknowledged',
    'crashes',
    'unflushedEntriesLost',
    'truncations',
    'isrShrinks',
    'isrExpansions',
    'alterPartitionRejected',
    'notEnoughReplicas',
    'notEnoughReplicasAfterAppend',
    'messagesDuplicated',
    'leaderChanges',
  ])
    assert.ok((totals[key] ?? 0) > 0, `no ${key} in ${SEEDS} seeds`);
});

test('a seed replays exactly', () => {
  const first = simulate({ seed: 7, traceEvents: 50 });
  const second = simulate({ seed: 7, traceEvents: 50 });
  assert.deepStrictEqual(second, first);
  assert.ok(first.stats.steps > 1000 && first.stats.acknowledged > 0);
});
