// A KRaft replica of the metadata log, sans I/O: it reacts to messages (`handle`) and to time
// (`tick`), persists through RaftStorage, and sends through the `send` function it was given. The
// broker drives it over sockets and timers; the simulator drives it with a seeded scheduler.
//
// Persistence order (what makes a crash at any point safe):
//   - the quorum state (epoch, vote, leader) is written and fsynced before any message that depends
//     on it is sent (a granted vote, a candidate's vote requests, a leader's BeginQuorumEpoch);
//   - a follower flushes appended entries before its next Fetch, whose offset acknowledges them;
//   - a leader counts only its flushed entries toward the high watermark;
//   - truncation is durable before the next Fetch.

import { encodeControlRecord } from '../metadata/control-records.ts';
import type { RaftStorage } from './storage.ts';
import {
  type BeginQuorumEpochRequest,
  DEFAULT_RAFT_CONFIG,
  type EndQuorumEpochRequest,
  entryEndOffset,
  type FetchRequest,
  type FetchResponse,
  type FetchSnapshotRequest,
  type FetchSnapshotResponse,
  type LeaderAndEpoch,
  type LogEntry,
  type RaftClock,
  type RaftConfig,
  RaftError,
  type RaftMessage,
  type RaftRandom,
  type RaftRole,
  type RaftSend,
  type SnapshotId,
  type VoteRequest,
  type VoteResponse,
} from './types.ts';

/** Thrown when a rule that Raft's safety rests on would break: the replica must stop, not go on. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

/** Thrown by `propose` on a replica that is not the leader. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  readonly leader: LeaderAndEpoch;
  constructor(leader: LeaderAndEpoch) {
    super(`not the quorum leader (epoch ${leader.epoch}, leader ${leader.leaderId})`);
    this.leader = leader;
  }
}

export interface RaftListener {
  /** The known leader or epoch changed. */
  onLeaderChange?(leader: LeaderAndEpoch): void;
  /** The high watermark moved up: entries below it are committed (read them with `readCommitted`). */
  onCommit?(highWatermark: number): void;
  /** A snapshot fetched from the leader replaced this replica's state below `id.endOffset`. */
  onSnapshotInstalled?(id: SnapshotId, bytes: Uint8Array): void;
  /** Uncommitted entries at `offset` and above are about to be removed (still readable during the call). */
  onTruncate?(offset: number, previousEndOffset: number): void;
  /**
   * This leader resigned (check quorum: no majority fetched from it) and leads no more, in the same
   * epoch: its uncommitted entries may still be committed by a later leader, or truncated.
   */
  onResign?(): void;
}

export interface RaftReplicaOptions {
  readonly nodeId: number;
  /** The fixed voter set (KIP-853's dynamic membership is not implemented). */
  readonly voters: readonly number[];
  readonly storage: RaftStorage;
  readonly clock: RaftClock;
  readonly random: RaftRandom;
  readonly send: RaftSend;
  readonly config?: Partial<RaftConfig>;
  readonly listener?: RaftListener;
}

interface VoterProgress {
  /** The end offset the voter acknowledged with its latest valid Fetch (-1 before any). */
  fetchOffset: number;
  lastFetchMs: number;
  fetchedThisEpoch: boolean;
}

/** A Fetch the leader holds because it has nothing to return yet (the long poll). */
interface ParkedFetch {
  readonly request: FetchRequest;
  readonly deadlineMs: number;
}

interface SnapshotDownload {
  readonly id: SnapshotId;
  readonly chunks: Uint8Array[];
  position: number;
}

export class RaftReplica {
  readonly nodeId: number;
  readonly voters: readonly number[];
  readonly storage: RaftStorage;
  readonly config: RaftConfig;
  readonly #clock: RaftClock;
  readonly #random: RaftRandom;
  readonly #send: RaftSend;
  readonly #listener: RaftListener;

  #epoch = 0;
  #leaderId = -1;
  #votedId = -1;
  #role: RaftRole = 'unattached';
  #highWatermark: number;

  // Timers, as absolute times on the clock.
  #electionDeadlineMs = 0;
  #fetchDeadlineMs = 0;
  #nextFetchMs = 0;
  #beginQuorumNextMs = 0;
  /** A prospective or candidate waiting out its backoff before the next round. */
  #backingOff = false;

  #votesGranted = new Set<number>();
  #votesRejected = new Set<number>();
  #lastLeaderContactMs = Number.NEGATIVE_INFINITY;

  // Follower: the one request in flight.
  #fetchSeq = 0;
  #inflightFetchId = -1;
  #inflightSentMs = 0;
  #download: SnapshotDownload | null = null;

  // Leader.
  #epochStartOffset = 0;
  /** When the oldest unflushed proposal was appended. */
  #lingerSinceMs = 0;
  #progress = new Map<number, VoterProgress>();
  /** Fetches held until the log grows, the high watermark moves, leadership ends or they expire; one per replica. */
  #parked = new Map<number, ParkedFetch>();
  /** The high watermark last sent to each replica: a fetch that would teach a newer one is answered at once. */
  #sentHighWatermark = new Map<number, number>();

