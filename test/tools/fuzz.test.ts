/**
 * The fuzzer, as its own process, against `kstack up`: the broker survives mutated
 * requests, keeps serving fresh clients and keeps the record written before. A short
 * budget by default; KSTACK_FUZZ_SECONDS runs longer (and KSTACK_FUZZ_SEED replays one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const SECONDS = Number(process.env.KSTACK_FUZZ_SECONDS ?? '5');
const SEED = process.env.KSTACK_FUZZ_SEED ?? '20261123';

describe('fuzzing kstack up', { timeout: 60_000 + SECONDS * 2000 }, () => {
  it(`survives ${SECONDS} s of mutated requests (seed ${SEED})`, async () => {
    const broker = new BrokerProcess(19660);
    await broker.start();
    try {
      const result = await runTool(
        process.execPath,
        [
          'src/tools/fuzz-broker.ts',
          '--bootstrap-server',
          broker.bootstrap,
          '--seed',
          SEED,
          '--seconds',
          String(SECONDS),
        ],
        { timeoutMs: 30_000 + SECONDS * 2000 },
      );
      assert.equal(result.code, 0, `${result.stderr}\n${broker.output.slice(-2000)}`);
      const report = JSON.parse(result.stdout) as { sent: number; healthChecks: number };
      assert.ok(report.sent > 100, `sent ${report.sent}`);
      assert.ok(report.healthChecks > 1);
    } finally {
      assert.equal(await broker.stop(), 0, broker.output.slice(-2000));
      broker.removeData();
    }
  });
});
