/**
 * Topic `compression.type` with real clients, run against `kstack up` and against Apache
 * Kafka 4.1.1 (the reference) with the same assertions: confluent_kafka (librdkafka 2.16)
 * produces with every codec into a topic of every compression.type and reads everything
 * back byte for byte; a raw Fetch (our own codecs) checks the codec each batch is stored
 * in; on kstack, kcat (librdkafka 2.0.2) and Kafka's Java console consumer read what kstack
 * recompressed. The config checks compare DescribeConfigs/IncrementalAlterConfigs answers.
 * Beside it, one produce rule both brokers must share: one record batch per partition.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KafkaErrors } from '../../src/protocol/index.ts';
import {
  COMPRESSION_NAMES,
  Compression,
  encodeRecordBatch,
  readBatchHeader,
} from '../../src/records/index.ts';
import { runTool } from '../engine/run-tool.ts';
import { WireClient } from './compression-wire.ts';
import { kstackTarget, referenceTarget } from './targets.ts';

/** How long an altered topic config may take to be described (Kafka: until its broker replays it). */
const CONFIG_VISIBLE_MS = 10_000;

const VENV_PYTHON = join(process.env.HOME ?? '', '.cache', 'kstack', 'venv', 'bin', 'python');
const ROUNDTRIP = fileURLToPath(new URL('./compression-roundtrip.py', import.meta.url));
const CONSOLE_CONSUMER = fileURLToPath(
  new URL('../../reference/bin/kafka-console-consumer', import.meta.url),
);
const KSTACK_PORT = 19713;
/** The reference's controller listens 50 above: 19790, still inside this suite's range. */
const REFERENCE_BASE_PORT = 19740;
const COUNT = 30;
const PRODUCER_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const TOPIC_TYPES = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const CODEC_OF: Record<string, number> = { ...Compression, uncompressed: Compression.none };

/** Every batch header of partition 0, read with raw Fetch requests up to the high watermark. */
async function storedBatches(client: WireClient, topic: string) {
  const headers: ReturnType<typeof readBatchHeader>[] = [];
  let offset = 0n;
  for (;;) {
    const fetched = await client.fetchRaw(topic, offset);
    assert.equal(fetched.errorCode, 0);
    if (offset >= fetched.highWatermark || fetched.records === null) break;
    const bytes = fetched.records;
    for (let pos = 0; pos + 61 <= bytes.length; ) {
      const header = readBatchHeader(bytes, pos);
      if (pos + header.batchLength + 12 > bytes.length) break; // a partial batch at the end
      headers.push(header);
      offset = BigInt(header.baseOffset + header.lastOffsetDelta + 1);
      pos += header.batchLength + 12;
    }
  }
  return headers;
}

type Ranges = Record<string, Record<string, [number, number]>>;

