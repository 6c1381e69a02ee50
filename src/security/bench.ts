/**
 * `node src/security/bench.ts [--rounds R] [--records N] [--record-bytes B] [--connections N] [--kstack-only]`
 *
 * Issue 22's benchmark (reported, not a test): what SASL_SSL costs against PLAINTEXT, on kstack and on
 * Apache Kafka 4.1.1 in one run, as ratios. Both brokers run at once, each with a PLAINTEXT listener and
 * a SASL_SSL listener (PLAIN and SCRAM-SHA-512; certificates from src/security/certs.ts), and take turns:
 * - produce and fetch throughput (src/bench/load.ts, @platformatic/kafka: N records of B bytes, acks=1,
 *   then read back from the start), through PLAINTEXT and through SASL_SSL logged in with SCRAM-SHA-512,
 *   taking turns R times (default 2), the best round of each kept;
 * - connection set-up per second, one connection after another, each closed once it is usable:
 *   PLAINTEXT (TCP + ApiVersions), TLS (TCP + TLS handshake + ApiVersions) and TLS + SCRAM-SHA-512
 *   (then SaslHandshake and the two SaslAuthenticate of the exchange, the server's signature checked).
 * Printed: each figure, then SASL_SSL / PLAINTEXT per engine and kstack / Kafka per measure, with the
 * load average before and after (the machine is shared: the lead reruns it on a quiet one).
 * Ports: kstack 27460 (PLAINTEXT) and 27461 (SASL_SSL); the reference 27446 and 27447, its controller
 * 27496 (docs/team-rules.md).
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { type LoadTarget, measureFetch, measureProduce, withTopic } from '../bench/load.ts';
import { machineLoad } from '../bench/machine.ts';
import { KstackProcess } from '../engine/process.ts';
import { decodeResponse, encodeRequest } from '../protocol/index.ts';
import { makeCertificates } from './certs.ts';
import { saslClient } from './sasl-client.ts';

const KSTACK_PORTS = { plaintext: 27460, saslSsl: 27461 } as const;
const KAFKA_PORTS = { plaintext: 27446, saslSsl: 27447 } as const;
const USER = 'bench';
const PASSWORD = 'bench-secret';
const SCRAM = 'SCRAM-SHA-512';
const SCRAM_ITERATIONS = 4096;
/** One connection's set-up must finish within this (a broker that stalls fails the run). */
const CONNECTION_TIMEOUT_MS = 30_000;
const PARTITIONS = 3;

type Engine = 'kstack' | 'kafka';
type Mode = 'PLAINTEXT' | 'SASL_SSL';
type SetUp = 'PLAINTEXT' | 'TLS' | 'TLS+SCRAM';

interface Options {
  rounds: number;
  records: number;
  recordBytes: number;
  connections: number;
  kstackOnly: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '2' },
      records: { type: 'string', default: '100000' },
      'record-bytes': { type: 'string', default: '1024' },
      connections: { type: 'string', default: '300' },
      'kstack-only': { type: 'boolean', default: false },
    },
  });
  const whole = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name}: '${text}' is not a positive whole number`);
    return value;
  };
  return {
    rounds: whole('rounds', values.rounds),
    records: whole('records', values.records),
    recordBytes: whole('record-bytes', values['record-bytes']),
    connections: whole('connections', values.connections),
    kstackOnly: values['kstack-only'],
  };
}

/** The broker settings both engines get: PLAINTEXT and SASL_SSL (PLAIN, SCRAM-SHA-512) with PEM TLS. */
function settings(ports: { plaintext: number; saslSsl: number }, keystore: string): Record<string, string> {
  return {
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.plaintext},SASL_SSL://127.0.0.1:${ports.saslSsl}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'sasl.enabled.mechanisms': `PLAIN,${SCRAM}`,
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': keystore,
    'group.initial.rebalance.delay.ms': '0',
  };
}

const listeners = (ports: { plaintext: number; saslSsl: number }): string =>
  `PLAINTEXT://127.0.0.1:${ports.plaintext},SASL_SSL://127.0.0.1:${ports.saslSsl}`;

/** One request/answer over a socket that is already connected (and through TLS when it is a TLS socket). */
function exchange(socket: net.Socket, frame: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(buffer.subarray(4, 4 + buffer.readInt32BE(0)));
      }
    };
    const onClose = () => reject(new Error('the broker closed the connection'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(frame);
  });
}

function request(
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
  correlationId: number,
): Uint8Array {
  return encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'kstack-security-bench' },
    body,
  );
}

function connect(port: number, secure: tls.ConnectionOptions | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      secure === null
        ? net.connect({ host: '127.0.0.1', port }, () => resolve(socket))
        : tls.connect({ host: '127.0.0.1', port, ...secure }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () =>
      socket.destroy(new Error(`no answer within ${CONNECTION_TIMEOUT_MS} ms`)),
    );
  });
}

