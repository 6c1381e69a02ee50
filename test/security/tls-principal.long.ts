/**
 * TLS client certificate principals against Apache Kafka 4.1.1 (not a unit test: a JVM and
 * `kstack up`, 79 s at load 40; `node --test test/security/tls-principal.long.ts`).
 * The server records the client certificate (`ConnectionInfo.peerCertificate`, src/server/server.ts)
 * and the dispatcher names the request's principal with `connectionPrincipal`
 * (src/broker/dispatcher.ts); CI proves that wiring without a JVM in tls-principal.test.ts, and this
 * file stays by hand (102 s at load 23). Both with an SSL listener
 * (`ssl.client.auth=required`), StandardAuthorizer and `ssl.principal.mapping.rules`; three client
 * certificates made at test time: one the first rule names `client-1`, one the second rule names
 * `client-2@other`, one no rule names (Kafka fails its authentication). ACLs on the mapped
 * principals; Metadata over TLS with each certificate answers the same on both.
 * Ports (docs/team-rules.md): kstack 24300 (PLAINTEXT) and 24301 (SSL); the reference 24310 and
 * 24311, its controller 24360.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { STANDARD_AUTHORIZER } from '../../src/security/authorizer.ts';
import { issueClientCertificate, makeCertificates, type TestCertificates } from './certs.ts';
import { WireClient } from './support.ts';

interface Target {
  readonly name: string;
  readonly plaintext: number;
  readonly ssl: number;
}
const KSTACK: Target = { name: 'kstack', plaintext: 24300, ssl: 24301 };
const KAFKA: Target = { name: 'Apache Kafka', plaintext: 24310, ssl: 24311 };
const TARGETS = [KSTACK, KAFKA];
const RULES = 'RULE:^CN=([^,]+),O=kstack,C=US$/$1/L,RULE:^CN=([^,]+),O=other$/$1@other/L';
/** The clients: their certificate's subject (openssl -subj), and the principal the rules give. */
const CLIENTS = [
  { name: 'client-1', subject: '/C=US/O=kstack/CN=Client-1', principal: 'User:client-1' },
  { name: 'client-2', subject: '/O=other/CN=Client-2', principal: 'User:client-2@other' },
  { name: 'nomatch', subject: '/O=nobody/CN=x', principal: null },
] as const;

function settings(target: Target, certs: TestCertificates): Record<string, string> {
  return {
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT',
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${target.plaintext},SSL://127.0.0.1:${target.ssl}`,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
    'listener.name.ssl.ssl.client.auth': 'required',
    'listener.name.ssl.ssl.principal.mapping.rules': RULES,
    'authorizer.class.name': STANDARD_AUTHORIZER,
    'super.users': 'User:ANONYMOUS',
  };
}

