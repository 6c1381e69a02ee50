/**
 * Re-authentication (KIP-368) as a client sees it, asked the same way of kstack and of Apache Kafka
 * (test/security/security-reference.slow.ts compares the answers): a listener with
 * `connections.max.reauth.ms`, a wire client for what client libraries hide, Kafka's Java producer
 * (its own re-authentication, read from its metrics) and kafkajs (its `reauthenticationThreshold`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { run, WireClient } from './support.ts';

const PERF_TEST = join(import.meta.dirname, '..', '..', 'reference', 'bin', 'kafka-producer-perf-test');
/** A JVM and its sends on a loaded machine. */
const JAVA_TIMEOUT_MS = 180_000;
/** How long a connection may take to close once the broker closes it. */
const CLOSE_WAIT_MS = 10_000;

export interface ReauthLogin {
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The listener's `connections.max.reauth.ms`. */
  readonly lifetimeMs: number;
}

const plain = (username: string, password: string) => Buffer.from(`\0${username}\0${password}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Answer = Record<string, unknown> | 'closed';
const codeOf = (answer: Answer): unknown => (answer === 'closed' ? 'closed' : answer.errorCode);
const METADATA_V12 = { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

/** A connection logged in with SaslHandshake v1 and SaslAuthenticate `version`; its answer. */
async function login(
  to: ReauthLogin,
  version = 2,
): Promise<{ client: WireClient; handshake: Answer; answer: Answer }> {
  const client = await WireClient.connect(to.port);
  const handshake = await client.request(17, 1, { mechanism: 'PLAIN' });
  const answer = await client.request(36, version, { authBytes: plain(to.username, to.password) });
  return { client, handshake, answer };
}

/** Metadata v12 on the connection: 'answered', or 'closed' when the broker closed it instead. */
async function metadata(client: WireClient): Promise<string> {
  return (await client.request(3, 12, METADATA_V12)) === 'closed' ? 'closed' : 'answered';
}

/**
 * The broker's side of KIP-368 on the wire, as outcomes to compare: the session lifetime a login
 * gets, a re-authentication over the same connection, one as another user, one with another
 * mechanism, a request past the
 * session's end (closed), a re-authentication past it, and a SaslAuthenticate v0 login (whose answer
 * has no lifetime) expiring alike.
 */
export async function reauthOnTheWire(
  to: ReauthLogin,
  other: { username: string; password: string },
): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const first = await login(to);
  const answer = first.answer as { errorCode: number; sessionLifetimeMs: bigint };
  seen['login: error, session_lifetime_ms'] = [codeOf(first.answer), String(answer.sessionLifetimeMs)];
  const handshake = await first.client.request(17, 1, { mechanism: 'PLAIN' });
  const again = await first.client.request(36, 2, { authBytes: plain(to.username, to.password) });
  seen['re-authentication over the same connection: handshake, authenticate, lifetime'] = [
    codeOf(handshake),
    codeOf(again),
    again === 'closed' ? null : String(again.sessionLifetimeMs),
  ];
  seen['Metadata after re-authentication'] = await metadata(first.client);
  first.client.close();

  const switching = await login(to);
  await switching.client.request(17, 1, { mechanism: 'PLAIN' });
  const switched = await switching.client.request(36, 2, {
    authBytes: plain(other.username, other.password),
  });
  seen['re-authentication as another user: error, message, closed'] = [
    codeOf(switched),
    switched === 'closed' ? null : switched.errorMessage,
    await switching.client.closedWithin(CLOSE_WAIT_MS),
  ];
  switching.client.close();

  // The listener enables SCRAM-SHA-512 too: re-authenticating with it is not the session's mechanism.
  const changing = await login(to);
  const scramHandshake = await changing.client.request(17, 1, { mechanism: 'SCRAM-SHA-512' });
  const scramFirst = await changing.client.request(36, 2, {
    authBytes: Buffer.from(`n,,n=${to.username},r=reauth-nonce`),
  });
  seen['re-authentication with another mechanism: handshake, authenticate'] = [
    codeOf(scramHandshake),
    codeOf(scramFirst),
  ];
  changing.client.close();

  // Three connections wait out one lifetime together.
  const [expiring, renewing, oldClient] = await Promise.all([login(to), login(to), login(to, 0)]);
  seen['SaslAuthenticate v0 login'] = codeOf(oldClient.answer);
  await sleep(to.lifetimeMs + 1000);
  seen['Metadata past the session lifetime'] = await metadata(expiring.client);
  seen['Metadata past the session lifetime, logged in with SaslAuthenticate v0'] = await metadata(
    oldClient.client,
  );
  const late = await renewing.client.request(17, 1, { mechanism: 'PLAIN' });
  const renewed = await renewing.client.request(36, 2, { authBytes: plain(to.username, to.password) });
  seen['re-authentication past the session lifetime: handshake, authenticate, then Metadata'] = [
    codeOf(late),
    codeOf(renewed),
    await metadata(renewing.client),
  ];
  for (const connection of [expiring, renewing, oldClient]) connection.client.close();
  return seen;
}

/**
 * Kafka's Java producer sending `records` at 5 a second (kafka-producer-perf-test) through the
 * listener: the records it sent and its re-authentication metrics (`--print-metrics`).
 */
export async function javaProducerReauth(
  to: ReauthLogin,
  topic: string,
  dir: string,
  records: number,
): Promise<{ sent: number | null; reauthenticated: number; failed: number; output: string }> {
  const config = join(dir, `reauth-${to.port}.properties`);
  writeFileSync(
    config,
    [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=PLAIN',
      `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${to.username}" password="${to.password}";`,
      'acks=all',
      '',
    ].join('\n'),
  );
  const result = await run(
    PERF_TEST,
    [
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--throughput',
      '5',
      '--record-size',
      '100',
      '--producer-props',
      `bootstrap.servers=127.0.0.1:${to.port}`,
      '--producer.config',
      config,
      '--print-metrics',
    ],
    { timeoutMs: JAVA_TIMEOUT_MS },
  );
  const output = `${result.stdout}${result.stderr}`;
  const metric = (name: string): number => {
    const line = result.stdout.split('\n').find((l) => l.startsWith(`producer-metrics:${name}:`));
    return line === undefined ? Number.NaN : Number(line.split(':').at(-1)?.trim());
  };
  // A line per 5 s window, then the summary: the last "N records sent" counts them all.
  const sent = [...result.stdout.matchAll(/^(\d+) records sent/gm)].at(-1);
  return {
    sent: result.code === 0 && sent !== undefined ? Number(sent[1]) : null,
    reauthenticated: metric('successful-reauthentication-total'),
    failed: metric('failed-reauthentication-total'),
    output,
  };
}

