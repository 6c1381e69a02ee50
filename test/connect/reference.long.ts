/**
 * Every Connect scenario against Apache Kafka 4.1.1 (the reference, one node) and against `kstack up`
 * in one run, so a failure points at kstack or at the test, with each worker's start-to-ready time.
 * Not part of `npm run test:unit` (two JVM clusters and three worker starts: about 3 minutes here);
 * run it with `node --test test/connect/reference.long.ts`.
 */
import { after, before, describe, it } from 'node:test';
import { badInput, lifecycle, restartKeepsState, sourceToSink } from './scenarios.ts';
import { type RunningTarget, startTarget } from './targets.ts';

const PORTS = {
  reference: { cluster: 21310, worker: 21311 },
  kstack: { cluster: 21320, worker: 21321 },
} as const;

for (const kind of ['reference', 'kstack'] as const) {
  describe(`Kafka Connect worker against ${kind}`, { timeout: 900_000 }, () => {
    let target: RunningTarget;
    before(async () => {
      target = await startTarget(kind, PORTS[kind].cluster, PORTS[kind].worker);
    });
    after(async () => {
      await target?.close();
    });

    it('the worker joins its group and serves its REST API', (t) => {
      t.diagnostic(`${kind}: Connect worker start to ready ${target.firstStartToReadyMs} ms`);
    });
    it('FileStreamSource reads a file into a topic and FileStreamSink writes it back, byte for byte', () =>
      sourceToSink(target));
    it('pause, resume, restart, stop and delete through the REST API', () => lifecycle(target));
    it("bad connector configs get Connect's own errors and the worker goes on", () => badInput(target));
    it('a worker restart keeps connector configs and source offsets (nothing re-read or lost)', () =>
      restartKeepsState(target));
  });
}
