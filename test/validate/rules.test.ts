// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Compose files, whose ${VAR} is not JavaScript's.
/**
 * The real stack passes every rule; for every rule, a copy of the real stack broken in
 * one way fails with that rule's ID (and only the rules that break names).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RULES } from '../../src/validate/rules/index.ts';
import { validateStack } from '../../src/validate/validate.ts';
import { copyStack, type Edit, KAFKA_FILE, REPO_ROOT } from './stack-copy.ts';

interface BreakCase {
  readonly name: string;
  readonly edits: readonly Edit[];
  /** Every rule that must fail, and no other. */
  readonly fails: readonly string[];
  /** Text one finding of the first rule must contain. */
  readonly mentions?: string;
}

const kafka = (from: string, to: string): Edit => ({ file: KAFKA_FILE, from, to });
const envExample = (from: string, to: string): Edit => ({ file: '.env.example', from, to });
const TOPICS = 'infra/05-messaging/kafka/init/topics.txt';
const INIT_SCRIPT = 'infra/05-messaging/kafka/init/create-topics.sh';

const CASES: readonly BreakCase[] = [
  {
    name: 'a service without the messaging profile',
    edits: [
      kafka('    container_name: kafka-ui\n    profiles: [messaging]\n', '    container_name: kafka-ui\n'),
    ],
    fails: ['RULE-MSG-001'],
    mentions: 'kafka-ui is not gated',
  },
  {
    name: 'a broker data folder outside ${DEFAULT_MESSAGE_BROKER_DIR}/kafka/',
    edits: [
      kafka(
        '${DEFAULT_MESSAGE_BROKER_DIR:?set DEFAULT_MESSAGE_BROKER_DIR in .env}/kafka/kafka-3',
        './data/kafka-3',
      ),
    ],
    fails: ['RULE-MSG-002'],
    mentions: 'must start with ${DEFAULT_MESSAGE_BROKER_DIR}/kafka/',
  },
  {
    name: 'two brokers sharing one data folder',
    edits: [kafka('.env}/kafka/kafka-2\n', '.env}/kafka/kafka-1\n')],
    fails: ['RULE-MSG-002'],
    mentions: 'kafka-2 shares its data folder with kafka-1',
  },
  {
    name: 'a broker in Zookeeper mode (TASK-009)',
    edits: [
      kafka(
        '      KAFKA_NODE_ID: 1\n',
        '      KAFKA_NODE_ID: 1\n      KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181\n',
      ),
    ],
    // zookeeper.connect is also no Kafka 4 setting any more.
    fails: ['RULE-MSG-002', 'RULE-MSG-008'],
    mentions: 'superseded',
  },
  {
    name: 'a fourth broker',
    edits: [
      kafka(
        '  # One-shot: create the baseline topics',
        '  kafka-4:\n    <<: *kafka-broker\n    environment:\n      <<: *kafka-broker-env\n      KAFKA_NODE_ID: 4\n      KAFKA_ADVERTISED_LISTENERS: INTERNAL://kafka-4:19092\n\n  # One-shot: create the baseline topics',
      ),
    ],
    // It also lacks a data mount, is no voter and makes the bootstrap lists incomplete.
    fails: ['RULE-MSG-002', 'RULE-MSG-003', 'RULE-MSG-004'],
    mentions: "'kafka-4' runs a broker",
  },
  {
    name: 'a static address',
    edits: [
      kafka(
        '    container_name: kafka-ui\n    profiles: [messaging]\n    networks: [infra_net]\n',
        '    container_name: kafka-ui\n    profiles: [messaging]\n    networks:\n      infra_net:\n        ipv4_address: 172.28.0.10\n',
      ),
    ],
    fails: ['RULE-MSG-003'],
    mentions: 'remove ipv4_address',
  },
  {
    name: 'a bootstrap list missing a broker',
    edits: [
      kafka(
        'CONNECT_BOOTSTRAP_SERVERS: kafka-1:19092,kafka-2:19092,kafka-3:19092',
        'CONNECT_BOOTSTRAP_SERVERS: kafka-1:19092,kafka-2:19092',
      ),
    ],
    fails: ['RULE-MSG-003'],
    mentions: 'missing kafka-3',
  },
  {
    name: 'an IP literal in a bootstrap list',
    edits: [kafka('      - --kafka.server=kafka-3:19092\n', '      - --kafka.server=10.0.0.3:19092\n')],
    fails: ['RULE-MSG-003'],
    mentions: 'IP literal 10.0.0.3',
  },
  {
    name: 'two brokers with one node id',
    edits: [kafka('      KAFKA_NODE_ID: 3\n', '      KAFKA_NODE_ID: 2\n')],
    fails: ['RULE-MSG-004'],
    mentions: 'kafka-3 reuses node id 2 of kafka-2',
  },
  {
    name: 'an external listener advertised on a port that is not published',
    edits: [kafka('EXTERNAL://localhost:${KAFKA_2_EXTERNAL_PORT:-9093}', 'EXTERNAL://localhost:9099')],
    fails: ['RULE-MSG-005'],
    mentions: 'advertised as localhost:9099',
  },
  {
    name: 'the controller listener advertised',
    edits: [
      kafka(
        'INTERNAL://kafka-1:19092,EXTERNAL',
        'INTERNAL://kafka-1:19092,CONTROLLER://localhost:29093,EXTERNAL',
      ),
    ],
    fails: ['RULE-MSG-005'],
    mentions: 'never advertise the controller listener',
  },
  {
    name: 'a listener missing from the protocol map',
    edits: [kafka(',EXTERNAL:PLAINTEXT\n', '\n')],
    fails: ['RULE-MSG-005'],
    mentions: 'add EXTERNAL:PLAINTEXT to the protocol map',
  },
  {
    name: 'an invalid CLUSTER_ID',
    edits: [kafka('CLUSTER_ID: ixJFI0aPayh0YwlkUIBN1g', 'CLUSTER_ID: kstack-cluster')],
    fails: ['RULE-MSG-006'],
  },
  {
    name: 'min.insync.replicas equal to the replication factor',
    edits: [kafka('KAFKA_MIN_INSYNC_REPLICAS: 2', 'KAFKA_MIN_INSYNC_REPLICAS: 3')],
    fails: ['RULE-MSG-007'],
    mentions: 'KAFKA_MIN_INSYNC_REPLICAS=3',
  },
  {
    name: 'a replication factor above the broker count',
    edits: [
      kafka(
        'SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR: 3',
        'SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR: 4',
      ),
    ],
    fails: ['RULE-MSG-007'],
  },
  {
    name: 'a misspelt broker setting',
    edits: [kafka('KAFKA_NUM_PARTITIONS: 3', 'KAFKA_NUM_PARTITION: 3')],
    fails: ['RULE-MSG-008'],
    mentions: 'did you mean KAFKA_NUM_PARTITIONS?',
  },
  {
    name: 'KAFKA_MIN_INSYNC_REPLICA (the setting is then missing too)',
    edits: [kafka('KAFKA_MIN_INSYNC_REPLICAS: 2', 'KAFKA_MIN_INSYNC_REPLICA: 2')],
    fails: ['RULE-MSG-008', 'RULE-MSG-007'],
    mentions:
      'KAFKA_MIN_INSYNC_REPLICA (min.insync.replica) is not a Kafka broker (cp-kafka) setting; did you mean KAFKA_MIN_INSYNC_REPLICAS?',
  },
  {
    name: 'a misspelt Connect setting',
    edits: [kafka('CONNECT_GROUP_ID: kstack-connect', 'CONNECT_GROUPID: kstack-connect')],
    fails: ['RULE-MSG-008'],
    mentions: 'did you mean CONNECT_GROUP_ID?',
  },
  {
    name: 'a misspelt Schema Registry setting',
    edits: [
      kafka('SCHEMA_REGISTRY_KAFKASTORE_TOPIC: _schemas', 'SCHEMA_REGISTRY_KAFKASTORE_TOPICS: _schemas'),
    ],
    fails: ['RULE-MSG-008'],
    mentions: 'did you mean SCHEMA_REGISTRY_KAFKASTORE_TOPIC?',
  },
  {
    name: 'a misspelt REST proxy client setting',
    edits: [
      kafka(
        '      KAFKA_REST_SCHEMA_REGISTRY_URL:',
        '      KAFKA_REST_CLIENT_SECURITY_PROTOKOL: PLAINTEXT\n      KAFKA_REST_SCHEMA_REGISTRY_URL:',
      ),
    ],
    fails: ['RULE-MSG-008'],
    mentions: 'did you mean KAFKA_REST_CLIENT_SECURITY_PROTOCOL?',
  },
  {
    name: 'a hard-coded host port',
    edits: [kafka('"${KAFKA_UI_PORT:-8080}:8080"', '"8080:8080"')],
    fails: ['RULE-MSG-009'],
  },
  {
    name: 'two services on one host port',
    edits: [envExample('KAFKA_UI_PORT=8080', 'KAFKA_UI_PORT=8081')],
    fails: ['RULE-MSG-009'],
    mentions: 'host port 8081 is already published by schema-registry',
  },
  {
    name: 'a host port variable missing from the env file',
    edits: [envExample('KAFKA_EXPORTER_PORT=9308\n', '')],
    fails: ['RULE-MSG-009'],
    mentions: 'add KAFKA_EXPORTER_PORT to .env.example',
  },
  {
    name: 'the first broker not on 9092 by default',
    edits: [
      kafka('"${KAFKA_1_EXTERNAL_PORT:-9092}:9092"', '"${KAFKA_1_EXTERNAL_PORT:-19092}:9092"'),
      kafka(
        'EXTERNAL://localhost:${KAFKA_1_EXTERNAL_PORT:-9092}',
        'EXTERNAL://localhost:${KAFKA_1_EXTERNAL_PORT:-19092}',
      ),
    ],
    fails: ['RULE-MSG-009'],
    mentions: 'must default to 9092',
  },
  {
    name: 'a long-running service without a healthcheck',
    edits: [
      kafka(
        '      test: ["CMD-SHELL", "wget -q -O /dev/null http://localhost:9308/healthz || exit 1"]\n      interval: 15s\n      timeout: 5s\n      retries: 5\n      start_period: 15s\n',
        '      disable: true\n',
      ),
    ],
    fails: ['RULE-MSG-010'],
  },
  {
    name: 'a healthcheck using cub on cp 8.x',
    edits: [
      kafka(
        '"curl -fsS http://localhost:8081/subjects > /dev/null || exit 1"',
        '"cub sr-ready schema-registry 8081 20"',
      ),
    ],
    fails: ['RULE-MSG-010'],
    mentions: 'no cub/dub',
  },
  {
    name: 'a broker healthcheck that keeps KAFKA_OPTS and JMX_PORT',
    edits: [
      kafka('      - KAFKA_OPTS= JMX_PORT= KAFKA_JMX_OPTS= KAFKA_HEAP_OPTS', '      - KAFKA_HEAP_OPTS'),
    ],
    fails: ['RULE-MSG-010'],
    mentions: "start the command with 'KAFKA_OPTS='",
  },
  {
    name: 'a service without a memory limit',
    edits: [kafka('          cpus: "0.25"\n          memory: 128m\n', '          cpus: "0.25"\n')],
    fails: ['RULE-MSG-011'],
  },
  {
    name: 'a heap larger than the memory limit',
    edits: [
      kafka('SCHEMA_REGISTRY_HEAP_OPTS: -Xms256m -Xmx256m', 'SCHEMA_REGISTRY_HEAP_OPTS: -Xms256m -Xmx1g'),
    ],
    fails: ['RULE-MSG-011'],
    mentions: 'gives the heap 1024 MiB of a 512 MiB limit',
  },
  {
    name: 'a depends_on target that does not exist',
    edits: [
      kafka(
        '      kafka-connect:\n        condition: service_healthy\n',
        '      kafka-konnect:\n        condition: service_healthy\n',
      ),
    ],
    fails: ['RULE-MSG-012'],
    mentions: "depends on 'kafka-konnect', which no file defines",
  },
  {
    name: 'a consumer of kafka-init that does not wait for it to complete',
    edits: [
      kafka(
        '      kafka-init:\n        condition: service_completed_successfully\n      schema-registry:\n        condition: service_healthy\n      kafka-connect:',
        '      kafka-init:\n        condition: service_started\n      schema-registry:\n        condition: service_healthy\n      kafka-connect:',
      ),
    ],
    fails: ['RULE-MSG-012'],
    mentions: 'wait for kafka-init with condition: service_completed_successfully',
  },
  {
    name: 'the baseline topic below replication factor 3',
    edits: [{ file: TOPICS, from: 'events-topic 3 3 min.insync.replicas=2', to: 'events-topic 3 2' }],
    fails: ['RULE-MSG-013'],
    mentions: 'list events-topic with replication factor 3',
  },
  {
    name: 'kafka-init without --if-not-exists',
    edits: [{ file: INIT_SCRIPT, from: '--create --if-not-exists', to: '--create' }],
    fails: ['RULE-MSG-013'],
    mentions: '--if-not-exists',
  },
  {
    name: 'a variable without a default that the env file does not set',
    edits: [kafka('Host(`connect.${TRAEFIK_DOMAIN:-localhost}`)', 'Host(`connect.${TRAEFIK_HOST}`)')],
    fails: ['RULE-MSG-014'],
    mentions: 'TRAEFIK_HOST is not set in .env.example',
  },
  {
    name: 'a required variable the env file does not set',
    edits: [envExample('DEFAULT_MESSAGE_BROKER_DIR=./.data/messaging\n', '')],
    fails: ['RULE-MSG-014'],
    mentions: 'Compose would stop',
  },
  {
    name: 'a service without a restart policy',
    edits: [kafka('      start_period: 15s\n    restart: unless-stopped\n', '      start_period: 15s\n')],
    fails: ['RULE-MSG-015'],
  },
  {
    name: 'logging written by hand instead of the shared template',
    edits: [
      kafka(
        '    restart: unless-stopped\n    logging: *logging\n    deploy:\n      resources:\n        limits:\n          cpus: "0.25"',
        '    restart: unless-stopped\n    logging:\n      driver: json-file\n    deploy:\n      resources:\n        limits:\n          cpus: "0.25"',
      ),
    ],
    fails: ['RULE-MSG-015'],
  },
  {
    name: 'an unpinned image',
    edits: [kafka('danielqsj/kafka-exporter:v1.9.0', 'danielqsj/kafka-exporter:latest')],
    fails: ['RULE-MSG-015'],
  },
];

