/**
 * KIP-848's online migration on `kstack up`, on the wire (kip848-migration-wire.ts): classic members
 * served inside a consumer group, the upgrade of a classic group when a consumer-protocol member
 * joins and the downgrade when it leaves, held to the answers Apache Kafka 4.1.1 gave to the same
 * requests (KAFKA_MIGRATION_ANSWERS; kip848-migration.long.ts asks the reference again). The broker
 * is killed (SIGKILL) and restarted right after the upgrade and again at the end: the answers after
 * each restart are the same, so the group's records replay. With
 * group.consumer.migration.policy=disabled, the upgrade is refused and classic members are still
 * served inside a consumer group, as Kafka answers at that policy. Beside the migration
 * (kip848-member-checks-wire.ts): OffsetFetch v9's member check, DescribeGroups v6, the epochs of an
 * emptied consumer group, and a classic static member replacing the last consumer-protocol member.
 *
 * Ports: 25803 (default policy), 25804 (policy disabled).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { BrokerProcess } from '../engine/broker-process.ts';
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

const START_TIMEOUT_MS = 120_000;
/** Kafka's first-join delay only slows a test down (the reference runs with 0 too). */
const NO_INITIAL_DELAY = ['--override', 'group.initial.rebalance.delay.ms=0'];

describe('KIP-848 online migration on kstack (the answers Kafka 4.1.1 gave)', { timeout: 600_000 }, () => {
  const broker = new BrokerProcess(25803, undefined, NO_INITIAL_DELAY);
  const disabled = new BrokerProcess(25804, undefined, [
    ...NO_INITIAL_DELAY,
    '--override',
    'group.consumer.migration.policy=disabled',
  ]);
  before(() => Promise.all([broker.start(START_TIMEOUT_MS), disabled.start(START_TIMEOUT_MS)]), {
    timeout: 2 * START_TIMEOUT_MS,
  });
  after(async () => {
    await Promise.all([broker.stop(), disabled.stop()]);
    broker.removeData();
    disabled.removeData();
  });

  const crashAndRestart = async () => {
    assert.equal(await broker.stop('SIGKILL'), 'SIGKILL');
    await broker.start(START_TIMEOUT_MS);
    // Ready for groups once ListGroups answers NONE (COORDINATOR_LOAD_IN_PROGRESS while the restarted
    // broker replays __consumer_offsets): the answers compared after it are not a race with that load.
    const client = clientTo(broker.port, 'migration-restart');
    try {
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (
        (await send(client, 16, 5, { statesFilter: [], typesFilter: [] })).errorCode !== ErrorCode.NONE
      ) {
        assert.ok(Date.now() < deadline, '__consumer_offsets still loading');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.close();
    }
  };

  it('upgrade, classic members inside the consumer group, downgrade; replayed after SIGKILL', async () => {
    const answers = await migrationOnTheWire(broker.port, 'kstack', {
      afterUpgrade: crashAndRestart,
      beforeFetch: crashAndRestart,
    });
    assert.deepEqual(answers, KAFKA_MIGRATION_ANSWERS);
  });

  it("a classic group whose assignment carries user data (a custom assignor's) is not upgraded", async () => {
    assert.deepEqual(await customAssignorOnTheWire(broker.port, 'kstack'), customAssignorAnswers('kstack'));
  });

  it('a classic member leaves a consumer group (LeaveGroup); a classic join turns the empty consumer group classic', async () => {
    assert.deepEqual(await classicLeaveOnTheWire(broker.port, 'kstack'), CLASSIC_LEAVE_ANSWERS);
  });

  it('OffsetFetch v9 member checks, DescribeGroups v6, the epochs of an emptied group', async () => {
    assert.deepEqual(await memberChecksOnTheWire(broker.port, 'kstack'), memberChecksAnswers('kstack'));
  });

  it('group configs: described, refused, set (kept across a SIGKILL restart, used by the coordinator), deleted', async () => {
    assert.deepEqual(
      await groupConfigsOnTheWire(broker.port, 'kstack', { afterSet: crashAndRestart }),
      groupConfigsAnswers(),
    );
  });

  it('a classic static member replacing the last consumer-protocol member downgrades the group', async () => {
    for (const otherSubscription of [false, true]) {
      assert.deepEqual(
        await staticReplacementOnTheWire(broker.port, 'kstack', otherSubscription),
        staticReplacementAnswers(otherSubscription),
      );
    }
  });

  it('policy disabled: no upgrade, classic members still served inside a consumer group', async () => {
    assert.deepEqual(await disabledPolicyOnTheWire(disabled.port, 'kstack'), disabledPolicyAnswers('kstack'));
  });
});
