/**
 * The coordinator module inside the broker: started by the broker after its own services
 * (it imports this file and calls `extension.start(services)`), it
 * - rebuilds idempotent-producer state from the batch headers of every local log and
 *   installs it in the PRODUCER_STATE slot the produce path reads;
 * - allocates producer ids from blocks recorded in `<data dir>/coordinator/producer-id-block`;
 * - runs the group coordinator over `__consumer_offsets` (created on first need, as Kafka
 *   does on the first FindCoordinator, then loaded) and installs it in GROUP_COORDINATOR.
 */

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BrokerExtension,
  type BrokerServices,
  PRODUCER_STATE,
  type SlotKey,
  slotKey,
} from '../broker/services.ts';
import { ErrorCode } from '../protocol/errors.ts';
import type { ProducerStateView } from '../storage/index.ts';
import { asCoordinatorReplica, BrokerOffsetsLog, readNumber } from './broker-log.ts';
import { MIGRATION_POLICIES, type MigrationPolicy } from './classic-members.ts';
import { type ConsumerGroupConfig, ConsumerGroups, DEFAULT_CONSUMER_GROUP_CONFIG } from './consumer-group.ts';
import {
  DEFAULT_GROUP_COORDINATOR_CONFIG,
  GroupCoordinator,
  type GroupCoordinatorConfig,
} from './group-coordinator.ts';
import { CoordinatorLeadership, type PartitionCoordinator } from './leadership.ts';
import { OFFSETS_TOPIC_NAME } from './offsets-log.ts';
import { ProducerIdManager, type ProducerIdStore, ProducerStateTable } from './producer-state.ts';
import { TRANSACTION_STATE_TOPIC } from './transactions/coordinator.ts';
import { TRANSACTIONS, TransactionRuntime } from './transactions/runtime.ts';

/** producer.id.expiration.ms and its check interval (Kafka's defaults). */
const PRODUCER_ID_EXPIRATION_MS = 86_400_000;
const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS = 600_000;
/** transaction.abort.timed.out.transaction.cleanup.interval.ms and transaction.max.timeout.ms (Kafka's defaults). */
const TRANSACTION_ABORT_CHECK_INTERVAL_MS = 10_000;
const TRANSACTION_MAX_TIMEOUT_MS = 900_000;
/** transactional.id.expiration.ms and transaction.remove.expired.transaction.cleanup.interval.ms (Kafka's defaults). */
const TRANSACTIONAL_ID_EXPIRATION_MS = 604_800_000;
const TRANSACTIONAL_ID_EXPIRATION_CHECK_INTERVAL_MS = 3_600_000;
/** transaction.state.log.num.partitions (Kafka's default). */
const TRANSACTION_STATE_PARTITIONS = 50;

/** What the group and producer handlers reach through `context.broker.slots.get(GROUP_COORDINATOR)`. */
export class CoordinatorRuntime {
  readonly coordinator: GroupCoordinator;
  readonly producerState: ProducerStateTable;
  readonly producerIds: ProducerIdManager;
  readonly #broker: BrokerServices;
  #ensuring: Promise<number> | null = null;

  constructor(broker: BrokerServices, coordinator: GroupCoordinator, producerIds: ProducerIdManager) {
    this.#broker = broker;
    this.coordinator = coordinator;
    this.producerState = new ProducerStateTable();
    this.producerIds = producerIds;
  }

