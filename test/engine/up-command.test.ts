import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { UsageError } from '../../src/common/cli-errors.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { effectiveConfig, parseUpArgs } from '../../src/engine/up-command.ts';
import { copyStack, KAFKA_FILE, REPO_ROOT, type StackCopy } from '../validate/stack-copy.ts';
import { runTool } from './run-tool.ts';

/** A clean shutdown (SIGTERM) may take long on a loaded CI machine (30 s seen at load average 20-35): SIGKILL only after this. */
const STOP_GRACE_MS = 120_000;

/** Ports of this file (docs/team-rules.md): the `kstack up` process reading a copy of the stack. */
const UP_PORT = 20120;
/** The companions' host ports in the copy's env file, so the stack's 8081, 8082 and 9308 stay free. */
const COMPANION_PORTS = {
  SCHEMA_REGISTRY_PORT: 20121,
  KAFKA_REST_PROXY_PORT: 20122,
  KAFKA_EXPORTER_PORT: 20123,
  KAFKA_UI_PORT: 20124,
  KAFKA_CONNECT_PORT: 20125,
};
const RESOURCE_BROKER = 4;
const RESOURCE_TOPIC = 2;
const STATIC_BROKER_CONFIG = 4;
const READY_TIMEOUT_MS = 60_000;
/** PyPI confluent-kafka's venv (scripts/setup/20-clients.sh). */
const PYTHON = join(homedir(), '.cache', 'kstack', 'venv', 'bin', 'python');
const GROUP_SCRIPT = join(import.meta.dirname, '..', 'topology', 'python', 'group_first_assignment.py');
/** Below Kafka's default group.initial.rebalance.delay.ms (3000), with room for a loaded machine. */
const FIRST_ASSIGNMENT_MS_MAX = 2_500;

