/**
 * The manual clock on three brokers (startKafka({ brokers: 3, clock: 'manual' })): one clock for
 * the three in-process brokers. One jump past retention.ms (and the 5 min retention check), a
 * frozen member's session timeout, a transaction's timeout and an empty group's offset retention:
 * the segments are deleted on every replica, the member is removed, the transaction is aborted
 * (its producer fenced), the committed offset is gone. What does not
 * follow the clock (the quorum, the controller's broker sessions) is shown too: no broker fenced,
 * no leader moved by the jump. Clients: kafkajs (a client we did not write), the member in a
 * process of its own (fixtures/group-member.ts) so it can be frozen with SIGSTOP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Admin as PlatformaticAdmin } from '@platformatic/kafka';
import { TRANSACTIONS } from '../../src/coordinator/transactions/runtime.ts';
import { startKafka } from '../../src/testing/index.ts';
import { kafkajsClient } from './kafkajs-client.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const WAIT_MS = 90_000;
const RETENTION_MS = 60_000;
/** Kafka's log.retention.check.interval.ms default: retention is looked at this often. */
const RETENTION_CHECK_MS = 300_000;
const SESSION_TIMEOUT_MS = 30_000;
const TRANSACTION_TIMEOUT_MS = 60_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

test('three brokers on the manual clock: one jump deletes segments on every replica, expires a frozen member, aborts a timed-out transaction, expires committed offsets', async () => {
  const kafka = await startKafka({
    brokers: 3,
    clock: 'manual',
    // Committed offsets of an empty group expire 2 min after the commit, checked every minute.
    config: { 'offsets.retention.minutes': '2', 'offsets.retention.check.interval.ms': '60000' },
    topics: [
      { name: 'short-lived', partitions: 1, configs: { 'retention.ms': String(RETENTION_MS) } },
      { name: 'events', partitions: 1 },
    ],
  });
  const client = kafkajsClient('clock-cluster', kafka.bootstrapAddresses);
  const admin = client.admin();
  const producer = client.producer();
  const transactional = client.producer({
    transactionalId: 'slow-tx',
    transactionTimeout: TRANSACTION_TIMEOUT_MS,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  const member = spawn(
    process.execPath,
    [
      join(import.meta.dirname, 'fixtures', 'group-member.ts'),
      kafka.bootstrapAddresses[0]!,
      'sessions',
      'events',
      String(SESSION_TIMEOUT_MS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    assert.equal(kafka.clock.kind, 'manual');
    await Promise.all([admin.connect(), producer.connect(), transactional.connect()]);
    await producer.send({
      topic: 'short-lived',
      acks: -1,
      messages: Array.from({ length: 5 }, (_, i) => ({ value: `r${i}` })),
    });
    const segments = (nodeId: number) =>
      readdirSync(join(kafka.broker(nodeId).node.broker.dataDir, 'short-lived-0')).filter((f) =>
        f.endsWith('.log'),
      );
    for (const nodeId of [1, 2, 3]) assert.deepEqual(segments(nodeId), ['00000000000000000000.log']);

    const tx = await transactional.transaction();
    await tx.send({ topic: 'events', messages: [{ value: 'never committed' }] });
    const coordinated = () =>
      kafka
        .nodes()
        .flatMap((node) => node.broker.slots.get(TRANSACTIONS)?.coordinator.list([], [], -1) ?? [])
        .find((t) => t.transactionalId === 'slow-tx')?.transactionState;
    assert.equal(coordinated(), 'Ongoing');

    let output = '';
    member.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor('the member to join', () => (output.includes('joined') ? true : undefined));
    const group = async () => (await admin.describeGroups(['sessions'])).groups[0];
    await waitFor('a stable group of one', async () => {
      const g = await group();
      return g?.state === 'Stable' && g.members.length === 1 ? true : undefined;
    });
    member.kill('SIGSTOP');
    const committer = new PlatformaticAdmin({
      clientId: 'committer',
      bootstrapBrokers: kafka.bootstrapAddresses,
    });
    try {
      await committer.alterConsumerGroupOffsets({
        groupId: 'expiring',
        topics: [{ name: 'events', partitionOffsets: [{ partition: 0, offset: 1n }] }],
      });
    } finally {
      await committer.close();
    }
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: 'expiring', topics: ['events'] }))[0]?.partitions[0]?.offset;
    assert.equal(await committed(), '1');
    const leaders = await Promise.all(['short-lived', 'events'].map((t) => kafka.waitForLeader(t, 0)));

    // One jump past all four: retention.ms and its check, the session, the transaction timeout, offset expiry.
    await kafka.clock.advance(RETENTION_MS + RETENTION_CHECK_MS + 1);

    const low = async () => (await admin.fetchTopicOffsets('short-lived'))[0]?.low;
    await waitFor('the log start of short-lived at 5', async () =>
      (await low()) === '5' ? true : undefined,
    );
    await waitFor('segment 0 deleted on every replica', () =>
      [1, 2, 3].every((nodeId) => !segments(nodeId).includes('00000000000000000000.log')) ? true : undefined,
    );
    const emptied = await waitFor('the frozen member removed', async () => {
      const g = await group();
      return g !== undefined && g.members.length === 0 ? g : undefined;
    });
    // Empty; or Dead once the offset-expiry check that the same jump passes removed it (Kafka
    // removes an empty group that has no committed offsets left).
    assert.ok(['Empty', 'Dead'].includes(emptied.state), `group state ${emptied.state}`);
    await waitFor('slow-tx aborted by its timeout', () =>
      coordinated() === 'CompleteAbort' ? true : undefined,
    );
    await assert.rejects(tx.commit(), 'the timed-out transaction cannot commit');
    await waitFor("the empty group's committed offset expired", async () =>
      (await committed()) === '-1' ? true : undefined,
    );
    // The quorum and the controller's broker sessions stay on the system clock: nothing fenced, no leader moved.
    for (const node of kafka.nodes()) {
      assert.deepEqual(
        [1, 2, 3].filter((id) => node.broker.metadata().isFenced(id)),
        [],
        `node ${node.nodeId}: no broker fenced`,
      );
    }
    assert.deepEqual(
      await Promise.all(['short-lived', 'events'].map((t) => kafka.waitForLeader(t, 0))),
      leaders,
    );
  } finally {
    member.kill('SIGKILL');
    await Promise.allSettled([admin.disconnect(), producer.disconnect(), transactional.disconnect()]);
    await kafka.stop();
  }
});
