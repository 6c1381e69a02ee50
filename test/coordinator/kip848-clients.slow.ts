/**
 * KIP-848 consumer groups (`group.protocol=consumer`) with real clients, the same assertions
 * against `kstack up` and Apache Kafka 4.1.1 (the reference), both run with
 * `group.consumer.migration.policy=disabled` (the conversions between classic and consumer groups are
 * kip848-migration.long.ts's): librdkafka 2.16 (PyPI
 * confluent-kafka) and franz-go 1.22 (`kgo.ServerSideBalancer`) members, one process each, each
 * record's offset committed before the next poll; Kafka's Java console consumer; and
 * `kafka-consumer-groups`.
 *
 * Scenarios: two members share six partitions; a third joins and no record is delivered twice;
 * one member killed (SIGKILL) loses its partitions to the others after the session timeout
 * (group.consumer.session.timeout.ms, 10 s on both here); a broker SIGKILL and restart keeps the
 * committed offsets and the group epoch; static rejoin; regex subscription; group deletion; a
 * consumer-protocol member refused by a busy classic group. It prints, per target, the time from
 * a member starting to its first assignment.
 *
 * Slow (two 10 s session timeouts per target, a JVM per tool, the reference's JVM): 154-192 s wall at
 * load 3-20, 496 s beside six CPU-bound loops of its priority (load 15-19; the JVM tool runs slow
 * most). `npm run test:slow` runs it in CI; by hand `node --test test/coordinator/kip848-clients.slow.ts`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { decodeResponse, encodeRequest, type MessageValue } from '../../src/protocol/index.ts';
import { BrokerProcess, connect, FrameReader } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';
import {
  buildGoMember,
  disjointUnion,
  FRANZ_GO,
  LIBRDKAFKA,
  Member,
  PARTITIONS,
  produce,
  waitUntil,
} from './kip848-member.ts';

const KSTACK_PORT = 21220;
const REFERENCE_PORT = 21221; // its controller listens on 21271
const CONSOLE_CONSUMER = fileURLToPath(
  new URL('../../reference/bin/kafka-console-consumer', import.meta.url),
);
const CONSUMER_GROUPS = fileURLToPath(new URL('../../reference/bin/kafka-consumer-groups', import.meta.url));
/**
 * Both engines run with a 10 s consumer-group session and a 1 s heartbeat (Kafka's defaults, 45 s and
 * 5 s, made two killed members cost 90 s a target): each with its minimum lowered to match, which
 * Kafka requires (session and heartbeat at least their minimums; the reference's DescribeConfigs
 * showed the four as STATIC_BROKER_CONFIG).
 */
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const GROUP_OVERRIDES: Record<string, string> = {
  // Neither converts between classic and consumer groups here (kip848-migration.long.ts does).
  'group.consumer.migration.policy': 'disabled',
  'group.consumer.session.timeout.ms': String(SESSION_TIMEOUT_MS),
  'group.consumer.min.session.timeout.ms': String(SESSION_TIMEOUT_MS),
  'group.consumer.heartbeat.interval.ms': String(HEARTBEAT_INTERVAL_MS),
  'group.consumer.min.heartbeat.interval.ms': String(HEARTBEAT_INTERVAL_MS),
};
/** The session timeout, then a deadline with a loaded machine's slack (a deadline, not a sleep). */
const SESSION_MOVE_TIMEOUT_MS = SESSION_TIMEOUT_MS + 75_000;

/** Removes the franz-go member built for this file's targets (built once, before the first). */
let removeGoMember: (() => void) | null = null;
after(() => removeGoMember?.());

