/**
 * The network faults of a supervised cluster (`kstack fault isolate|slow|heal`), made without
 * network namespaces: the supervisor puts a TCP proxy in front of each node's broker listener and
 * of each node's controller listener, and every connection between nodes, or from a client to a
 * node, crosses exactly one of them. A proxy tells peers from clients by the client id of the
 * first request on the connection: kstack's own connections name their node
 * (`kstack-raft-N`, `kstack-broker-N`, `kstack-replica-fetcher-N`, `kstack-txn-markers-N`);
 * anything else is a client. So one broker listener serves both, and no separate inter-broker
 * listener is needed.
 *
 * `FaultRules` holds, per node, what it is isolated from (peers, clients, all) and the delay of
 * its links; every proxy reads the rules at each request, so a change applies to open
 * connections at once: an isolation closes the connections it cuts and closes new ones after
 * their first request; a delay holds each request crossing the link (both ways between two nodes:
 * a peer link is slow when either end is slowed) `delayMs` before it is forwarded, in order.
 *
 * A paused node (`pause`) is a stalled process as its peers and clients see it: every connection
 * to it and from it stays open, and nothing crosses it either way until `resume` (bytes wait in
 * the proxy, then in the sockets' buffers). A crashed node (`crash`, the in-process kill) is cut
 * both ways at once, open connections destroyed without another byte, until `restore`.
 *
 * A client cut (`cutClient`) acts on the connections of one client id only: all of them (closed
 * now and at each request until `healClient`), or the next `times` requests of one API key: each
 * is forwarded, its answer dropped and the connection closed instead (the broker did the work; the
 * client never learns it and must retry), as the compatibility suite's fault proxy does for
 * Produce. A request the broker does not answer (Produce with acks=0) is never cut after.
 *
 * A node that is down (its own listener refuses: killed, stopped, not started yet) is down as
 * clients see it: its proxy closes its listening socket, so a connection is refused as a dead
 * Kafka broker refuses it (a client that takes the first bootstrap address accepting TCP, as
 * @platformatic/kafka does, moves on to the next), and listens again on the same port once the
 * node's listener accepts. Each proxy keeps one idle watch connection to its node's listener: its
 * close (the node died) or a refused connection through the proxy makes the proxy ask again at
 * once; while the node refuses, it asks every `UPSTREAM_PROBE_INTERVAL_MS`. A paused node's
 * listener still accepts (the kernel queues), so a paused node's proxy accepts and holds.
 */
import net from 'node:net';

/** Largest first request a proxy reads to find the client id: its header comes first, so a few KiB suffice. */
export const FIRST_REQUEST_HEADER_BYTES_MAX = 64 * 1024;
/** Connections one proxy holds at once (each counted once, with its upstream); more are closed at accept. */
export const PROXY_CONNECTIONS_MAX = 1_024;
/** Longest delay `slow` accepts. */
export const LINK_DELAY_MS_MAX = 60_000;
/** Bytes held in a slowed link's queue before the sender is paused (backpressure). */
const DELAY_QUEUE_BYTES_MAX = 8 * 1024 * 1024;
/** Size prefix, API key and version, correlation id, client id length: read before the client id. */
const REQUEST_HEADER_BYTES_MIN = 4 + 2 + 2 + 4 + 2;
/** Request header bytes read for each request: size prefix, API key and version, correlation id. */
const REQUEST_FRAME_HEADER_BYTES = 4 + 2 + 2 + 4;
/** Response header bytes read for each answer: size prefix and correlation id. */
const RESPONSE_FRAME_HEADER_BYTES = 4 + 4;
/** How often a proxy whose node refuses connections asks again whether it accepts. */
export const UPSTREAM_PROBE_INTERVAL_MS = 100;
/** A watch connection closed sooner than this after it opened is asked again after the probe interval, not at once. */
const WATCH_RECONNECT_AT_ONCE_AFTER_MS = 1_000;
/** Client cuts held at once by one cluster's rules. */
export const CLIENT_CUTS_MAX = 256;
/** Longest client id a client cut names (Kafka's client ids are int16-length strings). */
export const CLIENT_ID_LENGTH_MAX = 32_767;
/** Highest API key a cut may name (Kafka's keys are int16). */
export const API_KEY_MAX = 32_767;
/** Most cuts one `cutClient(…, { afterApiKey, times })` arms. */
export const CLIENT_CUT_TIMES_MAX = 1_000_000;
const PEER_CLIENT_ID = /^kstack-(?:raft|broker|replica-fetcher|txn-markers)-(\d+)$/;

