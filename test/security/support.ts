/**
 * Shared by the security tests: runs the real clients we did not write (kcat, confluent-kafka
 * Python, Kafka's Java tools, kafkajs) against a listener, and a small wire client for the
 * exchanges a client library hides (requests before authentication, bad mechanisms).
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';

export const PLAIN_JAAS = (users: Record<string, string>): string =>
  `org.apache.kafka.common.security.plain.PlainLoginModule required ${Object.entries(users)
    .map(([user, password]) => `user_${user}="${password}"`)
    .join(' ')};`;

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end (or kills it after `timeoutMs`, which the result shows as code null). */
export function run(
  program: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A program that exits (or fails to start) before reading its input breaks the pipe (EPIPE):
    // its exit code and output, or the spawn error, tell what happened, not the write.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

export interface SaslLogin {
  readonly protocol: 'SASL_PLAINTEXT' | 'SASL_SSL' | 'SSL' | 'PLAINTEXT';
  readonly mechanism?: string;
  readonly username?: string;
  readonly password?: string;
  /** CA file (PEM) for SSL and SASL_SSL. */
  readonly caFile?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /**
   * OAUTHBEARER: a token to send as it is (confluent-kafka's oauth_cb in pythonProbe), e.g. an
   * expired one; without it librdkafka makes its own unsecured JWT for `username`.
   */
  readonly token?: string;
}

/** pythonProbe's own key for `SaslLogin.token` (not a librdkafka property: the probe hands it to oauth_cb). */
const PROBE_TOKEN_KEY = 'kstack.oauthbearer.token';

/** librdkafka properties (kcat -X, confluent-kafka) for a login. */
export function librdkafkaConfig(login: SaslLogin): Record<string, string> {
  const config: Record<string, string> = { 'security.protocol': login.protocol };
  if (login.mechanism !== undefined) config['sasl.mechanisms'] = login.mechanism;
  if (login.mechanism === 'OAUTHBEARER') {
    if (login.token !== undefined) config[PROBE_TOKEN_KEY] = login.token;
    else {
      // librdkafka's own unsecured JWT (alg none) with this principal as its sub.
      config['enable.sasl.oauthbearer.unsecure.jwt'] = 'true';
      config['sasl.oauthbearer.config'] = `principal=${login.username ?? ''}`;
    }
  } else {
    if (login.username !== undefined) config['sasl.username'] = login.username;
    if (login.password !== undefined) config['sasl.password'] = login.password;
  }
  if (login.caFile !== undefined) config['ssl.ca.location'] = login.caFile;
  if (login.certFile !== undefined) config['ssl.certificate.location'] = login.certFile;
  if (login.keyFile !== undefined) config['ssl.key.location'] = login.keyFile;
  return config;
}

export function kcat(bootstrap: string, login: SaslLogin, args: readonly string[], input?: string) {
  const properties = Object.entries(librdkafkaConfig(login)).flatMap(([key, value]) => [
    '-X',
    `${key}=${value}`,
  ]);
  return run('kcat', ['-b', bootstrap, ...properties, ...args], { input, timeoutMs: 60_000 });
}

export const PYTHON = join(homedir(), '.cache', 'kstack', 'venv', 'bin', 'python');

/**
 * confluent-kafka (PyPI, its own recent librdkafka): asks for metadata until it gets it or an error
 * callback reports a failure; prints one JSON line {brokers, error}.
 */
const PYTHON_PROBE = `
import json, sys, time
from confluent_kafka import Producer, KafkaError
conf = json.loads(sys.argv[1])
token = conf.pop('${PROBE_TOKEN_KEY}', None)
if token is not None:
    conf['oauth_cb'] = lambda _config: (token, time.time() + 3600)
errors = []
conf['error_cb'] = lambda e: errors.append({'name': e.name(), 'text': e.str()})
p = Producer(conf)
deadline = time.time() + 30
result = {'brokers': None, 'error': None}
while time.time() < deadline:
    try:
        md = p.list_topics(timeout=1)
        result['brokers'] = sorted('%s:%d' % (b.host, b.port) for b in md.brokers.values())
        break
    except Exception:
        p.poll(0.2)
        fatal = [e for e in errors if e['name'] == '_AUTHENTICATION']
        if fatal:
            result['error'] = fatal[0]
            break
print(json.dumps(result))
`;

export async function pythonProbe(
  bootstrap: string,
  login: SaslLogin,
): Promise<{ brokers: string[] | null; error: { name: string; text: string } | null }> {
  const conf = { 'bootstrap.servers': bootstrap, ...librdkafkaConfig(login) };
  const result = await run(PYTHON, ['-c', PYTHON_PROBE, JSON.stringify(conf)], { timeoutMs: 90_000 });
  if (result.code !== 0) throw new Error(`python probe failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

/** Kafka's Java admin client (kafka-topics --list) with a --command-config file of the login. */
export async function javaListTopics(bootstrap: string, login: SaslLogin, dir: string): Promise<RunResult> {
  const lines = [`security.protocol=${login.protocol}`];
  if (login.mechanism !== undefined) {
    lines.push(`sasl.mechanism=${login.mechanism}`);
    lines.push(
      `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${login.username}" password="${login.password}";`,
    );
  }
  if (login.caFile !== undefined) {
    lines.push('ssl.truststore.type=PEM', `ssl.truststore.location=${login.caFile}`);
  }
  // A failed authentication is final for the admin client; a short timeout bounds a hang.
  lines.push('default.api.timeout.ms=30000', 'request.timeout.ms=20000');
  const file = join(
    dir,
    `client-${login.protocol}-${login.username ?? 'anonymous'}-${Date.now()}.properties`,
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  const tool = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-topics');
  if (!existsSync(tool)) throw new Error(`${tool} is missing`);
  return run(tool, ['--bootstrap-server', bootstrap, '--command-config', file, '--list'], {
    timeoutMs: 120_000,
  });
}

/** A connection speaking the Kafka protocol one request at a time (tests of what clients hide). */
export class WireClient {
  readonly #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #waiter: (() => void) | null = null;
  #correlationId = 1;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#waiter?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, options: { tls?: tls.ConnectionOptions } = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket =
        options.tls === undefined
          ? net.connect({ host: '127.0.0.1', port }, () => resolve(new WireClient(socket)))
          : tls.connect({ host: '127.0.0.1', port, ...options.tls }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one request; resolves with the decoded response, or 'closed' when the broker closed instead. */
  async request(
    apiKey: number,
    apiVersion: number,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown> | 'closed'> {
    const frame = encodeRequest(
      {
        requestApiKey: apiKey,
        requestApiVersion: apiVersion,
        correlationId: this.#correlationId++,
        clientId: 'security-test',
      },
      body,
    );
    this.#socket.write(frame);
    const response = await this.#readFrame();
    if (response === 'closed') return response;
    return decodeResponse(apiKey, apiVersion, response).body as Record<string, unknown>;
  }

  /** Sends one request that gets no answer (acks=0 Produce); nothing is read. */
  send(apiKey: number, apiVersion: number, body: Record<string, unknown>): void {
    const frame = encodeRequest(
      {
        requestApiKey: apiKey,
        requestApiVersion: apiVersion,
        correlationId: this.#correlationId++,
        clientId: 'security-test',
      },
      body,
    );
    this.#socket.write(frame);
  }

  /** Sends bytes as one size-prefixed frame (the bare tokens after SaslHandshake v0). */
  async rawFrame(payload: Uint8Array): Promise<Buffer | 'closed'> {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    this.#socket.write(Buffer.concat([size, payload]));
    return this.#readFrame();
  }

  async #readFrame(): Promise<Buffer | 'closed'> {
    for (;;) {
      if (this.#buffer.length >= 4) {
        const size = this.#buffer.readInt32BE(0);
        if (this.#buffer.length >= 4 + size) {
          const frame = this.#buffer.subarray(4, 4 + size);
          this.#buffer = this.#buffer.subarray(4 + size);
          return frame;
        }
      }
      if (this.#closed) return 'closed';
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
      this.#waiter = null;
    }
  }

  /** Resolves once the broker has closed the connection (true), or false after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 100);
      });
      this.#waiter = null;
    }
    return this.#closed;
  }

  close(): void {
    this.#socket.destroy();
  }
}
