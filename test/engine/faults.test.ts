// The fault proxy and the fault-control endpoint without a cluster: a real in-process broker behind
// a NodeProxy (real sockets), asked ApiVersions through it with a client's and with a peer's client
// id, cut and slowed per side; the HTTP endpoint and `kstack fault`'s refusals; the restart backoff.
// The cluster itself (processes, SIGKILL, SIGSTOP, isolation of a leader) is test/engine/faults.slow.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { Broker } from '../../src/broker/broker.ts';
import {
  CRASH_LOOP_EXITS_MAX,
  CRASH_LOOP_WINDOW_MS,
  type FaultAction,
  RESTART_BACKOFF_INITIAL_MS,
  RESTART_BACKOFF_MAX_MS,
  restartBackoffMs,
} from '../../src/engine/cluster.ts';
import { buildFaultControl, FaultError, type NodeView } from '../../src/engine/fault-control.ts';
import { ExitHistory } from '../../src/engine/fault-limits.ts';
import {
  CLIENT_CUTS_MAX,
  FaultRules,
  FrameHeaderScanner,
  firstRequestClientId,
  NodeProxy,
  sourceOf,
} from '../../src/engine/fault-proxy.ts';
import { upArgs } from '../../src/engine/process.ts';

const HOST = '127.0.0.1';
const BROKER_PORT = 23180;
const PROXY_PORT = 23181;
/** A second in-process broker, stopped and started again behind its proxy (the node-down test). */
const DOWN_BROKER_PORT = 23182;
const DOWN_PROXY_PORT = 23183;
/** Generous: CI runs this on a loaded 2-core machine. */
const ANSWER_TIMEOUT_MS = 20_000;
const ROOT = join(import.meta.dirname, '..', '..');

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-faults-'));
const broker = new Broker({ dataDir, host: HOST, port: BROKER_PORT });
const rules = new FaultRules();
const proxy = new NodeProxy({
  nodeId: 1,
  host: HOST,
  listenPort: PROXY_PORT,
  upstreamPort: BROKER_PORT,
  rules,
});

before(async () => {
  await broker.start();
  await proxy.listen();
});
after(async () => {
  await proxy.close();
  await broker.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** ApiVersions v0 with `clientId`, as bytes. */
function apiVersionsRequest(clientId: string, correlationId: number): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + id.length);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt16BE(18, 4);
  frame.writeInt16BE(0, 6);
  frame.writeInt32BE(correlationId, 8);
  frame.writeInt16BE(id.length, 12);
  id.copy(frame, 14);
  return frame;
}

