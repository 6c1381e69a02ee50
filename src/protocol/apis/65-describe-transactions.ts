import { array, field, request, response, struct } from '../schema.ts';

// DescribeTransactions (API key 65), written from Kafka's DescribeTransactionsRequest/DescribeTransactionsResponse message definitions.

export const DescribeTransactionsRequest = request(65, 'DescribeTransactionsRequest', '0', '0+', [
  field('transactionalIds', array('string'), '0+'),
]);

export const DescribeTransactionsResponse = response(65, 'DescribeTransactionsResponse', '0', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'transactionStates',
    array(
      struct('TransactionState', [
        field('errorCode', 'int16', '0+'),
        field('transactionalId', 'string', '0+'),
        field('transactionState', 'string', '0+'),
        field('transactionTimeoutMs', 'int32', '0+'),
        field('transactionStartTimeMs', 'int64', '0+'),
        field('producerId', 'int64', '0+'),
        field('producerEpoch', 'int16', '0+'),
        field(
          'topics',
          array(
            struct('TopicData', [field('topic', 'string', '0+'), field('partitions', array('int32'), '0+')]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded DescribeTransactionsRequest (every version's fields; absent ones hold their default). */
export type DescribeTransactionsRequestData = {
  transactionalIds: string[];
};

/** A decoded DescribeTransactionsResponse (every version's fields; absent ones hold their default). */
export type DescribeTransactionsResponseData = {
  throttleTimeMs: number;
  transactionStates: {
    errorCode: number;
    transactionalId: string;
    transactionState: string;
    transactionTimeoutMs: number;
    transactionStartTimeMs: bigint;
    producerId: bigint;
    producerEpoch: number;
    topics: {
      topic: string;
      partitions: number[];
    }[];
  }[];
};
