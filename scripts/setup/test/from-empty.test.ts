/**
 * The setup, proven from empty caches through the README's own path (issue 11).
 *
 * `make test` runs `npm test`, which runs `npm run setup`: npm exports the user's npm configuration
 * to the setup scripts as npm_config_* variables. A machine whose npm user config said `nodedir=/usr`
 * once built @confluentinc/kafka-javascript against the machine's Node 20 headers, and only a fresh
 * machine showed it: a warm cache skipped the build. This test runs `npm run setup` with a new, empty
 * HOME (npm, pip, Go and Maven caches, the Node 24 tools, ~/.cache/kstack) whose npm user config
 * holds `nodedir=/usr`, then checks what the from-source steps built: the confluent-js addon loads in
 * Node 24, the franz-go driver answers a job, the Python clients import, Kafka's jars are there.
 *
 * When, first match wins:
 * - KSTACK_VERIFY_SETUP=1: always, from a new empty HOME;
 * - this machine's own `npm run setup` started with no ~/.cache/kstack, under an npm config that set
 *   nodedir, after the last change to any setup input (scripts/setup.sh leaves setup-from-empty.json):
 *   that run took the README's path from empty caches, so its results are checked instead of
 *   building everything twice (a fresh CI machine);
 * - the setup inputs are unchanged since the last run that passed here (their hash is kept in
 *   ~/.cache/kstack): skipped, and the skip says so;
 * - otherwise (inputs changed on a machine with warm caches, CI or not): from a new empty HOME.
 * From a new HOME it takes about 8 minutes on a quiet machine, most of it librdkafka and Compose.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;
const SETUP_TIMEOUT_MS = 30 * 60_000;
/** How much of a failed setup's output the assertion carries. */
const SETUP_TAIL_LINES = 60;
const VERIFIED_STAMP = join(homedir(), '.cache', 'kstack', 'setup-verified-from-empty');

/** Every file whose change can change what the setup installs or builds. */
function setupInputs(): string[] {
  const files = ['scripts/setup.sh', 'package.json', 'package-lock.json', 'reference/pom.xml'];
  for (const name of readdirSync(join(ROOT, 'scripts/setup')).sort())
    if (name.endsWith('.sh')) files.push(`scripts/setup/${name}`);
  for (const name of readdirSync(join(ROOT, 'compat/clients/go')).sort())
    if (/\.go$|^go\.(mod|sum)$/.test(name)) files.push(`compat/clients/go/${name}`);
  // The pinned PyPI requirements and Go drivers the setup steps install or build from.
  files.push('compat/clients/python/requirements.txt', 'test/registry/python/requirements.txt');
  // The Connect plugins' Maven project (scripts/setup/50-connect.sh).
  files.push('src/connect/pom.xml');
  for (const name of readdirSync(join(ROOT, 'test/registry/go')).sort())
    if (/\.go$|^go\.(mod|sum)$/.test(name)) files.push(`test/registry/go/${name}`);
  for (const name of readdirSync(join(ROOT, 'scripts/setup/compose')).sort())
    files.push(`scripts/setup/compose/${name}`);
  return files;
}

function inputsHash(): string {
  const hash = createHash('sha256');
  for (const file of setupInputs())
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(ROOT, file)));
  return hash.digest('hex');
}

interface FromEmptyRun {
  startedAt: number;
  finishedAt: number;
  npmConfigNodedir: string;
}

