/**
 * `node fuzz/run.ts [--seconds N] [--seed S] [--port P | --bootstrap-server HOST:PORT] [--connections C]`
 *
 * The protocol fuzzer: starts a broker (`kstack up`) as a child process unless given one, writes known
 * records through @platformatic/kafka, then sends seeded, generated and mutated requests over raw TCP
 * connections for N seconds, checking that the broker lives, answers every well-formed request with a
 * well-formed response, closes (never hangs) on malformed frames, keeps answering a canary, and loses
 * none of the known records. On a failure it prints the seed, the iteration and the request's hex,
 * writes them to a file, and exits 1. See fuzz/README.md.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ApiVersionsResponseData, decodeResponse, encodeRequest } from '../src/protocol/index.ts';
import { BrokerChild } from './broker.ts';
import { type KnownData, verifyKnownRecords, writeKnownRecords } from './known-records.ts';
import { Prng } from './prng.ts';
import { createScramCredentials, SaslFuzz, saslListenerOverrides } from './sasl.ts';
import { type Failure, hex, Session, type VersionRanges } from './session.ts';
import { WireConnection } from './wire.ts';

const HELP = `usage: node fuzz/run.ts [options]
  --seconds N            fuzzing time (default 30)
  --seed S               PRNG seed, 0..4294967295 (default: random, printed)
  --port P               port of the broker we start (default 19900)
  --bootstrap-server H:P fuzz a running broker instead (topics kstack-fuzz-<run id>-* are created)
  --connections C        raw TCP connections sending requests (default 4)
  --in-flight N          unanswered requests per connection (default 8)
  --mutation-share F     share of requests mutated, 0..1 (default 0.35)
  --max-bytes B          stop after sending this many bytes (default 1073741824)
  --response-timeout-ms  every answer or close is due within this (default 10000)
  --canary-bound-ms      the canary's bound (default 10000)
  --records N            known records written first (default 300)
  --iteration I          replay only iteration I of the seed (prints its bytes)
  --failure-dir DIR      where failing requests are written (default .data/fuzz)
  --skip-known           skip requests that trigger a known open broker bug (fuzz/FINDINGS.md)
  --sasl                 also fuzz the SASL exchange on a SASL_PLAINTEXT listener (fuzz/sasl.ts)
  --sasl-port P          that listener's port (default: the broker's port + 1)
  --sasl-connections C   connections playing SASL scenarios (default 2)
  --sasl-iteration I     replay only SASL iteration I of the seed (with --sasl)
`;

/**
 * Topic names: fixed for a broker we start (fresh data dir); against a given broker, suffixed with a
 * run id so runs do not collide (the generator's choices stay the same, only the names' bytes differ).
 */
function topicNames(runId: string): { protectedTopic: string; fuzzTopics: string[] } {
  const prefix = runId === '' ? 'kstack-fuzz' : `kstack-fuzz-${runId}`;
  return { protectedTopic: `${prefix}-protected`, fuzzTopics: [0, 1, 2].map((i) => `${prefix}-${i}`) };
}
const PARTITIONS = 3;
// As long as KstackProcess waits by default (READY_TIMEOUT_MS_DEFAULT): CI runs this beside other tests on 2 cores.
const BROKER_START_MS = 60_000;
const BROKER_STOP_GRACE_MS = 15_000;
const VERIFY_TIMEOUT_MS = 60_000;

interface Options {
  seconds: number;
  seed: number;
  port: number;
  bootstrap: string | null;
  connections: number;
  inFlightMax: number;
  mutationShare: number;
  bytesMax: number;
  responseTimeoutMs: number;
  canaryBoundMs: number;
  records: number;
  iteration: number | null;
  failureDir: string;
  skipKnown: boolean;
  /** The SASL listener's port when the SASL exchange is fuzzed too, else null. */
  saslPort: number | null;
  saslConnections: number;
  saslIteration: number | null;
}

function number(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max)
    throw new Error(`--${name}: '${value}' is not in ${min}..${max}`);
  return parsed;
}

