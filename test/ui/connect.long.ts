/**
 * By hand (not in CI: the Connect worker's JVM start alone is 30-80 s on the loaded machine, over
 * the slow run's budget): `node --test test/ui/connect.long.ts`.
 *
 * The Connect pages as a user drives them, in Debian's Chromium (playwright-core), against Apache
 * Kafka's own Connect worker on `kstack up` (test/connect/targets.ts) and the UI in-process with
 * `--connect-url`. Every reading is checked against what the worker's REST API answers when asked
 * directly: the plugins it lists; a malformed JSON config refused in the page (nothing created); a
 * bad `tasks.max` shown beside its field with Connect's own validation message; a FileStreamSource
 * created from the page, RUNNING with its task, worker id and topic as Connect reports them;
 * pause, resume, restart with its tasks and a task restart, each state read back from Connect; stop,
 * its offsets as Connect's GET /offsets gives them, altered (Connect then gives the new position),
 * reset (Connect then gives none); a sink whose task FAILED shows Connect's trace; delete refused until the name is typed, then gone from
 * Connect's list. axe-core on each page; screenshots in $KSTACK_UI_SCREENSHOTS.
 *
 * Ports (docs/team-rules.md): kstack 25000, its Connect worker 25001, the UI 25002.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { builtAssets } from '../../src/ui/assets.ts';
import { startUi } from '../../src/ui/server.ts';
import { fileSource, rest } from '../connect/scenarios.ts';
import { type RunningTarget, startTarget } from '../connect/targets.ts';
import { assertAccessible, SCREENSHOTS, screenshot, tableRows } from './page-support.ts';

const HOST = '127.0.0.1';
const KSTACK_PORT = 25000;
const WORKER_PORT = 25001;
const UI_PORT = 25002;
const UI_URL = `http://${HOST}:${UI_PORT}`;
/** Generous: the machine is shared and loaded; every wait is on a condition. */
const WAIT_MS = 180_000;
const POLL_MS = 250;
const CHROMIUM = '/usr/bin/chromium';
const SOURCE = 'ui-files';
const TOPIC = 'ui-connect-lines';
const SINK = 'ui-broken-sink';

let target: RunningTarget | undefined;
let browser: Browser | undefined;
let ui: { url: string; close(): Promise<void> } | undefined;

after(async () => {
  await browser?.close();
  await ui?.close();
  await target?.close();
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, page?: Page): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      if (page !== undefined) await screenshot(page, `failed-${what.replaceAll(/\W+/g, '-')}`);
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(POLL_MS);
  }
}