/** The record scripts/setup.sh leaves when a run that started with no cache folder passed. */
function ownFromEmptyRun(): FromEmptyRun | null {
  const path = join(homedir(), '.cache', 'kstack', 'setup-from-empty.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FromEmptyRun) : null;
}

/** Seconds since the epoch of the newest change to a setup input. */
function newestInputChange(): number {
  return Math.max(...setupInputs().map((file) => statSync(join(ROOT, file)).mtimeMs / 1000));
}

type Plan =
  | { kind: 'fresh-home'; reason: string }
  | { kind: 'own-run'; run: FromEmptyRun }
  | { kind: 'skip' };

function plan(hash: string): Plan {
  if (process.env.KSTACK_VERIFY_SETUP === '1') return { kind: 'fresh-home', reason: 'KSTACK_VERIFY_SETUP=1' };
  const own = ownFromEmptyRun();
  if (own !== null && own.npmConfigNodedir !== '' && newestInputChange() <= own.startedAt)
    return { kind: 'own-run', run: own };
  const verified = existsSync(VERIFIED_STAMP) ? readFileSync(VERIFIED_STAMP, 'utf8').trim() : '';
  if (verified === hash) return { kind: 'skip' };
  return { kind: 'fresh-home', reason: 'the setup inputs changed since the last verified run' };
}

/** The user's npm config plus `nodedir=/usr`, the setting that broke the build on a fresh machine. */
function npmUserConfig(): string {
  const own = join(homedir(), '.npmrc');
  const kept = existsSync(own) ? readFileSync(own, 'utf8').split('\n') : [];
  return [...kept.filter((line) => !/^\s*nodedir\s*=/.test(line)), 'nodedir=/usr', ''].join('\n');
}

/** The environment of a new shell on a machine with nothing cached: HOME is new, npm settings come from its .npmrc. */
function freshEnvironment(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || /^(GOPATH|GOCACHE|GOMODCACHE|GOENV|KSTACK_)/.test(name)) continue;
    env[name] = value;
  }
  // Where Go downloads from is the machine's setting, not part of the cache: keep it.
  for (const name of ['GOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GOPRIVATE']) {
    env[name] = execFileSync('go', ['env', name], { encoding: 'utf8' }).trim();
  }
  env.HOME = home;
  return env;
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** What the from-source steps built, checked in a cache folder (`<home>/.cache/kstack`). */
function checkBuilt(home: string): void {
  const cache = join(home, '.cache', 'kstack');
  const node24 = join(home, '.cache', 'kstack-tools', 'node_modules', '.bin', 'node');
  assert.match(execFileSync(node24, ['--version'], { encoding: 'utf8' }), /^v24\./);

  // confluent-js: built against the Node 24 headers the script unpacked, and it loads in Node 24.
  const confluentHome = readdirSync(cache).find((name) => name.startsWith('confluent-js-'));
  assert.ok(confluentHome, `no confluent-js build in ${cache}`);
  const buildLog = readFileSync(join(cache, confluentHome, 'build.log'), 'utf8');
  assert.match(buildLog, /-Dnode_root_dir=\S*node-headers/, 'node-gyp must configure the Node 24 headers');
  assert.doesNotMatch(buildLog, /-Dnode_root_dir=\/usr\b/);
  const addon = join(cache, confluentHome, 'node_modules', '@confluentinc', 'kafka-javascript');
  const features = execFileSync(node24, ['-p', `require(${JSON.stringify(addon)}).features.join(',')`], {
    encoding: 'utf8',
  });
  assert.match(features, /zstd/);

  // franz-go driver: answers an empty job with its client name.
  const driver = execFileSync(join(cache, 'bin', 'franz-driver'), {
    input: JSON.stringify({ protocol: 1, bootstrap: '127.0.0.1:19399', jobId: 'setup-check', steps: [] }),
    encoding: 'utf8',
  });
  assert.equal(JSON.parse(driver).client.name, 'franz-go');

  // Docker Compose: the binary and the CLI plugin link.
  const compose = execFileSync(join(cache, 'docker', 'cli-plugins', 'docker-compose'), ['version'], {
    encoding: 'utf8',
  });
  assert.match(compose, /Docker Compose version v\d/);

  // PyPI clients in the venv, and the reference's jars.
  execFileSync(join(cache, 'venv', 'bin', 'python'), [
    '-c',
    'import confluent_kafka, kafka, snappy, lz4, zstandard',
  ]);
  const kafkaHome = readdirSync(cache).find((name) => /^kafka-\d/.test(name));
  assert.ok(kafkaHome, `no Kafka jars in ${cache}`);
  assert.ok(readdirSync(join(cache, kafkaHome, 'libs')).some((jar) => jar.startsWith('kafka_')));

  // Connect's plugins (FileStream, MirrorMaker 2) for the worker kstack connect runs.
  const connectHome = readdirSync(cache).find((name) => /^connect-\d/.test(name));
  assert.ok(connectHome, `no Connect plugins in ${cache}`);
  assert.ok(readdirSync(join(cache, connectHome, 'plugins')).length > 0, 'no Connect plugin folder');

  // Chromium for the UI's browser test (scripts/setup/15-browser.sh, Debian's package).
  assert.ok(existsSync('/usr/bin/chromium'), 'no /usr/bin/chromium');
}

