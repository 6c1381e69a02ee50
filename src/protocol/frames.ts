import { type ApiDefinition, ApiKey, getApi } from './apis/index.ts';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from './headers.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import { compile, inRange, type MessageValue } from './schema.ts';
import { Writer } from './writer.ts';

/**
 * Whole requests and responses: header plus body. A frame here is what follows the 4-byte size prefix
 * on the wire (the server splits the stream into frames); `encodeResponse`/`encodeRequest` return bytes
 * ready to write, size prefix included.
 */

export interface DecodedRequest {
  header: RequestHeader;
  /** The request body: lowerCamelCase fields, every field of every version (absent ones at their default). */
  body: MessageValue;
  api: ApiDefinition;
}

/** ControlledShutdown v0 is the one request that used header v0; flexible versions use header v2. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === 7 && apiVersion === 0) return 0;
  const api = getApi(apiKey);
  // An unknown version above the known range is taken as flexible when the API is flexible at all, as
  // Kafka does, so the header (and its correlation id) of a too-new ApiVersions request still parses.
  if (api && apiVersion >= api.flexibleVersions.min && api.flexibleVersions.min <= api.flexibleVersions.max)
    return 2;
  return 1;
}

/** ApiVersions always answers with header v0, so a client can read it before knowing our versions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const api = getApi(apiKey);
  return api && inRange(api.flexibleVersions, apiVersion) ? 1 : 0;
}

/**
 * Decodes one request frame. Throws ProtocolError:
 * - UNKNOWN_API_KEY (correlationId set) for a key we do not know;
 * - UNSUPPORTED_VERSION (apiKey, apiVersion, correlationId, clientId set) outside the spec's versions;
 * - TRUNCATED / MALFORMED for bytes that do not parse (context set as far as the header was read).
 */
export function decodeRequest(frame: Uint8Array): DecodedRequest {
  const reader = new Reader(frame);
  if (frame.length < 8) {
    throw new ProtocolError('TRUNCATED', `request frame of ${frame.length} bytes is shorter than a header`);
  }
  const apiKey = reader.view.getInt16(0);
  const apiVersion = reader.view.getInt16(2);
  const correlationId = reader.view.getInt32(4);
  const api = getApi(apiKey);
  if (!api) {
    throw new ProtocolError('UNKNOWN_API_KEY', `unknown API key ${apiKey}`, {
      apiKey,
      apiVersion,
      correlationId,
    });
  }
  let header: RequestHeader;
  try {
    header = decodeRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
  } catch (error) {
    throw withContext(error, { apiKey, apiVersion, correlationId });
  }
  if (!inRange(api.validVersions, apiVersion)) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `${api.name} has no version ${apiVersion}`, {
      apiKey,
      apiVersion,
      correlationId,
      clientId: header.clientId,
    });
  }
  try {
    const body = compile(api.request, apiVersion, inRange(api.flexibleVersions, apiVersion)).decode(reader);
    return { header, body, api };
  } catch (error) {
    throw withContext(error, { apiKey, apiVersion, correlationId, clientId: header.clientId });
  }
}

function withContext(
  error: unknown,
  context: { apiKey: number; apiVersion: number; correlationId: number; clientId?: string | null },
): unknown {
  if (error instanceof ProtocolError) {
    error.apiKey = context.apiKey;
    error.apiVersion = context.apiVersion;
    error.correlationId = context.correlationId;
    error.clientId = context.clientId;
  }
  return error;
}

function apiOrThrow(apiKey: number, apiVersion: number): ApiDefinition {
  const api = getApi(apiKey);
  if (!api) throw new RangeError(`unknown API key ${apiKey}`);
  if (!inRange(api.validVersions, apiVersion))
    throw new RangeError(`${api.name} has no version ${apiVersion}`);
  return api;
}

/** Encodes a response: size prefix, response header, body. Fields left undefined take their default. */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: MessageValue,
  writer: Writer = new Writer(),
): Uint8Array {
  const api = apiOrThrow(apiKey, apiVersion);
  const start = writer.offset;
  writer.int32(0);
  encodeResponseHeader(writer, correlationId, responseHeaderVersion(apiKey, apiVersion));
  compile(api.response, apiVersion, inRange(api.flexibleVersions, apiVersion)).encode(writer, body);
  writer.view.setInt32(start, writer.offset - start - 4);
  return writer.slice(start, writer.offset);
}

/**
 * Like encodeResponse, but returns the frame as a list of chunks to write in order (e.g. with
 * `socket.cork()`/`uncork()`): records blobs of at least `zeroCopyMinBytes` are referenced, not copied,
 * so a Fetch response costs no copy of the log data it carries.
 */
export function encodeResponseChunks(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: MessageValue,
  zeroCopyMinBytes = 16 * 1024,
): Uint8Array[] {
  const api = apiOrThrow(apiKey, apiVersion);
  const writer = Writer.chunked(zeroCopyMinBytes);
  writer.int32(0);
  encodeResponseHeader(writer, correlationId, responseHeaderVersion(apiKey, apiVersion));
  compile(api.response, apiVersion, inRange(api.flexibleVersions, apiVersion)).encode(writer, body);
  const chunks = writer.finishChunks();
  const first = chunks[0]!;
  new DataView(first.buffer, first.byteOffset, first.byteLength).setInt32(0, writer.length() - 4);
  return chunks;
}

/** Encodes a request (for kstack's own clients and tests): size prefix, request header, body. */
export function encodeRequest(
  header: RequestHeader,
  body: MessageValue,
  writer: Writer = new Writer(),
): Uint8Array {
  const { requestApiKey: apiKey, requestApiVersion: apiVersion } = header;
  const api = apiOrThrow(apiKey, apiVersion);
  const start = writer.offset;
  writer.int32(0);
  encodeRequestHeader(writer, header, requestHeaderVersion(apiKey, apiVersion));
  compile(api.request, apiVersion, inRange(api.flexibleVersions, apiVersion)).encode(writer, body);
  writer.view.setInt32(start, writer.offset - start - 4);
  return writer.slice(start, writer.offset);
}

/** Decodes a response frame (without its size prefix) of a request the caller sent. */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Uint8Array,
): { correlationId: number; body: MessageValue } {
  const api = apiOrThrow(apiKey, apiVersion);
  const reader = new Reader(frame);
  const { correlationId } = decodeResponseHeader(reader, responseHeaderVersion(apiKey, apiVersion));
  const body = compile(api.response, apiVersion, inRange(api.flexibleVersions, apiVersion)).decode(reader);
  return { correlationId, body };
}