export const FAULT_SIDES = ['peers', 'clients', 'all'] as const;
export type FaultSide = (typeof FAULT_SIDES)[number];

/** Who opened a connection: another node (by id) or a client. */
export type ConnectionSource = { readonly peer: number } | { readonly peer: null };

interface NodeFaults {
  isolatedFrom: FaultSide | null;
  delayMs: number;
  delayFrom: FaultSide;
}

/** A cut of one client id's connections (to one node or every node). */
export interface ClientCut {
  readonly clientId: string;
  /** Only connections to this node; null: every node. */
  readonly nodeId: number | null;
  /** Cut after a request of this API key (its answer dropped); null: every connection, at once. */
  readonly afterApiKey: number | null;
  /** Cuts still armed after an API key; null for a whole cut (until healed). */
  remaining: number | null;
  /** Connections cut so far. */
  made: number;
}

export interface ClientCutOptions {
  readonly nodeId?: number;
  readonly afterApiKey?: number;
  /** With afterApiKey: how many such requests are cut (default 1). */
  readonly times?: number;
}

const covers = (side: FaultSide | null, source: ConnectionSource): boolean =>
  side === 'all' ||
  (side === 'peers' && source.peer !== null) ||
  (side === 'clients' && source.peer === null);

/** The faults of every node of one cluster, read by its proxies. */
export class FaultRules {
  readonly #nodes = new Map<number, NodeFaults>();
  readonly #paused = new Set<number>();
  readonly #crashed = new Set<number>();
  readonly #clientCuts = new Map<string, ClientCut>();
  readonly #listeners = new Set<() => void>();

