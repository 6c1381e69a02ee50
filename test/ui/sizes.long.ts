/**
 * By hand (not in CI: a measurement, minutes long, that prints numbers and asserts no time):
 * `node test/ui/sizes.long.ts` (or `node --test test/ui/sizes.long.ts`).
 *
 * Issue 17's "fast with real sizes", measured in Debian's Chromium (playwright-core) against
 * `kstack up --brokers 1 --no-companions` (a separate process) and the UI served by `kstack ui` (a
 * separate process, as a user runs it), data written by kafkajs 2.2.4 and kcat:
 *
 * 1. the live tail of a partition while kafkajs produces SIZES_TAIL_RATE (2,000) messages/s for
 *    SIZES_TAIL_SECONDS (20) s: the rate produced, the rows the page keeps (its bounded window), how far
 *    the page's newest row is behind the log end, the page's long tasks (PerformanceObserver
 *    'longtask': count, total, max) and long animation frames (where their time goes: scripts by
 *    invoker, style and layout), and the input latency of typing into the topic page's filter box
 *    ("Key, value or header contains") and of clicking "Stop live tail" during the tail: from the
 *    input event's time stamp to the frame after it (a rAF, then a message posted from it, which runs
 *    after that frame's paint), and Chromium's own Event Timing durations of the same inputs;
 * 2. 1,000 topics: `GET /api/topics`, the Topics page showing all of them, filtering them to 10 and
 *    back (each keystroke's latency as above);
 * 3. a partition of 1,000,000 messages (kcat) opened at its end: the API, and the page (the topic page
 *    loaded, "the end" chosen, "Show messages" clicked, until the 50 rows show). SIZES_SKIP_MILLION=1
 *    leaves it out.
 *
 * The figures go to stdout and, as JSON, to $SIZES_OUT (default <tmp>/kstack-ui-sizes.json). Run it on
 * a quiet machine and give the load average (printed at start and end).
 *
 * Ports (docs/team-rules.md): kstack 25520, the web UI 25521.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { KstackProcess } from '../../src/engine/process.ts';
import { builtAssets } from '../../src/ui/assets.ts';

const HOST = '127.0.0.1';
const BROKER_PORT = 25520;
const UI_PORT = 25521;
const BOOTSTRAP = `${HOST}:${BROKER_PORT}`;
const UI_URL = `http://${HOST}:${UI_PORT}`;
const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const TAIL_RATE = Number(process.env.SIZES_TAIL_RATE ?? 2_000);
const TAIL_SECONDS = Number(process.env.SIZES_TAIL_SECONDS ?? 20);
const TOPICS = 1_000;
const MILLION = 1_000_000;
/** Generous: the machine is shared; every wait is on a condition. */
const WAIT_MS = 180_000;
const OUT = process.env.SIZES_OUT ?? join(tmpdir(), 'kstack-ui-sizes.json');

const kafka = new Kafka({ clientId: 'ui-sizes', brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING });
const figures: Record<string, unknown> = {};
let broker: KstackProcess | undefined;
let uiProcess: ChildProcess | undefined;
let browser: Browser | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'kstack-ui-sizes-'));

after(async () => {
  await browser?.close();
  if (uiProcess !== undefined && uiProcess.exitCode === null) {
    const exited = new Promise((resolve) => uiProcess!.once('exit', resolve));
    uiProcess.kill('SIGTERM');
    await exited;
  }
  await broker?.stop(60_000);
  rmSync(dataDir, { recursive: true, force: true });
});

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

const ms = (n: number) => `${Math.round(n)} ms`;

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    count: sorted.length,
    median: at(0.5),
    p90: at(0.9),
    max: sorted.at(-1) ?? 0,
  };
}

