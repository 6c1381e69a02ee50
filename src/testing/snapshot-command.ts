/**
 * `kstack snapshot save|restore|list [NAME] --data-dir DIR`: snapshots of a stopped data directory
 * (the one `kstack up --data-dir` or `startKafka({ dataDir })` ran with), in the layout of
 * snapshots.ts. A running test cluster is snapshotted through its API or control endpoint instead.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from '../cli.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { KafkaTestingError } from './errors.ts';
import { listSnapshots, restoreSnapshot, saveSnapshot } from './snapshots.ts';

const HELP = `usage: kstack snapshot save NAME --data-dir DIR
       kstack snapshot restore NAME --data-dir DIR
       kstack snapshot list --data-dir DIR

Saves, restores or lists snapshots of a stopped data directory: one broker's (DIR/broker-<id>)
or a cluster's (DIR/node-<id>, kstack up --brokers 3), kept in DIR/snapshots/NAME. Stop every
broker first: a running test cluster takes snapshots through its API (kafka.snapshot(name)) or
its control endpoint (POST /snapshots/NAME). One broker's restored topics get new topic ids, as
re-created topics would; a cluster's nodes come back exactly as saved (their metadata log too).
`;

export const command: Command = {
  summary: 'save, restore or list snapshots of a stopped data directory',
  async run(args) {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(args);
    } catch (error) {
      throw new UsageError(`kstack snapshot: ${(error as Error).message}\n\n${HELP}`);
    }
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const { action, name, dataDir } = parsed;
    try {
      if (action === 'list') {
        for (const info of listSnapshots(dataDir)) {
          process.stdout.write(`${info.name}\t${info.createdAt}\tbrokers ${info.brokers.join(',')}\n`);
        }
        return EXIT_OK;
      }
      const info = action === 'save' ? saveSnapshot(dataDir, name) : restoreSnapshot(dataDir, name);
      process.stdout.write(
        `kstack snapshot: ${action === 'save' ? 'saved' : 'restored'} '${info.name}' (${dataDir})\n`,
      );
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof KafkaTestingError)) throw error;
      if (error.httpStatus === 400) throw new UsageError(`kstack snapshot: ${error.message}`);
      process.stderr.write(`kstack snapshot: ${error.message}\n`);
      return EXIT_FAILED;
    }
  },
};

function parse(
  args: readonly string[],
): 'help' | { action: 'save' | 'restore' | 'list'; name: string; dataDir: string } {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) return 'help';
  const [action, name, ...rest] = positionals;
  if (action !== 'save' && action !== 'restore' && action !== 'list') {
    throw new Error(`the first argument must be save, restore or list, not '${action ?? ''}'`);
  }
  if (values['data-dir'] === undefined) throw new Error('--data-dir DIR is required');
  if (action === 'list') {
    if (name !== undefined) throw new Error(`list takes no NAME ('${name}')`);
    return { action, name: '', dataDir: resolve(values['data-dir']) };
  }
  if (name === undefined) throw new Error(`${action} needs a snapshot NAME`);
  if (rest.length > 0) throw new Error(`unexpected arguments: ${rest.join(' ')}`);
  return { action, name, dataDir: resolve(values['data-dir']) };
}
