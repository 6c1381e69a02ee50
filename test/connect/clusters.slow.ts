/**
 * Kafka Connect (Apache Kafka's own distributed worker, a JVM) against Apache Kafka 4.1.1 (the
 * reference, one node) and against `kstack up` (one broker) in one run, so a failure points at kstack
 * or at the test: real FileStream connectors on real files, Connect's REST API, topics read with a
 * client we did not write. The JVM starts are the cost, so each cluster and its worker start once,
 * the two clusters side by side (their suites run at once), and every scenario runs as a subtest:
 *
 * 1. on each cluster: FileStream source -> topic -> sink byte for byte; pause, resume, restart, stop,
 *    delete; Connect's own errors for bad input; `kstack status --connect-url`; the worker's log;
 *    on kstack only (`kstack up` features, no reference to compare), `kstack up --connect-plugins`, and
 *    the worker supervised like a broker: its JVM killed, the supervisor starts it again, its connector
 *    goes on with nothing lost or repeated;
 * 2. MirrorMaker 2 both ways, each in a worker on its target cluster, with a group's offsets;
 * 3. on each cluster: the worker stopped cleanly and started again, with a second worker of its group
 *    beside it, keeps configs and source offsets; both run exactly-once source
 *    (`exactly.once.source.support=enabled`: offsets written in transactions, a task restart fences
 *    the old producer); the two share tasks and the second is killed (kill -9).
 *
 * A broker killed under a running connector needs a cluster of three: `broker-kill.slow.ts` does it
 * on three nodes of each cluster, `test/engine/cluster-up.slow.ts` on `kstack up --brokers 3` (the
 * stack's own worker).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shippedPluginsDir } from '../../src/connect/worker.ts';
import { startCompanions } from '../../src/engine/companions.ts';
import { runTool } from '../engine/run-tool.ts';
import { mirrorTopicAndGroup } from './mirror-support.ts';
import {
  badInput,
  createConnector,
  exactlyOnceSource,
  fileSource,
  lifecycle,
  rest,
  restartKeepsState,
  sourceToSink,
  supervisedWorkerKilled,
  waitFor,
  waitForState,
  workersShareTasks,
} from './scenarios.ts';
import { type RunningTarget, startTarget } from './targets.ts';

type Kind = 'reference' | 'kstack';
const KINDS: readonly Kind[] = ['reference', 'kstack'];
/** The reference's controller listens 50 above its broker (27250). */
const PORTS = {
  reference: { cluster: 27200, worker: 27201, second: 27202 },
  kstack: { cluster: 27210, worker: 27211, second: 27212 },
} as const;
/** `kstack up --connect-plugins`'s companion (its JVM stopped as soon as its properties are written). */
const COMPANION_PORT = 24233;
/**
 * A lost worker's work waits scheduled.rebalance.max.delay.ms (5 min by default) for it to come back
 * before it moves to the others; 10 s keeps the kill short.
 */
const WORKER_OVERRIDES = new Map([['scheduled.rebalance.max.delay.ms', '10000']]);
/** The restarted worker, and the second one started with it, run exactly-once source. */
const EXACTLY_ONCE = new Map([['exactly.once.source.support', 'enabled']]);