/** Connects and makes the connection usable as `setUp` says; throws what went wrong. */
async function setUpOne(port: number, setUp: SetUp, ca: string): Promise<void> {
  const socket = await connect(port, setUp === 'PLAINTEXT' ? null : { ca: [ca], servername: 'localhost' });
  try {
    await exchange(socket, request(18, 0, {}, 1));
    if (setUp !== 'TLS+SCRAM') return;
    const handshake = decodeResponse(
      17,
      1,
      await exchange(socket, request(17, 1, { mechanism: SCRAM }, 2)),
    ).body;
    if (handshake.errorCode !== 0) throw new Error(`SaslHandshake answered ${handshake.errorCode}`);
    const client = saslClient({ mechanism: SCRAM, username: USER, password: PASSWORD });
    let token: Buffer | null = client.first();
    for (let id = 3; token !== null; id++) {
      const answer = decodeResponse(
        36,
        2,
        await exchange(socket, request(36, 2, { authBytes: token }, id)),
      ).body;
      if (answer.errorCode !== 0)
        throw new Error(`SaslAuthenticate answered ${answer.errorCode}: ${answer.errorMessage}`);
      token = client.next(answer.authBytes as Uint8Array);
    }
  } finally {
    socket.destroy();
  }
}

/** Set-ups per second, `count` one after another (after a tenth as many not counted, to warm up). */
async function setUpRate(port: number, setUp: SetUp, ca: string, count: number): Promise<number> {
  for (let i = 0; i < Math.ceil(count / 10); i++) await setUpOne(port, setUp, ca);
  const started = performance.now();
  for (let i = 0; i < count; i++) await setUpOne(port, setUp, ca);
  return count / ((performance.now() - started) / 1000);
}

/** The SCRAM-SHA-512 credential of the bench user, made through PLAINTEXT (AlterUserScramCredentials v0). */
async function createCredential(port: number): Promise<void> {
  const salt = randomBytes(16);
  const socket = await connect(port, null);
  try {
    const upsertion = {
      name: USER,
      mechanism: 2,
      iterations: SCRAM_ITERATIONS,
      salt,
      saltedPassword: pbkdf2Sync(PASSWORD, salt, SCRAM_ITERATIONS, 64, 'sha512'),
    };
    const answer = decodeResponse(
      51,
      0,
      await exchange(socket, request(51, 0, { deletions: [], upsertions: [upsertion] }, 1)),
    ).body as { results: { errorCode: number }[] };
    if (answer.results[0]?.errorCode !== 0)
      throw new Error(`AlterUserScramCredentials answered ${answer.results[0]?.errorCode}`);
  } finally {
    socket.destroy();
  }
}

/** The bench user's SCRAM login succeeds (Kafka applies the credential once its controller committed it). */
async function awaitLogin(port: number, ca: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await setUpOne(port, 'TLS+SCRAM', ca);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

interface Figures {
  produceMBps: Record<Mode, number>;
  fetchMBps: Record<Mode, number>;
  setUpsPerSecond: Record<SetUp, number>;
}

async function measure(
  engine: Engine,
  ports: { plaintext: number; saslSsl: number },
  ca: string,
  options: Options,
): Promise<Figures> {
  const targets: Record<Mode, LoadTarget> = {
    PLAINTEXT: { bootstrapServer: `127.0.0.1:${ports.plaintext}`, replicationFactor: 1 },
    SASL_SSL: {
      bootstrapServer: `127.0.0.1:${ports.saslSsl}`,
      replicationFactor: 1,
      connection: {
        tls: { ca: [ca], servername: 'localhost' },
        sasl: { mechanism: SCRAM, username: USER, password: PASSWORD },
      },
    },
  };
  const figures: Figures = {
    produceMBps: { PLAINTEXT: 0, SASL_SSL: 0 },
    fetchMBps: { PLAINTEXT: 0, SASL_SSL: 0 },
    setUpsPerSecond: { PLAINTEXT: 0, TLS: 0, 'TLS+SCRAM': 0 },
  };
  // The modes take turns, `rounds` times; the best round of each counts (the machine's noise only
  // ever slows a round down).
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of ['PLAINTEXT', 'SASL_SSL'] as const) {
      await withTopic(targets[mode], PARTITIONS, async (topic) => {
        const load = { partitions: PARTITIONS, records: options.records, recordBytes: options.recordBytes };
        const produced = await measureProduce(targets[mode], topic, { ...load, acks: 1 });
        const fetched = await measureFetch(targets[mode], topic, load);
        figures.produceMBps[mode] = Math.max(figures.produceMBps[mode], produced.megabytesPerSecond);
        figures.fetchMBps[mode] = Math.max(figures.fetchMBps[mode], fetched.megabytesPerSecond);
        print(
          `${engine} ${mode} round ${round}: produce ${produced.megabytesPerSecond.toFixed(1)} MB/s, fetch ${fetched.megabytesPerSecond.toFixed(1)} MB/s`,
        );
      });
    }
  }
  for (const setUp of ['PLAINTEXT', 'TLS', 'TLS+SCRAM'] as const) {
    const port = setUp === 'PLAINTEXT' ? ports.plaintext : ports.saslSsl;
    figures.setUpsPerSecond[setUp] = await setUpRate(port, setUp, ca, options.connections);
    print(`${engine} ${setUp}: ${figures.setUpsPerSecond[setUp].toFixed(0)} connections set up per second`);
  }
  return figures;
}

