import { array, field, request, response, struct } from '../schema.ts';

// ListTransactions (API key 66), written from Kafka's ListTransactionsRequest/ListTransactionsResponse message definitions.
// Version 2 adds a filter on the transactional id, a regular expression (KIP-1152); the response is unchanged.

export const ListTransactionsRequest = request(66, 'ListTransactionsRequest', '0-2', '0+', [
  field('stateFilters', array('string'), '0+'),
  field('producerIdFilters', array('int64'), '0+'),
  field('durationFilter', 'int64', '1+', { default: -1n }),
  field('transactionalIdPattern', 'string', '2+', { nullable: '2+', default: null }),
]);

export const ListTransactionsResponse = response(66, 'ListTransactionsResponse', '0-2', '0+', [
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
  transactionalIdPattern: string | null;
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
