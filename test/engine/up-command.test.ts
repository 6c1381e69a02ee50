import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { parseUpArgs } from '../../src/engine/up-command.ts';

describe('kstack up arguments', () => {
  it('takes the port from the env file, overridden by --port', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstack-env-'));
    try {
      const env = join(dir, 'stack.env');
      writeFileSync(env, '# comment\nKAFKA_1_EXTERNAL_PORT=19111\nOTHER="x"\n');
      const fromEnv = parseUpArgs(['--env-file', env]);
      assert.ok(fromEnv !== 'help');
      assert.equal(fromEnv.port, 19111);
      const overridden = parseUpArgs(['--env-file', env, '--port', '19112']);
      assert.ok(overridden !== 'help');
      assert.equal(overridden.port, 19112);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with a message naming the flag', () => {
    assert.throws(
      () => parseUpArgs(['--port', 'x']),
      (e: unknown) => e instanceof UsageError && /--port/.test(e.message),
    );
    assert.throws(() => parseUpArgs(['--brokers', '3']), /one broker until the cluster lands/);
    assert.throws(() => parseUpArgs(['--env-file', '/nonexistent/file']), /cannot read env file/);
    assert.throws(() => parseUpArgs(['--nope']), UsageError);
  });
});
