/**
 * By hand (`node --test test/testing/cluster-snapshots.long.ts`): issue 20's "a snapshot restored
 * 50 times gives the same offsets and records each time" on three brokers, the check of
 * cluster-snapshots.ts with 50 restores (the unit run does 3). Prints each restore's time and their
 * p50/p99.
 */
import { test } from 'node:test';
import { startKafka } from '../../src/testing/index.ts';
import { restoreRepeatedly } from './cluster-snapshots.ts';

const RESTORES = 50;

test(`a snapshot of three brokers restored ${RESTORES} times gives the same offsets and records each time`, async () => {
  const kafka = await startKafka({ brokers: 3, topics: [{ name: 'seed', partitions: 2 }] });
  try {
    const startedMs = performance.now();
    const restoreMs = (await restoreRepeatedly(kafka, RESTORES)).sort((a, b) => a - b);
    const at = (q: number) => restoreMs[Math.min(restoreMs.length - 1, Math.ceil(q * restoreMs.length) - 1)]!;
    console.log(
      `${RESTORES} restores in ${((performance.now() - startedMs) / 1000).toFixed(0)} s: snapshot ${kafka.timings.lastSnapshotMs?.toFixed(0)} ms, restore p50 ${at(0.5).toFixed(0)} ms, p99 ${at(0.99).toFixed(0)} ms, max ${restoreMs.at(-1)?.toFixed(0)} ms`,
    );
  } finally {
    await kafka.stop();
  }
});
