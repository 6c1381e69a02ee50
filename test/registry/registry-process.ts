/**
 * Test helper: `kstack schema-registry` as a separate process on a real port, ready once it answers
 * `GET /`; stopped with SIGTERM, or SIGKILL for crash tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionPool,
  Consumer,
  describeGroupsV5,
  FetchIsolationLevels,
  findCoordinatorV6,
} from '@platformatic/kafka';
import {
  decodeAssignment,
  decodeIdentity,
  type RegistryIdentity,
} from '../../src/registry/leader-protocol.ts';
import type { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;

/** The venv that scripts/setup/40-registry-clients.sh fills. */
export const REGISTRY_PYTHON = join(
  process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack'),
  'venv-registry',
  'bin',
  'python',
);
export const SERDES_SCRIPT = join(import.meta.dirname, 'python', 'serdes.py');
/** franz-go's pkg/sr driver, built by scripts/setup/40-registry-clients.sh from test/registry/go. */
export const GO_DRIVER = join(
  process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack'),
  'bin',
  'registry-go-driver',
);
export const CONFLUENT_JS_SCRIPT = join(import.meta.dirname, 'confluent-js', 'serdes.ts');

export class RegistryProcess {
  readonly url: string;
  readonly #args: string[];
  #child: ChildProcess | null = null;
  #exit: Promise<number | string> | null = null;
  output = '';

