/**
 * OAUTHBEARER with Kafka's unsecured validator (src/security/oauthbearer.ts), no sockets: the
 * answers below are what Apache Kafka 4.1.1 sent on the wire to the same first messages (a probe of
 * 2026-12-06, SaslHandshake v1 + SaslAuthenticate v2; security-reference.slow.ts compares both
 * targets on the wire in CI), and the listener settings Kafka's broker needs at start.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Listener } from '../../src/security/listeners.ts';
import { OAuthBearerServer, readUnsecuredValidatorOptions } from '../../src/security/oauthbearer.ts';
import {
  listenerSecurity,
  SaslAuthenticationError,
  SaslConfigError,
  SaslSession,
  SaslUnansweredError,
} from '../../src/security/sasl.ts';

const MODULE = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';
const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jws = (claims: unknown, header: unknown = { alg: 'none' }) => `${b64(header)}.${b64(claims)}.`;
const first = (token: string, authzid = '') =>
  Buffer.from(`n,${authzid === '' ? '' : `a=${authzid}`},\x01auth=Bearer ${token}\x01\x01`);
const INVALID = '{"status":"invalid_token"}';
const GOOD = { sub: 'alice', exp: NOW_S + 3600, iat: NOW_S };

function server(jaasOptions = ''): OAuthBearerServer {
  const jaas = `${MODULE} required unsecuredLoginStringClaim_sub="broker" ${jaasOptions};`;
  return new OAuthBearerServer(readUnsecuredValidatorOptions('setting', jaas));
}

/** The answer to one first message: 'ok:<principal>', the challenge's text, or the failure. */
function answer(jaasOptions: string, message: Buffer): string {
  const s = server(jaasOptions);
  try {
    const challenge = Buffer.from(s.evaluate(message, NOW_MS)).toString('utf8');
    return s.complete ? `ok:${s.user}` : challenge;
  } catch (error) {
    if (error instanceof SaslUnansweredError) return 'closed without an answer';
    if (error instanceof SaslAuthenticationError) return `failed: ${error.message}`;
    return 'failed (generic message)';
  }
}

describe('OAUTHBEARER: the unsecured validator as Kafka 4.1.1 answers', () => {
  it('a valid token logs in as its sub; its exp is the credential expiry', () => {
    const s = server();
    assert.deepEqual([...s.evaluate(first(jws(GOOD)), NOW_MS)], []);
    assert.equal(s.complete, true);
    assert.equal(s.user, 'alice');
    assert.equal(s.credentialExpiresAtMs, NOW_MS + 3_600_000);
    assert.equal(answer('', first(jws(GOOD), 'alice')), 'ok:alice');
    assert.equal(
      answer('', Buffer.from(`n,,\x01traceid=abc\x01auth=Bearer ${jws(GOOD)}\x01\x01`)),
      'ok:alice',
    );
  });

  it('invalid tokens are answered {"status":"invalid_token"}, then the \\x01 fails with it', () => {
    const cases: Record<string, string> = {
      expired: jws({ ...GOOD, exp: NOW_S - 10 }),
      'no exp': jws({ sub: 'alice' }),
      'exp a string': jws({ ...GOOD, exp: String(NOW_S + 3600) }),
      'iat in the future': jws({ ...GOOD, iat: NOW_S + 100 }),
      'exp not after iat': jws({ ...GOOD, iat: GOOD.exp }),
      'no sub': jws({ exp: GOOD.exp }),
      'sub a number': jws({ ...GOOD, sub: 5 }),
      'two parts': 'abc.def',
      'alg HS256': jws(GOOD, { alg: 'HS256' }),
      'a signature': `${jws(GOOD)}sig`,
      'claims an array': jws([1]),
    };
    for (const [name, token] of Object.entries(cases)) {
      const s = server();
      assert.equal(Buffer.from(s.evaluate(first(token), NOW_MS)).toString(), INVALID, name);
      assert.equal(s.complete, false, name);
      assert.throws(() => s.evaluate(Buffer.from([1]), NOW_MS), { message: INVALID }, name);
    }
  });

  it('the options: principal claim, scope claim and required scope, clock skew', () => {
    assert.equal(
      answer('unsecuredValidatorPrincipalClaimName="name"', first(jws({ name: 'bob', exp: GOOD.exp }))),
      'ok:bob',
    );
    assert.equal(answer('unsecuredValidatorPrincipalClaimName="name"', first(jws(GOOD))), INVALID);
    const scope = 'unsecuredValidatorRequiredScope="read write"';
    const insufficient = '{"status":"insufficient_scope", "scope":"[read, write]"}';
    assert.equal(answer(scope, first(jws({ ...GOOD, scope: ['write', 'read', 'x'] }))), 'ok:alice');
    // A string scope claim is one scope element, not a space-delimited list (as Kafka reads it).
    assert.equal(answer(scope, first(jws({ ...GOOD, scope: 'read write' }))), insufficient);
    assert.equal(answer(scope, first(jws(GOOD))), insufficient);
    assert.equal(
      answer(
        `${scope} unsecuredValidatorScopeClaimName="scp"`,
        first(jws({ ...GOOD, scp: ['read', 'write'] })),
      ),
      'ok:alice',
    );
    const expiredSecondsAgo = first(jws({ sub: 'alice', exp: NOW_S - 5 }));
    assert.equal(answer('unsecuredValidatorAllowableClockSkewMs="10000"', expiredSecondsAgo), 'ok:alice');
    assert.equal(answer('unsecuredValidatorAllowableClockSkewMs="1000"', expiredSecondsAgo), INVALID);
  });

  it('first messages that do not parse, an authzid that is not the principal, and what Kafka leaves unanswered', () => {
    assert.equal(answer('', Buffer.from('hello')), 'failed (generic message)');
    assert.equal(
      answer('', Buffer.from('n,,\x01auth=Bearer not a token!\x01\x01')),
      'failed (generic message)',
    );
    assert.equal(
      answer('', Buffer.from(`n,,\x01a1=x\x01auth=Bearer ${jws(GOOD)}\x01\x01`)),
      'failed (generic message)',
    );
    assert.equal(
      answer('', first(jws(GOOD), 'bob')),
      "failed: Authentication failed: Client requested an authorization id (bob) that is different from the token's principal name (alice)",
    );
    assert.equal(
      answer('', Buffer.from(`n,,\x01auth=Basic ${jws(GOOD)}\x01\x01`)),
      'closed without an answer',
    );
    assert.equal(answer('', first(jws(GOOD, [1]))), 'closed without an answer');
  });

  it('after an error challenge, another first message is a new attempt; anything but \\x01 that does not parse fails', () => {
    const s = server();
    assert.equal(
      Buffer.from(s.evaluate(first(jws({ ...GOOD, exp: NOW_S - 10 })), NOW_MS)).toString(),
      INVALID,
    );
    assert.deepEqual([...s.evaluate(first(jws(GOOD)), NOW_MS)], []);
    assert.equal(s.user, 'alice');
    const t = server();
    t.evaluate(first('abc.def'), NOW_MS);
    assert.throws(
      () => t.evaluate(Buffer.from([2]), NOW_MS),
      (error: Error) => !(error instanceof SaslAuthenticationError),
    );
  });
});

