/**
 * KIP-848's online migration with real clients, the same assertions against `kstack up` and Apache
 * Kafka 4.1.1 (the reference), both at the default group.consumer.migration.policy (bidirectional):
 * two classic librdkafka 2.16 members (`group.protocol=classic`, eager `range`) share six
 * partitions; a librdkafka `group.protocol=consumer` member joins the same group (the upgrade: the
 * group is listed as `consumer`, the classic members rejoin and are given partitions by the
 * coordinator), every partition is held by exactly one member; it leaves (SIGTERM, member epoch
 * -1) and the group is `classic` again, the two classic members holding every partition. Each
 * record's offset is committed before the next poll: every record of the three batches is consumed
 * exactly once across both changes and the committed offsets end at the log end.
 *
 * Then, on each engine, the wire transcripts (kip848-migration-wire.ts, kip848-member-checks-wire.ts)
 * are asked again and compared with what kip848-migration.test.ts expects of kstack: at the default policy, and with
 * the policy `disabled` (a second pair of brokers).
 *
 * By hand: `node --test test/coordinator/kip848-migration.long.ts` (two reference JVMs, one after
 * the other). Ports: kstack 25805 and 25806, the reference 25840 (controller 25890) and 25845
 * (controller 25895).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceCluster } from '../../reference/cluster.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
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
import {
  groupConfigsAnswers,
  groupConfigsOnTheWire,
  memberChecksAnswers,
  memberChecksOnTheWire,
  staticReplacementAnswers,
  staticReplacementOnTheWire,
} from './kip848-member-checks-wire.ts';
import {
  CLASSIC_LEAVE_ANSWERS,
  classicLeaveOnTheWire,
  customAssignorAnswers,
  customAssignorOnTheWire,
  disabledPolicyAnswers,
  disabledPolicyOnTheWire,
  KAFKA_MIGRATION_ANSWERS,
  migrationOnTheWire,
} from './kip848-migration-wire.ts';
import { clientTo, send } from './raw-requests.ts';

const BATCH = 60;
/** How long a membership change may take to settle on a loaded machine (heartbeats every 3-5 s). */
const SETTLE_TIMEOUT_MS = 120_000;

