// A minimal Metadata v1 probe, written against the protocol guide, so the launcher can tell when a broker
// answers without starting a JVM client. It asks for no topics and returns the broker ids the answer lists.
import net from 'node:net';

const METADATA_API_KEY = 3;
const METADATA_VERSION = 1;
const CLIENT_ID = 'kstack-reference-probe';
const RESPONSE_BYTES_MAX = 1 << 20;

export function encodeMetadataRequest(correlationId: number): Buffer {
  const clientId = Buffer.from(CLIENT_ID, 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
  let at = 0;
  at = body.writeInt16BE(METADATA_API_KEY, at);
  at = body.writeInt16BE(METADATA_VERSION, at);
  at = body.writeInt32BE(correlationId, at);
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  body.writeInt32BE(0, at); // an empty topic array: brokers only
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(body.length, 0);
  return Buffer.concat([frame, body]);
}

/** Decodes the broker list of a Metadata v1 response body (without the length prefix). */
export function decodeMetadataBrokers(body: Buffer, correlationId: number): number[] {
  let at = 0;
  if (body.readInt32BE(at) !== correlationId) throw new Error('metadata probe: correlation id mismatch');
  at += 4;
  const brokerCount = body.readInt32BE(at);
  at += 4;
  const ids: number[] = [];
  for (let i = 0; i < brokerCount; i++) {
    ids.push(body.readInt32BE(at));
    at += 4;
    at += 2 + body.readInt16BE(at); // host
    at += 4; // port
    const rackLength = body.readInt16BE(at);
    at += 2 + Math.max(rackLength, 0);
  }
  return ids.sort((a, b) => a - b);
}

/** Sends one Metadata request to host:port and resolves with the broker ids, or rejects. */
export function probeMetadata(host: string, port: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const correlationId = 7;
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new Error(`metadata probe: no answer from ${host}:${port}`)),
      timeoutMs,
    );
    const finish = (error: Error | null, ids?: number[]) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(ids ?? []);
    };
    socket.on('connect', () => socket.write(encodeMetadataRequest(correlationId)));
    socket.on('error', (error) => finish(error));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (size > RESPONSE_BYTES_MAX) return finish(new Error('metadata probe: oversized answer'));
      if (received.length < 4 + size) return;
      try {
        finish(null, decodeMetadataBrokers(received.subarray(4, 4 + size), correlationId));
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}
