/**
 * Durability against a real broker process: a restart keeps everything; `kill -9`
 * during heavy writes leaves a valid prefix holding every acknowledged message and the
 * broker starts; a torn tail is truncated at start; 100,000 keyed messages with headers
 * across 6 partitions come back complete, in order per partition, byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BrokerProcess } from './broker-process.ts';
import { PYTHON, PYTHON_DIR, pythonRoundTrip, runTool } from './run-tool.ts';

async function readValues(bootstrap: string, topic: string, partition: number): Promise<string[]> {
  const result = await runTool(
    'kcat',
    ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-f', '%s\n'],
    { timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const text = result.stdout.trim();
  return text === '' ? [] : text.split('\n');
}

describe('durability of kstack up', { timeout: 900_000 }, () => {
  it('100,000 keyed messages with headers across 6 partitions come back complete, in order, byte for byte', async () => {
    const broker = new BrokerProcess(19640);
    await broker.start();
    try {
      const summary = await pythonRoundTrip(broker.bootstrap, 'hundred-k', 'lz4', 100_000, 6);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      assert.equal(summary.seen, 100_000);
    } finally {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    }
  });

  it('a clean restart keeps topics, configs and records', async () => {
    const broker = new BrokerProcess(19641);
    await broker.start();
    try {
      const summary = await pythonRoundTrip(broker.bootstrap, 'restart-me', 'gzip', 5000, 3);
      assert.equal(summary.ok, true, JSON.stringify(summary));
      assert.equal(await broker.stop(), 0, broker.output);
      await broker.start();
      const again = await pythonRoundTrip(broker.bootstrap, 'restart-me', 'gzip', 5000, 3, true);
      assert.equal(again.ok, true, JSON.stringify(again));
      assert.equal(again.seen, 5000);
    } finally {
      await broker.stop();
      broker.removeData();
    }
  });

  it('kill -9 during heavy writes recovers to a valid prefix with every acknowledged message', async () => {
    const broker = new BrokerProcess(19642);
    await broker.start();
    const created = await runTool('kcat', ['-b', broker.bootstrap, '-P', '-t', 'crash', '-p', '0'], {
      input: 'seq--1-first\n',
    });
    assert.equal(created.code, 0, created.stderr);
    const writer = spawn(PYTHON, [join(PYTHON_DIR, 'crash_writer.py'), broker.bootstrap, 'crash'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let lastAcked = -1;
    writer.stdout.on('data', (chunk: Buffer) => {
      const lines = chunk.toString().trim().split('\n');
      lastAcked = Math.max(lastAcked, Number(lines[lines.length - 1]));
    });
    const deadline = Date.now() + 30_000;
    while (lastAcked < 20_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const ackedBeforeKill = lastAcked;
    assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
    writer.kill('SIGKILL');
    assert.ok(ackedBeforeKill >= 1000, `the writer got acknowledgements (${ackedBeforeKill})`);
    await broker.start();
    try {
      const values = await readValues(broker.bootstrap, 'crash', 0);
      assert.equal(values[0], 'seq--1-first');
      for (let i = 1; i < values.length; i++) {
        assert.equal(
          values[i]!.slice(0, 14),
          `seq-${String(i - 1).padStart(9, '0')}-`,
          `record ${i} in sequence`,
        );
      }
      assert.ok(
        values.length - 2 >= ackedBeforeKill,
        `acknowledged ${ackedBeforeKill}, found ${values.length - 2}`,
      );
    } finally {
      await broker.stop();
      broker.removeData();
    }
  });

  it('truncates a torn tail at start and keeps serving what came before', async () => {
    const broker = new BrokerProcess(19643);
    await broker.start();
    try {
      const lines = Array.from({ length: 100 }, (_, i) => `torn-${i}`);
      const produced = await runTool('kcat', ['-b', broker.bootstrap, '-P', '-t', 'torn', '-p', '0'], {
        input: `${lines.join('\n')}\n`,
      });
      assert.equal(produced.code, 0, produced.stderr);
      assert.equal(await broker.stop(), 0);
      const log = join(broker.dataDir, 'broker-1', 'torn-0', '00000000000000000000.log');
      assert.ok(existsSync(log));
      const sizeBefore = statSync(log).size;
      // Half a batch header: what a crash in the middle of a write leaves.
      appendFileSync(log, Buffer.from([0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 80, 0, 0, 0, 0, 2, 1, 2, 3]));
      await broker.start();
      assert.match(broker.output, /recovery truncated .*torn-0/);
      assert.equal(statSync(log).size, sizeBefore);
      assert.deepEqual(await readValues(broker.bootstrap, 'torn', 0), lines);
      const more = await runTool('kcat', ['-b', broker.bootstrap, '-P', '-t', 'torn', '-p', '0'], {
        input: 'after\n',
      });
      assert.equal(more.code, 0, more.stderr);
      assert.deepEqual(await readValues(broker.bootstrap, 'torn', 0), [...lines, 'after']);
    } finally {
      await broker.stop();
      broker.removeData();
    }
  });
});