function textOf(page: Page, selector: string): Promise<string | null> {
  return page
    .locator(selector)
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

interface Status {
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

test('the Connect pages against a real Connect worker', { timeout: 900_000 }, async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const startedAt = performance.now();
  const [started, assetsDir, launched] = await Promise.allSettled([
    startTarget('kstack', KSTACK_PORT, WORKER_PORT),
    builtAssets(),
    chromium.launch({ executablePath: CHROMIUM, timeout: WAIT_MS }),
  ]);
  if (started.status === 'fulfilled') target = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const result of [started, assetsDir, launched]) if (result.status === 'rejected') throw result.reason;
  const running = target!;
  const worker = running.worker();
  console.log(
    `kstack and the Connect worker ready ${Math.round(performance.now() - startedAt)} ms after the start`,
  );
  ui = await startUi({
    bootstrap: running.bootstrap,
    port: UI_PORT,
    connectUrl: worker.url,
    assetsDir: (assetsDir as PromiseFulfilledResult<string>).value,
  });
  const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
  const status = async (name: string): Promise<Status | undefined> => {
    const answer = await rest(worker, 'GET', `/connectors/${name}/status`);
    return answer.status === 200 ? (answer.body as Status) : undefined;
  };
  const stateIs = (name: string, state: string, what: string) =>
    waitFor(what, async () => ((await status(name))?.connector.state === state ? true : undefined), page);

  // The plugins, as Connect lists them.
  await page.goto(`${UI_URL}/#/connect`);
  const plugins = (await rest(worker, 'GET', '/connector-plugins?connectorsOnly=true')).body as {
    class: string;
  }[];
  const shownPlugins = await waitFor(
    'the plugins table',
    async () => {
      const rows = await tableRows(page, 'Connector plugins');
      return rows.length > 0 ? rows.map((cells) => cells[0]) : undefined;
    },
    page,
  );
  assert.deepEqual(shownPlugins.sort(), plugins.map((p) => p.class).sort());
  await page.getByText('No connectors.').waitFor({ timeout: WAIT_MS });

  // A malformed JSON config: refused in the page, nothing created.
  await page.getByLabel('Name', { exact: true }).fill(SOURCE);
  await page.getByLabel('Config (JSON)').fill('{"connector.class": ');
  await page.getByRole('button', { name: 'Create connector' }).click();
  await page.getByText('Config is not valid JSON').waitFor({ timeout: WAIT_MS });
  assert.deepEqual((await rest(worker, 'GET', '/connectors')).body, []);

  // A bad tasks.max: Connect's own validation message beside the field.
  const input = join(running.dir, 'ui-input.txt');
  writeFileSync(input, 'first line\nsecond line\nthird line\n');
  const config = fileSource(input, TOPIC);
  const badConfig = { ...config, 'tasks.max': 'many' };
  const validated = (await rest(
    worker,
    'PUT',
    `/connector-plugins/${config['connector.class']}/config/validate`,
    {
      ...badConfig,
      name: SOURCE,
    },
  )) as { body: { configs: { value: { name: string; errors: string[] } }[] } };
  const expected = validated.body.configs
    .filter((c) => c.value.errors.length > 0)
    .map((c) => [c.value.name, c.value.errors.join(' ')]);
  assert.ok(
    expected.some(([field]) => field === 'tasks.max'),
    JSON.stringify(expected),
  );
  await page.getByLabel('Config (JSON)').fill(JSON.stringify(badConfig, null, 2));
  await page.getByRole('button', { name: 'Create connector' }).click();
  const shownErrors = await waitFor(
    'the config errors per field',
    async () => {
      const rows = await tableRows(page, 'Config errors');
      return rows.length > 0 ? rows : undefined;
    },
    page,
  );
  assert.deepEqual(shownErrors, expected);
  await screenshot(page, 'connect-config-errors');
  await assertAccessible(page, 'Connect (config errors)');
  assert.deepEqual((await rest(worker, 'GET', '/connectors')).body, []);

  // A valid config: created, RUNNING with its task, as Connect says.
  await page.getByLabel('Config (JSON)').fill(JSON.stringify(config, null, 2));
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByText('Connect found the config valid.').waitFor({ timeout: WAIT_MS });
  await page.getByRole('button', { name: 'Create connector' }).click();
  await page.getByText(`Connector ${SOURCE} created.`).waitFor({ timeout: WAIT_MS });
  const runningStatus = await waitFor(
    `${SOURCE} and its task RUNNING (Connect's status)`,
    async () => {
      const s = await status(SOURCE);
      return s?.connector.state === 'RUNNING' && s.tasks[0]?.state === 'RUNNING' ? s : undefined;
    },
    page,
  );
  await waitFor(
    `${SOURCE}'s row RUNNING with its task`,
    async () => {
      await page.getByRole('button', { name: 'Reload' }).click();
      const row = (await tableRows(page, 'Connectors')).find((cells) => cells[0] === SOURCE);
      return row?.[2] === 'RUNNING' && row[4] === '0: RUNNING' ? row : undefined;
    },
    page,
  );
  await screenshot(page, 'connect');
  await assertAccessible(page, 'Connect');

  // Its page: state, worker id and task as Connect reports them, and the topic it writes.
  await page.goto(`${UI_URL}/#/connect/${SOURCE}`);
  await waitFor(
    'the task row',
    async () => {
      const rows = await tableRows(page, 'Connector tasks');
      return rows[0]?.[1] === 'RUNNING' ? rows : undefined;
    },
    page,
  );
  assert.equal((await tableRows(page, 'Connector tasks'))[0]?.[2], runningStatus.tasks[0]!.worker_id);
  await waitFor(
    `${TOPIC} among the connector's topics (Connect's /topics)`,
    async () => {
      const topics = (await rest(worker, 'GET', `/connectors/${SOURCE}/topics`)).body as Record<
        string,
        { topics: string[] }
      >;
      if (!topics[SOURCE]?.topics.includes(TOPIC)) return undefined;
      await page.getByRole('button', { name: 'Reload' }).click();
      return (await page.locator('ul[aria-label="Connector topics"] li').allTextContents()).includes(TOPIC)
        ? true
        : undefined;
    },
    page,
  );

  // Pause, resume, restart with its tasks, a task restart: each read back from Connect.
  const act = async (button: string, state: string) => {
    await page.getByRole('button', { name: button, exact: true }).click();
    await stateIs(SOURCE, state, `${SOURCE} ${state} after ${button} (Connect's status)`);
    await waitFor(
      `the page showing ${state}`,
      async () => {
        await page.getByRole('button', { name: 'Reload' }).click();
        return (await textOf(page, '#connector-state')) === state ? true : undefined;
      },
      page,
    );
  };
  await act('Pause', 'PAUSED');
  await act('Resume', 'RUNNING');
  await page.getByLabel('with its tasks').check();
  await page.getByRole('button', { name: 'Restart', exact: true }).click();
  await page.getByText('Restart requested.').waitFor({ timeout: WAIT_MS });
  await page.getByRole('button', { name: 'Restart task 0' }).click();
  await page.getByText('Task 0 restart requested.').waitFor({ timeout: WAIT_MS });
  await waitFor(
    `${SOURCE}'s task RUNNING again after the restarts`,
    async () => ((await status(SOURCE))?.tasks[0]?.state === 'RUNNING' ? true : undefined),
    page,
  );
  await screenshot(page, 'connector');
  await assertAccessible(page, 'Connector');

  // Stopped: its offsets as Connect gives them, then reset.
  await act('Stop', 'STOPPED');
  const offsets = await waitFor(
    'the offsets Connect gives the stopped connector',
    async () => {
      const answer = await rest(worker, 'GET', `/connectors/${SOURCE}/offsets`);
      const list = (answer.body as { offsets?: unknown[] }).offsets;
      return answer.status === 200 && list !== undefined && list.length > 0 ? list : undefined;
    },
    page,
  );
  await waitFor(
    'the offsets on the page',
    async () => {
      await page.getByRole('button', { name: 'Reload' }).click();
      const text = await textOf(page, '#connector-offsets');
      return text !== null && JSON.stringify(JSON.parse(text)) === JSON.stringify(offsets) ? true : undefined;
    },
    page,
  );
  await screenshot(page, 'connector-stopped-offsets');
  // Altered from the page (PATCH): the file's position moved back to the second line, as Connect then gives it.
  const altered = (offsets as { partition: unknown; offset: { position: number } }[]).map((o) => ({
    partition: o.partition,
    offset: { position: 11 },
  }));
  await page.getByLabel('New offsets').fill(JSON.stringify(altered));
  await page.getByRole('button', { name: 'Alter offsets' }).click();
  await waitFor(
    'the altered offsets (Connect)',
    async () => {
      const answer = await rest(worker, 'GET', `/connectors/${SOURCE}/offsets`);
      return JSON.stringify((answer.body as { offsets?: unknown[] }).offsets) === JSON.stringify(altered)
        ? true
        : undefined;
    },
    page,
  );
  await page.getByRole('button', { name: 'Reset offsets' }).click();
  await waitFor(
    'no offsets after the reset (Connect)',
    async () => {
      const answer = await rest(worker, 'GET', `/connectors/${SOURCE}/offsets`);
      return (answer.body as { offsets?: unknown[] }).offsets?.length === 0 ? true : undefined;
    },
    page,
  );

  // Delete: refused until the name is typed, then gone from Connect's list.
  assert.equal(await page.getByRole('button', { name: 'Delete connector' }).isDisabled(), true);
  await page.getByLabel('Type the connector name to confirm').fill(SOURCE);
  await page.getByRole('button', { name: 'Delete connector' }).click();
  await waitFor(
    `${SOURCE} gone from Connect's list`,
    async () =>
      ((await rest(worker, 'GET', '/connectors')).body as string[]).includes(SOURCE) ? undefined : true,
    page,
  );

  // A task that FAILED: its trace, as Connect's status gives it.
  const sink = {
    'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
    'tasks.max': '1',
    file: join(running.dir, 'no-such-folder', 'out.txt'),
    topics: TOPIC,
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
  };
  assert.equal((await rest(worker, 'POST', '/connectors', { name: SINK, config: sink })).status, 201);
  const failed = await waitFor(
    `${SINK}'s task FAILED with a trace (Connect's status)`,
    async () => {
      const s = await status(SINK);
      return s?.tasks[0]?.state === 'FAILED' && s.tasks[0].trace !== undefined ? s.tasks[0] : undefined;
    },
    page,
  );
  await page.goto(`${UI_URL}/#/connect/${SINK}`);
  const shownTrace = await waitFor(
    'the failed task and its trace on the page',
    async () => {
      const row = (await tableRows(page, 'Connector tasks'))[0];
      return row?.[1] === 'FAILED' && row[3] !== '' ? row[3] : undefined;
    },
    page,
  );
  assert.equal(shownTrace, failed.trace!.trim());
  await screenshot(page, 'connector-failed-task');
  await assertAccessible(page, 'Connector (a failed task)');
  console.log(`Connect pages checked ${Math.round(performance.now() - startedAt)} ms after the start`);
});