describe('OAUTHBEARER on a listener', () => {
  const listener: Listener = {
    name: 'OAUTH',
    securityProtocol: 'SASL_SSL',
    host: '127.0.0.1',
    port: 0,
    advertisedHost: '127.0.0.1',
    advertisedPort: 0,
  } as unknown as Listener;
  const settings = (extra: Record<string, string>) => (name: string) =>
    ({ 'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER', ...extra })[name];
  const JAAS = 'listener.name.oauth.oauthbearer.sasl.jaas.config';

  it('is refused at start without the JAAS config or the broker login Kafka needs, naming the setting', () => {
    assert.throws(
      () => listenerSecurity(listener, settings({})),
      (error: Error) => error instanceof SaslConfigError && error.message.includes(JAAS),
    );
    assert.throws(
      () => listenerSecurity(listener, settings({ [JAAS]: `${MODULE} required;` })),
      (error: Error) =>
        error instanceof SaslConfigError && error.message.includes('No principal name in JWT claim: sub'),
    );
    assert.throws(
      () =>
        listenerSecurity(
          listener,
          settings({
            [JAAS]: `${MODULE} required unsecuredLoginStringClaim_sub="b" unsecuredValidatorAllowableClockSkewMs="-1";`,
          }),
        ),
      (error: Error) =>
        error instanceof SaslConfigError && error.message.includes('unsecuredValidatorAllowableClockSkewMs'),
    );
  });

  it('KIP-368: the token exp bounds the session, with or without connections.max.reauth.ms', () => {
    const jaas = { [JAAS]: `${MODULE} required unsecuredLoginStringClaim_sub="broker";` };
    const login = (extra: Record<string, string>, expSeconds: number) => {
      const session = new SaslSession(listenerSecurity(listener, settings({ ...jaas, ...extra })));
      assert.equal(session.begin('OAUTHBEARER'), true);
      session.authenticate(first(jws({ sub: 'alice', exp: NOW_S + expSeconds })), NOW_MS);
      assert.equal(session.principal, 'User:alice');
      return [session.lifetimeMs, session.expiresAtMs];
    };
    // Kafka 4.1.1 answered an hour's token 3599589 ms without connections.max.reauth.ms.
    assert.deepEqual(login({}, 3600), [3_600_000, NOW_MS + 3_600_000]);
    const reauth = { 'listener.name.oauth.oauthbearer.connections.max.reauth.ms': '60000' };
    assert.deepEqual(login(reauth, 30), [30_000, NOW_MS + 30_000]);
    assert.deepEqual(login(reauth, 7200), [60_000, NOW_MS + 60_000]);
  });

  it('a token let in by the clock skew after its exp: lifetime 0, over by the next request', () => {
    const jaas = `${MODULE} required unsecuredLoginStringClaim_sub="broker" unsecuredValidatorAllowableClockSkewMs="30000";`;
    const session = new SaslSession(listenerSecurity(listener, settings({ [JAAS]: jaas })));
    session.begin('OAUTHBEARER');
    session.authenticate(first(jws({ sub: 'alice', exp: NOW_S - 10 })), NOW_MS);
    assert.equal(session.lifetimeMs, 0);
    assert.equal(session.expired(NOW_MS), true);
  });
});
