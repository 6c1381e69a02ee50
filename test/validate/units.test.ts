// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Compose files, whose ${VAR} is not JavaScript's.
/** The small pure pieces the rules stand on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvFile } from '../../src/validate/env-file.ts';
import { interpolate } from '../../src/validate/interpolate.ts';
import { parseTopicsFile } from '../../src/validate/rules/topics.ts';
import { isValidClusterId } from '../../src/validate/rules/topology.ts';
import {
  bootstrapHosts,
  ipLiterals,
  maxHeapBytes,
  parseListeners,
  sizeInBytes,
} from '../../src/validate/service-facts.ts';
import {
  COMPONENTS,
  checkVariable,
  imageRepository,
  imageTag,
  propertyToVariable,
  variableToProperty,
} from '../../src/validate/settings.ts';

const lookup = (values: Record<string, string>) => (name: string) => values[name];

describe('interpolate', () => {
  it('substitutes every Compose form', () => {
    const env = lookup({ A: 'a', EMPTY: '' });
    assert.equal(
      interpolate('$A ${A} ${B:-b} ${B-b} ${EMPTY:-d} ${EMPTY-d} ${A:+x} ${B:+x} $$A', env).value,
      'a a b b d  x  $A',
    );
  });

  it('expands nested defaults and reports what was unset', () => {
    const result = interpolate('${X:-${Y:-deep}} ${Z} ${R:?set R}', lookup({}));
    assert.equal(result.value, 'deep  ');
    assert.deepEqual(
      result.unset.map((use) => [use.name, use.fallback]),
      [
        ['Z', 'none'],
        ['R', 'required'],
      ],
    );
    assert.equal(result.unset[1]?.requiredMessage, 'set R');
  });

  it('rejects an unclosed reference', () => {
    assert.throws(() => interpolate('${A', lookup({})), /unclosed/);
  });
});

describe('env file', () => {
  it('reads quotes, comments, export and earlier variables', () => {
    const env = parseEnvFile('# c\nA=1 # note\nexport B=\'$A x\'\nC="q\\"${A}"\n\nD=2\n', '.env');
    assert.deepEqual(
      [...env.entries].map(([name, entry]) => [name, entry.value, entry.line, entry.documented]),
      [
        ['A', '1', 2, true],
        ['B', '$A x', 3, true],
        ['C', 'q"1', 4, true],
        ['D', '2', 6, false],
      ],
    );
  });
});

describe('cp variable mapping', () => {
  it('follows the cp-kafka rules both ways', () => {
    assert.equal(variableToProperty('KAFKA_MIN_INSYNC_REPLICAS', 'KAFKA_'), 'min.insync.replicas');
    assert.equal(
      variableToProperty('KAFKA_LISTENER_NAME_X_SASL__Y___Z', 'KAFKA_'),
      'listener.name.x.sasl_y-z',
    );
    assert.equal(
      propertyToVariable('listener.name.x.sasl_y-z', 'KAFKA_'),
      'KAFKA_LISTENER_NAME_X_SASL__Y___Z',
    );
  });

  it('leaves JVM and logging variables alone and suggests the nearest setting', () => {
    const broker = COMPONENTS[0];
    assert.ok(broker !== undefined);
    assert.equal(checkVariable(broker, 'KAFKA_HEAP_OPTS').kind, 'not-checked');
    assert.equal(checkVariable(broker, 'KAFKA_LOG4J_LOGGERS').kind, 'not-checked');
    assert.equal(checkVariable(broker, 'KAFKA_LISTENER_NAME_INTERNAL_SSL_CLIENT_AUTH').kind, 'known');
    assert.deepEqual(checkVariable(broker, 'KAFKA_ADVERTISED_LISTENER'), {
      kind: 'unknown',
      property: 'advertised.listener',
      suggestion: 'KAFKA_ADVERTISED_LISTENERS',
    });
  });

  it('reads image names with and without registry, tag or digest', () => {
    assert.equal(imageRepository('ghcr.io/kafbat/kafka-ui:v1.5.0'), 'kafbat/kafka-ui');
    assert.equal(imageRepository('confluentinc/cp-kafka:8.2.1'), 'confluentinc/cp-kafka');
    assert.equal(imageRepository('localhost:5000/confluentinc/cp-kafka'), 'confluentinc/cp-kafka');
    assert.equal(imageTag('localhost:5000/confluentinc/cp-kafka'), undefined);
    assert.equal(imageTag('confluentinc/cp-kafka:8.2.1@sha256:abc'), '8.2.1');
  });
});

describe('Kafka values', () => {
  it('validates cluster ids like kafka-storage random-uuid output', () => {
    assert.equal(isValidClusterId('ixJFI0aPayh0YwlkUIBN1g'), true);
    assert.equal(isValidClusterId('AAAAAAAAAAAAAAAAAAAAAA'), false);
    assert.equal(isValidClusterId('ixJFI0aPayh0YwlkUIBN1'), false);
    assert.equal(isValidClusterId('ixJFI0aPayh0YwlkUIBN+g'), false);
  });

  it('parses listeners and bootstrap lists', () => {
    assert.deepEqual(parseListeners('INTERNAL://:19092,external://localhost:9092'), [
      { name: 'INTERNAL', host: '', port: '19092' },
      { name: 'EXTERNAL', host: 'localhost', port: '9092' },
    ]);
    assert.deepEqual(bootstrapHosts('PLAINTEXT://kafka-1:19092, kafka-2:19092'), ['kafka-1', 'kafka-2']);
  });

  it('finds IP literals but not versions, ports or names', () => {
    assert.deepEqual(ipLiterals('a 192.168.1.20:9092 [::1]:9092 fe80::1'), [
      '192.168.1.20',
      '::1',
      'fe80::1',
    ]);
    assert.deepEqual(ipLiterals('cp-kafka:8.2.1 1.3.0 localhost:9092 10:30:00 999.1.1.1'), []);
  });

  it('reads sizes and heaps', () => {
    assert.equal(sizeInBytes('1g'), 1024 ** 3);
    assert.equal(sizeInBytes('512m'), 512 * 1024 ** 2);
    assert.equal(sizeInBytes('2GB'), 2 * 1024 ** 3);
    assert.equal(maxHeapBytes('-Xms128m -Xmx256m'), 256 * 1024 ** 2);
    assert.equal(maxHeapBytes('-Dx=1'), undefined);
  });

  it('parses the topics file and reports bad lines by number', () => {
    const { topics, errors } = parseTopicsFile(
      '# c\nevents-topic 3 3 min.insync.replicas=2\n\nbad/name 0 x\n',
    );
    assert.equal(topics[0]?.name, 'events-topic');
    assert.equal(topics[0]?.configs.get('min.insync.replicas'), '2');
    assert.deepEqual(
      errors.map((error) => error.line),
      [4, 4, 4],
    );
  });
});
