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
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { partitionForGroup } from '../../src/coordinator/offsets-log.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/index.ts';
import { startCluster, type TestCluster } from '../../src/testing/cluster.ts';
import { connect, FrameReader } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';

const HOST = '127.0.0.1';
const BROKER_PORTS = [21240, 21241, 21242] as const;
const CONTROLLER_PORTS = [21290, 21291, 21292] as const;
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

let cluster: TestCluster;
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

/** ConsumerGroupDescribe (69) v0 to one broker: the group's error code and member client ids. */
async function describeGroup(
  port: number,
): Promise<{ errorCode: number; clientIds: string[]; epoch: number }> {
  const socket = await connect(port);
  socket.on('error', () => {});
  try {
    const reader = new FrameReader(socket);
    socket.write(
      encodeRequest(
        { requestApiKey: 69, requestApiVersion: 0, correlationId: 9, clientId: 'kip848-cluster' },
        { groupIds: [GROUP], includeAuthorizedOperations: false },
      ),
    );
    const [frame] = await reader.next(1, WAIT_MS);
    const body = decodeResponse(69, 0, frame!).body;
    const [group] = body.groups as {
      errorCode: number;
      groupEpoch: number;
      members: { clientId: string }[];
    }[];
    assert.ok(group);
    return {
      errorCode: group.errorCode,
      epoch: group.groupEpoch,
      clientIds: group.members.map((member) => member.clientId).sort(),
    };
  } finally {
    socket.destroy();
  }
}

/** The leader of the group's __consumer_offsets partition, as a running node (not `except`) sees it. */
function coordinatorNode(except = 0): number {
  const partition = partitionForGroup(GROUP, COORDINATOR_PARTITIONS);
  const observer = cluster.nodes().find((node) => node.nodeId !== except);
  assert.ok(observer, 'a running node');
  const leader = observer.broker.metadata().topic('__consumer_offsets')?.partitions[partition]?.leaderId;
  assert.ok(leader !== undefined && leader > 0, `__consumer_offsets-${partition} has a leader`);
  return leader;
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

describe('KIP-848 groups on three brokers, coordinator failover', { timeout: 900_000 }, () => {
  before(async () => {
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
    const created = await cluster.node(1).broker.createTopic({
      name: TOPIC,
      numPartitions: PARTITIONS,
      replicationFactor: 3,
    });
    assert.equal(created.errorCode, 0, created.errorMessage ?? '');
    await cluster.waitFor(`${TOPIC} with full ISRs on every node`, () =>
      cluster.nodes().every((node) => {
        const partitions = node.broker.metadata().topic(TOPIC)?.partitions ?? [];
        return (
          partitions.length === PARTITIONS && partitions.every((p) => p.leaderId > 0 && p.isr.length === 3)
        );
      }),
    );
  });

  after(async () => {
    await Promise.all(members.map((member) => member.stop()));
    await cluster?.stop();
  });

  it('two members split the partitions, the coordinator node stops, and no committed offset is lost', async () => {
    const bootstrap = BROKER_PORTS.map((port) => `${HOST}:${port}`);
    await produce(bootstrap.join(','), 0);
    members.push(new Member(bootstrap.join(','), 'member-a'), new Member(bootstrap.join(','), 'member-b'));
    await cluster.waitFor('both members assigned and the first batch delivered', () => {
      membersAlive();
      return members.every((member) => member.assignment().length > 0) && allDelivered(0, BATCH);
    });
    assert.deepEqual(
      members.flatMap((member) => member.assignment()).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5],
    );
    const coordinator = coordinatorNode();
    const described = await describeGroup(BROKER_PORTS[coordinator - 1]!);
    assert.equal(described.errorCode, 0);
    assert.deepEqual(described.clientIds, ['member-a', 'member-b']);
    const before = await committed(bootstrap);
    assert.deepEqual(
      before,
      new Array(PARTITIONS).fill(BATCH / PARTITIONS),
      'every first-batch offset committed',
    );

    const stoppedAt = performance.now();
    await cluster.stopNode(coordinator, false);
    const survivors = bootstrap.filter((_address, index) => index + 1 !== coordinator);
    await cluster.waitFor('a survivor leads the group\u2019s __consumer_offsets partition', () => {
      const leader = cluster
        .nodes()
        .find((node) => node.nodeId !== coordinator)
        ?.broker.metadata()
        .topic('__consumer_offsets')?.partitions[partitionForGroup(GROUP, COORDINATOR_PARTITIONS)]?.leaderId;
      return leader !== undefined && leader > 0 && leader !== coordinator;
    });
    await produce(survivors.join(','), BATCH);
    await cluster.waitFor('the second batch delivered through the new coordinator', () => {
      membersAlive();
      return allDelivered(BATCH, 2 * BATCH);
    });
    const deliveredMs = performance.now() - stoppedAt;

    const newCoordinator = coordinatorNode(coordinator);
    assert.notEqual(newCoordinator, coordinator);
    let after: number[] = [];
    const deadline = performance.now() + WAIT_MS;
    for (;;) {
      after = await committed(survivors);
      if (after.every((offset) => offset === 2 * (BATCH / PARTITIONS)) || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const [partition, offset] of after.entries()) {
      assert.ok(
        offset >= before[partition]!,
        `partition ${partition}: committed ${offset} < ${before[partition]}`,
      );
    }
    assert.deepEqual(after, new Array(PARTITIONS).fill(2 * (BATCH / PARTITIONS)));

    const describedAfter = await describeGroup(BROKER_PORTS[newCoordinator - 1]!);
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
      `coordinator node ${coordinator} stopped; node ${newCoordinator} took over; second batch delivered ` +
        `${(deliveredMs / 1000).toFixed(1)} s after the stop; group epoch ${described.epoch} -> ${describedAfter.epoch}; ` +
        `${refused.size} commit(s) refused, ${duplicates.length} record(s) delivered twice`,
    );
  });
});
