// One broker's replica of one partition, leader or follower, sans I/O: it reacts to messages
// (`handle`), to time (`tick`) and to produce calls (`appendAsLeader`), and sends through the
// function it is given. Kafka's rules (Partition.scala, AbstractFetcherThread.scala), see README.

import { type ReplicaLog, ReplicationInvariantError } from './log.ts';
import {
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type AppendResult,
  DEFAULT_REPLICATION_CONFIG,
  ErrorCode,
  type FetchRequest,
  type FetchResponse,
  type LogEntry,
  NO_LEADER,
  type PartitionState,
  type ReplicaMessage,
  type ReplicationClock,
  type ReplicationConfig,
} from './types.ts';

/** Where a replica's messages go: node ids for brokers, 'controller' for AlterPartition. */
export type ReplicaSend<V = string> = (
  to: number | 'controller',
  message: FetchRequest | FetchResponse<V> | AlterPartitionRequest,
) => void;

export interface ReplicaListener<V = string> {
  /** Entries at and above `offset` are about to be removed (follower truncation). */
  onTruncate?(offset: number, removed: readonly LogEntry<V>[]): void;
  onBecomeLeader?(leaderEpoch: number): void;
}

export interface PartitionReplicaOptions<V = string> {
  readonly nodeId: number;
  /** This broker's registration epoch (KIP-903), given by the controller at registration. */
  readonly brokerEpoch: number;
  readonly partition: number;
  readonly log: ReplicaLog<V>;
  readonly clock: ReplicationClock;
  readonly send: ReplicaSend<V>;
  readonly config: ReplicationConfig;
  readonly listener?: ReplicaListener<V>;
}

interface FollowerProgress {
  /** -1 until the follower has fetched validly in this leader epoch. */
  logEndOffset: number;
  brokerEpoch: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  leaderEndOffsetAtLastFetch: number;
  /** The last fetch accepted in this broker epoch: an older or repeated one is refused (Kafka's fetch session epoch). */
  lastCorrelationId: number;
}

interface PendingAppend {
  readonly offset: number;
  readonly deadlineMs: number;
  readonly callback: (result: AppendResult) => void;
}

export class PartitionReplica<V = string> {
  readonly nodeId: number;
  readonly brokerEpoch: number;
  readonly partition: number;
  readonly log: ReplicaLog<V>;
  readonly #clock: ReplicationClock;
  readonly #send: ReplicaSend<V>;
  readonly #config: ReplicationConfig;
  readonly #listener: ReplicaListener<V>;

  #state: PartitionState | null = null;
  #leaderEpochStartOffset = 0;
  #followers = new Map<number, FollowerProgress>();
  #pending: PendingAppend[] = [];
  /**
   * The one AlterPartition whose outcome is unknown. It is never given up on a timeout, only resent:
   * the controller may have committed it, so its members count in the maximal ISR until an answer
   * or a newer partition epoch settles it (a timed-out expansion that was in fact committed would
   * otherwise let the HW pass a member's end offset).
   */
  #alterInFlight: { correlationIds: number[]; sentMs: number; isr: number[]; partitionEpoch: number } | null =
    null;
  /** AlterPartition refusals in a row, and when the next AlterPartition may be sent (backoff). */
  #alterRefusals = 0;
  #nextAlterMs = 0;
  #fetchInFlight: { correlationId: number; sentMs: number } | null = null;
  #nextFetchMs = 0;
  #correlation = 0;

  constructor(options: PartitionReplicaOptions<V>) {
    this.nodeId = options.nodeId;
    this.brokerEpoch = options.brokerEpoch;
    this.partition = options.partition;
    this.log = options.log;
    this.#clock = options.clock;
    this.#send = options.send;
    this.#config = options.config;
    this.#listener = options.listener ?? {};
  }

  get state(): PartitionState | null {
    return this.#state;
  }
  get isLeader(): boolean {
    return this.#state?.leader === this.nodeId;
  }
  get leaderEpoch(): number {
    return this.#state?.leaderEpoch ?? -1;
  }
  get highWatermark(): number {
    return this.log.highWatermark;
  }
  get leaderEpochStartOffset(): number {
    return this.#leaderEpochStartOffset;
  }
  /** The ISR the HW counts: the committed ISR plus a pending expansion (KIP-497's maximal ISR). */
  get maximalIsr(): readonly number[] {
    const isr = this.#state?.isr ?? [];
    const pending = this.#alterInFlight?.isr ?? [];
    return [...new Set([...isr, ...pending.filter((id) => !isr.includes(id))])];
  }
  /** The leader's knowledge of a follower's log end offset in this epoch (-1 unknown). */
  followerEndOffset(id: number): number {
    return this.#followers.get(id)?.logEndOffset ?? -1;
  }

