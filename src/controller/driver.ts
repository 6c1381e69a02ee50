/**
 * RaftDriver: runs the sans-I/O RaftReplica (src/raft) with the real clock, real files
 * (RaftStorage over node:fs) and one client connection per other voter. Requests received on the
 * controller listener are handed to the replica and answered with the response it sends back
 * to their sender during `handle` (a Fetch the leader holds, the long poll, is answered when the
 * replica sends its response later); the replica's own requests go out through the peer connections
 * and their answers come back to it. Timers follow `nextDeadlineMs()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MessageValue } from '../protocol/index.ts';
import { RaftInvariantError, type RaftListener, RaftReplica } from '../raft/replica.ts';
import { RaftStorage } from '../raft/storage.ts';
import type { LeaderAndEpoch, RaftConfig, RaftMessage, RaftRole } from '../raft/types.ts';
import { nodeFs } from '../storage/index.ts';
import { type PeerAddress, PeerConnection } from './peer.ts';
import { decodeQuorumResponse, encodeQuorumRequest } from './wire.ts';

/** The longest the driver sleeps between ticks, so a late timer never stalls the replica for long. */
const TICK_INTERVAL_MS_MAX = 100;

/** The answers to each quorum request, by request kind. */
const RESPONSE_KIND: Record<string, RaftMessage['kind']> = {
  VoteRequest: 'VoteResponse',
  BeginQuorumEpochRequest: 'BeginQuorumEpochResponse',
  EndQuorumEpochRequest: 'EndQuorumEpochResponse',
  FetchRequest: 'FetchResponse',
  FetchSnapshotRequest: 'FetchSnapshotResponse',
};

export interface RaftDriverOptions {
  readonly nodeId: number;
  readonly clusterId: string;
  /** Every voter with its controller listener address, this node included. */
  readonly voters: readonly PeerAddress[];
  /** The metadata log's folder (`<data dir>/__cluster_metadata-0`, as Kafka names it). */
  readonly dataDir: string;
  readonly config?: Partial<RaftConfig>;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** Called when the replica must stop (a safety rule would break); the node should exit. */
  readonly onFatal: (error: Error) => void;
  /** Told of commits, truncations and installed snapshots (the metadata image follows them). */
  readonly listener?: Omit<RaftListener, 'onLeaderChange'>;
  readonly onLeaderChange?: (leader: LeaderAndEpoch) => void;
}

/** What DescribeQuorum reports of one voter. */
export interface VoterState {
  readonly nodeId: number;
  readonly logEndOffset: number;
  /** Wall-clock ms of its latest fetch, -1 if none. */
  readonly lastFetchTimestamp: number;
  /** Wall-clock ms when it last fetched at the leader's log end, -1 if never. */
  readonly lastCaughtUpTimestamp: number;
}

export class RaftDriver {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly voters: readonly PeerAddress[];
  readonly replica: RaftReplica;
  readonly #options: RaftDriverOptions;
  readonly #peers = new Map<number, PeerConnection>();
  /** When each voter last fetched at the leader's log end (wall clock), for DescribeQuorum. */
  readonly #caughtUpMs = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #timerAtMs = Number.POSITIVE_INFINITY;
  /** Set while the replica handles an inbound request: its answer to the sender is caught here. */
  #capture: { to: number; kind: RaftMessage['kind']; answer: RaftMessage | null } | null = null;
  /**
   * Fetches the replica holds (the long poll), by sender: the FetchResponse it later sends to that
   * replica answers the request; `fallback` answers it if the node stops or a newer fetch replaces it.
   */
  readonly #heldFetches = new Map<
    number,
    { resolve: (answer: RaftMessage) => void; fallback: () => RaftMessage }
  >();
  #stopped = false;
  /**
   * Runs work in the context the driver was built in, whoever calls it: its timer and its peer
   * sockets belong to the node, not to the caller. Otherwise one call from outside (a test harness
   * creating a topic through the node) armed the next timer there, and every timer after it: a
   * paused test node's timer gate (src/testing/timer-gates.ts) then held none of them.
   */
  readonly #inOwnContext = AsyncLocalStorage.snapshot();

