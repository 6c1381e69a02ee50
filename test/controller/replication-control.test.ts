/**
 * ReplicationControl's broker sessions, with a metadata quorum whose commits the test holds: a
 * heartbeat counts when it arrives, not when its turn in the controller's queue comes, so a live
 * broker is not fenced because slow commits (AlterPartition, elections, a controlled shutdown)
 * sat ahead of its heartbeats. No sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetadataImage, type MetadataRecord } from '../../src/broker/metadata-image.ts';
import type { MetadataQuorum } from '../../src/controller/metadata-quorum.ts';
import { ReplicationControl } from '../../src/controller/replication-control.ts';

const CLUSTER_ID = 'sessions-test';
const SESSION_MS = 1_000;
const BROKER_HEARTBEAT_KEY = 63;
const BROKER_REGISTRATION_KEY = 62;

/** Brokers 1 and 2 registered (epochs 10 and 11) and unfenced; commits wait for `release()`. */
function heldQuorum() {
  let image = MetadataImage.empty(CLUSTER_ID, 1)
    .apply(
      [{ type: 'RegisterBrokerRecord', brokerId: 1, host: 'h', port: 1, rack: null, fenced: false }],
      10n,
    )
    .apply(
      [{ type: 'RegisterBrokerRecord', brokerId: 2, host: 'h', port: 2, rack: null, fenced: false }],
      11n,
    );
  const proposed: MetadataRecord[][] = [];
  const held: (() => void)[] = [];
  const replayed = { epoch: 1 };
  const replayWaiters: (() => void)[] = [];
  const quorum = {
    image: () => image,
    appliedEpoch: () => replayed.epoch,
    untilEpochReplayed: (epoch: number) =>
      replayed.epoch >= epoch
        ? Promise.resolve()
        : new Promise<void>((resolve) => replayWaiters.push(resolve)),
    propose: (records: readonly MetadataRecord[]) => {
      proposed.push([...records]);
      return new Promise<bigint>((resolve) => {
        held.push(() => {
          image = image.apply(records, image.metadataOffset + 1n);
          resolve(image.metadataOffset);
        });
      });
    },
  } as unknown as MetadataQuorum;
  return {
    quorum,
    proposed,
    /** The quorum replays an entry of `epoch`: its waiters go on. */
    replay: (epoch: number) => {
      replayed.epoch = epoch;
      for (const wake of replayWaiters.splice(0)) wake();
    },
    release: () => {
      for (const commit of held.splice(0)) commit();
    },
  };
}

describe('broker sessions on the active controller', () => {
  it('a heartbeat queued behind a slow commit keeps its broker unfenced', async () => {
    let now = 0;
    const { quorum, proposed, release } = heldQuorum();
    const control = new ReplicationControl({
      nodeId: 1,
      clusterId: CLUSTER_ID,
      quorum,
      sessionTimeoutMs: SESSION_MS,
      nowMs: () => now,
      log: { info: () => {}, warn: () => {} },
    });
    control.onLeaderChange({ leaderId: 1, epoch: 1 } as Parameters<typeof control.onLeaderChange>[0]);
    const heartbeat = control.handlers().find((h) => h.apiKey === BROKER_HEARTBEAT_KEY)!;
    control.start();
    try {
      // Broker 2 asks for a controlled shutdown: its fence is proposed and held, blocking the queue.
      const shutdown = heartbeat.handle(
        { brokerId: 2, brokerEpoch: 11n, currentMetadataOffset: 11n, wantShutDown: true },
        {} as never,
      );
      await sleep(50);
      assert.equal(proposed.length, 1, 'the shutdown fence is proposed and held');
      // Broker 1 heartbeats on time while the queue is blocked, and time passes its session.
      now = SESSION_MS - 100;
      const beat = heartbeat.handle(
        { brokerId: 1, brokerEpoch: 10n, currentMetadataOffset: 11n },
        {} as never,
      );
      now = SESSION_MS + 500;
      await sleep(1_500); // the session check runs every few hundred ms
      release();
      await Promise.all([shutdown, beat]);
      await sleep(100);
      release();
      const fenced = proposed
        .flat()
        .filter((r) => r.type === 'FenceBrokerRecord')
        .map((r) => (r as { id: number }).id);
      assert.deepEqual(fenced, [2], 'only the broker that asked to shut down is fenced');
    } finally {
      control.stop();
      release();
    }
  });

  it('a new leader decides only once its image holds an entry of its own epoch', async () => {
    const { quorum, proposed, replay, release } = heldQuorum();
    const control = new ReplicationControl({
      nodeId: 1,
      clusterId: CLUSTER_ID,
      quorum,
      log: { info: () => {}, warn: () => {} },
    });
    control.onLeaderChange({ leaderId: 1, epoch: 2 } as Parameters<typeof control.onLeaderChange>[0]);
    const register = control.handlers().find((h) => h.apiKey === BROKER_REGISTRATION_KEY)!;
    const answer = register.handle(
      {
        brokerId: 2,
        clusterId: CLUSTER_ID,
        listeners: [{ name: 'PLAINTEXT', host: 'h', port: 2, securityProtocol: 0 }],
        previousBrokerEpoch: -1n,
      },
      {} as never,
    );
    // Still replaying epoch 1's entries: its image may lack committed ones, so it waits.
    await sleep(100);
    assert.equal(proposed.length, 0, 'decided on an image not yet replayed to its epoch');
    replay(2);
    await sleep(50);
    assert.equal(proposed.length, 1, 'the registration once caught up');
    release();
    assert.equal((await answer).errorCode, 0);
    control.stop();
  });
});
