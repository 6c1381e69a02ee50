/**
 * On a cluster the coordinators follow partition leadership, as Kafka's do: a broker serves the
 * groups of the `__consumer_offsets` partitions it leads and the transactional ids of the
 * `__transaction_state` partitions it leads, loading a partition when it becomes its leader and
 * dropping it when another broker does. The cluster node calls `update()` after every replayed
 * metadata batch (a NoOp at least every 500 ms, so a partition whose log opens later is loaded
 * then); without it a broker loaded its partitions only when it answered a FindCoordinator
 * itself, and a broker another one named as coordinator answered NOT_COORDINATOR meanwhile.
 *
 * Loads are tracked: `stop()` refuses new ones and waits for those in flight, so none finishes
 * after its coordinator stopped (a load finishing late re-armed the group coordinator's offset
 * expiry timer, which kept a stopped node's process alive).
 *
 * Every partition this broker comes to lead (or leads in a new leader epoch) is handed to
 * `onLead`: the transactions and producers of a partition are tracked where it is led, so a new
 * leader rebuilds them from the log it replicated as a follower (without it, a follower promoted
 * by a failover knew none of the transactions aborted since its start, and read_committed
 * readers saw their records).
 */
import type { BrokerServices } from '../broker/services.ts';

/** What a coordinator offers for leadership changes of its topic. */
export interface PartitionCoordinator {
  hasPartition(partition: number): boolean;
  loadPartition(partition: number): Promise<void>;
  unloadPartition(partition: number): void;
}

interface LeaderView {
  readonly isLeader?: boolean;
  readonly leaderEpoch?: number;
}

/** Called for a partition this broker leads in a leader epoch it had not led it in yet. */
export type OnLead = (topic: string, partition: number) => void;

export class CoordinatorLeadership {
  readonly #broker: BrokerServices;
  readonly #coordinators: ReadonlyMap<string, PartitionCoordinator>;
  readonly #log: (message: string) => void;
  /** In-flight loads by `topic\0partition`. */
  readonly #loading = new Map<string, Promise<void>>();
  readonly #onLead: OnLead;
  /** The leader epoch of every partition led here, by `topic\0partition`, as last handed to `onLead`. */
  readonly #ledEpochs = new Map<string, number>();
  #stopped = false;

  /** `coordinators`: by topic name (`__consumer_offsets`, `__transaction_state`). */
  constructor(
    broker: BrokerServices,
    coordinators: ReadonlyMap<string, PartitionCoordinator>,
    log: (message: string) => void,
    onLead: OnLead = () => {},
  ) {
    this.#broker = broker;
    this.#coordinators = coordinators;
    this.#log = log;
    this.#onLead = onLead;
  }

  /** Loads the coordinator partitions led here and not loaded yet; unloads those led elsewhere now. */
  update(): void {
    if (this.#stopped) return;
    for (const [topicName, coordinator] of this.#coordinators) {
      const topic = this.#broker.metadata().topic(topicName);
      if (topic === undefined) continue;
      for (const partition of topic.partitions) {
        const index = partition.partitionIndex;
        const key = `${topicName}\0${index}`;
        if (this.#loading.has(key)) continue;
        const leads = partition.leaderId === this.#broker.nodeId && this.#leadsLocally(topicName, index);
        if (leads && !coordinator.hasPartition(index)) {
          this.#load(key, topicName, coordinator, index);
        } else if (!leads && coordinator.hasPartition(index)) {
          coordinator.unloadPartition(index);
        }
      }
    }
    this.#followLeadership();
  }

  /** Hands every partition led here in a new leader epoch to `onLead`; forgets those led elsewhere now. */
  #followLeadership(): void {
    const led = new Set<string>();
    for (const topic of this.#broker.metadata().topics()) {
      for (const partition of topic.partitions) {
        if (partition.leaderId !== this.#broker.nodeId) continue;
        const index = partition.partitionIndex;
        const replica = this.#broker.partitions.get(topic.name, index) as (LeaderView & object) | undefined;
        if (replica === undefined || replica.isLeader === false || replica.leaderEpoch === undefined)
          continue;
        const key = `${topic.name}\0${index}`;
        led.add(key);
        if (this.#ledEpochs.get(key) === replica.leaderEpoch) continue;
        this.#ledEpochs.set(key, replica.leaderEpoch);
        try {
          this.#onLead(topic.name, index);
        } catch (error) {
          this.#log(`taking over ${topic.name}-${index} as its leader: ${(error as Error).message}`);
        }
      }
    }
    for (const key of this.#ledEpochs.keys()) if (!led.has(key)) this.#ledEpochs.delete(key);
  }

  /** Starts no more loads and waits for those in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    while (this.#loading.size > 0) await Promise.allSettled([...this.#loading.values()]);
  }

  #leadsLocally(topic: string, partition: number): boolean {
    const replica = this.#broker.partitions.get(topic, partition) as (LeaderView & object) | undefined;
    // A replica without the flag (one broker) leads whatever it holds.
    return replica !== undefined && replica.isLeader !== false;
  }

  #load(key: string, topic: string, coordinator: PartitionCoordinator, partition: number): void {
    const load = coordinator
      .loadPartition(partition)
      .catch((error: unknown) => {
        // The next update tries again: leave nothing half-loaded behind.
        if (coordinator.hasPartition(partition)) coordinator.unloadPartition(partition);
        this.#log(`loading ${topic}-${partition} as its coordinator: ${(error as Error).message}`);
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, load);
  }
}