  #of(nodeId: number): NodeFaults {
    let faults = this.#nodes.get(nodeId);
    if (faults === undefined) {
      faults = { isolatedFrom: null, delayMs: 0, delayFrom: 'all' };
      this.#nodes.set(nodeId, faults);
    }
    return faults;
  }

  isolate(nodeId: number, from: FaultSide): void {
    this.#of(nodeId).isolatedFrom = from;
    this.#changed();
  }

  slow(nodeId: number, delayMs: number, from: FaultSide): void {
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > LINK_DELAY_MS_MAX) {
      throw new RangeError(
        `delay ${delayMs} ms is not a whole number of ms in 0..${LINK_DELAY_MS_MAX} (LINK_DELAY_MS_MAX)`,
      );
    }
    const faults = this.#of(nodeId);
    faults.delayMs = delayMs;
    faults.delayFrom = from;
    this.#changed();
  }

  /** Takes away the node's isolation and delay. */
  heal(nodeId: number): void {
    this.#nodes.delete(nodeId);
    this.#changed();
  }

  describe(nodeId: number): { isolatedFrom: FaultSide | null; delayMs: number; delayFrom: FaultSide | null } {
    const faults = this.#nodes.get(nodeId);
    return {
      isolatedFrom: faults?.isolatedFrom ?? null,
      delayMs: faults?.delayMs ?? 0,
      delayFrom: faults !== undefined && faults.delayMs > 0 ? faults.delayFrom : null,
    };
  }

  /** Holds every connection to and from the node open with nothing crossing it, until `resume`. */
  pause(nodeId: number): void {
    this.#paused.add(nodeId);
    this.#changed();
  }

  resume(nodeId: number): void {
    this.#paused.delete(nodeId);
    this.#changed();
  }

  isPaused(nodeId: number): boolean {
    return this.#paused.has(nodeId);
  }

  /** Whether the link from `source` to node `target` is held (either end paused). */
  held(target: number, source: ConnectionSource | undefined): boolean {
    return this.#paused.has(target) || (source?.peer != null && this.#paused.has(source.peer));
  }

  /** Cuts the node both ways at once, destroying its open connections, until `restore` (a crash). */
  crash(nodeId: number): void {
    this.#crashed.add(nodeId);
    this.#changed();
  }

  restore(nodeId: number): void {
    this.#crashed.delete(nodeId);
  }

  /** Whether the node is crashed: every link to it or from it is cut (also before its source is known). */
  crashed(target: number, source: ConnectionSource | undefined): boolean {
    return this.#crashed.has(target) || (source?.peer != null && this.#crashed.has(source.peer));
  }

  /**
   * Cuts the connections of one client id (to `nodeId`, or every node): without `afterApiKey`
   * every one, now and at each request until `healClient`; with it, the next `times` (default 1)
   * requests of that API key are forwarded and their connection closed instead of their answer.
   * Replaces an earlier cut of the same client id. Throws a RangeError naming a bad option.
   */
  cutClient(clientId: string, options: ClientCutOptions = {}): ClientCut {
    if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > CLIENT_ID_LENGTH_MAX) {
      throw new RangeError(
        `client id '${String(clientId)}' must be 1..${CLIENT_ID_LENGTH_MAX} characters (CLIENT_ID_LENGTH_MAX)`,
      );
    }
    const { nodeId, afterApiKey, times } = options;
    if (nodeId !== undefined && (!Number.isSafeInteger(nodeId) || nodeId < 0)) {
      throw new RangeError(`node ${String(nodeId)} is not a node id`);
    }
    if (
      afterApiKey !== undefined &&
      (!Number.isInteger(afterApiKey) || afterApiKey < 0 || afterApiKey > API_KEY_MAX)
    ) {
      throw new RangeError(`afterApiKey ${String(afterApiKey)} is not an API key in 0..${API_KEY_MAX}`);
    }
    if (times !== undefined) {
      if (afterApiKey === undefined)
        throw new RangeError('times applies to a cut after an API key (afterApiKey) only');
      if (!Number.isInteger(times) || times < 1 || times > CLIENT_CUT_TIMES_MAX) {
        throw new RangeError(
          `times ${String(times)} is not a whole number in 1..${CLIENT_CUT_TIMES_MAX} (CLIENT_CUT_TIMES_MAX)`,
        );
      }
    }
    if (!this.#clientCuts.has(clientId) && this.#clientCuts.size >= CLIENT_CUTS_MAX) {
      throw new RangeError(
        `${CLIENT_CUTS_MAX} client cuts are armed already (CLIENT_CUTS_MAX): heal one first`,
      );
    }
    const cut: ClientCut = {
      clientId,
      nodeId: nodeId ?? null,
      afterApiKey: afterApiKey ?? null,
      remaining: afterApiKey === undefined ? null : (times ?? 1),
      made: 0,
    };
    this.#clientCuts.set(clientId, cut);
    const armed = { ...cut };
    this.#changed();
    return armed;
  }

  /** Takes a client's cut away; what it was (with the cuts made), or undefined when none was armed. */
  healClient(clientId: string): ClientCut | undefined {
    const cut = this.#clientCuts.get(clientId);
    this.#clientCuts.delete(clientId);
    return cut === undefined ? undefined : { ...cut };
  }

  /** The armed client cuts, as they are now. */
  clientCuts(): ClientCut[] {
    return [...this.#clientCuts.values()].map((cut) => ({ ...cut }));
  }

  #clientCut(target: number, clientId: string | null): ClientCut | undefined {
    const cut = clientId === null ? undefined : this.#clientCuts.get(clientId);
    return cut !== undefined && (cut.nodeId === null || cut.nodeId === target) ? cut : undefined;
  }

  /** Whether every connection of this client to node `target` is cut now (a whole client cut). */
  clientCut(target: number, clientId: string | null): boolean {
    const cut = this.#clientCut(target, clientId);
    return cut !== undefined && cut.afterApiKey === null;
  }

  /** Whether this request is to be cut after (and takes one of the armed cuts if so). */
  takeRequestCut(target: number, clientId: string | null, apiKey: number): boolean {
    const cut = this.#clientCut(target, clientId);
    if (cut === undefined || cut.afterApiKey !== apiKey || cut.remaining === null || cut.remaining < 1) {
      return false;
    }
    cut.remaining -= 1;
    return true;
  }

  /** Counts a connection cut for this client. */
  recordClientCut(clientId: string | null): void {
    const cut = clientId === null ? undefined : this.#clientCuts.get(clientId);
    if (cut !== undefined) cut.made += 1;
  }

  /** Whether a connection from `source` to node `target` is cut. */
  cut(target: number, source: ConnectionSource): boolean {
    if (this.crashed(target, source)) return true;
    if (covers(this.#nodes.get(target)?.isolatedFrom ?? null, source)) return true;
    // A node isolated from its peers can reach none of them either.
    if (source.peer === null) return false;
    const from = this.#nodes.get(source.peer)?.isolatedFrom ?? null;
    return from === 'peers' || from === 'all';
  }

  /** How long each request from `source` to node `target` is held. */
  delayMs(target: number, source: ConnectionSource): number {
    const here = this.#nodes.get(target);
    let delayMs = here !== undefined && covers(here.delayFrom, source) ? here.delayMs : 0;
    if (source.peer !== null) {
      const there = this.#nodes.get(source.peer);
      if (there !== undefined && there.delayFrom !== 'clients') delayMs = Math.max(delayMs, there.delayMs);
    }
    return delayMs;
  }

  /** Called after each change (the proxies close what is now cut). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/**
 * The client id of the request at the start of `bytes`: undefined while more bytes are needed;
 * throws when the bytes are not a Kafka request header.
 */
export function firstRequestClientId(bytes: Buffer): string | null | undefined {
  if (bytes.length < REQUEST_HEADER_BYTES_MIN) return undefined;
  const size = bytes.readInt32BE(0);
  if (size < REQUEST_HEADER_BYTES_MIN - 4) throw new Error(`a request of ${size} bytes has no header`);
  // Every request header from v1 on has a nullable int16-length client id after the correlation id.
  const length = bytes.readInt16BE(12);
  if (length < 0) return null;
  if (REQUEST_HEADER_BYTES_MIN + length > 4 + size) throw new Error('the client id runs past the request');
  if (bytes.length < REQUEST_HEADER_BYTES_MIN + length) return undefined;
  return bytes.toString('utf8', REQUEST_HEADER_BYTES_MIN, REQUEST_HEADER_BYTES_MIN + length);
}

export function sourceOf(clientId: string | null): ConnectionSource {
  const match = clientId === null ? null : PEER_CLIENT_ID.exec(clientId);
  return { peer: match === null ? null : Number(match[1]) };
}

/**
 * Finds the start of each size-prefixed frame in a byte stream and reads its first `headerBytes`
 * (a request's size, API key, version and correlation id; an answer's size and correlation id).
 */
export class FrameHeaderScanner {
  readonly #headerBytes: number;
  #header: Buffer = Buffer.alloc(0);
  #bodyLeft = 0;

  constructor(headerBytes: number) {
    this.#headerBytes = headerBytes;
  }

  /**
   * Calls `onHeader(header, start)` for each frame header the chunk completes, `start` the frame's
   * offset in this chunk (0 when it began in an earlier one); stops when `onHeader` returns false.
   * Throws on a frame shorter than its header.
   */
  push(chunk: Buffer, onHeader: (header: Buffer, start: number) => boolean | undefined): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#bodyLeft > 0) {
        const skipped = Math.min(this.#bodyLeft, chunk.length - at);
        this.#bodyLeft -= skipped;
        at += skipped;
        continue;
      }
      const start = Math.max(0, at - this.#header.length);
      const piece = chunk.subarray(at, at + this.#headerBytes - this.#header.length);
      this.#header = this.#header.length === 0 ? piece : Buffer.concat([this.#header, piece]);
      at += piece.length;
      if (this.#header.length < this.#headerBytes) return;
      const size = this.#header.readInt32BE(0);
      if (size < this.#headerBytes - 4)
        throw new Error(`a frame of ${size} bytes is shorter than its header`);
      this.#bodyLeft = size - (this.#headerBytes - 4);
      const header = this.#header;
      this.#header = Buffer.alloc(0);
      if (onHeader(header, start) === false) return;
    }
  }
}

export interface NodeProxyOptions {
  /** The node this proxy leads to. */
  readonly nodeId: number;
  readonly host: string;
  readonly listenPort: number;
  readonly upstreamPort: number;
  readonly rules: FaultRules;
  readonly log?: (message: string) => void;
}

interface Link {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  source: ConnectionSource | undefined;
  /** The client id of the connection's first request. */
  clientId: string | null;
  close(): void;
  /** Applies the rules as they are now: closes a cut link, holds or releases a paused one. */
  enforce(): void;
}

/** One listener's proxy: forwards bytes both ways, cutting, holding and delaying as the rules say. */
export class NodeProxy {
  readonly options: NodeProxyOptions;
  /** The listening socket; null while the node is down (connections refused) or after close(). */
  #server: net.Server | null = null;
  /** The port bound by the first listen(), kept when listening again (listenPort may be 0). */
  #port = 0;
  readonly #links = new Set<Link>();
  readonly #unsubscribe: () => void;
  #closed = false;
  /** The idle connection to the node's listener whose close says the node may be down. */
  #watch: net.Socket | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #binding = false;

  constructor(options: NodeProxyOptions) {
    this.options = options;
    this.#unsubscribe = options.rules.onChange(() => this.#enforce());
  }

  /** Binds the proxy's port (rejects when it is taken), then follows the node: refusing while it is down. */
  async listen(): Promise<void> {
    this.#port = this.options.listenPort;
    await this.#bind();
    this.#watchUpstream();
  }

  /** Whether the proxy accepts connections now (false while its node refuses them). */
  get accepting(): boolean {
    return this.#server !== null;
  }

  /** The port the proxy listens on (the bound one when listenPort was 0). */
  get port(): number {
    return this.#port;
  }

  #bind(): Promise<void> {
    const server = net.createServer((client) => this.#accept(client));
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.options.host, () => {
        server.off('error', reject);
        server.on('error', (error) =>
          this.options.log?.(`proxy of node ${this.options.nodeId}: ${error.message}`),
        );
        const address = server.address();
        if (address !== null && typeof address === 'object') this.#port = address.port;
        if (this.#closed) {
          server.close();
        } else {
          this.#server = server;
        }
        resolve();
      });
    }).finally(() => {
      this.#binding = false;
    });
  }

  /** The node's listener refused: stop listening, so connections are refused as the node's would be. */
  #nodeDown(): void {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    server.close();
    this.options.log?.(
      `proxy of node ${this.options.nodeId}: the node refuses connections; port ${this.#port} refuses them too until it is back`,
    );
  }

  /** The node's listener accepts: listen again (on the same port) if the proxy had stopped. */
  #nodeUp(): void {
    if (this.#server !== null || this.#closed || this.#binding) return;
    this.#binding = true;
    this.#bind().then(
      () =>
        this.options.log?.(
          `proxy of node ${this.options.nodeId}: the node accepts again; listening on ${this.#port}`,
        ),
      (error: Error) => {
        this.options.log?.(
          `proxy of node ${this.options.nodeId}: cannot listen again on ${this.#port}: ${error.message}`,
        );
        // Asked again: the watch connection stays open, so nothing else would retry.
        this.#watch?.destroy();
      },
    );
  }

  /** Opens the watch connection: refused means down (asked again after the interval); a close asks again. */
  #watchUpstream(): void {
    this.#probeTimer = undefined;
    if (this.#closed) return;
    const socket = net.connect({ host: this.options.host, port: this.options.upstreamPort });
    this.#watch = socket;
    let openedAt: number | undefined;
    socket.on('error', () => {});
    socket.once('connect', () => {
      openedAt = performance.now();
      this.#nodeUp();
    });
    socket.once('close', () => {
      if (this.#watch === socket) this.#watch = undefined;
      if (this.#closed) return;
      if (openedAt === undefined) this.#nodeDown();
      const atOnce =
        openedAt !== undefined && performance.now() - openedAt >= WATCH_RECONNECT_AT_ONCE_AFTER_MS;
      this.#probeTimer = setTimeout(() => this.#watchUpstream(), atOnce ? 0 : UPSTREAM_PROBE_INTERVAL_MS);
    });
  }

  /** A connection to the node was refused: the watch connection asks again now. */
  #upstreamRefused(): void {
    if (this.#closed) return;
    this.#nodeDown();
    if (this.#watch !== undefined && !this.#watch.connecting) this.#watch.destroy();
  }

  /** Open connections by source: how many from peers and how many from clients. */
  connections(): { peers: number; clients: number } {
    let peers = 0;
    let clients = 0;
    for (const link of this.#links) {
      if (link.source?.peer === null) clients++;
      else if (link.source !== undefined) peers++;
    }
    return { peers, clients };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#probeTimer);
    this.#watch?.destroy();
    for (const link of this.#links) link.close();
    const server = this.#server;
    this.#server = null;
    if (server === null) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Applies a change of the rules to every open connection. */
  #enforce(): void {
    for (const link of [...this.#links]) link.enforce();
  }

  #accept(client: net.Socket): void {
    const { rules, nodeId } = this.options;
    if (this.#links.size >= PROXY_CONNECTIONS_MAX || rules.crashed(nodeId, undefined)) {
      if (this.#links.size >= PROXY_CONNECTIONS_MAX) {
        this.options.log?.(
          `proxy of node ${nodeId}: refused a connection (PROXY_CONNECTIONS_MAX ${PROXY_CONNECTIONS_MAX})`,
        );
      }
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.options.host, port: this.options.upstreamPort });
    upstream.setNoDelay(true);
    // Requests wait here until the connection's source is known, then in the delay queue (also
    // while the link is held); answers wait in `heldAnswers` while it is held.
    let head: Buffer = Buffer.alloc(0);
    const queue: { atMs: number; chunk: Buffer }[] = [];
    let queuedBytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const heldAnswers: Buffer[] = [];
    const requests = new FrameHeaderScanner(REQUEST_FRAME_HEADER_BYTES);
    const answers = new FrameHeaderScanner(RESPONSE_FRAME_HEADER_BYTES);
    /** Correlation ids of requests whose answer closes the connection instead of reaching the client. */
    const cutAfter = new Set<number>();
    const held = (): boolean => rules.held(nodeId, link.source);
    const link: Link = {
      client,
      upstream,
      source: undefined,
      clientId: null,
      close: () => {
        clearTimeout(timer);
        client.destroy();
        upstream.destroy();
        this.#links.delete(link);
      },
      enforce: () => {
        const source = link.source;
        if (source !== undefined && rules.clientCut(nodeId, link.clientId)) {
          rules.recordClientCut(link.clientId);
          link.close();
          return;
        }
        if (rules.crashed(nodeId, source) || (source !== undefined && rules.cut(nodeId, source))) {
          link.close();
          return;
        }
        if (held()) {
          client.pause();
          upstream.pause();
          return;
        }
        for (const chunk of heldAnswers.splice(0)) toClient(chunk);
        if (!client.writableNeedDrain) upstream.resume();
        clearTimeout(timer);
        pump();
      },
    };
    this.#links.add(link);
    for (const socket of [client, upstream]) {
      socket.on('error', link.close);
      socket.on('close', link.close);
    }
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') this.#upstreamRefused();
    });
    const pump = (): void => {
      timer = undefined;
      if (held()) return; // enforce() pumps again on resume
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.atMs <= now) {
        const { chunk } = queue.shift()!;
        queuedBytes -= chunk.length;
        upstream.write(chunk);
      }
      if (queuedBytes < DELAY_QUEUE_BYTES_MAX && client.isPaused() && !upstream.writableNeedDrain) {
        client.resume();
      }
      if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.atMs - now));
    };
    const toUpstream = (chunk: Buffer): void => {
      const source = link.source!;
      if (rules.cut(nodeId, source) || rules.clientCut(nodeId, link.clientId)) {
        if (rules.clientCut(nodeId, link.clientId)) rules.recordClientCut(link.clientId);
        link.close();
        return;
      }
      try {
        requests.push(chunk, (header) => {
          if (rules.takeRequestCut(nodeId, link.clientId, header.readInt16BE(4))) {
            cutAfter.add(header.readInt32BE(8));
          }
          return true;
        });
      } catch (error) {
        this.options.log?.(`proxy of node ${nodeId}: closing a connection: ${(error as Error).message}`);
        link.close();
        return;
      }
      const hold = held();
      const delayMs = hold ? 0 : rules.delayMs(nodeId, source);
      if (!hold && delayMs === 0 && queue.length === 0) {
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => {
            if (!held()) client.resume();
          });
        }
        return;
      }
      queue.push({ atMs: performance.now() + delayMs, chunk });
      queuedBytes += chunk.length;
      if (hold || queuedBytes >= DELAY_QUEUE_BYTES_MAX) client.pause();
      if (!hold) timer ??= setTimeout(pump, delayMs);
    };
    const toClient = (chunk: Buffer): void => {
      if (held()) {
        heldAnswers.push(chunk);
        upstream.pause();
        return;
      }
      let cutFrom = -1;
      answers.push(chunk, (header, start) => {
        if (!cutAfter.has(header.readInt32BE(4))) return true;
        cutFrom = start;
        return false;
      });
      if (cutFrom >= 0) {
        // The answers before it still reach the client; this one and the connection end here.
        rules.recordClientCut(link.clientId);
        this.options.log?.(
          `proxy of node ${nodeId}: cut client '${link.clientId}' after its request ${chunk.readInt32BE(cutFrom + 4)}`,
        );
        if (cutFrom === 0) {
          link.close();
          return;
        }
        upstream.off('close', link.close);
        upstream.destroy();
        client.end(chunk.subarray(0, cutFrom));
        return;
      }
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => {
          if (!held()) upstream.resume();
        });
      }
    };
    client.on('data', (chunk: Buffer) => {
      if (link.source !== undefined) {
        toUpstream(chunk);
        return;
      }
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      let clientId: string | null | undefined;
      try {
        clientId = firstRequestClientId(head);
        if (clientId === undefined && head.length > FIRST_REQUEST_HEADER_BYTES_MAX) {
          throw new Error(`no request header in the first ${FIRST_REQUEST_HEADER_BYTES_MAX} bytes`);
        }
      } catch (error) {
        this.options.log?.(`proxy of node ${nodeId}: closing a connection: ${(error as Error).message}`);
        link.close();
        return;
      }
      if (clientId === undefined) return;
      link.source = sourceOf(clientId);
      link.clientId = clientId;
      const first = head;
      head = Buffer.alloc(0);
      toUpstream(first);
    });
    upstream.on('data', toClient);
  }
}
