/**
 * Addresses for clients elsewhere (issue 20: "advertise addresses that work from the host and, when
 * asked, from containers"): `advertisedHost` makes the broker tell clients another host name, as
 * `host.docker.internal` is for a container. No container runs here, so the name is resolved the
 * way a container's resolver would, without /etc/hosts: kafkajs' socketFactory maps it to
 * 127.0.0.1 and records every host the client connects to. The client bootstraps on 127.0.0.1,
 * is told the advertised name, and produces and reads through it. `containerHost` adds a second
 * listener (Kafka's two listeners for host and containers): a host client (whose resolver does not
 * know the container name) and a container client are each told their own listener, write through
 * it, before and after reset(). `serve.ts --container-host` gives other languages the same.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import { probeMetadata } from '../../reference/probe.ts';
import { KafkaTestingError, startKafka } from '../../src/testing/index.ts';

const ADVERTISED = 'kafka.containers.test';
const ROOT = join(import.meta.dirname, '..', '..');

test('advertisedHost: clients are told that name and reach the broker through it', async () => {
  const kafka = await startKafka({ advertisedHost: ADVERTISED, topics: [{ name: 'orders', partitions: 1 }] });
  const asked: string[] = [];
  // A resolver that knows the advertised name (as a container's does), nothing else.
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    asked.push(host);
    return connect({ host: host === ADVERTISED ? '127.0.0.1' : host, port }, onConnect);
  };
  const client = new Kafka({
    clientId: 'addresses',
    brokers: kafka.bootstrapAddresses,
    socketFactory,
    logLevel: logLevel.NOTHING,
  });
  const admin = client.admin();
  const producer = client.producer();
  try {
    assert.equal(kafka.advertisedHost, ADVERTISED);
    assert.deepEqual(kafka.bootstrapAddresses, [`127.0.0.1:${kafka.bootstrapAddresses[0]?.split(':')[1]}`]);
    await Promise.all([admin.connect(), producer.connect()]);
    const { brokers } = await admin.describeCluster();
    assert.deepEqual(
      brokers.map((b) => b.host),
      [ADVERTISED],
      'Metadata names the advertised host',
    );
    await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'through the name' }] });
    assert.equal((await admin.fetchTopicOffsets('orders'))[0]?.high, '1');
    assert.equal(asked[0], '127.0.0.1', 'bootstrap on the address given');
    assert.ok(asked.includes(ADVERTISED), `then the advertised name (asked: ${asked.join(', ')})`);
  } finally {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
    await kafka.stop();
  }
});

test('advertisedHost: a bad name, and Connect on one broker, are refused by name', async () => {
  const invalid = (pattern: RegExp) => (error: unknown) =>
    error instanceof KafkaTestingError && error.code === 'OPTION_INVALID' && pattern.test(error.message);
  await assert.rejects(startKafka({ advertisedHost: 'bad host:1' }), invalid(/advertisedHost: 'bad host:1'/));
  await assert.rejects(
    startKafka({ brokers: 3, advertisedHost: 'bad_name' }),
    invalid(/advertisedHost: 'bad_name'/),
  );
  await assert.rejects(
    startKafka({ connect: true, advertisedHost: ADVERTISED }),
    invalid(/advertisedHost is not served with connect on one broker/),
  );
});

test('three brokers with advertisedHost: clients are told the name on every node, the nodes replicate without it, across reset()', async () => {
  // The Schema Registry is a client the harness runs itself: it bootstraps on the internal listener,
  // so it starts (and restarts on reset) although this process' resolver does not know the name.
  const kafka = await startKafka({
    brokers: 3,
    advertisedHost: ADVERTISED,
    schemaRegistry: true,
    topics: [{ name: 'orders', partitions: 3, replicationFactor: 3 }],
  });
  const ports = kafka.bootstrapAddresses.map((address) => address.split(':')[1]);
  try {
    assert.equal(kafka.advertisedHost, ADVERTISED);
    assert.deepEqual(
      kafka.bootstrapAddresses,
      ports.map((port) => `127.0.0.1:${port}`),
      'bootstrap on host',
    );
    for (const round of ['before reset()', 'after reset()']) {
      const asked: string[] = [];
      // A resolver that knows the advertised name (as a container's does); any other name fails.
      const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
        asked.push(`${host}:${port}`);
        return connect({ host: host === ADVERTISED ? '127.0.0.1' : host, port }, onConnect);
      };
      const client = new Kafka({
        clientId: `advertised-3-${round}`,
        brokers: kafka.bootstrapAddresses,
        socketFactory,
        logLevel: logLevel.NOTHING,
      });
      const admin = client.admin();
      const producer = client.producer();
      await Promise.all([admin.connect(), producer.connect()]);
      try {
        const { brokers } = await admin.describeCluster();
        assert.deepEqual(
          brokers.map((b) => `${b.host}:${b.port}`).sort(),
          ports.map((port) => `${ADVERTISED}:${port}`).sort(),
          `${round}: Metadata names the advertised host with each node's proxy port`,
        );
        // acks=all at min ISR 2: the followers fetched these records over the internal listener.
        await producer.send({
          topic: 'orders',
          acks: -1,
          messages: [0, 1, 2].map((partition) => ({ partition, value: round })),
        });
        const offsets = await admin.fetchTopicOffsets('orders');
        assert.deepEqual(
          offsets.map((o) => o.high),
          ['1', '1', '1'],
          `${round}: one record on each partition`,
        );
        const [topic] = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics;
        for (const partition of topic?.partitions ?? []) {
          assert.equal(
            partition.isr.length,
            3,
            `${round}: partition ${partition.partitionId} keeps its full ISR`,
          );
        }
        const own = new Set([...kafka.bootstrapAddresses, ...ports.map((port) => `${ADVERTISED}:${port}`)]);
        assert.deepEqual(
          asked.filter((address) => !own.has(address)),
          [],
          `${round}: the client went to the bootstrap addresses and the advertised name only`,
        );
        assert.ok(
          asked.some((address) => address.startsWith(`${ADVERTISED}:`)),
          `${round}: it used the name`,
        );
      } finally {
        await Promise.all([admin.disconnect(), producer.disconnect()]);
      }
      const subjects = await fetch(`${kafka.schemaRegistryUrl}/subjects`);
      assert.equal(subjects.status, 200, `${round}: the registry serves`);
      await kafka.reset();
    }
    // The client listener stays behind the fault proxies: node 1 isolated from clients answers no
    // Metadata there, healed it does.
    const port = Number(ports[0]);
    kafka.broker(1).isolate({ from: 'clients' });
    await assert.rejects(probeMetadata('127.0.0.1', port, 5_000), 'isolated from clients');
    kafka.broker(1).heal();
    assert.equal((await probeMetadata('127.0.0.1', port, 30_000)).length, 3, 'healed: answered');
  } finally {
    await kafka.stop();
  }
});

const CONTAINER = 'host.docker.internal';

test('containerHost: host clients and container clients at once, each told its own listener, across reset()', async () => {
  // Containers reach it with host '0.0.0.0'; the tests bind 127.0.0.1 only (team rules).
  const kafka = await startKafka({
    containerHost: CONTAINER,
    topics: [{ name: 'orders', partitions: 1 }],
  });
  /** A kafkajs client whose resolver knows `name` only when `resolves` (a container's knows CONTAINER). */
  const clientOf = (clientId: string, brokers: string[], resolves: boolean) => {
    const asked: string[] = [];
    const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
      asked.push(`${host}:${port}`);
      return connect({ host: resolves && host === CONTAINER ? '127.0.0.1' : host, port }, onConnect);
    };
    const client = new Kafka({ clientId, brokers, socketFactory, logLevel: logLevel.NOTHING });
    return { client, asked };
  };
  try {
    const hostPort = Number(kafka.bootstrapAddresses[0]?.split(':')[1]);
    const containerPort = Number(kafka.containerBootstrapAddresses[0]?.split(':')[1]);
    assert.notEqual(hostPort, containerPort);
    assert.deepEqual(kafka.containerBootstrapAddresses, [`${CONTAINER}:${containerPort}`]);
    for (const round of ['before reset()', 'after reset()']) {
      // The host's client cannot resolve CONTAINER: were it told that name, it could not go on.
      const onHost = clientOf(`host-${round}`, [`127.0.0.1:${hostPort}`], false);
      const inContainer = clientOf(`container-${round}`, kafka.containerBootstrapAddresses, true);
      for (const [who, { client, asked }, host, port] of [
        ['host', onHost, '127.0.0.1', hostPort],
        ['container', inContainer, CONTAINER, containerPort],
      ] as const) {
        const admin = client.admin();
        const producer = client.producer();
        await Promise.all([admin.connect(), producer.connect()]);
        try {
          const { brokers } = await admin.describeCluster();
          assert.deepEqual(
            brokers.map((b) => `${b.host}:${b.port}`),
            [`${host}:${port}`],
            `${round}: Metadata tells the ${who} client its own listener`,
          );
          await producer.send({ topic: 'orders', acks: -1, messages: [{ value: who }] });
        } finally {
          await Promise.all([admin.disconnect(), producer.disconnect()]);
        }
        assert.deepEqual(
          [...new Set(asked)],
          [`${host}:${port}`],
          `${round}: the ${who} client only went there`,
        );
      }
      const admin = onHost.client.admin();
      await admin.connect();
      assert.equal((await admin.fetchTopicOffsets('orders'))[0]?.high, '2', `${round}: both records written`);
      await admin.disconnect();
      await kafka.reset();
    }
  } finally {
    await kafka.stop();
  }
});

