/**
 * `advertised.listeners` on `kstack up`: parsing (Kafka's NAME://HOST:PORT list, one PLAINTEXT
 * listener), and a real broker process that listens on one port and advertises another, reached by
 * kafkajs through a TCP proxy on the advertised port (as the compat suite's fault proxy does).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { FaultPlan, FaultProxy } from '../../compat/runner/fault-proxy.ts';
import { UsageError } from '../../src/common/cli-errors.ts';
import { parseAdvertisedListeners } from '../../src/engine/listeners.ts';
import { parseUpArgs } from '../../src/engine/up-command.ts';
import { BrokerProcess } from './broker-process.ts';

describe('advertised.listeners parsing', () => {
  it('takes the PLAINTEXT address; an empty host is the bind host; IPv6 in brackets', () => {
    assert.deepEqual(parseAdvertisedListeners('PLAINTEXT://127.0.0.1:19300', '0.0.0.0'), {
      host: '127.0.0.1',
      port: 19300,
    });
    assert.deepEqual(parseAdvertisedListeners('plaintext://:9092', '127.0.0.2'), {
      host: '127.0.0.2',
      port: 9092,
    });
    assert.deepEqual(parseAdvertisedListeners(' PLAINTEXT://[::1]:9093 ', '127.0.0.1'), {
      host: '::1',
      port: 9093,
    });
    assert.deepEqual(parseAdvertisedListeners('PLAINTEXT://kafka-1.example:29092', '127.0.0.1'), {
      host: 'kafka-1.example',
      port: 29092,
    });
  });

  it('refuses what Kafka refuses or kstack cannot serve, naming the fault', () => {
    const bad: [string, RegExp][] = [
      ['', /empty/],
      ['127.0.0.1:9092', /not NAME:\/\/HOST:PORT/],
      ['PLAINTEXT://127.0.0.1', /not NAME:\/\/HOST:PORT/],
      ['PLAINTEXT://127.0.0.1:0', /not 1-65535/],
      ['PLAINTEXT://127.0.0.1:70000', /not 1-65535/],
      ['PLAINTEXT://0.0.0.0:9092', /non-routable/],
      ['SSL://127.0.0.1:9093', /listener SSL is not one kstack has/],
      ['PLAINTEXT://a:1,PLAINTEXT://b:2', /given twice/],
    ];
    for (const [value, message] of bad)
      assert.throws(() => parseAdvertisedListeners(value, 'h'), message, value);
  });

  it('kstack up takes it from --override and refuses a bad one with usage status', () => {
    const options = parseUpArgs([
      '--port',
      '19395',
      '--override',
      'advertised.listeners=PLAINTEXT://127.0.0.1:19396',
    ]);
    assert.ok(options !== 'help');
    assert.equal(options.port, 19395);
    assert.deepEqual(options.advertised, { host: '127.0.0.1', port: 19396 });
    const plain = parseUpArgs(['--port', '19395']);
    assert.ok(plain !== 'help');
    assert.equal(plain.advertised, undefined);
    assert.throws(
      () => parseUpArgs(['--override', 'advertised.listeners=EXTERNAL://127.0.0.1:1']),
      (e: unknown) =>
        e instanceof UsageError && /--override advertised.listeners: listener EXTERNAL/.test(e.message),
    );
  });
});

// Ports from this engineer's development range (19300-19399).
const BROKER_PORT = 19395;
const ADVERTISED_PORT = 19396;

describe('kstack up advertising another address', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess(BROKER_PORT, undefined, [
    '--override',
    `advertised.listeners=PLAINTEXT://127.0.0.1:${ADVERTISED_PORT}`,
  ]);
  const proxy = new FaultProxy({
    listenHost: '127.0.0.1',
    listenPort: ADVERTISED_PORT,
    upstreamHost: '127.0.0.1',
    upstreamPort: BROKER_PORT,
    plan: new FaultPlan(),
  });
  before(async () => {
    await proxy.listen();
    await broker.start();
  });
  after(async () => {
    await proxy.close();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('prints both addresses and gives clients the advertised one in Metadata', async () => {
    assert.match(
      broker.output,
      new RegExp(
        `listening on 127\\.0\\.0\\.1:${BROKER_PORT}; bootstrap servers \\(advertised\\.listeners\\): 127\\.0\\.0\\.1:${ADVERTISED_PORT}`,
      ),
    );
    // Bootstrapping on the broker's own port: kafkajs then connects where Metadata says.
    const kafka = new Kafka({
      clientId: 'advertised-test',
      brokers: [`127.0.0.1:${BROKER_PORT}`],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((b) => [b.nodeId, b.host, b.port]),
        [[1, '127.0.0.1', ADVERTISED_PORT]],
      );
      await admin.createTopics({ topics: [{ topic: 'advertised', numPartitions: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: 'advertised', messages: [{ value: 'through the proxy' }] });
    await producer.disconnect();
    assert.equal(sent?.baseOffset, '0');
  });
});
