/**
 * OAUTHBEARER on the wire, for security-reference.slow.ts: the same first messages to kstack and to
 * Apache Kafka 4.1.1 (SaslHandshake v1, SaslAuthenticate v2 over TLS), each exchange written down as
 * text so the two targets' answers can be compared whole. The listener's JAAS config sets
 * `unsecuredValidatorAllowableClockSkewMs` to OAUTH_CLOCK_SKEW_MS and nothing else.
 */
import type tls from 'node:tls';
import { WireClient } from './support.ts';

/** The OAUTH listener's allowable clock skew: a token expired 10 s ago passes, one expired 60 s ago does not. */
export const OAUTH_CLOCK_SKEW_MS = 30_000;
/** How long one answer may take before the exchange is written down as unanswered. */
const ANSWER_TIMEOUT_MS = 60_000;

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jws = (claims: unknown, header: unknown = { alg: 'none' }) => `${part(header)}.${part(claims)}.`;
const firstMessage = (token: string, authzid = '') =>
  Buffer.from(`n,${authzid === '' ? '' : `a=${authzid}`},\x01auth=Bearer ${token}\x01\x01`);
const ACK = Buffer.from([1]);

/** The exchanges, by name: the SaslAuthenticate tokens sent in order, then a Metadata request. */
function exchanges(nowS: number): Record<string, Buffer[]> {
  const good = { sub: 'compat', iat: nowS, exp: nowS + 3600 };
  return {
    valid: [firstMessage(jws(good))],
    'valid, authzid the same': [firstMessage(jws(good), 'compat')],
    'expired 10 s ago (within the skew)': [firstMessage(jws({ sub: 'compat', exp: nowS - 10 }))],
    'expired 60 s ago': [firstMessage(jws({ sub: 'compat', exp: nowS - 60 })), ACK],
    'no exp': [firstMessage(jws({ sub: 'compat' })), ACK],
    'no sub': [firstMessage(jws({ exp: nowS + 3600 })), ACK],
    'malformed (two parts)': [firstMessage('abc.def'), ACK],
    'alg HS256': [firstMessage(jws(good, { alg: 'HS256' })), ACK],
    'a signature': [firstMessage(`${jws(good)}c2ln`), ACK],
    'expired, then a valid first message': [
      firstMessage(jws({ sub: 'compat', exp: nowS - 60 })),
      firstMessage(jws(good)),
    ],
    'authzid another user': [firstMessage(jws(good), 'alice')],
    'not a first message': [Buffer.from('hello')],
    'scheme Basic': [Buffer.from(`n,,\x01auth=Basic ${jws(good)}\x01\x01`)],
    'header without alg': [firstMessage(jws(good, {}))],
  };
}

function withTimeout<T>(promise: Promise<T>): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ANSWER_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One target's answers, one line per exchange: each SaslAuthenticate's error code, message and
 * auth bytes (a session lifetime as "~1 h" when it is within a minute of the token's hour, else as
 * sent), then whether Metadata was answered.
 */
export async function oauthBearerOnTheWire(
  port: number,
  tlsOptions?: tls.ConnectionOptions,
): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  for (const name of Object.keys(exchanges(0))) {
    // Each exchange's tokens are made just before it, so a slow machine does not age them.
    const tokens = exchanges(Math.floor(Date.now() / 1000))[name] ?? [];
    const client = await WireClient.connect(port, tlsOptions === undefined ? {} : { tls: tlsOptions });
    const steps: string[] = [];
    try {
      const handshake = await withTimeout(client.request(17, 1, { mechanism: 'OAUTHBEARER' }));
      steps.push(typeof handshake === 'string' ? handshake : `handshake ${handshake.errorCode}`);
      for (const token of tokens) {
        const answer = await withTimeout(client.request(36, 2, { authBytes: token }));
        if (typeof answer === 'string') {
          steps.push(answer);
          break;
        }
        const lifetime = Number(answer.sessionLifetimeMs);
        const shownLifetime = lifetime > 3_540_000 && lifetime <= 3_600_000 ? '~1 h' : String(lifetime);
        steps.push(
          `${answer.errorCode} ${JSON.stringify(answer.errorMessage)} ${JSON.stringify(Buffer.from(answer.authBytes as Uint8Array).toString('utf8'))} ${shownLifetime}`,
        );
      }
      if (steps.at(-1) !== 'closed' && steps.at(-1) !== 'no answer') {
        const metadata = await withTimeout(
          client.request(3, 12, {
            topics: null,
            allowAutoTopicCreation: false,
            includeTopicAuthorizedOperations: false,
          }),
        );
        steps.push(typeof metadata === 'string' ? `Metadata ${metadata}` : 'Metadata answered');
      }
    } finally {
      client.close();
    }
    answers[name] = steps.join(' | ');
  }
  return answers;
}

/** What Apache Kafka 4.1.1 answered (asked by hand on 2026-12-06; both targets must give exactly this). */
export const KAFKA_OAUTHBEARER_ANSWERS: Readonly<Record<string, string>> = (() => {
  const ok = 'handshake 0 | 0 "" "" ~1 h | Metadata answered';
  const invalid =
    'handshake 0 | 0 "" "{\\"status\\":\\"invalid_token\\"}" 0 | 58 "{\\"status\\":\\"invalid_token\\"}" "" 0 | Metadata closed';
  const generic =
    'handshake 0 | 58 "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER" "" 0 | Metadata closed';
  return {
    valid: ok,
    'valid, authzid the same': ok,
    'expired 10 s ago (within the skew)': 'handshake 0 | 0 "" "" 0 | Metadata closed',
    'expired 60 s ago': invalid,
    'no exp': invalid,
    'no sub': invalid,
    'malformed (two parts)': invalid,
    'alg HS256': invalid,
    'a signature': invalid,
    'expired, then a valid first message':
      'handshake 0 | 0 "" "{\\"status\\":\\"invalid_token\\"}" 0 | 0 "" "" ~1 h | Metadata answered',
    'authzid another user':
      'handshake 0 | 58 "Authentication failed: Client requested an authorization id (alice) that is different from the token\'s principal name (compat)" "" 0 | Metadata closed',
    'not a first message': generic,
    'scheme Basic': 'handshake 0 | closed',
    'header without alg': 'handshake 0 | closed',
  };
})();
