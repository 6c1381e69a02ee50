/**
 * AddPartitionsToTxn 0-3, the client's form: adds partitions to the producer's transaction.
 * An unknown topic or partition fails as UNKNOWN_TOPIC_OR_PARTITION and the others as
 * OPERATION_NOT_ATTEMPTED; a coordinator error applies to every partition. The v4+ batched
 * broker form (KIP-890 verification) is not advertised: one broker verifies in-process.
 */
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  AddPartitionsToTxnRequestData,
  AddPartitionsToTxnResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

type Topics = AddPartitionsToTxnRequestData['v3AndBelowTopics'];

function results(topics: Topics, errorOf: (topic: string, partition: number) => number) {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: errorOf(t.name, partitionIndex),
    })),
  }));
}

export const handler = defineHandler<AddPartitionsToTxnRequestData, Input<AddPartitionsToTxnResponseData>>({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 3,
  async handle(request, context) {
    const topics = request.v3AndBelowTopics;
    const answer = (errorOf: (topic: string, partition: number) => number) => ({
      throttleTimeMs: 0,
      resultsByTopicV3AndBelow: results(topics, errorOf),
    });
    const transactions = transactionsOf(context);
    if (transactions === undefined) return answer(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const metadata = context.broker.metadata();
    const unknown = new Set<string>();
    for (const t of topics) {
      const view = metadata.topic(t.name);
      for (const p of t.partitions) {
        if (view === undefined || p < 0 || p >= view.partitions.length) unknown.add(`${t.name}\u0000${p}`);
      }
    }
    if (unknown.size > 0) {
      return answer((topic, partition) =>
        unknown.has(`${topic}\u0000${partition}`)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.OPERATION_NOT_ATTEMPTED,
      );
    }
    const errorCode = await transactions.coordinator.addPartitions(
      request.v3AndBelowTransactionalId,
      request.v3AndBelowProducerId,
      request.v3AndBelowProducerEpoch,
      topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))),
    );
    const mapped = fencedFor(errorCode, context.apiVersion, 2);
    return answer(() => mapped);
  },
});
