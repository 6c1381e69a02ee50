/**
 * Not in the unit run (three node processes, the companions and Chromium): run it with
 * `node --test test/ui/faults.slow.ts`.
 *
 * The Faults page as a user drives it, on `kstack up --brokers 3` from a copy of the project's
 * Compose stack (so the web UI is the one `kstack up` starts, given the cluster's fault control):
 * Debian's Chromium (playwright-core) starts the page's acks=all producer, kills the leader of a
 * partition of its RF 3 topic with the page's button and sees, pushed without a reload, that
 * partition's leader move and the acknowledged count keep growing; kcat (a client we did not write)
 * confirms the new leaders, then the page's Start button brings the node back and the ISR of every
 * partition returns to 3 (kcat again); every record the page counted as acknowledged is in the
 * topic (kcat reads them back). While the broker is down, the Cluster page shows it not serving,
 * the topic's partitions under-replicated and the metadata quorum's leader that Kafka's own
 * kafka-metadata-quorum names, with three voters. axe-core checks the pages; screenshots go to $KSTACK_UI_SCREENSHOTS.
 *
 * Ports (docs/team-rules.md): brokers 24100-24102 (their fault proxies), fault control 24110, the
 * nodes' own listeners 24120-24122, controllers 24150-24152, their proxies 24170-24172; companions:
 * Schema Registry 24180, REST proxy 24181, exporter 24182, web UI 24183 (Connect 24184, not run).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { KstackProcess } from '../../src/engine/process.ts';
import { copyStack, envPortEdit, KAFKA_FILE, REPO_ROOT } from '../validate/stack-copy.ts';
import { assertAccessible, SCREENSHOTS, screenshot, tableRows } from './page-support.ts';

const HOST = '127.0.0.1';
const BASE_PORT = 24100;
const PORTS = [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2] as const;
const COMPANION_PORTS = {
  SCHEMA_REGISTRY_PORT: 24180,
  KAFKA_REST_PROXY_PORT: 24181,
  KAFKA_EXPORTER_PORT: 24182,
  KAFKA_UI_PORT: 24183,
  KAFKA_CONNECT_PORT: 24184,
};
const UI_URL = `http://${HOST}:${COMPANION_PORTS.KAFKA_UI_PORT}`;
const TOPIC = 'ui-failover';
const SESSION_TIMEOUT_MS = 4_000;
const HEARTBEAT_INTERVAL_MS = 500;
/** Acknowledged sends the page must count after the leaders moved: the producer goes on. */
const ACKS_AFTER_FAILOVER = 20;
/** Generous: CI runs this on a loaded 2-core machine; every wait is on a condition. */
const WAIT_MS = 120_000;
const POLL_MS = 250;
const CHROMIUM = '/usr/bin/chromium';

const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-faults-'));
const stack = copyStack([
  ...PORTS.map((port, i) => envPortEdit(`KAFKA_${i + 1}_EXTERNAL_PORT`, port)),
  ...Object.entries(COMPANION_PORTS).map(([variable, port]) => envPortEdit(variable, port)),
  // No Connect worker (a JVM): the Faults page does not use it.
  {
    file: KAFKA_FILE,
    from: '    container_name: kafka-connect\n    profiles: [messaging]\n',
    to: '    container_name: kafka-connect\n    profiles: [connect]\n',
  },
]);
let cluster: KstackProcess | undefined;
let browser: Browser | undefined;

after(async () => {
  await browser?.close();
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  stack.remove();
});

function kcat(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

interface KcatPartition {
  partition: number;
  leader: number;
  isrs: { id: number }[];
}

/** The topic's partitions as kcat -L reads them from the broker on `port`, or undefined. */
async function kcatPartitions(port: number): Promise<KcatPartition[] | undefined> {
  const result = await kcat(['-b', `${HOST}:${port}`, '-L', '-J', '-t', TOPIC, '-m', '10']);
  if (result.code !== 0) return undefined;
  const metadata = JSON.parse(result.stdout) as { topics: { topic: string; partitions: KcatPartition[] }[] };
  return metadata.topics.find((t) => t.topic === TOPIC)?.partitions;
}

/** Kafka's own kafka-metadata-quorum (the reference jars' MetadataQuorumCommand) `describe --status`. */
function quorumTool(bootstrap: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(REPO_ROOT, 'reference', 'bin', 'kafka-run-class'),
      [
        'org.apache.kafka.tools.MetadataQuorumCommand',
        '--bootstrap-server',
        bootstrap,
        'describe',
        '--status',
      ],
      { timeout: WAIT_MS },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, page?: Page): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      if (page !== undefined) await screenshot(page, `failed-${what.replaceAll(/\W+/g, '-')}`);
      throw new Error(`timed out waiting for ${what}:\n${cluster?.output ?? ''}`);
    }
    await sleep(POLL_MS);
  }
}

