/**
 * The SASL exchange under the fuzzer (`node fuzz/run.ts --sasl`): workers that each open a connection
 * per iteration to a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 enabled) and play one
 * drawn scenario against it, with mutated SaslHandshake / SaslAuthenticate requests and tokens, while a
 * logged-in canary connection keeps asking Metadata. What the broker owes, per scenario:
 * - a login with valid tokens (SaslHandshake v0 with bare token frames, or v1 + SaslAuthenticate v0-2):
 *   success, then Metadata answered on that connection, then a second SaslHandshake refused
 *   (ILLEGAL_SASL_STATE: sessions without `connections.max.reauth.ms` cannot re-authenticate);
 * - a mechanism it does not enable: UNSUPPORTED_SASL_MECHANISM naming the enabled ones, or a close;
 * - a mutated token (PLAIN, SCRAM client-first, SCRAM client-final: bits flipped, truncated, extended,
 *   emptied, NULs replaced, random, up to 1 MiB), a replayed SCRAM nonce, a wrong password: never a
 *   login: an error answer or a close, and a Metadata sent behind it is never answered;
 * - a request other than ApiVersions/SaslHandshake/SaslAuthenticate before the login: a close, no answer;
 * - a mutated SaslHandshake/SaslAuthenticate frame (fuzz/mutate.ts): an answer or a close within the
 *   response timeout (a frame whose size no longer matches: a close once we half-close), never a hang.
 * Every answer is due within the response timeout; the canary within its bound. Iteration i draws from
 * a PRNG seeded by (seed, i) alone, so `--sasl-iteration I` replays it.
 */
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { decodeResponse, encodeRequest } from '../src/protocol/index.ts';
import { saslClient } from '../src/security/sasl-client.ts';
import { mutate } from './mutate.ts';
import { iterationPrng, type Prng } from './prng.ts';
import type { Failure, VersionRanges } from './session.ts';
import { type FrameOutcome, WireConnection } from './wire.ts';

export const SASL_USER = 'fuzz';
export const SASL_PASSWORD = 'fuzz-secret';
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
type Mechanism = (typeof SASL_MECHANISMS)[number];

/** Broker overrides for a SASL_PLAINTEXT listener on `saslPort` beside PLAINTEXT on `port`. */
export function saslListenerOverrides(host: string, port: number, saslPort: number): Record<string, string> {
  return {
    listeners: `PLAINTEXT://${host}:${port},SASL_PLAINTEXT://${host}:${saslPort}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    'sasl.enabled.mechanisms': SASL_MECHANISMS.join(','),
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${SASL_USER}="${SASL_PASSWORD}";`,
  };
}

