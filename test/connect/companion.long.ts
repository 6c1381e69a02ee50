/**
 * The Connect worker as a supervised companion (src/connect/companion.ts) beside `kstack up`: it is
 * started in the background, restarted when its JVM is killed (kill -9), and finds its connectors and
 * source offsets again; close() leaves no JVM. Not in the unit run (two worker starts); run it with
 * `node --test test/connect/companion.long.ts`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../../src/connect/clusters.ts';
import { type ConnectCompanion, startConnectCompanion } from '../../src/connect/companion.ts';
import {
  assertSameLines,
  createConnector,
  endOffset,
  fileSource,
  readTopic,
  rest,
  sampleLines,
  waitFor,
  waitForState,
} from './scenarios.ts';

const KSTACK_PORT = 21350;
const WORKER_PORT = 21351;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Kafka Connect as a supervised companion of kstack', { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-companion-'));
  const lines: string[] = [];
  let cluster: Cluster;
  let companion: ConnectCompanion;
  before(async () => {
    cluster = await startCluster('kstack', KSTACK_PORT, dir);
    companion = await startConnectCompanion({
      bootstrap: cluster.bootstrap,
      port: WORKER_PORT,
      workDir: join(dir, 'connect'),
      log: (line) => lines.push(line),
    });
  });
  after(async () => {
    await companion?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarts a killed worker, which finds its connectors and offsets again; close leaves no JVM', async () => {
    const first = await waitFor('the first worker ready', () => companion.worker);
    assert.equal(companion.url, first.url);
    const input = join(dir, 'in.txt');
    const topic = 'connect-companion';
    const before = sampleLines('before', 100, 6, true);
    writeFileSync(input, `${before.join('\n')}\n`);
    await createConnector(first, 'companion-source', fileSource(input, topic));
    await waitForState(first, 'companion-source', 'RUNNING');
    assertSameLines(await readTopic(cluster.bootstrap, topic, before.length), before, topic);
    await first.kill();
    const second = await waitFor('the worker restarted', () =>
      companion.starts === 2 ? companion.worker : undefined,
    );
    assert.notEqual(second.pid, first.pid);
    assert.ok(
      lines.some((line) => /worker exited \(SIGKILL\)/.test(line)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((line) => /restarting in 1000 ms/.test(line)),
      lines.join('\n'),
    );
    await waitForState(second, 'companion-source', 'RUNNING');
    const later = sampleLines('later', 100, 7, true);
    appendFileSync(input, `${later.join('\n')}\n`);
    // A kill -9 loses the offsets not yet committed (at-least-once): lines read since the last commit
    // come again after the restart. Nothing is lost: the topic is the first copy, re-sent lines of
    // that copy, then the new lines, in order.
    const values = await waitFor('every line in the topic', async () => {
      const count = Number(await endOffset(cluster.bootstrap, topic));
      if (count < before.length + later.length) return undefined;
      const all = await readTopic(cluster.bootstrap, topic, count);
      return all.at(-1) === later.at(-1) ? all : undefined;
    });
    assertSameLines(values.slice(0, before.length), before, `${topic} (first copy)`);
    assertSameLines(values.slice(values.length - later.length), later, `${topic} (new lines)`);
    const resent = values.slice(before.length, values.length - later.length);
    assert.ok(
      resent.every((line) => before.includes(line)),
      `only lines of the first copy may come again, got ${resent.length} lines`,
    );
    assert.equal((await rest(second, 'GET', '/connectors')).status, 200);
    const pid = second.pid;
    await companion.close();
    assert.equal(alive(pid), false, `the worker JVM ${pid} still runs after close()`);
    assert.ok(lines.some((line) => /ready at/.test(line)));
  });
});
