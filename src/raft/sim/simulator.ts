// The deterministic simulator: three RaftReplicas over one seeded scheduler, a lossy network and
// crashable in-memory disks. One seed chooses the fault rates and every fault; the same seed
// replays the same run event for event. Invariants are checked after every event.
//
// Phases: faults for `faultPhaseMs` (drops, duplicates, delays and so reordering, symmetric and
// one-way partitions, crashes losing unflushed bytes, torn writes, snapshots), then a heal phase:
// the network is made whole, every node restarted, proposals stop half-way, and at the end the
// cluster must have converged (one leader, every node's committed log identical and complete).

import { RaftInvariantError, RaftReplica } from '../replica.ts';
import { RaftStorage } from '../storage.ts';
import { entryEndOffset, type LogEntry, type RaftConfig, type RaftMessage } from '../types.ts';
import { CrashFs } from './crash-fs.ts';
import { SeededRandom } from './random.ts';

export interface SimulationOptions {
  readonly seed: number;
  readonly faultPhaseMs?: number;
  readonly healPhaseMs?: number;
  /** Stop after the first violation (always) and keep a trace of the last events for the report. */
  readonly traceEvents?: number;
}

export interface SimulationStats {
  events: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  proposals: number;
  acknowledged: number;
  crashes: number;
  tornCrashes: number;
  unflushedBytesLost: number;
  tornLogRecoveries: number;
  truncations: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  partitions: number;
  maxEpoch: number;
  committedOffsets: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | null;
  readonly simulatedMs: number;
  readonly stats: SimulationStats;
  readonly trace: readonly string[];
}

export const NODE_IDS = [1, 2, 3] as const;
const DIR = '/raft';
const TICK_MS = 10;
/** Records in one simulated proposal at most (each takes an offset, as in Kafka's metadata log). */
const PROPOSAL_RECORDS_MAX = 5;

/** Thrown by a checker: the run stops and the seed is reported. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

interface Knobs {
  dropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  proposeEveryMs: number;
  crashEveryMs: number;
  tornRate: number;
  partitionEveryMs: number;
  snapshotEveryMs: number;
  /** Chance of crashing a node within 5 ms of it persisting its quorum state (a vote, an epoch). */
  crashAfterQuorumStateRate: number;
}

interface Pending {
  readonly node: number;
  readonly incarnation: number;
  readonly epoch: number;
  readonly offset: number;
  readonly key: string;
}

class SimNode {
  readonly id: number;
  readonly fs = new CrashFs();
  readonly random: SeededRandom;
  replica: RaftReplica | null = null;
  incarnation = 0;
  /** The committed state machine: one key per committed offset from 0. */
  applied: string[] = [];
  lastEpoch = 0;
  lastHighWatermark = 0;
  constructor(id: number, random: SeededRandom) {
    this.id = id;
    this.random = random;
  }
}

interface Event {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
  readonly label: string;
}

/** A binary heap of events by (time, sequence): equal times run in the order they were scheduled. */
class EventQueue {
  readonly #heap: Event[] = [];
  get size(): number {
    return this.#heap.length;
  }
  push(event: Event): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Event, heap[parent] as Event)) break;
      [heap[i], heap[parent]] = [heap[parent] as Event, heap[i] as Event];
      i = parent;
    }
  }
  pop(): Event | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as Event, heap[m] as Event)) m = l;
        if (r < heap.length && before(heap[r] as Event, heap[m] as Event)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m] as Event, heap[i] as Event];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** The key of the record at `offset` of `entry` (a batch: one key per offset). */
function entryKey(entry: LogEntry, offset: number): string {
  const record = entry.records[offset - entry.offset] ?? new Uint8Array(0);
  return `${entry.epoch}:${entry.control ? '<leader-change>' : Buffer.from(record).toString('utf8')}`;
}

