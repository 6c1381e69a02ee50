/**
 * The security profile's client side (compat/runner/security.ts sets it), handed to the drivers in
 * the environment as JSON: unset or empty means PLAINTEXT. The Node drivers read it here; the
 * Python and Java drivers parse the same JSON (driver_common.py, Driver.java).
 */
export const CLIENT_SECURITY_ENV = 'KSTACK_COMPAT_SECURITY';

export interface ClientSecurity {
  readonly protocol: 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';
  readonly mechanism?: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
  /** PLAIN and SCRAM's user; OAUTHBEARER's principal (the unsecured token's `sub`, each client builds it). */
  readonly username?: string;
  readonly password?: string;
  /** The PEM file of the CA the brokers' certificates are signed by. */
  readonly caFile?: string;
}

/** The settings this driver process was given, or undefined for PLAINTEXT. */
export function clientSecurity(): ClientSecurity | undefined {
  const raw = process.env[CLIENT_SECURITY_ENV];
  if (raw === undefined || raw === '') return undefined;
  return JSON.parse(raw) as ClientSecurity;
}

/** Unsecured JWS lifetime the Node drivers give their OAUTHBEARER tokens (an hour, as librdkafka's default). */
export const UNSECURED_TOKEN_LIFETIME_S = 3600;

/**
 * An unsecured JWS (`alg` `none`, no signature) naming `subject`, what Kafka's default OAUTHBEARER
 * validator takes: local testing only. `lifetimeSeconds` may be negative (an expired token).
 */
export function unsecuredJws(subject: string, lifetimeSeconds = UNSECURED_TOKEN_LIFETIME_S): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + lifetimeSeconds })}.`;
}
