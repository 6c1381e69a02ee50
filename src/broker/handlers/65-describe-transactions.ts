/** DescribeTransactions 0: state, timeout, start time, producer and partitions of each transactional id. */
import { transactionsOf } from '../../coordinator/transactions/handler-support.ts';
import type {
  DescribeTransactionsRequestData,
  DescribeTransactionsResponseData,
  Input,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<
  DescribeTransactionsRequestData,
  Input<DescribeTransactionsResponseData>
>({
  apiKey: 65,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const transactions = transactionsOf(context);
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) =>
        transactions === undefined
          ? {
              errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
              transactionalId,
              transactionState: '',
              transactionTimeoutMs: 0,
              transactionStartTimeMs: -1n,
              producerId: -1n,
              producerEpoch: -1,
              topics: [],
            }
          : transactions.coordinator.describe(transactionalId),
      ),
    };
  },
});
