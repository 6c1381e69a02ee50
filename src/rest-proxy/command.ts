/**
 * `kstack rest-proxy --bootstrap-server HOST:PORT [--schema-registry URL] [--port P]`: Confluent's
 * REST proxy API (v2 and v3) over any Kafka cluster, in the foreground until Ctrl-C.
 */
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { CONSUMER_INSTANCE_TIMEOUT_MS_DEFAULT } from './consumers.ts';
import { REST_PROXY_PORT_DEFAULT, startRestProxy } from './server.ts';

const HELP = `usage: kstack rest-proxy --bootstrap-server HOST:PORT [--schema-registry URL] [--port P]
                          [--consumer-instance-timeout-ms MS]

Serves Confluent's REST proxy API (v2, v3) for the cluster on 127.0.0.1:P
(default ${REST_PROXY_PORT_DEFAULT}, KAFKA_REST_PROXY_PORT). Ctrl-C stops it.
`;

export interface RestProxyArgs {
  readonly bootstrap: string;
  readonly schemaRegistryUrl: string | undefined;
  readonly port: number;
  readonly instanceTimeoutMs: number;
}

function wholeNumber(flag: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > max)
    throw new UsageError(`${flag}: '${raw}' is not a whole number from 0 to ${max}`);
  return n;
}

export function parseRestProxyArgs(args: readonly string[]): RestProxyArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        'bootstrap-server': { type: 'string' },
        'schema-registry': { type: 'string' },
        port: { type: 'string' },
        'consumer-instance-timeout-ms': { type: 'string' },
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
  const registry = values['schema-registry'];
  if (typeof registry === 'string' && !/^https?:\/\/[^\s/]+/.test(registry)) {
    throw new UsageError(`--schema-registry: '${registry}' is not an http(s) URL`);
  }
  return {
    bootstrap,
    schemaRegistryUrl: typeof registry === 'string' ? registry : undefined,
    port: wholeNumber('--port', values.port as string | undefined, REST_PROXY_PORT_DEFAULT, 65_535),
    instanceTimeoutMs: wholeNumber(
      '--consumer-instance-timeout-ms',
      values['consumer-instance-timeout-ms'] as string | undefined,
      CONSUMER_INSTANCE_TIMEOUT_MS_DEFAULT,
      2_147_483_647,
    ),
  };
}

export const command: Command = {
  summary: "Confluent's REST proxy API (v2, v3) over a Kafka cluster",
  async run(args) {
    const options = parseRestProxyArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    let proxy: { url: string; close(): Promise<void> };
    try {
      proxy = await startRestProxy({
        bootstrap: options.bootstrap,
        schemaRegistryUrl: options.schemaRegistryUrl,
        port: options.port,
        instanceTimeoutMs: options.instanceTimeoutMs,
      });
    } catch (error) {
      process.stderr.write(
        `kstack rest-proxy: cannot listen on port ${options.port}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(`kstack rest-proxy: ${proxy.url} (Kafka ${options.bootstrap})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await proxy.close();
    return EXIT_OK;
  },
};
