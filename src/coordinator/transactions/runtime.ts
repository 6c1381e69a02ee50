/**
 * Transactions inside the broker: the coordinator over `__transaction_state` (created on the
 * first FindCoordinator for a transactional id, as Kafka does), the marker writer that appends
 * control batches to the local partitions, the per-partition open/aborted transactions that
 * give the last stable offset, and the produce-path check that a transactional batch belongs
 * to its producer's ongoing transaction. Installed by src/coordinator/extension.ts in the
 * TRANSACTIONS slot; the handlers (22, 24, 25, 26, 28, 61, 65, 66, Fetch, ListOffsets) use it.
 */
import type { TopicSettings } from '../../broker/config.ts';
import type { LocalReplica } from '../../broker/partition.ts';
import {
  type BrokerServices,
  type ProducerAppendDecision,
  type ProducerBatchInfo,
  type ProducerStateService,
  type SlotKey,
  slotKey,
} from '../../broker/services.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import {
  checkBatchAt,
  decodeRecordBatch,
  encodeRecordBatch,
  validateProducePayload,
} from '../../records/index.ts';
import {
  asCoordinatorReplica,
  type CoordinatorReplica,
  ReplicationWaits,
  readNumber,
  replicatedAppendRefusal,
  scanBatches,
} from '../broker-log.ts';
import type { GroupCoordinator } from '../group-coordinator.ts';
import { OFFSETS_TOPIC_NAME } from '../offsets-log.ts';
import type { ProducerStateTable } from '../producer-state.ts';
import type { CoordinatorRecord } from '../records.ts';
import { encodeMarkerBatch } from './control.ts';
import {
  type MarkerWriter,
  type TopicPartition,
  TRANSACTION_STATE_TOPIC,
  TRANSACTION_VERSION_2,
  TransactionCoordinator,
  type TransactionCoordinatorConfig,
  type TransactionLog,
} from './coordinator.ts';
import { MarkerChannel } from './marker-channel.ts';
import { PartitionTransactions } from './partition-transactions.ts';

/** How long a marker waits before it is sent again after a retriable answer. */
export const MARKER_RETRY_BACKOFF_MS = 100;
/** The wait between two implicit adds (transaction version 2) answered CONCURRENT_TRANSACTIONS. */
export const ADD_PARTITION_RETRY_BACKOFF_MS = 20;
/**
 * How long an implicit add keeps retrying CONCURRENT_TRANSACTIONS before the produce is answered
 * with it (Kafka's `add.partitions.to.txn.retry.backoff.max.ms`, 100; the client then retries, as
 * the reference's answers showed).
 */
export const ADD_PARTITION_RETRY_MAX_MS = 100;
/**
 * The producer ids a marker may carry: a record batch header's producer id is kept as a number, so
 * ids beyond ±(2^53 − 1) cannot be written. Kafka allocates producer ids from 0 up (and -1 means
 * none), far inside this range; a marker for any other id is refused with INVALID_REQUEST.
 */
export const MARKER_PRODUCER_ID_ABS_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** Answers after which a marker is sent again (Kafka's coordinator retries these until the partition is deleted). */
const MARKER_RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);

interface BrokerWithSettings extends BrokerServices {
  settingsOf(topic: string): TopicSettings;
}

function settingsOf(broker: BrokerServices, topic: string): TopicSettings {
  return (broker as BrokerWithSettings).settingsOf(topic);
}

function replicaOf(broker: BrokerServices, topic: string, partition: number): CoordinatorReplica | undefined {
  return asCoordinatorReplica(broker.partitions.get(topic, partition));
}

/** `__transaction_state` as the broker holds it: one v2 batch per state change. */
class BrokerTransactionLog implements TransactionLog {
  readonly #broker: BrokerServices;
  readonly #replication: ReplicationWaits;
  constructor(broker: BrokerServices, replication: ReplicationWaits) {
    this.#broker = broker;
    this.#replication = replication;
  }

