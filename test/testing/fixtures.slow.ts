/**
 * The fixtures of examples/ run by their own test runners against src/testing/serve.ts (kept out
 * of the unit run: the first `go test` compiles franz-go, tens of seconds on a loaded machine).
 * The Go fixture uses franz-go at the versions the compat Go driver installs (its setup step
 * fills Go's module cache), so it builds without the network.
 * Run: node --test "test/testing/*.slow.ts"
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

test('the Go fixture (examples/go/kstacktest): go test passes', () => {
  const result = spawnSync('go', ['test', '-count=1', './...'], {
    cwd: join(ROOT, 'examples', 'go'),
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod', KSTACK_ROOT: ROOT },
    timeout: 600_000,
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^ok\s+kstack\/examples\/go\/kstacktest/m);
});
