/**
 * Kafka Connect (Apache Kafka's own distributed worker, a JVM) against `kstack up`: one broker
 * process and one worker shared by the file (the JVM start is the slow part), real FileStream
 * connectors on real files, Connect's REST API. The same scenarios run against Apache Kafka in
 * reference.long.ts (`node --test test/connect/reference.long.ts`), which also runs the REST
 * lifecycle (pause, resume, restart, stop, delete) and the worker restart (configs and source offsets
 * kept) on both clusters: a second JVM start does not fit the unit run's time budget.
 */
import { after, before, describe, it } from 'node:test';
import { badInput, sourceToSink } from './scenarios.ts';
import { type RunningTarget, startTarget } from './targets.ts';

const KSTACK_PORT = 21300;
const WORKER_PORT = 21301;

describe('Kafka Connect worker against kstack', { timeout: 900_000 }, () => {
  let target: RunningTarget;
  before(async () => {
    target = await startTarget('kstack', KSTACK_PORT, WORKER_PORT);
  });
  after(async () => {
    await target?.close();
  });

  it('the worker joins its group and serves its REST API', (t) => {
    t.diagnostic(`kstack: Connect worker start to ready ${target.firstStartToReadyMs} ms`);
  });
  it('FileStreamSource reads a file into a topic and FileStreamSink writes it back, byte for byte', () =>
    sourceToSink(target));
  it("bad connector configs get Connect's own 400 and the worker goes on", () => badInput(target));
});
