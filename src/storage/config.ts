// Per-partition log settings, named after Kafka's topic configs (camelCase here, the
// Kafka name in each comment), with Kafka's defaults. "None" is Infinity / -1 as noted.

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface LogConfig {
  /** segment.bytes: roll the active segment before it would exceed this size. */
  segmentBytes: number;
  /** segment.ms: roll the active segment once its first append is this old. */
  segmentMs: number;
  /** segment.index.bytes: roll when the offset index would exceed this size. */
  segmentIndexBytes: number;
  /** index.interval.bytes: bytes of log between two offset/time index entries. */
  indexIntervalBytes: number;
  /** retention.ms: delete segments whose newest record is older; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: delete old segments while the log is larger; -1 no limit. */
  retentionBytes: number;
  /** cleanup.policy */
  cleanupPolicy: CleanupPolicy;
  /** delete.retention.ms: how long compaction keeps tombstones. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this are not compacted. */
  minCompactionLagMs: number;
  /** flush.messages: fsync after this many messages; Infinity = never (page cache). */
  flushMessages: number;
  /** flush.ms: fsync when the oldest unflushed append is this old; Infinity = never. */
  flushMs: number;
  /** message.timestamp.type: LogAppendTime makes appendAsLeader stamp the batches. */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  flushMessages: Number.POSITIVE_INFINITY,
  flushMs: Number.POSITIVE_INFINITY,
  messageTimestampType: 'CreateTime',
});

/** Smallest segment.bytes accepted (Kafka's lower bound is 14, a header; ours one batch header). */
export const SEGMENT_BYTES_MIN = 61;

export function resolveLogConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...DEFAULT_LOG_CONFIG, ...overrides };
  if (!(config.segmentBytes >= SEGMENT_BYTES_MIN)) {
    throw new RangeError(`segment.bytes ${config.segmentBytes} is below ${SEGMENT_BYTES_MIN}`);
  }
  if (!(config.segmentIndexBytes >= 8))
    throw new RangeError('segment.index.bytes must hold one entry (8 bytes)');
  if (!(config.indexIntervalBytes >= 0)) throw new RangeError('index.interval.bytes must not be negative');
  return config;
}

/** Reads Kafka property names (`segment.bytes`, `cleanup.policy`, …) into a partial LogConfig. */
export function logConfigFromProperties(properties: Record<string, string | undefined>): Partial<LogConfig> {
  const out: Partial<LogConfig> = {};
  const num = (name: string): number | undefined => {
    const value = properties[name];
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new RangeError(`${name}=${value} is not a number`);
    // Kafka's "never" for flush.* is Long.MAX_VALUE.
    return parsed >= Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : parsed;
  };
  const numeric: [keyof LogConfig, string][] = [
    ['segmentBytes', 'segment.bytes'],
    ['segmentMs', 'segment.ms'],
    ['segmentIndexBytes', 'segment.index.bytes'],
    ['indexIntervalBytes', 'index.interval.bytes'],
    ['retentionMs', 'retention.ms'],
    ['retentionBytes', 'retention.bytes'],
    ['deleteRetentionMs', 'delete.retention.ms'],
    ['minCompactionLagMs', 'min.compaction.lag.ms'],
    ['flushMessages', 'flush.messages'],
    ['flushMs', 'flush.ms'],
  ];
  for (const [key, name] of numeric) {
    const value = num(name);
    if (value !== undefined) (out as Record<string, number>)[key] = value;
  }
  const policy = properties['cleanup.policy'];
  if (policy !== undefined) {
    const parts = policy
      .split(',')
      .map((p) => p.trim())
      .sort();
    const normalized = parts.join(',');
    if (normalized !== 'delete' && normalized !== 'compact' && normalized !== 'compact,delete') {
      throw new RangeError(`cleanup.policy=${policy} is not delete, compact or compact,delete`);
    }
    out.cleanupPolicy = normalized;
  }
  const timestampType = properties['message.timestamp.type'];
  if (timestampType !== undefined) {
    if (timestampType !== 'CreateTime' && timestampType !== 'LogAppendTime') {
      throw new RangeError(`message.timestamp.type=${timestampType} is not CreateTime or LogAppendTime`);
    }
    out.messageTimestampType = timestampType;
  }
  return out;
}
