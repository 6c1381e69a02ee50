/**
 * `kstack exporter --bootstrap-server HOST:PORT [--port P] [--host H]`: serves kafka_exporter's
 * metrics for any cluster until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { EXPORTER_PORT_DEFAULT, startExporter } from './exporter.ts';

const HELP = `usage: kstack exporter --bootstrap-server HOST:PORT[,HOST:PORT…] [--port P] [--host H]

Serves Prometheus metrics with kafka_exporter's names (kafka_brokers, kafka_topic_partition_*,
kafka_consumergroup_*) on http://H:P/metrics, asking the cluster on each scrape. Ctrl-C stops it.
  --bootstrap-server  the cluster (any Kafka: kstack up, the Docker stack, Apache Kafka)
  --port P            default ${EXPORTER_PORT_DEFAULT} (KAFKA_EXPORTER_PORT of .env.example)
  --host H            the address to bind (default 127.0.0.1)
`;

function parse(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      options: {
        'bootstrap-server': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
}

export const command: Command = {
  summary: "serve kafka_exporter's Prometheus metrics for any cluster",
  async run(args) {
    const values = parse(args);
    if (values.help === true) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const bootstrap = values['bootstrap-server'];
    if (bootstrap === undefined || !/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/.test(bootstrap)) {
      throw new UsageError(
        `--bootstrap-server: ${bootstrap === undefined ? 'missing' : `'${bootstrap}' is not HOST:PORT[,HOST:PORT…]`}\n\n${HELP}`,
      );
    }
    const port = Number(values.port ?? EXPORTER_PORT_DEFAULT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port: '${values.port}' is not a port number (0-65535)`);
    }
    const host = values.host ?? '127.0.0.1';
    let running: Awaited<ReturnType<typeof startExporter>>;
    try {
      running = await startExporter({ bootstrap, host, port });
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
