/**
 * Snapshots on three brokers (startKafka({ brokers: 3 })): saved and restored through the API a
 * few times, each restore giving back the same offsets, committed offset, topics, transactional
 * ids and records (cluster-snapshots.ts; 50 restores are cluster-snapshots.long.ts, by hand);
 * names refused as on one broker; and `kstack snapshot` on the stopped cluster's data dir
 * (node-<id> folders), restoring the files exactly as saved.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { KafkaTestingError, startKafka } from '../../src/testing/index.ts';
import { restoreRepeatedly } from './cluster-snapshots.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Restores in the unit run: each restarts three nodes (1-3 s at load 30-60). */
const RESTORES = 3;

/** Every file under `dir` (snapshots left out) with its content, for comparing trees. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) {
        if (entry !== 'snapshots') walk(full);
      } else {
        files.set(relative(dir, full), readFileSync(full).toString('base64'));
      }
    }
  };
  walk(dir);
  return files;
}

function kstackSnapshot(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(ROOT, 'bin', 'kstack.ts'), 'snapshot', ...args], {
    encoding: 'utf8',
  });
}

test('a snapshot of three brokers restored gives the same offsets, records, groups and transactions each time; the CLI on its data dir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-cluster-snapshots-'));
  try {
    const kafka = await startKafka({ brokers: 3, dataDir, topics: [{ name: 'seed', partitions: 2 }] });
    try {
      const restoreMs = await restoreRepeatedly(kafka, RESTORES);
      console.log(
        `snapshot ${kafka.timings.lastSnapshotMs?.toFixed(0)} ms; restores ${restoreMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      );
      const invalid = (error: unknown) =>
        error instanceof KafkaTestingError &&
        error.code === 'SNAPSHOT_NAME_INVALID' &&
        error.httpStatus === 400;
      await assert.rejects(kafka.snapshot('../escape'), invalid);
      await assert.rejects(kafka.restore('.baseline'), invalid);
      await assert.rejects(kafka.restore('missing'), (error: unknown) => {
        return (
          error instanceof KafkaTestingError &&
          error.code === 'SNAPSHOT_NOT_FOUND' &&
          /no snapshot 'missing'.*saved: seeded/.test(error.message)
        );
      });
      // A refused restore leaves the cluster serving.
      await kafka.waitForIsr('seed', 0);
    } finally {
      await kafka.stop();
    }

    // The stopped cluster's data dir, as `kstack up --brokers 3 --data-dir` leaves it.
    assert.deepEqual(
      readdirSync(dataDir).filter((entry) => entry.startsWith('node-')),
      ['node-1', 'node-2', 'node-3'],
    );
    const saved = kstackSnapshot('save', 'stopped', '--data-dir', dataDir);
    assert.equal(saved.status, 0, saved.stderr);
    const before = tree(dataDir);
    const listed = kstackSnapshot('list', '--data-dir', dataDir);
    assert.match(listed.stdout, /^seeded\t.*\tbrokers 1,2,3\nstopped\t.*\tbrokers 1,2,3\n$/);
    // Change every node's data: a file removed, a log appended to.
    rmSync(join(dataDir, 'node-2', 'seed-0'), { recursive: true });
    const log = [...before.keys()].find((path) => path.startsWith('node-3/seed-1/') && path.endsWith('.log'));
    assert.ok(log !== undefined, 'node 3 holds a replica of seed-1');
    appendFileSync(join(dataDir, log), 'junk');
    assert.notDeepEqual(tree(dataDir), before);
    const restored = kstackSnapshot('restore', 'stopped', '--data-dir', dataDir);
    assert.equal(restored.status, 0, restored.stderr);
    assert.deepEqual(tree(dataDir), before, 'every node folder as saved');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
