/**
 * Adapters from the broker's local partition replicas to what the coordinator module
 * needs: the `OffsetsLog` port over `__consumer_offsets` (records encoded as one v2 batch
 * per append, read back batch by batch). They use two methods of the broker's replica (`appendAsLeader`, `read`)
 * and its `settingsOf(topic)`; if the broker stops offering them, `asCoordinatorReplica`
 * says so loudly instead of failing later. `readNumber` reads a broker config for the coordinators.
 */
import type { TopicSettings } from '../broker/config.ts';
import type { BrokerServices, Clock, LocalPartition } from '../broker/services.ts';
import { ErrorCode } from '../protocol/errors.ts';
import {
  ATTRIBUTE,
  type BatchInfo,
  batchSizeAt,
  decodeRecordBatch,
  encodeRecordBatch,
  readBatchHeader,
  validateProducePayload,
} from '../records/index.ts';
import type { PartitionLog } from '../storage/index.ts';
import { OFFSETS_TOPIC_NAME, type OffsetsLog, type TransactionalProducer } from './offsets-log.ts';
import type { CoordinatorRecord } from './records.ts';
import { CONTROL_TYPE_COMMIT, controlTypeAt } from './transactions/control.ts';

/** Bytes read per step when scanning a log. */
export const LOG_SCAN_READ_BYTES = 1 << 20;

/** The replica methods the coordinator relies on (the broker's LocalReplica has them). */
export interface CoordinatorReplica extends LocalPartition {
  appendAsLeader(
    payload: Uint8Array,
    batches: readonly BatchInfo[],
    settings: TopicSettings,
    nowMs: number,
  ): { readonly errorCode: number; readonly errorMessage: string | null; readonly lastOffset: number };
  /** Whole batches from `offset` below `maxOffset` (default: the high watermark). */
  read(offset: number, maxBytes: number, minOneBatch: boolean, maxOffset?: number): Uint8Array | null;
  /** The partition's log: its producer state (src/storage). */
  readonly log: Pick<PartitionLog, 'producerStateView' | 'expireProducers'>;
}

interface BrokerWithSettings extends BrokerServices {
  settingsOf(topic: string): TopicSettings;
}

export function asCoordinatorReplica(partition: LocalPartition | undefined): CoordinatorReplica | undefined {
  if (partition === undefined) return undefined;
  const candidate = partition as Partial<CoordinatorReplica>;
  if (typeof candidate.appendAsLeader !== 'function' || typeof candidate.read !== 'function') {
    throw new Error(
      `the broker's partition ${partition.topic}-${partition.partitionIndex} offers no appendAsLeader/read: the coordinator cannot use it`,
    );
  }
  return partition as CoordinatorReplica;
}

/**
 * Calls `visit` with every batch (bytes and position) of a replica, from its log start to its
 * high watermark, or to its log end with `to: 'end'` (what a new leader holds beyond a high
 * watermark that has not caught up yet).
 */
export function scanBatches(
  replica: CoordinatorReplica,
  visit: (buf: Uint8Array, position: number) => void,
  to: 'highWatermark' | 'end' = 'highWatermark',
): void {
  let offset = Number(replica.logStartOffset);
  const end = Number(to === 'end' ? replica.logEndOffset : replica.highWatermark);
  while (offset < end) {
    const buf = replica.read(offset, LOG_SCAN_READ_BYTES, true, end);
    if (buf === null || buf.length === 0) return;
    let position = 0;
    let next = offset;
    while (position + 61 <= buf.length) {
      const size = batchSizeAt(buf, position);
      if (position + size > buf.length) break;
      const header = readBatchHeader(buf, position);
      visit(buf, position);
      next = header.baseOffset + header.lastOffsetDelta + 1;
      position += size;
    }
    if (next <= offset)
      throw new Error(`scanning ${replica.topic}-${replica.partitionIndex}: no progress at ${offset}`);
    offset = next;
  }
}

/** `__consumer_offsets` as the broker holds it. */
export class BrokerOffsetsLog implements OffsetsLog {
  readonly #broker: BrokerServices;

  constructor(broker: BrokerServices) {
    this.#broker = broker;
  }

  #replica(partition: number): CoordinatorReplica {
    const replica = asCoordinatorReplica(this.#broker.partitions.get(OFFSETS_TOPIC_NAME, partition));
    if (replica === undefined) throw new Error(`${OFFSETS_TOPIC_NAME}-${partition} is not hosted here`);
    return replica;
  }

  async append(
    partition: number,
    records: readonly CoordinatorRecord[],
    timestampMs: number,
    transactional?: TransactionalProducer,
  ): Promise<void> {
    const payload = await encodeRecordBatch({
      records: records.map((r) => ({ timestamp: timestampMs, key: r.key, value: r.value })),
      ...(transactional === undefined
        ? {}
        : {
            transactional: true,
            producerId: Number(transactional.producerId),
            producerEpoch: transactional.producerEpoch,
          }),
    });
    const validation = validateProducePayload(payload);
    if (!validation.ok) throw new Error(`coordinator batch is invalid: ${validation.message}`);
    const settings = (this.#broker as BrokerWithSettings).settingsOf(OFFSETS_TOPIC_NAME);
    const result = this.#replica(partition).appendAsLeader(
      payload,
      validation.batches,
      settings,
      this.#broker.clock.nowMs(),
    );
    if (result.errorCode !== 0) {
      throw new Error(
        `append to ${OFFSETS_TOPIC_NAME}-${partition}: error ${result.errorCode} ${result.errorMessage ?? ''}`,
      );
    }
  }

