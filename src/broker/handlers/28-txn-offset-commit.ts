/** TxnOffsetCommit 0-4: transactions are not supported yet; every partition answers UNSUPPORTED_VERSION. */
import type { Input, TxnOffsetCommitRequestData, TxnOffsetCommitResponseData } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<TxnOffsetCommitRequestData, Input<TxnOffsetCommitResponseData>>({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
  handle(request) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
        })),
      })),
    };
  },
});
