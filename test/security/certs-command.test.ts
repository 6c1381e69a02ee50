// `kstack certs` (its own process): the CA, broker and client certificates it writes verify with
// openssl, a broker given the printed ssl.* settings serves TLS with mutual authentication to kcat
// holding the client certificate, and bad arguments or an existing CA are refused with exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Broker } from '../../src/broker/broker.ts';
import { kcat, run } from './support.ts';

const KSTACK = join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
const PLAINTEXT = 25930;
const SSL = 25931;
const work = mkdtempSync(join(tmpdir(), 'kstack-certs-command-'));
after(() => rmSync(work, { recursive: true, force: true }));

const kstackCerts = (args: readonly string[]) =>
  run(process.execPath, [KSTACK, 'certs', ...args], { timeoutMs: 120_000 });

test('kstack certs writes certificates a broker and kcat use for mutual TLS', async () => {
  const dir = join(work, 'certs');
  const written = await kstackCerts(['--dir', dir, '--days', '30', '--host', '127.0.0.1']);
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stdout, /ssl\.keystore\.location=.*broker-keystore\.pem/);
  const verified = await run('openssl', [
    'verify',
    '-CAfile',
    join(dir, 'ca.pem'),
    join(dir, 'broker.pem'),
    join(dir, 'client.pem'),
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /broker\.pem: OK\n.*client\.pem: OK/);
  const broker = new Broker({
    dataDir: join(work, 'broker'),
    host: '127.0.0.1',
    port: PLAINTEXT,
    config: {
      listeners: `PLAINTEXT://127.0.0.1:${PLAINTEXT},SSL://127.0.0.1:${SSL}`,
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': join(dir, 'broker-keystore.pem'),
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': join(dir, 'ca.pem'),
      'ssl.client.auth': 'required',
    },
  });
  await broker.start();
  try {
    const login = {
      protocol: 'SSL' as const,
      caFile: join(dir, 'ca.pem'),
      certFile: join(dir, 'client.pem'),
      keyFile: join(dir, 'client.key'),
    };
    const listed = await kcat(`127.0.0.1:${SSL}`, login, ['-L', '-J']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { brokers: { name: string }[] }).brokers.map((b) => b.name),
      [`127.0.0.1:${SSL}`],
    );
    // Without the client certificate the required TLS handshake fails.
    const anonymous = await kcat(`127.0.0.1:${SSL}`, { protocol: 'SSL', caFile: join(dir, 'ca.pem') }, [
      '-L',
      '-m',
      '5',
    ]);
    assert.notEqual(anonymous.code, 0);
  } finally {
    await broker.stop();
  }
  const again = await kstackCerts(['--dir', dir]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /holds a ca\.pem already/);
});

test('kstack certs refuses bad arguments with exit 2, naming them', async () => {
  const days = await kstackCerts(['--dir', join(work, 'x'), '--days', '0']);
  assert.equal(days.code, 2);
  assert.match(days.stderr, /--days '0' is not a whole number of days from 1 to 3650/);
  const host = await kstackCerts(['--dir', join(work, 'y'), '--host', 'a b']);
  assert.equal(host.code, 2);
  assert.match(host.stderr, /--host 'a b' is not a host name or IP address/);
});
