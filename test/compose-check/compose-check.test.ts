/**
 * `kstack compose-check` (issue 19 part 2) through the real CLI: the real Compose renders the stack,
 * three Apache Kafka brokers run it in network namespaces, and the Compose file's own checks run
 * against them. The stack runs with a .env that moves every host port into 20790-20799 and the data
 * folder into a temporary directory; mutations of a copy of the stack must fail naming the service
 * and the setting. Needs root (ip netns), the reference jars and the Compose binary (npm run setup).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kafkaVersion } from '../../reference/cluster.ts';
import { NAMESPACE_PREFIX, removeStale } from '../../src/compose-check/network.ts';
import { copyStack, KAFKA_FILE, REPO_ROOT } from '../validate/stack-copy.ts';

/** Host ports: the full run publishes 20792-20794, the mutation run 20795-20797 (docs/team-rules.md). */
const FULL_PORTS = {
  KAFKA_1_EXTERNAL_PORT: 20792,
  KAFKA_2_EXTERNAL_PORT: 20793,
  KAFKA_3_EXTERNAL_PORT: 20794,
};
const MUTATION_PORTS = {
  KAFKA_1_EXTERNAL_PORT: 20795,
  KAFKA_2_EXTERNAL_PORT: 20796,
  KAFKA_3_EXTERNAL_PORT: 20797,
};
/** Ports of services the check does not run, moved too so nothing could land on a default port. */
const OTHER_PORTS = {
  SCHEMA_REGISTRY_PORT: 20781,
  KAFKA_REST_PROXY_PORT: 20782,
  KAFKA_CONNECT_PORT: 20783,
  KAFKA_UI_PORT: 20780,
  KAFKA_EXPORTER_PORT: 20798,
};
const RUN_TIMEOUT_MS = 480_000;
/** A broker JVM of compose-check: its properties live in the run's scratch folder. */
const BROKER_MARKER = 'kafka\\.Kafka .*kstack-compose-check-';
const temporaryDirs: string[] = [];

