/**
 * `kstack smoke --bootstrap-server HOST:PORT`: AC-MSG-001 against any Kafka cluster.
 * Creates `events-topic` when missing, produces one unique message (acks=all), reads
 * it back from the partition leader at the offset the broker gave, and exits 0; 1 when
 * any step fails (with the step named), 2 on bad usage. Uses @platformatic/kafka, a
 * client we did not write, so it checks the broker rather than our own codecs.
 */
import { randomUUID } from 'node:crypto';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';

export const SMOKE_TOPIC = 'events-topic';
const DEFAULT_TIMEOUT_MS = 30_000;
const TOPIC_ALREADY_EXISTS = 36;
/** How long one read-back Fetch may wait at the broker for the record. */
const FETCH_MAX_WAIT_MS = 500;
/** What a Fetch's answer may take beyond its wait before the connection gives up on it. */
const FETCH_ANSWER_MARGIN_MS = 1_000;

const HELP = `usage: kstack smoke --bootstrap-server HOST:PORT [--topic NAME] [--timeout-ms MS]

AC-MSG-001: create ${SMOKE_TOPIC} if missing, produce a unique message, read it back.
Exit 0 on success, 1 when a step fails, 2 on bad usage.
`;

export interface SmokeOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly timeoutMs: number;
}

export function parseSmokeArgs(args: readonly string[]): SmokeOptions | 'help' {
  const parsed = parseFlags(
    args,
    { 'bootstrap-server': { type: 'string' }, topic: { type: 'string' }, 'timeout-ms': { type: 'string' } },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  const bootstrap = parseBootstrap(values['bootstrap-server'], HELP).join(',');
  const timeoutMs = Number(values['timeout-ms'] ?? DEFAULT_TIMEOUT_MS);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new UsageError(`--timeout-ms: '${values['timeout-ms']}' is not a positive whole number`);
  }
  return { bootstrap, topic: typeof values.topic === 'string' ? values.topic : SMOKE_TOPIC, timeoutMs };
}

class StepError extends Error {}

async function step<T>(name: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    const refusal = kafkaRefusalOf(error);
    throw new StepError(
      `${name}: ${(error as Error).message}${refusal === undefined ? '' : ` (${refusal})`}`,
    );
  }
}

/** The broker's refusal inside a client error (`NAME: message`), which the client wraps in its own. */
function kafkaRefusalOf(error: unknown): string | undefined {
  const e = error as { apiId?: string; message?: string; errors?: unknown[]; cause?: unknown } | null;
  if (typeof e?.apiId === 'string') return `${e.apiId}: ${e.message ?? ''}`;
  for (const inner of [...(e?.errors ?? []), ...(e?.cause === undefined ? [] : [e.cause])]) {
    const found = kafkaRefusalOf(inner);
    if (found !== undefined) return found;
  }
  return undefined;
}

function errorCodeOf(error: unknown): number | undefined {
  const e = error as { apiCode?: number; errors?: unknown[] } | null;
  if (typeof e?.apiCode === 'number') return e.apiCode;
  for (const inner of e?.errors ?? []) {
    const code = errorCodeOf(inner);
    if (code !== undefined) return code;
  }
  return undefined;
}

export async function runSmoke(options: SmokeOptions, print: (line: string) => void): Promise<void> {
  const bootstrapBrokers = options.bootstrap.split(',').map((s) => s.trim());
  // `requestTimeout` ends a request a broker never answers (the client's `timeout` does not reach
  // its connections, which wait 30 s unless told); never shorter than a read-back Fetch may take.
  const requestTimeout = Math.max(options.timeoutMs, FETCH_MAX_WAIT_MS + FETCH_ANSWER_MARGIN_MS);
  const base = { bootstrapBrokers, timeout: options.timeoutMs, requestTimeout, retries: 5 };
  const admin = new Admin({ ...base, clientId: 'kstack-smoke-admin' });
  const producer = new Producer({ ...base, clientId: 'kstack-smoke-producer', acks: -1 });
  const consumer = new Consumer({
    ...base,
    clientId: 'kstack-smoke-consumer',
    groupId: `kstack-smoke-${randomUUID()}`,
  });
  try {
    const topics = await step('list topics', () => admin.listTopics());
    if (!topics.includes(options.topic)) {
      await step(`create ${options.topic}`, async () => {
        try {
          await admin.createTopics({ topics: [options.topic], partitions: 1, replicas: -1 });
          print(`created topic ${options.topic}`);
        } catch (error) {
          if (errorCodeOf(error) !== TOPIC_ALREADY_EXISTS) throw error;
        }
      });
    }
    const value = `kstack-smoke ${randomUUID()} ${new Date().toISOString()}`;
    const produced = await step('produce', () =>
      producer.send({
        messages: [{ topic: options.topic, key: Buffer.from('kstack-smoke'), value: Buffer.from(value) }],
        // acks=all as AC-MSG-001's producer: @platformatic/kafka 2.12 takes acks from send()
        // only (the constructor's is ignored, and send() defaults to acks=1).
        acks: -1,
      }),
    );
    const written = produced.offsets?.[0];
    if (written === undefined) throw new StepError('produce: the broker returned no offset');
    print(`produced to ${options.topic}-${written.partition} at offset ${written.offset}`);
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const metadata = await step('metadata', () => consumer.metadata({ topics: [options.topic] }));
      const topic = metadata.topics.get(options.topic);
      const leader = topic?.partitions[written.partition]?.leader;
      if (topic === undefined || leader === undefined)
        throw new StepError(`metadata: no leader for ${options.topic}`);
      const response = await step('fetch', () =>
        consumer.fetch({
          node: leader,
          maxWaitTime: FETCH_MAX_WAIT_MS,
          topics: [
            {
              topicId: topic.id,
              partitions: [
                {
                  partition: written.partition,
                  fetchOffset: BigInt(written.offset),
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 1024 * 1024,
                },
              ],
            },
          ],
        }),
      );
      for (const topicResponse of response.responses) {
        for (const partition of topicResponse.partitions) {
          for (const batch of partition.records ?? []) {
            for (const record of batch.records) {
              if (record.value?.toString() === value) {
                print(`read back offset ${batch.firstOffset + BigInt(record.offsetDelta)}: ok`);
                return;
              }
            }
          }
        }
      }
      if (Date.now() > deadline)
        throw new StepError(`read back: message not found within ${options.timeoutMs} ms`);
    }
  } finally {
    await Promise.allSettled([admin.close(), producer.close(), consumer.close(true)]);
  }
}

export const command: Command = {
  summary: 'AC-MSG-001: create events-topic, produce a unique message, read it back',
  async run(args) {
    const options = parseSmokeArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    try {
      await runSmoke(options, (line) => process.stdout.write(`kstack smoke: ${line}\n`));
      process.stdout.write(`kstack smoke: AC-MSG-001 passed against ${options.bootstrap}\n`);
      return EXIT_OK;
    } catch (error) {
      process.stderr.write(
        `kstack smoke: AC-MSG-001 failed against ${options.bootstrap}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
  },
};
