/**
 * SASL on a listener, as Kafka's broker does it: the mechanisms a listener enables, the users of
 * each mechanism, and each connection's authentication state (SaslHandshake picks a mechanism,
 * SaslAuthenticate carries its tokens). Until a connection on a SASL listener has authenticated,
 * only ApiVersions, SaslHandshake and SaslAuthenticate are served; anything else closes it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ConnectionInfo } from '../broker/handler.ts';
import { type JaasEntry, parseJaasConfig } from './jaas.ts';
import { type Listener, usesSasl } from './listeners.ts';
import {
  OAUTHBEARER,
  OAuthBearerConfigError,
  OAuthBearerServer,
  readUnsecuredValidatorOptions,
  type UnsecuredValidatorOptions,
} from './oauthbearer.ts';
import { certificatePrincipal, PrincipalMapper } from './principal.ts';
import { isScramMechanism, type ScramCredentialLookup, ScramServer } from './scram.ts';

/** The SASL mechanisms kstack's broker serves. */
export const SUPPORTED_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
/** Kafka's default `sasl.enabled.mechanisms`. */
export const DEFAULT_ENABLED_MECHANISMS = 'GSSAPI';
const PLAIN_LOGIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
/** API keys served before authentication on a SASL listener. */
export const PRE_AUTHENTICATION_KEYS: ReadonlySet<number> = new Set([17, 18, 36]);
/** Kafka's `sasl.server.max.receive.size` default: the largest SASL token accepted before authentication. */
export const SASL_SERVER_MAX_RECEIVE_SIZE = 524288;
/** The principal of a connection that did not authenticate (PLAINTEXT, or SSL without a client certificate). */
export const ANONYMOUS = 'User:ANONYMOUS';
/**
 * KIP-368: a connection re-authenticates at most once a second (Kafka's KafkaChannel
 * MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS); a SaslHandshake sooner is answered as any SaslHandshake
 * after authentication (ILLEGAL_SASL_STATE).
 */
export const REAUTH_INTERVAL_MIN_MS = 1000;
/** `connections.max.reauth.ms` above this (about 285 million years) is refused at start. */
export const CONNECTIONS_MAX_REAUTH_MS_MAX = Number.MAX_SAFE_INTEGER;

/** What a listener needs to authenticate its connections. */
export interface ListenerSecurity {
  readonly listener: Listener;
  /** Upper-case mechanism names, in `sasl.enabled.mechanisms` order (empty on non-SASL listeners). */
  readonly mechanisms: readonly string[];
  /** PLAIN's users and passwords (`user_<name>="<password>"` of PlainLoginModule). */
  readonly plainUsers: ReadonlyMap<string, string>;
  /** SCRAM credentials (the broker's store, from the metadata log); none: no SCRAM user exists. */
  readonly scram?: ScramCredentialLookup;
  /**
   * An SSL listener's `ssl.principal.mapping.rules`: its clients are named by their certificate
   * (src/security/principal.ts). Absent on other listeners (SASL_SSL names them by SASL, as Kafka).
   */
  readonly principalMapper?: PrincipalMapper;
  /**
   * KIP-368: per mechanism, `connections.max.reauth.ms` (0 or absent: sessions never expire). A
   * session lives this long after each (re-)authentication; past it, the connection is closed on
   * its next request unless that request starts a re-authentication.
   */
  readonly reauthMs?: ReadonlyMap<string, number>;
  /** OAUTHBEARER's unsecured validator options (`listener.name.<l>.oauthbearer.sasl.jaas.config`). */
  readonly oauthBearer?: UnsecuredValidatorOptions;
}

/** Reads a broker config by name (the static layer holds `listener.name.*` prefixed ones too). */
export type ConfigLookup = (name: string) => string | undefined;

/** A SASL setting Kafka would refuse at start; the message names the setting and what to do. */
export class SaslConfigError extends Error {}

/** Kafka's order: a listener-prefixed setting (`listener.name.<lower-case name>.`) wins over the plain one. */
function listenerSetting(lookup: ConfigLookup, listener: string, name: string): string | undefined {
  return lookup(`listener.name.${listener.toLowerCase()}.${name}`) ?? lookup(name);
}

