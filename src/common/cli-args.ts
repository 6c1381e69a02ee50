/**
 * The flag contract every kstack command shares: node:util's parseArgs, strict (an unknown flag
 * is an error), `--help`/`-h` on every command, and a bad flag reported as a UsageError followed
 * by the command's help text (exit 2). Plus the port check most commands need.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-errors.ts';

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

type FlagConfig<T extends ParseArgsOptionsConfig, P extends boolean> = {
  args: string[];
  options: T & typeof HELP_OPTION;
  strict: true;
  allowPositionals: P;
};

/** What parseArgs gives for these options: `values` typed per option, and `positionals`. */
export type ParsedFlags<T extends ParseArgsOptionsConfig, P extends boolean = false> = ReturnType<
  typeof parseArgs<FlagConfig<T, P>>
>;

/**
 * Parses `args` against `options` (with `--help` added). Answers 'help' when `--help` is given;
 * throws a UsageError naming the bad flag, then `help`, when parseArgs refuses them.
 */
export function parseFlags<const T extends ParseArgsOptionsConfig, const P extends boolean = false>(
  args: readonly string[],
  options: T,
  help: string,
  allowPositionals?: P,
): ParsedFlags<T, P> | 'help' {
  let parsed: ParsedFlags<T, P>;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, ...HELP_OPTION },
      strict: true,
      allowPositionals: (allowPositionals ?? false) as P,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  return (parsed.values as { help?: boolean }).help === true ? 'help' : parsed;
}

/** A TCP port flag (`--port`): `fallback` when absent; 0 only when `allowZero` (an ephemeral port). */
export function portFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  { allowZero = false }: { allowZero?: boolean } = {},
): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  const low = allowZero ? 0 : 1;
  if (!Number.isInteger(port) || port < low || port > 65535) {
    throw new UsageError(`${flag}: '${text}' is not a port number (${low}-65535)`);
  }
  return port;
}
