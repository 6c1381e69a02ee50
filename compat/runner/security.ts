// The matrix's security profile (issue 22): the compat scenarios' produce/consume cells through a
// secured listener, on kstack and on Apache Kafka configured the same way, one node each.
//
//   node compat/runner/security.ts [--target kstack|reference]… [--mode MODE]…
//                                  [--nodes 1|3] [--client NAME]… [--scenario NAME]… [--parallel N]
//
// MODE: plain, scram-sha-256 (SASL_PLAINTEXT), ssl, sasl-ssl-plain, sasl-ssl-scram-sha-512,
// sasl-ssl-oauthbearer (Kafka's unsecured-JWS validator; each client makes a token for alice).
// Each mode opens two listeners: PLAINTEXT (for the SCRAM credentials, made with Kafka's
// kafka-configs) and the secured one the clients use: SASL_PLAINTEXT with PLAIN (users from the
// listener's JAAS config) or SCRAM-SHA-256, SSL (a throwaway CA and broker certificate, clients
// trust the CA), or SASL_SSL with PLAIN or SCRAM-SHA-512. The drivers read the client side from
// KSTACK_COMPAT_SECURITY (JSON: protocol, mechanism, username, password, caFile; compat/PROTOCOL.md);
// a driver that does not read it connects in plain text to the secured port and fails, never passes.
// In a SASL mode, confluent-kafka (PyPI) also tries a wrong password on each target: it must be
// refused, with the same error on both. The targets of a mode run at once (their own ports, one
// set of certificates); every cell's outcome is compared between them, and a difference fails.
// On 3 nodes every node has both listeners (kstack: three `kstack node` processes, each registering
// both with the controller), and the clients bootstrap from the three secured listeners.
// Prints one line per cell and a matrix per target and mode; exit 0 when no cell failed and the
// targets agree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';
import { makeCertificates } from '../../test/security/certs.ts';
import { pythonProbe, run } from '../../test/security/support.ts';
import { CLIENT_SECURITY_ENV, type ClientSecurity, unsecuredJws } from './client-security.ts';
import { type ClientSpec, EXPECTED_CLIENTS, loadClients } from './drivers.ts';
import { type Cell, needsClusterControl, pool, probeAdmin, runScenario } from './execute.ts';
import { KstackCluster } from './kstack-cluster.ts';
import { loadScenarios, profileKey, type Scenario } from './scenarios.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const KAFKA_CONFIGS = path.join(ROOT, 'reference', 'bin', 'kafka-configs');
const MODES = [
  'plain',
  'scram-sha-256',
  'ssl',
  'sasl-ssl-plain',
  'sasl-ssl-scram-sha-512',
  'sasl-ssl-oauthbearer',
] as const;
type Mode = (typeof MODES)[number];
const TARGETS = ['kstack', 'reference'] as const;
type TargetName = (typeof TARGETS)[number];
/** The basic produce/consume scenarios of the default profile, one node. */
const DEFAULT_SCENARIOS = ['produce-acks-all', 'produce-acks-1', 'records-keys-values-headers'];
/**
 * The first node's PLAINTEXT and secured listener of each target (node N: +N-1; the controllers of
 * the reference and of a kstack cluster are 50 above PLAINTEXT). Ports 24730-24799 (docs/team-rules.md).
 */
const PORTS: Readonly<Record<TargetName, Record<1 | 3, { plaintext: number; secured: number }>>> = {
  kstack: { 1: { plaintext: 24760, secured: 24761 }, 3: { plaintext: 24730, secured: 24733 } },
  reference: { 1: { plaintext: 24740, secured: 24741 }, 3: { plaintext: 24740, secured: 24743 } },
};
const USER = 'alice';
const PASSWORD = 'alice-compat-secret';
const KSTACK_READY_TIMEOUT_MS = 60_000;
const KSTACK_STOP_GRACE_MS = 5_000;
const TOOL_TIMEOUT_MS = 120_000;
/** As compat/run.ts gives both targets (reference/cluster.ts's test-time settings). */
const TEST_SETTINGS: Readonly<Record<string, string>> = {
  'group.initial.rebalance.delay.ms': '0',
  'offsets.topic.num.partitions': '5',
};

interface ModeSetup {
  /** The secured listener's name (and protocol). */
  readonly listener: 'SASL_PLAINTEXT' | 'SSL' | 'SASL_SSL';
  readonly brokerSettings: Record<string, string>;
  readonly client: ClientSecurity;
  readonly scram?: string;
}

