/**
 * The TCP server: size-prefixed frames in, size-prefixed frames out. It knows nothing of
 * Kafka beyond the 4-byte frame length: a `RequestDispatcher` (src/broker/dispatcher.ts)
 * turns a request frame into a response frame. As Kafka does (its channel is muted from a
 * request's arrival until its response is sent), a connection's requests are served one at
 * a time: the next frame is dispatched only once the previous one is answered, so a
 * request sees everything an earlier request of its connection did. Every buffer is
 * bounded (see limits.ts): while a request is served the server reads at most the next
 * one, and when a client reads too slowly it stops reading its socket (backpressure).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionInfo } from '../broker/handler.ts';
import type { ConnectionAdmission } from '../security/quotas-connections.ts';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './limits.ts';

/**
 * A response frame (4-byte size prefix included) as one buffer or as several written in
 * order, e.g. the encoded fields around the records a Fetch answer carries, which are then
 * written from the log's read buffers without being copied into one frame first.
 */
export type ResponseFrame = Uint8Array | readonly Uint8Array[];

/** What the dispatcher decides for one request frame. */
export interface DispatchResult {
  /** The full response frame, or null when none is sent. */
  readonly response: ResponseFrame | null;
  /** Close the connection after writing `response` (malformed or unsupported request). */
  readonly close?: boolean;
  /** A throttled answer (client quotas): no further request is read for this long after it, as Kafka mutes the channel. */
  readonly throttleMs?: number;
}

export interface RequestDispatcher {
  /** `frame` is the request without its size prefix (a view of received bytes, never reused). */
  dispatch(frame: Buffer, connection: ConnectionInfo): DispatchResult | Promise<DispatchResult>;
}

export interface ServerLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly dispatcher: RequestDispatcher;
  readonly limits?: Partial<ServerLimits>;
  readonly listenerName?: string;
  readonly log?: ServerLog;
  /** TLS (an SSL or SASL_SSL listener): the connection is served once the handshake is done. */
  readonly tls?: tls.TlsOptions;
  /**
   * Asked at TCP accept, before the TLS handshake and before any byte is read: serve the connection
   * (and release its slot once it closes), close it at once, or hold it unread and close it later
   * (the broker's connection quotas, src/security/quotas-connections.ts; one for all its listeners).
   */
  readonly admission?: ConnectionAdmission;
}

const SILENT: ServerLog = { info() {}, warn() {} };
const addressOf = (socket: net.Socket): string => `${socket.remoteAddress}:${socket.remotePort}`;
/** How long a TLS client may take to complete its handshake (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

interface Pending {
  result: DispatchResult | null;
  readonly bytes: number;
}

/** One client connection: frame reader, one request served at a time, backpressure. */
class Connection {
  readonly info: ConnectionInfo;
  readonly #socket: net.Socket;
  readonly #server: KafkaServer;
  readonly #limits: ServerLimits;
  /** Received bytes not yet framed. */
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  /**
   * The request dispatched and not yet answered (at most one: the next frame waits for it),
   * kept as a queue so that the bounds and the writes read the same as for several.
   */
  readonly #pending: Pending[] = [];
  #pendingBytes = 0;
  #closed = false;
  #paused = false;
  #processing = false;
  /** Muted by a throttled answer until this timer fires. */
  #muteTimer: NodeJS.Timeout | null = null;

  constructor(
    socket: net.Socket,
    id: number,
    server: KafkaServer,
    limits: ServerLimits,
    listenerName: string,
  ) {
    this.#socket = socket;
    this.#server = server;
    this.#limits = limits;
    // A TLS client's certificate (DER) names its principal on an SSL listener (src/security/principal.ts).
    const peerCertificate =
      socket instanceof tls.TLSSocket ? socket.getPeerX509Certificate()?.raw : undefined;
    this.info = {
      id,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      listenerName,
      ...(peerCertificate !== undefined ? { peerCertificate } : {}),
    };
    socket.setNoDelay(true);
    socket.setTimeout(limits.connectionsMaxIdleMs, () => this.close('idle'));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#processBuffered());
    socket.on('error', () => this.close('socket error'));
    socket.on('close', () => this.#onClosed());
  }

  get idle(): boolean {
    return this.#pending.length === 0;
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    this.#processBuffered();
  }

  /**
   * Frames and dispatches buffered requests one at a time while under the bounds: a request
   * answered at once lets the next one through in the same loop, one answered later resumes
   * it from #flush. Bytes not yet framed stay buffered (the socket paused meanwhile).
   */
  #processBuffered(): void {
    // Synchronous answers call back in through #flush: the loop already running continues.
    if (this.#processing) return;
    this.#processing = true;
    // The answers of every request framed from these bytes leave in one write (writev) at
    // uncork, still within this turn of the event loop: fewer syscalls and client wake-ups.
    this.#socket.cork();
    try {
      this.#frameBuffered();
    } finally {
      this.#processing = false;
      this.#socket.uncork();
    }
    this.#updateFlow();
  }

  #frameBuffered(): void {
    while (
      !this.#closed &&
      this.#pending.length === 0 &&
      this.#muteTimer === null &&
      this.#chunkBytes >= 4 &&
      !this.#queueFull()
    ) {
      const size = this.#peekSize();
      if (size < 0 || size > this.#limits.socketRequestMaxBytes) {
        this.#server.log.warn(
          `connection ${this.#describe()}: request frame of ${size} bytes is outside 0..socket.request.max.bytes (${this.#limits.socketRequestMaxBytes}); closing`,
        );
        this.close('bad frame size');
        return;
      }
      if (this.#chunkBytes < 4 + size) break;
      const frame = this.#take(4 + size).subarray(4);
      this.#dispatch(frame);
    }
  }

