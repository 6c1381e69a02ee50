// The inter-broker listener (`inter.broker.listener.name`) on the 3-node cluster (ClusterNode in this
// process, real sockets and files): clients use CLIENT (SASL_PLAINTEXT, PLAIN, only alice), the nodes
// replicate through REPLICATION (SASL_PLAINTEXT, PLAIN, only the brokers' own user), with
// StandardAuthorizer on and only alice and broker super users. A follower that fetched through the
// first listener, or without logging in, or as anyone else, would never join the ISR and the
// acks=all produce at min.insync.replicas=3 would fail. The refusals at start are Kafka 4.1.1's
// messages (asked of `kafka-storage format` with the same settings).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ClusterNode, type ClusterNodeOptions } from '../../src/engine/cluster-node.ts';
import { interBrokerLink } from '../../src/security/inter-broker.ts';
import { ListenerConfigError, resolveListeners } from '../../src/security/listeners.ts';
import { saslClient } from '../../src/security/sasl-client.ts';
import { credentialFromSaltedPassword, ScramServer, saltPassword } from '../../src/security/scram.ts';

const HOST = '127.0.0.1';
const CLIENT_PORTS = [25900, 25901, 25902] as const;
const REPLICATION_PORTS = [25910, 25911, 25912] as const;
const CONTROLLER_PORTS = [25950, 25951, 25952] as const;
const CLUSTER_ID = 'aW50ZXJCcm9rZXJMaXN0ZW4';
/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const TOPIC = 'inter-broker-acks-all';
const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';

const address = (port: number): string => `${HOST}:${port}`;
let dataDir = '';
const nodes: ClusterNode[] = [];

function nodeConfig(index: number): Record<string, string> {
  return {
    listeners: `CLIENT://${address(CLIENT_PORTS[index]!)},REPLICATION://${address(REPLICATION_PORTS[index]!)}`,
    'listener.security.protocol.map': 'CLIENT:SASL_PLAINTEXT,REPLICATION:SASL_PLAINTEXT',
    'inter.broker.listener.name': 'REPLICATION',
    'sasl.enabled.mechanisms': 'PLAIN',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    'listener.name.client.plain.sasl.jaas.config': `${PLAIN_MODULE} required user_alice="alice-secret";`,
    'listener.name.replication.plain.sasl.jaas.config': `${PLAIN_MODULE} required username="broker" password="broker-secret" user_broker="broker-secret";`,
    'authorizer.class.name': STANDARD_AUTHORIZER,
    'super.users': 'User:alice;User:broker',
    'offsets.topic.replication.factor': '3',
  };
}

function nodeOptions(index: number, config: Record<string, string>): ClusterNodeOptions {
  return {
    nodeId: index + 1,
    clusterId: CLUSTER_ID,
    voters: CONTROLLER_PORTS.map((port, i) => ({ nodeId: i + 1, host: HOST, port })),
    host: HOST,
    port: CLIENT_PORTS[index]!,
    dataDir: join(dataDir, `node-${index + 1}`),
    config,
    log: { info() {}, warn() {} },
    onFatal: (error) => {
      throw error;
    },
  };
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kstack-inter-broker-'));
  for (let i = 0; i < 3; i++) nodes.push(new ClusterNode(nodeOptions(i, nodeConfig(i))));
  await Promise.all(nodes.map((node) => node.start()));
  await Promise.all(nodes.map((node) => node.registered));
  await waitFor('three unfenced brokers in every image', () =>
    nodes.every((node) => node.broker.metadata().aliveBrokers().length === 3),
  );
});

after(async () => {
  await Promise.all(nodes.map((node) => node.stop({ controlled: false })));
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

test('followers replicate through the SASL inter-broker listener: acks=all at min.insync.replicas=3', async () => {
  const kafka = new Kafka({
    clientId: 'inter-broker',
    brokers: CLIENT_PORTS.map(address),
    sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 20 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '3' }],
        },
      ],
      waitForLeaders: true,
    });
    const sent = await producer.send({
      topic: TOPIC,
      acks: -1,
      timeout: 30_000,
      messages: [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3 })),
    });
    assert.equal(sent.length, 3);
    for (const answer of sent) assert.equal(answer.errorCode, 0, JSON.stringify(answer));
    // Each node holds both records of each partition in its own log (leader and followers alike).
    for (const node of nodes)
      for (const partition of [0, 1, 2])
        assert.equal(
          node.broker.get(TOPIC, partition)?.logEndOffset,
          2n,
          `node ${node.nodeId} ${TOPIC}-${partition}`,
        );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

