import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitReplication } from '../../src/topology/replication.ts';

describe('fitReplication', () => {
  it('keeps settings that fit the cluster', () => {
    assert.deepEqual(fitReplication({ replicationFactor: 3, minInsyncReplicas: 2 }, 3), {
      replicationFactor: 3,
      minInsyncReplicas: 2,
      changes: [],
    });
    assert.deepEqual(fitReplication({ replicationFactor: 1, minInsyncReplicas: undefined }, 5).changes, []);
  });

  it('lowers the factor to the broker count and min ISR by the replicas dropped, at least 1', () => {
    assert.deepEqual(fitReplication({ replicationFactor: 3, minInsyncReplicas: 2 }, 1), {
      replicationFactor: 1,
      minInsyncReplicas: 1,
      changes: ['replication factor 3 -> 1', 'min.insync.replicas 2 -> 1'],
    });
    assert.deepEqual(fitReplication({ replicationFactor: 5, minInsyncReplicas: 4 }, 3), {
      replicationFactor: 3,
      minInsyncReplicas: 2,
      changes: ['replication factor 5 -> 3', 'min.insync.replicas 4 -> 2'],
    });
    assert.deepEqual(fitReplication({ replicationFactor: 3, minInsyncReplicas: 1 }, 2), {
      replicationFactor: 2,
      minInsyncReplicas: 1,
      changes: ['replication factor 3 -> 2'],
    });
    assert.deepEqual(fitReplication({ replicationFactor: 3, minInsyncReplicas: undefined }, 1), {
      replicationFactor: 1,
      minInsyncReplicas: undefined,
      changes: ['replication factor 3 -> 1'],
    });
  });

  it('refuses a broker count that is not a positive whole number', () => {
    assert.throws(() => fitReplication({ replicationFactor: 3, minInsyncReplicas: 2 }, 0), /broker count 0/);
  });
});
