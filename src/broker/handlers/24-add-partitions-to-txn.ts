/** AddPartitionsToTxn 0-5: transactions are not supported yet; every partition answers UNSUPPORTED_VERSION. */
import type {
  AddPartitionsToTxnRequestData,
  AddPartitionsToTxnResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

const refused = (topics: { name: string; partitions: number[] }[]) =>
  topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: ErrorCode.UNSUPPORTED_VERSION,
    })),
  }));

export const handler = defineHandler<AddPartitionsToTxnRequestData, Input<AddPartitionsToTxnResponseData>>({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  handle(request, context) {
    if (context.apiVersion <= 3) {
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: refused(request.v3AndBelowTopics) };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      resultsByTransaction: request.transactions.map((t) => ({
        transactionalId: t.transactionalId,
        topicResults: refused(t.topics),
      })),
    };
  },
});