  async *read(partition: number): AsyncIterable<CoordinatorRecord> {
    const positions: { buf: Uint8Array; position: number }[] = [];
    // To the log end, as Kafka's coordinator loader reads: a new leader's high watermark may lag
    // the offsets and markers it replicated as a follower (read to it, they were lost on failover).
    scanBatches(this.#replica(partition), (buf, position) => positions.push({ buf, position }), 'end');
    // Records of a transaction wait for its marker: yielded on commit, dropped on abort.
    const open = new Map<number, CoordinatorRecord[]>();
    for (const { buf, position } of positions) {
      const batch = await decodeRecordBatch(buf, position);
      const producerId = batch.header.producerId;
      if (batch.header.attributes & ATTRIBUTE.control) {
        const held = open.get(producerId) ?? [];
        open.delete(producerId);
        if (controlTypeAt(buf, position) === CONTROL_TYPE_COMMIT) yield* held;
        continue;
      }
      const transactional = (batch.header.attributes & ATTRIBUTE.transactional) !== 0;
      for (const record of batch.records) {
        if (record.key === null) continue;
        const read = { key: record.key, value: record.value };
        if (!transactional) {
          yield read;
          continue;
        }
        let held = open.get(producerId);
        if (held === undefined) {
          held = [];
          open.set(producerId, held);
        }
        held.push(read);
      }
    }
    for (const [producerId, held] of open) {
      for (const record of held) yield { ...record, openTransactionProducerId: BigInt(producerId) };
    }
  }
}

/** What the coordinator uses of a replicated partition's replication core (src/replication). */
interface ReplicationView {
  checkAppend(): { readonly errorCode: number; readonly message: string } | null;
  awaitCommit(offset: number, callback: (result: { errorCode: number; message: string }) => void): void;
}

function replicationOf(replica: LocalPartition): ReplicationView | null {
  return (replica as { replication?: ReplicationView | null }).replication ?? null;
}

/**
 * Why an acks=all append to a replicated partition may not be written now (not the leader, the
 * ISR below min.insync.replicas), or null when it may (always on an unreplicated partition).
 */
export function replicatedAppendRefusal(
  replica: LocalPartition,
): { errorCode: number; message: string } | null {
  return replicationOf(replica)?.checkAppend() ?? null;
}

/**
 * How long a coordinator's append (a transaction state change, a marker) waits for the ISR
 * before it fails with REQUEST_TIMED_OUT: Kafka's request.timeout.ms default, which bounds its
 * coordinators' acks=all appends.
 */
export const COORDINATOR_REPLICATION_TIMEOUT_MS = 30_000;

export interface ReplicationOutcome {
  readonly errorCode: number;
  readonly message: string;
}

/**
 * The coordinator's waits for the ISR (Kafka's acks=all), each bounded by
 * COORDINATOR_REPLICATION_TIMEOUT_MS and ended at once by `close()` (the broker stops: a wait on
 * followers that stopped first would otherwise hold the stop until the timeout).
 */
export class ReplicationWaits {
  readonly #clock: Clock;
  readonly #pending = new Set<() => void>();
  #closed = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Resolves once the high watermark of a replicated partition passes `lastOffset`, with NONE,
   * or with the error that ended the wait (NOT_ENOUGH_REPLICAS_AFTER_APPEND,
   * NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT). An unreplicated partition resolves at once.
   */
  wait(replica: LocalPartition, lastOffset: number): Promise<ReplicationOutcome> {
    const replication = replicationOf(replica);
    if (replication === null) return Promise.resolve({ errorCode: ErrorCode.NONE, message: '' });
    if (this.#closed) return Promise.resolve(STOPPING);
    return new Promise((resolve) => {
      let done = false;
      const finish = (outcome: ReplicationOutcome): void => {
        if (done) return;
        done = true;
        cancel();
        this.#pending.delete(stop);
        resolve(outcome);
      };
      const stop = (): void => finish(STOPPING);
      const cancel = this.#clock.setTimer(COORDINATOR_REPLICATION_TIMEOUT_MS, () =>
        finish({
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          message: `not replicated to the in-sync replicas within ${COORDINATOR_REPLICATION_TIMEOUT_MS} ms`,
        }),
      );
      this.#pending.add(stop);
      replication.awaitCommit(lastOffset, finish);
    });
  }

  close(): void {
    this.#closed = true;
    for (const stop of [...this.#pending]) stop();
  }
}

const STOPPING: ReplicationOutcome = {
  errorCode: ErrorCode.REQUEST_TIMED_OUT,
  message: 'the broker is stopping before the in-sync replicas had it',
};

/** A broker config as a number, or `fallback` when the broker does not define it. */
export function readNumber(broker: BrokerServices, name: string, fallback: number): number {
  try {
    const value = broker.config.getNumber(name);
    return Number.isFinite(value) ? value : fallback;
  } catch {
    return fallback;
  }
}
