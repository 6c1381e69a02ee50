/**
 * Kafka reads kstack's producer-state files: a partition log written by kstack's storage (an
 * idempotent producer, a transaction aborted and one left open, a roll) is dumped by Apache Kafka
 * 4.1.1's `kafka-dump-log` (kafka.tools.DumpLogSegments, from the reference's jars), which decodes
 * the `.snapshot` with its own ProducerStateManager.readSnapshot (crc checked) and the `.txnindex`
 * with its TransactionIndex; every entry it prints is compared with what was written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeMarkerBatch } from '../../src/coordinator/transactions/control.ts';
import { encodeRecordBatch } from '../../src/records/index.ts';
import { openFilePartitionLog, snapshotFileName, systemClock } from '../../src/storage/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** One JVM start: seconds; generous for a loaded machine. */
const TOOL_TIMEOUT_MS = 120_000;
const BASE_TIMESTAMP = 1_700_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'kstack-producer-dump-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function dumpLog(files: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'reference', 'bin', 'kafka-run-class'),
      ['kafka.tools.DumpLogSegments', '--files', files.join(',')],
      { timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function records(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: BASE_TIMESTAMP + i,
    key: null,
    value: Buffer.from(`v${i}`),
  }));
}

test("Kafka 4.1.1's kafka-dump-log reads kstack's .snapshot and .txnindex", async () => {
  const log = openFilePartitionLog({ dir, topic: 't', partition: 0, clock: systemClock });
  const batch = (
    count: number,
    producerId: number,
    epoch: number,
    sequence: number,
    transactional: boolean,
  ) =>
    encodeRecordBatch({
      records: records(count),
      producerId,
      producerEpoch: epoch,
      baseSequence: sequence,
      transactional,
    });
  log.appendAsLeader(await batch(3, 5, 2, 0, false), 0); // 0-2: idempotent
  log.appendAsLeader(await batch(2, 7, 1, 0, true), 0); // 3-4: a transaction
  log.appendAsLeader(
    await encodeMarkerBatch({
      producerId: 7n,
      producerEpoch: 1,
      commit: false,
      coordinatorEpoch: 3,
      timestampMs: BASE_TIMESTAMP + 500,
    }),
    0,
  ); // 5: its abort marker
  log.appendAsLeader(await batch(2, 7, 1, 2, true), 0); // 6-7: the next transaction, left open
  log.appendAsLeader(await batch(4, 5, 2, 3, false), 0); // 8-11: idempotent
  log.roll();
  log.close();

  const partitionDir = join(dir, 't-0');
  const snapshot = join(partitionDir, snapshotFileName(12));
  const txnIndex = join(partitionDir, '00000000000000000000.txnindex');
  const { code, stdout, stderr } = await dumpLog([snapshot, txnIndex]);
  assert.equal(code, 0, `kafka-dump-log failed (${code}): ${stderr}`);
  const lines = stdout.split('\n').filter((l) => l.startsWith('producerId') || l.startsWith('version'));
  assert.deepEqual(lines, [
    `producerId: 5 producerEpoch: 2 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: ${BASE_TIMESTAMP + 3} firstSequence: 3 lastSequence: 6 lastOffset: 11 offsetDelta: 3 timestamp: ${BASE_TIMESTAMP + 3}`,
    `producerId: 7 producerEpoch: 1 coordinatorEpoch: 3 currentTxnFirstOffset: OptionalLong[6] lastTimestamp: ${BASE_TIMESTAMP + 1} firstSequence: 2 lastSequence: 3 lastOffset: 7 offsetDelta: 1 timestamp: ${BASE_TIMESTAMP + 1}`,
    'version: 0 producerId: 7 firstOffset: 3 lastOffset: 5 lastStableOffset: 6',
  ]);
  assert.doesNotMatch(stdout + stderr, /Exception|corrupt/i);
});
