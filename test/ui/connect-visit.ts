/**
 * The web UI's Connect page used in Chromium as a person would, against a real Connect worker whose
 * REST API answers every check directly: the connectors already running show RUNNING with their
 * tasks; a connector created from JSON: malformed JSON refused in the page, then Connect's own
 * validation errors per field, then, fixed, it is created and runs; it is paused and resumed from
 * its page, restarted with its tasks (Connect's own answer: RESTARTING) and its task 0 restarted;
 * it is deleted after its name is typed again. States reach the page by push (server-sent events): the test never clicks Reload.
 * axe-core on both pages; screenshots in $KSTACK_UI_SCREENSHOTS.
 * Used by test/engine/cluster-up.slow.ts (the `kstack up --brokers 3` stack's own worker and UI).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { fileSource, type RestWorker, rest } from '../connect/scenarios.ts';
import { assertAccessible, screenshot, tableRows } from './page-support.ts';

export { SCREENSHOTS } from './page-support.ts';

const POLL_MS = 250;

export interface ConnectVisit {
  readonly page: Page;
  /** The web UI, e.g. http://127.0.0.1:8080. */
  readonly uiUrl: string;
  /** The worker the UI was given (`--connect-url`), asked directly for every check. */
  readonly worker: RestWorker;
  /** Connectors already running on the worker, each with `tasks` tasks. */
  readonly running: readonly string[];
  /** The new connector's name, its input file (written here) and topic. */
  readonly name: string;
  readonly file: string;
  readonly topic: string;
  /** Screenshot name prefix. */
  readonly prefix: string;
  /** Every wait's limit (generous: CI is a loaded 2-core machine). */
  readonly waitMs: number;
}

interface Status {
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string }[];
}

