/**
 * Kafka's own code reads kstack's metadata records: a metadata log written by kstack (per epoch a
 * LeaderChange control batch, then v2 batches of every record kind), appended through the project's
 * partition log (src/storage) into `__cluster_metadata-0/` with small segments, is dumped segment by
 * segment by Apache Kafka 4.1.1's `kafka-dump-log --cluster-metadata-decoder`
 * (kafka.tools.DumpLogSegments, from the reference's jars), and every payload it prints is compared
 * with what Kafka's JSON of the record must be, written here from Kafka's record definitions (field
 * names, which tagged fields appear, the version written). Records are random, from the printed
 * property seed.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { encodeMetadataBatch, type MetadataBatch } from '../../src/metadata/batch.ts';
import type { KraftMetadataRecord } from '../../src/metadata/codec.ts';
import { encodeControlBatch } from '../../src/metadata/control-records.ts';
import { openFilePartitionLog, systemClock } from '../../src/storage/index.ts';
import { propertySeed } from '../property-seed.ts';
import { recordArbitraries } from './arbitraries.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** One JVM start and a few hundred records: seconds; generous for a loaded machine. */
const TOOL_TIMEOUT_MS = 120_000;
const RECORDS_PER_KIND = 8;
const RECORDS_PER_BATCH = 10;
/** segment.bytes of the test's metadata log: small, so that it rolls several segments. */
const SEGMENT_BYTES = 2048;

