/**
 * `kstack bench --brokers 3` refuses what it cannot run with a usage error (exit 2) naming the
 * flag, before starting anything (the comparison itself is a benchmark, run by hand: it starts
 * six node processes and takes minutes). In-process; binds no port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { command } from '../../src/bench/command.ts';
import { UsageError } from '../../src/common/cli-errors.ts';

test('kstack bench --brokers: bad usage is a UsageError naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--compare', '--brokers', '2'], /--brokers must be 1 or 3, got '2'/],
    [['--bootstrap-server', '127.0.0.1:19399', '--brokers', '3'], /--brokers 3 goes with --compare/],
    [
      ['--compare', '--brokers', '3', '--session-timeout-ms', '1000', '--heartbeat-interval-ms', '1000'],
      /--heartbeat-interval-ms must be below --session-timeout-ms/,
    ],
    [
      ['--compare', '--brokers', '3', '--session-timeout-ms', 'soon'],
      /--session-timeout-ms must be a positive integer/,
    ],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(command.run(args), (error: Error) => {
      assert.ok(error instanceof UsageError, `kstack bench ${args.join(' ')}: ${error.message}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

test('kstack bench --help lists --brokers and the failover settings', async () => {
  const written: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.equal(await command.run(['--help']), 0);
  } finally {
    process.stdout.write = write;
  }
  for (const flag of ['--brokers 1|3', '--session-timeout-ms', '--heartbeat-interval-ms']) {
    assert.ok(written.join('').includes(flag), `--help mentions ${flag}`);
  }
});