  handle(from: number | 'controller', message: ReplicaMessage<V>): void {
    switch (message.type) {
      case 'partition-state':
        this.applyPartitionState(message.state);
        return;
      case 'fetch':
        if (typeof from === 'number') this.#send(from, this.answerFetch(message));
        return;
      case 'fetch-response':
        this.#onFetchResponse(message);
        return;
      case 'alter-partition-response':
        this.#onAlterPartitionResponse(message);
        return;
    }
  }

  /** Metadata from the controller: older partition epochs are ignored, as brokers replaying metadata do. */
  applyPartitionState(state: PartitionState): void {
    const current = this.#state;
    if (state.partition !== this.partition) return;
    if (current !== null && state.leaderEpoch < current.leaderEpoch) return;
    if (
      current !== null &&
      state.leaderEpoch === current.leaderEpoch &&
      state.partitionEpoch <= current.partitionEpoch
    )
      return;
    const newEpoch = current === null || state.leaderEpoch > current.leaderEpoch;
    const wasLeader = this.isLeader;
    this.#state = state;
    if (state.leader === this.nodeId && (newEpoch || !wasLeader)) this.#becomeLeader();
    else if (state.leader !== this.nodeId) {
      if (wasLeader) this.#failPending(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
      if (newEpoch) {
        this.#fetchInFlight = null;
        this.#nextFetchMs = this.#clock.nowMs();
      }
      this.#followers.clear();
      this.#alterInFlight = null;
    } else {
      // Same epoch, we stay leader: an ISR change was committed, which settles any request older than it.
      if (this.#alterInFlight !== null && state.partitionEpoch > this.#alterInFlight.partitionEpoch)
        this.#alterInFlight = null;
      this.#syncFollowers(state.replicas);
      this.#afterIsrChange();
    }
  }

  /**
   * A reassignment changed the replica set within the leader epoch (Kafka adds replicas without a
   * new epoch): a new replica starts unknown and out of sync (it joins the ISR by fetching), a
   * replica no longer assigned is forgotten (its fetches are refused).
   */
  #syncFollowers(replicas: readonly number[]): void {
    for (const id of [...this.#followers.keys()]) if (!replicas.includes(id)) this.#followers.delete(id);
    for (const id of replicas) {
      if (id === this.nodeId || this.#followers.has(id)) continue;
      this.#followers.set(id, {
        logEndOffset: -1,
        brokerEpoch: -1,
        lastCaughtUpTimeMs: 0,
        lastFetchTimeMs: 0,
        leaderEndOffsetAtLastFetch: -1,
        lastCorrelationId: -1,
      });
    }
  }

  #becomeLeader(): void {
    const state = this.#state;
    if (state === null) return;
    this.log.assignEpochStartOffset(state.leaderEpoch, this.log.logEndOffset);
    this.#leaderEpochStartOffset = this.log.logEndOffset;
    this.#followers.clear();
    const now = this.#clock.nowMs();
    for (const id of state.replicas) {
      if (id === this.nodeId) continue;
      // Kafka resets remote replica state on a leader change; ISR members count as caught up now.
      this.#followers.set(id, {
        logEndOffset: -1,
        brokerEpoch: -1,
        lastCaughtUpTimeMs: state.isr.includes(id) ? now : 0,
        lastFetchTimeMs: 0,
        leaderEndOffsetAtLastFetch: -1,
        lastCorrelationId: -1,
      });
    }
    this.#alterInFlight = null;
    this.#alterRefusals = 0;
    this.#nextAlterMs = 0;
    this.#fetchInFlight = null;
    this.#listener.onBecomeLeader?.(state.leaderEpoch);
  }

  /**
   * Why an acks=all append may not be written now (not leader, ISR below min ISR, too many
   * waiting), or null when it may. The broker calls it before its own append, then `awaitCommit`.
   */
  checkAppend(): AppendResult | null {
    const state = this.#state;
    if (state === null || state.leader !== this.nodeId)
      return {
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        offset: -1,
        message: `broker ${this.nodeId} is not the leader of partition ${this.partition}`,
      };
    if (state.isr.length < this.#config.minInsyncReplicas)
      return {
        errorCode: ErrorCode.NOT_ENOUGH_REPLICAS,
        offset: -1,
        message: `partition ${this.partition} has ${state.isr.length} in-sync replicas [${state.isr.join(',')}], min.insync.replicas is ${this.#config.minInsyncReplicas}; nothing written`,
      };
    if (this.#pending.length >= this.#config.pendingAppendsMax)
      return {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        offset: -1,
        message: `more than pendingAppendsMax (${this.#config.pendingAppendsMax}) appends wait for replication; nothing written`,
      };
    return null;
  }

  /**
   * Calls `callback` once the HW passes `offset` (the last offset of an append this leader made),
   * or with the error that ends the wait (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
   * NOT_LEADER_OR_FOLLOWER).
   */
  awaitCommit(offset: number, callback: (result: AppendResult) => void): void {
    this.#pending.push({ offset, deadlineMs: this.#clock.nowMs() + this.#config.produceTimeoutMs, callback });
    this.#maybeIncrementHighWatermark();
  }

  /** acks=all produce of one record. The callback is called once, now or later. */
  appendAsLeader(value: V, callback: (result: AppendResult) => void): void {
    const refused = this.checkAppend();
    if (refused !== null) {
      callback(refused);
      return;
    }
    const entry = this.log.appendAsLeader(value, this.leaderEpoch);
    this.awaitCommit(entry.offset, callback);
  }

  tick(): void {
    const now = this.#clock.nowMs();
    if (this.isLeader) {
      // The leader's own entries count toward the HW once flushed (see README: flush before acknowledging).
      this.log.flush();
      this.#maybeIncrementHighWatermark();
      this.#expirePending(now);
      if (this.#alterInFlight !== null && now - this.#alterInFlight.sentMs > this.#config.requestTimeoutMs)
        this.#sendAlterPartition(this.#alterInFlight.isr, now);
      if (this.#alterInFlight === null) this.#maybeShrinkIsr(now);
    } else if (this.#state !== null && this.#state.leader !== NO_LEADER) {
      if (this.#fetchInFlight !== null && now - this.#fetchInFlight.sentMs > this.#config.requestTimeoutMs)
        this.#fetchInFlight = null;
      if (this.#fetchInFlight === null && now >= this.#nextFetchMs) this.#sendFetch(now);
    }
  }

  // ---- follower side ----

  #sendFetch(now: number): void {
    const state = this.#state;
    if (state === null) return;
    // A follower acknowledges what it fetched by its next fetch offset: flush first, so an
    // acknowledged entry survives a crash of this machine.
    this.log.flush();
    const correlationId = ++this.#correlation;
    this.#fetchInFlight = { correlationId, sentMs: now };
    this.#send(state.leader, {
      type: 'fetch',
      partition: this.partition,
      replicaId: this.nodeId,
      replicaEpoch: this.brokerEpoch,
      currentLeaderEpoch: state.leaderEpoch,
      fetchOffset: this.log.logEndOffset,
      lastFetchedEpoch: this.log.latestEpoch(),
      correlationId,
    });
  }

  #onFetchResponse(response: FetchResponse<V>): void {
    if (this.#fetchInFlight?.correlationId !== response.correlationId || this.isLeader) return;
    this.#fetchInFlight = null;
    const now = this.#clock.nowMs();
    if (response.errorCode !== ErrorCode.NONE || response.leaderEpoch !== this.leaderEpoch) {
      this.#nextFetchMs = now + (this.#config.fetchErrorBackoffMs ?? this.#config.fetchIdleMs);
      return;
    }
    if (response.divergingEpoch !== null) {
      this.#truncateOnDivergence(response.divergingEpoch);
      this.#nextFetchMs = now;
      return;
    }
    if (response.entries.length > 0 && response.entries[0]?.offset !== this.log.logEndOffset) {
      this.#nextFetchMs = now;
      return;
    }
    this.log.appendAsFollower(response.entries);
    const hw = Math.min(response.highWatermark, this.log.logEndOffset);
    if (hw > this.log.highWatermark) this.log.updateHighWatermark(hw);
    this.#nextFetchMs = response.entries.length > 0 ? now : now + this.#config.fetchIdleMs;
  }

  /** KIP-101 and KIP-279: truncate by epoch, never to the high watermark; repeat until no divergence. */
  #truncateOnDivergence(diverging: { epoch: number; endOffset: number }): void {
    const local = this.log.endOffsetForEpoch(diverging.epoch);
    // Kafka's getOffsetTruncationState: the same epoch on both sides → the smaller end offset;
    // an epoch this replica does not know → its own end of the largest smaller epoch, then ask again.
    let target: number;
    if (local.epoch === diverging.epoch) target = Math.min(diverging.endOffset, local.endOffset);
    else target = Math.max(local.endOffset, 0);
    target = Math.min(target, this.log.logEndOffset);
    if (target < this.log.highWatermark)
      throw new ReplicationInvariantError(
        `broker ${this.nodeId}: divergence asks to truncate to ${target}, below the high watermark ${this.log.highWatermark}`,
      );
    if (target < this.log.logEndOffset)
      this.#listener.onTruncate?.(target, this.log.read(target, this.log.logEndOffset - target));
    this.log.truncateTo(target);
  }

  // ---- leader side ----

  /** The leader's answer to a follower's fetch (the broker's Fetch handler maps it to the wire). */
  answerFetch(request: FetchRequest): FetchResponse<V> {
    const state = this.#state;
    const reply = (
      errorCode: FetchResponse<V>['errorCode'],
      rest: Partial<FetchResponse<V>> = {},
    ): FetchResponse<V> => ({
      type: 'fetch-response',
      partition: this.partition,
      errorCode,
      leaderEpoch: state?.leaderEpoch ?? -1,
      highWatermark: this.log.highWatermark,
      divergingEpoch: null,
      entries: [],
      correlationId: request.correlationId,
      ...rest,
    });
    if (state === null || state.leader !== this.nodeId) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.currentLeaderEpoch < state.leaderEpoch) return reply(ErrorCode.FENCED_LEADER_EPOCH);
    if (request.currentLeaderEpoch > state.leaderEpoch) return reply(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const progress = this.#followers.get(request.replicaId);
    if (progress === undefined) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.replicaEpoch < progress.brokerEpoch) return reply(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // A delayed or repeated request would move the follower's known end offset back.
    if (request.replicaEpoch === progress.brokerEpoch && request.correlationId <= progress.lastCorrelationId)
      return reply(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    if (request.lastFetchedEpoch >= 0) {
      const end = this.log.endOffsetForEpoch(request.lastFetchedEpoch);
      if (end.epoch !== request.lastFetchedEpoch || end.endOffset < request.fetchOffset)
        return reply(ErrorCode.NONE, { divergingEpoch: end });
    }
    if (request.fetchOffset > this.log.logEndOffset)
      return reply(ErrorCode.NONE, { divergingEpoch: this.log.endOffsetForEpoch(this.log.latestEpoch()) });
    this.#updateFollower(request, progress);
    return reply(ErrorCode.NONE, {
      highWatermark: this.log.highWatermark,
      entries: this.log.read(request.fetchOffset, this.#config.fetchEntriesMax),
    });
  }

  #updateFollower(request: FetchRequest, progress: FollowerProgress): void {
    const now = this.#clock.nowMs();
    const leaderEnd = this.log.logEndOffset;
    progress.brokerEpoch = request.replicaEpoch;
    progress.lastCorrelationId = request.correlationId;
    progress.logEndOffset = request.fetchOffset;
    // Kafka's Replica.updateFetchState: caught up now if it reached the leader's end, or caught up
    // as of the previous fetch if it reached the end the leader had then.
    if (request.fetchOffset >= leaderEnd) progress.lastCaughtUpTimeMs = now;
    else if (request.fetchOffset >= progress.leaderEndOffsetAtLastFetch)
      progress.lastCaughtUpTimeMs = Math.max(progress.lastCaughtUpTimeMs, progress.lastFetchTimeMs);
    progress.leaderEndOffsetAtLastFetch = leaderEnd;
    progress.lastFetchTimeMs = now;
    this.#maybeIncrementHighWatermark();
    if (this.#alterInFlight === null) this.#maybeExpandIsr(request.replicaId, progress, now);
  }

  #maybeIncrementHighWatermark(): void {
    const state = this.#state;
    if (state === null || state.leader !== this.nodeId) return;
    const isr = this.maximalIsr;
    if (isr.length < Math.min(this.#config.minInsyncReplicas, state.replicas.length)) return;
    let candidate = this.log.flushedEndOffset;
    for (const id of isr) {
      if (id === this.nodeId) continue;
      candidate = Math.min(candidate, this.followerEndOffset(id));
    }
    if (candidate > this.log.highWatermark) {
      this.log.updateHighWatermark(candidate);
      this.#completePending();
    }
  }

  #completePending(): void {
    const hw = this.log.highWatermark;
    const enough = this.maximalIsr.length >= this.#config.minInsyncReplicas;
    const still: PendingAppend[] = [];
    for (const p of this.#pending) {
      if (p.offset >= hw) still.push(p);
      else if (enough) p.callback({ errorCode: ErrorCode.NONE, offset: p.offset, message: 'committed' });
      else
        p.callback({
          errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
          offset: p.offset,
          message: 'the ISR fell below min.insync.replicas while waiting',
        });
    }
    this.#pending = still;
  }

  #expirePending(now: number): void {
    const expired = this.#pending.filter((p) => p.deadlineMs <= now);
    if (expired.length === 0) return;
    this.#pending = this.#pending.filter((p) => p.deadlineMs > now);
    for (const p of expired)
      p.callback({
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        offset: p.offset,
        message: `not replicated to the ISR within ${this.#config.produceTimeoutMs} ms`,
      });
  }

  #failPending(errorCode: AppendResult['errorCode'], why: string): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.callback({ errorCode, offset: p.offset, message: why });
  }

  #afterIsrChange(): void {
    if (this.#state !== null && this.#state.isr.length < this.#config.minInsyncReplicas)
      this.#failPending(
        ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        `the ISR shrank to [${this.#state.isr.join(',')}], below min.insync.replicas ${this.#config.minInsyncReplicas}`,
      );
    this.#maybeIncrementHighWatermark();
  }

  /** Drops ISR members not caught up within replica.lag.time.max.ms (one AlterPartition in flight at a time). */
  #maybeShrinkIsr(now: number): void {
    const state = this.#state;
    if (state === null || state.leader !== this.nodeId || now < this.#nextAlterMs) return;
    const laggards = state.isr.filter((id) => {
      if (id === this.nodeId) return false;
      const progress = this.#followers.get(id);
      return progress === undefined || now - progress.lastCaughtUpTimeMs > this.#config.replicaLagTimeMaxMs;
    });
    if (laggards.length > 0)
      this.#sendAlterPartition(
        state.isr.filter((id) => !laggards.includes(id)),
        now,
      );
  }

  /**
   * Adds a follower, judged when it fetches (as Kafka's maybeExpandIsr): its end offset has reached
   * the HW and this epoch's start offset, and it is caught up by the shrink rule, so a follower that
   * stopped fetching is not added back on an old end offset.
   */
  #maybeExpandIsr(id: number, progress: FollowerProgress, now: number): void {
    const state = this.#state;
    if (state === null || state.leader !== this.nodeId || state.isr.includes(id) || now < this.#nextAlterMs)
      return;
    const caughtUp = now - progress.lastCaughtUpTimeMs <= this.#config.replicaLagTimeMaxMs;
    if (
      caughtUp &&
      progress.logEndOffset >= this.log.highWatermark &&
      progress.logEndOffset >= this.#leaderEpochStartOffset
    )
      this.#sendAlterPartition([...state.isr, id], now);
  }

  #sendAlterPartition(isr: number[], now: number): void {
    const state = this.#state;
    if (state === null) return;
    const correlationId = ++this.#correlation;
    const correlationIds = this.#alterInFlight === null ? [] : this.#alterInFlight.correlationIds;
    this.#alterInFlight = {
      correlationIds: [...correlationIds, correlationId],
      sentMs: now,
      isr,
      partitionEpoch: state.partitionEpoch,
    };
    this.#send('controller', {
      type: 'alter-partition',
      brokerId: this.nodeId,
      brokerEpoch: this.brokerEpoch,
      partition: this.partition,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
      newIsrWithEpochs: isr.map((id) => ({
        brokerId: id,
        brokerEpoch: id === this.nodeId ? this.brokerEpoch : (this.#followers.get(id)?.brokerEpoch ?? -1),
      })),
      correlationId,
    });
  }

  #onAlterPartitionResponse(response: AlterPartitionResponse): void {
    // An answer to this request (any of its sends) settles it: committed, or refused and not applied.
    const settles = this.#alterInFlight?.correlationIds.includes(response.correlationId) === true;
    if (response.state !== null) this.applyPartitionState(response.state);
    if (settles) {
      this.#alterInFlight = null;
      this.#backOffAlter(response.errorCode !== ErrorCode.NONE);
    }
    this.#maybeIncrementHighWatermark();
  }

  /** Kafka's exponential retry backoff for the next AlterPartition after a refusal; none after a success. */
  #backOffAlter(refused: boolean): void {
    if (!refused) {
      this.#alterRefusals = 0;
      this.#nextAlterMs = 0;
      return;
    }
    this.#alterRefusals++;
    const baseMs =
      this.#config.alterPartitionBackoffMs ?? DEFAULT_REPLICATION_CONFIG.alterPartitionBackoffMs ?? 0;
    const maxMs =
      this.#config.alterPartitionBackoffMaxMs ?? DEFAULT_REPLICATION_CONFIG.alterPartitionBackoffMaxMs ?? 0;
    const delayMs = Math.min(maxMs, baseMs * 2 ** Math.min(this.#alterRefusals - 1, 30));
    this.#nextAlterMs = this.#clock.nowMs() + delayMs;
  }
}
