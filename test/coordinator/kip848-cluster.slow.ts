/**
 * KIP-848 consumer groups on three brokers: three combined nodes in this process (the code
 * `kstack up --brokers 3` runs), real sockets and files, and librdkafka members (PyPI
 * confluent-kafka, `group.protocol=consumer`, python/kip848_member.py: each record's offset
 * committed synchronously before the next poll). Two members split a six-partition RF 3 topic
 * through ConsumerGroupHeartbeat; ConsumerGroupDescribe (kafkajs cannot send it: a raw request)
 * lists both. Then the node leading the group's `__consumer_offsets` partition (its coordinator)
 * stops uncleanly: the members find the new coordinator and go on heartbeating, every record of a
 * second batch is consumed, no committed offset goes back, and a record is delivered twice only
 * when its first delivery's commit was refused (the member reports that).
 *
 * KSTACK_REFERENCE_NODES=3 runs the same assertions on a three-node Apache Kafka reference too
 * (by hand: CI has no time for a second three-node cluster here).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { decodeResponse, encodeRequest, type MessageValue } from '../../src/protocol/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { connect, FrameReader } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [21240, 21241, 21242] as const;
const CONTROLLER_PORTS = [21290, 21291, 21292] as const;
/** The reference's brokers 21243-21245 (controllers 21293-21295), with KSTACK_REFERENCE_NODES=3. */
const REFERENCE_BASE_PORT = 21243;
const COORDINATOR_PARTITIONS = 3;
const PARTITIONS = 6;
const BATCH = 60;
const TOPIC = 'kip848-failover';
const GROUP = 'kip848-failover-group';
/** Generous: CI runs this on a loaded 2-core machine; a member's heartbeat interval is 5 s. */
const WAIT_MS = 180_000;
const VENV_PYTHON = join(process.env.HOME ?? '', '.cache', 'kstack', 'venv', 'bin', 'python');
const MEMBER = fileURLToPath(new URL('./python/kip848_member.py', import.meta.url));
const PRODUCE = fileURLToPath(new URL('./python/kip848_produce.py', import.meta.url));

interface MemberEvent {
  event: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
  error?: string;
  t: number;
}

class Member {
  readonly events: MemberEvent[] = [];
  readonly name: string;
  readonly #child: ChildProcess;
  exited = false;
  stderr = '';

