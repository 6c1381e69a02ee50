import { TRANSACTIONS } from '../../coordinator/transactions/runtime.ts';
import {
  type FetchRequestData,
  type FetchResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { batchSizeAt, lastOffsetAt } from '../../records/index.ts';
import { fetchQuotaMaxBytes, recordQuota, unrecordQuota } from '../../security/quotas.ts';
import type { Broker } from '../broker.ts';
import { type FetchSession, partitionKey, type SessionPartition } from '../fetch-sessions.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

type PartitionAnswer = NonNullable<
  NonNullable<Input<FetchResponseData>['responses']>[number]['partitions']
>[number];

const EMPTY = new Uint8Array(0);
const READ_COMMITTED = 1;

/** The offset after the last batch of a read (`fallback` when the read is empty). */
function endOffsetOf(records: Uint8Array | null, fallback: number): number {
  if (records === null || records.length === 0) return fallback;
  let position = 0;
  let last = fallback - 1;
  while (position + 61 <= records.length) {
    const size = batchSizeAt(records, position);
    if (position + size > records.length) break;
    last = lastOffsetAt(records, position);
    position += size;
  }
  return last + 1;
}

interface Target extends SessionPartition {
  /** An error found while resolving the partition (unknown topic id ...), 0 when none. */
  resolveError: number;
}

interface ReadOutcome {
  readonly target: Target;
  readonly answer: PartitionAnswer;
  readonly bytes: number;
}

function toTarget(
  broker: Broker,
  useTopicIds: boolean,
  topic: FetchRequestData['topics'][number],
  partition: FetchRequestData['topics'][number]['partitions'][number],
): Target {
  let name = topic.topic;
  let resolveError = 0;
  if (useTopicIds) {
    const view = broker.metadata().topicById(topic.topicId);
    name = view?.name ?? '';
    if (view === undefined) resolveError = KafkaErrors.UNKNOWN_TOPIC_ID.code;
  }
  return {
    topic: name,
    topicId: topic.topicId,
    partition: partition.partition,
    fetchOffset: Number(partition.fetchOffset),
    partitionMaxBytes: partition.partitionMaxBytes,
    currentLeaderEpoch: partition.currentLeaderEpoch,
    sentHighWatermark: -1,
    sentLogStartOffset: -1,
    resolveError,
  };
}

function readOne(
  broker: Broker,
  target: Target,
  maxBytes: number,
  minOneBatch: boolean,
  version: number,
  isolationLevel: number,
): ReadOutcome {
  const base = { partitionIndex: target.partition, preferredReadReplica: -1, abortedTransactions: null };
  const fail = (errorCode: number): ReadOutcome => ({
    target,
    bytes: 0,
    answer: {
      ...base,
      errorCode,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      records: EMPTY,
    },
  });
  if (target.resolveError !== 0) return fail(target.resolveError);
  const replica = broker.get(target.topic, target.partition);
  if (replica === undefined) {
    return fail(
      version >= 13 ? KafkaErrors.UNKNOWN_TOPIC_ID.code : KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
    );
  }
  // Consumers read from the leader (no fetch from follower: no rack-aware replica selector).
  if (!replica.isLeader) return fail(KafkaErrors.NOT_LEADER_OR_FOLLOWER.code);
  if (target.currentLeaderEpoch >= 0) {
    if (target.currentLeaderEpoch < replica.leaderEpoch) return fail(KafkaErrors.FENCED_LEADER_EPOCH.code);
    if (target.currentLeaderEpoch > replica.leaderEpoch) return fail(KafkaErrors.UNKNOWN_LEADER_EPOCH.code);
  }
  const highWatermark = replica.highWatermarkNumber;
  const logStartOffset = replica.log.logStartOffset;
  const transactions = broker.slots.get(TRANSACTIONS);
  const lastStableOffset =
    transactions?.partitions.lastStableOffset(target.topic, target.partition, highWatermark) ?? highWatermark;
  const positions = {
    highWatermark: BigInt(highWatermark),
    lastStableOffset: BigInt(lastStableOffset),
    logStartOffset: BigInt(logStartOffset),
  };
  if (target.fetchOffset < logStartOffset || target.fetchOffset > replica.log.logEndOffset) {
    return {
      target,
      bytes: 0,
      answer: { ...base, ...positions, errorCode: KafkaErrors.OFFSET_OUT_OF_RANGE.code, records: EMPTY },
    };
  }
  const limit = Math.min(maxBytes, target.partitionMaxBytes);
  if (isolationLevel !== READ_COMMITTED) {
    const records = limit > 0 || minOneBatch ? replica.read(target.fetchOffset, limit, minOneBatch) : null;
    return {
      target,
      bytes: records?.length ?? 0,
      answer: { ...base, ...positions, errorCode: 0, records: records ?? EMPTY },
    };
  }
  // read_committed: nothing at or past the last stable offset, and the aborted transactions
  // overlapping what is returned, so the client drops their records.
  let records: Uint8Array | null = null;
  if ((limit > 0 || minOneBatch) && target.fetchOffset < lastStableOffset) {
    records = replica.read(target.fetchOffset, limit, minOneBatch, lastStableOffset);
  }
  const end = endOffsetOf(records, target.fetchOffset);
  const aborted =
    transactions?.partitions.abortedTransactions(
      target.topic,
      target.partition,
      target.fetchOffset,
      end,
      logStartOffset,
    ) ?? [];
  return {
    target,
    bytes: records?.length ?? 0,
    answer: {
      ...base,
      ...positions,
      abortedTransactions: aborted.map((a) => ({
        producerId: a.producerId,
        firstOffset: BigInt(a.firstOffset),
      })),
      errorCode: 0,
      records: records ?? EMPTY,
    },
  };
}

function readAll(
  broker: Broker,
  targets: readonly Target[],
  request: FetchRequestData,
  version: number,
): ReadOutcome[] {
  // fetch.max.bytes bounds every answer, whatever the client asks for (bounded memory).
  let remaining = Math.min(request.maxBytes, broker.config.getNumber('fetch.max.bytes'));
  let total = 0;
  const outcomes: ReadOutcome[] = [];
  for (const target of targets) {
    // KIP-74: the first batch is returned whole even when over the limits, so a consumer always progresses.
    const outcome = readOne(broker, target, remaining, total === 0, version, request.isolationLevel);
    total += outcome.bytes;
    remaining = Math.max(0, remaining - outcome.bytes);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Long polling: resolves when a target partition gets new data or `maxWaitMs` passes. */
function waitForData(broker: Broker, targets: readonly Target[], maxWaitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const removers: (() => void)[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      for (const remove of removers) remove();
      resolve();
    };
    for (const target of targets) {
      const replica = broker.get(target.topic, target.partition);
      if (replica !== undefined) removers.push(replica.onNewData(finish));
    }
    removers.push(broker.clock.setTimer(maxWaitMs, finish));
  });
}

function updateSession(
  session: FetchSession,
  targets: readonly Target[],
  request: FetchRequestData,
  broker: Broker,
): void {
  for (const target of targets) {
    const key = partitionKey(target.topic === '' ? target.topicId : target.topic, target.partition);
    const existing = session.partitions.get(key);
    if (existing !== undefined) {
      existing.fetchOffset = target.fetchOffset;
      existing.partitionMaxBytes = target.partitionMaxBytes;
      existing.currentLeaderEpoch = target.currentLeaderEpoch;
    } else {
      session.partitions.set(key, target);
    }
  }
  for (const forgotten of request.forgottenTopicsData) {
    const name =
      forgotten.topic !== '' ? forgotten.topic : (broker.metadata().topicById(forgotten.topicId)?.name ?? '');
    for (const partition of forgotten.partitions) {
      session.partitions.delete(partitionKey(name === '' ? forgotten.topicId : name, partition));
    }
  }
}

function group(outcomes: readonly ReadOutcome[], version: number): Input<FetchResponseData>['responses'] {
  const responses: { topic: string; topicId: string; partitions: PartitionAnswer[] }[] = [];
  let current: (typeof responses)[number] | undefined;
  for (const { target, answer } of outcomes) {
    const name = version >= 13 ? '' : target.topic;
    if (current === undefined || current.topic !== name || current.topicId !== target.topicId) {
      current = { topic: name, topicId: target.topicId, partitions: [] };
      responses.push(current);
    }
    current.partitions.push(answer);
  }
  return responses;
}

interface FollowerItem {
  readonly topic: string;
  readonly topicId: string;
  readonly request: FetchRequestData['topics'][number]['partitions'][number];
  readonly replica: ReturnType<Broker['get']>;
  answer: PartitionAnswer;
  empty: boolean;
  /** Throttled by the leader quota (reassignment throttles): its replicated bytes are counted. */
  throttled: boolean;
}

/**
 * A follower's Fetch (ReplicaState.ReplicaId ≥ 0, or ReplicaId up to v14): each partition is
 * answered by the leader's replication core (epoch checks, divergence, the follower's progress,
 * HW, ISR expansion); when none has records, it waits for an append up to `maxWaitMs`.
 */
async function followerFetch(
  broker: Broker,
  request: FetchRequestData,
  replicaId: number,
  replicaEpoch: number,
  correlationId: number,
  version: number,
): Promise<Input<FetchResponseData>> {
  const items: FollowerItem[] = [];
  const positions = (replica: NonNullable<ReturnType<Broker['get']>>) => ({
    highWatermark: BigInt(replica.highWatermarkNumber),
    lastStableOffset: BigInt(replica.highWatermarkNumber),
    logStartOffset: BigInt(replica.log.logStartOffset),
  });
  let total = 0;
  // Reassignment throttles (src/broker/replication-quota.ts), as Kafka's shouldLeaderThrottle: a
  // throttled partition gets no records for a follower outside its ISR while the quota is exceeded.
  const quota = broker.replicaManager?.leaderQuota;
  const heldBack = (
    item: FollowerItem,
    core: { readonly state: { readonly isr: readonly number[] } | null },
  ): boolean =>
    item.throttled && core.state?.isr.includes(replicaId) !== true && quota?.isQuotaExceeded() === true;
  for (const topic of request.topics) {
    const name = version >= 13 ? (broker.metadata().topicById(topic.topicId)?.name ?? '') : topic.topic;
    for (const partition of topic.partitions) {
      const replica = name === '' ? undefined : broker.get(name, partition.partition);
      const base = {
        partitionIndex: partition.partition,
        preferredReadReplica: -1,
        abortedTransactions: null,
        highWatermark: -1n,
        lastStableOffset: -1n,
        logStartOffset: -1n,
        records: EMPTY,
      };
      const core = replica?.replication;
      if (replica === undefined || core === null || core === undefined) {
        const errorCode =
          replica !== undefined
            ? KafkaErrors.NOT_LEADER_OR_FOLLOWER.code
            : version >= 13
              ? KafkaErrors.UNKNOWN_TOPIC_ID.code
              : KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code;
        items.push({
          topic: name,
          topicId: topic.topicId,
          request: partition,
          replica,
          answer: { ...base, errorCode },
          empty: false,
          throttled: false,
        });
        continue;
      }
      const answer = core.answerFetch({
        type: 'fetch',
        partition: partition.partition,
        replicaId,
        replicaEpoch,
        currentLeaderEpoch: partition.currentLeaderEpoch,
        fetchOffset: Number(partition.fetchOffset),
        lastFetchedEpoch: partition.lastFetchedEpoch,
        correlationId,
      });
      const throttled = quota?.isThrottled(name, partition.partition) === true;
      const item: FollowerItem = {
        topic: name,
        topicId: topic.topicId,
        request: partition,
        replica,
        throttled,
        // Records held back by the byte bound still count as data: no long poll then.
        empty: answer.errorCode === 0 && answer.divergingEpoch === null && answer.entries.length === 0,
        answer: { ...base, errorCode: answer.errorCode },
      };
      // The request's maxBytes bounds the answer; the first records always go (as KIP-74).
      let records = answer.entries[0]?.value;
      if (records !== undefined && total > 0 && total + records.length > request.maxBytes)
        records = undefined;
      // Held back by the throttle: no data either (Kafka's DelayedFetch does not count it), so a long poll.
      if (records !== undefined && heldBack(item, core)) {
        records = undefined;
        item.empty = answer.errorCode === 0 && answer.divergingEpoch === null;
      }
      total += records?.length ?? 0;
      items.push({
        ...item,
        answer: {
          ...base,
          ...positions(replica),
          errorCode: answer.errorCode,
          divergingEpoch:
            answer.divergingEpoch === null
              ? { epoch: -1, endOffset: -1n }
              : { epoch: answer.divergingEpoch.epoch, endOffset: BigInt(answer.divergingEpoch.endOffset) },
          records: records ?? EMPTY,
        },
      });
    }
  }
  if (items.length > 0 && items.every((item) => item.empty) && request.maxWaitMs > 0) {
    await new Promise<void>((resolve) => {
      const removers: (() => void)[] = [];
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        for (const remove of removers) remove();
        resolve();
      };
      for (const item of items) if (item.replica !== undefined) removers.push(item.replica.onAppend(finish));
      removers.push(broker.clock.setTimer(request.maxWaitMs, finish));
    });
    for (const item of items) {
      const core = item.replica?.replication;
      if (item.replica === undefined || core === null || core === undefined) continue;
      // Still the leader of the epoch the follower fetched in: its progress was recorded above.
      if (!core.isLeader || core.leaderEpoch !== item.request.currentLeaderEpoch) continue;
      if (heldBack(item, core)) continue;
      const entry = core.log.read(Number(item.request.fetchOffset), 1)[0];
      item.answer = { ...item.answer, ...positions(item.replica), records: entry?.value ?? EMPTY };
    }
  }
  // Counted after the read, in sync or not (Kafka's sizeOfThrottledPartitions).
  for (const item of items) if (item.throttled) quota?.record(item.answer.records?.length ?? 0);
  const responses: { topic: string; topicId: string; partitions: PartitionAnswer[] }[] = [];
  for (const item of items) {
    const name = version >= 13 ? '' : item.topic;
    let current = responses.at(-1);
    if (current === undefined || current.topic !== name || current.topicId !== item.topicId) {
      current = { topic: name, topicId: item.topicId, partitions: [] };
      responses.push(current);
    }
    current.partitions.push(item.answer);
  }
  return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses };
}

