import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchSessionCache } from '../../src/broker/fetch-sessions.ts';

const clock = { nowMs: () => 0, setTimer: () => () => {} };

describe('fetch sessions (KIP-227)', () => {
  it('opens on epoch 0, continues on matching epochs, refuses stale ones', () => {
    const cache = new FetchSessionCache(10, clock);
    const opened = cache.lookup(0, 0);
    assert.equal(opened.kind, 'new');
    if (opened.kind !== 'new') return;
    const id = opened.session.id;
    assert.equal(cache.lookup(id, 1).kind, 'incremental');
    assert.equal(cache.lookup(id, 2).kind, 'incremental');
    assert.deepEqual(cache.lookup(id, 2), { kind: 'error', errorCode: 71 });
    assert.deepEqual(cache.lookup(id + 100, 1), { kind: 'error', errorCode: 70 });
    assert.equal(cache.lookup(id, -1).kind, 'none');
    assert.deepEqual(cache.lookup(id, 3), { kind: 'error', errorCode: 70 });
  });

  it('is bounded: the least recently used session goes', () => {
    const cache = new FetchSessionCache(2, clock);
    const a = cache.lookup(0, 0);
    const b = cache.lookup(0, 0);
    if (a.kind !== 'new' || b.kind !== 'new') throw new Error('sessions expected');
    assert.equal(cache.lookup(a.session.id, 1).kind, 'incremental');
    cache.lookup(0, 0);
    assert.equal(cache.size, 2);
    assert.deepEqual(cache.lookup(b.session.id, 1), { kind: 'error', errorCode: 70 });
    assert.equal(cache.lookup(a.session.id, 2).kind, 'incremental');
  });

  it('answers sessionless fetches when no slot is configured', () => {
    assert.equal(new FetchSessionCache(0, clock).lookup(0, 0).kind, 'none');
  });
});
