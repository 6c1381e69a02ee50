// Public surface of partition log storage. See README.md.
import type { Clock } from './clock.ts';
import type { LogConfig } from './config.ts';
import { nodeFs, type StorageFs } from './fs.ts';
import { type LogLogger, SegmentedPartitionLog } from './log.ts';
import { MemoryFs } from './memory-fs.ts';
import type { PartitionLog } from './partition-log.ts';

export * from './clock.ts';
export * from './config.ts';
export * from './errors.ts';
export type { FileHandle, StorageFs } from './fs.ts';
export { nodeFs } from './fs.ts';
export type { EpochEntry } from './leader-epoch-cache.ts';
export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from './leader-epoch-cache.ts';
export { type LogLogger, partitionDirName, SegmentedPartitionLog, stderrLogger } from './log.ts';
export { MemoryFs } from './memory-fs.ts';
export type * from './partition-log.ts';

export interface PartitionLogOptions {
  /** Log directory (Kafka's log.dirs entry); the partition lives in `<dir>/<topic>-<partition>`. */
  dir: string;
  topic: string;
  partition: number;
  clock: Clock;
  config?: Partial<LogConfig>;
  logger?: LogLogger;
}

/** Opens (creating or recovering) a partition log on disk. */
export function openFilePartitionLog(options: PartitionLogOptions & { fs?: StorageFs }): PartitionLog {
  return new SegmentedPartitionLog({ ...options, fs: options.fs ?? nodeFs });
}

/**
 * Opens a partition log held in memory: the same segments, indexes and checkpoints on a
 * MemoryFs (pass one to share it between logs or to reopen after a simulated crash).
 */
export function openMemoryPartitionLog(options: PartitionLogOptions & { fs?: MemoryFs }): PartitionLog {
  return new SegmentedPartitionLog({ ...options, fs: options.fs ?? new MemoryFs() });
}
export * from './producer-log-state.ts';
export * from './producer-snapshot.ts';
