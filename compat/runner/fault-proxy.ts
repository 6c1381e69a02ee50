// A fault-injecting TCP proxy for Kafka connections, placed between clients and one broker. It forwards
// size-prefixed frames both ways unchanged. When armed for a client (by client id prefix), it lets that
// client's next Produce request reach the broker, waits for the broker's answer, and closes the client's
// connection instead of forwarding it: the broker has appended the records, the client never learns it
// and must retry. That is the "retry after a cut connection" case an idempotent producer must survive.
import net from 'node:net';

/** Produce's API key. */
const PRODUCE_API_KEY = 0;
/** Largest frame forwarded: Kafka's socket.request.max.bytes default (100 MiB) plus room for a header. */
export const FRAME_BYTES_MAX = 100 * 1024 * 1024 + 1024;
/** Connections one proxy holds at once; more are refused (closed at accept). */
export const PROXY_CONNECTIONS_MAX = 256;
/** Size prefix, request API key and version, correlation id: the bytes read before the client id. */
const REQUEST_HEADER_BYTES_MIN = 4 + 2 + 2 + 4 + 2;

/**
 * What to cut, shared by the proxies of one cluster (the Produce goes to whichever broker leads the
 * partition). Cuts are armed per client id prefix, so clients running at once do not take each
 * other's faults.
 */
export class FaultPlan {
  readonly #remaining = new Map<string, number>();
  readonly #made = new Map<string, number>();

  arm(clientIdPrefix: string, cuts: number): void {
    if (!Number.isInteger(cuts) || cuts < 1) throw new Error(`cuts must be a whole number ≥ 1, got ${cuts}`);
    this.#remaining.set(clientIdPrefix, (this.#remaining.get(clientIdPrefix) ?? 0) + cuts);
  }

  /** The prefix whose armed cut this Produce request takes, if any (it then counts as used). */
  take(clientId: string | null): string | undefined {
    if (clientId === null) return undefined;
    for (const [prefix, remaining] of this.#remaining) {
      if (remaining > 0 && clientId.startsWith(prefix)) {
        this.#remaining.set(prefix, remaining - 1);
        return prefix;
      }
    }
    return undefined;
  }

  recordCut(prefix: string): void {
    this.#made.set(prefix, (this.#made.get(prefix) ?? 0) + 1);
  }

  /** Cuts made for a prefix since it was last disarmed. */
  made(prefix: string): number {
    return this.#made.get(prefix) ?? 0;
  }

  /** Forgets a prefix; returns how many cuts were made for it. */
  disarm(prefix: string): number {
    const made = this.made(prefix);
    this.#remaining.delete(prefix);
    this.#made.delete(prefix);
    return made;
  }
}

/** Splits a byte stream into size-prefixed frames (each returned with its 4-byte prefix). */
export class FrameSplitter {
  #buffer: Buffer = Buffer.alloc(0);

  /** The complete frames the chunk finished; throws on a size that is negative or over the limit. */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (size < 0 || size > FRAME_BYTES_MAX) {
        throw new Error(`frame of ${size} bytes (limit FRAME_BYTES_MAX = ${FRAME_BYTES_MAX})`);
      }
      if (this.#buffer.length < 4 + size) break;
      frames.push(this.#buffer.subarray(0, 4 + size));
      this.#buffer = this.#buffer.subarray(4 + size);
    }
    return frames;
  }
}

/** API key, correlation id and client id of a request frame (with its size prefix). */
export function requestHeader(frame: Buffer): {
  apiKey: number;
  correlationId: number;
  clientId: string | null;
} {
  if (frame.length < REQUEST_HEADER_BYTES_MIN)
    throw new Error(`request of ${frame.length} bytes is too short`);
  const apiKey = frame.readInt16BE(4);
  const correlationId = frame.readInt32BE(8);
  // Every request header from v1 on (all Produce versions) has a nullable int16-length client id here.
  const length = frame.readInt16BE(12);
  if (length < 0) return { apiKey, correlationId, clientId: null };
  if (frame.length < REQUEST_HEADER_BYTES_MIN + length) throw new Error('client id runs past the request');
  const clientId = frame.toString('utf8', REQUEST_HEADER_BYTES_MIN, REQUEST_HEADER_BYTES_MIN + length);
  return { apiKey, correlationId, clientId };
}

export interface FaultProxyOptions {
  /** Where clients connect (the address the broker advertises). */
  listenHost: string;
  listenPort: number;
  /** The broker's own listener. */
  upstreamHost: string;
  upstreamPort: number;
  plan: FaultPlan;
  log?: (line: string) => void;
}

export class FaultProxy {
  readonly options: FaultProxyOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  constructor(options: FaultProxyOptions) {
    this.options = options;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  /** Starts listening; resolves with the port (useful when listenPort is 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.listenPort, this.options.listenHost, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : this.options.listenPort);
      });
    });
  }

  /** Stops accepting and closes every connection, both sides. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #log(line: string): void {
    this.options.log?.(`[proxy :${this.options.listenPort}] ${line}`);
  }

  #accept(client: net.Socket): void {
    if (this.#sockets.size >= PROXY_CONNECTIONS_MAX * 2) {
      this.#log(`refused a connection: PROXY_CONNECTIONS_MAX (${PROXY_CONNECTIONS_MAX}) reached`);
      client.destroy();
      return;
    }
    client.pause();
    const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort });
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    upstream.once('connect', () => client.resume());
    /** Correlation ids of forwarded Produce requests whose answers are to be dropped, with their prefix. */
    const cutOn = new Map<number, string>();
    const toBroker = new FrameSplitter();
    const toClient = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = toBroker.push(chunk);
        for (const frame of frames) {
          const header = requestHeader(frame);
          if (header.apiKey !== PRODUCE_API_KEY) continue;
          const prefix = this.options.plan.take(header.clientId);
          if (prefix !== undefined) cutOn.set(header.correlationId, prefix);
        }
      } catch (error) {
        this.#log(`closing a client connection: ${(error as Error).message}`);
        closeBoth();
        return;
      }
      for (const frame of frames) forward(upstream, frame, client);
    });
    upstream.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = toClient.push(chunk);
      } catch (error) {
        this.#log(`closing a broker connection: ${(error as Error).message}`);
        closeBoth();
        return;
      }
      for (const frame of frames) {
        const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1;
        const prefix = cutOn.get(correlationId);
        if (prefix !== undefined) {
          // The broker has answered the Produce (so it appended): drop the answer and the connection.
          this.options.plan.recordCut(prefix);
          this.#log(`cut ${prefix}… after the answer to Produce ${correlationId}`);
          closeBoth();
          return;
        }
        forward(client, frame, upstream);
      }
    });
  }
}

/** Writes a frame; when the receiver's buffer is full, pauses the sender until it drains. */
function forward(to: net.Socket, frame: Buffer, from: net.Socket): void {
  if (to.destroyed) return;
  if (!to.write(frame)) {
    from.pause();
    to.once('drain', () => from.resume());
  }
}
