/**
 * The seed of every fast-check property in one test process, printed so that a red run replays
 * exactly: `KSTACK_PROPERTY_SEED=<seed> node --test <file>`.
 *
 * Where it comes from, first match wins:
 * - `KSTACK_PROPERTY_SEED`, to replay a failure;
 * - in CI (`CI=true`), the commit under test, so a red CI run replays from its commit alone;
 * - otherwise a random seed, so runs on developers' machines keep finding new cases.
 *
 * Import it for its effect (`import '../property-seed.ts'`) in every test file that runs properties.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { relative } from 'node:path';
import fc from 'fast-check';

function commitSeed(): number | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: 'pipe' }).trim();
    return Number.parseInt(head.slice(0, 8), 16) | 0;
  } catch {
    return null;
  }
}

function chooseSeed(): { seed: number; source: string } {
  const given = process.env.KSTACK_PROPERTY_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed)) throw new Error(`KSTACK_PROPERTY_SEED must be an integer, got '${given}'`);
    return { seed: seed | 0, source: 'KSTACK_PROPERTY_SEED' };
  }
  if (process.env.CI === 'true') {
    const seed = commitSeed();
    if (seed !== null) return { seed, source: 'the commit under test' };
  }
  return { seed: randomInt(-(2 ** 31), 2 ** 31 - 1), source: 'random' };
}

export const propertySeed = chooseSeed();

fc.configureGlobal({ seed: propertySeed.seed });

const file = process.argv[1] === undefined ? '<test file>' : relative(process.cwd(), process.argv[1]);
process.stdout.write(
  `property seed ${propertySeed.seed} (${propertySeed.source}); replay: KSTACK_PROPERTY_SEED=${propertySeed.seed} node --test ${file}\n`,
);
