/**
 * Two Connect workers in one group (the `connect` group protocol, incremental cooperative
 * rebalancing) share connectors and tasks; one is killed (kill -9) and its tasks move to the other,
 * which goes on: every line arrives (at-least-once: only lines sent before the kill may come twice).
 * On Apache Kafka 4.1.1 and on kstack in one run. Not in the unit run (four worker starts); run it
 * with `node --test test/connect/workers.long.ts`.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Cluster, startCluster } from '../../src/connect/clusters.ts';
import { type ConnectWorker, startConnectWorker } from '../../src/connect/worker.ts';
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

const PORTS = {
  reference: { cluster: 21316, workers: [21317, 21318] },
  kstack: { cluster: 21326, workers: [21327, 21328] },
} as const;
const CONNECTORS = 4;
/**
 * A lost worker's tasks wait scheduled.rebalance.max.delay.ms (5 min by default) for it to come back
 * before they move; 10 s keeps the test short. Offsets are flushed every 5 s.
 */
const OVERRIDES = new Map([
  ['scheduled.rebalance.max.delay.ms', '10000'],
  ['offset.flush.interval.ms', '5000'],
]);

interface Status {
  connector: { state: string; worker_id: string };
  tasks: { state: string; worker_id: string }[];
}

for (const kind of ['reference', 'kstack'] as const) {
  describe(`two Connect workers in one group against ${kind}`, { timeout: 900_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), `kstack-connect-workers-${kind}-`));
    let cluster: Cluster | undefined;
    const workers: ConnectWorker[] = [];
    before(async () => {
      cluster = await startCluster(kind, PORTS[kind].cluster, dir);
      const bootstrap = cluster.bootstrap;
      const started = await Promise.allSettled(
        PORTS[kind].workers.map((port) => {
          const workDir = join(dir, `worker-${port}`);
          mkdirSync(workDir, { recursive: true });
          return startConnectWorker({ bootstrap, port, workDir, overrides: OVERRIDES });
        }),
      );
      for (const result of started) if (result.status === 'fulfilled') workers.push(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    });
    after(async () => {
      await Promise.allSettled(workers.map((worker) => worker.stop()));
      await cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("share tasks; a killed worker's tasks move to the other and nothing is lost", async () => {
      const [survivor, victim] = workers as [ConnectWorker, ConnectWorker];
      const names = Array.from({ length: CONNECTORS }, (_, i) => `shared-${i}`);
      const firsts = names.map((_, i) => sampleLines(`first-${i}`, 100, 10 + i, true));
      for (const [i, name] of names.entries()) {
        const input = join(dir, `${name}.txt`);
        writeFileSync(input, `${firsts[i]!.join('\n')}\n`);
        await createConnector(survivor, name, fileSource(input, name));
      }
      for (const name of names) await waitForState(survivor, name, 'RUNNING');
      // Both workers hold connectors or tasks (8 units over 2 members).
      const owners = await waitFor('both workers to hold work', async () => {
        const ids = new Set<string>();
        for (const name of names) {
          const status = (await rest(survivor, 'GET', `/connectors/${name}/status`)).body as Status;
          ids.add(status.connector.worker_id);
          for (const task of status.tasks) ids.add(task.worker_id);
        }
        return ids.size === 2 ? ids : undefined;
      });
      assert.deepEqual([...owners].sort(), [survivor.url, victim.url].map((url) => url.slice(7)).sort());
      for (const [i, name] of names.entries()) {
        assertSameLines(await readTopic(cluster!.bootstrap, name, firsts[i]!.length), firsts[i]!, name);
      }
      await victim.kill();
      workers.splice(workers.indexOf(victim), 1);
      const victimId = victim.url.slice(7);
      await waitFor(`every connector and task on ${survivor.url}`, async () => {
        for (const name of names) {
          const status = (await rest(survivor, 'GET', `/connectors/${name}/status`)).body as Status;
          const units = [status.connector, ...status.tasks];
          if (
            units.length !== 2 ||
            units.some((unit) => unit.state !== 'RUNNING' || unit.worker_id === victimId)
          )
            return undefined;
        }
        return true;
      });
      const laters = names.map((_, i) => sampleLines(`later-${i}`, 100, 20 + i, true));
      for (const [i, name] of names.entries())
        appendFileSync(join(dir, `${name}.txt`), `${laters[i]!.join('\n')}\n`);
      for (const [i, name] of names.entries()) {
        const first = firsts[i]!;
        const later = laters[i]!;
        const values = await waitFor(`every line in ${name}`, async () => {
          const count = Number(await endOffset(cluster!.bootstrap, name));
          if (count < first.length + later.length) return undefined;
          const all = await readTopic(cluster!.bootstrap, name, count);
          return all.at(-1) === later.at(-1) ? all : undefined;
        });
        assertSameLines(values.slice(0, first.length), first, `${name} (first copy)`);
        assertSameLines(values.slice(values.length - later.length), later, `${name} (new lines)`);
        const resent = values.slice(first.length, values.length - later.length);
        assert.ok(
          resent.every((line) => first.includes(line)),
          `${name}: ${resent.length} unexpected lines`,
        );
      }
    });
  });
}
