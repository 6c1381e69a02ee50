import { TRANSACTIONS } from '../../coordinator/transactions/runtime.ts';
import {
  errorByCode,
  type Input,
  KafkaErrors,
  ProduceRequest,
  type ProduceRequestData,
  ProduceResponse,
  type ProduceResponseData,
} from '../../protocol/index.ts';
import {
  BATCH_HEADER_BYTES,
  type BatchInfo,
  isControl,
  isTransactional,
  prepareProducePayload,
  type RecordRules,
  readBatchHeader,
  validateProducePayload,
} from '../../records/index.ts';
import { muteWithoutResponse, recordQuota } from '../../security/quotas.ts';
import type { Broker } from '../broker.ts';
import type { TopicSettings } from '../config.ts';
import { defineHandler, NO_RESPONSE, type NoResponse, type RequestContext } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';
import { PRODUCER_STATE, type ProducerBatchInfo, type ProducerStateService } from '../services.ts';

type PartitionAnswer = NonNullable<
  NonNullable<Input<ProduceResponseData>['responses']>[number]['partitionResponses']
>[number];

/** Produce versions 0-2 are advertised (librdkafka 2.0.2 compresses only then) but refused, as Kafka 4 does. */
const OLDEST_SERVED_VERSION = 3;
/** From this version a refused transactional append is TRANSACTION_ABORTABLE (KIP-890), not INVALID_TXN_STATE. */
const ABORTABLE_ERROR_VERSION = 11;
/**
 * From this version (transaction version 2, KIP-890 part 2) the leader adds the partition to the
 * producer's transaction itself before the producer's first transactional append there.
 */
const IMPLICIT_ADD_VERSION = 12;
/** From this version topics are named by id, in the request and the answer (KIP-516). */
const TOPIC_ID_VERSION = 13;
/**
 * The highest version served: 13, as Kafka 4.1.1, capped by the protocol module's Produce schema so
 * that only a version the server can decode is advertised.
 */
const MAX_SERVED_VERSION = Math.min(13, ProduceRequest.validVersions.max, ProduceResponse.validVersions.max);

/**
 * v13 names each topic by id: the request with every topic's name filled in from the metadata, ''
 * for an id that names no topic (answered UNKNOWN_TOPIC_ID, as Kafka does before authorizing).
 */
function withTopicNames(broker: Broker, request: ProduceRequestData): ProduceRequestData {
  const image = broker.metadata();
  return {
    ...request,
    topicData: request.topicData.map((topic) => ({
      ...topic,
      name: image.topicById(topic.topicId)?.name ?? '',
    })),
  };
}

/** The producer of a transactional data batch at the start of `records`, or null. */
function transactionalProducer(
  records: Uint8Array | null,
): { producerId: bigint; producerEpoch: number } | null {
  if (records === null || records.length < BATCH_HEADER_BYTES) return null;
  const header = readBatchHeader(records);
  if (!isTransactional(header.attributes) || isControl(header.attributes)) return null;
  return { producerId: BigInt(header.producerId), producerEpoch: header.producerEpoch };
}

/** The answer to a transactional append whose partition the coordinator did not add (Kafka's mapping). */
function implicitAddRefusal(errorCode: number): { errorCode: number; message: string } | null {
  if (errorCode === 0) return null;
  const name = errorByCode(errorCode).name;
  if (
    errorCode === KafkaErrors.PRODUCER_FENCED.code ||
    errorCode === KafkaErrors.INVALID_PRODUCER_EPOCH.code
  ) {
    return {
      errorCode: KafkaErrors.INVALID_PRODUCER_EPOCH.code,
      message: `The transaction coordinator fenced this producer epoch (${name}).`,
    };
  }
  if (errorCode === KafkaErrors.CONCURRENT_TRANSACTIONS.code) {
    // The previous transaction's markers are still being written: Kafka 4.1.1 answers this, and
    // the client retries (seen on the reference right after a commit).
    return {
      errorCode,
      message: 'The previous transaction of this producer is still completing; retry.',
    };
  }
  const retriable = [
    KafkaErrors.NOT_COORDINATOR.code,
    KafkaErrors.COORDINATOR_NOT_AVAILABLE.code,
    KafkaErrors.COORDINATOR_LOAD_IN_PROGRESS.code,
  ];
  if (retriable.includes(errorCode)) {
    return {
      errorCode: KafkaErrors.NOT_ENOUGH_REPLICAS.code,
      message: `The partition could not be added to the transaction yet (${name} from its coordinator); retry.`,
    };
  }
  return {
    errorCode: KafkaErrors.TRANSACTION_ABORTABLE.code,
    message: `The transaction coordinator refused to add the partition to the transaction (${name}); abort the transaction.`,
  };
}

