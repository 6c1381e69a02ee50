import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CrashFs } from '../../src/raft/sim/crash-fs.ts';
import { SeededRandom } from '../../src/raft/sim/random.ts';
import { INITIAL_QUORUM_STATE, RaftStorage, RaftStorageError } from '../../src/raft/storage.ts';
import type { LogEntry } from '../../src/raft/types.ts';
import { nodeFs, type StorageFs } from '../../src/storage/fs.ts';
import { MemoryFs } from '../../src/storage/memory-fs.ts';

// RaftStorage: the same tests on the real filesystem and on MemoryFs; crash behaviour on MemoryFs
// (loss of unflushed bytes) and CrashFs (torn tails).

function entry(offset: number, epoch: number, text = `r${offset}`): LogEntry {
  return { offset, epoch, records: [Buffer.from(text)], control: false };
}

function entries(from: number, to: number, epoch: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (let offset = from; offset < to; offset++) out.push(entry(offset, epoch));
  return out;
}

const targets: { name: string; make: () => { fs: StorageFs; dir: string; done: () => void } }[] = [
  {
    name: 'node:fs',
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), 'kstack-raft-'));
      return {
        fs: nodeFs,
        dir: join(dir, 'meta'),
        done: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  { name: 'MemoryFs', make: () => ({ fs: new MemoryFs(), dir: '/meta', done: () => {} }) },
];

for (const target of targets) {
  describe(`RaftStorage on ${target.name}`, () => {
    test('quorum state round-trips as Kafka-style JSON and starts empty', () => {
      const { fs, dir, done } = target.make();
      try {
        const storage = new RaftStorage(fs, dir);
        assert.deepStrictEqual(storage.readQuorumState(), INITIAL_QUORUM_STATE);
        storage.writeQuorumState({ leaderEpoch: 5, leaderId: 2, votedId: 3 });
        storage.close();
        const again = new RaftStorage(fs, dir);
        assert.deepStrictEqual(again.readQuorumState(), { leaderEpoch: 5, leaderId: 2, votedId: 3 });
        const json = JSON.parse(fs.readFile(join(dir, 'quorum-state'))?.toString('utf8') ?? '{}');
        assert.equal(json.leaderEpoch, 5);
        assert.equal(json.votedId, 3);
        assert.equal(json.data_version, 1);
        again.close();
      } finally {
        done();
      }
    });

    test('a quorum-state file that is not JSON is an error naming the file', () => {
      const { fs, dir, done } = target.make();
      try {
        fs.mkdirp(dir);
        fs.writeFileAtomic(join(dir, 'quorum-state'), Buffer.from('{"leaderEpoch": "x"'));
        const storage = new RaftStorage(fs, dir);
        assert.throws(
          () => storage.readQuorumState(),
          (error: Error) => error instanceof RaftStorageError && error.message.includes('quorum-state'),
        );
        storage.close();
      } finally {
        done();
      }
    });

    test('append, flush, reopen; truncation is durable; epochs map to end offsets', () => {
      const { fs, dir, done } = target.make();
      try {
        const storage = new RaftStorage(fs, dir);
        storage.append([...entries(0, 3, 1), ...entries(3, 5, 3)]);
        storage.flush();
        assert.equal(storage.endOffset(), 5);
        assert.equal(storage.flushedEndOffset(), 5);
        assert.deepStrictEqual(storage.endOffsetForEpoch(1), { epoch: 1, endOffset: 3 });
        assert.deepStrictEqual(storage.endOffsetForEpoch(2), { epoch: 1, endOffset: 3 });
        assert.deepStrictEqual(storage.endOffsetForEpoch(3), { epoch: 3, endOffset: 5 });
        assert.deepStrictEqual(storage.endOffsetForEpoch(9), { epoch: 3, endOffset: 5 });
        storage.truncateTo(4);
        storage.append([entry(4, 4, 'new')]);
        storage.flush();
        storage.close();
        const again = new RaftStorage(fs, dir);
        assert.equal(again.endOffset(), 5);
        assert.equal(Buffer.from(again.entry(4)?.records[0] ?? []).toString(), 'new');
        assert.equal(again.entry(4)?.epoch, 4);
        assert.equal(again.lastEpoch(), 4);
        assert.equal(again.recovery.truncatedBytes, 0);
        again.close();
      } finally {
        done();
      }
    });

    test('an append out of sequence is refused', () => {
      const { fs, dir, done } = target.make();
      try {
        const storage = new RaftStorage(fs, dir);
        storage.append(entries(0, 2, 2));
        assert.throws(() => storage.append([entry(5, 2)]), /append at offset 5, but the log ends at 2/);
        assert.throws(() => storage.append([entry(2, 1)]), /append of epoch 1 after epoch 2/);
        storage.close();
      } finally {
        done();
      }
    });

    test('a batch of N records takes N offsets; reads and truncations start at batch boundaries', () => {
      const { fs, dir, done } = target.make();
      try {
        const storage = new RaftStorage(fs, dir);
        const batch = (offset: number, epoch: number, count: number): LogEntry => ({
          offset,
          epoch,
          records: Array.from({ length: count }, (_, i) => Buffer.from(`b${offset}.${i}`)),
          control: false,
        });
        storage.append([batch(0, 1, 3), batch(3, 1, 1), batch(4, 2, 5)]);
        assert.equal(storage.endOffset(), 9);
        assert.throws(() => storage.append([batch(5, 2, 1)]), /append at offset 5, but the log ends at 9/);
        assert.throws(() => storage.append([batch(9, 2, 0)]), /append of an empty batch at offset 9/);
        storage.flush();
        // Every offset finds the batch holding it.
        assert.deepStrictEqual(
          Array.from({ length: 9 }, (_, o) => storage.entry(o)?.offset),
          [0, 0, 0, 3, 4, 4, 4, 4, 4],
        );
        assert.equal(storage.entry(9), undefined);
        assert.deepStrictEqual(
          storage.read(3, 5).map((e) => e.offset),
          [3, 4],
        );
        assert.deepStrictEqual(storage.read(9, 5), []);
        assert.throws(() => storage.read(2, 5), /read at 2, which is not the base offset of a batch/);
        assert.deepStrictEqual(storage.endOffsetForEpoch(1), { epoch: 1, endOffset: 4 });
        assert.throws(
          () => storage.truncateTo(6),
          /truncation at 6, which is not the base offset of a batch/,
        );
        storage.close();
        const again = new RaftStorage(fs, dir);
        assert.equal(again.endOffset(), 9);
        assert.deepStrictEqual(
          again.read(0, 10).map((e) => e.records.map((r) => Buffer.from(r).toString())),
          [['b0.0', 'b0.1', 'b0.2'], ['b3.0'], ['b4.0', 'b4.1', 'b4.2', 'b4.3', 'b4.4']],
        );
        again.truncateTo(3);
        assert.equal(again.endOffset(), 3);
        assert.equal(again.lastEpoch(), 1);
        // A snapshot that ends inside a local batch does not agree with the log: the log goes.
        again.append([batch(3, 3, 4)]);
        again.installSnapshot({ endOffset: 5, epoch: 3 }, Buffer.from('state@5'));
        assert.equal(again.logStartOffset(), 5);
        assert.equal(again.endOffset(), 5);
        again.close();
      } finally {
        done();
      }
    });

    test('a directory holding the earlier raft.log format is refused, naming it', () => {
      const { fs, dir, done } = target.make();
      try {
        fs.mkdirp(dir);
        fs.writeFileAtomic(join(dir, 'raft.log'), Buffer.from([0, 0, 0, 13]));
        assert.throws(
          () => new RaftStorage(fs, dir),
          (error: unknown) =>
            error instanceof RaftStorageError &&
            error.message.includes(`${dir} holds raft.log`) &&
            error.message.includes(`delete ${dir}`),
        );
      } finally {
        done();
      }
    });

    test('a snapshot drops the log below it, survives reopen, and a disagreeing log is replaced', () => {
      const { fs, dir, done } = target.make();
      try {
        const storage = new RaftStorage(fs, dir);
        storage.append([...entries(0, 4, 1), ...entries(4, 8, 2)]);
        storage.flush();
        storage.installSnapshot({ endOffset: 6, epoch: 2 }, Buffer.from('state@6'));
        assert.equal(storage.logStartOffset(), 6);
        assert.equal(storage.endOffset(), 8);
        assert.throws(() => storage.read(5, 1), /outside the log/);
        storage.close();
        const again = new RaftStorage(fs, dir);
        assert.equal(again.logStartOffset(), 6);
        assert.equal(again.endOffset(), 8);
        assert.deepStrictEqual(again.snapshotId(), { endOffset: 6, epoch: 2 });
        assert.equal(Buffer.from(again.snapshotBytes() ?? []).toString(), 'state@6');
        assert.deepStrictEqual(again.endOffsetForEpoch(2), { epoch: 2, endOffset: 8 });
        // A snapshot from the leader whose last epoch differs from ours at its end: the log goes.
        again.installSnapshot({ endOffset: 7, epoch: 5 }, Buffer.from('state@7'));
        assert.equal(again.logStartOffset(), 7);
        assert.equal(again.endOffset(), 7);
        assert.equal(again.lastEpoch(), 5);
        assert.equal(fs.list(dir).filter((name) => name.endsWith('.checkpoint')).length, 1);
        again.close();
      } finally {
        done();
      }
    });
  });
}

