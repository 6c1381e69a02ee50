/**
 * The UI's Kafka client with a bootstrap broker that accepts connections and never answers, as a
 * paused broker does (SIGSTOP: its kernel, or its fault proxy, still completes the handshake and
 * holds the bytes): the first request waits out the request timeout once, then the UI answers from
 * the next bootstrap broker and stays there, never asking the silent one again. An in-process
 * broker (real sockets, real files) and a real socket that holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { buildUi, type Ui } from '../../src/ui/server.ts';

const BROKER_PORT = 25510;
const SILENT_PORT = 25511;
/** The UI's Kafka request timeout here: the one wait on the silent broker (the status reading waits its own 5 s beside it). */
const TIMEOUT_MS = 4_000;

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-kafka-'));
const assetsDir = mkdtempSync(join(tmpdir(), 'kstack-ui-kafka-assets-'));
const broker = new Broker({ dataDir, host: '127.0.0.1', port: BROKER_PORT });
const held = new Set<net.Socket>();
let connections = 0;
const silent = net.createServer((socket) => {
  connections++;
  held.add(socket);
  socket.on('close', () => held.delete(socket));
  socket.on('error', () => {});
});
let ui: Ui;

before(async () => {
  await broker.start();
  await new Promise<void>((resolve) => silent.listen(SILENT_PORT, '127.0.0.1', resolve));
  ui = await buildUi({
    bootstrap: `127.0.0.1:${SILENT_PORT},127.0.0.1:${BROKER_PORT}`,
    assetsDir,
    kafkaRequestTimeoutMs: TIMEOUT_MS,
  });
});

after(async () => {
  await ui?.close();
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(assetsDir, { recursive: true, force: true });
});

const ask = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  ui.app.inject({
    method,
    url,
    headers: { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });

test('a first bootstrap broker that never answers: one wait, then every request from the next broker', async () => {
  const first = await ask('GET', '/api/cluster');
  assert.equal(first.statusCode, 200, first.body);
  // Tried first, by the Admin and by the raw status reading (each its own connection), each once.
  const tried = connections;
  assert.ok(tried >= 1, 'the silent broker was tried first');

  const created = await ask('POST', '/api/topics', { name: 'after-the-pause', partitions: 2 });
  assert.equal(created.statusCode, 201, created.body);
  for (const url of ['/api/cluster', '/api/topics', '/api/topics/after-the-pause', '/api/groups']) {
    const answer = await ask('GET', url);
    assert.equal(answer.statusCode, 200, `${url}: ${answer.body}`);
  }
  const topics = JSON.parse((await ask('GET', '/api/topics')).body) as { name: string }[];
  assert.ok(
    topics.some((t) => t.name === 'after-the-pause'),
    JSON.stringify(topics),
  );
  assert.equal(connections, tried, 'the silent broker was not asked again');
});