  #replica(partition: number): CoordinatorReplica {
    const replica = replicaOf(this.#broker, TRANSACTION_STATE_TOPIC, partition);
    if (replica === undefined) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition} is not hosted here`);
    return replica;
  }

  /**
   * Appends one state change and resolves once the ISR has it (Kafka writes the transaction log
   * with acks=all): a change the coordinator acts on survives the failover of its partition.
   * Rejects, with nothing applied by the coordinator, when the ISR is below
   * `transaction.state.log.min.isr` or the append is not replicated.
   */
  async append(partition: number, record: CoordinatorRecord, timestampMs: number): Promise<void> {
    const payload = await encodeRecordBatch({
      records: [{ timestamp: timestampMs, key: record.key, value: record.value }],
    });
    const validation = validateProducePayload(payload);
    if (!validation.ok) throw new Error(`transaction log batch is invalid: ${validation.message}`);
    const replica = this.#replica(partition);
    const refused = replicatedAppendRefusal(replica);
    if (refused !== null) {
      throw new Error(
        `append to ${TRANSACTION_STATE_TOPIC}-${partition}: error ${refused.errorCode} ${refused.message}`,
      );
    }
    const result = replica.appendAsLeader(
      payload,
      validation.batches,
      settingsOf(this.#broker, TRANSACTION_STATE_TOPIC),
      this.#broker.clock.nowMs(),
    );
    if (result.errorCode !== 0) {
      throw new Error(
        `append to ${TRANSACTION_STATE_TOPIC}-${partition}: error ${result.errorCode} ${result.errorMessage ?? ''}`,
      );
    }
    const replicated = await this.#replication.wait(replica, result.lastOffset);
    if (replicated.errorCode !== 0) {
      throw new Error(
        `append to ${TRANSACTION_STATE_TOPIC}-${partition} not replicated: error ${replicated.errorCode} ${replicated.message}`,
      );
    }
  }

  async *read(partition: number): AsyncIterable<CoordinatorRecord> {
    const positions: { buf: Uint8Array; position: number }[] = [];
    // To the log end, as Kafka loads: a new leader's high watermark may not have caught up yet.
    scanBatches(this.#replica(partition), (buf, position) => positions.push({ buf, position }), 'end');
    for (const { buf, position } of positions) {
      const batch = await decodeRecordBatch(buf, position);
      for (const record of batch.records)
        if (record.key !== null) yield { key: record.key, value: record.value };
    }
  }

  coordinatorEpoch(partition: number): number {
    return this.#replica(partition).leaderEpoch;
  }
}

/**
 * The produce path's producer checks with transactions: a transactional batch must belong to
 * its producer's ongoing transaction (else INVALID_TXN_STATE, or INVALID_PRODUCER_EPOCH for a
 * fenced producer) before the sequence checks; its first offset opens the transaction here.
 */
class TransactionalProducerState implements ProducerStateService {
  readonly #table: ProducerStateTable;
  readonly #runtime: TransactionRuntime;
  constructor(table: ProducerStateTable, runtime: TransactionRuntime) {
    this.#table = table;
    this.#runtime = runtime;
  }

  checkAppend(batch: ProducerBatchInfo): ProducerAppendDecision {
    if (batch.isTransactional && this.#runtime.verifiesHere(batch.producerId)) {
      const refused = this.#runtime.coordinator.verifyPartition(batch.producerId, batch.producerEpoch, batch);
      if (refused !== null) return { kind: 'error', ...refused };
    }
    return this.#table.checkAppend(batch);
  }

  recordAppend(batch: ProducerBatchInfo, baseOffset: bigint, lastOffset: bigint, timestampMs: bigint): void {
    this.#table.recordAppend(batch, baseOffset, lastOffset, timestampMs);
    if (batch.isTransactional) {
      this.#runtime.partitions.onTransactionalAppend(
        batch.topic,
        batch.partition,
        batch.producerId,
        Number(baseOffset),
      );
    }
  }
}

export class TransactionRuntime implements MarkerWriter {
  readonly coordinator: TransactionCoordinator;
  readonly partitions = new PartitionTransactions();
  readonly producerState: ProducerStateService;
  readonly #broker: BrokerServices;
  readonly #table: ProducerStateTable;
  readonly #groups: GroupCoordinator;
  #ensuring: Promise<number> | null = null;
  readonly #channel: MarkerChannel;
  readonly #replication: ReplicationWaits;
  #closed = false;

  constructor(
    broker: BrokerServices,
    table: ProducerStateTable,
    groups: GroupCoordinator,
    nextProducerId: () => bigint,
    config: TransactionCoordinatorConfig,
  ) {
    this.#broker = broker;
    this.#table = table;
    this.#groups = groups;
    this.#channel = new MarkerChannel(broker);
    this.#replication = new ReplicationWaits(broker.clock);
    this.coordinator = new TransactionCoordinator({
      clock: broker.clock,
      log: new BrokerTransactionLog(broker, this.#replication),
      markers: this,
      nextProducerId,
      config,
    });
    this.producerState = new TransactionalProducerState(table, this);
  }

  /**
   * This broker leads a partition in a new leader epoch: its open and aborted transactions and
   * its producers are loaded from the log, which tracked them as it appended what this broker
   * replicated as a follower (the produce path and the marker writer track them only where the
   * partition is led): no scan of the data, to the log end (a new leader's high watermark may not
   * have caught up yet).
   */
  rebuildPartition(topic: string, partition: number): void {
    if (topic === TRANSACTION_STATE_TOPIC) return;
    const replica = replicaOf(this.#broker, topic, partition);
    if (replica === undefined) return;
    const state = replica.log.producerStateView();
    this.#table.loadPartition(topic, partition, state.producers);
    this.partitions.loadPartition(topic, partition, state);
  }

  /**
   * Whether a transactional append of this producer is verified here (KIP-890 part 1): always on
   * one broker; on a cluster only when this broker coordinates the producer's transactional id.
   * The produce path checks synchronously, so the leader cannot ask another broker's coordinator
   * (AddPartitionsToTxn v4+ VerifyOnly) before appending: such batches are appended unverified,
   * as Kafka does with `transaction.partition.verification.enable=false`. Producer ids are unique
   * across the nodes (interleaved blocks), so a producer known here is coordinated here.
   */
  verifiesHere(producerId: bigint): boolean {
    return this.#broker.metadata().brokers().length <= 1 || this.coordinator.knowsProducer(producerId);
  }

  /**
   * Transaction version 2: the leader of `target` adds it to the producer's transaction before
   * the producer's first transactional append there (Produce v12+, and TxnOffsetCommit v5 for the
   * group's `__consumer_offsets` partition), at the coordinator of `transactionalId`: in-process
   * when this broker coordinates it, else with AddPartitionsToTxn v5 to the leader of its
   * `__transaction_state` partition. A partition where the producer already has an open
   * transaction in the same epoch is in it (it was added before that data was written), as Kafka's
   * `UnifiedLog.hasOngoingTransaction(producerId, producerEpoch)` decides. The epoch matters: a TV2
   * client starts its next transaction, one epoch up, as soon as EndTxn answers, while the previous
   * transaction's marker may still be on its way here; without the epoch the new transaction's
   * first batch joined the old one (committed or aborted by its marker) and was never added to its
   * own. CONCURRENT_TRANSACTIONS
   * (the previous transaction's markers are still being written: a TV2 client starts the next
   * transaction as soon as EndTxn answers) is retried every ADD_PARTITION_RETRY_BACKOFF_MS for
   * up to ADD_PARTITION_RETRY_MAX_MS. Resolves with the coordinator's error code.
   */
  async addPartitionForProducer(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    target: TopicPartition,
  ): Promise<number> {
    if (this.#inOpenTransaction(target, producerId, producerEpoch)) return ErrorCode.NONE;
    const deadline = this.#broker.clock.nowMs() + ADD_PARTITION_RETRY_MAX_MS;
    for (;;) {
      const errorCode = await this.#addOnce(transactionalId, producerId, producerEpoch, target);
      if (errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS || this.#closed) return errorCode;
      if (this.#broker.clock.nowMs() >= deadline) return errorCode;
      await new Promise<void>((resolve) =>
        this.#broker.clock.setTimer(ADD_PARTITION_RETRY_BACKOFF_MS, resolve),
      );
    }
  }

  /** Whether the producer has an open transaction in `target` in this epoch (Kafka's hasOngoingTransaction). */
  #inOpenTransaction(target: TopicPartition, producerId: bigint, producerEpoch: number): boolean {
    return (
      this.partitions.openTransactionStart(target.topic, target.partition, producerId) >= 0 &&
      this.#table.producerEpochOf(target.topic, target.partition, producerId) === producerEpoch
    );
  }

  async #addOnce(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    target: TopicPartition,
  ): Promise<number> {
    if (this.coordinator.coordinatorError(transactionalId) === null) {
      return this.coordinator.addPartitions(
        transactionalId,
        producerId,
        producerEpoch,
        [target],
        TRANSACTION_VERSION_2,
      );
    }
    const topic = this.#broker.metadata().topic(TRANSACTION_STATE_TOPIC);
    const leaderId = topic?.partitions[this.coordinator.partitionFor(transactionalId)]?.leaderId ?? -1;
    if (leaderId < 0 || leaderId === this.#broker.nodeId) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      return await this.#channel.addPartition(
        leaderId,
        { transactionalId, producerId, producerEpoch, verifyOnly: false },
        target,
      );
    } catch {
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /**
   * Writes a commit or abort marker to a partition, wherever it is led: appended here when this
   * broker leads it, else sent to its leader with WriteTxnMarkers (27). A retriable answer (no
   * leader yet, leadership moving, the leader unreachable) is retried every
   * MARKER_RETRY_BACKOFF_MS against the leader the metadata names then, as Kafka retries until the
   * partition is deleted; a deleted partition is skipped. Rejects on a fatal answer or when the
   * broker stops (the transaction stays prepared; the next coordinator finishes it).
   */
  async writeMarker(
    target: TopicPartition,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void> {
    const marker = { target, producerId, producerEpoch, commit, coordinatorEpoch };
    for (;;) {
      const partition = this.#broker.metadata().topic(target.topic)?.partitions[target.partition];
      // Deleted (or never known here: one broker without the topic): Kafka gives up on it too.
      if (partition === undefined) return;
      let errorCode: number;
      let problem = '';
      if (partition.leaderId === this.#broker.nodeId) {
        errorCode = await this.writeLocalMarker(marker);
      } else if (partition.leaderId >= 0) {
        try {
          errorCode = await this.#channel.send(partition.leaderId, marker);
        } catch (error) {
          errorCode = ErrorCode.NETWORK_EXCEPTION;
          problem = `: ${(error as Error).message}`;
        }
      } else {
        errorCode = ErrorCode.LEADER_NOT_AVAILABLE;
      }
      if (errorCode === ErrorCode.NONE) return;
      if (!MARKER_RETRIABLE.has(errorCode)) {
        throw new Error(
          `marker for producer ${producerId} in ${target.topic}-${target.partition}: error ${errorCode}${problem}`,
        );
      }
      if (this.#closed) {
        throw new Error(
          `marker for producer ${producerId} in ${target.topic}-${target.partition}: the broker is stopping (last error ${errorCode}${problem})`,
        );
      }
      await new Promise<void>((resolve) => this.#broker.clock.setTimer(MARKER_RETRY_BACKOFF_MS, resolve));
    }
  }

  /**
   * Appends a marker to a partition this broker leads (the coordinator's own markers, and
   * WriteTxnMarkers from another broker's coordinator) and resolves once the ISR has it (Kafka
   * appends markers with acks=all), with Kafka's error code: UNKNOWN_TOPIC_OR_PARTITION when not
   * hosted here, NOT_LEADER_OR_FOLLOWER when only a follower, NOT_ENOUGH_REPLICAS below min ISR
   * (nothing written), INVALID_PRODUCER_EPOCH for an older producer epoch than the partition's,
   * TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch than the producer's last marker
   * here, or the replication wait's error (the marker stays written; a retry writes another, which
   * readers treat as the same end of the transaction).
   */
  async writeLocalMarker(marker: {
    readonly target: TopicPartition;
    readonly producerId: bigint;
    readonly producerEpoch: number;
    readonly commit: boolean;
    readonly coordinatorEpoch: number;
  }): Promise<number> {
    const { target, producerId, producerEpoch, commit, coordinatorEpoch } = marker;
    if (producerId > MARKER_PRODUCER_ID_ABS_MAX || producerId < -MARKER_PRODUCER_ID_ABS_MAX) {
      return ErrorCode.INVALID_REQUEST;
    }
    const replica = this.#broker.partitions.get(target.topic, target.partition) as LocalReplica | undefined;
    if (replica === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (!replica.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const fenced = this.#table.checkMarker(
      target.topic,
      target.partition,
      producerId,
      producerEpoch,
      coordinatorEpoch,
    );
    if (fenced !== null) return fenced.errorCode;
    const refused = replicatedAppendRefusal(replica);
    if (refused !== null) return refused.errorCode;
    const nowMs = this.#broker.clock.nowMs();
    const payload = await encodeMarkerBatch({
      producerId,
      producerEpoch,
      commit,
      coordinatorEpoch,
      timestampMs: nowMs,
    });
    const check = checkBatchAt(payload, 0);
    if (!check.ok) throw new Error(`marker batch is invalid: ${check.message}`);
    // Leadership may have moved while the batch was encoded.
    if (!replica.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const appended = replica.appendAsLeader(
      payload,
      [check.batch],
      settingsOf(this.#broker, target.topic),
      nowMs,
    );
    if (appended.errorCode !== 0) return appended.errorCode;
    this.#table.recordMarker(
      target.topic,
      target.partition,
      producerId,
      producerEpoch,
      nowMs,
      coordinatorEpoch,
    );
    this.partitions.onMarker(target.topic, target.partition, producerId, commit, appended.baseOffset);
    if (target.topic === OFFSETS_TOPIC_NAME)
      this.#groups.completeTransaction(producerId, target.partition, commit);
    return (await this.#replication.wait(replica, appended.lastOffset)).errorCode;
  }

  /**
   * The broker stops: markers are no longer sent to other brokers nor retried (a round in flight
   * ends within MARKER_RETRY_BACKOFF_MS; its transaction stays prepared for the next coordinator).
   */
  close(): void {
    this.#closed = true;
    this.#channel.close();
    this.#replication.close();
  }

  /**
   * Makes sure `__transaction_state` exists and its local partitions are loaded (Kafka creates
   * it on the first FindCoordinator for a transactional id). Resolves with NONE or the error to retry on.
   */
  ensureTransactionTopic(): Promise<number> {
    if (this.#ensuring === null) {
      this.#ensuring = this.#ensure().finally(() => {
        this.#ensuring = null;
      });
    }
    return this.#ensuring;
  }

  async #ensure(): Promise<number> {
    let topic = this.#broker.metadata().topic(TRANSACTION_STATE_TOPIC);
    if (topic === undefined) {
      const brokers = this.#broker.metadata().brokers().length;
      const created = await this.#broker.topics.createTopic({
        name: TRANSACTION_STATE_TOPIC,
        numPartitions: this.coordinator.config.numPartitions,
        replicationFactor: Math.max(
          1,
          Math.min(readNumber(this.#broker, 'transaction.state.log.replication.factor', 3), brokers),
        ),
        configs: new Map([
          ['cleanup.policy', 'compact'],
          ['compression.type', 'uncompressed'],
          ['segment.bytes', '104857600'],
          ['min.insync.replicas', String(readNumber(this.#broker, 'transaction.state.log.min.isr', 1))],
          ['unclean.leader.election.enable', 'false'],
        ]),
        internal: true,
      });
      if (created.errorCode !== ErrorCode.NONE && created.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
      topic = this.#broker.metadata().topic(TRANSACTION_STATE_TOPIC);
      if (topic === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    for (const partition of topic.partitions) {
      if (partition.leaderId !== this.#broker.nodeId) continue;
      if (this.coordinator.hasPartition(partition.partitionIndex)) continue;
      if (this.#broker.partitions.get(TRANSACTION_STATE_TOPIC, partition.partitionIndex) === undefined)
        continue;
      await this.coordinator.loadPartition(partition.partitionIndex);
    }
    return ErrorCode.NONE;
  }
}

export const TRANSACTIONS: SlotKey<TransactionRuntime> = slotKey<TransactionRuntime>('transactions');