const twoListeners = resolveListeners(
  {
    listeners: 'PLAINTEXT://127.0.0.1:1,SASL_PLAINTEXT://127.0.0.1:2',
    securityProtocolMap: 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT',
  },
  HOST,
  1,
);
const lookupOf =
  (settings: Record<string, string>) =>
  (name: string): string | undefined =>
    settings[name];

test('refusals at start, with Kafka 4.1.1 messages', () => {
  const refused = (settings: Record<string, string>, message: string, listeners = twoListeners) =>
    assert.throws(
      () => interBrokerLink(listeners, lookupOf(settings), true),
      (error: Error) => error instanceof ListenerConfigError && error.message === message,
      JSON.stringify(settings),
    );
  refused(
    { 'inter.broker.listener.name': 'SASL_PLAINTEXT', 'security.inter.broker.protocol': 'SASL_PLAINTEXT' },
    'Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.',
  );
  refused(
    { 'inter.broker.listener.name': 'MISSING' },
    'Listener with name MISSING defined in inter.broker.listener.name not found in listener.security.protocol.map.',
  );
  const notDefined =
    'inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are PLAINTEXT,SASL_PLAINTEXT';
  refused(
    {
      'inter.broker.listener.name': 'INTERNAL',
      'listener.security.protocol.map':
        'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT',
    },
    notDefined,
  );
  refused({ 'security.inter.broker.protocol': 'SSL' }, notDefined);
  // No setting: the listener named PLAINTEXT, which a SASL-only broker lacks.
  const saslOnly = resolveListeners({ listeners: 'SASL_PLAINTEXT://127.0.0.1:2' }, HOST, 2);
  refused(
    {},
    'inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are SASL_PLAINTEXT',
    saslOnly,
  );
  const mechanismNotEnabled =
    'sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication';
  refused(
    { 'inter.broker.listener.name': 'SASL_PLAINTEXT', 'sasl.enabled.mechanisms': 'PLAIN' },
    mechanismNotEnabled,
  );
  refused(
    {
      'inter.broker.listener.name': 'SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    },
    mechanismNotEnabled,
  );
  // kstack's own refusal (Kafka fails the login later): the listener's JAAS config lacks the brokers' user.
  refused(
    {
      'inter.broker.listener.name': 'sasl_plaintext',
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.mechanism.inter.broker.protocol': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': `${PLAIN_MODULE} required user_alice="a";`,
    },
    'listener.name.sasl_plaintext.plain.sasl.jaas.config: the inter-broker listener SASL_PLAINTEXT logs in with PLAIN, so its JAAS config needs username="..." password="..." (the brokers\' own user)',
  );
  // A single broker does not replicate: no setting, no link; PLAINTEXT by name works on both.
  assert.equal(interBrokerLink(saslOnly, lookupOf({}), false), null);
  assert.deepEqual(interBrokerLink(twoListeners, lookupOf({}), true), { listenerName: 'PLAINTEXT' });
});

test('a ClusterNode with a bad inter-broker setting is refused before it opens a port', () => {
  const config = { ...nodeConfig(0), 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512' };
  assert.throws(
    () => new ClusterNode(nodeOptions(0, config)),
    /sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms/,
  );
});

test("the SCRAM-SHA-512 and SCRAM-SHA-256 client logs in to kstack's SCRAM server, and a wrong password fails", () => {
  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    const salt = Buffer.from('inter-broker-salt');
    const credential = credentialFromSaltedPassword(
      mechanism,
      salt,
      4096,
      saltPassword(mechanism, 'right', salt, 4096),
    );
    const exchange = (password: string): boolean => {
      const server = new ScramServer(mechanism, (user) => (user === 'broker' ? credential : undefined));
      const client = saslClient({ mechanism, username: 'broker', password });
      try {
        let token: Buffer | null = client.first();
        while (token !== null) token = client.next(server.evaluate(token));
        return server.complete && server.user === 'broker';
      } catch {
        return false;
      }
    };
    assert.equal(exchange('right'), true, mechanism);
    assert.equal(exchange('wrong'), false, mechanism);
  }
});