  constructor(bootstrap: string, name: string) {
    this.name = name;
    this.#child = spawn(VENV_PYTHON, [MEMBER, bootstrap, GROUP, TOPIC, name], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KIP848_REPORT_COMMIT_ERRORS: '1' },
    });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line) as MemberEvent);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.#child.on('exit', () => {
      this.exited = true;
    });
  }

  assignment(): number[] {
    const held = new Set<number>();
    for (const e of this.events) {
      if (e.event === 'assign') for (const p of e.partitions ?? []) held.add(p);
      if (e.event === 'revoke') for (const p of e.partitions ?? []) held.delete(p);
    }
    return [...held].sort((a, b) => a - b);
  }

  /** Values delivered (committed or not). */
  delivered(): string[] {
    return this.events.filter((e) => e.event === 'msg' || e.event === 'commit-error').map((e) => e.v ?? '');
  }

  commitErrors(): MemberEvent[] {
    return this.events.filter((e) => e.event === 'commit-error');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

/** A three-node cluster under test: kstack's in-process nodes or the reference. */
interface Target {
  readonly title: string;
  readonly ports: readonly number[];
  start(): Promise<void>;
  /** Stops a node uncleanly. */
  kill(nodeId: number): Promise<void>;
  stop(): Promise<void>;
}

function kstackTarget(): Target {
  let cluster: TestCluster | undefined;
  return {
    title: 'kstack (three in-process nodes)',
    ports: BROKER_PORTS,
    async start() {
      cluster = await startCluster({
        ports: BROKER_PORTS,
        controllerPorts: CONTROLLER_PORTS,
        sessionTimeoutMs: 4_000,
        heartbeatIntervalMs: 400,
        config: {
          'default.replication.factor': '3',
          'min.insync.replicas': '2',
          'offsets.topic.num.partitions': String(COORDINATOR_PARTITIONS),
          'offsets.topic.replication.factor': '3',
        },
        waitMs: WAIT_MS,
      });
    },
    kill: (nodeId) => cluster!.stopNode(nodeId, false),
    stop: async () => cluster?.stop(),
  };
}

function referenceTarget(): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-kip848-ref-'));
  const cluster = new ReferenceCluster({ nodes: 3, basePort: REFERENCE_BASE_PORT, dataDir });
  return {
    title: 'Apache Kafka (three-node reference)',
    ports: [REFERENCE_BASE_PORT, REFERENCE_BASE_PORT + 1, REFERENCE_BASE_PORT + 2],
    start: () => cluster.start(),
    kill: (nodeId) => cluster.stopNode(nodeId, 'SIGKILL'),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it holds (a thrown error ends the wait). */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const members: Member[] = [];

async function produce(bootstrap: string, first: number): Promise<void> {
  const result = await runTool(
    VENV_PYTHON,
    [PRODUCE, bootstrap, TOPIC, String(PARTITIONS), String(first), String(BATCH)],
    { timeoutMs: WAIT_MS },
  );
  assert.equal(result.code, 0, `produce ${first}..${first + BATCH - 1}:\n${result.stderr.slice(-3000)}`);
}

/** Committed offsets of the group by partition, through a kafkajs admin (OffsetFetch). */
async function committed(bootstrap: string[]): Promise<number[]> {
  const admin = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 30 } }).admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const offsets = new Array<number>(PARTITIONS).fill(-1);
    for (const { partition, offset } of topic?.partitions ?? []) offsets[partition] = Number(offset);
    return offsets;
  } finally {
    await admin.disconnect();
  }
}

/** One request on a connection of its own; the decoded answer body. */
async function request(
  port: number,
  apiKey: number,
  apiVersion: number,
  body: MessageValue,
): Promise<MessageValue> {
  const socket = await connect(port);
  socket.on('error', () => {});
  try {
    const reader = new FrameReader(socket);
    socket.write(
      encodeRequest(
        {
          requestApiKey: apiKey,
          requestApiVersion: apiVersion,
          correlationId: 9,
          clientId: 'kip848-cluster',
        },
        body,
      ),
    );
    const [frame] = await reader.next(1, WAIT_MS);
    return decodeResponse(apiKey, apiVersion, frame!).body;
  } finally {
    socket.destroy();
  }
}

