/**
 * Turns one request frame into one response frame: reads the header, routes to the
 * handler of the API key, decodes, calls it, encodes. Unparseable input closes the
 * connection, as Kafka does; an unsupported ApiVersions version is answered with v0,
 * UNSUPPORTED_VERSION and the full list so the client can pick a version it knows.
 */
import {
  decodeRequest,
  encodeResponse,
  encodeResponseChunks,
  KafkaErrors,
  ProtocolError,
  Writer,
} from '../protocol/index.ts';
import { clientHost } from '../security/authorizer.ts';
import { recordRequestTime, takeSilentThrottle } from '../security/quotas.ts';
import { type Authorized, authorizeRequest } from '../security/request-authorization.ts';
import {
  connectionPrincipal,
  type ListenerSecurity,
  PRE_AUTHENTICATION_KEYS,
  type SaslSession,
  sessionOf,
} from '../security/sasl.ts';
import type { DispatchResult, RequestDispatcher, ServerLog } from '../server/server.ts';
import { type ConnectionInfo, NO_RESPONSE, type RequestContext } from './handler.ts';
import type { HandlerRegistry } from './handlers/index.ts';
import type { BrokerServices } from './services.ts';

const API_VERSIONS_KEY = 18;
const SASL_HANDSHAKE_KEY = 17;
const CLOSE: DispatchResult = { response: null, close: true };
const NOTHING: DispatchResult = { response: null };
const RESPONSE_CAPACITY_HINT = 512;
const FETCH_KEY = 1;
/**
 * APIs between brokers and controllers (Kafka's `clusterAction` API keys): exempt from
 * `request_percentage`, as Kafka exempts them.
 */
const CLUSTER_ACTION_KEYS: ReadonlySet<number> = new Set([
  4, 5, 6, 7, 27, 52, 53, 54, 55, 56, 57, 58, 62, 63, 64, 67,
]);
/**
 * A Fetch answer's records of at least this many bytes are written to the socket from the
 * buffers the log read them into, not copied into the encoded frame (the server writes the
 * frame's parts in order, corked). Smaller ones are copied: a write per tiny part costs more.
 */
export const FETCH_ZERO_COPY_MIN_BYTES = 16 * 1024;

/** How one listener is served: its authentication, and the services its requests see. */
export interface ListenerBinding {
  readonly security: ListenerSecurity;
  /** The broker's services as this listener's clients see them (its advertised address in Metadata). */
  readonly services?: BrokerServices;
}

export class BrokerDispatcher implements RequestDispatcher {
  readonly #registry: HandlerRegistry;
  readonly #services: BrokerServices;
  readonly #log: ServerLog;
  readonly #listeners: ReadonlyMap<string, ListenerBinding>;

  /**
   * `listeners` by name: connections on a listener found there get a SASL session (src/security);
   * without an entry a connection is served as PLAINTEXT is.
   */
  constructor(
    registry: HandlerRegistry,
    services: BrokerServices,
    log: ServerLog,
    listeners: ReadonlyMap<string, ListenerBinding> = new Map(),
  ) {
    this.#registry = registry;
    this.#services = services;
    this.#log = log;
    this.#listeners = listeners;
  }

