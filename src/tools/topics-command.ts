/**
 * `kstack topics apply FILE --bootstrap-server HOST:PORT [--dry-run] [--delete]`: makes a
 * cluster's topics match a declarative file (kafka-init's topics.txt format; rules in
 * src/topology/topics.ts). Exit 0 when the cluster matches (or the dry run printed its plan),
 * 1 when the plan cannot be carried out (fewer partitions than the cluster has) or an
 * operation fails, 2 on bad usage or a bad file (`file:line: what is wrong`).
 */
import { Admin } from '@platformatic/kafka';
import type { Command } from '../cli.ts';
import { parseBootstrap, parseTimeoutMs } from '../common/bootstrap.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import {
  applyAction,
  awaitSettled,
  describeAction,
  kafkaErrorText,
  type PlanOptions,
  planTopics,
  readCluster,
  readTopicsFile,
  type TopicAction,
  type TopicsFile,
} from '../topology/topics.ts';

const DEFAULT_TIMEOUT_MS = 30_000;

const HELP = `usage: kstack topics apply FILE --bootstrap-server HOST:PORT [--dry-run] [--delete] [--timeout-ms MS]

Makes the cluster's topics match FILE: one topic per line, NAME PARTITIONS REPLICATION_FACTOR
[CONFIG=VALUE ...], '#' comments (the format of infra/05-messaging/kafka/init/topics.txt).
  creates missing topics; adds partitions (never removes them: fewer is an error);
  sets the configs the file names when they differ (configs it does not name are left alone);
  a replication factor above the broker count is lowered to it, with min.insync.replicas, and said;
  an existing topic's replication factor is never changed (a warning says so).
  --dry-run   print the plan, change nothing
  --delete    also delete topics the file does not list (never internal __ topics)
Exit 0: the cluster matches the file (or the plan was printed); 1: the plan cannot be carried
out or an operation failed; 2: bad usage or a bad line in FILE.
`;

export interface TopicsApplyOptions {
  readonly file: string;
  readonly bootstrap: readonly string[];
  readonly dryRun: boolean;
  readonly delete: boolean;
  readonly timeoutMs: number;
}

export function parseTopicsArgs(args: readonly string[]): TopicsApplyOptions | 'help' {
  const parsed = parseFlags(
    args,
    {
      'bootstrap-server': { type: 'string' },
      'dry-run': { type: 'boolean' },
      delete: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
    HELP,
    true,
  );
  if (parsed === 'help') return 'help';
  const { values, positionals } = parsed;
  const [subcommand, file, ...rest] = positionals;
  if (subcommand !== 'apply') {
    throw new UsageError(
      `${subcommand === undefined ? 'a subcommand is required' : `unknown subcommand '${subcommand}'`}: use 'apply'\n\n${HELP}`,
    );
  }
  if (file === undefined) throw new UsageError(`topics apply: FILE is required\n\n${HELP}`);
  if (rest.length > 0) throw new UsageError(`topics apply: one FILE only, got also '${rest.join(' ')}'`);
  return {
    file,
    bootstrap: parseBootstrap(values['bootstrap-server'], HELP),
    dryRun: values['dry-run'] === true,
    delete: values.delete === true,
    timeoutMs: parseTimeoutMs(values['timeout-ms'], DEFAULT_TIMEOUT_MS),
  };
}

export interface Printer {
  out(line: string): void;
  err(line: string): void;
}

/**
 * Plans and (unless a dry run) applies `file` to the cluster; returns the exit code. Also
 * `kstack up`'s baseline topics, with `createOnly`.
 */
export async function applyTopicsFile(
  file: TopicsFile,
  connection: { readonly bootstrap: readonly string[]; readonly timeoutMs: number },
  options: PlanOptions & { readonly dryRun: boolean },
  print: Printer,
): Promise<number> {
  const admin = new Admin({
    clientId: 'kstack-topics',
    bootstrapBrokers: [...connection.bootstrap],
    timeout: connection.timeoutMs,
    // The client does not pass `timeout` on to its connections: this ends a request never answered.
    requestTimeout: connection.timeoutMs,
    retries: 3,
  });
  const target = connection.bootstrap.join(',');
  try {
    let cluster: Awaited<ReturnType<typeof readCluster>>;
    try {
      cluster = await readCluster(admin, file);
    } catch (error) {
      print.err(`cannot read the topics of ${target}: ${kafkaErrorText(error)}`);
      return EXIT_FAILED;
    }
    const plan = planTopics(file, cluster, options);
    for (const warning of plan.warnings) print.err(`warning: ${warning.message}`);
    for (const error of plan.errors) print.err(`error: ${error.message}`);
    if (plan.errors.length > 0) {
      print.err(`nothing changed on ${target}: fix ${file.displayPath} first`);
      return EXIT_FAILED;
    }
    const brokers = `${cluster.brokerCount} broker${cluster.brokerCount === 1 ? '' : 's'}`;
    if (options.dryRun) {
      print.out(`plan for ${target} (${brokers}) from ${file.displayPath} (dry run: nothing changed):`);
      for (const action of plan.actions) print.out(`  ${describeAction(action, file.displayPath)}`);
      if (plan.unchanged.length > 0) print.out(`  unchanged: ${plan.unchanged.join(', ')}`);
      if (plan.actions.length === 0) print.out('  nothing to do');
      return EXIT_OK;
    }
    let failed = 0;
    const applied: TopicAction[] = [];
    for (const action of plan.actions) {
      const text = describeAction(action, file.displayPath);
      try {
        await applyAction(admin, action);
        applied.push(action);
        print.out(`done: ${text}`);
      } catch (error) {
        failed += 1;
        print.err(`failed: ${text}: ${kafkaErrorText(error)}`);
      }
    }
    if (plan.unchanged.length > 0) print.out(`unchanged: ${plan.unchanged.join(', ')}`);
    const unsettled = await awaitSettled(admin, applied, connection.timeoutMs);
    if (unsettled.length > 0) {
      failed += unsettled.length;
      print.err(
        `not visible with every partition led after ${connection.timeoutMs} ms: ${unsettled.join(', ')}`,
      );
    }
    if (failed > 0) {
      print.err(`${failed} of ${plan.actions.length} changes failed on ${target}`);
      return EXIT_FAILED;
    }
    print.out(`${target} (${brokers}) matches ${file.displayPath}: ${plan.actions.length} changes`);
    return EXIT_OK;
  } finally {
    await admin.close();
  }
}

export const command: Command = {
  summary: "make a cluster's topics match a declarative file (topics apply)",
  async run(args) {
    const options = parseTopicsArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const file = readTopicsFile(options.file);
    return applyTopicsFile(
      file,
      options,
      { delete: options.delete, createOnly: false, dryRun: options.dryRun },
      {
        out: (line) => process.stdout.write(`${line}\n`),
        err: (line) => process.stderr.write(`kstack topics: ${line}\n`),
      },
    );
  },
};