const PLAIN_JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`;
/** Kafka's broker needs a JAAS entry per enabled mechanism; kstack accepts it. */
const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
/** OAUTHBEARER's: Kafka's broker logs itself in with an unsecured token, so it needs a sub (kstack too). */
const OAUTHBEARER_JAAS =
  'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";';

function modeSetup(mode: Mode, certDir: string): ModeSetup {
  if (mode === 'plain') {
    return {
      listener: 'SASL_PLAINTEXT',
      brokerSettings: {
        'sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      },
      client: { protocol: 'SASL_PLAINTEXT', mechanism: 'PLAIN', username: USER, password: PASSWORD },
    };
  }
  if (mode === 'scram-sha-256') {
    return {
      listener: 'SASL_PLAINTEXT',
      brokerSettings: {
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
        'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': SCRAM_JAAS,
      },
      client: { protocol: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-256', username: USER, password: PASSWORD },
      scram: 'SCRAM-SHA-256',
    };
  }
  const certs = makeCertificates(certDir);
  const tls = {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
  };
  if (mode === 'ssl')
    return { listener: 'SSL', brokerSettings: tls, client: { protocol: 'SSL', caFile: certs.caFile } };
  if (mode === 'sasl-ssl-oauthbearer') {
    return {
      listener: 'SASL_SSL',
      brokerSettings: {
        ...tls,
        'sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config': OAUTHBEARER_JAAS,
      },
      client: { protocol: 'SASL_SSL', mechanism: 'OAUTHBEARER', username: USER, caFile: certs.caFile },
    };
  }
  const mechanism = mode === 'sasl-ssl-plain' ? 'PLAIN' : 'SCRAM-SHA-512';
  return {
    listener: 'SASL_SSL',
    brokerSettings: {
      ...tls,
      'sasl.enabled.mechanisms': mechanism,
      [`listener.name.sasl_ssl.${mechanism.toLowerCase()}.sasl.jaas.config`]:
        mechanism === 'PLAIN' ? PLAIN_JAAS : SCRAM_JAAS,
    },
    client: { protocol: 'SASL_SSL', mechanism, username: USER, password: PASSWORD, caFile: certs.caFile },
    ...(mechanism === 'PLAIN' ? {} : { scram: mechanism }),
  };
}

function brokerSettings(
  target: TargetName,
  nodes: 1 | 3,
  setup: ModeSetup,
  nodeId: number,
): Record<string, string> {
  const plaintext = PORTS[target][nodes].plaintext + nodeId - 1;
  const secured = PORTS[target][nodes].secured + nodeId - 1;
  return {
    ...TEST_SETTINGS,
    ...setup.brokerSettings,
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,${setup.listener}:${setup.listener},CONTROLLER:PLAINTEXT`,
    // `kstack node` reads advertised.listeners for PLAINTEXT alone (src/engine/cluster.ts): its
    // listeners advertise where they bind, which is the same address here.
    ...(target === 'kstack' && nodes === 3
      ? {}
      : {
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${plaintext},${setup.listener}://127.0.0.1:${secured}`,
        }),
  };
}

interface Started {
  stop(): Promise<void>;
}

async function startTarget(
  target: TargetName,
  nodes: 1 | 3,
  setup: ModeSetup,
  dataDir: string,
): Promise<Started> {
  const { plaintext, secured } = PORTS[target][nodes];
  const listeners = (id: number) =>
    `PLAINTEXT://127.0.0.1:${plaintext + id - 1},${setup.listener}://127.0.0.1:${secured + id - 1}`;
  if (target === 'kstack' && nodes === 3) {
    const cluster = new KstackCluster({
      nodes,
      basePort: plaintext,
      dataDir,
      overrides: (id) => ({ ...brokerSettings(target, nodes, setup, id), listeners: listeners(id) }),
      log: (line) => process.stderr.write(`security matrix: ${line}\n`),
    });
    const kill = () => cluster.killAllSync();
    process.on('exit', kill);
    try {
      await cluster.start();
    } catch (error) {
      await cluster.stop(true);
      process.off('exit', kill);
      throw error;
    }
    return {
      stop: async () => {
        await cluster.stop(true);
        process.off('exit', kill);
      },
    };
  }
  if (target === 'kstack') {
    const kstack = new KstackProcess({
      args: [
        '--no-compose',
        '--data-dir',
        dataDir,
        '--override',
        `listeners=${listeners(1)}`,
        ...Object.entries(brokerSettings(target, nodes, setup, 1)).flatMap(([name, value]) => [
          '--override',
          `${name}=${value}`,
        ]),
      ],
      ports: [plaintext],
    });
    try {
      await kstack.ready(KSTACK_READY_TIMEOUT_MS);
    } catch (error) {
      await kstack.stop(0);
      throw error;
    }
    return { stop: async () => void (await kstack.stop(KSTACK_STOP_GRACE_MS)) };
  }
  const reference = new ReferenceCluster({
    nodes,
    basePort: plaintext,
    dataDir,
    overrides: (node) => ({
      ...brokerSettings(target, nodes, setup, node.id),
      listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort},${setup.listener}://127.0.0.1:${secured + node.id - 1}`,
    }),
  });
  const kill = () => reference.killAllSync();
  process.on('exit', kill);
  try {
    await reference.start();
  } catch (error) {
    await reference.stop(true);
    process.off('exit', kill);
    throw error;
  }
  return {
    stop: async () => {
      await reference.stop(true);
      process.off('exit', kill);
    },
  };
}