const dir = mkdtempSync(join(tmpdir(), 'kstack-metadata-dump-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function dumpLog(files: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['kafka.tools.DumpLogSegments', '--cluster-metadata-decoder', '--files', files.join(',')],
      {
        timeout: TOOL_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        // Kafka prints record strings as they are: UTF-8 whatever the machine's locale.
        env: { ...process.env, KAFKA_OPTS: '-Dfile.encoding=UTF-8 -Dsun.stdout.encoding=UTF-8' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Kafka's MetadataRecordType name: TopicRecord → TOPIC_RECORD. */
function kafkaTypeName(type: string): string {
  return type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function bytesJson(base64: string): string {
  return Buffer.from(base64, 'base64').toString('base64');
}

/**
 * What Kafka's generated JsonConverter prints for the record (`{"type","version","data"}`): every
 * field of the version, tagged fields only when not at their default. kstack-owned tags are unknown
 * to Kafka and not printed.
 */
function kafkaJson(record: KraftMetadataRecord): {
  type: string;
  version: number;
  data: Record<string, unknown>;
} {
  const type = kafkaTypeName(record.type);
  switch (record.type) {
    case 'RegisterBrokerRecord': {
      const endPoints = record.endpoints ?? [
        { name: 'PLAINTEXT', host: record.host, port: record.port, securityProtocol: 0 },
      ];
      return {
        type,
        version: 3,
        data: {
          brokerId: record.brokerId,
          isMigratingZkBroker: false,
          incarnationId: 'AAAAAAAAAAAAAAAAAAAAAA',
          brokerEpoch: record.brokerEpoch ?? -1,
          endPoints,
          features: [],
          rack: record.rack,
          fenced: record.fenced === true,
          inControlledShutdown: false,
        },
      };
    }
    case 'PartitionRecord':
      return {
        type,
        version: 2,
        data: {
          partitionId: record.partitionId,
          topicId: record.topicId,
          replicas: record.replicas,
          isr: record.isr,
          removingReplicas: record.removingReplicas ?? [],
          addingReplicas: record.addingReplicas ?? [],
          leader: record.leader,
          ...(record.leaderRecoveryState === undefined
            ? {}
            : { leaderRecoveryState: record.leaderRecoveryState }),
          leaderEpoch: record.leaderEpoch,
          partitionEpoch: record.partitionEpoch,
          directories: [],
          ...(record.elr === undefined ? {} : { eligibleLeaderReplicas: record.elr }),
          ...(record.lastKnownElr === undefined ? {} : { lastKnownElr: record.lastKnownElr }),
        },
      };
    case 'PartitionChangeRecord': {
      const { type: _type, elr, ...fields } = record;
      return {
        type,
        version: 2,
        data: { ...fields, ...(elr === undefined ? {} : { eligibleLeaderReplicas: elr }) },
      };
    }
    case 'UserScramCredentialRecord':
      return {
        type,
        version: 0,
        data: {
          name: record.name,
          mechanism: record.mechanism,
          salt: bytesJson(record.salt),
          storedKey: bytesJson(record.storedKey),
          serverKey: bytesJson(record.serverKey),
          iterations: record.iterations,
        },
      };
    default: {
      // Every other record: kstack's fields are Kafka's, by the same names.
      const { type: _type, ...data } = record;
      return { type, version: 0, data };
    }
  }
}

type Batch =
  | ({ kind: 'data' } & MetadataBatch)
  | {
      kind: 'control';
      baseOffset: number;
      epoch: number;
      leaderChange: { leaderId: number; voters: number[]; grantingVoters: number[] };
    };

function encodeBatch(batch: Batch): Promise<Buffer> {
  if (batch.kind === 'data') return encodeMetadataBatch(batch);
  return encodeControlBatch({
    baseOffset: batch.baseOffset,
    epoch: batch.epoch,
    timestampMs: 1_760_000_000_000,
    record: { type: 'LeaderChange', ...batch.leaderChange },
  });
}

interface DumpedBatch {
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
  isValid: boolean;
  payloads: { offset: number; kind: string; payload: unknown }[];
}

function parseDump(stdout: string): DumpedBatch[] {
  const batches: DumpedBatch[] = [];
  for (const line of stdout.split('\n')) {
    const header =
      /^baseOffset: (\d+) lastOffset: (\d+) .* partitionLeaderEpoch: (-?\d+) .* isvalid: (\w+)/.exec(line);
    if (header !== null) {
      batches.push({
        baseOffset: Number(header[1]),
        lastOffset: Number(header[2]),
        partitionLeaderEpoch: Number(header[3]),
        isValid: header[4] === 'true',
        payloads: [],
      });
      continue;
    }
    // dotAll: Kafka's JSON leaves U+2028/U+2029 in strings unescaped, and `.` would stop at them.
    const record = /^\| offset: (\d+) .*? (payload|LeaderChange): (.*)$/s.exec(line);
    if (record !== null) {
      const batch = batches.at(-1);
      assert.ok(batch !== undefined, `a record before any batch: ${line}`);
      batch.payloads.push({
        offset: Number(record[1]),
        kind: record[2] ?? '',
        payload: JSON.parse(record[3] ?? ''),
      });
    }
  }
  return batches;
}

test("Kafka 4.1.1's kafka-dump-log --cluster-metadata-decoder reads every record kind kstack writes", async () => {
  const records = Object.values(recordArbitraries).flatMap((arbitrary, i) =>
    fc.sample(arbitrary, { numRuns: RECORDS_PER_KIND, seed: (propertySeed.seed + i) | 0 }),
  );
  const shuffled = fc.sample(fc.shuffledSubarray(records, { minLength: records.length }), {
    numRuns: 1,
    seed: propertySeed.seed,
  })[0];
  assert.ok(shuffled !== undefined);
  // As Kafka's log: each epoch opens with its leader's LeaderChange control batch, then records.
  const batches: Batch[] = [];
  let offset = 0;
  for (let i = 0, epoch = 1; i < shuffled.length; i += RECORDS_PER_BATCH, epoch++) {
    const leaderId = (epoch % 3) + 1;
    const leaderChange = { leaderId, voters: [1, 2, 3], grantingVoters: [leaderId, (leaderId % 3) + 1] };
    batches.push({ kind: 'control', baseOffset: offset, epoch, leaderChange });
    offset += 1;
    const records = shuffled.slice(i, i + RECORDS_PER_BATCH);
    batches.push({ kind: 'data', baseOffset: offset, epoch, timestampMs: 1_760_000_000_000, records });
    offset += records.length;
  }
  // Written through the project's partition log (src/storage), as Kafka's metadata log is a
  // partition log: small segments, so the dump reads several files named by their base offsets.
  const log = openFilePartitionLog({
    dir,
    topic: '__cluster_metadata',
    partition: 0,
    clock: systemClock,
    config: { segmentBytes: SEGMENT_BYTES },
  });
  for (const batch of batches) log.appendAsFollower(await encodeBatch(batch));
  log.flush();
  log.close();
  const segmentDir = join(dir, '__cluster_metadata-0');
  const segments = readdirSync(segmentDir)
    .filter((name) => name.endsWith('.log'))
    .sort();
  assert.ok(segments.length > 1, `segments: ${segments.join(', ')}`);
  assert.ok(segments.every((name) => /^\d{20}\.log$/.test(name)));
  assert.equal(segments[0], '00000000000000000000.log');

  const started = performance.now();
  const { code, stdout, stderr } = await dumpLog(segments.map((name) => join(segmentDir, name)));
  process.stdout.write(
    `kafka-dump-log: ${shuffled.length} records and ${batches.length / 2} LeaderChange records in ${batches.length} batches, ${segments.length} segments, ${Math.round(performance.now() - started)} ms\n`,
  );
  assert.equal(code, 0, `kafka-dump-log failed (${code}): ${stderr}`);
  const dumped = parseDump(stdout);
  assert.equal(dumped.length, batches.length, `batches printed:\n${stdout.slice(0, 4000)}`);
  for (const [i, batch] of batches.entries()) {
    const seen = dumped[i];
    assert.ok(seen !== undefined);
    assert.equal(seen.isValid, true, `batch ${i}: Kafka's CRC32C check`);
    assert.equal(seen.baseOffset, batch.baseOffset);
    assert.equal(seen.partitionLeaderEpoch, batch.epoch);
    if (batch.kind === 'control') {
      const { leaderId, voters, grantingVoters } = batch.leaderChange;
      const ids = (list: number[]) => list.map((voterId) => ({ voterId }));
      assert.deepEqual(seen.payloads, [
        {
          offset: batch.baseOffset,
          kind: 'LeaderChange',
          payload: { version: 0, leaderId, voters: ids(voters), grantingVoters: ids(grantingVoters) },
        },
      ]);
      continue;
    }
    assert.equal(seen.lastOffset, batch.baseOffset + batch.records.length - 1);
    assert.deepEqual(
      seen.payloads,
      batch.records.map((record, j) => ({
        offset: batch.baseOffset + j,
        kind: 'payload',
        payload: kafkaJson(record),
      })),
      `batch ${i}`,
    );
  }
});
