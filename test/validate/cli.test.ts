/** `kstack validate` as a user runs it: separate processes, exit codes, text and JSON output. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { copyStack, KAFKA_FILE, REPO_ROOT } from './stack-copy.ts';

function kstack(args: readonly string[], cwd = REPO_ROOT) {
  const result = spawnSync(process.execPath, [`${REPO_ROOT}bin/kstack.ts`, 'validate', ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('kstack validate (process)', () => {
  it('exits 0 on the real stack and prints one line per rule and a summary', () => {
    const run = kstack(['--env-file', '.env.example']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.match(/^PASS {2}RULE-MSG-\d{3} {2}/gm)?.length, 15);
    assert.match(run.stdout, /^15 rules: 15 passed, 0 failed$/m);
  });

  it('exits 1 naming the rule, file and line; --format json gives the same as data', () => {
    const copy = copyStack([
      { file: KAFKA_FILE, from: 'KAFKA_MIN_INSYNC_REPLICAS: 2', to: 'KAFKA_MIN_INSYNC_REPLICA: 2' },
    ]);
    try {
      const text = kstack(['--env-file', '.env.example'], copy.dir);
      assert.equal(text.status, 1);
      assert.match(
        text.stdout,
        /^FAIL {2}RULE-MSG-008 {2}infra\/05-messaging\/kafka\/docker-compose\.yml:\d+ {2}.*did you mean KAFKA_MIN_INSYNC_REPLICAS\?$/m,
      );
      const json = kstack(['--format', 'json'], copy.dir);
      assert.equal(json.status, 1);
      const report = JSON.parse(json.stdout) as { ok: boolean; rules: { id: string; passed: boolean }[] };
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.rules.filter((rule) => !rule.passed).map((rule) => rule.id),
        ['RULE-MSG-007', 'RULE-MSG-008'],
      );
    } finally {
      copy.remove();
    }
  });

  it('exits 2 on unusable input with file and line and no stack trace', () => {
    const copy = copyStack([
      { file: KAFKA_FILE, from: '    container_name: kafka-ui\n', to: '    container_nam: kafka-ui\n' },
    ]);
    try {
      const run = kstack([], copy.dir);
      assert.equal(run.status, 2);
      assert.match(run.stderr, /^kstack validate: infra\/05-messaging\/kafka\/docker-compose\.yml:\d+: /);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
      const json = kstack(['--format', 'json'], copy.dir);
      assert.equal(json.status, 2);
      assert.equal((JSON.parse(json.stdout) as { error: { file: string } }).error.file, KAFKA_FILE);
    } finally {
      copy.remove();
    }
  });

  it('exits 2 on bad usage', () => {
    const run = kstack(['--format', 'xml']);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--format must be text or json/);
  });
});
