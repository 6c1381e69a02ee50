/**
 * The UI server in-process (fastify's inject, and one real listening socket for the port check):
 * the guard against cross-site requests and DNS rebinding, --read-only, the answers that need no
 * cluster (bad input, confirmation, no registry, an unreachable cluster), the page's fallback, the
 * flags of `kstack ui`, how bytes are shown, and the Faults API's answers from a fault control
 * endpoint (src/engine's own, over a node list of three), the Connect API's answers without a
 * worker (none configured, one that does not answer, bad input named before asking). Ports: the UI
 * 21402, the fault control 24190; 21499 is a Kafka address nothing listens on, 24199 a fault
 * control and a Connect worker nothing listens on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../../src/common/cli-errors.ts';
import { FaultError, serveFaultControl } from '../../src/engine/fault-control.ts';
import { parseUiArgs } from '../../src/ui/command.ts';
import { SHOWN_BYTES_MAX, showPlain } from '../../src/ui/decode.ts';
import { buildUi, startUi, type Ui } from '../../src/ui/server.ts';

const NOBODY = '127.0.0.1:21499';
const UI_PORT = 21402;
const assetsDir = mkdtempSync(join(tmpdir(), 'kstack-ui-assets-'));
writeFileSync(join(assetsDir, 'index.html'), '<!doctype html><title>kstack UI</title>');

const SAME_ORIGIN = {
  host: '127.0.0.1:8080',
  origin: 'http://127.0.0.1:8080',
  'content-type': 'application/json',
};

function errorOf(body: string): { code: string; message: string } {
  return (JSON.parse(body) as { error: { code: string; message: string } }).error;
}

describe('the UI server without a cluster', () => {
  let ui: Ui;
  let readOnlyUi: Ui;
  before(async () => {
    ui = await buildUi({ bootstrap: NOBODY, assetsDir, kafkaRequestTimeoutMs: 2_000 });
    readOnlyUi = await buildUi({ bootstrap: NOBODY, assetsDir, readOnly: true });
  });
  after(async () => {
    await ui.close();
    await readOnlyUi.close();
    rmSync(assetsDir, { recursive: true, force: true });
  });

  it('serves the page with a policy that allows nothing from another origin, and the page for its routes', async () => {
    const page = await ui.app.inject({ method: 'GET', url: '/', headers: { host: 'localhost:8080' } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /kstack UI/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const deep = await ui.app.inject({
      method: 'GET',
      url: '/topics/orders',
      headers: { host: 'localhost' },
    });
    assert.equal(deep.statusCode, 200);
    assert.match(deep.body, /kstack UI/);
    const api = await ui.app.inject({ method: 'GET', url: '/api/nothing', headers: { host: 'localhost' } });
    assert.equal(api.statusCode, 404);
    assert.equal(errorOf(api.body).code, 'UI_NOT_FOUND');
  });

  it('refuses a Host that is not its own (DNS rebinding)', async () => {
    const answer = await ui.app.inject({
      method: 'GET',
      url: '/api/topics',
      headers: { host: 'evil.example:8080' },
    });
    assert.equal(answer.statusCode, 421);
    assert.equal(errorOf(answer.body).code, 'UI_WRONG_HOST');
    assert.match(errorOf(answer.body).message, /evil\.example:8080/);
  });

  it('refuses changes without its own Origin or without a JSON body', async () => {
    const cases: { headers: Record<string, string>; message: RegExp }[] = [
      {
        headers: { host: '127.0.0.1:8080', 'content-type': 'application/json' },
        message: /without an Origin/,
      },
      {
        headers: { ...SAME_ORIGIN, origin: 'http://evil.example' },
        message: /Origin 'http:\/\/evil\.example' is not this UI/,
      },
      {
        headers: { ...SAME_ORIGIN, 'content-type': 'text/plain' },
        message: /application\/json, not 'text\/plain'/,
      },
    ];
    for (const { headers, message } of cases) {
      const answer = await ui.app.inject({
        method: 'POST',
        url: '/api/topics/t/delete',
        headers,
        payload: '{}',
      });
      assert.equal(answer.statusCode, 403, answer.body);
      assert.equal(errorOf(answer.body).code, 'UI_CROSS_SITE');
      assert.match(errorOf(answer.body).message, message);
    }
  });

  it('refuses every change with --read-only, and still reads', async () => {
    const answer = await readOnlyUi.app.inject({
      method: 'POST',
      url: '/api/topics',
      headers: SAME_ORIGIN,
      payload: JSON.stringify({ name: 'x' }),
    });
    assert.equal(answer.statusCode, 403);
    assert.equal(errorOf(answer.body).code, 'UI_READ_ONLY');
    const page = await readOnlyUi.app.inject({ method: 'GET', url: '/', headers: { host: '127.0.0.1' } });
    assert.equal(page.statusCode, 200);
  });

  it('names the field at fault, asks for the typed name before deleting, and says when there is no registry', async () => {
    const post = (url: string, body: unknown) =>
      ui.app.inject({ method: 'POST', url, headers: SAME_ORIGIN, payload: JSON.stringify(body) });
    const noName = await post('/api/topics', { partitions: 3 });
    assert.equal(noName.statusCode, 400);
    assert.match(errorOf(noName.body).message, /^name: /);
    const badPartitions = await post('/api/topics', { name: 'ok', partitions: 'many' });
    assert.equal(badPartitions.statusCode, 400);
    assert.match(errorOf(badPartitions.body).message, /^partitions: 'many' is not a whole number/);
    const unconfirmed = await post('/api/topics/orders/delete', { confirm: 'order' });
    assert.equal(unconfirmed.statusCode, 409);
    assert.equal(errorOf(unconfirmed.body).code, 'UI_CONFIRMATION_NEEDED');
    const badReset = await post('/api/groups/g/reset', {});
    assert.equal(badReset.statusCode, 400);
    assert.match(errorOf(badReset.body).message, /^topic: /);
    const schemas = await ui.app.inject({
      method: 'GET',
      url: '/api/schemas',
      headers: { host: '127.0.0.1' },
    });
    assert.equal(schemas.statusCode, 404);
    assert.equal(errorOf(schemas.body).code, 'UI_NO_REGISTRY');
    const schemaCases: [string, unknown, number, string, RegExp][] = [
      ['/api/schemas/s/versions', {}, 400, 'UI_BAD_REQUEST', /^schema: the schema text is required/],
      [
        '/api/schemas/s/versions',
        { schema: '{}', schemaType: 'XML' },
        400,
        'UI_BAD_REQUEST',
        /^schemaType: 'XML'/,
      ],
      ['/api/schemas/s/compatibility', { schema: '{}' }, 404, 'UI_NO_REGISTRY', /--schema-registry-url/],
      ['/api/schemas/s/config', {}, 400, 'UI_BAD_REQUEST', /^compatibility: the level is required/],
      ['/api/schemas/s/delete', { confirm: 't' }, 409, 'UI_CONFIRMATION_NEEDED', /deleting subject 's'/],
      ['/api/schemas/s/versions/1/delete', { confirm: 's' }, 404, 'UI_NO_REGISTRY', /--schema-registry-url/],
    ];
    for (const [url, body, status, code, message] of schemaCases) {
      const answer = await post(url, body);
      assert.equal(answer.statusCode, status, `${url}: ${answer.body}`);
      assert.equal(errorOf(answer.body).code, code, url);
      assert.match(errorOf(answer.body).message, message, url);
    }
  });

  it('answers 502 naming Kafka when the cluster does not answer', { timeout: 60_000 }, async () => {
    const answer = await ui.app.inject({ method: 'GET', url: '/api/topics', headers: { host: '127.0.0.1' } });
    assert.equal(answer.statusCode, 502, answer.body);
    assert.equal(errorOf(answer.body).code, 'KAFKA_UNREACHABLE');
    assert.match(errorOf(answer.body).message, /^Kafka did not answer/);
  });
});

describe('the UI listening on a port', () => {
  it('serves on 127.0.0.1 and accepts only its own port in the Host header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstack-ui-assets-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>kstack UI</title>');
    const ui = await startUi({ bootstrap: NOBODY, port: UI_PORT, assetsDir: dir });
    try {
      assert.equal(ui.url, `http://127.0.0.1:${UI_PORT}`);
      const own = await fetch(`${ui.url}/`);
      assert.equal(own.status, 200);
      const otherPort = await new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request(
            { host: '127.0.0.1', port: UI_PORT, path: '/', headers: { host: '127.0.0.1:9999' } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        }, reject);
      });
      assert.equal(otherPort, 421);
    } finally {
      await ui.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kstack ui flags', () => {
  it('takes the bootstrap, port, URLs and --read-only', () => {
    assert.deepEqual(
      parseUiArgs([
        '--bootstrap-server',
        '127.0.0.1:9092',
        '--port',
        '8181',
        '--schema-registry-url',
        'http://127.0.0.1:8081',
        '--fault-control-url',
        'http://127.0.0.1:9102',
        '--read-only',
      ]),
      {
        bootstrap: '127.0.0.1:9092',
        port: 8181,
        host: '127.0.0.1',
        schemaRegistryUrl: 'http://127.0.0.1:8081',
        connectUrl: undefined,
        faultControlUrl: 'http://127.0.0.1:9102',
        readOnly: true,
      },
    );
    assert.equal(parseUiArgs(['--help']), 'help');
  });

  it('refuses bad usage naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [[], /--bootstrap-server HOST:PORT is required/],
      [['--bootstrap-server', 'nohost'], /--bootstrap-server: 'nohost' is not HOST:PORT/],
      [['--bootstrap-server', 'h:1', '--port', '70000'], /--port: '70000' is not a port/],
      [
        ['--bootstrap-server', 'h:1', '--schema-registry-url', 'ftp://x'],
        /--schema-registry-url: 'ftp:\/\/x'/,
      ],
      [['--bootstrap-server', 'h:1', '--fault-control-url', 'nope'], /--fault-control-url: 'nope'/],
      [['--bootstrap-server', 'h:1', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases)
      assert.throws(
        () => parseUiArgs(args),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
  });
});

describe('the Faults API', () => {
  const FAULT_PORT = 24190;
  const NOWHERE = 'http://127.0.0.1:24199';
  const nodes = [1, 2, 3].map((nodeId) => ({
    nodeId,
    pid: 1000 + nodeId,
    state: 'running',
    registered: true,
    restarts: 0,
  }));
  const acted: string[] = [];
  let control: { url: string; close(): Promise<void> };
  let ui: Ui;
  let unreachable: Ui;
  let noControl: Ui;
  before(async () => {
    control = await serveFaultControl(
      {
        list: () => nodes,
        act: async (nodeId, action) => {
          const node = nodes.find((n) => n.nodeId === nodeId);
          if (node === undefined) throw new FaultError('NODE_UNKNOWN', `no node ${nodeId} in this cluster`);
          if (action.kind === 'resume')
            throw new FaultError('NODE_NOT_PAUSED', `node ${nodeId} is running, not paused`);
          acted.push(`${nodeId} ${JSON.stringify(action)}`);
          return node;
        },
      },
      { host: '127.0.0.1', port: FAULT_PORT },
    );
    ui = await buildUi({
      bootstrap: NOBODY,
      assetsDir,
      faultControlUrl: control.url,
      kafkaRequestTimeoutMs: 2_000,
    });
    unreachable = await buildUi({ bootstrap: NOBODY, assetsDir, faultControlUrl: NOWHERE });
    noControl = await buildUi({ bootstrap: NOBODY, assetsDir });
  });
  after(async () => {
    await Promise.all([ui.close(), unreachable.close(), noControl.close()]);
    await control.close();
  });
  const post = (target: Ui, url: string, body: unknown) =>
    target.app.inject({ method: 'POST', url, headers: SAME_ORIGIN, payload: JSON.stringify(body) });

  it('passes an action and its body to the fault control, and answers its node', async () => {
    const answer = await post(ui, '/api/faults/nodes/2/kill', { restart: false });
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { nodeId: number }).nodeId, 2);
    const slowed = await post(ui, '/api/faults/nodes/3/slow', { delayMs: 250, from: 'clients' });
    assert.equal(slowed.statusCode, 200, slowed.body);
    assert.deepEqual(acted, [
      '2 {"kind":"kill","restart":false}',
      '3 {"kind":"slow","delayMs":250,"from":"clients"}',
    ]);
  });

  it("answers the fault control's refusals with its code and words, and its own bad input naming the field", async () => {
    const cases: [string, unknown, number, string, RegExp][] = [
      ['/api/faults/nodes/2/resume', {}, 409, 'FAULT_NODE_NOT_PAUSED', /node 2 is running, not paused/],
      ['/api/faults/nodes/7/kill', {}, 404, 'FAULT_NODE_UNKNOWN', /no node 7/],
      ['/api/faults/nodes/1/slow', { delayMs: 0 }, 400, 'FAULT_REQUEST_INVALID', /delayMs: '0'/],
      ['/api/faults/nodes/1/isolate', { from: 'moon' }, 400, 'FAULT_REQUEST_INVALID', /from: 'moon'/],
      ['/api/faults/nodes/1/explode', {}, 400, 'UI_BAD_REQUEST', /action: 'explode' is not one of kill/],
      ['/api/faults/nodes/x/kill', {}, 400, 'UI_BAD_REQUEST', /node id: 'x'/],
      ['/api/faults/producer', { topic: 42 }, 400, 'UI_BAD_REQUEST', /topic: a topic name/],
    ];
    for (const [url, body, status, code, message] of cases) {
      const answer = await post(ui, url, body);
      assert.equal(answer.statusCode, status, `${url}: ${answer.body}`);
      assert.equal(errorOf(answer.body).code, code, url);
      assert.match(errorOf(answer.body).message, message, url);
    }
  });

  it('says when no fault control is configured or when it does not answer', async () => {
    const none = await post(noControl, '/api/faults/nodes/1/kill', {});
    assert.equal(none.statusCode, 404);
    assert.equal(errorOf(none.body).code, 'UI_NO_FAULT_CONTROL');
    const away = await post(unreachable, '/api/faults/nodes/1/kill', {});
    assert.equal(away.statusCode, 502);
    assert.equal(errorOf(away.body).code, 'FAULT_CONTROL_UNREACHABLE');
    assert.match(errorOf(away.body).message, /127\.0\.0\.1:24199/);
    const snapshot = await unreachable.app.inject({
      method: 'GET',
      url: '/api/faults',
      headers: { host: 'localhost' },
    });
    assert.equal(snapshot.statusCode, 200);
    const view = JSON.parse(snapshot.body) as { nodes: unknown; nodesError: string; metadataError: string };
    assert.equal(view.nodes, null);
    assert.match(view.nodesError, /did not answer/);
    assert.match(view.metadataError, /Kafka did not answer/);
  });
});

describe('the Connect API without a worker', () => {
  let none: Ui;
  let away: Ui;
  before(async () => {
    none = await buildUi({ bootstrap: NOBODY, assetsDir });
    // A Connect URL nothing listens on (24199, docs/team-rules.md).
    away = await buildUi({ bootstrap: NOBODY, assetsDir, connectUrl: 'http://127.0.0.1:24199' });
  });
  after(async () => {
    await none.close();
    await away.close();
  });
  const send = (ui: Ui, url: string, body?: unknown) =>
    ui.app.inject({
      method: body === undefined ? 'GET' : 'POST',
      url,
      headers: body === undefined ? { host: 'localhost' } : SAME_ORIGIN,
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  it('says when no Connect worker is configured, and names the URL of one that does not answer', async () => {
    for (const [url, body] of [
      ['/api/connect', undefined],
      ['/api/connect/events', undefined],
      ['/api/connect/plugins', undefined],
      ['/api/connect/connectors/files', undefined],
      ['/api/connect/connectors', { name: 'files', config: { 'connector.class': 'X' } }],
      ['/api/connect/connectors/files/pause', {}],
    ] as const) {
      const answer = await send(none, url, body);
      assert.equal(answer.statusCode, 404, url);
      assert.equal(errorOf(answer.body).code, 'UI_NO_CONNECT', url);
      assert.match(errorOf(answer.body).message, /--connect-url/);
    }
    const unreachable = await send(away, '/api/connect');
    assert.equal(unreachable.statusCode, 502);
    assert.equal(errorOf(unreachable.body).code, 'CONNECT_UNREACHABLE');
    assert.match(errorOf(unreachable.body).message, /127\.0\.0\.1:24199/);
  });

  it('names the field at fault before asking Connect, and asks for the typed name before deleting', async () => {
    const cases: { url: string; body: unknown; status: number; code: string; message: RegExp }[] = [
      {
        url: '/api/connect/connectors',
        body: { config: {} },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /^name:/,
      },
      {
        url: '/api/connect/connectors',
        body: { name: 'files', config: '{"connector.class": ' },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /^config: a JSON object/,
      },
      {
        url: '/api/connect/connectors',
        body: { name: 'files', config: { 'tasks.max': { nested: 1 } } },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /'tasks\.max' must be a string, number or boolean/,
      },
      {
        url: '/api/connect/validate',
        body: { config: [] },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /^config:/,
      },
      {
        url: '/api/connect/connectors/files/delete',
        body: { confirm: 'file' },
        status: 409,
        code: 'UI_CONFIRMATION_NEEDED',
        message: /connector 'files'/,
      },
      {
        url: '/api/connect/connectors/files/explode',
        body: {},
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /'explode' is none of pause, resume, stop, restart/,
      },
      {
        url: '/api/connect/connectors/files/restart',
        body: { includeTasks: 'yes' },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /^includeTasks:/,
      },
      {
        url: '/api/connect/connectors/files/offsets',
        body: { offsets: {} },
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /^offsets:/,
      },
      {
        url: '/api/connect/connectors/files/tasks/x/restart',
        body: {},
        status: 400,
        code: 'UI_BAD_REQUEST',
        message: /'x' is not a task id/,
      },
    ];
    for (const { url, body, status, code, message } of cases) {
      const answer = await send(away, url, body);
      assert.equal(answer.statusCode, status, `${url} ${JSON.stringify(body)}: ${answer.body}`);
      assert.equal(errorOf(answer.body).code, code, url);
      assert.match(errorOf(answer.body).message, message, url);
    }
  });
});

describe('how bytes are shown', () => {
  it('as JSON, text, hex or null, cut at the named limit', () => {
    assert.deepEqual(showPlain(null), { encoding: 'null', text: '', bytes: 0, truncated: false });
    assert.equal(showPlain(Buffer.from('{"a":[1,2]}')).encoding, 'json');
    assert.equal(showPlain(Buffer.from('{"a":[1,2]}')).text, '{\n  "a": [\n    1,\n    2\n  ]\n}');
    assert.equal(showPlain(Buffer.from('{not json')).encoding, 'text');
    assert.deepEqual(showPlain(Buffer.from([0xff, 0x00, 0x10])), {
      encoding: 'hex',
      text: 'ff0010',
      bytes: 3,
      truncated: false,
    });
    const big = showPlain(Buffer.alloc(SHOWN_BYTES_MAX + 10, 0x61));
    assert.equal(big.truncated, true);
    assert.equal(big.text.length, SHOWN_BYTES_MAX);
    assert.equal(big.bytes, SHOWN_BYTES_MAX + 10);
  });
});