/**
 * kafkajs sending one record every 250 ms for `durationMs` through the listener, re-authenticating
 * 1.5 s before its session ends (`reauthenticationThreshold`): how many sends were acknowledged,
 * how many connections it opened and logins it made (more logins than connections: it
 * re-authenticated over open connections), and how often the broker closed a connection.
 */
export async function kafkajsReauth(
  to: ReauthLogin,
  topic: string,
  durationMs: number,
): Promise<{
  sent: number;
  acknowledged: number;
  connections: number;
  logins: number;
  closedByBroker: number;
}> {
  const counts = { connections: 0, logins: 0, closedByBroker: 0 };
  const kafka = new Kafka({
    clientId: 'reauth-kafkajs',
    brokers: [`127.0.0.1:${to.port}`],
    sasl: { mechanism: 'plain', username: to.username, password: to.password },
    reauthenticationThreshold: 1500,
    logLevel: logLevel.DEBUG,
    logCreator: () => (entry) => {
      const message = entry.log.message;
      if (message === 'Connecting') counts.connections += 1;
      else if (message === 'SASL PLAIN authentication successful') counts.logins += 1;
      else if (message === 'Kafka server has closed connection') counts.closedByBroker += 1;
    },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let sent = 0;
  let acknowledged = 0;
  try {
    const until = Date.now() + durationMs;
    while (Date.now() < until) {
      sent += 1;
      const answer = await producer
        .send({ topic, acks: -1, messages: [{ value: `reauth-${sent}` }] })
        .catch(() => null);
      if (answer !== null) acknowledged += 1;
      await sleep(250);
    }
  } finally {
    await producer.disconnect();
  }
  return { sent, acknowledged, ...counts };
}
