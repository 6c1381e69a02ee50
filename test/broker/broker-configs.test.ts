/**
 * Broker-resource configs (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs on
 * resource type BROKER, both the cluster default '' and the node id) against `kstack up`
 * and against Apache Kafka 4.1.1 (the reference) with the same assertions. Every expected
 * value, source, synonym chain, error code and message below was observed on the
 * reference. Both brokers run with two static configs, as `kstack up --override` and
 * server.properties give them: compression.type=gzip and log.retention.hours=100.
 *
 * Kafka applies a dynamic config asynchronously (the controller commits it, the broker
 * replays it), so a describe after an alter polls until the change shows or a deadline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';
import { WireClient } from '../security/support.ts';
import { BROKER, ConfigClient, type DescribedConfig, Op, TOPIC } from './broker-configs-wire.ts';

const KAFKA_CONFIGS = fileURLToPath(new URL('../../reference/bin/kafka-configs', import.meta.url));
const KSTACK_PORT = 19865;
/** The reference's controller listens 50 above: 19920. */
const REFERENCE_BASE_PORT = 19870;
const STATIC = { 'compression.type': 'gzip', 'log.retention.hours': '100' };
const STATIC_ARGS = Object.entries(STATIC).flatMap(([name, value]) => ['--override', `${name}=${value}`]);
/** How long a dynamic config may take to show in a describe (Kafka applies it asynchronously). */
const APPLY_DEADLINE_MS = 15_000;

const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;
const S = { dynamicBroker: 2, dynamicDefault: 3, static: 4, default: 5 } as const;

interface Target {
  readonly name: string;
  readonly port: number;
  readonly kstack: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Restarts the broker on its data, with other static configs (kstack only). */
  restart?(staticArgs: string[]): Promise<void>;
}

function kstackTarget(): Target {
  let broker = new BrokerProcess(KSTACK_PORT, undefined, STATIC_ARGS);
  return {
    name: 'kstack up',
    port: KSTACK_PORT,
    kstack: true,
    start: () => broker.start(),
    async stop() {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    },
    async restart(staticArgs) {
      assert.equal(await broker.stop(), 0, broker.output);
      broker = new BrokerProcess(KSTACK_PORT, broker.dataDir, staticArgs);
      await broker.start();
    },
  };
}

