/**
 * `kstack up [--brokers N] [--data-dir DIR] [--env-file F] [--port P]`: starts the
 * embedded broker in the foreground, prints its bootstrap address, and stops cleanly
 * (answering in-flight requests, closing logs) on Ctrl-C or SIGTERM.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Broker } from '../broker/broker.ts';
import { BROKER_CONFIG_BY_NAME } from '../broker/config.ts';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { readEnvFile } from './env-file.ts';
import { type AdvertisedAddress, parseAdvertisedListeners } from './listeners.ts';

/** The env variable of the first broker's host port (the Docker stack's `kafka-1`). */
export const FIRST_BROKER_PORT_VARIABLE = 'KAFKA_1_EXTERNAL_PORT';
export const DEFAULT_PORT = 9092;
export const DEFAULT_DATA_DIR = '.data/kstack';

const HELP = `usage: kstack up [--brokers N] [--data-dir DIR] [--env-file F] [--port P] [--host H]

Starts the embedded Kafka-compatible broker in the foreground. Ctrl-C stops it.
  --brokers N     brokers to start (only 1 until the cluster lands)
  --data-dir DIR  where logs and metadata live (default ${DEFAULT_DATA_DIR})
  --env-file F    take the port from F's ${FIRST_BROKER_PORT_VARIABLE} (default .env, else .env.example)
  --port P        the broker's port (overrides the env file; default ${DEFAULT_PORT})
  --base-port P   the first broker's port; broker N listens on P+N-1 (same as --port for one broker)
  --host H        the address to bind and advertise (default 127.0.0.1)
  --metrics-port P  serve Prometheus metrics on http://HOST:P/metrics (Kafka's JMX exporter
                  names; the Docker stack's agent port is 7071); none unless given
  --override K=V  a broker config by Kafka name (repeatable), e.g. --override num.partitions=3;
                  advertised.listeners=PLAINTEXT://HOST:PORT is the address clients are given
                  (a proxy or published port in front of the broker)
`;

function parsePort(text: string, where: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${where}: '${text}' is not a port number (0-65535)`);
  }
  return port;
}

export interface UpOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly brokers: number;
  /** Broker configs by Kafka name (`--override name=value`, as kafka-server-start takes them). */
  readonly overrides: Record<string, string>;
  /** What Metadata tells clients, from `--override advertised.listeners=PLAINTEXT://HOST:PORT`. */
  readonly advertised?: AdvertisedAddress;
  /** Where `/metrics` is served (`--metrics-port`); none when undefined. */
  readonly metricsPort?: number;
}

export function parseUpArgs(args: readonly string[]): UpOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  const { values } = parsed;
  if (values.help === true) return 'help';
  const brokers = Number(values.brokers ?? '1');
  if (!Number.isInteger(brokers) || brokers < 1) {
    throw new UsageError(`--brokers: '${values.brokers}' is not a positive whole number`);
  }
  if (brokers !== 1) {
    throw new UsageError(
      `--brokers ${brokers}: the embedded engine runs one broker until the cluster lands; use --brokers 1`,
    );
  }
  let port = DEFAULT_PORT;
  const envFile =
    values['env-file'] ??
    (existsSync('.env') ? '.env' : existsSync('.env.example') ? '.env.example' : undefined);
  if (envFile !== undefined) {
    const env = readEnvFile(envFile);
    const fromEnv = env.get(FIRST_BROKER_PORT_VARIABLE);
    if (fromEnv !== undefined) port = parsePort(fromEnv, `${envFile}: ${FIRST_BROKER_PORT_VARIABLE}`);
  }
  if (values['base-port'] !== undefined) port = parsePort(values['base-port'], '--base-port');
  if (values.port !== undefined) port = parsePort(values.port, '--port');
  const overrides: Record<string, string> = {};
  for (const item of values.override ?? []) {
    const at = item.indexOf('=');
    if (at <= 0)
      throw new UsageError(`--override: '${item}' is not name=value (e.g. --override num.partitions=3)`);
    const name = item.slice(0, at).trim();
    if (!BROKER_CONFIG_BY_NAME.has(name)) {
      throw new UsageError(
        `--override: '${name}' is not a broker config kstack knows (see src/broker/config.ts)`,
      );
    }
    overrides[name] = item.slice(at + 1).trim();
  }
  const host = values.host ?? '127.0.0.1';
  let advertised: AdvertisedAddress | undefined;
  const listeners = overrides['advertised.listeners'];
  if (listeners !== undefined) {
    try {
      advertised = parseAdvertisedListeners(listeners, host);
    } catch (error) {
      throw new UsageError(`--override ${(error as Error).message}`);
    }
  }
  const metricsPort =
    values['metrics-port'] === undefined ? undefined : parsePort(values['metrics-port'], '--metrics-port');
  return {
    overrides,
    advertised,
    metricsPort,
    port,
    host,
    dataDir: resolve(values['data-dir'] ?? DEFAULT_DATA_DIR),
    brokers,
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      brokers: { type: 'string' },
      'data-dir': { type: 'string' },
      'env-file': { type: 'string' },
      port: { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      'metrics-port': { type: 'string' },
      override: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

export const command: Command = {
  summary: 'start the embedded Kafka-compatible broker in the foreground',
  async run(args) {
    const options = parseUpArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const log = {
      info: (message: string) => process.stderr.write(`[kstack] ${message}\n`),
      warn: (message: string) => process.stderr.write(`[kstack] WARN ${message}\n`),
    };
    const metrics =
      options.metricsPort === undefined
        ? undefined
        : new (await import('../metrics/broker-metrics.ts')).BrokerMetrics();
    let broker: Broker;
    try {
      broker = new Broker({
        dataDir: join(options.dataDir, 'broker-1'),
        host: options.host,
        port: options.port,
        advertisedHost: options.advertised?.host,
        advertisedPort: options.advertised?.port,
        nodeId: 1,
        config: options.overrides,
        log,
        observer: metrics,
      });
    } catch (error) {
      throw new UsageError(`--override: ${(error as Error).message}`);
    }
    try {
      await broker.start();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        process.stderr.write(
          `kstack up: port ${options.port} on ${options.host} is in use; stop what holds it or pass --port\n`,
        );
        return EXIT_FAILED;
      }
      throw error;
    }
    let metricsServer: { url: string; close(): Promise<void> } | undefined;
    if (metrics !== undefined && options.metricsPort !== undefined) {
      metrics.attach(broker);
      const { startMetricsServer } = await import('../metrics/http.ts');
      try {
        metricsServer = await startMetricsServer({
          registry: metrics.registry,
          host: options.host,
          port: options.metricsPort,
        });
      } catch (error) {
        await broker.stop();
        process.stderr.write(
          `kstack up: --metrics-port ${options.metricsPort} on ${options.host}: ${(error as Error).message}\n`,
        );
        return EXIT_FAILED;
      }
      process.stdout.write(`kstack: broker 1 metrics on ${metricsServer.url}\n`);
    }
    const { advertised } = options;
    const listening = `${options.host}:${broker.port}`;
    process.stdout.write(
      advertised === undefined
        ? `kstack: broker 1 listening; bootstrap servers: ${listening}\n`
        : `kstack: broker 1 listening on ${listening}; bootstrap servers (advertised.listeners): ${advertised.host}:${advertised.port}\n`,
    );
    process.stdout.write(`kstack: data in ${options.dataDir}; Ctrl-C stops\n`);
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.stderr.write('[kstack] stopping\n');
    await metricsServer?.close();
    await broker.stop();
    process.stderr.write('[kstack] stopped\n');
    return EXIT_OK;
  },
};
