// Scenario files (compat/scenarios/*.json): what each scenario needs, its steps, and the results Apache
// Kafka gave on the reference cluster. See compat/README.md for the format.
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from './match.ts';

export interface Expectation {
  /** Alternatives, any one of which passes (used where Kafka's answer depends on the API version). */
  anyOf?: Expectation[];
  status?: 'ok' | 'error';
  error?: string | string[];
  value?: Json;
}

export interface ScenarioStep {
  id: string;
  op: string;
  expect?: Expectation;
  /** Overrides of `expect` for some cluster sizes, keyed by node count ("1", "3"). */
  expectByNodes?: Record<string, Expectation>;
  /** A leading setup step runs through the helper (Java) client, not the client under test. */
  setup?: boolean;
  /**
   * Overrides for one client, each with a `why` that docs/compatibility.md shows; with `nodes`, only on
   * a cluster of that size (a client's behaviour can depend on how many brokers it is connected to).
   */
  expectByClient?: Record<string, Expectation & { why: string; nodes?: number }>;
  [field: string]: Json | Expectation | Record<string, Expectation> | undefined;
}

export interface Job {
  steps: ScenarioStep[];
}

export type ClusterAction =
  | { cluster: 'stop'; node: number | NodeRef; signal?: 'SIGTERM' | 'SIGKILL' }
  | { cluster: 'start'; node: number | NodeRef };

/** A node named by a value an earlier step returned, e.g. a partition's leader. */
export interface NodeRef {
  fromStep: string;
  path: (string | number)[];
}

/**
 * Arms the fault-injecting proxy (runner/fault-proxy.ts) for the client under test: its next N Produce
 * requests reach the broker, and the proxy closes the client's connection instead of forwarding each
 * answer. The next jobs phase must use every armed cut, or the cell fails (the fault never happened).
 */
export interface ProxyAction {
  proxy: { cutProduceResponses: number };
}

export type Phase = { jobs: Job[] } | ClusterAction | ProxyAction | { sleepMs: number };

/**
 * How the cluster a scenario runs on must be started. The runner groups scenarios by profile and starts
 * one target per distinct profile; a target given as HOST:PORT has only the default profile.
 */
export interface BrokerProfile {
  /** Broker configs by Kafka name, given to every node (`kstack up --override`, server.properties). */
  overrides: Record<string, string>;
  /** Clients reach each broker through a fault-injecting proxy that the brokers advertise. */
  proxy: boolean;
}

export const DEFAULT_PROFILE: BrokerProfile = { overrides: {}, proxy: false };

/** A stable name for a profile: "default", or its settings in a fixed order. */
export function profileKey(profile: BrokerProfile): string {
  const parts = Object.keys(profile.overrides)
    .sort()
    .map((name) => `${name}=${profile.overrides[name]}`);
  if (profile.proxy) parts.unshift('proxy');
  return parts.length === 0 ? 'default' : parts.join(',');
}

export interface Scenario {
  name: string;
  description: string;
  /** The kstack issue whose definition of done includes this scenario; null: not filed yet (the cluster). */
  issue: number | null;
  /** The smallest cluster it runs on; it runs on every cluster at least this large. */
  nodes: number;
  /** Placeholders `{name}` replaced by a name unique to the run (topics, groups, instance ids). */
  names?: string[];
  phases: Phase[];
  /** The cluster profile it needs (DEFAULT_PROFILE when the file has no "broker"). */
  broker: BrokerProfile;
  file: string;
}

export const SCENARIOS_DIR = path.join(import.meta.dirname, '..', 'scenarios');

interface ScenarioFile {
  name?: string;
  description?: string;
  /** Free text for whoever edits the file (why a time or value is what it is); the runner ignores it. */
  comment?: string;
  issue?: number | null;
  nodes?: number;
  names?: string[];
  steps?: ScenarioStep[];
  phases?: Phase[];
  broker?: { overrides?: Record<string, unknown>; proxy?: unknown };
}

/** Settings a profile may not override: the runner places listeners and ports itself. */
const RUNNER_OWNED_CONFIGS = new Set([
  'listeners',
  'advertised.listeners',
  'node.id',
  'log.dirs',
  'controller.quorum.voters',
]);

function parseProfile(file: string, broker: ScenarioFile['broker']): BrokerProfile {
  if (broker === undefined) return DEFAULT_PROFILE;
  if (typeof broker !== 'object' || broker === null) throw new Error(`${file}: "broker" must be an object`);
  const unknown = Object.keys(broker).filter((key) => key !== 'overrides' && key !== 'proxy');
  if (unknown.length > 0) throw new Error(`${file}: "broker" has unknown keys ${unknown.join(', ')}`);
  const overrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(broker.overrides ?? {})) {
    if (typeof value !== 'string') throw new Error(`${file}: broker override ${name} must be a string`);
    if (RUNNER_OWNED_CONFIGS.has(name)) {
      throw new Error(`${file}: broker override ${name} is set by the runner (see "proxy")`);
    }
    overrides[name] = value;
  }
  if (broker.proxy !== undefined && typeof broker.proxy !== 'boolean') {
    throw new Error(`${file}: "broker.proxy" must be true or false`);
  }
  return { overrides, proxy: broker.proxy === true };
}