  #peekSize(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.#chunks, Math.min(this.#chunkBytes, 4));
    this.#chunks = [Buffer.concat(this.#chunks)];
    return head.readInt32BE(0);
  }

  /** Removes `count` bytes from the front of the received chunks; copies only when they span chunks. */
  #take(count: number): Buffer {
    const first = this.#chunks[0]!;
    let taken: Buffer;
    if (first.length >= count) {
      taken = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
    } else {
      taken = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const chunk = this.#chunks[0]!;
        const part = Math.min(chunk.length, count - filled);
        chunk.copy(taken, filled, 0, part);
        filled += part;
        if (part === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(part);
      }
    }
    this.#chunkBytes -= count;
    return taken;
  }

  #dispatch(frame: Buffer): void {
    const entry: Pending = { result: null, bytes: frame.length };
    this.#pending.push(entry);
    this.#pendingBytes += entry.bytes;
    let outcome: DispatchResult | Promise<DispatchResult>;
    try {
      outcome = this.#server.dispatcher.dispatch(frame, this.info);
    } catch (error) {
      this.#server.log.warn(`connection ${this.#describe()}: request failed: ${String(error)}; closing`);
      entry.result = { response: null, close: true };
      this.#flush();
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (result) => {
          entry.result = result;
          this.#flush();
        },
        (error: unknown) => {
          this.#server.log.warn(`connection ${this.#describe()}: request failed: ${String(error)}; closing`);
          entry.result = { response: null, close: true };
          this.#flush();
        },
      );
    } else {
      entry.result = outcome;
      this.#flush();
    }
  }

  /** Writes every answered request at the head of the queue, in order. */
  #flush(): void {
    // Corked, the buffers of every answer written here go out in one writev at uncork.
    this.#socket.cork();
    try {
      while (this.#pending.length > 0 && this.#pending[0]!.result !== null) {
        const entry = this.#pending.shift()!;
        this.#pendingBytes -= entry.bytes;
        const result = entry.result!;
        if (this.#closed) continue;
        if (result.response !== null) this.#write(result.response);
        if (result.throttleMs !== undefined && result.throttleMs > 0) this.#mute(result.throttleMs);
        if (result.close === true) {
          this.close('protocol error');
          return;
        }
      }
    } finally {
      this.#socket.uncork();
    }
    if (this.#chunkBytes >= 4) this.#processBuffered();
    else this.#updateFlow();
    this.#server.onConnectionIdle(this);
  }

  #write(response: ResponseFrame): void {
    if (response instanceof Uint8Array) {
      this.#socket.write(response);
      return;
    }
    for (const part of response) if (part.length > 0) this.#socket.write(part);
  }

  /** Over a bound: requests queued, their bytes, or answers the client has not read yet. */
  #queueFull(): boolean {
    return (
      this.#pending.length >= this.#limits.queuedMaxRequests ||
      this.#pendingBytes >= this.#limits.queuedMaxRequestBytes ||
      this.#socket.writableLength >= this.#limits.socketSendBufferMaxBytes
    );
  }

  /** Stops reading requests for `ms` (a later throttle extends it), then goes on with what is buffered. */
  #mute(ms: number): void {
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
    this.#muteTimer = setTimeout(() => {
      this.#muteTimer = null;
      this.#processBuffered();
    }, ms);
  }

  /**
   * True once the next request is read whole (or its size is known to be bad) while the
   * previous one is still served: nothing more is needed from the socket until it is answered.
   */
  #nextRequestWaiting(): boolean {
    if (this.#pending.length === 0 || this.#chunkBytes < 4) return false;
    const size = this.#peekSize();
    return size < 0 || size > this.#limits.socketRequestMaxBytes || this.#chunkBytes >= 4 + size;
  }

  /**
   * Pauses reading while too much is queued or unsent, while muted, or while the next request
   * is read whole and waits for the one served (TCP backpressure then holds the rest in the
   * kernel's buffers and the client's, as a muted Kafka channel does); resumes once under the bounds.
   */
  #updateFlow(): void {
    if (this.#closed) return;
    const overloaded =
      this.#muteTimer !== null ||
      this.#queueFull() ||
      this.#nextRequestWaiting() ||
      this.#chunkBytes > this.#limits.socketRequestMaxBytes;
    if (overloaded && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    } else if (!overloaded && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
    this.#chunks = [];
    this.#chunkBytes = 0;
    if (reason !== 'idle' && reason !== 'shutdown') {
      this.#server.log.info(`connection ${this.#describe()} closed: ${reason}`);
    }
    this.#socket.end();
    this.#socket.destroySoon();
  }

  destroy(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onClosed(): void {
    this.#closed = true;
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
    this.#server.onConnectionClosed(this);
  }

  #describe(): string {
    return `${this.info.id} (${this.info.remoteAddress}:${this.info.remotePort})`;
  }
}

