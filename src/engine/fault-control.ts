/**
 * The fault-control HTTP endpoint of a running `kstack up` cluster (fastify, 127.0.0.1 by default;
 * its URL is printed at start): the same operations as `kstack fault`, for any language.
 *
 *   GET  /nodes                          every node: { nodeId, pid, state, registered, restarts, isolatedFrom, delayMs, delayFrom }
 *   GET  /nodes/{id}                     one node
 *   POST /nodes/{id}/kill     [{ "restart": false }]   SIGKILL (restarted after the backoff unless restart is false)
 *   POST /nodes/{id}/pause | resume                    SIGSTOP | SIGCONT
 *   POST /nodes/{id}/stop | start | restart            controlled shutdown, kept down | start a node that is down | both
 *   POST /nodes/{id}/isolate  { "from": "peers"|"clients"|"all" }    cut its links (default all)
 *   POST /nodes/{id}/slow     { "delayMs": N, "from": … }            hold each request on its links N ms
 *   POST /nodes/{id}/heal                              no isolation, no delay
 *   GET  /clients                        the armed client cuts: [{ clientId, nodeId, afterApiKey, remaining, made }]
 *   POST /clients/{clientId}/cut  [{ "node": N, "afterApiKey": K, "times": T }]
 *                                        cut that client id's connections (to node N, or all): every one
 *                                        until healed, or after its next T (default 1) requests of API key K
 *   POST /clients/{clientId}/heal        end the cut; answers it with the connections it cut (made)
 *
 * Each answers the node as it is after the action (kill, stop and restart once the process has
 * exited). Errors answer `{ "error_code": CODE, "message": … }`: 400 REQUEST_INVALID, 404
 * NODE_UNKNOWN, NOT_FOUND or CLIENT_CUT_NOT_FOUND, 409 NODE_NOT_RUNNING, NODE_NOT_PAUSED, NODE_RUNNING, PROXIES_OFF.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { useControlErrors } from '../common/control-http.ts';
import type { FaultAction } from './cluster.ts';
import {
  type ClientCut,
  type ClientCutOptions,
  FAULT_SIDES,
  FaultRules,
  type FaultSide,
  LINK_DELAY_MS_MAX,
} from './fault-proxy.ts';

/** Request bodies are a few fields. */
const BODY_BYTES_MAX = 1_024;

export const FAULT_ACTIONS = [
  'kill',
  'pause',
  'resume',
  'stop',
  'start',
  'restart',
  'isolate',
  'slow',
  'heal',
] as const;
export type FaultActionName = (typeof FAULT_ACTIONS)[number];

const STATUS_BY_CODE: Record<string, number> = {
  REQUEST_INVALID: 400,
  NODE_UNKNOWN: 404,
  CLIENT_CUT_NOT_FOUND: 404,
  NODE_NOT_RUNNING: 409,
  NODE_NOT_PAUSED: 409,
  NODE_RUNNING: 409,
  PROXIES_OFF: 409,
};

/** A refused fault, with its stable code (its HTTP status from STATUS_BY_CODE). */
export class FaultError extends Error {
  readonly code: string;
  constructor(code: keyof typeof STATUS_BY_CODE, message: string) {
    super(message);
    this.code = code;
  }
  get httpStatus(): number {
    return STATUS_BY_CODE[this.code] ?? 400;
  }
}

export interface NodeView {
  readonly nodeId: number;
  readonly pid: number | null;
  readonly state: string;
  readonly registered: boolean;
  readonly restarts: number;
  readonly isolatedFrom?: FaultSide | null;
  readonly delayMs?: number;
  readonly delayFrom?: FaultSide | null;
}

export interface FaultTarget {
  list(): NodeView[];
  act(nodeId: number, action: FaultAction): Promise<NodeView>;
  /** The fault proxies' rules (client cuts); undefined without proxies. */
  readonly rules?: FaultRules | undefined;
}

