/**
 * `kstack status`, run as a process, against `kstack up` and the 3-node Apache Kafka reference
 * (ports in docs/team-rules.md): brokers, the quorum leader where DescribeQuorum is served,
 * and under-replicated and offline partitions after a broker is killed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, apiVersionsV3, Connection } from '@platformatic/kafka';
import { type ClusterStatus, parseStatusArgs } from '../../src/tools/status-command.ts';
import { runTool } from '../engine/run-tool.ts';
import { kstackTarget, referenceTarget } from '../topology/cluster-targets.ts';

const KSTACK_PORT = 20110;
const REFERENCE_3_BASE_PORT = 20111;
const UNREACHABLE_PORT = 20198;
const DESCRIBE_QUORUM_KEY = 55;
const TOOL_TIMEOUT_MS = 120_000;
/** Kafka fences a silent broker after broker.session.timeout.ms (9 s): plenty of room on a loaded machine. */
const FENCE_WAIT_MS = 90_000;

function status(bootstrap: string, ...flags: string[]) {
  return runTool(process.execPath, ['bin/kstack.ts', 'status', '--bootstrap-server', bootstrap, ...flags], {
    timeoutMs: TOOL_TIMEOUT_MS,
  });
}

async function statusJson(
  bootstrap: string,
): Promise<{ code: number | null; status: ClusterStatus & { ok: boolean } }> {
  const result = await status(bootstrap, '--format', 'json');
  assert.notEqual(result.code, 2, result.stderr);
  return { code: result.code, status: JSON.parse(result.stdout) };
}

/** Whether the broker lists DescribeQuorum in ApiVersions, asked independently of the tool. */
async function servesDescribeQuorum(host: string, port: number): Promise<boolean> {
  const connection = new Connection('status-test');
  try {
    await connection.connect(host, port);
    const versions = await apiVersionsV3.api.async(connection, 'status-test', '1');
    return versions.apiKeys.some((api) => api.apiKey === DESCRIBE_QUORUM_KEY);
  } finally {
    await connection.close();
  }
}

