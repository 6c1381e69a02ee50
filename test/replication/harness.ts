// A hand-driven cluster for the staged failure cases: three PartitionReplicas over MemoryReplicaLogs,
// the controller stub, and a message queue the test delivers, cuts or drops explicitly.

import { PartitionController } from '../../src/replication/controller.ts';
import { MemoryReplicaLog } from '../../src/replication/log.ts';
import { PartitionReplica } from '../../src/replication/replica.ts';
import type {
  AlterPartitionRequest,
  AppendResult,
  LogEntry,
  ReplicaMessage,
  ReplicationConfig,
} from '../../src/replication/types.ts';

export const TEST_CONFIG: ReplicationConfig = {
  replicaLagTimeMaxMs: 100,
  minInsyncReplicas: 2,
  fetchIdleMs: 10,
  requestTimeoutMs: 200,
  produceTimeoutMs: 5000,
  fetchEntriesMax: 100,
  pendingAppendsMax: 100,
};

const CONTROLLER = 0;

interface Queued {
  readonly from: number;
  readonly to: number;
  readonly message: ReplicaMessage | AlterPartitionRequest;
}

export class Cluster {
  nowMs = 0;
  readonly controller: PartitionController;
  readonly logs = new Map<number, MemoryReplicaLog>();
  readonly replicas = new Map<number, PartitionReplica>();
  readonly truncations: { node: number; offset: number; removed: readonly LogEntry[] }[] = [];
  /** Directed links cut: "from>to" (0 is the controller). */
  readonly cut = new Set<string>();
  /** Messages held back on purpose (delivered when the test says). */
  readonly held: Queued[] = [];
  holdAlterPartition = false;
  #queue: Queued[] = [];

  constructor(sessionTimeoutMs = 300) {
    this.controller = new PartitionController({
      replicas: [1, 2, 3],
      partitions: 1,
      sessionTimeoutMs,
      nowMs: () => this.nowMs,
      onStateChange: (state) => {
        for (const id of [1, 2, 3])
          this.#queue.push({ from: CONTROLLER, to: id, message: { type: 'partition-state', state } });
      },
    });
    for (const id of [1, 2, 3]) this.logs.set(id, new MemoryReplicaLog());
  }

  log(id: number): MemoryReplicaLog {
    const log = this.logs.get(id);
    if (log === undefined) throw new Error(`no log ${id}`);
    return log;
  }

  replica(id: number): PartitionReplica {
    const replica = this.replicas.get(id);
    if (replica === undefined) throw new Error(`broker ${id} is down`);
    return replica;
  }

  start(id: number): void {
    const brokerEpoch = this.controller.register(id);
    const replica = new PartitionReplica({
      nodeId: id,
      brokerEpoch,
      partition: 0,
      log: this.log(id),
      clock: { nowMs: () => this.nowMs },
      config: TEST_CONFIG,
      send: (to, message) =>
        this.#queue.push({ from: id, to: to === 'controller' ? CONTROLLER : to, message }),
      listener: { onTruncate: (offset, removed) => this.truncations.push({ node: id, offset, removed }) },
    });
    this.replicas.set(id, replica);
    replica.applyPartitionState(this.controller.partitionState(0));
  }

  crash(id: number): void {
    this.log(id).crash();
    this.replicas.delete(id);
  }

  isolate(id: number): void {
    for (const other of [CONTROLLER, 1, 2, 3])
      if (other !== id) this.cut.add(`${id}>${other}`).add(`${other}>${id}`);
  }

  heal(): void {
    this.cut.clear();
  }

  produce(id: number, value: string): AppendResult[] {
    const results: AppendResult[] = [];
    this.replica(id).appendAsLeader(value, (result) => results.push(result));
    return results;
  }

  /** Advances time in 10 ms steps, delivering messages, ticking replicas and heartbeating. */
  run(ms: number): void {
    for (let t = 0; t < ms; t += 10) {
      this.nowMs += 10;
      this.deliver();
      this.controller.tick();
      for (const [id, replica] of this.replicas) {
        if (!this.cut.has(`${id}>${CONTROLLER}`)) this.controller.heartbeat(id, replica.brokerEpoch);
        replica.tick();
      }
      this.deliver();
    }
  }

  deliver(): void {
    for (let round = 0; round < 20 && this.#queue.length > 0; round++) {
      const queue = this.#queue;
      this.#queue = [];
      for (const item of queue) this.#deliverOne(item);
    }
  }

  deliverHeld(): void {
    const held = this.held.splice(0);
    for (const item of held) this.#deliverOne(item);
    this.deliver();
  }

  #deliverOne(item: Queued): void {
    if (this.cut.has(`${item.from}>${item.to}`)) return;
    const message = item.message;
    if (item.to === CONTROLLER) {
      if (message.type !== 'alter-partition') return;
      if (this.holdAlterPartition) {
        this.held.push(item);
        return;
      }
      this.#queue.push({ from: CONTROLLER, to: item.from, message: this.controller.alterPartition(message) });
      return;
    }
    if (message.type === 'alter-partition') return;
    this.replicas.get(item.to)?.handle(item.from === CONTROLLER ? 'controller' : item.from, message);
  }
}
