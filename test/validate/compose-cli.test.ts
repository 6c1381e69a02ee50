/**
 * The real Docker Compose (built from the Go module proxy by scripts/setup/35-compose.sh) on the stack
 * (issue 19, part 1). `docker compose config` needs no engine, so the seeds' VAL-MSG-001 runs as the
 * spec writes it, and `kstack validate` is held to agree with Compose: every file Compose rejects
 * must fail `kstack validate` too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copyStack, type Edit, KAFKA_FILE, REPO_ROOT } from './stack-copy.ts';

const CACHE_DIR = process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack');
/** A Docker CLI config folder of our own whose cli-plugins holds the Compose we built. */
const DOCKER_CONFIG = join(CACHE_DIR, 'docker');
const COMPOSE_BINARY = join(CACHE_DIR, 'bin', 'docker-compose');
const VAL_MSG_001 =
  'COMPOSE_PROFILES=core,data,obs,messaging docker compose --env-file .env.example config -q';
const TIMEOUT_MS = 60_000;

const dockerCli = spawnSync('docker', ['--version'], { encoding: 'utf8' }).status === 0;

function shell(command: string, cwd: string) {
  // The stack's variables come from the env file only, as on a user's machine with a clean shell.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_CONFIG };
  const result = spawnSync('bash', ['-c', command], { cwd, env, encoding: 'utf8', timeout: TIMEOUT_MS });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** `docker compose ARGS` through the Docker CLI and our plugin, or the same binary standalone without a Docker CLI. */
function compose(args: string, cwd: string) {
  return shell(`${dockerCli ? 'docker compose' : COMPOSE_BINARY} ${args}`, cwd);
}

function validate(cwd: string, envFile: string) {
  const result = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'bin/kstack.ts'), 'validate', '--env-file', envFile],
    { cwd, encoding: 'utf8', timeout: TIMEOUT_MS },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the real Docker Compose on the stack', () => {
  it('is installed by the setup (scripts/setup/35-compose.sh)', () => {
    assert.ok(existsSync(COMPOSE_BINARY), `${COMPOSE_BINARY} is missing: run npm run setup`);
    assert.match(
      shell(`${COMPOSE_BINARY} version`, REPO_ROOT).output,
      /Docker Compose version v\d+\.\d+\.\d+/,
    );
  });

  it(`VAL-MSG-001 verbatim: ${VAL_MSG_001}`, (t) => {
    if (!dockerCli) t.diagnostic('no docker CLI on this machine: the Compose binary runs standalone');
    const run = shell(
      dockerCli ? VAL_MSG_001 : VAL_MSG_001.replace('docker compose', COMPOSE_BINARY),
      REPO_ROOT,
    );
    assert.equal(run.status, 0, run.output);
    assert.equal(run.output, '', 'config -q prints nothing on a valid stack');
  });

  it('a .env that moves every host port: Compose publishes the new ports and kstack validate passes', () => {
    const copy = copyStack();
    try {
      const moved = readFileSync(copy.envFile, 'utf8').replace(
        /^([A-Z0-9_]+_PORT)=(\d+)$/gm,
        (_, name: string, port: string) => `${name}=${Number(port) + 20_000}`,
      );
      const ports = [...moved.matchAll(/^[A-Z0-9_]+_PORT=(\d+)$/gm)].map((match) => Number(match[1]));
      assert.ok(ports.length >= 8, `expected every host port in .env.example, found ${ports.length}`);
      writeFileSync(join(copy.dir, '.env'), moved);
      const run = compose('--env-file .env --profile messaging config --format json', copy.dir);
      assert.equal(run.status, 0, run.output);
      const config = JSON.parse(run.output) as {
        services: Record<string, { ports?: { published?: string }[] }>;
      };
      const published = Object.values(config.services)
        .flatMap((service) => service.ports ?? [])
        .map((port) => Number(port.published))
        .sort((a, b) => a - b);
      assert.deepEqual(
        published,
        [...ports].sort((a, b) => a - b),
      );
      const check = validate(copy.dir, '.env');
      assert.equal(check.status, 0, check.output);
    } finally {
      copy.remove();
    }
  });
});

/** Files Compose rejects; each must fail `kstack validate` too (exit 1 for a rule, 2 for unusable input). */
const REJECTED: { name: string; edits: Edit[] }[] = [
  {
    name: 'an unknown service key',
    edits: [{ file: KAFKA_FILE, from: '  expose: ["7071"]', to: '  exposes: ["7071"]' }],
  },
  {
    name: 'depends_on a service that does not exist',
    edits: [
      {
        file: KAFKA_FILE,
        from: '    kafka-prepare:\n      condition:',
        to: '    kafka-prepared:\n      condition:',
      },
    ],
  },
  {
    name: 'a network that is not declared',
    edits: [
      {
        file: KAFKA_FILE,
        from: '  networks: [infra_net]\n  restart:',
        to: '  networks: [infra_nett]\n  restart:',
      },
    ],
  },
  {
    name: 'a port mapping that is not a port',
    edits: [{ file: KAFKA_FILE, from: ':-9092}:9092"', to: ':-9092}:ninety"' }],
  },
  {
    name: 'a healthcheck interval that is not a duration',
    edits: [
      {
        file: KAFKA_FILE,
        from: '    interval: 10s\n    timeout: 20s',
        to: '    interval: tenseconds\n    timeout: 20s',
      },
    ],
  },
  {
    name: 'a required variable missing from the env file',
    edits: [{ file: '.env.example', from: 'DEFAULT_MESSAGE_BROKER_DIR=./.data/messaging\n', to: '' }],
  },
  {
    name: 'an include of a file that does not exist',
    edits: [
      { file: 'docker-compose.yml', from: 'kafka/docker-compose.yml', to: 'kafka/docker-compose.yaml' },
    ],
  },
  {
    name: 'YAML that does not parse',
    edits: [{ file: KAFKA_FILE, from: 'x-logging: &logging\n', to: 'x-logging: &logging\n  - [\n' }],
  },
];

describe('kstack validate rejects every file the real Compose rejects', () => {
  for (const { name, edits } of REJECTED) {
    it(name, () => {
      const copy = copyStack(edits);
      try {
        const composed = compose('--env-file .env.example --profile messaging config -q', copy.dir);
        assert.notEqual(
          composed.status,
          0,
          `Compose accepted the stack with ${name}: the case proves nothing`,
        );
        const check = validate(copy.dir, '.env.example');
        assert.ok(
          check.status === 1 || check.status === 2,
          `Compose rejects ${name} (${composed.output.trim()}), kstack validate exited ${check.status}:\n${check.output}`,
        );
      } finally {
        copy.remove();
      }
    });
  }
});
