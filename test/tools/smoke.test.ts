/** `kstack smoke` exit codes: 2 on bad usage, 1 when the cluster cannot be reached (0 is in test/engine/clients). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSmokeArgs } from '../../src/tools/smoke-command.ts';
import { runTool } from '../engine/run-tool.ts';

describe('kstack smoke', { timeout: 60_000 }, () => {
  it('parses its arguments', () => {
    assert.deepEqual(parseSmokeArgs(['--bootstrap-server', 'h:1']), {
      bootstrap: 'h:1',
      topic: 'events-topic',
      timeoutMs: 30_000,
    });
    assert.throws(() => parseSmokeArgs([]), /--bootstrap-server HOST:PORT is required/);
    assert.throws(() => parseSmokeArgs(['--bootstrap-server', 'nohostport']), /is not HOST:PORT/);
    assert.throws(() => parseSmokeArgs(['--bootstrap-server', 'h:1', '--bogus']), /Unknown option/);
  });

  it('exits 2 on bad usage', async () => {
    const result = await runTool(process.execPath, ['bin/kstack.ts', 'smoke']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--bootstrap-server/);
  });

  it('exits 1, naming the failed step, when nothing listens', async () => {
    const result = await runTool(process.execPath, [
      'bin/kstack.ts',
      'smoke',
      '--bootstrap-server',
      '127.0.0.1:19699',
      '--timeout-ms',
      '2000',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /AC-MSG-001 failed against 127.0.0.1:19699: list topics/);
  });
});
