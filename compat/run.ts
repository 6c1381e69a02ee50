// `npm run test:compat -- --target reference|kstack|HOST:PORT [--nodes N] [--client NAME…] [--scenario NAME…]`
// Starts the target when it is ours, runs every scenario through every client driver, prints the
// client × scenario matrix, writes it to compat/results/ and (for a full run) docs/compatibility.md.
// Exit status: 0 when nothing failed, 1 when a scenario failed, 2 on bad usage.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kafkaVersion, ReferenceCluster } from '../reference/cluster.ts';
import { KstackProcess } from '../src/engine/process.ts';
import { type ClientSpec, EXPECTED_CLIENTS, loadClients } from './runner/drivers.ts';
import {
  type Cell,
  type ClusterControl,
  needsClusterControl,
  pool,
  probeAdmin,
  runScenario,
} from './runner/execute.ts';
import { FaultPlan, FaultProxy } from './runner/fault-proxy.ts';
import { KstackCluster } from './runner/kstack-cluster.ts';
import { matrixText, type RunReport, summary, updateMarkdown, writeJson } from './runner/report.ts';
import { type BrokerProfile, loadScenarios, profileKey, type Scenario } from './runner/scenarios.ts';

const ROOT = path.join(import.meta.dirname, '..');
const USAGE =
  'usage: npm run test:compat -- --target reference|kstack|HOST:PORT [--nodes 1|3] [--client NAME…] [--scenario NAME…] [--min-scenario-nodes N] [--base-port P] [--parallel N] [--out FILE] [--no-docs]';
const DEFAULT_BASE_PORT = 19092;
const KSTACK_READY_TIMEOUT_MS = 60_000;
/** A clean stop of kstack is quick; after this it is killed (its data dir is thrown away anyway). */
const KSTACK_STOP_GRACE_MS = 5_000;

interface Options {
  target: string;
  nodes: number;
  clients: string[];
  scenarios: string[];
  /** Only scenarios whose smallest cluster is at least this many nodes (those a 1-node run cannot have). */
  minScenarioNodes: number;
  basePort: number;
  parallel: number;
  docs: boolean;
  /** Where to write the JSON report; default compat/results/<target>-<nodes>-nodes.json. */
  out?: string;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      nodes: { type: 'string', default: '1' },
      client: { type: 'string', multiple: true, default: [] },
      scenario: { type: 'string', multiple: true, default: [] },
      'min-scenario-nodes': { type: 'string', default: '1' },
      'base-port': { type: 'string', default: String(DEFAULT_BASE_PORT) },
      parallel: { type: 'string', default: '4' },
      'no-docs': { type: 'boolean', default: false },
      out: { type: 'string' },
    },
    allowPositionals: false,
  });
  if (!values.target) throw new UsageError('--target is required');
  const nodes = Number(values.nodes);
  if (nodes !== 1 && nodes !== 3) throw new UsageError(`--nodes must be 1 or 3, got ${values.nodes}`);
  const target = values.target;
  if (target !== 'reference' && target !== 'kstack' && !/^[^:\s]+:\d+(,[^:\s]+:\d+)*$/.test(target)) {
    throw new UsageError(`--target must be reference, kstack or HOST:PORT, got ${target}`);
  }
  const split = (list: string[]) => list.flatMap((item) => item.split(',')).filter(Boolean);
  const parallel = Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 8)
    throw new UsageError('--parallel must be 1..8');
  const minScenarioNodes = Number(values['min-scenario-nodes']);
  if (!Number.isInteger(minScenarioNodes) || minScenarioNodes < 1 || minScenarioNodes > nodes)
    throw new UsageError(
      `--min-scenario-nodes must be 1..${nodes} (the cluster's size), got ${values['min-scenario-nodes']}`,
    );
  return {
    target,
    nodes,
    minScenarioNodes,
    clients: split(values.client),
    scenarios: split(values.scenario),
    basePort: Number(values['base-port']),
    parallel,
    docs: !values['no-docs'],
    out: values.out,
  };
}