/**
 * Transaction version 2: adds every led partition that holds a transactional batch to its
 * producer's transaction; resolves with the refusals by `topic\0partition`.
 */
async function addImplicitly(
  broker: Broker,
  request: ProduceRequestData,
): Promise<Map<string, { errorCode: number; message: string }>> {
  const refusals = new Map<string, { errorCode: number; message: string }>();
  const transactions = broker.slots.get(TRANSACTIONS);
  const transactionalId = request.transactionalId;
  if (transactions === undefined || transactionalId === null) return refusals;
  const adds: Promise<void>[] = [];
  for (const topic of request.topicData) {
    for (const partition of topic.partitionData) {
      const producer = transactionalProducer(partition.records);
      if (producer === null || broker.get(topic.name, partition.index)?.isLeader !== true) continue;
      adds.push(
        transactions
          .addPartitionForProducer(transactionalId, producer.producerId, producer.producerEpoch, {
            topic: topic.name,
            partition: partition.index,
          })
          .then((errorCode) => {
            const refused = implicitAddRefusal(errorCode);
            if (refused !== null) refusals.set(`${topic.name}\u0000${partition.index}`, refused);
          }),
      );
    }
  }
  await Promise.all(adds);
  return refusals;
}

function partitionError(
  index: number,
  errorCode: number,
  errorMessage: string | null = null,
): PartitionAnswer {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage };
}

function appendPartition(
  broker: Broker,
  topic: string,
  index: number,
  records: Uint8Array | null,
  acks: number,
  producerState: ProducerStateService | undefined,
  timeoutMs: number,
  apiVersion: number,
): PartitionAnswer | Promise<PartitionAnswer> {
  const replica = broker.get(topic, index);
  if (replica === undefined) {
    return partitionError(
      index,
      KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
      'This server does not host this topic-partition.',
    );
  }
  const replication = replica.replication;
  if (!replica.isLeader) {
    return partitionError(
      index,
      KafkaErrors.NOT_LEADER_OR_FOLLOWER.code,
      `Broker ${broker.nodeId} is not the leader of ${topic}-${index}.`,
    );
  }
  if (records === null || records.length === 0) {
    return partitionError(index, KafkaErrors.INVALID_RECORD.code, 'The produce request holds no records.');
  }
  // Headers and CRCs first; the records themselves are walked once, in storedForm.
  const validation = validateProducePayload(records, { countRecords: false });
  if (!validation.ok) return partitionError(index, validation.kafkaErrorCode, validation.message);
  if (validation.batches.length > 1) {
    // Kafka 4.1 takes exactly one v2 batch per partition and answers a second with INVALID_RECORD
    // (observed on the reference); accepting more would let one request write past the size checks.
    const message = `A produce request holds one record batch per partition; this one holds ${validation.batches.length}.`;
    return partitionError(index, KafkaErrors.INVALID_RECORD.code, message);
  }
  const settings = broker.settingsOf(topic);
  if (acks === -1 && replication !== null) {
    // The ISR and min.insync.replicas of the replication core: nothing is written when refused.
    const refused = replication.checkAppend();
    if (refused !== null) return partitionError(index, refused.errorCode, refused.message);
  } else if (acks === -1 && settings.minInsyncReplicas > 1) {
    return partitionError(
      index,
      KafkaErrors.NOT_ENOUGH_REPLICAS.code,
      `The size of the current ISR (1) is insufficient to satisfy min.insync.replicas (${settings.minInsyncReplicas})`,
    );
  }
  const rules: RecordRules = {
    topicPartition: `${topic}-${index}`,
    compacted: settings.compact,
    logAppendTime: settings.logAppendTime,
    timestampBeforeMaxMs: settings.timestampBeforeMaxMs,
    timestampAfterMaxMs: settings.timestampAfterMaxMs,
    nowMs: broker.clock.nowMs(),
  };
  const stored = storedForm(records, validation.batches, settings, rules);
  if (!stored.ok) return stored.answer(index);
  const idempotent: ProducerBatchInfo[] = [];
  if (producerState !== undefined) {
    for (const batch of stored.batches) {
      const h = batch.header;
      if (h.producerId < 0) continue;
      const info: ProducerBatchInfo = {
        topic,
        partition: index,
        producerId: BigInt(h.producerId),
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        lastSequence: (h.baseSequence + h.lastOffsetDelta) % 0x80000000,
        recordCount: h.recordCount,
        isTransactional: isTransactional(h.attributes),
        supportsEpochBump: isTransactional(h.attributes) && apiVersion >= IMPLICIT_ADD_VERSION,
      };
      const decision = producerState.checkAppend(info);
      if (decision.kind === 'duplicate') {
        return {
          index,
          errorCode: 0,
          baseOffset: decision.baseOffset,
          logAppendTimeMs: decision.logAppendTimeMs,
          logStartOffset: replica.logStartOffset,
        };
      }
      if (decision.kind === 'error') {
        const abortable =
          decision.errorCode === KafkaErrors.INVALID_TXN_STATE.code && apiVersion >= ABORTABLE_ERROR_VERSION;
        return partitionError(
          index,
          abortable ? KafkaErrors.TRANSACTION_ABORTABLE.code : decision.errorCode,
          decision.errorMessage,
        );
      }
      idempotent.push(info);
    }
  }
  const appended = replica.appendAsLeader(stored.payload, stored.batches, settings, broker.clock.nowMs());
  if (appended.errorCode !== 0) {
    return {
      ...partitionError(index, appended.errorCode, appended.errorMessage),
      recordErrors: [...appended.recordErrors],
    };
  }
  if (producerState !== undefined && idempotent.length > 0) {
    let offset = appended.baseOffset;
    for (let i = 0; i < stored.batches.length; i++) {
      const h = stored.batches[i]!.header;
      const info = idempotent.find(
        (b) => b.baseSequence === h.baseSequence && b.producerId === BigInt(h.producerId),
      );
      if (info !== undefined) {
        producerState.recordAppend(
          info,
          BigInt(offset),
          BigInt(offset + h.lastOffsetDelta),
          BigInt(appended.logAppendTimeMs >= 0 ? appended.logAppendTimeMs : h.maxTimestamp),
        );
      }
      offset += h.lastOffsetDelta + 1;
    }
  }
  const answer: PartitionAnswer & { index: number } = {
    index,
    errorCode: 0,
    baseOffset: BigInt(appended.baseOffset),
    logAppendTimeMs: BigInt(appended.logAppendTimeMs),
    logStartOffset: replica.logStartOffset,
  };
  if (acks !== -1 || replication === null) return answer;
  return awaitReplication(broker, replication, appended.lastOffset, timeoutMs, answer);
}

