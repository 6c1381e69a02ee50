/**
 * The client side of the SASL mechanisms kstack serves, for a broker that logs in to another
 * broker (replica fetchers on a SASL inter-broker listener): PLAIN (RFC 4616) and SCRAM-SHA-256/512
 * (RFC 5802/7677, no channel binding, as Kafka's ScramSaslClient).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  credentialFromSaltedPassword,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  saltPassword,
} from './scram.ts';

/** Where one exchange stands: the next token to send, or done (the server's last token checked). */
export interface SaslClient {
  readonly mechanism: string;
  /** The first token (sent after SaslHandshake). */
  first(): Buffer;
  /** The server's token in; the next token out, or null when the exchange is complete. */
  next(serverToken: Uint8Array): Buffer | null;
}

export interface SaslLogin {
  readonly mechanism: 'PLAIN' | ScramMechanism;
  readonly username: string;
  readonly password: string;
}

export function saslClient(login: SaslLogin): SaslClient {
  return login.mechanism === 'PLAIN' ? plainClient(login) : new ScramClient(login.mechanism, login);
}

function plainClient(login: SaslLogin): SaslClient {
  return {
    mechanism: 'PLAIN',
    first: () => Buffer.from(`\0${login.username}\0${login.password}`, 'utf8'),
    // PLAIN is one token; the server's (empty) answer ends it.
    next: () => null,
  };
}

/** RFC 5802 saslname: `,` and `=` escaped. */
function encodeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const at = part.indexOf('=');
    if (at === 1) map.set(part[0]!, part.slice(2));
  }
  return map;
}

class ScramClient implements SaslClient {
  readonly mechanism: ScramMechanism;
  readonly #login: SaslLogin;
  readonly #nonce = randomBytes(24).toString('base64url');
  readonly #clientFirstBare: string;
  #serverSignature: Buffer | null = null;

  constructor(mechanism: ScramMechanism, login: SaslLogin) {
    this.mechanism = mechanism;
    this.#login = login;
    this.#clientFirstBare = `n=${encodeSaslName(login.username)},r=${this.#nonce}`;
  }

  first(): Buffer {
    return Buffer.from(`n,,${this.#clientFirstBare}`, 'utf8');
  }

  next(serverToken: Uint8Array): Buffer | null {
    const message = Buffer.from(serverToken).toString('utf8');
    if (this.#serverSignature !== null) {
      const verifier = attributes(message).get('v');
      const given = verifier === undefined ? Buffer.alloc(0) : Buffer.from(verifier, 'base64');
      if (given.length !== this.#serverSignature.length || !timingSafeEqual(given, this.#serverSignature)) {
        throw new Error(`${this.mechanism}: the server's signature does not match`);
      }
      return null;
    }
    const server = attributes(message);
    const nonce = server.get('r');
    const salt = server.get('s');
    const iterations = Number(server.get('i'));
    if (nonce === undefined || !nonce.startsWith(this.#nonce) || salt === undefined || !(iterations > 0)) {
      throw new Error(`${this.mechanism}: malformed server-first message`);
    }
    const { hash } = SCRAM_MECHANISMS[this.mechanism];
    const saltBytes = Buffer.from(salt, 'base64');
    const salted = saltPassword(this.mechanism, this.#login.password, saltBytes, iterations);
    // The server's StoredKey and ServerKey, derived as the server derives them.
    const { storedKey, serverKey } = credentialFromSaltedPassword(
      this.mechanism,
      saltBytes,
      iterations,
      salted,
    );
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${message},${withoutProof}`;
    const signature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    this.#serverSignature = createHmac(hash, serverKey).update(authMessage).digest();
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }
}