/** `npm run setup` as a new user runs it: a new HOME, nothing cached, `nodedir=/usr` in ~/.npmrc. */
async function setupInFreshHome(t: TestContext): Promise<void> {
  // Beside the real caches, not in the temp folder: a fresh machine builds on its HOME's disk, and a
  // small or noexec /tmp would fail here for a reason no user meets.
  mkdirSync(join(homedir(), '.cache'), { recursive: true });
  const scratch = mkdtempSync(join(homedir(), '.cache', 'kstack-setup-check-'));
  try {
    const home = join(scratch, 'home');
    mkdirSync(home);
    writeFileSync(join(home, '.npmrc'), npmUserConfig());
    const mavenSettings = join(homedir(), '.m2', 'settings.xml');
    if (existsSync(mavenSettings)) {
      mkdirSync(join(home, '.m2'));
      writeFileSync(join(home, '.m2', 'settings.xml'), readFileSync(mavenSettings));
    }
    const started = Date.now();
    const setup = await run('npm', ['run', 'setup'], { cwd: ROOT, env: freshEnvironment(home) });
    t.diagnostic(`npm run setup from empty caches took ${Math.round((Date.now() - started) / 1000)} s`);
    for (const line of setup.output.split('\n')) if (/^setup: .* done in/.test(line)) t.diagnostic(line);
    if (setup.code !== 0) {
      // CI shows only the assertion of a failed test: the step that failed and its last lines go in it.
      const lines = setup.output.trimEnd().split('\n');
      const step =
        lines.filter((line) => /^setup: scripts\/setup\/\S+$/.test(line)).at(-1) ?? 'before the first step';
      assert.fail(
        `npm run setup failed from empty caches (exit ${setup.code}) in ${step.replace(/^setup: /, '')}; ` +
          `its last ${SETUP_TAIL_LINES} lines:\n${lines.slice(-SETUP_TAIL_LINES).join('\n')}`,
      );
    }
    checkBuilt(home);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

test('npm run setup from empty caches, with an npm user config that says nodedir=...', {
  timeout: SETUP_TIMEOUT_MS,
}, async (t) => {
  const hash = inputsHash();
  const chosen = plan(hash);
  if (chosen.kind === 'skip') {
    t.skip(
      `setup inputs unchanged since verified from empty caches (${VERIFIED_STAMP}); KSTACK_VERIFY_SETUP=1 forces it`,
    );
    return;
  }
  if (chosen.kind === 'own-run') {
    const { run: own } = chosen;
    t.diagnostic(
      `this machine's npm run setup started from empty caches with npm_config_nodedir=${own.npmConfigNodedir} ` +
        `and passed in ${own.finishedAt - own.startedAt} s, after the last change to a setup input: checking what it built`,
    );
    checkBuilt(homedir());
  } else {
    t.diagnostic(`building from a new empty HOME because ${chosen.reason}`);
    await setupInFreshHome(t);
  }
  mkdirSync(dirname(VERIFIED_STAMP), { recursive: true });
  writeFileSync(VERIFIED_STAMP, `${hash}\n`);
});
