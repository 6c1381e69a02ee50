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
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type tls from 'node:tls';
import { Broker } from '../../src/broker/broker.ts';
import { makeCertificates } from '../../src/security/certs.ts';
import { ClientQuotaStore } from '../../src/security/quotas.ts';
import {
  ConnectionQuotaConfigError,
  ConnectionQuotas,
  parsePerIpOverrides,
} from '../../src/security/quotas-connections.ts';
import {
  CLIENT_ADDRESS,
  perIpScenario,
  probeConnection,
  rateScenario,
  runs,
  setDefaultIpRate,
} from './connection-quotas-scenario.ts';

const PORT = 27440;
/** The same broker's SSL listener: the per-address count is the broker's, across its listeners. */
const TLS_PORT = 27441;
/** Each test its own client address: a closed connection is released once the broker sees the close. */
const TLS_CLIENT = '127.0.0.4';
const RATE_CLIENT = '127.0.0.5';
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
  let secure: tls.ConnectionOptions = {};

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'kstack-conn-quotas-'));
    const certDir = join(dataDir, 'certs');
    mkdirSync(certDir);
    const certs = makeCertificates(certDir);
    secure = { ca: [readFileSync(certs.caFile, 'utf8')] };
    broker = new Broker({
      dataDir,
      host: '127.0.0.1',
      port: PORT,
      config: {
        'max.connections.per.ip.overrides': `${CLIENT_ADDRESS}:${LIMIT},${TLS_CLIENT}:${LIMIT}`,
        listeners: `PLAINTEXT://127.0.0.1:${PORT},SSL://127.0.0.1:${TLS_PORT}`,
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.brokerKeystoreFile,
      },
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

  it('the limit counts every listener of the broker: a TLS connection is refused before its handshake', async () => {
    const plain = await probeConnection(PORT, WAIT_MS, TLS_CLIENT);
    const secured = await probeConnection(TLS_PORT, WAIT_MS, TLS_CLIENT, secure);
    assert.deepEqual([plain.outcome.outcome, secured.outcome.outcome], ['answered', 'answered']);
    const third = await probeConnection(TLS_PORT, WAIT_MS, TLS_CLIENT, secure);
    assert.equal(third.outcome.outcome, 'closed');
    // Another address is not limited.
    const other = await probeConnection(TLS_PORT, WAIT_MS, '127.0.0.3', secure);
    assert.equal(other.outcome.outcome, 'answered');
    other.socket?.destroy();
    secured.socket?.destroy();
    let again = 'closed';
    for (let attempt = 0; attempt < 20 && again !== 'answered'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const probe = await probeConnection(TLS_PORT, WAIT_MS, TLS_CLIENT, secure);
      again = probe.outcome.outcome;
      probe.socket?.destroy();
    }
    assert.equal(again, 'answered');
    plain.socket?.destroy();
  });

  it('connection_creation_rate 1: ten served, then each held unanswered and closed after one window', async () => {
    await setDefaultIpRate(PORT, 1);
    const outcomes = await rateScenario(PORT, SERVED_AT_RATE_ONE + HELD, WAIT_MS, RATE_CLIENT);
    assert.equal(runs(outcomes.map((o) => o.outcome)), `answered×${SERVED_AT_RATE_ONE}, closed×${HELD}`);
    for (const held of outcomes.slice(SERVED_AT_RATE_ONE))
      assert.ok(held.afterMs >= 900, `closed after ${held.afterMs} ms`);
    // Through TLS the same: held (its handshake may complete, it is never served), closed after a window.
    const tlsHeld = await probeConnection(TLS_PORT, WAIT_MS, RATE_CLIENT, secure);
    assert.equal(tlsHeld.outcome.outcome, 'closed');
    assert.ok(tlsHeld.outcome.afterMs >= 900, `TLS closed after ${tlsHeld.outcome.afterMs} ms`);
    // Removed: served again at once.
    await setDefaultIpRate(PORT, null);
    assert.equal(
      runs((await rateScenario(PORT, 3, WAIT_MS, RATE_CLIENT)).map((o) => o.outcome)),
      'answered×3',
    );
  });
});
