/**
 * The manual clock alone, then driving a test cluster: retention and a group session timeout
 * happen when a test moves the clock, seen through kafkajs and the broker's files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaTestingError, ManualClock, startKafka } from '../../src/testing/index.ts';

/** Generous: CI runs these on a loaded 2-core machine. */
const WAIT_MS = 30_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('ManualClock', () => {
  test('advance fires due timers in due order, with the clock at each one, including timers they set', async () => {
    let realMs = 1_000_000;
    const clock = new ManualClock(() => realMs);
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push(`c@${clock.nowMs()}`));
    clock.setTimer(100, () => {
      fired.push(`a@${clock.nowMs()}`);
      clock.setTimer(50, () => fired.push(`nested@${clock.nowMs()}`));
    });
    const cancel = clock.setTimer(200, () => fired.push('cancelled'));
    clock.setTimer(1_000, () => fired.push('later'));
    cancel();
    await clock.advance(400);
    assert.deepEqual(fired, ['a@1000100', 'nested@1000150', 'c@1000300']);
    assert.equal(clock.nowMs(), 1_000_400);
    realMs += 10;
    assert.equal(clock.nowMs(), 1_000_410, 'it keeps following the real clock');
    assert.equal(clock.pendingTimers, 1);
    clock.clear();
    assert.equal(clock.pendingTimers, 0);
  });

  test('timers also fire as real time passes, and bad steps are refused', async () => {
    const clock = new ManualClock();
    await new Promise<void>((done) => clock.setTimer(5, done));
    await assert.rejects(clock.advance(-1), /finite number of milliseconds >= 0, got -1/);
    await assert.rejects(clock.advance(Number.NaN), RangeError);
    // A timer that re-arms itself at delay 0 would never let time move: advance stops it.
    const stuck = new ManualClock(() => 0, 1_000);
    const rearm = (): void => {
      stuck.setTimer(0, rearm);
    };
    stuck.setTimer(0, rearm);
    await assert.rejects(stuck.advance(1), /more than 1000 timers fell due \(ADVANCE_TIMERS_MAX\)/);
    stuck.clear();
    clock.clear();
  });
});

describe('a test cluster on the manual clock', () => {
  test('moving the clock past retention.ms deletes the segments; a topic without it keeps them', async () => {
    const kafka = await startKafka({
      clock: 'manual',
      topics: [
        { name: 'short-lived', partitions: 1, configs: { 'retention.ms': '60000' } },
        { name: 'kept', partitions: 1 },
      ],
    });
    const client = new Kafka({
      clientId: 'retention',
      brokers: kafka.bootstrapAddresses,
      logLevel: logLevel.NOTHING,
    });
    const admin = client.admin();
    const producer = client.producer();
    try {
      await admin.connect();
      await producer.connect();
      for (const topic of ['short-lived', 'kept']) {
        await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `r${i}` })) });
      }
      const low = async (topic: string) => (await admin.fetchTopicOffsets(topic))[0]?.low;
      const segments = (topic: string) =>
        readdirSync(join(kafka.broker.dataDir, `${topic}-0`)).filter((file) => file.endsWith('.log'));
      assert.equal(await low('short-lived'), '0');
      assert.ok(existsSync(join(kafka.broker.dataDir, 'short-lived-0', '00000000000000000000.log')));
      // Past retention.ms and the next retention check (log.retention.check.interval.ms, 5 min).
      await kafka.clock.advance(60_000 + 300_000 + 1);
      await waitFor('the log start offset of short-lived to reach 5', async () =>
        (await low('short-lived')) === '5' ? true : undefined,
      );
      assert.ok(
        !segments('short-lived').includes('00000000000000000000.log'),
        `segment 0 deleted (left: ${segments('short-lived').join(', ')})`,
      );
      assert.equal(await low('kept'), '0', 'the default retention (7 days) has not passed');
      assert.deepEqual(segments('kept'), ['00000000000000000000.log']);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
      await kafka.stop();
    }
  });

  test('moving the clock past a session timeout removes a member that stopped heartbeating', async () => {
    const kafka = await startKafka({ clock: 'manual', topics: [{ name: 'events', partitions: 1 }] });
    const admin = new Kafka({
      clientId: 'session',
      brokers: kafka.bootstrapAddresses,
      logLevel: logLevel.NOTHING,
    }).admin();
    const sessionTimeoutMs = 30_000;
    const member = spawn(
      process.execPath,
      [
        join(import.meta.dirname, 'fixtures', 'group-member.ts'),
        kafka.bootstrapServers,
        'sessions',
        'events',
        String(sessionTimeoutMs),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await admin.connect();
      let output = '';
      member.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await waitFor('the member to join', async () => (output.includes('joined') ? true : undefined));
      const describe = async () => (await admin.describeGroups(['sessions'])).groups[0];
      await waitFor('a stable group of one', async () => {
        const group = await describe();
        return group?.state === 'Stable' && group.members.length === 1 ? true : undefined;
      });
      member.kill('SIGSTOP');
      const before = await describe();
      assert.equal(before?.members.length, 1, 'a frozen member stays until its session times out');
      await kafka.clock.advance(sessionTimeoutMs + 1);
      const after = await waitFor('the member to be removed', async () => {
        const group = await describe();
        return group !== undefined && group.members.length === 0 ? group : undefined;
      });
      assert.equal(after.state, 'Empty');
    } finally {
      member.kill('SIGKILL');
      await admin.disconnect();
      await kafka.stop();
    }
  });

  test('advance on the system clock is refused with a clear error', async () => {
    const kafka = await startKafka();
    try {
      await assert.rejects(
        kafka.clock.advance(1_000),
        (error: unknown) => error instanceof KafkaTestingError && error.code === 'CLOCK_NOT_MANUAL',
      );
    } finally {
      await kafka.stop();
    }
  });
});
