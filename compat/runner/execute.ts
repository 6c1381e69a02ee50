// Runs one scenario through one client and judges the outcome: pass, fail (with the differences), or
// not supported (with the driver's reasons).
import { type ClientSpec, runJob, type StepResult } from './drivers.ts';
import type { FaultPlan } from './fault-proxy.ts';
import { compare, type Json, normaliseValue } from './match.ts';
import {
  type ClusterAction,
  type Expectation,
  expectationFor,
  type Job,
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

/** `notRun`: the runner could not give the scenario the cluster it needs (the reason is in details). */
export type CellStatus = 'pass' | 'fail' | 'unsupported' | 'notRun';

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

export interface ScenarioRun {
  client: ClientSpec;
  /** The client has no createTopic (see probeAdmin): its setup steps go to the helper. */
  delegateSetup?: boolean;
}

interface ClientState extends ScenarioRun {
  substitution: ReturnType<typeof makeSubstitution>;
  results: Map<string, StepResult>;
  diffs: string[];
  unsupported: string[];
  accepted: string[];
  clientVersion?: string;
  /** Cuts armed on the fault proxy for this client, checked after the next jobs phase. */
  armedCuts?: { prefix: string; cuts: number };
}

/** The client id prefix of every job of one client in one scenario (PROTOCOL.md: kstack-compat-<jobId>). */
export function clientIdPrefix(scenario: string, client: string): string {
  return `kstack-compat-${`${scenario}-${client}-`.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/**
 * Runs one scenario for one or more clients in lockstep: each phase of jobs runs for every client at
 * once (each with its own topics and groups), and a cluster phase (stopping a broker) happens once for
 * all of them. Several clients share a run only for scenarios that stop brokers, which are slow.
 */
export async function runScenario(options: {
  scenario: Scenario;
  runs: ScenarioRun[];
  bootstrap: string;
  nodes: number;
  runId: string;
  control?: ClusterControl;
  /** Runs the steps marked `"setup": true` for clients with `delegateSetup` (the Java client). */
  helper?: ClientSpec;
  /** The fault proxy's plan, when the target runs behind proxies (profile "proxy"). */
  faults?: FaultPlan;
}): Promise<Cell[]> {
  const { scenario } = options;
  const started = Date.now();
  const states: ClientState[] = options.runs.map((run) => ({
    ...run,
    substitution: makeSubstitution(scenario, run.client.name, options.runId),
    results: new Map(),
    diffs: [],
    unsupported: [],
    accepted: [],
  }));
  const active = () => states.filter((state) => state.unsupported.length === 0);
  try {
    for (const [phaseIndex, rawPhase] of scenario.phases.entries()) {
      if (active().length === 0) break;
      if ('sleepMs' in rawPhase) {
        await new Promise((resolve) => setTimeout(resolve, rawPhase.sleepMs));
        continue;
      }
      if ('cluster' in rawPhase) {
        if (!options.control) {
          for (const state of states)
            state.diffs.push('the scenario stops brokers but the target is not one the runner controls');
          break;
        }
        await runClusterAction(rawPhase, options.control, active()[0]!.results);
        continue;
      }
      if ('proxy' in rawPhase) {
        const { faults } = options;
        if (!faults) {
          for (const state of states)
            state.diffs.push('the scenario needs the fault proxy but the target runs without one');
          break;
        }
        for (const state of active()) {
          const prefix = clientIdPrefix(scenario.name, state.client.name);
          faults.arm(prefix, rawPhase.proxy.cutProduceResponses);
          state.armedCuts = { prefix, cuts: rawPhase.proxy.cutProduceResponses };
        }
        continue;
      }
      await Promise.all(
        active().map(async (state) => {
          await runJobsPhase(options, state, phaseIndex, substitute(rawPhase, state.substitution));
          if (state.armedCuts && options.faults) checkCuts(state, options.faults, phaseIndex);
        }),
      );
    }
  } catch (error) {
    for (const state of states) state.diffs.push(`runner: ${(error as Error).message}`);
  } finally {
    if (options.control && needsClusterControl(scenario)) await options.control.restoreAll();
  }
  return states.map((state) => {
    const cell = (status: CellStatus, details: string[]): Cell => ({
      client: state.client.name,
      scenario: scenario.name,
      status,
      details,
      clientVersion: state.clientVersion,
      durationMs: Date.now() - started,
    });
    if (state.unsupported.length > 0 && !state.diffs.some((d) => d.startsWith('client not installed'))) {
      return cell('unsupported', state.unsupported);
    }
    if (state.diffs.length > 0) return cell('fail', state.diffs);
    return cell('pass', state.accepted);
  });
}

/** Fails the cell when the proxy made fewer cuts than armed: the fault the scenario is about never happened. */
function checkCuts(state: ClientState, faults: FaultPlan, phaseIndex: number): void {
  const armed = state.armedCuts;
  if (!armed) return;
  state.armedCuts = undefined;
  const made = faults.disarm(armed.prefix);
  if (made < armed.cuts && state.unsupported.length === 0) {
    state.diffs.push(
      `phase ${phaseIndex}: the proxy was armed to cut ${armed.cuts} Produce answer(s) for ${armed.prefix}… and cut ${made} (no acknowledged Produce from this client went through it)`,
    );
  }
}

async function runJobsPhase(
  options: { scenario: Scenario; bootstrap: string; nodes: number; runId: string; helper?: ClientSpec },
  state: ClientState,
  phaseIndex: number,
  phase: { jobs: Job[] },
): Promise<void> {
  const { scenario, nodes } = options;
  const { client, results, diffs } = state;
  const jobId = (jobIndex: number, suffix = '') =>
    `${scenario.name}-${client.name}-${phaseIndex}-${jobIndex}${suffix}-${options.runId}`;
  // Leading steps marked "setup" (creating the topics a produce test needs, say) are not what the
  // scenario tests: for a client without an admin API (kcat) the helper client runs them, so that
  // the client is still judged on the rest.
  const helper = state.delegateSetup && options.helper ? options.helper : undefined;
  const skipped = phase.jobs.map((job) => (helper ? leadingSetup(job.steps).length : 0));
  if (helper) {
    for (const [jobIndex, job] of phase.jobs.entries()) {
      const setup = job.steps.slice(0, skipped[jobIndex]);
      if (setup.length === 0) continue;
      const outcome = await runJob(helper, {
        bootstrap: options.bootstrap,
        jobId: jobId(jobIndex, '-setup'),
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
        jobId: jobId(jobIndex),
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
    state.clientVersion ??= outcome.result.client?.version;
    for (const [index, step] of job.steps.slice(skipped[jobIndex]).entries()) {
      const result = outcome.result.results.find((r) => r.id === step.id) ?? outcome.result.results[index];
      if (result) results.set(step.id, result);
      if (result?.status === 'unsupported') {
        state.unsupported.push(`${step.id} (${step.op}): ${result.reason ?? 'no reason given'}`);
        continue;
      }
      if (result?.status === 'error' && result.error === 'CLIENT_NOT_INSTALLED') {
        diffs.push(`client not installed: ${result.message ?? ''}`);
        break;
      }
      const { expect, why } = expectationFor(step, client.name, nodes);
      if (why) state.accepted.push(`${step.id}: ${why}`);
      diffs.push(...checkStep(step, result, expect));
    }
  }
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
  if (cell.status === 'notRun') return `not run: ${cell.details.join('; ')}`;
  return `FAIL: ${cell.details.join('; ')}`;
}

/** Runs tasks with at most `limit` at once. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
