/**
 * How a key, value or header is shown: Confluent's wire format through the registry (when one is
 * configured), JSON, UTF-8 text, or hex for anything else. The page renders every form as text.
 */
import type { RegistryClient } from './registry.ts';

/** Bytes of one key or value sent to the page; the rest is cut and marked. */
export const SHOWN_BYTES_MAX = 64 * 1024;

export interface ShownBytes {
  readonly encoding: 'null' | 'json' | 'text' | 'hex' | 'avro' | 'jsonschema' | 'protobuf';
  readonly text: string;
  readonly bytes: number;
  readonly truncated: boolean;
  readonly schemaId?: number;
  /** Why the registry could not decode a value that looks like its wire format. */
  readonly note?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function showPlain(bytes: Buffer | null): ShownBytes {
  if (bytes === null) return { encoding: 'null', text: '', bytes: 0, truncated: false };
  const truncated = bytes.length > SHOWN_BYTES_MAX;
  const part = truncated ? bytes.subarray(0, SHOWN_BYTES_MAX) : bytes;
  let text: string;
  try {
    text = utf8.decode(part);
  } catch {
    return { encoding: 'hex', text: part.toString('hex'), bytes: bytes.length, truncated };
  }
  if (!truncated && /^\s*[[{"]/.test(text)) {
    try {
      return {
        encoding: 'json',
        text: JSON.stringify(JSON.parse(text), null, 2),
        bytes: bytes.length,
        truncated,
      };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { encoding: 'text', text, bytes: bytes.length, truncated };
}

export async function show(bytes: Buffer | null, registry: RegistryClient | undefined): Promise<ShownBytes> {
  if (registry !== undefined && bytes !== null && bytes.length >= 5 && bytes[0] === 0) {
    const decoded = await registry.decode(bytes);
    if (decoded.ok) {
      return {
        encoding:
          decoded.schemaType === 'AVRO'
            ? 'avro'
            : decoded.schemaType === 'PROTOBUF'
              ? 'protobuf'
              : 'jsonschema',
        text: decoded.json,
        bytes: bytes.length,
        truncated: false,
        schemaId: bytes.readUInt32BE(1),
      };
    }
    return { ...showPlain(bytes), note: decoded.reason };
  }
  return showPlain(bytes);
}
