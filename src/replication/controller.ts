// The controller's side of partition replication, as an authoritative in-memory stub: broker
// registrations and epochs, fencing on missed heartbeats, leader election from the ISR (unclean
// election off), and AlterPartition with Kafka's checks (ReplicationControlManager), KIP-903's
// broker-epoch check included. In the cluster this state lives in the KRaft metadata log; here a
// change is committed at once. Sans I/O: time and delivery of state are passed in.

import {
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  ErrorCode,
  type ErrorCodeValue,
  NO_LEADER,
  type PartitionState,
} from './types.ts';

interface BrokerRegistration {
  epoch: number;
  fenced: boolean;
  lastHeartbeatMs: number;
}

export interface PartitionControllerOptions {
  readonly replicas: readonly number[];
  readonly partitions: number;
  /** broker.session.timeout.ms (Kafka: 9000). */
  readonly sessionTimeoutMs: number;
  readonly nowMs: () => number;
  /** Called with every committed partition state; the caller delivers it to brokers. */
  readonly onStateChange: (state: PartitionState) => void;
}

export class PartitionController {
  readonly #options: PartitionControllerOptions;
  readonly #brokers = new Map<number, BrokerRegistration>();
  readonly #partitions: PartitionState[] = [];
  /** Stands for the metadata log offset a broker epoch is taken from. */
  #metadataOffset = 0;
  /** Every (partition, leaderEpoch) → leader ever committed, for the one-leader-per-epoch check. */
  readonly leaderHistory = new Map<string, number>();

  constructor(options: PartitionControllerOptions) {
    this.#options = options;
    for (let p = 0; p < options.partitions; p++) {
      // Spread leaders: partition p's replica list starts at broker p mod n, as Kafka's assignor does.
      const n = options.replicas.length;
      const replicas = options.replicas.map((_, i) => options.replicas[(i + p) % n] as number);
      this.#partitions.push({
        partition: p,
        replicas,
        isr: [...replicas],
        leader: NO_LEADER,
        leaderEpoch: 0,
        partitionEpoch: 0,
      });
    }
  }

  partitionState(partition: number): PartitionState {
    const state = this.#partitions[partition];
    if (state === undefined) throw new RangeError(`no partition ${partition}`);
    return state;
  }
  get partitionCount(): number {
    return this.#partitions.length;
  }
  brokerEpoch(brokerId: number): number {
    return this.#brokers.get(brokerId)?.epoch ?? -1;
  }
  isFenced(brokerId: number): boolean {
    return this.#brokers.get(brokerId)?.fenced ?? true;
  }

  /** A broker (re)starts: a new epoch. A restart is an unclean shutdown: the broker leaves every ISR it can leave. */
  register(brokerId: number): number {
    const epoch = ++this.#metadataOffset;
    const previous = this.#brokers.get(brokerId);
    this.#brokers.set(brokerId, { epoch, fenced: false, lastHeartbeatMs: this.#options.nowMs() });
    if (previous !== undefined) this.#removeFromIsrs(brokerId);
    this.#electWhereLeaderless();
    return epoch;
  }

  heartbeat(brokerId: number, brokerEpoch: number): void {
    const broker = this.#brokers.get(brokerId);
    if (broker === undefined || broker.epoch !== brokerEpoch) return;
    broker.lastHeartbeatMs = this.#options.nowMs();
    if (broker.fenced) {
      broker.fenced = false;
      this.#electWhereLeaderless();
    }
  }

  /** Fences brokers whose session expired: out of every ISR, leaders moved. */
  tick(): void {
    const now = this.#options.nowMs();
    for (const [id, broker] of this.#brokers) {
      if (broker.fenced || now - broker.lastHeartbeatMs <= this.#options.sessionTimeoutMs) continue;
      broker.fenced = true;
      this.#removeFromIsrs(id);
    }
  }

  #removeFromIsrs(brokerId: number): void {
    for (const state of this.#partitions) {
      if (!state.isr.includes(brokerId) && state.leader !== brokerId) continue;
      // The ISR never becomes empty: its last member stays, so it alone may lead again.
      const isr = state.isr.length > 1 ? state.isr.filter((id) => id !== brokerId) : state.isr;
      const leader =
        state.leader === brokerId ? this.#chooseLeader(state.replicas, isr, brokerId) : state.leader;
      this.#commit(state, {
        isr,
        leader,
        leaderEpoch: leader !== state.leader ? state.leaderEpoch + 1 : state.leaderEpoch,
      });
    }
  }

  #electWhereLeaderless(): void {
    for (const state of this.#partitions) {
      if (state.leader !== NO_LEADER) continue;
      const leader = this.#chooseLeader(state.replicas, state.isr, NO_LEADER);
      if (leader !== NO_LEADER) this.#commit(state, { leader, leaderEpoch: state.leaderEpoch + 1 });
    }
  }

  /** The first replica in assignment order that is in the ISR and unfenced (unclean election off). */
  #chooseLeader(replicas: readonly number[], isr: readonly number[], excluded: number): number {
    for (const id of replicas) {
      if (id !== excluded && isr.includes(id) && !this.isFenced(id)) return id;
    }
    return NO_LEADER;
  }

  #commit(state: PartitionState, change: Partial<PartitionState>): void {
    const next: PartitionState = { ...state, ...change, partitionEpoch: state.partitionEpoch + 1 };
    this.#partitions[state.partition] = next;
    if (next.leader !== NO_LEADER) {
      const key = `${next.partition}/${next.leaderEpoch}`;
      const before = this.leaderHistory.get(key);
      if (before !== undefined && before !== next.leader)
        throw new Error(`controller elected ${next.leader} and ${before} in ${key}`);
      this.leaderHistory.set(key, next.leader);
    }
    this.#options.onStateChange(next);
  }

  alterPartition(request: AlterPartitionRequest): AlterPartitionResponse {
    const state = this.#partitions[request.partition];
    const answer = (errorCode: ErrorCodeValue): AlterPartitionResponse => ({
      type: 'alter-partition-response',
      partition: request.partition,
      errorCode,
      state: this.#partitions[request.partition] ?? null,
      correlationId: request.correlationId,
    });
    if (state === undefined) return answer(ErrorCode.INVALID_REQUEST);
    const sender = this.#brokers.get(request.brokerId);
    if (sender === undefined || sender.epoch !== request.brokerEpoch)
      return answer(ErrorCode.STALE_BROKER_EPOCH);
    if (request.leaderEpoch > state.leaderEpoch || request.partitionEpoch > state.partitionEpoch)
      return answer(ErrorCode.NOT_CONTROLLER);
    if (request.leaderEpoch < state.leaderEpoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    if (request.brokerId !== state.leader) return answer(ErrorCode.INVALID_REQUEST);
    if (request.partitionEpoch < state.partitionEpoch) return answer(ErrorCode.INVALID_UPDATE_VERSION);
    const isr = request.newIsrWithEpochs.map((m) => m.brokerId);
    if (
      !isr.includes(state.leader) ||
      !isr.every((id) => state.replicas.includes(id)) ||
      new Set(isr).size !== isr.length
    )
      return answer(ErrorCode.INVALID_REQUEST);
    for (const member of request.newIsrWithEpochs) {
      const broker = this.#brokers.get(member.brokerId);
      // KIP-903: a member named with an epoch other than its current registration (it restarted,
      // perhaps with an empty disk) cannot join; nor a fenced one.
      if (broker === undefined || broker.fenced || broker.epoch !== member.brokerEpoch)
        return answer(ErrorCode.INELIGIBLE_REPLICA);
    }
    this.#commit(state, { isr });
    return answer(ErrorCode.NONE);
  }
}