/** `kstack ui` as its own process, as a user starts it; resolves once it serves the page. */
async function startUiProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['bin/kstack.ts', 'ui', '--bootstrap-server', BOOTSTRAP, '--port', String(UI_PORT)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kstack ui exited (${child.exitCode}):\n${output}`);
    const served = await fetch(`${UI_URL}/`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (served) return child;
    if (Date.now() > deadline) throw new Error(`kstack ui did not serve within ${WAIT_MS} ms:\n${output}`);
    await sleep(100);
  }
}

/**
 * Put into the page before its own script (through the DevTools protocol, which its CSP does not
 * govern): observers of long tasks, long animation frames (LoAF: which scripts, how much style and
 * layout) and Event Timing, the latency of each keydown and click to the frame after it (a rAF, then
 * a message posted from it: that runs once the frame is painted), and a count of the tail's
 * server-sent 'messages' events. Plain JavaScript in a string: the project's types have no DOM.
 */
const INSTRUMENT = `(() => {
  const sizes = { longtasks: [], frames: [], events: [], inputs: [], sse: { events: 0, bytes: 0 } };
  globalThis.__sizes = sizes;
  const describe = (e) =>
    (e && (e.id || (e.getAttribute && e.getAttribute('aria-label')) || (e.textContent || '').trim().slice(0, 30))) || '?';
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      sizes.longtasks.push({
        start: e.startTime,
        duration: e.duration,
        attribution: (e.attribution || []).map((a) => a.name + '/' + a.containerType),
      });
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const f of list.getEntries())
      sizes.frames.push({
        start: f.startTime,
        duration: f.duration,
        blocking: f.blockingDuration,
        styleAndLayout: f.styleAndLayoutStart > 0 ? f.startTime + f.duration - f.styleAndLayoutStart : 0,
        scripts: f.scripts.map((s) => ({
          invoker: s.invokerType + ': ' + s.invoker,
          source: (s.sourceFunctionName || '(anonymous)') + ' ' + s.sourceURL.split('/').pop(),
          duration: s.duration,
          forcedLayout: s.forcedStyleAndLayoutDuration,
        })),
      });
  }).observe({ type: 'long-animation-frame', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      sizes.events.push({
        name: e.name,
        start: e.startTime,
        duration: e.duration,
        inputDelay: e.processingStart - e.startTime,
        target: describe(e.target),
      });
  }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  for (const type of ['keydown', 'click']) {
    document.addEventListener(
      type,
      (event) => {
        const handled = performance.now();
        const target = describe(event.target);
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () =>
            sizes.inputs.push({
              type,
              target,
              start: event.timeStamp,
              delay: handled - event.timeStamp,
              toFrame: performance.now() - event.timeStamp,
              shown:
                type !== 'click' ||
                [...document.querySelectorAll('button')].some((b) => b.textContent === 'Start live tail'),
            });
          channel.port2.postMessage(0);
        });
      },
      true,
    );
  }
  const Native = globalThis.EventSource;
  globalThis.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('messages', (event) => {
        sizes.sse.events++;
        sizes.sse.bytes += event.data.length;
      });
    }
  };
})();`;

interface PageSizes {
  longtasks: { start: number; duration: number; attribution: string[] }[];
  frames: {
    start: number;
    duration: number;
    blocking: number;
    styleAndLayout: number;
    scripts: { invoker: string; source: string; duration: number; forcedLayout: number }[];
  }[];
  events: { name: string; start: number; duration: number; inputDelay: number; target: string }[];
  inputs: { type: string; target: string; start: number; delay: number; toFrame: number; shown: boolean }[];
  sse: { events: number; bytes: number };
}

const pageSizes = (page: Page) => page.evaluate('globalThis.__sizes') as Promise<PageSizes>;
const pageNow = (page: Page) => page.evaluate('performance.now()') as Promise<number>;

/** Long tasks and long animation frames between `from` and `to` (page times), summed up. */
function mainThread(sizes: PageSizes, from: number, to: number, seconds: number) {
  const tasks = sizes.longtasks.filter((t) => t.start >= from && t.start <= to);
  const frames = sizes.frames.filter((f) => f.start >= from && f.start <= to);
  const byInvoker = new Map<string, { count: number; ms: number; forcedLayoutMs: number }>();
  for (const f of frames)
    for (const s of f.scripts) {
      const key = `${s.invoker} (${s.source})`;
      const sum = byInvoker.get(key) ?? { count: 0, ms: 0, forcedLayoutMs: 0 };
      sum.count++;
      sum.ms += s.duration;
      sum.forcedLayoutMs += s.forcedLayout;
      byInvoker.set(key, sum);
    }
  const perSecond = Array.from({ length: Math.ceil(seconds) }, () => 0);
  for (const t of tasks) {
    const second = Math.floor((t.start - from) / 1000);
    if (second < perSecond.length) perSecond[second] = (perSecond[second] ?? 0) + 1;
  }
  const durations = tasks.map((t) => t.duration);
  return {
    longTasks: {
      count: tasks.length,
      totalMs: Math.round(durations.reduce((a, b) => a + b, 0)),
      maxMs: Math.round(Math.max(0, ...durations)),
      over100Ms: durations.filter((d) => d > 100).length,
      perSecond,
      attribution: [...new Set(tasks.flatMap((t) => t.attribution))],
    },
    longFrames: {
      count: frames.length,
      totalMs: Math.round(frames.reduce((a, f) => a + f.duration, 0)),
      blockingMs: Math.round(frames.reduce((a, f) => a + f.blocking, 0)),
      styleAndLayoutMs: Math.round(frames.reduce((a, f) => a + f.styleAndLayout, 0)),
      scripts: [...byInvoker.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 8)
        .map(([where, sum]) => ({
          where,
          ...sum,
          ms: Math.round(sum.ms),
          forcedLayoutMs: Math.round(sum.forcedLayoutMs),
        })),
    },
  };
}

function latencies(sizes: PageSizes, from: number, to: number, type: string) {
  const inputs = sizes.inputs.filter((i) => i.type === type && i.start >= from && i.start <= to);
  const timed = sizes.events.filter(
    (e) => e.start >= from && e.start <= to && (type === 'click' ? e.name === 'click' : e.name === 'keydown'),
  );
  const round = (s: ReturnType<typeof stats>) => ({
    count: s.count,
    median: Math.round(s.median),
    p90: Math.round(s.p90),
    max: Math.round(s.max),
  });
  return {
    toFrameMs: round(stats(inputs.map((i) => i.toFrame))),
    queuedMs: round(stats(inputs.map((i) => i.delay))),
    allShown: inputs.every((i) => i.shown),
    eventTimingOver16Ms: {
      count: timed.length,
      maxMs: Math.round(Math.max(0, ...timed.map((e) => e.duration))),
    },
  };
}

/** kafkajs writes `rate` messages/s to partition 0 of `topic` for `seconds`, paced every 10 ms. */
async function produceAtRate(topic: string, rate: number, seconds: number, progress: { acked: number }) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = JSON.stringify({ order: 0, item: 'widget', note: 'x'.repeat(60) });
  const started = performance.now();
  let sent = 0;
  const perSecond: number[] = [];
  try {
    for (;;) {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed >= seconds) break;
      const due = Math.min(Math.floor(rate * elapsed) - sent, 1_000);
      if (due <= 0) {
        await sleep(10);
        continue;
      }
      const messages = Array.from({ length: due }, (_, i) => ({ key: `k-${sent + i}`, value }));
      await producer.send({ topic, acks: 1, messages: messages.map((m) => ({ ...m, partition: 0 })) });
      sent += due;
      progress.acked = sent;
      const second = Math.floor(elapsed);
      perSecond[second] = (perSecond[second] ?? 0) + due;
    }
  } finally {
    await producer.disconnect();
  }
  const seconds_ = (performance.now() - started) / 1000;
  return { sent, seconds: seconds_, rate: sent / seconds_, perSecond };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function createTopics(names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let i = 0; i < names.length; i += 100)
      await admin.createTopics({
        topics: names.slice(i, i + 100).map((topic) => ({ topic, numPartitions: 1 })),
        waitForLeaders: true,
        timeout: WAIT_MS,
      });
  } finally {
    await admin.disconnect();
  }
}

async function endOffset(topic: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))[0]?.high ?? '?';
  } finally {
    await admin.disconnect();
  }
}

async function newPage(): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(WAIT_MS);
  await page.addInitScript({ content: INSTRUMENT });
  return page;
}

async function measureTail(): Promise<void> {
  const topic = 'sizes-tail';
  await createTopics([topic]);
  const page = await newPage();
  await page.goto(`${UI_URL}/#/topics/${topic}`);
  await page.getByRole('heading', { name: topic, level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Start live tail' }).click();
  await page.getByText('Tailing partition 0 from offset').waitFor();
  const filter = page.getByLabel('Key, value or header contains');
  const rowsLocator = page.locator('table[aria-label="Live tail"] tbody tr');
  const from = await pageNow(page);
  say(`tail: producing ${TAIL_RATE}/s for ${TAIL_SECONDS} s (load ${load()})`);
  const progress = { acked: 0 };
  const producing = produceAtRate(topic, TAIL_RATE, TAIL_SECONDS, progress);
  const samples: { at: number; rows: number; newest: number; behind: number }[] = [];
  const typed: number[] = [];
  const startedAt = performance.now();
  let nextType = 3_000;
  for (;;) {
    const elapsed = performance.now() - startedAt;
    if (elapsed > (TAIL_SECONDS - 1.5) * 1000) break;
    if (elapsed >= nextType) {
      // Five characters typed into the filter box, then taken out again.
      const typingAt = performance.now();
      await filter.pressSequentially('order');
      await filter.fill('');
      typed.push(performance.now() - typingAt);
      nextType += 3_000;
    }
    const sample = (await page.evaluate(`(() => {
      const trs = document.querySelectorAll('table[aria-label="Live tail"] tbody tr');
      return { rows: trs.length, newest: Number(trs[0]?.querySelector('td')?.textContent ?? -1) };
    })()`)) as { rows: number; newest: number };
    // How many acknowledged messages the page's newest row is behind (offsets start at 0).
    samples.push({
      at: performance.now() - startedAt,
      ...sample,
      behind: progress.acked - 1 - sample.newest,
    });
    await sleep(500);
  }
  // Stop clicked while the messages still come.
  const clickedAt = performance.now();
  await page.getByRole('button', { name: 'Stop live tail' }).click();
  await page.getByRole('button', { name: 'Start live tail' }).waitFor();
  const stopClick = { wallMs: performance.now() - clickedAt, at: clickedAt - startedAt };
  const produced = await producing;
  const to = await pageNow(page);
  const sizes = await pageSizes(page);
  const rowsAtStop = await rowsLocator.count();
  const tail = {
    produced: { ...produced, rate: Math.round(produced.rate), seconds: Number(produced.seconds.toFixed(1)) },
    rowsKept: { max: Math.max(...samples.map((s) => s.rows)), atStop: rowsAtStop },
    sse: sizes.sse,
    behind: stats(samples.filter((s) => s.newest >= 0).map((s) => s.behind)),
    samples: samples.map((s) => ({ at: Math.round(s.at), rows: s.rows, newest: s.newest, behind: s.behind })),
    ...mainThread(sizes, from, to, (to - from) / 1000),
    typing: { ...latencies(sizes, from, to, 'keydown'), playwrightWallMsPer5Keys: typed.map(Math.round) },
    stopClick: {
      ...latencies(sizes, from, to + 1, 'click'),
      playwrightWallMs: Math.round(stopClick.wallMs),
      atMs: Math.round(stopClick.at),
    },
    loadAverage: load(),
  };
  figures.tail = tail;
  say(
    `tail: produced ${tail.produced.sent} in ${tail.produced.seconds} s = ${tail.produced.rate}/s; ` +
      `page kept at most ${tail.rowsKept.max} rows; ${sizes.sse.events} 'messages' events (${sizes.sse.bytes} bytes)`,
  );
  say(
    `tail: long tasks ${tail.longTasks.count}, total ${tail.longTasks.totalMs} ms, max ${tail.longTasks.maxMs} ms, ` +
      `over 100 ms ${tail.longTasks.over100Ms}; per second ${tail.longTasks.perSecond.join(' ')}`,
  );
  say(`tail: long frames ${JSON.stringify(tail.longFrames)}`);
  say(`tail: typing ${JSON.stringify(tail.typing)}`);
  say(`tail: Stop ${JSON.stringify(tail.stopClick)}`);
  say(`tail: the newest row behind the acknowledged messages ${JSON.stringify(tail.behind)}`);
  say(`tail: samples ${JSON.stringify(tail.samples)}`);
  await page.close();
}

async function measureTopics(): Promise<void> {
  const names = Array.from({ length: TOPICS }, (_, i) => `sizes-topic-${String(i).padStart(4, '0')}`);
  const creatingAt = performance.now();
  await createTopics(names);
  say(`topics: ${TOPICS} created in ${ms(performance.now() - creatingAt)} (load ${load()})`);
  const api: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = performance.now();
    const answer = (await (await fetch(`${UI_URL}/api/topics`)).json()) as unknown[];
    api.push(performance.now() - at);
    if (answer.length < TOPICS) throw new Error(`/api/topics listed ${answer.length}`);
  }
  const page = await newPage();
  const rows = page.locator('table[aria-label="Topics"] tbody tr');
  const loadAt = performance.now();
  await page.goto(`${UI_URL}/#/topics`);
  await rows.nth(TOPICS - 1).waitFor({ state: 'attached' });
  const listedMs = performance.now() - loadAt;
  const filter = page.getByLabel('Filter topics');
  await filter.focus();
  const from = await pageNow(page);
  const filterAt = performance.now();
  await filter.pressSequentially('topic-099');
  await waitFor('10 rows', async () => ((await rows.count()) === 10 ? true : undefined));
  const filteredMs = performance.now() - filterAt;
  const clearAt = performance.now();
  await filter.fill('');
  await rows.nth(TOPICS - 1).waitFor({ state: 'attached' });
  const clearedMs = performance.now() - clearAt;
  const to = await pageNow(page);
  const sizes = await pageSizes(page);
  figures.topics = {
    apiMs: api.map(Math.round),
    pageListedMs: Math.round(listedMs),
    filterTo10Ms: Math.round(filteredMs),
    clearTo1000Ms: Math.round(clearedMs),
    typing: latencies(sizes, from, to, 'keydown'),
    ...mainThread(sizes, from, to, (to - from) / 1000),
    loadAverage: load(),
  };
  say(`topics: ${JSON.stringify(figures.topics)}`);
  await page.close();
}

