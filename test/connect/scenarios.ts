/**
 * What the Connect tests check, written once and run against kstack and against Apache Kafka in one
 * run (clusters.slow.ts), so a failure points at kstack or at the test. Each scenario
 * talks to a real worker through Connect's REST API, to real files, and reads topics with a Kafka
 * client we did not write (@platformatic/kafka).
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Consumer } from '@platformatic/kafka';
import type { ConnectCompanion } from '../../src/connect/companion.ts';
import type { ConnectWorker } from '../../src/connect/worker.ts';

/** Waits for a condition on the loaded CI machine: generous, and it names what it waited for. */
export const WAIT_TIMEOUT_MS = 180_000;
const POLL_INTERVAL_MS = 250;

/** What the REST helpers need of a worker: its URL (a worker started here, or a companion's). */
export type RestWorker = Pick<ConnectWorker, 'url'>;

export interface ConnectTarget {
  /** A label for messages: 'kstack' or 'reference'. */
  readonly name: string;
  readonly bootstrap: string;
  /** A folder for this target's files. */
  readonly dir: string;
  worker(): ConnectWorker;
  /**
   * Stops the worker cleanly (SIGTERM) and starts a new one with the same group and topics, and with
   * `overrides` added to its properties; with `joinerPort`, a second worker of the group starts once it is ready.
   */
  restartWorker(
    between?: () => void,
    overrides?: ReadonlyMap<string, string>,
    joinerPort?: number,
  ): Promise<ConnectWorker>;
}

export interface RestAnswer {
  readonly status: number;
  readonly body: unknown;
}

