/**
 * The timer gates behind `pause()` (src/testing/timer-gates.ts) where Node drops the async
 * context, and the Raft driver's timer when something outside its node calls it: each let a node's
 * timers run while its gate was closed (test/testing/pause.slow.ts saw the paused quorum follower
 * go prospective). Real sockets on free ports (0), a real one-voter RaftDriver on a temp folder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { metadataLogDir, RaftDriver } from '../../src/controller/driver.ts';
import { currentTimerGate, TimerGate } from '../../src/testing/timer-gates.ts';

/** Longer than the driver's longest sleep (TICK_INTERVAL_MS_MAX, 100 ms): a free timer would tick in it. */
const QUIET_MS = 500;
const WAIT_MS = 30_000;

function until(what: string, holds: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  return new Promise((resolve, reject) => {
    const look = (): void => {
      if (holds()) resolve();
      else if (performance.now() > deadline) reject(new Error(`${what}: not within ${WAIT_MS} ms`));
      else setTimeout(look, 10);
    };
    look();
  });
}

test('a socket accepted by a server inside a gate emits its data inside the gate', async () => {
  const gate = new TimerGate('server node');
  const seen: (string | undefined)[] = [];
  // Built and listening inside the gate, as a node's listeners are.
  const server = net.createServer((socket) => {
    socket.on('data', () => {
      seen.push(currentTimerGate()?.name);
      socket.end();
    });
  });
  await gate.run(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
  try {
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect({ host: '127.0.0.1', port });
    client.on('error', () => {});
    client.write('ping');
    await new Promise((resolve) => client.on('close', resolve));
    assert.deepEqual(seen, ['server node']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('what a closed gate held runs inside it when open() is called from outside', async () => {
  const gate = new TimerGate('held node');
  const ran: (string | undefined)[] = [];
  gate.run(() => setTimeout(() => ran.push(currentTimerGate()?.name), 1));
  gate.close();
  await until('the timer held', () => gate.held === 1);
  assert.deepEqual(ran, []);
  assert.equal(currentTimerGate(), undefined);
  gate.open();
  assert.deepEqual(ran, ['held node']);
});

test('the Raft driver keeps its timer in its node gate when called from outside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-pause-gates-'));
  const gate = new TimerGate('raft node');
  const driver = gate.run(() => {
    const built = new RaftDriver({
      nodeId: 1,
      clusterId: 'pause-gates',
      voters: [{ nodeId: 1, host: '127.0.0.1', port: 1 }],
      dataDir: metadataLogDir(dir),
      // A proposal's flush due 1 ms later: earlier than the timer armed (up to 100 ms ahead), so
      // the outside call arms the next one.
      config: { appendLingerMs: 1 },
      log: { info: () => {}, warn: () => {} },
      onFatal: (error) => assert.fail(error),
    });
    built.start();
    return built;
  });
  try {
    await until('the one voter leads', () => driver.role() === 'leader');
    let ticks = 0;
    const tick = driver.replica.tick.bind(driver.replica);
    driver.replica.tick = () => {
      ticks += 1;
      tick();
    };
    // A caller outside the node (as the test harness creating a topic through it), then the pause.
    driver.propose([new Uint8Array([1])]);
    gate.close();
    const atPause = ticks;
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    assert.equal(ticks, atPause, 'no tick while the gate is closed');
    assert.ok(gate.held >= 1, 'its timer is held');
    gate.open();
    assert.ok(ticks > atPause, 'the held timer ticks on open()');
  } finally {
    gate.discard();
    gate.open();
    driver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
