// Runs the replication simulator over a range of seeds, or replays one.
//
//   node src/replication/sim/run.ts --seeds 10000 [--start 1]   many seeds; exit 1 if any fails
//   node src/replication/sim/run.ts --seed 42                    one seed, with its trace

import { parseArgs } from 'node:util';
import { replayCommand, simulate } from './simulator.ts';

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      start: { type: 'string', default: '1' },
      seed: { type: 'string' },
    },
  });
  const seeds: number[] = [];
  if (values.seed !== undefined) seeds.push(parseSeed('--seed', values.seed));
  else {
    const count = parseSeed('--seeds', values.seeds ?? '200');
    const start = parseSeed('--start', values.start);
    for (let seed = start; seed < start + count; seed++) seeds.push(seed);
  }
  const one = values.seed !== undefined;
  const startedMs = performance.now();
  let failed = 0;
  for (const seed of seeds) {
    const result = simulate({ seed, traceEvents: one ? 80 : 0 });
    if (one)
      process.stdout.write(`seed ${seed}: ${result.ok ? 'ok' : 'FAILED'} ${JSON.stringify(result.stats)}\n`);
    if (!result.ok) {
      failed++;
      process.stdout.write(`seed ${seed} FAILED: ${result.failure}\n  replay: ${replayCommand(seed)}\n`);
      if (result.trace.length > 0)
        process.stdout.write(`  last events:\n    ${result.trace.join('\n    ')}\n`);
    }
  }
  const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
  const range = seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds[0]}..${seeds.at(-1)}`;
  process.stdout.write(
    `replication simulation: ${range}: ${seeds.length - failed} passed, ${failed} failed in ${seconds} s\n`,
  );
  return failed === 0 ? 0 : 1;
}

function parseSeed(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    process.stderr.write(`${flag} must be an integer in [0, 4294967295], got '${text}'\n`);
    process.exit(2);
  }
  return value;
}

process.exitCode = main();