export async function rest(
  worker: RestWorker,
  method: string,
  path: string,
  body?: unknown,
): Promise<RestAnswer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(60_000) };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`${worker.url}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Left as text: the assertion that reads it says what it expected.
  }
  return { status: response.status, body: parsed };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

interface ConnectorStatus {
  connector: { state: string };
  tasks: { id: number; state: string; trace?: string }[];
}

/** Waits until the connector and all of its `tasks` tasks are in `state`. */
export async function waitForState(
  worker: RestWorker,
  name: string,
  state: string,
  tasks = 1,
): Promise<ConnectorStatus> {
  return waitFor(`connector ${name} and ${tasks} task(s) ${state}`, async () => {
    const answer = await rest(worker, 'GET', `/connectors/${name}/status`);
    if (answer.status !== 200) return undefined;
    const status = answer.body as ConnectorStatus;
    const failed = status.tasks.find((task) => task.state === 'FAILED');
    if (failed !== undefined && state !== 'FAILED') {
      throw new Error(`task ${failed.id} of ${name} FAILED: ${failed.trace ?? ''}`);
    }
    const ok =
      status.connector.state === state &&
      status.tasks.length === tasks &&
      status.tasks.every((task) => task.state === state);
    return ok ? status : undefined;
  });
}

/**
 * Lines with what breaks naive copies: tabs, quotes, backslashes, lines longer than the source's
 * 1 KiB read buffer, and (unless `ascii`) non-ASCII characters.
 */
export function sampleLines(prefix: string, count: number, seed: number, ascii = false): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = (seed * 7919 + i * 104729) % 1000;
    const extra = i % 10 === 3 ? ` ${'x'.repeat(2000 + n)}` : '';
    lines.push(`${prefix} ${i}\t${ascii ? 'z' : 'ζ€'} "quoted" back\\slash ${n}${extra}`);
  }
  return lines;
}

/** Compares line lists without printing thousands of lines: the first difference and the counts. */
export function assertSameLines(actual: readonly string[], expected: readonly string[], what: string): void {
  const at = expected.findIndex((line, index) => actual[index] !== line);
  if (at === -1 && actual.length === expected.length) return;
  const first = at === -1 ? expected.length : at;
  const show = (line: string | undefined) =>
    line === undefined ? 'nothing' : JSON.stringify(line.slice(0, 80));
  assert.fail(
    `${what}: ${actual.length} lines, ${expected.length} expected; line ${first} is ${show(actual[first])}, expected ${show(expected[first])}`,
  );
}

export function fileSource(file: string, topic: string): Record<string, string> {
  return {
    'connector.class': 'org.apache.kafka.connect.file.FileStreamSourceConnector',
    'tasks.max': '1',
    file,
    topic,
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    // Connect creates the topic itself (KIP-158), with the broker's default replication factor.
    'topic.creation.default.replication.factor': '-1',
    'topic.creation.default.partitions': '1',
  };
}

export function fileSink(file: string, topic: string): Record<string, string> {
  return {
    'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
    'tasks.max': '1',
    file,
    topics: topic,
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
  };
}

export async function createConnector(
  worker: RestWorker,
  name: string,
  config: Record<string, string>,
): Promise<void> {
  const answer = await rest(worker, 'POST', '/connectors', { name, config });
  assert.equal(answer.status, 201, `POST /connectors ${name}: ${JSON.stringify(answer.body)}`);
}

/** Reads `count` values of a topic from the start with a consumer in a group of its own. */
export async function readTopic(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const records = await readRecords(bootstrap, topic, (read) => read.length >= count);
  return records.map((record) => record.value);
}

export interface TopicRecord {
  readonly value: string;
  readonly offset: bigint;
}

/**
 * Reads a topic from the start (a consumer in a group of its own) until `done` says so of what was
 * read, or WAIT_TIMEOUT_MS passed (then it returns what it read: the caller's assertion says more).
 */
export async function readRecords(
  bootstrap: string,
  topic: string,
  done: (records: readonly TopicRecord[]) => boolean,
): Promise<TopicRecord[]> {
  const consumer = new Consumer({
    bootstrapBrokers: bootstrap.split(','),
    clientId: 'kstack-connect-test',
    groupId: `kstack-connect-test-${topic}-${Date.now()}`,
    timeout: 30_000,
    retries: 10,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const records: TopicRecord[] = [];
    const timer = setTimeout(() => void stream.close(), WAIT_TIMEOUT_MS);
    try {
      for await (const message of stream as AsyncIterable<{ value: Buffer | undefined; offset: bigint }>) {
        records.push({ value: message.value?.toString('utf8') ?? '', offset: message.offset });
        if (done(records)) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close();
    }
    return records;
  } finally {
    await consumer.close(true);
  }
}

/** The end offset of partition 0 (past transaction markers too, where a topic has them). */
export async function endOffset(bootstrap: string, topic: string): Promise<bigint> {
  const admin = new Admin({ bootstrapBrokers: bootstrap.split(','), clientId: 'kstack-connect-test' });
  try {
    const [listed] = await admin.listOffsets({
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    });
    const offset = listed?.partitions[0]?.offset;
    assert.ok(offset !== undefined, `no end offset for ${topic}-0`);
    return offset;
  } finally {
    await admin.close();
  }
}

/** Waits until `file` holds exactly `expected` (byte for byte), failing early if it holds more. */
export async function waitForFile(file: string, expected: Buffer): Promise<void> {
  await waitFor(`${file} to hold the ${expected.length} bytes written`, () => {
    if (!existsSync(file)) return undefined;
    const actual = readFileSync(file);
    if (actual.length > expected.length) {
      throw new Error(`${file} holds ${actual.length} bytes, more than the ${expected.length} expected`);
    }
    return actual.length === expected.length ? actual : undefined;
  }).then((actual) => {
    assert.ok(actual.equals(expected), `${file} differs from what was written`);
  });
}

/** A FileStreamSource reads a file into a topic, a FileStreamSink writes it back out, byte for byte. */
export async function sourceToSink(target: ConnectTarget): Promise<void> {
  const worker = target.worker();
  const input = join(target.dir, 'pipeline-in.txt');
  const output = join(target.dir, 'pipeline-out.txt');
  const topic = 'connect-pipeline';
  const first = sampleLines('first', 500, 1);
  writeFileSync(input, `${first.join('\n')}\n`);
  await createConnector(worker, 'pipeline-source', fileSource(input, topic));
  await waitForState(worker, 'pipeline-source', 'RUNNING');
  assertSameLines(await readTopic(target.bootstrap, topic, first.length), first, topic);
  await createConnector(worker, 'pipeline-sink', fileSink(output, topic));
  await waitForState(worker, 'pipeline-sink', 'RUNNING');
  await waitForFile(output, readFileSync(input));
  // Lines appended while both run follow, in order.
  const second = sampleLines('second', 300, 2);
  appendFileSync(input, `${second.join('\n')}\n`);
  await waitForFile(output, readFileSync(input));
  for (const name of ['pipeline-source', 'pipeline-sink']) {
    assert.equal((await rest(worker, 'DELETE', `/connectors/${name}`)).status, 204);
  }
}

/** Pause, resume, restart (connector and tasks), stop and delete through the REST API. */
export async function lifecycle(target: ConnectTarget): Promise<void> {
  const worker = target.worker();
  const input = join(target.dir, 'lifecycle-in.txt');
  const topic = 'connect-lifecycle';
  const name = 'lifecycle-source';
  writeFileSync(input, 'one\n');
  await createConnector(worker, name, fileSource(input, topic));
  await waitForState(worker, name, 'RUNNING');
  assert.equal((await rest(worker, 'PUT', `/connectors/${name}/pause`)).status, 202);
  await waitForState(worker, name, 'PAUSED');
  appendFileSync(input, 'two\n');
  assert.equal((await rest(worker, 'PUT', `/connectors/${name}/resume`)).status, 202);
  await waitForState(worker, name, 'RUNNING');
  assert.deepEqual(await readTopic(target.bootstrap, topic, 2), ['one', 'two']);
  const restart = await rest(worker, 'POST', `/connectors/${name}/restart?includeTasks=true`);
  assert.equal(restart.status, 202, JSON.stringify(restart.body));
  await waitForState(worker, name, 'RUNNING');
  appendFileSync(input, 'three\n');
  // After a restart the task goes on from its committed offset: nothing read twice.
  assert.deepEqual(await readTopic(target.bootstrap, topic, 3), ['one', 'two', 'three']);
  // Connect answers a stop (KIP-875) with 204, a pause or resume with 202.
  assert.equal((await rest(worker, 'PUT', `/connectors/${name}/stop`)).status, 204);
  await waitForState(worker, name, 'STOPPED', 0);
  assert.equal((await rest(worker, 'DELETE', `/connectors/${name}`)).status, 204);
  await waitFor(`${name} gone`, async () =>
    (await rest(worker, 'GET', `/connectors/${name}`)).status === 404 ? true : undefined,
  );
  const list = await rest(worker, 'GET', '/connectors');
  assert.ok(Array.isArray(list.body) && !list.body.includes(name), JSON.stringify(list.body));
}

/** Connect's own errors reach the user; the worker and its other connectors go on. */
export async function badInput(target: ConnectTarget): Promise<void> {
  const worker = target.worker();
  const unknown = await rest(worker, 'POST', '/connectors', {
    name: 'bad-class',
    config: { 'connector.class': 'com.example.NoSuchConnector', topics: 't' },
  });
  assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
  assert.match(JSON.stringify(unknown.body), /NoSuchConnector/);
  const missing = await rest(worker, 'POST', '/connectors', {
    name: 'bad-sink',
    config: { 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector' },
  });
  assert.equal(missing.status, 400, JSON.stringify(missing.body));
  assert.match(JSON.stringify(missing.body), /topics/);
  // Connect 4.1 answers a body it cannot parse with 500 and Jackson's message (on Apache Kafka too).
  const malformed = await rest(worker, 'POST', '/connectors', '{"name": "bad-json", "config": {');
  assert.equal(malformed.status, 500, JSON.stringify(malformed.body));
  assert.match(JSON.stringify(malformed.body), /Unexpected end-of-input/);
  const list = await rest(worker, 'GET', '/connectors');
  assert.equal(list.status, 200);
  for (const name of ['bad-class', 'bad-sink', 'bad-json']) {
    assert.ok(!(list.body as string[]).includes(name), `${name} was created`);
  }
}

/**
 * ASCII only: Kafka's FileStreamSourceTask records its position in characters but skips bytes when it
 * resumes, so after a restart a file with multi-byte characters is re-read from too early (on Apache
 * Kafka as on kstack); the lines here are ASCII so that the check is about the offsets' storage.
 *
 * A clean worker restart keeps the connector configs and the source offsets: lines appended while
 * the worker was down are read once, nothing before them again. The new worker gets `overrides`:
 * with `exactly.once.source.support=enabled` it is also a user's switch to exactly-once source on a
 * stopped group (its tasks then resume from the offsets the plain worker committed, and write in
 * transactions). With `joinerPort` a second worker starts with it (the whole group was down: the
 * configs and offsets come from the cluster's topics whichever worker runs the task).
 */
export async function restartKeepsState(
  target: ConnectTarget,
  overrides: ReadonlyMap<string, string> = new Map(),
  joinerPort?: number,
): Promise<void> {
  const input = join(target.dir, 'restart-in.txt');
  const topic = 'connect-restart';
  const name = 'restart-source';
  const before = sampleLines('before', 200, 3, true);
  writeFileSync(input, `${before.join('\n')}\n`);
  await createConnector(target.worker(), name, fileSource(input, topic));
  await waitForState(target.worker(), name, 'RUNNING');
  assertSameLines(await readTopic(target.bootstrap, topic, before.length), before, topic);
  const during = sampleLines('during', 200, 4, true);
  const worker = await target.restartWorker(
    () => appendFileSync(input, `${during.join('\n')}\n`),
    overrides,
    joinerPort,
  );
  const list = await rest(worker, 'GET', '/connectors');
  assert.ok((list.body as string[]).includes(name), `after the restart: ${JSON.stringify(list.body)}`);
  await waitForState(worker, name, 'RUNNING');
  const after = sampleLines('after', 100, 5, true);
  appendFileSync(input, `${after.join('\n')}\n`);
  const expected = [...before, ...during, ...after];
  const records = await readRecords(target.bootstrap, topic, (read) => read.length >= expected.length);
  assertSameLines(
    records.map((record) => record.value),
    expected,
    topic,
  );
  // A line read twice would sit past the expected ones: the topic ends with the last of them (and,
  // written in transactions, its commit marker, which the coordinator may write a moment later).
  const transactional = overrides.get('exactly.once.source.support') === 'enabled';
  const end = records.at(-1)!.offset + (transactional ? 2n : 1n);
  const seen = await waitFor(`${topic}'s end offset to reach ${end}`, async () => {
    const offset = await endOffset(target.bootstrap, topic);
    return offset >= end ? offset : undefined;
  });
  assert.equal(seen, end, `${topic} holds more than the expected lines`);
  // The committed position reaches the end of the file at the next offset flush.
  const position = readFileSync(input).length;
  const committed = await waitFor(`${name}'s committed position to reach ${position}`, async () => {
    const answer = await rest(worker, 'GET', `/connectors/${name}/offsets`);
    const body = answer.body as { offsets?: { offset?: { position?: number } }[] };
    return body.offsets?.[0]?.offset?.position === position ? answer.body : undefined;
  });
  assert.deepEqual(committed, { offsets: [{ partition: { filename: input }, offset: { position } }] });
  assert.equal((await rest(worker, 'DELETE', `/connectors/${name}`)).status, 204);
}

