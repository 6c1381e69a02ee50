/**
 * `kstack fault`: the fault control of a running `kstack up` cluster from a shell, a client of the
 * HTTP endpoint the supervisor serves (fault-control.ts). Prints the node's state as JSON after
 * the action; exit 0 done, 1 refused by the cluster (its error code and message), 2 bad usage.
 */
import type { Command } from '../cli.ts';
import { parseFlags } from '../common/cli-args.ts';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../common/cli-errors.ts';
import { clientCutOptions, FAULT_ACTIONS, FaultError, faultAction } from './fault-control.ts';
import { FAULT_CONTROL_PORT_OFFSET } from './fault-limits.ts';

const DEFAULT_CONTROL = `http://127.0.0.1:${9092 + FAULT_CONTROL_PORT_OFFSET}`;
/** How long one action may take (a controlled shutdown waits up to 30 s, then the kill). */
const REQUEST_TIMEOUT_MS = 60_000;

const HELP = `usage: kstack fault ACTION NODE [--from peers|clients|all] [--delay-ms N] [--no-restart]
                    [--control URL]
       kstack fault cut-client CLIENT_ID [--node N] [--after-api-key K] [--times T] [--control URL]
       kstack fault heal-client CLIENT_ID [--control URL]
       kstack fault list [--control URL]

Breaks a running \`kstack up\` cluster on purpose, one node (by node id) at a time:
  kill NODE        SIGKILL; the supervisor starts it again after its backoff (a crash and
                   its recovery); --no-restart keeps it down (start brings it back)
  pause NODE       SIGSTOP: the process freezes (sockets open, no answers); fenced once
                   broker.session.timeout.ms passes
  resume NODE      SIGCONT
  stop NODE        controlled shutdown (SIGTERM), kept down
  start NODE       starts a node that is down
  restart NODE     controlled shutdown, then started again
  isolate NODE     cuts its links (--from peers: to the other brokers and controllers;
                   clients: to clients; all, the default: both); open connections close
  slow NODE        holds every request on its links --delay-ms N (1-60000) before it goes on
                   (--from as for isolate; default all)
  heal NODE        takes away its isolation and delay
  cut-client ID    cuts the connections of one client id (Kafka's client.id) only, to every
                   node or --node N: all of them, now and at each request, until heal-client;
                   with --after-api-key K, its next --times T (default 1) requests of API key K
                   reach the broker and the connection closes instead of their answer
  heal-client ID   ends that client's cut; prints it with the connections it cut (made)
  list             every node: pid, state, restarts, isolation, delay
  --control URL    the cluster's fault control (printed by kstack up; default ${DEFAULT_CONTROL},
                   the first broker's port + ${FAULT_CONTROL_PORT_OFFSET})

The same operations over HTTP: GET /nodes, POST /nodes/NODE/ACTION with a JSON body
({"restart":false}, {"from":"peers"}, {"delayMs":200,"from":"clients"}), GET /clients,
POST /clients/ID/cut ({"node":1,"afterApiKey":0,"times":2}) and /clients/ID/heal; see
src/engine/README.md.
`;

