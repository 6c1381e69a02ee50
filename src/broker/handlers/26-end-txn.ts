/**
 * EndTxn 0-5: commits or aborts the producer's transaction (markers to every partition in it).
 * v5 is transaction version 2 (KIP-890 part 2): the epoch is bumped at the end of the
 * transaction, the markers carry the bumped epoch, and the answer holds the producer id and epoch
 * the client continues with (a new producer id once the epoch would overflow).
 */
import { TRANSACTION_VERSION_2 } from '../../coordinator/transactions/coordinator.ts';
import { fencedFor, transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type { EndTxnRequestData, EndTxnResponseData, Input } from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<EndTxnRequestData, Input<EndTxnResponseData>>({
  apiKey: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 5,
  async handle(request, context) {
    const transactions = transactionsOf(context);
    if (transactions === undefined) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
    const ended = await transactions.coordinator.endTransaction(
      request.transactionalId,
      request.producerId,
      request.producerEpoch,
      request.committed,
      context.apiVersion >= 5 ? TRANSACTION_VERSION_2 : 0,
    );
    return {
      throttleTimeMs: 0,
      errorCode: fencedFor(ended.errorCode, context.apiVersion, 2),
      producerId: ended.producerId,
      producerEpoch: ended.producerEpoch,
    };
  },
});
