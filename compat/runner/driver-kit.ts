// Shared plumbing for the Node.js client drivers (kafkajs, @platformatic/kafka): reading the job,
// Bytes encodings, per-step time budgets and the result, as compat/PROTOCOL.md defines them. The
// client-specific part of a driver is a table of op handlers and an error normaliser.
import { createHash } from 'node:crypto';
import { DIGEST_THRESHOLD_BYTES, fillBytes, type Json } from './match.ts';

export type Step = Record<string, Json> & { id: string; op: string };

export interface Job {
  protocol: number;
  bootstrap: string;
  jobId?: string;
  steps: Step[];
}

export interface ClientInfo {
  name: string;
  version: string;
  library?: string;
}

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

/** Thrown by a handler for any outcome other than ok. */
export class StepFailure extends Error {
  readonly status: 'error' | 'unsupported';
  readonly error: string | undefined;
  readonly value: Json;

  constructor(
    status: 'error' | 'unsupported',
    error: string | undefined,
    message: string,
    value: Json = null,
  ) {
    super(message);
    this.status = status;
    this.error = error;
    this.value = value;
  }
}

export function unsupported(reason: string): StepFailure {
  return new StepFailure('unsupported', undefined, reason);
}

export function failure(error: string, message: string, value: Json = null): StepFailure {
  return new StepFailure('error', error, message, value);
}

/** Kafka protocol error codes (the protocol guide's table) for clients that surface only numbers. */
export const KAFKA_ERROR_NAMES: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR',
  1: 'OFFSET_OUT_OF_RANGE',
  2: 'CORRUPT_MESSAGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  4: 'INVALID_FETCH_SIZE',
  5: 'LEADER_NOT_AVAILABLE',
  6: 'NOT_LEADER_OR_FOLLOWER',
  7: 'REQUEST_TIMED_OUT',
  10: 'MESSAGE_TOO_LARGE',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  17: 'INVALID_TOPIC_EXCEPTION',
  18: 'RECORD_LIST_TOO_LARGE',
  19: 'NOT_ENOUGH_REPLICAS',
  20: 'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  21: 'INVALID_REQUIRED_ACKS',
  22: 'ILLEGAL_GENERATION',
  24: 'INVALID_GROUP_ID',
  25: 'UNKNOWN_MEMBER_ID',
  26: 'INVALID_SESSION_TIMEOUT',
  27: 'REBALANCE_IN_PROGRESS',
  35: 'UNSUPPORTED_VERSION',
  36: 'TOPIC_ALREADY_EXISTS',
  37: 'INVALID_PARTITIONS',
  38: 'INVALID_REPLICATION_FACTOR',
  39: 'INVALID_REPLICA_ASSIGNMENT',
  40: 'INVALID_CONFIG',
  41: 'NOT_CONTROLLER',
  42: 'INVALID_REQUEST',
  43: 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  44: 'POLICY_VIOLATION',
  45: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  46: 'DUPLICATE_SEQUENCE_NUMBER',
  47: 'INVALID_PRODUCER_EPOCH',
  68: 'NON_EMPTY_GROUP',
  69: 'GROUP_ID_NOT_FOUND',
  76: 'UNSUPPORTED_COMPRESSION_TYPE',
  79: 'MEMBER_ID_REQUIRED',
  82: 'FENCED_INSTANCE_ID',
  87: 'INVALID_RECORD',
};

/** Bytes (PROTOCOL.md section 5) to a Buffer; null stays null. */
export function bytesIn(value: Json | undefined): Buffer | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (typeof value === 'object' && !Array.isArray(value)) {
    if (typeof value.base64 === 'string') return Buffer.from(value.base64, 'base64');
    if (typeof value.fill === 'string' && typeof value.size === 'number')
      return fillBytes(value.fill, value.size);
  }
  throw failure('CLIENT_INVALID_ARGUMENT', `not a Bytes value: ${JSON.stringify(value)}`);
}

/** A Buffer to Bytes: text when it is UTF-8, base64 otherwise, a digest when large. */
export function bytesOut(bytes: Uint8Array | null | undefined): Json {
  if (bytes === null || bytes === undefined) return null;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length > DIGEST_THRESHOLD_BYTES) {
    return { size: buffer.length, sha256: createHash('sha256').update(buffer).digest('hex') };
  }
  const text = buffer.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buffer) ? text : { base64: buffer.toString('base64') };
}

export function timeoutOf(step: Step): number {
  return typeof step.timeoutMs === 'number' ? step.timeoutMs : DEFAULT_STEP_TIMEOUT_MS;
}

export function str(step: Step, field: string): string {
  const value = step[field];
  if (typeof value !== 'string')
    throw failure('CLIENT_INVALID_ARGUMENT', `step ${step.id}: "${field}" must be a string`);
  return value;
}

