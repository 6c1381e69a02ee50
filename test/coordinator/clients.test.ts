/**
 * Consumer groups, committed offsets and idempotent producers with real clients we did
 * not write, against `kstack up` as a separate process: librdkafka 2.0.2 (Debian's
 * confluent_kafka, one process per member) and kafkajs 2.2.4.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Consumer as PlatformaticConsumer, stringDeserializers } from '@platformatic/kafka';
import { type Consumer, Kafka, logLevel, PartitionAssigners } from 'kafkajs';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { BrokerProcess, connect } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const PYTHON = '/usr/bin/python3';
const MEMBER_SCRIPT = join(import.meta.dirname, 'python', 'group_member.py');
/** librdkafka members run with session.timeout.ms=6000; reassignment must come within it (plus a rebalance). */
const SESSION_TIMEOUT_MS = 6000;

interface MemberEvent {
  event: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One librdkafka group member in its own process (test/coordinator/python/group_member.py). */
class PythonMember {
  readonly events: MemberEvent[] = [];
  readonly #child: ChildProcess;
  stderr = '';

  constructor(bootstrap: string, group: string, topic: string, clientId: string, instanceId?: string) {
    const args = [MEMBER_SCRIPT, bootstrap, group, topic, clientId, ...(instanceId ? [instanceId] : [])];
    this.#child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line) as MemberEvent);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  /** Partitions held now (librdkafka's eager protocol: revoke all, then assign all). */
  assignment(): number[] {
    const last = this.events.filter((e) => e.event === 'assign' || e.event === 'revoke').at(-1);
    return last?.event === 'assign' ? (last.partitions ?? []) : [];
  }

  values(): string[] {
    return this.events.filter((e) => e.event === 'msg').map((e) => e.v as string);
  }

  countOf(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    return exited;
  }
}

/** A kafkajs member that speaks the `roundrobin` protocol name librdkafka uses, so they share a group. */
function kafkajsMember(kafka: Kafka, group: string, consumed: string[], assigned: { partitions: number[] }) {
  const consumer = kafka.consumer({
    groupId: group,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: 500,
    partitionAssigners: [(config) => ({ ...PartitionAssigners.roundRobin(config), name: 'roundrobin' })],
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    assigned.partitions = Object.values(event.payload.memberAssignment).flat();
  });
  return {
    consumer,
    async run(topic: string) {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 100,
        eachMessage: async ({ message }) => {
          consumed.push(message.value?.toString() ?? '');
        },
      });
    },
  };
}

async function produce(kafka: Kafka, topic: string, values: string[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  } finally {
    await producer.disconnect();
  }
}

