/**
 * A reproduction, without the REST proxy, of what test/rest-proxy/failover.long.ts saw: records
 * acknowledged with acks=all (RF 3, min ISR 2) by a partition leader that is then killed with
 * SIGKILL must all be on the new leader, at the offsets acknowledged. One @platformatic/kafka
 * producer (acks=-1, one record per send, in order) writes while the leader's process is killed;
 * then kafkajs reads the partition and every acknowledged offset must hold its record, and no
 * offset may have been acknowledged twice. Without `acks` in send() (@platformatic/kafka 2.12
 * ignores the constructor's and sends acks=1) it failed in 2 of 4 runs on main (de1d500): offset
 * 199, the last one the killed leader acknowledged, was acknowledged again by the new leader, as
 * acks=1 allows; with acks=-1 in send() it passed 2 of 2.
 * Run it by hand: `node --test
 * test/rest-proxy/acked-loss.long.ts` (ports: the cluster 23300, as proxy.test.ts: not beside it).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Admin, Producer } from '@platformatic/kafka';
import { kstackClusterTarget } from './cluster-target.ts';
import { kafkajs, readWithKafkajs, waitFor } from './support.ts';

const TOPIC = 'acked-loss';
const BEFORE_KILL = 200;
const AFTER_KILL = 50;
const target = kstackClusterTarget(23300, 'kstack-acked-loss-');

before(() => target.start());
after(() => target.stop());

it('every record acknowledged with acks=all survives SIGKILL of the leader, at its offset', {
  timeout: 600_000,
}, async () => {
  const admin = new Admin({ bootstrapBrokers: target.bootstrap.split(','), clientId: 'acked-loss-admin' });
  await admin.createTopics({
    topics: [TOPIC],
    partitions: 1,
    replicas: 3,
    configs: [{ name: 'min.insync.replicas', value: '2' }],
  });
  await admin.close();
  const inspect = kafkajs(target.bootstrap).admin();
  await inspect.connect();
  const partition = await waitFor('a full ISR', async () => {
    const p = (await inspect.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]?.partitions[0];
    return p !== undefined && p.isr.length === 3 ? p : undefined;
  });
  const producer = new Producer({
    bootstrapBrokers: target.bootstrap.split(','),
    clientId: 'acked-loss',
    acks: -1,
    retries: 10,
    timeout: 30_000,
  });
  const acked = new Map<number, string>();
  const twice: number[] = [];
  let failed = 0;
  let afterKill = 0;
  let killed = false;
  try {
    for (let i = 0; afterKill < AFTER_KILL; i++) {
      if (!killed && acked.size >= BEFORE_KILL) {
        target.kill(partition.leader);
        killed = true;
      }
      const value = `r${i}`;
      try {
        // acks in send(): @platformatic/kafka 2.12 ignores the constructor's (send() defaults to acks=1).
        const result = await producer.send({
          acks: -1,
          messages: [{ topic: TOPIC, partition: 0, value: Buffer.from(value) }],
        });
        const offset = Number(result.offsets?.[0]?.offset);
        if (acked.has(offset)) twice.push(offset);
        acked.set(offset, value);
        if (killed) afterKill++;
      } catch {
        failed++;
      }
    }
  } finally {
    await producer.close();
  }
  const after = (await inspect.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]?.partitions[0];
  // OFFSET_NOT_AVAILABLE (78, retriable) while the new leader's high watermark catches up, as Kafka.
  const offsets = await waitFor(
    'the partition offsets',
    async () => (await inspect.fetchTopicOffsets(TOPIC).catch(() => undefined))?.[0],
  );
  await inspect.disconnect();
  process.stdout.write(
    `# leader ${partition.leader} killed after ${BEFORE_KILL} acknowledged; leader now ${after?.leader}, ISR [${after?.isr}]; ${failed} sends failed; ${acked.size} distinct offsets acknowledged, the highest ${Math.max(...acked.keys())}; the partition now: low ${offsets?.low}, high ${offsets?.high}; offsets acknowledged twice: [${twice}]\n`,
  );
  const read = await readWithKafkajs(target.bootstrap, TOPIC, Number(offsets?.high) - Number(offsets?.low));
  const byOffset = new Map(read.map((r) => [r.offset, r.value?.toString()]));
  const lost = [...acked]
    .filter(([offset, value]) => byOffset.get(offset) !== value)
    .map(([offset]) => offset);
  process.stdout.write(`# acknowledged records not at their offset: [${lost}]\n`);
  assert.deepEqual(twice, [], 'offsets acknowledged twice');
  assert.deepEqual(lost, [], 'acknowledged records missing at their offsets');
});
