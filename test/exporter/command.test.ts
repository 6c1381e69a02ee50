/**
 * `kstack exporter` bad input: exit 2 and a message naming the flag at fault, before anything
 * listens; and a cluster nothing answers on is reported down, not an exit. Ports: exporter 20414,
 * and 19399, where nothing listens; exporter 25602 and a socket that accepts and never answers
 * 25603 (docs/team-rules.md).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXPORTER_COLLECT_TIMEOUT_MS, EXPORTER_REQUEST_TIMEOUT_MS } from '../../src/exporter/exporter.ts';
import { sampleValue, scrape, waitFor } from '../metrics/support.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs `kstack exporter ARGS` to its exit: its status and stderr. */
function exporter(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['bin/kstack.ts', 'exporter', ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      (error, _stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ status: error === null ? 0 : (error.code as number), stderr });
      },
    );
  });
}

/** A running `kstack exporter` with JSON logs: the child and its stderr so far. */
interface RunningExporter {
  readonly child: ReturnType<typeof spawn>;
  stderr(): string;
  /** The stderr's JSON log lines. */
  lines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

function startExporter(bootstrap: string, port: number): RunningExporter {
  const child = spawn(
    process.execPath,
    [
      'bin/kstack.ts',
      'exporter',
      '--bootstrap-server',
      bootstrap,
      '--port',
      String(port),
      '--log-format',
      'json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  return {
    child,
    stderr: () => stderr,
    lines: () =>
      stderr
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((done) => child.once('exit', done));
    },
  };
}

test('bad flags exit 2 and name the flag', async () => {
  const cases: [string[], RegExp][] = [
    [[], /--bootstrap-server: missing/],
    [['--bootstrap-server', 'localhost'], /--bootstrap-server: 'localhost' is not HOST:PORT/],
    [['--bootstrap-server', '127.0.0.1:9092', '--port', '70000'], /--port: '70000' is not a port number/],
    [['--bootstrap-server', '127.0.0.1:9092', '--bogus'], /Unknown option '--bogus'/],
    [
      ['--bootstrap-server', '127.0.0.1:9092', '--log-level', 'loud'],
      /--log-level: 'loud' is not a log level \(one of debug, info, warn, error\)/,
    ],
    [
      ['--bootstrap-server', '127.0.0.1:9092', '--log-format', 'xml'],
      /--log-format: 'xml' is not a log format/,
    ],
  ];
  // The processes run side by side: each one's start (module loading) is most of its time.
  const results = await Promise.all(cases.map(([args]) => exporter(args)));
  cases.forEach(([args, message], index) => {
    const result = results[index]!;
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  });
});

test('a cluster nothing answers on is served as down, logged once as a JSON line, and the exporter keeps running', async () => {
  const running = startExporter('127.0.0.1:19399', 20414);
  try {
    const samples = await waitFor('the exporter to answer', () => scrape('http://127.0.0.1:20414/metrics'));
    assert.equal(sampleValue(samples, 'kafka_exporter_cluster_up'), 0);
    assert.equal(sampleValue(samples, 'kafka_brokers'), 0);
    // A second scrape after the render interval finds the cluster down again: still one line.
    await waitFor('a second collection', async () => {
      await new Promise((done) => setTimeout(done, 1_100));
      return sampleValue(await scrape('http://127.0.0.1:20414/metrics'), 'kafka_exporter_cluster_up') === 0
        ? true
        : undefined;
    });
    const lines = running.lines();
    assert.equal(lines.length, 1, running.stderr());
    assert.equal(lines[0]!.level, 'warn');
    assert.equal(lines[0]!.component, 'exporter');
    assert.equal(lines[0]!.bootstrap, '127.0.0.1:19399');
    assert.match(String(lines[0]!.msg), /^cluster 127\.0\.0\.1:19399 unreachable: /);
    assert.equal(running.child.exitCode, null, 'the exporter exited');
  } finally {
    await running.stop();
  }
});

test('a broker that accepts and never answers (a paused one) is down after one request timeout, not the collection timeout', async () => {
  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(25603, '127.0.0.1', resolve));
  const running = startExporter('127.0.0.1:25603', 25602);
  try {
    const samples = await waitFor('the exporter to answer', () => scrape('http://127.0.0.1:25602/metrics'));
    assert.equal(sampleValue(samples, 'kafka_exporter_cluster_up'), 0);
    assert.ok(held.size >= 1, 'the exporter connected to the silent broker');
    const [line] = running.lines();
    const stderr = running.stderr();
    // The client's requests end after EXPORTER_REQUEST_TIMEOUT_MS; had they waited the connections'
    // 30 s default, the collection's own EXPORTER_COLLECT_TIMEOUT_MS would have ended it instead.
    assert.ok(EXPORTER_REQUEST_TIMEOUT_MS < EXPORTER_COLLECT_TIMEOUT_MS);
    assert.match(String(line?.msg), /^cluster 127\.0\.0\.1:25603 unreachable: /, stderr);
    assert.doesNotMatch(String(line?.msg), /EXPORTER_COLLECT_TIMEOUT_MS/, stderr);
  } finally {
    await running.stop();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});