function range(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

function missing(expected: string[], seen: Iterable<string>): string[] {
  const have = new Set(seen);
  return expected.filter((v) => !have.has(v));
}

describe('consumer groups with librdkafka and kafkajs', { timeout: 300_000 }, () => {
  const broker = new BrokerProcess(19710);
  const kafka = new Kafka({
    brokers: [broker.bootstrap],
    clientId: 'groups-test',
    logLevel: logLevel.NOTHING,
  });
  const members: PythonMember[] = [];
  let kafkajsConsumer: Consumer | null = null;

  before(async () => {
    await broker.start();
  });
  after(async () => {
    for (const member of members) await member.stop('SIGKILL');
    await kafkajsConsumer?.disconnect().catch(() => {});
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('three mixed members share 6 partitions; a leaving and a killed member are replaced in time', async () => {
    const topic = 'groups-mixed';
    const group = 'mixed-group';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    await admin.disconnect();

    const a = new PythonMember(broker.bootstrap, group, topic, 'librdkafka-a');
    const b = new PythonMember(broker.bootstrap, group, topic, 'librdkafka-b');
    members.push(a, b);
    const kafkajsValues: string[] = [];
    const kafkajsAssigned = { partitions: [] as number[] };
    const c = kafkajsMember(kafka, group, kafkajsValues, kafkajsAssigned);
    kafkajsConsumer = c.consumer;
    await c.run(topic);
    const allStable = () => {
      const sets = [a.assignment(), b.assignment(), kafkajsAssigned.partitions];
      const union = sets.flat();
      return sets.every((s) => s.length > 0) && union.length === 6 && new Set(union).size === 6;
    };
    await waitUntil('three members holding 6 distinct partitions', allStable, 60_000);

    // Generation with three members: every message consumed exactly once.
    const first = range('first', 300);
    await produce(kafka, topic, first);
    const seenAll = () => [...a.values(), ...b.values(), ...kafkajsValues];
    await waitUntil('the first 300 messages', () => missing(first, seenAll()).length === 0);
    const firstSeen = seenAll().filter((v) => v.startsWith('first-'));
    assert.equal(firstSeen.length, first.length, 'no message consumed twice within a generation');

    // kafkajs leaves (LeaveGroup): its partitions go to the librdkafka members.
    await c.consumer.disconnect();
    kafkajsConsumer = null;
    const leftAt = Date.now();
    await waitUntil('two members holding all 6 partitions', () => {
      const union = [...a.assignment(), ...b.assignment()];
      return union.length === 6 && new Set(union).size === 6;
    });
    assert.ok(Date.now() - leftAt < SESSION_TIMEOUT_MS + 5000, 'reassigned promptly after LeaveGroup');
    const second = range('second', 300);
    await produce(kafka, topic, second);
    await waitUntil(
      'the second 300 messages',
      () => missing(second, [...a.values(), ...b.values()]).length === 0,
    );

    // b is killed (no LeaveGroup): its session expires and a takes everything.
    await b.stop('SIGKILL');
    const killedAt = Date.now();
    await waitUntil('one member holding all 6 partitions', () => a.assignment().length === 6, 30_000);
    const reassignedMs = Date.now() - killedAt;
    assert.ok(reassignedMs < 2 * SESSION_TIMEOUT_MS, `reassigned after ${reassignedMs} ms`);
    const third = range('third', 300);
    await produce(kafka, topic, third);
    await waitUntil('the third 300 messages', () => missing(third, a.values()).length === 0);
    assert.deepEqual(missing([...first, ...second, ...third], [...seenAll(), ...b.values()]), []);
    await a.stop('SIGTERM');
  });

  it('static members (group.instance.id) rejoin without a rebalance', async () => {
    const topic = 'groups-static';
    const group = 'static-group';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    await admin.disconnect();
    const s1 = new PythonMember(broker.bootstrap, group, topic, 'static-1', 'instance-1');
    const s2 = new PythonMember(broker.bootstrap, group, topic, 'static-2', 'instance-2');
    members.push(s1, s2);
    await waitUntil('two static members holding 4 partitions', () => {
      const union = [...s1.assignment(), ...s2.assignment()];
      return s1.assignment().length > 0 && s2.assignment().length > 0 && new Set(union).size === 4;
    });
    const before = s1.assignment();
    const s2Assigns = s2.countOf('assign');
    await s1.stop('SIGKILL');
    const again = new PythonMember(broker.bootstrap, group, topic, 'static-1', 'instance-1');
    members.push(again);
    await waitUntil('the restarted static member gets its partitions', () => again.assignment().length > 0);
    assert.deepEqual(again.assignment(), before, 'same partitions as before the restart');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(s2.countOf('assign'), s2Assigns, 'the other member saw no rebalance');
    assert.equal(s2.countOf('revoke'), 0);
    const values = range('static', 40);
    await produce(kafka, topic, values);
    await waitUntil(
      'both static members consume',
      () => missing(values, [...again.values(), ...s2.values()]).length === 0,
    );
  });
  it('@platformatic/kafka (flexible JoinGroup/SyncGroup/OffsetCommit/OffsetFetch) joins, consumes and commits', async () => {
    const topic = 'groups-platformatic';
    await produce(kafka, topic, range('flex', 5));
    const consumer = new PlatformaticConsumer({
      groupId: 'platformatic-group',
      clientId: 'platformatic',
      bootstrapBrokers: [broker.bootstrap],
      deserializers: stringDeserializers,
    });
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: 500,
      });
      const values: string[] = [];
      for await (const message of stream) {
        values.push(String(message.value));
        await message.commit();
        if (values.length === 5) break;
      }
      assert.deepEqual(values, range('flex', 5));
      const committed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0] }] });
      assert.deepEqual(committed.get(topic), [5n]);
      await stream.close();
    } finally {
      await consumer.close(true);
    }
  });
});