function print(line: string): void {
  process.stdout.write(`security-bench: ${line}\n`);
}

function loadLine(): string {
  const load = machineLoad();
  return `load average ${load.loadAverage1m.toFixed(1)}${load.cpuPressureSome10s === undefined ? '' : `, CPU pressure ${load.cpuPressureSome10s.toFixed(0)}%`}`;
}

function report(results: Map<Engine, Figures>): void {
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(2));
  print('SASL_SSL (SCRAM-SHA-512) / PLAINTEXT:');
  for (const [engine, f] of results) {
    print(
      `  ${engine}: produce ${ratio(f.produceMBps.SASL_SSL, f.produceMBps.PLAINTEXT)}, fetch ${ratio(f.fetchMBps.SASL_SSL, f.fetchMBps.PLAINTEXT)}, set-up TLS ${ratio(f.setUpsPerSecond.TLS, f.setUpsPerSecond.PLAINTEXT)}, TLS+SCRAM ${ratio(f.setUpsPerSecond['TLS+SCRAM'], f.setUpsPerSecond.PLAINTEXT)}`,
    );
  }
  const kstack = results.get('kstack');
  const kafka = results.get('kafka');
  if (kstack === undefined || kafka === undefined) return;
  print('kstack / Kafka:');
  for (const mode of ['PLAINTEXT', 'SASL_SSL'] as const) {
    print(
      `  ${mode}: produce ${ratio(kstack.produceMBps[mode], kafka.produceMBps[mode])}, fetch ${ratio(kstack.fetchMBps[mode], kafka.fetchMBps[mode])}`,
    );
  }
  for (const setUp of ['PLAINTEXT', 'TLS', 'TLS+SCRAM'] as const) {
    print(`  set-up ${setUp}: ${ratio(kstack.setUpsPerSecond[setUp], kafka.setUpsPerSecond[setUp])}`);
  }
}

async function main(): Promise<number> {
  const options = parseOptions();
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-security-bench-'));
  const certDir = join(dataDir, 'certs');
  mkdirSync(certDir);
  const certs = makeCertificates(certDir);
  const ca = readFileSync(certs.caFile, 'utf8');
  let kstack: KstackProcess | undefined;
  let reference: ReferenceCluster | undefined;
  const killReference = (): void => reference?.killAllSync();
  process.on('exit', killReference);
  const started = performance.now();
  print(
    `start: ${loadLine()}; ${options.records} records of ${options.recordBytes} bytes, ${options.connections} connections per set-up`,
  );
  try {
    const kstackSettings = settings(KSTACK_PORTS, certs.brokerKeystoreFile);
    const starting: Promise<unknown>[] = [
      KstackProcess.start({
        args: [
          '--no-compose',
          '--data-dir',
          join(dataDir, 'kstack'),
          '--override',
          `listeners=${listeners(KSTACK_PORTS)}`,
          ...Object.entries(kstackSettings).flatMap(([key, value]) => ['--override', `${key}=${value}`]),
        ],
        ports: [KSTACK_PORTS.plaintext],
      }).then((process) => {
        kstack = process;
      }),
    ];
    if (!options.kstackOnly) {
      reference = new ReferenceCluster({
        nodes: 1,
        basePort: KAFKA_PORTS.plaintext,
        dataDir: join(dataDir, 'reference'),
        overrides: (node) => ({
          ...settings(KAFKA_PORTS, certs.brokerKeystoreFile),
          listeners: `${listeners(KAFKA_PORTS)},CONTROLLER://127.0.0.1:${node.controllerPort}`,
        }),
      });
      starting.push(reference.start());
    }
    await Promise.all(starting);
    print(`brokers up after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const engines: [Engine, { plaintext: number; saslSsl: number }][] = [['kstack', KSTACK_PORTS]];
    if (!options.kstackOnly) engines.push(['kafka', KAFKA_PORTS]);
    for (const [, ports] of engines) await createCredential(ports.plaintext);
    for (const [, ports] of engines) await awaitLogin(ports.saslSsl, ca);
    const results = new Map<Engine, Figures>();
    for (const [engine, ports] of engines) results.set(engine, await measure(engine, ports, ca, options));
    report(results);
    print(`end: ${loadLine()}; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
    return 0;
  } catch (error) {
    print(`FAILED: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    await kstack?.stop();
    await reference?.stop(true);
    process.off('exit', killReference);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

process.exit(await main());