/** The SCRAM credentials of the login, made with Kafka's own kafka-configs through PLAINTEXT. */
async function addScramUser(target: TargetName, nodes: 1 | 3, mechanism: string): Promise<void> {
  const result = await run(
    KAFKA_CONFIGS,
    [
      '--bootstrap-server',
      `127.0.0.1:${PORTS[target][nodes].plaintext}`,
      '--alter',
      '--add-config',
      `${mechanism}=[password=${PASSWORD}]`,
      '--entity-type',
      'users',
      '--entity-name',
      USER,
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  if (result.code !== 0)
    throw new Error(`kafka-configs on ${target} failed (${result.code}): ${result.stderr}`);
}

interface Options {
  targets: TargetName[];
  nodes: 1 | 3;
  modes: Mode[];
  clients: string[];
  scenarios: string[];
  parallel: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', multiple: true, default: [] },
      mode: { type: 'string', multiple: true, default: [] },
      client: { type: 'string', multiple: true, default: [] },
      scenario: { type: 'string', multiple: true, default: [] },
      parallel: { type: 'string', default: '2' },
      nodes: { type: 'string', default: '1' },
    },
    allowPositionals: false,
  });
  const split = (list: string[]) => list.flatMap((item) => item.split(',')).filter(Boolean);
  const targets = split(values.target);
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target))
      throw new Error(`--target must be one of ${TARGETS.join(', ')}, got ${target}`);
  }
  const modes = split(values.mode);
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode))
      throw new Error(`--mode must be one of ${MODES.join(', ')}, got ${mode}`);
  }
  const parallel = Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 8) throw new Error('--parallel must be 1..8');
  const nodes = Number(values.nodes);
  if (nodes !== 1 && nodes !== 3) throw new Error(`--nodes must be 1 or 3, got ${values.nodes}`);
  return {
    nodes,
    targets: targets.length > 0 ? (targets as TargetName[]) : [...TARGETS],
    modes: modes.length > 0 ? (modes as Mode[]) : [...MODES],
    clients: split(values.client),
    scenarios: split(values.scenario),
    parallel,
  };
}

function selectScenarios(names: string[], nodes: number): Scenario[] {
  const wanted = names.length > 0 ? names : DEFAULT_SCENARIOS;
  const all = loadScenarios();
  return wanted.map((name) => {
    const scenario = all.find((s) => s.name === name);
    if (scenario === undefined) throw new Error(`no scenario ${name} in compat/scenarios/`);
    if (
      profileKey(scenario.broker) !== 'default' ||
      needsClusterControl(scenario) ||
      scenario.nodes > nodes
    ) {
      throw new Error(
        `${name}: the security profile runs scenarios of the default profile that stop no node`,
      );
    }
    return scenario;
  });
}

/** Every client's driver reads KSTACK_COMPAT_SECURITY (franz-go's since session 10): the default set. */
const SECURITY_CLIENTS = EXPECTED_CLIENTS;

function selectClients(names: string[]): ClientSpec[] {
  const all = loadClients();
  const wanted = names.length > 0 ? names : SECURITY_CLIENTS;
  return wanted.map((name) => {
    const client = all.find((c) => c.name === name);
    if (client === undefined) throw new Error(`no driver names client ${name}`);
    return client;
  });
}