const SCRAM_ITERATIONS = 4096;
const SCRAM_MECHANISM_IDS: Record<string, number> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
const SCRAM_HASH: Record<string, { name: string; bytes: number }> = {
  'SCRAM-SHA-256': { name: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { name: 'sha512', bytes: 64 },
};

/**
 * Creates the fuzz user's SCRAM credentials through the PLAINTEXT listener: AlterUserScramCredentials
 * v0, one request per mechanism (Kafka allows one change per user per request).
 */
export async function createScramCredentials(host: string, port: number, timeoutMs: number): Promise<void> {
  const connection = await WireConnection.open(host, port, timeoutMs);
  try {
    const salt = Buffer.from('kstack-fuzz-salt');
    for (const [index, mechanism] of ['SCRAM-SHA-256', 'SCRAM-SHA-512'].entries()) {
      const hash = SCRAM_HASH[mechanism]!;
      const upsertion = {
        name: SASL_USER,
        mechanism: SCRAM_MECHANISM_IDS[mechanism]!,
        iterations: SCRAM_ITERATIONS,
        salt,
        saltedPassword: pbkdf2Sync(SASL_PASSWORD, salt, SCRAM_ITERATIONS, hash.bytes, hash.name),
      };
      connection.send(
        encodeRequest(
          { requestApiKey: 51, requestApiVersion: 0, correlationId: index + 1, clientId: 'kstack-fuzz' },
          { deletions: [], upsertions: [upsertion] },
        ),
      );
      const outcome = await connection.next(timeoutMs);
      if (!('frame' in outcome)) throw new Error('AlterUserScramCredentials was not answered');
      const body = decodeResponse(51, 0, outcome.frame).body as { results: { errorCode: number }[] };
      const code = body.results[0]?.errorCode;
      if (code !== 0) throw new Error(`AlterUserScramCredentials ${mechanism} answered ${code}`);
    }
  } finally {
    connection.destroy();
  }
}

export interface SaslFuzzOptions {
  readonly host: string;
  /** The SASL_PLAINTEXT listener. */
  readonly port: number;
  readonly seed: number;
  readonly connections: number;
  readonly responseTimeoutMs: number;
  readonly canaryBoundMs: number;
  readonly deadline: number;
  /** Replay: run only these iterations (on worker 0). */
  readonly onlyIterations?: readonly number[];
  /** Skip exchanges that trigger a known, still open broker bug (SASL_KNOWN_BUGS). */
  readonly skipKnown?: boolean;
}

/**
 * Open broker bugs of the SASL exchange (fuzz/FINDINGS.md), as fuzz/known-bugs.ts keeps the others:
 * F7, a SCRAM client-final that Kafka's strict pattern refuses but whose proof decodes to the right
 * bytes under Node's lenient base64 (trailing bytes after the padding, a padding character flipped).
 */
export const SASL_KNOWN_BUGS = [{ id: 'F7', fixedIn: 'h/f7-scram-strict' as string | null }] as const;

/** Kafka's ScramMessages.ClientFinalMessage pattern, matched whole. */
const BASE64 = '(?:[a-zA-Z0-9+/]{4})*(?:[a-zA-Z0-9+/]{2}==|[a-zA-Z0-9+/]{3}=)?';
const KAFKA_CLIENT_FINAL = new RegExp(
  `^c=(${BASE64}),r=([\\x21-\\x2b\\x2d-\\x7e]+)(,[a-z]+=[\\x01-\\x2b\\x2d-\\x7f]+)*,p=(${BASE64})$`,
  's',
);

/** Whether a mutated client-final is F7's: not Kafka's format, yet the same proof to a lenient decoder. */
export function isF7(valid: Buffer, mutated: Buffer): boolean {
  const text = mutated.toString('latin1');
  if (KAFKA_CLIENT_FINAL.test(text)) return false;
  const proofOf = (t: string) => /,p=([^,]+)$/s.exec(t)?.[1];
  const validText = valid.toString('latin1');
  const given = proofOf(text);
  const expected = proofOf(validText);
  if (given === undefined || expected === undefined) return false;
  const prefix = (t: string) => t.slice(0, t.lastIndexOf(',p='));
  return (
    prefix(text) === prefix(validText) && Buffer.from(given, 'base64').equals(Buffer.from(expected, 'base64'))
  );
}

/** The SASL iterations' own PRNG streams, apart from the request fuzzer's (same seed, other numbers). */
const SASL_SEED_SALT = 0x5a51_0000;
const CANARY_PERIOD_MS = 200;
const CONNECT_TIMEOUT_MS = 5_000;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
const METADATA = 3;
const ILLEGAL_SASL_STATE = 34;
const UNSUPPORTED_SASL_MECHANISM = 33;
const TOKEN_BYTES_MAX = 1024 * 1024;
const SCENARIOS = [
  'login',
  'bad-mechanism',
  'mutated-plain',
  'mutated-scram-first',
  'mutated-scram-final',
  'replayed-scram-nonce',
  'before-login',
  'frame-mutation',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Why a step failed the broker's obligations (the iteration's failure). */
class Broken extends Error {}

export class SaslFuzz {
  readonly counts = new Map<string, number>();
  iterations = 0;
  canaryRounds = 0;
  canaryLatencyMsMax = 0;
  failure: Failure | null = null;
  readonly #options: SaslFuzzOptions;
  readonly #advertised: VersionRanges;
  /** A SCRAM client-final already used once (replayed by 'replayed-scram-nonce'). */
  #usedScramFinal: { mechanism: Mechanism; clientFirst: Buffer; clientFinal: Buffer } | null = null;

  constructor(options: SaslFuzzOptions, advertised: VersionRanges) {
    this.#options = options;
    this.#advertised = advertised;
  }

  fail(failure: Failure): void {
    this.failure ??= failure;
  }

  #stopped(): boolean {
    return this.failure !== null || Date.now() >= this.#options.deadline;
  }

  #count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  async run(): Promise<void> {
    const only = this.#options.onlyIterations;
    const canary = only === undefined ? this.#canary() : Promise.resolve();
    const workers =
      only === undefined
        ? Array.from({ length: this.#options.connections }, (_, w) => this.#worker(w))
        : [this.#replay(only)];
    await Promise.all(workers);
    await canary;
  }

  async #replay(iterations: readonly number[]): Promise<void> {
    for (const i of iterations) await this.#iteration(i);
  }

  async #worker(index: number): Promise<void> {
    for (let i = index; !this.#stopped(); i += this.#options.connections) await this.#iteration(i);
  }

  /** The scenario iteration `i` draws, and the PRNG it continues with. */
  draw(i: number): { scenario: Scenario; mechanism: Mechanism; prng: Prng } {
    const prng = iterationPrng((this.#options.seed ^ SASL_SEED_SALT) >>> 0, i);
    return { scenario: prng.pick(SCENARIOS), mechanism: prng.pick(SASL_MECHANISMS), prng };
  }

  async #iteration(i: number): Promise<void> {
    const { scenario, mechanism, prng } = this.draw(i);
    this.iterations++;
    let connection: WireConnection;
    try {
      connection = await WireConnection.open(this.#options.host, this.#options.port, CONNECT_TIMEOUT_MS, {
        bareFrames: true,
      });
    } catch (error) {
      this.fail({
        iteration: i,
        what: `sasl ${scenario}: cannot connect: ${(error as Error).message}`,
        request: null,
      });
      return;
    }
    const step = new Steps(connection, this.#options.responseTimeoutMs);
    try {
      const outcome = await this.#play(scenario, mechanism, prng, step);
      this.#count(`sasl ${scenario} -> ${outcome}`);
    } catch (error) {
      const what = error instanceof Broken ? error.message : `${(error as Error).stack ?? error}`;
      this.fail({ iteration: i, what: `sasl ${scenario} (${mechanism}): ${what}`, request: step.last });
    } finally {
      connection.destroy();
    }
  }

  async #play(scenario: Scenario, mechanism: Mechanism, prng: Prng, step: Steps): Promise<string> {
    switch (scenario) {
      case 'login':
        return await this.#login(mechanism, prng, step);
      case 'bad-mechanism':
        return await this.#badMechanism(prng, step);
      case 'mutated-plain':
        return await this.#mutatedToken('PLAIN', prng, step, 'first');
      case 'mutated-scram-first':
        return await this.#mutatedToken(
          mechanism === 'PLAIN' ? 'SCRAM-SHA-256' : mechanism,
          prng,
          step,
          'first',
        );
      case 'mutated-scram-final':
        return await this.#mutatedToken(
          mechanism === 'PLAIN' ? 'SCRAM-SHA-512' : mechanism,
          prng,
          step,
          'final',
        );
      case 'replayed-scram-nonce':
        return await this.#replayedNonce(step);
      case 'before-login':
        return await this.#beforeLogin(prng, step);
      case 'frame-mutation':
        return await this.#frameMutation(mechanism, prng, step);
    }
  }

  /** A valid login (v0 bare tokens or v1 + SaslAuthenticate v0-2), Metadata served, no re-authentication. */
  async #login(mechanism: Mechanism, prng: Prng, step: Steps): Promise<string> {
    const handshakeVersion = prng.int(0, 1);
    const authenticateVersion = prng.int(0, 2);
    const client = saslClient({ mechanism, username: SASL_USER, password: SASL_PASSWORD });
    await step.handshake(handshakeVersion, mechanism, 0);
    let token: Buffer | null = client.first();
    const sent: Buffer[] = [];
    while (token !== null) {
      sent.push(token);
      const answer = await step.authenticate(handshakeVersion, authenticateVersion, token);
      if (answer.kind !== 'token') throw new Broken(`a valid ${mechanism} login was ${answer.kind}`);
      token = client.next(answer.token);
    }
    if (mechanism !== 'PLAIN' && sent.length === 2) {
      this.#usedScramFinal = { mechanism, clientFirst: sent[0]!, clientFinal: sent[1]! };
    }
    if ((await step.metadata()) !== 'answered')
      throw new Broken('Metadata after a valid login was not answered');
    const again = await step.handshakeAnswer(1, mechanism);
    if (again !== 'closed' && again !== ILLEGAL_SASL_STATE)
      throw new Broken(`a second SaslHandshake after the login answered ${again}, not ILLEGAL_SASL_STATE`);
    return `v${handshakeVersion}/${authenticateVersion} logged in`;
  }

  async #badMechanism(prng: Prng, step: Steps): Promise<string> {
    const name = prng.chance(0.5)
      ? Buffer.from(prng.bytes(prng.int(0, 40))).toString('latin1')
      : prng.pick(['plain', 'GSSAPI', 'OAUTHBEARER', 'SCRAM-SHA-1', 'PLAIN ', '', 'SCRAM-SHA-256\0']);
    const answer = await step.handshakeAnswer(1, name);
    if (answer === 'closed') return 'closed';
    if (answer !== UNSUPPORTED_SASL_MECHANISM)
      throw new Broken(
        `SaslHandshake for ${JSON.stringify(name)} answered ${answer}, not UNSUPPORTED_SASL_MECHANISM`,
      );
    return 'unsupported';
  }

  /** A valid exchange whose first (or SCRAM's final) token is mutated: never a login. */
  async #mutatedToken(
    mechanism: Mechanism,
    prng: Prng,
    step: Steps,
    which: 'first' | 'final',
  ): Promise<string> {
    const handshakeVersion = prng.int(0, 1);
    const authenticateVersion = prng.int(0, 2);
    const client = saslClient({ mechanism, username: SASL_USER, password: SASL_PASSWORD });
    await step.handshake(handshakeVersion, mechanism, 0);
    let token = client.first();
    if (which === 'final') {
      const answer = await step.authenticate(handshakeVersion, authenticateVersion, token);
      if (answer.kind !== 'token') throw new Broken(`a valid ${mechanism} client-first was ${answer.kind}`);
      token = client.next(answer.token)!;
    }
    const mutated = mutateToken(prng, token);
    const f7 = SASL_KNOWN_BUGS[0];
    if (
      this.#options.skipKnown === true &&
      f7.fixedIn === null &&
      which === 'final' &&
      isF7(token, mutated.token)
    )
      return 'skipped (known F7)';
    const answer = await step.authenticate(handshakeVersion, authenticateVersion, mutated.token);
    if (answer.kind === 'token' && (mechanism === 'PLAIN' || which === 'final')) {
      // The server took it as a complete login: only a Metadata answer proves it, and it must not come.
      if ((await step.metadata()) === 'answered')
        throw new Broken(
          `a ${mutated.kind} ${mechanism} ${which} token logged in: ${JSON.stringify(mutated.token.subarray(0, 300).toString('latin1'))}`,
        );
      return `${mutated.kind}: closed after a token`;
    }
    if (answer.kind === 'token') {
      // A mutated client-first can still be a well-formed one: finish with a wrong proof.
      const final = finalWithNonce(answer.token);
      const refused = await step.authenticate(handshakeVersion, authenticateVersion, final);
      if (refused.kind === 'token' && (await step.metadata()) === 'answered')
        throw new Broken(`a ${mutated.kind} client-first and a forged final logged in`);
      return `${mutated.kind}: first taken, final refused`;
    }
    if ((await step.metadata()) === 'answered')
      throw new Broken(`Metadata answered after a refused ${which} token`);
    return `${mutated.kind}: ${answer.kind}`;
  }

  /** A client-final that already logged in once, sent again on a new exchange: never a login. */
  async #replayedNonce(step: Steps): Promise<string> {
    const used = this.#usedScramFinal;
    if (used === null) return 'nothing to replay yet';
    await step.handshake(1, used.mechanism, 0);
    const first = await step.authenticate(1, 2, used.clientFirst);
    if (first.kind !== 'token') throw new Broken(`a valid ${used.mechanism} client-first was ${first.kind}`);
    const answer = await step.authenticate(1, 2, used.clientFinal);
    if (answer.kind === 'token' && (await step.metadata()) === 'answered')
      throw new Broken('a replayed SCRAM client-final logged in');
    if (answer.kind !== 'token' && (await step.metadata()) === 'answered')
      throw new Broken('Metadata answered after a refused replay');
    return answer.kind === 'token' ? 'closed after a token' : answer.kind;
  }

  /** A request other than the three allowed before the login: closed without an answer. */
  async #beforeLogin(prng: Prng, step: Steps): Promise<string> {
    if (prng.chance(0.5)) await step.handshake(1, prng.pick(SASL_MECHANISMS), 0);
    const keys = [...this.#advertised.keys()].filter((k) => k !== 18 && k !== 17 && k !== 36);
    const apiKey = prng.pick(keys);
    const range = this.#advertised.get(apiKey)!;
    const version = prng.int(range.min, range.max);
    // Only the header matters: the broker must close before reading the body.
    step.sendRaw(headerOnlyFrame(apiKey, version));
    const outcome = await step.next();
    if (!('closed' in outcome))
      throw new Broken(`API ${apiKey} v${version} before the login was ${describe(outcome)}, not a close`);
    return 'closed';
  }

  /** A SaslHandshake or SaslAuthenticate frame mutated as fuzz/mutate.ts mutates any request. */
  async #frameMutation(mechanism: Mechanism, prng: Prng, step: Steps): Promise<string> {
    const authenticate = prng.chance(0.5);
    if (authenticate) await step.handshake(1, mechanism, 0);
    const client = saslClient({ mechanism, username: SASL_USER, password: SASL_PASSWORD });
    const frame = authenticate
      ? encodeRequest(
          {
            requestApiKey: SASL_AUTHENTICATE,
            requestApiVersion: prng.int(0, 2),
            correlationId: 9,
            clientId: 'kstack-fuzz-sasl',
          },
          { authBytes: client.first() },
        )
      : encodeRequest(
          {
            requestApiKey: SASL_HANDSHAKE,
            requestApiVersion: prng.int(0, 1),
            correlationId: 9,
            clientId: 'kstack-fuzz-sasl',
          },
          { mechanism },
        );
    const mutation = mutate(prng, frame, this.#advertised);
    step.sendRaw(mutation.bytes);
    if (mutation.framing === 'open') step.end();
    const outcome = await step.next();
    if ('timeout' in outcome)
      throw new Broken(`${mutation.kind} (${mutation.framing}): neither answered nor closed`);
    if (mutation.framing !== 'kept' && !('closed' in outcome))
      throw new Broken(`${mutation.kind} (${mutation.framing}): ${describe(outcome)}, not a close`);
    return `${mutation.kind}: ${'closed' in outcome ? 'closed' : 'answered'}`;
  }

  /** A logged-in PLAIN connection asking Metadata every CANARY_PERIOD_MS, answered within the bound. */
  async #canary(): Promise<void> {
    const bound = this.#options.canaryBoundMs;
    let connection: WireConnection;
    try {
      connection = await WireConnection.open(this.#options.host, this.#options.port, CONNECT_TIMEOUT_MS, {
        bareFrames: true,
      });
    } catch (error) {
      this.fail({
        iteration: -1,
        what: `sasl canary: cannot connect: ${(error as Error).message}`,
        request: null,
      });
      return;
    }
    const step = new Steps(connection, bound);
    try {
      await step.handshake(1, 'PLAIN', 0);
      const login = await step.authenticate(1, 2, Buffer.from(`\0${SASL_USER}\0${SASL_PASSWORD}`));
      if (login.kind !== 'token') throw new Broken(`the canary's login was ${login.kind}`);
      while (!this.#stopped()) {
        const started = performance.now();
        if ((await step.metadata()) !== 'answered')
          throw new Broken(`Metadata not answered within ${bound} ms`);
        const latencyMs = Math.round(performance.now() - started);
        this.canaryLatencyMsMax = Math.max(this.canaryLatencyMsMax, latencyMs);
        this.canaryRounds++;
        await new Promise((resolve) => setTimeout(resolve, CANARY_PERIOD_MS));
      }
    } catch (error) {
      this.fail({ iteration: -1, what: `sasl canary: ${(error as Error).message}`, request: null });
    } finally {
      connection.destroy();
    }
  }
}