  constructor(options: RaftReplicaOptions) {
    this.nodeId = options.nodeId;
    this.voters = [...options.voters].sort((a, b) => a - b);
    if (!this.voters.includes(this.nodeId)) {
      throw new Error(`node ${this.nodeId} is not among the voters ${this.voters.join(',')}`);
    }
    this.storage = options.storage;
    this.config = { ...DEFAULT_RAFT_CONFIG, ...options.config };
    if (this.config.fetchMaxWaitMs > 0 && this.config.requestTimeoutMs <= this.config.fetchMaxWaitMs) {
      throw new RangeError(
        `requestTimeoutMs ${this.config.requestTimeoutMs} must exceed fetchMaxWaitMs ${this.config.fetchMaxWaitMs}: a held fetch would be sent again before its answer`,
      );
    }
    this.#clock = options.clock;
    this.#random = options.random;
    this.#send = options.send;
    this.#listener = options.listener ?? {};
    this.#highWatermark = this.storage.logStartOffset();
    // Fetch ids start at a random point so answers to a previous incarnation's fetches (still in
    // flight when it crashed) do not match this one's (Kafka gets this from new connections).
    this.#fetchSeq = Math.floor(this.#random.next() * 2 ** 40);
    this.#restore();
  }

  // ---- what the outside reads ----

  epoch(): number {
    return this.#epoch;
  }
  leaderId(): number {
    return this.#leaderId;
  }
  votedId(): number {
    return this.#votedId;
  }
  role(): RaftRole {
    return this.#role;
  }
  highWatermark(): number {
    return this.#highWatermark;
  }
  leader(): LeaderAndEpoch {
    return { epoch: this.#epoch, leaderId: this.#leaderId };
  }

  /**
   * A leader's view of the other voters (DescribeQuorum): the end offset each acknowledged with
   * its latest valid Fetch (-1 before any in this epoch) and when, on the replica's clock
   * (-Infinity before any). Empty unless this replica leads.
   */
  voterProgress(): { nodeId: number; fetchOffset: number; lastFetchMs: number }[] {
    if (this.#role !== 'leader') return [];
    return [...this.#progress].map(([nodeId, progress]) => ({
      nodeId,
      fetchOffset: progress.fetchOffset,
      lastFetchMs: progress.lastFetchMs,
    }));
  }

  /** True while this leader holds a Fetch from `replicaId` (the long poll); its answer is sent later. */
  holdsFetchFrom(replicaId: number): boolean {
    return this.#parked.has(replicaId);
  }

