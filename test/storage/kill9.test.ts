// A child process appends heavily to a file log; we SIGKILL it mid-stream, reopen the
// log and check it is a valid prefix with no gaps holding everything acknowledged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeRecordBatches } from '../../src/records/index.ts';
import { openFilePartitionLog, systemClock } from '../../src/storage/index.ts';

const APPENDER = new URL('./fixtures/appender.ts', import.meta.url).pathname;

function runAndKill(dir: string, minAcked: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // Without NODE_TEST_CONTEXT: under `node --test` it would make the child a test reporter.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(process.execPath, [APPENDER, dir], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let acked = -1;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) acked = Math.max(acked, Number(line));
      if (acked >= minAcked && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`appender exited with ${code}: ${stderr}`));
    });
  });
}

test('kill -9 during heavy appends: reopen gives a valid prefix with no gaps', {
  // 18 s on a quiet 2-core machine; 120 s was exceeded at load average 20.
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-kill9-'));
  try {
    let expectedAtLeast = 0;
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(dir, expectedAtLeast + 20_000);
      const warnings: string[] = [];
      const log = openFilePartitionLog({
        dir,
        topic: 'crash',
        partition: 0,
        clock: systemClock,
        config: { segmentBytes: 256 * 1024, indexIntervalBytes: 1024 },
        logger: { warn: (m) => warnings.push(m), info: () => {} },
      });
      assert.ok(
        log.logEndOffset > acked,
        `round ${round}: LEO ${log.logEndOffset} lost acknowledged offset ${acked}`,
      );
      assert.ok(log.segmentCount > 1);
      let expected = 0;
      for (let offset = 0; offset < log.logEndOffset; ) {
        const r = log.read(offset, { maxBytes: 1 << 20 });
        for (const b of await decodeRecordBatches(r.records)) {
          for (const record of b.records) {
            assert.equal(record.offset, expected, 'no gap, no duplicate');
            assert.equal(
              record.value!.toString().split(':')[0],
              String(expected),
              'each offset holds its own value',
            );
            expected++;
          }
        }
        offset = r.nextOffset;
      }
      assert.equal(expected, log.logEndOffset);
      expectedAtLeast = log.logEndOffset;
      log.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
