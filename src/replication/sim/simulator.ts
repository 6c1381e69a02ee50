// The deterministic replication simulator: three brokers' PartitionReplicas, the controller stub,
// producers with acks=all, one seeded network (drop, delay and so reorder, duplicate, symmetric and
// one-way cuts, a slow broker) and crashes that lose unflushed entries. One seed picks the knobs and
// every fault; the same seed replays the same run. Invariants are checked after every step.
//
// Phases: faults for `faultPhaseMs`, then a heal phase (network whole and fast, every broker up,
// produce stops half-way); at the end every replica must hold the same log, fully committed, with
// every acknowledged record.

import { SeededRandom } from '../../raft/sim/random.ts';
import { PartitionController } from '../controller.ts';
import { MemoryReplicaLog, ReplicationInvariantError } from '../log.ts';
import { PartitionReplica } from '../replica.ts';
import {
  type AlterPartitionRequest,
  ErrorCode,
  type LogEntry,
  NO_LEADER,
  type ReplicaMessage,
  type ReplicationConfig,
} from '../types.ts';

export interface SimulationOptions {
  readonly seed: number;
  readonly faultPhaseMs?: number;
  readonly healPhaseMs?: number;
  /** Keep the last N events for the failure report. */
  readonly traceEvents?: number;
}

export interface SimulationStats {
  steps: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  produced: number;
  acknowledged: number;
  notEnoughReplicas: number;
  notEnoughReplicasAfterAppend: number;
  timedOut: number;
  notLeader: number;
  crashes: number;
  unflushedEntriesLost: number;
  truncations: number;
  truncatedEntries: number;
  isrShrinks: number;
  isrExpansions: number;
  alterPartitionRejected: number;
  leaderChanges: number;
  networkChanges: number;
  partitions: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | null;
  readonly stats: SimulationStats;
  readonly trace: readonly string[];
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

const NODE_IDS = [1, 2, 3] as const;
const CONTROLLER = 0;
const STEP_MS = 5;
const TICK_EVERY_MS = 10;
const HEARTBEAT_EVERY_MS = 50;
const STATE_PUSH_EVERY_MS = 200;

type Wire =
  | ReplicaMessage
  | AlterPartitionRequest
  | { type: 'heartbeat'; brokerId: number; brokerEpoch: number };

interface InFlight {
  readonly from: number;
  readonly to: number;
  /** The receiver's incarnation at send time: a restart resets connections, so older ones are lost. */
  readonly toIncarnation: number;
  readonly message: Wire;
  readonly deliverAtMs: number;
  readonly seq: number;
}

interface Node {
  readonly id: number;
  up: boolean;
  incarnation: number;
  brokerEpoch: number;
  readonly logs: MemoryReplicaLog[];
  replicas: PartitionReplica[];
  restartAtMs: number;
}

interface Knobs {
  dropRate: number;
  duplicateRate: number;
  delayMaxMs: number;
  crashEveryMs: number;
  networkChangeEveryMs: number;
  produceEveryMs: number;
  slowDelayMs: number;
  config: ReplicationConfig;
  sessionTimeoutMs: number;
}

export function replayCommand(seed: number): string {
  return `node src/replication/sim/run.ts --seed ${seed}`;
}

export function simulate(options: SimulationOptions): SimulationResult {
  const sim = new Simulation(options);
  let failure: string | null = null;
  try {
    sim.run();
  } catch (error) {
    if (error instanceof InvariantViolation || error instanceof ReplicationInvariantError)
      failure = `${error.name}: ${error.message}`;
    else if (error instanceof Error) failure = `${error.name}: ${error.message}\n${error.stack ?? ''}`;
    else throw error;
  }
  return { seed: options.seed, ok: failure === null, failure, stats: sim.stats, trace: sim.trace };
}

class Simulation {
  readonly random: SeededRandom;
  readonly knobs: Knobs;
  readonly stats: SimulationStats;
  readonly trace: string[] = [];
  readonly #traceMax: number;
  readonly #faultPhaseMs: number;
  readonly #healPhaseMs: number;
  nowMs = 0;
  #seq = 0;
  #inFlight: InFlight[] = [];
  readonly #nodes: Node[] = [];
  readonly #controller: PartitionController;
  /** Directed links cut: "from>to". */
  #cut = new Set<string>();
  #slowNode = -1;
  #healed = false;
  #producing = true;
  #produceCount = 0;
  /** Per partition: the one committed history (offset → entry) every replica must agree with. */
  readonly #committed: LogEntry[][] = [];
  /** Per partition: acknowledged offset → value and the leader epoch it was written (and acknowledged) in. */
  readonly #acked: Map<number, { value: string; epoch: number }>[] = [];
  readonly #leaderOfEpoch = new Map<string, number>();
  /** Per node and partition: HW verified against the history so far, and the last HW seen (monotonic). */
  readonly #verifiedTo = new Map<string, number>();
  readonly #lastHw = new Map<string, number>();
  #newLeaders: { node: number; partition: number; epoch: number }[] = [];

