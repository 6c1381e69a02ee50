/**
 * SASL/PLAIN on a second listener, on kstack up and on Apache Kafka 4.1.1 configured the same way
 * (PLAINTEXT and SASL_PLAINTEXT side by side, users from listener.name.sasl_plaintext.plain.sasl.jaas.config),
 * with the same assertions through clients we did not write: kcat (librdkafka 2.0.2), confluent-kafka
 * Python (its own librdkafka), kafkajs, and Kafka's Java admin client (kafka-topics). A wrong
 * password must end in the authentication error on every client, with the same text on both brokers,
 * and the broker must keep serving everyone else.
 * Ports (docs/team-rules.md): kstack 20910 (PLAINTEXT) and 20911 (SASL_PLAINTEXT); the reference
 * 20900 and 20901, its controller 20950.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { javaListTopics, kcat, PLAIN_JAAS, pythonProbe, type SaslLogin, WireClient } from './support.ts';

const USERS = { alice: 'alice-secret', bob: 'bob-secret' };
const JAAS = PLAIN_JAAS(USERS);
const SASL_SETTINGS = (plaintext: number, sasl: number): Record<string, string> => ({
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
  'sasl.enabled.mechanisms': 'PLAIN',
  'listener.name.sasl_plaintext.plain.sasl.jaas.config': JAAS,
  'advertised.listeners': `PLAINTEXT://127.0.0.1:${plaintext},SASL_PLAINTEXT://127.0.0.1:${sasl}`,
});

interface Target {
  readonly name: string;
  readonly plaintext: number;
  readonly sasl: number;
}
const KSTACK: Target = { name: 'kstack', plaintext: 20910, sasl: 20911 };
const KAFKA: Target = { name: 'Apache Kafka', plaintext: 20900, sasl: 20901 };
const TARGETS = [KSTACK, KAFKA];

const GOOD: SaslLogin = {
  protocol: 'SASL_PLAINTEXT',
  mechanism: 'PLAIN',
  username: 'alice',
  password: 'alice-secret',
};
const WRONG_PASSWORD: SaslLogin = { ...GOOD, password: 'not-alice-secret' };
const UNKNOWN_USER: SaslLogin = { ...GOOD, username: 'mallory', password: 'x' };
const PLAINTEXT: SaslLogin = { protocol: 'PLAINTEXT' };
const KAFKA_MESSAGE = 'Authentication failed: Invalid username or password';

/** librdkafka's authentication error line, without the address and timings that differ per run. */
function librdkafkaAuthError(stderr: string): string | undefined {
  return /SASL authentication error: (.*?) \(after \d+ms/.exec(stderr)?.[1];
}

describe('SASL/PLAIN listener: kstack and Apache Kafka, the same clients and assertions', {
  timeout: 900_000,
}, () => {
  let dataDir: string;
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const killReference = (): void => reference?.killAllSync();

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-sasl-'));
    process.on('exit', killReference);
    const overrides = SASL_SETTINGS(KSTACK.plaintext, KSTACK.sasl);
    kstack = await KstackProcess.start({
      args: [
        '--no-compose',
        '--data-dir',
        join(dataDir, 'kstack'),
        '--override',
        `listeners=PLAINTEXT://127.0.0.1:${KSTACK.plaintext},SASL_PLAINTEXT://127.0.0.1:${KSTACK.sasl}`,
        ...Object.entries(overrides).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
      ],
      ports: [KSTACK.plaintext],
    });
    reference = new ReferenceCluster({
      nodes: 1,
      basePort: KAFKA.plaintext,
      dataDir: join(dataDir, 'reference'),
      overrides: (node) => ({
        ...SASL_SETTINGS(KAFKA.plaintext, KAFKA.sasl),
        listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort},SASL_PLAINTEXT://127.0.0.1:${KAFKA.sasl}`,
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

  it('kcat: each listener advertises its own address; a round trip over SASL_PLAINTEXT', async () => {
    for (const target of TARGETS) {
      const sasl = `127.0.0.1:${target.sasl}`;
      const onSasl = await kcat(sasl, GOOD, ['-L', '-J', '-m', '30']);
      assert.equal(onSasl.code, 0, `${target.name}: ${onSasl.stderr}`);
      const brokers = (JSON.parse(onSasl.stdout) as { brokers: { name: string }[] }).brokers.map(
        (b) => b.name,
      );
      assert.deepEqual(brokers, [sasl], target.name);
      const onPlain = await kcat(`127.0.0.1:${target.plaintext}`, PLAINTEXT, ['-L', '-J', '-m', '30']);
      assert.equal(onPlain.code, 0, `${target.name}: ${onPlain.stderr}`);
      const plainBrokers = (JSON.parse(onPlain.stdout) as { brokers: { name: string }[] }).brokers;
      assert.deepEqual(
        plainBrokers.map((b) => b.name),
        [`127.0.0.1:${target.plaintext}`],
        target.name,
      );

      const produced = await kcat(sasl, GOOD, ['-P', '-t', 'sasl-round-trip', '-m', '30'], 'one\ntwo\n');
      assert.equal(produced.code, 0, `${target.name}: ${produced.stderr}`);
      const consumed = await kcat(sasl, GOOD, ['-C', '-t', 'sasl-round-trip', '-o', 'beginning', '-e', '-q']);
      assert.equal(consumed.code, 0, `${target.name}: ${consumed.stderr}`);
      assert.equal(consumed.stdout, 'one\ntwo\n', target.name);
    }
  });

  it('kcat: a wrong password or an unknown user is the authentication failure, the same text on both', async () => {
    const seen: Record<string, (string | undefined)[]> = {};
    for (const target of TARGETS) {
      const texts: (string | undefined)[] = [];
      for (const login of [WRONG_PASSWORD, UNKNOWN_USER]) {
        // kcat 1.7 reports the failure at once but exits only when -m's metadata wait ends.
        const result = await kcat(`127.0.0.1:${target.sasl}`, login, ['-L', '-m', '5']);
        assert.notEqual(result.code, 0, `${target.name}: kcat succeeded with a bad login`);
        assert.notEqual(result.code, null, `${target.name}: kcat hung`);
        texts.push(librdkafkaAuthError(result.stderr));
      }
      seen[target.name] = texts;
      assert.deepEqual(texts, [KAFKA_MESSAGE, KAFKA_MESSAGE], target.name);
      // The broker keeps serving the others: both listeners still answer.
      assert.equal((await kcat(`127.0.0.1:${target.sasl}`, GOOD, ['-L', '-m', '30'])).code, 0, target.name);
      assert.equal((await kcat(`127.0.0.1:${target.plaintext}`, PLAINTEXT, ['-L', '-m', '30'])).code, 0);
    }
    assert.deepEqual(seen[KSTACK.name], seen[KAFKA.name]);
  });

  it('confluent-kafka Python: metadata with the right password, _AUTHENTICATION with a wrong one', async () => {
    const errors: string[] = [];
    for (const target of TARGETS) {
      const good = await pythonProbe(`127.0.0.1:${target.sasl}`, GOOD);
      assert.deepEqual(good, { brokers: [`127.0.0.1:${target.sasl}`], error: null }, target.name);
      const bad = await pythonProbe(`127.0.0.1:${target.sasl}`, WRONG_PASSWORD);
      assert.equal(bad.brokers, null, target.name);
      assert.equal(bad.error?.name, '_AUTHENTICATION', `${target.name}: ${JSON.stringify(bad)}`);
      const text = librdkafkaAuthError(bad.error.text);
      assert.equal(text, KAFKA_MESSAGE, `${target.name}: ${bad.error.text}`);
      errors.push(text);
    }
    assert.equal(errors[0], errors[1]);
  });

  it('kafkajs: lists topics with the right password, KafkaJSSASLAuthenticationError with a wrong one', async () => {
    const messages: string[] = [];
    for (const target of TARGETS) {
      const admin = (password: string) =>
        new Kafka({
          clientId: 'security-test',
          brokers: [`127.0.0.1:${target.sasl}`],
          sasl: { mechanism: 'plain', username: 'alice', password },
          retry: { retries: 0 },
          connectionTimeout: 20_000,
          logLevel: logLevel.NOTHING,
        }).admin();
      const good = admin('alice-secret');
      await good.connect();
      const topics = await good.listTopics();
      assert.ok(topics.includes('sasl-round-trip'), `${target.name}: ${topics.join(',')}`);
      await good.disconnect();
      const bad = admin('wrong');
      const error = await bad.connect().then(
        () => null,
        (caught: Error) => caught,
      );
      await bad.disconnect();
      assert.equal(error?.name, 'KafkaJSSASLAuthenticationError', `${target.name}: ${error?.stack}`);
      assert.match(error.message, new RegExp(KAFKA_MESSAGE), target.name);
      messages.push(error.message);
    }
    assert.equal(messages[0], messages[1]);
  });

  it("Kafka's Java admin client (kafka-topics): the right password lists topics, a wrong one is SaslAuthenticationException", async () => {
    for (const target of TARGETS) {
      const good = await javaListTopics(`127.0.0.1:${target.sasl}`, GOOD, dataDir);
      assert.equal(good.code, 0, `${target.name}: ${good.stderr}`);
      assert.match(good.stdout, /sasl-round-trip/, target.name);
      const bad = await javaListTopics(`127.0.0.1:${target.sasl}`, WRONG_PASSWORD, dataDir);
      assert.notEqual(bad.code, 0, target.name);
      assert.notEqual(bad.code, null, `${target.name}: kafka-topics hung`);
      assert.match(
        bad.stdout + bad.stderr,
        new RegExp(`SaslAuthenticationException: ${KAFKA_MESSAGE}`),
        target.name,
      );
    }
  });

  it('on the wire: before authentication only ApiVersions and the SASL exchange are served', async () => {
    const outcomes: Record<string, unknown[]> = {};
    for (const target of TARGETS) {
      const seen: unknown[] = [];
      // ApiVersions is answered; Metadata before authentication closes the connection.
      let client = await WireClient.connect(target.sasl);
      const versions = await client.request(18, 3, {
        clientSoftwareName: 'test',
        clientSoftwareVersion: '1',
      });
      assert.notEqual(versions, 'closed', target.name);
      const keys = (versions as { apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[] })
        .apiKeys;
      const handshake = keys.find((key) => key.apiKey === 17);
      seen.push([
        'ApiVersions',
        (versions as { errorCode: number }).errorCode,
        handshake?.minVersion,
        handshake?.maxVersion,
      ]);
      seen.push(['Metadata before authentication', await client.request(3, 1, { topics: null })]);
      assert.equal(await client.closedWithin(10_000), true, target.name);
      client.close();

      // A mechanism the listener does not enable: UNSUPPORTED_SASL_MECHANISM with the enabled ones, then closed.
      client = await WireClient.connect(target.sasl);
      seen.push(['SCRAM-SHA-256', await client.request(17, 1, { mechanism: 'SCRAM-SHA-256' })]);
      seen.push(['closed after', await client.closedWithin(10_000)]);
      client.close();

      // A wrong PLAIN password through SaslAuthenticate v2: SASL_AUTHENTICATION_FAILED and Kafka's message, then closed.
      client = await WireClient.connect(target.sasl);
      seen.push(['PLAIN', await client.request(17, 1, { mechanism: 'PLAIN' })]);
      const failed = (await client.request(36, 2, { authBytes: Buffer.from('\0alice\0nope') })) as Record<
        string,
        unknown
      >;
      seen.push(['wrong password', failed.errorCode, failed.errorMessage]);
      seen.push(['closed after', await client.closedWithin(10_000)]);
      client.close();

      // A token that is not authzid NUL authcid NUL password.
      client = await WireClient.connect(target.sasl);
      await client.request(17, 1, { mechanism: 'PLAIN' });
      const malformed = (await client.request(36, 1, { authBytes: Buffer.from('alice') })) as Record<
        string,
        unknown
      >;
      seen.push(['malformed token', malformed.errorCode, malformed.errorMessage]);
      seen.push(['closed after', await client.closedWithin(10_000)]);
      client.close();

      // SaslHandshake v0: the token travels as a bare frame; then requests are served.
      client = await WireClient.connect(target.sasl);
      seen.push(['v0 handshake', await client.request(17, 0, { mechanism: 'PLAIN' })]);
      const answer = await client.rawFrame(Buffer.from('\0bob\0bob-secret'));
      seen.push(['v0 token answer bytes', answer === 'closed' ? 'closed' : answer.length]);
      const metadata = await client.request(3, 1, { topics: null });
      seen.push(['Metadata after v0 authentication', metadata === 'closed' ? 'closed' : 'answered']);
      client.close();
      outcomes[target.name] = seen;
    }
    assert.deepEqual(outcomes[KSTACK.name], outcomes[KAFKA.name]);
    assert.deepEqual(outcomes[KSTACK.name], [
      ['ApiVersions', 0, 0, 1],
      ['Metadata before authentication', 'closed'],
      ['SCRAM-SHA-256', { errorCode: 33, mechanisms: ['PLAIN'] }],
      ['closed after', true],
      ['PLAIN', { errorCode: 0, mechanisms: ['PLAIN'] }],
      ['wrong password', 58, KAFKA_MESSAGE],
      ['closed after', true],
      ['malformed token', 58, 'Invalid SASL/PLAIN response: expected 3 tokens, got 1'],
      ['closed after', true],
      ['v0 handshake', { errorCode: 0, mechanisms: ['PLAIN'] }],
      ['v0 token answer bytes', 0],
      ['Metadata after v0 authentication', 'answered'],
    ]);
  });
});
