/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's broker serves them. A user's
 * credential is what Kafka stores (UserScramCredentialRecord): salt, iterations, StoredKey and
 * ServerKey, never the password. Every failure is a plain error: Kafka answers all SCRAM failures
 * with its generic "Authentication failed during authentication due to invalid credentials with
 * SASL mechanism SCRAM-SHA-…" and closes.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SaslServer } from './sasl.ts';

export const SCRAM_MECHANISMS = {
  'SCRAM-SHA-256': { hash: 'sha256', type: 1, minIterations: 4096 },
  'SCRAM-SHA-512': { hash: 'sha512', type: 2, minIterations: 4096 },
} as const;
export type ScramMechanism = keyof typeof SCRAM_MECHANISMS;
/** Kafka's upper bound on iterations (ScramMechanism.maxIterations). */
export const SCRAM_ITERATIONS_MAX = 16384;

export interface ScramCredential {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

/** Finds a user's credential for one mechanism (undefined: no such user for it). */
export type ScramCredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;

export function isScramMechanism(name: string): name is ScramMechanism {
  return Object.hasOwn(SCRAM_MECHANISMS, name);
}

function hmac(hash: string, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

/** The credential from a salted password (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Uint8Array,
  iterations: number,
  saltedPassword: Uint8Array,
): ScramCredential {
  const { hash } = SCRAM_MECHANISMS[mechanism];
  const clientKey = hmac(hash, saltedPassword, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: hmac(hash, saltedPassword, 'Server Key'),
  };
}

/** Hi() of RFC 5802: PBKDF2 with the mechanism's HMAC. */
export function saltPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Buffer {
  const { hash } = SCRAM_MECHANISMS[mechanism];
  const length = hash === 'sha256' ? 32 : 64;
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, length, hash);
}

/** RFC 5802 saslname: `=2C` is `,` and `=3D` is `=`; any other `=` is malformed. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new Error('Invalid SCRAM user name encoding');
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

const CLIENT_FIRST = /^n,(?:a=([^,]*))?,(n=([^,]*),r=([^,]+)(?:,.*)?)$/s;
/**
 * Kafka's ScramMessages.ClientFinalMessage pattern, matched whole: the channel binding and the proof in
 * strict base64 (Node's decoder would take bytes after the padding or outside the alphabet and still
 * give the right proof: fuzz/FINDINGS.md F7), the nonce printable without commas, extensions `,k=v`.
 */
const BASE64 = '(?:[a-zA-Z0-9/+]{4})*(?:[a-zA-Z0-9/+]{3}=|[a-zA-Z0-9/+]{2}==)?';
const CLIENT_FINAL = new RegExp(
  `^(c=(${BASE64}),r=([\\x21-\\x2b\\x2d-\\x7e]+)(?:,[a-zA-Z]+=[\\x01-\\x2b\\x2d-\\x7f]+)*),p=(${BASE64})$`,
  's',
);

type ScramState = 'first' | 'final' | 'complete' | 'failed';

/** One connection's SCRAM exchange: client-first → server-first, client-final → server-final. */
export class ScramServer implements SaslServer {
  readonly mechanism: ScramMechanism;
  user: string | null = null;
  readonly #lookup: ScramCredentialLookup;
  readonly #nonce: () => string;
  #state: ScramState = 'first';
  #credential: ScramCredential | null = null;
  #clientFirstBare = '';
  #serverFirst = '';
  #gs2Header = '';
  #fullNonce = '';
  #candidate: string | null = null;

  /** `nonce` makes the server's part of the nonce (random by default; fixed in RFC vector tests). */
  constructor(
    mechanism: ScramMechanism,
    lookup: ScramCredentialLookup,
    nonce: () => string = () => randomBytes(24).toString('base64url'),
  ) {
    this.mechanism = mechanism;
    this.#lookup = lookup;
    this.#nonce = nonce;
  }

  get complete(): boolean {
    return this.#state === 'complete';
  }

  evaluate(token: Uint8Array): Uint8Array {
    try {
      const text = Buffer.from(token).toString('utf8');
      if (this.#state === 'first') return Buffer.from(this.#first(text), 'utf8');
      if (this.#state === 'final') return Buffer.from(this.#final(text), 'utf8');
      throw new Error(`SCRAM exchange is ${this.#state}`);
    } catch (error) {
      this.#state = 'failed';
      this.#credential = null;
      throw error;
    }
  }

  #first(text: string): string {
    const match = CLIENT_FIRST.exec(text);
    if (match === null) throw new Error('Invalid SCRAM client first message format');
    const [, authorizationId, bare, rawName, clientNonce] = match as unknown as [
      string,
      string | undefined,
      string,
      string,
      string,
    ];
    const user = decodeSaslName(rawName);
    if (authorizationId !== undefined && authorizationId !== '' && decodeSaslName(authorizationId) !== user) {
      throw new Error(
        'Authentication failed: Client requested an authorization id that is different from username',
      );
    }
    const credential = this.#lookup(user, this.mechanism);
    if (credential === undefined) throw new Error('Authentication failed: Invalid user credentials');
    this.#credential = credential;
    this.#candidate = user;
    this.#gs2Header = text.slice(0, text.length - bare.length);
    this.#clientFirstBare = bare;
    this.#fullNonce = clientNonce + this.#nonce();
    this.#serverFirst = `r=${this.#fullNonce},s=${Buffer.from(credential.salt).toString('base64')},i=${credential.iterations}`;
    this.#state = 'final';
    return this.#serverFirst;
  }

  #final(text: string): string {
    const credential = this.#credential!;
    const match = CLIENT_FINAL.exec(text);
    if (match === null) throw new Error('Invalid SCRAM client final message format');
    const [, withoutProof, channelBinding, nonce, proofText] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    // Exactly the nonce of server-first, as Kafka checks it. librdkafka 2.0.2 (Debian's kcat) sends
    // the client nonce twice here, and Apache Kafka 4.1.1 refuses it too (test/security/scram-clients).
    if (nonce !== this.#fullNonce) throw new Error('Invalid client nonce in the final client message.');
    if (Buffer.from(channelBinding, 'base64').toString('utf8') !== this.#gs2Header) {
      throw new Error('Invalid SCRAM channel binding');
    }
    const { hash } = SCRAM_MECHANISMS[this.mechanism];
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const clientSignature = hmac(hash, credential.storedKey, authMessage);
    const proof = Buffer.from(proofText, 'base64');
    if (proof.length !== clientSignature.length) throw new Error('Invalid client credentials');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const computed = createHash(hash).update(clientKey).digest();
    if (!timingSafeEqual(computed, Buffer.from(credential.storedKey)))
      throw new Error('Invalid client credentials');
    this.#state = 'complete';
    this.user = this.#candidate;
    return `v=${hmac(hash, credential.serverKey, authMessage).toString('base64')}`;
  }
}
