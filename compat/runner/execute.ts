// Runs one scenario through one client and judges the outcome: pass, fail (with the differences), or
// not supported (with the driver's reasons).
import { type ClientSpec, runJob, type StepResult } from './drivers.ts';
import { compare, type Json, normaliseValue } from './match.ts';
import {
  type ClusterAction,
  type Expectation,
  expectationFor,
  makeSubstitution,
  type NodeRef,
  type Scenario,
  type ScenarioStep,
  stepForDriver,
  substitute,
} from './scenarios.ts';

export interface ClusterControl {
  stopNode(id: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startNode(id: number): Promise<void>;
  /** Restarts whatever a scenario stopped, so the next one finds the whole cluster. */
  restoreAll(): Promise<void>;
}

export type CellStatus = 'pass' | 'fail' | 'unsupported';

export interface Cell {
  client: string;
  scenario: string;
  status: CellStatus;
  /** Differences for a failure, reasons for unsupported, accepted client differences for a pass. */
  details: string[];
  clientVersion?: string;
  durationMs: number;
}

function leadingSetup(steps: ScenarioStep[]): ScenarioStep[] {
  const end = steps.findIndex((step) => step.setup !== true);
  return end === -1 ? steps : steps.slice(0, end);
}

export function needsClusterControl(scenario: Scenario): boolean {
  return scenario.phases.some((phase) => 'cluster' in phase);
}

function checkStep(step: ScenarioStep, result: StepResult | undefined, expect: Expectation): string[] {
  if (expect.anyOf) {
    // Kafka itself answers differently by API version (e.g. DescribeGroups of an unknown group):
    // any one of the alternatives passes.
    const attempts = expect.anyOf.map((alternative) => checkStep(step, result, alternative));
    if (attempts.some((d) => d.length === 0)) return [];
    return [
      `step ${step.id} (${step.op}): matches none of ${expect.anyOf.length} alternatives: ${attempts.map((d) => d.join(', ')).join(' | ')}`,
    ];
  }
  const diffs: string[] = [];
  const where = `step ${step.id} (${step.op})`;
  if (!result) return [`${where}: no result from the driver`];
  const status = expect.status ?? (expect.error ? 'error' : 'ok');
  if (result.status !== status) {
    const got =
      result.status === 'error'
        ? `error ${result.error}${result.message ? ` (${result.message})` : ''}`
        : result.status;
    diffs.push(`${where}: expected ${status}${expect.error ? ` ${expect.error}` : ''}, got ${got}`);
    return diffs;
  }
  if (expect.error !== undefined) {
    const allowed = Array.isArray(expect.error) ? expect.error : [expect.error];
    if (!allowed.includes(result.error ?? '')) {
      diffs.push(
        `${where}: expected error ${allowed.join(' or ')}, got ${result.error} (${result.message ?? ''})`,
      );
    }
  }
  if (expect.value !== undefined) {
    const stepDiffs: string[] = [];
    compare(normaliseValue(result.value ?? null), normaliseValue(expect.value), 'value', stepDiffs);
    for (const diff of stepDiffs) diffs.push(`${where}: ${diff}`);
  }
  return diffs;
}

function resolveNode(node: number | NodeRef, results: Map<string, StepResult>): number {
  if (typeof node === 'number') return node;
  let value: Json | undefined = results.get(node.fromStep)?.value;
  for (const key of node.path) {
    value = Array.isArray(value)
      ? value[key as number]
      : typeof value === 'object' && value !== null
        ? (value as Record<string, Json>)[key as string]
        : undefined;
  }
  if (typeof value !== 'number')
    throw new Error(`cannot resolve node from step ${node.fromStep} ${node.path.join('.')}`);
  return value;
}

async function runClusterAction(
  action: ClusterAction,
  control: ClusterControl,
  results: Map<string, StepResult>,
): Promise<void> {
  const id = resolveNode(action.node, results);
  if (action.cluster === 'stop') await control.stopNode(id, action.signal ?? 'SIGTERM');
  else await control.startNode(id);
}

export async function runScenario(options: {
  scenario: Scenario;
  client: ClientSpec;
  bootstrap: string;
  nodes: number;
  runId: string;
  control?: ClusterControl;
  /** Runs the steps marked `"setup": true` when `delegateSetup` (the Java client). */
  helper?: ClientSpec;
  /** The client has no createTopic (see probeAdmin): its setup steps go to the helper. */
  delegateSetup?: boolean;
}): Promise<Cell> {
  const { scenario, client, nodes } = options;
  const started = Date.now();
  const substitution = makeSubstitution(scenario, client.name, options.runId);
  const results = new Map<string, StepResult>();
  const diffs: string[] = [];
  const unsupported: string[] = [];
  const accepted: string[] = [];
  let clientVersion: string | undefined;
  const cell = (status: CellStatus, details: string[]): Cell => ({
    client: client.name,
    scenario: scenario.name,
    status,
    details,
    clientVersion,
    durationMs: Date.now() - started,
  });
  try {
    for (const [phaseIndex, rawPhase] of scenario.phases.entries()) {
      const phase = substitute(rawPhase, substitution);
      if ('sleepMs' in phase) {
        await new Promise((resolve) => setTimeout(resolve, phase.sleepMs));
        continue;
      }
      if ('cluster' in phase) {
        if (!options.control)
          return cell('fail', ['the scenario stops brokers but the target is not one the runner controls']);
        await runClusterAction(phase, options.control, results);
        continue;
      }
      // Leading steps marked "setup" (creating the topics a produce test needs, say) are not what the
      // scenario tests: for a client without an admin API (kcat) the helper client runs them, so that
      // the client is still judged on the rest.
      const helper = options.delegateSetup && options.helper ? options.helper : undefined;
      const skipped = phase.jobs.map((job) => (helper ? leadingSetup(job.steps).length : 0));
      if (helper) {
        for (const [jobIndex, job] of phase.jobs.entries()) {
          const setup = job.steps.slice(0, skipped[jobIndex]);
          if (setup.length === 0) continue;
          const outcome = await runJob(helper, {
            bootstrap: options.bootstrap,
            jobId: `${scenario.name}-${phaseIndex}-${jobIndex}-setup-${options.runId}`,
            steps: setup.map(stepForDriver),
          });
          if (!outcome.ok) diffs.push(`setup through ${helper.name}: ${outcome.problem}`);
          for (const [index, step] of setup.entries()) {
            const result = outcome.ok ? outcome.result.results[index] : undefined;
            if (result) results.set(step.id, result);
            const expect = expectationFor(step, helper.name, nodes).expect;
            diffs.push(...checkStep(step, result, expect).map((d) => `setup through ${helper.name}: ${d}`));
          }
        }
      }
      const outcomes = await Promise.all(
        phase.jobs.map((job, jobIndex) =>
          runJob(client, {
            bootstrap: options.bootstrap,
            jobId: `${scenario.name}-${phaseIndex}-${jobIndex}-${options.runId}`,
            steps: job.steps.slice(skipped[jobIndex]).map(stepForDriver),
          }),
        ),
      );
      for (const [jobIndex, outcome] of outcomes.entries()) {
        const job = phase.jobs[jobIndex]!;
        if (!outcome.ok) {
          diffs.push(
            `phase ${phaseIndex} job ${jobIndex}: ${outcome.problem}; stderr: ${outcome.stderrTail.slice(-600)}`,
          );
          continue;
        }
        clientVersion ??= outcome.result.client?.version;
        for (const [index, step] of job.steps.slice(skipped[jobIndex]).entries()) {
          const result =
            outcome.result.results.find((r) => r.id === step.id) ?? outcome.result.results[index];
          if (result) results.set(step.id, result);
          if (result?.status === 'unsupported') {
            unsupported.push(`${step.id} (${step.op}): ${result.reason ?? 'no reason given'}`);
            continue;
          }
          if (result?.status === 'error' && result.error === 'CLIENT_NOT_INSTALLED') {
            diffs.push(`client not installed: ${result.message ?? ''}`);
            break;
          }
          const { expect, why } = expectationFor(step, client.name, nodes);
          if (why) accepted.push(`${step.id}: ${why}`);
          diffs.push(...checkStep(step, result, expect));
        }
      }
      if (unsupported.length > 0) break;
    }
  } catch (error) {
    diffs.push(`runner: ${(error as Error).message}`);
  } finally {
    if (options.control && needsClusterControl(scenario)) await options.control.restoreAll();
  }
  if (unsupported.length > 0 && !diffs.some((d) => d.startsWith('client not installed'))) {
    return cell('unsupported', unsupported);
  }
  if (diffs.length > 0) return cell('fail', diffs);
  return cell('pass', accepted);
}

/** Asks a client once whether it can create topics; a client that cannot has its setup delegated. */
export async function probeAdmin(client: ClientSpec, bootstrap: string, runId: string): Promise<boolean> {
  const outcome = await runJob(client, {
    bootstrap,
    jobId: `probe-${runId}`,
    steps: [
      {
        id: 'probe',
        op: 'createTopic',
        topic: `kc-probe-${client.name.replace(/[^A-Za-z0-9-]/g, '-')}-${runId}`,
      },
    ],
  });
  return !(outcome.ok && outcome.result.results[0]?.status === 'unsupported');
}

export function describeCell(cell: Cell): string {
  if (cell.status === 'pass') return 'pass';
  if (cell.status === 'unsupported') return `not supported: ${cell.details.join('; ')}`;
  return `FAIL: ${cell.details.join('; ')}`;
}
