/**
 * The records written before fuzzing, through @platformatic/kafka (a client we did not write), and
 * their check at the end: every one still readable, at its offset, byte for byte.
 */
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { uuidFromBytes } from '../src/protocol/index.ts';
import type { Prng } from './prng.ts';

export interface KnownRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers: readonly [Buffer, Buffer][];
}

/** @platformatic/kafka prints topic ids as dashed hex; the protocol core uses Kafka's base64url. */
function kafkaUuid(id: string): string {
  return uuidFromBytes(Buffer.from(id.replaceAll('-', ''), 'hex'));
}

export interface KnownData {
  readonly topic: string;
  readonly topicId: string;
  readonly partitions: number;
  readonly records: readonly KnownRecord[];
  /** Ids of the fuzz topics created at start (the generator names them in requests). */
  readonly fuzzTopicIds: readonly string[];
}

const CLIENT_TIMEOUT_MS = 15_000;
const TOPIC_ALREADY_EXISTS = 36;

function base(bootstrap: string, clientId: string) {
  return { clientId, bootstrapBrokers: [bootstrap], timeout: CLIENT_TIMEOUT_MS, retries: 5 };
}

function apiCodeOf(error: unknown): number | undefined {
  const e = error as { apiCode?: number; errors?: unknown[] } | null;
  if (typeof e?.apiCode === 'number') return e.apiCode;
  for (const inner of e?.errors ?? []) {
    const code = apiCodeOf(inner);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** Creates the protected and fuzz topics and writes `count` records (keys, values, headers) to the first. */
export async function writeKnownRecords(
  bootstrap: string,
  topic: string,
  fuzzTopics: readonly string[],
  partitions: number,
  count: number,
  prng: Prng,
): Promise<KnownData> {
  const admin = new Admin(base(bootstrap, 'kstack-fuzz-admin'));
  const producer = new Producer({ ...base(bootstrap, 'kstack-fuzz-producer'), acks: -1 });
  try {
    for (const name of [topic, ...fuzzTopics]) {
      try {
        await admin.createTopics({ topics: [name], partitions, replicas: -1 });
      } catch (error) {
        if (apiCodeOf(error) !== TOPIC_ALREADY_EXISTS || name !== topic) throw error;
        throw new Error(`topic ${topic} already exists: the fuzzer needs a fresh one (pass a fresh broker)`);
      }
    }
    const written: KnownRecord[] = [];
    const nextOffset = new Array<bigint>(partitions).fill(0n);
    for (let i = 0; i < count; i++) {
      const partition = i % partitions;
      const value = Buffer.from(prng.bytes(prng.chance(0.1) ? prng.int(1024, 20_000) : prng.int(0, 200)));
      const key = i % 7 === 0 ? null : Buffer.from(`key-${i}`);
      const headers: [Buffer, Buffer][] = i % 3 === 0 ? [[Buffer.from('h'), Buffer.from(prng.bytes(4))]] : [];
      await producer.send({
        messages: [{ topic, partition, key: key ?? undefined, value, headers: new Map(headers) }],
      });
      written.push({ partition, offset: nextOffset[partition]!, key, value, headers });
      nextOffset[partition]! += 1n;
    }
    const metadata = await admin.metadata({ topics: [topic, ...fuzzTopics] });
    const topicId = metadata.topics.get(topic)?.id;
    if (topicId === undefined) throw new Error(`metadata has no topic ${topic}`);
    const fuzzTopicIds = fuzzTopics
      .map((name) => metadata.topics.get(name)?.id)
      .filter((id) => id !== undefined)
      .map(kafkaUuid);
    return { topic, topicId: kafkaUuid(topicId), partitions, records: written, fuzzTopicIds };
  } finally {
    await Promise.allSettled([admin.close(), producer.close()]);
  }
}

function same(a: Buffer | null | undefined, b: Buffer | null | undefined): boolean {
  if (a === null || a === undefined || a.length === 0) return b === null || b === undefined || b.length === 0;
  return b !== null && b !== undefined && a.equals(b);
}

/** Reads every partition of the protected topic back; returns the differences (empty when all match). */
export async function verifyKnownRecords(
  bootstrap: string,
  data: KnownData,
  timeoutMs: number,
): Promise<string[]> {
  const consumer = new Consumer({
    ...base(bootstrap, 'kstack-fuzz-verify'),
    groupId: `kstack-fuzz-verify-${Date.now()}`,
  });
  const problems: string[] = [];
  try {
    const metadata = await consumer.metadata({ topics: [data.topic] });
    const topic = metadata.topics.get(data.topic);
    if (topic === undefined) return [`topic ${data.topic} is gone`];
    if (kafkaUuid(topic.id) !== data.topicId)
      problems.push(`topic id changed: ${data.topicId} -> ${topic.id}`);
    for (let partition = 0; partition < data.partitions; partition++) {
      const expected = data.records.filter((r) => r.partition === partition);
      const leader = topic.partitions[partition]?.leader;
      if (leader === undefined) {
        problems.push(`partition ${partition} has no leader`);
        continue;
      }
      const got = new Map<
        bigint,
        { key: Buffer | null; value: Buffer | null; headers: [Buffer | null, Buffer | null][] }
      >();
      let offset = 0n;
      const deadline = Date.now() + timeoutMs;
      while (offset < BigInt(expected.length) && Date.now() < deadline) {
        const response = await consumer.fetch({
          node: leader,
          maxWaitTime: 100,
          topics: [
            {
              topicId: topic.id,
              partitions: [
                {
                  partition,
                  fetchOffset: offset,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
        });
        for (const topicResponse of response.responses) {
          for (const p of topicResponse.partitions) {
            if (p.errorCode !== 0)
              problems.push(`partition ${partition} fetch at ${offset}: error ${p.errorCode}`);
            for (const batch of p.records ?? []) {
              for (const record of batch.records) {
                const at = batch.firstOffset + BigInt(record.offsetDelta);
                got.set(at, { key: record.key, value: record.value, headers: record.headers });
                if (at + 1n > offset) offset = at + 1n;
              }
            }
          }
        }
        if (problems.length > 0) break;
      }
      for (const record of expected) {
        const actual = got.get(record.offset);
        const where = `${data.topic}-${partition}@${record.offset}`;
        if (actual === undefined) problems.push(`${where}: missing`);
        else if (!same(record.key, actual.key)) problems.push(`${where}: key differs`);
        else if (!same(record.value, actual.value)) problems.push(`${where}: value differs`);
        else if (
          actual.headers.length !== record.headers.length ||
          record.headers.some(
            ([k, v], i) => !same(k, actual.headers[i]?.[0]) || !same(v, actual.headers[i]?.[1]),
          )
        )
          problems.push(`${where}: headers differ`);
      }
    }
  } finally {
    await consumer.close(true).catch(() => {});
  }
  return problems;
}