export function listenerSecurity(
  listener: Listener,
  lookup: ConfigLookup,
  scram?: ScramCredentialLookup,
): ListenerSecurity {
  if (listener.securityProtocol === 'SSL') {
    const name = `listener.name.${listener.name.toLowerCase()}.ssl.principal.mapping.rules`;
    const prefixed = lookup(name);
    const principalMapper = PrincipalMapper.fromRules(
      prefixed ?? lookup('ssl.principal.mapping.rules'),
      `listener ${listener.name}: ${prefixed === undefined ? 'ssl.principal.mapping.rules' : name}`,
    );
    return { listener, mechanisms: [], plainUsers: new Map(), principalMapper };
  }
  if (!usesSasl(listener.securityProtocol)) return { listener, mechanisms: [], plainUsers: new Map() };
  const enabled =
    listenerSetting(lookup, listener.name, 'sasl.enabled.mechanisms') ?? DEFAULT_ENABLED_MECHANISMS;
  const mechanisms = enabled
    .split(',')
    .map((name) => name.trim().toUpperCase())
    .filter((name) => name.length > 0);
  if (mechanisms.length === 0) {
    throw new SaslConfigError(`listener ${listener.name}: sasl.enabled.mechanisms is empty; set e.g. PLAIN`);
  }
  for (const mechanism of mechanisms) {
    if (!(SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new SaslConfigError(
        `listener ${listener.name}: SASL mechanism ${mechanism} (sasl.enabled.mechanisms) is not served by kstack; it serves ${SUPPORTED_MECHANISMS.join(', ')}`,
      );
    }
  }
  const plainUsers = mechanisms.includes('PLAIN') ? readPlainUsers(listener.name, lookup) : new Map();
  const reauthMs = new Map(
    mechanisms.map((mechanism) => [mechanism, readReauthMs(listener.name, mechanism, lookup)]),
  );
  const oauthBearer = mechanisms.includes(OAUTHBEARER) ? readOAuthBearer(listener.name, lookup) : undefined;
  return {
    listener,
    mechanisms,
    plainUsers,
    reauthMs,
    ...(scram === undefined ? {} : { scram }),
    ...(oauthBearer === undefined ? {} : { oauthBearer }),
  };
}

/** OAUTHBEARER's validator options from the listener's JAAS config, which Kafka's broker requires too. */
function readOAuthBearer(listener: string, lookup: ConfigLookup): UnsecuredValidatorOptions {
  const setting = `listener.name.${listener.toLowerCase()}.oauthbearer.sasl.jaas.config`;
  try {
    return readUnsecuredValidatorOptions(setting, lookup(setting));
  } catch (error) {
    if (error instanceof OAuthBearerConfigError)
      throw new SaslConfigError(`listener ${listener}: ${error.message}`);
    throw error;
  }
}

/**
 * `connections.max.reauth.ms` of one mechanism on one listener, in Kafka's order:
 * `listener.name.<l>.<mechanism>.connections.max.reauth.ms`, then the listener-prefixed name, then
 * the plain one; default 0 (never).
 */
function readReauthMs(listener: string, mechanism: string, lookup: ConfigLookup): number {
  const mechanismName = `listener.name.${listener.toLowerCase()}.${mechanism.toLowerCase()}.connections.max.reauth.ms`;
  const listenerName = `listener.name.${listener.toLowerCase()}.connections.max.reauth.ms`;
  const [setting, text] = [mechanismName, listenerName, 'connections.max.reauth.ms']
    .map((name) => [name, lookup(name)] as const)
    .find(([, value]) => value !== undefined) ?? ['connections.max.reauth.ms', undefined];
  if (text === undefined) return 0;
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value > CONNECTIONS_MAX_REAUTH_MS_MAX) {
    throw new SaslConfigError(
      `${setting}: ${JSON.stringify(text)} is not a whole number of milliseconds (0 or more)`,
    );
  }
  return value;
}

