/**
 * SASL/OAUTHBEARER (RFC 7628) with Kafka's default server callback,
 * `OAuthBearerUnsecuredValidatorCallbackHandler`: the client's token is an unsecured JWS (`alg`
 * `none`, no signature) whose claims are checked as Kafka checks them. What local testing of OAuth
 * clients uses; it proves nothing about who the client is (anyone can write such a token).
 *
 * The exchange, as Apache Kafka 4.1.1 answers it on the wire: the client's first message
 * `n,[a=<authzid>],\x01[key=value\x01]*auth=Bearer <token>\x01\x01`; a valid token completes with an
 * empty answer; an invalid one is answered (error code 0) with the error JSON
 * `{"status":"invalid_token"}` (or `{"status":"insufficient_scope", "scope":"[…]"}`), the client
 * sends `\x01`, and the server fails the authentication with that JSON as its message. A first
 * message that does not parse fails at once with Kafka's generic message.
 */
import { parseJaasConfig } from './jaas.ts';
import { SaslAuthenticationError, type SaslServer, SaslUnansweredError } from './sasl.ts';

export const OAUTHBEARER = 'OAUTHBEARER';
export const OAUTHBEARER_LOGIN_MODULE = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';
/** The client's answer to an error challenge (RFC 7628 §3.2.3): a single %x01. */
const ERROR_ACKNOWLEDGEMENT = 0x01;
const SEPARATOR = '\u0001';
/** Kafka's OAuthBearerClientInitialResponse grammar (authzid, key=value extensions, the auth value). */
const SASLNAME = '(?:[\\x01-\\x2B\\x2D-\\x3C\\x3E-\\x7F]|=2C|=3D)+';
const KVPAIRS = `(?:[A-Za-z]+=[\\x21-\\x7E \\t\\r\\n]+${SEPARATOR})*`;
const CLIENT_FIRST_MESSAGE = new RegExp(`^n,(?:a=(${SASLNAME}))?,${SEPARATOR}(${KVPAIRS})${SEPARATOR}$`);
const AUTH_VALUE = /^(\w+) +([-_.a-zA-Z0-9]+)$/;
/** An extension's name and value, as Kafka's SaslExtensions validation allows them. */
const EXTENSION_NAME = /^[A-Za-z]+$/;
/** RFC 6749 scope-token characters (Kafka's OAuthBearerScopeUtils). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Base64url as Java's URL decoder takes it: the alphabet, optional padding, no stray length. */
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** `OAuthBearerLoginModule`'s unsecured validator options of a listener's JAAS config. */
export interface UnsecuredValidatorOptions {
  /** `unsecuredValidatorPrincipalClaimName` (default `sub`): the claim naming the principal. */
  readonly principalClaimName: string;
  /** `unsecuredValidatorScopeClaimName` (default `scope`): a string or a list of strings. */
  readonly scopeClaimName: string;
  /** `unsecuredValidatorRequiredScope` (space-delimited; default none). */
  readonly requiredScope: readonly string[];
  /** `unsecuredValidatorAllowableClockSkewMs` (default 0). */
  readonly allowableClockSkewMs: number;
}

/** A setting Kafka would refuse (or fail every login with); the message names the setting. */
export class OAuthBearerConfigError extends Error {}

/**
 * The validator options from `listener.name.<l>.oauthbearer.sasl.jaas.config`, which Kafka's broker
 * needs: its OAuthBearerLoginModule logs the broker itself in at start with an unsecured token, and
 * Kafka 4.1.1 exits "No principal name in JWT claim: sub" without `unsecuredLoginStringClaim_sub`.
 */