export class Simulation {
  readonly seed: number;
  readonly #random: SeededRandom;
  readonly #knobs: Knobs;
  readonly #faultPhaseMs: number;
  readonly #healPhaseMs: number;
  readonly #nodes = new Map<number, SimNode>();
  readonly #queue = new EventQueue();
  #seq = 0;
  #nowMs = 0;
  #healed = false;
  /** Links cut from -> to (one-way; a symmetric partition cuts both). */
  #cut = new Set<string>();
  /** The key committed at each offset, as first seen on any node: no node may contradict it. */
  readonly #committed: string[] = [];
  readonly #leaderOfEpoch = new Map<number, number>();
  #pending: Pending[] = [];
  readonly #acknowledged: Pending[] = [];
  #proposalCounter = 0;
  readonly #trace: string[] = [];
  readonly #traceEvents: number;
  readonly stats: SimulationStats = {
    events: 0,
    messagesSent: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    proposals: 0,
    acknowledged: 0,
    crashes: 0,
    tornCrashes: 0,
    unflushedBytesLost: 0,
    tornLogRecoveries: 0,
    truncations: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    partitions: 0,
    maxEpoch: 0,
    committedOffsets: 0,
  };
  readonly config: Partial<RaftConfig>;

  constructor(options: SimulationOptions) {
    this.seed = options.seed;
    this.#random = new SeededRandom(options.seed);
    this.#faultPhaseMs = options.faultPhaseMs ?? 12_000;
    this.#healPhaseMs = options.healPhaseMs ?? 15_000;
    this.#traceEvents = options.traceEvents ?? 40;
    const r = this.#random;
    this.#knobs = {
      dropRate: r.pick([0, 0.01, 0.05, 0.15, 0.3]),
      duplicateRate: r.pick([0, 0.02, 0.1]),
      delayMinMs: r.between(0, 5),
      delayMaxMs: r.pick([5, 20, 60, 150]),
      proposeEveryMs: r.between(15, 120),
      crashEveryMs: r.pick([800, 2000, 5000, 1_000_000]),
      tornRate: r.pick([0, 0.5, 1]),
      partitionEveryMs: r.pick([500, 1500, 4000, 1_000_000]),
      snapshotEveryMs: r.pick([300, 1500, 5000]),
      crashAfterQuorumStateRate: r.pick([0, 0, 0.1, 0.3]),
    };
    // Short timeouts make many elections in one run; Kafka's defaults make few but long outages.
    const timeScale = r.pick([0.15, 0.4, 1]);
    this.config = {
      appendLingerMs: r.pick([0, 25, 200]),
      fetchTimeoutMs: Math.round(2000 * timeScale),
      electionTimeoutMs: Math.round(1000 * timeScale),
      electionBackoffMaxMs: Math.round(1000 * timeScale),
      fetchMaxWaitMs: Math.round(500 * timeScale),
      requestTimeoutMs: Math.round(1000 * timeScale),
    };
    for (const id of NODE_IDS) {
      const node = new SimNode(id, this.#random.fork());
      node.fs.onAtomicWrite = (path) => this.#maybeCrashAfter(node, path);
      this.#nodes.set(id, node);
    }
  }

  knobs(): Readonly<Knobs> {
    return this.#knobs;
  }

