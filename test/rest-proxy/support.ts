/**
 * Test helpers for the REST proxy: raw HTTP requests (node:http, so a GET may carry a body as
 * Confluent's API requires), and kafkajs 2.2.4 — a Kafka client we did not write — on the other
 * side of the proxy, producing what the proxy consumes and reading what it produced.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** The body parsed as JSON (undefined when empty). */
  readonly json: unknown;
}

export interface HttpRequest {
  readonly method?: string;
  readonly contentType?: string;
  readonly accept?: string;
  readonly body?: string | Buffer | object;
}

export function call(baseUrl: string, path: string, request: HttpRequest = {}): Promise<HttpAnswer> {
  const url = new URL(path, baseUrl);
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string' || Buffer.isBuffer(request.body)
        ? Buffer.from(request.body)
        : Buffer.from(JSON.stringify(request.body));
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.accept !== undefined) headers.accept = request.accept;
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: request.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text,
          json,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Asserts a Confluent error answer: status, error_code, and a message naming the fault. */
export function assertError(
  answer: HttpAnswer,
  status: number,
  errorCode: number,
  messagePart?: RegExp,
): void {
  assert.equal(answer.status, status, answer.text);
  const body = answer.json as { error_code?: unknown; message?: unknown };
  assert.equal(body.error_code, errorCode, answer.text);
  assert.equal(typeof body.message, 'string', answer.text);
  if (messagePart !== undefined) assert.match(body.message as string, messagePart);
}

export function kafkajs(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'rest-proxy-test',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
  });
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer>;
}

/** Reads `count` records of a topic from the beginning with a kafkajs consumer, or fails after the timeout. */
export async function readWithKafkajs(
  bootstrap: string,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<ReadRecord[]> {
  // kafkajs fetches from every leader of the topic's partitions and waits for all of them; a
  // leader with nothing new holds its fetch for maxWaitTimeInMs (5 s by default), which on a
  // three-broker cluster added about 5 s to every read here.
  const consumer = kafkajs(bootstrap).consumer({
    groupId: `kafkajs-reader-${topic}-${Date.now()}`,
    maxWaitTimeInMs: 500,
  });
  const records: ReadRecord[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`kafkajs read ${records.length} of ${count} records of ${topic} in ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers: Record<string, Buffer> = {};
            for (const [k, v] of Object.entries(message.headers ?? {}))
              if (Buffer.isBuffer(v)) headers[k] = v;
            records.push({
              partition,
              offset: Number(message.offset),
              key: message.key,
              value: message.value,
              headers,
            });
            if (records.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Produces with kafkajs (Java-compatible default partitioner); returns each record's partition and offset. */
export async function produceWithKafkajs(
  bootstrap: string,
  topic: string,
  messages: { key?: Buffer | null; value: Buffer | null; partition?: number }[],
): Promise<{ partition: number; offset: number }[]> {
  const producer = kafkajs(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const results: { partition: number; offset: number }[] = [];
    // One send per record, so each record's partition and offset are known.
    for (const message of messages) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [message] });
      assert.ok(meta !== undefined);
      results.push({ partition: meta.partition, offset: Number(meta.baseOffset) });
    }
    return results;
  } finally {
    await producer.disconnect();
  }
}

/** Polls `check` until it returns a value (not undefined), or fails naming what was awaited. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * One POST whose body is written in parts while the answer is read: `send` gets a writer and a
 * function resolving once the answer holds at least n lines. Resolves with every answer line.
 */
export function streamingCall(
  baseUrl: string,
  path: string,
  send: (write: (text: string) => Promise<void>, linesAtLeast: (n: number) => Promise<void>) => Promise<void>,
): Promise<{ status: number; lines: string[] }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const waiters: { n: number; resolve: () => void }[] = [];
    const lineCount = () => text.split('\n').filter((l) => l !== '').length;
    const wake = () => {
      for (const w of [...waiters]) {
        if (lineCount() >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
    const req = http.request(
      new URL(path, baseUrl),
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          wake();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter((l) => l !== '') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const write = (part: string) =>
      new Promise<void>((done) => {
        if (req.write(part)) done();
        else req.once('drain', done);
      });
    const linesAtLeast = (n: number) =>
      new Promise<void>((done) => {
        waiters.push({ n, resolve: done });
        wake();
      });
    send(write, linesAtLeast).then(
      () => req.end(),
      (error: unknown) => {
        req.destroy();
        reject(error);
      },
    );
  });
}