/** One connection's requests, each awaited within the response timeout; the last bytes sent kept. */
class Steps {
  readonly #connection: WireConnection;
  readonly #timeoutMs: number;
  #correlationId = 1;
  last: Uint8Array | null = null;

  constructor(connection: WireConnection, timeoutMs: number) {
    this.#connection = connection;
    this.#timeoutMs = timeoutMs;
  }

  sendRaw(bytes: Uint8Array): void {
    this.last = bytes;
    this.#connection.send(bytes);
  }

  end(): void {
    this.#connection.end();
  }

  async next(): Promise<FrameOutcome> {
    return await this.#connection.next(this.#timeoutMs);
  }

  #request(apiKey: number, version: number, body: Record<string, unknown>): number {
    const correlationId = this.#correlationId++;
    this.sendRaw(
      encodeRequest(
        { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'kstack-fuzz-sasl' },
        body,
      ),
    );
    return correlationId;
  }

  /** The decoded answer to a request just sent, or 'closed'; a timeout or a wrong answer is broken. */
  async #answer(
    apiKey: number,
    version: number,
    correlationId: number,
  ): Promise<Record<string, unknown> | 'closed'> {
    const outcome = await this.next();
    if ('closed' in outcome) return 'closed';
    if (!('frame' in outcome)) throw new Broken(`API ${apiKey} v${version}: ${describe(outcome)}`);
    let decoded: { correlationId: number; body: unknown };
    try {
      decoded = decodeResponse(apiKey, version, outcome.frame);
    } catch (error) {
      throw new Broken(`API ${apiKey} v${version}: the answer does not decode: ${(error as Error).message}`);
    }
    if (decoded.correlationId !== correlationId)
      throw new Broken(
        `API ${apiKey} v${version}: correlation id ${decoded.correlationId}, sent ${correlationId}`,
      );
    return decoded.body as Record<string, unknown>;
  }

  /** SaslHandshake's error code, or 'closed'. */
  async handshakeAnswer(version: number, mechanism: string): Promise<number | 'closed'> {
    const id = this.#request(SASL_HANDSHAKE, version, { mechanism });
    const answer = await this.#answer(SASL_HANDSHAKE, version, id);
    return answer === 'closed' ? 'closed' : (answer.errorCode as number);
  }

  /** A handshake that must be answered with `expected`. */
  async handshake(version: number, mechanism: string, expected: number): Promise<void> {
    const answer = await this.handshakeAnswer(version, mechanism);
    if (answer !== expected)
      throw new Broken(`SaslHandshake v${version} ${mechanism} answered ${answer}, not ${expected}`);
  }

  /** One token: with handshake v0 a bare frame (answered bare), else SaslAuthenticate. */
  async authenticate(
    handshakeVersion: number,
    version: number,
    token: Uint8Array,
  ): Promise<{ kind: 'token'; token: Buffer } | { kind: 'refused'; code: number } | { kind: 'closed' }> {
    if (handshakeVersion === 0) {
      const frame = Buffer.alloc(4 + token.length);
      frame.writeInt32BE(token.length, 0);
      frame.set(token, 4);
      this.sendRaw(frame);
      const outcome = await this.next();
      if ('frame' in outcome) return { kind: 'token', token: outcome.frame };
      if ('closed' in outcome) return { kind: 'closed' };
      throw new Broken(`a bare SASL token: ${describe(outcome)}`);
    }
    const id = this.#request(SASL_AUTHENTICATE, version, { authBytes: Buffer.from(token) });
    const answer = await this.#answer(SASL_AUTHENTICATE, version, id);
    if (answer === 'closed') return { kind: 'closed' };
    const code = answer.errorCode as number;
    return code === 0
      ? { kind: 'token', token: Buffer.from(answer.authBytes as Uint8Array) }
      : { kind: 'refused', code };
  }

  /** Metadata v1 for no topics: 'answered' or 'closed'. */
  async metadata(): Promise<'answered' | 'closed'> {
    const id = this.#request(METADATA, 1, { topics: [] });
    return (await this.#answer(METADATA, 1, id)) === 'closed' ? 'closed' : 'answered';
  }
}

