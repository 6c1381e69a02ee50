/**
 * `kstack schema-registry --bootstrap-server HOST:PORT [--port P] [--host H] [--topic T]`: Confluent's
 * Schema Registry API in front of any Kafka cluster, until Ctrl-C. Exit 0 after a clean stop,
 * 1 when it cannot start (cluster unreachable, port taken), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { SCHEMA_REGISTRY_PORT_DEFAULT, type SchemaRegistryOptions, startSchemaRegistry } from './server.ts';

const HELP = `usage: kstack schema-registry --bootstrap-server HOST:PORT [--port P] [--host H] [--topic T]

Serves Confluent's Schema Registry REST API on http://H:P (default 127.0.0.1:${SCHEMA_REGISTRY_PORT_DEFAULT}),
storing schemas in the compacted topic T (default _schemas) of the cluster.
`;

export function parseRegistryArgs(args: readonly string[]): SchemaRegistryOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        'bootstrap-server': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        topic: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP}`);
  }
  if (values.help === true) return 'help';
  const bootstrap = parseBootstrap(values['bootstrap-server'] as string | undefined, HELP).join(',');
  const portText = values.port;
  const port = portText === undefined ? SCHEMA_REGISTRY_PORT_DEFAULT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port: '${portText}' is not a port number (0-65535)`);
  }
  const topic = typeof values.topic === 'string' ? values.topic : undefined;
  if (topic !== undefined && !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    throw new UsageError(`--topic: '${topic}' is not a legal Kafka topic name`);
  }
  return { bootstrap, port, host: typeof values.host === 'string' ? values.host : '127.0.0.1', topic };
}

export const command: Command = {
  summary: "Confluent's Schema Registry API, stored in the _schemas topic of any cluster",
  async run(args) {
    const options = parseRegistryArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    let running: Awaited<ReturnType<typeof startSchemaRegistry>>;
    try {
      running = await startSchemaRegistry(options);
    } catch (error) {
      process.stderr.write(
        `kstack schema-registry: cannot start against ${options.bootstrap}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(`kstack schema-registry: serving ${running.url} (cluster ${options.bootstrap})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.close();
    process.stdout.write('kstack schema-registry: stopped\n');
    return EXIT_OK;
  },
};
