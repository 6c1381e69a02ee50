import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ControlRecordType, controlKey, decodeControlRecord } from '../../src/metadata/control-records.ts';
import { RaftReplica } from '../../src/raft/replica.ts';
import { SeededRandom } from '../../src/raft/sim/random.ts';
import { RaftStorage } from '../../src/raft/storage.ts';
import type { LogEntry, RaftConfig, RaftMessage, VoteResponse } from '../../src/raft/types.ts';
import { MemoryFs } from '../../src/storage/memory-fs.ts';

// Single rules of the replica, each staged by hand: three replicas, a manual clock, and a message
// list we deliver (or drop) ourselves.

interface Sent {
  from: number;
  to: number;
  message: RaftMessage;
}

class Cluster {
  nowMs = 0;
  readonly sent: Sent[] = [];
  readonly fs = new Map<number, MemoryFs>();
  readonly replicas = new Map<number, RaftReplica>();
  /** Called in the send function, before the message is queued: what the sender's disk holds then. */
  onSend: ((sent: Sent) => void) | null = null;

  constructor(config: Partial<RaftConfig> = {}, prepare?: (id: number, storage: RaftStorage) => void) {
    for (const id of [1, 2, 3]) {
      const fs = new MemoryFs();
      this.fs.set(id, fs);
      const storage = new RaftStorage(fs, '/raft');
      prepare?.(id, storage);
      this.replicas.set(
        id,
        new RaftReplica({
          nodeId: id,
          voters: [1, 2, 3],
          storage,
          clock: { nowMs: () => this.nowMs },
          random: new SeededRandom(id),
          config,
          send: (to, message) => {
            const sent = { from: id, to, message };
            this.onSend?.(sent);
            this.sent.push(sent);
          },
        }),
      );
    }
  }

  replica(id: number): RaftReplica {
    const replica = this.replicas.get(id);
    if (replica === undefined) throw new Error(`no replica ${id}`);
    return replica;
  }

  /** Delivers queued messages (and those they cause) until none is left; `drop` loses some. */
  deliver(drop: (sent: Sent) => boolean = () => false, limit = 10_000): void {
    for (let i = 0; i < limit && this.sent.length > 0; i++) {
      const sent = this.sent.shift() as Sent;
      if (!drop(sent)) this.replica(sent.to).handle(sent.from, sent.message);
    }
  }

  /** Moves the clock in steps, ticking every replica and delivering at each step. */
  run(ms: number, drop: (sent: Sent) => boolean = () => false, stepMs = 10): void {
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      this.nowMs += stepMs;
      for (const replica of this.replicas.values()) replica.tick();
      this.deliver(drop);
    }
  }

  leaders(): number[] {
    return [...this.replicas.values()].filter((r) => r.role() === 'leader').map((r) => r.nodeId);
  }
}

function quorumStateOnDisk(fs: MemoryFs): Record<string, number> {
  return JSON.parse(fs.readFile('/raft/quorum-state')?.toString('utf8') ?? '{}');
}

function entries(from: number, to: number, epoch: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let offset = from; offset < to; offset++) {
    out.push({ offset, epoch, records: [Buffer.from(`e${epoch}o${offset}`)], control: false });
  }
  return out;
}

