import { array, field, request, response, struct } from '../schema.ts';

// ListTransactions (API key 66), written from Kafka's ListTransactionsRequest/ListTransactionsResponse message definitions.

export const ListTransactionsRequest = request(66, 'ListTransactionsRequest', '0-1', '0+', [
  field('stateFilters', array('string'), '0+'),
  field('producerIdFilters', array('int64'), '0+'),
  field('durationFilter', 'int64', '1+', { default: -1n }),
]);

export const ListTransactionsResponse = response(66, 'ListTransactionsResponse', '0-1', '0+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('unknownStateFilters', array('string'), '0+'),
  field(
    'transactionStates',
    array(
      struct('TransactionState', [
        field('transactionalId', 'string', '0+'),
        field('producerId', 'int64', '0+'),
        field('transactionState', 'string', '0+'),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded ListTransactionsRequest (every version's fields; absent ones hold their default). */
export type ListTransactionsRequestData = {
  stateFilters: string[];
  producerIdFilters: bigint[];
  durationFilter: bigint;
};

/** A decoded ListTransactionsResponse (every version's fields; absent ones hold their default). */
export type ListTransactionsResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  unknownStateFilters: string[];
  transactionStates: {
    transactionalId: string;
    producerId: bigint;
    transactionState: string;
  }[];
};
