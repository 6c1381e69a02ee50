/**
 * `kstack ui --bootstrap-server HOST:PORT [--port P] [--schema-registry-url URL] [--connect-url URL]
 * [--read-only] [--host H]`: the web UI over any Kafka cluster, in the foreground until Ctrl-C.
 */
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { parseFlags, portFlag } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { builtAssets } from './assets.ts';
import { startUi, UI_PORT_DEFAULT } from './server.ts';

const HELP = `usage: kstack ui --bootstrap-server HOST:PORT [--port P] [--host H]
                  [--schema-registry-url URL] [--connect-url URL] [--fault-control-url URL]
                  [--read-only]

Serves the web UI for the cluster on http://127.0.0.1:P (default ${UI_PORT_DEFAULT}, KAFKA_UI_PORT):
brokers, topics (create, delete, add partitions), messages, consumer groups (lag, offset reset)
and, with --schema-registry-url, schemas (and values decoded through the registry).
  --connect-url URL         a Kafka Connect worker's REST API (its Connect pages: connectors and
                their tasks, plugins, create from JSON, pause, resume, stop, restart, delete,
                offsets)
  --fault-control-url URL   the fault control of a \`kstack up --brokers N\` cluster (its Faults
                page: kill, pause, isolate, slow a broker and watch the failover)
  --read-only   refuse every change (only look)
  --host H      the address to bind (default 127.0.0.1; only this name and the loopback names
                are accepted in the Host header)
Ctrl-C stops it.
`;

export interface UiArgs {
  readonly bootstrap: string;
  readonly port: number;
  readonly host: string;
  readonly schemaRegistryUrl: string | undefined;
  readonly connectUrl: string | undefined;
  readonly faultControlUrl: string | undefined;
  readonly readOnly: boolean;
}

function httpUrl(flag: string, value: string | boolean | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(value)) throw new UsageError(`${flag}: '${value}' is not an http(s) URL`);
  return value;
}

export function parseUiArgs(args: readonly string[]): UiArgs | 'help' {
  const parsed = parseFlags(
    args,
    {
      'bootstrap-server': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'schema-registry-url': { type: 'string' },
      'connect-url': { type: 'string' },
      'fault-control-url': { type: 'string' },
      'read-only': { type: 'boolean' },
    },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  return {
    bootstrap: parseBootstrap(values['bootstrap-server'], HELP).join(','),
    port: portFlag('--port', values.port, UI_PORT_DEFAULT, { allowZero: true }),
    host: values.host ?? '127.0.0.1',
    schemaRegistryUrl: httpUrl('--schema-registry-url', values['schema-registry-url']),
    connectUrl: httpUrl('--connect-url', values['connect-url']),
    faultControlUrl: httpUrl('--fault-control-url', values['fault-control-url']),
    readOnly: values['read-only'] === true,
  };
}

export const command: Command = {
  summary: 'the web UI (topics, messages, consumer groups, schemas) over a Kafka cluster',
  async run(args) {
    const options = parseUiArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const assetsDir = await builtAssets((line) => process.stderr.write(`kstack ui: ${line}\n`));
    let ui: { url: string; close(): Promise<void> };
    try {
      ui = await startUi({
        bootstrap: options.bootstrap,
        port: options.port,
        host: options.host,
        schemaRegistryUrl: options.schemaRegistryUrl,
        connectUrl: options.connectUrl,
        faultControlUrl: options.faultControlUrl,
        readOnly: options.readOnly,
        assetsDir,
      });
    } catch (error) {
      process.stderr.write(
        `kstack ui: cannot listen on ${options.host}:${options.port}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(
      `kstack ui: ${ui.url} (Kafka ${options.bootstrap}${options.readOnly ? ', read-only' : ''})\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await ui.close();
    return EXIT_OK;
  },
};
