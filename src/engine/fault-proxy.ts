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

const covers = (side: FaultSide | null, source: ConnectionSource): boolean =>
  side === 'all' ||
  (side === 'peers' && source.peer !== null) ||
  (side === 'clients' && source.peer === null);

/** The faults of every node of one cluster, read by its proxies. */
export class FaultRules {
  readonly #nodes = new Map<number, NodeFaults>();
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

  /** Whether a connection from `source` to node `target` is cut. */
  cut(target: number, source: ConnectionSource): boolean {
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
  close(): void;
}

/** One listener's proxy: forwards bytes both ways, cutting and delaying as the rules say. */
export class NodeProxy {
  readonly options: NodeProxyOptions;
  readonly #server: net.Server;
  readonly #links = new Set<Link>();
  readonly #unsubscribe: () => void;

  constructor(options: NodeProxyOptions) {
    this.options = options;
    this.#server = net.createServer((client) => this.#accept(client));
    this.#unsubscribe = options.rules.onChange(() => this.#enforce());
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.options.listenPort, this.options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
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
    this.#unsubscribe();
    for (const link of this.#links) link.close();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Closes the open connections the rules now cut. */
  #enforce(): void {
    for (const link of this.#links) {
      if (link.source !== undefined && this.options.rules.cut(this.options.nodeId, link.source)) {
        link.close();
      }
    }
  }

  #accept(client: net.Socket): void {
    if (this.#links.size >= PROXY_CONNECTIONS_MAX) {
      this.options.log?.(
        `proxy of node ${this.options.nodeId}: refused a connection (PROXY_CONNECTIONS_MAX ${PROXY_CONNECTIONS_MAX})`,
      );
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.options.host, port: this.options.upstreamPort });
    upstream.setNoDelay(true);
    const link: Link = {
      client,
      upstream,
      source: undefined,
      close: () => {
        client.destroy();
        upstream.destroy();
        this.#links.delete(link);
      },
    };
    this.#links.add(link);
    for (const socket of [client, upstream]) {
      socket.on('error', link.close);
      socket.on('close', link.close);
    }
    const { rules, nodeId } = this.options;
    // Requests wait here until the connection's source is known, then in the delay queue.
    let head: Buffer = Buffer.alloc(0);
    const queue: { atMs: number; chunk: Buffer }[] = [];
    let queuedBytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.atMs <= now) {
        const { chunk } = queue.shift()!;
        queuedBytes -= chunk.length;
        upstream.write(chunk);
      }
      if (queuedBytes < DELAY_QUEUE_BYTES_MAX && client.isPaused()) client.resume();
      if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.atMs - now));
    };
    upstream.on('close', () => clearTimeout(timer));
    const toUpstream = (chunk: Buffer): void => {
      const source = link.source!;
      if (rules.cut(nodeId, source)) {
        link.close();
        return;
      }
      const delayMs = rules.delayMs(nodeId, source);
      if (delayMs === 0 && queue.length === 0) {
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
        return;
      }
      queue.push({ atMs: performance.now() + delayMs, chunk });
      queuedBytes += chunk.length;
      if (queuedBytes >= DELAY_QUEUE_BYTES_MAX) client.pause();
      timer ??= setTimeout(pump, delayMs);
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
      const first = head;
      head = Buffer.alloc(0);
      toUpstream(first);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  }
}
