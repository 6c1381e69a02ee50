/**
 * Kafka Connect (Apache Kafka's own distributed worker, a JVM) against `kstack up`: one broker
 * process and one worker shared by the file (the JVM start is the slow part), real FileStream
 * connectors on real files, Connect's REST API. The same scenarios run against Apache Kafka in
 * reference.long.ts (`node --test test/connect/reference.long.ts`), which also runs the REST
 * lifecycle (pause, resume, restart, stop, delete) and the worker restart (configs and source offsets
 * kept) on both clusters: a second JVM start does not fit the unit run's time budget.
 * Also `kstack status --connect-url` on this worker, and `kstack up --connect-plugins DIR` (the
 * companion's worker.properties, its JVM stopped at once).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shippedPluginsDir } from '../../src/connect/worker.ts';
import { startCompanions } from '../../src/engine/companions.ts';
import { runTool } from '../engine/run-tool.ts';
import {
  badInput,
  createConnector,
  fileSource,
  rest,
  sourceToSink,
  waitFor,
  waitForState,
} from './scenarios.ts';
import { type RunningTarget, startTarget } from './targets.ts';

const KSTACK_PORT = 21300;
const WORKER_PORT = 21301;
/** `kstack up --connect-plugins`'s companion (its JVM stopped as soon as its properties are written). */
const COMPANION_PORT = 24233;

describe('Kafka Connect worker against kstack', { timeout: 900_000 }, () => {
  let target: RunningTarget;
  before(async () => {
    target = await startTarget('kstack', KSTACK_PORT, WORKER_PORT);
  });
  after(async () => {
    await target?.close();
  });

  it('the worker joins its group and serves its REST API', (t) => {
    t.diagnostic(`kstack: Connect worker start to ready ${target.firstStartToReadyMs} ms`);
  });
  it('FileStreamSource reads a file into a topic and FileStreamSink writes it back, byte for byte', () =>
    sourceToSink(target));
  it("bad connector configs get Connect's own 400 and the worker goes on", () => badInput(target));
  it('kstack status --connect-url: the worker, its connectors and their tasks, as its REST API says', async () => {
    const worker = target.worker();
    const dataDir = mkdtempSync(join(tmpdir(), 'kstack-connect-status-'));
    const input = join(dataDir, 'in.txt');
    writeFileSync(input, 'one line\n');
    await createConnector(worker, 'status-source', fileSource(input, 'connect-status'));
    try {
      await waitForState(worker, 'status-source', 'RUNNING');
      const text = await runTool(process.execPath, [
        'bin/kstack.ts',
        'status',
        '--bootstrap-server',
        target.bootstrap,
        '--connect-url',
        worker.url,
      ]);
      assert.equal(text.code, 0, text.stderr);
      const root = (await rest(worker, 'GET', '/')).body as { version: string; kafka_cluster_id: string };
      assert.match(
        text.stdout,
        new RegExp(
          `^Kafka Connect ${worker.url.replaceAll('.', '\\.')}: version ${root.version.replaceAll('.', '\\.')}, cluster ${root.kafka_cluster_id}, 1 connector\\(s\\)\n  status-source: RUNNING; tasks: 0 RUNNING$`,
          'm',
        ),
      );
      const json = await runTool(process.execPath, [
        'bin/kstack.ts',
        'status',
        '--bootstrap-server',
        target.bootstrap,
        '--connect-url',
        worker.url,
        '--format',
        'json',
      ]);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual((JSON.parse(json.stdout) as { connect: unknown }).connect, {
        url: worker.url,
        answering: true,
        version: root.version,
        kafkaClusterId: root.kafka_cluster_id,
        connectors: [{ name: 'status-source', state: 'RUNNING', tasks: ['RUNNING'] }],
      });
    } finally {
      assert.equal((await rest(worker, 'DELETE', '/connectors/status-source')).status, 204);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("the worker's log: its events as records (level, Kafka's logger and connector names), the full log in server.log", () => {
    const records = target.logRecords;
    assert.ok(
      records.some(
        (r) =>
          r.level === 'info' && r.logger === 'org.apache.kafka.connect.runtime.distributed.DistributedHerder',
      ),
      'an INFO event of the DistributedHerder',
    );
    // Logged while a task of the status test's connector ran: Connect's connector.context.
    assert.ok(
      records.some((r) => r.connector === 'status-source' && r.task === 0),
      "an event naming the connector 'status-source' and its task 0",
    );
    assert.ok(
      records.every((r) => ['debug', 'info', 'warn', 'error'].includes(r.level) && r.logger !== ''),
      'every record has a level and a logger',
    );
    const serverLog = readFileSync(join(target.dir, 'worker-1', 'logs', 'server.log'), 'utf8');
    assert.match(
      serverLog,
      /^\[[^\]]+\] INFO .*\(org\.apache\.kafka\.connect\.runtime\.distributed\.DistributedHerder\)$/m,
    );
  });
  it("--connect-plugins DIR: the folder is on the worker's plugin.path after the shipped plugins", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kstack-connect-plugins-'));
    const plugins = join(dataDir, 'my-plugins');
    mkdirSync(plugins);
    const companions = await startCompanions(
      target.bootstrap,
      [{ service: 'kafka-connect', hostPort: COMPANION_PORT }],
      dataDir,
      undefined,
      { connect: true, connectPluginDirs: [plugins] },
    );
    try {
      assert.deepEqual(
        companions.running.map((c) => c.service),
        ['kafka-connect'],
      );
      const file = join(dataDir, 'connect', 'worker.properties');
      const properties = await waitFor('the worker.properties file', () =>
        existsSync(file) ? readFileSync(file, 'utf8') : undefined,
      );
      const pluginPath = /^plugin\.path=(.*)$/m.exec(properties)?.[1]?.split(',');
      assert.ok(pluginPath !== undefined && pluginPath.length === 2, properties);
      assert.equal(pluginPath[1], plugins);
      assert.equal(pluginPath[0], shippedPluginsDir());
      assert.match(properties, /^plugin\.discovery=hybrid_warn$/m);
    } finally {
      await companions.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
});
