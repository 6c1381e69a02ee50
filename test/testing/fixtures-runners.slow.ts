/**
 * The examples that take too long for the slow run, each with its real runner:
 * - the JUnit 5 extension of examples/junit (KstackExtension, a cluster per test class through
 *   src/testing/serve.ts, reset after each test) by Maven with Apache Kafka's Java client, offline
 *   (-o) from the ~/.m2 scripts/setup/55-fixtures.sh fills from Maven Central: 61 s at load 34
 *   (Maven's start, javac, surefire's JVM, then a cluster and five tests);
 * - the Vitest example of the Node API (examples/vitest, vitest from the project's
 *   devDependencies): 61 s at load 30, most of it Vite transforming src/ (53%);
 * - the Jest example of the Node API (examples/jest, jest from the devDependencies, ESM through
 *   --experimental-vm-modules, .ts through Node's own type stripping): 10 s at load 8.
 * Issue 20 asks for the fixtures tested in CI with their runners, so this runs in `npm run
 * test:slow` though it takes longer than the other slow files (beside one of them, two at a time).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
/** Generous: Maven, javac, a JVM (or Vite's transform) and a cluster on a loaded CI machine. */
const RUN_MS = 600_000;

test('the JUnit 5 extension (examples/junit): mvn test passes', () => {
  const result = spawnSync(
    'mvn',
    [
      '-o',
      '-q',
      '-B',
      '-Dstyle.color=never',
      `-Dmaven.repo.local=${join(homedir(), '.m2', 'repository')}`,
      'test',
    ],
    {
      cwd: join(ROOT, 'examples', 'junit'),
      encoding: 'utf8',
      env: { ...process.env, KSTACK_ROOT: ROOT },
      timeout: RUN_MS,
    },
  );
  try {
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const report = readFileSync(
      join(ROOT, 'examples', 'junit', 'target', 'surefire-reports', 'kstack.junit.KstackExtensionTest.txt'),
      'utf8',
    );
    assert.match(report, /Tests run: 5, Failures: 0, Errors: 0, Skipped: 0/);
    const connect = readFileSync(
      join(ROOT, 'examples', 'junit', 'target', 'surefire-reports', 'kstack.junit.KstackConnectTest.txt'),
      'utf8',
    );
    assert.match(connect, /Tests run: 1, Failures: 0, Errors: 0, Skipped: 0/);
  } finally {
    rmSync(join(ROOT, 'examples', 'junit', 'target'), { recursive: true, force: true });
  }
});

test('the Vitest example (examples/vitest): vitest run passes', () => {
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'vitest'),
    ['run', '--root', 'examples/vitest'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', CI: '1' },
      timeout: RUN_MS,
    },
  );
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /Tests\s+4 passed \(4\)/);
});

test('the Jest example (examples/jest): jest passes', () => {
  const result = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'jest'),
    ['--config', 'examples/jest/jest.config.js', '--ci'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', NO_COLOR: '1', CI: '1' },
      timeout: RUN_MS,
    },
  );
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  // Jest writes its summary to stderr.
  assert.match(result.stderr, /Tests:\s+4 passed, 4 total/);
});