/** A connection through the proxy that sends ApiVersions requests and reads each answer's correlation id. */
class Connection {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #waiting: ((correlationId: number) => void) | undefined;
  closed: Promise<void>;
  constructor(port = PROXY_PORT) {
    this.socket = net.connect({ host: HOST, port });
    this.socket.on('error', () => {});
    this.closed = new Promise((done) => this.socket.once('close', () => done()));
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      if (this.#buffer.length >= 8 && this.#buffer.length >= 4 + this.#buffer.readInt32BE(0)) {
        const correlationId = this.#buffer.readInt32BE(4);
        this.#buffer = this.#buffer.subarray(4 + this.#buffer.readInt32BE(0));
        this.#waiting?.(correlationId);
      }
    });
  }
  /** Resolves with the answer's round trip in ms, or 'closed' when the proxy closed the connection. */
  ask(clientId: string, correlationId: number): Promise<number | 'closed'> {
    const startedAt = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer in ${ANSWER_TIMEOUT_MS} ms`)),
        ANSWER_TIMEOUT_MS,
      );
      this.#waiting = (id) => {
        clearTimeout(timer);
        assert.equal(id, correlationId);
        resolve(performance.now() - startedAt);
      };
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve('closed');
      });
      this.socket.write(apiVersionsRequest(clientId, correlationId));
    });
  }
}

test('the first request names who connects: kstack peers by node id, anything else a client', () => {
  const request = apiVersionsRequest('kstack-replica-fetcher-3', 7);
  assert.equal(firstRequestClientId(request.subarray(0, 10)), undefined, 'more bytes needed');
  assert.equal(firstRequestClientId(request), 'kstack-replica-fetcher-3');
  assert.deepEqual(sourceOf('kstack-replica-fetcher-3'), { peer: 3 });
  assert.deepEqual(sourceOf('kstack-raft-2'), { peer: 2 });
  assert.deepEqual(sourceOf('kstack-broker-1'), { peer: 1 });
  assert.deepEqual(sourceOf('kstack-txn-markers-12'), { peer: 12 });
  assert.deepEqual(sourceOf('rdkafka'), { peer: null });
  assert.deepEqual(sourceOf('kstack-raft-x'), { peer: null });
  assert.deepEqual(sourceOf(null), { peer: null });
  const bad = Buffer.from(request);
  bad.writeInt16BE(500, 12);
  assert.throws(() => firstRequestClientId(bad), /client id runs past the request/);
});

test('isolate cuts the chosen side only (open connections at once), heal lets it back', async () => {
  const client = new Connection();
  const peer = new Connection();
  assert.equal(typeof (await client.ask('an-app', 1)), 'number');
  assert.equal(typeof (await peer.ask('kstack-replica-fetcher-2', 1)), 'number');
  assert.deepEqual(proxy.connections(), { peers: 1, clients: 1 });

  rules.isolate(1, 'peers');
  await peer.closed;
  assert.equal(typeof (await client.ask('an-app', 2)), 'number', 'clients still served');
  assert.equal(await new Connection().ask('kstack-raft-2', 1), 'closed', 'a new peer connection is cut');

  rules.isolate(1, 'clients');
  await client.closed;
  assert.equal(typeof (await new Connection().ask('kstack-raft-2', 1)), 'number', 'peers served again');
  assert.equal(await new Connection().ask('an-app', 1), 'closed');

  // A node isolated from its peers reaches none of them either: node 2's proxy cuts node 1's connections.
  rules.isolate(1, 'peers');
  assert.equal(rules.cut(2, { peer: 1 }), true);
  assert.equal(rules.cut(2, { peer: 3 }), false);
  assert.equal(rules.cut(2, { peer: null }), false);
  rules.heal(1);
  assert.equal(typeof (await new Connection().ask('an-app', 1)), 'number');
  assert.equal(typeof (await new Connection().ask('kstack-raft-2', 1)), 'number');
});

test('slow holds each request of the chosen side by the delay; a peer link is slow when either end is', async () => {
  const delayMs = 150;
  const client = new Connection();
  const peer = new Connection();
  rules.slow(1, delayMs, 'clients');
  const slowed: number[] = [];
  const peers: number[] = [];
  for (let i = 1; i <= 3; i++) {
    slowed.push((await client.ask('an-app', i)) as number);
    peers.push((await peer.ask('kstack-replica-fetcher-2', i)) as number);
  }
  console.log(
    `round trips with ${delayMs} ms on clients: clients ${slowed.map(Math.round)}, peers ${peers.map(Math.round)}`,
  );
  for (const ms of slowed) assert.ok(ms >= delayMs - 1, `${ms} ms < ${delayMs} ms`);
  // Node 2 slowed towards its peers: its requests to node 1 wait too.
  rules.slow(1, 0, 'all');
  rules.slow(2, delayMs, 'peers');
  const fromSlowPeer = (await peer.ask('kstack-replica-fetcher-2', 9)) as number;
  assert.ok(fromSlowPeer >= delayMs - 1, `${fromSlowPeer} ms`);
  assert.equal(rules.delayMs(1, { peer: 3 }), 0);
  assert.equal(rules.delayMs(1, { peer: null }), 0);
  rules.heal(2);
  assert.throws(() => rules.slow(1, -5, 'all'), /LINK_DELAY_MS_MAX/);
  client.socket.destroy();
  peer.socket.destroy();
});

/** Whether `answer` settles within `ms` (used only to show that a held request is not answered yet). */
async function settlesWithin<T>(answer: Promise<T>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([answer.then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

/** How long a held request is watched for an answer that must not come. */
const HELD_WATCH_MS = 600;

test('pause holds both ways without closing: no answer while paused, the same connection answered after resume', async () => {
  const client = new Connection();
  const peer = new Connection();
  assert.equal(typeof (await client.ask('an-app', 1)), 'number');
  assert.equal(typeof (await peer.ask('kstack-raft-2', 1)), 'number');
  const open = proxy.connections();
  rules.pause(1);
  assert.equal(rules.isPaused(1), true);
  const held = client.ask('an-app', 2);
  const heldPeer = peer.ask('kstack-raft-2', 2);
  const fresh = new Connection();
  const heldFresh = fresh.ask('an-app', 1);
  assert.equal(
    await settlesWithin(
      Promise.all([held, heldPeer, heldFresh]).catch(() => {}),
      HELD_WATCH_MS,
    ),
    false,
  );
  assert.deepEqual(
    proxy.connections(),
    { peers: open.peers, clients: open.clients + 1 },
    'every connection stays open, the new one too',
  );
  rules.resume(1);
  for (const [name, answer] of [
    ['client', held],
    ['peer', heldPeer],
    ['new connection', heldFresh],
  ] as const) {
    assert.equal(typeof (await answer), 'number', `${name} answered after resume`);
  }
  // A paused peer's own connections are held too (a stalled process sends nothing).
  rules.pause(2);
  assert.equal(rules.held(1, { peer: 2 }), true);
  assert.equal(rules.held(1, { peer: 3 }), false);
  assert.equal(rules.held(1, { peer: null }), false);
  const fromPaused = peer.ask('kstack-raft-2', 3);
  assert.equal(typeof (await client.ask('an-app', 3)), 'number', 'a client of node 1 is served');
  assert.equal(await settlesWithin(fromPaused, HELD_WATCH_MS), false);
  rules.resume(2);
  assert.equal(typeof (await fromPaused), 'number');
  for (const connection of [client, peer, fresh]) connection.socket.destroy();
});

test('a client cut closes only that client id: now and at each request, until healed', async () => {
  const cutOne = new Connection();
  const other = new Connection();
  assert.equal(typeof (await cutOne.ask('app-a', 1)), 'number');
  assert.equal(typeof (await other.ask('app-b', 1)), 'number');
  rules.cutClient('app-a');
  await cutOne.closed;
  assert.equal(typeof (await other.ask('app-b', 2)), 'number', 'another client keeps working');
  assert.equal(
    await new Connection().ask('app-a', 1),
    'closed',
    'a new connection is cut at its first request',
  );
  // A cut for another node leaves this proxy alone.
  rules.cutClient('app-b', { nodeId: 2 });
  assert.equal(typeof (await other.ask('app-b', 3)), 'number');
  assert.equal(rules.healClient('app-a')?.made, 2);
  assert.equal(rules.healClient('app-b')?.made, 0);
  assert.equal(rules.healClient('app-c'), undefined);
  assert.equal(typeof (await new Connection().ask('app-a', 1)), 'number', 'served again after heal');
  other.socket.destroy();
});

test('a cut after an API key forwards that request, drops its answer and closes; the next ones pass', async () => {
  const connection = new Connection();
  assert.equal(typeof (await connection.ask('app-a', 1)), 'number');
  rules.cutClient('app-a', { afterApiKey: 3 }); // Metadata: ApiVersions requests pass
  assert.equal(typeof (await connection.ask('app-a', 2)), 'number');
  rules.cutClient('app-a', { afterApiKey: 18, times: 2 }); // ApiVersions, twice
  assert.equal(await connection.ask('app-a', 3), 'closed');
  assert.equal(await new Connection().ask('app-a', 1), 'closed');
  const after = new Connection();
  assert.equal(typeof (await after.ask('app-a', 1)), 'number', 'both cuts spent');
  assert.deepEqual(
    rules
      .clientCuts()
      .map(({ clientId, afterApiKey, remaining, made }) => ({ clientId, afterApiKey, remaining, made })),
    [{ clientId: 'app-a', afterApiKey: 18, remaining: 0, made: 2 }],
  );
  rules.healClient('app-a');
  after.socket.destroy();
  assert.throws(() => rules.cutClient(''), /CLIENT_ID_LENGTH_MAX/);
  assert.throws(() => rules.cutClient('x', { afterApiKey: 40_000 }), /not an API key/);
  assert.throws(() => rules.cutClient('x', { times: 2 }), /afterApiKey/);
  assert.throws(() => rules.cutClient('x', { afterApiKey: 0, times: 0 }), /CLIENT_CUT_TIMES_MAX/);
  const many = new FaultRules();
  for (let i = 0; i < CLIENT_CUTS_MAX; i++) many.cutClient(`c${i}`);
  assert.throws(() => many.cutClient('one-more'), /CLIENT_CUTS_MAX/);
});

test('crash destroys every connection to and from the node at once and refuses new ones until restored', async () => {
  const client = new Connection();
  const peer = new Connection();
  assert.equal(typeof (await client.ask('an-app', 1)), 'number');
  assert.equal(typeof (await peer.ask('kstack-raft-2', 1)), 'number');
  rules.crash(2); // node 2's own connections to node 1 are cut, clients of node 1 stay
  await peer.closed;
  assert.equal(typeof (await client.ask('an-app', 2)), 'number');
  rules.crash(1);
  await client.closed;
  assert.equal(await new Connection().ask('an-app', 1), 'closed');
  rules.restore(1);
  rules.restore(2);
  assert.equal(typeof (await new Connection().ask('kstack-raft-2', 1)), 'number');
});

/** Connects to `port`: 'refused', or 'accepted' (the socket closed again at once). */
function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve('refused') : reject(error),
    );
  });
}

/** Waits until `check` holds, asking every 50 ms; fails naming `what` after ANSWER_TIMEOUT_MS. */
async function waitFor(what: string, check: () => Promise<boolean>): Promise<number> {
  const startedAt = performance.now();
  while (!(await check())) {
    if (performance.now() - startedAt > ANSWER_TIMEOUT_MS)
      throw new Error(`${what}: not in ${ANSWER_TIMEOUT_MS} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
  return performance.now() - startedAt;
}

