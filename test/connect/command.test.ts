/**
 * `kstack connect`: its arguments and worker properties, exit 2 on bad usage, exit 1 naming the
 * cause when no cluster answers (no JVM is started then). `kstack up`'s Connect flags: parsing, and
 * `--no-connect` leaving the worker out (named as not served, its port 24232 left free);
 * `--connect-plugins DIR` reaching the worker's plugin.path is checked in clusters.slow.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { parseConnectArgs } from '../../src/connect/command.ts';
import { startConnectCompanion } from '../../src/connect/companion.ts';
import { javaMajorVersion, shippedPluginsDir, workerProperties } from '../../src/connect/worker.ts';
import { startCompanions } from '../../src/engine/companions.ts';
import { parseUpArgs } from '../../src/engine/up-command.ts';
import { parseStatusArgs } from '../../src/tools/status-command.ts';
import { connectStatusText, readConnectStatus } from '../../src/tools/status-connect.ts';
import { runTool } from '../engine/run-tool.ts';

/** Nothing listens here: the cluster the worker cannot reach. */
const NO_CLUSTER_PORT = 21399;
/** A Connect companion's port, which --no-connect leaves free. */
const CONNECT_PORT = 24232;

describe('kstack connect', { timeout: 120_000 }, () => {
  it('parses its arguments', () => {
    const options = parseConnectArgs(['--bootstrap-server', 'h:1,h:2']);
    assert.ok(options !== 'help');
    assert.equal(options.bootstrap, 'h:1,h:2');
    assert.equal(options.port, 8083);
    assert.equal(options.host, '127.0.0.1');
    assert.equal(options.groupId, 'kstack-connect');
    assert.equal(options.workDir, resolve('.data/connect-8083'));
    assert.deepEqual(options.pluginDirs, []);
    const custom = parseConnectArgs([
      '--bootstrap-server',
      'h:1',
      '--port',
      '9083',
      '--group-id',
      'g2',
      '--plugins',
      'mine',
      '--override',
      'exactly.once.source.support=enabled',
      '--override',
      'a.b=x=y',
    ]);
    assert.ok(custom !== 'help');
    assert.equal(custom.port, 9083);
    assert.equal(custom.groupId, 'g2');
    assert.deepEqual(custom.pluginDirs, [resolve('mine')]);
    assert.deepEqual(
      [...(custom.overrides ?? [])],
      [
        ['exactly.once.source.support', 'enabled'],
        ['a.b', 'x=y'],
      ],
    );
    assert.equal(parseConnectArgs(['--help']), 'help');
  });

  it('refuses bad usage, naming the flag', () => {
    assert.throws(() => parseConnectArgs([]), /--bootstrap-server HOST:PORT is required/);
    assert.throws(() => parseConnectArgs(['--bootstrap-server', 'h:1', '--port', '0']), /--port: '0'/);
    assert.throws(() => parseConnectArgs(['--bootstrap-server', 'h:1', '--port', 'x']), /--port: 'x'/);
    assert.throws(
      () => parseConnectArgs(['--bootstrap-server', 'h:1', '--override', 'novalue']),
      /--override: 'novalue'/,
    );
    assert.throws(
      () => parseConnectArgs(['--bootstrap-server', 'h:1', '--group-id', '']),
      /--group-id: empty/,
    );
    assert.throws(() => parseConnectArgs(['--bootstrap-server', 'h:1', '--bogus']), /bogus/);
  });

  it("writes the Compose stack's worker settings, replication factor min(3, brokers)", () => {
    const base = { bootstrap: 'h:1', port: 9083, workDir: '/w' };
    const one = workerProperties(base, 1);
    assert.equal(one.get('group.id'), 'kstack-connect');
    assert.equal(one.get('config.storage.topic'), '_connect-configs');
    assert.equal(one.get('offset.storage.topic'), '_connect-offsets');
    assert.equal(one.get('status.storage.topic'), '_connect-status');
    for (const store of ['config', 'offset', 'status']) {
      assert.equal(one.get(`${store}.storage.replication.factor`), '1');
    }
    assert.equal(one.get('listeners'), 'http://127.0.0.1:9083');
    assert.equal(one.get('plugin.path'), shippedPluginsDir());
    assert.equal(one.get('plugin.discovery'), 'service_load');
    const five = workerProperties(
      { ...base, pluginDirs: ['/mine'], overrides: new Map([['group.id', 'other']]) },
      5,
    );
    assert.equal(five.get('status.storage.replication.factor'), '3');
    assert.equal(five.get('plugin.path'), `${shippedPluginsDir()},/mine`);
    // A user's folder may hold plugins without ServiceLoader manifests.
    assert.equal(five.get('plugin.discovery'), 'hybrid_warn');
    assert.equal(five.get('group.id'), 'other');
  });

  it('reads the Java version', async () => {
    const major = await javaMajorVersion();
    assert.ok(major !== undefined && major >= 17, `java on PATH: ${major}`);
  });

  it('without java on PATH, the companion refuses to start in one line naming Java 17', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'kstack-connect-no-java-'));
    try {
      await assert.rejects(
        startConnectCompanion({
          bootstrap: '127.0.0.1:1',
          port: NO_CLUSTER_PORT,
          workDir: '/nonexistent',
          log: () => {},
        }),
        {
          name: 'ConnectUnavailableError',
          message: /Kafka Connect needs a Java 17\+ runtime and there is no `java` on PATH/,
        },
      );
    } finally {
      rmSync(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });

  it('the companion refuses a taken port at once, naming it', async () => {
    const server = createServer();
    await new Promise<void>((resolveListen) => server.listen(NO_CLUSTER_PORT, '127.0.0.1', resolveListen));
    try {
      await assert.rejects(
        startConnectCompanion({ bootstrap: '127.0.0.1:1', port: NO_CLUSTER_PORT }),
        new RegExp(`port ${NO_CLUSTER_PORT} is taken`),
      );
    } finally {
      await new Promise((resolveClose) => server.close(resolveClose));
    }
  });

  it('exits 2 on bad usage and 1 naming the cluster when none answers', async () => {
    const usage = await runTool(process.execPath, ['bin/kstack.ts', 'connect', '--port', '1']);
    assert.equal(usage.code, 2, usage.stderr);
    assert.match(usage.stderr, /--bootstrap-server HOST:PORT is required/);
    const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-command-'));
    const unreachable = await runTool(process.execPath, [
      'bin/kstack.ts',
      'connect',
      '--bootstrap-server',
      `127.0.0.1:${NO_CLUSTER_PORT}`,
      '--port',
      String(NO_CLUSTER_PORT),
      '--data-dir',
      dir,
    ]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.match(unreachable.stderr, new RegExp(`no broker of 127\\.0\\.0\\.1:${NO_CLUSTER_PORT} answered`));
  });
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('kstack up --no-connect and --connect-plugins', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-connect-flags-'));
  const plugins = join(dir, 'my-plugins');
  mkdirSync(plugins);
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses the flags, refusing a missing folder and the two together', () => {
    const plain = parseUpArgs(['--no-compose']);
    assert.ok(plain !== 'help');
    assert.equal(plain.connect, true);
    assert.deepEqual(plain.connectPlugins, []);
    const off = parseUpArgs(['--no-compose', '--no-connect']);
    assert.ok(off !== 'help');
    assert.equal(off.connect, false);
    const withPlugins = parseUpArgs(['--no-compose', '--connect-plugins', plugins, '--connect-plugins', dir]);
    assert.ok(withPlugins !== 'help');
    assert.deepEqual(withPlugins.connectPlugins, [plugins, dir]);
    assert.throws(
      () => parseUpArgs(['--no-compose', '--connect-plugins', join(dir, 'missing')]),
      (error: unknown) =>
        error instanceof UsageError && /--connect-plugins .*missing: no such folder/.test(error.message),
    );
    assert.throws(
      () => parseUpArgs(['--no-compose', '--no-connect', '--connect-plugins', plugins]),
      (error: unknown) =>
        error instanceof UsageError &&
        /--connect-plugins and --no-connect exclude each other/.test(error.message),
    );
  });

  it('--no-connect: the worker is named as not served and its port stays free', async () => {
    const companions = await startCompanions(
      `127.0.0.1:${NO_CLUSTER_PORT}`,
      [{ service: 'kafka-connect', hostPort: CONNECT_PORT }],
      join(dir, 'off'),
      undefined,
      { connect: false },
    );
    try {
      assert.deepEqual(companions.running, []);
      assert.deepEqual(companions.notServed, [
        { service: 'kafka-connect', reason: 'left out by --no-connect' },
      ]);
      assert.equal(await portFree(CONNECT_PORT), true);
      assert.equal(existsSync(join(dir, 'off', 'connect')), false, 'no worker folder written');
    } finally {
      await companions.close();
    }
  });
});

describe('kstack status --connect-url', () => {
  it('refuses a URL that is not http(s), and says when no worker answers', async () => {
    assert.throws(
      () => parseStatusArgs(['--connect-url', 'localhost:8083']),
      (error: unknown) =>
        error instanceof UsageError && /--connect-url: 'localhost:8083' is not/.test(error.message),
    );
    const options = parseStatusArgs(['--bootstrap-server', 'h:1', '--connect-url', 'http://127.0.0.1:8083']);
    assert.ok(options !== 'help');
    assert.equal(options.connectUrl, 'http://127.0.0.1:8083');
    const down = await readConnectStatus(`http://127.0.0.1:${NO_CLUSTER_PORT}`, 5_000);
    assert.deepEqual(down, {
      url: `http://127.0.0.1:${NO_CLUSTER_PORT}`,
      answering: false,
      reason: 'ECONNREFUSED',
    });
    assert.deepEqual(connectStatusText(down), [
      `Kafka Connect http://127.0.0.1:${NO_CLUSTER_PORT}: not answering (ECONNREFUSED)`,
    ]);
  });
});
