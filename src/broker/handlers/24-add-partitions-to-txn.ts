/**
 * AddPartitionsToTxn 0-5. Versions 0-3 are the client's form: adds partitions to the producer's
 * transaction (transaction version 0). An unknown topic or partition fails as
 * UNKNOWN_TOPIC_OR_PARTITION and the others as OPERATION_NOT_ATTEMPTED; a coordinator error
 * applies to every partition. Versions 4-5 are the broker form (KIP-890): several transactions
 * in one request, each either checked (`VerifyOnly`: a partition not in the ongoing transaction
 * is TRANSACTION_ABORTABLE, as Kafka 4.1.1 answers at v4 and v5) or added on the producer's behalf (what a partition leader sends for a
 * transaction version 2 producer; v5 marks the transaction as version 2).
 */
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  AddPartitionsToTxnRequestData,
  AddPartitionsToTxnResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler, type RequestContext } from '../handler.ts';

type Topics = AddPartitionsToTxnRequestData['v3AndBelowTopics'];
type Transaction = AddPartitionsToTxnRequestData['transactions'][number];

function results(topics: Topics, errorOf: (topic: string, partition: number) => number) {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: errorOf(t.name, partitionIndex),
    })),
  }));
}

/** The partitions of `topics` the metadata does not know, as `topic\0partition` keys. */
function unknownPartitions(context: RequestContext, topics: Topics): Set<string> {
  const metadata = context.broker.metadata();
  const unknown = new Set<string>();
  for (const t of topics) {
    const view = metadata.topic(t.name);
    for (const p of t.partitions) {
      if (view === undefined || p < 0 || p >= view.partitions.length) unknown.add(`${t.name}\u0000${p}`);
    }
  }
  return unknown;
}

/** One transaction's answer: the same error for every partition, or per partition when some are unknown. */
async function addOrVerify(
  context: RequestContext,
  transactionalId: string,
  producerId: bigint,
  producerEpoch: number,
  topics: Topics,
  verifyOnly: boolean,
  clientTransactionVersion: number,
): Promise<(topic: string, partition: number) => number> {
  const transactions = transactionsOf(context);
  if (transactions === undefined) return () => ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const unknown = unknownPartitions(context, topics);
  if (unknown.size > 0) {
    return (topic, partition) =>
      unknown.has(`${topic}\u0000${partition}`)
        ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        : ErrorCode.OPERATION_NOT_ATTEMPTED;
  }
  const partitions = topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
  if (verifyOnly) {
    const errors = transactions.coordinator.verifyPartitions(
      transactionalId,
      producerId,
      producerEpoch,
      partitions,
    );
    return (topic, partition) => errors.get(`${topic}\u0000${partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  }
  const errorCode = await transactions.coordinator.addPartitions(
    transactionalId,
    producerId,
    producerEpoch,
    partitions,
    clientTransactionVersion,
  );
  const mapped = fencedFor(errorCode, context.apiVersion, 2);
  return () => mapped;
}

export const handler = defineHandler<AddPartitionsToTxnRequestData, Input<AddPartitionsToTxnResponseData>>({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    if (context.apiVersion >= 4) {
      const answers = await Promise.all(
        request.transactions.map(async (t: Transaction) => ({
          transactionalId: t.transactionalId,
          topicResults: results(
            t.topics,
            await addOrVerify(
              context,
              t.transactionalId,
              t.producerId,
              t.producerEpoch,
              t.topics,
              t.verifyOnly,
              context.apiVersion >= 5 ? 2 : 0,
            ),
          ),
        })),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: answers };
    }
    const topics = request.v3AndBelowTopics;
    const errorOf = await addOrVerify(
      context,
      request.v3AndBelowTransactionalId,
      request.v3AndBelowProducerId,
      request.v3AndBelowProducerEpoch,
      topics,
      false,
      0,
    );
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(topics, errorOf) };
  },
});