export const command: Command = {
  summary:
    'break a running kstack up cluster on purpose: kill, pause, isolate, slow, heal a node; cut one client',
  async run(args) {
    const parsed = parseFlags(
      args,
      {
        from: { type: 'string' },
        'delay-ms': { type: 'string' },
        'no-restart': { type: 'boolean' },
        control: { type: 'string' },
        node: { type: 'string' },
        'after-api-key': { type: 'string' },
        times: { type: 'string' },
      },
      HELP,
      true,
    );
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    const { values, positionals } = parsed;
    const [action, node, ...extra] = positionals;
    if (action === undefined) throw new UsageError(`an action is required\n\n${HELP}`);
    const control = (values.control ?? DEFAULT_CONTROL).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/.test(control))
      throw new UsageError(`--control: '${control}' is not http://HOST:PORT`);
    if (action === 'list') {
      if (node !== undefined) throw new UsageError(`list takes no node ('${node}')`);
      return call(control, 'GET', '/nodes');
    }
    const cutFlags = ['node', 'after-api-key', 'times'] as const;
    if (action === 'cut-client' || action === 'heal-client') {
      if (node === undefined || node.length === 0) throw new UsageError(`${action}: CLIENT_ID is required`);
      if (extra.length > 0) throw new UsageError(`unexpected '${extra.join(' ')}'`);
      for (const flag of ['from', 'delay-ms', 'no-restart'] as const) {
        if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to ${action}`);
      }
      const path = `/clients/${encodeURIComponent(node)}/${action === 'cut-client' ? 'cut' : 'heal'}`;
      if (action === 'heal-client') {
        for (const flag of cutFlags) {
          if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to cut-client only`);
        }
        return call(control, 'POST', path, {});
      }
      const body: Record<string, unknown> = {};
      for (const [flag, key] of [
        ['node', 'node'],
        ['after-api-key', 'afterApiKey'],
        ['times', 'times'],
      ] as const) {
        const text = values[flag];
        if (text === undefined) continue;
        if (!/^\d+$/.test(text)) throw new UsageError(`--${flag}: '${text}' is not a whole number`);
        body[key] = Number(text);
      }
      try {
        clientCutOptions(body);
      } catch (error) {
        if (error instanceof FaultError) throw new UsageError(error.message);
        throw error;
      }
      return call(control, 'POST', path, body);
    }
    for (const flag of cutFlags) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies to cut-client only`);
    }
    if (!(FAULT_ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(
        `'${action}' is not an action (one of ${FAULT_ACTIONS.join(', ')}, cut-client, heal-client, list)`,
      );
    }
    if (node === undefined || !/^\d+$/.test(node)) {
      throw new UsageError(
        `${action}: NODE (a node id) is required${node === undefined ? '' : `, not '${node}'`}`,
      );
    }
    if (extra.length > 0) throw new UsageError(`unexpected '${extra.join(' ')}'`);
    if (values.from !== undefined && action !== 'isolate' && action !== 'slow') {
      throw new UsageError(`--from applies to isolate and slow, not ${action}`);
    }
    if (values['delay-ms'] !== undefined && action !== 'slow')
      throw new UsageError('--delay-ms applies to slow only');
    if (values['no-restart'] === true && action !== 'kill')
      throw new UsageError('--no-restart applies to kill only');
    if (action === 'slow' && values['delay-ms'] === undefined)
      throw new UsageError('slow: --delay-ms N is required');
    const body: Record<string, unknown> = {};
    if (values.from !== undefined) body.from = values.from;
    if (values['delay-ms'] !== undefined) body.delayMs = Number(values['delay-ms']);
    if (values['no-restart'] === true) body.restart = false;
    try {
      faultAction(action, body);
    } catch (error) {
      if (error instanceof FaultError) throw new UsageError(error.message);
      throw error;
    }
    return call(control, 'POST', `/nodes/${node}/${action}`, body);
  },
};

async function call(control: string, method: 'GET' | 'POST', path: string, body?: object): Promise<number> {
  let response: Response;
  try {
    response = await fetch(`${control}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    process.stderr.write(
      `kstack fault: no fault control answers at ${control} (${(error as Error).cause ?? (error as Error).message}); is kstack up running with this --control?\n`,
    );
    return EXIT_FAILED;
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      const error = JSON.parse(text) as { error_code?: string; message?: string };
      message = `${error.error_code}: ${error.message}`;
    } catch {
      // Not our JSON error: printed as it came.
    }
    process.stderr.write(`kstack fault: ${response.status} ${message}\n`);
    return EXIT_FAILED;
  }
  process.stdout.write(`${text}\n`);
  return EXIT_OK;
}