describe('elections', () => {
  test('three replicas elect exactly one leader, which commits a proposal on every replica', () => {
    const cluster = new Cluster();
    cluster.run(3000);
    const leaders = cluster.leaders();
    assert.equal(leaders.length, 1);
    const leader = cluster.replica(leaders[0] as number);
    const { offset } = leader.propose([Buffer.from('hello')]);
    cluster.run(500);
    for (const replica of cluster.replicas.values()) {
      assert.equal(replica.epoch(), leader.epoch());
      assert.ok(replica.highWatermark() > offset, `node ${replica.nodeId} hw ${replica.highWatermark()}`);
      assert.equal(Buffer.from(replica.readCommitted(offset, 1)[0]?.records[0] ?? []).toString(), 'hello');
    }
  });

  test('a granted vote is on disk before the answer leaves', () => {
    const cluster = new Cluster();
    let checked = 0;
    cluster.onSend = (sent) => {
      if (sent.message.kind === 'VoteResponse' && sent.message.voteGranted && !sent.message.preVote) {
        const onDisk = quorumStateOnDisk(cluster.fs.get(sent.from) as MemoryFs);
        assert.equal(onDisk.votedId, sent.to);
        assert.equal(onDisk.leaderEpoch, sent.message.candidateEpoch);
        checked++;
      }
      if (sent.message.kind === 'BeginQuorumEpochRequest') {
        const onDisk = quorumStateOnDisk(cluster.fs.get(sent.from) as MemoryFs);
        assert.equal(onDisk.leaderId, sent.from);
        assert.equal(onDisk.leaderEpoch, sent.message.leaderEpoch);
      }
    };
    cluster.run(3000);
    assert.ok(checked >= 1);
  });

  test('a pre-vote changes no state, and is refused while the voter hears from a live leader', () => {
    const cluster = new Cluster();
    const voter = cluster.replica(2);
    voter.handle(1, { kind: 'BeginQuorumEpochRequest', leaderEpoch: 4, leaderId: 1 });
    cluster.sent.length = 0;
    const before = cluster.fs.get(2)?.readFile('/raft/quorum-state');
    const preVote = {
      kind: 'VoteRequest',
      candidateEpoch: 5,
      candidateId: 3,
      lastOffsetEpoch: 0,
      lastOffset: 0,
      preVote: true,
    } as const;
    voter.handle(3, preVote);
    const refused = cluster.sent.pop()?.message as VoteResponse;
    assert.equal(refused.voteGranted, false);
    assert.equal(refused.leaderId, 1);
    cluster.nowMs += voter.config.fetchTimeoutMs;
    voter.handle(3, preVote);
    const granted = cluster.sent.pop()?.message as VoteResponse;
    assert.equal(granted.voteGranted, true);
    assert.equal(voter.epoch(), 4);
    assert.equal(voter.votedId(), -1);
    assert.deepStrictEqual(cluster.fs.get(2)?.readFile('/raft/quorum-state'), before);
  });

  test('a real vote is refused to a candidate whose log is behind', () => {
    const cluster = new Cluster({}, (id, storage) => {
      if (id === 2) storage.append(entries(0, 3, 2));
    });
    const voter = cluster.replica(2);
    voter.handle(3, {
      kind: 'VoteRequest',
      candidateEpoch: 3,
      candidateId: 3,
      lastOffsetEpoch: 1,
      lastOffset: 10,
      preVote: false,
    });
    const answer = cluster.sent.pop()?.message as VoteResponse;
    assert.equal(answer.voteGranted, false);
    assert.equal(voter.epoch(), 3, 'the newer epoch is still learnt');
    assert.equal(voter.votedId(), -1);
  });
});

describe('leader', () => {
  test('an isolated leader resigns within 1.5 x the fetch timeout (check quorum)', () => {
    const cluster = new Cluster();
    cluster.run(3000);
    const leaderId = cluster.leaders()[0] as number;
    const leader = cluster.replica(leaderId);
    const isolated = (sent: Sent) => sent.from === leaderId || sent.to === leaderId;
    const startMs = cluster.nowMs;
    while (leader.role() === 'leader' && cluster.nowMs - startMs < 10_000) cluster.run(10, isolated);
    const resignedAfterMs = cluster.nowMs - startMs;
    assert.equal(leader.role(), 'resigned');
    assert.ok(
      resignedAfterMs <= leader.config.fetchTimeoutMs * 1.5 + 20,
      `resigned after ${resignedAfterMs} ms`,
    );
    // The others elect a new leader in a newer epoch; the old one follows it once reconnected.
    cluster.run(5000, isolated);
    const others = cluster.leaders().filter((id) => id !== leaderId);
    assert.equal(others.length, 1);
    cluster.run(3000);
    assert.equal(leader.role(), 'follower');
    assert.equal(leader.leaderId(), others[0]);
  });

  test('a leader counts its own entries toward the high watermark only once they are flushed', () => {
    const cluster = new Cluster({ appendLingerMs: 1_000_000 });
    cluster.run(3000);
    const leaderId = cluster.leaders()[0] as number;
    const leader = cluster.replica(leaderId);
    const cutOff = [1, 2, 3].find((id) => id !== leaderId) as number;
    const oneFollowerOnly = (sent: Sent) => sent.from === cutOff || sent.to === cutOff;
    const { offset } = leader.propose([Buffer.from('unflushed')]);
    cluster.run(300, oneFollowerOnly);
    // One follower holds it flushed; the leader has not flushed: 1 of 3 is no majority.
    assert.ok(leader.highWatermark() <= offset, `hw ${leader.highWatermark()} passed ${offset}`);
    leader.flush();
    assert.ok(leader.highWatermark() > offset);
  });
});

