/**
 * The Connect worker's log4j2 log, split in two: the full log at INFO in `logs/server.log` under the
 * worker's folder (rolled at 20 MB, two old files kept, as the reference brokers'), and the events at
 * the stack's `--log-level` on the JVM's stdout, one JSON object per line (log4j2's own `%enc{…}{JSON}`
 * escaping, so a message or a stack trace over several lines stays one line), which the worker's
 * parent reads back as `ConnectLogRecord`s and writes into the stack's structured stream (component
 * `kafka-connect`): level mapped from log4j's, the logger (a Kafka class name), the connector and task
 * from Connect's own `connector.context` (`[name|task-0] `).
 */
import type { LogLevel } from '../common/log.ts';

/** The full log's level, whatever the stack's level: what `server.log` always holds. */
export const FILE_LOG_LEVEL = 'INFO';
/** server.log rolls at this size; this many old files are kept. */
export const FILE_LOG_BYTES_MAX = '20MB';
export const FILE_LOG_ROLLED_MAX = 2;
/** A line of the JVM's stdout longer than this is cut (a huge config dump stays bounded). */
export const LOG_LINE_CHARS_MAX = 64 * 1024;

/** One log4j event of the worker, as the stack's stream takes it. */
export interface ConnectLogRecord {
  readonly level: LogLevel;
  /** log4j's own level name (TRACE … FATAL). */
  readonly log4jLevel: string;
  readonly message: string;
  /** The logger's name: the Kafka class that logged it. */
  readonly logger: string;
  readonly thread: string;
  /** From Connect's `connector.context`: the connector, and the task when a task logged it. */
  readonly connector?: string;
  readonly task?: number;
  /** The throwable's stack trace, when the event carries one. */
  readonly error?: string;
}

const LOG4J_LEVEL_OF: Readonly<Record<LogLevel, string>> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
};

/** log4j's levels in the stack's four: TRACE is debug, FATAL is error. */
export function stackLevel(log4jLevel: string): LogLevel {
  switch (log4jLevel.toUpperCase()) {
    case 'TRACE':
    case 'DEBUG':
      return 'debug';
    case 'INFO':
      return 'info';
    case 'WARN':
      return 'warn';
    default:
      return 'error';
  }
}

/** log4j2's JSON-escaped fields; `%n` ends each event. */
const STDOUT_PATTERN =
  '{"level":"%p","logger":"%enc{%c}{JSON}","thread":"%enc{%t}{JSON}","context":"%enc{%X{connector.context}}{JSON}","msg":"%enc{%m}{JSON}","error":"%enc{%throwable}{JSON}"}%n';

/**
 * The worker's log4j2.properties: `server.log` at INFO in `logsDir` (its own pattern, as the
 * reference's), stdout at `streamLevel` as JSON lines. The root level is the lower of the two.
 */
export function log4jProperties(logsDir: string, streamLevel: LogLevel): string {
  const stream = LOG4J_LEVEL_OF[streamLevel];
  const root = streamLevel === 'debug' ? 'DEBUG' : FILE_LOG_LEVEL;
  if (/[\r\n]/.test(logsDir))
    throw new Error(`the Connect log folder ${logsDir}: a line break is not allowed`);
  return [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${escapeProperty(logsDir)}/server.log`,
    `appender.file.filePattern = ${escapeProperty(logsDir)}/server.log.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    `appender.file.policies.size.size = ${FILE_LOG_BYTES_MAX}`,
    'appender.file.strategy.type = DefaultRolloverStrategy',
    `appender.file.strategy.max = ${FILE_LOG_ROLLED_MAX}`,
    'appender.file.filter.threshold.type = ThresholdFilter',
    `appender.file.filter.threshold.level = ${FILE_LOG_LEVEL}`,
    'appender.stdout.type = Console',
    'appender.stdout.name = stdout',
    'appender.stdout.target = SYSTEM_OUT',
    'appender.stdout.layout.type = PatternLayout',
    'appender.stdout.layout.alwaysWriteExceptions = false',
    `appender.stdout.layout.pattern = ${STDOUT_PATTERN}`,
    'appender.stdout.filter.threshold.type = ThresholdFilter',
    `appender.stdout.filter.threshold.level = ${stream}`,
    `rootLogger.level = ${root}`,
    'rootLogger.appenderRef.file.ref = file',
    'rootLogger.appenderRef.stdout.ref = stdout',
    '',
  ].join('\n');
}

/** A .properties value: backslashes are escapes there. */
function escapeProperty(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

/** `[name|task-3] `, `[name|worker] `, `[name|task-3|offsets] ` (Connect's LoggingContext). */
function parseContext(context: string): { connector?: string; task?: number } {
  const match = /^\[(.*?)\|(worker|task-(\d+))(?:\|\w+)?\]\s*$/.exec(context);
  if (match === null) return {};
  return match[3] === undefined ? { connector: match[1]! } : { connector: match[1]!, task: Number(match[3]) };
}

/**
 * One line of the worker's stdout: a record when it is one of the JSON events above, else undefined
 * (the JVM's own output; the caller logs it as it is).
 */
export function parseLogLine(line: string): ConnectLogRecord | undefined {
  if (!line.startsWith('{"level":')) return undefined;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : '');
  const error = text('error').trim();
  return {
    level: stackLevel(text('level')),
    log4jLevel: text('level'),
    message: text('msg'),
    logger: text('logger'),
    thread: text('thread'),
    ...parseContext(text('context')),
    ...(error === '' ? {} : { error }),
  };
}

/** A record as one line (`kstack connect` and callers without a structured stream). */
export function formatRecord(record: ConnectLogRecord): string {
  const context =
    record.connector === undefined
      ? ''
      : `[${record.connector}${record.task === undefined ? '' : `|task-${record.task}`}] `;
  const error = record.error === undefined ? '' : `\n${record.error}`;
  return `${record.log4jLevel} ${context}${record.message} (${record.logger})${error}`;
}