async function createTopic(
  bootstrap: string,
  topic: string,
  partitions: number,
  replicas: number,
): Promise<void> {
  const admin = new Admin({
    clientId: 'status-test',
    bootstrapBrokers: bootstrap.split(','),
    timeout: 30_000,
  });
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const led = metadata?.topics.get(topic)?.partitions.every((partition) => partition.leader >= 0);
      if (led === true) return;
      assert.ok(Date.now() < deadline, `${topic} has no leader for every partition after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await admin.close();
  }
}

describe('kstack status: usage', { timeout: 60_000 }, () => {
  it('parses its arguments', () => {
    assert.deepEqual(parseStatusArgs([]), {
      bootstrap: ['127.0.0.1:9092'],
      format: 'text',
      timeoutMs: 15_000,
    });
    assert.throws(() => parseStatusArgs(['--format', 'xml']), /--format: 'xml' is not text or json/);
    assert.throws(() => parseStatusArgs(['--bootstrap-server', 'nohost']), /not HOST:PORT/);
  });

  it('exits 1 naming the address when nothing answers, in text and JSON', async () => {
    const text = await status(`127.0.0.1:${UNREACHABLE_PORT}`, '--timeout-ms', '2000');
    assert.equal(text.code, 1);
    assert.match(text.stderr, new RegExp(`cannot reach 127\\.0\\.0\\.1:${UNREACHABLE_PORT}: .*ECONNREFUSED`));
    const json = await status(`127.0.0.1:${UNREACHABLE_PORT}`, '--timeout-ms', '2000', '--format', 'json');
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).ok, false);
  });
});

describe('kstack status against kstack up (1 broker)', { timeout: 600_000 }, () => {
  const target = kstackTarget(KSTACK_PORT);
  before(() => target.start());
  after(() => target.stop());

  it('lists the broker, the quorum as DescribeQuorum allows, and healthy topics', async () => {
    await createTopic(target.bootstrap, 'status-t', 3, 1);
    const { code, status: json } = await statusJson(target.bootstrap);
    assert.equal(code, 0);
    assert.equal(json.ok, true);
    assert.deepEqual(json.brokers, [{ nodeId: 1, host: '127.0.0.1', port: KSTACK_PORT }]);
    assert.deepEqual(json.absentBrokers, []);
    assert.equal(json.quorum.served, await servesDescribeQuorum('127.0.0.1', KSTACK_PORT));
    if (!json.quorum.served) assert.match(json.quorum.reason, /does not serve DescribeQuorum/);
    assert.ok(json.partitionCount >= 3);
    assert.deepEqual(json.underReplicated, []);
    assert.deepEqual(json.offline, []);
    const text = await status(target.bootstrap);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`brokers \\(1\\): 1 127\\.0\\.0\\.1:${KSTACK_PORT}`));
    assert.match(text.stdout, /0 under-replicated, 0 offline/);
  });
});

describe('kstack status against the Apache Kafka reference (3 nodes)', { timeout: 900_000 }, () => {
  const target = referenceTarget(3, REFERENCE_3_BASE_PORT);
  before(() => target.start());
  after(() => target.stop());

  it('gives the quorum leader and voters, then under-replicated and offline partitions once a broker dies', async () => {
    await createTopic(target.bootstrap, 'status-replicated', 3, 3);
    await createTopic(target.bootstrap, 'status-single', 3, 1);
    const healthy = await statusJson(target.bootstrap);
    assert.equal(healthy.code, 0, JSON.stringify(healthy.status));
    assert.deepEqual(
      healthy.status.brokers.map((broker) => broker.nodeId),
      [1, 2, 3],
    );
    assert.ok(healthy.status.quorum.served, JSON.stringify(healthy.status.quorum));
    const quorum = healthy.status.quorum;
    assert.ok([1, 2, 3].includes(quorum.leaderId));
    assert.deepEqual(quorum.voters.map((voter) => voter.nodeId).sort(), [1, 2, 3]);
    const text = await status(target.bootstrap);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`quorum leader ${quorum.leaderId} \\(epoch \\d+, high watermark \\d+\\); voters: `),
    );

    // Kill a broker that is not the quorum leader, so the quorum keeps its leader throughout.
    const victim = [1, 2, 3].find((id) => id !== quorum.leaderId)!;
    const survivor = [1, 2, 3].find((id) => id !== victim)!;
    const survivorBootstrap = `127.0.0.1:${target.cluster.node(survivor).port}`;
    const before = new Map<number, number>();
    {
      const admin = new Admin({ clientId: 'status-test', bootstrapBrokers: [survivorBootstrap] });
      const metadata = await admin.metadata({ topics: ['status-single'], forceUpdate: true });
      for (const [index, partition] of metadata.topics.get('status-single')!.partitions.entries()) {
        before.set(index, partition.leader);
      }
      await admin.close();
    }
    const lost = [...before].filter(([, leader]) => leader === victim).map(([index]) => index);
    assert.ok(lost.length > 0, 'Kafka spreads 3 single-replica partitions over the 3 brokers');
    await target.cluster.stopNode(victim, 'SIGKILL');

    const deadline = Date.now() + FENCE_WAIT_MS;
    let degraded = await statusJson(survivorBootstrap);
    while (
      degraded.status.brokers.some((broker) => broker.nodeId === victim) ||
      degraded.status.offline.length < lost.length
    ) {
      assert.ok(
        Date.now() < deadline,
        `no fenced broker in ${FENCE_WAIT_MS} ms: ${JSON.stringify(degraded.status)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      degraded = await statusJson(survivorBootstrap);
    }
    assert.equal(degraded.code, 1);
    assert.equal(degraded.status.ok, false);
    assert.deepEqual(degraded.status.absentBrokers, [victim]);
    assert.deepEqual(
      degraded.status.offline.map((problem) => `${problem.topic}-${problem.partition}`).sort(),
      lost.map((index) => `status-single-${index}`).sort(),
    );
    const underReplicated = degraded.status.underReplicated.filter(
      (problem) => problem.topic === 'status-replicated',
    );
    assert.equal(underReplicated.length, 3, JSON.stringify(degraded.status.underReplicated));
    for (const problem of underReplicated) {
      assert.equal(problem.replicas.length, 3);
      assert.ok(!problem.isr.includes(victim), JSON.stringify(problem));
    }
    const degradedText = await status(survivorBootstrap);
    assert.equal(degradedText.code, 1);
    assert.match(degradedText.stdout, new RegExp(`; not serving \\(down or fenced\\): ${victim}\n`));
    assert.match(degradedText.stdout, new RegExp(`offline: status-single-${lost[0]} \\(leader none`));
    assert.match(
      degradedText.stdout,
      /under-replicated: status-replicated-0 \(leader \d, replicas \d,\d,\d, isr \d,\d\)/,
    );
  });
});
