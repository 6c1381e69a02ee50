// Scenario 23's run on any three-node cluster (chaos.slow.ts: kstack; chaos-reference.long.ts:
// Apache Kafka): real librdkafka clients (workload.py) produce and consume while the nemesis
// applies its seeded schedule, then everything is healed, the producers stop, every consumer and a
// fresh one drain to the high watermarks, and the whole history goes to the checker.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../controller/acked-load.ts';
import { kafkajsClient } from '../testing/kafkajs-client.ts';
import { type ChaosEvent, type CheckResult, check } from './checker.ts';
import { type ChaosTarget, describeStep, schedule } from './nemesis.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** confluent-kafka from PyPI in the compat venv (scripts/setup/20-clients.sh). */
const PYTHON = join(ROOT, 'compat', 'clients', 'python', 'venv-python');
const WORKLOAD = join(import.meta.dirname, 'workload.py');
export const TOPIC = 'chaos';
export const PARTITIONS = 3;
const PRODUCERS = 3;
const CONSUMERS = 2;
/** Between one producer's writes: about 100 writes a second each. */
const PRODUCE_INTERVAL_MS = 10;
/** Each producer's writes acknowledged before the faults start, and again after the heal. */
const ACKNOWLEDGED_EACH_PHASE = 100;
/** A producer's flush, or a consumer's drain to the high watermarks, after the heal. */
const CLIENT_FINISH_TIMEOUT_MS = 120_000;

/** One workload.py process: its events parsed as they come. */
class Client {
  readonly name: string;
  readonly events: ChaosEvent[] = [];
  readonly failed: string[] = [];
  readonly notes: string[] = [];
  acknowledged = 0;
  done = false;
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcessWithoutNullStreams;
  #stderr = '';

  constructor(bootstrap: readonly string[], mode: 'produce' | 'consume', name: string) {
    this.name = name;
    const args = [WORKLOAD, mode, bootstrap.join(','), TOPIC, String(PARTITIONS), name];
    if (mode === 'produce') args.push(String(PRODUCE_INTERVAL_MS));
    this.#child = spawn(PYTHON, args, { cwd: ROOT });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    let pending = '';
    this.#child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        this.#onLine(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    });
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4_096);
    });
  }

  #onLine(line: string): void {
    const event = JSON.parse(line) as {
      t: string;
      s: string;
      q: number;
      p: number;
      o: number;
      v: string;
      e: string;
    };
    const { s: session, p: partition, o: offset, v: value } = event;
    if (event.t === 'ack') {
      this.acknowledged++;
      this.events.push({ kind: 'send', session, seq: event.q, partition, offset, value });
    } else if (event.t === 'read') this.events.push({ kind: 'poll', session, partition, offset, value });
    else if (event.t === 'fail') this.failed.push(`${value}: ${event.e}`);
    else if (event.t === 'done') this.done = true;
    else this.notes.push(line);
  }

  tell(command: 'stop' | 'drain'): void {
    this.#child.stdin.write(`${command}\n`);
  }

  async finish(): Promise<void> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), CLIENT_FINISH_TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    assert.ok(
      this.done && code === 0,
      `${this.name} did not finish within ${CLIENT_FINISH_TIMEOUT_MS} ms (exit ${code}); stderr:\n${this.#stderr}`,
    );
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }
}

/** Every client started and not finished: `stopClients` ends them (a test file's `after`). */
const clients = new Set<Client>();

export async function stopClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.kill()));
  clients.clear();
}

function start(bootstrap: readonly string[], mode: 'produce' | 'consume', name: string): Client {
  const client = new Client(bootstrap, mode, name);
  clients.add(client);
  return client;
}

type Admin = ReturnType<ReturnType<typeof kafkajsClient>['admin']>;

async function fullIsr(admin: Admin): Promise<boolean> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  const partitions = topics[0]?.partitions ?? [];
  return partitions.length === PARTITIONS && partitions.every((p) => p.leader >= 0 && p.isr.length === 3);
}

export interface ChaosRun {
  readonly result: CheckResult;
  /** One line: counts and phase times, for the log. */
  readonly summary: string;
}

/** The scenario on a running three-node cluster reached at `bootstrap`, faults from `seed`. */
export async function runChaos(
  target: ChaosTarget,
  bootstrap: readonly string[],
  seed: number,
): Promise<ChaosRun> {
  const steps = schedule(seed, target.faults);
  console.log(`nemesis on ${target.name}: ${steps.map(describeStep).join('; ')}`);
  const admin = kafkajsClient('chaos-admin', [...bootstrap]).admin();
  await admin.connect();
  try {
    // No waitForLeaders: kafkajs gives up on it while a loaded reference still spreads the topic;
    // fullIsr is asked until it holds.
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: PARTITIONS,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    await waitUntil(`${TOPIC}'s ISRs full`, () => fullIsr(admin));
    const producers = Array.from({ length: PRODUCERS }, (_, i) => start(bootstrap, 'produce', `p${i + 1}`));
    const consumers = Array.from({ length: CONSUMERS }, (_, i) => start(bootstrap, 'consume', `c${i + 1}`));
    const eachAcknowledgedMore = async () => {
      const before = producers.map((producer) => producer.acknowledged);
      await waitUntil(`each producer acknowledged ${ACKNOWLEDGED_EACH_PHASE} more`, () =>
        producers.every((producer, i) => producer.acknowledged >= before[i]! + ACKNOWLEDGED_EACH_PHASE),
      );
    };
    await eachAcknowledgedMore();

    const faultsStarted = performance.now();
    for (const step of steps) {
      await Promise.all(step.nodes.map((node) => target.apply(node, step.fault)));
      await sleep(step.holdMs);
      await Promise.all(step.nodes.map((node) => target.heal(node, step.fault)));
      await sleep(step.gapMs);
    }
    const healed = performance.now();
    await waitUntil(`${TOPIC}'s ISRs full after the heal`, () => fullIsr(admin));
    await eachAcknowledgedMore();
    for (const producer of producers) producer.tell('stop');
    await Promise.all(producers.map((producer) => producer.finish()));

    const drainers = [...consumers, start(bootstrap, 'consume', 'drain')];
    for (const consumer of drainers) consumer.tell('drain');
    await Promise.all(drainers.map((consumer) => consumer.finish()));
    const drained = performance.now();

    const all = [...producers, ...drainers];
    const result = check(all.flatMap((client) => client.events));
    const failed = producers.flatMap((producer) => producer.failed);
    const notes = all.flatMap((client) => client.notes.map((note) => `${client.name}: ${note}`));
    for (const client of all) clients.delete(client);
    const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
    return {
      result,
      summary: `${target.name}, seed ${seed}: ${result.acknowledged} writes acknowledged, ${failed.length} not${failed.length > 0 ? ` (${failed.slice(0, 3).join('; ')})` : ''}; ${result.polled} polls, ${result.valuesRead} values read; faults ${seconds(faultsStarted, healed)} s, heal to drained ${seconds(healed, drained)} s; client notes: ${notes.join(' | ')}`,
    };
  } finally {
    await admin.disconnect();
  }
}