  constructor(options: RaftDriverOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId;
    this.voters = options.voters;
    const storage = new RaftStorage(nodeFs, options.dataDir);
    const { truncatedBytes, reason } = storage.recovery;
    if (truncatedBytes > 0) {
      options.log.warn(`metadata log ${options.dataDir}: cut ${truncatedBytes} bytes at open (${reason})`);
    }
    for (const voter of options.voters) {
      if (voter.nodeId === options.nodeId) continue;
      this.#peers.set(
        voter.nodeId,
        new PeerConnection(
          voter,
          `kstack-raft-${options.nodeId}`,
          (request, body) => void this.#onAnswer(voter.nodeId, request, body),
          (message) => options.log.info(message),
        ),
      );
    }
    this.replica = new RaftReplica({
      nodeId: options.nodeId,
      voters: options.voters.map((voter) => voter.nodeId),
      storage,
      clock: { nowMs: () => performance.now() },
      random: { next: Math.random },
      send: (to, message) => this.#send(to, message),
      config: options.config,
      listener: {
        onCommit: (highWatermark) => options.listener?.onCommit?.(highWatermark),
        onResign: () => {
          options.log.warn(
            'quorum: resigned the leadership (no majority fetched within the check-quorum time)',
          );
          options.listener?.onResign?.();
        },
        onTruncate: (offset, previousEnd) => {
          // Uncommitted entries going away: a leader cut off from the majority, back as a follower.
          options.log.warn(`quorum: truncated the metadata log to ${offset} (its end was ${previousEnd})`);
          options.listener?.onTruncate?.(offset, previousEnd);
        },
        onSnapshotInstalled: (id, bytes) => {
          // Says that a node caught up through FetchSnapshot (a wiped or long-stopped voter).
          options.log.info(
            `quorum: installed snapshot ${id.endOffset}-${id.epoch} (${bytes.length} bytes) fetched from leader ${this.replica.leader().leaderId}`,
          );
          options.listener?.onSnapshotInstalled?.(id, bytes);
        },
        onLeaderChange: (leader) => {
          options.log.info(
            `quorum: epoch ${leader.epoch}, leader ${leader.leaderId < 0 ? 'unknown' : leader.leaderId}`,
          );
          options.onLeaderChange?.(leader);
        },
      },
    });
  }

  start(): void {
    this.#run(() => {});
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const peer of this.#peers.values()) peer.close();
    for (const held of this.#heldFetches.values()) held.resolve(held.fallback());
    this.#heldFetches.clear();
    this.replica.storage.close();
  }

  /** Appends one batch of records as leader (throws NotLeaderError elsewhere); the flush timer is armed for it. */
  propose(records: readonly Uint8Array[]): { offset: number; epoch: number } {
    let appended: { offset: number; epoch: number } | null = null;
    this.#run(() => {
      appended = this.replica.propose(records);
    });
    if (appended === null) throw new Error('the quorum is stopped');
    return appended;
  }

  role(): RaftRole {
    return this.replica.role();
  }

  leader(): LeaderAndEpoch {
    return this.replica.leader();
  }

  /**
   * The active controller as this node may act on it: as `leader()`, except that this node's own
   * leadership counts only while it is the Raft leader. A leader that resigned (check-quorum, a
   * restart) keeps its own id in `leader()` until it learns a newer epoch, as Kafka's resigned and
   * prospective states do; sending controller requests to itself then only earns NOT_CONTROLLER
   * naming itself (28,085 such refusals in 90 s on a node left alone).
   */
  activeController(): LeaderAndEpoch {
    const leader = this.replica.leader();
    if (leader.leaderId === this.nodeId && this.replica.role() !== 'leader')
      return { epoch: leader.epoch, leaderId: -1 };
    return leader;
  }

  /**
   * Hands a request received on the controller listener to the replica; resolves with the answer
   * it gives its sender, at once or, for a Fetch the leader holds, when it completes it.
   * `fallback` answers when the replica sends none (it ignores some requests).
   */
  handleRequest(
    from: number,
    message: RaftMessage,
    fallback: () => RaftMessage,
  ): RaftMessage | Promise<RaftMessage> {
    const kind = RESPONSE_KIND[message.kind];
    if (kind === undefined) throw new Error(`${message.kind} is not a request`);
    if (message.kind === 'FetchRequest') {
      if (this.replica.role() === 'leader' && message.fetchOffset >= this.replica.storage.endOffset()) {
        // Caught up: fetching at the leader's end (the request acknowledges everything before it).
        this.#caughtUpMs.set(from, Date.now());
      }
      // The replica drops a held fetch when a newer one from the same sender arrives.
      const replaced = this.#heldFetches.get(from);
      this.#heldFetches.delete(from);
      replaced?.resolve(replaced.fallback());
    }
    const capture = { to: from, kind, answer: null as RaftMessage | null };
    this.#capture = capture;
    try {
      this.#run(() => this.replica.handle(from, message));
    } finally {
      this.#capture = null;
    }
    if (capture.answer !== null) return capture.answer;
    if (message.kind === 'FetchRequest' && this.replica.holdsFetchFrom(from) && !this.#stopped) {
      return new Promise((resolve) => this.#heldFetches.set(from, { resolve, fallback }));
    }
    return fallback();
  }

  /** Every voter's progress as the leader sees it (DescribeQuorum); null when this node does not lead. */
  voterStates(): VoterState[] | null {
    if (this.replica.role() !== 'leader') return null;
    const nowMs = performance.now();
    const wallNowMs = Date.now();
    const states: VoterState[] = [
      {
        nodeId: this.nodeId,
        logEndOffset: this.replica.storage.endOffset(),
        lastFetchTimestamp: wallNowMs,
        lastCaughtUpTimestamp: wallNowMs,
      },
    ];
    for (const progress of this.replica.voterProgress()) {
      const fetched = Number.isFinite(progress.lastFetchMs) && progress.fetchOffset >= 0;
      states.push({
        nodeId: progress.nodeId,
        logEndOffset: progress.fetchOffset,
        lastFetchTimestamp: fetched ? Math.round(wallNowMs - (nowMs - progress.lastFetchMs)) : -1,
        lastCaughtUpTimestamp: this.#caughtUpMs.get(progress.nodeId) ?? -1,
      });
    }
    return states.sort((a, b) => a.nodeId - b.nodeId);
  }

  #send(to: number, message: RaftMessage): void {
    const capture = this.#capture;
    if (capture !== null && capture.to === to && capture.kind === message.kind && capture.answer === null) {
      capture.answer = message;
      return;
    }
    const held = message.kind === 'FetchResponse' ? this.#heldFetches.get(to) : undefined;
    if (held !== undefined) {
      this.#heldFetches.delete(to);
      held.resolve(message);
      return;
    }
    const request = encodeQuorumRequest(message, to, this.clusterId);
    if (request === null) {
      // A response outside the request it answers (none today): nothing to carry it.
      this.#options.log.warn(`quorum: dropped ${message.kind} to ${to} outside a request`);
      return;
    }
    this.#peers.get(to)?.send(request, message);
  }

  async #onAnswer(from: number, request: RaftMessage, body: MessageValue): Promise<void> {
    let answer: RaftMessage | null;
    try {
      answer = await decodeQuorumResponse(request, body);
    } catch (error) {
      this.#options.log.warn(
        `quorum: bad answer from ${from} to ${request.kind}: ${(error as Error).message}`,
      );
      return;
    }
    if (answer === null || this.#stopped) return;
    this.#run(() => this.replica.handle(from, answer));
  }

  /** Runs `step` then the due timers, stopping the node on a broken invariant; then re-arms the timer. */
  #run(step: () => void): void {
    this.#inOwnContext(() => this.#runHere(step));
  }

  #runHere(step: () => void): void {
    if (this.#stopped) return;
    try {
      step();
      this.replica.tick();
    } catch (error) {
      if (error instanceof RaftInvariantError || (error as Error).name === 'RaftStorageError') {
        this.stop();
        this.#options.onFatal(error as Error);
        return;
      }
      throw error;
    }
    this.#arm();
  }

  #arm(): void {
    const nowMs = performance.now();
    const atMs = Math.min(this.replica.nextDeadlineMs(), nowMs + TICK_INTERVAL_MS_MAX);
    if (this.#timer !== null && this.#timerAtMs <= atMs) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAtMs = atMs;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerAtMs = Number.POSITIVE_INFINITY;
        this.#run(() => {});
      },
      Math.max(0, Math.ceil(atMs - nowMs)),
    );
  }
}

export function metadataLogDir(dataDir: string): string {
  return join(dataDir, '__cluster_metadata-0');
}
