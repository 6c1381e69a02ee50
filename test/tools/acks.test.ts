/**
 * The tools that write for a user write with acks=all: `kstack smoke` (AC-MSG-001's producer) and the
 * web UI's produce. @platformatic/kafka 2.12 takes `acks` from `send()` only and defaults it to
 * acks=1 there, whatever its Producer was constructed with, so a tool that set acks only in the
 * constructor wrote with acks=1. A topic with min.insync.replicas=2 on one broker tells the two
 * apart: acks=all is refused with NOT_ENOUGH_REPLICAS, acks=1 is written. In-process broker on a
 * free port (src/testing).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '@platformatic/kafka';
import { startKafka, type TestKafka } from '../../src/testing/index.ts';
import { runSmoke } from '../../src/tools/smoke-command.ts';
import { buildUi, type Ui } from '../../src/ui/server.ts';

const TOPIC = 'needs-two-in-sync';
const SAME_ORIGIN = {
  host: '127.0.0.1:8080',
  origin: 'http://127.0.0.1:8080',
  'content-type': 'application/json',
};

describe('tools write with acks=all', { timeout: 120_000 }, () => {
  let kafka: TestKafka;
  let ui: Ui;
  const assetsDir = mkdtempSync(join(tmpdir(), 'kstack-acks-ui-'));

  before(async () => {
    kafka = await startKafka();
    const admin = new Admin({ clientId: 'acks-test', bootstrapBrokers: kafka.bootstrapAddresses });
    try {
      await admin.createTopics({
        topics: [TOPIC],
        partitions: 1,
        replicas: 1,
        configs: [{ name: 'min.insync.replicas', value: '2' }],
      });
    } finally {
      await admin.close();
    }
    writeFileSync(join(assetsDir, 'index.html'), '<!doctype html><title>kstack UI</title>');
    ui = await buildUi({ bootstrap: kafka.bootstrapServers, assetsDir, kafkaRequestTimeoutMs: 10_000 });
  });

  after(async () => {
    await ui?.close();
    await kafka?.stop();
    rmSync(assetsDir, { recursive: true, force: true });
  });

  it('the control: acks=1 is written to that topic, acks=all is refused', async () => {
    const producer = new Producer({
      clientId: 'acks-control',
      bootstrapBrokers: kafka.bootstrapAddresses,
      retries: 0,
    });
    try {
      const written = await producer.send({ messages: [{ topic: TOPIC, value: Buffer.from('a') }], acks: 1 });
      assert.equal(written.offsets?.[0]?.offset, 0n);
      await assert.rejects(
        producer.send({ messages: [{ topic: TOPIC, value: Buffer.from('b') }], acks: -1 }),
        (error: Error & { errors?: Error[] }) => /NOT_ENOUGH_REPLICAS/.test(flatten(error)),
      );
    } finally {
      await producer.close();
    }
  });

  it('kstack smoke produces with acks=all', async () => {
    const lines: string[] = [];
    await assert.rejects(
      runSmoke({ bootstrap: kafka.bootstrapServers, topic: TOPIC, timeoutMs: 10_000 }, (line) =>
        lines.push(line),
      ),
      (error: Error) => {
        assert.match(error.message, /produce/);
        assert.match(flatten(error), /NOT_ENOUGH_REPLICAS/);
        return true;
      },
    );
  });

  it("the UI's produce writes with acks=all", async () => {
    const answer = await ui.app.inject({
      method: 'POST',
      url: `/api/topics/${TOPIC}/messages`,
      headers: SAME_ORIGIN,
      payload: { value: 'from the UI' },
    });
    assert.notEqual(answer.statusCode, 201, answer.body);
    assert.match(answer.body, /NOT_ENOUGH_REPLICAS/);
  });
});

/** The message of an error and of every error inside it (the client wraps the broker's). */
function flatten(error: unknown): string {
  const e = error as { apiId?: string; message?: string; errors?: unknown[]; cause?: unknown };
  return [
    e.apiId ?? '',
    e.message ?? String(error),
    ...(e.errors ?? []).map(flatten),
    ...(e.cause === undefined ? [] : [flatten(e.cause)]),
  ].join(' | ');
}
