/**
 * A broker whose coordinators cannot start does not start: its start rejects naming the cause, and
 * it leaves nothing bound or open behind (Kafka's broker exits the same way). The fault is real: the
 * data directory's `coordinator` folder (the producer-id block store) is a plain file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';

const PORT = 26500;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-start-failure-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

it('a coordinator that cannot start fails the broker start, naming it, and frees the port', async () => {
  writeFileSync(join(dataDir, 'coordinator'), 'not a directory\n');
  const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT });
  await assert.rejects(broker.start(), (error: Error) => {
    assert.match(error.message, /^broker \d+: the group and transaction coordinators did not start: /);
    assert.match(error.message, /coordinator/);
    assert.ok(error.cause instanceof Error, 'the cause is kept');
    return true;
  });
  // The listener is closed: the port can be bound again.
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('the same data directory starts once the fault is gone', async () => {
  rmSync(join(dataDir, 'coordinator'));
  const broker = new Broker({ dataDir, host: '127.0.0.1', port: PORT });
  await broker.start();
  await broker.stop();
});
