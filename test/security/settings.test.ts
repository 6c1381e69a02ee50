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
      () => session.authenticate(new Uint8Array(SASL_SERVER_MAX_RECEIVE_SIZE + 1), 0),
      /sasl.server.max.receive.size \(524288\)/,
    );
    assert.equal(session.state, 'failed');
    assert.equal(session.principal, 'User:ANONYMOUS');
  });
});

describe('re-authentication (KIP-368): connections.max.reauth.ms and the session', () => {
  const listener = { name: 'REAUTH', securityProtocol: 'SASL_PLAINTEXT', host: '', port: 0 } as const;
  const security = (settings: Record<string, string>) =>
    listenerSecurity(
      listener,
      (name) =>
        ({ 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256', ...settings })[name] ??
        (name.endsWith('plain.sasl.jaas.config') ? JAAS : undefined),
    );
  const login = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`);

  it("reads it per mechanism in Kafka's order, 0 (never) by default, and refuses a bad value naming it", () => {
    assert.deepEqual(
      [...security({}).reauthMs!],
      [
        ['PLAIN', 0],
        ['SCRAM-SHA-256', 0],
      ],
    );
    assert.deepEqual(
      [
        ...security({
          'connections.max.reauth.ms': '5000',
          'listener.name.reauth.plain.connections.max.reauth.ms': '2000',
        }).reauthMs!,
      ],
      [
        ['PLAIN', 2000],
        ['SCRAM-SHA-256', 5000],
      ],
    );
    assert.deepEqual(
      [...security({ 'listener.name.reauth.connections.max.reauth.ms': '7' }).reauthMs!],
      [
        ['PLAIN', 7],
        ['SCRAM-SHA-256', 7],
      ],
    );
    for (const bad of ['-1', '1.5', 'soon', '']) {
      assert.throws(
        () => security({ 'listener.name.reauth.plain.connections.max.reauth.ms': bad }),
        /^Error: listener\.name\.reauth\.plain\.connections\.max\.reauth\.ms: .* is not a whole number of milliseconds/,
      );
    }
  });

  it('gives the session its lifetime, expires it, and re-authenticates at most once a second', () => {
    const session = new SaslSession(security({ 'connections.max.reauth.ms': '3000' }));
    assert.equal(session.begin('PLAIN'), true);
    session.authenticate(login('alice', 'a;b="c"'), 10_000);
    assert.equal(session.state, 'authenticated');
    assert.equal(session.lifetimeMs, 3000);
    assert.equal(session.expired(13_000), false);
    assert.equal(session.expired(13_001), true);
    assert.equal(session.beginReauthentication(10_500), true);
    assert.equal(session.principal, 'User:alice', 'the old principal holds until re-authenticated');
    assert.equal(session.phase, 're-authentication');
    assert.equal(session.begin('PLAIN'), true);
    session.authenticate(login('alice', 'a;b="c"'), 11_000);
    assert.equal(session.expired(13_001), false, 'the new session runs from the re-authentication');
    assert.equal(session.mayReauthenticate(11_499), false, 'under a second since the last one began');
    assert.equal(session.beginReauthentication(11_499), false);
    assert.equal(session.beginReauthentication(11_500), true);
  });

  it('never expires a session without connections.max.reauth.ms, and then refuses re-authentication', () => {
    const session = new SaslSession(security({}));
    session.begin('PLAIN');
    session.authenticate(login('alice', 'a;b="c"'), 0);
    assert.equal(session.lifetimeMs, 0);
    assert.equal(session.expired(Number.MAX_SAFE_INTEGER), false);
    assert.equal(session.beginReauthentication(5000), false);
  });

  it("refuses another principal or mechanism with Kafka's messages", () => {
    const session = new SaslSession(security({ 'connections.max.reauth.ms': '3000' }));
    session.begin('PLAIN');
    session.authenticate(login('alice', 'a;b="c"'), 0);
    session.beginReauthentication(1);
    session.begin('PLAIN');
    assert.throws(
      () => session.authenticate(login('admin', 'admin-pw'), 2),
      /^Error: Cannot change principals during re-authentication from User\.alice: User\.admin$/,
    );
    assert.equal(session.state, 'failed');
    const other = new SaslSession(security({ 'connections.max.reauth.ms': '3000' }));
    other.begin('PLAIN');
    other.authenticate(login('alice', 'a;b="c"'), 0);
    other.beginReauthentication(1);
    other.begin('SCRAM-SHA-256');
    assert.throws(
      () => other.authenticate(Buffer.from('n,,n=alice,r=abc'), 2),
      /SASL mechanism 'SCRAM-SHA-256' requested by client is not supported for re-authentication of mechanism 'PLAIN'/,
    );
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