export function loadScenarios(dir = SCENARIOS_DIR): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const entry of fs.readdirSync(dir).sort()) {
    if (!entry.endsWith('.json')) continue;
    const file = path.join(dir, entry);
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as ScenarioFile;
    const name = entry.replace(/\.json$/, '');
    if (data.name !== undefined && data.name !== name) throw new Error(`${file}: name must be "${name}"`);
    if (typeof data.issue !== 'number' && data.issue !== null) {
      throw new Error(`${file}: "issue" (a kstack issue number, or null when not filed yet) is required`);
    }
    if (data.nodes !== 1 && data.nodes !== 3) throw new Error(`${file}: "nodes" must be 1 or 3`);
    if (typeof data.description !== 'string') throw new Error(`${file}: "description" is required`);
    if (data.comment !== undefined && typeof data.comment !== 'string')
      throw new Error(`${file}: "comment" must be a string`);
    const phases = data.phases ?? (data.steps ? [{ jobs: [{ steps: data.steps }] }] : undefined);
    if (!phases) throw new Error(`${file}: "steps" or "phases" is required`);
    const broker = parseProfile(file, data.broker);
    for (const phase of phases) {
      if (!('proxy' in phase)) continue;
      const cuts = phase.proxy?.cutProduceResponses;
      if (!Number.isInteger(cuts) || cuts < 1) {
        throw new Error(`${file}: a proxy phase needs "cutProduceResponses": a whole number ≥ 1`);
      }
      if (!broker.proxy) throw new Error(`${file}: a proxy phase needs "broker": {"proxy": true}`);
    }
    scenarios.push({
      name,
      description: data.description,
      issue: data.issue ?? null,
      nodes: data.nodes,
      names: data.names ?? [],
      phases,
      broker,
      file,
    });
  }
  return scenarios;
}

export interface Substitution {
  names: Record<string, string>;
  /** Scenario start, whole seconds: `{"$time": delta}` becomes nowMs + delta. */
  nowMs: number;
}

export function makeSubstitution(scenario: Scenario, client: string, runId: string): Substitution {
  const names: Record<string, string> = {};
  const safeClient = client.replace(/[^A-Za-z0-9-]/g, '-');
  for (const placeholder of scenario.names ?? []) {
    names[placeholder] = `kc-${scenario.name}-${safeClient}-${placeholder}-${runId}`;
  }
  return { names, nowMs: Math.floor(Date.now() / 1000) * 1000 };
}

/**
 * Replaces `{name}` placeholders in strings (`{name:N}` pads the unique name with "x" to exactly N
 * characters, for length rules) and `{"$time": delta}` objects, recursively.
 */
export function substitute<T>(value: T, substitution: Substitution): T {
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') {
      return item.replace(/\{([A-Za-z0-9_]+)(?::(\d+))?\}/g, (whole, key: string, length?: string) => {
        const name = substitution.names[key];
        if (name === undefined) return whole;
        return length === undefined ? name : name.padEnd(Number(length), 'x').slice(0, Number(length));
      });
    }
    if (Array.isArray(item)) return item.map(walk);
    if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      if (entries.length === 1 && entries[0]?.[0] === '$time' && typeof entries[0][1] === 'number') {
        return substitution.nowMs + entries[0][1];
      }
      return Object.fromEntries(entries.map(([key, inner]) => [key, walk(inner)]));
    }
    return item;
  };
  return walk(value) as T;
}

/** The expectation that applies to a step for a client on a cluster of `nodes` nodes. */
export function expectationFor(
  step: ScenarioStep,
  client: string,
  nodes: number,
): { expect: Expectation; why?: string } {
  const byClient = step.expectByClient?.[client];
  if (byClient && (byClient.nodes === undefined || byClient.nodes === nodes)) {
    const { why, nodes: _nodes, ...expect } = byClient;
    return { expect, why };
  }
  return { expect: step.expectByNodes?.[String(nodes)] ?? step.expect ?? { status: 'ok' } };
}

/** The step as sent to a driver: expectations are the runner's business. */
export function stepForDriver(step: ScenarioStep): Record<string, Json> {
  const { expect: _e, expectByNodes: _n, expectByClient: _c, setup: _s, ...rest } = step;
  return rest as Record<string, Json>;
}