interface Target {
  readonly title: string;
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function kstack(port: number, policy?: string): Target {
  const args = ['--override', 'group.initial.rebalance.delay.ms=0'];
  if (policy !== undefined) args.push('--override', `group.consumer.migration.policy=${policy}`);
  const broker = new BrokerProcess(port, undefined, args);
  return {
    title: `kstack up${policy === undefined ? '' : ` (policy ${policy})`}`,
    port,
    start: () => broker.start(120_000),
    async stop() {
      assert.equal(await broker.stop(), 0, broker.output);
      broker.removeData();
    },
  };
}

function reference(port: number, policy?: string): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-kip848-migration-ref-'));
  const overrides: Record<string, string> =
    policy === undefined ? {} : { 'group.consumer.migration.policy': policy };
  const cluster = new ReferenceCluster({ nodes: 1, basePort: port, dataDir, overrides });
  return {
    title: `Apache Kafka 4.1.1 (reference${policy === undefined ? '' : `, policy ${policy}`})`,
    port,
    start: () => cluster.start(),
    async stop() {
      await cluster.stop(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The group's type as ListGroups v5 lists it ('classic' or 'consumer'), or null. */
async function groupType(port: number, group: string): Promise<string | null> {
  const client = clientTo(port, 'kip848-migration-list');
  try {
    const answer = await send(client, 16, 5, { statesFilter: [], typesFilter: [] });
    const found = (answer.groups as { groupId: string; groupType: string }[]).find(
      (g) => g.groupId === group,
    );
    return found?.groupType ?? null;
  } finally {
    client.close();
  }
}

/** The committed offsets of every partition of the topic (OffsetFetch v8). */
async function committed(port: number, group: string, topic: string): Promise<bigint[]> {
  const client = clientTo(port, 'kip848-migration-fetch');
  try {
    const answer = await send(client, 9, 8, {
      groups: [
        {
          groupId: group,
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: topic, partitionIndexes: [...Array(PARTITIONS).keys()] }],
        },
      ],
      requireStable: false,
    });
    const fetched = (
      answer.groups as { topics: { partitions: { committedOffset: bigint; errorCode: number }[] }[] }[]
    )[0]!;
    return fetched.topics[0]!.partitions.map((p) => {
      assert.equal(p.errorCode, ErrorCode.NONE);
      return p.committedOffset;
    });
  } finally {
    client.close();
  }
}

/** Waits until an asynchronous condition holds (checked every 500 ms). */
async function eventually(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${SETTLE_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function consumedValues(members: readonly Member[]): string[] {
  return members.flatMap((m) => m.values());
}

for (const makeTarget of [() => kstack(25805), () => reference(25840)]) {
  const target = makeTarget();
  describe(`KIP-848 online migration with real clients: ${target.title}`, { timeout: 900_000 }, () => {
    const members: Member[] = [];
    const bootstrap = `127.0.0.1:${target.port}`;
    let removeGoMember: (() => void) | null = null;
    before(
      async () => {
        removeGoMember = await buildGoMember();
        await target.start();
      },
      { timeout: 700_000 },
    );
    after(
      async () => {
        for (const member of members) await member.stop('SIGKILL');
        await target.stop();
        removeGoMember?.();
      },
      { timeout: 200_000 },
    );

    for (const modernClient of [LIBRDKAFKA, FRANZ_GO]) {
      it(`classic librdkafka members, a ${modernClient.name} consumer-protocol member joins (upgrade) and leaves (downgrade): each record once`, async () => {
        const suffix = modernClient === LIBRDKAFKA ? '' : '-franz';
        const topic = `kip848-migration-orders${suffix}`;
        const group = `kip848-migration-group${suffix}`;
        const classicEnv = { KIP848_GROUP_PROTOCOL: 'classic' };
        await produce(bootstrap, topic, 0, BATCH);
        const c1 = new Member(LIBRDKAFKA, bootstrap, group, topic, 'classic-1', classicEnv);
        const c2 = new Member(LIBRDKAFKA, bootstrap, group, topic, 'classic-2', classicEnv);
        members.push(c1, c2);
        await waitUntil(
          'two classic members hold every partition',
          () =>
            disjointUnion([c1, c2]).length === PARTITIONS &&
            c1.assignment().length > 0 &&
            c2.assignment().length > 0,
          SETTLE_TIMEOUT_MS,
        );
        await waitUntil(
          'the first batch consumed',
          () => consumedValues([c1, c2]).length >= BATCH,
          SETTLE_TIMEOUT_MS,
        );
        assert.equal(await groupType(target.port, group), 'classic');

        const started = Date.now();
        const modern = new Member(modernClient, bootstrap, group, topic, 'consumer-1');
        members.push(modern);
        await waitUntil(
          'three members (two classic, one consumer-protocol) hold every partition once',
          () =>
            disjointUnion([c1, c2, modern]).length === PARTITIONS &&
            [c1, c2, modern].every((m) => m.assignment().length > 0),
          SETTLE_TIMEOUT_MS,
        );
        console.log(
          `${target.title}: consumer-protocol member start to every partition held once: ${Date.now() - started} ms; ` +
            `assignments ${[c1, c2, modern].map((m) => `${m.name}=${m.assignment()}`).join(' ')}`,
        );
        assert.equal(await groupType(target.port, group), 'consumer');
        await produce(bootstrap, topic, BATCH, BATCH);
        await waitUntil(
          'the second batch consumed',
          () => consumedValues([c1, c2, modern]).length >= 2 * BATCH,
          SETTLE_TIMEOUT_MS,
        );

        const leaving = Date.now();
        await modern.stop('SIGTERM');
        await eventually(
          'the group is classic again and the classic members hold every partition',
          async () =>
            (await groupType(target.port, group)) === 'classic' &&
            disjointUnion([c1, c2]).length === PARTITIONS &&
            c1.assignment().length > 0 &&
            c2.assignment().length > 0,
        );
        console.log(
          `${target.title}: consumer member leaving to a classic group again: ${Date.now() - leaving} ms`,
        );
        await produce(bootstrap, topic, 2 * BATCH, BATCH);
        await waitUntil(
          'the third batch consumed',
          () => consumedValues([c1, c2, modern]).length >= 3 * BATCH,
          SETTLE_TIMEOUT_MS,
        );
        const values = consumedValues([c1, c2, modern]);
        assert.equal(new Set(values).size, values.length, 'a record consumed twice');
        assert.equal(values.length, 3 * BATCH);
        const offsets = await committed(target.port, group, topic);
        assert.equal(
          offsets.reduce((sum, o) => sum + o, 0n),
          BigInt(3 * BATCH),
          `committed ${offsets}`,
        );
      });
    }

    it('the wire transcript is the one kstack is held to', async () => {
      assert.deepEqual(await migrationOnTheWire(target.port, 'long'), KAFKA_MIGRATION_ANSWERS);
    });

    it('a classic LeaveGroup inside a consumer group, then a classic join into the empty group', async () => {
      assert.deepEqual(await classicLeaveOnTheWire(target.port, 'long'), CLASSIC_LEAVE_ANSWERS);
    });

    it('OffsetFetch v9 member checks, DescribeGroups v6, the epochs of an emptied group', async () => {
      assert.deepEqual(await memberChecksOnTheWire(target.port, 'long'), memberChecksAnswers('long'));
    });

    it('group configs: described, refused, set (used by the coordinator), deleted', async () => {
      assert.deepEqual(await groupConfigsOnTheWire(target.port, 'long'), groupConfigsAnswers());
    });

    it('a classic static member replacing the last consumer-protocol member downgrades the group', async () => {
      for (const otherSubscription of [false, true]) {
        assert.deepEqual(
          await staticReplacementOnTheWire(target.port, 'long', otherSubscription),
          staticReplacementAnswers(otherSubscription),
        );
      }
    });

    it("a custom assignor's user data: the upgrade refused as kstack is held to", async () => {
      assert.deepEqual(await customAssignorOnTheWire(target.port, 'long'), customAssignorAnswers('long'));
    });
  });
}

for (const makeTarget of [() => kstack(25806, 'disabled'), () => reference(25845, 'disabled')]) {
  const target = makeTarget();
  describe(`KIP-848 migration policy disabled: ${target.title}`, { timeout: 900_000 }, () => {
    before(() => target.start(), { timeout: 700_000 });
    after(() => target.stop(), { timeout: 200_000 });

    it('the wire transcript is the one kstack is held to', async () => {
      assert.deepEqual(await disabledPolicyOnTheWire(target.port, 'long'), disabledPolicyAnswers('long'));
    });
  });
}