describe('committed offsets survive a broker restart', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess(19711);
  after(async () => {
    await broker.stop();
    broker.removeData();
  });

  it('a group resumes at its committed offsets after the broker restarts', async () => {
    await broker.start();
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'restart-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'resume', numPartitions: 1 }] });
    await produce(kafka, 'resume', range('m', 100));
    await admin.setOffsets({
      groupId: 'resumer',
      topic: 'resume',
      partitions: [{ partition: 0, offset: '60' }],
    });
    await admin.disconnect();
    // librdkafka (kcat -G) consumes from the committed offset and commits as it goes.
    const firstRun = await runTool(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-G',
        'resumer',
        '-X',
        'auto.offset.reset=earliest',
        '-e',
        '-f',
        '%o\n',
        '-c',
        '20',
        'resume',
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(firstRun.code, 0, firstRun.stderr);
    assert.equal(firstRun.stdout.trim().split('\n')[0], '60');

    assert.equal(await broker.stop(), 0, broker.output);
    await broker.start();
    const restarted = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'restart-test',
      logLevel: logLevel.NOTHING,
    });
    const admin2 = restarted.admin();
    await admin2.connect();
    const offsets = await admin2.fetchOffsets({ groupId: 'resumer', topics: ['resume'] });
    await admin2.disconnect();
    const committed = Number(offsets[0]?.partitions[0]?.offset);
    assert.ok(committed >= 60 && committed <= 80, `committed ${committed}`);
    const consumed: number[] = [];
    const consumer = restarted.consumer({ groupId: 'resumer', sessionTimeout: SESSION_TIMEOUT_MS });
    await consumer.connect();
    await consumer.subscribe({ topics: ['resume'] });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.push(Number(message.offset)) });
    await waitUntil('the rest of the partition', () => consumed.includes(99), 60_000);
    await consumer.disconnect();
    assert.equal(consumed[0], committed, 'resumes exactly at the committed offset');
  });
});

describe('idempotent producers', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess(19712);
  before(async () => {
    await broker.start();
  });
  after(async () => {
    await broker.stop();
    broker.removeData();
  });

  async function countRecords(topic: string): Promise<string[]> {
    const result = await runTool('kcat', [
      '-b',
      broker.bootstrap,
      '-C',
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-f',
      '%s\n',
    ]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '');
  }

  it('kafkajs retries a batch whose answer was lost with the connection: no duplicate', async () => {
    let cut = false;
    // Cut the connection once, right after a Produce request went out and before its answer arrives.
    const socketFactory = ({
      host,
      port,
      onConnect,
    }: {
      host: string;
      port: number;
      onConnect: () => void;
    }): Socket => {
      const socket = net.connect({ host, port }, onConnect);
      const write = socket.write.bind(socket);
      let produceSent = false;
      socket.write = ((chunk: Uint8Array, ...rest: never[]) => {
        const buf = Buffer.from(chunk);
        if (!cut && buf.length >= 6 && buf.readInt16BE(4) === 0) produceSent = true;
        return write(chunk, ...rest);
      }) as typeof socket.write;
      // Swallow the answer: kafkajs's own data listener never sees it.
      const on = socket.on.bind(socket);
      socket.on = ((event: string, listener: (...args: unknown[]) => void) => {
        if (event !== 'data') return on(event, listener);
        return on('data', (data: Buffer) => {
          if (produceSent && !cut) {
            cut = true;
            socket.destroy(new Error('connection cut by the test'));
            return;
          }
          listener(data);
        });
      }) as typeof socket.on;
      return socket;
    };
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'idempotent-test',
      logLevel: logLevel.NOTHING,
      socketFactory,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'idem-kafkajs', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'idem-kafkajs', messages: range('once', 10).map((value) => ({ value })) });
    await producer.disconnect();
    assert.equal(cut, true, 'the connection was cut during the produce');
    assert.deepEqual(await countRecords('idem-kafkajs'), range('once', 10));
  });

  it('librdkafka with enable.idempotence=true produces every record once', async () => {
    const script = [
      'import sys',
      'from confluent_kafka import Producer',
      "p = Producer({'bootstrap.servers': sys.argv[1], 'enable.idempotence': True, 'linger.ms': 5})",
      "for i in range(500): p.produce('idem-rdkafka', value=('r-%d' % i).encode())",
      'assert p.flush(30) == 0',
    ].join('\n');
    const result = await runTool(PYTHON, ['-c', script, broker.bootstrap], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((await countRecords('idem-rdkafka')).sort(), range('r', 500).sort());
  });
  /** One Produce v7 (acks=-1) of `batch` to partition 0 over a fresh connection; the partition's answer. */
  async function rawProduce(
    topic: string,
    batch: Uint8Array,
  ): Promise<{ errorCode: number; baseOffset: bigint }> {
    const socket = await connect(broker.port);
    const request = encodeRequest(
      { requestApiKey: 0, requestApiVersion: 7, correlationId: 1, clientId: 'raw-producer' },
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      },
    );
    const frame = await new Promise<Buffer>((resolve, reject) => {
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0))
          resolve(received.subarray(4));
      });
      socket.once('error', reject);
      socket.write(request);
    });
    socket.destroy();
    const body = decodeResponse(0, 7, frame).body as {
      responses: { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[];
    };
    const answer = body.responses[0]?.partitionResponses[0];
    assert.ok(answer !== undefined);
    return answer;
  }

  it('deduplication survives a broker crash: a retried batch gets its original offset', async () => {
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'idempotent-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'idem-restart', numPartitions: 1 }] });
    await admin.disconnect();
    const batch = (baseSequence: number, count: number) =>
      encodeRecordBatch({
        producerId: 424_242,
        producerEpoch: 0,
        baseSequence,
        records: Array.from({ length: count }, (_, i) => ({
          timestamp: Date.now(),
          key: null,
          value: Buffer.from(`seq-${baseSequence + i}`),
        })),
      });
    const first = await batch(0, 3);
    const second = await batch(3, 2);
    const written = await rawProduce('idem-restart', first);
    assert.equal(written.errorCode, 0);
    assert.equal(written.baseOffset, 0n);
    assert.equal((await rawProduce('idem-restart', second)).baseOffset, 3n);
    assert.equal((await rawProduce('idem-restart', first)).baseOffset, 0n, 'a retry before the crash');

    assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
    await broker.start();
    const again = await rawProduce('idem-restart', second);
    assert.equal(again.errorCode, 0);
    assert.equal(again.baseOffset, 3n, 'the retry after the crash gets the original offset');
    const gap = await rawProduce('idem-restart', await batch(9, 1));
    assert.equal(gap.errorCode, 45, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.deepEqual(await countRecords('idem-restart'), ['seq-0', 'seq-1', 'seq-2', 'seq-3', 'seq-4']);
  });
});

