// The client × scenario matrix: against Apache Kafka itself on 1 and 3 nodes (issue 6), then against
// kstack's embedded engine on 1 node (issues 4 and 5). Every scenario must pass with every client that
// supports it. A client that is missing or not installed is a failure with the runner's message, never
// a skip. Runs compat/run.ts as a separate process, as a developer would
// (`npm run test:compat -- --target reference|kstack --nodes N`). These runs start JVMs and many client
// processes, so `npm run test:matrix` runs them one at a time, after the unit tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertKafkaInstalled } from '../../reference/cluster.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** Ports 19092-19199 belong to this suite (brokers from the base, controllers 50 above). */
const BASE_PORT = Number(process.env.KSTACK_COMPAT_BASE_PORT ?? 19092);
// A bound, not an expectation: the 3-node reference run took 663 s last session and hit 900 s in
// this session's proof run (cause not yet known: see the closing note of 2026-12-05).
const RUN_TIMEOUT_MS = 25 * 60_000;

interface Report {
  cells: { client: string; scenario: string; status: string; details: string[] }[];
}

function runMatrix(
  target: string,
  nodes: number,
  reportFile: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        'compat/run.ts',
        '--target',
        target,
        '--nodes',
        String(nodes),
        '--base-port',
        String(BASE_PORT),
        '--no-docs',
        '--out',
        reportFile,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const RUNS = [
  { target: 'reference', nodes: 1 },
  { target: 'reference', nodes: 3 },
  { target: 'kstack', nodes: 1 },
] as const;

for (const { target, nodes } of RUNS) {
  test(`${target} matrix on ${nodes} node${nodes > 1 ? 's' : ''}: every supported scenario passes`, {
    timeout: RUN_TIMEOUT_MS + 60_000,
  }, async () => {
    if (target === 'reference') assertKafkaInstalled();
    // A report of its own: other runs of the runner (other targets, filtered runs) write the default one.
    const reportFile = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-test-')),
      'report.json',
    );
    const { code, output } = await runMatrix(target, nodes, reportFile);
    assert.ok(fs.existsSync(reportFile), `compat/run.ts wrote no report:\n${output.slice(-4000)}`);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
    const failures = report.cells.filter((cell) => cell.status === 'fail');
    assert.deepEqual(
      failures.map((cell) => `${cell.client} × ${cell.scenario}: ${cell.details.join('; ').slice(0, 600)}`),
      [],
      `failing cells on ${nodes} node(s); full output:\n${output.slice(-6000)}`,
    );
    assert.ok(
      report.cells.some((cell) => cell.status === 'pass'),
      'the matrix ran no scenario',
    );
    assert.equal(code, 0, output.slice(-4000));
  });
}