function referenceTarget(): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-broker-configs-ref-'));
  const cluster = new ReferenceCluster({
    nodes: 1,
    basePort: REFERENCE_BASE_PORT,
    dataDir,
    overrides: STATIC,
  });
  return {
    name: 'Apache Kafka (reference)',
    port: REFERENCE_BASE_PORT,
    kstack: false,
    start: () => cluster.start(),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The parts of a described config these tests compare. */
function shape(config: DescribedConfig | undefined) {
  if (config === undefined) return undefined;
  return {
    value: config.value,
    source: config.configSource,
    synonyms: config.synonyms.map((s) => [s.name, s.value, s.source]),
  };
}

/** Polls `read` until it deep-equals `expected` or the deadline passes; returns the last value read. */
async function eventually<T>(read: () => Promise<T>, expected: T): Promise<T> {
  const deadline = Date.now() + APPLY_DEADLINE_MS;
  for (;;) {
    const value = await read();
    try {
      assert.deepEqual(value, expected);
      return value;
    } catch {
      if (Date.now() > deadline) return value;
      await sleep(100);
    }
  }
}

for (const makeTarget of [kstackTarget, referenceTarget]) {
  const target = makeTarget();
  describe(`broker configs against ${target.name}`, { timeout: 300_000 }, () => {
    let client: ConfigClient;
    const node = '1';

    const brokerConfig = (resource: string, name: string) => async () =>
      shape(await client.describeOne(BROKER, resource, name, true));
    const topicConfig = (topic: string, name: string) => async () =>
      shape(await client.describeOne(TOPIC, topic, name, true));
    /** Asserts the config reaches `expected` (after an alter, Kafka applies it asynchronously). */
    const expectBroker = async (resource: string, name: string, expected: ReturnType<typeof shape>) =>
      assert.deepEqual(await eventually(brokerConfig(resource, name), expected), expected);
    const ok = (answer: { errorCode: number; errorMessage: string | null }) =>
      assert.deepEqual([answer.errorCode, answer.errorMessage], [0, null]);

    before(async () => {
      await target.start();
      client = await ConfigClient.connect(target.port);
    });
    after(async () => {
      client?.close();
      await target.stop();
    });

    it('an invalid value answers INVALID_REQUEST (42) with Kafka’s message, on "" and on the node id, through both alter APIs', async () => {
      const compression =
        'Invalid value bogus for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer';
      for (const resource of ['', node]) {
        for (const validateOnly of [false, true]) {
          const incremental = await client.set(
            BROKER,
            resource,
            { 'compression.type': 'bogus' },
            validateOnly,
          );
          assert.deepEqual([incremental.errorCode, incremental.errorMessage], [INVALID_REQUEST, compression]);
          const legacy = await client.alterLegacy(
            BROKER,
            resource,
            { 'compression.type': 'bogus' },
            validateOnly,
          );
          assert.deepEqual([legacy.errorCode, legacy.errorMessage], [INVALID_REQUEST, compression]);
        }
      }
      const cases: [string, string, string][] = [
        [
          'compression.gzip.level',
          '42',
          'Invalid value 42 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1',
        ],
        [
          'compression.lz4.level',
          '0',
          'Invalid value 0 for configuration compression.lz4.level: Value must be at least 1',
        ],
        [
          'log.retention.ms',
          'abc',
          'Invalid value abc for configuration log.retention.ms: Not a number of type LONG',
        ],
        [
          'log.retention.ms',
          '0',
          'requirement failed: log.retention.ms must be unlimited (-1) or, greater than or equal to 1',
        ],
        ['log.roll.ms', '0', 'requirement failed: log.roll.ms must be greater than or equal to 1'],
        [
          'log.roll.jitter.ms',
          '-1',
          'requirement failed: log.roll.jitter.ms must be greater than or equal to 0',
        ],
        [
          'log.segment.bytes',
          ' 5 ',
          'Invalid value 5 for configuration log.segment.bytes: Value must be at least 1048576',
        ],
        [
          'message.max.bytes',
          '2147483648',
          'Invalid value 2147483648 for configuration message.max.bytes: Not a number of type INT',
        ],
        [
          'log.cleaner.min.cleanable.ratio',
          '2147483648',
          'Invalid value 2.147483648E9 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1',
        ],
        [
          'log.preallocate',
          ' 5 ',
          'Invalid value  5  for configuration log.preallocate: Expected value to be either true or false',
        ],
        [
          'log.cleanup.policy',
          'delete,,compact',
          'Invalid value  for configuration log.cleanup.policy: String must be one of: compact, delete',
        ],
        [
          'log.message.timestamp.type',
          'abc',
          'Invalid value abc for configuration log.message.timestamp.type: String must be one of: CreateTime, LogAppendTime',
        ],
      ];
      for (const [name, value, message] of cases) {
        const answer = await client.set(BROKER, '', { [name]: value }, true);
        assert.deepEqual([name, answer.errorCode, answer.errorMessage], [name, INVALID_REQUEST, message]);
      }
      // Values Kafka accepts on the broker resource (its topic configs are stricter).
      for (const [name, value] of [
        ['log.retention.ms', '-5'],
        ['log.flush.interval.ms', '-2'],
        ['unclean.leader.election.enable', 'TRUE'],
      ]) {
        ok(await client.set(BROKER, '', { [name as string]: value as string }, true));
      }
      assert.equal(await client.describeOne(BROKER, '', 'compression.type'), undefined, 'nothing was set');
    });

    it('a cluster default is source 3, a per-broker value 2, over static 4 and default 5; DELETE falls back', async () => {
      const staticOnly = {
        value: 'gzip',
        source: S.static,
        synonyms: [
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      };
      await expectBroker(node, 'compression.type', staticOnly);

      ok(await client.set(BROKER, '', { 'compression.type': 'lz4' }));
      const clusterDefault = {
        value: 'lz4',
        source: S.dynamicDefault,
        synonyms: [['compression.type', 'lz4', S.dynamicDefault], ...staticOnly.synonyms],
      };
      await expectBroker(node, 'compression.type', clusterDefault);
      await expectBroker('', 'compression.type', {
        value: 'lz4',
        source: S.dynamicDefault,
        synonyms: [['compression.type', 'lz4', S.dynamicDefault]],
      });

      ok(await client.set(BROKER, node, { 'compression.type': 'zstd' }));
      await expectBroker(node, 'compression.type', {
        value: 'zstd',
        source: S.dynamicBroker,
        synonyms: [['compression.type', 'zstd', S.dynamicBroker], ...clusterDefault.synonyms],
      });
      // The cluster default resource lists only the cluster defaults.
      await expectBroker('', 'compression.type', {
        value: 'lz4',
        source: S.dynamicDefault,
        synonyms: [['compression.type', 'lz4', S.dynamicDefault]],
      });

      ok(await client.incremental(BROKER, node, [['compression.type', Op.delete, null]]));
      await expectBroker(node, 'compression.type', clusterDefault);
      ok(await client.incremental(BROKER, '', [['compression.type', Op.delete, null]]));
      await expectBroker(node, 'compression.type', staticOnly);
      await expectBroker('', 'compression.type', undefined);
      // Deleting what is not set is fine too.
      ok(await client.incremental(BROKER, '', [['compression.type', Op.delete, null]]));
      ok(await client.incremental(BROKER, node, [['compression.type', Op.delete, null]]));
    });

    it('AlterConfigs replaces the node’s own dynamic set: a config left out falls back, a null value is refused', async () => {
      ok(await client.set(BROKER, node, { 'compression.type': 'zstd' }));
      await expectBroker(node, 'compression.type', {
        value: 'zstd',
        source: S.dynamicBroker,
        synonyms: [
          ['compression.type', 'zstd', S.dynamicBroker],
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
      ok(await client.alterLegacy(BROKER, node, { 'log.roll.ms': '5000' }));
      await expectBroker(node, 'log.roll.ms', {
        value: '5000',
        source: S.dynamicBroker,
        synonyms: [
          ['log.roll.ms', '5000', S.dynamicBroker],
          ['log.roll.hours', '168', S.default],
        ],
      });
      await expectBroker(node, 'compression.type', {
        value: 'gzip',
        source: S.static,
        synonyms: [
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
      const nullValue = await client.alterLegacy(BROKER, node, { 'compression.type': null });
      assert.deepEqual(
        [nullValue.errorCode, nullValue.errorMessage],
        [INVALID_REQUEST, 'Null value not supported for : compression.type'],
      );
      ok(await client.alterLegacy(BROKER, node, {}));
      await expectBroker(node, 'log.roll.ms', { value: null, source: S.default, synonyms: [] });
    });

    it('read-only configs are refused (42) when set, accepted when deleted, and described as Kafka does', async () => {
      for (const name of [
        'broker.id',
        'node.id',
        'log.dirs',
        'num.partitions',
        'log.retention.hours',
        'auto.create.topics.enable',
      ]) {
        for (const resource of ['', node]) {
          const answer = await client.set(BROKER, resource, { [name]: '3' });
          assert.deepEqual(
            [answer.errorCode, answer.errorMessage],
            [INVALID_REQUEST, `Cannot update these configs dynamically: Set(${name})`],
          );
        }
      }
      const mixed = await client.set(BROKER, node, { 'broker.id': '5', 'compression.type': 'bogus' });
      assert.deepEqual(
        [mixed.errorCode, mixed.errorMessage],
        [INVALID_REQUEST, 'Cannot update these configs dynamically: Set(broker.id)'],
      );
      ok(await client.incremental(BROKER, '', [['broker.id', Op.delete, null]]));
      ok(await client.incremental(BROKER, node, [['num.partitions', Op.delete, null]]));

      const described = await client.describe(
        BROKER,
        node,
        [
          'broker.id',
          'node.id',
          'log.dirs',
          'num.partitions',
          'log.retention.hours',
          'log.retention.ms',
          'compression.type',
        ],
        true,
      );
      const byName = new Map(described.configs.map((c) => [c.name, c]));
      assert.deepEqual(shape(byName.get('broker.id')), {
        value: '1',
        source: S.static,
        synonyms: [
          ['broker.id', '1', S.static],
          ['broker.id', '-1', S.default],
        ],
      });
      assert.deepEqual(shape(byName.get('node.id')), {
        value: '1',
        source: S.static,
        synonyms: [['node.id', '1', S.static]],
      });
      // num.partitions is static on the reference only because its launcher writes it in server.properties.
      assert.equal(byName.get('num.partitions')?.value, '1');
      assert.deepEqual(shape(byName.get('log.retention.hours')), {
        value: '100',
        source: S.static,
        synonyms: [
          ['log.retention.hours', '100', S.static],
          ['log.retention.hours', '168', S.default],
        ],
      });
      // log.retention.ms has no value of its own: null, from the default, and no synonyms.
      assert.deepEqual(shape(byName.get('log.retention.ms')), {
        value: null,
        source: S.default,
        synonyms: [],
      });
      const logDirs = byName.get('log.dirs');
      assert.equal(logDirs?.configSource, S.static);
      assert.equal(typeof logDirs?.value, 'string');
      const readOnly = Object.fromEntries(described.configs.map((c) => [c.name, c.readOnly]));
      assert.deepEqual(readOnly, {
        'broker.id': true,
        'node.id': true,
        'log.dirs': true,
        'num.partitions': true,
        'log.retention.hours': true,
        'log.retention.ms': false,
        'compression.type': false,
      });
    });

    it('a wrong broker resource name answers INVALID_REQUEST with Kafka’s messages', async () => {
      const describe2 = await client.describe(BROKER, '2');
      assert.deepEqual(
        [describe2.errorCode, describe2.errorMessage, describe2.configs],
        [INVALID_REQUEST, 'Unexpected broker id, expected 1 or empty string, but received 2', []],
      );
      const describeX = await client.describe(BROKER, 'x');
      assert.deepEqual(
        [describeX.errorCode, describeX.errorMessage],
        [INVALID_REQUEST, 'Broker id must be an integer, but it is: x'],
      );
      const described = await client.describe(BROKER, node, ['compression.type']);
      assert.deepEqual([described.errorCode, described.errorMessage], [0, '']);
      for (const alter of [
        (name: string) => client.set(BROKER, name, { 'compression.type': 'lz4' }),
        (name: string) => client.alterLegacy(BROKER, name, { 'compression.type': 'lz4' }),
      ]) {
        const wrongId = await alter('2');
        assert.deepEqual(
          [wrongId.errorCode, wrongId.errorMessage],
          [INVALID_REQUEST, 'Unexpected broker id, expected 1, but received 2'],
        );
        const notAnId = await alter('x');
        assert.deepEqual(
          [notAnId.errorCode, notAnId.errorMessage],
          [INVALID_REQUEST, 'Node id must be an integer, but it is: x'],
        );
      }
    });

    it('IncrementalAlterConfigs: duplicate keys, SET without value, unknown operation, APPEND/SUBTRACT', async () => {
      const answers = [
        await client.incremental(BROKER, '', [
          ['compression.type', Op.set, 'lz4'],
          ['compression.type', Op.set, 'gzip'],
        ]),
        await client.incremental(BROKER, '', [['compression.type', Op.set, null]]),
        await client.incremental(BROKER, '', [['compression.type', 9, 'lz4']]),
        await client.incremental(BROKER, '', [['compression.type', Op.append, 'lz4']]),
        await client.incremental(BROKER, '', [['compression.type', Op.subtract, 'lz4']]),
      ].map((a) => [a.errorCode, a.errorMessage]);
      assert.deepEqual(answers, [
        [INVALID_REQUEST, 'Error due to duplicate config keys'],
        [INVALID_REQUEST, 'Null value not supported for : compression.type'],
        [INVALID_REQUEST, 'Unknown operations type 9'],
        [INVALID_CONFIG, 'Config value append is not allowed for config key: compression.type'],
        [INVALID_CONFIG, 'Config value subtract is not allowed for config key: compression.type'],
      ]);
      // APPEND starts from the default when the node has no value of its own.
      ok(await client.incremental(BROKER, node, [['log.cleanup.policy', Op.append, 'compact']]));
      const both = {
        value: 'delete,compact',
        source: S.dynamicBroker,
        synonyms: [
          ['log.cleanup.policy', 'delete,compact', S.dynamicBroker],
          ['log.cleanup.policy', 'delete', S.default],
        ],
      };
      await expectBroker(node, 'log.cleanup.policy', both);
      ok(await client.incremental(BROKER, node, [['log.cleanup.policy', Op.subtract, 'delete']]));
      await expectBroker(node, 'log.cleanup.policy', {
        value: 'compact',
        source: S.dynamicBroker,
        synonyms: [
          ['log.cleanup.policy', 'compact', S.dynamicBroker],
          ['log.cleanup.policy', 'delete', S.default],
        ],
      });
      ok(await client.incremental(BROKER, node, [['log.cleanup.policy', Op.delete, null]]));
      await expectBroker(node, 'log.cleanup.policy', {
        value: 'delete',
        source: S.default,
        synonyms: [['log.cleanup.policy', 'delete', S.default]],
      });
    });

    it('a name with no definition is kept, as Kafka does, and shown hidden', async () => {
      ok(await client.set(BROKER, '', { 'custom.plugin.setting': '3' }));
      const hidden = async () => {
        const found = (await client.describe(BROKER, '', null, true)).configs.find(
          (c) => c.name === 'custom.plugin.setting',
        );
        return found && { ...found, documentation: null };
      };
      const expected = {
        name: 'custom.plugin.setting',
        value: null,
        readOnly: true,
        isDefault: false,
        configSource: S.dynamicDefault,
        isSensitive: true,
        synonyms: [{ name: 'custom.plugin.setting', value: null, source: S.dynamicDefault }],
        configType: 0,
        documentation: null,
      };
      assert.deepEqual(await eventually(hidden, expected), expected);
      ok(await client.incremental(BROKER, '', [['custom.plugin.setting', Op.delete, null]]));
      assert.equal(await eventually(hidden, undefined), undefined);
    });

    it('topics without overrides take the dynamic broker values: per-broker over cluster default over static', async () => {
      const topic = 'broker-configs-defaults';
      assert.equal((await client.wire.createTopic(topic)).errorCode, 0);
      const hours = [
        ['log.retention.hours', '100', S.static],
        ['log.retention.hours', '168', S.default],
      ];
      const expectTopic = async (name: string, expected: ReturnType<typeof shape>) =>
        assert.deepEqual(await eventually(topicConfig(topic, name), expected), expected);
      // From the static log.retention.hours, yet Kafka names the source "default" with no synonyms.
      await expectTopic('retention.ms', { value: '360000000', source: S.default, synonyms: [] });

      ok(await client.set(BROKER, '', { 'log.retention.ms': '12345', 'compression.type': 'lz4' }));
      await expectTopic('retention.ms', {
        value: '12345',
        source: S.dynamicDefault,
        synonyms: [['log.retention.ms', '12345', S.dynamicDefault], ...hours],
      });
      await expectTopic('compression.type', {
        value: 'lz4',
        source: S.dynamicDefault,
        synonyms: [
          ['compression.type', 'lz4', S.dynamicDefault],
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
      ok(await client.set(BROKER, node, { 'log.retention.ms': '777' }));
      await expectTopic('retention.ms', {
        value: '777',
        source: S.dynamicBroker,
        synonyms: [
          ['log.retention.ms', '777', S.dynamicBroker],
          ['log.retention.ms', '12345', S.dynamicDefault],
          ...hours,
        ],
      });
      // A negative broker retention means "forever": the topic says -1.
      ok(await client.set(BROKER, '', { 'log.retention.ms': '-5' }));
      ok(await client.set(BROKER, node, { 'log.retention.ms': null }));
      await expectTopic('retention.ms', {
        value: '-1',
        source: S.dynamicDefault,
        synonyms: [['log.retention.ms', '-5', S.dynamicDefault], ...hours],
      });
      // A topic override beats them all.
      ok(await client.set(TOPIC, topic, { 'retention.ms': '1000' }));
      await expectTopic('retention.ms', {
        value: '1000',
        source: 1,
        synonyms: [['retention.ms', '1000', 1], ['log.retention.ms', '-5', S.dynamicDefault], ...hours],
      });
      ok(await client.set(TOPIC, topic, { 'retention.ms': null }));
      ok(await client.set(BROKER, '', { 'log.retention.ms': null, 'compression.type': null }));
      await expectTopic('retention.ms', { value: '360000000', source: S.default, synonyms: [] });
      await expectTopic('compression.type', {
        value: 'gzip',
        source: S.static,
        synonyms: [
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
    });

    it('kafka-configs (Kafka’s own tool) alters and describes the cluster default and the node', async () => {
      const bootstrap = ['--bootstrap-server', `127.0.0.1:${target.port}`, '--entity-type', 'brokers'];
      const tool = async (...args: string[]) =>
        runTool(KAFKA_CONFIGS, [...bootstrap, ...args], { timeoutMs: 60_000 });
      const setDefault = await tool('--entity-default', '--alter', '--add-config', 'compression.type=snappy');
      assert.deepEqual(
        [setDefault.code, setDefault.stdout.trim()],
        [0, 'Completed updating default config for brokers in the cluster.'],
        setDefault.stderr,
      );
      const setNode = await tool('--entity-name', node, '--alter', '--add-config', 'compression.type=lz4');
      assert.deepEqual(
        [setNode.code, setNode.stdout.trim()],
        [0, 'Completed updating config for broker 1.'],
        setNode.stderr,
      );
      await expectBroker(node, 'compression.type', {
        value: 'lz4',
        source: S.dynamicBroker,
        synonyms: [
          ['compression.type', 'lz4', S.dynamicBroker],
          ['compression.type', 'snappy', S.dynamicDefault],
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
      const defaults = await tool('--entity-default', '--describe', '--all');
      assert.equal(defaults.code, 0, defaults.stderr);
      assert.match(defaults.stdout, /^Default configs for brokers in the cluster are:$/m);
      assert.match(
        defaults.stdout,
        /^ {2}compression\.type=snappy sensitive=false synonyms=\{DYNAMIC_DEFAULT_BROKER_CONFIG:compression\.type=snappy\}$/m,
      );
      const dynamic = await tool('--entity-name', node, '--describe');
      assert.equal(dynamic.code, 0, dynamic.stderr);
      assert.match(dynamic.stdout, /^Dynamic configs for broker 1 are:$/m);
      assert.match(
        dynamic.stdout,
        /^ {2}compression\.type=lz4 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:compression\.type=lz4, DYNAMIC_DEFAULT_BROKER_CONFIG:compression\.type=snappy, STATIC_BROKER_CONFIG:compression\.type=gzip, DEFAULT_CONFIG:compression\.type=producer\}$/m,
      );
      const all = await tool('--entity-name', node, '--describe', '--all');
      assert.match(
        all.stdout,
        /^ {2}broker\.id=1 sensitive=false synonyms=\{STATIC_BROKER_CONFIG:broker\.id=1, DEFAULT_CONFIG:broker\.id=-1\}$/m,
      );
      assert.match(all.stdout, /^ {2}log\.retention\.ms=null sensitive=false synonyms=\{\}$/m);
      const bogus = await tool('--entity-default', '--alter', '--add-config', 'compression.type=bogus');
      assert.equal(bogus.code, 1);
      assert.match(
        bogus.stdout + bogus.stderr,
        /InvalidRequestException: Invalid value bogus for configuration compression\.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer/,
      );
      const readOnly = await tool('--entity-name', node, '--alter', '--add-config', 'broker.id=3');
      assert.equal(readOnly.code, 1);
      assert.match(
        readOnly.stdout + readOnly.stderr,
        /InvalidRequestException: Cannot update these configs dynamically: Set\(broker\.id\)/,
      );
      for (const entity of [['--entity-default'], ['--entity-name', node]]) {
        const deleted = await tool(...entity, '--alter', '--delete-config', 'compression.type');
        assert.equal(deleted.code, 0, deleted.stderr);
      }
      await expectBroker(node, 'compression.type', {
        value: 'gzip',
        source: S.static,
        synonyms: [
          ['compression.type', 'gzip', S.static],
          ['compression.type', 'producer', S.default],
        ],
      });
    });

    it('ListConfigResources (KIP-1142) lists groups with configs, loggers, brokers and topics; kafka-configs describes groups with it', async () => {
      const tool = async (...args: string[]) =>
        runTool(KAFKA_CONFIGS, ['--bootstrap-server', `127.0.0.1:${target.port}`, ...args], {
          timeoutMs: 60_000,
        });
      for (const [group, config] of [
        ['lcr-a', 'consumer.session.timeout.ms=50000'],
        ['lcr-b', 'consumer.heartbeat.interval.ms=6000'],
      ] as const) {
        const set = await tool(
          '--entity-type',
          'groups',
          '--entity-name',
          group,
          '--alter',
          '--add-config',
          config,
        );
        assert.equal(set.stdout.trim(), `Completed updating config for group ${group}.`, set.stderr);
      }
      const wire = await WireClient.connect(target.port);
      try {
        const list = async (version: number, resourceTypes: number[]) =>
          (await wire.request(74, version, { resourceTypes })) as {
            errorCode: number;
            configResources: { resourceName: string; resourceType: number }[];
          };
        const names = (answer: Awaited<ReturnType<typeof list>>, type: number) =>
          answer.configResources.filter((r) => r.resourceType === type).map((r) => r.resourceName);
        const all = await list(1, []);
        assert.equal(all.errorCode, 0);
        // Kafka's order of types: groups, client metrics, broker loggers, brokers, topics (sorted).
        const types = all.configResources.map((r) => r.resourceType);
        assert.deepEqual(
          types,
          [...types].sort((a, b) => b - a),
        );
        assert.deepEqual(names(all, 32).sort(), ['lcr-a', 'lcr-b']);
        assert.deepEqual(names(all, 8), [node]);
        assert.deepEqual(names(all, 4), [node]);
        const topics = names(await list(1, [2]), 2);
        assert.deepEqual(topics, [...topics].sort());
        assert.deepEqual(await list(1, [16]), { throttleTimeMs: 0, errorCode: 0, configResources: [] });
        assert.deepEqual(await list(0, []), { throttleTimeMs: 0, errorCode: 0, configResources: [] });
        for (const unsupported of [0, 1, 3, 99, -1]) {
          assert.deepEqual(await list(1, [unsupported, 32]), {
            throttleTimeMs: 0,
            errorCode: 35, // UNSUPPORTED_VERSION
            configResources: [],
          });
        }
      } finally {
        wire.close();
      }
      const described = await tool('--entity-type', 'groups', '--describe');
      assert.equal(described.code, 0, described.stderr);
      assert.deepEqual(described.stdout.trim().split('\n').sort(), [
        '  consumer.heartbeat.interval.ms=6000 sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:consumer.heartbeat.interval.ms=6000}',
        '  consumer.session.timeout.ms=50000 sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:consumer.session.timeout.ms=50000}',
        'Dynamic configs for group lcr-a are:',
        'Dynamic configs for group lcr-b are:',
      ]);
      const unknown = await tool('--entity-type', 'groups', '--entity-name', 'lcr-none', '--describe');
      assert.equal(
        unknown.stdout.trim(),
        "The group 'lcr-none' doesn't exist and doesn't have dynamic config.",
      );
    });

    if (target.kstack) {
      it('dynamic configs survive a restart (metadata records) and still beat the new static configs', async () => {
        ok(await client.set(BROKER, '', { 'compression.type': 'lz4', 'log.retention.ms': '12345' }));
        ok(await client.set(BROKER, node, { 'log.roll.ms': '5000' }));
        client.close();
        await target.restart?.(['--override', 'compression.type=snappy']);
        client = await ConfigClient.connect(target.port);
        await expectBroker(node, 'compression.type', {
          value: 'lz4',
          source: S.dynamicDefault,
          synonyms: [
            ['compression.type', 'lz4', S.dynamicDefault],
            ['compression.type', 'snappy', S.static],
            ['compression.type', 'producer', S.default],
          ],
        });
        await expectBroker(node, 'log.roll.ms', {
          value: '5000',
          source: S.dynamicBroker,
          synonyms: [
            ['log.roll.ms', '5000', S.dynamicBroker],
            ['log.roll.hours', '168', S.default],
          ],
        });
        await expectBroker(node, 'log.retention.ms', {
          value: '12345',
          source: S.dynamicDefault,
          synonyms: [
            ['log.retention.ms', '12345', S.dynamicDefault],
            ['log.retention.hours', '168', S.default],
          ],
        });
        ok(await client.set(BROKER, '', { 'compression.type': null }));
        await expectBroker(node, 'compression.type', {
          value: 'snappy',
          source: S.static,
          synonyms: [
            ['compression.type', 'snappy', S.static],
            ['compression.type', 'producer', S.default],
          ],
        });
      });
    }
  });
}
