/**
 * The fixtures of examples/ run by their own test runners against src/testing/serve.ts (kept out
 * of the unit run: `go test` links a test binary and starts a broker).
 * The Go fixture uses franz-go at the versions the compat Go driver installs; its setup step
 * (scripts/setup/20-clients.sh) fills Go's module cache and compiles the fixture's test binary
 * with the settings below, so `go test` builds from the cache, without the network.
 * The pytest fixture (examples/python/conftest.py; test_connect.py with serve.ts --connect, a JVM) runs with pytest and confluent-kafka from the
 * venv scripts/setup/55-fixtures.sh fills (~/.cache/kstack/fixtures-venv) (13 s at load 34);
 * the JUnit 5 extension is run by fixtures-runners.slow.ts (61 s at load 34: Maven, javac and a JVM).
 * Run: node --test "test/testing/*.slow.ts"
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const CACHE = process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack');
/** Generous: the runner starts its own cluster and client on a loaded CI machine. */
const RUN_MS = 600_000;

test('the Go fixture (examples/go/kstacktest): go test passes', () => {
  const result = spawnSync('go', ['test', '-count=1', '-parallel=2', './...'], {
    cwd: join(ROOT, 'examples', 'go'),
    encoding: 'utf8',
    // The settings scripts/setup/build-env.sh and 20-clients.sh compile the fixture with, so
    // every package comes from Go's build cache (a user's `go env -w` cannot change them).
    env: {
      ...process.env,
      GOFLAGS: '-mod=readonly -trimpath -buildvcs=false',
      CGO_ENABLED: '0',
      GOTOOLCHAIN: 'local',
      ...(process.arch === 'x64' ? { GOAMD64: 'v1' } : {}),
      KSTACK_ROOT: ROOT,
    },
    timeout: 600_000,
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^ok\s+kstack\/examples\/go\/kstacktest/m);
});

test('the pytest fixture (examples/python/conftest.py): pytest passes', () => {
  const result = spawnSync(join(CACHE, 'fixtures-venv', 'bin', 'pytest'), ['-q'], {
    cwd: join(ROOT, 'examples', 'python'),
    encoding: 'utf8',
    env: { ...process.env, KSTACK_ROOT: ROOT },
    timeout: RUN_MS,
  });
  assert.equal(
    result.error,
    undefined,
    `${String(result.error)} (scripts/setup/55-fixtures.sh installs pytest)`,
  );
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^6 passed/m);
});
