/**
 * The compat runner's kstack cluster (compat/runner/kstack-cluster.ts): three real `kstack node`
 * processes the runner owns, so a scenario can crash one (SIGKILL) or stop it cleanly (SIGTERM) and
 * start it again; each restart waits until every node lists the whole cluster in Metadata. A node that
 * cannot start fails the start with its own output, naming the node. A slow test (npm run test:slow):
 * 14 s on 2 cores at load 8, 31 s for the restart test alone at load 17.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { KstackCluster } from '../../compat/runner/kstack-cluster.ts';
import { probeMetadata } from '../../reference/probe.ts';

/** Brokers 22310-22312, their controllers 22360-22362 (docs/team-rules.md). */
const BASE_PORT = 22310;
const TEST_TIMEOUT_MS = 240_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('compat runner: kstack cluster of node processes', { timeout: TEST_TIMEOUT_MS }, () => {
  const dirs: string[] = [];
  const clusters: KstackCluster[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-cluster-test-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const cluster of clusters) await cluster.stop(true);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops a node by SIGKILL or SIGTERM and starts it again into the same cluster', async () => {
    const cluster = new KstackCluster({ nodes: 3, basePort: BASE_PORT, dataDir: tempDir() });
    clusters.push(cluster);
    let since = performance.now();
    const lap = (what: string) => {
      console.log(`${what}: ${Math.round(performance.now() - since)} ms`);
      since = performance.now();
    };
    await cluster.start();
    lap('start');
    assert.deepEqual(cluster.running(), [1, 2, 3]);
    for (const id of cluster.ids) {
      assert.deepEqual(await probeMetadata('127.0.0.1', cluster.brokerPort(id), 5_000), [1, 2, 3]);
    }
    for (const [id, signal] of [
      [2, 'SIGKILL'],
      [3, 'SIGTERM'],
    ] as const) {
      const pid = cluster.pid(id);
      assert.ok(pid !== undefined && pidAlive(pid));
      await cluster.stopNode(id, signal);
      lap(`stop ${id} ${signal}`);
      assert.equal(pidAlive(pid), false, `node ${id} (pid ${pid}) still runs after ${signal}`);
      assert.deepEqual(
        cluster.running(),
        [1, 2, 3].filter((n) => n !== id),
      );
      await assert.rejects(probeMetadata('127.0.0.1', cluster.brokerPort(id), 2_000));
      await cluster.startNode(id);
      lap(`start ${id}`);
      assert.notEqual(cluster.pid(id), pid);
      assert.deepEqual(cluster.running(), [1, 2, 3]);
      // startNode waited until every node lists all three: ask each again.
      for (const each of cluster.ids) {
        assert.deepEqual(await probeMetadata('127.0.0.1', cluster.brokerPort(each), 5_000), [1, 2, 3]);
      }
    }
    await cluster.stop(true);
    assert.deepEqual(cluster.running(), []);
  });

  it('fails the start naming the node that could not start, with its output', async () => {
    // One node (the cost of a test is its nodes' start on a loaded machine); the node whose
    // advertised.listeners Kafka would refuse is node 1.
    const cluster = new KstackCluster({
      nodes: 1,
      basePort: BASE_PORT,
      dataDir: tempDir(),
      overrides: (id): Record<string, string> =>
        id === 1 ? { 'advertised.listeners': 'PLAINTEXT://0.0.0.0:1' } : {},
    });
    clusters.push(cluster);
    await assert.rejects(cluster.start(), (error: Error) => {
      assert.match(error.message, /kstack node 1 exited during startup/);
      assert.match(error.message, /advertised\.listeners/);
      return true;
    });
    await cluster.stop(true);
  });
});
