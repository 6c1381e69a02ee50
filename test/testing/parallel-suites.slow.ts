/**
 * Issue 20's four suites at once, through Node's own test runner (`node --test --test-concurrency=4`,
 * each file a process of its own: four one-line files in a temporary folder, each importing
 * test/testing/fixtures/parallel-suite.ts), each with its own cluster: all four clusters are up at
 * the same time (each suite waits at a rendezvous until the others have written their address), on
 * distinct free ports, the same topic name in each holding only its own records, reset between its
 * tests; every test passes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const SUITES = 4;
const FIXTURES = join(import.meta.dirname, 'fixtures');
/** Generous: four clusters start together on a loaded CI machine. */
const RUN_MS = 300_000;

test(`${SUITES} suites through node --test --test-concurrency=${SUITES}, each with its own cluster, up at once without clashing`, {
  timeout: RUN_MS + 10_000,
}, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'kstack-parallel-suites-'));
  const rendezvous = join(folder, 'rendezvous');
  mkdirSync(rendezvous);
  // The runner runs a file once: one file per suite, each the shared suite.
  const suiteFiles = Array.from({ length: SUITES }, (_, i) => {
    const file = join(folder, `suite-${i + 1}.test.ts`);
    writeFileSync(file, `import ${JSON.stringify(join(FIXTURES, 'parallel-suite.ts'))};\n`);
    return file;
  });
  try {
    const startedMs = performance.now();
    const child = spawn(
      process.execPath,
      ['--test', `--test-concurrency=${SUITES}`, '--test-reporter=spec', ...suiteFiles],
      {
        // Without this runner's NODE_TEST_CONTEXT: the child runner reports on its own stdout.
        env: {
          ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
          KSTACK_RENDEZVOUS: rendezvous,
          KSTACK_SUITES: String(SUITES),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    clearTimeout(timer);
    const wallMs = performance.now() - startedMs;
    assert.equal(code, 0, `the runner failed:\n${output}`);
    assert.match(output, new RegExp(`pass ${2 * SUITES}\\b`), `every suite ran both its tests:\n${output}`);
    const addresses = readdirSync(rendezvous).map((suite) => readFileSync(join(rendezvous, suite), 'utf8'));
    assert.equal(addresses.length, SUITES, `every suite reached the rendezvous: ${addresses.join(', ')}`);
    assert.equal(new Set(addresses).size, SUITES, `distinct bootstrap addresses: ${addresses.join(', ')}`);
    console.log(`${SUITES} suites passed together in ${Math.round(wallMs)} ms: ${addresses.join(', ')}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
