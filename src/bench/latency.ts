/**
 * End-to-end latency at a fixed rate, through @platformatic/kafka: a producer (acks=1, or -1)
 * sends `rate × 5 ms` records every 5 ms, each stamped with the monotonic clock when it
 * was built; a consumer (long-polling Fetch, max wait 100 ms) notes how long each took.
 * The schedule is open-loop: a late tick is caught up at once, never skipped, so a stall
 * anywhere shows up in the figures instead of slowing the load down.
 *
 * - Warm-up: records are sent at the rate for `warmupSeconds` (and until the consumer
 *   has seen one) before the measured records; warm-up records are marked and not counted,
 *   so JIT compilation and group joining are not part of the figures.
 * - Clients: `split` runs producer and consumer in two child processes (as two
 *   applications would be); `shared` runs both in the bench's own process, where each
 *   client's work delays the other. The monotonic clock is the same in every process.
 * - Around the measured phase it reads the broker's CPU time (/proc, any local broker),
 *   its event-loop delay (a broker the bench started with the probe), each client's
 *   event-loop delay and the machine's load.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Consumer, type Message, Producer } from '@platformatic/kafka';
import { LoopDelayMonitor, type LoopDelaySummary } from './loop-delay.ts';
import { type MachineLoad, machineLoad, processCpuMs } from './machine.ts';
import { type LatencySummary, summarizeLatencies } from './stats.ts';

export type LatencyClients = 'split' | 'shared';

export interface LatencyOptions {
  ratePerSecond: number;
  seconds: number;
  recordBytes: number;
  warmupSeconds: number;
  clients: LatencyClients;
  /** The producer's acks: 1 (the leader's, default) or -1 (the ISR's). */
  acks?: 1 | -1;
  /** Called as the measured phase starts (the producer told to measure): a bench aligns its own phases to it. */
  onMeasure?: () => void;
  /** Keep every measured latency, in send order (one partition), in the result's `latenciesMs`. */
  keepLatencies?: boolean;
}

export interface LatencyResult extends LatencySummary {
  ratePerSecond: number;
  seconds: number;
  warmupSeconds: number;
  clients: LatencyClients;
  /** Measured records the producer had acknowledged, and those whose send failed. */
  sent: number;
  failed: number;
  producerLoopDelay: LoopDelaySummary;
  consumerLoopDelay: LoopDelaySummary;
  /** The broker's event-loop delay over the measured phase (only for a broker started with the probe). */
  brokerLoopDelay?: LoopDelaySummary | undefined;
  /** CPU time the broker process used over the measured phase (a local broker whose pid is known). */
  brokerCpuMs?: number | undefined;
  machineBefore: MachineLoad;
  machineAfter: MachineLoad;
  /** Every measured latency in send order, with `keepLatencies`. */
  latenciesMs?: readonly number[];
}

/** What the bench can observe of the broker under test. */
export interface BrokerProbe {
  readonly pid?: number | undefined;
  /** Present when the broker runs the loop-delay probe (src/bench/loop-delay-probe.ts). */
  readonly loopDelay?:
    | {
        reset(): Promise<void>;
        report(): Promise<LoopDelaySummary>;
      }
    | undefined;
}

/** Produce requests in flight per connection for an acks=all latency run (the client's default is 5). */
export const ACKS_ALL_IN_FLIGHT_MAX = 64;

/** Records are sent in ticks of this length: rate × tick / 1000 records per tick. */
export const TICK_MS = 5;
/** Each record starts with its stamp (float64, monotonic ms) and its phase (1 byte). */
export const STAMP_BYTES = 9;
const PHASE_WARMUP = 0;
const PHASE_MEASURED = 1;
/** Consumer long-poll wait (Fetch max_wait_ms). */
const FETCH_MAX_WAIT_MS = 100;
/** How long the consumer may take to join its group and see a first record. */
const READY_TIMEOUT_MS = 60_000;
/** How long the consumer waits for the last measured records after the producer is done. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Bound on the whole measured phase beyond its nominal length. */
const SEND_SLACK_MS = 60_000;

