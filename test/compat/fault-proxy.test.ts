/**
 * The compat suite's fault-injecting proxy (compat/runner/fault-proxy.ts): frame splitting and request
 * headers from bytes, then a real `kstack up` behind the proxy with kafkajs producers: an armed cut
 * drops the answer to one Produce after the broker appended it, the client retries, and the log shows
 * a duplicate without idempotence and none with it. Unarmed clients pass through untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import {
  FaultPlan,
  FaultProxy,
  FRAME_BYTES_MAX,
  FrameSplitter,
  requestHeader,
} from '../../compat/runner/fault-proxy.ts';
import { BrokerProcess } from '../engine/broker-process.ts';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function requestBody(apiKey: number, correlationId: number, clientId: string | null): Buffer {
  const head = Buffer.alloc(10);
  head.writeInt16BE(apiKey, 0);
  head.writeInt16BE(9, 2);
  head.writeInt32BE(correlationId, 4);
  head.writeInt16BE(clientId === null ? -1 : Buffer.byteLength(clientId), 8);
  return Buffer.concat([head, Buffer.from(clientId ?? ''), Buffer.from([0, 1, 2])]);
}

describe('fault proxy framing', () => {
  it('splits frames across chunk boundaries and keeps each with its size prefix', () => {
    const one = frame(Buffer.from('first'));
    const two = frame(Buffer.from('second frame'));
    const stream = Buffer.concat([one, two]);
    const splitter = new FrameSplitter();
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 3) out.push(...splitter.push(stream.subarray(at, at + 3)));
    assert.deepEqual(out, [one, two]);
  });

  it('refuses a negative or oversized size, naming the limit', () => {
    const negative = Buffer.alloc(4);
    negative.writeInt32BE(-1);
    assert.throws(() => new FrameSplitter().push(negative), /FRAME_BYTES_MAX/);
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(FRAME_BYTES_MAX + 1);
    assert.throws(() => new FrameSplitter().push(huge), /FRAME_BYTES_MAX/);
  });

  it('reads the API key, correlation id and nullable client id of a request', () => {
    assert.deepEqual(requestHeader(frame(requestBody(0, 42, 'kstack-compat-x'))), {
      apiKey: 0,
      correlationId: 42,
      clientId: 'kstack-compat-x',
    });
    assert.deepEqual(requestHeader(frame(requestBody(3, 7, null))), {
      apiKey: 3,
      correlationId: 7,
      clientId: null,
    });
    assert.throws(() => requestHeader(frame(Buffer.from([0, 0]))), /too short/);
  });

  it('takes armed cuts by client id prefix, and only as many as armed', () => {
    const plan = new FaultPlan();
    plan.arm('kstack-compat-s-java-', 1);
    assert.equal(plan.take('kstack-compat-s-kafkajs-0-0-x'), undefined);
    assert.equal(plan.take(null), undefined);
    assert.equal(plan.take('kstack-compat-s-java-2-0-x'), 'kstack-compat-s-java-');
    assert.equal(plan.take('kstack-compat-s-java-2-0-x'), undefined);
    plan.recordCut('kstack-compat-s-java-');
    assert.equal(plan.disarm('kstack-compat-s-java-'), 1);
    assert.equal(plan.made('kstack-compat-s-java-'), 0);
    assert.throws(() => plan.arm('p', 0), /whole number/);
  });
});

// Ports from this engineer's development range (19300-19399).
const BROKER_PORT = 19397;
const PROXY_PORT = 19398;

describe('fault proxy in front of kstack up', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess(BROKER_PORT, undefined, [
    '--override',
    `advertised.listeners=PLAINTEXT://127.0.0.1:${PROXY_PORT}`,
  ]);
  const plan = new FaultPlan();
  const proxy = new FaultProxy({
    listenHost: '127.0.0.1',
    listenPort: PROXY_PORT,
    upstreamHost: '127.0.0.1',
    upstreamPort: BROKER_PORT,
    plan,
  });
  const kafka = (clientId: string) =>
    new Kafka({ clientId, brokers: [`127.0.0.1:${PROXY_PORT}`], logLevel: logLevel.NOTHING });

  before(async () => {
    await proxy.listen();
    await broker.start();
    const admin = kafka('setup').admin();
    await admin.connect();
    await admin.createTopics({
      topics: ['plain', 'idempotent', 'untouched'].map((topic) => ({ topic, numPartitions: 1 })),
      waitForLeaders: true,
    });
    await admin.disconnect();
  });
  after(async () => {
    await proxy.close();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  async function endOffset(topic: string): Promise<string | undefined> {
    const admin = kafka('offsets').admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic))[0]?.high;
    } finally {
      await admin.disconnect();
    }
  }

  async function sendOne(clientId: string, topic: string, idempotent: boolean): Promise<string | undefined> {
    const producer = kafka(clientId).producer({
      idempotent,
      maxInFlightRequests: idempotent ? 1 : undefined,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    await producer.connect();
    try {
      const [sent] = await producer.send({ topic, acks: -1, messages: [{ value: 'once?' }] });
      return sent?.baseOffset;
    } finally {
      await producer.disconnect();
    }
  }

  it('without idempotence, the retried batch is written twice', async () => {
    plan.arm('cut-plain', 1);
    const offset = await sendOne('cut-plain-1', 'plain', false);
    assert.equal(plan.disarm('cut-plain'), 1, 'the proxy cut one Produce answer');
    assert.equal(offset, '1', 'the retry was appended after the first copy');
    assert.equal(await endOffset('plain'), '2');
  });

  it('with idempotence, the retry is recognised and nothing is written twice', async () => {
    plan.arm('cut-idempotent', 1);
    const offset = await sendOne('cut-idempotent-1', 'idempotent', true);
    assert.equal(plan.disarm('cut-idempotent'), 1, 'the proxy cut one Produce answer');
    assert.equal(offset, '0', 'the retry is answered with the first copy’s offset');
    assert.equal(await endOffset('idempotent'), '1');
  });

  it('a client not armed passes through untouched', async () => {
    plan.arm('someone-else', 1);
    assert.equal(await sendOne('bystander', 'untouched', false), '0');
    assert.equal(await endOffset('untouched'), '1');
    assert.equal(plan.disarm('someone-else'), 0);
  });
});
