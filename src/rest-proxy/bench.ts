/**
 * Benchmark of produce through the REST proxy beside a native client on the same cluster:
 *   node src/rest-proxy/bench.ts --bootstrap-server HOST:PORT [--port P] [--records N] [--requests N]
 * Starts `kstack rest-proxy` as its own process (so its idle resident memory is its own), then
 * measures: v2 single-record requests one at a time (latency p50/p99, records/s) and 16 at a time
 * (records/s); one v3 stream of N records (records/s); the same with @platformatic/kafka directly
 * (one record per send, then batches of 1,000). Prints one JSON object. A benchmark, not a test.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, Producer } from '@platformatic/kafka';

const ROOT = join(import.meta.dirname, '..', '..');
const VALUE = Buffer.alloc(100, 'x');
const CONCURRENCY = 16;
const NATIVE_BATCH = 1_000;

const { values } = parseArgs({
  options: {
    'bootstrap-server': { type: 'string' },
    port: { type: 'string', default: '20390' },
    records: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '2000' },
  },
});
const bootstrap = values['bootstrap-server'];
if (bootstrap === undefined) throw new Error('--bootstrap-server HOST:PORT is required');
const port = Number(values.port);
const streamRecords = Number(values.records);
const requests = Number(values.requests);
const base = `http://127.0.0.1:${port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(path: string, contentType: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      { method: 'POST', agent, headers: { 'content-type': contentType } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const rssKb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function timed(count: number, one: (i: number) => Promise<void>, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await one(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    recordsPerS: Math.round(count / seconds),
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p99Ms: +percentile(latencies, 99).toFixed(2),
  };
}

const topic = `rest-proxy-bench-${Date.now()}`;
const admin = new Admin({ clientId: 'rest-proxy-bench', bootstrapBrokers: [bootstrap] });
await admin.createTopics({ topics: [topic], partitions: 1, replicas: -1 });
await admin.close();

const child = spawn(
  process.execPath,
  ['bin/kstack.ts', 'rest-proxy', '--bootstrap-server', bootstrap, '--port', String(port)],
  {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
await post(
  `/topics/${topic}`,
  'application/vnd.kafka.binary.v2+json',
  JSON.stringify({ records: [{ value: VALUE.toString('base64') }] }),
);
await new Promise((resolve) => setTimeout(resolve, 2_000));
const idleRssKb = rssKb(child.pid as number);

const single = JSON.stringify({ records: [{ value: VALUE.toString('base64') }] });
const produceOne = async () => {
  const answer = await post(`/topics/${topic}`, 'application/vnd.kafka.binary.v2+json', single);
  if (answer.status !== 200) throw new Error(answer.text);
};
const v2Sequential = await timed(requests, produceOne, 1);
const v2Concurrent = await timed(requests * 4, produceOne, CONCURRENCY);
const line = `${JSON.stringify({ value: { type: 'BINARY', data: VALUE.toString('base64') } })}\n`;
const clusters = await new Promise<string>((resolve, reject) => {
  http
    .get(`${base}/v3/clusters`, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve(text));
    })
    .on('error', reject);
});
const clusterId = (JSON.parse(clusters) as { data: { cluster_id: string }[] }).data[0]?.cluster_id;
const streamStarted = performance.now();
const streamed = await post(
  `/v3/clusters/${clusterId}/topics/${topic}/records`,
  'application/json',
  line.repeat(streamRecords),
).catch((error: Error) => ({ status: 0, text: error.message }));
const streamSeconds = (performance.now() - streamStarted) / 1000;
const loadedRssKb = rssKb(child.pid as number);
child.kill('SIGTERM');

// acks=all as the proxy's own producer: @platformatic/kafka 2.12 takes acks from send() only.
const producer = new Producer({ clientId: 'rest-proxy-bench-native', bootstrapBrokers: [bootstrap] });
const nativeSequential = await timed(
  requests,
  async () => void (await producer.send({ messages: [{ topic, value: VALUE }], acks: -1 })),
  1,
);
const nativeBatchStarted = performance.now();
for (let sent = 0; sent < streamRecords; sent += NATIVE_BATCH) {
  await producer.send({
    messages: Array.from({ length: NATIVE_BATCH }, () => ({ topic, value: VALUE })),
    acks: -1,
  });
}
const nativeBatchPerS = Math.round(streamRecords / ((performance.now() - nativeBatchStarted) / 1000));
await producer.close();
agent.destroy();

const v3StreamPerS = streamed.status === 200 ? Math.round(streamRecords / streamSeconds) : null;
process.stdout.write(
  `${JSON.stringify(
    {
      bootstrap,
      valueBytes: VALUE.length,
      loadAverage1m: +(loadavg()[0] ?? 0).toFixed(2),
      proxy: {
        idleRssMb: +(idleRssKb / 1024).toFixed(1),
        afterRunRssMb: +(loadedRssKb / 1024).toFixed(1),
        v2Sequential,
        v2Concurrent16: v2Concurrent,
        v3Stream: { records: streamRecords, recordsPerS: v3StreamPerS, status: streamed.status },
      },
      native: { sequential: nativeSequential, batches1000: { recordsPerS: nativeBatchPerS } },
      ratios: {
        sequentialRecordsPerS: +(v2Sequential.recordsPerS / nativeSequential.recordsPerS).toFixed(2),
        sequentialP99: +(v2Sequential.p99Ms / nativeSequential.p99Ms).toFixed(2),
        streamVsNativeBatches: v3StreamPerS === null ? null : +(v3StreamPerS / nativeBatchPerS).toFixed(2),
      },
    },
    null,
    2,
  )}\n`,
);
