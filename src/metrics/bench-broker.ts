/**
 * What the metrics benchmarks share (`render-bench.ts`, `scrape-bench.ts`, `bench.ts`): their flag
 * parsing, and an in-process broker (real files) whose metrics look like a busy broker's: the
 * stack's baseline topic, `__consumer_offsets` and `partitions` more, each produced to once so every
 * series has a value, and every request type's latency reservoir filled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../broker/broker.ts';
import { BrokerMetrics } from './broker-metrics.ts';

/** Partitions of each extra topic (the rest in the last one). */
const PARTITIONS_PER_TOPIC = 10;
/** The request types whose reservoirs are filled, and how many requests each. */
const OBSERVED_API_KEYS = [0, 1, 2, 3, 8, 9, 10, 11, 12, 14, 18, 19];
const REQUESTS_PER_API_KEY = 2000;

/** A flag's value as a positive integer, `fallback` when absent; anything else is an Error naming the flag. */
export function positiveInteger(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag}: '${text}' is not a positive integer`);
  return value;
}

export interface BusyBroker {
  readonly broker: Broker;
  readonly metrics: BrokerMetrics;
  /** Counts a request of the type in `frame`'s header, as the broker's dispatcher would. */
  observe(frame: Buffer): void;
  /** Detaches the metrics, stops the broker and removes its data directory. */
  stop(): Promise<void>;
}

/** Starts the broker on `port` with its topics and filled reservoirs; `name` names its temporary data directory. */
export async function startBusyBroker(options: {
  readonly name: string;
  readonly port: number;
  readonly partitions: number;
}): Promise<BusyBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), `kstack-${options.name}-`));
  const metrics = new BrokerMetrics();
  const broker = new Broker({ dataDir, host: '127.0.0.1', port: options.port, observer: metrics });
  await broker.start();
  metrics.attach(broker);
  const stop = async (): Promise<void> => {
    metrics.detach();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await broker.createTopic({ name: 'events-topic', numPartitions: 3, replicationFactor: 1 });
    await broker.createTopic({
      name: '__consumer_offsets',
      numPartitions: 50,
      replicationFactor: 1,
      internal: true,
    });
    for (let made = 0, index = 0; made < options.partitions; index++) {
      const count = Math.min(PARTITIONS_PER_TOPIC, options.partitions - made);
      await broker.createTopic({ name: `bench-${index}`, numPartitions: count, replicationFactor: 1 });
      for (let p = 0; p < count; p++) metrics.appended(`bench-${index}`, 1, 100);
      made += count;
    }
    const dispatcher = metrics.observeRequests({ dispatch: () => ({ close: false }) as never });
    const observe = (frame: Buffer): void => void dispatcher.dispatch(frame, {} as never);
    for (const apiKey of OBSERVED_API_KEYS) {
      const frame = Buffer.alloc(8);
      frame.writeInt16BE(apiKey, 0);
      frame.writeInt16BE(apiKey === 18 ? 3 : 4, 2);
      for (let i = 0; i < REQUESTS_PER_API_KEY; i++) observe(frame);
    }
    return { broker, metrics, observe, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
