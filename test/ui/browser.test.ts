/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core, against `kstack up`
 * (one broker, a separate process) with data written by kafkajs 2.2.4 (a client we did not write),
 * and Kafka's own kafka-consumer-groups tool as the judge of lag and of an offset reset. One browser
 * and one broker for the whole file. Screenshots of each page go to $KSTACK_UI_SCREENSHOTS (default
 * <tmp>/kstack-ui-screenshots) to be looked at, and each page is checked by axe-core (no serious or
 * critical violation). Ports: kstack 21400, the UI 21401, the Schema Registry (kstack schema-registry
 * in-process) 21403.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SchemaRegistry as RegistryClient, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import protobuf from 'protobufjs';
import { KstackProcess } from '../../src/engine/process.ts';
import { startSchemaRegistry } from '../../src/registry/server.ts';
import { builtAssets } from '../../src/ui/assets.ts';
import { startUi } from '../../src/ui/server.ts';
import { runTool } from '../engine/run-tool.ts';

const BROKER_PORT = 21400;
const UI_PORT = 21401;
const REGISTRY_PORT = 21403;
const AXE_SOURCE = readFileSync(
  join(import.meta.dirname, '..', '..', 'node_modules', 'axe-core', 'axe.min.js'),
  'utf8',
);
const BOOTSTRAP = `127.0.0.1:${BROKER_PORT}`;
const CHROMIUM = '/usr/bin/chromium';
/** Generous for a loaded 2-core machine: each step waits on what the page shows, never on a clock. */
const STEP_TIMEOUT_MS = 60_000;
const SCREENSHOTS = process.env.KSTACK_UI_SCREENSHOTS ?? join(tmpdir(), 'kstack-ui-screenshots');
const REFERENCE = join(import.meta.dirname, '..', '..', 'reference');
const KAFKA_VERSION = /<kafka.version>(.*)<\/kafka.version>/.exec(
  readFileSync(join(REFERENCE, 'pom.xml'), 'utf8'),
)?.[1];
const KAFKA_LIBS = join(homedir(), '.cache', 'kstack', `kafka-${KAFKA_VERSION}`, 'libs');

const kafka = new Kafka({ clientId: 'ui-test', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING });

async function produce(
  topic: string,
  messages: { partition: number; key: string; value: string | Buffer; headers?: Record<string, string> }[],
) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Consumes `count` records of `topic` in group `groupId` with kafkajs (offsets committed), then leaves. */
async function consumeAll(groupId: string, topic: string, count: number): Promise<void> {
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kafkajs read ${seen} of ${count} records`)),
        STEP_TIMEOUT_MS,
      );
      void consumer
        .run({
          autoCommit: true,
          eachMessage: async () => {
            seen++;
            if (seen === count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    // Commit what was read before leaving (autoCommit commits on an interval or after batches).
    await consumer.stop();
  } finally {
    await consumer.disconnect();
  }
}

async function consumerGroupsTool(...args: string[]) {
  const result = await runTool(
    join(REFERENCE, 'bin', 'kafka-consumer-groups'),
    ['--bootstrap-server', BOOTSTRAP, ...args],
    { timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, `kafka-consumer-groups ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The committed offsets of a group on a topic, by partition, as kafkajs's admin reads them. */
async function committedByKafkajs(groupId: string, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [answer] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (answer?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  } finally {
    await admin.disconnect();
  }
}

/** kafka-consumer-groups --describe: partition → {current, end, lag}, as the tool prints them. */
async function describedByKafka(
  group: string,
): Promise<Map<string, { current: string; end: string; lag: string }>> {
  const out = await consumerGroupsTool('--describe', '--group', group);
  const rows = new Map<string, { current: string; end: string; lag: string }>();
  for (const line of out.split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (cells[0] !== group || cells.length < 6) continue;
    rows.set(`${cells[1]}/${cells[2]}`, { current: cells[3]!, end: cells[4]!, lag: cells[5]! });
  }
  return rows;
}

/** The cells of every row of the table labelled `label`, once it has at least `minRows` rows. */
async function tableRows(page: Page, label: string, minRows = 1): Promise<string[][]> {
  const rows = page.locator(`table[aria-label="${label}"] tbody tr`);
  await rows
    .nth(minRows - 1)
    .waitFor({ timeout: STEP_TIMEOUT_MS })
    .catch(async (error: unknown) => {
      await screenshot(page, `failed-${label.replaceAll(' ', '-')}`);
      throw error;
    });
  return rows.evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())),
  );
}

interface KafkaRefusal {
  apiId?: string;
  serverErrorMessage?: string | null;
  errors?: unknown[];
}

