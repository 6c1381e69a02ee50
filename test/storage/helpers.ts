// Shared by the storage tests: the two implementations behind one factory, and batch builders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecordBatch, type RecordSpec, validateProducePayload } from '../../src/records/index.ts';
import {
  type LogConfig,
  type LogLogger,
  ManualClock,
  MemoryFs,
  nodeFs,
  type PartitionLog,
  SegmentedPartitionLog,
  type StorageFs,
} from '../../src/storage/index.ts';

export interface Harness {
  name: string;
  fs: StorageFs;
  dir: string;
  clock: ManualClock;
  warnings: string[];
  open(config?: Partial<LogConfig>): SegmentedPartitionLog;
  /** Path of the partition directory. */
  partitionDir: string;
  cleanup(): void;
}

export type HarnessFactory = { name: string; create(): Harness };

function makeHarness(name: string, fs: StorageFs, dir: string, cleanup: () => void): Harness {
  const clock = new ManualClock();
  const warnings: string[] = [];
  const logger: LogLogger = { warn: (m) => warnings.push(m), info: () => {} };
  return {
    name,
    fs,
    dir,
    clock,
    warnings,
    partitionDir: `${dir}/t-0`,
    open: (config) => new SegmentedPartitionLog({ fs, clock, dir, topic: 't', partition: 0, config, logger }),
    cleanup,
  };
}

export const implementations: HarnessFactory[] = [
  {
    name: 'file',
    create: () => {
      const dir = mkdtempSync(join(tmpdir(), 'kstack-storage-'));
      return makeHarness('file', nodeFs, dir, () => rmSync(dir, { recursive: true, force: true }));
    },
  },
  {
    name: 'memory',
    create: () => makeHarness('memory', new MemoryFs(), '/data', () => {}),
  },
];

export function records(
  count: number,
  opts: { key?: (i: number) => string | null; size?: number; ts?: number } = {},
) {
  return Array.from({ length: count }, (_, i): RecordSpec => {
    const key = opts.key ? opts.key(i) : `k${i}`;
    return {
      timestamp: (opts.ts ?? 1_700_000_000_000) + i,
      key: key === null ? null : Buffer.from(key),
      value: Buffer.alloc(opts.size ?? 10, i % 256),
    };
  });
}

/** A produce payload of one batch of `count` records. */
export async function batch(
  count: number,
  opts: Parameters<typeof records>[1] & { compression?: number } = {},
) {
  return encodeRecordBatch({ records: records(count, opts), compression: opts.compression ?? 0 });
}

/** Appends as leader with validation, as the broker does. */
export function appendLeader(log: PartitionLog, payload: Buffer, epoch = 0) {
  const v = validateProducePayload(payload);
  if (!v.ok) throw new Error(v.message);
  return log.appendAsLeader(payload, epoch, v.batches);
}