  /** `extraArgs` are more `kstack schema-registry` options (group, leader eligibility, waits). */
  constructor(bootstrap: string, port: number, extraArgs: readonly string[] = []) {
    this.url = `http://127.0.0.1:${port}`;
    this.#args = [
      'bin/kstack.ts',
      'schema-registry',
      '--bootstrap-server',
      bootstrap,
      '--port',
      String(port),
      ...extraArgs,
    ];
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, this.#args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    let exited = false;
    void this.#exit.then(() => {
      exited = true;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) throw new Error(`kstack schema-registry exited before serving:\n${this.output}`);
      const answered = await fetch(`${this.url}/`).then(
        (r) => r.ok,
        () => false,
      );
      if (answered) return;
      if (Date.now() > deadline)
        throw new Error(`kstack schema-registry not serving within ${READY_TIMEOUT_MS} ms:\n${this.output}`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** Sends a signal without waiting (SIGSTOP/SIGCONT pause and resume the process). */
  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | string | null> {
    if (this.#child === null || this.#exit === null) return null;
    this.#child.kill(signal);
    const exit = await this.#exit;
    this.#child = null;
    return exit;
  }
}

/** Runs test/registry/python/serdes.py for one format and returns its JSON summary. */
export async function runSerdes(bootstrap: string, url: string, format: string, topic: string) {
  const result = await runTool(REGISTRY_PYTHON, [SERDES_SCRIPT, bootstrap, url, format, topic], {
    timeoutMs: 240_000,
  });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; [key: string]: unknown };
  } catch {
    throw new Error(`serdes.py failed (${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/** Runs test/registry/confluent-js/serdes.ts (Confluent's Node serdes) for one format; its JSON summary. */
export async function runConfluentJs(bootstrap: string, url: string, format: string, topic: string) {
  const result = await runTool(process.execPath, [CONFLUENT_JS_SCRIPT, bootstrap, url, format, topic], {
    timeoutMs: 240_000,
  });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; [key: string]: unknown };
  } catch {
    throw new Error(`confluent-js/serdes.ts failed (${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/**
 * Stops the `kstack up` of a test whose clients used consumer groups. Its clean exit is what
 * test/engine checks; here an exit that needed SIGKILL (once under load: the process outlived
 * "[kstack] stopped" by the 30 s grace, see src/registry/README.md) is printed, not failed, so a
 * broker shutdown problem is not reported as a registry failure.
 */
export async function stopBroker(broker: BrokerProcess): Promise<void> {
  const exit = await broker.stop();
  if (exit !== 0) {
    process.stdout.write(
      `# note: kstack up on ${broker.bootstrap} exited with ${exit}; its output ends:\n${broker.output.slice(-2000)}\n`,
    );
  }
  broker.removeData();
}

/** Runs the franz-go pkg/sr driver; its JSON summary. */
export async function runGoDriver(bootstrap: string, url: string, topic: string) {
  const result = await runTool(GO_DRIVER, [bootstrap, url, topic], { timeoutMs: 240_000 });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean; [key: string]: unknown };
  } catch {
    throw new Error(`registry-go-driver failed (${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

export interface RegistryGroupView {
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  /** Each member's identity (its JoinGroup metadata) and the leader its assignment names. */
  readonly members: { identity: RegistryIdentity; leader: RegistryIdentity | null }[];
}

/**
 * The registry group as the cluster's coordinator describes it (DescribeGroups through
 * @platformatic/kafka's codecs: its Admin decodes only `consumer` groups), each member's metadata
 * and assignment read as Confluent's JSON.
 */
export async function describeRegistryGroup(bootstrap: string, groupId: string): Promise<RegistryGroupView> {
  const pool = new ConnectionPool('kstack-registry-test', { requestTimeout: 30_000 });
  try {
    const brokers = bootstrap.split(',').map((address) => {
      const [host = '', port = ''] = address.split(':');
      return { host, port: Number(port) };
    });
    const any = await pool.getFirstAvailable(brokers);
    const found = (await findCoordinatorV6.api.async(any, 0, [groupId])).coordinators[0];
    if (found === undefined) throw new Error(`no coordinator for ${groupId}`);
    const coordinator = await pool.get({ host: found.host, port: found.port });
    const group = (await describeGroupsV5.api.async(coordinator, [groupId], false)).groups[0];
    if (group === undefined) throw new Error(`DescribeGroups answered nothing for ${groupId}`);
    return {
      state: group.groupState,
      protocolType: group.protocolType,
      protocol: group.protocolData,
      members: group.members.map((member) => ({
        identity: decodeIdentity(member.memberMetadata),
        leader:
          member.memberAssignment.length === 0 ? null : decodeAssignment(member.memberAssignment).leader,
      })),
    };
  } finally {
    await pool.close();
  }
}

/** Describes the group until `accept` holds for it (or `timeoutMs` passes, then fails with the last view). */
export async function waitForRegistryGroup(
  bootstrap: string,
  groupId: string,
  accept: (view: RegistryGroupView) => boolean,
  timeoutMs: number,
): Promise<RegistryGroupView> {
  const deadline = Date.now() + timeoutMs;
  let last: RegistryGroupView | string = 'not described yet';
  for (;;) {
    try {
      last = await describeRegistryGroup(bootstrap, groupId);
      if (accept(last)) return last;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `group ${groupId} not as expected within ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
      );
    }
    await sleep(POLL_INTERVAL_MS * 2);
  }
}

/** Bit 4 of a record batch's attributes: written inside a transaction. */
const TRANSACTIONAL_BATCH = 1 << 4;
/** Bit 5 of a record batch's attributes: a transaction marker. */
const CONTROL_BATCH = 1 << 5;

/**
 * Every data record of partition 0 of `topic` (one fetch of up to 4 MiB), aborted ones included
 * (read uncommitted), with the producer id and epoch of its batch (who wrote it), whether the batch
 * is transactional, and how many commit or abort markers the partition holds.
 */
export async function readTopicRaw(bootstrap: string, topic: string) {
  const consumer = new Consumer({
    bootstrapBrokers: bootstrap.split(','),
    clientId: 'registry-test-raw-reader',
    groupId: `registry-test-raw-reader-${Date.now()}`,
  });
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const found = metadata.topics.get(topic);
    const leader = found?.partitions[0]?.leader;
    if (found === undefined || leader === undefined) throw new Error(`no leader for ${topic}-0`);
    const response = await consumer.fetch({
      node: leader,
      maxWaitTime: 100,
      isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
      topics: [
        {
          topicId: found.id,
          partitions: [
            {
              partition: 0,
              fetchOffset: 0n,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
              partitionMaxBytes: 4 * 1024 * 1024,
            },
          ],
        },
      ],
    });
    const records: {
      offset: bigint;
      producerId: bigint;
      epoch: number;
      key: string;
      transactional: boolean;
    }[] = [];
    for (const partition of response.responses[0]?.partitions ?? []) {
      for (const batch of partition.records ?? []) {
        if ((batch.attributes & CONTROL_BATCH) !== 0) continue;
        for (const record of batch.records) {
          records.push({
            offset: batch.firstOffset + BigInt(record.offsetDelta),
            producerId: batch.producerId,
            epoch: batch.producerEpoch,
            key: record.key?.toString() ?? '',
            transactional: (batch.attributes & TRANSACTIONAL_BATCH) !== 0,
          });
        }
      }
    }
    return records;
  } finally {
    await consumer.close(true);
  }
}