  dispatch(frame: Buffer, connection: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    const startedNs = process.hrtime.bigint();
    const binding = this.#listeners.get(connection.listenerName);
    const session = binding === undefined ? undefined : sessionOf(connection, binding.security);
    if (session?.rawTokens === true && session.state === 'authenticate')
      return this.#rawToken(session, frame);
    if (frame.length < 8) return this.#reject(connection, `request of ${frame.length} bytes has no header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const nowMs = this.#services.clock.nowMs();
    if (
      session?.expired(nowMs) === true &&
      !(apiKey === SASL_HANDSHAKE_KEY && session.mayReauthenticate(nowMs))
    ) {
      // KIP-368: past its session's lifetime a connection is closed on any request but the
      // SaslHandshake that re-authenticates it, as Kafka's SocketServer closes an expired channel.
      return this.#reject(
        connection,
        `SASL session on ${connection.listenerName} expired (connections.max.reauth.ms) before re-authentication`,
      );
    }
    if (session !== undefined && session.state !== 'authenticated' && !PRE_AUTHENTICATION_KEYS.has(apiKey)) {
      // Kafka's SaslServerAuthenticator closes a connection sending anything else before it authenticated.
      return this.#reject(
        connection,
        `API key ${apiKey} on SASL listener ${connection.listenerName} before authentication (state ${session.state})`,
      );
    }
    const handler = this.#registry.get(apiKey);
    if (handler === undefined) return this.#reject(connection, `unknown API key ${apiKey}`);
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) return this.#apiVersionsFallback(correlationId);
      return this.#reject(connection, `${handler.name} v${apiVersion} is not supported`);
    }
    // The request's principal: SASL's login, else the TLS client certificate's (ssl.principal.mapping.rules).
    const principal = connectionPrincipal(connection, binding?.security);
    if (principal === null) {
      // No mapping rule applies: Kafka fails the authentication and closes the connection.
      return this.#reject(
        connection,
        `the TLS client certificate on ${connection.listenerName} matches no ssl.principal.mapping.rules`,
      );
    }
    let context: RequestContext;
    let request: Record<string, unknown>;
    let authorized: Authorized;
    try {
      const decoded = decodeRequest(frame);
      request = decoded.body;
      context = {
        apiKey,
        apiVersion,
        correlationId,
        clientId: decoded.header.clientId,
        connection,
        broker: binding?.services ?? this.#services,
      };
      // ACLs (src/security): refused parts are answered there, the rest reaches the handler.
      const who = { principal, host: clientHost(connection.remoteAddress) };
      authorized = authorizeRequest(apiKey, apiVersion, request, who, context.broker);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof RangeError) {
        return this.#reject(connection, `${handler.name} v${apiVersion}: ${error.message}`);
      }
      throw error;
    }
    const failed = (error: unknown): DispatchResult => {
      // A request the handler finds malformed (ACL filters of UNKNOWN codes): closed, as Kafka does.
      if (error instanceof ProtocolError)
        return this.#reject(connection, `${handler.name} v${apiVersion}: ${error.message}`);
      // A handler bug: logged with its stack; only this connection is closed, as Kafka does.
      this.#log.warn(
        `${handler.name} v${apiVersion} from connection ${connection.id} failed: ${(error as Error)?.stack ?? String(error)}`,
      );
      return CLOSE;
    };
    if ('answer' in authorized) return this.#respond(apiKey, apiVersion, correlationId, authorized.answer);
    const { finish } = authorized;
    let handledNs = 0;
    const finished = (body: unknown): unknown => {
      if (body === NO_RESPONSE) return body;
      const value = finish(body as Record<string, unknown>);
      // request_percentage (Kafka's ClientRequestQuotaManager), recorded as the answer goes out: the
      // time this request held the event loop (decode, authorization, the handler's synchronous part).
      const requestThrottleMs =
        CLUSTER_ACTION_KEYS.has(apiKey) || isFollowerFetch(apiKey, request)
          ? 0
          : recordRequestTime(context, handledNs);
      // request_percentage: the larger throttle of the two answers, as Kafka takes the max.
      return requestThrottleMs > 0 &&
        typeof value.throttleTimeMs === 'number' &&
        value.throttleTimeMs < requestThrottleMs
        ? { ...value, throttleTimeMs: requestThrottleMs }
        : value;
    };
    try {
      const outcome = handler.handle(authorized.request, context);
      handledNs = Number(process.hrtime.bigint() - startedNs);
      if (outcome instanceof Promise) {
        return outcome
          .then((body) =>
            this.#closeIfFailed(
              session,
              this.#respond(apiKey, apiVersion, correlationId, finished(body), connection),
            ),
          )
          .catch(failed);
      }
      return this.#closeIfFailed(
        session,
        this.#respond(apiKey, apiVersion, correlationId, finished(outcome), connection),
      );
    } catch (error) {
      return failed(error);
    }
  }

  /**
   * A bare SASL token after SaslHandshake v0: answered with the mechanism's bare token; a failure
   * closes the connection without an answer, as Kafka does in this mode.
   */
  #rawToken(session: SaslSession, frame: Buffer): DispatchResult | Promise<DispatchResult> {
    try {
      const token = session.authenticate(frame, this.#services.clock.nowMs());
      const response = Buffer.allocUnsafe(4 + token.length);
      response.writeInt32BE(token.length, 0);
      response.set(token, 4);
      return { response };
    } catch (error) {
      this.#log.info(
        `SASL ${session.server?.mechanism ?? ''} authentication failed: ${(error as Error).message}`,
      );
      return this.#closeIfFailed(session, CLOSE);
    }
  }

  /**
   * A failed SASL exchange gets its answer, then the connection is closed, as Kafka does; the answer
   * waits `connection.failed.authentication.delay.ms` (KIP-306: slows password guessing down).
   */
  #closeIfFailed(
    session: SaslSession | undefined,
    result: DispatchResult,
  ): DispatchResult | Promise<DispatchResult> {
    if (session?.state !== 'failed') return result;
    const closing = { ...result, close: true };
    const delayMs = this.#services.config.getNumber('connection.failed.authentication.delay.ms');
    if (delayMs <= 0) return closing;
    return new Promise((resolve) => this.#services.clock.setTimer(delayMs, () => resolve(closing)));
  }

  #respond(
    apiKey: number,
    version: number,
    correlationId: number,
    body: unknown,
    connection?: ConnectionInfo,
  ): DispatchResult {
    if (body === NO_RESPONSE) {
      // An unanswered request over its quota (acks=0 Produce) still mutes the connection.
      const throttleMs = connection === undefined ? 0 : takeSilentThrottle(connection);
      return throttleMs > 0 ? { response: null, throttleMs } : NOTHING;
    }
    const value = body as Record<string, unknown>;
    if (apiKey === FETCH_KEY) {
      const parts = encodeResponseChunks(apiKey, version, correlationId, value, FETCH_ZERO_COPY_MIN_BYTES);
      const throttleMs = typeof value.throttleTimeMs === 'number' ? value.throttleTimeMs : 0;
      return { response: parts.length === 1 ? parts[0]! : parts, ...(throttleMs > 0 ? { throttleMs } : {}) };
    }
    const writer = new Writer(RESPONSE_CAPACITY_HINT);
    const response = encodeResponse(apiKey, version, correlationId, value, writer);
    // A throttled answer (client quotas, src/security/quotas.ts) mutes the connection for that long.
    const throttleMs = typeof value.throttleTimeMs === 'number' ? value.throttleTimeMs : 0;
    return throttleMs > 0 ? { response, throttleMs } : { response };
  }

  #apiVersionsFallback(correlationId: number): DispatchResult {
    const body = {
      errorCode: KafkaErrors.UNSUPPORTED_VERSION.code,
      apiKeys: this.#services.apiVersions(),
      throttleTimeMs: 0,
    };
    return { response: encodeResponse(API_VERSIONS_KEY, 0, correlationId, body) };
  }

  #reject(connection: ConnectionInfo, reason: string): DispatchResult {
    this.#log.warn(
      `connection ${connection.id} (${connection.remoteAddress}:${connection.remotePort}): ${reason}; closing`,
    );
    return CLOSE;
  }
}

/** A Fetch from a follower replica (replica id, or ReplicaState from v15): exempt from request quotas. */
function isFollowerFetch(apiKey: number, request: Record<string, unknown>): boolean {
  if (apiKey !== FETCH_KEY) return false;
  const state = request.replicaState as { replicaId?: number } | undefined;
  return (typeof request.replicaId === 'number' && request.replicaId >= 0) || (state?.replicaId ?? -1) >= 0;
}
