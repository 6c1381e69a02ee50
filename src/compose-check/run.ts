/**
 * `kstack compose-check`: the Compose stack's brokers at run time without a Docker engine (issue 19
 * part 2). The rendered configuration comes from the real Compose; each broker service's environment
 * becomes broker properties through the shared mapper; three Apache Kafka JVMs (the reference's jars)
 * run with exactly those properties, each in its own network namespace ("container", network.ts); then
 * what the Compose file itself declares is run: the healthchecks, kafka-init's script (twice), the
 * seeds' VAL-MSG-PLN-003 chain through the advertised external listeners, and min.insync.replicas.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { assertKafkaInstalled, kafkaLibsDir, kafkaVersion, REFERENCE_DIR } from '../../reference/cluster.ts';
import { readTopicsFile } from '../topology/topics.ts';
import { parseListeners } from '../validate/service-facts.ts';
import { imageRepository } from '../validate/settings.ts';
import {
  type BrokerConfig,
  brokerConfig,
  type ComposeService,
  checkDrift,
  connectProperties,
  isBrokerService,
  isConnectService,
  renderConfig,
} from './compose-config.ts';
import { removeStale, StackNetwork } from './network.ts';

const REFERENCE_BIN = join(REFERENCE_DIR, 'bin');
const PROBE = fileURLToPath(new URL('./probe-listener.ts', import.meta.url));
/** Heap of the Kafka CLI tools the check runs from the host (describe, produce, the seeds' chain). */
const TOOL_HEAP_OPTS = '-Xmx128m';
/** Heap of kafka-storage format, which the image runs before each broker start. */
const FORMAT_HEAP_OPTS = '-Xmx256m';
const FORMAT_TIMEOUT_MS = 120_000;
const INIT_TIMEOUT_MS = 240_000;
const TOOL_TIMEOUT_MS = 120_000;
const PROBE_TIMEOUT_MS = 5_000;
const BROKER_STOP_TIMEOUT_MS = 60_000;
const COORDINATOR_TIMEOUT_MS = 120_000;
const COORDINATOR_PROBE_GROUP = 'compose-check-coordinator-probe';
/** Bytes of a broker's stderr kept for messages. */
const STDERR_KEPT_BYTES = 8192;
/** The topic the min.insync.replicas check creates with the stack's defaults (RF, min ISR). */
export const MIN_ISR_TOPIC = 'compose-check-min-isr';
/** Services whose software cannot be had here, by image repository, with the reason. */
const UNAVAILABLE: Record<string, string> = {
  'confluentinc/cp-schema-registry':
    "not run: Confluent Schema Registry ships only in Confluent's images and packages, none of which can be had here",
  'confluentinc/cp-kafka-rest':
    "not run: Confluent REST Proxy ships only in Confluent's images and packages, none of which can be had here",
  'danielqsj/kafka-exporter':
    'not run: the Go module proxy refuses github.com/danielqsj/kafka_exporter (403 Forbidden for v1.9.0, the image tag), so it cannot be built here',
  'kafbat/kafka-ui':
    'not run: the kafbat UI ships as a container image and a GitHub release jar, neither of which can be had here',
};

export type CheckStatus = 'pass' | 'fail' | 'not run';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface ServiceResult {
  readonly service: string;
  readonly ran: boolean;
  readonly detail: string;
}

export interface CheckReport {
  readonly services: ServiceResult[];
  readonly checks: CheckResult[];
}

