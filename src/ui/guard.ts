/**
 * What keeps other web sites out of the UI. The UI binds 127.0.0.1, but a page the user visits can
 * still send requests to it (cross-site requests) or resolve its own name to 127.0.0.1 (DNS
 * rebinding). So: every request must name this UI in its Host header (a rebound name does not),
 * every change is a POST with an Origin equal to the UI's own and a JSON body (a form cannot send
 * one without a CORS preflight, which the UI never grants), and --read-only refuses every change.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { crossSite, readOnly, wrongHost } from './errors.ts';

/** Names the Host header may carry besides the bound address (always with the UI's port). */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export interface GuardOptions {
  /** The address the server binds. */
  readonly host: string;
  /** More host names users reach the UI by (a reverse proxy's, say). */
  readonly allowedHostNames?: readonly string[];
  readonly readOnly: boolean;
  /** The port the server listens on, once it listens (undefined while only injected). */
  readonly port: () => number | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function hostAllowed(hostHeader: string, options: GuardOptions): boolean {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader);
  if (match === null) return false;
  const name = match[1]!.toLowerCase();
  const names = new Set([...LOOPBACK_NAMES, options.host, ...(options.allowedHostNames ?? [])]);
  if (!names.has(name)) return false;
  const port = options.port();
  return port === undefined || Number(match[2] ?? 80) === port;
}

export function guardHook(options: GuardOptions) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const host = request.headers.host ?? '';
    if (!hostAllowed(host, options)) throw wrongHost(host);
    if (SAFE_METHODS.has(request.method)) return;
    if (options.readOnly) throw readOnly();
    const origin = request.headers.origin;
    if (origin !== `http://${host}`) {
      throw crossSite(
        origin === undefined
          ? `${request.method} without an Origin header is refused (changes come from the UI's own page)`
          : `Origin '${origin}' is not this UI (http://${host}): cross-site changes are refused`,
      );
    }
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\b/.test(type)) {
      throw crossSite(`changes take Content-Type application/json, not '${type || '(none)'}'`);
    }
  };
}
