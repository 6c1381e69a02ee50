/**
 * The server's bounds, under Kafka's config names where Kafka has one.
 * Every queue and buffer of the server is bounded by one of these.
 */
export interface ServerLimits {
  /** `socket.request.max.bytes`: the largest request frame accepted; a larger one closes the connection. */
  readonly socketRequestMaxBytes: number;
  /** `max.connections`: connections beyond it are closed at accept. */
  readonly maxConnections: number;
  /** `connections.max.idle.ms`: a connection idle this long is closed. */
  readonly connectionsMaxIdleMs: number;
  /**
   * `queued.max.requests` (Kafka's is broker-wide; ours is per connection): requests read
   * but not yet answered. At the bound the server stops reading that socket.
   */
  readonly queuedMaxRequests: number;
  /**
   * `queued.max.request.bytes` per connection: bytes of requests read but not yet answered;
   * at the bound the server stops reading that socket.
   */
  readonly queuedMaxRequestBytes: number;
  /**
   * kstack's own: response bytes waiting in the socket's send buffer (a slow reader).
   * Above it the server stops reading the socket until the client drains its responses.
   */
  readonly socketSendBufferMaxBytes: number;
  /** kstack's own: how long a clean shutdown waits for in-flight responses before closing. */
  readonly shutdownGraceMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  socketRequestMaxBytes: 104_857_600,
  maxConnections: 10_000,
  connectionsMaxIdleMs: 600_000,
  queuedMaxRequests: 500,
  queuedMaxRequestBytes: 209_715_200,
  socketSendBufferMaxBytes: 16 * 1024 * 1024,
  shutdownGraceMs: 5_000,
};
