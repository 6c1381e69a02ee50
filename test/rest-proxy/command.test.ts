/**
 * `kstack rest-proxy`: flags (bad usage is exit 2 with the flag named) and the process itself
 * (serves on its port, stops cleanly on SIGTERM). Ports: the proxy 20302; 20399 is a Kafka address
 * nothing listens on (the proxy connects lazily, so it starts without a cluster).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { parseRestProxyArgs } from '../../src/rest-proxy/command.ts';
import { assertError, call } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('kstack rest-proxy', () => {
  it('parses its flags and names the one at fault', () => {
    assert.deepEqual(
      parseRestProxyArgs([
        '--bootstrap-server',
        'h:1',
        '--port',
        '8090',
        '--schema-registry',
        'http://r:8081',
      ]),
      {
        bootstrap: 'h:1',
        schemaRegistryUrl: 'http://r:8081',
        port: 8090,
        instanceTimeoutMs: 300_000,
      },
    );
    const defaults = parseRestProxyArgs(['--bootstrap-server', 'h:1']);
    assert.equal(defaults === 'help' ? undefined : defaults.port, 8082);
    assert.equal(parseRestProxyArgs(['--help']), 'help');
    const cases: [string[], RegExp][] = [
      [[], /--bootstrap-server HOST:PORT is required/],
      [['--bootstrap-server', 'nohost'], /'nohost' is not HOST:PORT/],
      [['--bootstrap-server', 'h:1', '--port', '70000'], /--port: '70000'/],
      [
        ['--bootstrap-server', 'h:1', '--schema-registry', 'registry'],
        /--schema-registry: 'registry' is not an http/,
      ],
      [['--bootstrap-server', 'h:1', '--what'], /Unknown option '--what'/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => parseRestProxyArgs(args),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    }
  });

  it('serves on its port (Kafka unreachable: 50002, no hang) and exits 0 on SIGTERM; bad usage exits 2', {
    timeout: 120_000,
  }, async () => {
    const child = spawn(
      process.execPath,
      ['bin/kstack.ts', 'rest-proxy', '--bootstrap-server', '127.0.0.1:20399', '--port', '20302'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = once(child, 'exit');
    while (!output.includes('http://127.0.0.1:20302')) {
      await Promise.race([
        once(child.stdout, 'data'),
        exited.then(() => assert.fail(`exited early: ${output}`)),
      ]);
    }
    const root = await call('http://127.0.0.1:20302', '/');
    assert.deepEqual([root.status, root.json], [200, {}]);
    // Nothing listens at the Kafka address: a request that needs Kafka answers (Confluent's 50002,
    // naming the broker it could not reach) once the client gives up, it does not hang.
    const started = Date.now();
    const topics = await call('http://127.0.0.1:20302', '/topics');
    assertError(topics, 500, 50002, /127\.0\.0\.1:20399/);
    assert.ok(Date.now() - started < 60_000, `GET /topics took ${Date.now() - started} ms`);
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
    const bad = spawn(process.execPath, ['bin/kstack.ts', 'rest-proxy', '--port', '1'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const [badCode] = await once(bad, 'exit');
    assert.equal(badCode, 2);
    assert.match(stderr, /--bootstrap-server HOST:PORT is required/);
  });
});