  /**
   * Committed entries (whole batches) from `fromOffset` (a batch's base offset at or above the log
   * start), at most `countMax`.
   */
  readCommitted(fromOffset: number, countMax: number): LogEntry[] {
    if (fromOffset >= this.#highWatermark) return [];
    const entries = this.storage.read(fromOffset, countMax);
    const committed = entries.findIndex((entry) => entryEndOffset(entry) > this.#highWatermark);
    return committed < 0 ? entries : entries.slice(0, committed);
  }

  // ---- what the broker calls ----

  /**
   * Appends `records` (at least one) as leader, one batch at offsets `offset` to
   * `offset + records.length - 1`. It is committed once the high watermark passes its last offset
   * while the entry at `offset` still carries `epoch` (watch `onCommit`).
   */
  propose(records: readonly Uint8Array[]): { offset: number; epoch: number } {
    if (this.#role !== 'leader') throw new NotLeaderError(this.leader());
    if (records.length === 0) throw new RangeError('a proposal holds at least one record');
    const offset = this.storage.endOffset();
    if (offset === this.storage.flushedEndOffset()) this.#lingerSinceMs = this.#clock.nowMs();
    this.storage.append([{ offset, epoch: this.#epoch, records, control: false }]);
    // Followers get the entry now, while the leader lingers before its flush: both happen at once.
    this.#completeParkedFetches((parked) => parked.request.fetchOffset < this.storage.endOffset());
    return { offset, epoch: this.#epoch };
  }

  /** Makes appended entries durable; a leader counts them toward the high watermark once flushed. */
  flush(): void {
    this.storage.flush();
    if (this.#role === 'leader') this.#maybeAdvanceHighWatermark();
  }

  /** Takes a local snapshot of the committed state below `endOffset` and drops the log below it. */
  createSnapshot(endOffset: number, bytes: Uint8Array): SnapshotId {
    if (endOffset > this.#highWatermark || endOffset <= this.storage.logStartOffset()) {
      throw new RangeError(
        `snapshot end ${endOffset} must lie in (${this.storage.logStartOffset()}, ${this.#highWatermark}] (log start, high watermark]`,
      );
    }
    const last = this.storage.entry(endOffset - 1);
    if (last === undefined)
      throw new RaftInvariantError(`no entry at ${endOffset - 1} below the high watermark`);
    if (entryEndOffset(last) !== endOffset) {
      throw new RangeError(
        `snapshot end ${endOffset} lies inside the batch at ${last.offset} (${last.records.length} records)`,
      );
    }
    const id = { endOffset, epoch: last.epoch };
    this.storage.installSnapshot(id, bytes);
    return id;
  }

  /** The earliest time `tick` has work to do. */
  nextDeadlineMs(): number {
    switch (this.#role) {
      case 'leader': {
        let deadline = this.#beginQuorumNextMs;
        if (this.storage.flushedEndOffset() < this.storage.endOffset())
          deadline = Math.min(deadline, this.#lingerSinceMs + this.config.appendLingerMs);
        for (const parked of this.#parked.values()) deadline = Math.min(deadline, parked.deadlineMs);
        return deadline;
      }
      case 'follower':
        return Math.min(
          this.#fetchDeadlineMs,
          this.#inflightFetchId < 0 ? this.#nextFetchMs : this.#inflightSentMs + this.config.requestTimeoutMs,
        );
      default:
        return this.#electionDeadlineMs;
    }
  }

  /** Runs the timers that are due. Call it at `nextDeadlineMs()` or more often. */
  tick(): void {
    const now = this.#clock.nowMs();
    switch (this.#role) {
      case 'leader':
        this.#leaderTick(now);
        return;
      case 'follower':
        if (now >= this.#fetchDeadlineMs) {
          this.#becomeProspective();
          return;
        }
        this.#followerFetchIfDue(now);
        return;
      case 'unattached':
      case 'resigned':
        if (now >= this.#electionDeadlineMs) this.#becomeProspective();
        return;
      case 'prospective':
      case 'candidate':
        if (now < this.#electionDeadlineMs) return;
        if (this.#backingOff) {
          this.#becomeProspective();
        } else {
          this.#backOff();
        }
        return;
    }
  }

  handle(from: number, message: RaftMessage): void {
    switch (message.kind) {
      case 'VoteRequest':
        this.#onVoteRequest(from, message);
        return;
      case 'VoteResponse':
        this.#onVoteResponse(from, message);
        return;
      case 'BeginQuorumEpochRequest':
        this.#onBeginQuorumEpoch(from, message);
        return;
      case 'EndQuorumEpochRequest':
        this.#onEndQuorumEpoch(message);
        return;
      case 'BeginQuorumEpochResponse':
      case 'EndQuorumEpochResponse':
        this.#observeEpoch(message.leaderEpoch, message.leaderId);
        return;
      case 'FetchRequest':
        this.#onFetchRequest(from, message);
        return;
      case 'FetchResponse':
        this.#onFetchResponse(message);
        return;
      case 'FetchSnapshotRequest':
        this.#onFetchSnapshotRequest(from, message);
        return;
      case 'FetchSnapshotResponse':
        this.#onFetchSnapshotResponse(message);
        return;
    }
  }

  // ---- state transitions ----

  #restore(): void {
    const state = this.storage.readQuorumState();
    this.#epoch = state.leaderEpoch;
    this.#leaderId = state.leaderId;
    this.#votedId = state.votedId;
    const now = this.#clock.nowMs();
    if (state.leaderId === this.nodeId) {
      // A leader that restarts does not know what it acknowledged: it resigns and lets an election run.
      this.#role = 'resigned';
      this.#electionDeadlineMs = now + this.#randomElectionTimeoutMs();
    } else if (state.leaderId >= 0) {
      this.#role = 'follower';
      this.#fetchDeadlineMs = now + this.config.fetchTimeoutMs;
      this.#nextFetchMs = now;
    } else {
      this.#role = 'unattached';
      this.#electionDeadlineMs = now + this.#randomElectionTimeoutMs();
    }
  }

  #persist(epoch: number, leaderId: number, votedId: number): void {
    if (epoch < this.#epoch) throw new RaftInvariantError(`epoch going back from ${this.#epoch} to ${epoch}`);
    const changedLeader = epoch !== this.#epoch || leaderId !== this.#leaderId;
    if (changedLeader || votedId !== this.#votedId) {
      this.storage.writeQuorumState({ leaderEpoch: epoch, leaderId, votedId });
    }
    this.#epoch = epoch;
    this.#leaderId = leaderId;
    this.#votedId = votedId;
    if (changedLeader) this.#listener.onLeaderChange?.(this.leader());
  }

  #resetRoleState(): void {
    this.#votesGranted.clear();
    this.#votesRejected.clear();
    this.#backingOff = false;
    this.#inflightFetchId = -1;
    this.#download = null;
    this.#progress.clear();
    this.#sentHighWatermark.clear();
  }

  #becomeUnattached(epoch: number, votedId: number): void {
    this.#persist(epoch, -1, votedId);
    this.#resetRoleState();
    this.#role = 'unattached';
    this.#electionDeadlineMs = this.#clock.nowMs() + this.#randomElectionTimeoutMs();
    this.#completeParkedFetches(() => true);
  }

  /**
   * `fromLeader`: the leader itself told us (BeginQuorumEpoch). Learnt from anyone else, the leader
   * counts as heard from only after its first answer to a fetch, so hearsay about a leader that is
   * gone cannot make voters refuse pre-votes for ever.
   */
  #becomeFollower(epoch: number, leaderId: number, fromLeader = false): void {
    if (epoch === this.#epoch && this.#role === 'leader') {
      throw new RaftInvariantError(`node ${leaderId} claims epoch ${epoch}, which node ${this.nodeId} leads`);
    }
    this.#persist(epoch, leaderId, epoch === this.#epoch ? this.#votedId : -1);
    this.#resetRoleState();
    const now = this.#clock.nowMs();
    this.#role = 'follower';
    this.#fetchDeadlineMs = now + this.config.fetchTimeoutMs;
    this.#lastLeaderContactMs = fromLeader ? now : Number.NEGATIVE_INFINITY;
    this.#nextFetchMs = now;
    this.#completeParkedFetches(() => true);
    this.#followerFetchIfDue(now);
  }

  #becomeProspective(): void {
    this.#resetRoleState();
    this.#role = 'prospective';
    this.#votesGranted.add(this.nodeId);
    this.#electionDeadlineMs = this.#clock.nowMs() + this.config.electionTimeoutMs;
    if (this.#hasMajority(this.#votesGranted)) {
      this.#becomeCandidate();
      return;
    }
    this.#requestVotes(true);
  }

  #becomeCandidate(): void {
    this.#persist(this.#epoch + 1, -1, this.nodeId);
    this.#resetRoleState();
    this.#role = 'candidate';
    this.#votesGranted.add(this.nodeId);
    this.#electionDeadlineMs = this.#clock.nowMs() + this.config.electionTimeoutMs;
    if (this.#hasMajority(this.#votesGranted)) {
      this.#becomeLeader();
      return;
    }
    this.#requestVotes(false);
  }

  #becomeLeader(): void {
    const grantingVoters = [...this.#votesGranted].sort((a, b) => a - b);
    this.#persist(this.#epoch, this.nodeId, this.nodeId);
    this.#resetRoleState();
    const now = this.#clock.nowMs();
    this.#role = 'leader';
    this.#epochStartOffset = this.storage.endOffset();
    // Kafka's leader writes a LeaderChangeMessage first: nothing of an older epoch is committed
    // until an entry of the new epoch is, so the high watermark waits for this one. Its one record
    // is the message's value (the key, ControlRecordType LEADER_CHANGE, is implied by `control`).
    const leaderChange = encodeControlRecord({
      type: 'LeaderChange',
      leaderId: this.nodeId,
      voters: [...this.voters],
      grantingVoters,
    });
    this.storage.append([
      { offset: this.#epochStartOffset, epoch: this.#epoch, records: [leaderChange.value], control: true },
    ]);
    for (const voter of this.voters) {
      if (voter === this.nodeId) continue;
      this.#progress.set(voter, { fetchOffset: -1, lastFetchMs: now, fetchedThisEpoch: false });
    }
    this.#sendBeginQuorumEpoch(now);
    this.flush();
  }

  #resign(): void {
    // Best successors first: the voters that had fetched the most.
    const successors = this.voters
      .filter((id) => id !== this.nodeId)
      .sort(
        (a, b) => (this.#progress.get(b)?.fetchOffset ?? -1) - (this.#progress.get(a)?.fetchOffset ?? -1),
      );
    this.#resetRoleState();
    this.#role = 'resigned';
    this.#electionDeadlineMs = this.#clock.nowMs() + this.#randomElectionTimeoutMs();
    this.#listener.onResign?.();
    // Held fetches learn at once that this replica no longer leads (Kafka fails them the same way).
    this.#completeParkedFetches(() => true);
    for (const voter of this.voters) {
      if (voter === this.nodeId) continue;
      this.#send(voter, {
        kind: 'EndQuorumEpochRequest',
        leaderEpoch: this.#epoch,
        leaderId: this.nodeId,
        preferredSuccessors: successors,
      });
    }
  }

  #backOff(): void {
    this.#backingOff = true;
    this.#electionDeadlineMs =
      this.#clock.nowMs() + Math.floor(this.#random.next() * this.config.electionBackoffMaxMs);
  }

  /**
   * Learns a newer epoch (or the leader of ours) from any message. Returns false when the sender is
   * behind us, so the caller answers with our epoch.
   */
  #observeEpoch(epoch: number, leaderId: number): boolean {
    if (epoch < this.#epoch) return false;
    if (epoch > this.#epoch) {
      if (leaderId >= 0 && leaderId !== this.nodeId) this.#becomeFollower(epoch, leaderId);
      else this.#becomeUnattached(epoch, -1);
      return true;
    }
    if (leaderId >= 0 && leaderId !== this.nodeId && this.#leaderId < 0)
      this.#becomeFollower(epoch, leaderId);
    return true;
  }

  // ---- elections ----

  #requestVotes(preVote: boolean): void {
    const candidateEpoch = preVote ? this.#epoch + 1 : this.#epoch;
    for (const voter of this.voters) {
      if (voter === this.nodeId) continue;
      this.#send(voter, {
        kind: 'VoteRequest',
        candidateEpoch,
        candidateId: this.nodeId,
        lastOffsetEpoch: this.storage.lastEpoch(),
        lastOffset: this.storage.endOffset(),
        preVote,
      });
    }
  }

  #logIsUpToDate(lastEpoch: number, lastOffset: number): boolean {
    const ourEpoch = this.storage.lastEpoch();
    if (lastEpoch !== ourEpoch) return lastEpoch > ourEpoch;
    return lastOffset >= this.storage.endOffset();
  }

  #onVoteRequest(from: number, request: VoteRequest): void {
    const answer = (granted: boolean, errorCode: number = RaftError.NONE): void =>
      this.#send(from, {
        kind: 'VoteResponse',
        errorCode,
        leaderEpoch: this.#epoch,
        leaderId: this.#liveLeaderId(),
        voteGranted: granted,
        candidateEpoch: request.candidateEpoch,
        preVote: request.preVote,
      });
    if (!this.voters.includes(from) || request.candidateId !== from) {
      answer(false, RaftError.INCONSISTENT_VOTER_SET);
      return;
    }
    if (request.preVote && request.candidateEpoch - 1 > this.#epoch) {
      // The sender already is in a newer epoch (its own failed candidacy). Epochs only go forward:
      // without learning it, a leader of our older epoch could never take the sender back, and
      // the sender could never win with a shorter log. Learning an epoch is always safe.
      this.#becomeUnattached(request.candidateEpoch - 1, -1);
    }
    const upToDate = this.#logIsUpToDate(request.lastOffsetEpoch, request.lastOffset);
    if (request.preVote) {
      // KIP-996: a pre-vote changes nothing here. It is refused while we know a live leader, so a
      // replica that was cut off cannot unseat a healthy leader when it comes back.
      const leaderAlive =
        this.#role === 'leader' || (this.#role === 'follower' && this.#leaderRecentlyHeard());
      answer(request.candidateEpoch > this.#epoch && upToDate && !leaderAlive);
      return;
    }
    if (request.candidateEpoch < this.#epoch) {
      answer(false, RaftError.FENCED_LEADER_EPOCH);
      return;
    }
    if (request.candidateEpoch > this.#epoch) this.#becomeUnattached(request.candidateEpoch, -1);
    const canVote =
      this.#leaderId < 0 && (this.#votedId < 0 || this.#votedId === from) && this.#role !== 'candidate';
    if (!canVote || !upToDate) {
      answer(false);
      return;
    }
    if (this.#votedId !== from) {
      // The vote is durable before the answer leaves.
      this.#becomeUnattached(this.#epoch, from);
    }
    answer(true);
  }

  #onVoteResponse(from: number, response: VoteResponse): void {
    if (response.leaderEpoch > this.#epoch) {
      this.#observeEpoch(response.leaderEpoch, response.leaderId);
      return;
    }
    if (response.leaderEpoch === this.#epoch && response.leaderId >= 0 && response.leaderId !== this.nodeId) {
      // A voter follows a leader of our epoch: go back to it (even the one we timed out on; if it
      // is really gone, the fetch timeout brings us back here).
      if (this.#role === 'prospective' || this.#role === 'unattached')
        this.#becomeFollower(this.#epoch, response.leaderId);
      else this.#observeEpoch(response.leaderEpoch, response.leaderId);
      if (this.#role === 'follower') return;
    }
    const current =
      (response.preVote && this.#role === 'prospective' && response.candidateEpoch === this.#epoch + 1) ||
      (!response.preVote && this.#role === 'candidate' && response.candidateEpoch === this.#epoch);
    if (!current || this.#backingOff) return;
    if (response.voteGranted) this.#votesGranted.add(from);
    else this.#votesRejected.add(from);
    if (this.#hasMajority(this.#votesGranted)) {
      if (this.#role === 'prospective') this.#becomeCandidate();
      else this.#becomeLeader();
    } else if (this.#hasMajority(this.#votesRejected)) {
      this.#backOff();
    }
  }

  #onBeginQuorumEpoch(from: number, request: BeginQuorumEpochRequest): void {
    if (request.leaderEpoch >= this.#epoch && request.leaderId === from) {
      if (request.leaderEpoch > this.#epoch || this.#leaderId !== from || this.#role !== 'follower') {
        this.#becomeFollower(request.leaderEpoch, from, true);
      }
    }
    this.#send(from, {
      kind: 'BeginQuorumEpochResponse',
      errorCode: request.leaderEpoch < this.#epoch ? RaftError.FENCED_LEADER_EPOCH : RaftError.NONE,
      leaderEpoch: this.#epoch,
      leaderId: this.#liveLeaderId(),
    });
  }

  #onEndQuorumEpoch(request: EndQuorumEpochRequest): void {
    if (!this.#observeEpoch(request.leaderEpoch, request.leaderId)) return;
    if (
      this.#role !== 'follower' ||
      this.#leaderId !== request.leaderId ||
      request.leaderEpoch !== this.#epoch
    )
      return;
    // The leader resigned: stop counting it as alive, and run sooner the better placed we are.
    const position = request.preferredSuccessors.indexOf(this.nodeId);
    const delayMs = position <= 0 ? 0 : Math.floor(this.#random.next() * this.config.electionBackoffMaxMs);
    this.#lastLeaderContactMs = Number.NEGATIVE_INFINITY;
    this.#fetchDeadlineMs = Math.min(this.#fetchDeadlineMs, this.#clock.nowMs() + delayMs);
  }

  /**
   * The leader we tell others about: only one we follow or are. A replica that was leader and
   * restarted, or that stopped hearing from its leader, still remembers the leader's id for its
   * epoch but must not send others back to it.
   */
  #liveLeaderId(): number {
    if (this.#role === 'leader') return this.#leaderId;
    return this.#role === 'follower' && this.#leaderRecentlyHeard() ? this.#leaderId : -1;
  }

  #leaderRecentlyHeard(): boolean {
    return this.#clock.nowMs() - this.#lastLeaderContactMs < this.config.fetchTimeoutMs;
  }

  #hasMajority(ids: ReadonlySet<number>): boolean {
    let count = 0;
    for (const id of ids) if (this.voters.includes(id)) count++;
    return count * 2 > this.voters.length;
  }

  #randomElectionTimeoutMs(): number {
    return this.config.electionTimeoutMs + Math.floor(this.#random.next() * this.config.electionTimeoutMs);
  }

  // ---- leader ----

  #leaderTick(now: number): void {
    if (now - this.#lingerSinceMs >= this.config.appendLingerMs) this.flush();
    // Check quorum: a leader that a majority has not fetched from within 1.5 x the fetch timeout
    // may have been replaced; it stops acting as leader.
    // A fetch held here is contact that is still going on.
    const checkQuorumMs = Math.floor(this.config.fetchTimeoutMs * 1.5);
    let live = 1;
    for (const [voter, progress] of this.#progress)
      if (now - progress.lastFetchMs <= checkQuorumMs || this.#parked.has(voter)) live++;
    if (live * 2 <= this.voters.length) {
      this.#resign();
      return;
    }
    this.#completeParkedFetches((parked) => now >= parked.deadlineMs);
    if (now >= this.#beginQuorumNextMs) this.#sendBeginQuorumEpoch(now);
  }

  #sendBeginQuorumEpoch(now: number): void {
    for (const [voter, progress] of this.#progress) {
      if (progress.fetchedThisEpoch) continue;
      this.#send(voter, { kind: 'BeginQuorumEpochRequest', leaderEpoch: this.#epoch, leaderId: this.nodeId });
    }
    this.#beginQuorumNextMs = now + this.config.beginQuorumRetryMs;
  }

  #fetchError(request: FetchRequest, errorCode: number): FetchResponse {
    return {
      kind: 'FetchResponse',
      fetchId: request.fetchId,
      errorCode,
      leaderEpoch: this.#epoch,
      leaderId: this.#liveLeaderId(),
      highWatermark: -1,
      logStartOffset: this.storage.logStartOffset(),
      entries: [],
      divergingEpoch: null,
      snapshotId: null,
    };
  }

  /**
   * The answer a Fetch gets when it cannot be served from the log: an error (wrong epoch, not the
   * leader), the snapshot to fetch first, or the divergence to truncate to; null when it is valid.
   * As Kafka's `validateOffsetAndEpoch`. Changes nothing.
   */
  #fetchRefusal(request: FetchRequest): FetchResponse | null {
    if (request.currentLeaderEpoch < this.#epoch)
      return this.#fetchError(request, RaftError.FENCED_LEADER_EPOCH);
    if (request.currentLeaderEpoch > this.#epoch)
      return this.#fetchError(request, RaftError.UNKNOWN_LEADER_EPOCH);
    if (this.#role !== 'leader') return this.#fetchError(request, RaftError.NOT_LEADER_OR_FOLLOWER);
    const answer = { ...this.#fetchError(request, RaftError.NONE), highWatermark: this.#highWatermark };
    const snapshot = this.storage.snapshotId();
    const logStart = this.storage.logStartOffset();
    if (
      snapshot.endOffset > 0 &&
      (request.fetchOffset < logStart ||
        (request.fetchOffset === logStart && request.lastFetchedEpoch !== snapshot.epoch) ||
        request.lastFetchedEpoch < snapshot.epoch)
    ) {
      return { ...answer, snapshotId: snapshot };
    }
    if (request.fetchOffset > 0) {
      const end = this.storage.endOffsetForEpoch(request.lastFetchedEpoch);
      if (end.epoch !== request.lastFetchedEpoch || end.endOffset < request.fetchOffset) {
        return { ...answer, divergingEpoch: end };
      }
    }
    return null;
  }

  /** A valid Fetch's answer: the entries from its offset and the high watermark. */
  #fetchEntries(request: FetchRequest): FetchResponse {
    return {
      ...this.#fetchError(request, RaftError.NONE),
      highWatermark: this.#highWatermark,
      entries: this.storage.read(request.fetchOffset, this.config.fetchEntriesMax),
    };
  }

  #replyFetch(to: number, answer: FetchResponse): void {
    // A follower takes the high watermark only from an answer that carries no snapshot or divergence.
    if (answer.errorCode === RaftError.NONE && answer.snapshotId === null && answer.divergingEpoch === null)
      this.#sentHighWatermark.set(to, answer.highWatermark);
    this.#send(to, answer);
  }

  #onFetchRequest(from: number, request: FetchRequest): void {
    // A newer fetch from the same replica replaces a held one (its sender no longer waits for it).
    this.#parked.delete(from);
    const refusal = this.#fetchRefusal(request);
    if (refusal !== null) {
      this.#replyFetch(from, refusal);
      return;
    }
    const progress = this.#progress.get(from);
    if (progress !== undefined) {
      progress.fetchOffset = Math.max(progress.fetchOffset, request.fetchOffset);
      progress.lastFetchMs = this.#clock.nowMs();
      progress.fetchedThisEpoch = true;
      this.#maybeAdvanceHighWatermark();
    }
    const answer = this.#fetchEntries(request);
    // The long poll (Kafka's fetch purgatory): nothing to return and no news of the high watermark
    // for this replica, so hold the fetch until there is, or until its wait runs out.
    if (
      request.maxWaitMs > 0 &&
      answer.entries.length === 0 &&
      this.#sentHighWatermark.get(from) === answer.highWatermark
    ) {
      const waitMs = Math.min(request.maxWaitMs, this.config.fetchTimeoutMs);
      this.#parked.set(from, { request, deadlineMs: this.#clock.nowMs() + waitMs });
      return;
    }
    this.#replyFetch(from, answer);
  }

  /** Answers the held fetches that `due` picks, from the state as it is now. */
  #completeParkedFetches(due: (parked: ParkedFetch) => boolean): void {
    for (const [from, parked] of [...this.#parked]) {
      if (!due(parked)) continue;
      this.#parked.delete(from);
      this.#replyFetch(from, this.#fetchRefusal(parked.request) ?? this.#fetchEntries(parked.request));
    }
  }

  #maybeAdvanceHighWatermark(): void {
    const offsets = [this.storage.flushedEndOffset()];
    for (const voter of this.voters) {
      if (voter !== this.nodeId) offsets.push(this.#progress.get(voter)?.fetchOffset ?? -1);
    }
    offsets.sort((a, b) => b - a);
    const majorityOffset = offsets[Math.floor(this.voters.length / 2)] ?? -1;
    if (majorityOffset > this.#epochStartOffset && majorityOffset > this.#highWatermark) {
      this.#setHighWatermark(majorityOffset);
    }
  }

  #setHighWatermark(offset: number): void {
    if (offset > this.storage.endOffset()) {
      throw new RaftInvariantError(`high watermark ${offset} beyond the log end ${this.storage.endOffset()}`);
    }
    if (offset <= this.#highWatermark) return;
    this.#highWatermark = offset;
    // Every held fetch carries the news at once (Kafka's onUpdateLeaderHighWatermark completes them all).
    if (this.#role === 'leader') this.#completeParkedFetches(() => true);
    this.#listener.onCommit?.(offset);
  }

  #onFetchSnapshotRequest(from: number, request: FetchSnapshotRequest): void {
    let errorCode: number = RaftError.NONE;
    const snapshot = this.storage.snapshotId();
    const bytes = this.storage.snapshotBytes();
    if (request.currentLeaderEpoch < this.#epoch) errorCode = RaftError.FENCED_LEADER_EPOCH;
    else if (request.currentLeaderEpoch > this.#epoch) errorCode = RaftError.UNKNOWN_LEADER_EPOCH;
    else if (this.#role !== 'leader') errorCode = RaftError.NOT_LEADER_OR_FOLLOWER;
    else if (
      bytes === null ||
      snapshot.endOffset !== request.snapshotId.endOffset ||
      snapshot.epoch !== request.snapshotId.epoch
    ) {
      errorCode = RaftError.SNAPSHOT_NOT_FOUND;
    } else if (request.position < 0 || request.position > bytes.length) {
      errorCode = RaftError.POSITION_OUT_OF_RANGE;
    }
    const chunk =
      errorCode === RaftError.NONE && bytes !== null
        ? bytes.subarray(request.position, request.position + this.config.fetchSnapshotBytesMax)
        : new Uint8Array(0);
    this.#send(from, {
      kind: 'FetchSnapshotResponse',
      errorCode,
      leaderEpoch: this.#epoch,
      leaderId: this.#liveLeaderId(),
      snapshotId: request.snapshotId,
      size: bytes?.length ?? 0,
      position: request.position,
      bytes: chunk,
    });
  }

  // ---- follower ----

  #followerFetchIfDue(now: number): void {
    if (this.#inflightFetchId >= 0 && now - this.#inflightSentMs < this.config.requestTimeoutMs) return;
    if (this.#inflightFetchId < 0 && now < this.#nextFetchMs) return;
    this.#inflightFetchId = ++this.#fetchSeq;
    this.#inflightSentMs = now;
    const download = this.#download;
    if (download !== null) {
      this.#send(this.#leaderId, {
        kind: 'FetchSnapshotRequest',
        replicaId: this.nodeId,
        currentLeaderEpoch: this.#epoch,
        snapshotId: download.id,
        position: download.position,
      });
      return;
    }
    // Entries are acknowledged by the next fetch offset, so they must be durable first.
    this.storage.flush();
    this.#send(this.#leaderId, {
      kind: 'FetchRequest',
      fetchId: this.#inflightFetchId,
      replicaId: this.nodeId,
      currentLeaderEpoch: this.#epoch,
      fetchOffset: this.storage.endOffset(),
      lastFetchedEpoch: this.storage.lastEpoch(),
      maxWaitMs: this.config.fetchMaxWaitMs,
    });
  }

  #fetchAgain(delayMs: number): void {
    const now = this.#clock.nowMs();
    this.#inflightFetchId = -1;
    this.#nextFetchMs = now + delayMs;
    this.#followerFetchIfDue(now);
  }

  #heardFromLeader(): void {
    const now = this.#clock.nowMs();
    this.#lastLeaderContactMs = now;
    this.#fetchDeadlineMs = now + this.config.fetchTimeoutMs;
  }

  #onFetchResponse(response: FetchResponse): void {
    if (response.errorCode !== RaftError.NONE || response.leaderEpoch !== this.#epoch) {
      this.#observeEpoch(response.leaderEpoch, response.leaderId);
      if (this.#role === 'follower' && response.fetchId === this.#inflightFetchId)
        this.#fetchAgain(this.config.fetchIdleMs);
      return;
    }
    if (this.#role !== 'follower' || response.fetchId !== this.#inflightFetchId || this.#download !== null)
      return;
    this.#heardFromLeader();
    if (response.snapshotId !== null) {
      this.#download = { id: response.snapshotId, chunks: [], position: 0 };
      this.#fetchAgain(0);
      return;
    }
    if (response.divergingEpoch !== null) {
      this.#truncateToDivergence(response.divergingEpoch);
      this.#fetchAgain(0);
      return;
    }
    const first = response.entries[0];
    if (first !== undefined) {
      if (first.offset !== this.storage.endOffset()) {
        throw new RaftInvariantError(
          `fetched entries start at ${first.offset}, the log ends at ${this.storage.endOffset()}`,
        );
      }
      this.storage.append(response.entries);
      this.storage.flush();
    }
    this.#setHighWatermark(Math.min(response.highWatermark, this.storage.endOffset()));
    // With the long poll an empty answer means the leader already waited: ask again at once.
    this.#fetchAgain(first === undefined && this.config.fetchMaxWaitMs <= 0 ? this.config.fetchIdleMs : 0);
  }

  #truncateToDivergence(diverging: { epoch: number; endOffset: number }): void {
    const local = this.storage.endOffsetForEpoch(diverging.epoch);
    const point = Math.max(this.storage.logStartOffset(), Math.min(diverging.endOffset, local.endOffset));
    // The leader's end of an epoch may fall inside one of our batches of an older epoch: the whole
    // batch goes, as Kafka's LogSegment.truncateTo cuts at the start of the batch holding the offset.
    // The high watermark is a batch boundary, so this never cuts below it unless `point` does.
    const offset = this.storage.entry(point)?.offset ?? point;
    if (offset < this.#highWatermark) {
      throw new RaftInvariantError(
        `node ${this.nodeId} asked to truncate to ${offset}, below its high watermark ${this.#highWatermark}`,
      );
    }
    const previousEnd = this.storage.endOffset();
    if (offset >= previousEnd) return;
    this.#listener.onTruncate?.(offset, previousEnd);
    this.storage.truncateTo(offset);
  }

  #onFetchSnapshotResponse(response: FetchSnapshotResponse): void {
    const download = this.#download;
    if (response.leaderEpoch !== this.#epoch || response.errorCode !== RaftError.NONE) {
      this.#observeEpoch(response.leaderEpoch, response.leaderId);
      if (this.#role === 'follower' && download !== null) {
        this.#download = null;
        this.#fetchAgain(this.config.fetchIdleMs);
      }
      return;
    }
    if (
      this.#role !== 'follower' ||
      download === null ||
      response.snapshotId.endOffset !== download.id.endOffset ||
      response.snapshotId.epoch !== download.id.epoch ||
      response.position !== download.position
    ) {
      return;
    }
    this.#heardFromLeader();
    download.chunks.push(new Uint8Array(response.bytes));
    download.position += response.bytes.length;
    if (download.position < response.size) {
      this.#fetchAgain(0);
      return;
    }
    this.#download = null;
    const bytes = new Uint8Array(Buffer.concat(download.chunks));
    const previousEnd = this.storage.endOffset();
    const covered =
      download.id.endOffset <= previousEnd &&
      this.storage.entry(download.id.endOffset - 1)?.epoch === download.id.epoch;
    if (!covered) {
      if (previousEnd > download.id.endOffset)
        this.#listener.onTruncate?.(download.id.endOffset, previousEnd);
      this.storage.installSnapshot(download.id, bytes);
      this.#listener.onSnapshotInstalled?.(download.id, bytes);
      this.#setHighWatermark(download.id.endOffset);
    }
    this.#fetchAgain(0);
  }
}