/**
 * Exactly-once source (KIP-618; the worker runs with exactly.once.source.support=enabled): the
 * connector requires it, its records and offsets are written in transactions (the commit markers take
 * offsets of their own), and a task restart fences the old producer through the task's transactional
 * id and goes on from the committed offset: nothing lost, nothing twice.
 */
/**
 * The supervised worker (`kstack up`'s companion) killed with SIGKILL once its source offsets are
 * committed: the supervisor starts it again after its first backoff, the connector runs again and
 * goes on from the committed position, so the topic holds every line once, in order.
 */
export async function supervisedWorkerKilled(
  target: ConnectTarget,
  supervisor: ConnectCompanion,
  supervisorLines: readonly string[],
): Promise<void> {
  const first = await waitFor('the supervised worker', () => supervisor.worker);
  const starts = supervisor.starts;
  const input = join(target.dir, 'supervised-in.txt');
  const topic = 'connect-supervised';
  const name = 'supervised-source';
  const before = sampleLines('before', 100, 6, true);
  writeFileSync(input, `${before.join('\n')}\n`);
  await createConnector(first, name, fileSource(input, topic));
  await waitForState(first, name, 'RUNNING');
  assertSameLines(await readTopic(target.bootstrap, topic, before.length), before, topic);
  // Killed once the position is committed, the task has nothing to read again (at-least-once would
  // repeat the lines read since the last commit).
  const position = readFileSync(input).length;
  await waitFor(`${name}'s committed position to reach ${position}`, async () => {
    const body = (await rest(first, 'GET', `/connectors/${name}/offsets`)).body as {
      offsets?: { offset?: { position?: number } }[];
    };
    return body.offsets?.[0]?.offset?.position === position ? true : undefined;
  });
  await first.kill();
  const during = sampleLines('during', 100, 7, true);
  appendFileSync(input, `${during.join('\n')}\n`);
  const second = await waitFor('the supervisor to start the worker again', () =>
    supervisor.starts === starts + 1 ? supervisor.worker : undefined,
  );
  assert.notEqual(second.pid, first.pid);
  assert.ok(
    supervisorLines.some((line) => /worker exited \(SIGKILL\)/.test(line)),
    supervisorLines.join('\n'),
  );
  assert.ok(
    supervisorLines.some((line) => /restarting in 1000 ms/.test(line)),
    supervisorLines.join('\n'),
  );
  await waitForState(second, name, 'RUNNING');
  const after = sampleLines('after', 100, 8, true);
  appendFileSync(input, `${after.join('\n')}\n`);
  const expected = [...before, ...during, ...after];
  const records = await readRecords(target.bootstrap, topic, (read) => read.length >= expected.length);
  assertSameLines(
    records.map((record) => record.value),
    expected,
    topic,
  );
  const end = records.at(-1)!.offset + 1n;
  assert.equal(await endOffset(target.bootstrap, topic), end, `${topic} holds more than the expected lines`);
  assert.equal((await rest(second, 'DELETE', `/connectors/${name}`)).status, 204);
}