interface Target {
  bootstrap: string;
  control?: ClusterControl;
  kafkaVersion?: string;
  /** The fault proxies' plan, for a target started with the "proxy" profile. */
  faults?: FaultPlan;
  stop(): Promise<void>;
}

/**
 * Behind proxies (profile "proxy") the brokers listen this far above the base port and each proxy takes
 * its broker's public port (base, base+1, …), which the broker advertises, so clients reconnect through
 * the proxy. Base 19092 puts the brokers at 19112.., their controllers (reference) at 19162...
 */
const PROXIED_BROKER_PORT_OFFSET = 20;

/** The proxies for a profile with "proxy": one per broker, listening on the public ports. */
async function startProxies(
  options: Options,
  profile: BrokerProfile,
): Promise<{ plan?: FaultPlan; brokerBasePort: number; stop(): Promise<void> }> {
  if (!profile.proxy) return { brokerBasePort: options.basePort, stop: async () => {} };
  const plan = new FaultPlan();
  const proxies: FaultProxy[] = [];
  const brokerBasePort = options.basePort + PROXIED_BROKER_PORT_OFFSET;
  try {
    for (let index = 0; index < options.nodes; index++) {
      const proxy = new FaultProxy({
        listenHost: '127.0.0.1',
        listenPort: options.basePort + index,
        upstreamHost: '127.0.0.1',
        upstreamPort: brokerBasePort + index,
        plan,
        log: (line) => process.stderr.write(`test:compat: ${line}\n`),
      });
      await proxy.listen();
      proxies.push(proxy);
    }
  } catch (error) {
    await Promise.all(proxies.map((p) => p.close()));
    throw error;
  }
  return { plan, brokerBasePort, stop: async () => void (await Promise.all(proxies.map((p) => p.close()))) };
}

/** The advertised listener of broker `index` behind its proxy (Kafka's `advertised.listeners` syntax). */
function proxiedListener(options: Options, index: number): string {
  return `PLAINTEXT://127.0.0.1:${options.basePort + index}`;
}

async function startReference(options: Options, profile: BrokerProfile): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-reference-'));
  const proxies = await startProxies(options, profile);
  const cluster = new ReferenceCluster({
    nodes: options.nodes,
    basePort: proxies.brokerBasePort,
    dataDir,
    overrides: (node) => nodeOverrides(options, profile, node.id),
    // Broker errors during startup and failover are expected noise here; node exits are worth seeing.
    log: (line) => {
      if (/\] exited \(/.test(line)) process.stderr.write(`${line}\n`);
    },
  });
  return { ...(await clusterTarget(options, proxies, dataDir, cluster)), kafkaVersion: kafkaVersion() };
}

/**
 * The test-time settings reference/cluster.ts gives every Apache Kafka node (its serverProperties), given
 * to kstack too so both targets run the scenarios under the same rules: no 3 s first-join delay
 * (Kafka's default 3000) and 5 `__consumer_offsets` partitions (default 50). Without them a group's
 * first join on kstack waited 3 s longer than on the reference, inside the scenarios' step budgets.
 * A scenario's profile overrides them.
 */
const REFERENCE_TEST_SETTINGS: Readonly<Record<string, string>> = {
  'group.initial.rebalance.delay.ms': '0',
  'offsets.topic.num.partitions': '5',
};

/** A node's broker configs: the profile's, and with the "proxy" profile its advertised proxy address. */
function nodeOverrides(options: Options, profile: BrokerProfile, id: number): Record<string, string> {
  return {
    ...profile.overrides,
    ...(profile.proxy ? { 'advertised.listeners': proxiedListener(options, id - 1) } : {}),
  };
}