/** The options of a client cut from an HTTP body or CLI flags; a FaultError naming the bad field otherwise. */
export function clientCutOptions(body: Record<string, unknown>): ClientCutOptions {
  const fields = { node: 'nodeId', afterApiKey: 'afterApiKey', times: 'times' } as const;
  const options: { nodeId?: number; afterApiKey?: number; times?: number } = {};
  for (const [key, value] of Object.entries(body)) {
    const option = fields[key as keyof typeof fields];
    if (option === undefined) {
      throw new FaultError('REQUEST_INVALID', `a client cut takes node, afterApiKey, times, not '${key}'`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new FaultError('REQUEST_INVALID', `${key}: '${String(value)}' is not a whole number`);
    }
    options[option] = value;
  }
  // The rules check the ranges; a check here too keeps the CLI's exit 2 for them.
  try {
    new FaultRules().cutClient('probe', options);
  } catch (error) {
    throw new FaultError('REQUEST_INVALID', (error as Error).message);
  }
  return options;
}

/** The action an HTTP body or CLI flags describe; a FaultError naming the bad field otherwise. */
export function faultAction(
  name: string,
  body: { restart?: unknown; from?: unknown; delayMs?: unknown },
): FaultAction {
  if (!(FAULT_ACTIONS as readonly string[]).includes(name)) {
    throw new FaultError('REQUEST_INVALID', `'${name}' is not a fault (one of ${FAULT_ACTIONS.join(', ')})`);
  }
  const from = (): FaultSide => {
    if (body.from === undefined) return 'all';
    if (typeof body.from === 'string' && (FAULT_SIDES as readonly string[]).includes(body.from)) {
      return body.from as FaultSide;
    }
    throw new FaultError(
      'REQUEST_INVALID',
      `from: '${String(body.from)}' is not one of ${FAULT_SIDES.join(', ')}`,
    );
  };
  switch (name as FaultActionName) {
    case 'kill':
      if (body.restart !== undefined && typeof body.restart !== 'boolean') {
        throw new FaultError('REQUEST_INVALID', `restart: '${String(body.restart)}' is not true or false`);
      }
      return { kind: 'kill', restart: body.restart !== false };
    case 'isolate':
      return { kind: 'isolate', from: from() };
    case 'slow': {
      const delayMs = body.delayMs;
      if (
        typeof delayMs !== 'number' ||
        !Number.isInteger(delayMs) ||
        delayMs < 1 ||
        delayMs > LINK_DELAY_MS_MAX
      ) {
        throw new FaultError(
          'REQUEST_INVALID',
          `delayMs: '${String(delayMs)}' is not a whole number of milliseconds in 1..${LINK_DELAY_MS_MAX} (LINK_DELAY_MS_MAX)`,
        );
      }
      return { kind: 'slow', delayMs, from: from() };
    }
    default:
      return { kind: name as 'pause' | 'resume' | 'stop' | 'start' | 'restart' | 'heal' };
  }
}

function nodeIdOf(text: string): number {
  const nodeId = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(nodeId)) {
    throw new FaultError('REQUEST_INVALID', `'${text}' is not a node id`);
  }
  return nodeId;
}

function rulesOf(target: FaultTarget): FaultRules {
  if (target.rules === undefined) {
    throw new FaultError(
      'PROXIES_OFF',
      'client cuts need the fault proxies (kstack up without --no-fault-proxies)',
    );
  }
  return target.rules;
}

export function buildFaultControl(target: FaultTarget): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_BYTES_MAX });
  useControlErrors(
    app,
    (error) => error instanceof FaultError,
    `GET /nodes, GET /nodes/{id}, POST /nodes/{id}/{${FAULT_ACTIONS.join('|')}}, GET /clients, POST /clients/{clientId}/{cut|heal}`,
  );
  app.get('/clients', async () => rulesOf(target).clientCuts());
  app.post<{ Params: { clientId: string }; Body: unknown }>('/clients/:clientId/cut', async (request) => {
    const rules = rulesOf(target);
    const body = request.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new FaultError('REQUEST_INVALID', 'the body is not a JSON object');
    }
    const options = clientCutOptions(body as Record<string, unknown>);
    if (options.nodeId !== undefined && !target.list().some((node) => node.nodeId === options.nodeId)) {
      throw new FaultError('NODE_UNKNOWN', `no node ${options.nodeId} in this cluster`);
    }
    return rules.cutClient(request.params.clientId, options);
  });
  app.post<{ Params: { clientId: string } }>(
    '/clients/:clientId/heal',
    async (request): Promise<ClientCut> => {
      const cut = rulesOf(target).healClient(request.params.clientId);
      if (cut === undefined) {
        throw new FaultError(
          'CLIENT_CUT_NOT_FOUND',
          `no cut is armed for client id '${request.params.clientId}'`,
        );
      }
      return cut;
    },
  );
  app.get('/nodes', async () => target.list());
  app.get<{ Params: { id: string } }>('/nodes/:id', async (request) => {
    const nodeId = nodeIdOf(request.params.id);
    const node = target.list().find((n) => n.nodeId === nodeId);
    if (node === undefined) throw new FaultError('NODE_UNKNOWN', `no node ${nodeId} in this cluster`);
    return node;
  });
  app.post<{ Params: { id: string; action: string }; Body: unknown }>(
    '/nodes/:id/:action',
    async (request) => {
      const nodeId = nodeIdOf(request.params.id);
      const body = request.body ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new FaultError('REQUEST_INVALID', 'the body is not a JSON object');
      }
      return target.act(nodeId, faultAction(request.params.action, body));
    },
  );
  return app;
}

/** Builds and listens; resolves with its URL and how to close it. */
export async function serveFaultControl(
  target: FaultTarget,
  { host, port }: { host: string; port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = buildFaultControl(target);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw Object.assign(error as Error, { port });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return { url: `http://${host}:${bound}`, close: () => app.close() };
}
