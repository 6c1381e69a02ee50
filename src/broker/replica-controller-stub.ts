/**
 * The one temporary seam of replication: an in-process, authoritative controller for brokers
 * that run in one process (tests, benchmarks), until the KRaft controller serves AlterPartition
 * and BrokerHeartbeat. It wraps src/replication's PartitionController (registrations and broker
 * epochs, fencing on missed heartbeats, election from the ISR, AlterPartition checks with
 * KIP-903) and pushes every committed partition state into each connected broker's metadata
 * image as a PartitionRecord, as brokers replaying the metadata log would.
 */
import { PartitionController } from '../replication/controller.ts';
import type { ErrorCodeValue, PartitionState } from '../replication/types.ts';
import type {
  AlterPartitionRequestData,
  AlterPartitionResponseData,
  ControllerChannel,
} from './controller-channel.ts';
import type { MetadataRecord } from './metadata-image.ts';

export interface StubTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: number;
  /** Topic configs (ConfigRecord), e.g. min.insync.replicas. */
  readonly configs?: Readonly<Record<string, string>>;
}

export interface StubBroker {
  readonly host: string;
  readonly port: number;
  /** Applies committed metadata records to the broker's image (called in commit order). */
  readonly replay: (records: readonly MetadataRecord[]) => void;
}

export interface StubControllerOptions {
  readonly brokerIds: readonly number[];
  readonly topics: readonly StubTopic[];
  /** broker.session.timeout.ms. */
  readonly sessionTimeoutMs: number;
  /** How often sessions are checked. */
  readonly tickMs: number;
  readonly nowMs: () => number;
}

export class StubController implements ControllerChannel {
  readonly #controller: PartitionController;
  /** Flat partition index → its topic and partition; PartitionController numbers partitions 0..n-1. */
  readonly #places: { topic: StubTopic; partition: number }[] = [];
  readonly #firstIndex = new Map<string, number>();
  readonly #topics: readonly StubTopic[];
  readonly #endpoints = new Map<number, { host: string; port: number }>();
  readonly #connected = new Map<number, StubBroker>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: StubControllerOptions) {
    this.#topics = options.topics;
    for (const topic of options.topics) {
      this.#firstIndex.set(topic.topicId, this.#places.length);
      for (let p = 0; p < topic.partitions; p++) this.#places.push({ topic, partition: p });
    }
    this.#controller = new PartitionController({
      replicas: options.brokerIds,
      partitions: this.#places.length,
      sessionTimeoutMs: options.sessionTimeoutMs,
      nowMs: options.nowMs,
      onStateChange: (state) => this.#publish([this.#partitionRecord(state)]),
    });
    this.#timer = setInterval(() => this.#controller.tick(), options.tickMs);
  }

  /** The authoritative state of a partition (what the metadata log would hold). */
  partitionState(topicId: string, partition: number): PartitionState {
    return this.#controller.partitionState((this.#firstIndex.get(topicId) ?? 0) + partition);
  }
  brokerEpoch(brokerId: number): number {
    return this.#controller.brokerEpoch(brokerId);
  }

  /** A broker (re)starts: a new broker epoch; it is given the whole metadata, then every change. */
  register(brokerId: number, broker: StubBroker): number {
    this.#endpoints.set(brokerId, { host: broker.host, port: broker.port });
    this.#connected.set(brokerId, broker);
    // Everything a new broker replays first: brokers, topics, configs, partitions as they are.
    broker.replay(this.#snapshot());
    this.#publish([this.#brokerRecord(brokerId)]);
    return this.#controller.register(brokerId);
  }

  /** The broker stopped: it receives nothing more (it stays registered until its session expires). */
  disconnect(brokerId: number): void {
    this.#connected.delete(brokerId);
  }

  brokerHeartbeat(brokerId: number, brokerEpoch: number): void {
    this.#controller.heartbeat(brokerId, brokerEpoch);
  }

  async alterPartition(request: AlterPartitionRequestData): Promise<AlterPartitionResponseData> {
    const topics = request.topics.map((topic) => ({
      topicId: topic.topicId,
      partitions: topic.partitions.map((partition) => {
        const first = this.#firstIndex.get(topic.topicId);
        if (first === undefined)
          return {
            partitionIndex: partition.partitionIndex,
            errorCode: 3,
            leaderId: -1,
            leaderEpoch: -1,
            isr: [],
            leaderRecoveryState: 0,
            partitionEpoch: -1,
          };
        const answer = this.#controller.alterPartition({
          type: 'alter-partition',
          brokerId: request.brokerId,
          brokerEpoch: request.brokerEpoch,
          partition: first + partition.partitionIndex,
          leaderEpoch: partition.leaderEpoch,
          partitionEpoch: partition.partitionEpoch,
          newIsrWithEpochs: partition.newIsrWithEpochs,
          correlationId: 0,
        });
        const state = this.#controller.partitionState(first + partition.partitionIndex);
        return {
          partitionIndex: partition.partitionIndex,
          errorCode: answer.errorCode as ErrorCodeValue,
          leaderId: state.leader,
          leaderEpoch: state.leaderEpoch,
          isr: state.isr,
          leaderRecoveryState: 0,
          partitionEpoch: state.partitionEpoch,
        };
      }),
    }));
    // Answered after the change reached the brokers' images, as Kafka answers after the commit.
    await new Promise((resolve) => setImmediate(resolve));
    return { errorCode: 0, topics };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#connected.clear();
  }

  #publish(records: readonly MetadataRecord[]): void {
    const targets = [...this.#connected.values()];
    // Delivered on a later turn: the broker is never re-entered from inside its own call.
    setImmediate(() => {
      for (const broker of targets) broker.replay(records);
    });
  }

  #snapshot(): MetadataRecord[] {
    const records: MetadataRecord[] = [];
    for (const id of this.#endpoints.keys()) records.push(this.#brokerRecord(id));
    for (const topic of this.#topics) {
      records.push({ type: 'TopicRecord', name: topic.name, topicId: topic.topicId });
      for (const [name, value] of Object.entries(topic.configs ?? {}))
        records.push({ type: 'ConfigRecord', resourceType: 2, resourceName: topic.name, name, value });
    }
    for (let i = 0; i < this.#places.length; i++)
      records.push(this.#partitionRecord(this.#controller.partitionState(i)));
    return records;
  }

  #brokerRecord(brokerId: number): MetadataRecord {
    const endpoint = this.#endpoints.get(brokerId) ?? { host: '127.0.0.1', port: 0 };
    return { type: 'RegisterBrokerRecord', brokerId, host: endpoint.host, port: endpoint.port, rack: null };
  }

  #partitionRecord(state: PartitionState): MetadataRecord {
    const place = this.#places[state.partition];
    if (place === undefined) throw new RangeError(`no partition ${state.partition}`);
    return {
      type: 'PartitionRecord',
      topicId: place.topic.topicId,
      partitionId: place.partition,
      replicas: state.replicas,
      isr: state.isr,
      leader: state.leader,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
    };
  }
}
