/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 on kstack up and on Apache Kafka 4.1.1 configured the same way:
 * credentials created with Kafka's own kafka-configs (AlterUserScramCredentials) and described back,
 * logins by kcat (librdkafka 2.0.2) and kafkajs, wrong passwords refused with the same text on both;
 * on kstack, the credentials survive a restart and no password is written to its data folder.
 * Ports (docs/team-rules.md): kstack 20940 (PLAINTEXT) and 20941 (SASL_PLAINTEXT); the reference
 * 20944 and 20945, its controller 20994.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { kcat, pythonProbe, run, type SaslLogin, WireClient } from './support.ts';

/** librdkafka's authentication error line, without the address and timings that differ per run. */
function librdkafkaAuthError(stderr: string): string | undefined {
  return /SASL authentication error: (.*?) \(after \d+ms/.exec(stderr)?.[1];
}

interface Target {
  readonly name: string;
  readonly plaintext: number;
  readonly sasl: number;
}
const KSTACK: Target = { name: 'kstack', plaintext: 20940, sasl: 20941 };
const KAFKA: Target = { name: 'Apache Kafka', plaintext: 20944, sasl: 20945 };
const TARGETS = [KSTACK, KAFKA];
const PASSWORD = 'alice-scram-secret';
const KAFKA_CONFIGS = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-configs');
const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';

function settings(target: Target): Record<string, string> {
  return {
    'listener.security.protocol.map':
      'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${target.plaintext},SASL_PLAINTEXT://127.0.0.1:${target.sasl}`,
    'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
    // Kafka's broker needs a JAAS entry per enabled mechanism; kstack accepts and ignores them.
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': SCRAM_JAAS,
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
  };
}

const login = (mechanism: string, password = PASSWORD): SaslLogin => ({
  protocol: 'SASL_PLAINTEXT',
  mechanism,
  username: 'alice',
  password,
});

/** Every file under a folder, read whole (the data folder is small in this test). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Kafka lists a user's mechanisms in no fixed order: compare them sorted by mechanism. */
function sortInfos<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, item) =>
    key === 'credentialInfos' && Array.isArray(item)
      ? [...item].sort((a: { mechanism: number }, b: { mechanism: number }) => a.mechanism - b.mechanism)
      : item,
  ) as T;
}

