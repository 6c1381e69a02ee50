// `kstack up --brokers 3 --override listeners=…`: node i gets every listener's port + i - 1, bound
// and advertised; behind the fault proxies the first listener binds above its proxy. The running
// cluster with clients is up-listeners.slow.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { NODE_BROKER_PORT_OFFSET } from '../../src/engine/fault-limits.ts';
import { parseUpArgs } from '../../src/engine/up-command.ts';
import { ARGS, HOST, PLAINTEXT_PORT, SASL_PORT } from './up-listeners-setup.ts';

test('kstack up --brokers 3 arguments: each listener shifted per node, the proxied one bound above its proxy', () => {
  const options = parseUpArgs(ARGS);
  assert.ok(options !== 'help');
  assert.deepEqual(
    options.nodes.map(({ port }) => port),
    [24703, 24704, 24705],
  );
  assert.deepEqual(options.nodeListeners?.[2], {
    listeners: `PLAINTEXT://${HOST}:${PLAINTEXT_PORT + 2 + NODE_BROKER_PORT_OFFSET},SASL_PLAINTEXT://${HOST}:${SASL_PORT + 2}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${PLAINTEXT_PORT + 2},SASL_PLAINTEXT://${HOST}:${SASL_PORT + 2}`,
  });
  const direct = parseUpArgs([...ARGS, '--no-fault-proxies']);
  assert.ok(direct !== 'help');
  assert.equal(
    direct.nodeListeners?.[1]?.listeners,
    `PLAINTEXT://${HOST}:24704,SASL_PLAINTEXT://${HOST}:24714`,
  );
  const advertised = parseUpArgs([
    ...ARGS,
    '--override',
    'advertised.listeners=SASL_PLAINTEXT://kafka.local:9096',
  ]);
  assert.ok(advertised !== 'help');
  assert.equal(
    advertised.nodeListeners?.[1]?.['advertised.listeners'],
    `PLAINTEXT://${HOST}:24704,SASL_PLAINTEXT://kafka.local:9097`,
  );
  assert.throws(
    () => parseUpArgs([...ARGS, '--override', 'advertised.listeners=OTHER://h:1']),
    (error: unknown) => error instanceof UsageError && /OTHER is not one of listeners/.test(error.message),
  );
  assert.throws(
    () => parseUpArgs(['--brokers', '3', '--no-compose', '--override', 'listeners=SASL_PLAINTEXT://:24713']),
    // Kafka's default inter-broker listener is the one named PLAINTEXT (Kafka 4.1.1's message).
    (error: unknown) =>
      error instanceof UsageError &&
      /inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are SASL_PLAINTEXT$/.test(
        error.message,
      ),
  );
  assert.throws(
    () => parseUpArgs(['--brokers', '3', '--no-compose', '--override', 'listeners=PLAINTEXT://:0']),
    (error: unknown) => error instanceof UsageError && /cannot be shifted for 3 brokers/.test(error.message),
  );
});