describe('kstack up arguments', () => {
  it('takes the port from the env file, overridden by --port', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstack-env-'));
    try {
      const env = join(dir, 'stack.env');
      writeFileSync(env, '# comment\nKAFKA_1_EXTERNAL_PORT=19111\nOTHER="x"\n');
      const fromEnv = parseUpArgs(['--env-file', env, '--no-compose']);
      assert.ok(fromEnv !== 'help');
      assert.equal(fromEnv.port, 19111);
      assert.equal(fromEnv.topology, undefined);
      const overridden = parseUpArgs(['--env-file', env, '--port', '19112']);
      assert.ok(overridden !== 'help');
      assert.equal(overridden.port, 19112);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads this repository's Compose stack by default: its three brokers; --brokers 1 is kafka-1 alone", () => {
    const cluster = parseUpArgs([]);
    assert.ok(cluster !== 'help');
    assert.equal(cluster.brokers, 3, 'as many brokers as the stack declares');
    assert.deepEqual(
      cluster.topology?.plans.map((plan) => plan.service),
      ['kafka-1', 'kafka-2', 'kafka-3'],
    );
    assert.equal(
      effectiveConfig(cluster, 2).find((entry) => entry.name === 'min.insync.replicas')?.value,
      '2',
      'not lowered on three brokers',
    );
    const noStack = parseUpArgs(['--no-compose']);
    assert.ok(noStack !== 'help');
    assert.equal(noStack.brokers, 3, "the seeds' three brokers without a stack too");
    const options = parseUpArgs(['--brokers', '1']);
    assert.ok(options !== 'help');
    assert.equal(options.brokers, 1);
    assert.equal(options.port, 9092);
    assert.equal(options.topology?.plan.service, 'kafka-1');
    assert.equal(options.topology?.plans.length, 1);
    assert.equal(options.topology?.topicsFile?.displayPath, 'infra/05-messaging/kafka/init/topics.txt');
    const config = new Map(effectiveConfig(options).map((entry) => [entry.name, entry]));
    assert.equal(config.get('group.initial.rebalance.delay.ms')?.value, '0');
    assert.match(
      config.get('group.initial.rebalance.delay.ms')?.source ?? '',
      new RegExp(`^${KAFKA_FILE}:\\d+$`),
    );
    assert.equal(config.get('num.partitions')?.value, '3');
    assert.equal(config.get('min.insync.replicas')?.value, '1');
    assert.match(config.get('min.insync.replicas')?.source ?? '', /lowered to the broker count/);
    assert.equal(config.get('log.retention.hours')?.source, 'default');
    const overridden = parseUpArgs(['--brokers', '1', '--override', 'num.partitions=5']);
    assert.ok(overridden !== 'help');
    assert.deepEqual(
      effectiveConfig(overridden).find((entry) => entry.name === 'num.partitions'),
      { name: 'num.partitions', value: '5', source: '--override' },
    );
  });

  it("uses Kafka's defaults with --no-compose, or when a port flag places the broker", () => {
    for (const args of [['--no-compose'], ['--port', '19112'], ['--base-port', '19112']]) {
      const options = parseUpArgs(args);
      assert.ok(options !== 'help');
      assert.equal(options.topology, undefined, args.join(' '));
    }
    const explicit = parseUpArgs(['--port', '19112', '--compose', 'docker-compose.yml']);
    assert.ok(explicit !== 'help');
    assert.equal(explicit.port, 19112);
    assert.equal(explicit.topology?.plan.service, 'kafka-1');
  });

  it("uses Kafka's defaults where there is no Compose stack (the package on its own)", () => {
    const here = process.cwd();
    const elsewhere = mkdtempSync(join(tmpdir(), 'kstack-no-stack-'));
    try {
      process.chdir(elsewhere);
      const options = parseUpArgs([]);
      assert.ok(options !== 'help');
      assert.equal(options.topology, undefined);
      assert.equal(options.port, 9092);
      assert.equal(
        effectiveConfig(options).find((entry) => entry.name === 'num.partitions')?.source,
        'default',
      );
    } finally {
      process.chdir(here);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with a message naming the flag', () => {
    assert.throws(
      () => parseUpArgs(['--port', 'x']),
      (e: unknown) => e instanceof UsageError && /--port/.test(e.message),
    );
    assert.equal((parseUpArgs(['--brokers', '3', '--no-compose']) as { brokers: number }).brokers, 3);
    assert.throws(
      () => parseUpArgs(['--brokers', '10']),
      /--brokers 10: at most 9 nodes \(each is a quorum voter\)/,
    );
    assert.throws(() => parseUpArgs(['--brokers', '0']), /--brokers: '0' is not a positive whole number/);
    assert.throws(
      () => parseUpArgs(['--env-file', '/nonexistent/file']),
      /\/nonexistent\/file: cannot read the env file/,
    );
    assert.throws(
      () => parseUpArgs(['--compose', '/nonexistent.yml']),
      /--compose: \/nonexistent.yml does not exist/,
    );
    assert.throws(
      () => parseUpArgs(['--compose', 'docker-compose.yml', '--no-compose']),
      /exclude each other/,
    );
    assert.throws(() => parseUpArgs(['--nope']), UsageError);
    assert.throws(
      () => parseUpArgs(['--no-compose', '--log-level', 'loud']),
      (e: unknown) =>
        e instanceof UsageError &&
        /--log-level: 'loud' is not a log level \(one of debug, info, warn, error\)/.test(e.message),
    );
  });
  it('--log-level sets the stack log stream (info by default; any case)', () => {
    assert.equal((parseUpArgs(['--no-compose']) as { logLevel: string }).logLevel, 'info');
    assert.equal(
      (parseUpArgs(['--no-compose', '--log-level', 'WARN']) as { logLevel: string }).logLevel,
      'warn',
    );
  });
});

/** Polls `check` until it returns true or the deadline passes (then fails with `what`). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('kstack up from a copy of the Compose stack', { timeout: 600_000 }, () => {
  let stack: StackCopy;
  let dataDir: string;
  const start = async (extra: readonly string[] = []): Promise<KstackProcess> => {
    const broker = await KstackProcess.start(
      { args: ['--compose', stack.rootFile, '--data-dir', dataDir, ...extra], ports: [UP_PORT] },
      READY_TIMEOUT_MS,
    );
    await waitFor('the bootstrap line', () => broker.notices.includes('bootstrap servers'));
    return broker;
  };

  before(() => {
    stack = copyStack([
      { file: '.env.example', from: 'KAFKA_1_EXTERNAL_PORT=9092', to: `KAFKA_1_EXTERNAL_PORT=${UP_PORT}` },
      ...Object.entries(COMPANION_PORTS).map(([variable, port]) => ({
        file: '.env.example',
        from: new RegExp(`^${variable}=\\d+$`, 'm').exec(
          readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'),
        )![0],
        to: `${variable}=${port}`,
      })),
      {
        file: KAFKA_FILE,
        from: '      KAFKA_NODE_ID: 1\n',
        to: '      KAFKA_NODE_ID: 1\n      KAFKA_LOG_CLEANER_THREADS: 2\n      KAFKA_MESSAGE_MAX_BYTES: 2000000\n',
      },
    ]);
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-up-compose-'));
  });

  after(() => {
    stack.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs with its settings, names what it does not implement, and creates the baseline topics once', async () => {
    const broker = await start(['--override', 'num.partitions=2']);
    const admin = new Admin({ clientId: 'up-command-test', bootstrapBrokers: [`127.0.0.1:${UP_PORT}`] });
    try {
      const output = broker.output;
      assert.match(
        output,
        /lowered for 1 broker: default\.replication\.factor 3 -> 1, min\.insync\.replicas 2 -> 1/,
      );
      const unimplemented = output.split('\n').filter((line) => line.includes('NOT IMPLEMENTED'));
      assert.equal(unimplemented.length, 1, output);
      assert.match(unimplemented[0]!, /kafka-1: .*log\.cleaner\.threads=2 \(KAFKA_LOG_CLEANER_THREADS, /);
      assert.match(output, /not for an embedded broker: .*KAFKA_HEAP_OPTS/);
      assert.match(
        output,
        /baseline topics: done: create events-topic partitions=3 replication-factor=1 min\.insync\.replicas=1/,
      );
      // Kafka's searchable events reach the stack's log as JSON lines (issue 16).
      assert.match(
        output,
        /\{"level":"info",[^\n]*"component":"broker","brokerId":1,"event":"topic-created","topic":"events-topic"[^\n]*"partitions":3/,
      );

      // The companions the stack declares, each on its published port, reach this broker.
      const {
        SCHEMA_REGISTRY_PORT,
        KAFKA_REST_PROXY_PORT,
        KAFKA_EXPORTER_PORT,
        KAFKA_UI_PORT,
        KAFKA_CONNECT_PORT,
      } = COMPANION_PORTS;
      assert.match(
        output,
        new RegExp(
          `Schema Registry \\(schema-registry\\) on http://127\\.0\\.0\\.1:${SCHEMA_REGISTRY_PORT}\n`,
        ),
      );
      assert.match(
        output,
        new RegExp(`REST proxy \\(kafka-rest-proxy\\) on http://127\\.0\\.0\\.1:${KAFKA_REST_PROXY_PORT}\n`),
      );
      // The worker (a JVM) starts in the background; kstack up does not wait for it.
      assert.match(
        output,
        new RegExp(`Kafka Connect \\(kafka-connect\\) on http://127\\.0\\.0\\.1:${KAFKA_CONNECT_PORT}\n`),
      );
      assert.match(output, new RegExp(`web UI \\(kafka-ui\\) on http://127\\.0\\.0\\.1:${KAFKA_UI_PORT}\n`));
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${SCHEMA_REGISTRY_PORT}/subjects`)).json(), []);
      const topics = (await (
        await fetch(`http://127.0.0.1:${KAFKA_REST_PROXY_PORT}/topics`)
      ).json()) as string[];
      assert.ok(topics.includes('events-topic'), JSON.stringify(topics));
      const metrics = await (await fetch(`http://127.0.0.1:${KAFKA_EXPORTER_PORT}/metrics`)).text();
      assert.match(metrics, /^kafka_topic_partitions\{topic="events-topic"\} 3$/m);

      const [described] = await admin.describeConfigs({
        resources: [
          {
            resourceType: RESOURCE_BROKER,
            resourceName: '1',
            configurationKeys: [
              'group.initial.rebalance.delay.ms',
              'num.partitions',
              'min.insync.replicas',
              'message.max.bytes',
            ],
          },
        ],
      });
      const configs = new Map(described!.configs.map((entry) => [entry.name, entry]));
      assert.equal(configs.get('group.initial.rebalance.delay.ms')?.value, '0');
      assert.equal(configs.get('group.initial.rebalance.delay.ms')?.configSource, STATIC_BROKER_CONFIG);
      assert.equal(
        configs.get('message.max.bytes')?.value,
        '2000000',
        'a variable added to the file reaches the broker',
      );
      assert.equal(configs.get('num.partitions')?.value, '2', '--override wins over the Compose file');
      assert.equal(configs.get('min.insync.replicas')?.value, '1');

      const metadata = await admin.metadata({ topics: ['events-topic'], forceUpdate: true });
      const topic = metadata.topics.get('events-topic');
      assert.equal(topic?.partitionsCount, 3);
      assert.deepEqual(
        topic?.partitions.map((partition) => partition.replicas.length),
        [1, 1, 1],
      );
      const [topicConfigs] = await admin.describeConfigs({
        resources: [
          {
            resourceType: RESOURCE_TOPIC,
            resourceName: 'events-topic',
            configurationKeys: ['min.insync.replicas'],
          },
        ],
      });
      assert.equal(topicConfigs?.configs[0]?.value, '1');
    } finally {
      await admin.close();
      assert.equal((await broker.stop(STOP_GRACE_MS)).code, 0, broker.output);
    }
    const again = await start(['--no-companions']);
    try {
      assert.match(again.output, /baseline topics: unchanged: events-topic/);
      assert.doesNotMatch(again.output, /Schema Registry|REST proxy|not served/);
      assert.doesNotMatch(again.output, /baseline topics: done:/);
      // Issue 23's group scenario: with Kafka's default delay (3000 ms) the first assignment takes
      // over 3 s (6.0 s measured); the Compose file's 0 brings it to tens of milliseconds. The bound
      // leaves room for a loaded CI machine and still fails if the setting is lost.
      const result = await runTool(
        PYTHON,
        [GROUP_SCRIPT, `127.0.0.1:${UP_PORT}`, 'events-topic', 'up-command-group'],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const measured = JSON.parse(result.stdout) as { firstMs: number; allMs: number };
      process.stderr.write(
        `3-member group, first assignment after ${measured.firstMs} ms, all after ${measured.allMs} ms\n`,
      );
      assert.ok(measured.firstMs < FIRST_ASSIGNMENT_MS_MAX, result.stdout);
    } finally {
      assert.equal((await again.stop(STOP_GRACE_MS)).code, 0, again.output);
    }
  });
});
