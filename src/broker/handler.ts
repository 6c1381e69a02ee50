/**
 * The contract between the server and the code that answers one API key.
 *
 * The server (src/server/) frames bytes, decodes the request header and body with the
 * protocol module, looks the API key up in the handler registry (handlers/index.ts),
 * calls `handle`, and encodes what it returns. A handler therefore never touches bytes
 * or sockets: it receives the decoded request value (Kafka JSON field names in
 * lowerCamelCase, int64 as bigint), calls the broker's domain services given in the
 * context, and returns the response value without its header (the server adds the
 * correlation id and picks the header version).
 */
import type { BrokerServices } from './services.ts';

/** Returned by a handler when the protocol says no response is sent (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('kstack.noResponse');
export type NoResponse = typeof NO_RESPONSE;

/** What the server knows about the connection a request came on. */
export interface ConnectionInfo {
  /** Unique per server run; stable for the connection's lifetime (fetch sessions, coordinators). */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The listener the connection came in on, e.g. `PLAINTEXT`. */
  readonly listenerName: string;
  /** The TLS client's certificate (DER) when it sent one (SSL listeners with `ssl.client.auth`). */
  readonly peerCertificate?: Buffer;
}

/** Everything a handler may use besides the request value itself. */
export interface RequestContext {
  readonly apiKey: number;
  /** The request's API version, already checked to lie in [minVersion, maxVersion]. */
  readonly apiVersion: number;
  readonly correlationId: number;
  /** The header's client id (null when the client sent none). */
  readonly clientId: string | null;
  readonly connection: ConnectionInfo;
  /** The broker's domain services: topics, partitions, configs, metadata image, slots. */
  readonly broker: BrokerServices;
}

/**
 * The answer to one API key. `Request` and `Response` are the protocol module's decoded
 * values for this API (the server passes `decodeRequest`'s body and hands the return
 * value to `encodeResponse`).
 */
export interface Handler<Request = unknown, Response = unknown> {
  readonly apiKey: number;
  /** Kafka's name for the API (`Produce`, `ApiVersions`, ...), for logs and errors. */
  readonly name: string;
  /** Lowest version advertised in ApiVersions. */
  readonly minVersion: number;
  /** Highest version advertised in ApiVersions. */
  readonly maxVersion: number;
  /**
   * Answers one request. May be async (long polling, acks=-1, coordinator waits); the
   * server still writes responses in request order per connection. Throwing is a bug:
   * the server then closes the connection, as Kafka does on an unexpected failure.
   */
  handle(request: Request, context: RequestContext): Response | NoResponse | Promise<Response | NoResponse>;
}

/** Declares a handler with its request/response types checked, stored untyped in the registry. */
export function defineHandler<Request, Response>(handler: Handler<Request, Response>): Handler {
  return handler as unknown as Handler;
}