function failedRules(edits: readonly Edit[]) {
  const copy = copyStack(edits);
  try {
    return validateStack({ file: copy.rootFile, envFile: copy.envFile });
  } finally {
    copy.remove();
  }
}

describe('the real stack', () => {
  it('passes every rule with .env.example', () => {
    const report = validateStack({
      file: `${REPO_ROOT}docker-compose.yml`,
      envFile: `${REPO_ROOT}.env.example`,
    });
    const failures = report.rules
      .filter((rule) => !rule.passed)
      .flatMap((rule) => rule.findings.map((f) => `${rule.id} ${f.message}`));
    assert.deepEqual(failures, []);
    assert.equal(report.ok, true);
    assert.equal(report.summary.rules, RULES.length);
    assert.deepEqual(report.unsetVariables, []);
    assert.deepEqual([...report.services].sort(), [
      'kafka-1',
      'kafka-2',
      'kafka-3',
      'kafka-connect',
      'kafka-exporter',
      'kafka-init',
      'kafka-prepare',
      'kafka-rest-proxy',
      'kafka-ui',
      'schema-registry',
    ]);
  });
});

describe('a copy of the stack broken one way fails with that rule', () => {
  for (const breakCase of CASES) {
    it(`${breakCase.fails[0]}: ${breakCase.name}`, () => {
      const report = failedRules(breakCase.edits);
      const failed = report.rules.filter((rule) => !rule.passed).map((rule) => rule.id);
      assert.deepEqual([...failed].sort(), [...breakCase.fails].sort());
      assert.equal(report.ok, false);
      const first = report.rules.find((rule) => rule.id === breakCase.fails[0]);
      for (const item of first?.findings ?? []) {
        assert.ok(
          item.location !== undefined && item.location.line >= 1,
          `finding without a line: ${item.message}`,
        );
      }
      if (breakCase.mentions !== undefined) {
        const messages = first?.findings.map((item) => item.message) ?? [];
        assert.ok(
          messages.some((message) => message.includes(breakCase.mentions ?? '')),
          `expected a finding mentioning '${breakCase.mentions}', got:\n${messages.join('\n')}`,
        );
      }
    });
  }

  it('covers every rule', () => {
    const covered = new Set(CASES.map((breakCase) => breakCase.fails[0]));
    assert.deepEqual(
      RULES.map((rule) => rule.id).filter((id) => !covered.has(id)),
      [],
    );
  });
});

describe('findings point at the line at fault', () => {
  it('names the file and line of a misspelt setting written in the shared anchor', () => {
    const report = failedRules([kafka('KAFKA_NUM_PARTITIONS: 3', 'KAFKA_NUM_PARTITION: 3')]);
    const rule = report.rules.find((item) => item.id === 'RULE-MSG-008');
    // Written once in x-kafka-broker-env, merged into three brokers: one finding.
    assert.equal(rule?.findings.length, 1);
    assert.equal(rule?.findings[0]?.location?.file, KAFKA_FILE);
    assert.equal(rule?.findings[0]?.location?.line, lineOf(KAFKA_FILE, 'KAFKA_NUM_PARTITIONS: 3'));
  });
});

function lineOf(file: string, text: string): number {
  const lines = readFileSync(`${REPO_ROOT}${file}`, 'utf8').split('\n');
  return lines.findIndex((line) => line.includes(text)) + 1;
}
