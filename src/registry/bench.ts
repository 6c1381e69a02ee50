/**
 * Benchmark of the Schema Registry (reports numbers, asserts nothing): `node src/registry/bench.ts
 * --bootstrap-server HOST:PORT [--port P] [--rate N] [--seconds S] [--follower-port F]
 * [--registry-cpu N --load-cpu M]`. Starts
 * `kstack schema-registry` as a separate process, registers schemas, then measures:
 * - idle resident memory of the registry process (VmRSS after start and registrations);
 * - registrations per second (sequential, each a new schema: read-to-end, append acks=all, read back);
 * - with `--follower-port`, the same through a second instance (`--leader-eligibility false`) that
 *   forwards each registration to the first and reads `_schemas` to its end before it answers;
 * - lookups by id (`GET /schemas/ids/{id}`, the serdes' hot path), driven by `load.ts` in its own
 *   process: at a fixed open-loop rate (latency counted from each request's due time, so a stall is
 *   not hidden), then closed loop for the most the registry answers; the registry's CPU per lookup.
 *   `--registry-cpu`/`--load-cpu` pin the two processes to different cores with `taskset -c`.
 * - with `--probe`, the registry's own view of each lookup run (bench-probe.ts, loaded into it with
 *   `--import`): its event-loop delay percentiles and its garbage collections' pauses, to hold against
 *   the lookups' latency tail.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ProbeFigures } from './bench-probe.ts';
import type { LoadResult } from './load.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    'bootstrap-server': { type: 'string' },
    port: { type: 'string', default: '8081' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
    registrations: { type: 'string', default: '200' },
    'follower-port': { type: 'string' },
    'registry-cpu': { type: 'string' },
    'load-cpu': { type: 'string' },
    probe: { type: 'boolean', default: false },
  },
});
const bootstrap = values['bootstrap-server'];
if (bootstrap === undefined) throw new Error('--bootstrap-server HOST:PORT is required');
const port = Number(values.port);
const ratePerSecond = Number(values.rate);
const seconds = Number(values.seconds);
const registrations = Number(values.registrations);
const followerPort = values['follower-port'] === undefined ? undefined : Number(values['follower-port']);
const SOCKETS_MAX = 32;

const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS_MAX });

function request(
  method: string,
  path: string,
  body?: string,
  targetPort = port,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kib / 1024) * 10) / 10;
}

/** CPU time (user + system) the process has used, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/**
 * The registry's main thread (its event loop) as the kernel saw it: ms spent waiting on a run queue
 * for a CPU (`/proc/PID/schedstat`'s second field, ns), and involuntary context switches (taken
 * off the CPU while runnable). A lookup that waits while its thread waits shows in these.
 */
function schedulerWait(pid: number): { waitMs: number; involuntary: number } {
  const waitNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1] ?? 0);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const involuntary = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { waitMs: waitNs / 1e6, involuntary };
}

/** `taskset -c CPU` before a command when a CPU is given (and taskset exists). */
function pinned(cpu: string | undefined, command: string[]): string[] {
  return cpu === undefined ? command : ['taskset', '-c', cpu, ...command];
}

function runLoadProcess(args: string[]): Promise<LoadResult> {
  const [command, ...rest] = pinned(values['load-cpu'], [
    process.execPath,
    join(ROOT, 'src', 'registry', 'load.ts'),
    ...args,
  ]);
  return new Promise((resolve, reject) => {
    const generator = spawn(command ?? '', rest, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    generator.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    generator.on('error', reject);
    generator.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`load generator exited ${code}: ${out}`));
    });
  });
}

const probeFile = join(mkdtempSync(join(tmpdir(), 'kstack-sr-probe-')), 'probe.json');

