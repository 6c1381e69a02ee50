// Several listeners through `kstack up --brokers 3` (the real command, three `kstack node`
// processes behind their fault proxies, real sockets and files): kcat (librdkafka, not ours)
// through each listener of each node sees that listener's three addresses, produces with acks=all
// over SASL_PLAINTEXT (PLAIN) and reads back through PLAINTEXT; a wrong password is refused.
// Arguments and ports: up-listeners.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { kcat, type SaslLogin } from '../security/support.ts';
import { ARGS, HOST, PLAINTEXT_PORT, SASL_PORT } from './up-listeners-setup.ts';

/** Generous: CI runs this on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 120_000;
/** A clean shutdown may take long under load: SIGKILL only after this. */
const STOP_GRACE_MS = 120_000;
const TOPIC = 'up-listeners';

const PLAIN: SaslLogin = { protocol: 'PLAINTEXT' };
const ALICE: SaslLogin = {
  protocol: 'SASL_PLAINTEXT',
  mechanism: 'PLAIN',
  username: 'alice',
  password: 'alice-secret',
};
const ports = (first: number): string[] => [0, 1, 2].map((i) => `${HOST}:${first + i}`);

let dir = '';
let up: ChildProcess | undefined;
let output = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kstack-up-listeners-'));
  const script = join(import.meta.dirname, '..', '..', 'bin', 'kstack.ts');
  const child = spawn(process.execPath, [script, 'up', ...ARGS, '--data-dir', join(dir, 'data')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  up = child;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', () => {});
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`kstack up not serving after ${READY_TIMEOUT_MS} ms:\n${output}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('brokers serving')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`kstack up exited (${code}) before serving:\n${output}`));
    });
  });
});

after(async () => {
  const child = up;
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('kcat through each listener of each node sees that listener’s three addresses; acks=all over SASL, read back over PLAINTEXT', async () => {
  assert.match(output, /the fault proxies stand in front of the first listener only/);
  const reads = [
    ...ports(PLAINTEXT_PORT).map((bootstrap) => ({ bootstrap, login: PLAIN, first: PLAINTEXT_PORT })),
    ...ports(SASL_PORT).map((bootstrap) => ({ bootstrap, login: ALICE, first: SASL_PORT })),
  ];
  // The six Metadata reads at once (each its own kcat process).
  const listed = await Promise.all(reads.map(({ bootstrap, login }) => kcat(bootstrap, login, ['-L', '-J'])));
  for (const [i, { bootstrap, first }] of reads.entries()) {
    const result = listed[i]!;
    assert.equal(result.code, 0, result.stderr);
    const brokers = (JSON.parse(result.stdout) as { brokers: { name: string }[] }).brokers;
    assert.deepEqual(
      brokers.map(({ name }) => name.replace(/\/\d+$/, '')).sort(),
      ports(first),
      `Metadata through ${bootstrap}`,
    );
  }
  const produced = await kcat(
    ports(SASL_PORT)[1]!,
    ALICE,
    ['-P', '-t', TOPIC, '-X', 'acks=all', '-X', 'topic.request.required.acks=-1'],
    'one\ntwo\nthree\n',
  );
  assert.equal(produced.code, 0, produced.stderr);
  const consumed = await kcat(ports(PLAINTEXT_PORT)[2]!, PLAIN, [
    '-C',
    '-t',
    TOPIC,
    '-o',
    'beginning',
    '-e',
    '-q',
  ]);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.deepEqual(consumed.stdout.trim().split('\n'), ['one', 'two', 'three']);
  const refused = await kcat(ports(SASL_PORT)[0]!, { ...ALICE, password: 'wrong' }, ['-L', '-m', '10']);
  assert.notEqual(refused.code, 0, 'a wrong password is refused');
  assert.match(refused.stderr, /Authentication failed/);
});
