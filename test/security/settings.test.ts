/**
 * The listener, JAAS and TLS settings as kstack reads them: what is accepted, and that each bad
 * value is refused with a message naming the setting and the fault (never a password). No sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { parseJaasConfig } from '../../src/security/jaas.ts';
import { resolveListeners } from '../../src/security/listeners.ts';
import {
  listenerSecurity,
  PlainServer,
  SASL_SERVER_MAX_RECEIVE_SIZE,
  SaslSession,
} from '../../src/security/sasl.ts';
import { listenerTls } from '../../src/security/tls.ts';

const JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" user_admin="admin-pw" user_alice="a;b=\\"c\\"";';

describe('listeners', () => {
  it('resolves several listeners with their protocols and advertised addresses', () => {
    const listeners = resolveListeners(
      {
        listeners: 'PLAINTEXT://:9092,sasl_ssl://127.0.0.1:9096,EXTERNAL://[::1]:0',
        advertisedListeners: 'SASL_SSL://kafka.local:19096',
        securityProtocolMap: 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,EXTERNAL:SSL',
      },
      '127.0.0.1',
      1,
    );
    assert.deepEqual(listeners, [
      { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
      {
        name: 'SASL_SSL',
        securityProtocol: 'SASL_SSL',
        host: '127.0.0.1',
        port: 9096,
        advertised: { host: 'kafka.local', port: 19096 },
      },
      { name: 'EXTERNAL', securityProtocol: 'SSL', host: '::1', port: 0 },
    ]);
    assert.deepEqual(resolveListeners({}, '127.0.0.1', 9092), [
      { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
    ]);
  });

  it('refuses each bad setting, naming it', () => {
    const cases: [Parameters<typeof resolveListeners>[0], RegExp][] = [
      [{ listeners: 'PLAINTEXT:9092' }, /listeners: 'PLAINTEXT:9092' is not NAME:\/\/HOST:PORT/],
      [{ listeners: 'PLAINTEXT://:1,PLAINTEXT://:2' }, /listener PLAINTEXT is given twice/],
      [{ listeners: 'INTERNAL://:1' }, /INTERNAL has no security protocol in listener.security.protocol.map/],
      [{ listeners: 'PLAINTEXT://:1,SSL://:1' }, /SSL and PLAINTEXT both bind port 1/],
      [{ listeners: 'PLAINTEXT://:99999' }, /port 99999 .* is not 0-65535/],
      [{ securityProtocolMap: 'PLAINTEXT:TLS' }, /'TLS' of listener PLAINTEXT is not a security protocol/],
      [{ advertisedListeners: 'SSL://h:1' }, /listener SSL is not one of listeners \(PLAINTEXT\)/],
      [{ advertisedListeners: 'PLAINTEXT://0.0.0.0:1' }, /non-routable address 0.0.0.0/],
    ];
    for (const [settings, message] of cases) {
      assert.throws(() => resolveListeners(settings, '127.0.0.1', 9092), message, JSON.stringify(settings));
    }
  });

  it('a broker given bad listener settings refuses to be built, before anything is opened', () => {
    assert.throws(
      () =>
        new Broker({
          dataDir: '/nonexistent',
          host: '127.0.0.1',
          port: 0,
          config: { listeners: 'PLAINTEXT://:0,SASL_PLAINTEXT://:0', 'sasl.enabled.mechanisms': 'PLAIN' },
        }),
      /listener SASL_PLAINTEXT enables PLAIN but listener.name.sasl_plaintext.plain.sasl.jaas.config is not set/,
    );
    assert.throws(
      () =>
        new Broker({
          dataDir: '/nonexistent',
          host: '127.0.0.1',
          port: 0,
          config: { listeners: 'SASL_PLAINTEXT://:0' },
        }),
      /SASL mechanism GSSAPI \(sasl.enabled.mechanisms\) is not served by kstack/,
    );
  });
});

describe('JAAS and PLAIN', () => {
  it('reads PlainLoginModule users, quoted values and escapes included', () => {
    const [entry] = parseJaasConfig('x', JAAS);
    assert.equal(entry?.loginModule, 'org.apache.kafka.common.security.plain.PlainLoginModule');
    assert.equal(entry?.options.get('user_alice'), 'a;b="c"');
    const security = listenerSecurity(
      { name: 'SASL_PLAINTEXT', securityProtocol: 'SASL_PLAINTEXT', host: '', port: 0 },
      (name) =>
        ({ 'sasl.enabled.mechanisms': 'PLAIN', 'listener.name.sasl_plaintext.plain.sasl.jaas.config': JAAS })[
          name
        ],
    );
    assert.deepEqual([...security.plainUsers.keys()], ['admin', 'alice']);
  });

  it('refuses a malformed JAAS text without echoing its values', () => {
    for (const [text, message] of [
      ['PlainLoginModule user_a="secret-1";', /has no control flag/],
      ['PlainLoginModule required user_a="secret-2"', /does not end with ';'/],
      ['PlainLoginModule required user_a="secret-3;', /a quoted value is not closed/],
      ['PlainLoginModule required user_a;', /option 'user_a' has no '=value'/],
    ] as const) {
      assert.throws(
        () => parseJaasConfig('listener.name.x.plain.sasl.jaas.config', text),
        (error: Error) =>
          message.test(error.message) &&
          error.message.startsWith('listener.name.x.plain.sasl.jaas.config') &&
          !error.message.includes('secret'),
      );
    }
  });

  it("answers Kafka's messages for each bad PLAIN token", () => {
    const users = new Map([['alice', 'pw']]);
    const attempt = (token: string): string => {
      try {
        new PlainServer(users).evaluate(Buffer.from(token));
        return 'ok';
      } catch (error) {
        return (error as Error).message;
      }
    };
    assert.equal(attempt('\0alice\0pw'), 'ok');
    assert.equal(attempt('alice\0alice\0pw'), 'ok');
    assert.equal(attempt('\0alice\0wrong'), 'Authentication failed: Invalid username or password');
    assert.equal(attempt('\0bob\0pw'), 'Authentication failed: Invalid username or password');
    assert.equal(attempt('\0\0pw'), 'Authentication failed: username not specified');
    assert.equal(attempt('\0alice\0'), 'Authentication failed: password not specified');
    assert.equal(attempt('alice\0pw'), 'Invalid SASL/PLAIN response: expected 3 tokens, got 2');
    assert.equal(
      attempt('bob\0alice\0pw'),
      'Authentication failed: Client requested an authorization id that is different from username',
    );
  });

  it('refuses a token over sasl.server.max.receive.size and marks the session failed', () => {
    const session = new SaslSession({
      listener: { name: 'S', securityProtocol: 'SASL_PLAINTEXT', host: '', port: 0 },
      mechanisms: ['PLAIN'],
      plainUsers: new Map([['alice', 'pw']]),
    });
    assert.equal(session.begin('PLAIN'), true);
    assert.throws(
      () => session.authenticate(new Uint8Array(SASL_SERVER_MAX_RECEIVE_SIZE + 1)),
      /sasl.server.max.receive.size \(524288\)/,
    );
    assert.equal(session.state, 'failed');
    assert.equal(session.principal, 'User:ANONYMOUS');
  });
});

describe('TLS settings', () => {
  const listener = { name: 'SSL', securityProtocol: 'SSL', host: '', port: 0 } as const;
  it('refuses what Kafka would not start with, naming the setting', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /listener SSL \(SSL\): no key; set ssl.keystore.type=PEM and ssl.keystore.location/],
      [
        { 'ssl.keystore.type': 'JKS', 'ssl.keystore.location': '/x' },
        /ssl.keystore.type=JKS: kstack reads PEM only/,
      ],
      [
        { 'ssl.keystore.location': '/x' },
        /ssl.keystore.type=JKS: kstack reads PEM only; set ssl.keystore.type=PEM/,
      ],
      [
        { 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': '/nonexistent/key.pem' },
        /ssl.keystore.location=\/nonexistent\/key.pem cannot be read/,
      ],
      [
        { 'listener.name.ssl.ssl.keystore.key': 'k' },
        /ssl.keystore.key and ssl.keystore.certificate.chain go together/,
      ],
      [
        { 'ssl.keystore.key': 'k', 'ssl.keystore.certificate.chain': 'c', 'ssl.client.auth': 'always' },
        /ssl.client.auth=always is not one of none, requested, required/,
      ],
      [
        { 'ssl.keystore.key': 'k', 'ssl.keystore.certificate.chain': 'c', 'ssl.client.auth': 'required' },
        /ssl.client.auth=required needs ssl.truststore.location or ssl.truststore.certificates/,
      ],
    ];
    for (const [settings, message] of cases) {
      assert.throws(() => listenerTls(listener, (name) => settings[name]), message, JSON.stringify(settings));
    }
    assert.equal(
      listenerTls({ ...listener, securityProtocol: 'SASL_PLAINTEXT' }, () => undefined),
      undefined,
    );
  });
});