function startRegistry(registryPort: number, extraArgs: string[], cpu?: string, probe = false) {
  const [command, ...rest] = pinned(cpu, [
    process.execPath,
    ...(probe ? ['--import', join(ROOT, 'src', 'registry', 'bench-probe.ts')] : []),
    'bin/kstack.ts',
    'schema-registry',
    '--bootstrap-server',
    bootstrap ?? '',
    '--port',
    String(registryPort),
    ...extraArgs,
  ]);
  const env = probe ? { ...process.env, KSTACK_REGISTRY_PROBE_FILE: probeFile } : process.env;
  return spawn(command ?? '', rest, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** The probe's figures since its previous signal (bench-probe.ts writes them on SIGUSR2). */
async function probeFigures(pid: number): Promise<ProbeFigures> {
  rmSync(probeFile, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; !existsSync(probeFile); waited += 20) {
    if (waited > 5_000) throw new Error('the registry probe wrote nothing within 5 s');
    await sleep(20);
  }
  await sleep(20);
  return JSON.parse(readFileSync(probeFile, 'utf8')) as ProbeFigures;
}

function describeProbe(figures: ProbeFigures): string {
  const { p50, p99, p999, max } = figures.loopDelay;
  const gcs = Object.entries(figures.gc).map(
    ([kind, g]) =>
      `${kind} ${g.count}× (total ${g.totalMs.toFixed(1)} ms, max ${g.maxMs.toFixed(2)} ms, ${g.over1Ms} over 1 ms)`,
  );
  return `registry event-loop delay p50 ${p50} ms, p99 ${p99} ms, p99.9 ${p999} ms, max ${max} ms; GC: ${gcs.join(', ') || 'none'}`;
}

async function waitServing(registryPort: number): Promise<void> {
  for (;;) {
    const up = await request('GET', '/', undefined, registryPort).then(
      () => true,
      () => false,
    );
    if (up) return;
    await sleep(100);
  }
}

/** Registers `count` new schemas one after another through `registryPort`; their ids and the seconds taken. */
async function registerMany(
  registryPort: number,
  count: number,
  tag: string,
): Promise<{ ids: number[]; seconds: number }> {
  const started = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const schema = JSON.stringify({
      type: 'record',
      name: `Bench_${tag}_${i}`,
      fields: [{ name: 'n', type: 'int' }],
    });
    const answer = await request(
      'POST',
      `/subjects/bench-${tag}-${i}/versions`,
      JSON.stringify({ schema }),
      registryPort,
    );
    if (answer.status !== 200)
      throw new Error(`registration ${i} via ${registryPort}: ${answer.status} ${answer.text}`);
    ids.push((JSON.parse(answer.text) as { id: number }).id);
  }
  return { ids, seconds: (performance.now() - started) / 1000 };
}

const child = startRegistry(port, [], values['registry-cpu'], values.probe);
const follower =
  followerPort === undefined ? null : startRegistry(followerPort, ['--leader-eligibility', 'false']);
try {
  await waitServing(port);
  const pid = child.pid ?? 0;
  process.stdout.write(`idle RSS after start: ${rssMiB(pid)} MiB\n`);

  const tag = Date.now().toString(36);
  // HTTP answers before the group's first assignment: one registration through each instance
  // first, so the measured ones do not include the election (or the follower's joining rebalance).
  if (followerPort !== undefined) await waitServing(followerPort);
  await registerMany(port, 1, `${tag}w`);
  if (followerPort !== undefined) await registerMany(followerPort, 1, `${tag}wf`);
  const { ids, seconds: registerSeconds } = await registerMany(port, registrations, tag);
  process.stdout.write(
    `registrations: ${registrations} in ${registerSeconds.toFixed(2)} s = ${(registrations / registerSeconds).toFixed(0)}/s\n`,
  );
  if (followerPort !== undefined) {
    const forwarded = await registerMany(followerPort, registrations, `${tag}f`);
    process.stdout.write(
      `registrations through a follower (forwarded): ${registrations} in ${forwarded.seconds.toFixed(2)} s = ${(registrations / forwarded.seconds).toFixed(0)}/s\n`,
    );
  }
  await sleep(2_000);
  process.stdout.write(`idle RSS after ${registrations} schemas: ${rssMiB(pid)} MiB\n`);

  // The load generator runs as its own process (load.ts: raw keep-alive sockets, open loop), pinned
  // to another core than the registry when taskset is there, so the two do not take turns on one.
  const pathsFile = join(mkdtempSync(join(tmpdir(), 'kstack-sr-bench-')), 'paths.txt');
  writeFileSync(pathsFile, ids.map((id) => `/schemas/ids/${id}`).join('\n'));
  process.stdout.write(
    `load average (1 min) before the lookups: ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}; ` +
      `registry on CPU ${values['registry-cpu'] ?? 'any'}, load generator on CPU ${values['load-cpu'] ?? 'any'}\n`,
  );
  for (const mode of ['open', 'max'] as const) {
    if (values.probe) await probeFigures(pid);
    const cpuBefore = cpuMs(pid);
    const waitBefore = schedulerWait(pid);
    const result = await runLoadProcess([
      '--port',
      String(port),
      '--paths-file',
      pathsFile,
      '--mode',
      mode,
      '--rate',
      String(ratePerSecond),
      '--seconds',
      String(seconds),
    ]);
    const cpuPerLookupUs = ((cpuMs(pid) - cpuBefore) * 1000) / Math.max(1, result.answered);
    process.stdout.write(
      `lookups by id, ${mode === 'open' ? `open loop at ${ratePerSecond}/s offered` : 'closed loop (the most answered)'}: ` +
        `${result.answered} answered in ${result.seconds} s = ${result.achievedPerSecond}/s, errors ${result.errors}; ` +
        `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, p99.9 ${result.p999Ms.toFixed(2)} ms, ` +
        `max ${result.maxMs.toFixed(2)} ms (the generator's own send lateness p99 ${result.sendLatenessP99Ms.toFixed(2)} ms, included); registry CPU ${cpuPerLookupUs.toFixed(0)} µs per lookup ` +
        `(≈ ${(1e6 / cpuPerLookupUs).toFixed(0)}/s per free core); load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}\n`,
    );
    const waitAfter = schedulerWait(pid);
    process.stdout.write(
      `  registry main thread waiting for a CPU: ${(waitAfter.waitMs - waitBefore.waitMs).toFixed(0)} ms in ${result.seconds} s, ` +
        `${waitAfter.involuntary - waitBefore.involuntary} involuntary context switches\n`,
    );
    if (values.probe) process.stdout.write(`  ${describeProbe(await probeFigures(pid))}\n`);
  }
  process.stdout.write(`RSS after the lookups: ${rssMiB(pid)} MiB\n`);
} finally {
  agent.destroy();
  follower?.kill('SIGTERM');
  child.kill('SIGTERM');
}