test('a proxy in front of a node that is down refuses connections, so a client bootstraps from the next address; it listens again when the node is back', async () => {
  const downDir = mkdtempSync(join(tmpdir(), 'kstack-faults-down-'));
  let node = new Broker({ dataDir: downDir, host: HOST, port: DOWN_BROKER_PORT });
  await node.start();
  const downProxy = new NodeProxy({
    nodeId: 3,
    host: HOST,
    listenPort: DOWN_PROXY_PORT,
    upstreamPort: DOWN_BROKER_PORT,
    rules,
  });
  await downProxy.listen();
  const admin = new Admin({
    clientId: 'faults-test-bootstrap',
    // The down node's proxy first: a client takes the first address that accepts TCP.
    bootstrapBrokers: [`${HOST}:${DOWN_PROXY_PORT}`, `${HOST}:${PROXY_PORT}`],
    timeout: ANSWER_TIMEOUT_MS,
    retries: 0,
  });
  try {
    const open = new Connection(DOWN_PROXY_PORT);
    assert.equal(typeof (await open.ask('an-app', 1)), 'number');
    await node.stop();
    // Its open connections end with the node; new ones are refused, as the node's own port refuses them.
    await open.closed;
    const refusedAfterMs = await waitFor(
      'the down node’s proxy refusing',
      async () => (await tryConnect(DOWN_PROXY_PORT)) === 'refused',
    );
    assert.equal(downProxy.accepting, false);
    assert.equal(await tryConnect(DOWN_BROKER_PORT), 'refused');
    const metadata = await admin.metadata({ topics: [] });
    assert.deepEqual(
      [...metadata.brokers.values()].map((b) => b.port),
      [BROKER_PORT],
      'the client skipped the refusing proxy and read Metadata from the next bootstrap address',
    );
    node = new Broker({ dataDir: downDir, host: HOST, port: DOWN_BROKER_PORT });
    await node.start();
    const backAfterMs = await waitFor('the proxy listening again', async () => {
      if ((await tryConnect(DOWN_PROXY_PORT)) === 'refused') return false;
      return typeof (await new Connection(DOWN_PROXY_PORT).ask('an-app', 2)) === 'number';
    });
    // A paused node still accepts and holds: no answer until resume, then the same connection is answered.
    rules.pause(3);
    const held = new Connection(DOWN_PROXY_PORT);
    const answer = held.ask('an-app', 3);
    await new Promise((done) => held.socket.once('connect', done));
    assert.equal(downProxy.accepting, true);
    const early = await Promise.race([answer, new Promise((done) => setTimeout(() => done('held'), 300))]);
    assert.equal(early, 'held');
    rules.resume(3);
    assert.equal(typeof (await answer), 'number');
    held.socket.destroy();
    console.log(
      `refused ${refusedAfterMs.toFixed(0)} ms after the stop, listening again ${backAfterMs.toFixed(0)} ms after the start`,
    );
  } finally {
    await admin.close();
    await downProxy.close();
    await node.stop();
    rmSync(downDir, { recursive: true, force: true });
  }
});

