/** The Compose-to-broker mapper, on the files this repository ships and on copies changed one way. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { brokerEnvironment, loadTopology, renderVariable } from '../../src/topology/compose.ts';
import { describePlan, embeddedBrokerPlan } from '../../src/topology/embedded.ts';
import { InputError } from '../../src/validate/errors.ts';
import { copyStack, KAFKA_FILE } from '../validate/stack-copy.ts';

function environment(entries: Record<string, string>) {
  return new Map(Object.entries(entries).map(([name, value]) => [name, { value, where: `f:${name}` }]));
}

describe('cp-kafka variable rendering', () => {
  it('lower-cases and maps _ to ., __ to _, ___ to -', () => {
    assert.deepEqual(renderVariable('KAFKA_MIN_INSYNC_REPLICAS'), {
      kind: 'property',
      name: 'min.insync.replicas',
    });
    assert.deepEqual(renderVariable('KAFKA_LISTENER_NAME_INTERNAL_SSL_KEYSTORE__TYPE'), {
      kind: 'property',
      name: 'listener.name.internal.ssl.keystore_type',
    });
    assert.deepEqual(renderVariable('KAFKA_CONFLUENT_SUPPORT___METRICS_ENABLE'), {
      kind: 'property',
      name: 'confluent.support-metrics.enable',
    });
    // ___ is read before __ and _: four underscores are a dash then a dot.
    assert.deepEqual(renderVariable('KAFKA_A____B'), { kind: 'property', name: 'a-.b' });
  });

  it('never renders the JVM, logging and version variables, nor non-Kafka ones', () => {
    for (const variable of [
      'KAFKA_HEAP_OPTS',
      'KAFKA_OPTS',
      'KAFKA_JMX_OPTS',
      'KAFKA_LOG4J_ROOT_LOGLEVEL',
      'KAFKA_LOG4J_LOGGERS',
      'KAFKA_VERSION',
    ]) {
      assert.deepEqual(renderVariable(variable), { kind: 'not-rendered' }, variable);
    }
    assert.deepEqual(renderVariable('CLUSTER_ID'), { kind: 'other' });
    assert.deepEqual(renderVariable('KAFKA_'), { kind: 'other' });
    assert.deepEqual(renderVariable('JMX_PORT'), { kind: 'other' });
  });

  it('keeps CLUSTER_ID apart from the properties', () => {
    const mapped = brokerEnvironment(
      environment({ CLUSTER_ID: 'abc', KAFKA_NODE_ID: '1', KAFKA_HEAP_OPTS: '-Xmx1g', OTHER: 'x' }),
    );
    assert.equal(mapped.clusterId, 'abc');
    assert.deepEqual([...mapped.properties.keys()], ['node.id']);
    assert.deepEqual(
      mapped.notRendered.map((variable) => variable.variable),
      ['KAFKA_HEAP_OPTS'],
    );
  });
});

describe('the topology of this repository', () => {
  it('has three brokers with node ids, published ports and the cluster defaults', () => {
    const topology = loadTopology({ file: 'docker-compose.yml', envFile: '.env.example' });
    assert.deepEqual(
      topology.brokers.map((broker) => [broker.service, broker.nodeId, broker.hostPort]),
      [
        ['kafka-1', 1, 9092],
        ['kafka-2', 2, 9093],
        ['kafka-3', 3, 9094],
      ],
    );
    const first = topology.brokers[0]!;
    const value = (name: string) => first.properties.get(name)?.value;
    assert.equal(value('group.initial.rebalance.delay.ms'), '0');
    assert.equal(value('default.replication.factor'), '3');
    assert.equal(value('min.insync.replicas'), '2');
    assert.equal(value('process.roles'), 'broker,controller');
    assert.equal(value('advertised.listeners'), 'INTERNAL://kafka-1:19092,EXTERNAL://localhost:9092');
    assert.match(first.properties.get('min.insync.replicas')!.where, new RegExp(`^${KAFKA_FILE}:\\d+$`));
    assert.equal(first.properties.get('heap.opts'), undefined);
    assert.deepEqual(
      first.notRendered.map((variable) => variable.variable),
      ['KAFKA_HEAP_OPTS', 'KAFKA_OPTS'],
    );
    assert.match(first.clusterId ?? '', /^[A-Za-z0-9_-]{22}$/);
    assert.equal(topology.topicsFile?.service, 'kafka-init');
    assert.equal(topology.topicsFile?.displayPath, 'infra/05-messaging/kafka/init/topics.txt');
  });

  it('takes host ports from the env file, and a changed variable changes the property', () => {
    const stack = copyStack([
      { file: '.env.example', from: 'KAFKA_1_EXTERNAL_PORT=9092', to: 'KAFKA_1_EXTERNAL_PORT=29092' },
      {
        file: KAFKA_FILE,
        from: 'KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: 0',
        to: 'KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: 1500',
      },
    ]);
    try {
      const topology = loadTopology({ file: stack.rootFile });
      const first = topology.brokers[0]!;
      assert.equal(first.hostPort, 29092);
      assert.equal(
        first.properties.get('advertised.listeners')?.value,
        'INTERNAL://kafka-1:19092,EXTERNAL://localhost:29092',
      );
      assert.equal(first.properties.get('group.initial.rebalance.delay.ms')?.value, '1500');
      assert.equal(topology.envFile, '.env.example');
    } finally {
      stack.remove();
    }
  });

  it('leaves out services outside the messaging profile', () => {
    const stack = copyStack([
      {
        file: KAFKA_FILE,
        from: '  kafka-3:\n    <<: *kafka-broker\n',
        to: '  kafka-3:\n    <<: *kafka-broker\n    profiles: [other]\n',
      },
    ]);
    try {
      const topology = loadTopology({ file: stack.rootFile });
      assert.deepEqual(
        topology.brokers.map((broker) => broker.service),
        ['kafka-1', 'kafka-2'],
      );
    } finally {
      stack.remove();
    }
  });

  it('reports an unusable stack with file and line', () => {
    const stack = copyStack([
      { file: KAFKA_FILE, from: 'KAFKA_NUM_PARTITIONS: 3', to: 'KAFKA_NUM_PARTITIONS: ${PARTITIONS' },
    ]);
    try {
      assert.throws(
        () => loadTopology({ file: stack.rootFile }),
        (error: unknown) =>
          error instanceof InputError && error.file === KAFKA_FILE && error.line !== undefined,
      );
    } finally {
      stack.remove();
    }
  });
});

describe('the embedded broker plan', () => {
  it('applies what the engine implements, lowers replication for one broker, sets the rest aside', () => {
    const topology = loadTopology({ file: 'docker-compose.yml', envFile: '.env.example' });
    const plan = embeddedBrokerPlan(topology.brokers[0]!, 1);
    assert.equal(plan.nodeId, 1);
    assert.equal(plan.hostPort, 9092);
    assert.deepEqual(plan.config, {
      'default.replication.factor': '1',
      'min.insync.replicas': '1',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'num.partitions': '3',
      'auto.create.topics.enable': 'true',
      'group.initial.rebalance.delay.ms': '0',
    });
    assert.deepEqual(plan.lowered, [
      'default.replication.factor 3 -> 1',
      'min.insync.replicas 2 -> 1',
      'offsets.topic.replication.factor 3 -> 1',
      'transaction.state.log.replication.factor 3 -> 1',
      'transaction.state.log.min.isr 2 -> 1',
    ]);
    assert.deepEqual(plan.notImplemented, []);
    assert.deepEqual(plan.setAside.map((item) => item.name).sort(), [
      'CLUSTER_ID',
      'KAFKA_HEAP_OPTS',
      'KAFKA_OPTS',
      'advertised.listeners',
      'controller.listener.names',
      'controller.quorum.voters',
      'inter.broker.listener.name',
      'listener.security.protocol.map',
      'listeners',
      'log.dirs',
      'process.roles',
    ]);
    const threeBrokers = embeddedBrokerPlan(topology.brokers[0]!, 3);
    assert.deepEqual(threeBrokers.lowered, []);
    assert.equal(threeBrokers.config['min.insync.replicas'], '2');
  });

  it('names a setting the engine does not implement, with its variable and line, in one line', () => {
    const stack = copyStack([
      {
        file: KAFKA_FILE,
        from: '      KAFKA_NODE_ID: 1\n',
        to: '      KAFKA_NODE_ID: 1\n      KAFKA_LOG_CLEANER_THREADS: 2\n      KAFKA_NUM_REPLICA___FETCHERS: 4\n',
      },
    ]);
    try {
      const plan = embeddedBrokerPlan(loadTopology({ file: stack.rootFile }).brokers[0]!, 1);
      assert.deepEqual(
        plan.notImplemented.map((property) => [property.name, property.value, property.variable]),
        [
          ['log.cleaner.threads', '2', 'KAFKA_LOG_CLEANER_THREADS'],
          ['num.replica-fetchers', '4', 'KAFKA_NUM_REPLICA___FETCHERS'],
        ],
      );
      const lines = describePlan(plan, 'docker-compose.yml', 1).filter((line) =>
        /NOT IMPLEMENTED/.test(line),
      );
      assert.equal(lines.length, 1);
      assert.match(
        lines[0]!,
        new RegExp(`log\\.cleaner\\.threads=2 \\(KAFKA_LOG_CLEANER_THREADS, ${KAFKA_FILE}:\\d+\\)`),
      );
    } finally {
      stack.remove();
    }
  });

  it('refuses a value the engine would refuse, naming the variable and line', () => {
    const stack = copyStack([
      { file: KAFKA_FILE, from: 'KAFKA_NUM_PARTITIONS: 3', to: 'KAFKA_NUM_PARTITIONS: three' },
    ]);
    try {
      const broker = loadTopology({ file: stack.rootFile }).brokers[0]!;
      assert.throws(
        () => embeddedBrokerPlan(broker, 1),
        (error: unknown) =>
          error instanceof UsageError &&
          new RegExp(
            `^${KAFKA_FILE}:\\d+: KAFKA_NUM_PARTITIONS: Invalid value three for configuration num.partitions`,
          ).test(error.message),
      );
    } finally {
      stack.remove();
    }
  });
});