export async function exactlyOnceSource(target: ConnectTarget): Promise<void> {
  const worker = target.worker();
  const input = join(target.dir, 'eos-in.txt');
  const topic = 'connect-eos';
  const name = 'eos-source';
  const first = sampleLines('eos', 300, 8, true);
  writeFileSync(input, `${first.join('\n')}\n`);
  await createConnector(worker, name, {
    ...fileSource(input, topic),
    'exactly.once.support': 'required',
    'transaction.boundary': 'poll',
  });
  await waitForState(worker, name, 'RUNNING');
  assertSameLines(await readTopic(target.bootstrap, topic, first.length), first, topic);
  const end = await endOffset(target.bootstrap, topic);
  assert.ok(
    end > BigInt(first.length),
    `end offset ${end}: no transaction markers after ${first.length} records`,
  );
  const restart = await rest(worker, 'POST', `/connectors/${name}/tasks/0/restart`);
  assert.equal(restart.status, 204, JSON.stringify(restart.body));
  await waitForState(worker, name, 'RUNNING');
  const second = sampleLines('eos-after', 200, 9, true);
  appendFileSync(input, `${second.join('\n')}\n`);
  const expected = [...first, ...second];
  assertSameLines(await readTopic(target.bootstrap, topic, expected.length), expected, topic);
  assert.equal((await rest(worker, 'DELETE', `/connectors/${name}`)).status, 204);
}

