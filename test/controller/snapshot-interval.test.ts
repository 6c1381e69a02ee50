// metadata.log.max.snapshot.interval.ms=0 means "no time-based snapshots" in Kafka (only the
// record-bytes trigger is left). A one-voter quorum (real socket, real files) with NoOps every
// NO_OP_INTERVAL_MS commits a few batches, then waits until the leader's timer has run its
// snapshot check at least CHECKS_MIN times with records pending (each tick writes one NoOp): with
// the interval at 0 no snapshot is taken; with 1 ms, the same wait ends with one (so the wait does
// reach the check). A cluster node takes 0 from its config and still refuses -1, naming it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClusterNode } from '../../src/engine/cluster-node.ts';
import { quorumTrio } from './quorum-trio.ts';

const PORT = 27303;
const NO_OP_INTERVAL_MS = 25;
/** Snapshot checks (NoOp ticks) the leader must have run after the batches before the verdict. */
const CHECKS_MIN = 8;
const quiet = { info() {}, warn() {} };
const dataDirs: string[] = [];

after(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Commits three batches on a one-voter quorum, waits for CHECKS_MIN ticks, and gives the log start
 * offset: 0 until a snapshot bounds the log.
 */
async function logStartAfterTicks(snapshotIntervalMs: number): Promise<number> {
  const solo = quorumTrio({
    ports: [PORT],
    name: `snapshot-interval-${snapshotIntervalMs}`,
    waitMsMax: 60_000,
    quorum: { noOpIntervalMs: NO_OP_INTERVAL_MS, snapshotIntervalMs },
  });
  try {
    await solo.startNode(1);
    await solo.agreedLeader();
    const { node, quorum } = solo.running.get(1)!;
    let last = 0n;
    for (const name of ['a', 'b', 'c'])
      last = await quorum.propose([
        { type: 'TopicRecord', name, topicId: Buffer.alloc(16, name).toString('base64url') },
      ]);
    const storage = node.driver.replica.storage;
    // Every tick proposes one NoOp and then checks the snapshot triggers.
    await solo.until(
      `${CHECKS_MIN} NoOps after the batches`,
      () => storage.endOffset() > Number(last) + CHECKS_MIN,
    );
    return storage.logStartOffset();
  } finally {
    await solo.close();
  }
}

test('snapshot interval 0 takes no time-based snapshot; 1 ms takes one after the same wait', async () => {
  assert.equal(await logStartAfterTicks(0), 0, 'interval 0: no snapshot');
  assert.ok((await logStartAfterTicks(1)) > 0, 'interval 1 ms: a snapshot by time');
});

test('a cluster node takes metadata.log.max.snapshot.interval.ms=0 and refuses -1', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-snapshot-interval-node-'));
  dataDirs.push(dataDir);
  const options = (value: string) => ({
    nodeId: 1,
    clusterId: 'MkU3OEVBNTcwNTJENDM2Qg',
    voters: [{ nodeId: 1, host: '127.0.0.1', port: PORT + 1 }],
    host: '127.0.0.1',
    port: PORT + 2,
    dataDir,
    config: { 'metadata.log.max.snapshot.interval.ms': value },
    log: quiet,
    onFatal: (error: Error) => {
      throw error;
    },
  });
  // Never started; stopped to release what its parts hold.
  await new ClusterNode(options('0')).stop();
  assert.throws(
    () => new ClusterNode(options('-1')),
    /metadata.log.max.snapshot.interval.ms must be a whole number of at least 0, not '-1'/,
  );
});
