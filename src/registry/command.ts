/**
 * `kstack schema-registry --bootstrap-server HOST:PORT [--port P] [--host H] [--topic T] [--group-id G]
 * [--leader-eligibility true|false] [--host-name N] [--leader-wait-ms MS] [--leader-election true|false]
 * [--fenced-writes true|false]`:
 * Confluent's Schema Registry API in front of any Kafka cluster, until Ctrl-C. Exit 0 after a clean stop,
 * 1 when it cannot start (cluster unreachable, port taken), 2 on bad usage.
 */
import type { Command } from '../cli.ts';
import { parseBootstrap } from '../common/bootstrap.ts';
import { parseFlags, portFlag } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { GROUP_ID_DEFAULT } from './leader-protocol.ts';
import { LEADER_WAIT_MS_DEFAULT } from './registry.ts';
import { SCHEMA_REGISTRY_PORT_DEFAULT, type SchemaRegistryOptions, startSchemaRegistry } from './server.ts';

const HELP = `usage: kstack schema-registry --bootstrap-server HOST:PORT [--port P] [--host H] [--topic T]
                              [--group-id G] [--leader-eligibility true|false] [--host-name N]
                              [--leader-wait-ms MS] [--leader-election true|false]
                              [--fenced-writes true|false]

Serves Confluent's Schema Registry REST API on http://H:P (default 127.0.0.1:${SCHEMA_REGISTRY_PORT_DEFAULT}),
storing schemas in the compacted topic T (default _schemas) of the cluster.

Instances on one cluster elect a leader through the Kafka group G (default ${GROUP_ID_DEFAULT}, protocol
type "sr", as Confluent's registry does); only the leader writes T, the others forward writes to it.
  --leader-eligibility false  this instance never leads (it serves reads and forwards writes)
  --leader-election false     join no group: this instance writes alone (run no other instance then)
  --host-name N               the host other instances reach this one by (default: H)
  --leader-wait-ms MS         how long a write waits for a leader before error 50004 (default ${LEADER_WAIT_MS_DEFAULT})
  --fenced-writes false       the leader writes T without transactions (default true with leader election:
                              it writes T in Kafka transactions of one transactional id that each new
                              leader claims, so Kafka refuses a demoted leader's late writes)
`;

export function parseRegistryArgs(args: readonly string[]): SchemaRegistryOptions | 'help' {
  const parsed = parseFlags(
    args,
    {
      'bootstrap-server': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      topic: { type: 'string' },
      'group-id': { type: 'string' },
      'leader-eligibility': { type: 'string' },
      'host-name': { type: 'string' },
      'leader-wait-ms': { type: 'string' },
      'leader-election': { type: 'string' },
      'fenced-writes': { type: 'string' },
    },
    HELP,
  );
  if (parsed === 'help') return 'help';
  const { values } = parsed;
  const bootstrap = parseBootstrap(values['bootstrap-server'], HELP).join(',');
  const port = portFlag('--port', values.port, SCHEMA_REGISTRY_PORT_DEFAULT, { allowZero: true });
  const topic = typeof values.topic === 'string' ? values.topic : undefined;
  if (topic !== undefined && !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) {
    throw new UsageError(`--topic: '${topic}' is not a legal Kafka topic name`);
  }
  const groupId = typeof values['group-id'] === 'string' ? values['group-id'] : undefined;
  if (groupId !== undefined && groupId.trim() === '')
    throw new UsageError('--group-id: a group id cannot be empty');
  const eligibility = values['leader-eligibility'];
  if (eligibility !== undefined && eligibility !== 'true' && eligibility !== 'false') {
    throw new UsageError(`--leader-eligibility: '${eligibility}' is not true or false`);
  }
  const waitText = values['leader-wait-ms'];
  const leaderWaitMs = waitText === undefined ? undefined : Number(waitText);
  if (leaderWaitMs !== undefined && (!Number.isInteger(leaderWaitMs) || leaderWaitMs < 0)) {
    throw new UsageError(`--leader-wait-ms: '${waitText}' is not a whole number of milliseconds`);
  }
  const election = values['leader-election'];
  if (election !== undefined && election !== 'true' && election !== 'false') {
    throw new UsageError(`--leader-election: '${election}' is not true or false`);
  }
  const fenced = values['fenced-writes'];
  if (fenced !== undefined && fenced !== 'true' && fenced !== 'false') {
    throw new UsageError(`--fenced-writes: '${fenced}' is not true or false`);
  }
  if (fenced === 'true' && election === 'false') {
    throw new UsageError('--fenced-writes true needs leader election (drop --leader-election false)');
  }
  const hostName = typeof values['host-name'] === 'string' ? values['host-name'] : undefined;
  if (hostName !== undefined && !/^[A-Za-z0-9.:[\]-]+$/.test(hostName)) {
    throw new UsageError(`--host-name: '${hostName}' is not a host name`);
  }
  return {
    bootstrap,
    port,
    host: typeof values.host === 'string' ? values.host : '127.0.0.1',
    topic,
    groupId,
    leaderEligible: eligibility === undefined ? undefined : eligibility === 'true',
    hostName,
    leaderWaitMs,
    leaderElection: election !== 'false',
    // On by default wherever leaders are elected; alone (--leader-election false) nothing needs fencing.
    fencedWrites: fenced === undefined ? election !== 'false' : fenced === 'true',
  };
}

export const command: Command = {
  summary: "Confluent's Schema Registry API, stored in the _schemas topic of any cluster",
  async run(args) {
    const options = parseRegistryArgs(args);
    if (options === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    let running: Awaited<ReturnType<typeof startSchemaRegistry>>;
    try {
      running = await startSchemaRegistry({
        ...options,
        log: (line) => process.stdout.write(`kstack schema-registry: ${line}\n`),
      });
    } catch (error) {
      process.stderr.write(
        `kstack schema-registry: cannot start against ${options.bootstrap}: ${(error as Error).message}\n`,
      );
      return EXIT_FAILED;
    }
    process.stdout.write(`kstack schema-registry: serving ${running.url} (cluster ${options.bootstrap})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await running.close();
    process.stdout.write('kstack schema-registry: stopped\n');
    return EXIT_OK;
  },
};