test('frame headers are found across chunk boundaries', () => {
  const frames = Buffer.concat([
    apiVersionsRequest('a', 1),
    apiVersionsRequest('client-bb', 2),
    apiVersionsRequest('c', 3),
  ]);
  for (let split = 1; split < frames.length; split++) {
    const scanner = new FrameHeaderScanner(12);
    const seen: number[] = [];
    for (const chunk of [frames.subarray(0, split), frames.subarray(split)]) {
      scanner.push(chunk, (header) => {
        seen.push(header.readInt32BE(8));
        return true;
      });
    }
    assert.deepEqual(seen, [1, 2, 3], `split at ${split}`);
  }
  assert.throws(
    () => new FrameHeaderScanner(12).push(Buffer.from([0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]), () => true),
    /shorter/,
  );
});

test('restart backoff doubles from its initial wait up to its bound', () => {
  assert.equal(restartBackoffMs(1), RESTART_BACKOFF_INITIAL_MS);
  assert.equal(restartBackoffMs(2), RESTART_BACKOFF_INITIAL_MS * 2);
  assert.equal(
    restartBackoffMs(CRASH_LOOP_EXITS_MAX),
    RESTART_BACKOFF_INITIAL_MS * 2 ** (CRASH_LOOP_EXITS_MAX - 1),
  );
  assert.equal(restartBackoffMs(40), RESTART_BACKOFF_MAX_MS);
});

