import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BrokerConfig,
  ConfigSource,
  TOPIC_CONFIG_BY_NAME,
  topicSettings,
  validateConfigValue,
} from '../../src/broker/config.ts';
import { topicNameProblem } from '../../src/broker/topic-names.ts';

describe('broker and topic configs', () => {
  it('has Kafka defaults and derives log.retention.ms from hours', () => {
    const config = new BrokerConfig();
    assert.equal(config.getNumber('num.partitions'), 1);
    assert.equal(config.getBoolean('auto.create.topics.enable'), true);
    assert.equal(config.getNumber('message.max.bytes'), 1048588);
    assert.equal(config.getNumber('log.retention.ms'), 604_800_000);
    assert.equal(new BrokerConfig({ 'log.retention.hours': '1' }).getNumber('log.retention.ms'), 3_600_000);
  });

  it('gives a topic config its override, else its broker synonym, else the default, with the source', () => {
    const config = new BrokerConfig({ 'log.retention.ms': '1000' });
    assert.deepEqual(config.topicValue('retention.ms', new Map([['retention.ms', '5']])), {
      value: '5',
      source: ConfigSource.dynamicTopic,
    });
    assert.deepEqual(config.topicValue('retention.ms', new Map()), {
      value: '1000',
      source: ConfigSource.staticBroker,
    });
    assert.deepEqual(config.topicValue('segment.bytes', new Map()), {
      value: '1073741824',
      source: ConfigSource.default,
    });
    const settings = topicSettings(config, new Map([['message.timestamp.type', 'LogAppendTime']]));
    assert.equal(settings.logAppendTime, true);
    assert.equal(settings.maxMessageBytes, 1048588);
  });

  it('validates values with Kafka’s messages', () => {
    const cleanup = TOPIC_CONFIG_BY_NAME.get('cleanup.policy')!;
    assert.equal(validateConfigValue(cleanup, 'compact,delete'), null);
    assert.match(validateConfigValue(cleanup, 'bogus') ?? '', /String must be one of/);
    const retention = TOPIC_CONFIG_BY_NAME.get('retention.ms')!;
    assert.match(validateConfigValue(retention, 'abc') ?? '', /Not a number of type LONG/);
    assert.match(validateConfigValue(retention, '-2') ?? '', /at least -1/);
    const minIsr = TOPIC_CONFIG_BY_NAME.get('min.insync.replicas')!;
    assert.match(validateConfigValue(minIsr, '0') ?? '', /at least 1/);
    assert.throws(() => new BrokerConfig({ 'num.partitions': 'x' }), /Not a number/);
  });

  it('applies Kafka’s topic-name rules', () => {
    assert.equal(topicNameProblem('events-topic.v1_x'), null);
    assert.notEqual(topicNameProblem(''), null);
    assert.notEqual(topicNameProblem('.'), null);
    assert.notEqual(topicNameProblem('..'), null);
    assert.notEqual(topicNameProblem('a b'), null);
    assert.notEqual(topicNameProblem('ä'), null);
    assert.equal(topicNameProblem('x'.repeat(249)), null);
    assert.notEqual(topicNameProblem('x'.repeat(250)), null);
  });
});