export async function visitConnectPage(visit: ConnectVisit): Promise<void> {
  const { page, uiUrl, worker, name, waitMs } = visit;
  // Where the time goes (printed at the end): ms per step.
  const steps: string[] = [];
  let stepAt = performance.now();
  const mark = (step: string) => {
    steps.push(`${step} ${Math.round(performance.now() - stepAt)}`);
    stepAt = performance.now();
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        await screenshot(page, `${visit.prefix}failed-${what.replaceAll(/\W+/g, '-')}`);
        throw new Error(`timed out waiting for ${what}`);
      }
      await sleep(POLL_MS);
    }
  };
  const status = async (connector: string): Promise<Status | undefined> => {
    const answer = await rest(worker, 'GET', `/connectors/${connector}/status`);
    return answer.status === 200 ? (answer.body as Status) : undefined;
  };
  /**
   * The Connectors table's row of `connector` once it shows `state` and task 0 `state`, never
   * reloaded by the test: the page reads again when the server's pushed events show a change.
   */
  const rowShows = (connector: string, state: string) =>
    waitFor(`${connector}'s row ${state} with its task (pushed, no reload)`, async () => {
      const row = (await tableRows(page, 'Connectors')).find((cells) => cells[0] === connector);
      return row?.[2] === state && row[4] === `0: ${state}` ? row : undefined;
    });

  // The connectors already running, each RUNNING with its task, on the worker Connect names.
  await page.goto(`${uiUrl}/#/connect`);
  for (const connector of visit.running) {
    const row = await rowShows(connector, 'RUNNING');
    const direct = await status(connector);
    assert.equal(direct?.connector.state, 'RUNNING', `${connector} (Connect's status)`);
    assert.equal(row[3], direct.connector.worker_id, `${connector}'s worker`);
  }

  mark('running rows');
  // A config with an error: Connect's own validation message beside the field, nothing created.
  writeFileSync(visit.file, 'first line\nsecond line\n');
  const config = fileSource(visit.file, visit.topic);
  const bad = { ...config, 'tasks.max': 'many' };
  const validated = (await rest(
    worker,
    'PUT',
    `/connector-plugins/${config['connector.class']}/config/validate`,
    {
      ...bad,
      name,
    },
  )) as { body: { configs: { value: { name: string; errors: string[] } }[] } };
  const expected = validated.body.configs
    .filter((c) => c.value.errors.length > 0)
    .map((c) => [c.value.name, c.value.errors.join(' ')]);
  assert.ok(
    expected.some(([field]) => field === 'tasks.max'),
    JSON.stringify(expected),
  );
  await page.getByLabel('Name', { exact: true }).fill(name);
  // Malformed JSON: refused in the page, beside the config, before anything is sent.
  await page.getByLabel('Config (JSON)').fill('{"connector.class": ');
  await page.getByRole('button', { name: 'Create connector' }).click();
  await page.getByText('Config is not valid JSON:').waitFor({ timeout: waitMs });
  await page.getByLabel('Config (JSON)').fill(JSON.stringify(bad, null, 2));
  await page.getByRole('button', { name: 'Create connector' }).click();
  const shown = await waitFor('the config errors per field', async () => {
    const rows = await tableRows(page, 'Config errors');
    return rows.length > 0 ? rows : undefined;
  });
  assert.deepEqual(shown, expected);
  assert.equal(
    ((await rest(worker, 'GET', '/connectors')).body as string[]).includes(name),
    false,
    'nothing created',
  );
  await screenshot(page, `${visit.prefix}connect-config-errors`);
  await assertAccessible(page, 'Connect (config errors)');

  mark('config errors');
  // Fixed: created, and it runs (Connect's status, then the page).
  await page.getByLabel('Config (JSON)').fill(JSON.stringify(config, null, 2));
  await page.getByRole('button', { name: 'Create connector' }).click();
  await page.getByText(`Connector ${name} created.`).waitFor({ timeout: waitMs });
  await waitFor(`${name} and its task RUNNING (Connect's status)`, async () => {
    const s = await status(name);
    return s?.connector.state === 'RUNNING' && s.tasks[0]?.state === 'RUNNING' ? true : undefined;
  });
  await rowShows(name, 'RUNNING');
  await screenshot(page, `${visit.prefix}connect`);
  await assertAccessible(page, 'Connect');

  mark('created, RUNNING');
  // Its page: paused, resumed, each read back from Connect and shown.
  await page.goto(`${uiUrl}/#/connect/${encodeURIComponent(name)}`);
  const rowShowsOnPage = (state: string) =>
    waitFor(`the page showing ${name} and its task ${state} (pushed, no reload)`, async () => {
      const shownState = await page
        .locator('#connector-state')
        .textContent({ timeout: 1_000 })
        .catch(() => null);
      const task = (await tableRows(page, 'Connector tasks'))[0];
      return shownState === state && task?.[1] === state ? true : undefined;
    });
  const act = async (button: string, state: string) => {
    await page.getByRole('button', { name: button, exact: true }).click();
    // The connector, then its task (Connect moves the task after the connector).
    await waitFor(`${name} and its task ${state} after ${button} (Connect's status)`, async () => {
      const s = await status(name);
      return s?.connector.state === state && s.tasks[0]?.state === state ? true : undefined;
    });
    await rowShowsOnPage(state);
  };
  await act('Pause', 'PAUSED');
  await screenshot(page, `${visit.prefix}connector-paused`);
  await act('Resume', 'RUNNING');
  await assertAccessible(page, 'Connector');

  mark('paused, resumed');
  // Restart with its tasks: Connect's own answer (KIP-745's 202: the connector and task 0
  // RESTARTING) comes back through the UI; then a task restart; both RUNNING again after.
  await page.getByLabel('with its tasks').check();
  const restarted = page.waitForResponse(
    (r) =>
      r.request().method() === 'POST' && r.url().endsWith(`/connectors/${encodeURIComponent(name)}/restart`),
  );
  await page.getByRole('button', { name: 'Restart', exact: true }).click();
  const restartAnswer = await restarted;
  assert.equal(restartAnswer.status(), 200, await restartAnswer.text());
  const answered = (await restartAnswer.json()) as { status: Status };
  assert.equal(answered.status.connector.state, 'RESTARTING', JSON.stringify(answered));
  assert.equal(answered.status.tasks[0]?.state, 'RESTARTING', JSON.stringify(answered));
  await page.getByText('Restart requested.').waitFor({ timeout: waitMs });
  const taskRestarted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.url().endsWith('/tasks/0/restart'),
  );
  await page.getByRole('button', { name: 'Restart task 0' }).click();
  const taskAnswer = await taskRestarted;
  assert.equal(taskAnswer.status(), 200, await taskAnswer.text());
  assert.deepEqual(await taskAnswer.json(), { restarted: `${name}-0` });
  await page.getByText('Task 0 restart requested.').waitFor({ timeout: waitMs });
  await waitFor(`${name} and its task RUNNING after the restarts (Connect's status)`, async () => {
    const s = await status(name);
    return s?.connector.state === 'RUNNING' && s.tasks[0]?.state === 'RUNNING' ? true : undefined;
  });
  await rowShowsOnPage('RUNNING');

  mark('restarted');
  // Delete: refused until the name is typed, then gone from Connect's list.
  assert.equal(await page.getByRole('button', { name: 'Delete connector' }).isDisabled(), true);
  await page.getByLabel('Type the connector name to confirm').fill(name);
  await page.getByRole('button', { name: 'Delete connector' }).click();
  await waitFor(`${name} gone from Connect's list`, async () =>
    ((await rest(worker, 'GET', '/connectors')).body as string[]).includes(name) ? undefined : true,
  );
  mark('deleted');
  console.log(`the Connect page's steps (ms): ${steps.join(', ')}`);
}