/** The page's partitions table: partition → {leader, isr}. */
async function shownPartitions(page: Page): Promise<{ partition: number; leader: string; isr: number[] }[]> {
  return (await tableRows(page, 'Failover partitions')).map((cells) => ({
    partition: Number(cells[0]),
    leader: cells[1] ?? '',
    isr: (cells[3] ?? '')
      .split(',')
      .filter((s) => s.trim() !== '')
      .map(Number),
  }));
}

/** The text of `selector` now, or null while the page does not show it (no waiting: waitFor polls). */
function textOf(page: Page, selector: string): Promise<string | null> {
  return page
    .locator(selector)
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

async function acknowledged(page: Page): Promise<number> {
  return Number(await page.locator('[data-count="acknowledged"]').textContent());
}

test('the Faults page: kill a partition leader, watch its leader move while acks=all keep coming, start it, the ISR returns to 3', async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup/15-browser.sh`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const startedAt = performance.now();
  const [started, launched] = await Promise.allSettled([
    KstackProcess.start(
      {
        args: [
          '--brokers',
          '3',
          '--compose',
          stack.rootFile,
          '--data-dir',
          dataDir,
          '--override',
          `broker.session.timeout.ms=${SESSION_TIMEOUT_MS}`,
          '--override',
          `broker.heartbeat.interval.ms=${HEARTBEAT_INTERVAL_MS}`,
        ],
        ports: PORTS,
        // As users run it: fault proxies and the fault control on the first port + 10.
        faults: true,
      },
      WAIT_MS,
    ),
    chromium.launch({ executablePath: CHROMIUM, timeout: WAIT_MS }),
  ]);
  if (started.status === 'fulfilled') cluster = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const result of [started, launched]) if (result.status === 'rejected') throw result.reason;
  const running = cluster!;
  await waitFor('the bootstrap servers line', async () =>
    running.notices.includes('bootstrap servers:') ? true : undefined,
  );
  assert.match(running.notices, new RegExp(`web UI \\(kafka-ui\\) on ${UI_URL}`));
  console.log(`cluster, companions and Chromium ready after ${Math.round(performance.now() - startedAt)} ms`);

  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${UI_URL}/#/faults`);
  await waitFor(
    'three brokers up',
    async () => {
      const rows = await tableRows(page, 'Fault brokers');
      return rows.length === 3 && rows.every((cells) => cells[1] === 'up (serving)') ? rows : undefined;
    },
    page,
  );
  await assertAccessible(page, 'Faults');

  await page.getByRole('button', { name: 'Start producer' }).click();
  await waitFor(
    '10 acknowledged sends',
    async () => ((await acknowledged(page)) >= 10 ? true : undefined),
    page,
  );
  const before = await waitFor(
    'three partitions with an ISR of 3',
    async () => {
      const rows = await shownPartitions(page);
      return rows.length === 3 && rows.every((r) => r.isr.length === 3) ? rows : undefined;
    },
    page,
  );
  await screenshot(page, 'faults-producing');
  const victim = Number(before.find((r) => r.partition === 0)!.leader);
  const led = before.filter((r) => r.leader === String(victim)).map((r) => r.partition);
  const survivor = PORTS[victim === 1 ? 1 : 0];
  console.log(`killing broker ${victim}, leader of partitions ${led.join(', ')}`);

  assert.equal(await page.locator('#fault-keep-down').isChecked(), true);
  const killedAt = performance.now();
  await page.getByRole('button', { name: `Kill broker ${victim}`, exact: true }).click();
  const moved = await waitFor(
    `the leaders of partitions ${led.join(', ')} to leave broker ${victim}`,
    async () => {
      const rows = await shownPartitions(page);
      const ok = led.every((p) => {
        const leader = rows.find((r) => r.partition === p)?.leader;
        return leader !== undefined && leader !== 'none' && leader !== String(victim);
      });
      return ok ? rows : undefined;
    },
    page,
  );
  const ackedAtMove = await acknowledged(page);
  console.log(
    `leaders moved on the page ${Math.round(performance.now() - killedAt)} ms after the kill: ${JSON.stringify(moved)}; ${ackedAtMove} acknowledged`,
  );
  // Kafka's own answer, through kcat: the same new leaders.
  const byKcat = await waitFor('kcat to see the new leaders', async () => {
    const partitions = await kcatPartitions(survivor);
    return partitions !== undefined &&
      led.every((p) => partitions.find((x) => x.partition === p)?.leader !== victim)
      ? partitions
      : undefined;
  });
  for (const p of led) {
    assert.notEqual(byKcat.find((x) => x.partition === p)?.leader, victim, `partition ${p} by kcat`);
  }
  const brokerRow = (await tableRows(page, 'Fault brokers')).find((cells) =>
    cells[0]?.startsWith(String(victim)),
  );
  assert.match(brokerRow?.[1] ?? '', /down/, `broker ${victim}'s state on the page`);
  await waitFor(
    `${ACKS_AFTER_FAILOVER} more acknowledged sends after the failover`,
    async () => ((await acknowledged(page)) >= ackedAtMove + ACKS_AFTER_FAILOVER ? true : undefined),
    page,
  );
  await screenshot(page, 'faults-failover');
  await assertAccessible(page, 'Faults (a broker down)');

  // The Cluster page, pushed: the killed broker not serving, the topic's partitions under-replicated,
  // three voters, and the metadata quorum's leader as Kafka's own kafka-metadata-quorum reads it.
  await page.goto(`${UI_URL}/#/`);
  await waitFor(
    `broker ${victim} shown as not serving`,
    async () => ((await textOf(page, '#absent-brokers')) === String(victim) ? true : undefined),
    page,
  );
  const under = await waitFor(
    `${TOPIC}'s partitions shown under-replicated`,
    async () => {
      const rows = await tableRows(page, 'Under-replicated partitions');
      return rows.some((cells) => cells[0] === TOPIC) ? rows : undefined;
    },
    page,
  );
  for (const cells of under.filter((row) => row[0] === TOPIC))
    assert.doesNotMatch(cells[4] ?? '', new RegExp(`\\b${victim}\\b`));
  const tool = await quorumTool(`${HOST}:${survivor}`);
  assert.equal(tool.code, 0, tool.stderr);
  const toolLeader = /^LeaderId:\s+(\d+)/m.exec(tool.stdout)?.[1];
  assert.ok(toolLeader !== undefined, tool.stdout);
  await waitFor(
    `the quorum leader ${toolLeader} (kafka-metadata-quorum) and three voters on the page`,
    async () =>
      (await textOf(page, '#quorum-leader')) === toolLeader &&
      (await tableRows(page, 'Quorum voters')).length === 3
        ? true
        : undefined,
    page,
  );
  await screenshot(page, 'cluster-failover');
  await assertAccessible(page, 'Cluster (a broker down)');
  await page.goto(`${UI_URL}/#/faults`);
  await waitFor(
    'the Faults page again',
    async () => ((await tableRows(page, 'Fault brokers')).length === 3 ? true : undefined),
    page,
  );
  // The Faults page and the Cluster page's card count what the Cluster page lists: every topic's
  // partitions, the internal __consumer_offsets included (as Kafka's UnderReplicatedPartitions
  // does), not only the others. /api/cluster answers while a broker is down: its fault proxy refuses.
  const agreed = await waitFor(
    'the Faults API, the Cluster cards and the Cluster health list counting the same under-replicated partitions, internal ones included',
    async () => {
      const faults = (await (await fetch(`${UI_URL}/api/faults`)).json()) as {
        underReplicated: number | null;
      };
      const live = (await (await fetch(`${UI_URL}/api/cluster/live`)).json()) as {
        status: { underReplicated: { topic: string }[] } | null;
      };
      const cards = (await (await fetch(`${UI_URL}/api/cluster`)).json()) as { underReplicated?: number };
      const listed = live.status?.underReplicated;
      return listed !== undefined &&
        faults.underReplicated === listed.length &&
        cards.underReplicated === listed.length &&
        listed.some((p) => p.topic.startsWith('__'))
        ? listed.length
        : undefined;
    },
  );
  await waitFor(
    `the Faults page's Under-replicated card showing ${agreed}`,
    async () =>
      (await page
        .locator('.card', { hasText: 'Under-replicated' })
        .locator('.value')
        .textContent({ timeout: 1_000 })
        .catch(() => null)) === String(agreed)
        ? true
        : undefined,
    page,
  );
  console.log(`${agreed} partitions under-replicated on both the Faults and the Cluster page`);

  const startAt = performance.now();
  await page.getByRole('button', { name: `Start broker ${victim}`, exact: true }).click();
  await waitFor(
    'every ISR back to 3 on the page',
    async () => {
      const rows = await shownPartitions(page);
      return rows.length === 3 && rows.every((r) => r.isr.length === 3) ? true : undefined;
    },
    page,
  );
  console.log(`ISR of 3 on the page ${Math.round(performance.now() - startAt)} ms after Start`);
  await waitFor('kcat to see every ISR of 3', async () => {
    const partitions = await kcatPartitions(survivor);
    return partitions?.length === 3 && partitions.every((p) => p.isrs.length === 3) ? true : undefined;
  });
  await screenshot(page, 'faults-recovered');

  await page.getByRole('button', { name: 'Stop producer' }).click();
  await page.getByRole('button', { name: 'Start producer' }).waitFor();
  const finalAcked = await acknowledged(page);
  const failed = Number(await page.locator('[data-count="failed"]').textContent());
  // Every acknowledged record is in the topic (retries may have written some twice: at least as many).
  const read = await kcat(['-b', `${HOST}:${survivor}`, '-C', '-t', TOPIC, '-e', '-q', '-f', '%k\n']);
  assert.equal(read.code, 0, read.stderr);
  const keys = new Set(read.stdout.split('\n').filter((line) => line !== ''));
  console.log(`${finalAcked} acknowledged, ${failed} failed; ${keys.size} distinct keys read back by kcat`);
  assert.ok(
    keys.size >= finalAcked,
    `kcat read ${keys.size} distinct records, the page counted ${finalAcked} acknowledged`,
  );
});