function parseOptions(args: string[]): Options | null {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      'bootstrap-server': { type: 'string' },
      connections: { type: 'string' },
      'in-flight': { type: 'string' },
      'mutation-share': { type: 'string' },
      'max-bytes': { type: 'string' },
      'response-timeout-ms': { type: 'string' },
      'canary-bound-ms': { type: 'string' },
      records: { type: 'string' },
      iteration: { type: 'string' },
      'failure-dir': { type: 'string' },
      'skip-known': { type: 'boolean' },
      sasl: { type: 'boolean' },
      'sasl-port': { type: 'string' },
      'sasl-connections': { type: 'string' },
      'sasl-iteration': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return null;
  if (values.port !== undefined && values['bootstrap-server'] !== undefined)
    throw new Error('--port and --bootstrap-server exclude each other');
  const sasl = values.sasl === true;
  if (sasl && values['bootstrap-server'] !== undefined)
    throw new Error(
      '--sasl needs a broker the fuzzer starts (its SASL listener and users): not --bootstrap-server',
    );
  if (!sasl && (values['sasl-port'] ?? values['sasl-connections'] ?? values['sasl-iteration']) !== undefined)
    throw new Error('--sasl-port, --sasl-connections and --sasl-iteration go with --sasl');
  const port = number(values.port, 19900, 'port', 1, 65535);
  return {
    seconds: number(values.seconds, 30, 'seconds', 1, 7 * 24 * 3600),
    seed: Math.floor(number(values.seed, randomInt(0, 2 ** 32 - 1), 'seed', 0, 2 ** 32 - 1)),
    port,
    bootstrap: values['bootstrap-server'] ?? null,
    connections: number(values.connections, 4, 'connections', 1, 256),
    inFlightMax: number(values['in-flight'], 8, 'in-flight', 1, 1000),
    mutationShare: number(values['mutation-share'], 0.35, 'mutation-share', 0, 1),
    bytesMax: number(values['max-bytes'], 1024 * 1024 * 1024, 'max-bytes', 1024, 2 ** 40),
    responseTimeoutMs: number(values['response-timeout-ms'], 10_000, 'response-timeout-ms', 100, 600_000),
    canaryBoundMs: number(values['canary-bound-ms'], 10_000, 'canary-bound-ms', 100, 600_000),
    records: number(values.records, 300, 'records', 1, 1_000_000),
    iteration:
      values.iteration === undefined ? null : number(values.iteration, 0, 'iteration', 0, 2 ** 31 - 1),
    failureDir: resolve(values['failure-dir'] ?? '.data/fuzz'),
    skipKnown: values['skip-known'] === true,
    saslPort: sasl ? number(values['sasl-port'], port + 1, 'sasl-port', 1, 65535) : null,
    saslConnections: number(values['sasl-connections'], 2, 'sasl-connections', 1, 256),
    saslIteration:
      values['sasl-iteration'] === undefined
        ? null
        : number(values['sasl-iteration'], 0, 'sasl-iteration', 0, 2 ** 31 - 1),
  };
}