describe('Kafka Connect on Apache Kafka and on kstack', { timeout: 1_200_000 }, () => {
  const targets = new Map<Kind, RunningTarget>();
  const targetOf = (kind: Kind) => () => {
    const target = targets.get(kind);
    assert.ok(target !== undefined, `${kind} did not start`);
    return target;
  };
  before(async () => {
    const started = await Promise.allSettled(
      KINDS.map((kind) =>
        startTarget(kind, PORTS[kind].cluster, PORTS[kind].worker, WORKER_OVERRIDES, 1, kind === 'kstack'),
      ),
    );
    for (const [i, result] of started.entries()) {
      if (result.status === 'fulfilled') targets.set(KINDS[i]!, result.value);
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  });
  after(async () => {
    await Promise.allSettled([...targets.values()].map((target) => target.close()));
  });

  // The two clusters' suites run at once; inside each, one scenario at a time (a suite's children
  // inherit its concurrency, so each says 1: the scenarios count the worker's connectors).
  describe('on each cluster', { concurrency: true }, () => {
    for (const kind of KINDS) {
      describe(kind, { concurrency: 1 }, () => {
        const target = targetOf(kind);
        it('the worker joins its group and serves its REST API', (t) => {
          t.diagnostic(`${kind}: Connect worker start to ready ${target().firstStartToReadyMs} ms`);
        });
        it('FileStreamSource reads a file into a topic and FileStreamSink writes it back, byte for byte', () =>
          sourceToSink(target()));
        it('pause, resume, restart, stop and delete through the REST API', () => lifecycle(target()));
        it("bad connector configs get Connect's own errors and the worker goes on", () => badInput(target()));
        it('kstack status --connect-url: the worker, its connectors and their tasks, as its REST API says', async () => {
          const worker = target().worker();
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
              target().bootstrap,
              '--connect-url',
              worker.url,
            ]);
            assert.equal(text.code, 0, text.stderr);
            const root = (await rest(worker, 'GET', '/')).body as {
              version: string;
              kafka_cluster_id: string;
            };
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
              target().bootstrap,
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
          const records = target().logRecords;
          assert.ok(
            records.some(
              (r) =>
                r.level === 'info' &&
                r.logger === 'org.apache.kafka.connect.runtime.distributed.DistributedHerder',
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
          const serverLog = readFileSync(join(target().dir, 'worker-1', 'logs', 'server.log'), 'utf8');
          assert.match(
            serverLog,
            /^\[[^\]]+\] INFO .*\(org\.apache\.kafka\.connect\.runtime\.distributed\.DistributedHerder\)$/m,
          );
        });
        // `kstack up --connect-plugins` is kstack's own: there is no Apache Kafka side to run.
        if (kind !== 'kstack') return;
        it("--connect-plugins DIR: the folder is on the worker's plugin.path after the shipped plugins", async () => {
          const dataDir = mkdtempSync(join(tmpdir(), 'kstack-connect-plugins-'));
          const plugins = join(dataDir, 'my-plugins');
          mkdirSync(plugins);
          const companions = await startCompanions(
            target().bootstrap,
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
        it("the worker supervised like a broker (kstack up's companion): killed with SIGKILL, restarted after 1 s, its connector goes on, nothing lost or repeated", () => {
          const supervisor = target().supervisor();
          assert.ok(supervisor !== undefined, 'the kstack worker runs under its supervisor');
          return supervisedWorkerKilled(target(), supervisor, target().supervisorLines);
        });
      });
    }
  });

  describe('MirrorMaker 2 both ways, with group offsets', { concurrency: true }, () => {
    it('from Apache Kafka into kstack (a worker on kstack)', () =>
      mirrorTopicAndGroup(
        targetOf('kstack')().worker(),
        'ref',
        targetOf('reference')(),
        'kstack',
        targetOf('kstack')(),
        'mirror-in',
      ));
    it('from kstack into Apache Kafka (a worker on the reference)', () =>
      mirrorTopicAndGroup(
        targetOf('reference')().worker(),
        'kstack',
        targetOf('kstack')(),
        'ref',
        targetOf('reference')(),
        'mirror-out',
      ));
  });

  describe('worker restarts, exactly-once source, two workers', { concurrency: true }, () => {
    for (const kind of KINDS) {
      describe(kind, { concurrency: 1 }, () => {
        const target = targetOf(kind);
        it('a restart of the stopped group (its worker and a second one) keeps connector configs and source offsets (nothing re-read or lost), into exactly-once source', () =>
          restartKeepsState(target(), EXACTLY_ONCE, PORTS[kind].second));
        it('a source required to be exactly-once writes in transactions; a task restart loses and repeats nothing', () =>
          exactlyOnceSource(target()));
        it("the two workers share tasks; a killed worker's tasks move to the other and nothing is lost", () =>
          workersShareTasks(target(), target().joiners()[0]!));
      });
    }
  });
});
