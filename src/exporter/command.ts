/**
 * `kstack exporter --bootstrap-server HOST:PORT [--port P] [--host H] [--log-level L] [--log-format F]`: serves kafka_exporter's
 * metrics for any cluster until Ctrl-C.
 */
import type { Command } from '../cli.ts';
import { parseFlags, portFlag } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  createLogger,
  LOG_LEVEL_DEFAULT,
  type LogFormat,
  type LogLevel,
  parseLogLevel,
} from '../common/log.ts';
import { EXPORTER_PORT_DEFAULT } from './defaults.ts';

const HELP = `usage: kstack exporter --bootstrap-server HOST:PORT[,HOST:PORT…] [--port P] [--host H]
                      [--log-level L] [--log-format F]

Serves Prometheus metrics with kafka_exporter's names (kafka_brokers, kafka_topic_partition_*,
kafka_consumergroup_*) on http://H:P/metrics, asking the cluster on each scrape. Ctrl-C stops it.
  --bootstrap-server  the cluster (any Kafka: kstack up, the Docker stack, Apache Kafka)
  --port P            default ${EXPORTER_PORT_DEFAULT} (KAFKA_EXPORTER_PORT of .env.example)
  --host H            the address to bind (default 127.0.0.1)
  --log-level L       debug, info (default), warn or error: the log on stderr (the cluster
                      becoming unreachable or reachable again)
  --log-format F      json (JSON lines), pretty, or auto (default: pretty on a terminal, else json)
`;

const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'auto'];

export const command: Command = {
  summary: "serve kafka_exporter's Prometheus metrics for any cluster",
  async run(args) {
    const parsed = parseFlags(
      args,
      {
        'bootstrap-server': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
      },
      HELP,
    );
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const { values } = parsed;
    const bootstrap = values['bootstrap-server'];
    if (bootstrap === undefined || !/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/.test(bootstrap)) {
      throw new UsageError(
        `--bootstrap-server: ${bootstrap === undefined ? 'missing' : `'${bootstrap}' is not HOST:PORT[,HOST:PORT…]`}\n\n${HELP}`,
      );
    }
    const port = portFlag('--port', values.port, EXPORTER_PORT_DEFAULT, { allowZero: true });
    const host = values.host ?? '127.0.0.1';
    let level: LogLevel;
    try {
      level = parseLogLevel(values['log-level'] ?? LOG_LEVEL_DEFAULT);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const format = (values['log-format'] ?? 'auto') as LogFormat;
    if (!LOG_FORMATS.includes(format)) {
      throw new UsageError(
        `--log-format: '${format}' is not a log format (one of ${LOG_FORMATS.join(', ')})`,
      );
    }
    const log = createLogger({ component: 'exporter', level, format });
    // Loaded once the flags are good: a usage error exits without the Kafka client and fastify.
    const { startExporter } = await import('./exporter.ts');
    let running: Awaited<ReturnType<typeof startExporter>>;
    try {
      running = await startExporter({ bootstrap, host, port, log });
    } catch (error) {
      process.stderr.write(`kstack exporter: cannot serve on ${host}:${port}: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    }
    process.stdout.write(`kstack exporter: ${bootstrap} on ${running.url}\n`);
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await running.close();
    return EXIT_OK;
  },
};
