// KIP-966's order when a fencing empties an ISR while an ELR member is unfenced, staged the same way
// on kstack's `kstack node` processes (elr-first.slow.ts) and on Apache Kafka 4.1.1's JVMs
// (elr-first-reference.long.ts, by hand). Two RF 2 topics on [2,3] with min ISR 2, `elr-off`
// (unclean.leader.election.enable=false) and `elr-on` (true); broker 3 stopped cleanly (ISR [2],
// ELR [3]); broker 2, their leader, SIGSTOPped; broker 3 started again: it registers after a clean
// shutdown, stays in the ELR and unfences, but cannot rejoin the ISR (its leader is paused); then 2's
// session expires (the caller's broker.session.timeout.ms, long enough for 3's restart) and 2 is
// fenced with 3 unfenced in the ELR. Kafka elects 3 from the ELR, cleanly, in both topics (its
// controller logs "Setting new leader ... to 3 using ELR"): ISR [3], ELR [2]. Before the fix kstack
// elected 3 uncleanly in elr-on (ELR cleared) and left elr-off leaderless.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';

export const TOPICS = { 'elr-off': 'false', 'elr-on': 'true' } as const;
/** Generous: a loaded 2-core machine (the session timeout itself is the caller's). */
const WAIT_MS = 240_000;
const POLL_MS = 200;

export interface ElrScenarioCluster {
  /** Node 1's broker port: every question goes there (node 1 holds no replica). */
  readonly askPort: number;
  stopNode(id: number, signal: 'SIGTERM'): Promise<void>;
  /** Starts a stopped node; may resolve only once every running node answers (the paused one too). */
  startNode(id: number): Promise<void>;
  pid(id: number): number;
}

export interface PartitionState {
  leader: number;
  isr: number[];
  elr: number[];
  lastKnownElr: number[];
}

export interface ElrObservations {
  /** Both topics once broker 3 stopped cleanly. */
  afterStop: Record<string, PartitionState>;
  /** Milliseconds after 2 was paused: 3 listed again (unfenced), 2 no longer listed (fenced). */
  unfencedMs: number;
  fencedMs: number;
  /** Both topics once 2 is fenced and they are led again (or 10 s after the fencing). */
  afterFencing: Record<string, PartitionState>;
}

async function states(client: ControllerClient): Promise<Record<string, PartitionState>> {
  const body = await send(client, 75, 0, {
    topics: Object.keys(TOPICS).map((name) => ({ name })),
    responsePartitionLimit: 2000,
    cursor: null,
  });
  const seen: Record<string, PartitionState> = {};
  for (const topic of body.topics as { name: string; partitions: unknown[] }[]) {
    const p = topic.partitions[0] as {
      leaderId: number;
      isrNodes: number[];
      eligibleLeaderReplicas: number[] | null;
      lastKnownElr: number[] | null;
    };
    seen[topic.name] = {
      leader: p.leaderId,
      isr: [...p.isrNodes],
      elr: [...(p.eligibleLeaderReplicas ?? [])],
      lastKnownElr: [...(p.lastKnownElr ?? [])],
    };
  }
  return seen;
}

/** The unfenced brokers, as Metadata lists them. */
async function brokers(client: ControllerClient): Promise<number[]> {
  const body = await send(client, 3, 12, { topics: [], allowAutoTopicCreation: false });
  return (body.brokers as { nodeId: number }[]).map((b) => b.nodeId).sort();
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // A node busy or restarting: ask again.
    }
    assert.ok(performance.now() < deadline, `not within ${WAIT_MS} ms: ${what}`);
    await sleep(POLL_MS);
  }
}

export async function runElrFirstScenario(cluster: ElrScenarioCluster): Promise<ElrObservations> {
  const client = clientTo(cluster.askPort, 'elr-first');
  let paused = false;
  try {
    for (const [name, unclean] of Object.entries(TOPICS)) {
      const created = await send(client, 19, 7, {
        topics: [
          {
            name,
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [{ partitionIndex: 0, brokerIds: [2, 3] }],
            configs: [
              { name: 'min.insync.replicas', value: '2' },
              { name: 'unclean.leader.election.enable', value: unclean },
            ],
          },
        ],
        timeoutMs: 30_000,
      });
      assert.equal((created.topics as { errorCode: number }[])[0]?.errorCode, 0, `create ${name}`);
    }
    await until('ISR [2,3]', async () =>
      Object.values(await states(client)).every((s) => s.leader === 2 && s.isr.length === 2),
    );
    await cluster.stopNode(3, 'SIGTERM');
    await until('ISR [2], ELR [3]', async () =>
      Object.values(await states(client)).every((s) => s.isr.join() === '2' && s.elr.join() === '3'),
    );
    const afterStop = await states(client);
    process.kill(cluster.pid(2), 'SIGSTOP');
    paused = true;
    const pausedAt = performance.now();
    const restart = cluster.startNode(3).catch((error: Error) => error);
    let unfencedMs = Number.NaN;
    let fencedMs = Number.NaN;
    await until('3 unfenced and 2 fenced', async () => {
      const listed = await brokers(client);
      if (Number.isNaN(unfencedMs) && listed.includes(3)) unfencedMs = performance.now() - pausedAt;
      if (Number.isNaN(fencedMs) && !listed.includes(2)) fencedMs = performance.now() - pausedAt;
      return !Number.isNaN(unfencedMs) && !Number.isNaN(fencedMs);
    });
    let afterFencing = await states(client);
    await until('both topics led again, or 10 s after the fencing', async () => {
      afterFencing = await states(client);
      return (
        Object.values(afterFencing).every((s) => s.leader === 3) ||
        performance.now() - pausedAt > fencedMs + 10_000
      );
    });
    process.kill(cluster.pid(2), 'SIGCONT');
    paused = false;
    const started = await restart;
    if (started instanceof Error) throw started;
    return { afterStop, unfencedMs, fencedMs, afterFencing };
  } finally {
    // Resumed however this ends (a failure must not leave a stopped process behind).
    if (paused) {
      try {
        process.kill(cluster.pid(2), 'SIGCONT');
      } catch (error) {
        console.log(`SIGCONT to node 2: ${(error as Error).message}`);
      }
    }
    client.close();
  }
}

/** What both targets must show (Kafka 4.1.1's answer, by hand on the reference). */
export function assertElrFirst(seen: ElrObservations): void {
  const stopped = { leader: 2, isr: [2], elr: [3], lastKnownElr: [] };
  assert.deepEqual(seen.afterStop, { 'elr-off': stopped, 'elr-on': stopped });
  assert.ok(
    seen.unfencedMs < seen.fencedMs,
    `3 must be unfenced (${Math.round(seen.unfencedMs)} ms) before 2 is fenced (${Math.round(seen.fencedMs)} ms): raise the session timeout`,
  );
  const elected = { leader: 3, isr: [3], elr: [2], lastKnownElr: [] };
  assert.deepEqual(seen.afterFencing, { 'elr-off': elected, 'elr-on': elected });
}
