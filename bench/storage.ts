// Storage benchmark (not a test): append and read throughput of the partition log for
// 1 KiB records in 16 KiB batches, as the broker drives it (validate, then appendAsLeader;
// fetches of 1 MiB). Usage: node bench/storage.ts [--mb 512] [--dir /tmp] [--codec none|lz4|zstd]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { COMPRESSION_NAMES, encodeRecordBatch, validateProducePayload } from '../src/records/index.ts';
import {
  openFilePartitionLog,
  openMemoryPartitionLog,
  type PartitionLog,
  systemClock,
} from '../src/storage/index.ts';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '512' },
    dir: { type: 'string', default: tmpdir() },
    codec: { type: 'string', default: 'none' },
  },
});
const RECORD_BYTES = 1024;
const RECORDS_PER_BATCH = 16;
const FETCH_MAX_BYTES = 1024 * 1024;
const totalBytes = Number(values.mb) * 1024 * 1024;
const codec = COMPRESSION_NAMES.indexOf(values.codec as (typeof COMPRESSION_NAMES)[number]);
if (codec < 0) throw new Error(`--codec must be one of ${COMPRESSION_NAMES.join(', ')}`);

// Distinct payloads, so that compression has realistic (not identical) input.
const payloads: Buffer[] = [];
for (let p = 0; p < 64; p++) {
  payloads.push(
    await encodeRecordBatch({
      compression: codec,
      records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
        const value = Buffer.alloc(RECORD_BYTES);
        for (let j = 0; j < RECORD_BYTES; j += 4)
          value.writeUInt32BE(((p * 16 + i) * 2654435761 + j) >>> 0, j);
        return { timestamp: Date.now(), key: Buffer.from(`key-${i}`), value };
      }),
    }),
  );
}
const batchBytes = payloads[0]!.length;
const batches = Math.ceil(totalBytes / batchBytes);

function bench(name: string, log: PartitionLog): void {
  let t = performance.now();
  for (let i = 0; i < batches; i++) {
    const payload = payloads[i % payloads.length]!;
    const v = validateProducePayload(payload);
    if (!v.ok) throw new Error(v.message);
    log.appendAsLeader(payload, 0, v.batches);
  }
  const appendSeconds = (performance.now() - t) / 1000;
  const bytes = log.sizeBytes;
  log.updateHighWatermark(log.logEndOffset);
  t = performance.now();
  let read = 0;
  for (let offset = 0; offset < log.logEndOffset; ) {
    const r = log.read(offset, { maxBytes: FETCH_MAX_BYTES, maxOffset: log.highWatermark });
    read += r.records.length;
    offset = r.nextOffset;
  }
  const readSeconds = (performance.now() - t) / 1000;
  // A consumer at the tail: append one batch, fetch it.
  t = performance.now();
  const tailRounds = 20_000;
  for (let i = 0; i < tailRounds; i++) {
    const payload = payloads[i % payloads.length]!;
    const v = validateProducePayload(payload);
    if (!v.ok) throw new Error(v.message);
    const a = log.appendAsLeader(payload, 0, v.batches);
    log.updateHighWatermark(log.logEndOffset);
    log.read(a.baseOffset, { maxBytes: FETCH_MAX_BYTES });
  }
  const tailSeconds = (performance.now() - t) / 1000;
  const mb = (n: number, s: number) => (n / 1e6 / s).toFixed(0).padStart(6);
  console.log(
    `${name.padEnd(7)} append ${mb(bytes, appendSeconds)} MB/s (${((batches * RECORDS_PER_BATCH) / appendSeconds / 1000).toFixed(0)}k rec/s)` +
      `  read ${mb(read, readSeconds)} MB/s  tail append+read ${mb(tailRounds * batchBytes, tailSeconds)} MB/s` +
      `  [${(bytes / 1e6).toFixed(0)} MB, ${log.segmentCount} segments]`,
  );
}

console.log(
  `records ${RECORD_BYTES} B, ${RECORDS_PER_BATCH} per batch (${batchBytes} B batches, codec ${values.codec}), ${batches} batches, fetch ${FETCH_MAX_BYTES} B`,
);
const dir = mkdtempSync(join(values.dir, 'kstack-bench-'));
try {
  const file = openFilePartitionLog({ dir, topic: 'bench', partition: 0, clock: systemClock });
  bench('file', file);
  file.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const memory = openMemoryPartitionLog({ dir: '/bench', topic: 'bench', partition: 0, clock: systemClock });
bench('memory', memory);
memory.close();