function matrix(cells: Cell[], scenarios: Scenario[], clients: readonly ClientSpec[]): string {
  const width = Math.max(8, ...scenarios.map((s) => s.name.length));
  const lines = [`${'scenario'.padEnd(width)}  ${clients.map((c) => c.name).join('  ')}`];
  for (const scenario of scenarios) {
    const row = clients.map((client) => {
      const cell = cells.find((c) => c.client === client.name && c.scenario === scenario.name);
      const text = cell === undefined ? '-' : cell.status === 'unsupported' ? 'n/s' : cell.status;
      return text.padEnd(client.name.length);
    });
    lines.push(`${scenario.name.padEnd(width)}  ${row.join('  ')}`);
  }
  return lines.join('\n');
}

interface TargetRun {
  readonly cells: Cell[];
  /** Failures besides failed cells (Metadata, the refusal, a start). */
  failures: number;
  metadata: string;
  /** What a wrong password got (SASL modes): confluent-kafka's error name, or null when let in. */
  refusal: string | null;
  readonly seconds: number;
}

interface RunContext {
  readonly options: Options;
  readonly scenarios: Scenario[];
  readonly clients: ClientSpec[];
  readonly helper: ClientSpec | undefined;
  readonly runId: string;
  /** Per target: whether each client can create topics (asked once, in its first mode). */
  readonly canCreate: Map<string, Map<string, boolean>>;
}

/** A run's context: the java client as the helper that creates topics, a fresh run id. */
function newRunContext(options: Options, scenarios: Scenario[], clients: ClientSpec[]): RunContext {
  return {
    options,
    scenarios,
    clients,
    helper: loadClients().find((c) => c.name === 'java'),
    runId: Date.now().toString(36),
    canCreate: new Map(),
  };
}

