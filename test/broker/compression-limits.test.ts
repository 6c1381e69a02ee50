/**
 * Limits of broker-side recompression against a real `kstack up` process: decompression
 * bombs of every codec are refused with MESSAGE_TOO_LARGE naming DECOMPRESSED_BATCH_BYTES_MAX
 * while the broker's peak memory stays bounded and it keeps serving; a bad CRC is refused
 * before anything is rewritten; max.message.bytes holds before and after recompression.
 * (Apache Kafka, sent a 900 KB gzip batch holding 900 MiB for an lz4 topic, ran out of its
 * 1 GiB heap and stopped: this suite runs against kstack only.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  BATCH_HEADER_BYTES,
  Compression,
  decodeRecordBatches,
  encodeRecordBatch,
  writeBatchCrc,
  writeBatchHeader,
} from '../../src/records/index.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
import { gzipMembersBomb, lz4Bomb, snappyDeclaredBomb, zstdRleBomb } from '../records/bombs.ts';
import { WireClient } from './compression-wire.ts';

const PORT = 19714;
const MIB = 1024 * 1024;
const MESSAGE_TOO_LARGE = 10;
const CORRUPT_MESSAGE = 2;
/** What a bomb may add to the broker's peak resident memory: the 256 MiB bound plus slack. */
const PEAK_GROWTH_MAX_BYTES = 512 * MIB;

const broker = new BrokerProcess(PORT);
let client: WireClient;

/** A one-record batch whose records section is `body` as given, with a valid CRC. */
function batchAround(codec: number, body: Buffer): Buffer {
  const out = Buffer.alloc(BATCH_HEADER_BYTES + body.length);
  const now = Date.now();
  writeBatchHeader(out, 0, {
    baseOffset: 0,
    batchLength: out.length - 12,
    partitionLeaderEpoch: -1,
    magic: 2,
    crc: 0,
    attributes: codec,
    lastOffsetDelta: 0,
    baseTimestamp: now,
    maxTimestamp: now,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: 1,
  });
  body.copy(out, BATCH_HEADER_BYTES);
  writeBatchCrc(out, 0, out.length);
  return out;
}

/** The broker process's peak resident memory so far (VmHWM), in bytes. */
function peakResidentBytes(): number {
  const status = readFileSync(`/proc/${broker.pid}/status`, 'utf8');
  const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  assert.ok(kib, 'VmHWM in /proc status');
  return Number(kib) * 1024;
}

describe('recompression limits against kstack up', { timeout: 180_000 }, () => {
  before(async () => {
    await broker.start();
    client = await WireClient.connect(PORT);
    const big = { 'max.message.bytes': String(10 * MIB) };
    for (const [name, configs] of Object.entries({
      'limits-gzip': { 'compression.type': 'gzip', ...big },
      'limits-zstd': { 'compression.type': 'zstd', ...big },
      'limits-lz4': { 'compression.type': 'lz4', ...big },
      'limits-uncompressed': { 'compression.type': 'uncompressed' },
    })) {
      assert.equal((await client.createTopic(name, configs)).errorCode, 0);
    }
  });
  after(async () => {
    client?.close();
    assert.equal(await broker.stop(), 0, broker.output);
    broker.removeData();
  });

  it('bombs of every codec answer MESSAGE_TOO_LARGE; peak memory stays bounded', async () => {
    const before = peakResidentBytes();
    const bombs: [string, number, Buffer, string][] = [
      ['zstd: 8 GiB in 256 KiB', Compression.zstd, zstdRleBomb(8 * 1024 * MIB), 'limits-gzip'],
      ['lz4: 2 GiB in 8 MiB', Compression.lz4, lz4Bomb(512), 'limits-zstd'],
      ['gzip: 1 GiB in 1 MiB', Compression.gzip, gzipMembersBomb(64 * MIB, 16), 'limits-lz4'],
      ['snappy: declares 4 GiB', Compression.snappy, snappyDeclaredBomb(2 ** 32 - 1), 'limits-lz4'],
    ];
    for (const [label, codec, body, topic] of bombs) {
      const started = Date.now();
      const answer = await client.produce(topic, batchAround(codec, body));
      assert.equal(answer.errorCode, MESSAGE_TOO_LARGE, `${label}: ${answer.errorMessage}`);
      assert.match(answer.errorMessage ?? '', /DECOMPRESSED_BATCH_BYTES_MAX/, label);
      console.log(`${label}: refused in ${Date.now() - started} ms`);
    }
    const growth = peakResidentBytes() - before;
    console.log(`broker peak resident memory grew by ${(growth / MIB).toFixed(0)} MiB`);
    assert.ok(growth < PEAK_GROWTH_MAX_BYTES, `peak grew by ${growth} bytes`);
    for (const topic of ['limits-gzip', 'limits-zstd', 'limits-lz4']) {
      const fetched = await client.fetchRaw(topic, 0n);
      assert.equal(fetched.highWatermark, 0n, `${topic}: nothing was appended`);
    }
  });

  it('the broker keeps serving: a normal batch is recompressed and reads back', async () => {
    const value = Buffer.from('after the bombs '.repeat(100));
    const batch = await encodeRecordBatch({
      compression: Compression.gzip,
      records: [{ timestamp: Date.now(), key: Buffer.from('k'), value }],
    });
    const answer = await client.produce('limits-lz4', batch);
    assert.equal(answer.errorCode, 0, answer.errorMessage ?? '');
    const fetched = await client.fetchRaw('limits-lz4', answer.baseOffset);
    const [stored] = await decodeRecordBatches(fetched.records!);
    assert.equal(stored!.header.attributes & 7, Compression.lz4);
    assert.deepEqual(stored!.records[0]!.value, value);
  });

  it('a bad CRC is CORRUPT_MESSAGE before anything is rewritten', async () => {
    const batch = await encodeRecordBatch({
      compression: Compression.none,
      records: [{ timestamp: Date.now(), key: null, value: Buffer.from('x') }],
    });
    batch[batch.length - 1]! ^= 0xff;
    const hw = (await client.fetchRaw('limits-gzip', 0n)).highWatermark;
    const answer = await client.produce('limits-gzip', batch);
    assert.equal(answer.errorCode, CORRUPT_MESSAGE);
    assert.equal((await client.fetchRaw('limits-gzip', 0n)).highWatermark, hw);
  });

  it('max.message.bytes: checked on the batch as sent and on the batch as rebuilt (as Kafka)', async () => {
    const sentTooBig = await encodeRecordBatch({
      compression: Compression.none,
      records: [{ timestamp: Date.now(), key: null, value: Buffer.alloc(11 * MIB, 1) }],
    });
    assert.equal((await client.produce('limits-gzip', sentTooBig)).errorCode, MESSAGE_TOO_LARGE);
    // 2 MiB of zeros is 2 KiB in gzip, but 2 MiB once stored uncompressed (limit 1 MiB).
    const growsTooBig = await encodeRecordBatch({
      compression: Compression.gzip,
      records: [{ timestamp: Date.now(), key: null, value: Buffer.alloc(2 * MIB) }],
    });
    assert.ok(growsTooBig.length < 64 * 1024);
    const answer = await client.produce('limits-uncompressed', growsTooBig);
    assert.equal(answer.errorCode, MESSAGE_TOO_LARGE, answer.errorMessage ?? '');
    assert.equal((await client.fetchRaw('limits-uncompressed', 0n)).highWatermark, 0n);
  });
});