for (const makeTarget of [
  () => kstackTarget(KSTACK_PORT),
  () => referenceTarget(REFERENCE_BASE_PORT, 'kstack-compression-ref-'),
]) {
  const target = makeTarget();
  describe(`compression.type against ${target.title}`, { timeout: 240_000 }, () => {
    let client: WireClient;
    let ranges: Ranges;
    const prefix = 'cmp';

    before(async () => {
      await target.start();
      client = await WireClient.connect(target.port);
    });
    after(async () => {
      client?.close();
      await target.stop();
    });

    it('confluent_kafka: every codec into every compression.type comes back byte for byte', async () => {
      const result = await runTool(
        VENV_PYTHON,
        [ROUNDTRIP, `127.0.0.1:${target.port}`, prefix, String(COUNT)],
        {
          timeoutMs: 120_000,
        },
      );
      const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
        ok: boolean;
        ranges: Ranges;
      };
      assert.equal(summary.ok, true, `${result.stdout}\n${result.stderr}`);
      ranges = summary.ranges;
    });

    it('raw Fetch: each batch is stored in the topic codec (producer: the producer’s)', async () => {
      assert.ok(ranges, 'the round trip ran first');
      for (const type of [...TOPIC_TYPES, 'lat']) {
        const topic = `${prefix}-${type}`;
        const batches = await storedBatches(client, topic);
        assert.ok(batches.length >= PRODUCER_CODECS.length, `${topic}: ${batches.length} batches`);
        for (const header of batches) {
          const sent = Object.entries(ranges[topic]!).find(
            ([, [first, last]]) => header.baseOffset >= first && header.baseOffset <= last,
          )?.[0];
          assert.ok(sent !== undefined, `${topic}: batch at ${header.baseOffset} from no producer`);
          const wanted =
            type === 'producer' ? CODEC_OF[sent]! : type === 'lat' ? Compression.gzip : CODEC_OF[type]!;
          assert.equal(
            COMPRESSION_NAMES[header.attributes & 7],
            COMPRESSION_NAMES[wanted],
            `${topic}: batch at ${header.baseOffset} sent in ${sent}`,
          );
          assert.equal((header.attributes & 0x08) !== 0, type === 'lat', `${topic}: timestamp type`);
          if (sent === 'gzip' || sent === 'lz4') {
            assert.ok(
              header.producerId >= 0 && header.baseSequence >= 0,
              `${topic}: idempotent batch keeps its ids`,
            );
          }
        }
      }
    });

    it('configs: levels described with Kafka’s defaults; bad values refused with Kafka’s messages', async () => {
      const described = await client.describeConfigs(2, `${prefix}-zstd`, null);
      const values = Object.fromEntries(
        described.configs
          .filter((c) => c.name.startsWith('compression.'))
          .map((c) => [c.name, [c.value, c.configSource, c.configType]]),
      );
      assert.deepEqual(values, {
        'compression.type': ['zstd', 1, 2],
        'compression.gzip.level': ['-1', 5, 3],
        'compression.lz4.level': ['9', 5, 3],
        'compression.zstd.level': ['3', 5, 3],
      });
      const cases: [string, string, string | null][] = [
        [
          'compression.type',
          'none',
          'Invalid value none for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer',
        ],
        ['compression.type', ' lz4 ', null],
        [
          'compression.gzip.level',
          '0',
          'Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1',
        ],
        ['compression.gzip.level', '-1', null],
        [
          'compression.gzip.level',
          'x',
          'Invalid value x for configuration compression.gzip.level: Not a number of type INT',
        ],
        [
          'compression.lz4.level',
          '18',
          'Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17',
        ],
        [
          'compression.zstd.level',
          '-131073',
          'Invalid value -131073 for configuration compression.zstd.level: Value must be at least -131072',
        ],
        ['compression.zstd.level', '-131072', null],
        ['compression.snappy.level', '1', 'Unknown topic config name: compression.snappy.level'],
      ];
      for (const [name, value, message] of cases) {
        const answer = await client.alterConfigs(2, `${prefix}-zstd`, { [name]: value }, true);
        assert.deepEqual(
          [answer.errorCode, answer.errorMessage],
          [message === null ? 0 : 40, message],
          `${name}=${value}`,
        );
      }
      const set = await client.alterConfigs(2, `${prefix}-zstd`, { 'compression.zstd.level': '19' });
      assert.equal(set.errorCode, 0);
      // Kafka applies an AlterConfigs through its metadata log: a broker describes the new value once
      // it has replayed it, so ask again until it shows (kstack answers at once).
      const deadline = Date.now() + CONFIG_VISIBLE_MS;
      let shown: unknown[][] = [];
      for (;;) {
        const after = await client.describeConfigs(2, `${prefix}-zstd`, ['compression.zstd.level']);
        shown = after.configs.map((c) => [c.value, c.configSource]);
        if (shown[0]?.[0] === '19' || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(shown, [['19', 1]]);
    });

    it('a produce holding two batches for one partition: INVALID_RECORD, nothing written', async () => {
      const topic = `${prefix}-two-batches`;
      assert.equal((await client.createTopic(topic)).errorCode, 0);
      const batch = (value: string) =>
        encodeRecordBatch({ records: [{ timestamp: Date.now(), key: null, value: Buffer.from(value) }] });
      // Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a topic its metadata cache does not hold yet,
      // before it looks at the records (seen once on the reference): wait until a fetch of the
      // fresh topic is answered without error, then send the two batches.
      const deadline = Date.now() + 60_000;
      while ((await client.fetchRaw(topic, 0n)).errorCode !== 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const two = Buffer.concat([await batch('first'), await batch('second')]);
      const refused = await client.produce(topic, two);
      assert.equal(refused.errorCode, KafkaErrors.INVALID_RECORD.code, String(refused.errorMessage));
      const fetched = await client.fetchRaw(topic, 0n);
      assert.deepEqual([fetched.errorCode, fetched.highWatermark], [0, 0n]);
      const accepted = await client.produce(topic, await batch('one'));
      assert.deepEqual([accepted.errorCode, accepted.baseOffset], [0, 0n]);
    });

    if (target.kind === 'kstack') {
      it('kcat (librdkafka 2.0.2) reads every recompressed topic', async () => {
        for (const type of [...TOPIC_TYPES, 'lat']) {
          const topic = `${prefix}-${type}`;
          const read = await runTool('kcat', [
            '-b',
            `127.0.0.1:${target.port}`,
            '-C',
            '-t',
            topic,
            '-o',
            'beginning',
            '-e',
            '-f',
            '%o %k\n',
          ]);
          assert.equal(read.code, 0, read.stderr);
          const expected = PRODUCER_CODECS.flatMap((codec, c) =>
            Array.from({ length: COUNT }, (_, i) => `${c * COUNT + i} k-${codec}-${i}`),
          );
          assert.deepEqual(read.stdout.trim().split('\n'), expected, topic);
        }
      });

      it('Kafka’s Java console consumer reads every recompressed topic', async () => {
        const total = (TOPIC_TYPES.length + 1) * PRODUCER_CODECS.length * COUNT;
        const read = await runTool(
          CONSOLE_CONSUMER,
          [
            '--bootstrap-server',
            `127.0.0.1:${target.port}`,
            '--include',
            `${prefix}-.*`,
            '--from-beginning',
            '--max-messages',
            String(total),
            '--timeout-ms',
            '30000',
            '--group',
            `${prefix}-java`,
            '--property',
            'print.key=true',
            '--property',
            'print.value=false',
          ],
          { timeoutMs: 90_000 },
        );
        assert.match(read.stderr, new RegExp(`Processed a total of ${total} messages`), read.stderr);
        const keys = read.stdout.trim().split('\n');
        for (const codec of PRODUCER_CODECS) {
          assert.equal(keys.filter((k) => k === `k-${codec}-0`).length, TOPIC_TYPES.length + 1, codec);
        }
      });
    }
  });
}
