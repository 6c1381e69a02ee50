/**
 * The control endpoint over HTTP (a real socket, fetch) in front of a test cluster, the serve.ts
 * process other languages start, and `kstack snapshot` against a stopped data dir.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startControlServer } from '../../src/testing/control-server.ts';
import { startKafka } from '../../src/testing/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** Generous: CI runs these on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 60_000;

// biome-ignore lint/suspicious/noExplicitAny: the replies have several JSON shapes, checked field by field
async function call(url: string, method: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

describe('control endpoint', () => {
  test('reset, snapshots, namespaces and the clock over HTTP, errors with codes', async () => {
    const kafka = await startKafka({ clock: 'manual', topics: [{ name: 'orders', partitions: 1 }] });
    const control = await startControlServer(kafka, { host: '127.0.0.1', port: 0 });
    const client = new Kafka({
      clientId: 'control',
      brokers: kafka.bootstrapAddresses,
      logLevel: logLevel.NOTHING,
    });
    const admin = client.admin();
    const producer = client.producer();
    const high = async () => (await admin.fetchTopicOffsets('orders'))[0]?.high;
    try {
      await admin.connect();
      await producer.connect();
      const cluster = await call(`${control.url}/cluster`, 'GET');
      assert.equal(cluster.status, 200);
      assert.equal(cluster.json.bootstrapServers, kafka.bootstrapServers);
      assert.equal(cluster.json.clock, 'manual');

      await producer.send({ topic: 'orders', messages: [{ value: 'one' }, { value: 'two' }] });
      const saved = await call(`${control.url}/snapshots/two-orders`, 'POST');
      assert.equal(saved.status, 201);
      assert.equal(saved.json.name, 'two-orders');
      await producer.send({ topic: 'orders', messages: [{ value: 'three' }] });
      assert.equal(await high(), '3');

      const restored = await call(`${control.url}/snapshots/two-orders/restore`, 'POST');
      assert.equal(restored.status, 200);
      assert.equal(await high(), '2', 'the snapshot has two records');
      const reset = await call(`${control.url}/reset`, 'POST');
      assert.equal(reset.status, 200);
      assert.equal(typeof reset.json.resetMs, 'number');
      assert.equal(await high(), '0', 'reset empties orders');
      assert.deepEqual(
        (await call(`${control.url}/snapshots`, 'GET')).json.map((s: { name: string }) => s.name),
        ['two-orders'],
        'snapshots outlive reset',
      );

      const first = await call(`${control.url}/namespaces`, 'POST');
      const second = await call(`${control.url}/namespaces`, 'POST');
      assert.match(first.json.prefix, /^t[a-z0-9]+-$/);
      assert.notEqual(first.json.prefix, second.json.prefix);

      const before = kafka.clock.nowMs();
      const advanced = await call(`${control.url}/clock/advance`, 'POST', { ms: 3_600_000 });
      assert.equal(advanced.status, 200);
      assert.ok(advanced.json.nowMs >= before + 3_600_000);

      const badName = await call(`${control.url}/snapshots/..bad/restore`, 'POST');
      assert.equal(badName.status, 400);
      assert.equal(badName.json.error_code, 'SNAPSHOT_NAME_INVALID');
      const missing = await call(`${control.url}/snapshots/missing/restore`, 'POST');
      assert.equal(missing.status, 404);
      assert.equal(missing.json.error_code, 'SNAPSHOT_NOT_FOUND');
      assert.match(missing.json.message, /saved: two-orders/);
      const badStep = await call(`${control.url}/clock/advance`, 'POST', { ms: -5 });
      assert.equal(badStep.status, 400);
      assert.equal(badStep.json.error_code, 'REQUEST_INVALID');
      assert.match(badStep.json.message, /ms/);
      const unknown = await call(`${control.url}/nothing`, 'POST');
      assert.equal(unknown.status, 404);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
      await control.close();
      await kafka.stop();
    }
  });

  test('advance on a cluster on the system clock answers 409', async () => {
    const kafka = await startKafka();
    const control = await startControlServer(kafka, { host: '127.0.0.1', port: 0 });
    try {
      const refused = await call(`${control.url}/clock/advance`, 'POST', { ms: 1 });
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error_code, 'CLOCK_NOT_MANUAL');
    } finally {
      await control.close();
      await kafka.stop();
    }
  });
});

describe('serve.ts and kstack snapshot', () => {
  test('serve.ts refuses a bad topics file with its line, exit 2', () => {
    const folder = mkdtempSync(join(tmpdir(), 'kstack-serve-'));
    try {
      const topicsFile = join(folder, 'topics.txt');
      writeFileSync(topicsFile, 'orders x 1\n');
      const run = spawnSync(
        process.execPath,
        [join(ROOT, 'src/testing/serve.ts'), '--topics-file', topicsFile],
        {
          encoding: 'utf8',
          timeout: READY_TIMEOUT_MS,
        },
      );
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /topics\.txt:1: partitions 'x'/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test('serve.ts prints its addresses, resets over HTTP (its registry too), stops on SIGTERM; kstack snapshot works on the stopped data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kstack-serve-'));
    const serveArgs = [join(ROOT, 'src/testing/serve.ts'), '--data-dir', dataDir, '--schema-registry'];
    const child = spawn(process.execPath, serveArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('serve.ts not ready in time')), READY_TIMEOUT_MS);
        createInterface({ input: child.stdout }).once('line', (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        child.once('exit', (code) => reject(new Error(`serve.ts exited with ${code}`)));
      });
      const { bootstrapServers, controlUrl, schemaRegistryUrl } = JSON.parse(line) as {
        bootstrapServers: string;
        controlUrl: string;
        schemaRegistryUrl: string;
      };
      assert.match(bootstrapServers, /^127\.0\.0\.1:\d+$/);
      assert.equal((await call(`${controlUrl}/cluster`, 'GET')).json.schemaRegistryUrl, schemaRegistryUrl);
      const registered = await fetch(`${schemaRegistryUrl}/subjects/s-value/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: '"string"' }),
      });
      assert.equal(registered.status, 200, await registered.clone().text());
      assert.equal((await call(`${controlUrl}/snapshots/from-http`, 'POST')).status, 201);
      assert.equal((await call(`${controlUrl}/reset`, 'POST')).status, 200);
      assert.deepEqual(await (await fetch(`${schemaRegistryUrl}/subjects?deleted=true`)).json(), []);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);

      const kstack = (...args: string[]) =>
        spawnSync(process.execPath, [join(ROOT, 'bin/kstack.ts'), 'snapshot', ...args], { encoding: 'utf8' });
      const saved = kstack('save', 'from-cli', '--data-dir', dataDir);
      assert.equal(saved.status, 0, saved.stderr);
      const listed = kstack('list', '--data-dir', dataDir);
      assert.equal(listed.status, 0, listed.stderr);
      assert.deepEqual(
        listed.stdout
          .trim()
          .split('\n')
          .map((row) => row.split('\t')[0]),
        ['from-cli', 'from-http'],
      );
      const restored = kstack('restore', 'from-http', '--data-dir', dataDir);
      assert.equal(restored.status, 0, restored.stderr);
      assert.ok(existsSync(join(dataDir, 'broker-1', '__cluster_metadata', 'records.jsonl')));
      const missing = kstack('restore', 'nope', '--data-dir', dataDir);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /no snapshot 'nope'/);
      const usage = kstack('save', '--data-dir', dataDir);
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, /save needs a snapshot NAME/);
      const empty = kstack('save', 'x', '--data-dir', join(dataDir, 'snapshots'));
      assert.equal(empty.status, 2);
      assert.match(empty.stderr, /holds no broker data/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