describe('commitment', () => {
  test("a new leader commits older epochs' entries only together with an entry of its own epoch", () => {
    // Nodes 1 and 2 hold three entries of epoch 1 that were never committed; node 3 holds nothing.
    const cluster = new Cluster({}, (id, storage) => {
      if (id !== 3) storage.append(entries(0, 3, 1));
      storage.flush();
    });
    const seen = new Set<number>();
    for (let step = 0; step < 600; step++) {
      cluster.nowMs += 10;
      for (const replica of cluster.replicas.values()) replica.tick();
      while (cluster.sent.length > 0) {
        const sent = cluster.sent.shift() as Sent;
        cluster.replica(sent.to).handle(sent.from, sent.message);
        for (const replica of cluster.replicas.values())
          if (replica.role() === 'leader') seen.add(replica.highWatermark());
      }
    }
    assert.equal(cluster.leaders().length, 1);
    const leader = cluster.replica(cluster.leaders()[0] as number);
    // The leader's epoch starts at offset 3 (its LeaderChange entry): the high watermark goes from
    // 0 straight past it, never to 1..3, where it would commit epoch 1's entries on their own.
    assert.deepStrictEqual(
      [...seen].filter((hw) => hw > 0 && hw <= 3),
      [],
    );
    assert.equal(leader.highWatermark(), 4);
  });
});