export function readUnsecuredValidatorOptions(
  setting: string,
  text: string | undefined,
): UnsecuredValidatorOptions {
  if (text === undefined) {
    throw new OAuthBearerConfigError(
      `${setting} is not set; give ${OAUTHBEARER_LOGIN_MODULE} required unsecuredLoginStringClaim_sub="<broker principal>";`,
    );
  }
  const entry = parseJaasConfig(setting, text).find((e) => e.loginModule === OAUTHBEARER_LOGIN_MODULE);
  if (entry === undefined)
    throw new OAuthBearerConfigError(`${setting}: no ${OAUTHBEARER_LOGIN_MODULE} entry`);
  const option = (name: string) => {
    const value = entry.options.get(name)?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const loginClaim = option('unsecuredLoginPrincipalClaimName') ?? 'sub';
  if (option(`unsecuredLoginStringClaim_${loginClaim}`) === undefined) {
    throw new OAuthBearerConfigError(
      `${setting}: No principal name in JWT claim: ${loginClaim} (Kafka's broker logs itself in with unsecuredLoginStringClaim_${loginClaim}="<name>")`,
    );
  }
  const requiredScope = (option('unsecuredValidatorRequiredScope') ?? '').split(' ').filter((s) => s !== '');
  for (const scope of requiredScope) {
    if (!SCOPE_TOKEN.test(scope))
      throw new OAuthBearerConfigError(
        `${setting}: unsecuredValidatorRequiredScope has an invalid scope token`,
      );
  }
  const skewText = option('unsecuredValidatorAllowableClockSkewMs') ?? '0';
  const allowableClockSkewMs = Number(skewText);
  if (!/^\d+$/.test(skewText) || allowableClockSkewMs > 2 ** 31 - 1) {
    throw new OAuthBearerConfigError(
      `${setting}: unsecuredValidatorAllowableClockSkewMs must be a whole number of milliseconds (0 to ${2 ** 31 - 1})`,
    );
  }
  return {
    principalClaimName: option('unsecuredValidatorPrincipalClaimName') ?? 'sub',
    scopeClaimName: option('unsecuredValidatorScopeClaimName') ?? 'scope',
    requiredScope,
    allowableClockSkewMs,
  };
}

/** A token the validator refuses: `scope` set means insufficient scope (the required scope, as Java prints a list). */
class IllegalToken extends Error {
  readonly scope: string | null;
  constructor(message: string, scope: string | null = null) {
    super(message);
    this.scope = scope;
  }
}

/** A validated token: its principal and when it expires (ms). */
export interface ValidatedToken {
  readonly principal: string;
  readonly expiresAtMs: number;
}

/** A part's JSON object; any other JSON value reads as an empty object, as Kafka's Jackson tree walk does. */
function decodePart(part: string): Record<string, unknown> {
  if (!BASE64URL.test(part) || part.replace(/=+$/, '').length % 4 === 1)
    throw new IllegalToken('malformed Base64 URL encoded value');
  const text = Buffer.from(part, 'base64url').toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IllegalToken('malformed JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return value as Record<string, unknown>;
}

/** A claim in seconds (a JSON number), as milliseconds; undefined when absent. */
function timeClaimMs(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new IllegalToken(`The '${name}' claim is not a number`);
  return Math.round(value * 1000);
}

function scopeOf(claims: Record<string, unknown>, name: string): Set<string> {
  const value = claims[name];
  if (typeof value === 'string') return new Set(value.trim() === '' ? [] : [value.trim()]);
  if (Array.isArray(value)) return new Set(value.filter((v): v is string => typeof v === 'string'));
  return new Set();
}

/**
 * Kafka's OAuthBearerUnsecuredJws and OAuthBearerValidationUtils: three dot-separated parts, a
 * header with `alg` `none`, no signature, `exp` (seconds) required and not before now less the skew,
 * the principal claim a non-blank string, `iat` (if present) not after now plus the skew, `exp`
 * after `iat`, and every required scope in the scope claim.
 */
export function validateUnsecuredToken(
  token: string,
  options: UnsecuredValidatorOptions,
  nowMs: number,
): ValidatedToken {
  if (token.includes('..')) throw new IllegalToken("Malformed compact serialization contains '..'");
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new IllegalToken(
      'Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values',
    );
  const [headerPart, claimsPart, signature] = parts as [string, string, string];
  const header = decodePart(headerPart);
  const claims = decodePart(claimsPart);
  // Kafka 4.1.1 closes the connection without an answer here (a NullPointerException in its parser).
  if (header.alg === undefined || header.alg === null)
    throw new SaslUnansweredError('OAUTHBEARER token header has no alg');
  if (header.alg !== 'none') throw new IllegalToken("Unsecured JWS must have 'none' for an algorithm");
  if (signature !== '') throw new IllegalToken('Unsecured JWS must not contain a digital signature');
  const expiresAtMs = timeClaimMs(claims, 'exp');
  if (expiresAtMs === undefined) throw new IllegalToken('No expiration time in JWT');
  const principal = claims[options.principalClaimName];
  if (typeof principal !== 'string' || principal.trim() === '')
    throw new IllegalToken(`No principal name in JWT claim: ${options.principalClaimName}`);
  const skew = options.allowableClockSkewMs;
  const issuedAtMs = timeClaimMs(claims, 'iat');
  if (issuedAtMs !== undefined && nowMs + skew < issuedAtMs)
    throw new IllegalToken('The Issued At value was after the indicated time plus allowable clock skew');
  if (nowMs - skew >= expiresAtMs)
    throw new IllegalToken(
      'The indicated time minus allowable clock skew was on or after the Expiration Time value',
    );
  if (issuedAtMs !== undefined && expiresAtMs <= issuedAtMs)
    throw new IllegalToken('The Expiration Time was not after the Issued At time');
  const scope = scopeOf(claims, options.scopeClaimName);
  if (options.requiredScope.some((required) => !scope.has(required)))
    throw new IllegalToken(
      'The provided scope was missing a required scope',
      `[${options.requiredScope.join(', ')}]`,
    );
  return { principal, expiresAtMs };
}

/** Kafka's error JSON (OAuthBearerSaslServer.jsonErrorResponse), byte for byte. */
function errorJson(error: IllegalToken): string {
  return error.scope === null
    ? '{"status":"invalid_token"}'
    : `{"status":"insufficient_scope", "scope":"${error.scope}"}`;
}

/** The client's first message: its authzid (or '') and the token; null when it does not parse. */
function parseClientFirstMessage(message: string): { authorizationId: string; token: string } | null {
  const match = CLIENT_FIRST_MESSAGE.exec(message);
  if (match === null) return null;
  const pairs = (match[2] ?? '').split(SEPARATOR).filter((pair) => pair !== '');
  const properties = new Map(
    pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const auth = properties.get('auth');
  if (auth === undefined) return null;
  for (const name of properties.keys()) if (!EXTENSION_NAME.test(name)) return null;
  const value = AUTH_VALUE.exec(auth);
  if (value === null) return null;
  // Kafka 4.1.1 closes the connection without an answer on another scheme (its message's format fails).
  if (value[1]!.toLowerCase() !== 'bearer') throw new SaslUnansweredError(`OAUTHBEARER scheme ${value[1]}`);
  return { authorizationId: match[1] ?? '', token: value[2]! };
}

/** One connection's OAUTHBEARER exchange (Kafka's OAuthBearerSaslServer with the unsecured validator). */
export class OAuthBearerServer implements SaslServer {
  readonly mechanism = OAUTHBEARER;
  complete = false;
  user: string | null = null;
  /** KIP-368: the token's `exp` (ms) bounds the session. */
  credentialExpiresAtMs: number | null = null;
  readonly #options: UnsecuredValidatorOptions;
  /** The error JSON last sent, awaiting the client's %x01. */
  #errorMessage: string | null = null;

  constructor(options: UnsecuredValidatorOptions) {
    this.#options = options;
  }

  evaluate(response: Uint8Array, nowMs: number): Uint8Array {
    if (this.complete) throw new SaslAuthenticationError('Authentication failed: OAUTHBEARER is complete');
    if (response.length === 1 && response[0] === ERROR_ACKNOWLEDGEMENT && this.#errorMessage !== null)
      throw new SaslAuthenticationError(this.#errorMessage);
    this.#errorMessage = null;
    // Not a SaslAuthenticationError: answered with Kafka's generic message, as its SaslException is.
    const first = parseClientFirstMessage(Buffer.from(response).toString('utf8'));
    if (first === null) throw new Error('Invalid OAUTHBEARER client first message');
    let token: ValidatedToken;
    try {
      token = validateUnsecuredToken(first.token, this.#options, nowMs);
    } catch (error) {
      if (!(error instanceof IllegalToken)) throw error;
      this.#errorMessage = errorJson(error);
      return Buffer.from(this.#errorMessage, 'utf8');
    }
    if (first.authorizationId !== '' && first.authorizationId !== token.principal) {
      throw new SaslAuthenticationError(
        `Authentication failed: Client requested an authorization id (${first.authorizationId}) that is different from the token's principal name (${token.principal})`,
      );
    }
    this.complete = true;
    this.user = token.principal;
    this.credentialExpiresAtMs = token.expiresAtMs;
    return new Uint8Array(0);
  }
}