  /**
   * Makes sure `__consumer_offsets` exists and its local partitions are loaded (Kafka creates
   * it on the first FindCoordinator). Resolves with NONE or the error a client should retry on.
   */
  ensureOffsetsTopic(): Promise<number> {
    if (this.#ensuring === null) {
      this.#ensuring = this.#ensure().finally(() => {
        this.#ensuring = null;
      });
    }
    return this.#ensuring;
  }

  async #ensure(): Promise<number> {
    let topic = this.#broker.metadata().topic(OFFSETS_TOPIC_NAME);
    if (topic === undefined) {
      const brokers = this.#broker.metadata().brokers().length;
      const created = await this.#broker.topics.createTopic({
        name: OFFSETS_TOPIC_NAME,
        numPartitions: this.coordinator.config.offsetsTopicNumPartitions,
        replicationFactor: Math.max(
          1,
          Math.min(readNumber(this.#broker, 'offsets.topic.replication.factor', 3), brokers),
        ),
        configs: new Map([
          ['cleanup.policy', 'compact'],
          ['compression.type', 'producer'],
          ['segment.bytes', '104857600'],
        ]),
        internal: true,
      });
      if (created.errorCode !== ErrorCode.NONE && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      topic = this.#broker.metadata().topic(OFFSETS_TOPIC_NAME);
      if (topic === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    for (const partition of topic.partitions) {
      if (partition.leaderId !== this.#broker.nodeId) continue;
      if (this.coordinator.hasPartition(partition.partitionIndex)) continue;
      if (this.#broker.partitions.get(OFFSETS_TOPIC_NAME, partition.partitionIndex) === undefined) continue;
      await this.coordinator.loadPartition(partition.partitionIndex);
    }
    return ErrorCode.NONE;
  }

  /**
   * Drops producers idle for `expirationMs` from the broker's table and from every local log's
   * state (else a new leadership would load them back from the log).
   */
  expireProducers(nowMs: number, expirationMs: number): void {
    this.producerState.expireProducers(nowMs, expirationMs);
    for (const topic of this.#broker.metadata().topics()) {
      if (topic.name === TRANSACTION_STATE_TOPIC) continue;
      for (const partition of topic.partitions) {
        const replica = asCoordinatorReplica(
          this.#broker.partitions.get(topic.name, partition.partitionIndex),
        );
        replica?.log.expireProducers(nowMs, expirationMs);
      }
    }
  }

  /**
   * Loads producer state from every local log (start-up): each log opened from its last
   * `.snapshot` and replayed only the batches after it (src/storage); `onPartition` sees each
   * log's state too (the open and aborted transactions of the partition).
   */
  rebuildProducerState(
    onPartition?: (topic: string, partition: number, state: ProducerStateView) => void,
  ): void {
    for (const topic of this.#broker.metadata().topics()) {
      if (topic.name === TRANSACTION_STATE_TOPIC) continue;
      for (const partition of topic.partitions) {
        const replica = asCoordinatorReplica(
          this.#broker.partitions.get(topic.name, partition.partitionIndex),
        );
        if (replica === undefined) continue;
        const state = replica.log.producerStateView();
        this.producerState.loadPartition(topic.name, partition.partitionIndex, state.producers);
        for (const producerId of state.producers.keys()) this.producerIds.observe(producerId);
        onPartition?.(topic.name, partition.partitionIndex, state);
      }
    }
  }
}

export const GROUP_COORDINATOR: SlotKey<CoordinatorRuntime> = slotKey<CoordinatorRuntime>('groupCoordinator');
/** The cluster node calls its `update()` after every replayed metadata batch (src/coordinator/leadership.ts). */
export const COORDINATOR_LEADERSHIP: SlotKey<CoordinatorLeadership> =
  slotKey<CoordinatorLeadership>('coordinatorLeadership');

export function coordinatorConfig(broker: BrokerServices): GroupCoordinatorConfig {
  const d = DEFAULT_GROUP_COORDINATOR_CONFIG;
  return {
    groupMinSessionTimeoutMs: readNumber(broker, 'group.min.session.timeout.ms', d.groupMinSessionTimeoutMs),
    groupMaxSessionTimeoutMs: readNumber(broker, 'group.max.session.timeout.ms', d.groupMaxSessionTimeoutMs),
    groupInitialRebalanceDelayMs: readNumber(
      broker,
      'group.initial.rebalance.delay.ms',
      d.groupInitialRebalanceDelayMs,
    ),
    groupMaxSize: readNumber(broker, 'group.max.size', d.groupMaxSize),
    offsetsTopicNumPartitions: readNumber(
      broker,
      'offsets.topic.num.partitions',
      d.offsetsTopicNumPartitions,
    ),
    offsetsRetentionMs:
      readNumber(broker, 'offsets.retention.minutes', d.offsetsRetentionMs / 60_000) * 60_000,
    offsetsRetentionCheckIntervalMs: readNumber(
      broker,
      'offsets.retention.check.interval.ms',
      d.offsetsRetentionCheckIntervalMs,
    ),
    offsetMetadataMaxBytes: readNumber(broker, 'offset.metadata.max.bytes', d.offsetMetadataMaxBytes),
  };
}

/**
 * The `group.consumer.*` settings, Kafka's defaults when the broker's config does not define them
 * (src/broker/config.ts lists the settings `--override` accepts).
 */
export function consumerGroupConfig(broker: BrokerServices): ConsumerGroupConfig {
  const d = DEFAULT_CONSUMER_GROUP_CONFIG;
  let assignors = d.assignors;
  try {
    const text = broker.config.getString('group.consumer.assignors');
    const names = text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    // Kafka also accepts class names; kstack knows its two assignors by their short names.
    if (names.length > 0)
      assignors = names.map((name) =>
        name.replace(/^.*\.(Uniform|Range)Assignor$/, (_, n: string) => n.toLowerCase()),
      );
  } catch {
    // Not defined in this broker's config: Kafka's default.
  }
  return {
    sessionTimeoutMs: readNumber(broker, 'group.consumer.session.timeout.ms', d.sessionTimeoutMs),
    heartbeatIntervalMs: readNumber(broker, 'group.consumer.heartbeat.interval.ms', d.heartbeatIntervalMs),
    assignors,
    maxSize: readNumber(broker, 'group.consumer.max.size', d.maxSize),
    migrationPolicy: readMigrationPolicy(broker, d.migrationPolicy),
  };
}

/** group.consumer.migration.policy (case-insensitive, as Kafka's ConsumerGroupMigrationPolicy.parse). */
function readMigrationPolicy(broker: BrokerServices, fallback: MigrationPolicy): MigrationPolicy {
  let text: string;
  try {
    text = broker.config.getString('group.consumer.migration.policy');
  } catch {
    return fallback; // not defined in this broker's config: Kafka's default
  }
  const policy = MIGRATION_POLICIES.find((p) => p === text.trim().toLowerCase());
  if (policy === undefined) {
    throw new Error(
      `group.consumer.migration.policy: '${text}' is not one of ${MIGRATION_POLICIES.join(', ')}`,
    );
  }
  return policy;
}

/** The next producer-id block, as a decimal in a file replaced atomically. */
class FileProducerIdStore implements ProducerIdStore {
  readonly #path: string;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#path = join(dir, 'producer-id-block');
  }

  read(): bigint | null {
    if (!existsSync(this.#path)) return null;
    const text = readFileSync(this.#path, 'utf8').trim();
    if (!/^\d+$/.test(text)) throw new Error(`${this.#path}: expected a whole number, found '${text}'`);
    return BigInt(text);
  }

  write(nextBlockStart: bigint): void {
    const temporary = `${this.#path}.tmp`;
    writeFileSync(temporary, `${nextBlockStart}\n`);
    renameSync(temporary, this.#path);
  }
}

interface Running {
  readonly services: BrokerServices;
  readonly runtime: CoordinatorRuntime;
  readonly leadership: CoordinatorLeadership;
  readonly transactions: TransactionRuntime;
  cancelProducerExpiry: () => void;
  cancelTransactionAbort: () => void;
  cancelTransactionalIdExpiry: () => void;
  /** Set by stop: a check that finishes afterwards schedules no next one. */
  stopped: boolean;
}

/** One entry per started broker: a process may run several (tests, cluster nodes), stopped in any order. */
const running: Running[] = [];

export const extension: BrokerExtension = {
  name: 'group-coordinator',

  async start(services: BrokerServices): Promise<void> {
    // An existing topic's partition count wins over the setting, as in Kafka: groups must keep their partition.
    const existing = services.metadata().topic(OFFSETS_TOPIC_NAME)?.partitions.length;
    const config = coordinatorConfig(services);
    const coordinator = new GroupCoordinator({
      clock: services.clock,
      log: new BrokerOffsetsLog(services),
      config: existing === undefined ? config : { ...config, offsetsTopicNumPartitions: existing },
      newUuid: randomUUID,
      nodeId: services.nodeId,
    });
    coordinator.attachConsumerGroups(
      new ConsumerGroups({
        clock: services.clock,
        config: consumerGroupConfig(services),
        topics: {
          *topics() {
            for (const topic of services.metadata().topics()) {
              yield {
                topicId: topic.topicId,
                name: topic.name,
                partitionCount: topic.partitions.length,
                internal: topic.internal,
              };
            }
          },
        },
        newMemberId: randomUUID,
        classicGroupInUse: (groupId) => coordinator.classicGroupInUse(groupId),
        classicGroups: coordinator.classicGroupsPort(),
        persist: (groupId, records) => coordinator.appendRecords(groupId, records),
      }),
    );
    // A node of a cluster (more than one broker known, or none yet: the image fills by replay)
    // takes its own interleaved id blocks, so no two nodes hand out the same producer id.
    const producerIds = new ProducerIdManager(
      new FileProducerIdStore(join(services.dataDir, 'coordinator')),
      () => (services.metadata().brokers().length === 1 ? null : services.nodeId),
    );
    const runtime = new CoordinatorRuntime(services, coordinator, producerIds);
    const existingTransactionPartitions = services.metadata().topic(TRANSACTION_STATE_TOPIC)
      ?.partitions.length;
    const transactions = new TransactionRuntime(
      services,
      runtime.producerState,
      coordinator,
      () => producerIds.nextProducerId(),
      {
        numPartitions:
          existingTransactionPartitions ??
          readNumber(services, 'transaction.state.log.num.partitions', TRANSACTION_STATE_PARTITIONS),
        maxTimeoutMs: readNumber(services, 'transaction.max.timeout.ms', TRANSACTION_MAX_TIMEOUT_MS),
      },
    );
    runtime.rebuildProducerState((topic, partition, state) =>
      transactions.partitions.loadPartition(topic, partition, state),
    );
    services.slots.set(PRODUCER_STATE, transactions.producerState);
    services.slots.set(GROUP_COORDINATOR, runtime);
    services.slots.set(TRANSACTIONS, transactions);
    const leadership = new CoordinatorLeadership(
      services,
      new Map<string, PartitionCoordinator>([
        [OFFSETS_TOPIC_NAME, coordinator],
        // After the groups (map order): completing a prepared transaction may commit offsets into them.
        [TRANSACTION_STATE_TOPIC, transactions.coordinator],
      ]),
      (message) => process.stderr.write(`kstack: node ${services.nodeId}: ${message}\n`),
      (topic, partition) => transactions.rebuildPartition(topic, partition),
    );
    services.slots.set(COORDINATOR_LEADERSHIP, leadership);
    if (services.metadata().topic(OFFSETS_TOPIC_NAME) !== undefined) await runtime.ensureOffsetsTopic();
    // After the groups: completing a prepared transaction may commit offsets into them.
    if (existingTransactionPartitions !== undefined) await transactions.ensureTransactionTopic();
    const entry: Running = {
      services,
      runtime,
      leadership,
      transactions,
      cancelProducerExpiry: () => {},
      cancelTransactionAbort: () => {},
      cancelTransactionalIdExpiry: () => {},
      stopped: false,
    };
    const abortInterval = readNumber(
      services,
      'transaction.abort.timed.out.transaction.cleanup.interval.ms',
      TRANSACTION_ABORT_CHECK_INTERVAL_MS,
    );
    const scheduleTransactionAbort = () => {
      entry.cancelTransactionAbort = services.clock.setTimer(abortInterval, () => {
        transactions.coordinator.abortTimedOutTransactions();
        scheduleTransactionAbort();
      });
    };
    scheduleTransactionAbort();
    const expiration = readNumber(services, 'transactional.id.expiration.ms', TRANSACTIONAL_ID_EXPIRATION_MS);
    const expirationInterval = readNumber(
      services,
      'transaction.remove.expired.transaction.cleanup.interval.ms',
      TRANSACTIONAL_ID_EXPIRATION_CHECK_INTERVAL_MS,
    );
    const scheduleTransactionalIdExpiry = () => {
      if (entry.stopped) return;
      entry.cancelTransactionalIdExpiry = services.clock.setTimer(expirationInterval, () => {
        void transactions.coordinator
          .removeExpiredTransactionalIds(expiration)
          .finally(scheduleTransactionalIdExpiry);
      });
    };
    scheduleTransactionalIdExpiry();
    const scheduleExpiry = () => {
      entry.cancelProducerExpiry = services.clock.setTimer(PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS, () => {
        runtime.expireProducers(services.clock.nowMs(), PRODUCER_ID_EXPIRATION_MS);
        scheduleExpiry();
      });
    };
    scheduleExpiry();
    running.push(entry);
  },

  async stop(services: BrokerServices): Promise<void> {
    const index = running.findIndex((e) => e.services === services);
    if (index < 0) return;
    const [entry] = running.splice(index, 1);
    if (entry === undefined) return;
    entry.stopped = true;
    // Loads started by metadata replay finish (or fail) before the coordinators stop: one
    // finishing afterwards would re-arm their timers on a stopped broker.
    await entry.leadership.stop();
    entry.cancelProducerExpiry();
    entry.cancelTransactionAbort();
    entry.cancelTransactionalIdExpiry();
    // Marker rounds in flight finish before the logs close (a restart would redo them otherwise);
    // markers for other brokers' partitions are no longer retried, so none waits for ever.
    entry.transactions.close();
    await entry.transactions.coordinator.idle();
    entry.runtime.coordinator.consumerGroups?.stop();
    entry.runtime.coordinator.stop();
  },
};