  constructor(options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    this.#traceMax = options.traceEvents ?? 0;
    this.#faultPhaseMs = options.faultPhaseMs ?? 8000;
    this.#healPhaseMs = options.healPhaseMs ?? 5000;
    const r = this.random;
    const partitions = r.between(1, 3);
    this.knobs = {
      dropRate: r.pick([0, 0.02, 0.1, 0.25]),
      duplicateRate: r.pick([0, 0.02, 0.1]),
      delayMaxMs: r.pick([2, 10, 40, 120]),
      crashEveryMs: r.pick([400, 1000, 3000, 1e9]),
      networkChangeEveryMs: r.pick([300, 1000, 2500]),
      produceEveryMs: r.pick([5, 15, 40]),
      slowDelayMs: r.pick([50, 300, 1000]),
      sessionTimeoutMs: r.pick([300, 900]),
      config: {
        replicaLagTimeMaxMs: r.pick([150, 300, 1000]),
        minInsyncReplicas: 2,
        fetchIdleMs: r.pick([10, 25, 50]),
        requestTimeoutMs: 400,
        produceTimeoutMs: r.pick([300, 1500]),
        fetchEntriesMax: r.pick([5, 50, 500]),
        pendingAppendsMax: 1000,
        // Scaled down with the other times (Kafka: 100 and 1000); constants, so seeds replay as before.
        alterPartitionBackoffMs: 10,
        alterPartitionBackoffMaxMs: 100,
      },
    };
    this.stats = {
      steps: 0,
      messagesSent: 0,
      messagesDropped: 0,
      messagesDuplicated: 0,
      produced: 0,
      acknowledged: 0,
      notEnoughReplicas: 0,
      notEnoughReplicasAfterAppend: 0,
      timedOut: 0,
      notLeader: 0,
      crashes: 0,
      unflushedEntriesLost: 0,
      truncations: 0,
      truncatedEntries: 0,
      isrShrinks: 0,
      isrExpansions: 0,
      alterPartitionRejected: 0,
      leaderChanges: 0,
      networkChanges: 0,
      partitions,
    };
    for (let p = 0; p < partitions; p++) {
      this.#committed.push([]);
      this.#acked.push(new Map());
    }
    let lastIsr = new Map<number, number>();
    this.#controller = new PartitionController({
      replicas: NODE_IDS,
      partitions,
      sessionTimeoutMs: this.knobs.sessionTimeoutMs,
      nowMs: () => this.nowMs,
      onStateChange: (state) => {
        const before = lastIsr.get(state.partition);
        if (before !== undefined && state.isr.length < before) this.stats.isrShrinks++;
        if (before !== undefined && state.isr.length > before) this.stats.isrExpansions++;
        lastIsr = new Map(lastIsr).set(state.partition, state.isr.length);
        this.#note(
          `controller: p${state.partition} leader ${state.leader} epoch ${state.leaderEpoch} isr [${state.isr}] pe ${state.partitionEpoch}`,
        );
        for (const id of NODE_IDS) this.#send(CONTROLLER, id, { type: 'partition-state', state });
      },
    });
    for (const id of NODE_IDS) {
      const logs: MemoryReplicaLog[] = [];
      for (let p = 0; p < partitions; p++) logs.push(new MemoryReplicaLog());
      this.#nodes.push({
        id,
        up: false,
        incarnation: 0,
        brokerEpoch: -1,
        logs,
        replicas: [],
        restartAtMs: 0,
      });
    }
    for (const node of this.#nodes) this.#start(node);
  }

  run(): void {
    const end = this.#faultPhaseMs + this.#healPhaseMs;
    while (this.nowMs < end) {
      this.nowMs += STEP_MS;
      this.stats.steps++;
      if (!this.#healed && this.nowMs >= this.#faultPhaseMs) this.#heal();
      if (this.#healed && this.nowMs >= this.#faultPhaseMs + this.#healPhaseMs / 2) this.#producing = false;
      this.#deliver();
      if (this.nowMs % TICK_EVERY_MS === 0) this.#tick();
      if (this.#producing && this.random.chance(STEP_MS / this.knobs.produceEveryMs)) this.#produce();
      if (!this.#healed) this.#faults();
      for (const node of this.#nodes) if (!node.up && this.nowMs >= node.restartAtMs) this.#start(node);
      this.#check();
    }
    this.#checkConverged();
  }

  #note(line: string): void {
    if (this.#traceMax === 0) return;
    this.trace.push(`${this.nowMs} ms ${line}`);
    if (this.trace.length > this.#traceMax) this.trace.shift();
  }

  // ---- nodes ----

  #start(node: Node): void {
    node.up = true;
    node.incarnation++;
    node.brokerEpoch = this.#controller.register(node.id);
    node.replicas = node.logs.map(
      (log, partition) =>
        new PartitionReplica({
          nodeId: node.id,
          brokerEpoch: node.brokerEpoch,
          partition,
          log,
          clock: { nowMs: () => this.nowMs },
          config: this.knobs.config,
          send: (to, message) => this.#send(node.id, to === 'controller' ? CONTROLLER : to, message),
          listener: {
            onTruncate: (offset, removed) => this.#onTruncate(node, partition, offset, removed),
            onBecomeLeader: (epoch) => this.#onBecomeLeader(node, partition, epoch),
          },
        }),
    );
    // A broker replays the metadata log before it serves: it starts from the committed state.
    for (let p = 0; p < node.replicas.length; p++)
      node.replicas[p]?.applyPartitionState(this.#controller.partitionState(p));
    this.#note(
      `broker ${node.id} started, epoch ${node.brokerEpoch}, logs [${node.logs.map((l) => l.logEndOffset)}]`,
    );
  }

  #crash(node: Node): void {
    node.up = false;
    this.stats.crashes++;
    for (const log of node.logs) {
      this.stats.unflushedEntriesLost += log.logEndOffset - log.flushedEndOffset;
      log.crash();
    }
    node.replicas = [];
    node.restartAtMs = this.nowMs + this.random.between(50, 1500);
    for (let p = 0; p < node.logs.length; p++) this.#verifiedTo.delete(`${node.id}/${p}`);
    this.#note(`broker ${node.id} crashed, logs now [${node.logs.map((l) => l.logEndOffset)}]`);
  }

  #tick(): void {
    this.#controller.tick();
    for (const node of this.#nodes) {
      if (!node.up) continue;
      for (const replica of node.replicas) replica.tick();
      if (this.nowMs % HEARTBEAT_EVERY_MS === 0)
        this.#send(node.id, CONTROLLER, {
          type: 'heartbeat',
          brokerId: node.id,
          brokerEpoch: node.brokerEpoch,
        });
    }
    if (this.nowMs % STATE_PUSH_EVERY_MS === 0) {
      for (let p = 0; p < this.#controller.partitionCount; p++) {
        const state = this.#controller.partitionState(p);
        for (const id of NODE_IDS) this.#send(CONTROLLER, id, { type: 'partition-state', state });
      }
    }
  }

  #produce(): void {
    const partition = this.random.int(this.stats.partitions);
    // Clients send to whoever they think leads: any broker that believes it is the leader (a
    // zombie too), and now and then a broker that is not.
    const up = this.#nodes.filter((n) => n.up);
    const leaders = up.filter((n) => n.replicas[partition]?.isLeader === true);
    const pool = leaders.length > 0 && this.random.chance(0.9) ? leaders : up;
    if (pool.length === 0) return;
    const node = this.random.pick(pool);
    const replica = node.replicas[partition];
    if (replica === undefined) return;
    const value = `v${++this.#produceCount}`;
    this.stats.produced++;
    const incarnation = node.incarnation;
    replica.appendAsLeader(value, (result) => {
      if (result.errorCode === ErrorCode.NONE) {
        if (node.incarnation !== incarnation)
          throw new InvariantViolation(`broker ${node.id} acknowledged ${value} after a restart`);
        this.stats.acknowledged++;
        const entry = replica.log.entryAt(result.offset);
        if (entry?.value !== value)
          throw new InvariantViolation(
            `acknowledged ${value} at p${partition}/${result.offset} but the leader holds ${entry?.value}`,
          );
        if (result.offset >= replica.highWatermark)
          throw new InvariantViolation(
            `acknowledged p${partition}/${result.offset} above the HW ${replica.highWatermark}`,
          );
        this.#acked[partition]?.set(result.offset, { value, epoch: entry.epoch });
      } else if (result.errorCode === ErrorCode.NOT_ENOUGH_REPLICAS) this.stats.notEnoughReplicas++;
      else if (result.errorCode === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
        this.stats.notEnoughReplicasAfterAppend++;
      else if (result.errorCode === ErrorCode.REQUEST_TIMED_OUT) this.stats.timedOut++;
      else this.stats.notLeader++;
    });
  }

  // ---- network ----

  #send(from: number, to: number, message: Wire): void {
    this.stats.messagesSent++;
    if (this.#cut.has(`${from}>${to}`) || (!this.#healed && this.random.chance(this.knobs.dropRate))) {
      this.stats.messagesDropped++;
      return;
    }
    const copies = !this.#healed && this.random.chance(this.knobs.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.messagesDuplicated++;
    const target = to === CONTROLLER ? undefined : this.#nodes[to - 1];
    for (let i = 0; i < copies; i++) {
      let delay = this.#healed ? 1 : this.random.between(1, this.knobs.delayMaxMs);
      if (from === this.#slowNode || to === this.#slowNode) delay += this.knobs.slowDelayMs;
      this.#inFlight.push({
        from,
        to,
        toIncarnation: target?.incarnation ?? 0,
        message,
        deliverAtMs: this.nowMs + delay,
        seq: ++this.#seq,
      });
    }
  }

  #deliver(): void {
    const due = this.#inFlight.filter((m) => m.deliverAtMs <= this.nowMs);
    if (due.length === 0) return;
    this.#inFlight = this.#inFlight.filter((m) => m.deliverAtMs > this.nowMs);
    due.sort((a, b) => a.deliverAtMs - b.deliverAtMs || a.seq - b.seq);
    for (const m of due) {
      if (m.to === CONTROLLER) this.#controllerReceive(m);
      else {
        const node = this.#nodes[m.to - 1];
        if (node === undefined || !node.up || node.incarnation !== m.toIncarnation) continue;
        const message = m.message;
        if (message.type === 'heartbeat' || message.type === 'alter-partition') continue;
        const partition = message.type === 'partition-state' ? message.state.partition : message.partition;
        node.replicas[partition]?.handle(m.from === CONTROLLER ? 'controller' : m.from, message);
      }
    }
  }

  #controllerReceive(m: InFlight): void {
    const message = m.message;
    if (message.type === 'heartbeat') this.#controller.heartbeat(message.brokerId, message.brokerEpoch);
    else if (message.type === 'alter-partition') {
      const response = this.#controller.alterPartition(message);
      if (response.errorCode !== ErrorCode.NONE) this.stats.alterPartitionRejected++;
      this.#send(CONTROLLER, m.from, response);
    }
  }

  #faults(): void {
    const r = this.random;
    const upCount = this.#nodes.filter((n) => n.up).length;
    if (upCount > 0 && r.chance(STEP_MS / this.knobs.crashEveryMs)) {
      // Half the crashes hit a leader.
      const leaders = this.#nodes.filter((n) => n.up && n.replicas.some((x) => x.isLeader));
      const pool = leaders.length > 0 && r.chance(0.5) ? leaders : this.#nodes.filter((n) => n.up);
      this.#crash(r.pick(pool));
    }
    if (r.chance(STEP_MS / this.knobs.networkChangeEveryMs)) {
      this.stats.networkChanges++;
      this.#cut = new Set();
      this.#slowNode = -1;
      const kind = r.int(5);
      const victim = r.pick(NODE_IDS);
      const others = [CONTROLLER, ...NODE_IDS].filter((id) => id !== victim);
      if (kind === 1) for (const o of others) this.#cut.add(`${victim}>${o}`).add(`${o}>${victim}`);
      else if (kind === 2) for (const o of others) this.#cut.add(`${o}>${victim}`);
      else if (kind === 3) {
        for (const o of NODE_IDS) if (o !== victim) this.#cut.add(`${victim}>${o}`).add(`${o}>${victim}`);
      } else if (kind === 4) this.#slowNode = victim;
      this.#note(
        `network: ${['whole', 'isolate', 'one-way in to', 'cut from brokers (controller reachable)', 'slow'][kind]} ${victim}`,
      );
    }
  }

  #heal(): void {
    this.#healed = true;
    this.#cut = new Set();
    this.#slowNode = -1;
    for (const node of this.#nodes) if (!node.up) node.restartAtMs = this.nowMs;
    this.#note('heal');
  }

  // ---- invariants ----

  #onTruncate(node: Node, partition: number, offset: number, removed: readonly LogEntry[]): void {
    this.stats.truncations++;
    this.stats.truncatedEntries += removed.length;
    const history = this.#committed[partition] ?? [];
    for (const entry of removed) {
      const committed = history[entry.offset];
      if (committed !== undefined && committed.epoch === entry.epoch && committed.value === entry.value)
        throw new InvariantViolation(
          `broker ${node.id} truncated committed p${partition}/${entry.offset} (${entry.value})`,
        );
    }
    this.#note(`broker ${node.id} truncated p${partition} to ${offset} (${removed.length} entries)`);
  }

  #onBecomeLeader(node: Node, partition: number, epoch: number): void {
    const key = `${partition}/${epoch}`;
    const before = this.#leaderOfEpoch.get(key);
    if (before !== undefined && before !== node.id)
      throw new InvariantViolation(`two leaders in p${partition} epoch ${epoch}: ${before} and ${node.id}`);
    if (before === undefined) this.stats.leaderChanges++;
    this.#leaderOfEpoch.set(key, node.id);
    this.#newLeaders.push({ node: node.id, partition, epoch });
    this.#note(
      `broker ${node.id} leads p${partition} epoch ${epoch} from ${node.logs[partition]?.logEndOffset}`,
    );
  }

  #check(): void {
    // Leader completeness: the leader of epoch E holds every record acknowledged in an epoch before
    // E. (A slow broker may take up an older epoch after records of newer epochs were acknowledged;
    // it cannot acknowledge anything itself, and the one-history check covers what it serves.)
    for (const { node: id, partition, epoch } of this.#newLeaders) {
      const log = this.#nodes[id - 1]?.logs[partition];
      for (const [offset, { value, epoch: ackedEpoch }] of this.#acked[partition] ?? []) {
        if (ackedEpoch < epoch && log?.entryAt(offset)?.value !== value)
          throw new InvariantViolation(
            `new leader ${id} of p${partition} lacks acknowledged ${value} at ${offset}`,
          );
      }
    }
    this.#newLeaders = [];
    for (const node of this.#nodes) {
      if (!node.up) continue;
      for (const replica of node.replicas) this.#checkReplica(node, replica);
    }
  }

  #checkReplica(node: Node, replica: PartitionReplica): void {
    const p = replica.partition;
    const key = `${node.id}/${p}`;
    const log = replica.log;
    const hw = log.highWatermark;
    if (hw > log.logEndOffset)
      throw new InvariantViolation(`broker ${node.id} p${p}: HW ${hw} above LEO ${log.logEndOffset}`);
    const incarnationKey = `${key}/${node.incarnation}`;
    const lastHw = this.#lastHw.get(incarnationKey) ?? 0;
    if (hw < lastHw)
      throw new InvariantViolation(`broker ${node.id} p${p}: HW went back from ${lastHw} to ${hw}`);
    this.#lastHw.set(incarnationKey, hw);
    if (replica.isLeader) {
      if (hw > log.flushedEndOffset)
        throw new InvariantViolation(
          `leader ${node.id} p${p}: HW ${hw} above its flushed end ${log.flushedEndOffset}`,
        );
      for (const id of replica.state?.isr ?? []) {
        const known = id === node.id ? hw : replica.followerEndOffset(id);
        if (known >= 0 && known < hw && hw > replica.leaderEpochStartOffset)
          throw new InvariantViolation(
            `leader ${node.id} p${p}: HW ${hw} above ISR member ${id}'s known LEO ${known}`,
          );
      }
    }
    // Everything below the HW is what a consumer may read: it must agree with the one history.
    const history = this.#committed[p] ?? [];
    for (let offset = this.#verifiedTo.get(key) ?? 0; offset < hw; offset++) {
      const entry = log.entryAt(offset);
      if (entry === undefined)
        throw new InvariantViolation(`broker ${node.id} p${p}: no entry at ${offset} below its HW ${hw}`);
      const committed = history[offset];
      if (committed === undefined) history[offset] = entry;
      else if (committed.epoch !== entry.epoch || committed.value !== entry.value)
        throw new InvariantViolation(
          `broker ${node.id} p${p}/${offset}: ${entry.value}@${entry.epoch} below HW, committed is ${committed.value}@${committed.epoch}`,
        );
    }
    this.#verifiedTo.set(key, Math.max(hw, this.#verifiedTo.get(key) ?? 0));
  }

  #checkConverged(): void {
    for (let p = 0; p < this.stats.partitions; p++) {
      const state = this.#controller.partitionState(p);
      if (state.leader === NO_LEADER)
        throw new InvariantViolation(`p${p} has no leader after the heal phase`);
      const leaderLog = this.#nodes[state.leader - 1]?.logs[p];
      if (leaderLog === undefined) throw new InvariantViolation(`p${p}: leader ${state.leader} unknown`);
      if (leaderLog.highWatermark !== leaderLog.logEndOffset)
        throw new InvariantViolation(
          `p${p}: leader ${state.leader} HW ${leaderLog.highWatermark} != LEO ${leaderLog.logEndOffset} after the heal phase`,
        );
      const expected = leaderLog.read(0, leaderLog.logEndOffset);
      for (const node of this.#nodes) {
        const log = node.logs[p];
        const actual = log?.read(0, log.logEndOffset) ?? [];
        if (JSON.stringify(actual) !== JSON.stringify(expected))
          throw new InvariantViolation(
            `p${p}: broker ${node.id}'s log (${actual.length} entries) differs from leader ${state.leader}'s (${expected.length})`,
          );
        if (log?.highWatermark !== leaderLog.logEndOffset)
          throw new InvariantViolation(
            `p${p}: broker ${node.id} HW ${log?.highWatermark} != ${leaderLog.logEndOffset} after the heal phase`,
          );
      }
      for (const [offset, { value }] of this.#acked[p] ?? [])
        if (leaderLog.entryAt(offset)?.value !== value)
          throw new InvariantViolation(`p${p}: acknowledged ${value} at ${offset} lost`);
    }
  }
}