interface Target {
  readonly title: string;
  readonly bootstrap: string;
  start(): Promise<void>;
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

function kstack(port: number): Target {
  const broker = new BrokerProcess(
    port,
    undefined,
    Object.entries(GROUP_OVERRIDES).flatMap(([name, value]) => ['--override', `${name}=${value}`]),
  );
  return {
    title: 'kstack up',
    bootstrap: broker.bootstrap,
    start: () => broker.start(120_000),
    async crashAndRestart() {
      assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
      await broker.start(120_000);
    },
    async stop() {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    },
  };
}

function reference(port: number): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-kip848-ref-'));
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir, overrides: GROUP_OVERRIDES });
  return {
    title: 'Apache Kafka 4.1.1 (reference)',
    bootstrap: `127.0.0.1:${port}`,
    start: () => cluster.start(),
    async crashAndRestart() {
      await cluster.stopNode(1, 'SIGKILL');
      await cluster.startNode(1);
    },
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `kafka-consumer-groups --describe --group G` with extra flags: its table as rows of named columns. */
async function describeGroup(
  bootstrap: string,
  group: string,
  ...flags: string[]
): Promise<Record<string, string>[]> {
  const result = await runTool(
    CONSUMER_GROUPS,
    ['--bootstrap-server', bootstrap, '--describe', '--group', group, ...flags],
    {
      timeoutMs: 120_000,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n').filter((line) => line.trim() !== '');
  const headerIndex = lines.findIndex((line) => line.startsWith('GROUP '));
  assert.ok(headerIndex >= 0, result.stdout);
  const header = lines[headerIndex]!.trim().split(/\s+/);
  return lines.slice(headerIndex + 1).map((line) => {
    const cells = line.trim().split(/\s+/);
    return Object.fromEntries(header.map((name, i) => [name, cells[i] ?? '']));
  });
}

/** One request on a connection of its own (a single node: the bootstrap is every coordinator). */
async function rawRequest(
  bootstrap: string,
  apiKey: number,
  apiVersion: number,
  body: MessageValue,
): Promise<MessageValue> {
  const socket = await connect(Number(bootstrap.split(':')[1]));
  try {
    const reader = new FrameReader(socket);
    socket.write(
      encodeRequest(
        { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId: 1, clientId: 'kip848-probe' },
        body,
      ),
    );
    const [frame] = await reader.next(1, 60_000);
    return decodeResponse(apiKey, apiVersion, frame!).body;
  } finally {
    socket.destroy();
  }
}

/** A consumer-protocol subscription (version 0): the topics, no user data. */
function subscription(topic: string): Uint8Array {
  const name = Buffer.from(topic);
  const out = Buffer.alloc(2 + 4 + 2 + name.length + 4);
  let at = out.writeInt16BE(0, 0);
  at = out.writeInt32BE(1, at);
  at = out.writeInt16BE(name.length, at);
  at += name.copy(out, at);
  out.writeInt32BE(-1, at);
  return out;
}

for (const makeTarget of [() => kstack(KSTACK_PORT), () => reference(REFERENCE_PORT)]) {
  const target = makeTarget();
  describe(`KIP-848 consumer groups with real clients: ${target.title}`, { timeout: 1_200_000 }, () => {
    const members: Member[] = [];
    const mainTopic = 'kip848-orders';
    const mainGroup = 'kip848-group';
    const topic = mainTopic;
    const group = mainGroup;

    before(
      async () => {
        removeGoMember ??= await buildGoMember();
        await target.start();
      },
      { timeout: 700_000 },
    );
    after(
      async () => {
        for (const member of members) await member.stop('SIGKILL');
        await target.stop();
      },
      { timeout: 200_000 },
    );

    for (const client of [LIBRDKAFKA, FRANZ_GO]) {
      it(`${client.name}: two members share the partitions, a third joins without duplicates, a killed one is replaced`, async () => {
        const topic = client === LIBRDKAFKA ? mainTopic : 'kip848-orders-franz';
        const group = client === LIBRDKAFKA ? mainGroup : 'kip848-group-franz';
        const label = `${target.title}, ${client.name}`;
        await produce(target.bootstrap, topic, 0, 60);
        const m1 = new Member(client, target.bootstrap, group, topic, 'member-1');
        members.push(m1);
        await waitUntil('member-1 holds every partition', () => m1.assignment().length === PARTITIONS);
        console.log(`${label}: member-1 start to first assignment ${m1.firstAssignmentMs()} ms`);
        await waitUntil('member-1 consumed the first 60', () => m1.values().length >= 60);

        const m2 = new Member(client, target.bootstrap, group, topic, 'member-2');
        members.push(m2);
        await waitUntil('member-2 gets partitions', () => m2.assignment().length > 0);
        console.log(`${label}: member-2 start to first assignment ${m2.firstAssignmentMs()} ms`);
        await waitUntil('two members hold every partition', () => {
          const all = disjointUnion([m1, m2]);
          return all.length === PARTITIONS && m1.assignment().length === 3;
        });

        const m3 = new Member(client, target.bootstrap, group, topic, 'member-3');
        members.push(m3);
        await waitUntil('three members hold two partitions each', () => {
          const all = disjointUnion([m1, m2, m3]);
          return all.length === PARTITIONS && [m1, m2, m3].every((m) => m.assignment().length === 2);
        });
        console.log(`${label}: member-3 start to first assignment ${m3.firstAssignmentMs()} ms`);
        await produce(target.bootstrap, topic, 60, 60);
        await waitUntil('120 records consumed', () => [m1, m2, m3].flatMap((m) => m.values()).length >= 120);
        const seen = [m1, m2, m3].flatMap((m) => m.values());
        assert.deepEqual(
          [...seen].sort((a, b) => Number(a) - Number(b)),
          [...Array(120).keys()].map(String),
          'every record exactly once across the members',
        );

        const described = await describeGroup(target.bootstrap, group, '--members', '--verbose');
        assert.equal(described.length, 3, JSON.stringify(described));
        assert.deepEqual(described.map((row) => row['CLIENT-ID']).sort(), [
          'member-1',
          'member-2',
          'member-3',
        ]);
        for (const row of described) {
          assert.equal(row['#PARTITIONS'], '2', JSON.stringify(row));
          assert.equal(row['CURRENT-EPOCH'], row['TARGET-EPOCH'], JSON.stringify(row));
        }
        const state = await describeGroup(target.bootstrap, group, '--state');
        assert.equal(state[0]?.['ASSIGNMENT-STRATEGY'], 'uniform');
        assert.equal(state[0]?.STATE, 'Stable');
        assert.equal(state[0]?.['#MEMBERS'], '3');

        const lost = m3.assignment();
        await m3.stop('SIGKILL');
        const killedAt = Date.now();
        await waitUntil(
          'the killed member’s partitions move to the others',
          () => disjointUnion([m1, m2]).length === PARTITIONS,
          SESSION_MOVE_TIMEOUT_MS,
        );
        console.log(
          `${target.title}: partitions ${lost} of a killed member moved after ${Date.now() - killedAt} ms`,
        );
        await produce(target.bootstrap, topic, 120, 12);
        await waitUntil(
          'the 12 new records consumed',
          () => [m1, m2].flatMap((m) => m.values()).length >= 120 - m3.values().length + 12,
        );
        const after = [m1, m2].flatMap((m) => m.values()).filter((v) => Number(v) >= 120);
        assert.deepEqual(
          after.sort((a, b) => Number(a) - Number(b)),
          [...Array(12).keys()].map((i) => String(120 + i)),
        );
      });
    }

    it('the Java client (group.protocol=consumer) consumes every record in its own group', async () => {
      const result = await runTool(
        CONSOLE_CONSUMER,
        [
          '--bootstrap-server',
          target.bootstrap,
          '--topic',
          topic,
          '--group',
          'kip848-java',
          '--consumer-property',
          'group.protocol=consumer',
          '--from-beginning',
          '--max-messages',
          '132',
          '--timeout-ms',
          '60000',
        ],
        { timeoutMs: 180_000 },
      );
      assert.match(result.stderr, /Processed a total of 132 messages/, result.stderr.slice(-4000));
      const offsets = await describeGroup(target.bootstrap, 'kip848-java');
      const committed = offsets.reduce((sum, row) => sum + Number(row['CURRENT-OFFSET']), 0);
      assert.equal(committed, 132, JSON.stringify(offsets));
    });

    it('a restart keeps the committed offsets and the group epoch: a new member resumes after them', async () => {
      const beforeRestart = await describeGroup(target.bootstrap, group, '--members', '--verbose');
      const epochBefore = Math.max(...beforeRestart.map((row) => Number(row['CURRENT-EPOCH'])));
      assert.ok(epochBefore >= 3, JSON.stringify(beforeRestart));
      for (const member of members) await member.stop('SIGTERM');
      await target.crashAndRestart();
      const resumed = new Member(LIBRDKAFKA, target.bootstrap, group, topic, 'member-4');
      members.push(resumed);
      await waitUntil(
        'member-4 holds every partition',
        () => resumed.assignment().length === PARTITIONS,
        180_000,
      );
      await produce(target.bootstrap, topic, 132, 6);
      await waitUntil('member-4 consumed the 6 new records', () => resumed.values().length >= 6);
      assert.deepEqual(
        resumed.values().sort((a, b) => Number(a) - Number(b)),
        ['132', '133', '134', '135', '136', '137'],
        'nothing committed before the restart is delivered again',
      );
      const afterRestart = await describeGroup(target.bootstrap, group, '--members', '--verbose');
      assert.equal(afterRestart.length, 1, JSON.stringify(afterRestart));
      const epochAfter = Number(afterRestart[0]?.['CURRENT-EPOCH']);
      console.log(
        `${target.title}: group epoch ${epochBefore} before the restart, member epoch ${epochAfter} after`,
      );
      assert.ok(epochAfter > epochBefore, `the group epoch went on from ${epochBefore}: ${epochAfter}`);
    });

    it('static members: one that leaves (epoch -2) and comes back under its instance id gets its partitions back, no new epoch', async () => {
      const topic = 'kip848-static';
      await produce(target.bootstrap, topic, 0, PARTITIONS);
      const a = new Member(
        LIBRDKAFKA,
        target.bootstrap,
        'kip848-static',
        topic,
        'static-a',
        {},
        'instance-a',
      );
      const b = new Member(
        LIBRDKAFKA,
        target.bootstrap,
        'kip848-static',
        topic,
        'static-b',
        {},
        'instance-b',
      );
      members.push(a, b);
      await waitUntil('two static members hold three partitions each', () => {
        const all = disjointUnion([a, b]);
        return all.length === PARTITIONS && a.assignment().length === 3;
      });
      const held = a.assignment();
      const before = await describeGroup(target.bootstrap, 'kip848-static', '--members', '--verbose');
      const epochOf = (rows: Record<string, string>[], instance: string) =>
        Number(rows.find((row) => row['GROUP-INSTANCE-ID'] === instance)?.['CURRENT-EPOCH']);
      const epochBefore = epochOf(before, 'instance-b');
      await a.stop('SIGTERM');
      const leftAt = Date.now();
      const again = new Member(
        LIBRDKAFKA,
        target.bootstrap,
        'kip848-static',
        topic,
        'static-a2',
        {},
        'instance-a',
      );
      members.push(again);
      await waitUntil(
        'the new incarnation holds its predecessor’s partitions',
        () => again.assignment().length === 3,
      );
      // It must come back within the session (the departed instance's partitions wait that long).
      console.log(
        `${target.title}: static rejoin: the new incarnation held the partitions ${Date.now() - leftAt} ms after its predecessor left (session ${SESSION_TIMEOUT_MS} ms)`,
      );
      assert.deepEqual(again.assignment(), held);
      const after = await describeGroup(target.bootstrap, 'kip848-static', '--members', '--verbose');
      console.log(
        `${target.title}: static rejoin: epochs before ${JSON.stringify(before.map((r) => r['CURRENT-EPOCH']))}, after ${JSON.stringify(after.map((r) => r['CURRENT-EPOCH']))}`,
      );
      assert.equal(epochOf(after, 'instance-b'), epochBefore);
      assert.equal(epochOf(after, 'instance-a'), epochBefore);
      assert.deepEqual(disjointUnion([again, b]), [...Array(PARTITIONS).keys()]);
    });

    it('a regex subscription takes every matching topic, and a new one as it appears', async () => {
      // produce() creates each topic with PARTITIONS partitions.
      await produce(target.bootstrap, 'kip848-re-one', 0, 2);
      await produce(target.bootstrap, 'kip848-re-two', 0, 3);
      await produce(target.bootstrap, 'kip848-other', 0, 1);
      const member = new Member(LIBRDKAFKA, target.bootstrap, 'kip848-regex', '^kip848-re-.*', 'regex-1');
      members.push(member);
      // Partitions held now, counted over the callbacks (they name partition numbers, not topics): a
      // member fenced under load and assigned again is counted once, as it holds them once.
      const held = () =>
        member.events.reduce(
          (n, e) =>
            n + (e.event === 'assign' ? 1 : e.event === 'revoke' ? -1 : 0) * (e.partitions?.length ?? 0),
          0,
        );
      const callbacks = () =>
        `; the member's callbacks: ${JSON.stringify(member.events.filter((e) => e.event !== 'msg'))}\n${member.stderr}`;
      await waitUntil('the partitions of the two matching topics', () => held() === 2 * PARTITIONS).catch(
        (error: Error) => {
          throw new Error(error.message + callbacks());
        },
      );
      await produce(target.bootstrap, 'kip848-re-three', 0, 1);
      await waitUntil('the new topic’s partition too', () => held() === 3 * PARTITIONS, 120_000).catch(
        (error: Error) => {
          throw new Error(error.message + callbacks());
        },
      );
      const described = await describeGroup(target.bootstrap, 'kip848-regex', '--members', '--verbose');
      assert.deepEqual(
        (described[0]?.['CURRENT-ASSIGNMENT'] ?? '').split(';').sort(),
        ['kip848-re-one', 'kip848-re-three', 'kip848-re-two'].map((t) => `${t}:0,1,2,3,4,5`),
        JSON.stringify(described),
      );
    });

    it('kafka-consumer-groups --delete: refused while a member is in, then deletes the group and its offsets', async () => {
      const topic = 'kip848-delete';
      await produce(target.bootstrap, topic, 0, PARTITIONS);
      const member = new Member(LIBRDKAFKA, target.bootstrap, 'kip848-delete', topic, 'delete-1');
      members.push(member);
      await waitUntil('the member consumed the six records', () => member.values().length === PARTITIONS);
      const deleteGroup = () =>
        runTool(
          CONSUMER_GROUPS,
          ['--bootstrap-server', target.bootstrap, '--delete', '--group', 'kip848-delete'],
          {
            timeoutMs: 120_000,
          },
        );
      const refused = await deleteGroup();
      assert.match(
        refused.stdout + refused.stderr,
        /The group is not empty/,
        refused.stdout + refused.stderr,
      );
      await member.stop('SIGTERM');
      const deleted = await deleteGroup();
      assert.match(
        deleted.stdout,
        /Deletion of requested consumer groups \('kip848-delete'\) was successful/,
        deleted.stdout + deleted.stderr,
      );
      // Describing it now differs for a reason outside KIP-848: Kafka answers DescribeGroups v6
      // GROUP_ID_NOT_FOUND ("not found"), kstack serves DescribeGroups up to v5 (a Dead group: "does
      // not exist"). The list is the same on both: the group is gone.
      const listed = await runTool(CONSUMER_GROUPS, ['--bootstrap-server', target.bootstrap, '--list'], {
        timeoutMs: 120_000,
      });
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(!listed.stdout.split('\n').includes('kip848-delete'), listed.stdout);
    });

    it('a consumer-protocol member cannot join a classic group that has members (migration policy disabled)', async () => {
      const topic = 'kip848-probe';
      await produce(target.bootstrap, topic, 0, PARTITIONS);
      // A consumer-protocol heartbeat into a classic group that has a member.
      const classic = new Member(LIBRDKAFKA, target.bootstrap, 'kip848-classic', topic, 'classic-1', {
        KIP848_GROUP_PROTOCOL: 'classic',
      });
      members.push(classic);
      await waitUntil(
        'the classic member holds every partition',
        () => classic.assignment().length === PARTITIONS,
      );
      const heartbeat = await rawRequest(target.bootstrap, 68, 1, {
        groupId: 'kip848-classic',
        memberId: 'kip848-probe-member-1',
        memberEpoch: 0,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: [topic],
        topicPartitions: [],
      });
      // A classic JoinGroup into a consumer group that has a member.
      const modern = new Member(LIBRDKAFKA, target.bootstrap, 'kip848-modern', topic, 'modern-1');
      members.push(modern);
      await waitUntil(
        'the consumer member holds every partition',
        () => modern.assignment().length === PARTITIONS,
      );
      const joinRequest = {
        groupId: 'kip848-modern',
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: '',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: subscription(topic) }],
      };
      const firstJoin = await rawRequest(target.bootstrap, 11, 9, joinRequest);
      // KIP-394: a new member is first given its id (MEMBER_ID_REQUIRED), then joins with it.
      const join =
        firstJoin.errorCode === 79
          ? await rawRequest(target.bootstrap, 11, 9, { ...joinRequest, memberId: firstJoin.memberId })
          : firstJoin;
      console.log(
        `${target.title}: consumer heartbeat into a classic group: ${heartbeat.errorCode} ${heartbeat.errorMessage}; classic JoinGroup into a consumer group: ${firstJoin.errorCode}, then ${join.errorCode}`,
      );
      // Kafka (any migration policy) serves a classic member inside a consumer group through
      // JoinGroup/SyncGroup: MEMBER_ID_REQUIRED, then NONE.
      assert.deepEqual([firstJoin.errorCode, join.errorCode], [79, 0]);
      assert.deepEqual(
        { errorCode: heartbeat.errorCode, errorMessage: heartbeat.errorMessage },
        {
          errorCode: 69,
          errorMessage:
            'Cannot upgrade classic group kip848-classic to consumer group because online upgrade is disabled.',
        },
      );
    });
  });
}