/** The broker's advertised (API key → versions), from ApiVersions v3 on a raw connection. */
async function advertisedVersions(host: string, port: number): Promise<VersionRanges> {
  const connection = await WireConnection.open(host, port, 5_000);
  try {
    connection.send(
      encodeRequest(
        { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'kstack-fuzz' },
        { clientSoftwareName: 'kstack-fuzz', clientSoftwareVersion: '1' },
      ),
    );
    const outcome = await connection.next(10_000);
    if (!('frame' in outcome)) throw new Error('no ApiVersions answer');
    const body = decodeResponse(18, 3, outcome.frame).body as ApiVersionsResponseData;
    return new Map(body.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
  } finally {
    connection.destroy();
  }
}

function print(line: string): void {
  process.stdout.write(`kstack-fuzz: ${line}\n`);
}

function report(session: Session, seconds: number): void {
  print(
    `sent ${session.iterations} requests, ${(session.bytesSent / 1024 / 1024).toFixed(1)} MiB in ${seconds.toFixed(1)} s`,
  );
  const kinds = [...session.counts].filter(([k]) => !k.includes(' -> ')).sort((a, b) => b[1] - a[1]);
  print(`by kind: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const outcomes = [...session.counts].filter(([k]) => k.includes(' -> ')).sort();
  print(`outcomes: ${outcomes.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const apis = [...session.apiCounts].sort((a, b) => b[1] - a[1]);
  print(`by API (${apis.length}): ${apis.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const slowest = [...session.apiLatencyMsMax].sort((a, b) => b[1] - a[1]).slice(0, 5);
  print(`slowest answers: ${slowest.map(([k, ms]) => `${k} ${ms} ms`).join(', ')}`);
  print(`canary: ${session.canaryRounds} rounds, slowest ${session.canaryLatencyMsMax} ms`);
}

function reportSasl(sasl: SaslFuzz): void {
  const outcomes = [...sasl.counts].sort((a, b) => b[1] - a[1]);
  print(`sasl: ${sasl.iterations} exchanges: ${outcomes.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  print(`sasl canary: ${sasl.canaryRounds} rounds, slowest ${sasl.canaryLatencyMsMax} ms`);
}

function reportFailure(options: Options, failure: Failure, brokerTail: string): void {
  print(`FAILED (seed ${options.seed}, iteration ${failure.iteration}): ${failure.what}`);
  mkdirSync(options.failureDir, { recursive: true });
  const base = join(options.failureDir, `seed-${options.seed}-iteration-${failure.iteration}`);
  const lines = [
    `seed ${options.seed}`,
    `iteration ${failure.iteration}`,
    `what ${failure.what}`,
    `replay node fuzz/run.ts --seed ${options.seed} --iteration ${failure.iteration}`,
  ];
  if (failure.request !== null) {
    print(`request (${failure.request.length} bytes): ${hex(failure.request, 4096)}`);
    lines.push(`request ${hex(failure.request)}`);
    writeFileSync(`${base}.bin`, failure.request);
  }
  writeFileSync(`${base}.txt`, `${lines.join('\n')}\n\nbroker output (tail):\n${brokerTail}\n`);
  print(`written to ${base}.txt${failure.request !== null ? ' and .bin' : ''}`);
  if (brokerTail !== '') print(`broker output (tail):\n${brokerTail.split('\n').slice(-15).join('\n')}`);
}

async function main(): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options === null) {
    process.stdout.write(HELP);
    return 0;
  }
  print(`seed ${options.seed} (replay: node fuzz/run.ts --seed ${options.seed})`);
  let host = '127.0.0.1';
  let port = options.port;
  let broker: BrokerChild | null = null;
  let dataDir: string | null = null;
  if (options.bootstrap !== null) {
    const [h, p] = options.bootstrap.split(':');
    host = h ?? host;
    port = Number(p);
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-fuzz-'));
    const overrides = options.saslPort === null ? {} : saslListenerOverrides(host, port, options.saslPort);
    broker = new BrokerChild(port, dataDir, overrides);
  }
  const started = Date.now();
  const { protectedTopic: PROTECTED_TOPIC, fuzzTopics: FUZZ_TOPICS } = topicNames(
    broker === null ? started.toString(36) : '',
  );
  let failure: Failure | null = null;
  let session: Session | null = null;
  let sasl: SaslFuzz | null = null;
  try {
    await broker?.ready(BROKER_START_MS);
    print(`broker ${broker === null ? 'given' : `started (pid ${broker.pid})`} at ${host}:${port}`);
    const advertised = await advertisedVersions(host, port);
    const known: KnownData = await writeKnownRecords(
      `${host}:${port}`,
      PROTECTED_TOPIC,
      FUZZ_TOPICS,
      PARTITIONS,
      options.records,
      new Prng(options.seed, 0xda7a),
    );
    print(`wrote ${known.records.length} known records to ${PROTECTED_TOPIC} (${PARTITIONS} partitions)`);
    const deadline = Date.now() + options.seconds * 1000;
    if (options.saslPort !== null) {
      await createScramCredentials(host, port, options.responseTimeoutMs);
      print(`SASL_PLAINTEXT listener at ${host}:${options.saslPort} (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
      sasl = new SaslFuzz(
        {
          host,
          port: options.saslPort,
          seed: options.seed,
          connections: options.saslConnections,
          responseTimeoutMs: options.responseTimeoutMs,
          canaryBoundMs: options.canaryBoundMs,
          deadline,
          onlyIterations: options.saslIteration === null ? undefined : [options.saslIteration],
          skipKnown: options.skipKnown,
        },
        advertised,
      );
      if (options.saslIteration !== null) {
        const { scenario, mechanism } = sasl.draw(options.saslIteration);
        print(`sasl iteration ${options.saslIteration}: ${scenario} (${mechanism})`);
      }
    }
    session = new Session(
      {
        host,
        port,
        seed: options.seed,
        connections: options.connections,
        inFlightMax: options.inFlightMax,
        mutationShare: options.mutationShare,
        responseTimeoutMs: options.responseTimeoutMs,
        canaryBoundMs: options.canaryBoundMs,
        bytesMax: options.bytesMax,
        deadline,
        // Replaying one SASL iteration sends no other request.
        onlyIterations:
          options.iteration === null
            ? options.saslIteration === null
              ? undefined
              : []
            : [options.iteration],
        skipKnown: options.skipKnown,
      },
      {
        fuzzTopics: [...FUZZ_TOPICS, 'kstack-fuzz-auto', '__consumer_offsets', 'bad/name', ''],
        protectedTopic: PROTECTED_TOPIC,
        fuzzTopicIds: known.fuzzTopicIds,
        protectedTopicId: known.topicId,
        groups: ['kstack-fuzz-group', 'g', ''],
      },
      advertised,
      { topic: PROTECTED_TOPIC, partitions: PARTITIONS },
    );
    if (options.iteration !== null) {
      const { request, mutation } = await session.build(options.iteration);
      print(
        `iteration ${options.iteration}: ${mutation?.kind ?? 'valid'} of API ${request.apiKey} v${request.apiVersion}`,
      );
      print(`bytes: ${hex(mutation?.bytes ?? request.bytes)}`);
    }
    const watchBroker = setInterval(() => {
      if (broker?.exit != null)
        session?.fail({ iteration: -1, what: `the broker process exited (${broker.exit})`, request: null });
    }, 100);
    const saslRun = sasl?.run();
    // A SASL failure stops the request fuzzer too (and the reverse), so the first one is reported.
    const stopOnSaslFailure = setInterval(() => {
      if (sasl?.failure != null) session?.fail(sasl.failure);
      if (session?.failure != null) sasl?.fail(session.failure);
    }, 100);
    await session.run();
    await saslRun;
    clearInterval(stopOnSaslFailure);
    clearInterval(watchBroker);
    failure = sasl?.failure ?? session.failure;
    if (failure === null && broker?.exit != null)
      failure = { iteration: -1, what: `the broker process exited (${broker.exit})`, request: null };
    if (failure === null) {
      const problems = await verifyKnownRecords(`${host}:${port}`, known, VERIFY_TIMEOUT_MS);
      if (problems.length > 0)
        failure = {
          iteration: -1,
          what: `known records damaged: ${problems.slice(0, 10).join('; ')}`,
          request: null,
        };
      else print(`all ${known.records.length} known records read back byte for byte`);
    }
  } catch (error) {
    failure = {
      iteration: -1,
      what: `setup or check failed: ${(error as Error).stack ?? error}`,
      request: null,
    };
  }
  if (session !== null) report(session, (Date.now() - started) / 1000);
  if (sasl !== null) reportSasl(sasl);
  if (failure !== null && failure.iteration === -1 && session !== null && session.recent.length > 0)
    print(`last requests sent: ${session.recent.join('; ')}`);
  if (broker !== null) {
    const exit = await broker.stop(BROKER_STOP_GRACE_MS);
    if (failure === null && exit !== 'code 0')
      failure = {
        iteration: -1,
        what: `the broker did not stop cleanly on SIGTERM (${exit})`,
        request: null,
      };
    else print(`broker stopped (${exit})`);
  }
  if (failure !== null) {
    reportFailure(options, failure, broker?.outputTail ?? '');
    if (dataDir !== null) print(`broker data kept in ${dataDir}`);
    return 1;
  }
  if (dataDir !== null) rmSync(dataDir, { recursive: true, force: true });
  print(`passed (seed ${options.seed})`);
  return 0;
}

// Exit at once: after a failure a worker's socket or timer may still be pending, and the run must
// not outlive its verdict (stdout is a pipe or a file, written synchronously on Linux).
process.exit(await main());
