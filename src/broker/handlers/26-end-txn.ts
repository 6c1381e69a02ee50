/**
 * EndTxn 0-4: commits or aborts the producer's transaction (markers to every partition in it).
 * v5 (transaction version 2: an epoch bump per transaction) is not advertised.
 */
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { EndTxnRequestData, EndTxnResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<EndTxnRequestData, Input<EndTxnResponseData>>({
  apiKey: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 4,
  async handle(request, context) {
    const answer = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1n,
      producerEpoch: -1,
    });
    const transactions = transactionsOf(context);
    if (transactions === undefined) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const errorCode = await transactions.coordinator.endTransaction(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      request.committed,
    );
    return answer(fencedFor(errorCode, context.apiVersion, 2));
  },
});