/** One target in one mode: start it, then its cells (`runCells`). */
async function runTarget(
  context: RunContext,
  mode: Mode,
  target: TargetName,
  setup: ModeSetup,
): Promise<TargetRun> {
  const { options } = context;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kstack-compat-security-${target}-`));
  const started = Date.now();
  let run: Omit<TargetRun, 'seconds'> = {
    cells: [],
    failures: 0,
    metadata: 'Metadata not asked',
    refusal: null,
  };
  try {
    process.stderr.write(
      `security matrix: ${target}, ${options.nodes} node(s), ${mode} (${setup.listener})…\n`,
    );
    const broker = await startTarget(target, options.nodes, setup, path.join(dir, 'data'));
    try {
      if (setup.scram !== undefined) await addScramUser(target, options.nodes, setup.scram);
      const first = PORTS[target][options.nodes].secured;
      const bootstrap = Array.from({ length: options.nodes }, (_, i) => `127.0.0.1:${first + i}`).join(',');
      run = await runCells(context, { mode, target, client: setup.client, bootstrap });
    } finally {
      await broker.stop();
    }
  } catch (error) {
    process.stderr.write(`security matrix: ${target} ${mode}: ${(error as Error).message}\n`);
    run.failures += 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { ...run, seconds: (Date.now() - started) / 1000 };
}

/** Where one target's cells of one mode run: its secured listener's addresses and the login. */
interface CellsTarget {
  readonly mode: string;
  readonly target: string;
  readonly client: ClientSecurity;
  /** Every node's secured listener, comma-separated. */
  readonly bootstrap: string;
  /** The clients of this mode, when not the run's. */
  readonly clients?: readonly ClientSpec[];
}

/**
 * One target's cells of one mode on a running target: Metadata through the secured listener, a wrong
 * password (SASL), then every scenario × client. Whether a client can create topics is asked once
 * per target (`RunContext.canCreate`), whatever the mode.
 */
async function runCells(context: RunContext, where: CellsTarget): Promise<Omit<TargetRun, 'seconds'>> {
  const { options, scenarios, helper, runId } = context;
  const { mode, target, client: login, bootstrap } = where;
  const clients = where.clients ?? context.clients;
  const result: Omit<TargetRun, 'seconds'> = {
    cells: [],
    failures: 0,
    metadata: 'Metadata not asked',
    refusal: null,
  };
  // Metadata through the secured listener lists every node at its secured address alone
  // (confluent-kafka from PyPI: it logs in with every mechanism here).
  const expected = bootstrap.split(',').sort();
  const seen = await pythonProbe(bootstrap, login);
  const same = JSON.stringify(seen.brokers) === JSON.stringify(expected);
  if (!same) result.failures += 1;
  result.metadata = `Metadata through ${login.protocol}: brokers ${JSON.stringify(seen.brokers)}${same ? '' : ` (FAIL: expected ${JSON.stringify(expected)}; ${JSON.stringify(seen.error)})`}`;
  process.stderr.write(`  ${target} ${mode}: ${result.metadata}\n`);
  if (login.mechanism !== undefined) {
    // OAUTHBEARER has no password: the wrong login is a token that expired a minute ago.
    const wrongLogin =
      login.mechanism === 'OAUTHBEARER'
        ? { ...login, token: unsecuredJws(login.username ?? '', -60) }
        : { ...login, password: `${login.password}-wrong` };
    const wrong = await pythonProbe(bootstrap, wrongLogin);
    result.refusal = wrong.brokers === null && wrong.error !== null ? wrong.error.name : null;
    process.stderr.write(`  ${target} ${mode}: a wrong password: ${JSON.stringify(wrong.error)}\n`);
  }
  let canCreate = context.canCreate.get(target);
  if (canCreate === undefined) {
    canCreate = new Map();
    context.canCreate.set(target, canCreate);
  }
  for (const client of clients) {
    if (!canCreate.has(client.name)) canCreate.set(client.name, await probeAdmin(client, bootstrap, runId));
  }
  const tasks = scenarios.flatMap((scenario) =>
    clients.map((client) => async () => {
      const produced = await runScenario({
        scenario,
        runs: [{ client, delegateSetup: !canCreate.get(client.name) }],
        bootstrap,
        nodes: options.nodes,
        // Topics and groups are the run's, the target's and the mode's: modes may share a broker.
        runId: `${runId}-${target}-${mode}`,
        helper,
      });
      for (const cell of produced) {
        process.stderr.write(
          `  ${cell.status.padEnd(11)} ${target} ${mode} ${cell.client} × ${cell.scenario} (${(cell.durationMs / 1000).toFixed(1)} s)\n`,
        );
        if (cell.status === 'fail') process.stderr.write(`      ${cell.details.join('\n      ')}\n`);
        result.cells.push(cell);
      }
    }),
  );
  await pool(tasks, options.parallel);
  return result;
}

/** Cells whose outcome differs between the targets, and refusals that differ or let a wrong password in. */
function differences(mode: string, runs: ReadonlyMap<string, TargetRun>, sasl: boolean): string[] {
  const found: string[] = [];
  const [first, ...others] = [...runs.entries()];
  if (first === undefined) return found;
  for (const [target, run] of runs) {
    if (sasl && run.refusal === null) found.push(`${mode}: ${target} let a wrong password in`);
  }
  for (const [target, run] of others) {
    if (run.refusal !== first[1].refusal)
      found.push(
        `${mode}: a wrong password got ${run.refusal} on ${target}, ${first[1].refusal} on ${first[0]}`,
      );
    for (const cell of run.cells) {
      const twin = first[1].cells.find((c) => c.client === cell.client && c.scenario === cell.scenario);
      if (twin?.status !== cell.status)
        found.push(
          `${mode}: ${cell.client} × ${cell.scenario}: ${cell.status} on ${target}, ${twin?.status ?? 'not run'} on ${first[0]}`,
        );
    }
  }
  return found;
}

/** One mode's runs: the failures counted, a report per target. */
function reportMode(
  mode: string,
  runs: ReadonlyMap<string, TargetRun>,
  context: RunContext,
  clients: readonly ClientSpec[] = context.clients,
): { failed: number; reports: string[] } {
  let failed = 0;
  const reports: string[] = [];
  for (const [target, run] of runs) {
    const count = (status: Cell['status']) => run.cells.filter((c) => c.status === status).length;
    failed += run.failures + count('fail');
    const refusal = run.refusal === null ? '' : `; a wrong password: ${run.refusal}`;
    reports.push(
      `${target} (${context.options.nodes} node(s)), ${mode}: ${count('pass')} pass, ${count('fail')} fail, ${count('unsupported')} n/s in ${run.seconds.toFixed(0)} s; ${run.metadata}${refusal}\n${matrix(run.cells, context.scenarios, clients)}`,
    );
  }
  return { failed, reports };
}

function summary(reports: string[], differing: string[], failed: number, started: number): string {
  const verdict =
    differing.length === 0
      ? 'kstack and the reference: the same outcome in every cell'
      : `differences:\n  ${differing.join('\n  ')}`;
  return `${reports.join('\n\n')}\n\n${verdict}\nsecurity matrix: ${((Date.now() - started) / 1000).toFixed(0)} s, ${failed} failure(s)\n`;
}

/** A secured listener of targets that are already running (one node each), and its client side. */
export interface ProfileListener {
  /** A name for the reports, e.g. `sasl-ssl-plain`. */
  readonly mode: string;
  readonly client: ClientSecurity;
  /** Target name → the listener's address. */
  readonly bootstrap: Readonly<Record<string, string>>;
  /** The clients on this listener (default: the run's). */
  readonly clients?: readonly string[];
}

/**
 * The profile's cells on targets someone else started (each listener one after another, the targets
 * of a listener at once, as `main` runs its modes): test/security/security-reference.slow.ts runs
 * every listener of one broker per target this way. The SCRAM logins must exist already.
 */
export async function runProfileOn(
  listeners: readonly ProfileListener[],
  choice: { clients?: string[]; scenarios?: string[]; parallel?: number } = {},
): Promise<{ output: string; failed: number; differing: string[] }> {
  const options: Options = {
    targets: [],
    nodes: 1,
    modes: [],
    clients: choice.clients ?? [],
    scenarios: choice.scenarios ?? [],
    parallel: choice.parallel ?? 2,
  };
  const context = newRunContext(
    options,
    selectScenarios(options.scenarios, 1),
    selectClients(options.clients),
  );
  const started = Date.now();
  let failed = 0;
  const reports: string[] = [];
  const differing: string[] = [];
  for (const listener of listeners) {
    const runs = new Map<string, TargetRun>();
    const clients = listener.clients === undefined ? context.clients : selectClients([...listener.clients]);
    process.env[CLIENT_SECURITY_ENV] = JSON.stringify(listener.client);
    try {
      const targets = Object.entries(listener.bootstrap);
      const done = await Promise.all(
        targets.map(async ([target, bootstrap]): Promise<TargetRun> => {
          const began = Date.now();
          const where = { mode: listener.mode, target, client: listener.client, bootstrap, clients };
          const run = await runCells(context, where).catch((error: Error) => {
            process.stderr.write(`security matrix: ${target} ${listener.mode}: ${error.message}\n`);
            return { cells: [], failures: 1, metadata: `FAIL: ${error.message}`, refusal: null };
          });
          return { ...run, seconds: (Date.now() - began) / 1000 };
        }),
      );
      for (const [i, [target]] of targets.entries()) runs.set(target, done[i]!);
      differing.push(...differences(listener.mode, runs, listener.client.mechanism !== undefined));
    } finally {
      delete process.env[CLIENT_SECURITY_ENV];
    }
    const mode = reportMode(listener.mode, runs, context, clients);
    failed += mode.failed;
    reports.push(...mode.reports);
  }
  failed += differing.length;
  return { output: summary(reports, differing, failed, started), failed, differing };
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  let scenarios: Scenario[];
  let clients: ClientSpec[];
  try {
    options = parseOptions(argv);
    scenarios = selectScenarios(options.scenarios, options.nodes);
    clients = selectClients(options.clients);
  } catch (error) {
    process.stderr.write(`security matrix: ${(error as Error).message}\n`);
    return 2;
  }
  const context = newRunContext(options, scenarios, clients);
  const started = Date.now();
  let failed = 0;
  const reports: string[] = [];
  const differing: string[] = [];
  for (const mode of options.modes) {
    // One set of certificates per mode for both targets: the drivers read one client setting.
    const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kstack-compat-security-certs-'));
    const runs = new Map<TargetName, TargetRun>();
    try {
      const setup = modeSetup(mode, certDir);
      // The drivers read the client side from their environment (the runner passes its own).
      process.env[CLIENT_SECURITY_ENV] = JSON.stringify(setup.client);
      // The targets run at once (their own ports), each with its own --parallel.
      const done = await Promise.all(
        options.targets.map((target) => runTarget(context, mode, target, setup)),
      );
      for (const [i, target] of options.targets.entries()) runs.set(target, done[i]!);
      differing.push(...differences(mode, runs, setup.client.mechanism !== undefined));
    } finally {
      delete process.env[CLIENT_SECURITY_ENV];
      fs.rmSync(certDir, { recursive: true, force: true });
    }
    const reported = reportMode(mode, runs, context);
    failed += reported.failed;
    reports.push(...reported.reports);
  }
  failed += differing.length;
  process.stdout.write(summary(reports, differing, failed, started));
  return failed === 0 ? 0 : 1;
}

// Run as a command; imported (runProfileOn), it starts nothing.
if (import.meta.filename === path.resolve(process.argv[1] ?? '')) {
  process.exitCode = await main(process.argv.slice(2));
}