test('containerHost: a bad name and listeners in config are refused by name', async () => {
  const invalid = (pattern: RegExp) => (error: unknown) =>
    error instanceof KafkaTestingError && error.code === 'OPTION_INVALID' && pattern.test(error.message);
  await assert.rejects(startKafka({ containerHost: 'bad host' }), invalid(/containerHost: 'bad host'/));
  await assert.rejects(
    startKafka({ containerHost: CONTAINER, config: { listeners: 'PLAINTEXT://127.0.0.1:0' } }),
    invalid(/leave listeners out of config/),
  );
});

test('serve.ts --container-host: the ready line and GET /cluster name the containers listener, which a container client is told', async () => {
  const child = spawn(
    process.execPath,
    // Containers would need --host 0.0.0.0 too; the tests bind 127.0.0.1 only (team rules).
    [join(ROOT, 'src/testing/serve.ts'), '--container-host', CONTAINER],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const ready = JSON.parse(line) as {
      bootstrapServers: string;
      controlUrl: string;
      containerBootstrapServers: string;
    };
    const port = Number(ready.containerBootstrapServers.split(':')[1]);
    assert.equal(ready.containerBootstrapServers, `${CONTAINER}:${port}`);
    assert.match(ready.bootstrapServers, /^127\.0\.0\.1:\d+$/, 'host clients keep 127.0.0.1');
    const cluster = (await (await fetch(`${ready.controlUrl}/cluster`)).json()) as Record<string, unknown>;
    assert.equal(cluster.containerBootstrapServers, ready.containerBootstrapServers);
    // A container's resolver knows the name; the broker tells this client that name and port.
    const socketFactory: ISocketFactory = ({ host, port: to, onConnect }) =>
      connect({ host: host === CONTAINER ? '127.0.0.1' : host, port: to }, onConnect);
    const admin = new Kafka({
      clientId: 'serve-container',
      brokers: [ready.containerBootstrapServers],
      socketFactory,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const { brokers } = await admin.describeCluster();
      assert.deepEqual(
        brokers.map((b) => `${b.host}:${b.port}`),
        [ready.containerBootstrapServers],
      );
    } finally {
      await admin.disconnect();
    }
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'serve.ts exits 0 on SIGTERM');
  }
});

