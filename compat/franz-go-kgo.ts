// franz-go's own `pkg/kgo` integration tests against any running cluster, by hand (not in CI: a run
// takes 5-35 minutes), and the per-test table of docs/compatibility.md from their logs.
//
//   node compat/franz-go-kgo.ts run --seeds 127.0.0.1:P,127.0.0.1:P+1,… --rf 3 --log FILE [--timeout 50m] [-- GO-TEST-FLAGS…]
//   node compat/franz-go-kgo.ts table TITLE=LOG…
//
// `run` compiles the suite's test binary from Go's module cache at the version compat/clients/go
// pins (no network: scripts/setup/20-clients.sh put the module there), once per version, then runs
// it with KGO_SEEDS and KGO_TEST_RF, `-test.v`, its output to the log; it prints the counts.
// `table` prints a Markdown table, one row per top-level Test function, one column per log: "pass N s",
// "fail N s", "skip", "not finished" (running when the binary stopped) or "not run".
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..');
const USAGE = [
  'usage: node compat/franz-go-kgo.ts run --seeds HOST:PORT,… --rf N --log FILE [--timeout 50m] [-- GO-TEST-FLAGS…]',
  '       node compat/franz-go-kgo.ts table TITLE=LOG…',
].join('\n');
/** The binary's own bound on the whole suite (`-test.timeout`); the reference took 23-35 minutes on one node at load 40-60. */
const DEFAULT_TIMEOUT = '50m';
const GO_MOD = path.join(ROOT, 'compat/clients/go/go.mod');
const MODULE = 'github.com/twmb/franz-go';

type Outcome = { kind: 'pass' | 'fail'; seconds: number } | { kind: 'skip' | 'not finished' };

function fail(message: string): never {
  process.stderr.write(`franz-go-kgo: ${message}\n`);
  process.exit(2);
}

/** The franz-go version compat/clients/go pins (its go.mod `require` line). */
export function pinnedVersion(goMod = fs.readFileSync(GO_MOD, 'utf8')): string {
  const line = goMod.split('\n').find((l) => l.trim().startsWith(`${MODULE} v`));
  if (line === undefined) fail(`${GO_MOD} does not require ${MODULE}`);
  return line.trim().split(/\s+/)[1]!;
}

/** Compiles the kgo test binary once per version (from the module cache, GOPROXY=off); its path. */
function testBinary(version: string): string {
  const binary = path.join(os.homedir(), '.cache/kstack/franz-go-kgo', `kgo-${version}.test`);
  if (fs.existsSync(binary)) return binary;
  const gopath = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
  const moduleDir = path.join(gopath, `${MODULE}@${version}`);
  if (!fs.existsSync(moduleDir)) fail(`${moduleDir} is missing: run scripts/setup/20-clients.sh`);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  process.stderr.write(`franz-go-kgo: compiling ${MODULE}/pkg/kgo ${version} tests into ${binary}\n`);
  const built = spawnSync('nice', ['go', 'test', '-c', '-o', binary, './pkg/kgo'], {
    cwd: moduleDir,
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod' },
    stdio: 'inherit',
  });
  if (built.status !== 0) fail(`go test -c failed (exit ${built.status})`);
  return binary;
}

/** Each top-level test's outcome in a `go test -v` log (Test functions: not the fuzz targets' seed runs). */
export function outcomes(log: string): Map<string, Outcome> {
  const result = new Map<string, Outcome>();
  for (const line of log.split('\n')) {
    const started = /^=== RUN {3}(Test\w*)$/.exec(line);
    if (started !== null && !result.has(started[1]!)) result.set(started[1]!, { kind: 'not finished' });
    const ended = /^--- (PASS|FAIL|SKIP): (Test\w*) \(([\d.]+)s\)$/.exec(line);
    if (ended === null) continue;
    const [, verdict, name, seconds] = ended;
    result.set(
      name!,
      verdict === 'SKIP'
        ? { kind: 'skip' }
        : { kind: verdict === 'PASS' ? 'pass' : 'fail', seconds: Number(seconds) },
    );
  }
  return result;
}

function cell(outcome: Outcome | undefined): string {
  if (outcome === undefined) return 'not run';
  if (outcome.kind === 'pass' || outcome.kind === 'fail')
    return `${outcome.kind} ${Math.round(outcome.seconds)} s`;
  return outcome.kind;
}

export function counts(results: Map<string, Outcome>): Record<Outcome['kind'], number> {
  const total = { pass: 0, fail: 0, skip: 0, 'not finished': 0 };
  for (const outcome of results.values()) total[outcome.kind]++;
  return total;
}

function table(columns: string[]): void {
  if (columns.length === 0) fail(USAGE);
  const logs = columns.map((column) => {
    const at = column.indexOf('=');
    if (at <= 0) fail(`'${column}' is not TITLE=LOG`);
    return { title: column.slice(0, at), results: outcomes(fs.readFileSync(column.slice(at + 1), 'utf8')) };
  });
  const names = [...new Set(logs.flatMap((l) => [...l.results.keys()]))].sort();
  const lines = [
    `| test | ${logs.map((l) => l.title).join(' | ')} |`,
    `| --- |${logs.map(() => ' --- |').join('')}`,
    ...names.map((name) => `| ${name} | ${logs.map((l) => cell(l.results.get(name))).join(' | ')} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const { title, results } of logs)
    process.stderr.write(`${title}: ${JSON.stringify(counts(results))}\n`);
}

async function run(args: string[]): Promise<void> {
  const dash = args.indexOf('--');
  const own = dash < 0 ? args : args.slice(0, dash);
  const goFlags = dash < 0 ? [] : args.slice(dash + 1);
  const option = (name: string) => {
    const at = own.indexOf(`--${name}`);
    return at < 0 ? undefined : own[at + 1];
  };
  const seeds = option('seeds') ?? fail(USAGE);
  const rf = option('rf') ?? fail(USAGE);
  const logFile = option('log') ?? fail(USAGE);
  const binary = testBinary(pinnedVersion());
  const log = fs.createWriteStream(logFile);
  const started = Date.now();
  const child = spawn(
    binary,
    ['-test.v', '-test.timeout', option('timeout') ?? DEFAULT_TIMEOUT, ...goFlags],
    {
      env: { ...process.env, KGO_SEEDS: seeds, KGO_TEST_RF: rf },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise((resolve) => log.end(resolve));
  const results = counts(outcomes(fs.readFileSync(logFile, 'utf8')));
  const seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`franz-go-kgo: exit ${code} after ${seconds} s: ${JSON.stringify(results)}\n`);
  process.exitCode = code === 0 ? 0 : 1;
}

if (import.meta.main) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'run') await run(rest);
  else if (command === 'table') table(rest);
  else fail(USAGE);
}