export function num(step: Step, field: string, fallback?: number): number {
  const value = step[field];
  if (typeof value === 'number') return value;
  if (value === undefined && fallback !== undefined) return fallback;
  throw failure('CLIENT_INVALID_ARGUMENT', `step ${step.id}: "${field}" must be a number`);
}

/** Where a `consume` step starts reading (PROTOCOL.md: `from`). */
export type ConsumeFrom = 'beginning' | 'end' | { offset: number } | { timestamp: number };

export function consumeFrom(step: Step): ConsumeFrom {
  const from = step.from;
  if (from === 'beginning' || from === 'end') return from;
  if (typeof from === 'object' && from !== null && !Array.isArray(from)) {
    if (typeof from.offset === 'number') return { offset: from.offset };
    if (typeof from.timestamp === 'number') return { timestamp: from.timestamp };
  }
  throw failure('CLIENT_INVALID_ARGUMENT', `bad from: ${JSON.stringify(from)}`);
}

/**
 * One row of the `groupOffsets` answer (PROTOCOL.md): a partition's committed offset, its log end
 * offset and the lag; with no commit (offset -1) the lag is the whole log.
 */
export function lagRow(
  topic: string,
  partition: number,
  offset: number,
  logEndOffset: number,
): Record<string, Json> {
  return { topic, partition, offset, logEndOffset, lag: offset < 0 ? logEndOffset : logEndOffset - offset };
}

/** `groupOffsets` rows in topic, then partition order. */
export function sortLagRows(rows: Record<string, Json>[]): Record<string, Json>[] {
  return rows.sort(
    (a, b) => String(a.topic).localeCompare(String(b.topic)) || Number(a.partition) - Number(b.partition),
  );
}

export function sortRecords<T extends { partition: number; offset: number }>(records: T[]): T[] {
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export async function readJob(): Promise<Job> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Job;
}

export type Handler<Context> = (step: Step, context: Context) => Promise<Json>;

export interface DriverDefinition<Context> {
  info: ClientInfo;
  handlers: Record<string, Handler<Context>>;
  /** Maps whatever the client threw to a protocol error name and a message. */
  normalise: (error: unknown) => { error: string; message: string };
  createContext: (job: Job) => Context;
  close: (context: Context) => Promise<void>;
}

/** Grace a handler gets beyond its step's budget before the driver gives up on it. */
const HANDLER_GRACE_MS = 5_000;

function withBudget<T>(promise: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure('CLIENT_TIMEOUT', `no outcome within ${budgetMs} ms`)), budgetMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function writeResult(result: Json): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(result)}\n`, () => resolve()));
}

/** Runs a job through a driver definition and writes the result; never throws. */
export async function runDriver<Context>(definition: DriverDefinition<Context>): Promise<void> {
  // Client libraries that log to stdout would corrupt the result: send console output to stderr.
  console.log = console.error;
  console.info = console.error;
  const job = await readJob();
  const results: Json[] = [];
  const output = (): Json => ({ protocol: 1, client: { ...definition.info }, results });
  const context = definition.createContext(job);
  for (const step of job.steps) {
    const started = Date.now();
    const outcome: Record<string, Json> = { id: step.id, op: step.op };
    try {
      if (job.protocol !== 1) throw failure('CLIENT_ERROR', `unsupported protocol ${job.protocol}`);
      const handler = definition.handlers[step.op];
      if (!handler) throw unsupported(`op ${step.op} is not implemented by this driver`);
      const budget = timeoutOf(step) + (step.op === 'sleep' ? num(step, 'ms', 0) : 0) + HANDLER_GRACE_MS;
      const value = await withBudget(handler(step, context), budget);
      Object.assign(outcome, { status: 'ok', value });
    } catch (thrown) {
      if (thrown instanceof StepFailure) {
        if (thrown.status === 'unsupported')
          Object.assign(outcome, { status: 'unsupported', reason: thrown.message, value: null });
        else
          Object.assign(outcome, {
            status: 'error',
            error: thrown.error ?? 'CLIENT_ERROR',
            message: thrown.message,
            value: thrown.value,
          });
      } else {
        const { error, message } = definition.normalise(thrown);
        Object.assign(outcome, { status: 'error', error, message, value: null });
      }
    }
    outcome.durationMs = Date.now() - started;
    results.push(outcome);
    if (step.exit === 'crash') {
      // A killed member: the result goes out, then the process ends with no close and no LeaveGroup.
      await writeResult(output());
      process.exit(0);
    }
  }
  await writeResult(output());
  await Promise.race([
    definition.close(context).catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, 5000)),
  ]);
  process.exit(0);
}
