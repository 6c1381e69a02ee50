/**
 * src/engine/process.ts: `kstack up` as a real child process: readiness by Metadata, the output tail,
 * a clean stop (exit code 0), a crash stop, and the errors when it cannot serve.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { probeMetadata } from '../../reference/probe.ts';
import { KstackProcess } from '../../src/engine/process.ts';

// Ports from this engineer's development range (19300-19399).
const PORT = 19392;
const BUSY_PORT = 19393;
const SILENT_PORT = 19394;

function dataDir(): string {
  return mkdtempSync(join(tmpdir(), 'kstack-process-test-'));
}

describe('KstackProcess', { timeout: 120_000 }, () => {
  it('starts, answers Metadata when ready, keeps its output, and stops cleanly with SIGTERM', async () => {
    const dir = dataDir();
    try {
      const broker = await KstackProcess.start({
        args: ['--port', String(PORT), '--data-dir', dir],
        ports: [PORT],
      });
      assert.ok(broker.pid !== undefined && broker.pid > 0);
      assert.equal(broker.exit, null);
      assert.deepEqual(await probeMetadata('127.0.0.1', PORT, 2000), [1]);
      assert.match(broker.output, new RegExp(`bootstrap servers: 127\\.0\\.0\\.1:${PORT}`));
      assert.deepEqual(await broker.stop(), { code: 0, signal: null });
      assert.match(broker.output, /stopped/);
      assert.deepEqual(await broker.stop(), { code: 0, signal: null }, 'stopping twice answers the same');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGKILL stops it at once (a crash)', async () => {
    const dir = dataDir();
    try {
      const broker = await KstackProcess.start({
        args: ['--port', String(PORT), '--data-dir', dir],
        ports: [PORT],
      });
      assert.deepEqual(await broker.stop(10_000, 'SIGKILL'), { code: null, signal: 'SIGKILL' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an exit before serving with the output tail', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(BUSY_PORT, '127.0.0.1', resolve));
    const dir = dataDir();
    try {
      await assert.rejects(
        KstackProcess.start({ args: ['--port', String(BUSY_PORT), '--data-dir', dir], ports: [BUSY_PORT] }),
        (error: Error) =>
          /exited \(code 1\) before serving/.test(error.message) && /in use/.test(error.message),
      );
    } finally {
      holder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives up after the readiness timeout and stops the process', async () => {
    const dir = dataDir();
    try {
      const broker = new KstackProcess({
        args: ['--port', String(PORT), '--data-dir', dir],
        ports: [SILENT_PORT],
      });
      await assert.rejects(
        broker.ready(3000),
        new RegExp(`did not answer Metadata on 127\\.0\\.0\\.1:${SILENT_PORT} within 3000 ms`),
      );
      assert.equal(broker.exit, null, 'ready() alone leaves it running');
      // It serves on its own port meanwhile (under load, later than 3 s): once it does, its signal
      // handlers are installed and SIGTERM is a clean stop.
      const deadline = Date.now() + 60_000;
      while (
        !(await probeMetadata('127.0.0.1', PORT, 2000).then(
          () => true,
          () => false,
        ))
      ) {
        assert.ok(Date.now() < deadline, `kstack up never served on ${PORT}:\n${broker.output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.deepEqual(await broker.stop(), { code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