describe('SCRAM: kstack and Apache Kafka, the same tools and assertions', { timeout: 900_000 }, () => {
  let dataDir: string;
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const killReference = (): void => reference?.killAllSync();
  const kstackArgs = (): string[] => [
    '--no-compose',
    '--data-dir',
    join(dataDir, 'kstack'),
    '--override',
    `listeners=PLAINTEXT://127.0.0.1:${KSTACK.plaintext},SASL_PLAINTEXT://127.0.0.1:${KSTACK.sasl}`,
    ...Object.entries(settings(KSTACK)).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
  ];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-scram-'));
    process.on('exit', killReference);
    kstack = await KstackProcess.start({ args: kstackArgs(), ports: [KSTACK.plaintext] });
    reference = new ReferenceCluster({
      nodes: 1,
      basePort: KAFKA.plaintext,
      dataDir: join(dataDir, 'reference'),
      overrides: (node) => ({
        ...settings(KAFKA),
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

  it('kafka-configs creates SCRAM-SHA-256 and -512 credentials; DescribeUserScramCredentials answers the same on both', async () => {
    const described: Record<string, unknown> = {};
    for (const target of TARGETS) {
      const bootstrap = `127.0.0.1:${target.plaintext}`;
      // One mechanism per call: Kafka refuses two changes to one user in a request (DUPLICATE_RESOURCE).
      for (const config of [
        `SCRAM-SHA-256=[iterations=8192,password=${PASSWORD}]`,
        `SCRAM-SHA-512=[password=${PASSWORD}]`,
      ]) {
        const added = await run(
          KAFKA_CONFIGS,
          [
            '--bootstrap-server',
            bootstrap,
            '--alter',
            '--add-config',
            config,
            '--entity-type',
            'users',
            '--entity-name',
            'alice',
          ],
          { timeoutMs: 120_000 },
        );
        assert.equal(added.code, 0, `${target.name}: ${added.stdout}${added.stderr}`);
        assert.match(added.stdout, /Completed updating config for user alice/, target.name);
      }
      const both = await run(
        KAFKA_CONFIGS,
        [
          '--bootstrap-server',
          bootstrap,
          '--alter',
          '--add-config',
          `SCRAM-SHA-256=[password=x],SCRAM-SHA-512=[password=x]`,
          '--entity-type',
          'users',
          '--entity-name',
          'alice',
        ],
        { timeoutMs: 120_000 },
      );
      assert.notEqual(both.code, 0, target.name);
      assert.match(
        both.stdout + both.stderr,
        /DuplicateResourceException: A user credential cannot be altered twice in the same request/,
        target.name,
      );
      // kafka-configs --describe of users also asks DescribeClientQuotas (quotas: not served yet),
      // so the describe goes on the wire here.
      const client = await WireClient.connect(target.plaintext);
      const named = await client.request(50, 0, { users: [{ name: 'alice' }, { name: 'nobody' }] });
      const all = await client.request(50, 0, { users: null });
      client.close();
      described[target.name] = sortInfos({ named, all });
    }
    assert.deepEqual(described[KSTACK.name], described[KAFKA.name]);
    const { named } = described[KSTACK.name] as { named: { results: unknown[] } };
    assert.deepEqual(named.results, [
      {
        user: 'alice',
        errorCode: 0,
        errorMessage: '',
        credentialInfos: [
          { mechanism: 1, iterations: 8192 },
          { mechanism: 2, iterations: 4096 },
        ],
      },
      {
        user: 'nobody',
        errorCode: 91,
        errorMessage: 'Attempt to describe a user credential that does not exist: nobody',
        credentialInfos: [],
      },
    ]);
  });

  it('confluent-kafka (recent librdkafka) logs in with each mechanism; kcat 2.0.2 is refused by both; the same texts', async () => {
    const texts: Record<string, unknown[]> = {};
    for (const target of TARGETS) {
      const bootstrap = `127.0.0.1:${target.sasl}`;
      const seen: unknown[] = [];
      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
        const good = await pythonProbe(bootstrap, login(mechanism));
        assert.deepEqual(good, { brokers: [bootstrap], error: null }, `${target.name} ${mechanism}`);
        const bad = await pythonProbe(bootstrap, login(mechanism, 'wrong'));
        assert.equal(
          bad.error?.name,
          '_AUTHENTICATION',
          `${target.name} ${mechanism}: ${JSON.stringify(bad)}`,
        );
        seen.push(librdkafkaAuthError(bad.error.text));
        // Debian's librdkafka 2.0.2 repeats the client nonce in its final SCRAM message: Kafka refuses it.
        const old = await kcat(bootstrap, login(mechanism), ['-L', '-m', '5']);
        assert.notEqual(old.code, 0, `${target.name} ${mechanism}: kcat 2.0.2 logged in`);
        seen.push(librdkafkaAuthError(old.stderr));
      }
      assert.ok(
        seen.every((text) => text !== undefined),
        `${target.name}: ${seen.join(' | ')}`,
      );
      texts[target.name] = seen;
    }
    assert.deepEqual(texts[KSTACK.name], texts[KAFKA.name]);
    assert.equal(
      texts[KSTACK.name]![0],
      'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256',
    );
  });

  it('kafkajs logs in with scram-sha-256 and scram-sha-512, and is refused with a wrong password', async () => {
    for (const target of TARGETS) {
      for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
        const admin = (password: string) =>
          new Kafka({
            clientId: 'security-test',
            brokers: [`127.0.0.1:${target.sasl}`],
            sasl:
              mechanism === 'scram-sha-256'
                ? { mechanism: 'scram-sha-256', username: 'alice', password }
                : { mechanism: 'scram-sha-512', username: 'alice', password },
            retry: { retries: 0 },
            connectionTimeout: 20_000,
            logLevel: logLevel.NOTHING,
          }).admin();
        const good = admin(PASSWORD);
        await good.connect();
        await good.listTopics();
        await good.disconnect();
        const bad = admin('wrong');
        const error = await bad.connect().then(
          () => null,
          (caught: Error) => caught,
        );
        await bad.disconnect();
        assert.equal(
          error?.name,
          'KafkaJSSASLAuthenticationError',
          `${target.name} ${mechanism}: ${error?.stack}`,
        );
      }
    }
  });

  it('kstack keeps the credentials across a restart, and no password in its data folder', async () => {
    const exit = await kstack?.stop();
    assert.equal(exit?.code, 0, kstack?.output);
    kstack = await KstackProcess.start({ args: kstackArgs(), ports: [KSTACK.plaintext] });
    const good = await pythonProbe(`127.0.0.1:${KSTACK.sasl}`, login('SCRAM-SHA-512'));
    assert.deepEqual(good, { brokers: [`127.0.0.1:${KSTACK.sasl}`], error: null });
    const files = filesUnder(join(dataDir, 'kstack'));
    assert.ok(files.length > 0);
    for (const file of files) assert.ok(!readFileSync(file).includes(PASSWORD), `${file} holds the password`);
  });
});
