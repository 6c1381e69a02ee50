// The test runner's watchdog (test/watchdog.ts, preloaded by every test script of package.json):
// real `node --test` runs of two fixture files. One passes but leaves a server, a client socket and a
// child process open: the watchdog must fail it once its grace is over, naming the file, the
// server's port and the child's pid, and kill that child. The other closes what it opens: it must
// pass, untouched. Binds only free ports (0).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** The leaky fixture's grace: short, as nothing it opened will ever close. */
const SHORT_GRACE_MS = 1_000;
/** The clean fixture's grace: long, so a loaded machine's slow exit is never mistaken for a leak. */
const LONG_GRACE_MS = 60_000;
/** A bound on each run (node --test, the fixture's child), far above what it takes (2-4 s). */
const RUN_TIMEOUT_MS = 90_000;

function runUnderWatchdog(
  fixture: string,
  graceMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', './test/watchdog.ts', '--test', `test/watchdog/${fixture}`],
      {
        cwd: ROOT,
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, KSTACK_TEST_WATCHDOG_GRACE_MS: String(graceMs) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node --test ${fixture} still running after ${RUN_TIMEOUT_MS} ms:\n${output}`));
    }, RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes in a container). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('a file that passes but leaves things open fails, naming the file and what is open; its child is killed', async () => {
  const { code, output } = await runUnderWatchdog('leaves-open.fixture.ts', SHORT_GRACE_MS);
  const childPid = Number(/fixture child pid (\d+)/.exec(output)?.[1]);
  const port = Number(/fixture server port (\d+)/.exec(output)?.[1]);
  assert.ok(childPid > 0 && port > 0, `the fixture did not run:\n${output}`);
  assert.notEqual(code, 0, `the run passed:\n${output}`);
  assert.match(
    output,
    /\[test watchdog\] test\/watchdog\/leaves-open\.fixture\.ts: every test finished 1 s ago but the process is still alive/,
  );
  assert.match(output, new RegExp(`Server listening on .*"port":${port}`), output);
  assert.match(output, new RegExp(`Socket 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port}`), output);
  assert.match(output, new RegExp(`ChildProcess pid ${childPid}: `), output);
  assert.match(output, /✔ passes, and forgets what it opened/, 'the fixture test itself passed');
  assert.ok(!running(childPid), `the fixture's child ${childPid} outlived it`);
});

test('a file that closes what it opens passes, untouched by the watchdog', async () => {
  const { code, output } = await runUnderWatchdog('closes.fixture.ts', LONG_GRACE_MS);
  assert.equal(code, 0, output);
  assert.doesNotMatch(output, /test watchdog/);
  assert.match(output, /ℹ pass 1/);
});