/** ConsumerGroupDescribe (69) v0 to one broker: the group's error code, epoch and member client ids. */
async function describeGroup(
  port: number,
): Promise<{ errorCode: number; clientIds: string[]; epoch: number }> {
  const body = await request(port, 69, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
  const [group] = body.groups as { errorCode: number; groupEpoch: number; members: { clientId: string }[] }[];
  assert.ok(group);
  return {
    errorCode: group.errorCode,
    epoch: group.groupEpoch,
    clientIds: group.members.map((member) => member.clientId).sort(),
  };
}

/** The group's coordinator as `port`'s broker names it (FindCoordinator v3), or -1 while none. */
async function coordinatorNode(port: number): Promise<number> {
  const body = await request(port, 10, 3, { key: GROUP, keyType: 0 });
  return body.errorCode === 0 ? (body.nodeId as number) : -1;
}

/** Every value from..to-1 delivered to some member. */
function allDelivered(from: number, to: number): boolean {
  const seen = new Set(members.flatMap((member) => member.delivered()));
  for (let v = from; v < to; v++) if (!seen.has(String(v))) return false;
  return true;
}

function membersAlive(): void {
  for (const member of members)
    assert.equal(member.exited, false, `${member.name} exited:\n${member.stderr.slice(-3000)}`);
}

const targets = process.env.KSTACK_REFERENCE_NODES === '3' ? [kstackTarget, referenceTarget] : [kstackTarget];

for (const makeTarget of targets) {
  const target = makeTarget();
  describe(`KIP-848 groups on three brokers, coordinator failover: ${target.title}`, {
    timeout: 900_000,
  }, () => {
    before(async () => {
      await target.start();
      const admin = new Kafka({
        brokers: target.ports.map((port) => `${HOST}:${port}`),
        logLevel: logLevel.NOTHING,
        retry: { retries: 30 },
      }).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }],
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    });

    after(async () => {
      await Promise.all(members.splice(0).map((member) => member.stop()));
      await target.stop();
    });

    it('two members split the partitions, the coordinator node stops, and no committed offset is lost', async () => {
      const bootstrap = target.ports.map((port) => `${HOST}:${port}`);
      await produce(bootstrap.join(','), 0);
      members.push(new Member(bootstrap.join(','), 'member-a'), new Member(bootstrap.join(','), 'member-b'));
      await waitUntil('both members assigned and the first batch delivered', () => {
        membersAlive();
        return members.every((member) => member.assignment().length > 0) && allDelivered(0, BATCH);
      });
      assert.deepEqual(
        members.flatMap((member) => member.assignment()).sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5],
      );
      const coordinator = await coordinatorNode(target.ports[0]!);
      assert.ok(coordinator > 0, 'the group has a coordinator');
      const described = await describeGroup(target.ports[coordinator - 1]!);
      assert.equal(described.errorCode, 0);
      assert.deepEqual(described.clientIds, ['member-a', 'member-b']);
      const before = await committed(bootstrap);
      assert.deepEqual(
        before,
        new Array(PARTITIONS).fill(BATCH / PARTITIONS),
        'every first-batch offset committed',
      );

      const stoppedAt = performance.now();
      await target.kill(coordinator);
      const survivorPorts = target.ports.filter((_port, index) => index + 1 !== coordinator);
      const survivors = survivorPorts.map((port) => `${HOST}:${port}`);
      let newCoordinator = -1;
      await waitUntil('a survivor coordinates the group', async () => {
        newCoordinator = await coordinatorNode(survivorPorts[0]!);
        return newCoordinator > 0 && newCoordinator !== coordinator;
      });
      await produce(survivors.join(','), BATCH);
      await waitUntil('the second batch delivered through the new coordinator', () => {
        membersAlive();
        return allDelivered(BATCH, 2 * BATCH);
      });
      const deliveredMs = performance.now() - stoppedAt;

      let after: number[] = [];
      const settled = (offsets: number[]) => offsets.every((offset) => offset === 2 * (BATCH / PARTITIONS));
      await waitUntil('every second-batch offset committed', async () => {
        after = await committed(survivors);
        for (const [partition, offset] of after.entries()) {
          assert.ok(
            offset >= before[partition]!,
            `partition ${partition}: committed ${offset} < ${before[partition]}`,
          );
        }
        return settled(after);
      });

      const describedAfter = await describeGroup(target.ports[newCoordinator - 1]!);
      assert.equal(describedAfter.errorCode, 0);
      assert.deepEqual(describedAfter.clientIds, ['member-a', 'member-b']);

      // At least once, and more only where a commit was refused during the failover.
      const counts = new Map<string, number>();
      for (const value of members.flatMap((member) => member.delivered()))
        counts.set(value, (counts.get(value) ?? 0) + 1);
      const refused = new Set(members.flatMap((member) => member.commitErrors().map((e) => e.v ?? '')));
      const duplicates = [...counts].filter(([, count]) => count > 1).map(([value]) => value);
      assert.deepEqual(
        duplicates.filter((value) => !refused.has(value)),
        [],
        'delivered twice though committed',
      );
      console.log(
        `${target.title}: coordinator node ${coordinator} stopped; node ${newCoordinator} took over; second batch delivered ` +
          `${(deliveredMs / 1000).toFixed(1)} s after the stop; group epoch ${described.epoch} -> ${describedAfter.epoch}; ` +
          `${refused.size} commit(s) refused, ${duplicates.length} record(s) delivered twice`,
      );
    });
  });
}
