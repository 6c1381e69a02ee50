/**
 * The structured log: JSON lines with time, level, component, broker id and Kafka-named fields;
 * `--log-level` filters; a terminal gets the readable form; Kafka events become lines naming
 * their event. (The events published by real brokers: test/metrics/cluster-metrics.test.ts.)
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { publishKafkaEvent } from '../../src/common/events.ts';
import { createLogger, type LogOptions, logKafkaEvents, parseLogLevel } from '../../src/common/log.ts';

function capture(options: Omit<LogOptions, 'stream'>, tty = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stream.isTTY = true;
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
  });
  const logger = createLogger({ ...options, stream });
  return { logger, lines: () => text.split('\n').filter((line) => line !== '') };
}

test('a line is one JSON object with ISO time, level, component, broker id, message and Kafka fields', () => {
  const { logger, lines } = capture({ component: 'broker', brokerId: 2, format: 'json' });
  logger.info('created topic orders', { topic: 'orders', partition: 0 });
  logger.warn('plain');
  const [first, second] = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines().length, 2);
  assert.equal(first!.level, 'info');
  assert.equal(first!.component, 'broker');
  assert.equal(first!.brokerId, 2);
  assert.equal(first!.msg, 'created topic orders');
  assert.equal(first!.topic, 'orders');
  assert.equal(first!.partition, 0);
  assert.match(String(first!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(second!.level, 'warn');
  const child = capture({ component: 'kstack', format: 'json' });
  child.logger.child('exporter').error('cluster down');
  const line = JSON.parse(child.lines()[0]!) as Record<string, unknown>;
  assert.equal(line.component, 'exporter');
  assert.equal(line.level, 'error');
  assert.equal('brokerId' in line, false);
});

test('--log-level drops the levels below it; a wrong value is an error naming flag, value and choices', () => {
  const { logger, lines } = capture({ component: 'broker', level: parseLogLevel('WARN'), format: 'json' });
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
  assert.deepEqual(
    lines().map((line) => (JSON.parse(line) as { msg: string }).msg),
    ['w', 'e'],
  );
  const debug = capture({ component: 'broker', level: 'debug', format: 'json' });
  debug.logger.debug('d');
  assert.equal(debug.lines().length, 1);
  assert.throws(() => parseLogLevel('verbose'), {
    message: "--log-level: 'verbose' is not a log level (one of debug, info, warn, error)",
  });
});

test('a terminal gets readable lines; a pipe gets JSON', () => {
  const tty = capture({ component: 'broker', brokerId: 1 }, true);
  tty.logger.info('broker 3 fenced', { broker: 3, isr: [1, 2] });
  assert.match(
    tty.lines()[0]!,
    /^\d{4}-\d\d-\d\dT\S+Z INFO {2}\[broker 1\] broker 3 fenced {2}broker=3 isr=\[1,2\]$/,
  );
  const pipe = capture({ component: 'broker', brokerId: 1 });
  pipe.logger.info('x');
  assert.equal((JSON.parse(pipe.lines()[0]!) as { msg: string }).msg, 'x');
});

test('Kafka events become lines naming the event and the Kafka names, filtered to a node when asked', () => {
  const { logger, lines } = capture({ component: 'broker', brokerId: 7, format: 'json' });
  const stop = logKafkaEvents(logger, 7);
  try {
    publishKafkaEvent('isr-change', {
      nodeId: 7,
      topic: 'orders',
      partition: 1,
      isrBefore: [7, 8, 9],
      isrAfter: [7, 8],
    });
    publishKafkaEvent('isr-change', {
      nodeId: 8,
      topic: 'other',
      partition: 0,
      isrBefore: [8],
      isrAfter: [8, 9],
    });
    publishKafkaEvent('topic-created', { nodeId: 7, topic: 'orders', topicId: 'abc', partitions: 3 });
    publishKafkaEvent('rebalance', { nodeId: 7, group: 'g1', generationId: 4, members: 2 });
  } finally {
    stop();
  }
  publishKafkaEvent('topic-created', { nodeId: 7, topic: 'after-stop', topicId: 'x', partitions: 1 });
  const entries = lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    entries.map((e) => [e.event, e.msg]),
    [
      ['isr-change', 'orders-1 ISR updated to 7,8 (shrink from 7,8,9)'],
      ['topic-created', 'created topic orders with 3 partitions, topic id abc'],
      ['rebalance', 'group g1 stabilized with generation 4 (2 members)'],
    ],
  );
  assert.deepEqual(entries[0]!.isr, [7, 8]);
  assert.equal(entries[0]!.topic, 'orders');
  assert.equal(entries[0]!.brokerId, 7);
  assert.equal(entries[2]!.group, 'g1');
});