/**
 * acks=all on a replicated partition: answers once the high watermark passes the append's last
 * offset, or with the error that ends the wait (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR
 * fell below min.insync.replicas, NOT_LEADER_OR_FOLLOWER when leadership moved), or
 * REQUEST_TIMED_OUT at the request's timeout (the records stay written and may become visible).
 */
function awaitReplication(
  broker: Broker,
  replication: NonNullable<NonNullable<ReturnType<Broker['get']>>['replication']>,
  lastOffset: number,
  timeoutMs: number,
  answer: PartitionAnswer & { index: number },
): Promise<PartitionAnswer> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: PartitionAnswer): void => {
      if (done) return;
      done = true;
      cancel();
      resolve(result);
    };
    const cancel = broker.clock.setTimer(Math.max(0, timeoutMs), () =>
      finish(
        partitionError(
          answer.index,
          KafkaErrors.REQUEST_TIMED_OUT.code,
          `Not replicated to the in-sync replicas within the request timeout (${timeoutMs} ms).`,
        ),
      ),
    );
    replication.awaitCommit(lastOffset, (result) =>
      finish(
        result.errorCode === 0 ? answer : partitionError(answer.index, result.errorCode, result.message),
      ),
    );
  });
}

type StoredForm =
  | { ok: true; payload: Uint8Array; batches: readonly BatchInfo[] }
  | { ok: false; answer: (index: number) => PartitionAnswer };

/**
 * The bytes to store: every record checked as Kafka's log validator does (one walk per
 * batch, compressed or not), then the request's own bytes (headers corrected in place) when
 * every batch is already in the topic's codec (always with `producer`), else the batches
 * rebuilt in that codec from the same walk. A batch over max.message.bytes is refused before
 * it is decompressed, as Kafka does; a rebuilt batch is checked against it again by the replica.
 */
