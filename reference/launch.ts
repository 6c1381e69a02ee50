// `npm run reference -- --nodes 1|3 [--base-port P] [--data-dir D] [--override NAME=VALUE]…`: starts the reference cluster in the
// foreground, prints the bootstrap address, and stops it cleanly on Ctrl-C or SIGTERM.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaVersion, ReferenceCluster } from './cluster.ts';

const USAGE =
  'usage: npm run reference -- --nodes 1|3 [--base-port P] [--data-dir D] [--override NAME=VALUE]…';

function fail(message: string, exitCode: number): never {
  process.stderr.write(`reference: ${message}\n`);
  process.exit(exitCode);
}

function parse(argv: string[]): {
  nodes: number;
  basePort: number;
  dataDir: string;
  overrides: Record<string, string>;
} {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        nodes: { type: 'string', default: '1' },
        'base-port': { type: 'string', default: '9092' },
        'data-dir': { type: 'string' },
        override: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const nodes = Number(values.nodes);
  const basePort = Number(values['base-port']);
  if (nodes !== 1 && nodes !== 3) fail(`--nodes must be 1 or 3, got ${values.nodes}\n${USAGE}`, 2);
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65_000) {
    fail(`--base-port must be a port number from 1024 to 65000, got ${values['base-port']}`, 2);
  }
  const dataDir = path.resolve(
    typeof values['data-dir'] === 'string' ? values['data-dir'] : `.reference/${nodes}-nodes-${basePort}`,
  );
  const overrides: Record<string, string> = {};
  for (const item of (values.override as string[] | undefined) ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) fail(`--override: '${item}' is not NAME=VALUE (a Kafka broker config)`, 2);
    overrides[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return { nodes, basePort, dataDir, overrides };
}

const options = parse(process.argv.slice(2));
const cluster = new ReferenceCluster({ ...options, log: (line) => process.stderr.write(`${line}\n`) });
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`reference: ${signal}, stopping ${cluster.running().length} node(s)…\n`);
  await cluster.stop();
  process.stderr.write('reference: stopped\n');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('exit', () => cluster.killAllSync());

process.stderr.write(
  `reference: Apache Kafka ${kafkaVersion()}, ${options.nodes} node(s), data in ${options.dataDir}\n`,
);
try {
  await cluster.start();
} catch (error) {
  cluster.killAllSync();
  fail((error as Error).message, 1);
}
for (const node of cluster.nodes) {
  process.stderr.write(
    `reference: node ${node.id} broker 127.0.0.1:${node.port} controller 127.0.0.1:${node.controllerPort}\n`,
  );
}
process.stdout.write(`bootstrap: ${cluster.bootstrap}\n`);
process.stderr.write('reference: ready; Ctrl-C stops it\n');