/**
 * PLAIN's users, from `listener.name.<l>.plain.sasl.jaas.config` as Kafka's broker reads them (the
 * broker does not take an unprefixed `sasl.jaas.config`; Kafka would read a JAAS file instead).
 */
function readPlainUsers(listener: string, lookup: ConfigLookup): Map<string, string> {
  const setting = `listener.name.${listener.toLowerCase()}.plain.sasl.jaas.config`;
  const text = lookup(setting);
  if (text === undefined) {
    throw new SaslConfigError(
      `listener ${listener} enables PLAIN but ${setting} is not set; give ${PLAIN_LOGIN_MODULE} required user_<name>="<password>";`,
    );
  }
  const entry: JaasEntry | undefined = parseJaasConfig(setting, text).find(
    (candidate) => candidate.loginModule === PLAIN_LOGIN_MODULE,
  );
  if (entry === undefined) throw new SaslConfigError(`${setting}: no ${PLAIN_LOGIN_MODULE} entry`);
  const users = new Map<string, string>();
  for (const [key, value] of entry.options) {
    if (key.startsWith('user_') && key.length > 'user_'.length) users.set(key.slice('user_'.length), value);
  }
  return users;
}

/**
 * Thrown by a mechanism when the client's token fails authentication; the message goes to the
 * client (Kafka's SaslAuthenticationException). Any other error is answered with Kafka's generic
 * "Authentication failed during authentication due to invalid credentials with SASL mechanism X".
 */
export class SaslAuthenticationError extends Error {}

/**
 * A re-authentication that names another mechanism than the session's (Kafka's
 * REAUTH_BAD_MECHANISM): Kafka closes the connection without answering its SaslAuthenticate.
 */
/**
 * A failure Kafka answers with no SaslAuthenticate response at all, closing the connection: a
 * re-authentication with another mechanism (REAUTH_BAD_MECHANISM), and the OAUTHBEARER tokens whose
 * parsing throws an unchecked exception in Kafka 4.1.1 (another scheme than Bearer, a header without
 * `alg`).
 */
export class SaslUnansweredError extends SaslAuthenticationError {}

/** A re-authentication that names another mechanism than the session's (Kafka's REAUTH_BAD_MECHANISM). */
export class SaslReauthenticationMechanismError extends SaslUnansweredError {}

/** One mechanism's server side for one connection. */
export interface SaslServer {
  readonly mechanism: string;
  /** Takes the client's token; returns the server's answer token. */
  evaluate(token: Uint8Array, nowMs: number): Uint8Array;
  readonly complete: boolean;
  /** The authenticated user name, once complete. */
  readonly user: string | null;
  /** KIP-368: when the credential expires (an OAUTHBEARER token's `exp`), bounding the session; else null. */
  readonly credentialExpiresAtMs?: number | null;
}

/** Compares a password in constant time (hashes first, so lengths do not leak either). */
function samePassword(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** RFC 4616 PLAIN: one token `authzid NUL authcid NUL passwd`, with Kafka's messages. */
export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  complete = false;
  user: string | null = null;
  readonly #users: ReadonlyMap<string, string>;

  constructor(users: ReadonlyMap<string, string>) {
    this.#users = users;
  }

  evaluate(token: Uint8Array): Uint8Array {
    if (this.complete) throw new SaslAuthenticationError('Authentication failed: PLAIN is complete');
    const parts = Buffer.from(token).toString('utf8').split('\u0000');
    if (parts.length !== 3) {
      throw new SaslAuthenticationError(
        `Invalid SASL/PLAIN response: expected 3 tokens, got ${parts.length}`,
      );
    }
    const [authorizationId, username, password] = parts as [string, string, string];
    if (username === '') throw new SaslAuthenticationError('Authentication failed: username not specified');
    if (password === '') throw new SaslAuthenticationError('Authentication failed: password not specified');
    const expected = this.#users.get(username);
    // A password is compared even for an unknown user, so timing does not tell which users exist.
    const matches = samePassword(password, expected ?? '') && expected !== undefined;
    if (!matches) throw new SaslAuthenticationError('Authentication failed: Invalid username or password');
    if (authorizationId !== '' && authorizationId !== username) {
      throw new SaslAuthenticationError(
        'Authentication failed: Client requested an authorization id that is different from username',
      );
    }
    this.complete = true;
    this.user = username;
    return new Uint8Array(0);
  }
}

