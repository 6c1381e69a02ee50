/**
 * The latency bench's mechanics against a real `kstack up` process (with the loop-delay
 * probe): every measured record comes back and is counted once, warm-up records are not
 * counted, and the broker's CPU time and event-loop delay are read. No figure is asserted
 * (benchmarks print numbers; they are not timed tests).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type StartedBroker, startKstack } from '../../src/bench/compare.ts';
import { type LatencyClients, measureEndToEndLatency } from '../../src/bench/latency.ts';
import { withTopic } from '../../src/bench/load.ts';

const PORT = 19590;
let broker: StartedBroker;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kstack-bench-test-'));
  broker = await startKstack(PORT, dataDir);
});

after(async () => {
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

for (const clients of ['split', 'shared'] as LatencyClients[]) {
  test(`latency run with ${clients} clients counts each measured record once`, {
    timeout: 120_000,
  }, async () => {
    const target = { bootstrapServer: broker.bootstrapServer, replicationFactor: 1 };
    const result = await withTopic(target, 1, (topic) =>
      measureEndToEndLatency(
        broker.bootstrapServer,
        topic,
        { ratePerSecond: 1000, seconds: 1, recordBytes: 100, warmupSeconds: 1, clients },
        broker.probe,
      ),
    );
    assert.equal(result.failed, 0);
    assert.equal(result.sent, 1000);
    assert.equal(result.count, 1000, 'every measured record, and no warm-up record, is timed');
    assert.ok(result.p50Ms > 0 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.maxMs);
    assert.ok(
      result.brokerLoopDelay !== undefined && result.brokerLoopDelay.samples > 0,
      'the probe answered',
    );
    assert.ok(result.brokerCpuMs !== undefined && result.brokerCpuMs >= 0);
    assert.ok(result.producerLoopDelay.samples > 0 && result.consumerLoopDelay.samples > 0);
    assert.ok(result.machineBefore.loadAverage1m >= 0);
  });
}
