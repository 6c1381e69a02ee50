/**
 * The port clients of a test cluster connect to, in front of the broker's own listener, so the
 * broker object can be replaced (reset, restore) without cutting their connections. It cuts the
 * byte streams into Kafka frames (4-byte size, then the request; a response's correlation id
 * follows its size) and forwards whole frames:
 *
 * - while the broker restarts, requests wait here and go to the new broker once it listens;
 * - a client connection whose broker connection closed with no request left unanswered (the
 *   broker answers in-flight requests before it stops) is kept and gets a new broker connection
 *   on its next request, so a client sees no disconnect across a reset;
 * - a broker connection closed with requests unanswered (a broker that closed it on bad input,
 *   or a request that came in while it stopped) closes the client's too, as a broker would.
 *
 * Connection-level state a broker keeps (a SASL login) does not survive this: the test cluster
 * serves PLAINTEXT only.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** The largest request frame forwarded (Kafka's socket.request.max.bytes default); larger closes the connection. */
export const FRONT_DOOR_FRAME_BYTES_MAX = 104_857_600;
/** Requests held per connection while the broker restarts before the client is paused. */
export const FRONT_DOOR_WAITING_REQUESTS_MAX = 1_000;
const SIZE_BYTES = 4;

interface Target {
  readonly host: string;
  readonly port: number;
}

/** Cuts a byte stream into size-prefixed frames (each returned with its 4-byte size). */
class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The whole frames now available; throws on a frame above the bound. */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.#buffer.length >= SIZE_BYTES) {
      const size = this.#buffer.readInt32BE(0);
      if (size < 0 || size > this.#maxBytes) {
        throw new Error(`frame of ${size} bytes (at most ${this.#maxBytes}, FRONT_DOOR_FRAME_BYTES_MAX)`);
      }
      if (this.#buffer.length < SIZE_BYTES + size) break;
      frames.push(this.#buffer.subarray(0, SIZE_BYTES + size));
      this.#buffer = this.#buffer.subarray(SIZE_BYTES + size);
    }
    return frames;
  }
}

class ClientConnection {
  readonly #client: Socket;
  readonly #door: FrontDoor;
  readonly #requests = new FrameReader(FRONT_DOOR_FRAME_BYTES_MAX);
  #broker: Socket | null = null;
  /** The front door's generation when #broker connected: a later one means that broker has stopped. */
  #brokerGeneration = 0;
  #responses: FrameReader | null = null;
  /** Correlation ids sent to the broker and not yet answered, in order (answers come in order). */
  readonly #unanswered: number[] = [];
  /** Requests waiting for a broker to listen. */
  readonly #waiting: Buffer[] = [];
  #closed = false;

  constructor(client: Socket, door: FrontDoor) {
    this.#client = client;
    this.#door = door;
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    client.on('error', () => this.close());
    client.on('close', () => this.close());
  }

  #fromClient(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#requests.push(chunk);
    } catch {
      this.close();
      return;
    }
    for (const frame of frames) {
      if (frame.length >= 12) this.#unanswered.push(frame.readInt32BE(8));
      this.#waiting.push(frame);
    }
    if (this.#waiting.length >= FRONT_DOOR_WAITING_REQUESTS_MAX) this.#client.pause();
    this.flush();
  }

  /** Sends the waiting requests when a broker listens, connecting to it first if needed. */
  flush(): void {
    if (this.#closed || this.#waiting.length === 0) return;
    const target = this.#door.target;
    if (target === null) return;
    if (this.#broker !== null && this.#brokerGeneration !== this.#door.generation) {
      // A connection to a broker that has stopped, whose close has not been seen yet.
      if (this.#unanswered.length > this.#waiting.length) {
        this.close();
        return;
      }
      const stale = this.#broker;
      this.#broker = null;
      stale.destroy();
    }
    if (this.#broker === null) this.#connect(target);
    const broker = this.#broker;
    if (broker === null || broker.connecting) return;
    for (const frame of this.#waiting.splice(0)) broker.write(frame);
    this.#client.resume();
  }

  #connect(target: Target): void {
    const broker = tcpConnect({ host: target.host, port: target.port });
    broker.setNoDelay(true);
    this.#broker = broker;
    this.#brokerGeneration = this.#door.generation;
    this.#responses = new FrameReader(Number.MAX_SAFE_INTEGER);
    broker.on('connect', () => this.flush());
    broker.on('data', (chunk: Buffer) => this.#fromBroker(broker, chunk));
    broker.on('error', () => {});
    broker.on('close', () => this.#brokerClosed(broker));
  }

  #fromBroker(broker: Socket, chunk: Buffer): void {
    if (broker !== this.#broker || this.#responses === null) return;
    for (const frame of this.#responses.push(chunk)) {
      const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : -1;
      // Requests without an answer (Produce with acks=0) are passed over.
      const at = this.#unanswered.indexOf(correlationId);
      if (at >= 0) this.#unanswered.splice(0, at + 1);
      this.#client.write(frame);
    }
  }

  #brokerClosed(broker: Socket): void {
    if (broker !== this.#broker) return;
    this.#broker = null;
    this.#responses = null;
    const sent = this.#unanswered.length - this.#waiting.length;
    const brokerStopped = this.#door.restarting || this.#brokerGeneration !== this.#door.generation;
    if (sent > 0 || !brokerStopped) {
      this.close();
      return;
    }
    this.flush();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#door.forget(this);
    this.#client.destroy();
    this.#broker?.destroy();
  }
}

export class FrontDoor {
  readonly #server: Server;
  readonly #connections = new Set<ClientConnection>();
  #target: Target | null = null;
  #restarting = false;
  #generation = 0;
  #port = 0;

  constructor() {
    this.#server = createServer((socket) => this.#connections.add(new ClientConnection(socket, this)));
  }

  get port(): number {
    return this.#port;
  }

  /** Where requests go; null while the broker restarts (they wait). */
  get target(): Target | null {
    return this.#target;
  }

  /** Counts restarts: a broker connection made in an earlier generation belongs to a stopped broker. */
  get generation(): number {
    return this.#generation;
  }

  /** True between `pause` and `resume`: broker connections closing then are expected. */
  get restarting(): boolean {
    return this.#restarting;
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the front door has no TCP address');
    this.#port = address.port;
    return this.#port;
  }

  /** Holds requests from now on: the broker is about to stop. */
  pause(): void {
    this.#restarting = true;
    this.#generation += 1;
    this.#target = null;
  }

  /** Sends requests to a (new) broker listening at `target`. */
  resume(target: Target): void {
    this.#target = target;
    this.#restarting = false;
    for (const connection of this.#connections) connection.flush();
  }

  forget(connection: ClientConnection): void {
    this.#connections.delete(connection);
  }

  async close(): Promise<void> {
    this.#target = null;
    for (const connection of [...this.#connections]) connection.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
