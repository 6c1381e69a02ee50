/**
 * `kstack compose-check [--env-file F] [--file docker-compose.yml] [--heap-opts OPTS]`: runs the
 * Compose stack's brokers as Apache Kafka in network namespaces and what the Compose file declares
 * against them (run.ts), then prints service by service what ran and what did not, and each check.
 * Exit 0 when no check failed, 1 when one did, 2 on bad usage or a stack Compose refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from '../common/cli-errors.ts';
import { ComposeError } from './compose-config.ts';
import { type CheckReport, composeCheck } from './run.ts';

const USAGE =
  'usage: kstack compose-check [--env-file F] [--file docker-compose.yml] [--heap-opts "-Xmx256m"] [--verbose]';

interface Arguments {
  composeFile: string;
  envFile: string | undefined;
  heapOpts: string | undefined;
  verbose: boolean;
}

function parseArguments(args: readonly string[]): Arguments | undefined {
  const parsed: Arguments = {
    composeFile: resolve('docker-compose.yml'),
    envFile: undefined,
    heapOpts: undefined,
    verbose: false,
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      const next = inline ?? args[++index];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    if (flag === '--help' || flag === '-h') return undefined;
    else if (flag === '--env-file') parsed.envFile = resolve(value());
    else if (flag === '--file' || flag === '-f') parsed.composeFile = resolve(value());
    else if (flag === '--heap-opts') parsed.heapOpts = value();
    else if (flag === '--verbose') parsed.verbose = true;
    else throw new UsageError(`unknown argument '${arg}'\n${USAGE}`);
  }
  return parsed;
}

export function formatReport(report: CheckReport): string {
  const width = Math.max(...report.services.map((entry) => entry.service.length), 8);
  const lines = ['services:'];
  for (const entry of report.services) {
    lines.push(`  ${entry.service.padEnd(width)}  ${entry.ran ? 'ran    ' : 'not run'}  ${entry.detail}`);
  }
  lines.push('checks:');
  for (const check of report.checks) {
    const mark = check.status === 'pass' ? 'PASS' : check.status === 'fail' ? 'FAIL' : 'NOT RUN';
    lines.push(`  ${mark.padEnd(7)}  ${check.name}: ${check.detail}`);
  }
  const count = (status: string) => report.checks.filter((check) => check.status === status).length;
  const notRun = report.services.filter((entry) => !entry.ran).length;
  lines.push(
    `result: ${count('pass')} passed, ${count('fail')} failed, ${count('not run')} checks not run; ${notRun} service(s) not run (never counted as passed)`,
  );
  return `${lines.join('\n')}\n`;
}

export const command: Command = {
  summary: 'run the Compose stack as Apache Kafka brokers in network namespaces and check what it declares',
  async run(args) {
    const parsed = parseArguments(args);
    if (parsed === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (process.getuid?.() !== 0) {
      process.stderr.write(
        'kstack compose-check: needs root (it creates network namespaces with `ip netns add`)\n',
      );
      return EXIT_USAGE;
    }
    const workDir = mkdtempSync(join(tmpdir(), 'kstack-compose-check-'));
    try {
      const report = await composeCheck({
        composeFile: parsed.composeFile,
        envFile: parsed.envFile,
        brokerHeapOpts: parsed.heapOpts,
        workDir,
        log: parsed.verbose ? (line) => process.stderr.write(`compose-check: ${line}\n`) : () => {},
      });
      process.stdout.write(formatReport(report));
      return report.checks.some((check) => check.status === 'fail') ? EXIT_FAILED : EXIT_OK;
    } catch (error) {
      if (error instanceof ComposeError) {
        process.stderr.write(`kstack compose-check: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  },
};
