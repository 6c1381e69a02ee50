// The client × scenario matrix: against Apache Kafka itself (issue 6), then against kstack's embedded
// engine on 1 node (issues 4 and 5) and on 3 nodes (issue 12: three `kstack node` processes; see RUNS
// for what each run covers). Every scenario must pass with every client that supports it. A client
// that is missing or not installed is a failure with the runner's message, never a skip. Runs compat/run.ts as a separate process, as a
// developer would (`npm run test:compat -- --target reference|kstack --nodes N`). These runs start JVMs
// and many client processes, so `npm run test:matrix` runs them one at a time, after the unit tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertKafkaInstalled } from '../../reference/cluster.ts';
import { loadScenarios, type Scenario } from '../runner/scenarios.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
/** Ports 19092-19199 belong to this suite (brokers from the base, controllers 50 above). */
const BASE_PORT = Number(process.env.KSTACK_COMPAT_BASE_PORT ?? 19092);
// A bound, not an expectation: the 3-node reference run took 663 s last session and hit 900 s in
// this session's proof run (cause not yet known: see the closing note of 2026-12-05).
const RUN_TIMEOUT_MS = 25 * 60_000;
/**
 * Cells at once (compat/run.ts's --parallel; its default for a developer's run is 4). The cells wait far
 * more than they compute: kstack 1 node's whole run (runner, broker, every driver) used 216 CPU-seconds
 * for its 279 cells, so at 4 at once CI's 478 s of that run kept about a quarter of the two cores busy
 * (compat/README.md, "The matrix in CI"). Scenarios that stop brokers still run alone.
 */
const CELLS_AT_ONCE = 8;

interface Report {
  scenarios: { name: string }[];
  cells: { client: string; scenario: string; status: string; details: string[] }[];
}

function runMatrix(
  target: string,
  nodes: number,
  reportFile: string,
  select: readonly string[],
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
        '--parallel',
        String(CELLS_AT_ONCE),
        '--no-docs',
        '--out',
        reportFile,
        ...select,
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

interface Run {
  readonly target: 'reference' | 'kstack';
  readonly nodes: 1 | 3;
  /** Only these scenarios; none: every scenario the cluster size allows. */
  readonly scenarios?: readonly string[];
}

/**
 * Scenarios whose expected answers depend on the cluster's size: a step with `expectByNodes`, or a
 * client difference recorded for one size only (`expectByClient.*.nodes`). Every other scenario
 * expects the same answers on 1 and 3 nodes, so the 3-node reference run checks its expectations.
 */
function sizeDependent(scenario: Scenario): boolean {
  return scenario.phases.some(
    (phase) =>
      'jobs' in phase &&
      phase.jobs.some((job) =>
        job.steps.some(
          (step) =>
            step.expectByNodes !== undefined ||
            Object.values(step.expectByClient ?? {}).some((byClient) => byClient.nodes !== undefined),
        ),
      ),
  );
}

const ONE_NODE_ONLY = loadScenarios()
  .filter((s) => s.nodes === 1 && sizeDependent(s))
  .map((s) => s.name);

// The reference on 3 nodes runs every scenario (a scenario runs on every cluster at least as large as
// its "nodes"), so a full 1-node reference run repeated it with one difference: the answers that depend
// on the cluster's size (on 2026-12-06: auto-create-topics' replica count, topic-admin's leader,
// replicas and ISR on one broker, kcat's exit on ALL_BROKERS_DOWN in idempotent-produce-after-cut).
// The 1-node reference runs only those (ONE_NODE_ONLY): 3 scenarios × 9 clients in place of 31 × 9.
// What it no longer checks in CI: a size-independent expectation that Kafka would answer differently
// on one broker only; the 3-node run cannot see that, so whoever edits a scenario runs the reference on
// both sizes by hand (compat/README.md).
const RUNS: readonly Run[] = [
  { target: 'reference', nodes: 3 },
  // Without such scenarios an empty --scenario would select every one: then no 1-node reference run.
  ...(ONE_NODE_ONLY.length > 0 ? [{ target: 'reference', nodes: 1, scenarios: ONE_NODE_ONLY } as const] : []),
  // `kstack up --brokers 1` is one Broker without a quorum, not a cluster node: a code path of its
  // own (metadata, topic creation, coordinators), so every scenario runs on it too.
  { target: 'kstack', nodes: 1 },
  // Every scenario on three `kstack node` processes, as on the 3-node reference (issue 12): 306 cells,
  // three cluster profiles; leader-failover and not-enough-replicas stop and restart nodes.
  // 357 and 369 s in this test at load 2-10 (the three 3-node scenarios alone took 81 s); compat/README.md,
  // "Every scenario on kstack's 3 nodes": the runs that put it here.
  { target: 'kstack', nodes: 3 },
];

for (const { target, nodes, scenarios } of RUNS) {
  // A filtered run names its scenarios; --min-scenario-nodes is the cluster's size (on 1 node, the only
  // filtered run today, it changes nothing; on 3 it would keep the report saying "needing at least 3 nodes").
  const select =
    scenarios === undefined ? [] : ['--min-scenario-nodes', String(nodes), '--scenario', scenarios.join(',')];
  const size = `${nodes} node${nodes > 1 ? 's' : ''}${scenarios === undefined ? '' : ` (${scenarios.join(', ')} only)`}`;
  test(`${target} matrix on ${size}: every supported scenario passes`, {
    timeout: RUN_TIMEOUT_MS + 60_000,
  }, async () => {
    if (target === 'reference') assertKafkaInstalled();
    // A report of its own: other runs of the runner (other targets, filtered runs) write the default one.
    const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-test-'));
    const reportFile = path.join(reportDir, 'report.json');
    const { code, output } = await runMatrix(target, nodes, reportFile, select);
    assert.ok(fs.existsSync(reportFile), `compat/run.ts wrote no report:\n${output.slice(-4000)}`);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
    fs.rmSync(reportDir, { recursive: true, force: true });
    if (scenarios !== undefined) {
      assert.deepEqual(
        report.scenarios.map((s) => s.name),
        [...scenarios],
        'the run did not run exactly the scenarios it selected',
      );
    }
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
