/**
 * TLS listeners (SSL with required client certificates, SASL_SSL with PLAIN) on kstack up and on
 * Apache Kafka 4.1.1 configured the same way from the same PEM files, made at test time with
 * openssl. The same assertions through clients we did not write: kcat (librdkafka 2.0.2),
 * confluent-kafka Python, kafkajs, Kafka's Java admin client.
 * Ports (docs/team-rules.md): kstack 20920 (PLAINTEXT), 20921 (SSL), 20922 (SASL_SSL); the reference
 * 20930, 20931, 20932, its controller 20980.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { makeCertificates, type TestCertificates } from './certs.ts';
import { javaListTopics, kcat, PLAIN_JAAS, pythonProbe, type SaslLogin, WireClient } from './support.ts';

interface Target {
  readonly name: string;
  readonly plaintext: number;
  readonly ssl: number;
  readonly saslSsl: number;
}
const KSTACK: Target = { name: 'kstack', plaintext: 20920, ssl: 20921, saslSsl: 20922 };
const KAFKA: Target = { name: 'Apache Kafka', plaintext: 20930, ssl: 20931, saslSsl: 20932 };
const TARGETS = [KSTACK, KAFKA];
const KAFKA_MESSAGE = 'Authentication failed: Invalid username or password';

function settings(target: Target, certs: TestCertificates): Record<string, string> {
  return {
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${target.plaintext},SSL://127.0.0.1:${target.ssl},SASL_SSL://127.0.0.1:${target.saslSsl}`,
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS({ alice: 'alice-secret' }),
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
    'listener.name.ssl.ssl.client.auth': 'required',
  };
}

describe('TLS listeners: kstack and Apache Kafka, the same clients and assertions', {
  timeout: 900_000,
}, () => {
  let dataDir: string;
  let certs: TestCertificates;
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const killReference = (): void => reference?.killAllSync();
  let mtls: SaslLogin;
  let noClientCert: SaslLogin;
  let saslSsl: SaslLogin;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-tls-'));
    certs = makeCertificates(dataDir);
    mtls = {
      protocol: 'SSL',
      caFile: certs.caFile,
      certFile: certs.clientCertFile,
      keyFile: certs.clientKeyFile,
    };
    noClientCert = { protocol: 'SSL', caFile: certs.caFile };
    saslSsl = {
      protocol: 'SASL_SSL',
      mechanism: 'PLAIN',
      username: 'alice',
      password: 'alice-secret',
      caFile: certs.caFile,
    };
    process.on('exit', killReference);
    kstack = await KstackProcess.start({
      args: [
        '--no-compose',
        '--data-dir',
        join(dataDir, 'kstack'),
        '--override',
        `listeners=PLAINTEXT://127.0.0.1:${KSTACK.plaintext},SSL://127.0.0.1:${KSTACK.ssl},SASL_SSL://127.0.0.1:${KSTACK.saslSsl}`,
        ...Object.entries(settings(KSTACK, certs)).flatMap(([key, value]) => [
          '--override',
          `${key}=${value}`,
        ]),
      ],
      ports: [KSTACK.plaintext],
    });
    reference = new ReferenceCluster({
      nodes: 1,
      basePort: KAFKA.plaintext,
      dataDir: join(dataDir, 'reference'),
      overrides: (node) => ({
        ...settings(KAFKA, certs),
        listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort},SSL://127.0.0.1:${KAFKA.ssl},SASL_SSL://127.0.0.1:${KAFKA.saslSsl}`,
      }),
    });
    await reference.start();
  });

  after(async () => {
    const exit = await kstack?.stop();
    await reference?.stop(true);
    process.off('exit', killReference);
    rmSync(dataDir, { recursive: true, force: true });
    if (exit !== undefined) assert.equal(exit.code, 0, kstack?.output);
  });

  it('kcat over SSL with a client certificate: its own address in Metadata, a round trip', async () => {
    for (const target of TARGETS) {
      const bootstrap = `127.0.0.1:${target.ssl}`;
      const listed = await kcat(bootstrap, mtls, ['-L', '-J', '-m', '30']);
      assert.equal(listed.code, 0, `${target.name}: ${listed.stderr}`);
      const brokers = (JSON.parse(listed.stdout) as { brokers: { name: string }[] }).brokers.map(
        (b) => b.name,
      );
      assert.deepEqual(brokers, [bootstrap], target.name);
      const produced = await kcat(bootstrap, mtls, ['-P', '-t', 'tls-round-trip', '-m', '30'], 'one\ntwo\n');
      assert.equal(produced.code, 0, `${target.name}: ${produced.stderr}`);
      const consumed = await kcat(bootstrap, mtls, [
        '-C',
        '-t',
        'tls-round-trip',
        '-o',
        'beginning',
        '-e',
        '-q',
      ]);
      assert.equal(consumed.stdout, 'one\ntwo\n', `${target.name}: ${consumed.stderr}`);
    }
  });

  it('SSL with ssl.client.auth=required: a client without a certificate fails its handshake; others go on', async () => {
    for (const target of TARGETS) {
      const refused = await kcat(`127.0.0.1:${target.ssl}`, noClientCert, ['-L', '-m', '5']);
      assert.notEqual(refused.code, 0, target.name);
      assert.notEqual(refused.code, null, `${target.name}: kcat hung`);
      assert.match(refused.stderr, /SSL|certificate|Disconnected/, target.name);
      assert.doesNotMatch(refused.stderr, /Metadata for all topics/, target.name);
      assert.equal((await kcat(`127.0.0.1:${target.ssl}`, mtls, ['-L', '-m', '30'])).code, 0, target.name);
    }
  });

  it('a plaintext request on a TLS port and a TLS handshake on the PLAINTEXT port get nothing, and close', async () => {
    for (const target of TARGETS) {
      const plainOnTls = await WireClient.connect(target.saslSsl);
      assert.equal(await plainOnTls.request(18, 0, {}), 'closed', target.name);
      plainOnTls.close();
      const tlsOnPlain = await WireClient.connect(target.plaintext, {
        tls: { ca: readFileSync(certs.caFile) },
      }).then(
        (client) => {
          client.close();
          return 'connected';
        },
        (error: Error) => error.message,
      );
      assert.notEqual(tlsOnPlain, 'connected', target.name);
      assert.equal(
        (await kcat(`127.0.0.1:${target.plaintext}`, { protocol: 'PLAINTEXT' }, ['-L', '-m', '30'])).code,
        0,
      );
    }
  });

  it('SASL_SSL with PLAIN: kcat, confluent-kafka, kafkajs and the Java client; a wrong password is the authentication failure', async () => {
    for (const target of TARGETS) {
      const bootstrap = `127.0.0.1:${target.saslSsl}`;
      const listed = await kcat(bootstrap, saslSsl, ['-L', '-J', '-m', '30']);
      assert.equal(listed.code, 0, `${target.name}: ${listed.stderr}`);
      const wrong = await kcat(bootstrap, { ...saslSsl, password: 'nope' }, ['-L', '-m', '5']);
      assert.notEqual(wrong.code, 0, target.name);
      assert.match(wrong.stderr, new RegExp(`SASL authentication error: ${KAFKA_MESSAGE}`), target.name);

      const python = await pythonProbe(bootstrap, saslSsl);
      assert.deepEqual(python, { brokers: [bootstrap], error: null }, target.name);
      const pythonWrong = await pythonProbe(bootstrap, { ...saslSsl, password: 'nope' });
      assert.equal(
        pythonWrong.error?.name,
        '_AUTHENTICATION',
        `${target.name}: ${JSON.stringify(pythonWrong)}`,
      );

      const client = (password: string) =>
        new Kafka({
          clientId: 'security-test',
          brokers: [bootstrap],
          ssl: { ca: [readFileSync(certs.caFile, 'utf8')] },
          sasl: { mechanism: 'plain', username: 'alice', password },
          retry: { retries: 0 },
          connectionTimeout: 20_000,
          logLevel: logLevel.NOTHING,
        }).admin();
      const good = client('alice-secret');
      await good.connect();
      assert.ok((await good.listTopics()).includes('tls-round-trip'), target.name);
      await good.disconnect();
      const bad = client('nope');
      const error = await bad.connect().then(
        () => null,
        (caught: Error) => caught,
      );
      await bad.disconnect();
      assert.equal(error?.name, 'KafkaJSSASLAuthenticationError', `${target.name}: ${error?.stack}`);

      const java = await javaListTopics(bootstrap, saslSsl, dataDir);
      assert.equal(java.code, 0, `${target.name}: ${java.stderr}`);
      assert.match(java.stdout, /tls-round-trip/, target.name);
    }
  });
});
