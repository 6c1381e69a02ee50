// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Compose files, whose ${VAR} is not JavaScript's.
/**
 * Unusable input stops validation with an InputError (exit 2 at the CLI) that names the
 * file and, where there is one, the line: not YAML, a missing include, a key Compose does
 * not know, an unreadable or malformed env file, a broken variable reference.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/validate/errors.ts';
import { validateStack } from '../../src/validate/validate.ts';
import { copyStack, type Edit, KAFKA_FILE, REPO_ROOT } from './stack-copy.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

function inputErrorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  assert.fail('expected an InputError');
}

function brokenCopyError(edits: readonly Edit[], envFile?: string): InputError {
  const copy = copyStack(edits);
  try {
    return inputErrorOf(() => validateStack({ file: copy.rootFile, envFile: envFile ?? copy.envFile }));
  } finally {
    copy.remove();
  }
}

describe('unusable input', () => {
  it('a file that is not YAML: file and line', () => {
    // Written at run time: a broken YAML file in the tree would trip the repository's linters.
    const dir = mkdtempSync(join(tmpdir(), 'kstack-not-yaml-'));
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(
      file,
      'name: broken\nservices:\n  kafka-1:\n    image: confluentinc/cp-kafka:8.2.1\n    environment: [unclosed\n',
    );
    const error = inputErrorOf(() => validateStack({ file, envFile: '/dev/null' }));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(error.file, 'docker-compose.yml');
    assert.ok(error.line !== undefined && error.line >= 5, `line ${error.line}`);
    assert.match(error.message, /not valid YAML/);
  });

  it('an included file that is not YAML: the included file and its line', () => {
    const error = brokenCopyError([
      { file: KAFKA_FILE, from: '    hostname: kafka-ui\n', to: '    hostname: [kafka-ui\n' },
    ]);
    assert.equal(error.file, KAFKA_FILE);
    assert.ok(error.line !== undefined);
  });

  it('a missing include: the including file and the line of the include', () => {
    const error = brokenCopyError([
      {
        file: 'docker-compose.yml',
        from: 'path: infra/05-messaging/kafka/docker-compose.yml',
        to: 'path: infra/05-messaging/kafka/compose.yml',
      },
    ]);
    assert.equal(error.file, 'docker-compose.yml');
    const includeLine = readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8')
      .split('\n')
      .findIndex((line) => line.includes('- path: infra/05-messaging/kafka/docker-compose.yml'));
    assert.equal(error.line, includeLine + 1);
    assert.match(error.message, /include 'infra\/05-messaging\/kafka\/compose.yml' not found/);
  });

  it('an unknown service key: file, line and the nearest known key', () => {
    const error = inputErrorOf(() =>
      validateStack({ file: `${FIXTURES}unknown-key/docker-compose.yml`, envFile: '/dev/null' }),
    );
    assert.equal(error.file, 'docker-compose.yml');
    assert.equal(error.line, 6);
    assert.match(error.message, /'healthchek'; did you mean 'healthcheck'\?/);
  });

  it('an unknown key in the real stack is found in the included file', () => {
    const error = brokenCopyError([
      { file: KAFKA_FILE, from: '    container_name: kafka-ui\n', to: '    container_nam: kafka-ui\n' },
    ]);
    assert.equal(error.file, KAFKA_FILE);
    assert.match(
      error.message,
      /services\.kafka-ui has a key the Compose specification does not know: 'container_nam'/,
    );
  });

  it('an unreadable env file: names it', () => {
    const error = brokenCopyError([], '/nonexistent/kstack.env');
    assert.equal(error.file, '/nonexistent/kstack.env');
    assert.match(error.message, /cannot read the env file \(ENOENT\)/);
  });

  it('a malformed env file line: file and line', () => {
    const error = brokenCopyError([
      { file: '.env.example', from: 'KAFKA_UI_PORT=8080', to: 'KAFKA UI PORT 8080' },
    ]);
    assert.equal(error.file, '.env.example');
    assert.ok(error.line !== undefined && error.line > 1);
    assert.match(error.message, /expected NAME=value/);
  });

  it('a variable reference that never closes: file and line', () => {
    const error = brokenCopyError([
      { file: KAFKA_FILE, from: '"${KAFKA_UI_PORT:-8080}:8080"', to: '"${KAFKA_UI_PORT:-8080:8080"' },
    ]);
    assert.equal(error.file, KAFKA_FILE);
    assert.match(error.message, /unclosed/);
  });

  it('a value of the wrong type: file, line and the schema path', () => {
    const error = brokenCopyError([
      {
        file: KAFKA_FILE,
        from: '    profiles: [messaging]\n    networks: [infra_net]\n    command:',
        to: '    profiles: 7\n    networks: [infra_net]\n    command:',
      },
    ]);
    assert.equal(error.file, KAFKA_FILE);
    assert.match(error.message, /services\.kafka-exporter\.profiles must be array/);
  });

  // The schema types durations as plain strings; Compose parses them as Go durations and refuses the
  // rest (found by test/validate/compose-cli.test.ts, which holds kstack validate to the real Compose).
  it('a duration Go cannot parse: file, line and the setting', () => {
    const error = brokenCopyError([
      {
        file: KAFKA_FILE,
        from: '    interval: 10s\n    timeout: 20s',
        to: '    interval: 10s\n    timeout: 20 s',
      },
    ]);
    assert.equal(error.file, KAFKA_FILE);
    const timeoutLine = readFileSync(`${REPO_ROOT}${KAFKA_FILE}`, 'utf8')
      .split('\n')
      .indexOf('    timeout: 20s');
    assert.equal(error.line, timeoutLine + 1);
    assert.match(error.message, /services\.kafka-1\.healthcheck\.timeout is '20 s', not a duration/);
  });
});
