import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandlerRegistry, loadHandlers } from '../../src/broker/handlers/index.ts';

describe('handler registry', () => {
  it('loads every handler file and advertises what the clients need', async () => {
    const registry = await loadHandlers();
    const ranges = new Map(registry.versions().map((v) => [v.apiKey, v]));
    const need: [number, number, number][] = [
      [0, 0, 11], // Produce from v0 (librdkafka 2.0.2 compresses only then) to 11
      [1, 4, 17],
      [2, 0, 9],
      [3, 0, 12],
      [18, 0, 3],
      [19, 0, 7],
      [20, 0, 6],
      [21, 0, 2],
      [23, 0, 4],
      [32, 0, 4],
      [33, 0, 2],
      [35, 0, 4],
      [37, 0, 3],
      [44, 0, 1],
      [60, 0, 1],
    ];
    for (const [key, min, max] of need) {
      const range = ranges.get(key);
      assert.ok(range, `API key ${key} advertised`);
      assert.ok(
        range.minVersion <= min && range.maxVersion >= max,
        `API key ${key}: ${range.minVersion}-${range.maxVersion}`,
      );
    }
    const keys = registry.versions().map((v) => v.apiKey);
    assert.deepEqual(
      keys,
      [...keys].sort((a, b) => a - b),
    );
  });

  it('refuses two handlers for one key', () => {
    const handler = { apiKey: 1, name: 'X', minVersion: 0, maxVersion: 1, handle: () => ({}) };
    assert.throws(() => new HandlerRegistry([handler, handler]), /two handlers/);
  });
});
