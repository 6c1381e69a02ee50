/**
 * Exactly-once source support (exactly.once.source.support=enabled, which needs transactions) on
 * Apache Kafka 4.1.1 and on kstack in one run: a FileStream source required to be exactly-once, its
 * task restarted (fencing through its transactional id). Not in the unit run (two clusters and two
 * worker starts); run it with `node --test test/connect/exactly-once.long.ts`.
 */
import { after, before, describe, it } from 'node:test';
import { exactlyOnceSource, sourceToSink } from './scenarios.ts';
import { type RunningTarget, startTarget } from './targets.ts';

const PORTS = {
  reference: { cluster: 21312, worker: 21313 },
  kstack: { cluster: 21322, worker: 21323 },
} as const;
const EXACTLY_ONCE = new Map([['exactly.once.source.support', 'enabled']]);

for (const kind of ['reference', 'kstack'] as const) {
  describe(`Kafka Connect exactly-once source against ${kind}`, { timeout: 900_000 }, () => {
    let target: RunningTarget;
    before(async () => {
      target = await startTarget(kind, PORTS[kind].cluster, PORTS[kind].worker, EXACTLY_ONCE);
    });
    after(async () => {
      await target?.close();
    });

    it('a source required to be exactly-once writes in transactions; a task restart loses and repeats nothing', () =>
      exactlyOnceSource(target));
    it('FileStream source to sink, byte for byte, with transactional source tasks', () =>
      sourceToSink(target));
  });
}
