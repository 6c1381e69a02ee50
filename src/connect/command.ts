/**
 * `kstack connect --bootstrap-server HOST:PORT [--port 8083] …`: Apache Kafka's Connect worker
 * (distributed mode) beside any cluster, in the foreground until Ctrl-C. Exit 0 after a clean stop,
 * 1 when it cannot start (no Java, no jars, cluster unreachable, the worker failing) or exits on its
 * own, 2 on bad usage.
 */
import { resolve } from 'node:path';
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { parseFlags, portFlag } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  CONNECT_GROUP_ID_DEFAULT,
  CONNECT_PORT_DEFAULT,
  type ConnectWorkerOptions,
  HEAP_OPTS_DEFAULT,
  startConnectWorker,
} from './worker.ts';

const HELP = `usage: kstack connect --bootstrap-server HOST:PORT [--port P] [--host H] [--group-id G]
                      [--data-dir DIR] [--plugins DIR]… [--heap-opts OPTS] [--override NAME=VALUE]…

Runs Apache Kafka's Connect worker (distributed mode, Java 17+) against the cluster, its REST API on
http://H:P (default 127.0.0.1:${CONNECT_PORT_DEFAULT}), in group G (default ${CONNECT_GROUP_ID_DEFAULT}) with the
Compose stack's internal topics (_connect-configs, _connect-offsets, _connect-status; compacted,
replication factor min(3, brokers)). Plugins: Kafka's FileStream source and sink, MirrorMaker 2's
connectors, and each --plugins folder. DIR (default .data/connect-P) holds worker.properties and
logs/server.log. --override sets any worker property last, e.g. exactly.once.source.support=enabled.
`;

export function parseConnectArgs(args: readonly string[]): ConnectWorkerOptions | 'help' {
  const parsed = parseFlags(
    args,
    {
      'bootstrap-server': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'group-id': { type: 'string' },
      'data-dir': { type: 'string' },
      plugins: { type: 'string', multiple: true },
      'heap-opts': { type: 'string' },
      override: { type: 'string', multiple: true },
    },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  const bootstrap = parseBootstrap(values['bootstrap-server'], HELP).join(',');
  const port = portFlag('--port', values.port, CONNECT_PORT_DEFAULT);
  const groupId = values['group-id'] ?? CONNECT_GROUP_ID_DEFAULT;
  if (groupId === '') throw new UsageError('--group-id: empty');
  const overrides = new Map<string, string>();
  for (const text of values.override ?? []) {
    const at = text.indexOf('=');
    if (at <= 0) throw new UsageError(`--override: '${text}' is not NAME=VALUE`);
    overrides.set(text.slice(0, at), text.slice(at + 1));
  }
  return {
    bootstrap,
    port,
    host: values.host ?? '127.0.0.1',
    groupId,
    workDir: resolve(values['data-dir'] ?? `.data/connect-${port}`),
    pluginDirs: (values.plugins ?? []).map((dir) => resolve(dir)),
    overrides,
    heapOpts: values['heap-opts'] ?? HEAP_OPTS_DEFAULT,
  };
}

export const command: Command = {
  summary: "Apache Kafka's Connect worker (distributed) beside any cluster, REST on 8083",
  async run(args) {
    const options = parseConnectArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const log = (line: string) => process.stderr.write(`[connect] ${line}\n`);
    let worker: Awaited<ReturnType<typeof startConnectWorker>>;
    try {
      worker = await startConnectWorker({ ...options, log });
    } catch (error) {
      process.stderr.write(
        `kstack connect: cannot start against ${options.bootstrap}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(
      `kstack connect: serving ${worker.url} (cluster ${options.bootstrap}, group ${options.groupId}, ready in ${worker.startToReadyMs} ms; logs in ${options.workDir}/logs)\n`,
    );
    const signalled = new Promise<'signal'>((resolveSignal) => {
      process.once('SIGINT', () => resolveSignal('signal'));
      process.once('SIGTERM', () => resolveSignal('signal'));
    });
    const outcome = await Promise.race([signalled, worker.exited]);
    if (outcome !== 'signal') {
      process.stderr.write(
        `kstack connect: the worker exited on its own (${outcome.signal ?? `code ${outcome.code}`}); see ${options.workDir}/logs/server.log\n`,
      );
      return EXIT_FAILED;
    }
    await worker.stop();
    process.stdout.write('kstack connect: stopped\n');
    return EXIT_OK;
  },
};