/** What the runner needs of a cluster of node processes it owns: the reference's JVMs or kstack's nodes. */
interface NodeProcesses {
  start(): Promise<void>;
  /** With `kill`, no controlled shutdown (the data dir is thrown away after). */
  stop(kill?: boolean): Promise<void>;
  stopNode(id: number, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startNode(id: number): Promise<void>;
  running(): number[];
  killAllSync(): void;
}

/**
 * Starts `cluster` (node ids 1..N) behind `proxies` as a target whose nodes the scenarios can stop
 * and start again; stopping it (or the process exiting) kills the nodes and removes `dataDir`.
 */
async function clusterTarget(
  options: Options,
  proxies: Awaited<ReturnType<typeof startProxies>>,
  dataDir: string,
  cluster: NodeProcesses,
): Promise<Target> {
  const cleanup = () => {
    cluster.killAllSync();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const release = async () => {
    // The data dir is thrown away: no controlled shutdown.
    await cluster.stop(true);
    cleanup();
    process.off('exit', cleanup);
    await proxies.stop();
  };
  process.on('exit', cleanup);
  try {
    await cluster.start();
  } catch (error) {
    await release();
    throw error;
  }
  const ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const control: ClusterControl = {
    stopNode: (id, signal) => cluster.stopNode(id, signal),
    startNode: (id) => cluster.startNode(id),
    restoreAll: async () => {
      for (const id of ids) if (!cluster.running().includes(id)) await cluster.startNode(id);
    },
  };
  return {
    bootstrap: ids.map((id) => `127.0.0.1:${options.basePort + id - 1}`).join(','),
    control,
    faults: proxies.plan,
    stop: release,
  };
}

/**
 * kstack's embedded engine on our ports: one node is `node bin/kstack.ts up` (waited for with
 * Metadata); a cluster is N `kstack node` processes the runner starts itself (runner/kstack-cluster.ts),
 * so scenarios can stop and restart single nodes as on the reference.
 */
async function startKstack(options: Options, profile: BrokerProfile): Promise<Target> {
  if (options.nodes > 1) return startKstackCluster(options, profile);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-kstack-'));
  const proxies = await startProxies(options, profile);
  const overrides = {
    ...REFERENCE_TEST_SETTINGS,
    ...profile.overrides,
    ...(profile.proxy ? { 'advertised.listeners': proxiedListener(options, 0) } : {}),
  };
  const broker = new KstackProcess({
    args: [
      '--data-dir',
      dataDir,
      '--brokers',
      String(options.nodes),
      '--base-port',
      String(proxies.brokerBasePort),
      ...Object.entries(overrides).flatMap(([name, value]) => ['--override', `${name}=${value}`]),
    ],
    ports: Array.from({ length: options.nodes }, (_, i) => proxies.brokerBasePort + i),
  });
  const cleanup = () => {
    broker.killSync();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  try {
    await broker.ready(KSTACK_READY_TIMEOUT_MS);
  } catch (error) {
    await broker.stop(0);
    cleanup();
    process.off('exit', cleanup);
    await proxies.stop();
    throw error;
  }
  return {
    bootstrap: Array.from({ length: options.nodes }, (_, i) => `127.0.0.1:${options.basePort + i}`).join(','),
    faults: proxies.plan,
    stop: async () => {
      await broker.stop(KSTACK_STOP_GRACE_MS);
      cleanup();
      process.off('exit', cleanup);
      await proxies.stop();
    },
  };
}

async function startKstackCluster(options: Options, profile: BrokerProfile): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-kstack-'));
  const proxies = await startProxies(options, profile);
  const cluster = new KstackCluster({
    nodes: options.nodes,
    basePort: proxies.brokerBasePort,
    dataDir,
    overrides: (id) => ({ ...REFERENCE_TEST_SETTINGS, ...nodeOverrides(options, profile, id) }),
    log: (line) => process.stderr.write(`test:compat: ${line}\n`),
  });
  return clusterTarget(options, proxies, dataDir, cluster);
}

/** Why a target given as HOST:PORT cannot run a scenario of this profile, or undefined when it can. */
function cannotRun(options: Options, profile: BrokerProfile): string | undefined {
  if (options.target === 'reference' || options.target === 'kstack') return undefined;
  if (profileKey(profile) === 'default') return undefined;
  return `needs a cluster started with profile "${profileKey(profile)}"; the runner cannot reconfigure ${options.target} (a target given as HOST:PORT): run it with --target reference or kstack`;
}

async function startTarget(options: Options, profile: BrokerProfile): Promise<Target> {
  if (options.target === 'reference') return startReference(options, profile);
  if (options.target === 'kstack') return startKstack(options, profile);
  return { bootstrap: options.target, stop: async () => {} };
}

function selectClients(options: Options): { clients: ClientSpec[]; missing: string[] } {
  const all = loadClients();
  const wanted =
    options.clients.length > 0
      ? options.clients
      : [...new Set([...EXPECTED_CLIENTS, ...all.map((c) => c.name)])];
  const clients = wanted.flatMap((name) => all.filter((c) => c.name === name));
  const missing = wanted.filter((name) => !all.some((c) => c.name === name));
  return { clients, missing };
}

function selectScenarios(options: Options): Scenario[] {
  const all = loadScenarios();
  for (const name of options.scenarios) {
    if (!all.some((s) => s.name === name)) throw new UsageError(`no scenario ${name} in compat/scenarios/`);
  }
  return all.filter(
    (s) =>
      s.nodes <= options.nodes &&
      s.nodes >= options.minScenarioNodes &&
      (options.scenarios.length === 0 || options.scenarios.includes(s.name)),
  );
}

/** How the run chose its scenarios and clients, for the report ("all" when unfiltered). */
function selectionText(options: Options): string {
  const parts = [
    options.scenarios.length > 0 ? `scenarios ${options.scenarios.join(', ')}` : '',
    options.minScenarioNodes > 1 ? `scenarios needing at least ${options.minScenarioNodes} nodes` : '',
    options.clients.length > 0 ? `clients ${options.clients.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length === 0 ? 'all' : parts.join('; ');
}

/** Scenarios by cluster profile: the default profile first, then the others by name. */
function groupByProfile(scenarios: Scenario[]): [string, Scenario[]][] {
  const groups = new Map<string, Scenario[]>();
  for (const scenario of scenarios) {
    const key = profileKey(scenario.broker);
    groups.set(key, [...(groups.get(key) ?? []), scenario]);
  }
  return [...groups].sort(([a], [b]) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  let scenarios: Scenario[];
  try {
    options = parseOptions(argv);
    scenarios = selectScenarios(options);
  } catch (error) {
    process.stderr.write(`test:compat: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { clients, missing } = selectClients(options);
  // Setup steps run through the Java client, the reference implementation, whatever --client says.
  const helper = loadClients().find((c) => c.name === 'java');
  const started = Date.now();
  const runId = started.toString(36);
  const cells: Cell[] = [];
  for (const name of missing) {
    for (const scenario of scenarios) {
      cells.push({
        client: name,
        scenario: scenario.name,
        status: 'fail',
        details: [`no driver: compat/clients/*/manifest.json names no client "${name}"`],
        durationMs: 0,
      });
    }
  }
  const record = (cell: Cell) => {
    const seconds = (cell.durationMs / 1000).toFixed(1);
    process.stderr.write(`  ${cell.status.padEnd(11)} ${cell.client} × ${cell.scenario} (${seconds} s)\n`);
    cells.push(cell);
  };
  const canCreateTopics = new Map<string, boolean>();
  let kafkaVersionSeen: string | undefined;
  // One target per distinct cluster profile, one at a time (never two clusters at once on 2 cores).
  for (const [key, group] of groupByProfile(scenarios)) {
    const profile = group[0]!.broker;
    const reason = cannotRun(options, profile);
    if (reason !== undefined) {
      for (const scenario of group)
        for (const client of clients)
          record({
            client: client.name,
            scenario: scenario.name,
            status: 'notRun',
            details: [reason],
            durationMs: 0,
          });
      continue;
    }
    process.stderr.write(
      `test:compat: starting target ${options.target} (${options.nodes} node(s), profile ${key})…\n`,
    );
    let target: Target;
    try {
      target = await startTarget(options, profile);
    } catch (error) {
      const problem = `cannot start target ${options.target} with profile ${key}: ${(error as Error).message}`;
      process.stderr.write(`test:compat: ${problem}\n`);
      for (const scenario of group)
        for (const client of clients)
          record({
            client: client.name,
            scenario: scenario.name,
            status: 'fail',
            details: [problem],
            durationMs: 0,
          });
      continue;
    }
    kafkaVersionSeen ??= target.kafkaVersion;
    process.stderr.write(
      `test:compat: bootstrap ${target.bootstrap}; ${clients.length} client(s) × ${group.length} scenario(s)\n`,
    );
    try {
      for (const client of clients) {
        if (!canCreateTopics.has(client.name))
          canCreateTopics.set(client.name, await probeAdmin(client, target.bootstrap, runId));
      }
      const runFor = async (scenario: Scenario, forClients: ClientSpec[]) => {
        const produced = await runScenario({
          scenario,
          runs: forClients.map((client) => ({ client, delegateSetup: !canCreateTopics.get(client.name) })),
          bootstrap: target.bootstrap,
          nodes: options.nodes,
          runId,
          control: target.control,
          helper,
          faults: target.faults,
        });
        for (const cell of produced) record(cell);
      };
      const shared = group.filter((s) => !needsClusterControl(s));
      const exclusive = group.filter((s) => needsClusterControl(s));
      await pool(
        shared.flatMap((s) => clients.map((c) => () => runFor(s, [c]))),
        options.parallel,
      );
      // Scenarios that stop brokers run one at a time, every client in lockstep (one broker stop for all).
      for (const scenario of exclusive) await runFor(scenario, clients);
    } finally {
      await target.stop();
    }
  }
  const versions = new Map(cells.filter((c) => c.clientVersion).map((c) => [c.client, c.clientVersion]));
  const report: RunReport = {
    target: options.target,
    nodes: options.nodes,
    kafkaVersion: kafkaVersionSeen,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    filtered: options.clients.length > 0 || options.scenarios.length > 0 || options.minScenarioNodes > 1,
    selection: selectionText(options),
    clients: [
      ...clients.map((c) => ({ name: c.name, version: versions.get(c.name), description: c.description })),
      ...missing.map((name) => ({ name, description: 'no driver' })),
    ],
    scenarios: scenarios.map((s) => ({
      name: s.name,
      issue: s.issue,
      nodes: s.nodes,
      description: s.description,
      profile: profileKey(s.broker),
    })),
    cells,
  };
  process.stdout.write(`${matrixText(report)}\n`);
  const jsonFile = writeJson(report, path.join(ROOT, 'compat', 'results'), options.out);
  process.stderr.write(`test:compat: wrote ${path.relative(ROOT, jsonFile)}\n`);
  if (options.docs && !report.filtered) {
    updateMarkdown(path.join(ROOT, 'docs', 'compatibility.md'), report, loadScenarios());
    process.stderr.write('test:compat: updated docs/compatibility.md\n');
  } else if (report.filtered) {
    process.stderr.write('test:compat: filtered run, docs/compatibility.md left as it was\n');
  }
  return summary(report).fail > 0 ? 1 : 0;
}

// Ctrl-C or SIGTERM: exit through process.exit so the 'exit' handlers kill every JVM and broker we started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`test:compat: ${signal}, stopping\n`);
    process.exit(1);
  });
}
process.exitCode = await main(process.argv.slice(2));