test('three brokers with containerHost: host and container clients each told only their own listener, both behind the fault proxies', async () => {
  const kafka = await startKafka({
    brokers: 3,
    containerHost: CONTAINER,
    topics: [{ name: 'orders', partitions: 1 }],
  });
  /** A kafkajs client whose resolver knows only `name` besides addresses (as its side's would). */
  const clientOf = (clientId: string, brokers: string[], name: string) => {
    const asked: string[] = [];
    const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
      asked.push(`${host}:${port}`);
      return connect({ host: host === name ? '127.0.0.1' : host, port }, onConnect);
    };
    return { asked, client: new Kafka({ clientId, brokers, socketFactory, logLevel: logLevel.NOTHING }) };
  };
  const portsOf = (addresses: readonly string[]) => addresses.map((address) => address.split(':')[1]);
  try {
    const hostSide = ['127.0.0.1', portsOf(kafka.bootstrapAddresses)] as const;
    const containerSide = [CONTAINER, portsOf(kafka.containerBootstrapAddresses)] as const;
    assert.deepEqual(
      kafka.containerBootstrapAddresses,
      containerSide[1].map((port) => `${CONTAINER}:${port}`),
    );
    for (const [who, [name, ports], brokers] of [
      ['host', hostSide, kafka.bootstrapAddresses],
      ['container', containerSide, kafka.containerBootstrapAddresses],
    ] as const) {
      const { asked, client } = clientOf(`addresses-${who}`, [...brokers], name);
      const admin = client.admin();
      const producer = client.producer();
      await Promise.all([admin.connect(), producer.connect()]);
      try {
        const { brokers: told } = await admin.describeCluster();
        assert.deepEqual(
          told.map((b) => `${b.host}:${b.port}`).sort(),
          ports.map((port) => `${name}:${port}`).sort(),
          `the ${who} client is told its own listener on every node`,
        );
        await producer.send({ topic: 'orders', acks: -1, messages: [{ value: who }] });
        const own = new Set([...brokers, ...ports.map((port) => `${name}:${port}`)]);
        assert.deepEqual(
          asked.filter((address) => !own.has(address)),
          [],
          `the ${who} client connected only to its own listener`,
        );
      } finally {
        await Promise.all([admin.disconnect(), producer.disconnect()]);
      }
    }
    // The containers' listener is behind the fault proxies too: a node isolated from clients
    // answers no container client either, until healed.
    const containerPort = Number(containerSide[1][0]);
    kafka.broker(1).isolate({ from: 'clients' });
    await assert.rejects(probeMetadata('127.0.0.1', containerPort, 5_000), 'isolated from container clients');
    kafka.broker(1).heal();
    assert.equal((await probeMetadata('127.0.0.1', containerPort, 30_000)).length, 3, 'healed: answered');
  } finally {
    await kafka.stop();
  }
});