test('the fault-control endpoint: actions with their bodies, refusals with codes', async () => {
  const actions: [number, FaultAction][] = [];
  const view = (nodeId: number): NodeView => ({
    nodeId,
    pid: 42,
    state: 'running',
    registered: true,
    restarts: 0,
  });
  const app = buildFaultControl({
    list: () => [view(1), view(2)],
    act: async (nodeId, action) => {
      if (nodeId > 2) throw new FaultError('NODE_UNKNOWN', `no node ${nodeId}`);
      actions.push([nodeId, action]);
      return view(nodeId);
    },
  });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  assert.equal((await call('GET', '/nodes')).status, 200);
  assert.equal((await call('POST', '/nodes/2/kill', { restart: false })).status, 200);
  assert.equal((await call('POST', '/nodes/1/isolate', { from: 'peers' })).status, 200);
  assert.equal((await call('POST', '/nodes/1/slow', { delayMs: 250 })).status, 200);
  assert.equal((await call('POST', '/nodes/1/pause')).status, 200);
  assert.deepEqual(actions, [
    [2, { kind: 'kill', restart: false }],
    [1, { kind: 'isolate', from: 'peers' }],
    [1, { kind: 'slow', delayMs: 250, from: 'all' }],
    [1, { kind: 'pause' }],
  ]);
  assert.deepEqual(await call('POST', '/nodes/1/slow', { delayMs: 0 }), {
    status: 400,
    body: {
      error_code: 'REQUEST_INVALID',
      message: "delayMs: '0' is not a whole number of milliseconds in 1..60000 (LINK_DELAY_MS_MAX)",
    },
  });
  assert.equal(
    (await call('POST', '/nodes/1/isolate', { from: 'everyone' })).body.error_code,
    'REQUEST_INVALID',
  );
  assert.equal((await call('POST', '/nodes/1/explode')).body.error_code, 'REQUEST_INVALID');
  assert.deepEqual((await call('POST', '/nodes/7/kill')).status, 404);
  assert.equal((await call('GET', '/nodes/x')).status, 400);
  assert.equal((await call('GET', '/elsewhere')).body.error_code, 'NOT_FOUND');
  assert.equal(actions.length, 4, 'no refused request reached the supervisor');
  await app.close();
});

