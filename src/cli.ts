/**
 * The `kstack` command line: one table of commands, each loaded lazily so that a
 * command's dependencies (a broker, an HTTP server, a YAML parser) are only paid for
 * when that command runs. Exit codes are fixed by the product contract:
 * 0 success, 1 a check or operation failed, 2 bad usage or input.
 */
import { EXIT_USAGE, UsageError } from './common/cli-errors.ts';

export interface Command {
  /** One line for `kstack --help`. */
  readonly summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>;
}

type CommandLoader = () => Promise<Command>;

/**
 * Each entry points at the module that owns the command. A command is added by adding
 * one line here and one module exporting `command`.
 */
const COMMANDS: Record<string, CommandLoader> = {
  validate: async () => (await import('./validate/command.ts')).command,
  up: async () => (await import('./engine/up-command.ts')).command,
  smoke: async () => (await import('./tools/smoke-command.ts')).command,
  bench: async () => (await import('./bench/command.ts')).command,
  exporter: async () => (await import('./exporter/command.ts')).command,
  'schema-registry': async () => (await import('./registry/command.ts')).command,
  'rest-proxy': async () => (await import('./rest-proxy/command.ts')).command,
  'compose-check': async () => (await import('./compose-check/command.ts')).command,
  topics: async () => (await import('./tools/topics-command.ts')).command,
  status: async () => (await import('./tools/status-command.ts')).command,
  snapshot: async () => (await import('./testing/snapshot-command.ts')).command,
  ui: async () => (await import('./ui/command.ts')).command,
  connect: async () => (await import('./connect/command.ts')).command,
  controller: async () => (await import('./controller/command.ts')).command,
  node: async () => (await import('./engine/cluster.ts')).nodeCommand,
  fault: async () => (await import('./engine/fault-command.ts')).command,
  certs: async () => (await import('./security/certs-command.ts')).command,
};

function usage(): string {
  return [
    'usage: kstack <command> [options]',
    '',
    'commands:',
    ...Object.keys(COMMANDS).map((name) => `  ${name}`),
    '',
    'Run `kstack <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`kstack: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  try {
    const command = await load();
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`kstack ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
