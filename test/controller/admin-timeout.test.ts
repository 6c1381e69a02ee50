/**
 * The `timeoutMs` of CreateTopics (19 v7), CreatePartitions (37 v3) and DeleteTopics (20 v6) at 0
 * and below, on a real socket to an in-process broker: REQUEST_TIMED_OUT with no message for every
 * topic, and nothing written (no topic created, none grown, none deleted), validate-only included,
 * as Apache Kafka 4.1.1 answered the same requests (test/controller/admin-timeout-reference.long.ts,
 * src/controller/admin-deadline.ts). A positive timeout still creates, grows and deletes.
 * Ports (docs/team-rules.md): 27337.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import type { ControllerClient } from '../../src/controller/broker-lifecycle.ts';
import { ErrorCode } from '../../src/protocol/errors.ts';
import { ZERO_UUID } from '../../src/protocol/uuid.ts';
import { clientTo, send } from '../coordinator/raw-requests.ts';

const PORT = 27337;
const TIMEOUT_MS = 30_000;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-admin-timeout-'));
const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT });
let client: ControllerClient;

before(async () => {
  await broker.start();
  client = clientTo(PORT, 'admin-timeout');
});

after(async () => {
  client?.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

type Outcome = { errorCode: number; errorMessage: string | null };

const create = (name: string, timeoutMs: number, validateOnly = false) =>
  send(client, 19, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs,
    validateOnly,
  }).then((body) => (body.topics as Outcome[])[0]);
const grow = (name: string, count: number, timeoutMs: number, validateOnly = false) =>
  send(client, 37, 3, { topics: [{ name, count, assignments: null }], timeoutMs, validateOnly }).then(
    (body) => (body.results as Outcome[])[0],
  );
const remove = (name: string, timeoutMs: number) =>
  send(client, 20, 6, { topics: [{ name, topicId: ZERO_UUID }], timeoutMs }).then(
    (body) => (body.responses as Outcome[])[0],
  );
const partitions = (name: string) => broker.metadata().topic(name)?.partitions.length ?? 0;

const TIMED_OUT = { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: null };

for (const timeoutMs of [0, -1]) {
  test(`timeoutMs ${timeoutMs}: REQUEST_TIMED_OUT without a message, nothing written`, {
    timeout: 60_000,
  }, async () => {
    const name = `deadline-${timeoutMs < 0 ? 'negative' : 'zero'}`;
    const pick = (answer: Outcome | undefined) => ({
      errorCode: answer?.errorCode,
      errorMessage: answer?.errorMessage,
    });
    assert.deepEqual(pick(await create(name, timeoutMs)), TIMED_OUT, 'CreateTopics');
    assert.deepEqual(pick(await create(name, timeoutMs, true)), TIMED_OUT, 'CreateTopics validate-only');
    assert.equal(broker.metadata().topic(name), undefined, `${name} created although timed out`);

    assert.deepEqual(pick(await create(name, TIMEOUT_MS)), { errorCode: 0, errorMessage: null });
    assert.deepEqual(pick(await grow(name, 2, timeoutMs)), TIMED_OUT, 'CreatePartitions');
    assert.deepEqual(pick(await grow(name, 2, timeoutMs, true)), TIMED_OUT, 'CreatePartitions validate-only');
    assert.equal(partitions(name), 1, `${name} grown although timed out`);
    assert.deepEqual(pick(await remove(name, timeoutMs)), TIMED_OUT, 'DeleteTopics');
    assert.equal(partitions(name), 1, `${name} deleted although timed out`);
    // An unknown topic is timed out too: the deadline passes before any check (as on the reference).
    assert.deepEqual(
      pick(await remove('never-created', timeoutMs)),
      TIMED_OUT,
      'DeleteTopics of an unknown topic',
    );

    assert.deepEqual(pick(await grow(name, 2, TIMEOUT_MS)), { errorCode: 0, errorMessage: null });
    assert.equal(partitions(name), 2);
    assert.deepEqual(pick(await remove(name, TIMEOUT_MS)), { errorCode: 0, errorMessage: null });
    assert.equal(broker.metadata().topic(name), undefined);
  });
}