/** Milliseconds on CLOCK_MONOTONIC: comparable between processes of one machine. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export interface RoleConfig {
  bootstrapServer: string;
  topic: string;
  recordBytes: number;
  ratePerSecond: number;
  /** 1 when missing. */
  acks?: 1 | -1;
}

export type ToRole =
  | { type: 'start'; config: RoleConfig }
  | { type: 'measure'; records: number }
  | { type: 'expect'; records: number }
  | { type: 'stop' };

export type FromRole =
  | { type: 'ready' }
  | { type: 'first-record' }
  | { type: 'sent'; records: number; failed: number; firstError: string | null; loopDelay: LoopDelaySummary }
  | { type: 'received'; latenciesMs: number[]; loopDelay: LoopDelaySummary }
  | { type: 'error'; message: string };

/** One side of the conversation between the bench and a client role. */
export interface RoleChannel<In, Out> {
  send(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

/** Each client request's bound: Kafka's request.timeout.ms default. */
const LATENCY_REQUEST_TIMEOUT_MS = 30_000;

function clientOptions(config: RoleConfig, role: string) {
  return {
    clientId: `kstack-bench-latency-${role}`,
    bootstrapBrokers: [config.bootstrapServer],
    timeout: LATENCY_REQUEST_TIMEOUT_MS,
    // The client does not pass `timeout` on to its connections; `requestTimeout` bounds a request.
    requestTimeout: LATENCY_REQUEST_TIMEOUT_MS,
    retries: 3,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The producer role: warm-up records until told to measure, then `records` measured ones. */
export async function runProducerRole(
  config: RoleConfig,
  channel: RoleChannel<ToRole, FromRole>,
): Promise<void> {
  const acks = config.acks ?? 1;
  // One request per tick (200/s at a 5 ms tick): at acks=all each waits for the ISR, and the
  // client's default of 5 requests in flight per connection would cap the rate at 5 per round trip
  // (measured: a 3-node kstack at 24 ms per acks=all send could not keep 1,000 records/s).
  const producer = new Producer({
    ...clientOptions(config, 'producer'),
    acks,
    ...(acks === -1 ? { maxInflights: ACKS_ALL_IN_FLIGHT_MAX } : {}),
  });
  const monitor = new LoopDelayMonitor();
  const perTick = Math.max(1, Math.round((config.ratePerSecond * TICK_MS) / 1000));
  const padding = Buffer.alloc(config.recordBytes - STAMP_BYTES, 0x62);
  let measureRecords: number | null = null;
  let stopRequested = false;
  channel.onMessage((message) => {
    if (message.type === 'measure') measureRecords = message.records;
    else if (message.type === 'stop') stopRequested = true;
  });
  let phase = PHASE_WARMUP;
  let phaseStart = monotonicMs();
  let sentInPhase = 0;
  let failed = 0;
  let firstError: string | null = null;
  const pending = new Set<Promise<void>>();
  try {
    channel.send({ type: 'ready' });
    while (!stopRequested) {
      if (phase === PHASE_WARMUP && measureRecords !== null) {
        phase = PHASE_MEASURED;
        phaseStart = monotonicMs();
        sentInPhase = 0;
        monitor.reset();
      }
      if (phase === PHASE_MEASURED && sentInPhase >= measureRecords!) break;
      const waitMs = phaseStart + (sentInPhase / perTick) * TICK_MS - monotonicMs();
      if (waitMs > 0) await sleep(waitMs);
      const count = phase === PHASE_MEASURED ? Math.min(perTick, measureRecords! - sentInPhase) : perTick;
      const measured = phase === PHASE_MEASURED;
      const messages = Array.from({ length: count }, () => {
        const value = Buffer.allocUnsafe(config.recordBytes);
        value.writeDoubleBE(monotonicMs(), 0);
        value[8] = phase;
        padding.copy(value, STAMP_BYTES);
        return { topic: config.topic, value };
      });
      sentInPhase += count;
      // The acks of send(): @platformatic/kafka does not apply the producer's own option to it.
      const send: Promise<void> = producer.send({ messages, acks }).then(
        () => {
          pending.delete(send);
        },
        (error: unknown) => {
          pending.delete(send);
          if (!measured) return;
          failed += count;
          firstError ??= String(error);
        },
      );
      pending.add(send);
    }
    await Promise.all(pending);
    channel.send({
      type: 'sent',
      records: measureRecords ?? 0,
      failed,
      firstError,
      loopDelay: monitor.summary(),
    });
  } finally {
    monitor.stop();
    await producer.close();
  }
}

/** The consumer role: reads from the end of the topic, times each measured record. */
export async function runConsumerRole(
  config: RoleConfig,
  channel: RoleChannel<ToRole, FromRole>,
): Promise<void> {
  const consumer = new Consumer({
    ...clientOptions(config, 'consumer'),
    groupId: `kstack-bench-latency-${randomUUID()}`,
    maxWaitTime: FETCH_MAX_WAIT_MS,
  });
  const monitor = new LoopDelayMonitor();
  const latenciesMs: number[] = [];
  let expected = Number.POSITIVE_INFINITY;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  channel.onMessage((message) => {
    if (message.type === 'expect') {
      expected = message.records;
      monitor.reset();
      if (latenciesMs.length >= expected) stop();
    } else if (message.type === 'stop') {
      stop();
    }
  });
  try {
    const stream = await consumer.consume({ topics: [config.topic], mode: 'latest', autocommit: false });
    channel.send({ type: 'ready' });
    const reading = (async () => {
      let first = true;
      for await (const message of stream as AsyncIterable<Message>) {
        const arrived = monotonicMs();
        const value = message.value;
        if (value.length !== config.recordBytes) continue;
        if (first) {
          first = false;
          channel.send({ type: 'first-record' });
        }
        if (value[8] !== PHASE_MEASURED) continue;
        latenciesMs.push(arrived - value.readDoubleBE(0));
        if (latenciesMs.length >= expected) break;
      }
    })();
    await Promise.race([reading, stopped]);
    await stream.close();
    channel.send({ type: 'received', latenciesMs, loopDelay: monitor.summary() });
  } finally {
    monitor.stop();
    await consumer.close(true);
  }
}

type RoleName = 'producer' | 'consumer';

/** The bench's end of a role: messages to it, and a way to wait for one of its answers. */
interface RoleHandle {
  send(message: ToRole): void;
  next<T extends FromRole['type']>(type: T, timeoutMs: number): Promise<Extract<FromRole, { type: T }>>;
  close(): Promise<void>;
}

function handleOver(
  name: RoleName,
  send: (message: ToRole) => void,
  events: EventEmitter,
  close: () => Promise<void>,
): RoleHandle {
  return {
    send,
    next(type, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('message', onMessage);
          reject(new Error(`the latency ${name} sent no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs);
        const onMessage = (message: FromRole) => {
          if (message.type === 'error') {
            clearTimeout(timer);
            events.off('message', onMessage);
            reject(new Error(`the latency ${name} failed: ${message.message}`));
          } else if (message.type === type) {
            clearTimeout(timer);
            events.off('message', onMessage);
            resolve(message as never);
          }
        };
        events.on('message', onMessage);
      });
    },
    close,
  };
}

const WORKER = fileURLToPath(new URL('./latency-worker.ts', import.meta.url));

/** A role in its own process (src/bench/latency-worker.ts). */
function forkRole(name: RoleName, config: RoleConfig): RoleHandle {
  const child: ChildProcess = fork(WORKER, [name], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const events = new EventEmitter();
  child.on('message', (message) => events.emit('message', message));
  const exited = new Promise<void>((resolve) => {
    // 'close' comes after the IPC channel is closed, so after every message the child sent.
    child.once('close', (code) => {
      events.emit('message', { type: 'error', message: `exited with code ${code}` });
      resolve();
    });
  });
  child.send({ type: 'start', config } satisfies ToRole);
  return handleOver(
    name,
    (message) => {
      // A child already on its way out may have closed its end: nothing left to tell it.
      if (child.connected) child.send(message, undefined, undefined, () => {});
    },
    events,
    async () => {
      if (child.exitCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  );
}

/** A role in the bench's own process. */
function inProcessRole(name: RoleName, config: RoleConfig): RoleHandle {
  const toRole = new EventEmitter();
  const fromRole = new EventEmitter();
  const channel: RoleChannel<ToRole, FromRole> = {
    send: (message) => setImmediate(() => fromRole.emit('message', message)),
    onMessage: (listener) => toRole.on('message', listener),
  };
  const run = name === 'producer' ? runProducerRole : runConsumerRole;
  const done = run(config, channel).catch((error: unknown) => {
    fromRole.emit('message', { type: 'error', message: String(error) });
  });
  return handleOver(
    name,
    (message) => setImmediate(() => toRole.emit('message', message)),
    fromRole,
    () => done,
  );
}

export async function measureEndToEndLatency(
  bootstrapServer: string,
  topic: string,
  options: LatencyOptions,
  broker: BrokerProbe = {},
): Promise<LatencyResult> {
  const config: RoleConfig = {
    bootstrapServer,
    topic,
    recordBytes: options.recordBytes,
    ratePerSecond: options.ratePerSecond,
    ...(options.acks === undefined ? {} : { acks: options.acks }),
  };
  const start = options.clients === 'split' ? forkRole : inProcessRole;
  const records = Math.round(options.ratePerSecond * options.seconds);
  const consumer = start('consumer', config);
  let producer: RoleHandle | undefined;
  try {
    await consumer.next('ready', READY_TIMEOUT_MS);
    producer = start('producer', config);
    const warmupStarted = Date.now();
    await producer.next('ready', READY_TIMEOUT_MS);
    await consumer.next('first-record', READY_TIMEOUT_MS);
    const warmupLeft = options.warmupSeconds * 1000 - (Date.now() - warmupStarted);
    if (warmupLeft > 0) await sleep(warmupLeft);

    const machineBefore = machineLoad();
    await broker.loopDelay?.reset();
    const cpuBefore = broker.pid === undefined ? undefined : processCpuMs(broker.pid);
    const received = consumer.next('received', options.seconds * 1000 + SEND_SLACK_MS + DRAIN_TIMEOUT_MS);
    consumer.send({ type: 'expect', records });
    producer.send({ type: 'measure', records });
    options.onMeasure?.();
    const sent = await producer.next('sent', options.seconds * 1000 + SEND_SLACK_MS);
    if (sent.failed > 0) consumer.send({ type: 'expect', records: records - sent.failed });
    const drain = setTimeout(() => consumer.send({ type: 'stop' }), DRAIN_TIMEOUT_MS);
    const result = await received.finally(() => clearTimeout(drain));
    const cpuAfter = broker.pid === undefined ? undefined : processCpuMs(broker.pid);
    const brokerLoopDelay = await broker.loopDelay?.report();
    const machineAfter = machineLoad();
    if (sent.firstError !== null) {
      process.stderr.write(
        `kstack bench: ${sent.failed} latency records were not acknowledged: ${sent.firstError}\n`,
      );
    }
    return {
      ...summarizeLatencies(result.latenciesMs),
      ratePerSecond: options.ratePerSecond,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      clients: options.clients,
      sent: records - sent.failed,
      failed: sent.failed,
      producerLoopDelay: sent.loopDelay,
      consumerLoopDelay: result.loopDelay,
      brokerLoopDelay,
      brokerCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      machineBefore,
      machineAfter,
      ...(options.keepLatencies === true ? { latenciesMs: result.latenciesMs } : {}),
    };
  } finally {
    // Both stop whatever they are doing (a no-op once they are done).
    producer?.send({ type: 'stop' });
    consumer.send({ type: 'stop' });
    await producer?.close();
    await consumer.close();
  }
}