test('the fault-control endpoint cuts one client id through the proxies; refusals with codes', async () => {
  const view = (nodeId: number): NodeView => ({
    nodeId,
    pid: 42,
    state: 'running',
    registered: true,
    restarts: 0,
  });
  const target = { list: () => [view(1), view(2)], act: async (nodeId: number) => view(nodeId) };
  const app = buildFaultControl({ ...target, rules });
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  try {
    const cutOne = new Connection();
    const other = new Connection();
    assert.equal(typeof (await cutOne.ask('app-z', 1)), 'number');
    assert.equal(typeof (await other.ask('app-w', 1)), 'number');
    const armed = await call('POST', '/clients/app-z/cut', {});
    assert.deepEqual(armed, {
      status: 200,
      body: { clientId: 'app-z', nodeId: null, afterApiKey: null, remaining: null, made: 0 },
    });
    await cutOne.closed;
    assert.equal(typeof (await other.ask('app-w', 2)), 'number');
    assert.deepEqual((await call('GET', '/clients')).body, [
      { clientId: 'app-z', nodeId: null, afterApiKey: null, remaining: null, made: 1 },
    ]);
    assert.equal((await call('POST', '/clients/app-z/heal')).body.made, 1);
    for (const [url, body, status, code, words] of [
      ['/clients/app-z/heal', undefined, 404, 'CLIENT_CUT_NOT_FOUND', "'app-z'"],
      ['/clients/app-z/cut', { node: 9 }, 404, 'NODE_UNKNOWN', 'node 9'],
      ['/clients/app-z/cut', { times: 3 }, 400, 'REQUEST_INVALID', 'afterApiKey'],
      ['/clients/app-z/cut', { afterApiKey: -1 }, 400, 'REQUEST_INVALID', 'not an API key'],
      ['/clients/app-z/cut', { after: 1 }, 400, 'REQUEST_INVALID', "not 'after'"],
      ['/clients/app-z/cut', { node: '1' }, 400, 'REQUEST_INVALID', 'whole number'],
    ] as const) {
      const answer = await call('POST', url, body);
      assert.equal(answer.status, status, `${url} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error_code, code);
      assert.ok(String(answer.body.message).includes(words), String(answer.body.message));
    }
    assert.deepEqual(rules.clientCuts(), []);
    other.socket.destroy();
  } finally {
    await app.close();
  }
  const off = buildFaultControl(target);
  const answer = await off.inject({ method: 'POST', url: '/clients/app-z/cut' });
  assert.deepEqual([answer.statusCode, answer.json().error_code], [409, 'PROXIES_OFF']);
  await off.close();
});

test('kstack fault: bad usage exits 2 naming the fault; no endpoint exits 1', async () => {
  const run = (...args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin', 'kstack.ts'), 'fault', ...args],
        (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }),
      );
    });
  const [slowNoDelay, badSide, noNode, unreachable, timesAlone, healWithNode] = await Promise.all([
    run('slow', '2'),
    run('isolate', '2', '--from', 'neighbours'),
    run('kill'),
    // 23199: a port nothing listens on.
    run('pause', '1', '--control', `http://${HOST}:23199`),
    run('cut-client', 'app', '--times', '2'),
    run('heal-client', 'app', '--node', '1'),
  ]);
  assert.equal(timesAlone.code, 2);
  assert.match(timesAlone.stderr, /times applies to a cut after an API key \(afterApiKey\)/);
  assert.equal(healWithNode.code, 2);
  assert.match(healWithNode.stderr, /--node applies to cut-client only/);
  assert.equal(slowNoDelay.code, 2);
  assert.match(slowNoDelay.stderr, /slow: --delay-ms N is required/);
  assert.equal(badSide.code, 2);
  assert.match(badSide.stderr, /from: 'neighbours' is not one of peers, clients, all/);
  assert.equal(noNode.code, 2);
  assert.match(noNode.stderr, /kill: NODE \(a node id\) is required/);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /no fault control answers at http:\/\/127\.0\.0\.1:23199/);
});