  run(): SimulationResult {
    let failure: string | null = null;
    try {
      for (const node of this.#nodes.values()) this.#start(node);
      this.#schedule(this.#knobs.proposeEveryMs, 'propose', () => this.#propose());
      this.#schedule(this.#random.int(this.#knobs.crashEveryMs), 'crash', () => this.#crashSomeNode());
      this.#schedule(this.#random.int(this.#knobs.partitionEveryMs), 'partition', () => this.#repartition());
      this.#schedule(this.#knobs.snapshotEveryMs, 'snapshot', () => this.#snapshotSomeNode());
      this.#schedule(this.#faultPhaseMs, 'heal', () => this.#heal());
      const endMs = this.#faultPhaseMs + this.#healPhaseMs;
      for (;;) {
        const event = this.#queue.pop();
        if (event === undefined || event.atMs > endMs) break;
        this.#nowMs = event.atMs;
        this.stats.events++;
        this.#note(`${event.atMs}ms ${event.label}`);
        event.run();
        this.#checkStep();
      }
      this.#nowMs = endMs;
      this.#checkConverged();
    } catch (error) {
      const kind =
        error instanceof InvariantViolation || error instanceof RaftInvariantError ? '' : 'unexpected ';
      failure = `${kind}${(error as Error).name}: ${(error as Error).message} (at ${this.#nowMs} ms)`;
      if (!(error instanceof InvariantViolation) && !(error instanceof RaftInvariantError)) {
        failure += `\n${(error as Error).stack ?? ''}`;
      }
    }
    this.stats.committedOffsets = this.#committed.length;
    this.stats.acknowledged = this.#acknowledged.length;
    return {
      seed: this.seed,
      ok: failure === null,
      failure,
      simulatedMs: this.#nowMs,
      stats: this.stats,
      trace: failure === null ? [] : [...this.#trace],
    };
  }

  // ---- scheduling ----

  #schedule(delayMs: number, label: string, run: () => void): void {
    this.#queue.push({ atMs: this.#nowMs + Math.max(0, Math.floor(delayMs)), seq: this.#seq++, run, label });
  }

  #note(line: string): void {
    if (this.#traceEvents <= 0) return;
    this.#trace.push(line);
    if (this.#trace.length > this.#traceEvents) this.#trace.shift();
  }

  #node(id: number): SimNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  // ---- nodes ----

  #start(node: SimNode): void {
    const storage = new RaftStorage(node.fs, DIR);
    if (storage.recovery.truncatedBytes > 0) this.stats.tornLogRecoveries++;
    const incarnation = ++node.incarnation;
    const snapshot = storage.snapshotBytes();
    node.applied = snapshot === null ? [] : (JSON.parse(Buffer.from(snapshot).toString('utf8')) as string[]);
    if (node.applied.length !== storage.logStartOffset()) {
      throw new InvariantViolation(
        `node ${node.id}: snapshot holds ${node.applied.length} keys, log starts at ${storage.logStartOffset()}`,
      );
    }
    for (const [offset, key] of node.applied.entries()) this.#checkCommitted(node.id, offset, key);
    node.lastHighWatermark = storage.logStartOffset();
    const replica: RaftReplica = new RaftReplica({
      nodeId: node.id,
      voters: NODE_IDS,
      storage,
      clock: { nowMs: () => this.#nowMs },
      random: node.random,
      config: this.config,
      send: (to, message) => this.#send(node.id, to, message),
      listener: {
        onCommit: (highWatermark) => this.#onCommit(node, incarnation, highWatermark),
        onTruncate: (offset, previousEnd) => this.#onTruncate(node, offset, previousEnd),
        onSnapshotInstalled: (id, bytes) => {
          this.stats.snapshotsInstalled++;
          const keys = JSON.parse(Buffer.from(bytes).toString('utf8')) as string[];
          if (keys.length !== id.endOffset) {
            throw new InvariantViolation(
              `node ${node.id}: snapshot ${id.endOffset} holds ${keys.length} keys`,
            );
          }
          for (const [offset, key] of keys.entries()) this.#checkCommitted(node.id, offset, key);
          node.applied = keys;
        },
      },
    });
    node.replica = replica;
    this.#scheduleTick(node, incarnation);
  }

  #scheduleTick(node: SimNode, incarnation: number): void {
    this.#schedule(TICK_MS, `tick ${node.id}`, () => {
      if (node.incarnation !== incarnation || node.replica === null) return;
      node.replica.tick();
      this.#scheduleTick(node, incarnation);
    });
  }

  #crash(node: SimNode): void {
    const torn = this.#random.chance(this.#knobs.tornRate);
    node.replica?.storage.close();
    node.replica = null;
    node.incarnation++;
    this.stats.crashes++;
    if (torn) this.stats.tornCrashes++;
    this.stats.unflushedBytesLost += node.fs.crash(this.#random, torn);
  }

  #maybeCrashAfter(node: SimNode, path: string): void {
    if (
      this.#healed ||
      !path.endsWith('quorum-state') ||
      !this.#random.chance(this.#knobs.crashAfterQuorumStateRate)
    ) {
      return;
    }
    const incarnation = node.incarnation;
    this.#schedule(this.#random.between(0, 5), `crash ${node.id} after its quorum state`, () => {
      if (node.incarnation !== incarnation || node.replica === null) return;
      this.#crash(node);
      this.#schedule(this.#random.between(1, 200), `restart ${node.id}`, () => {
        if (node.replica === null) this.#start(node);
      });
    });
  }

  #crashSomeNode(): void {
    if (this.#healed) return;
    const live = [...this.#nodes.values()].filter((node) => node.replica !== null);
    if (live.length > 0) {
      // Half the crashes hit a leader: the crash that loses the most if the rules are wrong.
      const leaders = live.filter((node) => node.replica?.role() === 'leader');
      const node =
        leaders.length > 0 && this.#random.chance(0.5) ? this.#random.pick(leaders) : this.#random.pick(live);
      this.#note(`crash node ${node.id}`);
      this.#crash(node);
      this.#schedule(this.#random.between(10, 3000), `restart ${node.id}`, () => {
        if (node.replica === null) this.#start(node);
      });
    }
    this.#schedule(this.#random.int(2 * this.#knobs.crashEveryMs), 'crash', () => this.#crashSomeNode());
  }

  #snapshotSomeNode(): void {
    const node = this.#random.pick([...this.#nodes.values()]);
    const replica = node.replica;
    if (replica !== null) {
      const start = replica.storage.logStartOffset();
      const highWatermark = replica.highWatermark();
      if (highWatermark - start >= 4) {
        // Snapshots end at batch boundaries: the end of the batch holding a random committed offset.
        const within = replica.storage.entry(this.#random.between(start, highWatermark - 1));
        if (within === undefined)
          throw new InvariantViolation(`node ${node.id}: committed offset not in its log`);
        const endOffset = entryEndOffset(within);
        const bytes = Buffer.from(JSON.stringify(node.applied.slice(0, endOffset)), 'utf8');
        replica.createSnapshot(endOffset, bytes);
        this.stats.snapshotsTaken++;
      }
    }
    this.#schedule(this.#random.between(1, 2 * this.#knobs.snapshotEveryMs), 'snapshot', () =>
      this.#snapshotSomeNode(),
    );
  }

  // ---- network ----

  #send(from: number, to: number, message: RaftMessage): void {
    this.stats.messagesSent++;
    if (this.#cut.has(`${from}>${to}`) || this.#random.chance(this.#healed ? 0 : this.#knobs.dropRate)) {
      this.stats.messagesDropped++;
      return;
    }
    const copies = !this.#healed && this.#random.chance(this.#knobs.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.messagesDuplicated++;
    for (let i = 0; i < copies; i++) {
      // A healed network is a healthy one: fast as well as whole.
      const delayMs = this.#healed
        ? this.#random.between(0, 5)
        : this.#random.between(this.#knobs.delayMinMs, this.#knobs.delayMaxMs);
      this.#schedule(delayMs, `${message.kind} ${from}->${to}`, () => {
        const target = this.#node(to);
        if (target.replica === null || this.#cut.has(`${from}>${to}`)) {
          this.stats.messagesDropped++;
          return;
        }
        target.replica.handle(from, message);
      });
    }
  }

  #repartition(): void {
    if (this.#healed) return;
    this.#cut.clear();
    const choice = this.#random.int(4);
    const ids = [...NODE_IDS];
    if (choice === 1) {
      const isolated = this.#random.pick(ids);
      for (const other of ids) {
        if (other === isolated) continue;
        this.#cut.add(`${isolated}>${other}`);
        this.#cut.add(`${other}>${isolated}`);
      }
    } else if (choice >= 2) {
      const cuts = choice === 2 ? 1 : 2;
      for (let i = 0; i < cuts; i++) {
        const from = this.#random.pick(ids);
        const to = this.#random.pick(ids.filter((id) => id !== from));
        this.#cut.add(`${from}>${to}`);
      }
    }
    if (this.#cut.size > 0) this.stats.partitions++;
    this.#note(`links cut: ${[...this.#cut].join(' ') || 'none'}`);
    this.#schedule(this.#random.int(2 * this.#knobs.partitionEveryMs), 'partition', () =>
      this.#repartition(),
    );
  }

  #heal(): void {
    this.#healed = true;
    this.#cut.clear();
    for (const node of this.#nodes.values()) if (node.replica === null) this.#start(node);
    this.#schedule(this.#healPhaseMs / 2, 'stop proposals', () => {
      this.#proposalsStopped = true;
    });
  }

  #proposalsStopped = false;

  // ---- clients ----

  #propose(): void {
    if (this.#proposalsStopped) return;
    const leaders = [...this.#nodes.values()].filter((node) => node.replica?.role() === 'leader');
    if (leaders.length > 0) {
      const node = this.#random.pick(leaders);
      const replica = node.replica as RaftReplica;
      // A batch of 1 to PROPOSAL_RECORDS_MAX records, one offset each, as Kafka's metadata log.
      const proposal = ++this.#proposalCounter;
      const payloads = Array.from(
        { length: this.#random.between(1, PROPOSAL_RECORDS_MAX) },
        (_, i) => `p${proposal}.${i}`,
      );
      const { offset, epoch } = replica.propose(payloads.map((payload) => Buffer.from(payload, 'utf8')));
      this.stats.proposals++;
      for (const [i, payload] of payloads.entries()) {
        this.#pending.push({
          node: node.id,
          incarnation: node.incarnation,
          epoch,
          offset: offset + i,
          key: `${epoch}:${payload}`,
        });
      }
    }
    this.#schedule(this.#random.between(1, 2 * this.#knobs.proposeEveryMs), 'propose', () => this.#propose());
  }

  // ---- checkers ----

  #checkCommitted(nodeId: number, offset: number, key: string): void {
    const known = this.#committed[offset];
    if (known === undefined) {
      if (offset > this.#committed.length) {
        throw new InvariantViolation(
          `node ${nodeId} committed offset ${offset} before offset ${this.#committed.length}`,
        );
      }
      this.#committed[offset] = key;
    } else if (known !== key) {
      throw new InvariantViolation(
        `committed logs differ at offset ${offset}: node ${nodeId} has ${key}, another node committed ${known}`,
      );
    }
  }

  #onCommit(node: SimNode, incarnation: number, highWatermark: number): void {
    const replica = node.replica;
    if (replica === null || node.incarnation !== incarnation) return;
    for (let offset = node.applied.length; offset < highWatermark; offset++) {
      const entry = replica.storage.entry(offset);
      if (entry === undefined) {
        throw new InvariantViolation(`node ${node.id}: committed offset ${offset} is not in its log`);
      }
      const key = entryKey(entry, offset);
      this.#checkCommitted(node.id, offset, key);
      node.applied.push(key);
    }
    if (replica.role() !== 'leader') return;
    const still: Pending[] = [];
    for (const pending of this.#pending) {
      if (
        pending.node === node.id &&
        pending.incarnation === incarnation &&
        pending.epoch === replica.epoch() &&
        pending.offset < highWatermark
      ) {
        if (node.applied[pending.offset] !== pending.key) {
          throw new InvariantViolation(
            `node ${node.id} committed ${node.applied[pending.offset]} at ${pending.offset} where it appended ${pending.key}`,
          );
        }
        this.#acknowledged.push(pending);
      } else if (pending.incarnation === this.#node(pending.node).incarnation) {
        still.push(pending);
      }
    }
    this.#pending = still;
  }

  #onTruncate(node: SimNode, offset: number, previousEnd: number): void {
    this.stats.truncations++;
    const replica = node.replica as RaftReplica;
    if (offset < replica.highWatermark()) {
      throw new InvariantViolation(
        `node ${node.id} truncates to ${offset}, below its high watermark ${replica.highWatermark()}`,
      );
    }
    for (let o = Math.max(offset, replica.storage.logStartOffset()); o < previousEnd; o++) {
      const entry = replica.storage.entry(o);
      if (entry !== undefined && this.#committed[o] === entryKey(entry, o)) {
        throw new InvariantViolation(
          `node ${node.id} truncates committed entry ${entryKey(entry, o)} at offset ${o}`,
        );
      }
    }
  }

  #checkStep(): void {
    for (const node of this.#nodes.values()) {
      const replica = node.replica;
      if (replica === null) continue;
      const epoch = replica.epoch();
      if (epoch < node.lastEpoch) {
        throw new InvariantViolation(`node ${node.id}: epoch went back from ${node.lastEpoch} to ${epoch}`);
      }
      node.lastEpoch = epoch;
      this.stats.maxEpoch = Math.max(this.stats.maxEpoch, epoch);
      const highWatermark = replica.highWatermark();
      if (highWatermark < node.lastHighWatermark) {
        throw new InvariantViolation(
          `node ${node.id}: high watermark went back from ${node.lastHighWatermark} to ${highWatermark}`,
        );
      }
      node.lastHighWatermark = highWatermark;
      if (highWatermark > replica.storage.endOffset()) {
        throw new InvariantViolation(`node ${node.id}: high watermark ${highWatermark} beyond its log end`);
      }
      if (node.applied.length !== highWatermark) {
        throw new InvariantViolation(
          `node ${node.id}: applied ${node.applied.length}, high watermark ${highWatermark}`,
        );
      }
      if (replica.role() === 'leader') {
        const leader = this.#leaderOfEpoch.get(epoch);
        if (leader !== undefined && leader !== node.id) {
          throw new InvariantViolation(`two leaders in epoch ${epoch}: nodes ${leader} and ${node.id}`);
        }
        this.#leaderOfEpoch.set(epoch, node.id);
      }
    }
  }

  /** One line per node: role, epoch, leader, vote, high watermark, log range. */
  describeNodes(): string {
    return [...this.#nodes.values()]
      .map((node) => {
        const r = node.replica;
        if (r === null) return `node ${node.id}: down`;
        return `node ${node.id}: ${r.role()} epoch ${r.epoch()} leader ${r.leaderId()} voted ${r.votedId()} hw ${r.highWatermark()} log [${r.storage.logStartOffset()}, ${r.storage.endOffset()}) last epoch ${r.storage.lastEpoch()}`;
      })
      .join('; ');
  }

  #checkConverged(): void {
    this.#note(`final: ${this.describeNodes()}`);
    const live = [...this.#nodes.values()];
    const leaders = live.filter((node) => node.replica?.role() === 'leader');
    const maxEpoch = Math.max(...live.map((node) => node.replica?.epoch() ?? 0));
    const leader = leaders.find((node) => node.replica?.epoch() === maxEpoch);
    if (leader === undefined || leader.replica === null) {
      throw new InvariantViolation(
        `no leader in epoch ${maxEpoch} after ${this.#healPhaseMs} ms of a healed network`,
      );
    }
    const leaderHighWatermark = leader.replica.highWatermark();
    if (leaderHighWatermark !== leader.replica.storage.endOffset()) {
      throw new InvariantViolation(
        `leader ${leader.id} did not commit its log after the heal: high watermark ${leaderHighWatermark}, log end ${leader.replica.storage.endOffset()}`,
      );
    }
    for (const node of live) {
      if (node.replica?.highWatermark() !== leaderHighWatermark) {
        throw new InvariantViolation(
          `node ${node.id} did not catch up: high watermark ${node.replica?.highWatermark()}, leader's ${leaderHighWatermark}`,
        );
      }
      if (node.applied.join('\n') !== leader.applied.join('\n')) {
        throw new InvariantViolation(`node ${node.id}'s committed log differs from leader ${leader.id}'s`);
      }
    }
    for (const acked of this.#acknowledged) {
      for (const node of live) {
        if (node.applied[acked.offset] !== acked.key) {
          throw new InvariantViolation(
            `acknowledged ${acked.key} at offset ${acked.offset} lost on node ${node.id} (has ${node.applied[acked.offset]})`,
          );
        }
      }
    }
  }
}

export function simulate(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

/** The one command that replays a seed. */
export function replayCommand(seed: number): string {
  return `node src/raft/sim/run.ts --seed ${seed}`;
}