const REFERENCE = join(import.meta.dirname, '..', '..', 'reference');
const KAFKA_VERSION = /<kafka.version>(.*)<\/kafka.version>/.exec(
  readFileSync(join(REFERENCE, 'pom.xml'), 'utf8'),
)?.[1];
const KAFKA_LIBS = join(homedir(), '.cache', 'kstack', `kafka-${KAFKA_VERSION}`, 'libs');

describe("Kafka's kafka-consumer-groups tool", { timeout: 180_000 }, () => {
  before(() => {
    // Not a skip: a missing tool is a failure that says how to install it.
    assert.ok(existsSync(KAFKA_LIBS), `Apache Kafka's jars are missing (${KAFKA_LIBS}): run npm run setup`);
  });
  const broker = new BrokerProcess(19715);
  const tool = (...args: string[]) =>
    runTool(
      join(REFERENCE, 'bin', 'kafka-consumer-groups'),
      ['--bootstrap-server', broker.bootstrap, ...args],
      {
        timeoutMs: 90_000,
      },
    );
  after(async () => {
    await broker.stop();
    broker.removeData();
  });

  it('lists, describes (members, assignments, lag) and deletes a group', async () => {
    await broker.start();
    const produced = await runTool('kcat', ['-b', broker.bootstrap, '-P', '-t', 'described', '-K', ':'], {
      input: 'a:1\nb:2\nc:3\n',
    });
    assert.equal(produced.code, 0, produced.stderr);
    const member = new PythonMember(broker.bootstrap, 'described-group', 'described', 'member-x');
    try {
      await waitUntil('three records consumed', () => member.values().length === 3);
      const listed = await tool('--list');
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^described-group$/m);
      const described = await tool('--describe', '--group', 'described-group');
      assert.equal(described.code, 0, described.stderr);
      // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
      assert.match(
        described.stdout,
        /described-group\s+described\s+0\s+3\s+3\s+0\s+member-x-\S+\s+\/127\.0\.0\.1\s+member-x/,
      );
      const state = await tool('--describe', '--group', 'described-group', '--state');
      assert.match(state.stdout, /described-group\s+127\.0\.0\.1:19715\s+\(1\)\s+range\s+Stable\s+1/);
    } finally {
      await member.stop('SIGTERM');
    }
    const deleted = await tool('--delete', '--group', 'described-group');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /successful/);
    assert.doesNotMatch((await tool('--list')).stdout, /described-group/);
  });
});