interface WorkerStatus {
  connector: { state: string; worker_id: string };
  tasks: { state: string; worker_id: string }[];
}

/** How many FileStream sources the two workers share. */
const SHARED_CONNECTORS = 4;

/**
 * Two workers in one group (the `connect` group protocol, incremental cooperative rebalancing) share
 * connectors and tasks; `victim` is killed (kill -9) and, after scheduled.rebalance.max.delay.ms (the
 * caller's workers run with a short one), every connector and task runs on the target's worker, which
 * goes on: every line arrives, and only lines sent before the kill may come twice (at-least-once; with
 * exactly-once source the killed task's open transaction is aborted when its successor fences it).
 */
export async function workersShareTasks(target: ConnectTarget, victim: ConnectWorker): Promise<void> {
  const survivor = target.worker();
  const names = Array.from({ length: SHARED_CONNECTORS }, (_, i) => `shared-${i}`);
  const files = names.map((name) => join(target.dir, `${name}.txt`));
  const firsts = names.map((_, i) => sampleLines(`first-${i}`, 100, 10 + i, true));
  for (const [i, name] of names.entries()) {
    writeFileSync(files[i]!, `${firsts[i]!.join('\n')}\n`);
    await createConnector(survivor, name, fileSource(files[i]!, name));
  }
  for (const name of names) await waitForState(survivor, name, 'RUNNING');
  const statusOf = async (name: string) =>
    (await rest(survivor, 'GET', `/connectors/${name}/status`)).body as WorkerStatus;
  // Both workers hold connectors or tasks (8 units over 2 members).
  const owners = await waitFor('both workers to hold work', async () => {
    const ids = new Set<string>();
    for (const name of names) {
      const status = await statusOf(name);
      ids.add(status.connector.worker_id);
      for (const task of status.tasks) ids.add(task.worker_id);
    }
    return ids.size === 2 ? ids : undefined;
  });
  const idOf = (worker: ConnectWorker) => worker.url.slice('http://'.length);
  assert.deepEqual([...owners].sort(), [idOf(survivor), idOf(victim)].sort());
  for (const [i, name] of names.entries()) {
    assertSameLines(await readTopic(target.bootstrap, name, firsts[i]!.length), firsts[i]!, name);
  }
  await victim.kill();
  await waitFor(`every connector and task on ${survivor.url}`, async () => {
    for (const name of names) {
      const status = await statusOf(name);
      const units = [status.connector, ...status.tasks];
      const moved = units.every((unit) => unit.state === 'RUNNING' && unit.worker_id === idOf(survivor));
      if (units.length !== 2 || !moved) return undefined;
    }
    return true;
  });
  const laters = names.map((_, i) => sampleLines(`later-${i}`, 100, 20 + i, true));
  for (const [i, file] of files.entries()) appendFileSync(file, `${laters[i]!.join('\n')}\n`);
  for (const [i, name] of names.entries()) {
    const first = firsts[i]!;
    const later = laters[i]!;
    const read = await readRecords(
      target.bootstrap,
      name,
      (records) => records.at(-1)?.value === later.at(-1),
    );
    const values = read.map((record) => record.value);
    assertSameLines(values.slice(0, first.length), first, `${name} (first copy)`);
    assertSameLines(values.slice(values.length - later.length), later, `${name} (new lines)`);
    const resent = values.slice(first.length, values.length - later.length);
    assert.ok(
      resent.every((line) => first.includes(line)),
      `${name}: ${resent.length} unexpected lines`,
    );
  }
  for (const name of names) assert.equal((await rest(survivor, 'DELETE', `/connectors/${name}`)).status, 204);
}
