/**
 * TLS client principals wired end to end on an in-process broker (no JVM): the server records the
 * client certificate, the dispatcher names the request's principal with `connectionPrincipal`, and
 * StandardAuthorizer decides on it. kcat (librdkafka) with a client certificate the mapping rule names
 * `client-1` writes to the topic its ACL allows and is refused on another; a certificate no rule
 * names gets its connection closed. The same outcomes as Apache Kafka 4.1.1 gives in
 * tls-principal.long.ts (by hand, with the JVM).
 * Ports (docs/team-rules.md): 24330 (PLAINTEXT), 24331 (SSL).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { issueClientCertificate, makeCertificates, type TestCertificates } from './certs.ts';
import { kcat, type SaslLogin, WireClient } from './support.ts';

const PLAINTEXT = 24330;
const SSL = 24331;
const RULES = 'RULE:^CN=([^,]+),O=kstack,C=US$/$1/L';

// biome-ignore lint/suspicious/noExplicitAny: responses are read by field name.
async function ask(client: WireClient, apiKey: number, version: number, body: object): Promise<any> {
  const answer = await client.request(apiKey, version, body as Record<string, unknown>);
  assert.notEqual(answer, 'closed', `API ${apiKey} v${version}: connection closed`);
  return answer;
}

/** A client certificate no rule names (`O=nobody`), signed by the test CA makeCertificates left in `dir`. */
function unmappedCertificate(dir: string): { certFile: string; keyFile: string } {
  return issueClientCertificate(dir, 'nobody', '/O=nobody/CN=x');
}

describe('TLS client certificate principals on the embedded broker', { timeout: 120_000 }, () => {
  let dataDir: string;
  let certs: TestCertificates;
  let broker: Broker | undefined;
  let client1: SaslLogin;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-tls-principal-unit-'));
    certs = makeCertificates(dataDir);
    client1 = {
      protocol: 'SSL',
      caFile: certs.caFile,
      certFile: certs.clientCertFile,
      keyFile: certs.clientKeyFile,
    };
    broker = new Broker({
      dataDir: join(dataDir, 'broker'),
      host: '127.0.0.1',
      port: PLAINTEXT,
      config: {
        listeners: `PLAINTEXT://127.0.0.1:${PLAINTEXT},SSL://127.0.0.1:${SSL}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.brokerKeystoreFile,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': certs.caFile,
        'listener.name.ssl.ssl.client.auth': 'required',
        'listener.name.ssl.ssl.principal.mapping.rules': RULES,
        'authorizer.class.name': STANDARD_AUTHORIZER,
        'super.users': 'User:ANONYMOUS',
      },
    });
    await broker.start();
    // Topics and the ACLs of User:client-1, by User:ANONYMOUS (a super user) on the PLAINTEXT listener.
    const admin = await WireClient.connect(PLAINTEXT);
    const created = await ask(admin, 19, 5, {
      topics: ['orders', 'secret'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 30_000,
    });
    assert.deepEqual(
      created.topics.map((t: { errorCode: number }) => t.errorCode),
      [0, 0],
    );
    // WRITE on orders for client-1 (DESCRIBE is implied); nothing on secret.
    const acls = await ask(admin, 30, 3, {
      creations: [
        {
          resourceType: 2,
          resourceName: 'orders',
          resourcePatternType: 3,
          principal: 'User:client-1',
          host: '*',
          operation: 4,
          permissionType: 3,
        },
      ],
    });
    assert.deepEqual(
      acls.results.map((r: { errorCode: number }) => r.errorCode),
      [0],
    );
    admin.close();
  });

  after(async () => {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('kcat with a mapped certificate writes where User:client-1 may and is refused elsewhere', async () => {
    const bootstrap = `127.0.0.1:${SSL}`;
    const allowed = await kcat(
      bootstrap,
      client1,
      ['-P', '-t', 'orders', '-X', 'message.timeout.ms=20000'],
      'one\n',
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    const refused = await kcat(
      bootstrap,
      client1,
      ['-P', '-t', 'secret', '-X', 'message.timeout.ms=20000'],
      'two\n',
    );
    assert.notEqual(refused.code, 0, refused.stderr);
    assert.match(refused.stderr, /Topic authorization failed/i);
    // What was written is there, read back through the super user's PLAINTEXT listener.
    const read = await kcat(`127.0.0.1:${PLAINTEXT}`, { protocol: 'PLAINTEXT' }, [
      '-C',
      '-t',
      'orders',
      '-e',
      '-q',
    ]);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'one\n');
  });

  it('the certificate is the principal (Metadata per topic); no rule applies: the connection is closed', async () => {
    const ca = readFileSync(certs.caFile, 'utf8');
    const metadata = async (cert: string, key: string) => {
      const connection = await WireClient.connect(SSL, { tls: { ca, cert, key, servername: 'localhost' } });
      const answer = await connection.request(3, 9, {
        topics: ['orders', 'secret'].map((name) => ({ name })),
        allowAutoTopicCreation: false,
      });
      connection.close();
      return answer === 'closed'
        ? 'closed'
        : (answer as { topics: { name: string; errorCode: number }[] }).topics
            .map((t) => [t.name, t.errorCode])
            .sort();
    };
    assert.deepEqual(
      await metadata(readFileSync(certs.clientCertFile, 'utf8'), readFileSync(certs.clientKeyFile, 'utf8')),
      [
        ['orders', 0],
        ['secret', 29],
      ],
    );
    const nobody = unmappedCertificate(dataDir);
    assert.equal(
      await metadata(readFileSync(nobody.certFile, 'utf8'), readFileSync(nobody.keyFile, 'utf8')),
      'closed',
    );
  });
});
