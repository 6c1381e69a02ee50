/**
 * The one error type the protocol core throws for bytes it cannot turn into a request.
 * The server maps `kind` to its answer: an UNSUPPORTED_VERSION response (ApiVersions answers v0 with
 * the full list), or a closed connection for an unknown API key and for truncated or malformed frames.
 */

export type ProtocolErrorKind = 'UNKNOWN_API_KEY' | 'UNSUPPORTED_VERSION' | 'TRUNCATED' | 'MALFORMED';

export interface ProtocolErrorContext {
  apiKey?: number;
  apiVersion?: number;
  /** Known when the request header could be read: lets the server answer instead of closing. */
  correlationId?: number;
  clientId?: string | null;
}

export class ProtocolError extends Error {
  readonly kind: ProtocolErrorKind;
  apiKey: number | undefined;
  apiVersion: number | undefined;
  correlationId: number | undefined;
  clientId: string | null | undefined;

  constructor(kind: ProtocolErrorKind, message: string, context: ProtocolErrorContext = {}) {
    super(message);
    this.name = 'ProtocolError';
    this.kind = kind;
    this.apiKey = context.apiKey;
    this.apiVersion = context.apiVersion;
    this.correlationId = context.correlationId;
    this.clientId = context.clientId;
  }
}

export function truncated(what: string, needed: number, remaining: number): ProtocolError {
  return new ProtocolError(
    'TRUNCATED',
    `truncated input: ${what} needs ${needed} bytes, ${remaining} remain`,
  );
}

export function malformed(message: string): ProtocolError {
  return new ProtocolError('MALFORMED', `malformed input: ${message}`);
}
