/**
 * The integration tests a client library ships, run against kstack's registry (by hand:
 * `node --test test/registry/client-suites.long.ts`; setup: scripts/setup/40-registry-clients.sh for the
 * package; Jest is installed here on first use, see installJest). @confluentinc/schemaregistry 1.10.1 ships its Jest specs compiled
 * in dist/e2e; `schemaregistry-client.spec.js` takes the registry URL from `../test/test-constants`,
 * which Jest's moduleNameMapper points at a copy naming our registry (the only change). Its avro and
 * json specs also produce to a Kafka broker they hard-code as localhost:9092, a port the project's
 * tests never bind, so they are not run. Prints each test's outcome and the counts; asserts only
 * that the suite ran (which tests fail, and why, is in docs/compatibility.md).
 * Ports: kstack 25240, registry 25241.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrokerProcess } from '../engine/broker-process.ts';
import { runTool } from '../engine/run-tool.ts';
import { RegistryProcess } from './registry-process.ts';

const BROKER_PORT = 25240;
const REGISTRY_PORT = 25241;
const CACHE = process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack');
const PACKAGE_DIST = join(
  CACHE,
  'schemaregistry-js-1.10.1',
  'node_modules',
  '@confluentinc',
  'schemaregistry',
  'dist',
);
const JEST_VERSION = '30.5.2';
const JEST_HOME = join(CACHE, `registry-suites-jest-${JEST_VERSION}`);
const JEST = join(JEST_HOME, 'node_modules', 'jest', 'bin', 'jest.js');
/** How long the first-use install of Jest may take (cold npm cache, loaded machine). */
const JEST_INSTALL_TIMEOUT_MS = 600_000;

/**
 * Installs Jest outside the work tree, once (the `.installed` marker): only this by-hand test needs
 * it, so `npm run setup` (CI) does not pay for it. A half-done install is removed and made again.
 */
async function installJest(): Promise<void> {
  if (existsSync(join(JEST_HOME, '.installed'))) return;
  rmSync(JEST_HOME, { recursive: true, force: true });
  mkdirSync(JEST_HOME, { recursive: true });
  writeFileSync(join(JEST_HOME, 'package.json'), '{"private":true}\n');
  process.stdout.write(`# installing jest@${JEST_VERSION} into ${JEST_HOME} (first use)\n`);
  const result = await runTool(
    'npm',
    [
      'install',
      '--prefix',
      JEST_HOME,
      '--no-fund',
      '--no-audit',
      '--ignore-scripts',
      '--loglevel=error',
      `jest@${JEST_VERSION}`,
    ],
    { timeoutMs: JEST_INSTALL_TIMEOUT_MS },
  );
  assert.equal(result.code, 0, `npm install jest@${JEST_VERSION} failed:\n${result.stderr}`);
  writeFileSync(join(JEST_HOME, '.installed'), '');
}
const SPECS = ['e2e/schemaregistry-client.spec.js'];

interface JestReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: {
    name: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

describe("@confluentinc/schemaregistry's own integration tests against kstack's registry", {
  timeout: 600_000,
}, () => {
  const broker = new BrokerProcess(BROKER_PORT);
  const registry = new RegistryProcess(`127.0.0.1:${BROKER_PORT}`, REGISTRY_PORT, [
    '--leader-election',
    'false',
  ]);
  before(async () => {
    await installJest();
    await broker.start(90_000);
    await registry.start();
  });
  after(async () => {
    await registry.stop();
    await broker.stop();
  });

  it('runs dist/e2e/schemaregistry-client.spec.js with its registry URL pointed at ours', async () => {
    const work = mkdtempSync(join(tmpdir(), 'kstack-sr-suites-'));
    // The package's own constants, with our URL in place of http://localhost:8081.
    const constants = readFileSync(join(PACKAGE_DIST, 'test', 'test-constants.js'), 'utf8');
    assert.match(constants, /http:\/\/localhost:8081/);
    writeFileSync(
      join(work, 'test-constants.js'),
      constants.replace('http://localhost:8081', `http://127.0.0.1:${REGISTRY_PORT}`),
    );
    const config = {
      rootDir: PACKAGE_DIST,
      testMatch: SPECS.map((spec) => join(PACKAGE_DIST, spec)),
      moduleNameMapper: { '^\\.\\./test/test-constants$': join(work, 'test-constants.js') },
      // The specs live under node_modules, which Jest skips and leaves untransformed by default.
      testPathIgnorePatterns: [],
      haste: { retainAllFiles: true },
      transformIgnorePatterns: ['.'],
      testTimeout: 60_000,
    };
    const reportFile = join(work, 'report.json');
    const result = await runTool(
      process.execPath,
      // Inline: given a file, Jest 30 looks for a config by its directory and finds none there.
      [JEST, '--config', JSON.stringify(config), '--json', '--outputFile', reportFile, '--runInBand'],
      { timeoutMs: 300_000 },
    );
    assert.ok(existsSync(reportFile), `jest wrote no report (exit ${result.code}):\n${result.stderr}`);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as JestReport;
    for (const file of report.testResults) {
      for (const test of file.assertionResults) {
        // The failure's first lines: the assertion and, for toEqual, the differing fields.
        const why = (test.failureMessages[0] ?? '').split('\n').slice(0, 12).join('\n#   ');
        process.stdout.write(`# ${test.status}: ${test.fullName}${why === '' ? '' : ` — ${why}`}\n`);
      }
    }
    process.stdout.write(
      `# ${report.numPassedTests} of ${report.numTotalTests} pass, ${report.numFailedTests} fail (jest exit ${result.code})\n`,
    );
    assert.ok(report.numTotalTests > 0, `jest ran no test:\n${result.stderr}`);
  });
});
