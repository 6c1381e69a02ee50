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
import type { DispatchResult, RequestDispatcher, ServerLog } from '../server/server.ts';
import { type ConnectionInfo, NO_RESPONSE, type RequestContext } from './handler.ts';
import type { HandlerRegistry } from './handlers/index.ts';
import type { BrokerServices } from './services.ts';

const API_VERSIONS_KEY = 18;
const CLOSE: DispatchResult = { response: null, close: true };
const NOTHING: DispatchResult = { response: null };
const RESPONSE_CAPACITY_HINT = 512;
const FETCH_KEY = 1;
/**
 * A Fetch answer's records of at least this many bytes are written to the socket from the
 * buffers the log read them into, not copied into the encoded frame (the server writes the
 * frame's parts in order, corked). Smaller ones are copied: a write per tiny part costs more.
 */
export const FETCH_ZERO_COPY_MIN_BYTES = 16 * 1024;

export class BrokerDispatcher implements RequestDispatcher {
  readonly #registry: HandlerRegistry;
  readonly #services: BrokerServices;
  readonly #log: ServerLog;

  constructor(registry: HandlerRegistry, services: BrokerServices, log: ServerLog) {
    this.#registry = registry;
    this.#services = services;
    this.#log = log;
  }

  dispatch(frame: Buffer, connection: ConnectionInfo): DispatchResult | Promise<DispatchResult> {
    if (frame.length < 8) return this.#reject(connection, `request of ${frame.length} bytes has no header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const handler = this.#registry.get(apiKey);
    if (handler === undefined) return this.#reject(connection, `unknown API key ${apiKey}`);
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) return this.#apiVersionsFallback(correlationId);
      return this.#reject(connection, `${handler.name} v${apiVersion} is not supported`);
    }
    let context: RequestContext;
    let request: Record<string, unknown>;
    try {
      const decoded = decodeRequest(frame);
      request = decoded.body;
      context = {
        apiKey,
        apiVersion,
        correlationId,
        clientId: decoded.header.clientId,
        connection,
        broker: this.#services,
      };
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof RangeError) {
        return this.#reject(connection, `${handler.name} v${apiVersion}: ${error.message}`);
      }
      throw error;
    }
    const failed = (error: unknown): DispatchResult => {
      // A handler bug: logged with its stack; only this connection is closed, as Kafka does.
      this.#log.warn(
        `${handler.name} v${apiVersion} from connection ${connection.id} failed: ${(error as Error)?.stack ?? String(error)}`,
      );
      return CLOSE;
    };
    try {
      const outcome = handler.handle(request, context);
      if (outcome instanceof Promise) {
        return outcome.then((body) => this.#respond(apiKey, apiVersion, correlationId, body)).catch(failed);
      }
      return this.#respond(apiKey, apiVersion, correlationId, outcome);
    } catch (error) {
      return failed(error);
    }
  }

  #respond(apiKey: number, version: number, correlationId: number, body: unknown): DispatchResult {
    if (body === NO_RESPONSE) return NOTHING;
    const value = body as Record<string, unknown>;
    if (apiKey === FETCH_KEY) {
      const parts = encodeResponseChunks(apiKey, version, correlationId, value, FETCH_ZERO_COPY_MIN_BYTES);
      return { response: parts.length === 1 ? parts[0]! : parts };
    }
    const writer = new Writer(RESPONSE_CAPACITY_HINT);
    return { response: encodeResponse(apiKey, version, correlationId, value, writer) };
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