after(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** .env.example with every *_PORT variable replaced (each must exist) and the data folder moved. */
function movedEnv(ports: Record<string, number>): { envFile: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-compose-check-test-'));
  temporaryDirs.push(dir);
  let text = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
  const all = { ...OTHER_PORTS, ...ports };
  for (const [name, port] of Object.entries(all)) {
    const pattern = new RegExp(`^${name}=\\d+$`, 'm');
    assert.match(text, pattern, `.env.example has no ${name}`);
    text = text.replace(pattern, `${name}=${port}`);
  }
  const left = [...text.matchAll(/^([A-Z0-9_]+_PORT)=\d+$/gm)].filter((match) => !(match[1]! in all));
  assert.deepEqual(left, [], 'every host port of .env.example is moved');
  const dataDir = join(dir, 'data');
  text = text.replace(/^DEFAULT_MESSAGE_BROKER_DIR=.*$/m, `DEFAULT_MESSAGE_BROKER_DIR=${dataDir}`);
  const envFile = join(dir, '.env');
  writeFileSync(envFile, text);
  return { envFile, dataDir };
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function composeCheck(composeFile: string, envFile: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/kstack.ts'),
        'compose-check',
        '--file',
        composeFile,
        '--env-file',
        envFile,
        '--heap-opts=-Xmx256m',
        '--verbose',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function checkLines(stdout: string, status: string, name: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.trimStart().startsWith(`${status} `) && line.includes(` ${name}: `));
}

function serviceLine(stdout: string, service: string): string {
  const line = stdout.split('\n').find((text) => new RegExp(`^  ${service} +(ran|not run) `).test(text));
  assert.ok(line !== undefined, `no line for service ${service} in:\n${stdout}`);
  return line;
}

/** Nothing of a finished run is left: namespaces, hosts folders, published ports, JVMs. */
async function assertCleanedUp(ports: readonly number[]): Promise<void> {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  assert.ok(!namespaces.includes(NAMESPACE_PREFIX), `namespaces left: ${namespaces}`);
  const etc = existsSync('/etc/netns') ? readdirSync('/etc/netns') : [];
  assert.deepEqual(
    etc.filter((name) => name.startsWith(NAMESPACE_PREFIX)),
    [],
  );
  for (const port of ports) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    assert.ok(refused, `127.0.0.1:${port} still accepts connections`);
  }
  const java = spawnSync('pgrep', ['-f', BROKER_MARKER], { encoding: 'utf8' }).stdout.trim();
  assert.equal(java, '', `broker JVMs still running: ${java}`);
}

const composeText = readFileSync(join(REPO_ROOT, KAFKA_FILE), 'utf8');
const brokerImage = /x-kafka-broker: &kafka-broker\n\s+image: (\S+)/.exec(composeText)?.[1];
const clusterId = /CLUSTER_ID: (\S+)/.exec(composeText)?.[1];

describe('kstack compose-check', () => {
  it('exits 2 on bad usage and on a stack the real Compose refuses, with its message', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, 'bin/kstack.ts'), 'compose-check', ...args], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
    const bad = cli(['--bogus']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown argument '--bogus'/);
    const { envFile } = movedEnv(MUTATION_PORTS);
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(/^DEFAULT_MESSAGE_BROKER_DIR=.*\n/m, ''));
    const refused = cli(['--env-file', envFile]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /docker compose config refused the stack: .*set DEFAULT_MESSAGE_BROKER_DIR in \.env/,
    );
  });

  it('cleans up on Ctrl-C: namespaces, published ports and JVMs are gone, exit 130', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const { envFile } = movedEnv(MUTATION_PORTS);
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/kstack.ts'),
        'compose-check',
        '--env-file',
        envFile,
        '--heap-opts=-Xmx256m',
        '--verbose',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Interrupted once every broker JVM runs and its published port is bound.
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/healthcheck attempt 1/.test(stderr)) resolve();
      });
      child.once('close', () => reject(new Error(`compose-check ended before its brokers ran: ${stderr}`)));
    });
    assert.notEqual(spawnSync('pgrep', ['-f', BROKER_MARKER], { encoding: 'utf8' }).stdout.trim(), '');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    await assertCleanedUp(Object.values(MUTATION_PORTS));
  });

  it('removes the namespaces a killed run left (its pid gone), with what runs in them', () => {
    const dead = spawnSync('true');
    assert.equal(dead.status, 0);
    const leftover = `${NAMESPACE_PREFIX}${dead.pid}-0`;
    assert.equal(spawnSync('ip', ['netns', 'add', leftover]).status, 0);
    mkdirSync(join('/etc/netns', leftover), { recursive: true });
    writeFileSync(join('/etc/netns', leftover, 'hosts'), '127.0.0.1 localhost\n');
    const sleeper = spawn('ip', ['netns', 'exec', leftover, 'sleep', '600'], { stdio: 'ignore' });
    try {
      const pidsInside = () =>
        spawnSync('ip', ['netns', 'pids', leftover], { encoding: 'utf8' }).stdout.trim();
      const deadline = Date.now() + 10_000;
      while (pidsInside() === '' && Date.now() < deadline) spawnSync('sleep', ['0.1']);
      assert.notEqual(pidsInside(), '', 'the process inside the leftover namespace started');
      assert.ok(removeStale().includes(leftover));
      assert.ok(!spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(leftover));
      assert.ok(!existsSync(join('/etc/netns', leftover)));
    } finally {
      sleeper.kill('SIGKILL');
      spawnSync('ip', ['netns', 'delete', leftover]);
      rmSync(join('/etc/netns', leftover), { recursive: true, force: true });
    }
  });

  it('runs the real stack: formatted, healthy, kafka-init twice, VAL-MSG-PLN-003 and min ISR through the published ports', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const { envFile, dataDir } = movedEnv(FULL_PORTS);
    const started = Date.now();
    const run = await composeCheck(join(REPO_ROOT, 'docker-compose.yml'), envFile);
    const report = `${run.stdout}\n--- stderr ---\n${run.stderr}`;
    process.stdout.write(
      `# compose-check took ${((Date.now() - started) / 1000).toFixed(0)} s\n${run.stdout.replace(/^/gm, '# ')}\n`,
    );
    for (const broker of ['kafka-1', 'kafka-2', 'kafka-3']) {
      assert.match(serviceLine(run.stdout, broker), / ran +Apache Kafka /, report);
      assert.equal(
        checkLines(run.stdout, 'PASS', 'storage format').filter((line) => line.includes(`${broker}:`)).length,
        1,
        report,
      );
      assert.equal(
        checkLines(run.stdout, 'PASS', 'healthcheck').filter((line) => line.includes(`${broker}:`)).length,
        1,
        report,
      );
      // The volume mapping: the broker's data is in the bind source under DEFAULT_MESSAGE_BROKER_DIR.
      const meta = readFileSync(join(dataDir, 'kafka', broker, 'meta.properties'), 'utf8');
      assert.match(meta, new RegExp(`^cluster\\.id=${clusterId}$`, 'm'));
    }
    assert.equal(checkLines(run.stdout, 'PASS', 'advertised listeners').length, 6, report);
    assert.match(serviceLine(run.stdout, 'kafka-init'), / ran +\/bin\/bash \/init\/create-topics\.sh/);
    for (const name of [
      'baseline topics',
      'kafka-init rerun',
      'group coordinator',
      'VAL-MSG-PLN-003',
      'min.insync.replicas',
    ]) {
      assert.equal(checkLines(run.stdout, 'PASS', name).length, 1, `${name} passes:\n${report}`);
    }
    assert.match(
      run.stdout,
      /PASS +min\.insync\.replicas: KAFKA_MIN_INSYNC_REPLICAS=2: .*refused with NOT_ENOUGH_REPLICAS/,
    );
    for (const service of ['schema-registry', 'kafka-rest-proxy', 'kafka-ui']) {
      assert.match(serviceLine(run.stdout, service), / not run +not run: .*can be had here/);
    }
    assert.match(
      serviceLine(run.stdout, 'kafka-exporter'),
      / not run +not run: the Go module proxy refuses /,
    );
    // Connect: Kafka's own worker from its CONNECT_* environment, healthy by its own healthcheck (curl).
    assert.match(
      serviceLine(run.stdout, 'kafka-connect'),
      / ran +Apache Kafka \S+ Connect worker .*depends_on schema-registry cannot run here/,
    );
    assert.equal(
      checkLines(run.stdout, 'PASS', 'healthcheck').filter((line) => line.includes('kafka-connect:')).length,
      1,
      report,
    );
    // Every failure is the image drift; the exit status says whether there is one.
    const failures = run.stdout.split('\n').filter((line) => line.trimStart().startsWith('FAIL '));
    assert.deepEqual(
      failures.filter((line) => !line.includes(' image version: ')),
      [],
      report,
    );
    const drift = checkLines(run.stdout, 'FAIL', 'image version').concat(
      checkLines(run.stdout, 'PASS', 'image version'),
    );
    assert.equal(drift.length, 1, report);
    assert.ok(drift[0]!.includes(`image ${brokerImage}`) && drift[0]!.includes(kafkaVersion()), drift[0]);
    assert.equal(run.status, failures.length === 0 ? 0 : 1, report);
    await assertCleanedUp([...Object.values(FULL_PORTS), OTHER_PORTS.KAFKA_CONNECT_PORT]);
  });

  it('fails naming the service and the setting: no CLUSTER_ID, a static IP; the image drift names both versions', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    const [major, minor] = kafkaVersion().split('.').map(Number) as [number, number];
    // Confluent Platform X.Y ships Apache Kafka (X-4).Y: the brokers' tag made to match, kafka-init's
    // made to drift one minor ahead.
    const matchingTag = `confluentinc/cp-kafka:${major + 4}.${minor}.0`;
    const driftingTag = `confluentinc/cp-kafka:${major + 4}.${minor + 1}.0`;
    const copy = copyStack([
      { file: KAFKA_FILE, from: `  CLUSTER_ID: ${clusterId}\n`, to: '' },
      {
        file: KAFKA_FILE,
        from: '    container_name: kafka-1\n',
        to: '    container_name: kafka-1\n    networks:\n      infra_net:\n        ipv4_address: 172.28.0.11\n',
      },
      {
        file: KAFKA_FILE,
        from: `&kafka-broker\n  image: ${brokerImage}`,
        to: `&kafka-broker\n  image: ${matchingTag}`,
      },
      { file: KAFKA_FILE, from: `\n    image: ${brokerImage}\n`, to: `\n    image: ${driftingTag}\n` },
    ]);
    temporaryDirs.push(copy.dir);
    const { envFile } = movedEnv(MUTATION_PORTS);
    const run = await composeCheck(copy.rootFile, envFile);
    const report = `${run.stdout}\n--- stderr ---\n${run.stderr}`;
    assert.equal(run.status, 1, report);
    for (const broker of ['kafka-1', 'kafka-2', 'kafka-3']) {
      assert.ok(
        checkLines(run.stdout, 'FAIL', 'storage format').some((line) =>
          line.includes(`${broker}: CLUSTER_ID is not set`),
        ),
        report,
      );
    }
    assert.match(
      run.stdout,
      new RegExp(
        `PASS +image version: kafka-1, kafka-2, kafka-3: image ${matchingTag} ships Apache Kafka ${major}\\.${minor}\\.x`,
      ),
    );
    assert.match(
      run.stdout,
      new RegExp(
        `FAIL +image version: kafka-init: image ${driftingTag} ships Apache Kafka ${major}\\.${minor + 1}\\.x but this check runs Apache Kafka ${kafkaVersion()}`,
      ),
    );
    assert.match(
      run.stdout,
      /FAIL +names only: kafka-1: networks\.infra_net\.ipv4_address 172\.28\.0\.11 is a static address; .*REQ-MSG-003/,
    );
    assert.match(run.stdout, /NOT RUN +brokers: /);
    await assertCleanedUp(Object.values(MUTATION_PORTS));
  });

  it('fails naming the service and the setting: a wrong advertised listener (kafka-2), a broken healthcheck (kafka-3)', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    // Nothing ever listens on 19099, so every attempt fails (the tool exits 1 within ~5 s) whatever the
    // load, and no start period can help kafka-3: the attempts inside its 15 s are not counted, the next
    // two are, ~30 s in all (a 60 s start period made it ~70 s).
    const brokenHealthcheck = [
      '    healthcheck:',
      '      test: ["CMD-SHELL", "KAFKA_OPTS= kafka-broker-api-versions --bootstrap-server localhost:19099 > /dev/null 2>&1 || exit 1"]',
      '      interval: 5s',
      '      timeout: 20s',
      '      retries: 2',
      '      start_period: 15s',
      '',
    ].join('\n');
    const copy = copyStack([
      { file: KAFKA_FILE, from: 'INTERNAL://kafka-2:19092,', to: 'INTERNAL://kafka-2:19093,' },
      {
        file: KAFKA_FILE,
        from: '    container_name: kafka-3\n',
        to: `    container_name: kafka-3\n${brokenHealthcheck}`,
      },
      // Bound the shared healthcheck's wait so a broker that the wrong listener makes unhealthy fails in time.
      {
        file: KAFKA_FILE,
        from: '    retries: 12\n    start_period: 40s',
        to: '    retries: 2\n    start_period: 60s',
      },
    ]);
    temporaryDirs.push(copy.dir);
    const { envFile } = movedEnv(MUTATION_PORTS);
    const run = await composeCheck(copy.rootFile, envFile);
    const report = `${run.stdout}\n--- stderr ---\n${run.stderr}`;
    process.stdout.write(`${run.stdout.replace(/^/gm, '# ')}\n`);
    assert.equal(run.status, 1, report);
    assert.match(
      run.stdout,
      /FAIL +advertised listeners: kafka-2: KAFKA_ADVERTISED_LISTENERS gives INTERNAL:\/\/kafka-2:19093 but no Kafka answers there from kafka-init on infra_net/,
    );
    assert.match(
      run.stdout,
      /FAIL +healthcheck: kafka-3: unhealthy: healthcheck\.test failed 2 times after its 15 s start period .*localhost:19099/,
    );
    assert.match(run.stdout, /NOT RUN +VAL-MSG-PLN-003: a broker is not healthy/);
    await assertCleanedUp(Object.values(MUTATION_PORTS));
  });
});
