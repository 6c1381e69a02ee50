import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, percentile, residentBytes, summarizeLatencies } from '../../src/bench/stats.ts';

test('percentile uses the nearest rank', () => {
  const values = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(values, 0.5), 500);
  assert.equal(percentile(values, 0.99), 990);
  assert.equal(percentile(values, 0.999), 999);
  assert.equal(percentile(values, 1), 1000);
  assert.equal(percentile([7], 0.999), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('summarizeLatencies sorts its input and reports the maximum', () => {
  const summary = summarizeLatencies([5, 1, 3, 2, 4]);
  assert.deepEqual(summary, { count: 5, p50Ms: 3, p99Ms: 5, p999Ms: 5, maxMs: 5 });
});

test('residentBytes reads this process and rejects a missing one', async () => {
  const own = await residentBytes(process.pid);
  assert.ok(own !== undefined && own > 1_000_000, `own RSS ${own}`);
  assert.equal(await residentBytes(2 ** 22 + 12345), undefined);
});

test('median takes the middle value, or the mean of the two middle ones', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
});