function storedForm(
  records: Uint8Array,
  batches: readonly BatchInfo[],
  settings: TopicSettings,
  rules: RecordRules,
): StoredForm {
  const oversized = batches.find((b) => b.size > settings.maxMessageBytes);
  if (oversized !== undefined) {
    const message = `The batch of ${oversized.size} bytes is larger than max.message.bytes (${settings.maxMessageBytes})`;
    return {
      ok: false,
      answer: (index) => partitionError(index, KafkaErrors.MESSAGE_TOO_LARGE.code, message),
    };
  }
  const outcome = prepareProducePayload(records, batches, {
    compressionType: settings.compressionType,
    levels: {
      gzip: settings.compressionGzipLevel,
      lz4: settings.compressionLz4Level,
      zstd: settings.compressionZstdLevel,
    },
    rules,
  });
  if (outcome.ok) return { ok: true, payload: outcome.payload, batches: outcome.batches };
  return {
    ok: false,
    answer: (index) => ({
      ...partitionError(index, outcome.kafkaErrorCode, outcome.message),
      recordErrors: outcome.recordErrors,
    }),
  };
}

/**
 * Produce: validates each partition's batches (CRC, magic 2, counts), walks every record
 * (Kafka's per-record checks: keys in compacted topics, timestamps, offset deltas), checks
 * the idempotent-producer sequence (PRODUCER_STATE slot), stamps offsets and the leader
 * epoch and appends them as received, or rebuilt in the topic's `compression.type`. acks=0
 * gets no response; with one replica acks=-1 is answered once the append is done (the high
 * watermark moves with it).
 */
export const handler = defineHandler<ProduceRequestData, Input<ProduceResponseData>>({
  apiKey: 0,
  name: 'Produce',
  minVersion: 0,
  maxVersion: MAX_SERVED_VERSION,
  handle(received, context) {
    const request =
      context.apiVersion >= TOPIC_ID_VERSION ? withTopicNames(brokerOf(context), received) : received;
    // A producer's pipelined batches are appended in the order sent: the server (src/server/server.ts)
    // dispatches a connection's next request only once this one is answered, as Kafka does.
    if (context.apiVersion >= IMPLICIT_ADD_VERSION && request.transactionalId !== null) {
      return addImplicitly(brokerOf(context), request).then((refusals) =>
        produce(request, context, refusals),
      );
    }
    return produce(request, context, new Map());
  },
});

function produce(
  request: ProduceRequestData,
  context: RequestContext,
  refusals: ReadonlyMap<string, { errorCode: number; message: string }>,
): Input<ProduceResponseData> | NoResponse | Promise<Input<ProduceResponseData>> {
  const broker = brokerOf(context);
  const acks = request.acks;
  const refuse =
    context.apiVersion < OLDEST_SERVED_VERSION
      ? KafkaErrors.UNSUPPORTED_VERSION.code
      : acks !== 0 && acks !== 1 && acks !== -1
        ? KafkaErrors.INVALID_REQUIRED_ACKS.code
        : 0;
  const producerState = broker.slots.get(PRODUCER_STATE);
  let waiting = false;
  const responses = request.topicData.map((topic) => ({
    name: topic.name,
    topicId: topic.topicId,
    partitionResponses: topic.partitionData.map((partition) => {
      const refused = refusals.get(`${topic.name}\u0000${partition.index}`);
      const answer =
        refuse !== 0
          ? partitionError(partition.index, refuse)
          : topic.name === '' && context.apiVersion >= TOPIC_ID_VERSION
            ? partitionError(
                partition.index,
                KafkaErrors.UNKNOWN_TOPIC_ID.code,
                `No topic has the id ${topic.topicId}.`,
              )
            : refused !== undefined
              ? partitionError(partition.index, refused.errorCode, refused.message)
              : appendPartition(
                  broker,
                  topic.name,
                  partition.index,
                  partition.records,
                  acks,
                  producerState,
                  request.timeoutMs,
                  context.apiVersion,
                );
      if (answer instanceof Promise) waiting = true;
      return answer;
    }),
  }));
  // producer_byte_rate (src/security/quotas.ts): the throttle is answered, and the connection muted for it.
  let bytes = 0;
  for (const topic of request.topicData) for (const p of topic.partitionData) bytes += p.records?.length ?? 0;
  const throttleTimeMs = recordQuota(context, 'producer_byte_rate', bytes);
  if (acks === 0) {
    // No answer carries the throttle: Kafka still mutes the channel for it (quota violations are not exempt).
    if (throttleTimeMs > 0) muteWithoutResponse(context.connection, throttleTimeMs);
    return NO_RESPONSE;
  }
  // Unreplicated partitions answer at once, as before; acks=all on replicated ones waits for the ISR.
  if (!waiting) return { responses: responses as never, throttleTimeMs };
  return Promise.all(
    responses.map(async (topic) => ({
      name: topic.name,
      topicId: topic.topicId,
      partitionResponses: await Promise.all(topic.partitionResponses),
    })),
  ).then((settled) => ({ responses: settled, throttleTimeMs }));
}
