/**
 * scripts/setup/node.sh's readiness check under the setup steps' `set -euo pipefail`.
 *
 * CI failed once in `npm run setup` from a new HOME: node.sh installed Node and Biome, then its own
 * check said they did not answer. The check piped `biome --version` into `grep -q`; grep quit at
 * Biome's first line, Biome's second write (a blank line) died of SIGPIPE, and pipefail turned
 * exit 141 into "not ready" about one time in eight. Fifty checks in a row under pipefail fail the
 * old check with probability 1 - (7/8)^50 > 99.8%; the check that reads each version whole passes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CHECKS = 50;

test(`node.sh finds the installed tools ready ${CHECKS} times in a row under set -euo pipefail`, () => {
  const script = [
    'set -euo pipefail',
    '. scripts/setup/node.sh',
    'failed=0',
    `for _ in $(seq 1 ${CHECKS}); do kstack_tools_ready || failed=$((failed + 1)); done`,
    'echo "$failed"',
  ].join('\n');
  const failed = execFileSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' }).trim();
  assert.equal(failed, '0', `kstack_tools_ready said "not ready" ${failed} times of ${CHECKS}`);
});