export class KafkaServer {
  readonly dispatcher: RequestDispatcher;
  readonly log: ServerLog;
  readonly #limits: ServerLimits;
  readonly #options: ServerOptions;
  readonly #connections = new Set<Connection>();
  /** TLS listeners: every raw socket, so one still in its handshake cannot hold up close(). */
  readonly #rawSockets = new Set<net.Socket>();
  #server: net.Server | null = null;
  #nextConnectionId = 1;
  #draining: (() => void) | null = null;
  /** Sockets the admission holds unread until their delayed close, by remote address:port. */
  readonly #held = new Map<string, net.Socket>();

  constructor(options: ServerOptions) {
    this.#options = options;
    this.dispatcher = options.dispatcher;
    this.log = options.log ?? SILENT;
    this.#limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async listen(): Promise<number> {
    const tlsOptions = this.#options.tls;
    let server: net.Server;
    if (tlsOptions === undefined) {
      server = net.createServer({ noDelay: true }, (socket) => {
        if (this.#admit(socket)) this.#accept(socket);
      });
    } else {
      server = tls.createServer(
        { ...tlsOptions, noDelay: true, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
        (socket) => {
          // A held connection whose handshake completed anyway is still not served.
          if (!this.#held.has(addressOf(socket))) this.#accept(socket);
        },
      );
      server.on('connection', (socket: net.Socket) => {
        this.#rawSockets.add(socket);
        socket.once('close', () => this.#rawSockets.delete(socket));
        this.#admit(socket);
      });
      // A failed handshake (a PLAINTEXT client, an untrusted or missing client certificate) closes
      // only that socket; the reason is logged without anything the client sent.
      server.on('tlsClientError', (error, socket) => {
        this.log.info(
          `TLS handshake from ${socket.remoteAddress}:${socket.remotePort} on ${this.#options.listenerName ?? 'PLAINTEXT'} failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
        );
      });
    }
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#options.host, port: this.#options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.#options.port;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The admission's verdict on a socket just accepted: true to serve it. */
  #admit(socket: net.Socket): boolean {
    const admission = this.#options.admission?.admit(socket.remoteAddress ?? '');
    if (admission === undefined) return true;
    if (admission.kind === 'serve') {
      socket.once('close', admission.release);
      return true;
    }
    this.log.info(`${admission.reason} (${this.#options.listenerName ?? 'PLAINTEXT'})`);
    if (admission.kind === 'close') {
      socket.destroy();
      return false;
    }
    const key = addressOf(socket);
    this.#held.set(key, socket);
    socket.pause();
    const timer = setTimeout(() => socket.destroy(), admission.delayMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.#held.delete(key);
    });
    return false;
  }

  #accept(socket: net.Socket): void {
    if (this.#draining !== null || this.#connections.size >= this.#limits.maxConnections) {
      if (this.#draining === null) {
        this.log.warn(`max.connections (${this.#limits.maxConnections}) reached; refusing a connection`);
      }
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      this.#nextConnectionId++,
      this,
      this.#limits,
      this.#options.listenerName ?? 'PLAINTEXT',
    );
    this.#connections.add(connection);
  }

  onConnectionClosed(connection: Connection): void {
    this.#connections.delete(connection);
    this.#checkDrained();
  }

  onConnectionIdle(_connection: Connection): void {
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#draining === null) return;
    for (const connection of this.#connections) if (!connection.idle) return;
    this.#draining();
  }

  /**
   * Clean shutdown: stop accepting, let in-flight requests be answered (up to the grace
   * period), then close every connection.
   */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#held.values()) socket.destroy();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#limits.shutdownGraceMs);
      this.#draining = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#checkDrained();
    });
    for (const connection of this.#connections) connection.close('shutdown');
    const forced = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy();
      for (const socket of this.#rawSockets) socket.destroy();
    }, 1000);
    await closed;
    clearTimeout(forced);
  }
}
