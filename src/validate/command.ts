/**
 * `kstack validate [--file F] [--env-file F] [--format text|json]`: checks the Compose
 * stack against the spec without Docker. Exit 0 when every rule holds, 1 when a rule
 * fails, 2 for bad usage or unusable input.
 */
import type { Command } from '../cli.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '../common/cli-errors.ts';
import { InputError } from './errors.ts';
import { formatInputErrorJson, formatJson, formatText } from './report.ts';
import { validateStack } from './validate.ts';

const HELP = `usage: kstack validate [--file F] [--env-file F] [--format text|json]

Checks the Docker Compose stack against specs/infra/messaging/spec.md without Docker.
  --file F       root Compose file (default: docker-compose.yml)
  --env-file F   env file for interpolation (default: .env, else .env.example)
  --format FMT   text (default) or json
Exit status: 0 every rule holds, 1 a rule fails, 2 bad usage or unusable input.
`;

interface Options {
  readonly file: string;
  readonly envFile: string | undefined;
  readonly format: 'text' | 'json';
  readonly help: boolean;
}

export function parseOptions(args: readonly string[]): Options {
  const parsed = parseFlags(
    args,
    {
      file: { type: 'string', short: 'f' },
      'env-file': { type: 'string' },
      format: { type: 'string' },
    },
    HELP,
  );
  if (parsed === 'help')
    return { file: 'docker-compose.yml', envFile: undefined, format: 'text', help: true };
  const { values } = parsed;
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--format must be text or json, not '${String(format)}'`);
  }
  return { file: values.file ?? 'docker-compose.yml', envFile: values['env-file'], format, help: false };
}

export async function runValidate(args: readonly string[]): Promise<number> {
  const options = parseOptions(args);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  try {
    const report = validateStack(
      options.envFile === undefined
        ? { file: options.file }
        : { file: options.file, envFile: options.envFile },
    );
    process.stdout.write(options.format === 'json' ? formatJson(report) : formatText(report));
    return report.ok ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    if (options.format === 'json') process.stdout.write(formatInputErrorJson(error));
    process.stderr.write(`kstack validate: ${error.message}\n`);
    return EXIT_USAGE;
  }
}

export const command: Command = {
  summary: 'check the Docker Compose stack against the spec, without Docker',
  run: runValidate,
};
