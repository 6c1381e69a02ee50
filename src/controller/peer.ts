/**
 * One client connection from this controller to another voter: quorum requests out, their answers
 * back, matched by correlation id. It connects on first use and again after a failure, with an
 * exponential backoff; while it is down, requests wait in a bounded queue and are dropped beyond
 * it or when a connection attempt fails (Raft resends: a lost message only costs a timeout).
 */
import net from 'node:net';
import { decodeResponse, encodeRequest, type MessageValue } from '../protocol/index.ts';
import type { RaftMessage } from '../raft/types.ts';
import type { OutboundRequest } from './wire.ts';

/** Requests kept while the connection is down; older ones are dropped first. */
export const PEER_QUEUE_MAX = 64;
/** Requests awaiting an answer on one connection; more are dropped (the replica sends few). */
export const PEER_IN_FLIGHT_MAX = 256;
export const PEER_RECONNECT_BACKOFF_MS_MIN = 50;
export const PEER_RECONNECT_BACKOFF_MS_MAX = 1_000;
/** An answer larger than this closes the connection (a Fetch carries at most fetchEntriesMax entries). */
export const PEER_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
/** A connection that neither connects nor answers for this long is closed and retried. */
export const PEER_REQUEST_TIMEOUT_MS = 5_000;

export interface PeerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

interface InFlight {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly message: RaftMessage;
}

export type PeerAnswer = (request: RaftMessage, body: MessageValue) => void;

export class PeerConnection {
  readonly address: PeerAddress;
  readonly #clientId: string;
  readonly #onAnswer: PeerAnswer;
  readonly #log: (message: string) => void;
  #socket: net.Socket | null = null;
  #connected = false;
  #closed = false;
  #backoffMs = PEER_RECONNECT_BACKOFF_MS_MIN;
  #retryTimer: NodeJS.Timeout | null = null;
  #nextCorrelationId = 1;
  readonly #queue: { request: OutboundRequest; message: RaftMessage }[] = [];
  readonly #inFlight = new Map<number, InFlight>();
  #chunks: Buffer[] = [];
  #chunkBytes = 0;

  constructor(address: PeerAddress, clientId: string, onAnswer: PeerAnswer, log: (message: string) => void) {
    this.address = address;
    this.#clientId = clientId;
    this.#onAnswer = onAnswer;
    this.#log = log;
  }

  get connected(): boolean {
    return this.#connected;
  }

  send(request: OutboundRequest, message: RaftMessage): void {
    if (this.#closed) return;
    if (!this.#connected) {
      this.#queue.push({ request, message });
      if (this.#queue.length > PEER_QUEUE_MAX) this.#queue.shift();
      this.#connect();
      return;
    }
    this.#write(request, message);
  }

  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#socket?.destroy();
    this.#socket = null;
    this.#queue.length = 0;
    this.#inFlight.clear();
  }

  #write(request: OutboundRequest, message: RaftMessage): void {
    if (this.#inFlight.size >= PEER_IN_FLIGHT_MAX) return;
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId % 0x7fffffff) + 1;
    const frame = encodeRequest(
      {
        requestApiKey: request.apiKey,
        requestApiVersion: request.apiVersion,
        correlationId,
        clientId: this.#clientId,
      },
      request.body,
    );
    this.#inFlight.set(correlationId, { apiKey: request.apiKey, apiVersion: request.apiVersion, message });
    this.#socket?.write(frame);
  }

  #connect(): void {
    if (this.#socket !== null || this.#retryTimer !== null || this.#closed) return;
    const socket = net.connect({ host: this.address.host, port: this.address.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(PEER_REQUEST_TIMEOUT_MS, () => {
      if (!this.#connected || this.#inFlight.size > 0) socket.destroy(new Error('timed out'));
    });
    socket.on('connect', () => {
      this.#connected = true;
      this.#backoffMs = PEER_RECONNECT_BACKOFF_MS_MIN;
      for (const { request, message } of this.#queue.splice(0)) this.#write(request, message);
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose(socket));
  }

  #onClose(socket: net.Socket): void {
    if (this.#socket !== socket) return;
    const wasConnected = this.#connected;
    this.#socket = null;
    this.#connected = false;
    this.#inFlight.clear();
    this.#chunks = [];
    this.#chunkBytes = 0;
    if (this.#closed) return;
    if (wasConnected) this.#log(`connection to voter ${this.address.nodeId} lost; reconnecting`);
    // Requests queued for a voter that cannot be reached are stale by the next attempt.
    if (!wasConnected) this.#queue.length = 0;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, PEER_RECONNECT_BACKOFF_MS_MAX);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#queue.length > 0) this.#connect();
    }, delay);
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    for (;;) {
      if (this.#chunkBytes < 4) return;
      const buffered = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [buffered];
      const size = buffered.readInt32BE(0);
      if (size < 4 || size > PEER_RESPONSE_BYTES_MAX) {
        this.#log(`voter ${this.address.nodeId} sent a frame of ${size} bytes; reconnecting`);
        this.#socket?.destroy();
        return;
      }
      if (buffered.length < 4 + size) return;
      const frame = buffered.subarray(4, 4 + size);
      const rest = buffered.subarray(4 + size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#chunkBytes = rest.length;
      this.#answer(frame);
    }
  }

  #answer(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.#inFlight.get(correlationId);
    if (pending === undefined) {
      this.#log(
        `voter ${this.address.nodeId} answered unknown correlation id ${correlationId}; reconnecting`,
      );
      this.#socket?.destroy();
      return;
    }
    this.#inFlight.delete(correlationId);
    let body: MessageValue;
    try {
      body = decodeResponse(pending.apiKey, pending.apiVersion, frame).body;
    } catch (error) {
      this.#log(
        `voter ${this.address.nodeId}: undecodable answer to API ${pending.apiKey} v${pending.apiVersion} (${(error as Error).message}); reconnecting`,
      );
      this.#socket?.destroy();
      return;
    }
    this.#onAnswer(pending.message, body);
  }
}
