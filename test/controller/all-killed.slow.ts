// Issue 12's "all three killed and restarted come back with every acknowledged write" (the facts
// file's scenario 16, with real processes): three `kstack node` processes (compat/runner's
// KstackCluster, what `kstack up --brokers 3` starts) hold an RF 3 topic (min ISR 2) under acks=all
// load from kafkajs (acked-load.ts); all three get SIGKILL at once while sends are in flight, and are
// started again on the same data directories. Every node re-registers after an unclean shutdown
// (KIP-966: each leaves the ISR unless it is its last member), the quorum elects a controller from
// the persisted votes and log, the partition is led again, and a kafkajs consumer reads every
// acknowledged record at its acknowledged offset.
// Ports (docs/team-rules.md): brokers 27340-27342, their controller listeners 27390-27392.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { kafkajsClient } from '../testing/kafkajs-client.ts';
import { AckedLoad, lostRecords, readAll, stopLoads, waitUntil } from './acked-load.ts';

const BASE_PORT = 27340;
const TOPIC = 'survives';
/** Records acknowledged before the kill (the load goes on until all three are killed). */
const ACKNOWLEDGED_BEFORE_KILL = 1_000;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-all-killed-'));
const logDir = join(dataDir, 'logs');
// Each node's whole output, for the unclean re-registration lines (read at import).
process.env.KSTACK_COMPAT_NODE_LOGS = logDir;
const { KstackCluster } = await import('../../compat/runner/kstack-cluster.ts');
const cluster = new KstackCluster({ nodes: 3, basePort: BASE_PORT, dataDir: join(dataDir, 'cluster') });
const kafka = kafkajsClient(
  'all-killed',
  cluster.ids.map((id) => `127.0.0.1:${cluster.brokerPort(id)}`),
);

after(async () => {
  await stopLoads();
  await cluster.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
});

test('all three nodes killed with SIGKILL under acks=all load come back with every acknowledged record', async () => {
  await cluster.start();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
  await admin.disconnect();

  const load = new AckedLoad(kafka, TOPIC, -1);
  await waitUntil(
    `${ACKNOWLEDGED_BEFORE_KILL} records acknowledged`,
    () => load.acknowledged.size >= ACKNOWLEDGED_BEFORE_KILL,
  );
  // All three at once, sends in flight.
  await cluster.stop(true);
  await load.stop();
  const count = load.acknowledged.size;
  console.log(`${count} records acknowledged before the kill (${load.sent} sent)`);

  await cluster.start();
  const read = await readAll(kafka, TOPIC, 'all-killed-check');
  assert.equal(lostRecords(load.acknowledged, read), 0, `acknowledged records lost or moved (of ${count})`);
  const unclean = cluster.ids
    .flatMap((id) => readFileSync(join(logDir, `node-${id}.log`), 'utf8').split('\n'))
    .filter((line) => line.includes('registered after an unclean shutdown'));
  console.log(
    `after the restart: ${read.size} records read; ${unclean.length} unclean re-registration lines`,
  );
});
