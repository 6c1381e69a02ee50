/**
 * HTTP load generator for the registry benchmark (`bench.ts` runs it as its own process, so it can
 * be pinned to another core than the registry). Plain HTTP/1.1 over keep-alive sockets, written
 * by hand so one core can drive well over 5,000 requests/s (node:http's client costs more per
 * request than the registry's answer does):
 * - `open`: open loop at a fixed offered rate. Request k is due at t0 + k/rate whatever the answers
 *   do; it goes out on the connection with the fewest outstanding requests (pipelined when all are
 *   busy), and its latency counts from when it was due, so a stall of the server (or of this
 *   process) shows in the percentiles instead of slowing the offered rate (no coordinated omission).
 * - `max`: closed loop, `connections` sockets each keeping `depth` requests outstanding: the highest
 *   rate the server answers.
 * Usage: `node src/registry/load.ts --port P --paths-file F --mode open|max [--rate N] [--seconds S]
 * [--connections C] [--depth D]`; prints one JSON line: sent, answered, errors, rate, percentiles (ms).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';

/** A socket's pending requests beyond this are an error: the server stopped answering. */
export const PIPELINE_DEPTH_MAX = 10_000;
/** Open loop: within this many ms of the next due request the generator polls instead of sleeping. */
export const SPIN_WINDOW_MS = 2;

export interface LoadResult {
  mode: 'open' | 'max';
  offeredPerSecond: number | null;
  sent: number;
  answered: number;
  errors: number;
  seconds: number;
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** p99 of how late the generator itself sent a request after its due time (included in the latencies). */
  sendLatenessP99Ms: number;
}

interface Connection {
  socket: net.Socket;
  /** Times (ms, performance.now) the requests in flight on this socket were due, oldest first. */
  due: number[];
  buffer: Buffer;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Splits complete responses off the front of `conn.buffer`; calls `done(status)` for each. */
function drain(conn: Connection, done: (status: number, dueMs: number) => void): void {
  for (;;) {
    const end = conn.buffer.indexOf(HEADER_END);
    if (end < 0) return;
    const head = conn.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length === null) throw new Error(`response without content-length: ${head.slice(0, 200)}`);
    const total = end + 4 + Number(length[1]);
    if (conn.buffer.length < total) return;
    conn.buffer = conn.buffer.subarray(total);
    const dueMs = conn.due.shift();
    if (dueMs === undefined) throw new Error('a response nobody asked for');
    done(status, dueMs);
  }
}

export async function runLoad(options: {
  port: number;
  paths: string[];
  mode: 'open' | 'max';
  rate: number;
  seconds: number;
  connections: number;
  depth: number;
}): Promise<LoadResult> {
  const requests = options.paths.map((path) =>
    Buffer.from(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: application/json\r\n\r\n`),
  );
  const latencies: number[] = [];
  /** How late (ms) each request went out after its due time: the generator's own delay. */
  const sendLateness: number[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let stopping = false;
  const conns: Connection[] = [];
  let resolveIdle: (() => void) | null = null;
  const send = (conn: Connection, due: number): void => {
    if (conn.due.length >= PIPELINE_DEPTH_MAX)
      throw new Error(`more than ${PIPELINE_DEPTH_MAX} requests pending on one connection`);
    conn.due.push(due);
    sendLateness.push(performance.now() - due);
    conn.socket.write(requests[sent % requests.length] as Buffer);
    sent++;
  };
  for (let i = 0; i < options.connections; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: options.port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn: Connection = { socket, due: [], buffer: Buffer.alloc(0) };
    socket.on('data', (chunk: Buffer) => {
      conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
      drain(conn, (status, dueMs) => {
        answered++;
        if (status !== 200) errors++;
        latencies.push(performance.now() - dueMs);
        if (options.mode === 'max' && !stopping) send(conn, performance.now());
        if (stopping && resolveIdle !== null && conns.every((c) => c.due.length === 0)) resolveIdle();
      });
    });
    socket.on('error', () => {
      errors++;
    });
    conns.push(conn);
  }

  const t0 = performance.now();
  const endAt = t0 + options.seconds * 1000;
  if (options.mode === 'max') {
    for (const conn of conns) for (let k = 0; k < options.depth; k++) send(conn, performance.now());
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  } else {
    const total = Math.round(options.rate * options.seconds);
    const intervalMs = 1000 / options.rate;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && t0 + sent * intervalMs <= now) {
          let best = conns[0] as Connection;
          for (const conn of conns) if (conn.due.length < best.due.length) best = conn;
          send(best, t0 + sent * intervalMs);
        }
        if (sent >= total) resolve();
        else {
          // Timers fire about 1 ms late at best, which would make every request late by up to a
          // millisecond and count the generator's lateness as the server's latency. Closer than
          // SPIN_WINDOW_MS to the next due time, the generator polls with setImmediate (it has its
          // own core; answers are still read between polls).
          const wait = t0 + sent * intervalMs - performance.now();
          if (wait < SPIN_WINDOW_MS) setImmediate(tick);
          else setTimeout(tick, wait - SPIN_WINDOW_MS);
        }
      };
      tick();
    });
  }
  const sentAtEnd = sent;
  stopping = true;
  if (conns.some((c) => c.due.length > 0)) {
    await new Promise<void>((resolve) => {
      resolveIdle = resolve;
      setTimeout(resolve, 30_000).unref();
    });
  }
  const seconds = (Math.max(performance.now(), endAt) - t0) / 1000;
  for (const conn of conns) conn.socket.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const lost = sentAtEnd - answered;
  return {
    mode: options.mode,
    offeredPerSecond: options.mode === 'open' ? options.rate : null,
    sent: sentAtEnd,
    answered,
    errors: errors + lost,
    seconds: Math.round(seconds * 1000) / 1000,
    achievedPerSecond: Math.round(answered / seconds),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.at(-1) ?? Number.NaN,
    sendLatenessP99Ms: percentile(Float64Array.from(sendLateness).sort(), 99),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'paths-file': { type: 'string' },
      mode: { type: 'string', default: 'open' },
      rate: { type: 'string', default: '5000' },
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      depth: { type: 'string', default: '4' },
    },
  });
  if (values.port === undefined || values['paths-file'] === undefined)
    throw new Error('usage: load.ts --port P --paths-file F [--mode open|max] [--rate N] [--seconds S]');
  if (values.mode !== 'open' && values.mode !== 'max') throw new Error(`--mode ${values.mode}: open or max`);
  const paths = readFileSync(values['paths-file'], 'utf8').split('\n').filter(Boolean);
  const result = await runLoad({
    port: Number(values.port),
    paths,
    mode: values.mode,
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    connections: Number(values.connections),
    depth: Number(values.depth),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