describe('followers', () => {
  test('a follower with entries of an epoch the leader never saw truncates to the divergence, then catches up', () => {
    // Leader 1: epochs 1 (0-2) and 3 (3-4). Follower 2: epochs 1 (0-2) and 2 (3-5), never committed.
    const cluster = new Cluster({}, (id, storage) => {
      if (id === 1) storage.append([...entries(0, 3, 1), ...entries(3, 5, 3)]);
      if (id === 2) storage.append([...entries(0, 3, 1), ...entries(3, 6, 2)]);
      if (id === 1) storage.writeQuorumState({ leaderEpoch: 3, leaderId: 1, votedId: 1 });
      storage.flush();
    });
    // Node 1 restarted as leader of epoch 3 resigns; drive an election it wins (longest log of the newest epoch).
    cluster.run(6000);
    const leaderId = cluster.leaders()[0] as number;
    assert.equal(leaderId, 1, 'only node 1 holds epoch 3');
    const follower = cluster.replica(2);
    const leader = cluster.replica(1);
    assert.equal(follower.storage.endOffset(), leader.storage.endOffset());
    for (let offset = 0; offset < leader.storage.endOffset(); offset++) {
      assert.deepStrictEqual(
        follower.storage.entry(offset),
        leader.storage.entry(offset),
        `offset ${offset}`,
      );
    }
  });

  test("a divergence point inside a follower's batch cuts the whole batch, as Kafka truncates at a batch start", () => {
    const batch = (offset: number, epoch: number, count: number, control = false): LogEntry => ({
      offset,
      epoch,
      records: Array.from({ length: count }, (_, i) => Buffer.from(`e${epoch}o${offset + i}`)),
      control,
    });
    // Leader 1: epoch 1 [0, 2), epoch 3 [2, 3), epoch 5 [3, 5). Follower 2: epoch 1 [0, 2) and an
    // uncommitted epoch 1 batch [2, 6), then epoch 4 [6, 7). The leader's end of epoch 3 (offset 3)
    // lies inside the follower's batch [2, 6).
    const cluster = new Cluster({}, (id, storage) => {
      if (id === 1) storage.append([batch(0, 1, 2), batch(2, 3, 1, true), batch(3, 5, 2)]);
      if (id === 2) storage.append([batch(0, 1, 2), batch(2, 1, 4), batch(6, 4, 1)]);
      if (id === 3) storage.append([batch(0, 1, 2)]);
      if (id === 1) storage.writeQuorumState({ leaderEpoch: 5, leaderId: 1, votedId: 1 });
      storage.flush();
    });
    const truncations: number[] = [];
    const follower = cluster.replica(2);
    const truncateTo = follower.storage.truncateTo.bind(follower.storage);
    follower.storage.truncateTo = (offset: number) => {
      truncations.push(offset);
      truncateTo(offset);
    };
    cluster.run(6000);
    assert.equal(cluster.leaders()[0], 1, 'only node 1 holds epoch 5');
    assert.ok(truncations.includes(2), `truncations ${truncations}`);
    const leader = cluster.replica(1);
    assert.deepStrictEqual(follower.storage.read(0, 100), leader.storage.read(0, 100));
    assert.equal(follower.highWatermark(), leader.storage.endOffset());
  });

  test("a new leader's first entry is Kafka's LeaderChange control record: leader, voters, granting voters", () => {
    const cluster = new Cluster();
    cluster.run(3000);
    const leader = cluster.replica(cluster.leaders()[0] as number);

    const start = leader.storage.entry(leader.storage.endOffsetForEpoch(leader.epoch() - 1).endOffset);
    assert.ok(start?.control, 'the epoch opens with a control entry');
    assert.equal(start.epoch, leader.epoch());
    assert.equal(start.records.length, 1);
    const record = decodeControlRecord(controlKey(ControlRecordType.leaderChange), start.records[0] ?? null);
    assert.equal(record.type, 'LeaderChange');
    if (record.type !== 'LeaderChange') return;
    assert.equal(record.leaderId, leader.nodeId);
    assert.deepStrictEqual(record.voters, [1, 2, 3]);
    assert.ok(record.grantingVoters.includes(leader.nodeId), `granting ${record.grantingVoters}`);
    assert.ok(record.grantingVoters.length >= 2, `granting ${record.grantingVoters}: a majority of 3`);
  });

  test('a proposal of N records takes N offsets and is committed as one batch', () => {
    const cluster = new Cluster();
    cluster.run(3000);
    const leader = cluster.replica(cluster.leaders()[0] as number);
    const records = ['a', 'b', 'c', 'd'].map((text) => Buffer.from(text));
    const { offset } = leader.propose(records);
    assert.equal(leader.storage.endOffset(), offset + 4);
    const next = leader.propose([Buffer.from('e')]);
    assert.equal(next.offset, offset + 4);
    assert.throws(() => leader.propose([]), /at least one record/);
    cluster.run(500);
    for (const replica of cluster.replicas.values()) {
      assert.equal(replica.highWatermark(), offset + 5, `node ${replica.nodeId}`);
      const [committed] = replica.readCommitted(offset, 1);
      assert.equal(committed?.offset, offset);
      assert.deepStrictEqual(
        committed?.records.map((r) => Buffer.from(r).toString()),
        ['a', 'b', 'c', 'd'],
      );
      assert.throws(() => replica.readCommitted(offset + 1, 1), /not the base offset of a batch/);
    }
    assert.throws(() => leader.createSnapshot(offset + 2, Buffer.from('x')), /inside the batch/);
    assert.deepStrictEqual(leader.createSnapshot(offset + 4, Buffer.from('x')), {
      endOffset: offset + 4,
      epoch: leader.epoch(),
    });
  });

  test('a follower behind the log start fetches the snapshot in chunks, then the rest of the log', () => {
    const cluster = new Cluster({ fetchSnapshotBytesMax: 4 }, (id, storage) => {
      if (id !== 3) {
        storage.append(entries(0, 8, 1));
        storage.flush();
        storage.installSnapshot({ endOffset: 6, epoch: 1 }, Buffer.from('snapshot-of-six-entries'));
      }
    });
    cluster.run(6000);
    const leader = cluster.replica(cluster.leaders()[0] as number);
    assert.notEqual(leader.nodeId, 3);
    const follower = cluster.replica(3);
    assert.deepStrictEqual(follower.storage.snapshotId(), { endOffset: 6, epoch: 1 });
    assert.equal(Buffer.from(follower.storage.snapshotBytes() ?? []).toString(), 'snapshot-of-six-entries');
    assert.equal(follower.storage.endOffset(), leader.storage.endOffset());
    assert.equal(follower.highWatermark(), leader.highWatermark());
  });
});

