/**
 * `kstack up --brokers N` from the Compose stack, node by node, without starting anything: each
 * node follows its own broker service (node id, published port, KAFKA_* settings), `--override`
 * wins on every node, and what cannot be mapped is refused with the service named.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { effectiveConfig, parseUpArgs, printedConfig } from '../../src/engine/up-command.ts';
import { loadTopology } from '../../src/topology/compose.ts';
import { describePlan, embeddedClusterPlans } from '../../src/topology/embedded.ts';
import { copyStack, KAFKA_FILE } from '../validate/stack-copy.ts';

const configOf = (options: ReturnType<typeof parseUpArgs>, node: number) => {
  assert.ok(options !== 'help');
  return new Map(effectiveConfig(options, node).map((entry) => [entry.name, entry]));
};

describe('the cluster plan of this repository', () => {
  it('gives each node its own service: node ids, published ports, unlowered replication settings', () => {
    const topology = loadTopology({ file: 'docker-compose.yml', envFile: '.env.example' });
    const plans = embeddedClusterPlans(topology.brokers, 3, 'docker-compose.yml');
    assert.deepEqual(
      plans.map((plan) => [plan.service, plan.nodeId, plan.hostPort]),
      [
        ['kafka-1', 1, 9092],
        ['kafka-2', 2, 9093],
        ['kafka-3', 3, 9094],
      ],
    );
    for (const plan of plans) {
      assert.deepEqual(plan.lowered, [], plan.service);
      assert.equal(plan.config['default.replication.factor'], '3');
      assert.equal(plan.config['min.insync.replicas'], '2');
      assert.equal(plan.config['group.initial.rebalance.delay.ms'], '0');
      assert.deepEqual(plan.notImplemented, []);
      const quorum = plan.setAside.find((item) => item.name === 'controller.quorum.voters');
      assert.match(quorum?.reason ?? '', /kstack's 3 nodes vote on controller listeners 50 above/);
    }
    // One broker: only kafka-1, lowered to one replica (what kstack up --brokers 1 runs).
    const [single, ...rest] = embeddedClusterPlans(topology.brokers, 1, 'docker-compose.yml');
    assert.equal(rest.length, 0);
    assert.equal(single?.service, 'kafka-1');
    assert.equal(single?.config['min.insync.replicas'], '1');
  });

  it('maps kstack up --brokers 3 node by node, --override winning on each, and prints each config', () => {
    const options = parseUpArgs(['--brokers', '3', '--override', 'num.partitions=5']);
    assert.ok(options !== 'help');
    assert.deepEqual(options.nodes, [
      { nodeId: 1, port: 9092 },
      { nodeId: 2, port: 9093 },
      { nodeId: 3, port: 9094 },
    ]);
    for (const node of [0, 1, 2]) {
      const config = configOf(options, node);
      assert.equal(config.get('node.id')?.value, String(node + 1));
      assert.equal(config.get('node.id')?.source, `kafka-${node + 1}`);
      assert.equal(config.get('listeners')?.value, `PLAINTEXT://127.0.0.1:${9092 + node}`);
      assert.equal(config.get('listeners')?.source, `kafka-${node + 1}: its published host port`);
      assert.equal(config.get('min.insync.replicas')?.value, '2');
      assert.match(config.get('min.insync.replicas')?.source ?? '', new RegExp(`^${KAFKA_FILE}:\\d+$`));
      assert.deepEqual(config.get('num.partitions'), {
        name: 'num.partitions',
        value: '5',
        source: '--override',
      });
      assert.match(config.get('log.dirs')?.value ?? '', new RegExp(`node-${node + 1}$`));
    }
    const printed = printedConfig(options);
    assert.deepEqual(
      printed.split('\n').filter((line) => line.startsWith('# broker')),
      [
        '# broker 1 (kafka-1) on 127.0.0.1:9092',
        '# broker 2 (kafka-2) on 127.0.0.1:9093',
        '# broker 3 (kafka-3) on 127.0.0.1:9094',
      ],
    );
    assert.equal(printed.match(/^num\.partitions=5\t# --override$/gm)?.length, 3);
  });

  it('places the nodes on consecutive ports with --port, and advertises PORT+i with advertised.listeners', () => {
    const options = parseUpArgs([
      '--brokers',
      '3',
      '--compose',
      'docker-compose.yml',
      '--port',
      '22420',
      '--override',
      'advertised.listeners=PLAINTEXT://proxy.example:30000',
    ]);
    assert.ok(options !== 'help');
    assert.deepEqual(
      options.nodes.map((node) => node.port),
      [22420, 22421, 22422],
    );
    assert.deepEqual(
      [0, 1, 2].map((node) => configOf(options, node).get('advertised.listeners')?.value),
      [
        'PLAINTEXT://proxy.example:30000',
        'PLAINTEXT://proxy.example:30001',
        'PLAINTEXT://proxy.example:30002',
      ],
    );
    assert.equal(configOf(options, 1).get('listeners')?.source, 'kstack up');
    // Without a stack, the seeds' cluster defaults, said as such.
    const bare = configOf(parseUpArgs(['--brokers', '3', '--no-compose', '--port', '22420']), 2);
    assert.deepEqual(bare.get('min.insync.replicas'), {
      name: 'min.insync.replicas',
      value: '2',
      source: 'kstack up --brokers 3 (cluster default)',
    });
    assert.equal(bare.get('node.id')?.value, '3');
  });

  it("applies each service's own settings to its node only, and names what it cannot apply per service", () => {
    const stack = copyStack([
      {
        file: KAFKA_FILE,
        from: '      KAFKA_NODE_ID: 2\n',
        to: '      KAFKA_NODE_ID: 2\n      KAFKA_MESSAGE_MAX_BYTES: 2000000\n      KAFKA_LOG_CLEANER_THREADS: 2\n',
      },
    ]);
    try {
      const options = parseUpArgs(['--brokers', '3', '--compose', stack.rootFile]);
      assert.ok(options !== 'help');
      assert.deepEqual(
        [0, 1, 2].map((node) => configOf(options, node).get('message.max.bytes')?.source === 'default'),
        [true, false, true],
      );
      assert.equal(configOf(options, 1).get('message.max.bytes')?.value, '2000000');
      const lines = (options.topology?.plans ?? []).flatMap((plan) =>
        describePlan(plan, stack.rootFile, options.brokers),
      );
      const unimplemented = lines.filter((line) => line.includes('NOT IMPLEMENTED'));
      assert.equal(unimplemented.length, 1, lines.join('\n'));
      assert.match(unimplemented[0]!, /^kafka-2: .*log\.cleaner\.threads=2 \(KAFKA_LOG_CLEANER_THREADS, /);
    } finally {
      stack.remove();
    }
  });

  it('refuses what cannot be mapped, naming the fault', () => {
    assert.throws(
      () => parseUpArgs(['--brokers', '4']),
      (error: unknown) =>
        error instanceof UsageError &&
        /--brokers 4: .*docker-compose\.yml declares 3 broker services \(kafka-1, kafka-2, kafka-3\)/.test(
          error.message,
        ),
    );
    // Several listeners are laid out per node now (up-listeners.test.ts); a first listener the
    // nodes cannot replicate through is still refused.
    assert.throws(
      () =>
        parseUpArgs([
          '--brokers',
          '3',
          '--override',
          'listeners=SASL_PLAINTEXT://127.0.0.1:24790,CLIENT://127.0.0.1:24791',
          '--override',
          'listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CLIENT:PLAINTEXT',
        ]),
      // No inter.broker.listener.name and no listener named PLAINTEXT (Kafka 4.1.1's message).
      /--override: inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are SASL_PLAINTEXT,CLIENT/,
    );
    const duplicate = copyStack([
      { file: KAFKA_FILE, from: '      KAFKA_NODE_ID: 3\n', to: '      KAFKA_NODE_ID: 2\n' },
    ]);
    try {
      assert.throws(
        () => parseUpArgs(['--brokers', '3', '--compose', duplicate.rootFile]),
        /kafka-3 has node id 2, as kafka-2 has; node ids must differ/,
      );
    } finally {
      duplicate.remove();
    }
  });
});