/** A million messages of about 80 bytes into partition 0 of `topic`, through kcat. */
async function produceMillion(topic: string): Promise<number> {
  const at = performance.now();
  const kcat = spawn('kcat', ['-P', '-b', BOOTSTRAP, '-t', topic, '-p', '0', '-K', ':', '-z', 'none'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => kcat.once('exit', resolve));
  const filler = 'y'.repeat(50);
  for (let i = 0; i < MILLION; i += 10_000) {
    let chunk = '';
    for (let j = i; j < i + 10_000; j++) chunk += `m-${j}:{"n":${j},"f":"${filler}"}\n`;
    if (!kcat.stdin.write(chunk)) await new Promise((resolve) => kcat.stdin.once('drain', resolve));
  }
  kcat.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`kcat exited ${code}`);
  return performance.now() - at;
}

async function measureMillion(): Promise<void> {
  const topic = 'sizes-million';
  await createTopics([topic]);
  const producedMs = await produceMillion(topic);
  const end = await endOffset(topic);
  say(`million: kcat wrote them in ${ms(producedMs)}, log end ${end} (load ${load()})`);
  const api: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = performance.now();
    const answer = (await (
      await fetch(`${UI_URL}/api/topics/${topic}/messages?partition=0&from=end&limit=50`)
    ).json()) as { messages: unknown[] };
    api.push(performance.now() - at);
    if (answer.messages.length !== 50) throw new Error(`from the end: ${answer.messages.length} messages`);
  }
  const page = await newPage();
  const loadAt = performance.now();
  await page.goto(`${UI_URL}/#/topics/${topic}`);
  await page.getByRole('heading', { name: topic, level: 1 }).waitFor();
  const pageMs = performance.now() - loadAt;
  await page.getByLabel('From').selectOption('end');
  const clickAt = performance.now();
  await page.getByRole('button', { name: 'Show messages' }).click();
  await page.getByText(`(log end ${end})`).waitFor();
  const shownMs = performance.now() - clickAt;
  figures.million = {
    logEnd: end,
    kcatMs: Math.round(producedMs),
    apiFromEndMs: api.map(Math.round),
    topicPageMs: Math.round(pageMs),
    showFromEndMs: Math.round(shownMs),
    loadAverage: load(),
  };
  say(`million: ${JSON.stringify(figures.million)}`);
  await page.close();
}

test('the web UI with real sizes (a measurement: it prints numbers)', { timeout: 1_800_000 }, async () => {
  say(`load average at start: ${load()}`);
  figures.loadAtStart = load();
  const [started, assets, launched] = await Promise.allSettled([
    KstackProcess.start(
      {
        args: ['--port', String(BROKER_PORT), '--data-dir', dataDir, '--no-companions'],
        ports: [BROKER_PORT],
      },
      WAIT_MS,
    ),
    builtAssets(),
    chromium.launch({ executablePath: CHROMIUM, timeout: WAIT_MS }),
  ]);
  // Whatever started is kept, so that after() stops it even when another part failed.
  if (started.status === 'fulfilled') broker = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  for (const result of [started, assets, launched]) if (result.status === 'rejected') throw result.reason;
  uiProcess = await startUiProcess();
  say(`chromium ${browser!.version()}; kstack up and kstack ui ready`);
  await measureTail();
  await measureTopics();
  if (process.env.SIZES_SKIP_MILLION !== '1') await measureMillion();
  figures.loadAtEnd = load();
  say(`load average at end: ${load()}`);
  writeFileSync(OUT, `${JSON.stringify(figures, null, 2)}\n`);
  say(`figures: ${OUT}`);
});
