/**
 * Connection quotas (src/security/quotas-connections.ts): Kafka's arithmetic on a fake clock, the
 * settings' refusals, and an in-process broker on the wire answering as Apache Kafka 4.1.1 answered
 * the same scenarios (connection-quotas-reference.long.ts, by hand): `max.connections.per.ip.overrides`
 * 127.0.0.2:2 serves two connections from that address, closes the third without an answer and serves
 * a new one once one of the two closed; the default `ip` quota `connection_creation_rate` 1 serves ten
 * new connections, then holds each unanswered and closes it after one window (1 s).
 * Ports (docs/team-rules.md): an in-process broker 27440.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { ClientQuotaStore } from '../../src/security/quotas.ts';
import {
  ConnectionQuotaConfigError,
  ConnectionQuotas,
  parsePerIpOverrides,
} from '../../src/security/quotas-connections.ts';
import {
  CLIENT_ADDRESS,
  perIpScenario,
  rateScenario,
  runs,
  setDefaultIpRate,
} from './connection-quotas-scenario.ts';

const PORT = 27440;
const LIMIT = 2;
const WAIT_MS = 10_000;
/** Kafka's Rate counts at least 10 windows of 1 s: at 1 connection/s the 11th is over the quota. */
const SERVED_AT_RATE_ONE = 10;
const HELD = 3;

function storeWithDefaultIpRate(rate: number): ClientQuotaStore {
  const store = new ClientQuotaStore(() => true);
  store.commit([
    {
      type: 'ClientQuotaRecord',
      entity: [{ entityType: 'ip', entityName: null }],
      key: 'connection_creation_rate',
      value: rate,
      remove: false,
    },
  ]);
  return store;
}

describe('ConnectionQuotas (fake clock)', () => {
  it('counts open connections per address, with overrides, and releases them once', () => {
    const quotas = new ConnectionQuotas({
      maxPerIp: 1,
      overrides: parsePerIpOverrides('10.0.0.9:3, 10.0.0.8:0'),
      quotas: () => undefined,
    });
    const first = quotas.admit('10.0.0.1');
    assert.equal(first.kind, 'serve');
    assert.deepEqual(quotas.admit('10.0.0.1'), {
      kind: 'close',
      reason:
        'Rejected connection from 10.0.0.1, address already has the configured maximum of 1 connections.',
    });
    // An IPv4 client on an IPv6 socket is the same address.
    assert.equal(quotas.admit('::ffff:10.0.0.1').kind, 'close');
    if (first.kind === 'serve') {
      first.release();
      first.release();
    }
    assert.equal(quotas.openFrom('10.0.0.1'), 0);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => quotas.admit('10.0.0.9').kind),
      ['serve', 'serve', 'serve', 'close'],
    );
    assert.equal(quotas.admit('10.0.0.8').kind, 'close');
  });

  it('throttles connection creation over the ip quota by Kafka Rate, bounded by one window', () => {
    let now = 1_000_000;
    const quotas = new ConnectionQuotas({
      maxPerIp: 1000,
      overrides: new Map(),
      quotas: () => storeWithDefaultIpRate(2),
      now: () => now,
    });
    const kinds: string[] = [];
    for (let i = 0; i < 21; i++) {
      const admission = quotas.admit('10.0.0.1');
      kinds.push(admission.kind === 'close-after' ? `close-after ${admission.delayMs}` : admission.kind);
      if (admission.kind === 'serve') admission.release();
    }
    // 2/s over at least 10 s of windows: 20 served, the 21st at 2.1/s is throttled by (2.1-2)/2 x 10 s = 500 ms.
    assert.deepEqual(kinds.slice(0, 20), Array(20).fill('serve'));
    assert.equal(kinds[20], 'close-after 500');
    // Far over: the throttle is bounded by one window.
    for (let i = 0; i < 30; i++) quotas.admit('10.0.0.1');
    const bounded = quotas.admit('10.0.0.1');
    assert.equal(bounded.kind === 'close-after' && bounded.delayMs, 1000);
    // Another address has its own sensor; once all windows passed the address is served again.
    assert.equal(quotas.admit('10.0.0.2').kind, 'serve');
    now += 11_000;
    assert.equal(quotas.admit('10.0.0.1').kind, 'serve');
  });

  it('refuses bad overrides and a zero limit without overrides, naming the setting', () => {
    assert.throws(() => parsePerIpOverrides('10.0.0.1'), ConnectionQuotaConfigError);
    assert.throws(() => parsePerIpOverrides('10.0.0.1:x'), /max.connections.per.ip.overrides/);
    const dataDir = mkdtempSync(join(tmpdir(), 'kstack-conn-quotas-refused-'));
    try {
      assert.throws(
        () => new Broker({ dataDir, host: '127.0.0.1', port: 0, config: { 'max.connections.per.ip': '0' } }),
        /max.connections.per.ip: If max.connections.per.ip is 0, max.connections.per.ip.overrides must be set/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('an in-process broker on the wire, as Kafka 4.1.1 answered', () => {
  let dataDir = '';
  let broker: Broker | undefined;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-conn-quotas-'));
    broker = new Broker({
      dataDir,
      host: '127.0.0.1',
      port: PORT,
      config: { 'max.connections.per.ip.overrides': `${CLIENT_ADDRESS}:${LIMIT}` },
    });
    await broker.start();
  });

  after(async () => {
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('max.connections.per.ip.overrides: the connection over the limit is closed unanswered', async () => {
    assert.deepEqual(await perIpScenario(PORT, LIMIT, WAIT_MS), [
      'answered',
      'answered',
      'closed',
      'after one closed: answered',
    ]);
  });

  it('connection_creation_rate 1: ten served, then each held unanswered and closed after one window', async () => {
    await setDefaultIpRate(PORT, 1);
    const outcomes = await rateScenario(PORT, SERVED_AT_RATE_ONE + HELD, WAIT_MS);
    assert.equal(runs(outcomes.map((o) => o.outcome)), `answered×${SERVED_AT_RATE_ONE}, closed×${HELD}`);
    for (const held of outcomes.slice(SERVED_AT_RATE_ONE))
      assert.ok(held.afterMs >= 900, `closed after ${held.afterMs} ms`);
    // Removed: served again at once.
    await setDefaultIpRate(PORT, null);
    assert.equal(runs((await rateScenario(PORT, 3, WAIT_MS)).map((o) => o.outcome)), 'answered×3');
  });
});