/** A client certificate signed by the test CA (certs.ts leaves ca.pem and ca.key in `dir`). */
function clientCertificate(dir: string, name: string, subject: string): { cert: string; key: string } {
  const { certFile, keyFile } = issueClientCertificate(dir, name, subject);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

async function ask(
  client: WireClient,
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: responses are read by field name.
): Promise<any> {
  const answer = await client.request(apiKey, version, body);
  assert.notEqual(answer, 'closed', `API ${apiKey} v${version}: closed`);
  return answer;
}

describe('TLS client principals: kstack and Apache Kafka with ssl.principal.mapping.rules', {
  timeout: 600_000,
}, () => {
  let dataDir: string;
  let certs: TestCertificates;
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const killReference = (): void => reference?.killAllSync();
  const clients = new Map<string, { cert: string; key: string }>();

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-tls-principal-'));
    certs = makeCertificates(dataDir);
    for (const client of CLIENTS)
      clients.set(client.name, clientCertificate(dataDir, client.name, client.subject));
    process.on('exit', killReference);
    reference = new ReferenceCluster({
      nodes: 1,
      basePort: KAFKA.plaintext,
      dataDir: join(dataDir, 'reference'),
      overrides: (node) => ({
        ...settings(KAFKA, certs),
        listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort},SSL://127.0.0.1:${KAFKA.ssl}`,
      }),
    });
    [kstack] = await Promise.all([
      KstackProcess.start({
        args: [
          '--no-compose',
          '--data-dir',
          join(dataDir, 'kstack'),
          '--override',
          `listeners=PLAINTEXT://127.0.0.1:${KSTACK.plaintext},SSL://127.0.0.1:${KSTACK.ssl}`,
          ...Object.entries(settings(KSTACK, certs)).flatMap(([key, value]) => [
            '--override',
            `${key}=${value}`,
          ]),
        ],
        ports: [KSTACK.plaintext],
      }),
      reference.start(),
    ]);
    // Topics and ACLs, by User:ANONYMOUS (a super user) on the PLAINTEXT listener.
    for (const target of TARGETS) {
      const admin = await WireClient.connect(target.plaintext);
      const created = await ask(admin, 19, 5, {
        topics: ['orders', 'secret'].map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 60_000,
      });
      assert.deepEqual(
        created.topics.map((t: { errorCode: number }) => t.errorCode),
        [0, 0],
        target.name,
      );
      const describe = (principal: string, topic: string) => ({
        resourceType: 2,
        resourceName: topic,
        resourcePatternType: 3,
        principal,
        host: '*',
        operation: 8,
        permissionType: 3,
      });
      const acls = await ask(admin, 30, 3, {
        creations: [describe('User:client-1', 'orders'), describe('User:client-2@other', 'secret')],
      });
      assert.deepEqual(
        acls.results.map((r: { errorCode: number }) => r.errorCode),
        [0, 0],
        target.name,
      );
      admin.close();
    }
  });

  after(async () => {
    const exit = await kstack?.stop();
    await reference?.stop(true);
    process.off('exit', killReference);
    rmSync(dataDir, { recursive: true, force: true });
    if (exit !== undefined) assert.equal(exit.code, 0, kstack?.output);
  });

  it('each certificate is the principal the rules name; no rule: the connection is closed', async () => {
    const ca = readFileSync(certs.caFile, 'utf8');
    const seen = new Map<string, unknown[]>();
    for (const target of TARGETS) {
      const outcomes: unknown[] = [];
      for (const client of CLIENTS) {
        const { cert, key } = clients.get(client.name)!;
        // Kafka learns an ACL from its metadata log a moment after CreateAcls answers: ask until the
        // named topic is visible (bounded), then record the answer.
        const deadline = Date.now() + 60_000;
        let outcome: unknown;
        for (;;) {
          const connection = await WireClient.connect(target.ssl, {
            tls: { ca, cert, key, servername: 'localhost' },
          }).catch((error: Error) => error);
          if (connection instanceof Error) {
            outcome = `handshake failed: ${connection.message}`;
            break;
          }
          const answer = await connection.request(3, 9, {
            topics: ['orders', 'secret'].map((name) => ({ name })),
            allowAutoTopicCreation: false,
          });
          connection.close();
          outcome =
            answer === 'closed'
              ? 'closed'
              : (answer as { topics: { name: string; errorCode: number }[] }).topics
                  .map((t) => [t.name, t.errorCode])
                  .sort();
          const settled =
            outcome === 'closed' || (outcome as [string, number][]).some(([, code]) => code === 0);
          if (settled || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        outcomes.push([client.name, outcome]);
      }
      seen.set(target.name, outcomes);
    }
    console.log(JSON.stringify([...seen]));
    assert.deepEqual(seen.get(KSTACK.name), seen.get(KAFKA.name));
    assert.deepEqual(seen.get(KAFKA.name), [
      [
        'client-1',
        [
          ['orders', 0],
          ['secret', 29],
        ],
      ],
      [
        'client-2',
        [
          ['orders', 29],
          ['secret', 0],
        ],
      ],
      ['nomatch', 'closed'],
    ]);
  });
});
