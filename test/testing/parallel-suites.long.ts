/**
 * Four test suites at once, each a `node --test` process with its own cluster
 * (test/testing/fixtures/parallel-suite.ts): every one passes, on ports of its own, its topic
 * (the same name in all four) holding only its own records, reset between its tests. Not in the
 * unit run: four processes each loading kstack and kafkajs on a loaded 2-core machine; 41 s at
 * load 40 (beside a Maven build), over the 40 s a slow test may add: by hand,
 * node --test test/testing/parallel-suites.long.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const SUITES = 4;
const SUITE_FILE = join(import.meta.dirname, 'fixtures', 'parallel-suite.ts');
/** Generous: four clusters start together on a loaded CI machine. */
const RUN_MS = 300_000;

interface SuiteRun {
  readonly suite: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runSuite(suite: string): Promise<SuiteRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', SUITE_FILE], {
      // Without the runner's NODE_TEST_CONTEXT: the child reports on its own stdout, as a suite run by hand.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
        KSTACK_SUITE: suite,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ suite, code, stdout, stderr });
    });
  });
}

test('four suites, each with its own cluster, run at once without clashing', {
  timeout: RUN_MS + 10_000,
}, async () => {
  const startedMs = performance.now();
  const runs = await Promise.all(Array.from({ length: SUITES }, (_, i) => runSuite(`suite-${i + 1}`)));
  const wallMs = performance.now() - startedMs;
  for (const run of runs) {
    assert.equal(run.code, 0, `${run.suite} failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /pass 2/, `${run.suite} ran both tests`);
  }
  const addresses = runs.map((run) => /bootstrap (\S+)/.exec(run.stdout)?.[1]);
  assert.equal(new Set(addresses).size, SUITES, `four distinct bootstrap addresses: ${addresses.join(', ')}`);
  console.log(`${SUITES} suites passed together in ${Math.round(wallMs)} ms: ${addresses.join(', ')}`);
});
