/**
 * Kafka UUIDs (topic ids, directory ids) are 16 bytes on the wire. In decoded values they are strings in
 * Kafka's own textual form: URL-safe base64 without padding (22 characters), as Kafka's tools print them.
 */

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidFromBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('base64url');
}

export function uuidToBytes(uuid: string): Uint8Array {
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16) throw new RangeError(`not a Kafka UUID (16 bytes as unpadded base64url): ${uuid}`);
  return bytes;
}

/** A fresh random UUID, given a source of random bytes (randomness is passed in, never taken here). */
export function uuidFromRandomBytes(random16: Uint8Array): string {
  const bytes = Uint8Array.from(random16.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return uuidFromBytes(bytes);
}