/**
 * Fetch: whole batches from each partition's fetch offset up to the high watermark (the last
 * stable offset for read_committed, with the aborted transactions of the returned range),
 * within `maxBytes` and each `partitionMaxBytes` (the first batch always whole, KIP-74);
 * waits up to `maxWaitMs` for `minBytes`; incremental sessions (KIP-227) from v7; topic
 * ids from v13.
 */
export const handler = defineHandler<FetchRequestData, Input<FetchResponseData>>({
  apiKey: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 17,
  async handle(fetchRequest, context) {
    const broker = brokerOf(context);
    const version = context.apiVersion;
    const replicaId = version >= 15 ? fetchRequest.replicaState.replicaId : fetchRequest.replicaId;
    if (replicaId >= 0) {
      const replicaEpoch = version >= 15 ? Number(fetchRequest.replicaState.replicaEpoch) : -1;
      return followerFetch(broker, fetchRequest, replicaId, replicaEpoch, context.correlationId, version);
    }
    // consumer_byte_rate (src/security/quotas.ts): a consumer's answer holds at most the quota's whole window.
    const quotaMaxBytes = fetchQuotaMaxBytes(context);
    const request =
      quotaMaxBytes >= fetchRequest.maxBytes
        ? fetchRequest
        : {
            ...fetchRequest,
            maxBytes: Math.floor(quotaMaxBytes),
            minBytes: Math.min(fetchRequest.minBytes, Math.floor(quotaMaxBytes)),
          };
    const useTopicIds = version >= 13;
    const lookup =
      version >= 7
        ? broker.fetchSessions.lookup(request.sessionId, request.sessionEpoch)
        : { kind: 'none' as const };
    if (lookup.kind === 'error') {
      return { throttleTimeMs: 0, errorCode: lookup.errorCode, sessionId: 0, responses: [] };
    }
    const requested: Target[] = [];
    for (const topic of request.topics) {
      for (const partition of topic.partitions)
        requested.push(toTarget(broker, useTopicIds, topic, partition));
    }
    let targets: Target[] = requested;
    let session: FetchSession | undefined;
    if (lookup.kind === 'new' || lookup.kind === 'incremental') {
      session = lookup.session;
      updateSession(session, requested, request, broker);
      targets = [...session.partitions.values()] as Target[];
    }
    let outcomes = readAll(broker, targets, request, version);
    // Long polling: wait for new data until min_bytes are there or max_wait_ms has passed.
    const deadlineMs = broker.clock.nowMs() + request.maxWaitMs;
    for (;;) {
      const bytes = outcomes.reduce((sum, o) => sum + o.bytes, 0);
      const failed = outcomes.some((o) => o.answer.errorCode !== 0);
      const waitMs = deadlineMs - broker.clock.nowMs();
      if (bytes >= request.minBytes || waitMs <= 0 || failed || targets.length === 0) break;
      await waitForData(broker, targets, waitMs);
      outcomes = readAll(broker, targets, request, version);
    }
    if (lookup.kind === 'incremental') {
      outcomes = outcomes.filter(({ target, answer, bytes: n }) => {
        const changed =
          n > 0 ||
          answer.errorCode !== 0 ||
          Number(answer.highWatermark) !== target.sentHighWatermark ||
          Number(answer.logStartOffset) !== target.sentLogStartOffset;
        return changed;
      });
    }
    // Over the quota: no records and the throttle time (they are not counted), as Kafka answers.
    const fetched = outcomes.reduce((sum, o) => sum + o.bytes, 0);
    const throttleTimeMs = recordQuota(context, 'consumer_byte_rate', fetched);
    if (throttleTimeMs > 0) {
      unrecordQuota(context, 'consumer_byte_rate', fetched);
      return { throttleTimeMs, errorCode: 0, sessionId: session?.id ?? 0, responses: [] };
    }
    for (const { target, answer } of outcomes) {
      target.sentHighWatermark = Number(answer.highWatermark);
      target.sentLogStartOffset = Number(answer.logStartOffset);
    }
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: session?.id ?? 0,
      responses: group(outcomes, version),
    };
  },
});
