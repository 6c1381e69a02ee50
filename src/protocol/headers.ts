import type { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/**
 * Request headers v0–v2 and response headers v0–v1.
 * v1 adds the client id, a classic nullable string even in flexible versions (the spec marks it
 * `flexibleVersions: none`); v2 (request) and v1 (response) add a tagged-field section.
 */

export interface RequestHeader {
  requestApiKey: number;
  requestApiVersion: number;
  correlationId: number;
  /** null when the client sent none, and in header v0. */
  clientId: string | null;
}

export interface ResponseHeader {
  correlationId: number;
}

export function decodeRequestHeader(reader: Reader, headerVersion: number): RequestHeader {
  const requestApiKey = reader.int16();
  const requestApiVersion = reader.int16();
  const correlationId = reader.int32();
  const clientId = headerVersion >= 1 ? reader.nullableString() : null;
  if (headerVersion >= 2) skipTaggedFields(reader);
  return { requestApiKey, requestApiVersion, correlationId, clientId };
}

export function encodeRequestHeader(writer: Writer, header: RequestHeader, headerVersion: number): void {
  writer.int16(header.requestApiKey);
  writer.int16(header.requestApiVersion);
  writer.int32(header.correlationId);
  if (headerVersion >= 1) writer.nullableString(header.clientId);
  if (headerVersion >= 2) writer.uvarint(0);
}

export function decodeResponseHeader(reader: Reader, headerVersion: number): ResponseHeader {
  const correlationId = reader.int32();
  if (headerVersion >= 1) skipTaggedFields(reader);
  return { correlationId };
}

export function encodeResponseHeader(writer: Writer, correlationId: number, headerVersion: number): void {
  writer.int32(correlationId);
  if (headerVersion >= 1) writer.uvarint(0);
}

/** Headers define no tagged fields we use: each is skipped after its size is checked. */
export function skipTaggedFields(reader: Reader): void {
  const count = reader.uvarint();
  for (let i = 0; i < count; i++) {
    reader.uvarint();
    reader.skip(reader.uvarint());
  }
}
