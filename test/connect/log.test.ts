/**
 * The Connect worker's log as the stack's stream takes it: the log4j2 configuration the worker runs
 * with, and its JSON lines read back. clusters.slow.ts checks the same lines from a real worker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRecord, log4jProperties, parseLogLine, stackLevel } from '../../src/connect/log.ts';

describe('Connect worker log', () => {
  it("maps log4j's levels to the stack's four", () => {
    assert.deepEqual(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map(stackLevel), [
      'debug',
      'debug',
      'info',
      'warn',
      'error',
      'error',
    ]);
  });
  it('keeps server.log at INFO and sends the stream level to stdout', () => {
    const properties = log4jProperties('/data/connect/logs', 'warn');
    assert.match(properties, /^appender\.file\.fileName = \/data\/connect\/logs\/server\.log$/m);
    assert.match(properties, /^appender\.file\.filter\.threshold\.level = INFO$/m);
    assert.match(properties, /^appender\.stdout\.filter\.threshold\.level = WARN$/m);
    assert.match(properties, /^rootLogger\.level = INFO$/m);
    const debug = log4jProperties('/d', 'debug');
    assert.match(debug, /^rootLogger\.level = DEBUG$/m);
    assert.match(debug, /^appender\.file\.filter\.threshold\.level = INFO$/m);
    assert.throws(() => log4jProperties('/a\nb', 'info'), /a line break is not allowed/);
  });
  it("reads a line back with Kafka's names: logger, connector and task from connector.context", () => {
    const line = JSON.stringify({
      level: 'WARN',
      logger: 'org.apache.kafka.connect.runtime.WorkerSourceTask',
      thread: 'task-thread-src-0',
      context: '[src|task-0|offsets] ',
      msg: 'two\nlines',
      error: 'java.io.IOException: gone\n\tat X.y(X.java:1)\n',
    });
    const record = parseLogLine(line);
    assert.deepEqual(record, {
      level: 'warn',
      log4jLevel: 'WARN',
      message: 'two\nlines',
      logger: 'org.apache.kafka.connect.runtime.WorkerSourceTask',
      thread: 'task-thread-src-0',
      connector: 'src',
      task: 0,
      error: 'java.io.IOException: gone\n\tat X.y(X.java:1)',
    });
    assert.equal(
      formatRecord(record!),
      'WARN [src|task-0] two\nlines (org.apache.kafka.connect.runtime.WorkerSourceTask)\njava.io.IOException: gone\n\tat X.y(X.java:1)',
    );
    const worker = parseLogLine(
      '{"level":"INFO","logger":"L","thread":"t","context":"[sink|worker] ","msg":"m","error":""}',
    );
    assert.equal(worker?.connector, 'sink');
    assert.equal(worker?.task, undefined);
    assert.equal(worker?.error, undefined);
    const none = parseLogLine(
      '{"level":"ERROR","logger":"L","thread":"t","context":"","msg":"m","error":""}',
    );
    assert.equal(none?.connector, undefined);
    assert.equal(none?.level, 'error');
  });
  it("leaves the JVM's own output (not log4j's) to the caller", () => {
    assert.equal(parseLogLine('OpenJDK 64-Bit Server VM warning: Sharing is only supported'), undefined);
    assert.equal(parseLogLine('{"level":"INFO","logger":'), undefined);
  });
});