test('a harness cluster binds only its ports and keeps a killed node down unless it asks for faults', () => {
  assert.deepEqual(upArgs(['--port', '1']), ['--brokers', '1', '--port', '1']);
  assert.deepEqual(upArgs(['--brokers', '3']), [
    '--brokers',
    '3',
    '--no-restart',
    '--no-fault-proxies',
    '--fault-port',
    '0',
  ]);
  assert.deepEqual(upArgs(['--brokers=3', '--fault-port', '7']), [
    '--brokers=3',
    '--fault-port',
    '7',
    '--no-restart',
    '--no-fault-proxies',
  ]);
  assert.deepEqual(upArgs(['--brokers', '3'], { faults: true }), ['--brokers', '3']);
  assert.deepEqual(upArgs(['--brokers', '1']), ['--brokers', '1']);
});

test('the crash-loop bound: restarts back off until more than CRASH_LOOP_EXITS_MAX exits fall in the window', () => {
  const history = new ExitHistory();
  const backoffs = Array.from(
    { length: CRASH_LOOP_EXITS_MAX },
    (_, i) => history.record(i * 1_000).backoffMs,
  );
  assert.deepEqual(
    backoffs,
    Array.from({ length: CRASH_LOOP_EXITS_MAX }, (_, i) => restartBackoffMs(i + 1)),
  );
  assert.deepEqual(history.record(CRASH_LOOP_EXITS_MAX * 1_000), {
    exits: CRASH_LOOP_EXITS_MAX + 1,
    backoffMs: null,
  });
  // Exits older than the window no longer count.
  const spaced = new ExitHistory();
  for (let i = 0; i < CRASH_LOOP_EXITS_MAX * 3; i++) {
    assert.equal(spaced.record(i * CRASH_LOOP_WINDOW_MS).backoffMs, RESTART_BACKOFF_INITIAL_MS);
  }
  history.clear();
  assert.deepEqual(history.record(0), { exits: 1, backoffMs: RESTART_BACKOFF_INITIAL_MS });
});
