// Unit tests of the pieces under the log: config parsing, the epoch cache, MemoryFs crashes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_LOG_CONFIG,
  InvariantViolation,
  logConfigFromProperties,
  ManualClock,
  MemoryFs,
  resolveLogConfig,
  SegmentedPartitionLog,
  type StorageFs,
} from '../../src/storage/index.ts';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.ts';
import { appendLeader, batch, implementations } from './helpers.ts';

describe('log config', () => {
  test('Kafka property names map to fields; Long.MAX_VALUE means never', () => {
    const c = logConfigFromProperties({
      'segment.bytes': '1048576',
      'cleanup.policy': 'delete,compact',
      'flush.messages': '9223372036854775807',
      'retention.ms': '-1',
      'message.timestamp.type': 'LogAppendTime',
    });
    assert.deepEqual(c, {
      segmentBytes: 1048576,
      cleanupPolicy: 'compact,delete',
      flushMessages: Number.POSITIVE_INFINITY,
      retentionMs: -1,
      messageTimestampType: 'LogAppendTime',
    });
    assert.throws(() => logConfigFromProperties({ 'cleanup.policy': 'shred' }), /cleanup.policy/);
    assert.throws(() => logConfigFromProperties({ 'segment.ms': 'soon' }), /segment.ms/);
    assert.throws(() => resolveLogConfig({ segmentBytes: 10 }), /segment.bytes/);
    assert.equal(DEFAULT_LOG_CONFIG.segmentBytes, 1073741824);
  });
});

describe('leader epoch cache', () => {
  test('assign, persist, reload, truncate from both ends', () => {
    const fs = new MemoryFs();
    fs.mkdirp('/p');
    const cache = new LeaderEpochCache(fs, '/p/leader-epoch-checkpoint');
    cache.assign(1, 0);
    cache.assign(1, 5); // same epoch: ignored
    cache.assign(3, 10);
    cache.assign(4, 20);
    assert.throws(() => cache.assign(2, 30), InvariantViolation);
    assert.equal(fs.readFile('/p/leader-epoch-checkpoint')!.toString(), '0\n3\n1 0\n3 10\n4 20\n');
    const reloaded = new LeaderEpochCache(fs, '/p/leader-epoch-checkpoint');
    assert.ok(reloaded.load());
    assert.equal(reloaded.epochForOffset(15), 3);
    reloaded.truncateFromStart(12);
    assert.deepEqual(reloaded.entries(), [
      { epoch: 3, startOffset: 12 },
      { epoch: 4, startOffset: 20 },
    ]);
    reloaded.truncateFromEnd(20);
    assert.deepEqual(reloaded.entries(), [{ epoch: 3, startOffset: 12 }]);
    fs.writeFileAtomic('/p/leader-epoch-checkpoint', Buffer.from('0\n2\n5 10\n4 20\n'));
    assert.ok(
      !new LeaderEpochCache(fs, '/p/leader-epoch-checkpoint').load(),
      'epochs going back are rejected',
    );
  });
});

describe('leader epoch cache: empty epochs', () => {
  test('an older epoch appended where newer epochs start drops them (they hold no record), as Kafka does', () => {
    const fs = new MemoryFs();
    fs.mkdirp('/p');
    const cache = new LeaderEpochCache(fs, '/p/leader-epoch-checkpoint');
    // A wiped node led epoch 1 from a replayed image with an empty log, then follows epoch 2's leader
    // and copies its batches from offset 0, the first of epoch 0.
    cache.assign(1, 0);
    cache.assign(0, 0);
    assert.deepEqual(cache.entries(), [{ epoch: 0, startOffset: 0 }]);
    cache.assign(3, 10);
    cache.assign(2, 10);
    cache.assign(4, 20);
    assert.deepEqual(cache.entries(), [
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 10 },
      { epoch: 4, startOffset: 20 },
    ]);
    assert.equal(fs.readFile('/p/leader-epoch-checkpoint')!.toString(), '0\n3\n0 0\n2 10\n4 20\n');
    // Epoch 4 holds records from 20: an older epoch after them is still refused.
    assert.throws(() => cache.assign(3, 25), InvariantViolation);
  });
});

describe('MemoryFs power loss', () => {
  test('a crash keeps what was flushed and recovery yields a valid prefix', async () => {
    const h = implementations.find((i) => i.name === 'memory')!.create();
    const fs = h.fs as MemoryFs;
    let log = h.open();
    for (let i = 0; i < 4; i++) appendLeader(log, await batch(3));
    log.flush();
    for (let i = 0; i < 4; i++) appendLeader(log, await batch(3));
    fs.crash();
    log = h.open();
    assert.equal(log.logEndOffset, 12, 'unflushed appends are lost, flushed ones kept');
    assert.equal(appendLeader(log, await batch(1)).baseOffset, 12);
    log.close();
  });
});

describe('new partition', () => {
  test('opening a fresh log and taking leadership costs one atomic file write; a crash then loses nothing', async () => {
    const fs = new MemoryFs();
    const atomicWrites: string[] = [];
    const counting: StorageFs = {
      mkdirp: (path) => fs.mkdirp(path),
      list: (path) => fs.list(path),
      exists: (path) => fs.exists(path),
      open: (path) => fs.open(path),
      size: (fd) => fs.size(fd),
      write: (fd, buf, offset, length, position) => fs.write(fd, buf, offset, length, position),
      read: (fd, buf, offset, length, position) => fs.read(fd, buf, offset, length, position),
      truncate: (fd, length) => fs.truncate(fd, length),
      fsync: (fd) => fs.fsync(fd),
      close: (fd) => fs.close(fd),
      rename: (from, to) => fs.rename(from, to),
      unlink: (path) => fs.unlink(path),
      removeTree: (path) => fs.removeTree(path),
      readFile: (path) => fs.readFile(path),
      writeFileAtomic: (path, data) => {
        atomicWrites.push(path.slice(path.lastIndexOf('/') + 1));
        fs.writeFileAtomic(path, data);
      },
    };
    const open = () =>
      new SegmentedPartitionLog({
        fs: counting,
        clock: new ManualClock(),
        dir: '/d',
        topic: 't',
        partition: 0,
      });
    let log = open();
    log.assignEpochStartOffset(3, log.logEndOffset);
    // Each atomic write is two fsyncs on disk (file and directory), on the broker's event loop.
    assert.deepEqual(atomicWrites, ['leader-epoch-checkpoint']);
    fs.crash();
    log = open();
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.highWatermark, 0);
    // As in Kafka's recovery, an epoch starting at the log end (no record yet) is dropped;
    // the broker assigns it again when it takes leadership.
    assert.deepEqual(log.epochEntries(), []);
    log.assignEpochStartOffset(3, log.logEndOffset);
    assert.equal(appendLeader(log, await batch(2), 3).baseOffset, 0);
    log.flush();
    fs.crash();
    log = open();
    assert.equal(log.logEndOffset, 2, 'a flushed append survives a crash');
    assert.deepEqual(log.epochEntries(), [{ epoch: 3, startOffset: 0 }]);
    log.close();
  });

  test('a crash right after a fresh log opened reopens it empty', () => {
    const fs = new MemoryFs();
    const open = () =>
      new SegmentedPartitionLog({ fs, clock: new ManualClock(), dir: '/d', topic: 't', partition: 0 });
    open();
    fs.crash();
    const log = open();
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.logStartOffset, 0);
    assert.equal(log.latestEpoch(), -1);
    log.close();
  });
});