describe('long poll', () => {
  /** A cluster with a leader whose two followers are caught up and whose fetches it holds. */
  function settled(): { cluster: Cluster; leader: RaftReplica; followers: RaftReplica[] } {
    const cluster = new Cluster();
    cluster.run(3000);
    const leader = cluster.replica(cluster.leaders()[0] as number);
    leader.propose([Buffer.from('settle')]);
    cluster.run(200);
    const followers = [...cluster.replicas.values()].filter((r) => r !== leader);
    for (const follower of followers) {
      assert.equal(follower.highWatermark(), leader.highWatermark(), `node ${follower.nodeId} caught up`);
      assert.ok(leader.holdsFetchFrom(follower.nodeId), `the leader holds node ${follower.nodeId}'s fetch`);
    }
    assert.equal(cluster.sent.length, 0, 'nothing in flight while the fetches are held');
    return { cluster, leader, followers };
  }

  const fetchAnswers = (cluster: Cluster): Extract<RaftMessage, { kind: 'FetchResponse' }>[] =>
    cluster.sent.flatMap((sent) => (sent.message.kind === 'FetchResponse' ? [sent.message] : []));

  test('a held fetch is answered when the leader appends, at the same instant', () => {
    const { cluster, leader, followers } = settled();
    const { offset } = leader.propose([Buffer.from('grow')]);
    const answers = fetchAnswers(cluster);
    assert.equal(answers.length, 2);
    for (const answer of answers)
      assert.deepEqual(
        answer.entries.map((e) => e.offset),
        [offset],
      );
    for (const follower of followers) assert.equal(leader.holdsFetchFrom(follower.nodeId), false);
  });

  test('every held fetch is answered when the high watermark advances, within one step', () => {
    const { cluster, leader, followers } = settled();
    const [a, b] = followers as [RaftReplica, RaftReplica];
    /** Delivers the first queued message to `to`. */
    const deliverTo = (to: number): void => {
      const index = cluster.sent.findIndex((sent) => sent.to === to);
      const [sent] = cluster.sent.splice(index, 1);
      assert.ok(sent !== undefined, `a message to ${to}`);
      cluster.replica(to).handle(sent.from, sent.message);
    };
    const { offset } = leader.propose([Buffer.from('commit me')]);
    deliverTo(a.nodeId); // a takes the entry and fetches again
    deliverTo(leader.nodeId); // a's fetch: one follower is no majority, nothing new for a: held
    assert.equal(leader.highWatermark(), offset);
    assert.ok(leader.holdsFetchFrom(a.nodeId));
    deliverTo(b.nodeId);
    deliverTo(leader.nodeId); // b's fetch makes the majority: the high watermark passes the entry
    assert.equal(leader.highWatermark(), offset + 1);
    const answers = cluster.sent.filter((sent) => sent.message.kind === 'FetchResponse');
    assert.deepEqual(answers.map((sent) => sent.to).sort(), [a.nodeId, b.nodeId].sort());
    for (const { message } of answers)
      assert.equal(message.kind === 'FetchResponse' && message.highWatermark, offset + 1);
    cluster.deliver();
    for (const follower of followers) assert.equal(follower.highWatermark(), offset + 1);
  });

  test('a held fetch is answered empty at its deadline, and the follower asks again at once', () => {
    const { cluster, leader } = settled();
    // Every fetch held at this instant: an entry answered, committed, and the next fetches held.
    leader.propose([Buffer.from('now')]);
    cluster.deliver();
    const heldAt = cluster.nowMs;
    const waitMs = leader.config.fetchMaxWaitMs;
    for (let t = 10; t < waitMs + 10; t += 10) {
      cluster.nowMs = heldAt + t;
      leader.tick();
      if (cluster.sent.length > 0) break;
    }
    const answers = fetchAnswers(cluster);
    assert.equal(answers.length, 2);
    assert.ok(
      cluster.nowMs - heldAt >= waitMs && cluster.nowMs - heldAt < waitMs + 20,
      `${cluster.nowMs - heldAt} ms`,
    );
    for (const answer of answers) assert.deepEqual(answer.entries, []);
    cluster.deliver();
    assert.equal(cluster.nowMs - heldAt < waitMs + 20, true);
    assert.equal(cluster.leaders().length, 1);
    for (const replica of cluster.replicas.values()) {
      if (replica !== leader) assert.ok(leader.holdsFetchFrom(replica.nodeId), 'held again');
    }
  });

  test('held fetches fail at once when the leader learns a newer epoch, naming it', () => {
    const { cluster, leader, followers } = settled();
    const [candidate, other] = followers as [RaftReplica, RaftReplica];
    const epoch = leader.epoch();
    leader.handle(candidate.nodeId, {
      kind: 'VoteRequest',
      candidateEpoch: epoch + 1,
      candidateId: candidate.nodeId,
      lastOffsetEpoch: candidate.storage.lastEpoch(),
      lastOffset: candidate.storage.endOffset(),
      preVote: false,
    });
    assert.notEqual(leader.role(), 'leader');
    const answer = cluster.sent.find((s) => s.to === other.nodeId && s.message.kind === 'FetchResponse');
    assert.ok(answer !== undefined, 'the held fetch was answered');
    assert.equal(answer.message.kind === 'FetchResponse' && answer.message.errorCode, 74); // FENCED_LEADER_EPOCH
    assert.equal(answer.message.kind === 'FetchResponse' && answer.message.leaderEpoch, epoch + 1);
    assert.equal(leader.holdsFetchFrom(other.nodeId), false);
  });

  test('a newer fetch from the same follower replaces the held one; maxWaitMs 0 is answered at once', () => {
    const { cluster, leader, followers } = settled();
    const follower = followers[0] as RaftReplica;
    const request = {
      kind: 'FetchRequest' as const,
      fetchId: 1,
      replicaId: follower.nodeId,
      currentLeaderEpoch: leader.epoch(),
      fetchOffset: follower.storage.endOffset(),
      lastFetchedEpoch: follower.storage.lastEpoch(),
      maxWaitMs: leader.config.fetchMaxWaitMs,
    };
    leader.handle(follower.nodeId, request);
    assert.equal(cluster.sent.length, 0, 'the newer fetch is held, the older is dropped without an answer');
    assert.ok(leader.holdsFetchFrom(follower.nodeId));
    leader.handle(follower.nodeId, { ...request, maxWaitMs: 0 });
    assert.equal(fetchAnswers(cluster).length, 1, 'maxWaitMs 0 is answered at once');
  });

  test('requestTimeoutMs must exceed fetchMaxWaitMs', () => {
    assert.throws(
      () => new Cluster({ fetchMaxWaitMs: 500, requestTimeoutMs: 500 }),
      /must exceed fetchMaxWaitMs/,
    );
  });
});