describe('crashes', () => {
  test('MemoryFs power loss drops unflushed entries, keeps flushed ones', () => {
    const fs = new MemoryFs();
    const storage = new RaftStorage(fs, '/meta');
    storage.append(entries(0, 3, 1));
    storage.flush();
    storage.append(entries(3, 6, 1));
    fs.crash();
    const again = new RaftStorage(fs, '/meta');
    assert.equal(again.endOffset(), 3);
  });

  test('every torn tail is cut back to whole, checksummed entries', () => {
    let torn = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = new SeededRandom(seed);
      const fs = new CrashFs();
      const storage = new RaftStorage(fs, '/meta');
      storage.append(entries(0, 4, 1));
      storage.flush();
      storage.append(entries(4, 4 + random.between(1, 6), 2));
      fs.crash(random, true);
      const again = new RaftStorage(fs, '/meta');
      if (again.recovery.truncatedBytes > 0) torn++;
      const end = again.endOffset();
      assert.ok(end >= 4 && end <= 10, `seed ${seed}: end ${end}`);
      for (let offset = 0; offset < end; offset++) {
        assert.equal(
          Buffer.from(again.entry(offset)?.records[0] ?? []).toString(),
          `r${offset}`,
          `seed ${seed}`,
        );
      }
      // What was cut is gone for good: a reopen finds a clean log.
      again.close();
      assert.equal(new RaftStorage(fs, '/meta').recovery.truncatedBytes, 0, `seed ${seed}`);
    }
    assert.ok(torn > 50, `only ${torn} of 200 crashes left a torn tail`);
  });
});
