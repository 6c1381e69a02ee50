import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineLoad, processCpuMs } from '../../src/bench/machine.ts';

test('processCpuMs grows with work done and is undefined for a missing process', () => {
  const before = processCpuMs(process.pid);
  assert.ok(before !== undefined);
  // Spin for 100 ms of this process' own CPU time (not wall time: on a loaded machine 200 ms of
  // wall time once gave less than the one scheduler tick /proc counts in).
  const cpuStart = process.cpuUsage();
  let spin = 0;
  for (
    let used = process.cpuUsage(cpuStart);
    used.user + used.system < 100_000;
    used = process.cpuUsage(cpuStart)
  ) {
    spin++;
  }
  assert.ok(spin > 0);
  const after = processCpuMs(process.pid);
  assert.ok(after !== undefined && after > before, `${before} -> ${after}`);
  assert.equal(processCpuMs(2 ** 22 + 12345), undefined);
});

test('machineLoad reads the load average and, on Linux with PSI, the CPU pressure', () => {
  const load = machineLoad();
  assert.ok(Number.isFinite(load.loadAverage1m) && load.loadAverage1m >= 0);
  if (load.cpuPressureSome10s !== undefined) {
    assert.ok(load.cpuPressureSome10s >= 0 && load.cpuPressureSome10s <= 100);
  }
});