export type SessionState = 'handshake' | 'authenticate' | 'authenticated' | 'failed';

/** One connection's authentication state. */
export class SaslSession {
  readonly security: ListenerSecurity;
  state: SessionState;
  server: SaslServer | null = null;
  /**
   * SaslHandshake v0 was used: the tokens then come as bare size-prefixed frames, not wrapped in
   * SaslAuthenticate (Kafka's pre-KIP-152 exchange, which librdkafka and Kafka still serve).
   */
  rawTokens = false;
  /** `User:<name>` once authenticated; ANONYMOUS before and on non-SASL listeners. */
  principal = ANONYMOUS;
  /** KIP-368: when the session ends (clock ms), or null when `connections.max.reauth.ms` is 0. */
  expiresAtMs: number | null = null;
  /** The session lifetime the last authentication answered (SaslAuthenticate's `session_lifetime_ms`). */
  lifetimeMs = 0;
  /** The mechanism and principal being re-authenticated (KIP-368), else null. */
  #previous: { readonly mechanism: string; readonly principal: string } | null = null;
  #reauthStartedAtMs: number | null = null;

  constructor(security: ListenerSecurity) {
    this.security = security;
    this.state = usesSasl(security.listener.securityProtocol) ? 'handshake' : 'authenticated';
  }

  get saslListener(): boolean {
    return usesSasl(this.security.listener.securityProtocol);
  }

  /** "re-authentication" while re-authenticating, else "authentication" (Kafka's messages say which). */
  get phase(): string {
    return this.#previous === null ? 'authentication' : 're-authentication';
  }

  /** KIP-368: the session has a lifetime and it has passed. */
  expired(nowMs: number): boolean {
    return this.state === 'authenticated' && this.expiresAtMs !== null && nowMs > this.expiresAtMs;
  }

  /** KIP-368: whether a SaslHandshake now would start a re-authentication (see beginReauthentication). */
  mayReauthenticate(nowMs: number): boolean {
    if (this.state !== 'authenticated' || this.expiresAtMs === null) return false;
    return this.#reauthStartedAtMs === null || nowMs - this.#reauthStartedAtMs >= REAUTH_INTERVAL_MIN_MS;
  }

  /**
   * KIP-368: a SaslHandshake on an authenticated connection starts a re-authentication when sessions
   * expire here and the last one started at least REAUTH_INTERVAL_MIN_MS ago; false otherwise (the
   * handshake is then answered ILLEGAL_SASL_STATE, as Kafka's KafkaApis answers it).
   */
  beginReauthentication(nowMs: number): boolean {
    if (!this.mayReauthenticate(nowMs) || this.server === null) return false;
    this.#reauthStartedAtMs = nowMs;
    this.#previous = { mechanism: this.server.mechanism, principal: this.principal };
    this.state = 'handshake';
    return true;
  }

  /** Starts `mechanism` (SaslHandshake); false when the listener does not enable it. */
  begin(mechanism: string): boolean {
    if (!this.security.mechanisms.includes(mechanism)) return false;
    const { scram, oauthBearer } = this.security;
    if (isScramMechanism(mechanism)) this.server = new ScramServer(mechanism, scram ?? (() => undefined));
    else if (mechanism === OAUTHBEARER && oauthBearer !== undefined)
      this.server = new OAuthBearerServer(oauthBearer);
    else this.server = new PlainServer(this.security.plainUsers);
    this.state = 'authenticate';
    return true;
  }

