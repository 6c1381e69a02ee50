// The process-level fault tests' load and check: a kafkajs producer sends batches to partition 0
// of a topic until stopped, remembering every record the cluster acknowledged at its offset; after
// the faults, a consumer reads the partition to its end and every acknowledged record must be
// there, at its offset, once (no loss, no offset holding two values).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

/** Generous: a loaded 2-core machine restarts a node process in seconds. */
export const LOAD_WAIT_MS = 180_000;
const POLL_MS = 100;
const BATCH = 20;

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + LOAD_WAIT_MS;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // A broker going or coming: ask again.
    }
    if (performance.now() > deadline)
      throw new Error(`timed out after ${LOAD_WAIT_MS} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Every load not stopped yet: a failed test leaves its load running, which `stopLoads` ends. */
const running = new Set<AckedLoad>();

/** Stops every load still running (for a test file's `after`, before its cluster stops). */
export async function stopLoads(): Promise<void> {
  await Promise.all([...running].map((load) => load.stop()));
}

export class AckedLoad {
  /** Offset → value of every acknowledged record. */
  readonly acknowledged = new Map<bigint, string>();
  sent = 0;
  failed = 0;
  readonly #running: Promise<void>;
  #loading = true;

  /** `pauseMs` between sends keeps an acks=1 load from writing tens of thousands of records. */
  constructor(kafka: Kafka, topic: string, acks: -1 | 1, pauseMs = 0) {
    this.#running = this.#load(kafka, topic, acks, pauseMs);
    running.add(this);
  }

  async #load(kafka: Kafka, topic: string, acks: -1 | 1, pauseMs: number): Promise<void> {
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    while (this.#loading) {
      const values = Array.from({ length: BATCH }, () => `record-${this.sent++}`);
      try {
        const [meta] = await producer.send({
          topic,
          acks,
          timeout: 30_000,
          messages: values.map((value) => ({ value, partition: 0 })),
        });
        const base = BigInt(meta!.baseOffset!);
        for (const [i, value] of values.entries()) this.acknowledged.set(base + BigInt(i), value);
        if (pauseMs > 0) await sleep(pauseMs);
      } catch {
        // Not acknowledged (a failover): never checked. Sent again as new records.
        this.failed += 1;
        await sleep(POLL_MS);
      }
    }
    await producer.disconnect().catch(() => {});
  }

  async stop(): Promise<void> {
    this.#loading = false;
    running.delete(this);
    await this.#running;
  }
}

/** Reads partition 0 of `topic` from the start to its end offset; offset → value. */
export async function readAll(kafka: Kafka, topic: string, groupId: string): Promise<Map<bigint, string>> {
  const admin = kafka.admin();
  await admin.connect();
  let end = 0n;
  await waitUntil(`${topic}-0's end offset`, async () => {
    const [offsets] = await admin.fetchTopicOffsets(topic);
    end = BigInt(offsets?.high ?? '-1');
    return end >= 0n;
  });
  await admin.disconnect();
  const read = new Map<bigint, string>();
  if (end === 0n) return read;
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      read.set(BigInt(message.offset), message.value?.toString() ?? '');
    },
  });
  await waitUntil(`the consumer read ${topic}-0 to ${end}`, () => read.size >= Number(end));
  await consumer.disconnect();
  return read;
}

/** The acknowledged records missing from `read` or at another value there. */
export function lostRecords(
  acknowledged: ReadonlyMap<bigint, string>,
  read: ReadonlyMap<bigint, string>,
): number {
  let lost = 0;
  for (const [offset, value] of acknowledged) if (read.get(offset) !== value) lost++;
  return lost;
}
