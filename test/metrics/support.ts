/**
 * Shared parts of the metrics tests: the Apache Kafka reference with the Docker stack's JMX
 * exporter agent and rules, `kstack up` with `--metrics-port`, kcat as the producing
 * client, a scrape parser, and waiting on conditions.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { KstackProcess } from '../../src/engine/process.ts';

const ROOT = join(import.meta.dirname, '..', '..');
export const JMX_AGENT_JAR = join(homedir(), '.cache/kstack/jmx-exporter/jmx_prometheus_javaagent-1.0.1.jar');
export const JMX_RULES = join(ROOT, 'infra/05-messaging/kafka/jmx-exporter/kafka-broker.yml');

/** One sample of a scrape: family name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text format's samples (comments skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(match !== null, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]!] = label[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}`);
  return parseSamples(await response.text());
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}: ${String(lastError ?? 'no value')}`,
      );
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}

export interface PrometheusSeries {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** An instant query against the Prometheus at `base` (http://HOST:PORT); fails on a query error. */
export async function prometheusQuery(base: string, promql: string): Promise<PrometheusSeries[]> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    data?: { result: PrometheusSeries[] };
    error?: string;
  };
  assert.equal(body.status, 'success', `${promql}: ${body.error}`);
  return body.data!.result;
}

/** Waits until `promql` returns exactly one series whose value passes `accept`; returns the value. */
export function prometheusValue(
  base: string,
  promql: string,
  accept: (value: number) => boolean,
  timeoutMs?: number,
): Promise<number> {
  return waitFor(
    `Prometheus: ${promql}`,
    async () => {
      const result = await prometheusQuery(base, promql);
      if (result.length !== 1) return undefined;
      const value = Number(result[0]!.value[1]);
      return accept(value) ? value : undefined;
    },
    timeoutMs,
  );
}

/**
 * Produces `count` records (values 1..count) with kcat (librdkafka), one call, idempotent (a
 * request retried on a loaded machine must not write twice).
 */
export function kcatProduce(bootstrap: string, topic: string, count: number): void {
  const lines = `${Array.from({ length: count }, (_, i) => String(i + 1)).join('\n')}\n`;
  const args = ['-P', '-b', bootstrap, '-t', topic, '-X', 'acks=all', '-X', 'enable.idempotence=true'];
  const result = spawnSync('kcat', args, {
    input: lines,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `kcat -P: ${result.stderr}`);
}

/** Reads a topic to its end with kcat; returns the values. */
export function kcatConsume(bootstrap: string, topic: string): string[] {
  const result = spawnSync('kcat', ['-C', '-b', bootstrap, '-t', topic, '-e', '-q'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `kcat -C: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

export interface Running {
  readonly bootstrap: string;
  /** `http://…/metrics`. */
  readonly metricsUrl: string;
  stop(): Promise<void>;
}

/**
 * A one-node reference whose JVM carries the JMX exporter agent with the Docker stack's rules
 * on `agentPort` (through JAVA_TOOL_OPTIONS, which the launcher's JVMs inherit).
 */
export async function startReferenceWithAgent(port: number, agentPort: number): Promise<Running> {
  assert.ok(existsSync(JMX_AGENT_JAR), `${JMX_AGENT_JAR} is missing: run scripts/setup/45-prometheus.sh`);
  return startReference(port, `-javaagent:${JMX_AGENT_JAR}=127.0.0.1:${agentPort}:${JMX_RULES}`, agentPort);
}

/** A one-node reference; `javaToolOptions` reach its JVMs (e.g. an agent serving metrics on `metricsPort`). */
export async function startReference(
  port: number,
  javaToolOptions?: string,
  metricsPort = 0,
): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metrics-ref-'));
  const saved = process.env.JAVA_TOOL_OPTIONS;
  if (javaToolOptions !== undefined) process.env.JAVA_TOOL_OPTIONS = javaToolOptions;
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir });
  try {
    await cluster.start();
  } finally {
    if (saved === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = saved;
  }
  return {
    bootstrap: cluster.bootstrap,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * How long `kstack up` may take to exit after SIGTERM before SIGKILL: with consumer groups it has
 * outlived '[kstack] stopped' by 30 s on the loaded machine (seen by other modules' tests too).
 */
export const KSTACK_STOP_GRACE_MS = 120_000;

/** `kstack up` serving `/metrics` on `metricsPort`. */
export async function startKstack(
  port: number,
  metricsPort: number,
  extraArgs: string[] = [],
): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-metrics-'));
  const broker = await KstackProcess.start({
    args: [
      '--port',
      String(port),
      '--metrics-port',
      String(metricsPort),
      '--data-dir',
      dataDir,
      ...extraArgs,
    ],
    ports: [port],
  });
  return {
    bootstrap: `127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async stop() {
      const exit = await broker.stop(KSTACK_STOP_GRACE_MS);
      rmSync(dataDir, { recursive: true, force: true });
      assert.deepEqual(exit, { code: 0, signal: null }, broker.output);
    },
  };
}