function describe(outcome: FrameOutcome): string {
  if ('frame' in outcome) return `answered (${outcome.frame.length} bytes)`;
  if ('closed' in outcome) return 'closed';
  if ('timeout' in outcome) return 'neither answered nor closed within the timeout';
  return `a bad frame (${outcome.badFrame})`;
}

const TOKEN_MUTATIONS = ['bit-flip', 'truncate', 'extend', 'empty', 'no-nul', 'random', 'huge'] as const;

/** A token changed so that it can no longer be the valid one. */
export function mutateToken(prng: Prng, token: Buffer): { kind: string; token: Buffer } {
  const kind = prng.pick(TOKEN_MUTATIONS);
  let out: Buffer;
  switch (kind) {
    case 'bit-flip': {
      out = Buffer.from(token);
      const flips = prng.int(1, 4);
      for (let i = 0; i < flips; i++) {
        const at = prng.int(0, out.length - 1);
        out[at] = out[at]! ^ (1 << prng.int(0, 7));
      }
      break;
    }
    case 'truncate':
      out = token.subarray(0, prng.int(0, token.length - 1));
      break;
    case 'extend':
      out = Buffer.concat([token, Buffer.from(prng.bytes(prng.int(1, 64)))]);
      break;
    case 'empty':
      out = Buffer.alloc(0);
      break;
    case 'no-nul':
      out = Buffer.from(token.map((byte) => (byte === 0 ? 0x78 : byte)));
      break;
    case 'random':
      out = Buffer.from(prng.bytes(prng.int(1, 300)));
      break;
    case 'huge':
      out = Buffer.concat([token, Buffer.alloc(prng.int(64 * 1024, TOKEN_BYTES_MAX), 0x41)]);
      break;
  }
  // Bit flips can cancel out: a token equal to the valid one is not a mutation.
  if (out.equals(token)) out = Buffer.concat([token, Buffer.from([0x2c])]);
  return { kind, token: out };
}

/** A client-final with the server's nonce and a proof that cannot be right (all zero bytes). */
function finalWithNonce(serverFirst: Buffer): Buffer {
  const nonce = /(?:^|,)r=([^,]*)/.exec(serverFirst.toString('latin1'))?.[1] ?? '';
  const proof = createHmac('sha256', 'kstack-fuzz').update(nonce).digest().fill(0).toString('base64');
  return Buffer.from(`c=biws,r=${nonce},p=${proof}`, 'latin1');
}

/** A request frame of only a v1 header (key, version, correlation id, client id): enough to be refused. */
function headerOnlyFrame(apiKey: number, version: number): Buffer {
  const clientId = Buffer.from('kstack-fuzz-sasl');
  const frame = Buffer.alloc(4 + 10 + clientId.length);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(version, 6);
  frame.writeInt32BE(7, 8);
  frame.writeInt16BE(clientId.length, 12);
  clientId.copy(frame, 14);
  return frame;
}