  /**
   * Feeds one SaslAuthenticate token; a failure marks the session failed (the connection is closed).
   * On success the session's lifetime starts (`connections.max.reauth.ms` of the mechanism); a
   * re-authentication must keep the mechanism and the principal, as Kafka's
   * SaslServerAuthenticator requires.
   */
  authenticate(token: Uint8Array, nowMs: number): Uint8Array {
    const server = this.server;
    if (server === null || this.state !== 'authenticate') throw new Error('authenticate before handshake');
    try {
      if (token.length > SASL_SERVER_MAX_RECEIVE_SIZE) {
        throw new SaslAuthenticationError(
          `SASL token of ${token.length} bytes is larger than sasl.server.max.receive.size (${SASL_SERVER_MAX_RECEIVE_SIZE})`,
        );
      }
      const previous = this.#previous;
      if (previous !== null && previous.mechanism !== server.mechanism) {
        throw new SaslReauthenticationMechanismError(
          `SASL mechanism '${server.mechanism}' requested by client is not supported for re-authentication of mechanism '${previous.mechanism}'`,
        );
      }
      const answer = server.evaluate(token, nowMs);
      if (server.complete) this.#complete(`User:${server.user}`, previous, nowMs);
      return answer;
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
  }

  #complete(principal: string, previous: { readonly principal: string } | null, nowMs: number): void {
    if (previous !== null && previous.principal !== principal) {
      const [type, name] = splitPrincipal(previous.principal);
      const [newType, newName] = splitPrincipal(principal);
      throw new SaslAuthenticationError(
        `Cannot change principals during re-authentication from ${type}.${name}: ${newType}.${newName}`,
      );
    }
    this.state = 'authenticated';
    this.principal = principal;
    this.#previous = null;
    const reauthMs = this.security.reauthMs?.get(this.server?.mechanism ?? '') ?? 0;
    const credentialExpiresAtMs = this.server?.credentialExpiresAtMs ?? null;
    if (credentialExpiresAtMs === null) {
      this.lifetimeMs = reauthMs;
      this.expiresAtMs = reauthMs > 0 ? nowMs + reauthMs : null;
      return;
    }
    // Kafka's SaslServerAuthenticator: a credential's expiry bounds the session even when
    // connections.max.reauth.ms is 0 (Kafka 4.1.1 answered an hour's token 3599589 ms without it).
    const remainingMs = Math.max(0, credentialExpiresAtMs - nowMs);
    this.lifetimeMs = reauthMs > 0 ? Math.min(remainingMs, reauthMs) : remainingMs;
    // A session of 0 ms (a token let in by the clock skew after its exp) is over by the next request,
    // even within this millisecond: Kafka compares nanoseconds, so any later request is past it there.
    this.expiresAtMs = this.lifetimeMs === 0 ? nowMs - 1 : nowMs + this.lifetimeMs;
  }
}

/** `User:alice` → ['User', 'alice']. */
function splitPrincipal(principal: string): [string, string] {
  const colon = principal.indexOf(':');
  return [principal.slice(0, colon), principal.slice(colon + 1)];
}

const sessions = new WeakMap<ConnectionInfo, SaslSession>();

/** The session of a connection, created on its first request from its listener's security. */
export function sessionOf(connection: ConnectionInfo, security: ListenerSecurity): SaslSession {
  let session = sessions.get(connection);
  if (session === undefined) {
    session = new SaslSession(security);
    sessions.set(connection, session);
  }
  return session;
}

/** The session the dispatcher created for a connection (undefined for a broker without listener security). */
export function existingSession(connection: ConnectionInfo): SaslSession | undefined {
  return sessions.get(connection);
}

/**
 * Who a connection is, as Kafka's principal builder says: its SASL login on a SASL listener, its
 * TLS client certificate (through `ssl.principal.mapping.rules`) on an SSL listener, else
 * `User:ANONYMOUS`. Null when the mapping rules refuse the certificate: Kafka fails the
 * authentication and the connection is to be closed.
 */
export function connectionPrincipal(
  connection: ConnectionInfo,
  security: ListenerSecurity | undefined,
): string | null {
  // An SSL listener has no SASL: its connections' sessions stay ANONYMOUS; the certificate names them.
  if (security?.principalMapper !== undefined)
    return certificatePrincipal(connection, security.principalMapper);
  return sessions.get(connection)?.principal ?? ANONYMOUS;
}