export interface CheckOptions {
  readonly composeFile: string;
  readonly envFile: string | undefined;
  /** JVM heap of each broker; the service's KAFKA_HEAP_OPTS when undefined. */
  readonly brokerHeapOpts: string | undefined;
  /** Scratch folder (properties, logs, sockets); the caller removes it. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** Every short-lived process run() started and that has not ended: killed on Ctrl-C or failure. */
const activeProcesses = new Set<ChildProcess>();

interface ProcessResult {
  readonly code: number | null;
  readonly output: string;
  readonly timedOut: boolean;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs argv to completion in its own process group, killed as a whole at the timeout. */
function run(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  input?: string,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const [command, ...args] = argv;
    const child = spawn(command!, args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    activeProcesses.add(child);
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.on('close', (code) => {
      activeProcesses.delete(child);
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

function bindMounts(service: ComposeService) {
  return service.volumes
    .filter((volume) => volume.type === 'bind' && volume.source !== undefined)
    .sort((a, b) => b.target.length - a.target.length);
}

/** Host path of a container path, by the service's bind mounts (longest target first). */
function hostPathOf(service: ComposeService, containerPath: string, scratch: string): string {
  for (const bind of bindMounts(service)) {
    if (containerPath === bind.target) return bind.source!;
    if (containerPath.startsWith(`${bind.target}/`)) {
      return join(bind.source!, containerPath.slice(bind.target.length));
    }
  }
  // Not mounted: the container's own (throw-away) filesystem.
  return join(scratch, service.name, 'container-fs', containerPath);
}

/** A value with each absolute container path that a bind mount covers replaced by its host path. */
function translateValue(service: ComposeService, value: string): string {
  let text = value;
  for (const bind of bindMounts(service)) {
    const target = bind.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    text = text.replace(
      new RegExp(`(^|[\\s,=:])${target}(?=$|[\\s,/])`, 'g'),
      (_match, before: string) => `${before}${bind.source}`,
    );
  }
  return text;
}

/** What a process in the service's container sees: its environment, Kafka's tools on PATH. */
function containerEnv(service: ComposeService, scratch: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of service.environment) env[name] = translateValue(service, value);
  env.PATH = `${REFERENCE_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  // The image's tools are Kafka's own from the same jars the brokers run (reference/bin).
  env.KSTACK_KAFKA_LIBS = kafkaLibsDir();
  env.HOME = join(scratch, service.name, 'home');
  mkdirSync(env.HOME, { recursive: true });
  return env;
}

function hostToolEnv(): NodeJS.ProcessEnv {
  return {
    PATH: `${REFERENCE_BIN}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    KSTACK_KAFKA_LIBS: kafkaLibsDir(),
    KAFKA_HEAP_OPTS: TOOL_HEAP_OPTS,
  };
}

/** A long-running service process in its container (a broker, the Connect worker). */
interface Running {
  readonly service: ComposeService;
  readonly dir: string;
  child: ChildProcess | undefined;
  stderr: string;
  healthy: boolean;
}

interface RunningBroker extends Running {
  readonly config: BrokerConfig;
}

/** The check itself; every process and namespace it makes is gone when it resolves. */
export async function composeCheck(options: CheckOptions): Promise<CheckReport> {
  const services = renderConfig(options.composeFile, options.envFile);
  const checks: CheckResult[] = [];
  const serviceResults = new Map<string, ServiceResult>();
  for (const finding of checkDrift(services, kafkaVersion())) {
    checks.push({ name: 'image version', status: finding.ok ? 'pass' : 'fail', detail: finding.message });
  }
  const brokers = services.filter(isBrokerService).map(brokerConfig);
  const init = services.find(
    (service) => service.environment.has('TOPICS_FILE') && !isBrokerService(service),
  );
  for (const service of services) {
    const repository = imageRepository(service.image);
    const reason = UNAVAILABLE[repository];
    if (reason !== undefined) {
      serviceResults.set(service.name, { service: service.name, ran: false, detail: reason });
    }
  }

  // REQ-MSG-003: services reach each other by name only; the containers here get their own addresses.
  for (const service of services) {
    for (const setting of service.staticAddresses) {
      checks.push({
        name: 'names only',
        status: 'fail',
        detail: `${service.name}: ${setting} is a static address; services must reach each other by name only (REQ-MSG-003): remove it`,
      });
    }
  }
  const prepared = prepareBrokers(brokers, checks);
  const removed = removeStale();
  if (removed.length > 0) options.log(`removed namespaces left by an earlier run: ${removed.join(', ')}`);
  const connect = services.find(isConnectService);
  const containerServices = [
    ...brokers.map((broker) => broker.service),
    ...(init === undefined ? [] : [init]),
    ...(connect === undefined ? [] : [connect]),
  ];
  const network = new StackNetwork(
    containerServices.map((service) => ({
      service: service.name,
      hostname: service.hostname,
      containerName: service.containerName,
    })),
    join(options.workDir, 'sockets'),
  );
  const running: RunningBroker[] = [];
  const others: Running[] = [];
  const cleanup = () => {
    for (const entry of [...others, ...running]) if (entry.child !== undefined) killGroup(entry.child);
    for (const child of activeProcesses) killGroup(child);
    network.destroy();
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanup);
  try {
    if (prepared) {
      assertKafkaInstalled();
      network.create();
      const stack = { services, brokers, init, connect, network, running, others };
      await runStack(stack, options, checks, serviceResults);
    } else {
      checks.push({ name: 'brokers', status: 'not run', detail: 'a broker could not be prepared (above)' });
    }
  } finally {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', cleanup);
  }
  for (const service of services) {
    if (!serviceResults.has(service.name)) {
      serviceResults.set(service.name, {
        service: service.name,
        ran: false,
        detail: prepared
          ? 'not run: this check has no part that runs it'
          : 'not run: the brokers could not be prepared',
      });
    }
  }
  return { services: services.map((service) => serviceResults.get(service.name)!), checks };
}

/** cp-kafka's own refusals before a broker starts: no CLUSTER_ID, no advertised listeners, no log dir. */
function prepareBrokers(brokers: readonly BrokerConfig[], checks: CheckResult[]): boolean {
  if (brokers.length === 0) {
    checks.push({
      name: 'brokers',
      status: 'fail',
      detail: 'no broker service (a cp-kafka image with its own entrypoint) in the messaging profile',
    });
    return false;
  }
  let ok = true;
  const fail = (name: string, detail: string) => {
    ok = false;
    checks.push({ name, status: 'fail', detail });
  };
  for (const broker of brokers) {
    const name = broker.service.name;
    const roles = (broker.properties.get('process.roles')?.value ?? '').split(',').map((role) => role.trim());
    if (broker.clusterId === undefined || broker.clusterId === '') {
      fail(
        'storage format',
        `${name}: CLUSTER_ID is not set in its environment: cp-kafka formats the KRaft log dir with it (kafka-storage format --cluster-id) and stops without it; set CLUSTER_ID to a kafka-storage random-uuid value`,
      );
    }
    if (roles.includes('broker') && !broker.properties.has('advertised.listeners')) {
      fail(
        'advertised listeners',
        `${name}: KAFKA_ADVERTISED_LISTENERS is not set: cp-kafka requires it on broker nodes`,
      );
    }
    if (!broker.properties.has('log.dirs') && !broker.properties.has('log.dir')) {
      fail('storage format', `${name}: KAFKA_LOG_DIRS is not set, so there is no data folder to format`);
    }
  }
  return ok;
}

interface Stack {
  readonly services: readonly ComposeService[];
  readonly brokers: readonly BrokerConfig[];
  readonly init: ComposeService | undefined;
  readonly connect: ComposeService | undefined;
  readonly network: StackNetwork;
  readonly running: RunningBroker[];
  readonly others: Running[];
}

async function runStack(
  stack: Stack,
  options: CheckOptions,
  checks: CheckResult[],
  serviceResults: Map<string, ServiceResult>,
): Promise<void> {
  const { services, brokers, init, connect, network, running, others } = stack;
  const scratch = options.workDir;
  // Format every log dir (in parallel), as the image does at each container start.
  const formatted = await Promise.all(brokers.map((broker) => formatBroker(broker, network, scratch)));
  brokers.forEach((broker, index) => {
    const result = formatted[index]!;
    checks.push({
      name: 'storage format',
      status: result.ok ? 'pass' : 'fail',
      detail: `${broker.service.name}: ${result.detail}`,
    });
  });
  const prepare = services.find((service) => service.entrypoint?.some((arg) => arg.endsWith('prepare.sh')));
  if (prepare !== undefined) {
    serviceResults.set(prepare.name, {
      service: prepare.name,
      ran: false,
      detail:
        'not run: this check makes the data folders itself (as root, no uid 1000 here); the JMX exporter agent it fetches is not used',
    });
  }
  if (!formatted.every((result) => result.ok)) return;

  for (const broker of brokers) {
    const entry: RunningBroker = {
      config: broker,
      service: broker.service,
      dir: join(scratch, broker.service.name),
      child: undefined,
      stderr: '',
      healthy: false,
    };
    running.push(entry);
    startBroker(entry, network, options);
    for (const port of broker.service.ports) {
      if (port.published !== undefined)
        await network.publish(broker.service.name, port.published, port.target);
    }
    serviceResults.set(broker.service.name, {
      service: broker.service.name,
      ran: true,
      detail: `Apache Kafka ${kafkaVersion()} broker with the ${broker.properties.size} properties of its KAFKA_* environment${describeNotRendered(broker, options)}`,
    });
  }

  await Promise.all(running.map((broker) => healthcheck(broker, network, checks, options)));
  await probeAdvertised(running, init, network, checks);
  if (!running.every((broker) => broker.healthy)) {
    for (const name of ['kafka-init', 'VAL-MSG-PLN-003', 'min.insync.replicas']) {
      checks.push({ name, status: 'not run', detail: 'a broker is not healthy' });
    }
    return;
  }
  const external = externalBootstrap(brokers);
  if (init !== undefined) await runInit(init, network, external, scratch, checks, serviceResults, options);
  const connectDone =
    connect === undefined
      ? Promise.resolve()
      : runConnect(connect, network, others, checks, serviceResults, options);
  await awaitGroupCoordinator(external, checks, options);
  await valMsgPln003(external, checks, options);
  await connectDone;
  // The worker is done with; stopping it leaves the two cores to the brokers for what follows.
  for (const entry of others) await stopProcess(entry, 'SIGKILL');
  await minInsyncReplicas(running, external, checks, options);
}

function describeNotRendered(broker: BrokerConfig, options: CheckOptions): string {
  const parts: string[] = [];
  if (options.brokerHeapOpts !== undefined) {
    const heap = broker.notRendered.find((entry) => entry.variable === 'KAFKA_HEAP_OPTS')?.value;
    parts.push(
      `heap ${options.brokerHeapOpts} (--heap-opts) instead of KAFKA_HEAP_OPTS=${heap ?? '(unset)'}`,
    );
  }
  const agent = broker.notRendered.find((entry) => entry.variable === 'KAFKA_OPTS');
  if (agent !== undefined) {
    parts.push(`KAFKA_OPTS not applied (${agent.value}: the agent lives in kafka-prepare's volume)`);
  }
  return parts.length === 0 ? '' : `; ${parts.join('; ')}`;
}

function propertiesFor(broker: BrokerConfig, scratch: string): { text: string; logDirs: string[] } {
  const lines: string[] = [];
  const logDirs: string[] = [];
  for (const property of broker.properties.values()) {
    let value = property.value;
    if (['log.dirs', 'log.dir', 'metadata.log.dir'].includes(property.name)) {
      const dirs = value.split(',').map((dir) => hostPathOf(broker.service, dir.trim(), scratch));
      logDirs.push(...dirs);
      value = dirs.join(',');
    }
    if (/[\r\n]/.test(value))
      throw new Error(`${broker.service.name}: ${property.variable} holds a line break`);
    lines.push(`${property.name}=${value.replace(/\\/g, '\\\\')}`);
  }
  return { text: `${lines.join('\n')}\n`, logDirs };
}

async function formatBroker(
  broker: BrokerConfig,
  network: StackNetwork,
  scratch: string,
): Promise<{ ok: boolean; detail: string }> {
  const dir = join(scratch, broker.service.name);
  mkdirSync(dir, { recursive: true });
  const { text, logDirs } = propertiesFor(broker, scratch);
  // kafka-prepare's job: the data folders exist before the broker starts.
  for (const logDir of logDirs) mkdirSync(logDir, { recursive: true });
  writeFileSync(join(dir, 'server.properties'), text);
  const argv = network.wrap(broker.service.name, [
    join(REFERENCE_BIN, 'kafka-storage'),
    'format',
    '--cluster-id',
    broker.clusterId ?? '',
    '--config',
    join(dir, 'server.properties'),
    '--ignore-formatted',
  ]);
  const env = { ...containerEnv(broker.service, scratch), KAFKA_HEAP_OPTS: FORMAT_HEAP_OPTS, KAFKA_OPTS: '' };
  const result = await run(argv, env, FORMAT_TIMEOUT_MS);
  if (result.code !== 0) {
    return {
      ok: false,
      detail: `kafka-storage format with CLUSTER_ID=${broker.clusterId} failed: ${lastLines(result.output, 3)}`,
    };
  }
  return { ok: true, detail: `${logDirs.join(',')} formatted with CLUSTER_ID ${broker.clusterId}` };
}

function startBroker(broker: RunningBroker, network: StackNetwork, options: CheckOptions): void {
  const service = broker.config.service;
  const heap =
    options.brokerHeapOpts ??
    broker.config.notRendered.find((entry) => entry.variable === 'KAFKA_HEAP_OPTS')?.value ??
    '-Xmx1g';
  const logs = join(broker.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const [command, ...args] = network.wrap(service.name, [
    'java',
    ...heap.split(/\s+/).filter(Boolean),
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${logs}`,
    `-Dlog4j2.configurationFile=${join(REFERENCE_DIR, 'log4j2.properties')}`,
    '-cp',
    `${kafkaLibsDir()}/*`,
    'kafka.Kafka',
    join(broker.dir, 'server.properties'),
  ]);
  const child = spawn(command!, args, {
    env: containerEnv(service, options.workDir),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    broker.stderr = (broker.stderr + chunk.toString()).slice(-STDERR_KEPT_BYTES);
  });
  broker.child = child;
  options.log(`${service.name}: started (pid ${child.pid}) in its network namespace`);
}

/**
 * The Connect service: Kafka's own distributed worker (the reference jars) with the properties of its
 * CONNECT_* environment, in its container, then its healthcheck as written. Its depends_on names the
 * Schema Registry, which cannot run here; that is said in its service line.
 */
async function runConnect(
  connect: ComposeService,
  network: StackNetwork,
  others: Running[],
  checks: CheckResult[],
  serviceResults: Map<string, ServiceResult>,
  options: CheckOptions,
): Promise<void> {
  const dir = join(options.workDir, connect.name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const properties = connectProperties(connect);
  const lines: string[] = [];
  for (const [name, value] of properties) {
    let text = value;
    if (name === 'plugin.path') {
      // Container folders (not mounted): empty folders of the container's own filesystem.
      const paths = value.split(',').map((path) => hostPathOf(connect, path.trim(), options.workDir));
      for (const path of paths) mkdirSync(path, { recursive: true });
      text = paths.join(',');
    }
    if (/[\r\n]/.test(text)) throw new Error(`${connect.name}: the variable for ${name} holds a line break`);
    lines.push(`${name}=${text.replace(/\\/g, '\\\\')}`);
  }
  writeFileSync(join(dir, 'worker.properties'), `${lines.join('\n')}\n`);
  const heap = options.brokerHeapOpts ?? connect.environment.get('KAFKA_HEAP_OPTS') ?? '-Xmx1g';
  const [command, ...args] = network.wrap(connect.name, [
    'java',
    ...heap.split(/\s+/).filter(Boolean),
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    `-Dlog4j2.configurationFile=${join(REFERENCE_DIR, 'log4j2.properties')}`,
    '-cp',
    `${kafkaLibsDir()}/*`,
    'org.apache.kafka.connect.cli.ConnectDistributed',
    join(dir, 'worker.properties'),
  ]);
  const child = spawn(command!, args, {
    env: containerEnv(connect, options.workDir),
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const entry: Running = { service: connect, dir, child, stderr: '', healthy: false };
  child.stderr?.on('data', (chunk: Buffer) => {
    entry.stderr = (entry.stderr + chunk.toString()).slice(-STDERR_KEPT_BYTES);
  });
  others.push(entry);
  for (const port of connect.ports) {
    if (port.published !== undefined) await network.publish(connect.name, port.published, port.target);
  }
  const unmet = connect.dependsOn.filter((name) => serviceResults.get(name)?.ran === false);
  const heapNote =
    options.brokerHeapOpts === undefined ? '' : `; heap ${options.brokerHeapOpts} (--heap-opts)`;
  const unmetNote =
    unmet.length === 0 ? '' : `; started although its depends_on ${unmet.join(', ')} cannot run here`;
  serviceResults.set(connect.name, {
    service: connect.name,
    ran: true,
    detail: `Apache Kafka ${kafkaVersion()} Connect worker (distributed) with the ${properties.size} properties of its CONNECT_* environment${heapNote}${unmetNote}`,
  });
  options.log(`${connect.name}: started (pid ${child.pid}) in its network namespace`);
  await healthcheck(entry, network, checks, options);
}

function healthArgv(test: readonly string[]): string[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  if (kind === 'CMD') return rest;
  return undefined;
}

/** The service's healthcheck, run as written inside its container, with Docker's timing. */
async function healthcheck(
  broker: Running,
  network: StackNetwork,
  checks: CheckResult[],
  options: CheckOptions,
): Promise<void> {
  const service = broker.service;
  const spec = service.healthcheck;
  const argv = spec === undefined ? undefined : healthArgv(spec.test);
  if (spec === undefined || argv === undefined) {
    checks.push({
      name: 'healthcheck',
      status: 'fail',
      detail: `${service.name}: declares no healthcheck (healthcheck.test)`,
    });
    return;
  }
  const command = spec.test.slice(1).join(' ');
  const started = Date.now();
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    await sleep(spec.intervalMs);
    const exitCode = broker.child?.exitCode;
    if (exitCode !== null && exitCode !== undefined) {
      checks.push({
        name: 'healthcheck',
        status: 'fail',
        detail: `${service.name}: the broker exited (${exitCode}) before it was healthy: ${lastLines(broker.stderr) || `see ${join(broker.dir, 'logs', 'server.log')}`}`,
      });
      return;
    }
    const result = await run(
      network.wrap(service.name, argv),
      containerEnv(service, options.workDir),
      spec.timeoutMs,
    );
    if (result.code === 0) {
      broker.healthy = true;
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      checks.push({
        name: 'healthcheck',
        status: 'pass',
        detail: `${service.name}: healthy after ${seconds} s (attempt ${attempt}): ${command}`,
      });
      return;
    }
    const last = result.timedOut
      ? `timed out after ${spec.timeoutMs} ms`
      : `exit ${result.code}${result.output.trim() ? `: ${lastLines(result.output, 2)}` : ''}`;
    if (Date.now() - started > spec.startPeriodMs) failures++;
    options.log(`${service.name}: healthcheck attempt ${attempt}: ${last}`);
    if (failures >= spec.retries) {
      checks.push({
        name: 'healthcheck',
        status: 'fail',
        detail: `${service.name}: unhealthy: healthcheck.test failed ${failures} times after its ${spec.startPeriodMs / 1000} s start period (last: ${last}): ${command}`,
      });
      return;
    }
  }
}

/**
 * Each advertised listener asked for Metadata where its clients are: a localhost one from the host
 * (through the published port), any other from another container on infra_net.
 */
async function probeAdvertised(
  running: readonly RunningBroker[],
  init: ComposeService | undefined,
  network: StackNetwork,
  checks: CheckResult[],
): Promise<void> {
  for (const broker of running) {
    const service = broker.config.service;
    const advertised = broker.config.properties.get('advertised.listeners');
    if (advertised === undefined) continue;
    const listeners = broker.config.properties.get('listeners')?.value ?? '(unset)';
    for (const entry of parseListeners(advertised.value)) {
      const local = ['localhost', '127.0.0.1', '::1'].includes(entry.host);
      const from = local ? undefined : (init ?? running.find((other) => other !== broker)?.config.service);
      const probe = [
        process.execPath,
        PROBE,
        local ? '127.0.0.1' : entry.host,
        String(entry.port),
        String(PROBE_TIMEOUT_MS),
      ];
      const argv = from === undefined ? probe : network.wrap(from.name, probe);
      const result = await run(argv, { PATH: process.env.PATH }, PROBE_TIMEOUT_MS * 3);
      const where = local ? 'from the host' : `from ${from?.name ?? 'infra_net'} on infra_net`;
      const text = `${entry.name}://${entry.host}:${entry.port}`;
      checks.push(
        result.code === 0
          ? {
              name: 'advertised listeners',
              status: 'pass',
              detail: `${service.name}: ${text} answers ${where}`,
            }
          : {
              name: 'advertised listeners',
              status: 'fail',
              detail: `${service.name}: KAFKA_ADVERTISED_LISTENERS gives ${text} but no Kafka answers there ${where} (${result.output.trim()}); its KAFKA_LISTENERS is ${listeners}`,
            },
      );
    }
  }
}

/** The advertised localhost listeners: what a client on the host bootstraps from. */
function externalBootstrap(brokers: readonly BrokerConfig[]): string {
  const addresses: string[] = [];
  for (const broker of brokers) {
    const advertised = broker.properties.get('advertised.listeners')?.value ?? '';
    const local = parseListeners(advertised).find((entry) => ['localhost', '127.0.0.1'].includes(entry.host));
    if (local !== undefined) addresses.push(`${local.host}:${local.port}`);
  }
  return addresses.join(',');
}

interface TopicSummary {
  readonly id: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: string;
}

async function describeTopics(bootstrap: string): Promise<Map<string, TopicSummary> | string> {
  const result = await run(
    [
      join(REFERENCE_BIN, 'kafka-topics'),
      '--bootstrap-server',
      bootstrap,
      '--describe',
      '--exclude-internal',
    ],
    hostToolEnv(),
    TOOL_TIMEOUT_MS,
  );
  if (result.code !== 0) return `kafka-topics --describe failed: ${lastLines(result.output, 3)}`;
  const topics = new Map<string, TopicSummary>();
  for (const line of result.output.split('\n')) {
    const match =
      /^Topic: (\S+)\s+TopicId: (\S+)\s+PartitionCount: (\d+)\s+ReplicationFactor: (\d+)\s+Configs: ?(.*)$/.exec(
        line,
      );
    if (match === null) continue;
    topics.set(match[1]!, {
      id: match[2]!,
      partitions: Number(match[3]),
      replicationFactor: Number(match[4]),
      configs: match[5]!.trim(),
    });
  }
  return topics;
}

async function runInit(
  init: ComposeService,
  network: StackNetwork,
  external: string,
  scratch: string,
  checks: CheckResult[],
  serviceResults: Map<string, ServiceResult>,
  options: CheckOptions,
): Promise<void> {
  const argv = [...(init.entrypoint ?? []), ...(init.command ?? [])].map((arg) => translateValue(init, arg));
  const script = [...(init.entrypoint ?? []), ...(init.command ?? [])].join(' ');
  serviceResults.set(init.name, {
    service: init.name,
    ran: true,
    detail: `${script} in its container, twice`,
  });
  const topicsPath = hostPathOf(init, init.environment.get('TOPICS_FILE') ?? '', scratch);
  const wanted = readTopicsFile(topicsPath, relative(process.cwd(), topicsPath) || topicsPath);
  const states: Map<string, TopicSummary>[] = [];
  for (const round of [1, 2]) {
    const result = await run(network.wrap(init.name, argv), containerEnv(init, scratch), INIT_TIMEOUT_MS);
    options.log(`${init.name}: run ${round} exited ${result.code}`);
    if (result.code !== 0) {
      checks.push({
        name: 'kafka-init',
        status: 'fail',
        detail: `${init.name}: run ${round} of ${script} exited ${result.timedOut ? 'on timeout' : result.code}: ${lastLines(result.output, 3)}`,
      });
      return;
    }
    const state = await describeTopics(external);
    if (typeof state === 'string') {
      checks.push({ name: 'kafka-init', status: 'fail', detail: `${init.name}: ${state}` });
      return;
    }
    states.push(state);
  }
  const [first, second] = states as [Map<string, TopicSummary>, Map<string, TopicSummary>];
  const problems: string[] = [];
  for (const topic of wanted.topics) {
    const where = `${wanted.displayPath}:${topic.line}`;
    const found = first.get(topic.name);
    if (found === undefined) {
      problems.push(`${where}: topic ${topic.name} does not exist after the run`);
      continue;
    }
    if (found.partitions !== topic.partitions || found.replicationFactor !== topic.replicationFactor) {
      problems.push(
        `${where}: topic ${topic.name} has ${found.partitions} partitions, RF ${found.replicationFactor}; the file asks ${topic.partitions}, RF ${topic.replicationFactor}`,
      );
    }
    for (const [name, value] of topic.configs) {
      if (!found.configs.split(',').includes(`${name}=${value}`)) {
        problems.push(
          `${where}: topic ${topic.name} lacks ${name}=${value} (has ${found.configs || 'none'})`,
        );
      }
    }
  }
  checks.push(
    problems.length === 0
      ? {
          name: 'baseline topics',
          status: 'pass',
          detail: `${init.name}: the ${wanted.topics.length} baseline topic(s) of ${wanted.displayPath} exist as listed (${wanted.topics.map((topic) => topic.name).join(', ')})`,
        }
      : { name: 'baseline topics', status: 'fail', detail: `${init.name}: ${problems.join('; ')}` },
  );
  const changed = [...new Set([...first.keys(), ...second.keys()])].filter(
    (name) => JSON.stringify(first.get(name)) !== JSON.stringify(second.get(name)),
  );
  checks.push(
    changed.length === 0
      ? {
          name: 'kafka-init rerun',
          status: 'pass',
          detail: `${init.name}: a second run changed nothing (same topic ids, partitions, replication and configs)`,
        }
      : {
          name: 'kafka-init rerun',
          status: 'fail',
          detail: `${init.name}: a second run changed ${changed.join(', ')}`,
        },
  );
}

/**
 * The seeds' chain gives its consumer 10 s. Its first group use makes the brokers create
 * __consumer_offsets (the stack's RF 3 and Kafka's 50 partitions), which takes longer than that on a
 * loaded 2-core machine; so the group coordinator is awaited first (an admin client's FindCoordinator,
 * retried by the client until it answers or the timeout), and how long it took is reported.
 */
async function awaitGroupCoordinator(external: string, checks: CheckResult[], options: CheckOptions) {
  const started = Date.now();
  const result = await run(
    [
      join(REFERENCE_BIN, 'kafka-consumer-groups'),
      '--bootstrap-server',
      external,
      '--describe',
      '--group',
      COORDINATOR_PROBE_GROUP,
      '--timeout',
      String(COORDINATOR_TIMEOUT_MS),
    ],
    hostToolEnv(),
    COORDINATOR_TIMEOUT_MS + TOOL_TIMEOUT_MS,
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  options.log(`group coordinator: exit ${result.code} after ${seconds} s`);
  // The coordinator's answer about a group nobody uses: "not found" (4.x) or "does not exist".
  const found =
    result.code === 0 || /GroupIdNotFoundException|does not exist|has no active members/.test(result.output);
  checks.push(
    found
      ? { name: 'group coordinator', status: 'pass', detail: `answered FindCoordinator within ${seconds} s` }
      : {
          name: 'group coordinator',
          status: 'fail',
          detail: `no group coordinator within ${seconds} s: ${lastLines(result.output, 3)}`,
        },
  );
}

async function valMsgPln003(external: string, checks: CheckResult[], options: CheckOptions): Promise<void> {
  const result = await run(
    [
      'bash',
      join(REFERENCE_DIR, 'val-msg-pln-003.sh'),
      '--bootstrap-server',
      external,
      '--replication-factor',
      '3',
    ],
    hostToolEnv(),
    TOOL_TIMEOUT_MS,
  );
  options.log(`VAL-MSG-PLN-003 exited ${result.code}`);
  checks.push(
    result.code === 0
      ? {
          name: 'VAL-MSG-PLN-003',
          status: 'pass',
          detail: `create (RF 3), produce "hello" and consume it back through the advertised external listeners ${external}`,
        }
      : {
          name: 'VAL-MSG-PLN-003',
          status: 'fail',
          detail: `the chain against ${external} exited ${result.timedOut ? 'on timeout' : result.code}: ${lastLines(result.output, 4)}`,
        },
  );
}

function produceOne(external: string, topic: string, extra: readonly string[]): Promise<ProcessResult> {
  const properties = ['acks=all', ...extra].flatMap((property) => ['--producer-property', property]);
  return run(
    [
      join(REFERENCE_BIN, 'kafka-console-producer'),
      '--bootstrap-server',
      external,
      '--topic',
      topic,
      '--sync',
      ...properties,
    ],
    hostToolEnv(),
    TOOL_TIMEOUT_MS,
    'min-isr-check\n',
  );
}

async function stopProcess(broker: Running, signal: NodeJS.Signals): Promise<void> {
  const child = broker.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, signal);
  const timer = setTimeout(() => killGroup(child), BROKER_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * min.insync.replicas with the stack's defaults: a topic created without settings; one broker killed
 * (SIGKILL), acks=all still succeeds; a second broker stopped, acks=all is refused with
 * NOT_ENOUGH_REPLICAS. The second stop is a controlled shutdown: with two of three combined controllers
 * gone the quorum is lost, so only a broker that leaves while the quorum still stands is taken out of
 * the ISR (after a second SIGKILL it stays in, and the produce times out instead of being refused).
 */
async function minInsyncReplicas(
  running: readonly RunningBroker[],
  external: string,
  checks: CheckResult[],
  options: CheckOptions,
): Promise<void> {
  const name = 'min.insync.replicas';
  const minIsr =
    running[0]?.config.properties.get('min.insync.replicas')?.value ?? '(unset: Kafka default 1)';
  if (running.length < 3) {
    checks.push({ name, status: 'not run', detail: `needs three brokers, the stack has ${running.length}` });
    return;
  }
  const create = await run(
    [
      join(REFERENCE_BIN, 'kafka-topics'),
      '--bootstrap-server',
      external,
      '--create',
      '--topic',
      MIN_ISR_TOPIC,
      '--partitions',
      '1',
    ],
    hostToolEnv(),
    TOOL_TIMEOUT_MS,
  );
  if (create.code !== 0) {
    checks.push({
      name,
      status: 'fail',
      detail: `creating ${MIN_ISR_TOPIC} with the stack's defaults failed: ${lastLines(create.output, 3)}`,
    });
    return;
  }
  const first = running[running.length - 1]!;
  const second = running[running.length - 2]!;
  await stopProcess(first, 'SIGKILL');
  options.log(`${first.config.service.name}: killed`);
  // Retries ride out the leader move off the killed broker; an ERROR line is a record not delivered.
  const oneDown = await produceOne(external, MIN_ISR_TOPIC, ['retries=1000', 'delivery.timeout.ms=90000']);
  if (oneDown.code !== 0 || /\] ERROR /.test(oneDown.output)) {
    checks.push({
      name,
      status: 'fail',
      detail: `with ${first.config.service.name} killed, acks=all to ${MIN_ISR_TOPIC} failed (KAFKA_MIN_INSYNC_REPLICAS=${minIsr}): ${lastLines(oneDown.output, 3)}`,
    });
    return;
  }
  await stopProcess(second, 'SIGTERM');
  options.log(`${second.config.service.name}: stopped`);
  const twoDown = await produceOne(external, MIN_ISR_TOPIC, [
    'retries=0',
    'enable.idempotence=false',
    'delivery.timeout.ms=60000',
    'request.timeout.ms=30000',
  ]);
  const refused = /NotEnoughReplicasException|NOT_ENOUGH_REPLICAS/.test(twoDown.output);
  checks.push(
    refused
      ? {
          name,
          status: 'pass',
          detail: `KAFKA_MIN_INSYNC_REPLICAS=${minIsr}: acks=all succeeded with ${first.config.service.name} killed, and was refused with NOT_ENOUGH_REPLICAS once ${second.config.service.name} stopped too`,
        }
      : {
          name,
          status: 'fail',
          detail: `with ${first.config.service.name} and ${second.config.service.name} down, acks=all was not refused with NOT_ENOUGH_REPLICAS (KAFKA_MIN_INSYNC_REPLICAS=${minIsr}): exit ${twoDown.code}: ${lastLines(twoDown.output, 3) || 'no error'}`,
        },
  );
}