/** The error Kafka itself sent, found inside @platformatic/kafka's error (it nests them). */
function findKafkaRefusal(error: unknown): KafkaRefusal | undefined {
  const e = error as KafkaRefusal | null;
  if (typeof e?.apiId === 'string') return e;
  for (const inner of e?.errors ?? []) {
    const found = findKafkaRefusal(inner);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is and fails on any serious or critical
 * violation. The script goes in through the DevTools protocol, which the page's CSP does not govern.
 */
async function assertAccessible(page: Page, name: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(options: object): Promise<{ violations: unknown[] }> } }
    ).axe;
    const result = await axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations;
  });
  const serious = (violations as AxeViolation[]).filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  assert.deepEqual(
    serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`),
    [],
    `axe-core on the ${name} page`,
  );
}

describe('the web UI in Chromium against kstack up', { timeout: 600_000 }, () => {
  let broker: KstackProcess | undefined;
  let ui: { url: string; close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  let registry: { url: string; close(): Promise<void> } | undefined;
  let page: Page;
  const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-test-'));

  before(async () => {
    // Not skips: a missing browser or tool is a failure that says how to install it.
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup/15-browser.sh`);
    assert.ok(existsSync(KAFKA_LIBS), `Apache Kafka's jars are missing (${KAFKA_LIBS}): run npm run setup`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    process.stdout.write(`screenshots: ${SCREENSHOTS}\n`);
    const startedAt = Date.now();
    // The broker, the page's build and the browser start side by side.
    const [started, assetsDir, launched] = await Promise.allSettled([
      KstackProcess.start(
        {
          // No initial rebalance delay (Kafka's 3 s), as the reference runs in tests: it only saves time.
          args: [
            '--port',
            String(BROKER_PORT),
            '--data-dir',
            dataDir,
            '--override',
            'group.initial.rebalance.delay.ms=0',
          ],
          ports: [BROKER_PORT],
        },
        120_000,
      ),
      builtAssets(),
      chromium.launch({ executablePath: CHROMIUM, timeout: STEP_TIMEOUT_MS }),
    ]);
    // Whatever started is kept, so that after() stops it even when another part failed.
    if (started.status === 'fulfilled') broker = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    for (const result of [started, assetsDir, launched])
      if (result.status === 'rejected') throw result.reason;
    process.stdout.write(`kstack up, the page and Chromium ready after ${Date.now() - startedAt} ms\n`);
    // In its group (protocol type sr), as Confluent's registry: a group the UI must not describe.
    registry = await startSchemaRegistry({ bootstrap: BOOTSTRAP, port: REGISTRY_PORT, leaderElection: true });
    ui = await startUi({
      bootstrap: BOOTSTRAP,
      port: UI_PORT,
      schemaRegistryUrl: registry.url,
      assetsDir: (assetsDir as PromiseFulfilledResult<string>).value,
    });
    page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
  });

  after(async () => {
    await browser?.close();
    await ui?.close();
    await registry?.close();
    if (broker !== undefined) {
      const stoppingAt = Date.now();
      const exit = await broker.stop(120_000);
      process.stdout.write(`kstack up stopped in ${Date.now() - stoppingAt} ms\n`);
      assert.equal(exit.code, 0, broker.output);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the topics a client created, and filters them', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic: 'ui-orders', numPartitions: 3 },
          { topic: 'ui-payments', numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    await page.goto(`${ui!.url}/#/topics`);
    const rows = await tableRows(page, 'Topics', 2);
    const names = rows.map((cells) => cells[0]);
    assert.ok(names.includes('ui-orders') && names.includes('ui-payments'), JSON.stringify(rows));
    assert.deepEqual(
      rows.find((cells) => cells[0] === 'ui-orders')?.slice(1, 3),
      ['3', '1'],
      'partitions and replication factor',
    );
    await screenshot(page, 'topics');
    await assertAccessible(page, 'topics');
    await page.getByLabel('Filter topics').fill('pay');
    await page
      .locator('table[aria-label="Topics"] tbody tr[data-topic="ui-orders"]')
      .waitFor({ state: 'detached' });
    assert.deepEqual(
      (await tableRows(page, 'Topics')).map((cells) => cells[0]),
      ['ui-payments'],
    );
  });

  it('is usable by keyboard alone: Tab to the filter, type, Tab to the topic, Enter opens it', async () => {
    await page.goto(`${ui!.url}/#/topics`);
    await page.reload();
    await tableRows(page, 'Topics', 2);
    /** Presses Tab until `target` has the focus (at most TAB_STOPS_MAX presses). */
    const tabTo = async (target: Locator, what: string): Promise<void> => {
      const TAB_STOPS_MAX = 40;
      for (let i = 0; i < TAB_STOPS_MAX; i++) {
        await page.keyboard.press('Tab');
        const focused = await target.evaluate(
          (e: unknown) =>
            (e as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement === e,
        );
        if (focused) return;
      }
      throw new Error(`${what} not reached by ${TAB_STOPS_MAX} Tab presses`);
    };
    await tabTo(page.getByLabel('Filter topics'), 'the filter');
    await page.keyboard.type('pay');
    await page
      .locator('table[aria-label="Topics"] tbody tr[data-topic="ui-orders"]')
      .waitFor({ state: 'detached' });
    await tabTo(page.getByRole('link', { name: 'ui-payments', exact: true }), "ui-payments' link");
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'ui-payments', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).hash, '#/topics/ui-payments');
  });

  it('shows the records a client produced: keys, values, headers, by partition and offset', async () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({
      partition: 1,
      key: `order-${i}`,
      value: JSON.stringify({ order: i, item: `widget <b>${i}</b>` }),
      headers: { source: `test-${i}` },
    }));
    await produce('ui-orders', [
      ...messages,
      { partition: 2, key: 'other', value: 'plain text on partition 2' },
    ]);
    await page.goto(`${ui!.url}/#/topics/ui-orders`);
    // The partition table shows the offsets Kafka reports.
    const partitions = await tableRows(page, 'Partitions', 3);
    assert.deepEqual(
      partitions.map((cells) => [cells[0], cells[1], cells[4], cells[5]]),
      [
        ['0', '1', '0', '0'],
        ['1', '1', '0', '5'],
        ['2', '1', '0', '1'],
      ],
    );
    await page.getByLabel('Partition', { exact: true }).selectOption('1');
    await page.getByRole('button', { name: 'Show messages' }).click();
    const rows = await tableRows(page, 'Messages', 5);
    assert.equal(rows.length, 5);
    rows.forEach((cells, i) => {
      assert.equal(cells[0], String(i), 'offset');
      assert.equal(cells[2], `order-${i}`, 'key');
      assert.deepEqual(JSON.parse(cells[3]!.replace(/json$/, '')), { order: i, item: `widget <b>${i}</b>` });
      assert.equal(cells[4], `source: test-${i}`, 'header');
    });
    // One message copied and downloaded as JSON: what kafkajs wrote, as the page shows it.
    const expected = {
      topic: 'ui-orders',
      partition: 1,
      offset: '2',
      key: { encoding: 'text', text: 'order-2', bytes: 7, truncated: false },
      headers: [{ key: 'source', value: 'test-2' }],
    };
    const [downloaded] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download message 2' }).click(),
    ]);
    assert.equal(downloaded.suggestedFilename(), 'ui-orders-1-2.json');
    const file = JSON.parse(readFileSync(await downloaded.path(), 'utf8')) as Record<string, unknown> & {
      value: { encoding: string; text: string };
    };
    assert.deepEqual(
      { ...file, value: undefined, timestamp: undefined },
      { ...expected, value: undefined, timestamp: undefined },
    );
    assert.equal(file.value.encoding, 'json');
    assert.deepEqual(JSON.parse(file.value.text), { order: 2, item: 'widget <b>2</b>' });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Copy message 2' }).click();
    await page.getByRole('status').getByText('copied', { exact: true }).waitFor();
    assert.deepEqual(
      JSON.parse(
        await page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
      ),
      file,
    );
    // Values are text, never HTML: the <b> a producer wrote is not an element of the page.
    assert.equal(await page.locator('table[aria-label="Messages"] b').count(), 0);
    await screenshot(page, 'topic-messages');
    await assertAccessible(page, 'topic');
    // From an offset: offset 3 on shows offsets 3 and 4.
    await page.getByLabel('From').selectOption('offset');
    await page.getByLabel('Offset').fill('3');
    await page.getByRole('button', { name: 'Show messages' }).click();
    await page.getByText('2 messages from offset 3').waitFor();
    assert.deepEqual(
      (await tableRows(page, 'Messages', 2)).map((cells) => cells[0]),
      ['3', '4'],
    );
    // A filter on a header's text, from the beginning: only the message carrying it.
    await page.getByLabel('From').selectOption('beginning');
    await page.getByLabel('Key, value or header contains').fill('source: test-2');
    await page.getByRole('button', { name: 'Show messages' }).click();
    await page.getByText('1 messages from offset 0').waitFor();
    assert.deepEqual(
      (await tableRows(page, 'Messages')).map((cells) => [cells[0], cells[2]]),
      [['2', 'order-2']],
    );
  });

  it("shows Kafka's own error for a topic name Kafka refuses, and creates nothing", async () => {
    const badName = 'bad name!';
    // What the broker itself answers to CreateTopics with that name, asked without the UI.
    const direct = new Admin({ clientId: 'ui-test-direct', bootstrapBrokers: [BOOTSTRAP] });
    let brokerMessage: string | undefined;
    try {
      await direct.createTopics({ topics: [badName], partitions: 1, replicas: 1 });
    } catch (error) {
      const refusal = findKafkaRefusal(error);
      assert.equal(refusal?.apiId, 'INVALID_TOPIC_EXCEPTION', String(error));
      brokerMessage = refusal?.serverErrorMessage ?? undefined;
    } finally {
      await direct.close();
    }
    assert.ok(brokerMessage !== undefined && brokerMessage !== '', 'the broker refused with a message');
    await page.goto(`${ui!.url}/#/topics`);
    await tableRows(page, 'Topics', 2);
    const before = (await tableRows(page, 'Topics')).map((cells) => cells[0]);
    await page.getByLabel('Topic name').fill(badName);
    await page.getByRole('button', { name: 'Create topic' }).click();
    const alert = page.locator('#create-error [role="alert"]');
    await alert.waitFor();
    const shown = (await alert.textContent()) ?? '';
    assert.ok(
      shown.includes(brokerMessage),
      `page shows ${JSON.stringify(shown)}, broker said ${brokerMessage}`,
    );
    assert.match(shown, /INVALID_TOPIC_EXCEPTION/);
    await screenshot(page, 'topic-create-error');
    await assertAccessible(page, 'topics (with an error)');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.reload();
    assert.deepEqual(
      (await tableRows(page, 'Topics', before.length)).map((cells) => cells[0]),
      before,
    );
  });

  it('shows the lag kafka-consumer-groups reports, and resets offsets after a preview', async () => {
    const group = 'ui-lag-group';
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'ui-lag', numPartitions: 2 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const batch = (partition: number, n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ partition, key: `${tag}-${i}`, value: `${tag} ${i}` }));
    await produce('ui-lag', [...batch(0, 4, 'a'), ...batch(1, 2, 'b')]);
    await consumeAll(group, 'ui-lag', 6);
    // kafkajs commits after its batch: wait for that commit (a condition, not a clock) before judging lag.
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while ((await committedByKafkajs(group, 'ui-lag')).join() !== '4,2') {
      assert.ok(Date.now() < deadline, 'kafkajs committed offsets 4 and 2 in time');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await produce('ui-lag', [...batch(0, 7, 'c'), ...batch(1, 3, 'd')]);

    const kafkaSays = await describedByKafka(group);
    assert.deepEqual(
      [...kafkaSays].sort(),
      [
        ['ui-lag/0', { current: '4', end: '11', lag: '7' }],
        ['ui-lag/1', { current: '2', end: '5', lag: '3' }],
      ],
      'kafka-consumer-groups --describe',
    );
    await page.goto(`${ui!.url}/#/groups/${group}`);
    const rows = await tableRows(page, 'Lag per partition', 2);
    const uiSays = new Map(rows.map((c) => [`${c[0]}/${c[1]}`, { current: c[2], end: c[3], lag: c[4] }]));
    assert.deepEqual([...uiSays].sort(), [...kafkaSays].sort());
    assert.equal(await page.getByTestId('total-lag').textContent(), '10');
    await screenshot(page, 'group');
    await assertAccessible(page, 'group');

    // Reset to the earliest offsets: preview first (nothing changes), then confirm.
    await page.getByLabel('Topic', { exact: true }).fill('ui-lag');
    await page.getByLabel('To', { exact: true }).selectOption('earliest');
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = await tableRows(page, 'Reset preview', 2);
    assert.deepEqual(preview, [
      ['0', '4', '0'],
      ['1', '2', '0'],
    ]);
    await screenshot(page, 'group-reset-preview');
    assert.deepEqual(await committedByKafkajs(group, 'ui-lag'), ['4', '2'], 'a preview changes nothing');
    await page.getByRole('button', { name: 'Confirm the reset' }).click();
    await page.getByText(`Offsets of ${group} on ui-lag reset.`).waitFor();
    assert.deepEqual(await committedByKafkajs(group, 'ui-lag'), ['0', '0'], 'the reset');

    await page.getByLabel('Type the group id to confirm').fill(group);
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page.waitForURL(/#\/groups$/);
    const lister = kafka.admin();
    await lister.connect();
    try {
      const { groups } = await lister.listGroups();
      assert.ok(!groups.some((g) => g.groupId === group), JSON.stringify(groups));
    } finally {
      await lister.disconnect();
    }
  });

  it('writes a message from the page, which kcat reads back', async () => {
    await page.goto(`${ui!.url}/#/topics/ui-orders`);
    await tableRows(page, 'Partitions', 3);
    await page.getByLabel('Write to partition').selectOption('0');
    await page.getByLabel('Key', { exact: true }).fill('from-ui');
    await page.getByLabel('Value', { exact: true }).fill('hello from the page');
    await page.getByLabel('Headers (key: value per line)').fill('origin: ui\ntrace: 42');
    await page.getByRole('button', { name: 'Produce', exact: true }).click();
    await page.getByText('Written to partition 0 at offset 0.').waitFor();
    await screenshot(page, 'topic-produce');
    const read = await runTool(
      'kcat',
      [
        '-C',
        '-b',
        BOOTSTRAP,
        '-t',
        'ui-orders',
        '-p',
        '0',
        '-o',
        '0',
        '-c',
        '1',
        '-e',
        '-q',
        '-f',
        '%k|%s|%h\n',
      ],
      { timeoutMs: STEP_TIMEOUT_MS },
    );
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'from-ui|hello from the page|origin=ui,trace=42\n');
  });

  it("shows Kafka's refusal of a message too large under the produce form, and writes nothing", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic: 'ui-small',
            numPartitions: 1,
            configEntries: [{ name: 'max.message.bytes', value: '1000' }],
          },
        ],
        waitForLeaders: true,
      });
      await page.goto(`${ui!.url}/#/topics/ui-small`);
      await tableRows(page, 'Partitions', 1);
      await page.getByLabel('Value', { exact: true }).fill('x'.repeat(5_000));
      await page.getByRole('button', { name: 'Produce', exact: true }).click();
      await page
        .getByRole('region', { name: 'Produce a message' })
        .getByText('Kafka refused: MESSAGE_TOO_LARGE')
        .waitFor();
      await screenshot(page, 'topic-produce-too-large');
      const [offsets] = await admin.fetchTopicOffsets('ui-small');
      assert.equal(offsets?.high, '0', 'nothing written (kafkajs)');
    } finally {
      await admin.disconnect();
    }
  });

  it('tails a partition live: messages a client writes appear without a reload', async () => {
    await page.goto(`${ui!.url}/#/topics/ui-orders`);
    await tableRows(page, 'Partitions', 3);
    await page.getByLabel('Tail partition').selectOption('2');
    await page.getByRole('button', { name: 'Start live tail' }).click();
    // Partition 2 holds one message (offset 0): the tail starts at its end.
    await page.getByText('Tailing partition 2 from offset 1:').waitFor();
    await produce(
      'ui-orders',
      [1, 2, 3].map((i) => ({ partition: 2, key: `live-${i}`, value: `live value ${i}` })),
    );
    const rows = await tableRows(page, 'Live tail', 3);
    assert.deepEqual(
      rows.map((cells) => [cells[0], cells[2], cells[3]]),
      [
        ['3', 'live-3', 'live value 3'],
        ['2', 'live-2', 'live value 2'],
        ['1', 'live-1', 'live value 1'],
      ],
    );
    await screenshot(page, 'topic-live-tail');
    await page.getByRole('button', { name: 'Stop live tail' }).click();
    await page.getByRole('button', { name: 'Start live tail' }).waitFor();
  });

  it("shows Kafka's message for an invalid config value, and sets a valid one", async () => {
    // What the broker answers to that change, asked without the UI.
    const direct = new Admin({ clientId: 'ui-test-direct', bootstrapBrokers: [BOOTSTRAP] });
    let brokerMessage: string | undefined;
    try {
      await direct.incrementalAlterConfigs({
        resources: [
          {
            resourceType: 2,
            resourceName: 'ui-orders',
            configs: [{ name: 'retention.ms', configOperation: 0, value: 'soon' }],
          },
        ],
      });
    } catch (error) {
      brokerMessage = findKafkaRefusal(error)?.serverErrorMessage ?? undefined;
    } finally {
      await direct.close();
    }
    assert.ok(brokerMessage !== undefined && brokerMessage !== '', 'the broker refused with a message');
    await page.goto(`${ui!.url}/#/topics/ui-orders`);
    await tableRows(page, 'Configs', 5);
    await page.getByLabel('Config', { exact: true }).selectOption('retention.ms');
    await page.getByLabel('New value').fill('soon');
    await page.getByRole('button', { name: 'Set config' }).click();
    const alert = page.locator('#config-error [role="alert"]');
    await alert.waitFor();
    const shown = (await alert.textContent()) ?? '';
    assert.ok(shown.includes(brokerMessage), shown);
    await screenshot(page, 'topic-config-error');
    await page.getByLabel('New value').fill('3600000');
    await page.getByRole('button', { name: 'Set config' }).click();
    await page.getByText('retention.ms set to 3600000.').waitFor();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({
        resources: [{ type: 2, name: 'ui-orders', configNames: ['retention.ms'] }],
        includeSynonyms: false,
      });
      assert.equal(described.resources[0]?.configEntries[0]?.configValue, '3600000');
    } finally {
      await admin.disconnect();
    }
    // The notice shows before the page has read the configs again: wait for the table to show it.
    await page
      .locator('table[aria-label="Configs"] tbody tr', { hasText: 'retention.ms' })
      .filter({ hasText: '3600000' })
      .first()
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    const row = (await tableRows(page, 'Configs', 5)).find((cells) => cells[0] === 'retention.ms');
    assert.deepEqual(row, ['retention.ms', '3600000', 'topic']);
  });

  it('decodes an Avro value through the Schema Registry, and shows the subject', async () => {
    const client = new RegistryClient({ host: registry!.url });
    const schema = {
      type: 'record',
      name: 'Payment',
      namespace: 'kstack.ui.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'amountCents', type: 'long' },
      ],
    };
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: 'ui-payments-value' },
    );
    const value = await client.encode(id, { id: 'pay-1', amountCents: 1250 });
    assert.equal(value[0], 0, "Confluent's wire format");
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    try {
      await producer.send({ topic: 'ui-payments', acks: -1, messages: [{ key: 'pay-1', value }] });
    } finally {
      await producer.disconnect();
    }
    await page.goto(`${ui!.url}/#/topics/ui-payments`);
    await tableRows(page, 'Partitions');
    // A fresh page: nothing of ui-orders' page (its live tail, its produce answer) carried over.
    assert.equal(await page.locator('table[aria-label="Live tail"]').count(), 0);
    assert.equal(await page.getByText('Written to partition').count(), 0);
    await page.getByRole('button', { name: 'Show messages' }).click();
    const [row] = await tableRows(page, 'Messages');
    assert.equal(row?.[2], 'pay-1');
    const shown = row?.[3] ?? '';
    assert.ok(shown.endsWith(`avro id ${id}`), shown);
    assert.deepEqual(JSON.parse(shown.slice(0, shown.lastIndexOf('avro'))), {
      id: 'pay-1',
      amountCents: 1250,
    });
    await screenshot(page, 'topic-avro');

    // Produced from the page through the subject's version 1 (api.test has Confluent's client decode it).
    await page.getByLabel('Value schema (the value as JSON)').selectOption('ui-payments-value');
    await page.getByLabel('Schema version').fill('1');
    await page.getByLabel('Key', { exact: true }).fill('pay-2');
    await page.getByLabel('Value', { exact: true }).fill('{"id": "pay-2", "amountCents": 99}');
    await page.getByRole('button', { name: 'Produce', exact: true }).click();
    await page.getByText(`(schema id ${id}, version 1).`).waitFor();
    await page.getByRole('button', { name: 'Show messages' }).click();
    const rows = await tableRows(page, 'Messages', 2);
    const second = rows.find((cells) => cells[2] === 'pay-2')?.[3] ?? '';
    assert.ok(second.endsWith(`avro id ${id}`), JSON.stringify(rows));
    assert.deepEqual(JSON.parse(second.slice(0, second.lastIndexOf('avro'))), {
      id: 'pay-2',
      amountCents: 99,
    });

    await page.goto(`${ui!.url}/#/schemas`);
    await page.getByRole('link', { name: 'ui-payments-value' }).click();
    await page.locator('#compatibility-level').waitFor();
    assert.equal(await page.locator('#compatibility-level').textContent(), 'BACKWARD');
    const version = page.getByRole('article', { name: 'Version 1' });
    assert.match((await version.textContent()) ?? '', new RegExp(`id ${id}.*AVRO.*"amountCents"`, 's'));
    await screenshot(page, 'schema');
    await assertAccessible(page, 'schema');
  });

  it('decodes Protobuf (the second message of its schema) and JSON Schema values through the registry', async () => {
    const client = new RegistryClient({ host: registry!.url });
    const proto = `syntax = "proto3";
package kstack.ui.test;
message Header { string source = 1; }
message Shipment { string id = 1; int64 grams = 2; repeated string tags = 3; }
`;
    const { id: protoId } = await client.register(
      { type: SchemaType.PROTOBUF, schema: proto },
      { subject: 'ui-shipments-value' },
    );
    // Confluent's framing by its spec: magic 0, the schema id, the message indexes ([1]: one index, 1,
    // as zigzag varints 2 and 2), then the message as protobufjs encodes it.
    const Shipment = protobuf.parse(proto).root.lookupType('kstack.ui.test.Shipment');
    const shipment = { id: 'ship-7', grams: 1500, tags: ['fragile', 'blue'] };
    const idBytes = Buffer.alloc(4);
    idBytes.writeUInt32BE(protoId);
    const protoValue = Buffer.concat([
      Buffer.from([0]),
      idBytes,
      Buffer.from([2, 2]),
      Buffer.from(Shipment.encode(Shipment.fromObject(shipment)).finish()),
    ]);
    const jsonSchema = {
      type: 'object',
      properties: { sku: { type: 'string' }, count: { type: 'integer' } },
      required: ['sku'],
    };
    const { id: jsonId } = await client.register(
      { type: SchemaType.JSON, schema: JSON.stringify(jsonSchema) },
      { subject: 'ui-stock-value' },
    );
    const jsonValue = await client.encode(jsonId, { sku: 'A-1', count: 3 });
    await produce('ui-encoded', [
      { partition: 0, key: 'proto', value: protoValue },
      { partition: 0, key: 'json', value: jsonValue },
    ]);
    await page.goto(`${ui!.url}/#/topics/ui-encoded`);
    await tableRows(page, 'Partitions');
    await page.getByRole('button', { name: 'Show messages' }).click();
    const rows = await tableRows(page, 'Messages', 2);
    const decodedValue = (key: string, encoding: string, id: number) => {
      const shown = rows.find((r) => r[2] === key)?.[3] ?? '';
      assert.ok(shown.endsWith(`${encoding} id ${id}`), shown);
      return JSON.parse(shown.slice(0, shown.lastIndexOf(encoding))) as unknown;
    };
    // protobufjs's JSON: int64 as a string.
    assert.deepEqual(decodedValue('proto', 'protobuf', protoId), { ...shipment, grams: '1500' });
    assert.deepEqual(decodedValue('json', 'jsonschema', jsonId), { sku: 'A-1', count: 3 });
    await screenshot(page, 'topic-protobuf-json');
  });

  it('changes a subject from the page: compatibility test, register, diff, level, soft and permanent delete', async () => {
    const subject = 'ui-orders-value';
    const registryGet = async (path: string) => {
      const answer = await fetch(`${registry!.url}${path}`);
      return { status: answer.status, body: (await answer.json()) as unknown };
    };
    const record = (fields: object[]) =>
      JSON.stringify({ type: 'record', name: 'Order', namespace: 'kstack.ui.test', fields }, null, 2);
    const v1 = record([{ name: 'id', type: 'string' }]);
    const compatible = record([
      { name: 'id', type: 'string' },
      { name: 'note', type: 'string', default: '' },
    ]);
    const incompatible = record([
      { name: 'id', type: 'string' },
      { name: 'quantity', type: 'int' },
    ]);
    await new RegistryClient({ host: registry!.url }).register(
      { type: SchemaType.AVRO, schema: v1 },
      { subject },
    );
    await page.goto(`${ui!.url}/#/schemas/${subject}`);
    await page.getByRole('article', { name: 'Version 1' }).waitFor();
    const verdict = page.locator('#new-schema-result');

    // A field without a default breaks BACKWARD: the page says so, as the registry does when asked directly.
    await page.getByLabel('New schema').fill(incompatible);
    await page.getByRole('button', { name: 'Test compatibility' }).click();
    await verdict.getByText('Not compatible').waitFor();
    const direct = await fetch(
      `${registry!.url}/compatibility/subjects/${subject}/versions/latest?verbose=true`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: incompatible }),
      },
    );
    const directVerdict = (await direct.json()) as { is_compatible: boolean; messages: string[] };
    assert.equal(directVerdict.is_compatible, false);
    const shownVerdict = (await verdict.textContent()) ?? '';
    assert.ok(shownVerdict.includes(directVerdict.messages[0] ?? '(no message)'), shownVerdict);
    await page.getByLabel('New schema').fill(compatible);
    await page.getByRole('button', { name: 'Test compatibility' }).click();
    await verdict.getByText('Compatible: it can be registered').waitFor();
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('article', { name: 'Version 2' }).waitFor();
    assert.deepEqual((await registryGet(`/subjects/${subject}/versions`)).body, [1, 2]);

    // Versions 1 and 2 side by side: the added field on the right only.
    const diff = await page.locator('table[aria-label="Schema diff"] tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        kind: tr.getAttribute('data-kind'),
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      })),
    );
    const changed = diff.filter((row) => row.kind !== 'same');
    assert.ok(changed.length > 0, JSON.stringify(diff));
    assert.ok(
      changed.some((row) => row.cells[1]?.includes('"note"') && !row.cells[0]?.includes('"note"')),
      JSON.stringify(changed),
    );
    await screenshot(page, 'schema-diff');
    await assertAccessible(page, 'schema diff');

    await page.getByLabel('New compatibility level').selectOption('NONE');
    await page.getByRole('button', { name: 'Set level' }).click();
    await page.locator('#compatibility-level', { hasText: 'NONE' }).waitFor();
    assert.equal(
      ((await registryGet(`/config/${subject}`)).body as { compatibilityLevel: string }).compatibilityLevel,
      'NONE',
    );

    // Deletes take the subject typed again; a soft delete keeps the version among the deleted ones.
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).click();
    await page
      .locator('#subject-result')
      .getByText("deleting a version of subject 'ui-orders-value': type the name")
      .waitFor();
    assert.deepEqual((await registryGet(`/subjects/${subject}/versions`)).body, [1, 2]);
    await page.getByLabel('Type the subject to confirm deletes').fill(subject);
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).click();
    await page.locator('#subject-result').getByText('Version 2 soft deleted').waitFor();
    assert.deepEqual((await registryGet(`/subjects/${subject}/versions`)).body, [1]);
    assert.deepEqual((await registryGet(`/subjects/${subject}/versions?deleted=true`)).body, [1, 2]);
    // Listed apart, with the schema the registry still holds for it, and removable from there.
    const softDeleted = page.getByRole('article', { name: 'Soft-deleted version 2' });
    await softDeleted.waitFor();
    const held = (await registryGet(`/subjects/${subject}/versions/2?deleted=true`)).body as { id: number };
    assert.match((await softDeleted.textContent()) ?? '', new RegExp(`id ${held.id}.*soft deleted`, 's'));
    await screenshot(page, 'schema-soft-deleted');
    await softDeleted.getByRole('button', { name: 'Delete version 2 permanently' }).click();
    await page.locator('#subject-result').getByText('Version 2 permanently deleted').waitFor();
    assert.deepEqual((await registryGet(`/subjects/${subject}/versions?deleted=true`)).body, [1]);
    await softDeleted.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete subject permanently' }).click();
    await page.locator('#subject-result').getByText(`Subject ${subject} permanently deleted`).waitFor();
    assert.ok(!((await registryGet('/subjects?deleted=true')).body as string[]).includes(subject));
  });

  it("describes another protocol's group (the registry's sr group): its type and member, no lag", async () => {
    const listed = (await (await fetch(`${ui!.url}/api/groups`)).json()) as {
      id: string;
      protocolType: string;
    }[];
    assert.equal(listed.find((g) => g.id === 'schema-registry')?.protocolType, 'sr');
    const answer = await fetch(`${ui!.url}/api/groups/schema-registry`);
    assert.equal(answer.status, 200);
    const described = (await answer.json()) as {
      state: string;
      protocolType: string;
      members: { clientId: string; assignments: unknown[] }[];
      offsets: unknown[];
    };
    assert.equal(described.protocolType, 'sr');
    assert.equal(described.state, 'Stable');
    assert.equal(described.members.length, 1, JSON.stringify(described));
    assert.deepEqual(described.members[0]?.assignments, []);
    assert.deepEqual(described.offsets, []);
    await page.goto(`${ui!.url}/#/groups/schema-registry`);
    assert.equal(await page.locator('#group-protocol-type').textContent(), 'sr');
    const members = await tableRows(page, 'Members');
    assert.equal(members.length, 1);
    assert.equal(members[0]?.[1], described.members[0]?.clientId);
    assert.match((await page.locator('#group-not-consumer').textContent()) ?? '', /protocol type 'sr'/);
    assert.equal(await page.locator('table[aria-label="Lag per partition"]').count(), 0);
    await screenshot(page, 'group-sr');
    await assertAccessible(page, 'sr group');
  });

  it("charts a topic's throughput and a group's lag, pushed from Kafka's offsets", async () => {
    const topic = 'ui-rates';
    const groupId = 'ui-rates-lagging';
    await page.goto(`${ui!.url}/#/charts`);
    // The window's first sample comes before the topic exists, so every record it gets is counted.
    await page.locator('#charts-about:not([data-samples="0"])').waitFor();
    const admin = kafka.admin();
    await admin.connect();
    let lag: bigint;
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await produce(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })),
      );
      // A group 15 records in (committed as Kafka's own tools would), behind by what kafkajs reads.
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '15' }] });
      const [end] = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      lag = BigInt(end!.high) - BigInt(committed!.partitions[0]!.offset);
    } finally {
      await admin.disconnect();
    }
    assert.equal(lag, 25n);
    const cell = (n: number, text: string) =>
      page.locator(`td:nth-child(${n})`, { hasText: new RegExp(`^${text}$`) });
    // Records in the window (column 4): the 40 written, none more or less; its peak rate above 0.
    const topicRow = page
      .locator('table[aria-label="Topic throughput"] tbody tr')
      .filter({ has: cell(1, topic) })
      .filter({ has: cell(4, '40') });
    await topicRow.waitFor();
    const [, , peak] = await topicRow.locator('td').allTextContents();
    assert.ok(Number(peak) > 0, `peak ${peak}`);
    await page
      .locator('table[aria-label="Group lag"] tbody tr')
      .filter({ has: cell(1, groupId) })
      .filter({ has: cell(2, String(lag)) })
      .waitFor();
    assert.ok((await page.locator('svg[aria-label^="Throughput per topic"] polyline').count()) >= 1);
    assert.ok((await page.locator('svg[aria-label^="Lag per consumer group"] polyline').count()) >= 1);
    await screenshot(page, 'charts');
    await assertAccessible(page, 'charts');
  });

  it('shows the cluster: the broker, its leaders, and the topics counted', async () => {
    await page.goto(`${ui!.url}/#/`);
    const brokers = await tableRows(page, 'Brokers');
    assert.equal(brokers.length, 1);
    assert.match(brokers[0]![0]!, /^1/);
    assert.equal(brokers[0]![1], BOOTSTRAP);
    // Its logs' size (DescribeLogDirs; api.test checks the bytes against the segment files).
    assert.match(brokers[0]![5]!, /^\d+(\.\d)? (B|KiB|MiB|GiB)$/, JSON.stringify(brokers[0]));
    // Pushed health: a quorum of one (DescribeQuorum), nothing down, nothing at risk.
    const voters = await tableRows(page, 'Quorum voters');
    assert.deepEqual(voters, [['1leader', voters[0]![1]!, '0']]);
    assert.match(voters[0]![1]!, /^\d+$/);
    assert.equal(await page.locator('#quorum-leader').textContent(), '1');
    assert.equal(await page.locator('#absent-brokers').textContent(), 'none');
    // The cards count every topic and partition kafkajs's Metadata gives, saying how many are Kafka's
    // internal ones (__consumer_offsets exists: groups committed above).
    const metaAdmin = kafka.admin();
    await metaAdmin.connect();
    let expected: { topics: string; partitions: string };
    try {
      const { topics } = await metaAdmin.fetchTopicMetadata();
      const internal = topics.filter((t) => ['__consumer_offsets', '__transaction_state'].includes(t.name));
      assert.ok(internal.length > 0, JSON.stringify(topics.map((t) => t.name)));
      const count = (list: typeof topics) => list.reduce((sum, t) => sum + t.partitions.length, 0);
      expected = {
        topics: `${topics.length} (${internal.length} internal)`,
        partitions: `${count(topics)} (${count(internal)} internal)`,
      };
    } finally {
      await metaAdmin.disconnect();
    }
    assert.deepEqual(
      {
        topics: await page.locator('#topic-count').textContent(),
        partitions: await page.locator('#partition-count').textContent(),
      },
      expected,
    );
    await screenshot(page, 'cluster');
    await assertAccessible(page, 'cluster');

    // The broker's configs, as DescribeConfigs gives them to kafkajs, with their source.
    await page.getByRole('link', { name: 'Configs of broker 1' }).click();
    await page.getByLabel('Filter configs').fill('num.partitions');
    const shown = (await tableRows(page, 'Broker configs')).find((cells) => cells[0] === 'num.partitions');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({
        resources: [{ type: 4, name: '1', configNames: ['num.partitions'] }],
        includeSynonyms: false,
      });
      const entry = described.resources[0]?.configEntries[0];
      assert.equal(shown?.[1], entry?.configValue);
    } finally {
      await admin.disconnect();
    }
    assert.equal(shown?.[2], "Kafka's default");
    await screenshot(page, 'broker-configs');
    await assertAccessible(page, 'broker configs');
    // A narrow window and the dark theme still show the page (looked at in the screenshots).
    await page.setViewportSize({ width: 420, height: 800 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${ui!.url}/#/topics`);
    await tableRows(page, 'Topics', 2);
    await screenshot(page, 'topics-narrow-dark');
  });

  it('says on the Connect page that no worker is configured, naming the flag (the worker itself: connect.long.ts)', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${ui!.url}/#/connect`);
    await page.getByRole('alert').filter({ hasText: 'no Kafka Connect worker configured' }).first().waitFor();
    assert.match(
      (await page.getByRole('alert').first().textContent()) ?? '',
      /start the UI with --connect-url/,
    );
    await screenshot(page, 'connect-none');
    await assertAccessible(page, 'Connect (no worker)');
  });
});
