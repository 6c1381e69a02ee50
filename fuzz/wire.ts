/**
 * A raw TCP connection speaking size-prefixed frames: what the fuzzer sends through, byte for byte,
 * with none of a client library's checks in the way.
 */
import net from 'node:net';

/** A response frame larger than this is taken as a broken stream rather than buffered. */
export const RESPONSE_FRAME_BYTES_MAX = 256 * 1024 * 1024;

export type FrameOutcome = { frame: Buffer } | { closed: true } | { timeout: true } | { badFrame: string };

export class WireConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #frames: Buffer[] = [];
  #closed = false;
  #badFrame: string | null = null;
  #wake: (() => void) | null = null;
  bytesSent = 0;
  /** The smallest response frame taken: 4 (a correlation id), or 0 for bare SASL tokens (fuzz/sasl.ts). */
  readonly #frameBytesMin: number;

  private constructor(socket: net.Socket, frameBytesMin: number) {
    this.#socket = socket;
    this.#frameBytesMin = frameBytesMin;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
  }

  static open(
    host: string,
    port: number,
    timeoutMs: number,
    options: { bareFrames?: boolean } = {},
  ): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireConnection(socket, options.bareFrames === true ? 0 : 4));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.bytesSent += bytes.length;
    this.#socket.write(bytes);
  }

  /** Half-closes: no more bytes from us. The broker should then close its side. */
  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
    this.#closed = true;
  }

  /** The next response frame (without size prefix), or why there is none. */
  async next(timeoutMs: number): Promise<FrameOutcome> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.#frames.shift();
      if (frame !== undefined) return { frame };
      if (this.#badFrame !== null) return { badFrame: this.#badFrame };
      if (this.#closed) return { closed: true };
      const left = deadline - Date.now();
      if (left <= 0) return { timeout: true };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0);
      if (size < this.#frameBytesMin || size > RESPONSE_FRAME_BYTES_MAX) {
        this.#badFrame = `response frame size ${size} is not in ${this.#frameBytesMin}..${RESPONSE_FRAME_BYTES_MAX}`;
        this.#socket.destroy();
        break;
      }
      if (this.#buffer.length < 4 + size) break;
      this.#frames.push(this.#buffer.subarray(4, 4 + size));
      this.#buffer = this.#buffer.subarray(4 + size);
    }
    this.#notify();
  }
}
