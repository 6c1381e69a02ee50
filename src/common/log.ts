/**
 * Structured logs for every kstack service: one JSON object per line (pino) with `time` (ISO
 * 8601), `level`, `component` (broker, controller, exporter, …), `brokerId` where there is one,
 * `msg`, and the Kafka names of what the line concerns (`topic`, `partition`, `group`, …) as
 * fields of their own, so a log search can filter on them. On a terminal the same lines are
 * written in a readable form instead. `logKafkaEvents` turns the events of src/common/events.ts
 * (leader and ISR changes, fencing, topic creation, rebalances) into log lines.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { ServerLog } from '../server/server.ts';
import { KAFKA_EVENT_NAMES, type KafkaEventMap, type KafkaEventName, onKafkaEvent } from './events.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_DEFAULT: LogLevel = 'info';

/** `json`: JSON lines; `pretty`: readable lines; `auto`: pretty on a terminal, JSON otherwise. */
export type LogFormat = 'json' | 'pretty' | 'auto';

/** Reads a `--log-level` value; a wrong one is an error naming the flag, the value and the choices. */
export function parseLogLevel(text: string, flag = '--log-level'): LogLevel {
  const level = text.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`${flag}: '${text}' is not a log level (one of ${LOG_LEVELS.join(', ')})`);
}

/** Fields a line may carry; Kafka's names for what they name. */
export type LogFields = Record<string, string | number | boolean | readonly number[] | null | undefined>;

export interface LogOptions {
  readonly component: string;
  readonly brokerId?: number;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go (default stderr: stdout carries the commands' answers). */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Logger extends ServerLog {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger of another component (and broker) writing to the same stream. */
  child(component: string, fields?: { brokerId?: number }): Logger;
  readonly level: LogLevel;
}

export function createLogger(options: LogOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && stream.isTTY === true);
  const base: Record<string, unknown> = { component: options.component };
  if (options.brokerId !== undefined) base.brokerId = options.brokerId;
  const root = pino(
    {
      level: options.level ?? LOG_LEVEL_DEFAULT,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pretty ? prettyStream(stream) : stream,
  );
  return wrap(root, options.level ?? LOG_LEVEL_DEFAULT);
}

function wrap(instance: pino.Logger, level: LogLevel): Logger {
  const at =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) instance[method](message);
      else instance[method](fields, message);
    };
  return {
    level,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (component, fields) => wrap(instance.child({ component, ...fields }), level),
  };
}

/** The fields every line has, printed first in the readable form. */
const HEAD_FIELDS = new Set(['time', 'level', 'component', 'brokerId', 'msg']);

/** `2026-12-05T17:50:00.000Z INFO  broker 1  msg  topic=t partition=0` from one JSON line. */
export function formatPretty(line: string): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  const who = entry.brokerId === undefined ? String(entry.component) : `${entry.component} ${entry.brokerId}`;
  const rest = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const level = String(entry.level).toUpperCase().padEnd(5);
  return `${entry.time} ${level} [${who}] ${entry.msg ?? ''}${rest.length > 0 ? `  ${rest.join(' ')}` : ''}\n`;
}

/** A stream pino writes JSON lines to, writing each in the readable form to `out`. */
function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') out.write(formatPretty(line));
      done();
    },
  });
}

/** The message and Kafka-named fields each event is logged with (Kafka's own wording where it has one). */
const EVENT_LINES: { [N in KafkaEventName]: (event: KafkaEventMap[N]) => [string, LogFields] } = {
  'leader-change': (e) => [
    e.leaderId === e.nodeId
      ? `${e.topic}-${e.partition} leader in epoch ${e.leaderEpoch}`
      : `${e.topic}-${e.partition} follower of ${e.leaderId} in epoch ${e.leaderEpoch}`,
    { topic: e.topic, partition: e.partition, leader: e.leaderId, leaderEpoch: e.leaderEpoch, isr: e.isr },
  ],
  'isr-change': (e) => [
    `${e.topic}-${e.partition} ISR updated to ${e.isrAfter.join(',')} (${e.isrAfter.length < e.isrBefore.length ? 'shrink' : 'expand'} from ${e.isrBefore.join(',')})`,
    { topic: e.topic, partition: e.partition, isrBefore: e.isrBefore, isr: e.isrAfter },
  ],
  fencing: (e) => [
    `broker ${e.brokerId} ${e.fenced ? 'fenced' : 'unfenced'} (epoch ${e.brokerEpoch}): ${e.reason}`,
    { broker: e.brokerId, brokerEpoch: e.brokerEpoch, fenced: e.fenced },
  ],
  'topic-created': (e) => [
    `created topic ${e.topic} with ${e.partitions} partitions, topic id ${e.topicId}`,
    { topic: e.topic, topicId: e.topicId, partitions: e.partitions },
  ],
  'rebalance-started': (e) => [
    `Preparing to rebalance group ${e.group} in state PreparingRebalance with old generation ${e.generationId} (reason: ${e.reason})`,
    { group: e.group, generationId: e.generationId, members: e.members, reason: e.reason },
  ],
  rebalance: (e) => [
    `group ${e.group} stabilized with generation ${e.generationId} (${e.members} members)`,
    { group: e.group, generationId: e.generationId, members: e.members },
  ],
};

/**
 * Logs the Kafka events of node `nodeId` (every node's when undefined) through `logger`, each
 * line with `event` set to the event's name; returns the unsubscriber.
 */
export function logKafkaEvents(logger: Logger, nodeId?: number): () => void {
  const stops = KAFKA_EVENT_NAMES.map((name) =>
    onKafkaEvent(name, (event) => {
      if (nodeId !== undefined && event.nodeId !== nodeId) return;
      const [message, fields] = (EVENT_LINES[name] as (e: typeof event) => [string, LogFields])(event);
      // Lines of every node name theirs; a node's own logger already carries its brokerId.
      logger.info(
        message,
        nodeId === undefined
          ? { event: name, brokerId: event.nodeId, ...fields }
          : { event: name, ...fields },
      );
    }),
  );
  return () => {
    for (const stop of stops) stop();
  };
}
